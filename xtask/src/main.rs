//! `cargo xtask <task>`: build, run and prove the FastAPI service's
//! container image. Each task prints one JSON document on stdout; docker's
//! own output and our progress go to stderr.

mod bench;
mod cli;
mod container;
mod diagnose;
mod docker;
mod dockerfile;
mod dockerignore;
mod engine_api;
mod image;
mod lint;
mod offline;
mod probe;
mod project;
mod reference;
mod rules;
mod run;
mod service;
mod signals;
mod smoke;
mod stop;
mod tools;

use std::{io::Write, process::ExitCode};

use anyhow::Result;
use serde::Serialize;
use xshell::Shell;

use crate::{cli::Args, image::ImageReport};

const HELP: &str = "\
cargo xtask <task> [flags]

Tasks:
  image   build the service's image; report imageId, tag and size as JSON
  run     start a container from the image (built if missing); report its URL once /health answers
  smoke   build, run, GET each path, tear down; report every check and its timings
  stop    remove the containers `run` started (--tag: of one tag; --all: every container of ours)
  lint    check the Dockerfile (hadolint and our rules) and the built image for classic mistakes
  tools   make the host-side tools' venv (hadolint, pytest) under target/; print its paths
  bench   measure build, size, context, start and stop; JSON on stdout, a Markdown table on stderr

Image flags (image, run, smoke, lint):
  --dockerfile PATH        default docker/Dockerfile
  --context DIR            default the project root (.dockerignore keeps it small)
  --build-arg KEY=VALUE    repeatable; BUILDER_IMAGE, RUNTIME_IMAGE, PYTHON_MINOR choose the bases
  --tag NAME[:TAG]         default fastapi-server:latest
  --offline                build on stand-in base images made locally (also XTASK_OFFLINE=1)
  --no-cache               build every step again
  --input FILE             the same as JSON: {\"dockerfilePath\", \"buildContext\", \"buildArgs\", \"tag\"}

run:    [--port HOSTPORT] [--env KEY=VALUE]... [--attach]
smoke:  [--no-build] [--path /PATH]... [--timeout SECS]
stop:   [--all] [--tag NAME[:TAG]]
lint:   [image flags] [--image TAG]   (builds the image first when --image is absent)
bench:  [--runs N] [--markdown FILE] [--offline]

Exit codes: 0 success, 1 failure, 2 a mistake in the command line.
";

enum Task {
    Image(image::Image),
    Run(run::Run),
    Smoke(smoke::Smoke),
    Stop(stop::Stop),
    Bench(bench::Bench),
    Tools(tools::Tools),
    Lint(lint::Lint),
}

impl Task {
    fn parse(name: &str, args: &mut Args) -> Result<Task> {
        Ok(match name {
            "image" => Task::Image(image::Image::parse(args)?),
            "run" => Task::Run(run::Run::parse(args)?),
            "smoke" => Task::Smoke(smoke::Smoke::parse(args)?),
            "stop" => Task::Stop(stop::Stop::parse(args)?),
            "bench" => Task::Bench(bench::Bench::parse(args)?),
            "tools" => Task::Tools(tools::Tools::parse(args)?),
            "lint" => Task::Lint(lint::Lint::parse(args)?),
            _ => return Err(cli::usage(format!("`{name}` is not a task; `cargo xtask --help` lists them"))),
        })
    }

    /// Runs the task, which prints its report; true on success.
    fn run(self, sh: &Shell) -> bool {
        match self {
            Task::Image(task) => task.run(sh),
            Task::Run(task) => task.run(sh),
            Task::Smoke(task) => task.run(sh),
            Task::Stop(task) => task.run(sh),
            Task::Bench(task) => task.run(sh),
            Task::Tools(task) => task.run(sh),
            Task::Lint(task) => task.run(sh),
        }
    }
}

/// Prints a task's one JSON document on stdout, flushed at once: `run
/// --attach` goes on after it.
pub fn emit<T: Serialize>(report: &T) {
    let json = serde_json::to_string_pretty(report).expect("reports serialise");
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{json}");
    let _ = stdout.flush();
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(name) = args.next().filter(|n| !matches!(n.as_str(), "help" | "--help" | "-h")) else {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    };
    signals::install();
    let task = Task::parse(&name, &mut Args::new(args)).and_then(|task| Ok((task, Shell::new()?)));
    match task {
        Ok((task, sh)) => {
            if task.run(&sh) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            emit(&ImageReport::failure(None, &error));
            eprintln!("error: {error:#}");
            ExitCode::from(if error.downcast_ref::<cli::UsageError>().is_some() { 2 } else { 1 })
        }
    }
}
