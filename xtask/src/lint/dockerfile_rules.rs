//! Our own rules for the classic container mistakes in a Dockerfile: pure
//! functions of its text, so that each rule is tested on a fixture without
//! an engine. The final stage is judged with what it inherits: a stage
//! built FROM an earlier one has that stage's base image, USER,
//! HEALTHCHECK, ENV, CMD and ENTRYPOINT unless it sets its own.

use super::{
    installs::{
        apt_installs, installs_compiler, installs_dependencies, leaves_pip_cache, mounts_apt_lists, removes_apt_lists,
    },
    rule_table::{
        Rule, APT_LISTS_KEPT, COMPILER_IN_FINAL_STAGE, COPY_BEFORE_INSTALL, COPY_ENV_FILE, DEV_SERVER,
        FINAL_STAGE_FULL_BASE, LOOPBACK_BIND, NO_HEALTHCHECK, NO_STAGE, PIP_CACHE_IN_FINAL_STAGE, ROOT_USER,
        SECRET_IN_ENV, SHELL_FORM_COMMAND,
    },
    secrets::{is_env_file, secret_key},
    Finding,
};
use crate::model::{
    dockerfile::{expand, Dockerfile, Instruction, Stage},
    reference,
};

/// Findings of the Dockerfile `text`, reported against `file`.
pub fn check_dockerfile(text: &str, file: &str) -> Vec<Finding> {
    let dockerfile = Dockerfile::parse(text);
    let Some(last_index) = dockerfile.stages.len().checked_sub(1) else {
        return vec![Finding::new(NO_STAGE, file, "The Dockerfile has no FROM.".into())];
    };
    let last = &dockerfile.stages[last_index];
    let lineage: Vec<&Stage> = dockerfile.lineage(last_index).collect();
    let inherited = |keyword: &'static str| lineage.iter().find_map(|stage| stage.find(keyword).last());
    let found = |rule: &Rule, at: &Instruction, message: String| Finding::new(rule, file, message).at(at.line);
    let mut findings = Vec::new();

    let root = lineage.last().expect("a lineage starts at its stage");
    if let Some(image) = root.image.as_deref().filter(|image| is_full_base(image)) {
        findings.push(found(
            FINAL_STAGE_FULL_BASE,
            &last.from,
            format!("The final stage runs on {image}, a full image with compilers: use a -slim base and build in an earlier stage."),
        ));
    }
    // Dependencies a stage has already: installed in a stage it is built
    // FROM, or in one it copies from (a venv, site-packages).
    let installs_deps = |stage: &Stage| stage.find("RUN").any(|r| installs_dependencies(&r.command(), false));
    for (index, stage) in dockerfile.stages.iter().enumerate() {
        let from_parent = dockerfile.lineage(index).skip(1).any(installs_deps);
        let copied =
            stage.find("COPY").filter_map(|copy| copy.flags().find_map(|f| f.strip_prefix("--from="))).any(|from| {
                let source = dockerfile
                    .stages
                    .iter()
                    .position(|s| s.name.as_deref() == Some(from))
                    .or_else(|| from.parse().ok());
                source.is_some_and(|source| dockerfile.lineage(source).any(installs_deps))
            });
        let inherited = from_parent || copied;
        findings.extend(copy_before_install(stage, inherited).into_iter().map(|copy| {
            found(COPY_BEFORE_INSTALL, copy, format!(
                "`COPY {}` comes before the dependencies are installed, so every code edit reinstalls them: copy the requirements file, install, then copy the code.",
                copy.args
            ))
        }));
    }
    // The image is made of the final stage's lineage: what an earlier
    // stage keeps in its own layers never reaches it.
    for stage in &lineage {
        for run in stage.find("RUN") {
            let command = run.command();
            if apt_installs(&command) && !removes_apt_lists(&command) && !mounts_apt_lists(run) {
                findings.push(found(APT_LISTS_KEPT, run, "`apt-get install` without `rm -rf /var/lib/apt/lists/*` in the same RUN keeps the package lists in the layer.".into()));
            }
        }
    }
    for stage in &dockerfile.stages {
        for instruction in stage.instructions.iter().filter(|i| i.keyword == "ENV" || i.keyword == "ARG") {
            if let Some(key) = secret_key(&instruction.args) {
                findings.push(found(SECRET_IN_ENV, instruction, format!(
                    "`{} {key}=…` puts a secret in the image, where `docker history` and `docker inspect` show it to anyone who pulls it: pass it at run time, or with a BuildKit secret mount.",
                    instruction.keyword
                )));
            }
        }
        for copy in stage.instructions.iter().filter(|i| matches!(i.keyword.as_str(), "COPY" | "ADD")) {
            if copy.operands().iter().rev().skip(1).any(|source| is_env_file(source)) {
                findings.push(found(
                    COPY_ENV_FILE,
                    copy,
                    format!(
                        "`{} {}` copies a .env file, and the secrets in it, into the image: pass settings at run time.",
                        copy.keyword, copy.args
                    ),
                ));
            }
        }
    }
    // A stage built FROM an earlier one holds that stage's layers too.
    let runs = || lineage.iter().flat_map(|stage| stage.find("RUN"));
    let no_cache_env = lineage.iter().flat_map(|s| s.find("ENV")).any(|env| env.args.contains("PIP_NO_CACHE_DIR"));
    for run in runs().filter(|r| leaves_pip_cache(r) && !no_cache_env) {
        findings.push(found(
            PIP_CACHE_IN_FINAL_STAGE,
            run,
            "`pip install` without `--no-cache-dir` in the final stage keeps pip's download cache in the image.".into(),
        ));
    }
    for run in runs().filter(|r| installs_compiler(&r.command())) {
        findings.push(found(
            COMPILER_IN_FINAL_STAGE,
            run,
            "A compiler is installed in the final stage, where the service never needs one: build in an earlier stage and copy the result.".into(),
        ));
    }
    let user_stage = lineage.iter().find(|stage| stage.find("USER").next().is_some());
    // An entrypoint that drops privileges itself starts as root on purpose.
    let dropper = privilege_dropper(&lineage);
    let root = |at: &Instruction, said: String| match dropper {
        Some(tool) => found(
            ROOT_USER,
            at,
            format!(
                "{said} The image has {tool}, so its entrypoint may drop privileges: make sure it does, or set USER."
            ),
        )
        .lowered(),
        None => found(ROOT_USER, at, said),
    };
    match user_stage.and_then(|stage| Some((stage, stage.find("USER").last()?))) {
        None => findings.push(root(&last.from, "The final stage sets no USER, so the service runs as root.".into())),
        Some((stage, user)) => {
            let name = expand(&user.args, &stage.args(&dockerfile.globals)).unwrap_or_else(|| user.args.clone());
            if is_root(&name) {
                findings.push(root(user, format!("`USER {}` runs the service as root.", user.args)));
            }
        }
    }
    let env: Vec<&Instruction> = lineage.iter().rev().flat_map(|s| s.find("ENV")).collect();
    for command in ["CMD", "ENTRYPOINT"].into_iter().filter_map(&inherited) {
        findings
            .extend(command_findings(command, &env).into_iter().map(|(rule, message)| found(rule, command, message)));
    }
    // An image whose command starts no server (a shell, a CLI's help)
    // serves several roles, each given its command where it runs: no one
    // check fits it, and its missing one is a warning.
    let commands: Vec<&Instruction> = ["ENTRYPOINT", "CMD"].into_iter().filter_map(&inherited).collect();
    let starts_server = commands.is_empty() || commands.iter().any(|c| starts_a_server(&c.command()));
    let missing = |at: &Instruction, said: &str| {
        match starts_server {
        true => found(NO_HEALTHCHECK, at, said.to_string()),
        false => found(
            NO_HEALTHCHECK,
            at,
            format!("{said} Its command starts no server, so it may serve several roles: give each its check where it runs (compose's healthcheck, a Kubernetes probe)."),
        ).lowered(),
    }
    };
    match inherited("HEALTHCHECK") {
        None => findings.push(missing(
            &last.from,
            "The final stage has no HEALTHCHECK, so the engine cannot tell a hung service from a healthy one.",
        )),
        Some(check) if check.args.trim().eq_ignore_ascii_case("none") => {
            findings.push(missing(check, "HEALTHCHECK NONE switches the health check off."))
        }
        Some(_) => {}
    }
    findings
}

