//! The tasks. Each one is a module: its flags (declared once, see `cli`),
//! and a `run` that returns its report. `TASKS` lists them, and is the
//! only place that names them all.

mod bench;
mod doctor;
mod down;
pub mod help;
mod image;
mod layers;
mod lint;
mod push;
mod run;
mod setup;
mod smoke;
mod stop;
mod tools;
mod up;
mod watch;

use std::{ffi::OsString, marker::PhantomData};

use anyhow::Result;

use crate::{
    cli::{self, UsageError},
    report::{Printed, Report},
};

/// What goes on after a task's report is printed (`run --attach` follows
/// the service's log; `watch` loops). It hands each further report to
/// `print`, the one writer, which `main` owns; it returns the exit code,
/// when that is not the first report's.
pub type Then = Box<dyn FnOnce(&mut dyn FnMut(Printed)) -> Option<u8>>;

/// A task's report, and what goes on after it is printed.
pub struct Done<R> {
    pub report: R,
    pub then: Option<Then>,
}

impl<R> From<R> for Done<R> {
    fn from(report: R) -> Done<R> {
        Done { report, then: None }
    }
}

pub trait Task: Sized {
    /// The task's command line: `#[command(name, about)]` and its flags.
    type Flags: clap::Parser;
    type Report: Report;
    /// The task prints a line per report, NDJSON, not one document.
    const LINES: bool = false;

    /// The task its flags ask for; a `UsageError` when they cannot be done.
    fn new(flags: Self::Flags) -> Result<Self>;

    fn run(self) -> Done<Self::Report>;
}

/// A task that ran, or was refused: its report, ready to print.
pub struct Finished {
    pub printed: Printed,
    pub then: Option<Then>,
}

/// A task, whatever its type: what the command line needs of it.
pub trait Entry: Sync {
    /// Its command line as clap declares it: name, summary, flags.
    fn command(&self) -> clap::Command;

    /// Parses `args` (those after its name) and runs it.
    fn run(&self, args: Vec<OsString>) -> Finished;

    /// Parses `args` without running the task: for the fuzz targets.
    fn check(&self, args: Vec<OsString>) -> Result<()>;
}

struct Of<T>(PhantomData<fn() -> T>);

impl<T: Task> Of<T> {
    fn parse(&self, args: Vec<OsString>) -> Result<T> {
        let name = <T::Flags as clap::CommandFactory>::command().get_name().to_string();
        cli::parse::<T::Flags>(&name, args).and_then(T::new)
    }
}

impl<T: Task + 'static> Entry for Of<T> {
    fn command(&self) -> clap::Command {
        <T::Flags as clap::CommandFactory>::command()
    }

    fn check(&self, args: Vec<OsString>) -> Result<()> {
        self.parse(args).map(drop)
    }

    fn run(&self, args: Vec<OsString>) -> Finished {
        match self.parse(args) {
            Ok(task) => {
                let done = task.run();
                let printed = if T::LINES { Printed::line(&done.report) } else { Printed::of(&done.report) };
                Finished { printed, then: done.then }
            }
            Err(error) => refusal::<T::Report>(error, T::LINES),
        }
    }
}

/// Every task, in the order `cargo xtask --help` lists them.
pub const TASKS: &[&dyn Entry] = &[
    &Of::<image::Image>(PhantomData),
    &Of::<run::Run>(PhantomData),
    &Of::<smoke::Smoke>(PhantomData),
    &Of::<stop::Stop>(PhantomData),
    &Of::<up::Up>(PhantomData),
    &Of::<down::Down>(PhantomData),
    &Of::<watch::Watch>(PhantomData),
    &Of::<lint::Lint>(PhantomData),
    &Of::<push::Push>(PhantomData),
    &Of::<layers::Layers>(PhantomData),
    &Of::<setup::Setup>(PhantomData),
    &Of::<doctor::Doctor>(PhantomData),
    &Of::<tools::Tools>(PhantomData),
    &Of::<bench::Bench>(PhantomData),
];

/// The task called `name`.
pub fn find(name: &str) -> Option<&'static dyn Entry> {
    TASKS.iter().copied().find(|task| task.command().get_name() == name)
}

