//! What every engine must pass: Docker with each builder, podman, and a
//! remote Docker. `engine_suite_tests!` makes each scenario a test of its
//! own in the file that calls it (`engine.rs` on Docker, `podman.rs`,
//! `remote.rs`), so one can run alone and one failure hides no other. They
//! talk to the engine through the helpers of `common`, which follow
//! XTASK_ENGINE and DOCKER_HOST as the xtask does.

use std::{
    thread,
    time::{Duration, Instant},
};

use super::*;

/// A test of its own for each scenario `$suite::$name`, which begins
/// with `$start` (the engine's guard; None skips the test).
#[macro_export]
macro_rules! scenario_tests {
    ($start:expr; $($suite:ident::$name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let Some(_engine) = $start else { return };
                common::$suite::$name();
            }
        )*
    };
}

/// Every scenario of the engine suite, each a test of the calling file.
#[macro_export]
macro_rules! engine_suite_tests {
    ($start:expr) => {
        $crate::scenario_tests!($start;
            engine_suite::the_report_matches_the_engine_s_inspect,
            engine_suite::each_build_carries_the_contract_it_was_asked_for,
            engine_suite::secrets_are_never_printed_and_plain_words_never_masked,
            engine_suite::build_failures_say_what_happened,
            engine_suite::a_signal_to_the_xtask_alone_stops_the_build_and_moves_no_tag,
            engine_suite::smoke_passes_and_leaves_nothing,
            engine_suite::an_app_that_raises_at_import_fails_fast_with_its_traceback,
            engine_suite::an_unhealthy_app_fails_with_the_status,
            engine_suite::a_signal_during_the_wait_removes_the_container,
            engine_suite::four_smokes_at_once_all_pass,
            engine_suite::run_serves_until_stop,
            engine_suite::our_dockerfile_and_image_have_nothing_to_fix,
            watch_suite::watch_serves_each_edit_on_one_url_and_keeps_the_old_on_failure,
        );
    };
}

/// `smoke` of the fixture app `hello`, or with `--no-build` of the image `tag` names.
pub fn smoke(tag: &TagGuard, extra: &[String]) -> Run {
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    task_in("smoke", &copy_of_build_context(&[]), &tag.0, &extra, &[])
}

/// Builds the fixture app NAME under `tag`, for `--no-build` runs.
pub fn build_fixture(name: &str, tag: &TagGuard) {
    let run = image_from(&fixture_context(name), &tag.0);
    assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
}

/// Waits until process `pid` has started its container.
pub fn wait_for_container(pid: u32) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(name) = containers_of(pid).pop() {
            return name;
        }
        assert!(Instant::now() < deadline, "process {pid} started no container");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn the_report_matches_the_engine_s_inspect() {
    let tag = TagGuard::new("inspect");
    let run = image_from(&copy_of_build_context(&[]), &tag.0);
    assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
    let mut fields: Vec<&str> = run.json.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort();
    assert_eq!(fields, ["imageId", "message", "size", "success", "tag"]);
    assert_eq!(run.json["success"], true);
    assert_eq!(run.str("tag"), tag.0);
    assert_eq!(run.str("imageId"), image_id(&tag.0));
    assert!(run.str("message").contains(&format!("with {}", engine())), "the engine is named: {}", run.json);
    let size = docker_ok(&["image", "inspect", "--format", "{{.Size}}", &tag.0]);
    assert_eq!(run.json["size"].as_u64().unwrap().to_string(), size);
    let progress = run.stderr.to_ascii_lowercase();
    assert!(progress.contains("step") || progress.contains('#'), "the build's progress goes to stderr");
}

