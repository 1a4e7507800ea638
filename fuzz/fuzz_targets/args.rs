//! Any command line: NUL-separated arguments, the first a task name. The
//! parsers that take what a user writes must never panic.
#![no_main]

use std::ffi::OsString;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut args = data.split(|&b| b == 0).map(|arg| String::from_utf8_lossy(arg).into_owned());
    let Some(task) = args.next().and_then(|name| xtask::tasks::find(&name)) else { return };
    // `--input -` would wait on stdin, and `--input FILE` reads the disk.
    let args: Vec<OsString> = args.filter(|arg| !arg.starts_with("--input")).map(OsString::from).collect();
    let _ = task.check(args);
});
