//! Our rule on the build context's `.dockerignore`: a pure function of
//! its text and of what the context holds (its listing, made once from
//! the directory), so that it is tested without an engine or a real
//! context. Whether the Dockerfile carries the context's `.git` into the
//! image (`ships_git`) decides how much a leak of it matters.

use super::{rule_table::DOCKERIGNORE_LEAKS, secrets::is_env_file, Finding};
use crate::model::{
    dockerfile::{Dockerfile, Instruction},
    dockerignore::DockerIgnore,
};

/// Findings of the context's `.dockerignore` (None: there is none): what
/// it lets in of what this context holds (`.env` files, `.git`, a venv by
/// its own folder name, a Rust project's `target/`). `.git` is only sent
/// to the engine, not shipped, unless the Dockerfile `ships_git`: then it
/// is an error, else a warning.
pub fn check_dockerignore(text: Option<&str>, file: &str, context: &ContextListing, ships_git: bool) -> Vec<Finding> {
    // Each probe: a path the leak would hold, what it is, and whether it
    // can reach the image.
    let mut probes: Vec<(String, String, bool)> = Vec::new();
    for env_file in &context.env_files {
        probes.push((env_file.clone(), env_file.clone(), true));
    }
    if context.entries.iter().any(|e| e == ".git/") {
        probes.push((".git/HEAD".into(), ".git".into(), ships_git));
    }
    for venv in &context.venvs {
        probes.push((format!("{venv}/pyvenv.cfg"), format!("the virtual environment {venv}"), true));
    }
    if context.entries.iter().any(|e| e == "target/") && context.entries.iter().any(|e| e == "Cargo.toml") {
        probes.push(("target/debug/build".into(), "target/".into(), true));
    }
    let shipped = |reaches: bool| {
        match reaches {
        true => "and can reach the image",
        false => "but no `COPY .` carries it into the image, or the build runs git, which reads it: ignore it unless the build needs it",
    }
    };
    // Only what is sent to the engine and never shipped may be there on
    // purpose: a warning.
    let finding = |reaches: bool, message: String| match reaches {
        true => Finding::new(DOCKERIGNORE_LEAKS, file, message),
        false => Finding::new(DOCKERIGNORE_LEAKS, file, message).lowered(),
    };
    // Without a .dockerignore, a context that holds none of them is fine.
    let Some(text) = text else {
        let reaches = probes.iter().any(|(_, _, reaches)| *reaches);
        let leaks: Vec<String> = probes.into_iter().map(|(_, what, _)| what).collect();
        return match leaks.is_empty() {
            true => Vec::new(),
            false => vec![finding(
                reaches,
                format!(
                    "There is no .dockerignore, so the whole context goes to the engine, {} included, {}.",
                    leaks.join(", "),
                    shipped(reaches)
                ),
            )],
        };
    };
    let ignore = DockerIgnore::parse(text);
    probes
        .into_iter()
        .filter(|(path, _, _)| !ignore.excludes(path))
        .map(|(_, what, reaches)| {
            let message = match reaches {
                true => format!("The .dockerignore lets {what} into the build context."),
                false => format!("The .dockerignore lets {what} into the build context, {}.", shipped(reaches)),
            };
            finding(reaches, message)
        })
        .collect()
}

/// Whether the Dockerfile carries `.git` into the image: it copies the
/// whole build context (`COPY . /app`, `ADD ./ .`), and no step runs git,
/// which would need it there (a version read from git, a `git restore`).
pub fn ships_git(text: &str) -> bool {
    let instructions: Vec<Instruction> =
        Dockerfile::parse(text).stages.into_iter().flat_map(|stage| stage.instructions).collect();
    let copies_context = instructions.iter().any(|i| {
        let operands = i.operands();
        matches!(i.keyword.as_str(), "COPY" | "ADD")
            && !i.has_flag("--from")
            && operands[..operands.len().saturating_sub(1)]
                .iter()
                .any(|source| matches!(source.as_str(), "." | "./" | "*"))
    });
    // A git command that reads the local repository; not `git clone` of
    // another one, nor git named as a package to install.
    let reads_repository = |command: String| {
        let words: Vec<&str> = command.split_whitespace().collect();
        words.windows(2).any(|pair| {
            pair[0] == "git" && !pair[1].starts_with('-') && !matches!(pair[1], "clone" | "ls-remote" | "init" | "&&")
        })
    };
    let runs_git = instructions.iter().any(|i| i.keyword == "RUN" && reads_repository(i.command()));
    copies_context && !runs_git
}

/// What a build context holds, as far as the `.dockerignore` rule asks.
#[derive(Debug, Default)]
pub struct ContextListing {
    /// Top-level entries, folders with a trailing `/`.
    pub entries: Vec<String>,
    /// `.env` files, at the top or one folder down, relative.
    pub env_files: Vec<String>,
    /// Folders (top level) that hold a `pyvenv.cfg`.
    pub venvs: Vec<String>,
}

