//! `cargo xtask doctor`: onboarding in one command. It finds the engines
//! (Docker, here or remote, and podman), which one the tasks would use and
//! how it builds; whether base images can be pulled or offline mode is
//! needed, and whether its stand-ins exist; and the host tools the project
//! uses. Every problem comes with the command that fixes it. It exits 0
//! when `cargo xtask smoke` can work here.

use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use super::{Done, Task};
use crate::{
    cli::EngineFlag,
    engine::{
        choice::{on_path, Choice},
        container::PODMAN_ULIMITS_FIX,
        Engine, Kind,
    },
    registry,
    report::Report,
    standins,
    sys::{
        process::{self, CommandLine},
        project,
        venv::{self, Venv},
    },
};

/// The project's local secrets, beside its Dockerfile (see `cli::settings`).
const LOCAL_SETTINGS: &str = "docker/run.local.env";

/// Where the official base images come from, unless a mirror is named.
const REGISTRY: &str = "registry-1.docker.io:443";

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineFound {
    pub name: String,
    pub installed: bool,
    pub answers: bool,
    /// It can start containers: false where podman's rlimits fail.
    pub starts_containers: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub builder: Option<String>,
    pub buildx: bool,
    /// The offline stand-in base images are in its store.
    pub stand_ins: bool,
}

#[derive(Debug, Serialize)]
pub struct Problem {
    pub problem: String,
    pub fix: String,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DoctorReport {
    pub engines: Vec<EngineFound>,
    /// The engine the tasks use without `--engine`.
    pub chosen: String,
    /// None: not asked, because offline mode is on.
    pub registry_reachable: Option<bool>,
    pub offline_needed: bool,
    pub debootstrap: bool,
    /// Compose v2's version: the stack (`up`, `down`, `smoke --stack`)
    /// runs on it, and `lint` reads Compose files with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compose: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python: Option<String>,
    /// `lint`'s hadolint is in its venv; else the first `lint` installs it.
    pub hadolint: bool,
    /// The project's local secrets file, docker/run.local.env, is there.
    pub local_settings: bool,
    pub problems: Vec<Problem>,
    /// `cargo xtask smoke` can work here.
    pub success: bool,
    pub message: String,
}

impl Report for DoctorReport {
    fn success(&self) -> bool {
        self.success
    }

    fn failure(message: String) -> DoctorReport {
        DoctorReport { message, ..DoctorReport::default() }
    }

    /// A line a thing found, then each problem with its fix.
    fn human(&self) -> String {
        let mut out = String::new();
        for engine in &self.engines {
            let state = match (engine.installed, engine.answers) {
                (false, _) => "not installed".to_string(),
                (true, false) => "installed, not answering".to_string(),
                (true, true) => format!(
                    "{} with {}{}; offline base images {}",
                    engine.version.as_deref().unwrap_or("?"),
                    engine.builder.as_deref().unwrap_or("?"),
                    if engine.buildx { " (buildx present)" } else { "" },
                    if engine.stand_ins { "present" } else { "not made yet" }
                ),
            };
            out += &format!("engine {}: {state}\n", engine.name);
        }
        out += &format!("used without --engine: {}\n", self.chosen);
        let registry = match self.registry_reachable {
            None => "not asked: offline mode is on",
            Some(true) => "reachable",
            Some(false) => "not reachable: use --offline",
        };
        out += &format!("registry: {registry}\n");
        out += &format!("debootstrap: {}\n", if self.debootstrap { "installed" } else { "not installed" });
        let compose = match &self.compose {
            Some(version) => format!("Compose {version}"),
            None => crate::engine::compose::NO_COMPOSE.to_string(),
        };
        out += &format!("compose: {compose}\n");
        out += &format!("python3: {}\n", self.python.as_deref().unwrap_or("not found"));
        let hadolint = if self.hadolint { "installed" } else { "not yet: the first `cargo xtask lint` installs it" };
        out += &format!("hadolint: {hadolint}\n");
        let local = match self.local_settings {
            true => format!("{LOCAL_SETTINGS} (not committed)"),
            false => format!(
                "none: a service that needs secrets to start reads them from {LOCAL_SETTINGS}, which git ignores"
            ),
        };
        out += &format!("local settings: {local}\n");
        for problem in &self.problems {
            out += &format!("problem: {}\n  fix: {}\n", problem.problem, problem.fix);
        }
        out + &self.message
    }
}

/// Check what this machine has for the tasks (engines, builder, registry or offline bases, tools); each problem comes with its fix
#[derive(Debug, clap::Parser)]
#[command(name = "doctor")]
pub struct Flags {
    #[command(flatten)]
    engine: EngineFlag,
}

pub struct Doctor {
    engine: Choice,
}

impl Task for Doctor {
    type Flags = Flags;
    type Report = DoctorReport;

