//! Every rule of ours, in one table: its id, what it reads, its severity
//! (and when a finding of it is a warning instead), what it catches, its
//! fix, and how sure it is. The rules take their findings' id and
//! severity from their row, and docs/reference.md's rule tables are made
//! from the table (a unit test keeps them equal), so each is said once.
//! hadolint's rules are its own, and not here.

use super::Severity;

/// What a rule reads: the docs list the rules by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    Dockerfile,
    Dockerignore,
    Compose,
    /// The built image: its configuration, its files, and how it runs.
    Image,
}

impl Reads {
    fn heading(self) -> &'static str {
        match self {
            Reads::Dockerfile => "The Dockerfile",
            Reads::Dockerignore => "The `.dockerignore`",
            Reads::Compose => "A Compose file",
            Reads::Image => "The built image",
        }
    }
}

/// How far a finding of the rule can be trusted.
#[derive(Debug)]
pub enum Sure {
    /// Right wherever it fires, in all the rule can see.
    Always,
    /// A heuristic, and what it may get wrong.
    Heuristic(&'static str),
}

#[derive(Debug)]
pub struct Rule {
    /// What a finding names it by (`[root-user]`).
    pub id: &'static str,
    pub reads: Reads,
    pub severity: Severity,
    /// When a finding of it is a warning instead: what the rule sees says
    /// it may be right on purpose.
    pub warning_when: Option<&'static str>,
    pub catches: &'static str,
    pub fix: &'static str,
    pub sure: Sure,
}

/// Declares each rule as a constant, which the rules use, and `RULES`, the
/// table of them all: a rule cannot be used without being in the table.
macro_rules! rules {
    ($($name:ident = $rule:expr;)*) => {
        $(pub const $name: &Rule = &$rule;)*
        /// Every rule, in the order the docs list them.
        pub const RULES: &[&Rule] = &[$($name),*];
    };
}

rules! {
    NO_STAGE = Rule {
        id: "no-stage",
        reads: Reads::Dockerfile,
        severity: Severity::Error,
        warning_when: None,
        catches: "a Dockerfile with no `FROM`: no stage to build",
        fix: "start the build with `FROM` and a base image",
        sure: Sure::Always,
    };
    FINAL_STAGE_FULL_BASE = Rule {
        id: "final-stage-full-base",
        reads: Reads::Dockerfile,
        severity: Severity::Error,
        warning_when: None,
        catches: "the final stage on an official image whose default variant carries compilers (`python:3.10`, \
                  `node:20`, `buildpack-deps`, …), not a slim or alpine one, followed through `FROM <stage>` and ARGs \
                  such as `${VARIANT:--slim}`; a plain OS image (`ubuntu`) or a vendor's runtime image is not one",
        fix: "run the final stage on a `-slim` (or alpine, distroless) base, and build what needs a compiler in an \
              earlier stage",
        sure: Sure::Heuristic(
            "it knows Docker's official images by name, and their small variants by tag; an image of another name \
             that carries compilers passes",
        ),
    };
    COPY_BEFORE_INSTALL = Rule {
        id: "copy-before-install",
        reads: Reads::Dockerfile,
        severity: Severity::Error,
        warning_when: None,
        catches: "code copied before any step that installs dependencies (`pip install`, `poetry install`, `uv sync`, \
                  `uv pip install`, `pipenv install`; every such step, not only the first), which breaks the layer \
                  cache; requirement and lock files, wheels, packaging metadata (`setup.py`, `setup.cfg`, \
                  `package.json`) and the `README`/`LICENSE` that `pyproject.toml` names may come first (COPY's JSON \
                  form too); installing the project itself once its dependencies are in (`--no-deps .`, poetry's \
                  `--only-root`, `pip install .` after an earlier install in the stage or the one it is built FROM) \
                  is no such step",
        fix: "copy the requirements or lock files, install, then copy the code",
        sure: Sure::Heuristic(
            "what is code is read from the source's name (a folder, `.`, a `.py` file, a name without an \
             extension); another single file is taken for what an install needs",
        ),
    };
    PIP_CACHE_IN_FINAL_STAGE = Rule {
        id: "pip-cache-in-final-stage",
        reads: Reads::Dockerfile,
        severity: Severity::Error,
        warning_when: None,
        catches: "`pip install` in the final stage or a stage it is built FROM without `--no-cache-dir` (or pip's \
                  own prefix of it, `--no-cache`; `uv pip install` without `--no-cache`), `PIP_NO_CACHE_DIR` in its \
                  ENV, a BuildKit cache mount, `--no-index`, or an `rm` of pip's cache in the same `RUN`",
        fix: "`pip install --no-cache-dir` (uv: `--no-cache`), or a BuildKit cache mount over pip's cache",
        sure: Sure::Heuristic("pip's own configuration file (`pip.conf` with `no-cache-dir`) is not read"),
    };
    COMPILER_IN_FINAL_STAGE = Rule {
        id: "compiler-in-final-stage",
        reads: Reads::Dockerfile,
        severity: Severity::Error,
        warning_when: None,
        catches: "`build-essential`, `gcc`, `g++` or `clang` installed in the final stage or a stage it is built \
                  FROM, and not purged in the same `RUN`",
        fix: "install the compiler in an earlier stage and copy what it built (a venv, wheels) into the final one",
        sure: Sure::Always,
    };
    APT_LISTS_KEPT = Rule {
        id: "apt-lists-kept",
        reads: Reads::Dockerfile,
        severity: Severity::Error,
        warning_when: None,
        catches: "`apt-get install` (options before the verb too: `apt-get -q -y install`) in a stage the image is \
                  made of, whose lists are neither removed in the same `RUN` (`rm -rf /var/lib/apt/lists/*`, or all \
                  of `/var/lib/apt`) nor in a cache mount",
        fix: "end the same `RUN` with `rm -rf /var/lib/apt/lists/*`, or mount a cache over them",
        sure: Sure::Always,
    };
    ROOT_USER = Rule {
        id: "root-user",
        reads: Reads::Dockerfile,
        severity: Severity::Error,
        warning_when: Some(
            "the image has a tool that drops privileges at start (gosu, su-exec, s6, setpriv, runuser, chpst, \
             supervisord), which the finding names",
        ),
        catches: "no `USER`, or a root one (also through an ARG whose default is 0), in the final stage or the stage \
                  it is built FROM",
        fix: "`USER` a non-root uid (`USER 10001`) in the final stage",
        sure: Sure::Heuristic("an entrypoint that drops privileges by other means (its own code) is not seen"),
    };
    SHELL_FORM_COMMAND = Rule {
        id: "shell-form-command",
        reads: Reads::Dockerfile,
        severity: Severity::Error,
        warning_when: None,
        catches: "a shell-form `CMD` or `ENTRYPOINT`, or an exec-form `sh -c` whose script has no `exec`: either way \
                  the shell is PID 1 and `docker stop` waits 10 s (bash runs a `-c` script of one simple command in \
                  its own place, so that one is fine; Debian's `sh` does not)",
        fix: "write the command as a JSON array (`CMD [\"uvicorn\", …]`), or start the script's last command with \
              `exec`",
        sure: Sure::Heuristic(
            "an `exec` anywhere in the script counts; a shell-form command under a `SHELL` of bash, which would run \
             one simple command in its own place, is flagged still",
        ),
    };
    DEV_SERVER = Rule {
        id: "dev-server",
        reads: Reads::Dockerfile,
        severity: Severity::Error,
        warning_when: None,
        catches: "a framework's development server in the command the image starts: `fastapi dev`, \
                  `manage.py runserver`, `flask run`, or `--reload`",
        fix: "run uvicorn or gunicorn (or `fastapi run`) without `--reload`",
        sure: Sure::Heuristic("a `--reload` word counts whichever program takes it"),
    };
    LOOPBACK_BIND = Rule {
        id: "loopback-bind",
        reads: Reads::Dockerfile,
        severity: Severity::Error,
        warning_when: None,
        catches: "uvicorn on `127.0.0.1`/`localhost`, or without `--host` and without `UVICORN_HOST` (its default is \
                  loopback); gunicorn with `--bind`/`-b` on loopback",
        fix: "`--host 0.0.0.0` (gunicorn: `--bind 0.0.0.0:PORT`)",
        sure: Sure::Heuristic(
            "the host is read from the command's flags and `UVICORN_HOST`; one set in a configuration file or in \
             code is not seen",
        ),
    };
    SECRET_IN_ENV = Rule {
        id: "secret-in-env",
        reads: Reads::Dockerfile,
        severity: Severity::Error,
        warning_when: None,
        catches: "a secret given a literal value in an `ENV` or `ARG`, which `docker history` keeps: a name with a \
                  secret's word in it (`PASSWORD`, `SECRET`, `TOKEN`, `API_KEY`; as a word: not \
                  `TIKTOKEN_CACHE_DIR`; not a `…_FILE` or `…_PATH`), whose value could be one (not a path, a flag, \
                  a number or a `${reference}`); or a URL with a password in it, whatever the name",
        fix: "pass it at run time, or at build time with a BuildKit secret mount (`RUN --mount=type=secret`)",
        sure: Sure::Heuristic("a secret is told by the words of its name and the shape of its value"),
    };
    COPY_ENV_FILE = Rule {
        id: "copy-env-file",
        reads: Reads::Dockerfile,
        severity: Severity::Error,
        warning_when: None,
        catches: "`COPY .env` (or `.env.production`; templates such as `.env.example` are fine)",
        fix: "pass the settings at run time, and keep `.env` files out with `.dockerignore`",
        sure: Sure::Heuristic(
            "a `.env` file is taken to hold secrets, by its name; templates are told by their ending (`example`, \
             `sample`, `template`, `dist`)",
        ),
    };
    NO_HEALTHCHECK = Rule {
        id: "no-healthcheck",
        reads: Reads::Dockerfile,
        severity: Severity::Error,
        warning_when: Some(
            "the image's command starts no server (a shell, a CLI's `--help`: an image of several roles, each given \
             its check where it runs), or the Compose file checked with it gives the service built from it a \
             healthcheck",
        ),
        catches: "no `HEALTHCHECK` (or `HEALTHCHECK NONE`), inherited ones counted",
        fix: "a `HEALTHCHECK` that requests the service's health path",
        sure: Sure::Heuristic(
            "whether the command starts a server is read from its words (all but a shell alone or `--help` do)",
        ),
    };
    DOCKERIGNORE_LEAKS = Rule {
        id: "dockerignore-leaks",
        reads: Reads::Dockerignore,
        severity: Severity::Error,
        warning_when: Some(
            "it is `.git` and either no `COPY .` carries it into the image (it is sent to the engine, not shipped) \
             or the build runs git, which needs it",
        ),
        catches: "a `.dockerignore` that lets in what this context holds, or none where the context holds any of: \
                  its `.env` files (top level and one folder down), `.git`, a virtual environment by its own folder \
                  name (one with `pyvenv.cfg`), or a Rust project's `target/`",
        fix: "list them in the `.dockerignore`",
        sure: Sure::Always,
    };
    COMPOSE_NOT_READ = Rule {
        id: "compose-not-read",
        reads: Reads::Compose,
        severity: Severity::Warning,
        warning_when: None,
        catches: "no Compose v2 (`docker compose`) to read the Compose file with, so its rules did not run",
        fix: "install Compose v2 (Debian trixie's docker-compose package, or Docker's compose plugin)",
        sure: Sure::Always,
    };
    COMPOSE_LOCALHOST_URL = Rule {
        id: "compose-localhost-url",
        reads: Reads::Compose,
        severity: Severity::Error,
        warning_when: None,
        catches: "`localhost` or `127.0.0.1` as the host of a URL in a service's environment, in a file of several \
                  services: inside a container that is the container itself",
        fix: "use the other service's name (such as `db`) as the host",
        sure: Sure::Heuristic(
            "an http(s) URL under a name that says it is the address people use (`SITE_URL`, `…_HOST`, \
             `CORS_ORIGINS`) is a browser's, and passes",
        ),
    };
    COMPOSE_PUBLISHED_DATASTORE = Rule {
        id: "compose-published-datastore",
        reads: Reads::Compose,
        severity: Severity::Error,
        warning_when: None,
        catches: "a database, cache or broker (postgres, mysql, mariadb, mongo, redis, valkey, memcached, rabbitmq, \
                  elasticsearch, …) publishing a port on every interface, not on 127.0.0.1",
        fix: "publish it on 127.0.0.1 only (`127.0.0.1:5432:5432`), or not at all",
        sure: Sure::Heuristic("a datastore is told by its image's name"),
    };
    COMPOSE_DEPENDS_UNHEALTHY = Rule {
        id: "compose-depends-unhealthy",
        reads: Reads::Compose,
        severity: Severity::Error,
        warning_when: None,
        catches: "`depends_on` a datastore with `condition: service_started` (the default), or `service_healthy` on \
                  a service with no healthcheck",
        fix: "wait with `condition: service_healthy`, and give the service waited for a healthcheck",
        sure: Sure::Heuristic(
            "a datastore is told by its image's name, and a healthcheck the image declares itself is not seen",
        ),
    };
    COMPOSE_HEALTHCHECK_FORM = Rule {
        id: "compose-healthcheck-form",
        reads: Reads::Compose,
        severity: Severity::Error,
        warning_when: None,
        catches: "a healthcheck test that starts with anything but `CMD`, `CMD-SHELL` or `NONE`; `pg_isready` \
                  without `-h`, which answers over the socket during PostgreSQL's first initialisation",
        fix: "start the test with `CMD` (an argv) or `CMD-SHELL` (a shell command); give `pg_isready` \
              `-h 127.0.0.1`",
        sure: Sure::Always,
    };
    COMPOSE_SECRET_IN_ENVIRONMENT = Rule {
        id: "compose-secret-in-environment",
        reads: Reads::Compose,
        severity: Severity::Error,
        warning_when: None,
        catches: "a literal secret in `environment`, by the same test as `secret-in-env`",
        fix: "take it from a variable (`${KEY}`), an env_file that is not committed, or Compose secrets",
        sure: Sure::Heuristic("a secret is told by the words of its name and the shape of its value"),
    };
    COMPOSE_SOURCE_MOUNT = Rule {
        id: "compose-source-mount",
        reads: Reads::Compose,
        severity: Severity::Warning,
        warning_when: None,
        catches: "the project's folder bind-mounted over a service it builds (`.:/app`): fine in a development \
                  override, wrong in a file for CI or production",
        fix: "move the mount to a `compose.override.yaml` used for development",
        sure: Sure::Heuristic("whether the file is for development is not known"),
    };
    COMPOSE_IMAGE_TAG = Rule {
        id: "compose-image-tag",
        reads: Reads::Compose,
        severity: Severity::Error,
        warning_when: None,
        catches: "an image pulled with no tag or `latest`",
        fix: "pin a tag (such as `postgres:16`) or a digest",
        sure: Sure::Always,
    };
    IMAGE_ROOT_USER = Rule {
        id: "image-root-user",
        reads: Reads::Image,
        severity: Severity::Error,
        warning_when: None,
        catches: "the image's configured user is root, or none",
        fix: "`USER` a non-root uid (`USER 10001`) in the final stage",
        sure: Sure::Heuristic("an entrypoint that drops privileges itself is not seen"),
    };
    IMAGE_PORT_NOT_EXPOSED = Rule {
        id: "image-port-not-exposed",
        reads: Reads::Image,
        severity: Severity::Error,
        warning_when: None,
        catches: "the service's port is not exposed",
        fix: "`EXPOSE` the service's port",
        sure: Sure::Always,
    };
    IMAGE_NO_HEALTHCHECK = Rule {
        id: "image-no-healthcheck",
        reads: Reads::Image,
        severity: Severity::Error,
        warning_when: None,
        catches: "no health check in the image's configuration, or `NONE`",
        fix: "a `HEALTHCHECK` that requests the service's health path",
        sure: Sure::Always,
    };
    IMAGE_SHELL_FORM_COMMAND = Rule {
        id: "image-shell-form-command",
        reads: Reads::Image,
        severity: Severity::Error,
        warning_when: None,
        catches: "a `CMD` or `ENTRYPOINT` run by `/bin/sh -c`: the shell is PID 1",
        fix: "write the command as a JSON array",
        sure: Sure::Always,
    };
    IMAGE_COMPILER = Rule {
        id: "image-compiler",
        reads: Reads::Image,
        severity: Severity::Error,
        warning_when: None,
        catches: "a compiler (`gcc`, `cc`, `g++`, `clang`) on the image's `PATH`, as the image's own Python finds it",
        fix: "build in an earlier stage and copy what it built into the final one",
        sure: Sure::Always,
    };
    IMAGE_UNWANTED_FILE = Rule {
        id: "image-unwanted-file",
        reads: Reads::Image,
        severity: Severity::Error,
        warning_when: None,
        catches: "a `.env` file, `.git`, `tests`, `target` or `__pycache__` under the image's working directory",
        fix: "keep it out with `.dockerignore`, or copy only what the service needs",
        sure: Sure::Heuristic(
            "a file or folder of one of those names is taken for what the name says, wherever it is below the \
             working directory",
        ),
    };
    IMAGE_NOT_CHECKED = Rule {
        id: "image-not-checked",
        reads: Reads::Image,
        severity: Severity::Error,
        warning_when: None,
        catches: "the image's checks could not run: the build failed, the image cannot start its app, or it \
                  crashed when run",
        fix: "what the finding says; then lint again",
        sure: Sure::Always,
    };
    IMAGE_READ_ONLY_FAILS = Rule {
        id: "image-read-only-fails",
        reads: Reads::Image,
        severity: Severity::Error,
        warning_when: None,
        catches: "under `--read-only` (with a tmpfs for `/tmp`), its health path does not answer 200",
        fix: "write only to `/tmp` or to a volume",
        sure: Sure::Always,
    };
    IMAGE_WRITES_AT_RUN_TIME = Rule {
        id: "image-writes-at-run-time",
        reads: Reads::Image,
        severity: Severity::Error,
        warning_when: None,
        catches: "serving requests writes to the container's writable layer (`docker container inspect --size`; on \
                  podman, its own `/etc/passwd` and `/etc/group` entries are left out)",
        fix: "write to a volume or `/tmp`; compile the bytecode at build time (`python -m compileall`), so that \
              imports write none",
        sure: Sure::Always,
    };
}

/// The rule tables of docs/reference.md, in Markdown: one for what each
/// kind of rule reads.
pub fn markdown() -> String {
    let mut out = String::new();
    for reads in [Reads::Dockerfile, Reads::Dockerignore, Reads::Compose, Reads::Image] {
        out += &format!(
            "\n#### {}\n\n| rule | severity | what it catches | the fix | sure |\n|---|---|---|---|---|\n",
            reads.heading()
        );
        for rule in RULES.iter().filter(|rule| rule.reads == reads) {
            let severity = match rule.warning_when {
                Some(when) => format!("{}; a warning when {when}", rule.severity.name()),
                None => rule.severity.name().to_string(),
            };
            let sure = match rule.sure {
                Sure::Always => "yes".to_string(),
                Sure::Heuristic(why) => format!("a heuristic: {why}"),
            };
            let cells = [format!("`{}`", rule.id), severity, rule.catches.into(), rule.fix.into(), sure];
            let cells: Vec<String> = cells.iter().map(|cell| cell.replace('|', "\\|")).collect();
            out += &format!("| {} |\n", cells.join(" | "));
        }
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::lint::{compose, dockerfile_rules, dockerignore_rules, image_policy, Finding};

    /// What the rules' unit tests saw each rule do: fire in a case that
    /// asserted its findings, or stay silent in a case that names it (a
    /// near miss: a fixture whose header names it, a clean input).
    #[derive(Default)]
    pub(in crate::lint) struct Seen {
        fired: BTreeSet<&'static str>,
        silent: BTreeSet<&'static str>,
    }

    impl Seen {
        /// Records the rules of `findings`, which a case asserted, as
        /// fired: each has a row, and the severity its row gives it, or a
        /// warning where the row says when.
        pub(in crate::lint) fn fired(&mut self, findings: &[Finding]) {
            for finding in findings {
                let rule = row(&finding.rule);
                let lowered = finding.severity == Severity::Warning && rule.warning_when.is_some();
                assert!(finding.severity == rule.severity || lowered, "{finding:?}: not a severity of its row");
                self.fired.insert(rule.id);
            }
        }

        /// Asserts that `rule`, which a case names, is none of `findings`'
        /// rules, and records it as silent there.
        pub(in crate::lint) fn silent(&mut self, rule: &str, findings: &[Finding]) {
            let rule = row(rule);
            assert!(findings.iter().all(|f| f.rule != rule.id), "{} fired: {findings:?}", rule.id);
            self.silent.insert(rule.id);
        }
    }

    fn row(id: &str) -> &'static Rule {
        RULES.iter().copied().find(|rule| rule.id == id).unwrap_or_else(|| panic!("`{id}` has no row in RULES"))
    }

    /// A rule in the table fires in a case its tests assert and stays
    /// silent in one that names it; no rule's finding lacks a row (the
    /// rules take their ids from the table, and `Seen` checks each).
    #[test]
    fn every_rule_fires_on_a_fixture_and_stays_silent_on_a_clean_one() {
        let mut seen = Seen::default();
        dockerfile_rules::tests::cases(&mut seen);
        dockerignore_rules::tests::cases(&mut seen);
        compose::tests::cases(&mut seen);
        image_policy::tests::cases(&mut seen);
        let unfired: Vec<&str> = RULES.iter().map(|r| r.id).filter(|id| !seen.fired.contains(id)).collect();
        let never_silent: Vec<&str> = RULES.iter().map(|r| r.id).filter(|id| !seen.silent.contains(id)).collect();
        assert!(unfired.is_empty(), "no case fires {unfired:?}");
        assert!(never_silent.is_empty(), "no clean case names {never_silent:?}");
    }

    #[test]
    fn ids_are_unique_and_lowercase_words() {
        let ids: BTreeSet<&str> = RULES.iter().map(|rule| rule.id).collect();
        assert_eq!(ids.len(), RULES.len());
        assert!(ids.iter().all(|id| id.chars().all(|c| c.is_ascii_lowercase() || c == '-')), "{ids:?}");
    }

    /// docs/reference.md's rule tables are the table's own: with
    /// UPDATE_DOCS=1 this test writes them, else it fails when they differ.
    #[test]
    fn the_reference_s_rule_tables_are_the_table() {
        crate::sys::doc_blocks::check_reference_block("rules", &markdown(), "rule_tables");
    }
}