/// Whether a command starts a long-running server, rather than a shell
/// (`bash`, `sh` alone) or a CLI's help: an entrypoint script counts, as
/// it usually ends in the server.
fn starts_a_server(command: &str) -> bool {
    let words: Vec<&str> = command.split_whitespace().collect();
    let shell_alone = matches!(words[..], [shell] if ["bash", "sh", "/bin/bash", "/bin/sh"].contains(&shell));
    !(words.is_empty() || shell_alone || words.iter().any(|w| matches!(*w, "--help" | "-h")))
}

/// A tool in the image's lineage that drops root to another user at start
/// (gosu, su-exec, s6-overlay, setpriv, runuser, chpst, supervisord with
/// its `user=`), as an entrypoint uses it.
fn privilege_dropper(lineage: &[&Stage]) -> Option<&'static str> {
    let tools = ["gosu", "su-exec", "s6-overlay", "s6-setuidgid", "setpriv", "runuser", "chpst", "supervisord"];
    let said = lineage.iter().flat_map(|stage| stage.instructions.iter()).map(|i| i.args.as_str());
    let said: Vec<&str> = said.collect();
    tools.into_iter().find(|tool| said.iter().any(|args| args.contains(tool)))
}

/// The rules on the command the image starts, given the ENV it sets.
fn command_findings(command: &Instruction, env: &[&Instruction]) -> Vec<(&'static Rule, String)> {
    let mut found = Vec::new();
    let keyword = &command.keyword;
    if !command.is_exec_form() {
        found.push((SHELL_FORM_COMMAND, format!(
            "Shell-form {keyword} makes /bin/sh PID 1, which does not pass on docker stop's SIGTERM: write it as a JSON array."
        )));
    } else if let Some(script) = shell_script(&command.command()) {
        if !script.split_whitespace().any(|word| word == "exec") && !bash_execs_itself(&command.command(), script) {
            found.push((SHELL_FORM_COMMAND, format!(
                "{keyword} runs `sh -c` without `exec`, so the shell is PID 1 and does not pass on docker stop's SIGTERM: start the script's last command with `exec`."
            )));
        }
    }
    let words = command.command();
    // Frameworks' development servers: they reload on edits, and some
    // (Django's, Flask's) say themselves they are not for production.
    let dev = ["fastapi dev", "manage.py runserver", "flask run"].iter().any(|server| words.contains(server));
    if dev || words.split_whitespace().any(|w| w == "--reload") {
        found.push((DEV_SERVER, format!(
            "The {keyword} starts a development server (`fastapi dev`, `manage.py runserver`, `flask run` or `--reload`), which is not for serving: run uvicorn or gunicorn (or `fastapi run`) without `--reload`."
        )));
    }
    if let Some(host) = loopback_host(&words, env) {
        found.push((
            LOOPBACK_BIND,
            format!(
                "The service listens on {host}, inside the container only: nothing outside reaches it. Use 0.0.0.0."
            ),
        ));
    }
    found
}

