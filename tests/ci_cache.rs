//! The CI cache recipe on a fresh remote engine, with the builder of the
//! Docker leg it runs in (CI runs it once with each). The engine, in a
//! network namespace of this test's own, holds only the offline bases.

mod common;

use common::{remote_host::RemoteHost, tools_on_path};

/// The CI cache recipe, proven on an engine whose store holds only the
/// offline bases: `push --cache` publishes the image and its builder
/// stage's cache; after an edit to the app, a build with `--cache-from`
/// takes the pip step from the registry. With this leg's builder: CI runs
/// it once with each (DOCKER_BUILDKIT).
#[test]
fn a_fresh_engine_builds_from_the_registry_s_cache() {
    if !tools_on_path(&["ip", "iptables", "nsenter", "dockerd", "docker-registry"], "registry cache") {
        return;
    }
    let Some(_docker) = common::docker_test() else { return };
    let (host, registry) = RemoteHost::start_with_registry();
    let docker_host = host.docker_host();
    let on_host = |args: &[&str]| common::docker_ok(&[&["--host", docker_host.as_str()][..], args].concat());
    // Empties the engine's store but for the offline bases.
    let make_fresh = || {
        let images = on_host(&["image", "ls", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]);
        let ours: Vec<&str> =
            images.lines().filter(|l| !l.starts_with("xtask-standin/")).filter_map(|l| l.split(' ').nth(1)).collect();
        if !ours.is_empty() {
            on_host(&[&["image", "rm", "--force"][..], &ours].concat());
        }
        on_host(&["builder", "prune", "--all", "--force"]);
    };
    let builder = if common::buildkit() { "1" } else { "0" };
    let env = [("DOCKER_HOST", docker_host.as_str()), ("DOCKER_BUILDKIT", builder)];
    let context = common::copy_of_build_context(&[]);
    let tag = format!("xtask-test/cache-{builder}:t");
    make_fresh();
    let cold = common::task_in("image", &context, &tag, &[], &env);
    assert_eq!(cold.code, 0, "{}\n{}", cold.json, cold.stderr);
    let pushed = common::task_in("push", &context, &tag, &["--registry", &registry.address, "--cache"], &env);
    assert_eq!(pushed.code, 0, "{}\n{}", pushed.json, pushed.stderr);
    let reference = pushed.str("reference").to_string();
    assert_eq!(pushed.json["verified"], false, "the registry is on the engine's loopback: {}", pushed.json);
    assert_eq!(pushed.json["cache"], serde_json::json!([format!("{reference}-cache-builder")]), "{}", pushed.json);

    make_fresh();
    let app = std::fs::read_to_string(context.path().join("app/main.py")).unwrap();
    context.write("app/main.py", &format!("{app}\n# edited\n"));
    let cached = common::task_in("image", &context, &tag, &["--cache-from", &reference], &env);
    assert_eq!(cached.code, 0, "{}\n{}", cached.json, cached.stderr);
    assert!(
        !cached.stderr.contains("Collecting fastapi"),
        "DOCKER_BUILDKIT={builder}: pip ran again:\n{}",
        cached.stderr
    );
    eprintln!(
        "DOCKER_BUILDKIT={builder}: fresh engine, cold {:.1} s; app edited, cache from the registry {:.1} s ({:.0} %)",
        cold.took.as_secs_f64(),
        cached.took.as_secs_f64(),
        100.0 * cached.took.as_secs_f64() / cold.took.as_secs_f64()
    );
}
