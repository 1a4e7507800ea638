//! Our own lint rules for the classic container mistakes in a Dockerfile
//! and its `.dockerignore`: pure functions of their text, so that each
//! rule is tested on a fixture without an engine.

use super::{dockerignore::DockerIgnore, Finding, Severity};
use crate::engine::dockerfile::{Dockerfile, Instruction, Stage};

/// Findings of the Dockerfile `text`, reported against `file`.
pub fn check_dockerfile(text: &str, file: &str) -> Vec<Finding> {
    let dockerfile = Dockerfile::parse(text);
    let Some(last) = dockerfile.final_stage() else {
        return vec![Finding::new("no-stage", Severity::Error, file, "The Dockerfile has no FROM.".into())];
    };
    let error =
        |rule: &str, at: &Instruction, message: String| Finding::new(rule, Severity::Error, file, message).at(at.line);
    let mut findings = Vec::new();

    if let Some(image) = last.image.as_deref().filter(|image| is_full_base(image)) {
        findings.push(error(
            "final-stage-full-base",
            &last.from,
            format!("The final stage runs on {image}, a full image with compilers: use a -slim base and build in an earlier stage."),
        ));
    }
    for stage in &dockerfile.stages {
        findings.extend(copy_before_install(stage).map(|copy| {
            error("copy-before-install", copy, format!(
                "`COPY {}` comes before the dependencies are installed, so every code edit reinstalls them: copy the requirements file, install, then copy the code.",
                copy.args
            ))
        }));
        for run in
            stage.find("RUN").filter(|r| r.args.contains("apt-get install") && !r.args.contains("/var/lib/apt/lists"))
        {
            findings.push(error("apt-lists-kept", run, "`apt-get install` without `rm -rf /var/lib/apt/lists/*` in the same RUN keeps the package lists in the layer.".into()));
        }
    }
    let no_cache_env = last.find("ENV").any(|env| env.args.contains("PIP_NO_CACHE_DIR"));
    for run in
        last.find("RUN").filter(|r| installs_with_pip(&r.args) && !r.args.contains("--no-cache-dir") && !no_cache_env)
    {
        findings.push(error(
            "pip-cache-in-final-stage",
            run,
            "`pip install` without `--no-cache-dir` in the final stage keeps pip's download cache in the image.".into(),
        ));
    }
    match last.find("USER").last() {
        None => findings.push(error(
            "root-user",
            &last.from,
            "The final stage sets no USER, so the service runs as root.".into(),
        )),
        Some(user) if is_root(&user.args) => {
            findings.push(error("root-user", user, format!("`USER {}` runs the service as root.", user.args)))
        }
        Some(_) => {}
    }
    for command in last.instructions.iter().filter(|i| i.keyword == "CMD" || i.keyword == "ENTRYPOINT") {
        if !command.is_exec_form() {
            findings.push(error("shell-form-command", command, format!(
                "Shell-form {} makes /bin/sh PID 1, which does not pass on docker stop's SIGTERM: write it as a JSON array.",
                command.keyword
            )));
        }
        if let Some(host) = loopback_host(&command.args) {
            findings.push(error(
                "loopback-bind",
                command,
                format!(
                "uvicorn listens on {host}, inside the container only: nothing outside reaches it. Use --host 0.0.0.0."
            ),
            ));
        }
    }
    match last.find("HEALTHCHECK").last() {
        None => findings.push(error(
            "no-healthcheck",
            &last.from,
            "The final stage has no HEALTHCHECK, so the engine cannot tell a hung service from a healthy one.".into(),
        )),
        Some(check) if check.args.trim().eq_ignore_ascii_case("none") => {
            findings.push(error("no-healthcheck", check, "HEALTHCHECK NONE switches the health check off.".into()))
        }
        Some(_) => {}
    }
    findings
}

/// Findings of the context's `.dockerignore` (None: there is none).
pub fn check_dockerignore(text: Option<&str>, file: &str) -> Vec<Finding> {
    let Some(text) = text else {
        return vec![Finding::new("dockerignore-leaks", Severity::Error, file, "There is no .dockerignore: the whole context, .env, .git and target/ included, reaches the engine and can reach the image.".into())];
    };
    let ignore = DockerIgnore::parse(text);
    let probes = [
        (".env", ".env"),
        ("app/.env", "a .env below the root"),
        (".git/HEAD", ".git"),
        (".venv/bin/python", "the virtual environment .venv"),
        ("venv/bin/python", "the virtual environment venv"),
        ("target/debug/build", "target/"),
    ];
    probes
        .iter()
        .filter(|(path, _)| !ignore.excludes(path))
        .map(|(_, what)| {
            Finding::new(
                "dockerignore-leaks",
                Severity::Error,
                file,
                format!("The .dockerignore lets {what} into the build context."),
            )
        })
        .collect()
}

/// Full images carry compilers and package managers; these names mark the small ones.
fn is_full_base(image: &str) -> bool {
    let small = ["slim", "alpine", "distroless", "minimal", "micro", "scratch", "chiseled"];
    !small.iter().any(|marker| image.contains(marker))
}

