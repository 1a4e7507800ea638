//! `cargo xtask push` against a real registry (Debian's docker-registry,
//! the CNCF distribution 2.8) on 127.0.0.1: the push verified with the
//! registry's own API, the round trip back by digest, and the ways a push
//! is refused.

mod common;

use std::{io::Write, process::Stdio};

use common::{registry::*, *};

fn registry_test() -> bool {
    tools_on_path(&["docker-registry"], "registry")
}

#[test]
fn a_pushed_image_is_verified_and_comes_back_by_digest() {
    let Some(_docker) = docker_test() else { return };
    if !registry_test() {
        return;
    }
    let registry = Registry::start("127.0.0.1", false);
    let tag = TagGuard::new("push");
    let hello = copy_of_build_context(&[]);
    let pushed = task_in("push", &hello, &tag.0, &["--registry", &registry.address], &[]);
    assert_eq!(pushed.code, 0, "{}\n{}", pushed.json, pushed.stderr);
    let reference = pushed.str("reference").to_string();
    let _pushed_tag = TagGuard(reference.clone());
    assert_eq!(reference, format!("{}/{}", registry.address, tag.0));
    assert_eq!(pushed.json["verified"], true, "{}", pushed.json);
    let digest = pushed.str("digest").to_string();
    assert!(digest.starts_with("sha256:"), "{digest}");
    let id = pushed.str("imageId").to_string();

    // Gone from here, back by digest: the same image, and it serves.
    docker_ok(&["image", "rm", &tag.0, &reference]);
    assert!(!docker(&["image", "inspect", &id]).status.success(), "the local image is gone");
    let by_digest = format!("{}@{digest}", reference.rsplit_once(':').unwrap().0);
    let _pulled = TagGuard(by_digest.clone());
    docker_ok(&["pull", &by_digest]);
    assert_eq!(image_id(&by_digest), id, "the pulled image is the pushed one");
    docker_ok(&["tag", &by_digest, &tag.0]);
    let served = xtask(&["smoke", "--no-build", "--tag", &tag.0]);
    assert_eq!(served.code, 0, "{}\n{}", served.json, served.stderr);
}