/// The script of `sh -c SCRIPT` (or bash), if that is the command.
fn shell_script(command: &str) -> Option<&str> {
    let rest = ["sh -c ", "/bin/sh -c ", "bash -c ", "/bin/bash -c "].iter().find_map(|p| command.strip_prefix(p))?;
    Some(rest)
}

/// bash runs a `-c` script of one simple command as `exec` would: that
/// command becomes PID 1. Debian's sh (dash) does not.
fn bash_execs_itself(command: &str, script: &str) -> bool {
    let bash = command.starts_with("bash ") || command.starts_with("/bin/bash ");
    bash && !script.contains([';', '&', '|', '\n', '(', '`'])
}

/// Full images carry compilers and package managers; these names mark the small ones.
/// An image of a family whose default variant is built on buildpack-deps,
/// compilers and all (python:3.10, node:20), and not one of its small
/// variants: Docker's official images only. A plain OS image (ubuntu,
/// debian) or a vendor's runtime image (AWS Lambda's python) has no
/// compiler: it may be big, but this rule is not about that.
fn is_full_base(image: &str) -> bool {
    let image = image.split('@').next().unwrap_or(image);
    let name = image.strip_prefix("docker.io/").unwrap_or(image);
    let name = name.strip_prefix("library/").unwrap_or(name);
    let (repository, tag) = (reference::repository(name), reference::tag(name).unwrap_or("latest"));
    let with_compilers = ["python", "pypy", "node", "buildpack-deps", "golang", "rust", "gcc", "ruby"];
    let small = ["slim", "alpine", "distroless", "minimal", "micro", "chiseled", "windowsservercore", "nanoserver"];
    with_compilers.contains(&repository) && !small.iter().any(|marker| tag.contains(marker))
}

/// The COPY/ADD of code in `stage` that comes before an install of its
/// dependencies, whichever install it is (`pip install poetry`, then the
/// code, then `poetry install`). Once dependencies are in (in this stage,
/// or in `inherited` ones, from a stage it is built FROM), installing the
/// project itself from its folder (`pip install .`) is cheap, and no such
/// install.
fn copy_before_install(stage: &Stage, inherited: bool) -> Vec<&Instruction> {
    let mut deps_in = inherited;
    let mut last_install = None;
    for run in stage.find("RUN") {
        let command = run.command();
        if installs_dependencies(&command, deps_in) {
            last_install = Some(run);
        }
        deps_in |= installs_dependencies(&command, false);
    }
    let Some(last_install) = last_install else { return Vec::new() };
    let copies = stage.instructions.iter().filter(|i| i.line < last_install.line);
    copies
        .filter(|i| matches!(i.keyword.as_str(), "COPY" | "ADD") && !i.has_flag("--from"))
        .filter(|copy| {
            let operands = copy.operands();
            operands[..operands.len().saturating_sub(1)].iter().any(|source| is_code(source))
        })
        .collect()
}

