//! Bad input and edge cases, as a new user meets them: a clear message, a
//! non-zero exit, one valid JSON document, nothing that existed before
//! lost, nothing secret printed. The Docker cases run under whichever
//! builder this leg of the suite uses; `.ci/run` runs both.

mod common;

use std::{process::Command, thread, time::Duration};

use common::*;

const MARKER: &str = "XTASKMARKER7319";

/// `run` printed no build-arg, env or secret value.
fn assert_no_marker(run: &Run) {
    assert!(!run.json.to_string().contains(MARKER), "stdout shows the secret: {}", run.json);
    assert!(!run.stderr.contains(MARKER), "stderr shows the secret:\n{}", run.stderr);
}

fn builds(tag: &TagGuard) -> String {
    let run = image_from(&copy_of_build_context(&[]), &tag.0);
    assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
    run.str("imageId").to_string()
}

#[test]
fn build_arg_values_are_never_printed() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("marker");
    let secret_arg = format!("--build-arg=API_TOKEN={MARKER}");
    let hello = copy_of_build_context(&[]);
    let passed = task_in("image", &hello, &tag.0, &[&secret_arg], &[]);
    assert_eq!(passed.code, 0, "{}\n{}", passed.json, passed.stderr);
    assert!(passed.stderr.contains("--build-arg API_TOKEN=***"), "the key is shown, masked:\n{}", passed.stderr);
    assert_no_marker(&passed);

    let context = copy_of_build_context(&["docker/libraries.list"]);
    let failed = task_in("image", &context, &tag.0, &[&secret_arg], &[]);
    assert_failed(&failed, "docker/libraries.list");
    assert_no_marker(&failed);

    // Through cargo, as a person types it: cargo must not echo the command line.
    let dockerfile = hello.path().join("docker/Dockerfile");
    let through_cargo = Command::new("cargo")
        .args(["xtask", "image", "--tag", &tag.0, &secret_arg, "--context", hello.str()])
        .arg("--dockerfile")
        .arg(dockerfile)
        .current_dir(root())
        .env("XTASK_OFFLINE", "1")
        .output()
        .unwrap();
    assert!(through_cargo.status.success(), "{}", String::from_utf8_lossy(&through_cargo.stderr));
    for stream in [&through_cargo.stdout, &through_cargo.stderr] {
        assert!(!String::from_utf8_lossy(stream).contains(MARKER), "cargo xtask printed the secret");
    }

    // No docker on PATH: the sentence, not the command line.
    let no_client = task_in("image", &hello, &tag.0, &[&secret_arg], &[("PATH", "/nonexistent")]);
    assert_failed(&no_client, "client is not installed");
    assert_no_marker(&no_client);
}

#[test]
fn a_secret_reaches_the_build_and_no_layer_or_only_buildkit_is_asked() {
    let Some(_docker) = docker_test() else { return };
    let context = copy_of_build_context(&[]);
    let dockerfile = std::fs::read_to_string(context.path().join("docker/Dockerfile")).unwrap();
    // The step fails unless the secret is mounted, and names no value.
    let reads_secret = dockerfile.replace(
        "RUN pip install --no-cache-dir -r libraries.list",
        "RUN --mount=type=secret,id=api_token test -s /run/secrets/api_token\nRUN pip install --no-cache-dir -r libraries.list",
    );
    context.write("docker/Dockerfile", &reads_secret);
    let tag = TagGuard::new("secret");
    let secret = ["--secret", "id=api_token,env=XTASK_TEST_TOKEN"];
    let run = task_in("image", &context, &tag.0, &secret, &[("XTASK_TEST_TOKEN", MARKER)]);
    assert_no_marker(&run);
    if buildkit() {
        assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
        let history = docker_ok(&["history", "--no-trunc", &tag.0]);
        let inspect = docker_ok(&["image", "inspect", &tag.0]);
        assert!(!history.contains(MARKER) && !inspect.contains(MARKER), "the secret is in the image");
        assert!(
            !root()
                .join("target/xtask")
                .read_dir()
                .unwrap()
                .any(|f| { f.unwrap().file_name().to_string_lossy().starts_with("secret") }),
            "the secret's file is left behind"
        );
    } else {
        assert_failed(&run, "`--secret` needs BuildKit");
        assert!(docker(&["image", "inspect", &tag.0]).status.code() != Some(0), "nothing was built");
    }
}

#[test]
fn an_image_that_cannot_start_its_app_is_refused_and_the_tag_stays() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("startable");
    let before = builds(&tag);

    let syntax = fixture_context("syntax_error");
    let run = image_from(&syntax, &tag.0);
    assert_failed(&run, "The image cannot start its app main:app: main.py line 9");
    assert!(run.str("message").contains(&format!("{} still names the image it named before", tag.0)), "{}", run.json);
    assert_eq!(image_id(&tag.0), before, "a refused build must not move the tag");

    let no_server = copy_of_build_context(&[]);
    no_server.write("docker/libraries.list", "");
    let run = image_from(&no_server, &tag.0);
    assert_failed(&run, "uvicorn, the ASGI server, is not installed in the image");
    assert!(run.str("message").contains("main.py imports fastapi, which is not installed"), "{}", run.json);
    assert_eq!(image_id(&tag.0), before);
}

