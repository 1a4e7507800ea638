//! `cargo xtask image` on a real engine, and its answers to bad input.

mod common;

use common::*;

/// Builds the project's Dockerfile, with the fixture app, under a tag of the test's own.
fn build(tag: &TagGuard) -> Run {
    let run = image_from(&copy_of_build_context(&[]), &tag.0);
    assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
    run
}

#[test]
fn the_report_matches_the_engine_s_inspect() {
    let Some(_docker) = docker_test() else { return };
    engine_suite::the_report_matches_the_engine_s_inspect();
}

#[test]
fn a_missing_libraries_list_fails_and_keeps_the_old_image() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("keep");
    let before = build(&tag).str("imageId").to_string();
    let context = copy_of_build_context(&["docker/libraries.list"]);
    let run = image_from(&context, &tag.0);
    assert_ne!(run.code, 0);
    assert_eq!(run.json["success"], false);
    assert!(
        run.str("message").starts_with("The Dockerfile copies `docker/libraries.list`, but the build context"),
        "{}",
        run.json
    );
    assert_eq!(image_id(&tag.0), before, "a failed build must not move the tag");
}

#[test]
fn a_package_that_does_not_exist_is_named() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("nopkg");
    let before = build(&tag).str("imageId").to_string();
    let context = copy_of_build_context(&[]);
    context.write("docker/libraries.list", "no-such-package-for-xtask-tests==9.9.9\n");
    let run = image_from(&context, &tag.0);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.str("message"),
        "pip found no `no-such-package-for-xtask-tests==9.9.9` on the package index: check that name and version in libraries.list."
    );
    assert_eq!(image_id(&tag.0), before);
}

#[test]
fn the_image_serves_health_as_a_non_root_user_and_ends_on_sigterm() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("serve");
    build(&tag);
    let name = unique("xtask-test-serve");
    let container = ContainerGuard(name.clone());
    docker_ok(&["run", "--detach", "--name", &container.0, "--publish", "127.0.0.1::8000", &tag.0]);
    let port = wait_until_healthy(&name);
    assert_eq!(http_status(&port, "/"), Some(200));

    assert_eq!(docker_ok(&["exec", &name, "id", "-u"]), "10001");
    let user = docker_ok(&["image", "inspect", "--format", "{{.Config.User}}", &tag.0]);
    assert!(!matches!(user.as_str(), "" | "root" | "0" | "0:0"), "the image's user is {user:?}");

    // PID 1 is the service, so SIGTERM reaches it and it ends by itself;
    // the engine's SIGKILL at the end of the grace time would give 137.
    docker_ok(&["stop", &name]);
    assert_eq!(docker_ok(&["container", "inspect", "--format", "{{.State.ExitCode}}", &name]), "0");
}

#[test]
fn only_the_allow_listed_files_reach_the_image() {
    let Some(_docker) = docker_test() else { return };
    let context = copy_of_build_context(&[]);
    for junk in [
        ".env",
        "target/debug/junk",
        ".git/HEAD",
        "app/tests/test_main.py",
        "app/.env",
        "README.md",
        "app/__pycache__/main.cpython-311.pyc",
    ] {
        context.write(junk, "junk\n");
    }
    let tag = TagGuard::new("allow");
    let run = image_from(&context, &tag.0);
    assert_eq!(run.code, 0, "{}", run.json);
    let files = docker_ok(&["run", "--rm", "--entrypoint", "find", &tag.0, "/srv/app", "-mindepth", "1"]);
    assert_eq!(files, "/srv/app/main.py");
}

/// Bad input: a clear message, success false, a non-zero exit, valid JSON.
fn assert_refused(args: &[&str], env: &[(&str, &str)], code: i32, says: &str) {
    let run = xtask_with(args, env);
    assert_eq!(run.code, code, "{args:?}: {}", run.json);
    assert_eq!(run.json["success"], false);
    assert_eq!(run.json["imageId"], "");
    assert!(run.str("message").contains(says), "{args:?}: {}", run.json);
}

