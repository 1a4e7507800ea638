//! The command line through the real binary, where `main` writes: a
//! mistake's report on stdout with exit code 2, `--help` as text with exit
//! code 0, an argument that is not UTF-8. Each mistake's sentence is a unit
//! test of `tasks`; no engine is needed.

mod common;

use std::{
    ffi::OsStr,
    os::unix::ffi::OsStrExt,
    process::{Command, Stdio},
};

use common::*;

/// A usage error has the report shape of the task asked for; a command
/// line that names no task gets the minimal one.
#[test]
fn a_usage_error_has_the_shape_of_its_task() {
    let stop = xtask(&["stop", "--bogus"]);
    assert_eq!(stop.code, 2, "{}", stop.json);
    assert_eq!(stop.json["removed"], serde_json::json!([]));
    assert!(stop.str("message").starts_with("`--bogus` is not a flag of `cargo xtask stop`"), "{}", stop.json);

    let no_task = xtask(&["no-such-task"]);
    assert_eq!(no_task.code, 2);
    assert_eq!(
        no_task.json,
        serde_json::json!({"success": false, "message": "`no-such-task` is not a task; `cargo xtask --help` lists them"})
    );
}

/// `--help` (or `-h`) after a task prints that task's flags and exits 0.
#[test]
fn each_task_has_its_help() {
    for (task, flag) in [("image", "--build-arg <KEY=VALUE>"), ("stop", "--all"), ("smoke", "--timeout <SECS>")] {
        for help in ["--help", "-h"] {
            let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask")).args([task, help]).output().unwrap();
            let text = String::from_utf8_lossy(&output.stdout);
            assert!(output.status.success(), "{task} {help}");
            assert!(text.starts_with(&format!("cargo xtask {task}: ")) && text.contains(flag), "{task} {help}: {text}");
        }
    }
}

/// An argument that is not UTF-8 once panicked (exit 101, empty stdout).
#[test]
fn a_non_utf8_argument_gets_json_and_exit_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([OsStr::new("image"), OsStr::new("--tag"), OsStr::from_bytes(b"app\xff")])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert!(json["message"].as_str().unwrap().contains("is not UTF-8"), "{json}");
    assert_eq!(json["imageId"], "");
}
