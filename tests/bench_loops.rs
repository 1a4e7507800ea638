//! `cargo xtask bench --stack` and `--watch` run end to end once, beside
//! the tools a user would pick instead, and leave nothing behind. They
//! time Compose and the dev loop, which no builder changes: `.ci/run` runs
//! them in the legacy leg alone.

mod common;

use common::*;

/// `bench --stack`: `up` beside `docker compose up --wait` on the same
/// file, and `smoke --stack` with its parts; nothing left behind.
#[test]
fn the_stack_bench_reports_both_ways_and_leaves_nothing() {
    let Some(_docker) = docker_test() else { return };
    let run = xtask(&["bench", "--stack", "--runs", "1"]);
    assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
    let stack = &run.json["stack"];
    for figure in ["upMs", "composeUpWaitMs", "smokeMs", "smokeReadyMs", "smokeStopMs"] {
        assert!(stack[figure]["median"].as_f64().unwrap() > 0.0, "{figure} in {stack}");
    }
    assert!(run.stderr.contains("| `docker compose up -d --wait`, same file |"), "{}", run.stderr);
    let projects = docker_ok(&["ps", "--all", "--format", "{{.Label \"com.docker.compose.project\"}}"]);
    assert!(!projects.lines().any(|p| p.starts_with("xtask-")), "the bench left a stack: {projects}");
    let volumes = docker_ok(&["volume", "ls", "--quiet"]);
    assert!(!volumes.lines().any(|v| v.starts_with("xtask-")), "the bench left volumes: {volumes}");
}

/// `bench --watch`: `watch` beside `docker compose watch`, on the same
/// edits; nothing left behind.
#[test]
fn the_watch_bench_reports_both_ways_and_leaves_nothing() {
    let Some(_docker) = docker_test() else { return };
    the_watch_bench(&[], "| `docker compose watch`, `rebuild` action |");
}

/// `bench --watch --stack`: the same, with the whole stack behind each loop.
#[test]
fn the_stack_watch_bench_reports_both_ways_and_leaves_nothing() {
    let Some(_docker) = docker_test() else { return };
    the_watch_bench(&["--stack"], "| `docker compose watch`, `rebuild` action on the API |");
}

fn the_watch_bench(flags: &[&str], compose_row: &str) {
    let run = xtask(&[&["bench", "--watch", "--runs", "1"], flags].concat());
    assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
    let watch = &run.json["watch"];
    assert_eq!(watch["edits"], 4);
    for figure in ["xtaskMs", "composeWatchMs"] {
        assert!(watch[figure]["median"].as_f64().unwrap() > 0.0, "{figure} in {watch}");
    }
    assert!(run.stderr.contains(compose_row), "{}", run.stderr);
    assert_eq!(docker_ok(&["ps", "--all", "--quiet", "--filter", "label=dev.xtask.task=watch"]), "");
    let images = docker_ok(&["image", "ls", "--format", "{{.Repository}}"]);
    assert!(!images.lines().any(|i| i.starts_with("xtask-bench")), "the bench left an image: {images}");
    // `docker compose watch` is the docker CLI and its plugin: both went.
    let projects = docker_ok(&["ps", "--all", "--format", "{{.Label \"com.docker.compose.project\"}}"]);
    assert!(!projects.lines().any(|p| p.starts_with("xtask-")), "the bench left a stack: {projects}");
    let volumes = docker_ok(&["volume", "ls", "--quiet"]);
    assert!(!volumes.lines().any(|v| v.starts_with("xtask-")), "the bench left volumes: {volumes}");
    let plugin = std::process::Command::new("pgrep").args(["-f", "compose.watch.yaml"]).output().unwrap();
    assert!(plugin.stdout.is_empty(), "docker compose watch is still running");
}
