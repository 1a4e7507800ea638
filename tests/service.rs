//! `cargo xtask run`, `smoke` and `stop` on a real engine: success, the
//! ways a service fails, signals, leftovers and concurrency.

mod common;

use std::{
    process::Command,
    thread,
    time::{Duration, Instant},
};

use common::*;

fn smoke(tag: &TagGuard, extra: &[String]) -> Run {
    let mut args: Vec<&str> = vec!["smoke", "--tag", &tag.0];
    args.extend(extra.iter().map(String::as_str));
    xtask(&args)
}

/// Builds the fixture app NAME under `tag`, for `--no-build` runs.
fn build_fixture(name: &str, tag: &TagGuard) {
    let run = image_from(&fixture_context(name), &tag.0);
    assert_eq!(run.code, 0, "{}", run.json);
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &pid.to_string()]).status().unwrap();
    assert!(status.success());
}

/// Waits until process `pid` has started its container.
fn wait_for_container(pid: u32) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(name) = containers_of(pid).pop() {
            return name;
        }
        assert!(Instant::now() < deadline, "process {pid} started no container");
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn smoke_passes_and_leaves_nothing() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("smoke");
    let run = smoke(&tag, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
    assert_eq!(run.json["success"], true);
    assert_eq!(run.str("imageId"), image_id(&tag.0));
    assert!(run.str("url").starts_with("http://127.0.0.1:"));
    let checks: Vec<(String, u64)> = run.json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["path"].as_str().unwrap().to_string(), c["status"].as_u64().unwrap()))
        .collect();
    assert_eq!(checks, [("/health".to_string(), 200), ("/".to_string(), 200)]);
    for timing in ["buildMs", "startMs", "readyMs", "stopMs"] {
        assert!(run.json["timings"][timing].is_u64(), "{timing} in {}", run.json);
    }
    assert!(run.json["timings"]["stopMs"].as_u64().unwrap() < 2000, "{}", run.json);
    let ours = docker_ok(&["ps", "--all", "--filter", "label=dev.xtask.task=smoke", "--quiet"]);
    assert_eq!(ours, "", "smoke left a container behind");
}

#[test]
fn an_app_that_raises_at_import_fails_fast_with_its_traceback() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("raises");
    build_fixture("import_error", &tag);
    let run = smoke(&tag, &["--no-build".into()]);
    assert_eq!(run.code, 1, "{}", run.json);
    let message = run.str("message");
    assert!(message.contains("The container exited with code 1 before it answered"), "{message}");
    assert!(message.contains("RuntimeError: fixture: the service fails at import"), "{message}");
    assert!(run.took < Duration::from_secs(10), "took {:?}", run.took);
}

#[test]
fn an_unhealthy_app_fails_with_the_status() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("unhealthy");
    build_fixture("health_500", &tag);
    let run = smoke(&tag, &["--no-build".into()]);
    assert_eq!(run.code, 1, "{}", run.json);
    assert!(run.str("message").starts_with("Not every path answered 200: GET /health 500, GET / 200."), "{}", run.json);
    assert_eq!(run.json["checks"][0]["status"], 500);
    assert_eq!(run.json["checks"][0]["ok"], false);
}

#[test]
fn a_port_that_never_answers_fails_at_the_timeout() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("silent");
    build_fixture("silent_port", &tag);
    let run = smoke(&tag, &["--no-build".into(), "--timeout".into(), "3".into()]);
    assert_eq!(run.code, 1, "{}", run.json);
    assert!(run.str("message").starts_with("GET /health got no HTTP answer within 3 s"), "{}", run.json);
    assert!(run.took >= Duration::from_secs(3) && run.took < Duration::from_secs(10), "took {:?}", run.took);
}