/// Whether a COPY source is the project's code: the whole context, a
/// folder (a package), or Python sources; not one named file of another
/// kind (a requirements or lock file, packaging metadata, a config file,
/// a script), a URL, or a variable.
fn is_code(source: &str) -> bool {
    if source.contains("://") || source.contains('$') || is_requirements_file(source) {
        return false;
    }
    let name = source.trim_end_matches('/').rsplit('/').next().unwrap_or(source);
    matches!(name, "." | "*" | "") || source.ends_with('/') || name.ends_with(".py") || !name.contains('.')
}

/// Files that list dependencies or describe the package, and built wheels:
/// what an install needs, so copying them first keeps the cache.
fn is_requirements_file(source: &str) -> bool {
    let name = source.trim_end_matches('/').rsplit('/').next().unwrap_or(source);
    let extension = name.rsplit_once('.').map(|(_, e)| e);
    name.starts_with("requirements")
        || name.starts_with("wheel")
        // pyproject.toml names them: a build of the project needs them.
        || name.starts_with("README")
        || name.starts_with("LICENSE")
        || name.starts_with("Pipfile")
        || matches!(name, "setup.py" | "package.json" | "package-lock.json" | "MANIFEST.in")
        || matches!(extension, Some("txt" | "list" | "toml" | "cfg" | "lock" | "in" | "whl"))
}

fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or("").trim();
    name == "root" || name == "0"
}