#[test]
fn bad_input_is_named() {
    assert_refused(&["image", "--dockerfile", "no/such/Dockerfile"], &[], 1, "no/such/Dockerfile does not exist");
    assert_refused(&["image", "--context", "docker/Dockerfile"], &[], 1, "docker/Dockerfile is not a directory");
    assert_refused(
        &["image", "--build-arg", "NOEQUALS"],
        &[],
        2,
        "`--build-arg NOEQUALS` must have the form KEY=VALUE",
    );
    assert_refused(&["image", "--tag", "Not:A:Tag"], &[], 2, "`Not:A:Tag` is not a valid image tag");
    assert_refused(&["image", "--no-such-flag"], &[], 2, "`--no-such-flag` is not a flag of `cargo xtask image`");
    assert_refused(&["image"], &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")], 1, "No Docker engine answers");
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
    for (task, flag) in [("image", "--build-arg KEY=VALUE"), ("stop", "--all"), ("smoke", "--timeout SECS")] {
        for help in ["--help", "-h"] {
            let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask")).args([task, help]).output().unwrap();
            let text = String::from_utf8_lossy(&output.stdout);
            assert!(output.status.success(), "{task} {help}");
            assert!(text.starts_with(&format!("cargo xtask {task}: ")) && text.contains(flag), "{task} {help}: {text}");
        }
    }
}

#[test]
fn an_unpullable_base_points_to_offline_mode() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("pull");
    // An image no registry has, so that the test never pulls anything.
    let base = "--build-arg=BUILDER_IMAGE=xtask-test/no-such-base:none";
    assert_refused(&["image", "--tag", &tag.0, base], &[("XTASK_OFFLINE", "0")], 1, "could not be pulled");
}

/// `layers`: our image wastes nothing and its container writes nothing;
/// the naive image's late clean-up shows as waste.
#[test]
fn layers_show_the_naive_image_s_waste_and_none_in_ours() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("layers");
    let ours = task_in("layers", &copy_of_build_context(&[]), &tag.0, &["--run"], &[]);
    assert_eq!(ours.code, 0, "{}\n{}", ours.json, ours.stderr);
    assert!(ours.json["efficiency"].as_f64().unwrap() >= 0.99, "{}", ours.json);
    assert_eq!(ours.json["writable"]["bytes"], 0, "{}", ours.json);
    let layers = ours.json["layers"].as_array().unwrap();
    assert_eq!(layers[0]["origin"], "base", "{}", ours.json);
    assert_eq!(layers.last().unwrap()["origin"], "dockerfile");
    assert!(layers.last().unwrap()["instruction"].as_str().unwrap().starts_with("COPY"), "{}", ours.json);
    let sum: u64 = layers.iter().map(|l| l["bytes"].as_u64().unwrap()).sum();
    assert_eq!(ours.json["totals"]["bytes"].as_u64().unwrap(), sum);
    assert!(ours.stderr.contains("efficiency"), "a table on stderr: {}", ours.stderr);

    let naive = naive_context();
    let tag = TagGuard::new("naive-layers");
    let dockerfile = naive.path().join("Dockerfile");
    let args = ["layers", "--tag", &tag.0, "--context", naive.str(), "--dockerfile", dockerfile.to_str().unwrap()];
    let run = xtask(&args);
    assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
    assert!(run.json["wastedBytes"].as_u64().unwrap() > 1 << 20, "{}", run.json["wastedBytes"]);
    assert!(run.json["efficiency"].as_f64().unwrap() < 0.99);
    let last = run.json["layers"].as_array().unwrap().len() - 1;
    assert_eq!(run.json["wasted"][0]["hiddenBy"].as_u64().unwrap() as usize, last, "the late clean-up hides them");
    assert!(run.json["wasted"][0]["path"].as_str().unwrap().contains("__pycache__"), "{}", run.json["wasted"][0]);
}
