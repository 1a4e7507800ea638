//! `cargo xtask <task>`: the library (`lib.rs`) does the work; this is the
//! one place that writes a report: its JSON on stdout, its human form on
//! stderr.

use std::{io::Write, process::ExitCode};

use xtask::report::Printed;

fn main() -> ExitCode {
    let outcome = xtask::run(std::env::args_os().skip(1));
    let code = outcome.printed.code;
    print(outcome.printed);
    let then = outcome.then.and_then(|then| then(&mut print));
    ExitCode::from(then.unwrap_or(code))
}

/// The report's human form on stderr, its JSON on stdout, flushed at once:
/// `run --attach` and `watch` go on after it.
fn print(printed: Printed) {
    if !printed.human.is_empty() {
        eprintln!("{}", printed.human.trim_end());
    }
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", printed.json.trim_end());
    let _ = stdout.flush();
}
