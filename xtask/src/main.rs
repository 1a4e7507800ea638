//! `cargo xtask <task>`: the library (`lib.rs`) does the work; this is the
//! one place that writes a report: its JSON on stdout, its human form on
//! stderr.

use std::{io::Write, process::ExitCode};

fn main() -> ExitCode {
    let outcome = xtask::run(std::env::args_os().skip(1));
    let printed = outcome.printed;
    if !printed.human.is_empty() {
        eprintln!("{}", printed.human.trim_end());
    }
    // Flushed at once: `run --attach` goes on after its report.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", printed.json.trim_end());
    let _ = stdout.flush();
    drop(stdout);
    if let Some(then) = outcome.then {
        then();
    }
    ExitCode::from(printed.code)
}