impl ContextListing {
    /// Lists `dir`: its top level, and one folder down for `.env` files.
    pub fn of(dir: &std::path::Path) -> ContextListing {
        let mut listing = ContextListing::default();
        let names = |dir: &std::path::Path| -> Vec<(String, bool)> {
            let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
            entries
                .flatten()
                .map(|e| (e.file_name().to_string_lossy().into_owned(), e.file_type().is_ok_and(|t| t.is_dir())))
                .collect()
        };
        for (name, is_dir) in names(dir) {
            if is_dir {
                if dir.join(&name).join("pyvenv.cfg").is_file() {
                    listing.venvs.push(name.clone());
                }
                let below = names(&dir.join(&name));
                listing.env_files.extend(
                    below.into_iter().filter(|(n, d)| !d && is_env_file(n)).map(|(n, _)| format!("{name}/{n}")),
                );
                listing.entries.push(format!("{name}/"));
            } else {
                if is_env_file(&name) {
                    listing.env_files.push(name.clone());
                }
                listing.entries.push(name);
            }
        }
        listing.entries.sort();
        listing.env_files.sort();
        listing.venvs.sort();
        listing
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::{
        lint::{rule_table::tests::Seen, Severity},
        sys::project,
    };

    #[test]
    fn our_own_dockerignore_is_clean() {
        let context = ContextListing::of(project::root().as_std_path());
        assert!(context.entries.contains(&"xtask/".to_string()), "{context:?}");
        let ignore = check_dockerignore(Some(include_str!("../../../.dockerignore")), ".dockerignore", &context, true);
        assert!(ignore.is_empty(), "{ignore:?}");
    }

    /// The rule on contexts that hold something to leak (the fixture
    /// tests/fixtures/lint/leaky.dockerignore, or none) and on ones that
    /// hold nothing.
    pub(in crate::lint) fn cases(seen: &mut Seen) {
        let nothing_to_leak =
            ContextListing { entries: vec!["Dockerfile".into(), "main.py".into()], ..Default::default() };
        let found = check_dockerignore(None, ".dockerignore", &nothing_to_leak, true);
        assert!(found.is_empty(), "{found:?}");
        seen.silent(DOCKERIGNORE_LEAKS.id, &found);
        let git = ContextListing { entries: vec![".git/".into(), "main.py".into()], ..Default::default() };
        let missing = check_dockerignore(None, ".dockerignore", &git, true);
        assert_eq!(missing.len(), 1);
        seen.fired(&missing);
        assert!(
            missing[0]
                .message
                .starts_with("There is no .dockerignore, so the whole context goes to the engine, .git included"),
            "{}",
            missing[0].message
        );
        let leaky = include_str!("../../../tests/fixtures/lint/leaky.dockerignore");
        let holds = ContextListing {
            entries: [".env", ".git/", "app/", "env/", "target/"].map(String::from).to_vec(),
            env_files: [".env", "app/.env"].map(String::from).to_vec(),
            venvs: vec!["env".into()],
        };
        let leaks = check_dockerignore(Some(leaky), ".dockerignore", &holds, true);
        let messages: Vec<&str> = leaks.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "The .dockerignore lets .env into the build context.",
                "The .dockerignore lets app/.env into the build context.",
                "The .dockerignore lets the virtual environment env into the build context.",
            ],
            "no target/ finding without a Cargo.toml: a Python context's target/ is its own business"
        );
        seen.fired(&leaks);
        let python_only =
            ContextListing { entries: vec!["app/".into(), "requirements.txt".into()], ..Default::default() };
        let found = check_dockerignore(Some(""), ".dockerignore", &python_only, true);
        assert_eq!(found.len(), 0, "nothing there to leak");
        seen.silent(DOCKERIGNORE_LEAKS.id, &found);
        let sent_not_shipped = check_dockerignore(None, ".dockerignore", &git, false);
        assert_eq!(sent_not_shipped[0].severity, Severity::Warning);
        assert!(sent_not_shipped[0].message.contains("no `COPY .` carries it"), "{}", sent_not_shipped[0].message);
        seen.fired(&sent_not_shipped);
    }

    #[test]
    fn the_dockerignore_rule_judges_what_the_context_holds() {
        cases(&mut Seen::default());
    }

    #[test]
    fn git_is_shipped_by_a_copy_of_the_context_that_no_git_command_needs() {
        assert!(ships_git("FROM a\nCOPY . /app\n") && !ships_git("FROM a\nCOPY app/ /srv/app\n"));
        assert!(!ships_git("FROM a\nCOPY . /app\nRUN git restore . && pip install .\n"), "the build reads it");
        assert!(ships_git("FROM a\nRUN apt-get install -y git && git clone https://x/y\nCOPY . /app\n"));
    }
}