#[test]
fn a_signal_during_the_wait_removes_the_container() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("signalled");
    build_fixture("silent_port", &tag);
    for name in ["INT", "TERM"] {
        let (child, started) = spawn_xtask(&["smoke", "--no-build", "--tag", &tag.0, "--timeout", "60"], &[]);
        let pid = child.id();
        wait_for_container(pid);
        let signalled = Instant::now();
        signal(pid, name);
        let run = finish((child, started));
        assert_eq!(run.code, 1, "SIG{name}: {}", run.json);
        assert!(run.str("message").starts_with("Interrupted by a signal"), "SIG{name}: {}", run.json);
        assert!(signalled.elapsed() < Duration::from_secs(5), "SIG{name}: took {:?} to end", signalled.elapsed());
        assert_eq!(containers_of(pid), Vec::<String>::new(), "SIG{name} left a container");
    }
}

#[test]
fn the_next_run_removes_what_a_killed_run_left() {
    let Some(_docker) = docker_test() else { return };
    let silent = TagGuard::new("killed");
    build_fixture("silent_port", &silent);
    let (mut child, _) = spawn_xtask(&["smoke", "--no-build", "--tag", &silent.0, "--timeout", "60"], &[]);
    let pid = child.id();
    let left = wait_for_container(pid);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(containers_of(pid), std::slice::from_ref(&left), "SIGKILL leaves the container");

    let healthy = TagGuard::new("next");
    let run = smoke(&healthy, &[]);
    assert_eq!(run.code, 0, "{}", run.json);
    assert!(run.stderr.contains(&left), "the sweep names what it removes: {}", run.stderr);
    assert_eq!(containers_of(pid), Vec::<String>::new());
}

#[test]
fn four_smokes_at_once_all_pass() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("parallel");
    let runs: Vec<_> = (0..4).map(|_| spawn_xtask(&["smoke", "--tag", &tag.0], &[])).collect();
    let runs: Vec<Run> = runs.into_iter().map(finish).collect();
    let mut urls: Vec<&str> = runs.iter().map(|run| run.str("url")).collect();
    for run in &runs {
        assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
    }
    urls.sort();
    urls.dedup();
    assert_eq!(urls.len(), 4, "each run has a port of its own");
}

#[test]
fn run_serves_until_stop() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("run");
    let run = xtask(&["run", "--tag", &tag.0]);
    assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
    let container = ContainerGuard(run.str("containerId").to_string());
    let url = run.str("url");
    let port = url.rsplit(':').next().unwrap();
    assert_eq!(
        docker_ok(&["port", &container.0, "8000/tcp"]),
        format!("127.0.0.1:{port}"),
        "published on loopback only"
    );

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    let refused = xtask(&["run", "--tag", &tag.0, "--port", &busy_port]);
    assert_eq!(refused.code, 1);
    assert!(refused.str("message").starts_with(&format!("Port {busy_port} on 127.0.0.1 is busy.")), "{}", refused.json);

    let name = docker_ok(&["container", "inspect", "--format", "{{.Name}}", &container.0]);
    // Only this test's containers: a developer's own `run` stays up.
    let stopped = xtask(&["stop", "--tag", &tag.0]);
    assert_eq!(stopped.code, 0, "{}", stopped.json);
    assert!(
        stopped.json["removed"].as_array().unwrap().iter().any(|n| format!("/{}", n.as_str().unwrap()) == name),
        "{}",
        stopped.json
    );
    assert_eq!(docker_ok(&["ps", "--all", "--quiet", "--filter", &format!("id={}", container.0)]), "");
}

#[test]
fn an_attached_run_ends_on_ctrl_c_and_removes_its_container() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("attach");
    let spawned = spawn_xtask(&["run", "--attach", "--tag", &tag.0], &[]);
    let pid = spawned.0.id();
    // Its report is out once /health answered; then it follows the log.
    let run = finish_after_report(spawned, |pid| {
        wait_until_healthy(&wait_for_container(pid));
        signal(pid, "INT");
    });
    assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
    assert!(run.str("url").starts_with("http://127.0.0.1:"));
    assert_eq!(containers_of(pid), Vec::<String>::new());
}