#[test]
fn two_builds_of_one_tag_each_report_what_the_tag_named_when_it_finished() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("twice");
    let (first, second) = (copy_of_build_context(&[]), copy_of_build_context(&[]));
    second.write("app/extra.py", "ANSWER = 42\n");
    let dockerfile = |context: &TempDir| context.path().join("docker/Dockerfile").to_str().unwrap().to_string();
    let spawned: Vec<_> = [&first, &second]
        .iter()
        .map(|context| {
            let args = ["image", "--tag", &tag.0, "--context", context.str(), "--dockerfile", &dockerfile(context)];
            spawn_xtask(&args, &[])
        })
        .collect();
    // Which one ends last decides where the tag points.
    let mut pending: Vec<_> = spawned.into_iter().map(Some).collect();
    let mut finished = Vec::new();
    while finished.len() < 2 {
        for slot in pending.iter_mut() {
            if slot.as_mut().is_some_and(|(child, _)| child.try_wait().unwrap().is_some()) {
                finished.push(finish(slot.take().unwrap()));
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
    for run in &finished {
        assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
    }
    assert_ne!(finished[0].str("imageId"), finished[1].str("imageId"), "the two contexts differ");
    assert_eq!(image_id(&tag.0), finished[1].str("imageId"), "the tag names the build that finished last");
}

/// A signal while the offline bases are being made (debootstrap, the
/// first offline run) says it was a signal, not that debootstrap failed,
/// and leaves no half-made base.
#[test]
fn a_signal_during_debootstrap_says_interrupted() {
    let Some(_docker) = docker_test() else { return };
    // A release no other test makes, so that debootstrap runs.
    let suite = [("XTASK_DEBIAN_SUITE", "bullseye")];
    let builder = || docker(&["image", "inspect", "xtask-standin/python:bullseye"]).status.success();
    let made_before = builder();
    let context = copy_of_build_context(&[]);
    let (child, started) = spawn_task_in("image", &context, "xtask-test/debootstrap:t", &[], &suite);
    thread::sleep(Duration::from_secs(4));
    signal(child.id(), "TERM");
    let run = finish((child, started));
    assert_eq!(run.code, 143, "{}\n{}", run.json, run.stderr);
    assert!(run.str("message").contains("Interrupted by a signal (SIGTERM)"), "{}", run.json);
    assert!(!run.str("message").contains("debootstrap failed"), "{}", run.json);
    assert!(made_before || !builder(), "a half-made base was left");
}

/// The image's command starts any uvicorn from 0.14 on (older than
/// 0.24, uvicorn reads no UVICORN_APP itself), as real services keep it
/// pinned in their locks: `image` builds it and `smoke` passes.
#[test]
fn an_old_uvicorn_starts() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("old-uvicorn");
    let context = copy_of_build_context(&[]);
    context.write("docker/libraries.list", "fastapi==0.115.6\nuvicorn==0.14.0\n");
    let run = task_in("smoke", &context, &tag.0, &[], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
    assert_eq!(image_id(&tag.0), run.str("imageId"));
}

/// A package with no wheel for this Python, whose build from source fails:
/// the package and the cause its build printed, not pip's footer.
#[test]
fn a_failed_source_build_names_the_package_and_the_cause() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("source-build");
    let context = copy_of_build_context(&[]);
    context.edit("docker/libraries.list", |list| format!("{list}psycopg2==2.9.9\n"));
    let run = image_from(&context, &tag.0);
    assert_failed(&run, "pip could not build psycopg2==2.9.9 from source");
    assert!(run.str("message").contains("pg_config executable not found"), "{}", run.json);
    assert!(run.str("message").contains("psycopg2-binary"), "{}", run.json);
}

#[test]
fn a_container_that_exits_at_once_says_why() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("exits");
    let no_server = copy_of_build_context(&[]);
    no_server.write("docker/libraries.list", "");
    let run = task_in("smoke", &no_server, &tag.0, &[], &[]);
    assert_failed(&run, "The container exited with code 1 before it answered. The container's last log lines:");
    assert!(run.str("message").contains("No module named 'uvicorn'"), "{}", run.json);
    assert!(docker(&["image", "inspect", &tag.0]).status.code() != Some(0), "a failed smoke tagged its build");
}

#[test]
fn no_engine_gets_one_sentence_from_every_task() {
    for task in ["image", "run", "smoke", "stop", "lint"] {
        let run =
            xtask_with(&[task, "--tag", "xtask-test/none:t"], &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")]);
        assert_failed(&run, "No Docker engine answers");
    }
}
