//! `cargo xtask run`, `smoke` and `stop` on a real engine: success, the
//! ways a service fails, signals, leftovers and concurrency.

mod common;

use std::time::Duration;

use common::{
    engine_suite::{build_fixture, smoke, wait_for_container},
    *,
};

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
fn an_attached_run_ends_on_ctrl_c_and_removes_its_container() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("attach");
    let hello = copy_of_build_context(&[]);
    let spawned = spawn_task_in("run", &hello, &tag.0, &["--attach"], &[]);
    let pid = spawned.0.id();
    // Its report is out once /health answered; then it follows the log.
    let run = finish_after_report(spawned, |pid| {
        wait_until_healthy(&wait_for_container(pid));
        signal(pid, "INT");
    });
    assert_eq!(run.code, 130, "{}\n{}", run.json, run.stderr);
    assert!(run.str("url").starts_with("http://127.0.0.1:"));
    assert_eq!(containers_of(pid), Vec::<String>::new());
}

#[test]
fn a_failed_smoke_does_not_move_the_tag() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("kept");
    let before = image_from(&copy_of_build_context(&[]), &tag.0).str("imageId").to_string();
    let broken = fixture_context("health_500");
    let run = task_in("smoke", &broken, &tag.0, &[], &[]);
    assert_eq!(run.code, 1, "{}", run.json);
    let message = run.str("message");
    assert!(message.starts_with("Not every path answered 200"), "{}", run.json);
    assert!(
        message.contains(&format!(
            "{} still names the image it named before; this build is the untagged image sha256:",
            tag.0
        )),
        "{}",
        run.json
    );
    assert_eq!(image_id(&tag.0), before, "the tag must keep the image that passed");
}

#[test]
fn run_starts_the_code_as_it_is_now() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("fresh");
    let context = copy_of_build_context(&[]);
    let run_it = || {
        let run = task_in("run", &context, &tag.0, &[], &[]);
        assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
        (ContainerGuard(run.str("containerId").to_string()), run.str("url").rsplit(':').next().unwrap().to_string())
    };
    let (first, port) = run_it();
    assert_eq!(http_status(&port, "/added"), Some(404));
    drop(first);
    let app = std::fs::read_to_string(context.path().join("app/main.py")).unwrap();
    context.write(
        "app/main.py",
        &format!("{app}\n\n@app.get(\"/added\")\ndef added() -> dict[str, str]:\n    return {{}}\n"),
    );
    let (_second, port) = run_it();
    assert_eq!(http_status(&port, "/added"), Some(200), "run started the code as it was before the edit");
}

#[test]
fn stop_keeps_to_this_checkout_unless_all() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("elsewhere");
    let id = image_from(&copy_of_build_context(&[]), &tag.0).str("imageId").to_string();
    // A `run` container of another checkout of the project, on the same engine.
    let theirs = ContainerGuard(unique("xtask-test-theirs"));
    let labels = ["dev.xtask.managed=true", "dev.xtask.task=run", "dev.xtask.project=/another/checkout"];
    let mut args = vec!["run", "--detach", "--name", &theirs.0, "--entrypoint", "sleep"];
    let tag_label = format!("dev.xtask.tag={}", tag.0);
    for label in labels.iter().copied().chain([tag_label.as_str()]) {
        args.extend(["--label", label]);
    }
    args.extend([id.as_str(), "60"]);
    docker_ok(&args);

    let stopped = xtask(&["stop", "--tag", &tag.0]);
    assert_eq!((stopped.code, &stopped.json["removed"]), (0, &serde_json::json!([])), "{}", stopped.json);
    let all = xtask(&["stop", "--all", "--tag", &tag.0]);
    assert_eq!(all.json["removed"], serde_json::json!([theirs.0]), "{}", all.json);
}

/// `--expect`, `--header`, and settings from `--env-file`: the header and
/// the file's values may be secrets, and are never printed.
#[test]
fn smoke_checks_statuses_and_headers_with_settings_it_never_prints() {
    let Some(_docker) = docker_test() else { return };
    const MARKER: &str = "XTASKSETTING5521";
    let tag = TagGuard::new("settings");
    build_fixture("settings", &tag);
    let settings = TempDir::new("settings");
    settings.write("app.env", &format!("REQUIRED_SETTING=on\nAPI_TOKEN={MARKER}\n"));
    let env_file = settings.path().join("app.env").to_str().unwrap().to_string();
    let args = |extra: &[&str]| -> Vec<String> {
        ["--no-build", "--env-file", &env_file].iter().chain(extra).map(|s| s.to_string()).collect()
    };

    let header = format!("X-Token: {MARKER}");
    let passed = smoke(&tag, &args(&["--header", &header, "--expect", "/private=200", "--expect", "/orders/999=404"]));
    assert_eq!(passed.code, 0, "{}\n{}", passed.json, passed.stderr);
    assert_eq!(passed.json["checks"][1]["status"], 404);
    assert_eq!(passed.json["checks"][1]["expected"], 404);
    for said in [passed.json.to_string(), passed.stderr.clone()] {
        assert!(!said.contains(MARKER), "a header or setting value was printed: {said}");
    }

    let unauthorised = smoke(&tag, &args(&["--expect", "/private=200", "--expect", "/orders/999=404"]));
    assert_eq!(unauthorised.code, 1, "{}", unauthorised.json);
    let message = unauthorised.str("message");
    assert!(
        message.starts_with("Not every path answered as expected: GET /private 401, GET /orders/999 404"),
        "{message}"
    );

    // lint runs the image with the same settings.
    let linted = xtask(&["lint", "--image", &tag.0, "--env-file", &env_file]);
    assert_eq!(linted.code, 0, "{}\n{}", linted.json, linted.stderr);
    assert!(!linted.stderr.contains(MARKER));

    let unset = smoke(&tag, &["--no-build".to_string()]);
    assert_eq!(unset.code, 1, "{}", unset.json);
    assert!(unset.str("message").starts_with("The container exited with code"), "{}", unset.json);
    assert!(
        unset.str("message").contains("KeyError: 'REQUIRED_SETTING'"),
        "the traceback names the setting: {}",
        unset.json
    );
}

