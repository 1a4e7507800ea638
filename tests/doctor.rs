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

    let unknown = xtask(&["doctor", "--engine", "containerd"]);
    assert_eq!(unknown.code, 2, "{}", unknown.json);
    assert!(unknown.str("message").starts_with("`containerd` is not an engine we know"), "{}", unknown.json);
}