#[test]
fn a_push_is_refused_in_one_sentence_and_nothing_half_pushed_is_reported() {
    let Some(_docker) = docker_test() else { return };
    if !registry_test() {
        return;
    }
    let tag = TagGuard::new("refused");
    let hello = copy_of_build_context(&[]);
    let push = |registry: &str, extra: &[&str], env: &[(&str, &str)]| {
        task_in("push", &hello, &tag.0, &[&["--registry", registry][..], extra].concat(), env)
    };

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let down = push(&format!("127.0.0.1:{closed}"), &[], &[]);
    assert_eq!(down.code, 1, "{}", down.json);
    assert!(down.str("message").contains("does not answer"), "{}", down.json);
    assert!(down.json.get("reference").is_none() && down.json["verified"] == false);

    let bad = push("http://127.0.0.1:5000", &[], &[]);
    assert_eq!(bad.code, 2, "{}", bad.json);
    assert!(bad.str("message").contains("is not a registry: give no scheme"), "{}", bad.json);
    let missing = xtask(&["push", "--tag", &tag.0]);
    assert_eq!(missing.code, 2, "{}", missing.json);

    // Something that is not a registry: asked before the build, one
    // sentence, a bounded wait, no tag moved and none left behind.
    let not_found = answering("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    let silent = answering("");
    for (address, says) in [
        (not_found, "answers HTTP but is not a container registry: GET /v2/ answered 404"),
        (silent, "accepts connections but gave no HTTP answer to GET /v2/ within 5 s"),
    ] {
        let refused = push(&address, &[], &[]);
        assert_eq!(refused.code, 1, "{}", refused.json);
        assert!(refused.str("message").contains(says), "{}", refused.json);
        assert!(refused.took < std::time::Duration::from_secs(20), "{:?}", refused.took);
        assert_nothing_tagged(&tag.0, &address);
    }

    let guarded = Registry::start("127.0.0.1", true);
    let login = push(&guarded.address, &[], &[]);
    assert_eq!(login.code, 1, "{}", login.json);
    let expected = format!("The registry {0} needs a login: run `docker login {0}`, then push again.", guarded.address);
    assert!(login.str("message").contains(&expected), "{}", login.json);
    assert_nothing_tagged(&tag.0, &guarded.address);

    // Logged in (into a config of the test's own), the push is verified
    // with the same credentials; their value is never printed.
    let config = TempDir::new("docker-config");
    let mut docker_login = std::process::Command::new(engine())
        .args(["--config", config.str(), "login", &guarded.address, "--username", USER, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    docker_login.stdin.take().unwrap().write_all(PASSWORD.as_bytes()).unwrap();
    assert!(docker_login.wait().unwrap().success());
    let logged_in = push(&guarded.address, &[], &[("DOCKER_CONFIG", config.str())]);
    assert_eq!(logged_in.code, 0, "{}\n{}", logged_in.json, logged_in.stderr);
    let _pushed = TagGuard(logged_in.str("reference").to_string());
    assert_eq!(logged_in.json["verified"], true, "{}", logged_in.json);
    assert!(!format!("{}{}", logged_in.json, logged_in.stderr).contains(PASSWORD));

    // --smoke: an image that fails its checks is not pushed.
    let registry = Registry::start("127.0.0.1", false);
    let unhealthy = TagGuard::new("unhealthy-push");
    let broken = fixture_context("health_500");
    let refused = task_in("push", &broken, &unhealthy.0, &["--registry", &registry.address, "--smoke"], &[]);
    assert_eq!(refused.code, 1, "{}", refused.json);
    assert!(refused.str("message").starts_with("The smoke checks failed, so nothing was pushed: "), "{}", refused.json);
    let (name, tag_name) = unhealthy.0.rsplit_once(':').unwrap();
    assert_eq!(registry.status(&format!("/v2/{name}/manifests/{tag_name}")), Some(404), "nothing reached the registry");
}

/// Neither `tag` nor its `registry/…` tag names an image: a refused push
/// moved and left no tag.
fn assert_nothing_tagged(tag: &str, registry: &str) {
    for reference in [tag.to_string(), format!("{registry}/{tag}")] {
        assert!(docker(&["image", "inspect", &reference]).status.code() != Some(0), "{reference} was tagged");
    }
}

/// A server on 127.0.0.1 that answers every connection with `answer` (and
/// keeps it open, unanswered, when that is empty), for the test's life.
fn answering(answer: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for mut stream in listener.incoming().flatten() {
            let _ = stream.write_all(answer.as_bytes());
            held.push(stream);
        }
    });
    address
}

/// A signal in the middle of the push itself (the upload hangs, as it does
/// on a slow network): the push stops, the exit code says which signal,
/// the local tag never moved to the new build, and no `HOST/NAME` tag is
/// left; nothing reached the registry.
#[test]
fn a_signal_during_the_upload_moves_no_tag_and_leaves_none() {
    let Some(_docker) = docker_test() else { return };
    if !registry_test() {
        return;
    }
    let registry = Registry::start("127.0.0.1", false);
    let proxy = StallingProxy::start(&registry.address, 512 * 1024);
    let tag = TagGuard::new("push-signal");
    let context = copy_of_build_context(&[]);
    let (mut child, started) = spawn_task_in("push", &context, &tag.0, &["--registry", &proxy.address], &[]);
    // Read all along: the build's output would fill the pipe and stall the xtask.
    let mut stderr = child.stderr.take().unwrap();
    let said = std::thread::spawn(move || {
        let mut said = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut said);
        said
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while !proxy.stalled() {
        if child.try_wait().unwrap().is_some() {
            let run = finish((child, started));
            panic!("the push ended before its upload: {}\n{}", run.json, said.join().unwrap());
        }
        assert!(std::time::Instant::now() < deadline, "the push never reached its upload");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    signal(child.id(), "TERM");
    let mut run = finish((child, started));
    run.stderr = said.join().unwrap();
    assert_eq!(run.code, 143, "{}\n{}", run.json, run.stderr);
    assert!(run.str("message").starts_with("Interrupted by a signal (SIGTERM)"), "{}", run.json);
    assert!(run.str("message").contains(&format!("{} names no image, as before", tag.0)), "{}", run.json);
    assert_nothing_tagged(&tag.0, &proxy.address);
    let (name, tag_name) = tag.0.rsplit_once(':').unwrap();
    assert_eq!(registry.status(&format!("/v2/{name}/manifests/{tag_name}")), Some(404), "nothing was pushed");
}