/// A package-layout app with relative imports, a required setting and its
/// health route at /healthz passes, with no edit to the Dockerfile: by
/// flags, and by the project's files (docker/build-args, docker/run.env)
/// with no flag at all.
#[test]
fn a_package_app_passes_by_flags_and_by_the_project_file() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("package");
    let context = fixture_context("package");
    let setting = ["--env", "DATABASE_URL=postgresql://db/orders"];
    let items = ["--expect", "/healthz=200", "--expect", "/items/1=200", "--expect", "/items/2=404"];
    let contract = ["--app", "app.main:app", "--health", "/healthz"];
    let by_flags = task_in("smoke", &context, &tag.0, &[&contract[..], &setting, &items].concat(), &[]);
    assert_eq!(by_flags.code, 0, "{}\n{}", by_flags.json, by_flags.stderr);
    assert_eq!(by_flags.json["checks"].as_array().unwrap().len(), 3, "{}", by_flags.json);

    context.write(
        "docker/build-args",
        "# the service contract\nAPP_MODULE=app.main:app\nHEALTH_PATH=/healthz\nAPP_PORT=9000\n",
    );
    context.write("docker/run.env", "DATABASE_URL=postgresql://db/orders\n");
    let by_file = task_in("smoke", &context, &tag.0, &[], &[]);
    assert_eq!(by_file.code, 0, "{}\n{}", by_file.json, by_file.stderr);
    assert_eq!(by_file.json["checks"][0]["path"], "/healthz", "{}", by_file.json);
    let described = docker_ok(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.ExposedPorts}} {{index .Config.Labels \"dev.xtask.health-path\"}}",
        &tag.0,
    ]);
    assert_eq!(described, r#"{"9000/tcp":{}} /healthz"#, "the image describes itself");

    std::fs::remove_file(context.path().join("docker/run.env")).unwrap();
    let unset = task_in("smoke", &context, &tag.0, &["--no-build"], &[]);
    assert_eq!(unset.code, 1, "{}", unset.json);
    assert!(
        unset.str("message").contains("The app needs the setting DATABASE_URL, which is not set: give it with --env"),
        "{}",
        unset.json
    );
}

/// What the service's log shows is said in a sentence: a write beside the
/// code, a port other than the image's.
#[test]
fn the_log_s_story_is_told() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("writes");
    let run = task_in("smoke", &fixture_context("writes_beside_code"), &tag.0, &[], &[]);
    assert_eq!(run.code, 1, "{}", run.json);
    assert!(run.str("message").contains("The app writes /srv/app/cache.db, where it cannot"), "{}", run.json);
    assert!(run.str("message").contains("--tmpfs"), "{}", run.json);

    let tag = TagGuard::new("elsewhere");
    let args = ["--env", "UVICORN_PORT=8001", "--timeout", "5"];
    let run = task_in("smoke", &copy_of_build_context(&[]), &tag.0, &args, &[]);
    assert_eq!(run.code, 1, "{}", run.json);
    assert!(
        run.str("message")
            .contains("The log says the service listens on port 8001, and the image's service port is 8000"),
        "{}",
        run.json
    );
}

