//! `cargo xtask <task>`: build, run and prove the FastAPI service's
//! container image. Each task prints one JSON document on stdout; the
//! engine's own output and our progress go to stderr.
//!
//! The layers, each depending only on those below it:
//! - `main` parses, runs and prints: the only code that writes stdout;
//! - `tasks/`: one module per task, each returning its report;
//! - `cli`, `report`, `service`, `lint/`: what the tasks share;
//! - `engine/`: the one entry point to the container engine;
//! - `sys/`: child processes, the HTTP probe, signals, project paths.
//!
//! `cargo fuzz` builds this same crate as its fuzz targets (`fuzz/`), with
//! `cfg(fuzzing)`: then `fuzz.rs` stands in for `main`.
#![cfg_attr(fuzzing, no_main)]

mod cli;
mod engine;
#[cfg(fuzzing)]
mod fuzz;
mod lint;
mod registry;
mod report;
mod service;
mod sys;
mod tasks;

#[cfg(not(fuzzing))]
use std::{io::Write, process::ExitCode};

#[cfg(not(fuzzing))]
use crate::report::{NoTask, Printed, Report};

#[cfg(not(fuzzing))]
fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let name = args.next().map(|name| name.to_string_lossy().into_owned());
    let Some(name) = name.filter(|n| !matches!(n.as_str(), "help" | "--help" | "-h")) else {
        return print(&cli::help(), 0);
    };
    let Some(task) = cli::task(&name) else {
        let message = format!("`{name}` is not a task; `cargo xtask --help` lists them");
        eprintln!("error: {message}");
        return print(&Printed::usage(&NoTask::failure(message)).json, 2);
    };
    let args: Vec<_> = args.collect();
    if args.iter().any(|arg| arg == "--help" || arg == "-h") {
        return print(&cli::task_help(task), 0);
    }
    let args = args
        .into_iter()
        .map(|arg| arg.into_string().map_err(|arg| cli::usage(format!("the argument {arg:?} is not UTF-8"))))
        .collect();
    sys::signals::install();
    let finished = tasks::run(task, args);
    // A run that a signal ended exits as the shell reports one: 128 + its number.
    let code = match (finished.printed.code, sys::signals::received()) {
        (0, _) | (_, None) => finished.printed.code,
        (_, Some(signum)) => 128 + signum as u8,
    };
    let code = print(&finished.printed.json, code);
    if let Some(then) = finished.then {
        then();
    }
    code
}

#[cfg(not(fuzzing))]
/// Writes `text` on stdout, flushed at once: `run --attach` goes on after
/// its report. Returns `code` as the exit code.
fn print(text: &str, code: u8) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", text.trim_end());
    let _ = stdout.flush();
    ExitCode::from(code)
}
