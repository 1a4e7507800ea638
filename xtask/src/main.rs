//! `cargo xtask <task>`: build, run and prove the FastAPI service's
//! container image. Each task prints one JSON document on stdout; docker's
//! own output and our progress go to stderr.

mod cli;
mod diagnose;
mod docker;
mod image;
mod offline;
mod project;
mod reference;

use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;
use xshell::Shell;

use crate::{cli::Args, image::ImageReport};

const HELP: &str = "\
cargo xtask <task> [flags]

Tasks:
  image   build the service's image and print it as JSON (imageId, tag, size)

Flags of image:
  --dockerfile PATH        default docker/Dockerfile
  --context DIR            default the project root (.dockerignore keeps it small)
  --build-arg KEY=VALUE    repeatable; BUILDER_IMAGE, RUNTIME_IMAGE, PYTHON_MINOR choose the bases
  --tag NAME[:TAG]         default fastapi-server:latest
  --offline                build on stand-in base images made locally (also XTASK_OFFLINE=1)
  --input FILE             the same as JSON: {\"dockerfilePath\", \"buildContext\", \"buildArgs\", \"tag\"}

Exit codes: 0 success, 1 failure, 2 a mistake in the command line.
";

enum Task {
    Image(image::Image),
}

impl Task {
    fn parse(name: &str, args: &mut Args) -> Result<Task> {
        match name {
            "image" => Ok(Task::Image(image::Image::parse(args)?)),
            _ => Err(cli::usage(format!("`{name}` is not a task; `cargo xtask --help` lists them"))),
        }
    }

    fn run(self, sh: &Shell) -> (bool, String) {
        match self {
            Task::Image(task) => report(&task.run(sh), |r| r.success),
        }
    }
}

fn report<T: Serialize>(report: &T, success: impl Fn(&T) -> bool) -> (bool, String) {
    (success(report), serde_json::to_string_pretty(report).expect("reports serialise"))
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(name) = args.next().filter(|n| !matches!(n.as_str(), "help" | "--help" | "-h")) else {
        print!("{HELP}");
        return ExitCode::SUCCESS;
    };
    let task = Task::parse(&name, &mut Args::new(args));
    let (success, json) = match task.and_then(|task| Ok((task, Shell::new()?))) {
        Ok((task, sh)) => task.run(&sh),
        Err(error) => {
            let (_, json) = report(&ImageReport::failure(None, &error), |_| false);
            println!("{json}");
            eprintln!("error: {error:#}");
            return ExitCode::from(if error.downcast_ref::<cli::UsageError>().is_some() { 2 } else { 1 });
        }
    };
    println!("{json}");
    if success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
