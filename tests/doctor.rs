//! `cargo xtask doctor` on this machine, and with an engine that is not there.

mod common;

use common::*;

/// `doctor` says which engine the tasks use, and gives each problem's fix.
#[test]
fn doctor_says_what_works_and_how_to_fix_what_does_not() {
    let Some(_docker) = docker_test() else { return };
    let here = xtask(&["doctor"]);
    assert_eq!(here.code, 0, "{}\n{}", here.json, here.stderr);
    assert_eq!(here.json["chosen"], "docker", "{}", here.json);
    assert_eq!(here.json["engines"][0]["answers"], true, "{}", here.json);
    assert!(here.stderr.contains("engine docker: "), "a readable list on stderr: {}", here.stderr);
    assert!(here.json["compose"].as_str().is_some_and(|v| v.starts_with('2')), "Compose v2: {}", here.json);

    let no_daemon =
        xtask_with(&["doctor", "--engine", "docker"], &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")]);
    assert_eq!(no_daemon.code, 1, "{}", no_daemon.json);
    let fixes: Vec<&str> =
        no_daemon.json["problems"].as_array().unwrap().iter().map(|p| p["fix"].as_str().unwrap()).collect();
    assert!(fixes.iter().any(|fix| fix.contains("unset DOCKER_HOST")), "{}", no_daemon.json);
    let problems = no_daemon.json["problems"].to_string();
    assert!(problems.contains("DOCKER_HOST=unix:///nonexistent/docker.sock points at no engine"), "{problems}");
}

/// `setup` on the machine CI has just set up: nothing to do, said so;
/// and a Docker of its own that does not answer is said, not started.
#[test]
fn setup_on_a_ready_machine_does_nothing_and_says_so() {
    let Some(_docker) = docker_test() else { return };
    let ready = xtask(&["setup", "--offline"]);
    assert_eq!(ready.code, 0, "{}\n{}", ready.json, ready.stderr);
    assert_eq!(ready.json["steps"], serde_json::json!([]), "{}", ready.json);
    assert!(ready.str("message").starts_with("Nothing to do: this machine is ready."), "{}", ready.json);

    let elsewhere = xtask_with(&["setup", "--offline"], &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")]);
    assert_eq!(elsewhere.code, 1, "{}", elsewhere.json);
    let steps = elsewhere.json["steps"].as_array().unwrap();
    let manual = steps.iter().find(|s| s["outcome"] == "manual").expect("a step for the user");
    assert!(manual["command"].as_str().unwrap().contains("unset DOCKER_HOST"), "{}", elsewhere.json);
    assert!(steps.iter().all(|s| s["outcome"] != "done"), "nothing run: {}", elsewhere.json);
    assert!(elsewhere.str("message").contains("is for you to do here"), "{}", elsewhere.json);

    let planned =
        xtask_with(&["setup", "--offline", "--dry-run"], &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")]);
    assert_eq!(planned.code, 0, "{}", planned.json);
    assert!(planned.json["steps"].as_array().unwrap().iter().all(|s| s["outcome"] == "planned"), "{}", planned.json);
}
