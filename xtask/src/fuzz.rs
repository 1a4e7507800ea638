//! The fuzz targets of `fuzz/`, built only by `cargo fuzz` (which sets
//! `cfg(fuzzing)`); its features choose the target: the parsers that take
//! what a user or a build writes must never panic.

use crate::{cli, engine, lint, tasks};

#[cfg(feature = "fuzz-args")]
libfuzzer_sys::fuzz_target!(|data: &[u8]| command_line(data));

#[cfg(feature = "fuzz-dockerfile")]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dockerfile(data));

/// `data` as a command line: NUL-separated arguments, the first a task name.
fn command_line(data: &[u8]) {
    let mut args = data.split(|&b| b == 0).map(|arg| String::from_utf8_lossy(arg).into_owned());
    let Some(info) = args.next().and_then(|name| cli::task(&name)) else { return };
    // `--input -` would wait on stdin, and `--input FILE` reads the disk.
    let args: Vec<String> = args.filter(|arg| !arg.starts_with("--input")).collect();
    tasks::parse_only(info, args);
}

/// `data` as a Dockerfile, and as the output of a failed build of it.
fn dockerfile(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    lint::check_dockerfile(&text, "Dockerfile");
    engine::diagnose_only(&text);
}
