//! `cargo xtask doctor`: onboarding in one command. It finds the engines
//! (Docker, here or remote, and podman), which one the tasks would use and
//! how it builds; whether base images can be pulled or offline mode is
//! needed, and whether its stand-ins exist; and the host tools the project
//! uses. Every problem comes with the command that fixes it. It exits 0
//! when `cargo xtask smoke` can work here.

use anyhow::Result;
use serde::Serialize;

use super::{
    setup::{
        self,
        plan::{self, Action, Facts, Need, Step},
    },
    Done, Task,
};
use crate::{
    cli::EngineFlag,
    engine::{
        choice::{on_path, Choice},
        Engine, Kind,
    },
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
        report.engines = [Kind::Docker, Kind::Podman].map(|kind| examine(&Engine::of(kind))).into();
        let used = report.engines.iter().find(|e| e.name == chosen.name());
        let (works, stand_ins) = used.map_or((false, false), |e| (e.starts_containers, e.stand_ins));

        report.registry_reachable = (!standins::requested(false)).then(setup::registry_answers);
        report.offline_needed = report.registry_reachable != Some(true);
        let facts = setup::read_facts(chosen, report.offline_needed);
        report.debootstrap = facts.debootstrap;
        report.compose = chosen.compose_version();
        report.python = process::read(&CommandLine::new("python3").arg("--version")).ok();
        report.hadolint = venv::installed(Venv::Lint, "hadolint");
        report.local_settings = project::root().join(LOCAL_SETTINGS).is_file();
        let mut steps = plan::plan(&facts);
        // An engine beside the one the tasks use: its rlimits still decide
        // whether `--engine` it can run anything.
        for other in Kind::ALL.into_iter().filter(|kind| *kind != chosen.kind() && on_path(kind.name())) {
            let theirs = plan::plan(&Facts { engine: other, installed: true, ..facts.clone() });
            steps.extend(theirs.into_iter().filter(|step| step.need == Need::Rlimits));
        }
        report.problems = problems(&steps, facts.root);

        // Neither a registry to pull the bases from, nor a way to make them.
        let no_bases = report.offline_needed && !stand_ins && !report.debootstrap;
        report.success = works && !no_bases && facts.python_venv;
        report.message = match (report.success, report.offline_needed) {
            (true, true) => format!("`cargo xtask smoke --offline` can work here, on {}.", chosen.name()),
            (true, false) => format!("`cargo xtask smoke` can work here, on {}.", chosen.name()),
            (false, _) => format!("{} problem(s) to fix first; each comes with its fix.", report.problems.len().max(1)),
        };
        report.into()
    }
}

/// The problems `steps` fix, with the fix: `cargo xtask setup` where it
/// can, and the line it would run. What the tasks make by themselves when
/// first needed, and what only the tests need, is no problem.
fn problems(steps: &[Step], root: bool) -> Vec<Problem> {
    let problem = |step: &Step| {
        let mut why = step.why.clone();
        why[..1].make_ascii_uppercase();
        let fix = match &step.action {
            Action::Manual(line) => line.clone(),
            action => format!("`cargo xtask setup`, which runs `{}`", action.shell(!root)),
        };
        Problem { problem: format!("{why}."), fix }
    };
    steps.iter().filter(|step| !step.need.on_demand() && !step.need.tests_only()).map(problem).collect()
}

/// What `engine` is here: whether it answers, how it builds, whether it
/// has the stand-ins and can start a container.
fn examine(engine: &Engine) -> EngineFound {
    let mut found = EngineFound { name: engine.name(), installed: on_path(engine.kind().name()), ..Default::default() };
    if !found.installed {
        return found;
    }
    let Ok(version) = engine.version() else { return found };
    found.answers = true;
    found.starts_containers = true;
    found.version = Some(version);
    found.builder = Some(engine.builder().name().to_string());
    found.buildx = engine.kind().can().fixed_builder.is_none() && engine.has_buildx();
    found.stand_ins = standins::present(engine).unwrap_or(false);
    if engine.kind().can().sets_rlimits && found.stand_ins {
        // Where the sandbox may not raise rlimits, every podman run fails.
        found.starts_containers = standins::run_one(engine).is_ok();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each machine state's fixes, as `doctor` prints them.
    fn fixes(facts: Facts) -> Vec<String> {
        problems(&plan::plan(&facts), facts.root).into_iter().map(|p| p.fix).collect()
    }

    #[test]
    fn each_fix_is_right_for_the_machine_and_names_setup() {
        let bare = fixes(plan::bare_bookworm());
        let install = bare.iter().position(|f| f.contains("install -y -q docker.io")).expect("the engine is installed");
        let start = bare.iter().position(|f| f.contains("nohup dockerd")).expect("then started");
        assert!(install < start, "install before start: {bare:#?}");
        assert!(bare.iter().any(|f| f.contains("docker-compose/trixie")), "Compose v2 is a problem: {bare:#?}");
        assert!(bare.iter().all(|f| f.starts_with("`cargo xtask setup`")), "{bare:#?}");
        assert!(!bare.iter().any(|f| f.contains("docker-registry") || f.contains("cargo xtask tools")), "{bare:#?}");

        let down = fixes(Facts { installed: true, compose: true, debootstrap: true, ..plan::bare_bookworm() });
        assert_eq!(
            down,
            [format!(
                "`cargo xtask setup`, which runs `nohup dockerd > {} 2>&1 &`",
                crate::engine::daemon::DOCKERD_LOG
            )]
        );
        let user =
            fixes(Facts { root: false, installed: true, compose: true, debootstrap: true, ..plan::bare_bookworm() });
        assert!(user[0].contains("sudo sh -c 'nohup dockerd"), "{user:?}");

        let podman = fixes(Facts {
            engine: Kind::Podman,
            installed: true,
            compose: true,
            debootstrap: true,
            ..plan::bare_bookworm()
        });
        assert_eq!(podman.len(), 1, "{podman:?}");
        assert!(podman[0].contains("default_ulimits") && podman[0].contains("/etc/containers/containers.conf"));

        let fedora = fixes(Facts { family: plan::Family::of(Some("ID=fedora\n")), ..plan::bare_bookworm() });
        assert!(fedora.contains(&"sudo dnf install -y moby-engine".to_string()), "{fedora:#?}");
    }
}
