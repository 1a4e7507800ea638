//! The tasks. Each one parses its flags, runs, and returns its report;
//! `main` prints it. Nothing but `main` imports this module.

mod bench;
mod doctor;
mod image;
mod layers;
mod lint;
mod push;
mod run;
mod smoke;
mod stop;
mod tools;

use anyhow::Result;
use xshell::Shell;

use crate::{
    cli::{usage, Args, TaskInfo, UsageError},
    engine::{choice::Choice, Engine},
    report::{Printed, Report},
};

/// A task's report, and what goes on after it is printed.
pub struct Done<R> {
    pub report: R,
    /// `run --attach` follows the service's log once its report is out.
    pub then: Option<Box<dyn FnOnce()>>,
}

impl<R> From<R> for Done<R> {
    fn from(report: R) -> Done<R> {
        Done { report, then: None }
    }
}

trait Task: Sized {
    type Report: Report;

    fn parse(args: &mut Args) -> Result<Self>;

    /// Runs on `engine`: the one `--engine` or XTASK_ENGINE chose, or found.
    fn run(self, sh: &Shell, engine: &Engine) -> Done<Self::Report>;
}

/// A task as parsed, and the engine its command line chose.
struct Parsed<T> {
    task: T,
    engine: Choice,
}

/// A task that ran, or was refused: its report, ready to print.
pub struct Finished {
    pub printed: Printed,
    pub then: Option<Box<dyn FnOnce()>>,
}

/// A parsed task, whatever its type.
trait Runnable {
    fn run(self: Box<Self>) -> Finished;
}

impl<T: Task> Runnable for Parsed<T> {
    fn run(self: Box<Self>) -> Finished {
        match Shell::new() {
            Ok(sh) => {
                let done = self.task.run(&sh, &self.engine.engine());
                Finished { printed: Printed::of(&done.report), then: done.then }
            }
            Err(error) => refusal::<T>(error.into()),
        }
    }
}

/// Runs task `info` with `args`, which are Err when the command line
/// could not be read (an argument that is not UTF-8).
pub fn run(info: &'static TaskInfo, args: Result<Vec<String>>) -> Finished {
    match parse(info, args) {
        Ok(task) => task.run(),
        Err(refused) => refused,
    }
}

/// Parses a command line and drops the result: for the fuzz targets.
#[cfg(fuzzing)]
pub fn parse_only(info: &'static TaskInfo, args: Vec<String>) {
    let _ = parse(info, Ok(args));
}

/// The task `info` names, or the report that refuses its command line.
fn parse(info: &'static TaskInfo, args: Result<Vec<String>>) -> Result<Box<dyn Runnable>, Finished> {
    match info.name {
        "image" => parse_as::<image::Image>(info, args),
        "run" => parse_as::<run::Run>(info, args),
        "smoke" => parse_as::<smoke::Smoke>(info, args),
        "stop" => parse_as::<stop::Stop>(info, args),
        "lint" => parse_as::<lint::Lint>(info, args),
        "tools" => parse_as::<tools::Tools>(info, args),
        "doctor" => parse_as::<doctor::Doctor>(info, args),
        "layers" => parse_as::<layers::Layers>(info, args),
        "push" => parse_as::<push::Push>(info, args),
        "bench" => parse_as::<bench::Bench>(info, args),
        name => unreachable!("cli::TASKS names `{name}`, which has no module"),
    }
}

fn parse_as<T: Task + 'static>(
    info: &'static TaskInfo,
    args: Result<Vec<String>>,
) -> Result<Box<dyn Runnable>, Finished> {
    let parsed = args.and_then(|args| {
        let mut args = Args::new(info, args);
        let task = T::parse(&mut args)?;
        // XTASK_ENGINE is read, and refused when wrong, only by the tasks that talk to an engine.
        let engine = match info.flag("--engine") {
            Some(_) => Choice::of(args.engine()).map_err(usage)?,
            None => Choice::default(),
        };
        Ok(Parsed { task, engine })
    });
    match parsed {
        Ok(parsed) => Ok(Box::new(parsed)),
        Err(error) => Err(refusal::<T>(error)),
    }
}

/// The report, in `T`'s shape, of a task that could not begin.
fn refusal<T: Task>(error: anyhow::Error) -> Finished {
    eprintln!("error: {error:#}");
    let report = T::Report::failure(format!("{error:#}"));
    let printed =
        if error.downcast_ref::<UsageError>().is_some() { Printed::usage(&report) } else { Printed::of(&report) };
    Finished { printed, then: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli;

    /// A value for each placeholder the flag tables use.
    fn sample(placeholder: &str) -> &'static str {
        match placeholder {
            "PATH" | "DIR" | "FILE" => "/tmp",
            "KEY=VALUE" => "A=1",
            "NAME[:TAG]" | "TAG" | "REF" => "t:1",
            "HOSTPORT" | "PORT" | "N" | "SECS" => "3",
            "docker|podman" => "podman",
            "HOST[:PORT]" => "127.0.0.1:5000",
            "MODULE:ATTR" => "app.main:app",
            "/PATH" => "/x",
            "/PATH=STATUS" => "/x=404",
            "NAME: VALUE" => "X-Token: t",
            "id=NAME,src=FILE|env=VAR" => "id=t,src=/tmp",
            other => panic!("no sample for the placeholder {other}: add one"),
        }
    }

    /// Every flag the table declares is one the task's parser takes, so
    /// that help and parser cannot drift apart.
    #[test]
    fn every_declared_flag_is_parsed() {
        for info in cli::TASKS {
            for flag in info.flags.iter().flat_map(|group| group.iter()) {
                let args = std::iter::once(flag.name).chain(flag.value.map(sample)).map(String::from).collect();
                if let Err(refused) = parse(info, Ok(args)) {
                    let json = refused.printed.json;
                    assert!(
                        !json.contains("declared but not handled"),
                        "cargo xtask {} {}: {json}",
                        info.name,
                        flag.name
                    );
                }
            }
        }
    }

    #[test]
    fn a_usage_error_prints_the_report_shape_of_the_task_asked_for() {
        let stop = run(cli::task("stop").unwrap(), Ok(vec!["--bogus".into()])).printed;
        assert_eq!(stop.code, 2);
        let json: serde_json::Value = serde_json::from_str(&stop.json).unwrap();
        assert_eq!(json["removed"], serde_json::json!([]));
        assert_eq!(json["success"], false);
        assert!(json["message"].as_str().unwrap().starts_with("`--bogus` is not a flag of `cargo xtask stop`"));

        let bench = run(cli::task("bench").unwrap(), Ok(vec!["--runs".into(), "0".into()])).printed;
        assert_eq!(bench.code, 2);
        let json: serde_json::Value = serde_json::from_str(&bench.json).unwrap();
        assert!(json["build"].is_array() && json["imageId"].is_null(), "{json}");

        let unreadable = run(cli::task("image").unwrap(), Err(cli::usage("an argument is not UTF-8"))).printed;
        assert_eq!(unreadable.code, 2);
        assert!(unreadable.json.contains("\"imageId\": \"\""), "{}", unreadable.json);
    }
}
