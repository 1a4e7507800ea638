//! `cargo xtask setup`: makes a bare machine ready for the tasks and the
//! tests, doing what `doctor` finds missing, in order (`plan`): the engine
//! and Compose v2 from the distribution's packages, the engine started
//! where no service manager runs it, podman's rlimits where this machine
//! needs them, the offline stand-ins, the tools' venv. It asks nothing,
//! removes nothing, and on a ready machine does nothing.

mod facts;
pub mod plan;

use std::{collections::BTreeMap, time::Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use xshell::Shell;

use self::plan::{Action, Need, Step};
use super::{Done, Task};
use crate::{
    cli::{EngineFlag, OfflineFlag},
    engine::{
        daemon::{DOCKERD_LOG, DOCKERD_PID},
        Engine, Kind,
    },
    report::Report,
    standins,
    sys::{
        process::{self, CommandLine},
        venv::{self, Venv},
    },
};

pub use self::facts::{read as read_facts, registry_answers};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    Done,
    Failed,
    /// `--dry-run`: shown, not run.
    Planned,
    /// It needs root, and we are not: its `sudo` line is in the message.
    NeedsRoot,
    /// Nothing we can run here: the command is the user's to run.
    Manual,
    /// An earlier step did not happen.
    NotRun,
}

#[derive(Debug, Serialize)]
pub struct StepReport {
    pub what: &'static str,
    pub why: String,
    /// The shell line, as run (or to run, with `sudo` where it needs root).
    pub command: String,
    pub outcome: Outcome,
    pub seconds: f64,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SetupReport {
    pub engine: String,
    pub offline: bool,
    pub steps: Vec<StepReport>,
    pub success: bool,
    pub message: String,
}

impl Report for SetupReport {
    fn success(&self) -> bool {
        self.success
    }

    fn failure(message: String) -> SetupReport {
        SetupReport { message, ..SetupReport::default() }
    }

    fn human(&self) -> String {
        let mut out = String::new();
        for step in &self.steps {
            out += &format!("{:?}: {} ({:.1} s)\n  {}\n", step.outcome, step.what, step.seconds, step.command);
        }
        out + &self.message
    }
}

/// Make this machine ready: install and start the engine, Compose v2, debootstrap and the offline base images, the tools' venv
#[derive(Debug, clap::Parser)]
#[command(name = "setup")]
pub struct Flags {
    #[command(flatten)]
    engine: EngineFlag,
    // Without it, setup prepares for offline mode anyway when no registry answers.
    #[command(flatten)]
    offline: OfflineFlag,
    /// Print the plan only; run nothing
    #[arg(long)]
    dry_run: bool,
}

pub struct Setup {
    engine: Engine,
    offline: bool,
    dry_run: bool,
}

impl Task for Setup {
    type Flags = Flags;
    type Report = SetupReport;

    fn new(flags: Flags) -> Result<Setup> {
        let engine = flags.engine.choice()?.engine_or(Kind::Docker);
        Ok(Setup { engine, offline: flags.offline.requested(), dry_run: flags.dry_run })
    }

    fn run(self) -> Done<SetupReport> {
        let offline = self.offline || !registry_answers();
        let facts = facts::read(&self.engine, offline);
        let steps = plan::plan(&facts);
        let mut report = SetupReport { engine: self.engine.name(), offline, ..SetupReport::default() };
        let sudo = !facts.root;
        let needs_root = steps.iter().any(|s| s.action.needs_root()) && sudo;
        let mut stopped: Option<String> = None;
        for (n, step) in steps.iter().enumerate() {
            let mut line = StepReport {
                what: step.what,
                why: step.why.clone(),
                command: step.action.shell(sudo),
                outcome: Outcome::NotRun,
                seconds: 0.0,
            };
            line.outcome = match &step.action {
                _ if self.dry_run => Outcome::Planned,
                _ if stopped.is_some() => Outcome::NotRun,
                action if needs_root => match action.needs_root() {
                    true => Outcome::NeedsRoot,
                    false => Outcome::NotRun,
                },
                Action::Manual(_) => {
                    stopped = Some(format!("{} is for you to do here: {}", step.what, line.command));
                    Outcome::Manual
                }
                _ => {
                    eprintln!("setup [{}/{}]: {}: {}", n + 1, steps.len(), step.what, line.command);
                    let clock = Instant::now();
                    let done = self.take(step);
                    line.seconds = (clock.elapsed().as_secs_f64() * 10.0).round() / 10.0;
                    match done {
                        Ok(()) => Outcome::Done,
                        Err(error) => {
                            stopped = Some(format!("{} failed: {error:#}", step.what));
                            Outcome::Failed
                        }
                    }
                }
            };
            report.steps.push(line);
        }
        let ready = format!("`cargo xtask smoke{}` can work here", if offline { " --offline" } else { "" });
        let started_dockerd = steps.iter().any(|s| s.action == Action::StartDocker { service_manager: false });
        (report.success, report.message) = match stopped {
            _ if steps.is_empty() => (true, format!("Nothing to do: this machine is ready. {ready}.")),
            _ if self.dry_run => (true, format!("{} step(s) planned; nothing was run (--dry-run).", steps.len())),
            _ if needs_root => {
                let lines: Vec<String> =
                    steps.iter().filter(|s| s.action.needs_root()).map(|s| s.action.shell(true)).collect();
                let message = format!(
                    "Nothing was run: {} step(s) need root. Run them, then `cargo xtask setup` again: {}",
                    lines.len(),
                    lines.join(" && ")
                );
                (false, message)
            }
            Some(reason) => (false, format!("{reason}. The steps before it are done; `cargo xtask setup` again goes on from there.")),
            None if started_dockerd => (
                true,
                format!(
                    "Ready: {ready}. dockerd runs in the background (its log: {DOCKERD_LOG}); stop it with `kill $(cat {DOCKERD_PID})`."
                ),
            ),
            None => (true, format!("Ready: {ready}.")),
        };
        report.into()
    }
}

impl Setup {
    /// Runs one step.
    fn take(&self, step: &Step) -> Result<()> {
        match &step.action {
            Action::AptUpdate | Action::Install(_) => {
                process::to_stderr(&CommandLine::new("sh").arg("-c").arg(step.action.shell(false)))
            }
            Action::Append { path, text } => write(path, text, true),
            Action::Write { path, text } => write(path, text, false),
            Action::StartDocker { service_manager } => self.engine.start_daemon(*service_manager),
            Action::Own(_) => match step.need {
                Need::StandIns => self.stand_ins(),
                _ => Shell::new().map_err(Into::into).and_then(|sh| venv::bin(&sh, Venv::Tests)).map(drop),
            },
            Action::Manual(line) => bail!("{} is for you to do: {line}", step.what),
        }
    }

    /// The stand-ins of this machine's release, a progress line each.
    fn stand_ins(&self) -> Result<()> {
        eprintln!("setup: the offline Python images, runtime and builder (minutes, once).");
        standins::bases(&self.engine, true, &BTreeMap::new())?;
        eprintln!("setup: the offline PostgreSQL and Redis images.");
        standins::stack_images(&self.engine).map(drop)
    }
}

/// Writes `text` to `path`, or adds it to the end, making its folder first.
fn write(path: &str, text: &str, append: bool) -> Result<()> {
    use std::io::Write;
    let path = std::path::Path::new(path);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new().create(true).write(true).append(append).truncate(!append).open(path)?;
    file.write_all(text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))
}