    fn new(flags: Flags) -> Result<Doctor> {
        Ok(Doctor { engine: flags.engine.choice()? })
    }

    fn run(self) -> Done<DoctorReport> {
        let chosen = &self.engine.engine();
        let mut report = DoctorReport { chosen: chosen.name(), ..DoctorReport::default() };
        let mut problems = Vec::new();
        for kind in [Kind::Docker, Kind::Podman] {
            report.engines.push(examine(&Engine::of(kind), &mut problems));
        }
        let used = report.engines.iter().find(|e| e.name == chosen.name());
        let (works, stand_ins) = used.map_or((false, false), |e| (e.starts_containers, e.stand_ins));

        let reachable = || registry::answers_within(REGISTRY, Duration::from_secs(3));
        report.registry_reachable = (!standins::requested(false)).then(reachable);
        report.offline_needed = report.registry_reachable != Some(true);
        report.debootstrap = on_path("debootstrap");
        report.compose = chosen.compose_version();
        // Neither a registry to pull the bases from, nor a way to make them.
        let no_bases = report.offline_needed && !stand_ins && !report.debootstrap;
        if no_bases {
            problems.push(Problem {
                problem: "No registry answers here, and offline mode needs debootstrap to make its base images.".into(),
                fix: "sudo apt-get install debootstrap".into(),
            });
        }
        report.python = process::read(&CommandLine::new("python3").arg("--version")).ok();
        report.hadolint = venv::installed(Venv::Lint, "hadolint");
        report.local_settings = project::root().join(LOCAL_SETTINGS).is_file();
        let venv_works = process::read(&CommandLine::new("python3").args(["-c", "import venv, ensurepip"])).is_ok();
        if !venv_works {
            problems.push(Problem {
                problem: "The tests and `lint` make Python venvs, and this python3 cannot.".into(),
                fix: "sudo apt-get install python3-venv".into(),
            });
        }

        report.success = works && !no_bases && venv_works;
        report.message = match (report.success, report.offline_needed) {
            (true, true) => format!("`cargo xtask smoke --offline` can work here, on {}.", chosen.name()),
            (true, false) => format!("`cargo xtask smoke` can work here, on {}.", chosen.name()),
            (false, _) => format!("{} problem(s) to fix first; each comes with its fix.", problems.len().max(1)),
        };
        report.problems = problems;
        report.into()
    }
}

/// What `engine` is here, and what stands in its way.
fn examine(engine: &Engine, problems: &mut Vec<Problem>) -> EngineFound {
    let mut found = EngineFound { name: engine.name(), installed: on_path(engine.kind().name()), ..Default::default() };
    if !found.installed {
        return found;
    }
    match engine.version() {
        Ok(version) => {
            found.answers = true;
            found.starts_containers = true;
            found.version = Some(version);
        }
        Err(error) => {
            let docker_host = std::env::var("DOCKER_HOST").ok().filter(|host| !host.is_empty());
            let (problem, fix) = match (engine.kind(), docker_host) {
                (Kind::Docker, Some(host)) => (
                    format!("DOCKER_HOST={host} points at no engine that answers."),
                    format!("start the engine at {host}, or `unset DOCKER_HOST` to use this machine's Docker"),
                ),
                (Kind::Docker, None) => (format!("{error:#}"), "sudo dockerd > /tmp/dockerd.log 2>&1 &".to_string()),
                (Kind::Podman, _) => (format!("{error:#}"), "podman info".to_string()),
            };
            problems.push(Problem { problem, fix });
            return found;
        }
    }
    found.builder = Some(engine.builder().name().to_string());
    found.buildx = engine.kind() == Kind::Docker && engine.has_buildx();
    found.stand_ins = standins::present(engine).unwrap_or(false);
    if engine.kind() == Kind::Podman && found.stand_ins {
        // Where the sandbox may not raise rlimits, every podman run fails.
        if let Err(error) = standins::run_one(engine) {
            let said = format!("{error:#}");
            found.starts_containers = false;
            if said.contains("rlimit") {
                let problem = "podman cannot start containers: its default rlimits are above what this machine allows.";
                problems.push(Problem { problem: problem.into(), fix: PODMAN_ULIMITS_FIX.into() });
            }
        }
    }
    found
}