/// The loopback address the server is told to listen on: uvicorn's
/// `--host` (its default, 127.0.0.1, unless `UVICORN_HOST` is set), or
/// gunicorn's `--bind`/`-b` when it names one.
fn loopback_host(command: &str, env: &[&Instruction]) -> Option<String> {
    let words: Vec<&str> = command
        .split(|c: char| c.is_whitespace() || matches!(c, '[' | ']' | ',' | '"' | '\''))
        .filter(|w| !w.is_empty())
        .collect();
    let value_of = |flags: &[&str]| {
        words.iter().enumerate().find_map(|(i, word)| {
            flags.iter().find_map(|flag| match word.strip_prefix(flag) {
                Some("") => words.get(i + 1).copied(),
                Some(rest) => rest.strip_prefix('='),
                None => None,
            })
        })
    };
    let is_loopback = |host: &str| matches!(host, "127.0.0.1" | "localhost" | "::1" | "[::1]");
    if words.iter().any(|w| w.ends_with("gunicorn")) {
        let bind = value_of(&["--bind", "-b"])?;
        let host = bind.rsplit_once(':').map_or(bind, |(host, _)| host);
        return is_loopback(host).then(|| host.to_string());
    }
    if !words.iter().any(|w| w.contains("uvicorn")) {
        return None;
    }
    let env_host = env.iter().rev().find_map(|e| {
        e.args.split_whitespace().find_map(|pair| pair.strip_prefix("UVICORN_HOST=")).map(|v| v.trim_matches('"'))
    });
    match value_of(&["--host"]).or(env_host) {
        Some(host) if is_loopback(host) => Some(host.to_string()),
        Some(_) => None,
        None => Some("127.0.0.1 (uvicorn's default without --host)".to_string()),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::{
        lint::{rule_table::tests::Seen, Severity},
        sys::project,
    };

    fn rules_of(text: &str) -> Vec<(String, Option<usize>)> {
        located(&check_dockerfile(text, "Dockerfile"))
    }

    fn located(findings: &[Finding]) -> Vec<(String, Option<usize>)> {
        findings.iter().map(|f| (f.rule.clone(), f.line)).collect()
    }

    fn fixtures(folder: &str) -> Vec<(String, String)> {
        let dir = project::root().join("tests/fixtures/lint").join(folder);
        let mut found: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "Dockerfile"))
            .map(|path| {
                (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(path).unwrap())
            })
            .collect();
        found.sort();
        assert!(!found.is_empty(), "no fixtures in {dir}");
        found
    }

    #[test]
    fn our_own_dockerfile_is_clean() {
        assert_eq!(rules_of(include_str!("../../../docker/Dockerfile")), []);
    }

    /// Each fixture tests/fixtures/lint/*.Dockerfile names its rule on its
    /// first line (`# Rule NAME:`) and fires that rule, at the line its
    /// `# fires here` comment marks (none: a finding of the whole file),
    /// and no other. Real Dockerfiles' patterns that once gave false
    /// findings, tests/fixtures/lint/clean/*.Dockerfile, give none, and
    /// name the rules they come close to (`# No finding of NAME, NAME:`).
    pub(in crate::lint) fn cases(seen: &mut Seen) {
        for (name, text) in fixtures("") {
            let rule = text.lines().next().and_then(|l| l.strip_prefix("# Rule ")?.split(':').next()).unwrap();
            let marked = text.lines().position(|l| l.contains("# fires here")).map(|i| i + 2);
            let found = check_dockerfile(&text, "Dockerfile");
            assert_eq!(located(&found), [(rule.to_string(), marked)], "{name}");
            seen.fired(&found);
        }
        for (name, text) in fixtures("clean") {
            let found = check_dockerfile(&text, "Dockerfile");
            assert_eq!(located(&found), [], "{name}");
            let named = text.lines().find_map(|l| l.strip_prefix("# No finding of ")?.split_once(':'));
            let (named, _) = named.unwrap_or_else(|| panic!("{name} has no `# No finding of NAME:` line"));
            named.split(", ").for_each(|rule| seen.silent(rule, &found));
        }
    }

    #[test]
    fn each_rule_fires_on_its_fixtures_and_the_clean_ones_give_none() {
        cases(&mut Seen::default());
    }

    /// Findings that may be right on purpose are warnings that say what
    /// would make them right.
    #[test]
    fn severity_matches_the_harm() {
        let gosu = "FROM python:3.12-slim\n\
                    RUN apt-get update && apt-get install -y --no-install-recommends gosu && rm -rf /var/lib/apt/lists/*\n\
                    ENTRYPOINT [\"/entrypoint.sh\"]\n\
                    CMD [\"python\", \"-m\", \"uvicorn\", \"main:app\", \"--host\", \"0.0.0.0\"]\n";
        let found = check_dockerfile(gosu, "Dockerfile");
        let of = |rule: &str| found.iter().find(|f| f.rule == rule).unwrap();
        assert_eq!(of("root-user").severity, Severity::Warning);
        assert!(
            of("root-user").message.contains("gosu, so its entrypoint may drop privileges"),
            "{}",
            of("root-user").message
        );
        assert_eq!(of("no-healthcheck").severity, Severity::Error, "a server's image");
        let roles = check_dockerfile("FROM python:3.12-slim\nUSER 10001\nCMD [\"bash\"]\n", "Dockerfile");
        let missing = roles.iter().find(|f| f.rule == "no-healthcheck").unwrap();
        assert_eq!(missing.severity, Severity::Warning, "an image of several roles");
        assert!(missing.message.contains("compose's healthcheck"), "{}", missing.message);
        let plain = check_dockerfile("FROM python:3.12-slim\nCMD [\"python\"]\n", "Dockerfile");
        assert_eq!(plain.iter().find(|f| f.rule == "root-user").unwrap().severity, Severity::Error);
        // Each a warning where its rule's row says when.
        let mut seen = Seen::default();
        [found, roles, plain].iter().for_each(|found| seen.fired(found));
    }

    #[test]
    fn full_bases_are_those_with_compilers() {
        for full in ["python:3.10", "python", "docker.io/library/python:3.12-bookworm", "node:20", "python@sha256:ab"] {
            assert!(is_full_base(full), "{full}");
        }
        for small in [
            "python:3.10-slim",
            "python:3.12-alpine",
            "ubuntu:24.04",
            "nvidia/cuda:12.2.0-runtime-ubuntu20.04",
            "public.ecr.aws/lambda/python:3.14",
            "gcr.io/distroless/python3-debian12",
            "registry.local:5000/team/base:1",
        ] {
            assert!(!is_full_base(small), "{small}");
        }
    }

    #[test]
    fn server_hosts() {
        let none: &[&Instruction] = &[];
        assert_eq!(loopback_host(r#"uvicorn main:app --host 0.0.0.0"#, none), None);
        assert_eq!(loopback_host("uvicorn main:app --host=localhost", none).as_deref(), Some("localhost"));
        assert!(loopback_host("uvicorn main:app", none).unwrap().starts_with("127.0.0.1"));
        assert_eq!(loopback_host("gunicorn app", none), None);
        assert_eq!(
            loopback_host("gunicorn -k uvicorn.workers.UvicornWorker -b 127.0.0.1:80 app", none).as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(loopback_host("gunicorn --bind=0.0.0.0:80 app", none), None);
    }
}