/// A service adopted with files only: no /health and no /, a secret it
/// needs to start, a POST that proves it writes, a header from a variable.
/// `smoke` passes with no flag at all, and prints no secret.
#[test]
fn an_adopted_service_passes_smoke_with_files_only() {
    let Some(_docker) = docker_test() else { return };
    const SECRET: &str = "XTASKLOCALSECRET8812";
    const TOKEN: &str = "XTASKLOCALTOKEN3307";
    let tag = TagGuard::new("adopted");
    let context = fixture_context("adopted");
    context.write("docker/build-args", "HEALTH_PATH=/status\n");
    context.write(
        "docker/checks.json",
        r#"{
  "headers": {"X-Token": "${API_TOKEN}"},
  "checks": [
    {"method": "POST", "path": "/items", "json": {"name": "pen"}, "status": 201, "field": "id"},
    {"path": "/items/999", "status": 404}
  ]
}
"#,
    );
    context.write("docker/run.local.env", &format!("SECRET_KEY={SECRET}\nAPI_TOKEN={TOKEN}\n"));
    let passed = task_in("smoke", &context, &tag.0, &[], &[]);
    assert_eq!(passed.code, 0, "{}\n{}", passed.json, passed.stderr);
    let checks = passed.json["checks"].as_array().unwrap();
    assert_eq!(
        (checks[0]["method"].as_str(), checks[0]["status"].as_u64()),
        (Some("POST"), Some(201)),
        "{}",
        passed.json
    );
    assert_eq!(checks[1]["status"], 404, "{}", passed.json);
    let said = format!("{}{}", passed.json, passed.stderr);
    assert!(!said.contains(SECRET) && !said.contains(TOKEN), "a secret was printed:\n{said}");

    // Without the local secrets, the header's variable is named before anything starts.
    std::fs::remove_file(context.path().join("docker/run.local.env")).unwrap();
    let unset = task_in("smoke", &context, &tag.0, &["--no-build"], &[]);
    assert_eq!(unset.code, 2, "{}", unset.json);
    assert!(unset.str("message").contains("reads API_TOKEN, which is set nowhere"), "{}", unset.json);

    // The service's default health path, which it does not have, is named.
    let default_health = fixture_context("adopted");
    default_health.write("docker/run.local.env", &format!("SECRET_KEY={SECRET}\nAPI_TOKEN={TOKEN}\n"));
    let no_health = task_in("smoke", &default_health, &tag.0, &[], &[]);
    assert_eq!(no_health.code, 1, "{}", no_health.json);
    assert!(
        no_health.str("message").starts_with(
            "GET /health answered 404: this service has no /health; set its health path with --health or in docker/build-args."
        ),
        "{}",
        no_health.json
    );
}

/// Checks that prove more than a status: a login that takes a form gives a
/// token that the next check sends, and a job is asked again until its
/// state is SUCCESS (STARTED proves nothing). A state that never comes is
/// named with the value the answer had.
#[test]
fn a_form_login_s_token_reaches_the_next_check_and_a_job_is_polled_until_it_holds() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("form-login");
    let context = fixture_context("form_login");
    let checks = |state: &str, within: u32| {
        format!(
            r#"{{"checks": [
  {{"method": "POST", "path": "/login", "form": {{"username": "ada", "password": "pass word&1"}}, "field": "access_token"}},
  {{"method": "POST", "path": "/jobs", "headers": {{"Authorization": "Bearer {{access_token}}"}}, "status": 202, "field": "id"}},
  {{"path": "/jobs/{{id}}", "field": "state", "equals": "{state}", "within": {within}}}
]}}"#
        )
    };
    context.write("docker/checks.json", &checks("SUCCESS", 20));
    let passed = task_in("smoke", &context, &tag.0, &[], &[]);
    assert_eq!(passed.code, 0, "{}\n{}", passed.json, passed.stderr);
    let statuses: Vec<u64> =
        passed.json["checks"].as_array().unwrap().iter().map(|c| c["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses[statuses.len() - 3..], [200, 202, 200], "{}", passed.json);

    context.write("docker/checks.json", &checks("DONE", 3));
    let failed = task_in("smoke", &context, &tag.0, &["--no-build"], &[]);
    assert_eq!(failed.code, 1, "{}", failed.json);
    assert!(failed.str("message").contains(r#"with `state` "SUCCESS", not "DONE""#), "{}", failed.json);
}

/// A service that connects to its database or cache as it starts cannot
/// pass `smoke` alone: when its log cannot reach a host that is a service
/// of the project's Compose file, the sentence says it needs its stack.
#[test]
fn a_service_that_cannot_reach_a_service_of_its_stack_is_told_to_smoke_with_it() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("needs-stack");
    let context = fixture_context("hello");
    // redis-py's own words, as a client says them at import.
    let fails = "raise SystemExit('redis.exceptions.ConnectionError: Error -2 connecting to cache:6379. Name or service not known.')\n";
    context.write(
        "app/main.py",
        &format!("{}\n{fails}", std::fs::read_to_string(context.path().join("app/main.py")).unwrap()),
    );
    context.write(
        "compose.yaml",
        "services:\n  api:\n    image: ${API_IMAGE:-x}\n    ports: [\"8000:8000\"]\n  cache:\n    image: redis:7\n",
    );
    let run = task_in("smoke", &context, &tag.0, &[], &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.json, run.stderr);
    assert!(
        run.str("message").starts_with("The service needs its stack: its log cannot reach cache, a service of"),
        "{}",
        run.json
    );
    assert!(run.str("message").contains("`cargo xtask smoke --stack`"), "{}", run.json);
}
