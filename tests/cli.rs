//! The command line, through the real binary: each mistake gets one
//! sentence in the report shape of the task asked for and exit code 2,
//! and `--help` lists each task's flags. No engine is needed.

mod common;

use std::{
    ffi::OsStr,
    os::unix::ffi::OsStrExt,
    process::{Command, Stdio},
};

use common::*;

/// A mistake in the command line: exit 2, success false, valid JSON.
fn assert_usage(args: &[&str], says: &str) {
    let run = xtask(args);
    assert_eq!(run.code, 2, "{args:?}: {}", run.json);
    assert_eq!(run.json["success"], false);
    assert_eq!(run.json["imageId"], "");
    assert!(run.str("message").contains(says), "{args:?}: {}", run.json);
}

#[test]
fn mistakes_are_named() {
    assert_usage(&["image", "--build-arg", "NOEQUALS"], "`--build-arg` must have the form KEY=VALUE");
    assert_usage(&["image", "--tag", "Not:A:Tag"], "`Not:A:Tag` is not a valid image tag");
    assert_usage(&["image", "--no-such-flag"], "`--no-such-flag` is not a flag of `cargo xtask image`");
}

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

/// Inputs that once panicked (exit 101, empty stdout) or slipped through.
#[test]
fn odd_arguments_get_json_and_exit_2() {
    let run = xtask(&["smoke", "--timeout", "1e30"]);
    assert_eq!(run.code, 2, "{}", run.json);
    assert!(run.str("message").contains("`--timeout`: `1e30` is not a number of seconds"), "{}", run.json);

    let run = xtask(&["smoke", "--path", "/health\r\nX-Injected: 1"]);
    assert_eq!(run.code, 2, "{}", run.json);
    assert!(run.str("message").contains("control character"), "{}", run.json);

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

/// A bad line in a settings file is named by its number and name, before
/// any engine is asked, and its value never shows.
#[test]
fn a_bad_settings_line_is_named_without_its_value() {
    let settings = TempDir::new("bad-settings");
    settings.write("app.env", "# settings\nDB_PASSWORD value-with-space\n");
    let file = settings.path().join("app.env");
    for task in ["smoke", "run", "lint"] {
        let run = xtask(&[task, "--env-file", file.to_str().unwrap()]);
        assert_eq!(run.code, 2, "{task}: {}", run.json);
        let message = run.str("message");
        assert!(message.contains("app.env line 2") && message.contains("`DB_PASSWORD`"), "{task}: {message}");
        assert!(!format!("{}{}", run.json, run.stderr).contains("value-with-space"), "{task}: {}", run.json);
    }
}

/// Mistakes in values that name things are exit 2, however they look.
#[test]
fn odd_registries_and_images_are_command_line_mistakes() {
    for (args, says) in [
        (&["push", "--registry", "127.0.0.1:99999"][..], "the port must be from 1 to 65535"),
        (&["push", "--registry", "127.0.0.1:0"], "the port must be from 1 to 65535"),
        (&["layers", "--image", "not!valid"], "is not a valid image tag"),
        (&["lint", "--image", "app@sha256:00"], "its digest must be sha256:"),
    ] {
        let run = xtask(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.json);
        assert!(run.str("message").contains(says), "{args:?}: {}", run.json);
    }
    let long = format!("/{}", "x".repeat(100_000));
    let run = xtask(&["smoke", "--expect", &format!("{long}=99")]);
    assert_eq!(run.code, 2);
    assert!(run.str("message").len() < 400, "an echoed value is cut: {} bytes", run.str("message").len());
}