fn installs_with_pip(command: &str) -> bool {
    command.contains("pip install") || command.contains("pip3 install")
}

/// The COPY/ADD of code in `stage` that comes before its first `pip install`.
fn copy_before_install(stage: &Stage) -> Option<&Instruction> {
    let install = stage.find("RUN").find(|r| installs_with_pip(&r.args))?;
    stage.instructions.iter().filter(|i| i.line < install.line && matches!(i.keyword.as_str(), "COPY" | "ADD")).find(
        |copy| {
            let operands = copy.operands();
            copy.args.split_whitespace().all(|w| !w.starts_with("--from"))
                && operands[..operands.len().saturating_sub(1)].iter().any(|source| !is_requirements_file(source))
        },
    )
}

/// Files that list dependencies: copying them first keeps the cache.
fn is_requirements_file(source: &str) -> bool {
    let name = source.rsplit('/').next().unwrap_or(source);
    let extension = name.rsplit_once('.').map(|(_, e)| e);
    name.starts_with("requirements")
        || name.starts_with("Pipfile")
        || matches!(extension, Some("txt" | "list" | "toml" | "cfg" | "lock" | "in"))
}

fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or("").trim();
    name == "root" || name == "0"
}

/// The loopback address uvicorn is told to listen on, or uvicorn's own
/// default (127.0.0.1) when no --host is given.
fn loopback_host(command: &str) -> Option<String> {
    if !command.contains("uvicorn") {
        return None;
    }
    let words: Vec<&str> = command
        .split(|c: char| c.is_whitespace() || matches!(c, '[' | ']' | ',' | '"' | '\''))
        .filter(|w| !w.is_empty())
        .collect();
    let host = words.iter().enumerate().find_map(|(i, word)| match word.strip_prefix("--host") {
        Some("") => words.get(i + 1).copied(),
        Some(rest) => rest.strip_prefix('='),
        None => None,
    });
    match host {
        Some(host @ ("127.0.0.1" | "localhost" | "::1")) => Some(host.to_string()),
        Some(_) => None,
        None => Some("127.0.0.1 (uvicorn's default without --host)".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules_of(text: &str) -> Vec<(String, Option<usize>)> {
        check_dockerfile(text, "Dockerfile").into_iter().map(|f| (f.rule, f.line)).collect()
    }

    #[test]
    fn our_own_files_are_clean() {
        assert_eq!(rules_of(include_str!("../../../docker/Dockerfile")), []);
        assert!(check_dockerignore(Some(include_str!("../../../.dockerignore")), ".dockerignore").is_empty());
    }

    /// Each rule's fixture (tests/fixtures/lint/RULE.Dockerfile) fires that
    /// rule, at the line its `# fires here` comment marks, and no other.
    #[test]
    fn each_rule_fires_on_its_fixture() {
        let fixtures = [
            ("final-stage-full-base", include_str!("../../../tests/fixtures/lint/final-stage-full-base.Dockerfile")),
            ("copy-before-install", include_str!("../../../tests/fixtures/lint/copy-before-install.Dockerfile")),
            (
                "pip-cache-in-final-stage",
                include_str!("../../../tests/fixtures/lint/pip-cache-in-final-stage.Dockerfile"),
            ),
            ("apt-lists-kept", include_str!("../../../tests/fixtures/lint/apt-lists-kept.Dockerfile")),
            ("root-user", include_str!("../../../tests/fixtures/lint/root-user.Dockerfile")),
            ("shell-form-command", include_str!("../../../tests/fixtures/lint/shell-form-command.Dockerfile")),
            ("loopback-bind", include_str!("../../../tests/fixtures/lint/loopback-bind.Dockerfile")),
            ("no-healthcheck", include_str!("../../../tests/fixtures/lint/no-healthcheck.Dockerfile")),
        ];
        for (rule, text) in fixtures {
            let marked = text.lines().position(|l| l.contains("# fires here")).map(|i| i + 2);
            assert_eq!(rules_of(text), [(rule.to_string(), marked)], "{rule}");
        }
    }

    #[test]
    fn the_dockerignore_rule_names_each_leak() {
        let missing = check_dockerignore(None, ".dockerignore");
        assert_eq!(missing.len(), 1);
        assert!(missing[0].message.starts_with("There is no .dockerignore"));
        let leaky =
            check_dockerignore(Some(include_str!("../../../tests/fixtures/lint/leaky.dockerignore")), ".dockerignore");
        let messages: Vec<&str> = leaky.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "The .dockerignore lets .env into the build context.",
                "The .dockerignore lets a .env below the root into the build context.",
                "The .dockerignore lets the virtual environment venv into the build context.",
                "The .dockerignore lets target/ into the build context."
            ]
        );
    }

    #[test]
    fn uvicorn_hosts() {
        assert_eq!(loopback_host(r#"["uvicorn", "main:app", "--host", "0.0.0.0"]"#), None);
        assert_eq!(loopback_host("uvicorn main:app --host=localhost").as_deref(), Some("localhost"));
        assert!(loopback_host("uvicorn main:app").unwrap().starts_with("127.0.0.1"));
        assert_eq!(loopback_host("gunicorn app"), None);
    }
}
