//! What a RUN's shell command installs, and what it leaves in its layer:
//! Python's installers (pip, uv, poetry, pipenv) and their caches, apt
//! and its package lists, compilers. Read from the words of the command,
//! as the Dockerfile rules ask it.

use crate::model::dockerfile::Instruction;

/// One install of a RUN's shell command: the installer, and the words
/// after its verb (options and targets).
struct Install<'a> {
    /// `pip`, `uv pip`, `poetry`, `uv sync`, `pipenv`.
    tool: &'static str,
    words: Vec<&'a str>,
}

impl Install<'_> {
    fn targets(&self) -> impl Iterator<Item = &&str> {
        self.words.iter().filter(|word| !word.starts_with('-'))
    }

    fn has(&self, option: &str) -> bool {
        self.words.iter().any(|word| word.starts_with(option))
    }

    /// Installers and build tools alone (`pip install poetry`): no
    /// dependency of the project.
    fn tools_only(&self) -> bool {
        let tools = ["pip", "setuptools", "wheel", "poetry", "uv", "pipenv", "virtualenv", "pdm", "hatch", "build"];
        matches!(self.tool, "pip" | "uv pip")
            && !self.has("-r")
            && self.targets().next().is_some()
            && self.targets().all(|target| {
                let name = target.split(['=', '<', '>', '~', '[']).next().unwrap_or(target);
                tools.contains(&name.to_ascii_lowercase().as_str())
            })
    }

    /// The project itself, from its folder (`pip install .`, `-e .`), or
    /// a lock-file installer that installs the project besides the locked
    /// dependencies: cheap once the dependencies are in.
    fn project(&self) -> bool {
        match self.tool {
            "pip" | "uv pip" => {
                !self.has("-r") && self.targets().next().is_some() && self.targets().all(|t| t.starts_with(['.', '/']))
            }
            _ => !self.has("--no-root") && !self.has("--no-install-project"),
        }
    }

    /// Installs no dependency at all: the project with `--no-deps`, or
    /// poetry's `--only-root`. A requirements file with `--no-deps` is its
    /// pinned dependencies, each one.
    fn no_dependencies(&self) -> bool {
        (self.has("--no-deps") && !self.has("-r")) || self.has("--only-root")
    }
}

/// The installs in `command`, a segment of the shell command each.
fn installs(command: &str) -> Vec<Install<'_>> {
    let segments = command.split(['&', ';', '|', '\n']).filter(|segment| !segment.trim().is_empty());
    segments
        .filter_map(|segment| {
            let words: Vec<&str> = segment.split_whitespace().collect();
            let at = |i: usize| words.get(i).copied().unwrap_or_default();
            let verb = words.iter().position(|w| matches!(*w, "install" | "sync"))?;
            let before = at(verb.checked_sub(1)?);
            let tool = match before.rsplit('/').next().unwrap_or(before) {
                "pip" | "pip3" if verb >= 2 && at(verb - 2) == "uv" => "uv pip",
                "pip" | "pip3" if at(verb) == "install" => "pip",
                "poetry" if at(verb) == "install" => "poetry",
                "pipenv" if at(verb) == "install" => "pipenv",
                "uv" if at(verb) == "sync" => "uv sync",
                _ => return None,
            };
            Some(Install { tool, words: words[verb + 1..].to_vec() })
        })
        .collect()
}

/// Whether `command` installs the project's dependencies, with `deps_in`
/// saying whether they are in already (then installing the project
/// itself is none). Installers alone (`pip install poetry`) are none.
pub(super) fn installs_dependencies(command: &str, deps_in: bool) -> bool {
    installs(command)
        .iter()
        .any(|install| !(install.tools_only() || install.no_dependencies() || deps_in && install.project()))
}

/// A `pip install` that leaves pip's download cache in the layer: one
/// without `--no-cache-dir` (or pip's own prefix of it, `--no-cache`), or
/// local wheels only (`--no-index`), unless the RUN mounts a cache or
/// removes pip's. `uv pip install`'s switch is `--no-cache`.
pub(super) fn leaves_pip_cache(run: &Instruction) -> bool {
    let command = run.command();
    let caches = ["/root/.cache/pip", "/root/.cache", "~/.cache/pip", "$HOME/.cache/pip"];
    let removed = command.contains("rm ") && caches.iter().any(|cache| command.contains(cache));
    let keeps = |install: &Install| {
        matches!(install.tool, "pip" | "uv pip") && !install.has("--no-cache") && !install.has("--no-index")
    };
    !removed && !run.has_flag("--mount=type=cache") && installs(&command).iter().any(keeps)
}

/// Whether `command` runs `apt-get install` (or `apt install`), options
/// before the verb included: `apt-get -q -y install`, `-o Key=Value`.
pub(super) fn apt_installs(command: &str) -> bool {
    apt_runs(command, &["install"])
}

/// Whether `command` runs apt-get (or apt) with one of `verbs`.
fn apt_runs(command: &str, verbs: &[&str]) -> bool {
    let words: Vec<&str> = command.split_whitespace().collect();
    words.iter().enumerate().filter(|(_, word)| matches!(**word, "apt-get" | "apt")).any(|(at, _)| {
        let mut rest = words[at + 1..].iter();
        while let Some(word) = rest.next() {
            match *word {
                "-o" | "-c" | "-t" => {
                    rest.next();
                }
                option if option.starts_with('-') => {}
                verb => return verbs.contains(&verb),
            }
        }
        false
    })
}

/// An `rm` of apt's lists in the same RUN: `/var/lib/apt/lists/*`, or all
/// of `/var/lib/apt`.
pub(super) fn removes_apt_lists(command: &str) -> bool {
    command.contains("rm ")
        && command.split(|c: char| c.is_whitespace() || c == ';' || c == '&').any(|word| {
            let word = word.trim_matches(['"', '\'']);
            matches!(word.trim_end_matches('/'), "/var/lib/apt" | "/var/lib/apt/lists" | "/var/lib/apt/lists/*")
                || word.starts_with("/var/lib/apt/lists/")
        })
}

/// A BuildKit cache mount over apt's lists keeps them out of the layer.
pub(super) fn mounts_apt_lists(run: &Instruction) -> bool {
    run.flags().filter_map(|flag| flag.strip_prefix("--mount=")).any(|mount| {
        mount.split(',').any(|part| {
            let target = part.split_once('=').filter(|(key, _)| matches!(*key, "target" | "dst" | "destination"));
            target.is_some_and(|(_, path)| matches!(path.trim_end_matches('/'), "/var/lib/apt" | "/var/lib/apt/lists"))
        })
    })
}

pub(super) fn installs_compiler(command: &str) -> bool {
    let installs = ["apk add", "yum install", "dnf install"];
    let compilers = ["build-essential", "gcc", "g++", "clang", "build-base"];
    (apt_installs(command) || installs.iter().any(|i| command.contains(i)))
        && command.split_whitespace().any(|word| compilers.contains(&word))
        && !apt_runs(command, &["purge", "remove", "autoremove"])
        && !command.contains("apk del")
}