/// Builds that differ only in the contract's build args each carry their
/// own: an engine that reuses a step whose `ARG` changed (Buildah) builds
/// again, and a wrong app is then refused rather than reported as built.
pub fn each_build_carries_the_contract_it_was_asked_for() {
    let tag = TagGuard::new("contract");
    let context = copy_of_build_context(&[]);
    let first = task_in("image", &context, &tag.0, &[], &[]);
    assert_eq!(first.code, 0, "{}\n{}", first.json, first.stderr);
    let moved = task_in("image", &context, &tag.0, &["--app-port", "9000", "--health", "/healthz"], &[]);
    assert_eq!(moved.code, 0, "{}\n{}", moved.json, moved.stderr);
    let format = r#"{{json .Config.ExposedPorts}} {{index .Config.Labels "dev.xtask.health-path"}}"#;
    assert_eq!(docker_ok(&["image", "inspect", "--format", format, &tag.0]), r#"{"9000/tcp":{}} /healthz"#);
    let wrong = task_in("image", &context, &tag.0, &["--app", "main:nope"], &[]);
    assert_eq!(wrong.code, 1, "{}\n{}", wrong.json, wrong.stderr);
    assert!(wrong.str("message").starts_with("The image cannot start its app main:nope"), "{}", wrong.json);
    assert_eq!(wrong.str("imageId"), "", "{}", wrong.json);
    assert_eq!(image_id(&tag.0), moved.str("imageId"), "the tag stays on the image that passed");
}

/// A secret the tool was given appears in no output, and a plain word is
/// never masked, whatever prints it: the build's progress (BuildKit shows a `RUN` with its build args
/// expanded), a failed step's last lines, the image's history (`layers`),
/// and a service's log that echoes its settings.
pub fn secrets_are_never_printed_and_plain_words_never_masked() {
    const MARKER: &str = "XTASKMASKED4471";
    let said = |run: &Run| format!("{}\n{}", run.json, run.stderr);
    let context = copy_of_build_context(&[]);
    let dockerfile = std::fs::read_to_string(context.path().join("docker/Dockerfile")).unwrap();
    let uses_it = "ARG API_TOKEN\nRUN test -n \"$API_TOKEN\" && echo \"token $API_TOKEN\"\nCOPY app/ .\n";
    context.write("docker/Dockerfile", &dockerfile.replace("COPY app/ .\n", uses_it));
    let tag = TagGuard::new("masked");
    let token = format!("--build-arg=API_TOKEN={MARKER}");
    let built = task_in("layers", &context, &tag.0, &[&token], &[]);
    assert_eq!(built.code, 0, "{}\n{}", built.json, built.stderr);
    assert!(!said(&built).contains(MARKER), "the build or its history shows the value:\n{}", said(&built));

    let failing = "ARG API_TOKEN\nRUN echo \"token $API_TOKEN\" && false\nCOPY app/ .\n";
    context.write("docker/Dockerfile", &dockerfile.replace("COPY app/ .\n", failing));
    let failed = task_in("image", &context, &tag.0, &[&token], &[]);
    assert_eq!(failed.code, 1, "{}\n{}", failed.json, failed.stderr);
    assert!(!said(&failed).contains(MARKER), "a failed step shows the value:\n{}", said(&failed));

    // A committed run.env is no secret, but a setting whose key says it
    // is one is: the plain word is shown, the token is not.
    context.write("docker/Dockerfile", &dockerfile);
    context.write("docker/run.env", &format!("POSTGRES_USER=plainword\nAPI_TOKEN={MARKER}-env\n"));
    let echoes = "import os\nraise SystemExit(' '.join(f'{k}={os.environ[k]}' for k in ('DATABASE_URL', 'POSTGRES_USER', 'API_TOKEN')))\n";
    context.write("app/main.py", echoes);
    let url = format!("--env=DATABASE_URL=postgresql://plainword:{MARKER}@db/x");
    let echoed = task_in("smoke", &context, &tag.0, &[&url], &[]);
    assert_eq!(echoed.code, 1, "{}\n{}", echoed.json, echoed.stderr);
    let message = echoed.str("message");
    assert!(message.contains("DATABASE_URL=postgresql://plainword:***@db/x"), "{}", echoed.json);
    assert!(message.contains("POSTGRES_USER=plainword API_TOKEN=***"), "a plain word is masked: {}", echoed.json);
    assert!(!said(&echoed).contains(MARKER), "the log tail shows the value:\n{}", said(&echoed));
}

/// Each way a build fails gets its sentence, on every builder: Docker's
/// legacy builder, BuildKit and Buildah word them differently.
pub fn build_failures_say_what_happened() {
    let tag = TagGuard::new("failures");

    let conflict = copy_of_build_context(&[]);
    conflict.write("docker/libraries.list", "fastapi==0.162.5\nfastapi==0.110.0\nuvicorn==0.54.0\n");
    let run = image_from(&conflict, &tag.0);
    assert_failed(&run, "pip cannot install the packages of libraries.list together");
    assert!(run.str("message").contains("fastapi==0.162.5 and fastapi==0.110.0"), "{}", run.json);

    let copy_from = copy_of_build_context(&[]);
    let dockerfile = std::fs::read_to_string(copy_from.path().join("docker/Dockerfile")).unwrap();
    copy_from.write("docker/Dockerfile", &format!("{dockerfile}COPY --from=xtask-test/no-such-image:none /x /x\n"));
    let run = image_from(&copy_from, &tag.0);
    assert_failed(
        &run,
        "The image `xtask-test/no-such-image:none`, which the Dockerfile copies from, could not be pulled",
    );
    assert!(!run.str("message").contains("--offline"), "offline is on already: {}", run.json);

    // Buildah dumps its step where Docker's builders refuse the file: the
    // file is read first, so every engine says the same.
    let unknown = copy_of_build_context(&[]);
    unknown.write("docker/Dockerfile", &format!("{dockerfile}COPPY app /srv/app\n"));
    let run = image_from(&unknown, &tag.0);
    let line = dockerfile.lines().count() + 1;
    assert_failed(&run, &format!("The Dockerfile does not parse: line {line}: unknown instruction: COPPY"));
    assert!(!run.str("message").contains("imagebuilder"), "{}", run.json);

    let failing_step = copy_of_build_context(&[]);
    let step = "RUN python -c \"import sys; sys.exit('the step says why')\"";
    failing_step.write("docker/Dockerfile", &format!("{dockerfile}{step}\n"));
    let run = image_from(&failing_step, &tag.0);
    assert_failed(&run, "failed with exit code 1. Its last lines:\nthe step says why");
    assert!(run.str("message").starts_with("The Dockerfile step `RUN python -c"), "{}", run.json);

    let hello = copy_of_build_context(&[]);
    // The stand-ins of this machine's release, named: with no bases of its
    // own, a Python would pick the release that carries it.
    let suite = xtask::standins::suite_for(&Default::default()).unwrap();
    let (builder, runtime) = (format!("xtask-standin/python:{suite}"), format!("xtask-standin/python:{suite}-slim"));
    let bases = [format!("--build-arg=BUILDER_IMAGE={builder}"), format!("--build-arg=RUNTIME_IMAGE={runtime}")];
    let run = task_in("image", &hello, &tag.0, &["--build-arg", "PYTHON_MINOR=3.9", &bases[0], &bases[1]], &[]);
    assert_failed(&run, "The Python versions do not match");
    assert!(run.str("message").contains("python3.9/site-packages"), "{}", run.json);

    // Only the builder base is missing: the runtime base is an image the engine has.
    let base = "--build-arg=BUILDER_IMAGE=xtask-test/no-such-base:none";
    assert_eq!(image_from(&copy_of_build_context(&[]), &tag.0).code, 0);
    let runtime = format!("--build-arg=RUNTIME_IMAGE={}", tag.0);
    let run = task_in("image", &hello, &tag.0, &[base, &runtime], &[("XTASK_OFFLINE", "0")]);
    assert_failed(&run, "The base image `xtask-test/no-such-base:none` could not be pulled");
    assert!(!run.str("message").contains("${"), "the image is named, not its variable: {}", run.json);

    let run = task_in("image", &hello, &tag.0, &[], &[("XTASK_DEBIAN_SUITE", "no-such-suite")]);
    assert_failed(&run, "No such script");

    let run = image_from(&copy_of_build_context(&["docker/libraries.list"]), &tag.0);
    assert_failed(&run, "The Dockerfile copies `docker/libraries.list`, but the build context");
}

/// A signal during a build ends it at once, moves no tag, and leaves no
/// container, Buildah's working containers included.
pub fn a_signal_to_the_xtask_alone_stops_the_build_and_moves_no_tag() {
    for (name, code) in [("INT", 130), ("TERM", 143)] {
        let tag = TagGuard::new("cancelled");
        let before = all_containers();
        // --no-cache: the pip step takes many seconds, so the signal meets it.
        let hello = copy_of_build_context(&[]);
        let (child, started) = spawn_task_in("image", &hello, &tag.0, &["--no-cache"], &[]);
        thread::sleep(Duration::from_secs(3));
        let signalled = Instant::now();
        signal(child.id(), name);
        let run = finish((child, started));
        let took = signalled.elapsed();
        assert_eq!(run.code, code, "SIG{name}: {}\n{}", run.json, run.stderr);
        assert!(run.str("message").starts_with("Interrupted by a signal"), "SIG{name}: {}", run.json);
        assert!(took < Duration::from_secs(3), "SIG{name}: took {took:?} to end");
        assert!(docker(&["image", "inspect", &tag.0]).status.code() != Some(0), "SIG{name} moved the tag");
        // The engine removes a cancelled step's container a moment later.
        let deadline = Instant::now() + Duration::from_secs(5);
        while all_containers() != before && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(all_containers(), before, "SIG{name} left a build container");
    }
}

pub fn smoke_passes_and_leaves_nothing() {
    let tag = TagGuard::new("smoke");
    let run = smoke(&tag, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
    assert_eq!(run.json["success"], true);
    assert_eq!(run.str("imageId"), image_id(&tag.0));
    assert!(run.str("url").starts_with(&format!("http://{}:", published_host())), "{}", run.json);
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
    // The service ended on SIGTERM: the engine did not have to kill it.
    assert_eq!(run.json["stopExitCode"], 0, "{}", run.json);
    let ours = docker_ok(&["ps", "--all", "--filter", "label=dev.xtask.task=smoke", "--quiet"]);
    assert_eq!(ours, "", "smoke left a container behind");
}

pub fn an_app_that_raises_at_import_fails_fast_with_its_traceback() {
    let tag = TagGuard::new("raises");
    build_fixture("import_error", &tag);
    let run = smoke(&tag, &["--no-build".into()]);
    assert_eq!(run.code, 1, "{}", run.json);
    let message = run.str("message");
    // The exit, not the readiness timeout, ended the wait.
    assert!(message.contains("The container exited with code 1 before it answered"), "{message}");
    assert!(message.contains("RuntimeError: fixture: the service fails at import"), "{message}");
}

pub fn an_unhealthy_app_fails_with_the_status() {
    let tag = TagGuard::new("unhealthy");
    build_fixture("health_500", &tag);
    let run = smoke(&tag, &["--no-build".into()]);
    assert_eq!(run.code, 1, "{}", run.json);
    assert!(run.str("message").starts_with("Not every path answered 200: GET /health 500, GET / 200."), "{}", run.json);
    assert_eq!(run.json["checks"][0]["status"], 500);
    assert_eq!(run.json["checks"][0]["ok"], false);
}

pub fn a_signal_during_the_wait_removes_the_container() {
    let tag = TagGuard::new("signalled");
    build_fixture("silent_port", &tag);
    for name in ["INT", "TERM"] {
        let (child, started) = spawn_xtask(&["smoke", "--no-build", "--tag", &tag.0, "--timeout", "60"], &[]);
        let pid = child.id();
        wait_for_container(pid);
        let signalled = Instant::now();
        signal(pid, name);
        let run = finish((child, started));
        // The shell's convention: 128 + the signal's number.
        assert_eq!(run.code, if name == "INT" { 130 } else { 143 }, "SIG{name}: {}", run.json);
        assert!(run.str("message").starts_with("Interrupted by a signal"), "SIG{name}: {}", run.json);
        assert!(signalled.elapsed() < Duration::from_secs(5), "SIG{name}: took {:?} to end", signalled.elapsed());
        assert_eq!(containers_of(pid), Vec::<String>::new(), "SIG{name} left a container");
    }
}

pub fn four_smokes_at_once_all_pass() {
    let tag = TagGuard::new("parallel");
    let hello = copy_of_build_context(&[]);
    let runs: Vec<_> = (0..4).map(|_| spawn_task_in("smoke", &hello, &tag.0, &[], &[])).collect();
    let runs: Vec<Run> = runs.into_iter().map(finish).collect();
    let mut urls: Vec<&str> = runs.iter().map(|run| run.str("url")).collect();
    for run in &runs {
        assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
    }
    urls.sort();
    urls.dedup();
    assert_eq!(urls.len(), 4, "each run has a port of its own");
}

pub fn run_serves_until_stop() {
    let tag = TagGuard::new("run");
    let hello = copy_of_build_context(&[]);
    let run = task_in("run", &hello, &tag.0, &[], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
    let container = ContainerGuard(run.str("containerId").to_string());
    let url = run.str("url");
    let port = url.rsplit(':').next().unwrap();
    assert_eq!(
        docker_ok(&["port", &container.0, "8000/tcp"]),
        format!("{}:{port}", published_host()),
        "published on the engine's host address only"
    );
    assert_eq!(http_status(port, "/health"), Some(200), "the reported URL answers from here");

    // A busy port is known beforehand only on this machine's engines.
    if published_host() == "127.0.0.1" {
        let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let busy_port = busy.local_addr().unwrap().port().to_string();
        let refused = task_in("run", &hello, &tag.0, &["--port", &busy_port], &[]);
        assert_eq!(refused.code, 1);
        let message = refused.str("message");
        assert!(message.starts_with(&format!("Port {busy_port} on 127.0.0.1 is busy.")), "{}", refused.json);
    }

    let name = docker_ok(&["container", "inspect", "--format", "{{.Name}}", &container.0]);
    // Only this test's containers: a developer's own `run` stays up.
    let stopped = xtask(&["stop", "--tag", &tag.0]);
    assert_eq!(stopped.code, 0, "{}", stopped.json);
    let removed = stopped.json["removed"].as_array().unwrap();
    assert!(removed.iter().any(|n| n.as_str() == Some(name.trim_start_matches('/'))), "{}", stopped.json);
    assert_eq!(docker_ok(&["ps", "--all", "--quiet", "--filter", &format!("id={}", container.0)]), "");
}

pub fn our_dockerfile_and_image_have_nothing_to_fix() {
    let tag = TagGuard::new("lint");
    let run = task_in("lint", &copy_of_build_context(&[]), &tag.0, &[], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
    assert_eq!(run.json["findings"], serde_json::json!([]), "{}", run.json);
    assert_eq!(run.json["summary"]["errors"], 0);
    assert_eq!(run.json["summary"]["image"], tag.0.as_str());
}
