//! `cargo xtask image` on a real engine, and its answers to bad input
//! that reaches the engine (the command line's own mistakes: tests/cli.rs).

mod common;

use common::*;

/// Builds the project's Dockerfile, with the fixture app, under a tag of the test's own.
fn build(tag: &TagGuard) -> Run {
    let run = image_from(&copy_of_build_context(&[]), &tag.0);
    assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
    run
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
    assert_refused(&["image"], &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")], 1, "No Docker engine answers");
}

#[test]
fn an_unpullable_base_points_to_offline_mode() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("pull");
    // An image no registry has, so that the test never pulls anything.
    let base = "--build-arg=BUILDER_IMAGE=xtask-test/no-such-base:none";
    assert_refused(&["image", "--tag", &tag.0, base], &[("XTASK_OFFLINE", "0")], 1, "could not be pulled");
}

/// Offline, `--python` picks the Debian release that carries it, and the
/// report names the Python the image runs; a pyproject.toml that asks for
/// a Python the image would not have is refused before anything is built.
#[test]
fn the_python_asked_for_is_the_python_built_on() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("python");
    let context = copy_of_build_context(&[]);
    context.write("pyproject.toml", "[project]\nname = \"hello\"\nrequires-python = \">=3.12\"\n");
    let refused = task_in("image", &context, &tag.0, &[], &[]);
    assert_failed(&refused, "asks for Python >=3.12 (requires-python), and the image's would be 3.11");
    let unknown = task_in("image", &context, &tag.0, &["--python", "3.10"], &[]);
    assert_eq!(unknown.code, 2, "{}", unknown.json);
    assert!(unknown.str("message").contains("Python 3.10 has no stand-in"), "{}", unknown.json);
    let built = task_in("image", &context, &tag.0, &["--python", "3.13"], &[]);
    assert_eq!(built.code, 0, "{}\n{}", built.json, built.stderr);
    assert!(built.str("message").contains("xtask-standin/python:trixie-slim (Python 3.13."), "{}", built.json);
}

/// A service that keeps its requirements as uv or poetry keep them (a
/// pyproject.toml and a lock, no list) builds with files only: the tool
/// makes docker/libraries.list with the lock's own tool, without the dev
/// group, and says so. A list whose markers leave out every package on the
/// image's Python is refused before the build, and its lines that pin
/// nothing are named.
#[test]
fn a_lock_file_makes_the_libraries_list() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("locked");
    for (tool, lock) in [("uv", "uv.lock"), ("poetry", "poetry.lock")] {
        let context = copy_of_build_context(&["docker/libraries.list"]);
        for file in ["pyproject.toml", lock] {
            std::fs::copy(root().join("tests/fixtures/locked").join(tool).join(file), context.path().join(file))
                .unwrap();
        }
        let run = image_from(&context, &tag.0);
        assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
        assert!(run.stderr.contains(&format!("{lock} with `{tool} export`.")), "{}", run.stderr);
        let list = std::fs::read_to_string(context.path().join("docker/libraries.list")).unwrap();
        assert!(list.starts_with(&format!("# Made by `cargo xtask` from {lock} (")), "{list}");
        assert!(list.contains("fastapi==0.115.6") && !list.contains("pytest"), "{list}");
    }

    let context = copy_of_build_context(&[]);
    context.write(
        "docker/libraries.list",
        "fastapi ; python_version >= \"3.14\"\nuvicorn==0.32.1 ; python_version >= \"3.14\"\n",
    );
    let refused = image_from(&context, &tag.0);
    assert_failed(&refused, "On the image's Python 3.11, pip would skip every line of");
    assert!(
        refused.stderr.contains("pins no version on line 1 `fastapi ; python_version >= \"3.14\"`"),
        "{}",
        refused.stderr
    );
}