/// The report, in `R`'s shape, of a task that could not begin: on one
/// line for a task whose every line is a JSON object (`lines`).
fn refusal<R: Report>(error: anyhow::Error, lines: bool) -> Finished {
    let report = R::failure(format!("{error:#}"));
    let mut printed = if lines { Printed::line(&report) } else { Printed::of(&report) };
    if error.downcast_ref::<UsageError>().is_some() {
        printed = Printed::usage(printed);
    }
    Finished { printed, then: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(task: &str, args: &[&str]) -> Printed {
        find(task).unwrap().run(args.iter().map(Into::into).collect()).printed
    }

    #[test]
    fn every_task_is_found_by_its_name_once() {
        let names: Vec<String> = TASKS.iter().map(|task| task.command().get_name().to_string()).collect();
        for name in &names {
            assert_eq!(names.iter().filter(|n| *n == name).count(), 1, "{name}");
            assert!(find(name).is_some());
        }
        assert!(find("nope").is_none());
    }

    #[test]
    fn clap_s_declarations_are_sound() {
        for task in TASKS {
            task.command().debug_assert();
        }
    }

    #[test]
    fn a_usage_error_prints_the_report_shape_of_the_task_asked_for() {
        let stop = run("stop", &["--bogus"]);
        assert_eq!(stop.code, 2);
        let json: serde_json::Value = serde_json::from_str(&stop.json).unwrap();
        assert_eq!(json["removed"], serde_json::json!([]));
        assert_eq!(json["success"], false);
        assert!(json["message"].as_str().unwrap().starts_with("`--bogus` is not a flag of `cargo xtask stop`"));

        let watch = run("watch", &["--port", "abc"]);
        assert_eq!(watch.code, 2);
        assert_eq!(watch.json.lines().count(), 1, "every line `watch` prints is one JSON object: {}", watch.json);

        let bench = run("bench", &["--runs", "0"]);
        assert_eq!(bench.code, 2);
        let json: serde_json::Value = serde_json::from_str(&bench.json).unwrap();
        assert!(json["build"].is_array() && json["imageId"].is_null(), "{json}");
    }

    /// A bad line in a settings file is named by its number and name, before
    /// any engine is asked, and its value never shows.
    #[test]
    fn a_bad_settings_line_is_named_without_its_value() {
        let file = std::env::temp_dir().join(crate::sys::project::unique_name("bad-settings"));
        std::fs::write(&file, "# settings\nDB_PASSWORD value-with-space\n").unwrap();
        for task in ["smoke", "run", "lint"] {
            let printed = run(task, &["--env-file", file.to_str().unwrap()]);
            assert_eq!(printed.code, 2, "{task}: {}", printed.json);
            let json: serde_json::Value = serde_json::from_str(&printed.json).unwrap();
            let message = json["message"].as_str().unwrap();
            assert!(message.contains("line 2") && message.contains("`DB_PASSWORD`"), "{task}: {message}");
            assert!(!format!("{}{}", printed.json, printed.human).contains("value-with-space"), "{task}");
        }
        std::fs::remove_file(file).unwrap();
    }

    /// clap's own messages quote values; ours never do, whatever the mistake.
    #[test]
    fn mistakes_are_named_without_their_values() {
        use std::os::unix::ffi::OsStringExt;
        for (task, list, says) in [
            ("image", &["--tag", "--offline"][..], "`--tag` needs a value"),
            ("image", &["--tag"], "`--tag` needs a value"),
            ("image", &["--offline=s3cret"], "`--offline` takes no value"),
            ("image", &["s3cret"], "`cargo xtask image` takes only `--flag`s"),
            ("image", &["--bogus=s3cret"], "`--bogus` is not a flag of `cargo xtask image`"),
            ("stop", &["--offline"], "`--offline` is not a flag of `cargo xtask stop`"),
            ("image", &["--build-arg", "=s3cret"], "`--build-arg` must have the form KEY=VALUE"),
            ("image", &["--build-arg", "s3cret"], "`--build-arg` must have the form KEY=VALUE"),
            ("smoke", &["--env", "s3cret"], "`--env` must have the form KEY=VALUE"),
            ("smoke", &["--header", "X-Token s3cret"], "`--header` must have the form 'Name: value'"),
            ("lint", &["--image", "t", "--no-image"], "`--image` and `--no-image` contradict each other"),
            ("push", &[], "`cargo xtask push` needs `--registry`"),
            ("bench", &["--runs", "x"], "`--runs`: `x` is not a whole number above 0"),
            ("image", &["--tag", "Not:A:Tag"], "`--tag`: `Not:A:Tag` is not a valid image tag"),
            ("smoke", &["--timeout", "1e30"], "`--timeout`: `1e30` is not a number of seconds"),
            ("smoke", &["--path", "/health\r\nX-Injected: 1"], "`--path` holds a control character"),
            ("push", &["--registry", "127.0.0.1:99999"], "`--registry`: `127.0.0.1:99999` is not a registry: the port"),
            ("push", &["--registry", "127.0.0.1:0"], "`--registry`: `127.0.0.1:0` is not a registry: the port"),
            ("layers", &["--image", "not!valid"], "`--image`: `not!valid` is not a valid image tag"),
            ("lint", &["--image", "app@sha256:00"], "`--image`: `app@sha256:00` is not an image: its digest"),
            ("doctor", &["--engine", "containerd"], "`containerd` is not an engine we know"),
            ("setup", &["--engine", "containerd"], "`containerd` is not an engine we know"),
            ("smoke", &["--timeout", "-1"], "`--timeout`: `-1` is not a number of seconds above 0"),
            ("smoke", &["--file", "s3cret.yaml"], "`--file` goes with `--stack`, which was not given"),
            ("watch", &["--stack-timeout", "5"], "`--stack-timeout` goes with `--stack`, which was not given"),
            ("up", &["--stack-timeout", "-1"], "`--stack-timeout`: `-1` is not a number of seconds above 0"),
        ] {
            let printed = run(task, list);
            assert_eq!(printed.code, 2, "{list:?}: {}", printed.json);
            let json: serde_json::Value = serde_json::from_str(&printed.json).unwrap();
            let message = json["message"].as_str().unwrap();
            assert!(message.starts_with(says), "{list:?}: {message}");
            assert!(!message.contains("s3cret"), "{list:?}: {message}");
        }
        let long = format!("/{}={}", "x".repeat(100_000), 99);
        let printed = run("smoke", &["--expect", &long]);
        assert_eq!(printed.code, 2);
        assert!(printed.json.len() < 600, "an echoed value is cut: {} bytes", printed.json.len());
        let not_utf8 = OsString::from_vec(b"--build-arg=TOKEN=s3cret\xff".to_vec());
        let printed = find("image").unwrap().run(vec![not_utf8]).printed;
        assert_eq!(printed.code, 2);
        assert!(printed.json.contains("is not UTF-8") && !printed.json.contains("s3cret"), "{}", printed.json);
    }
}
