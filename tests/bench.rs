//! `cargo xtask bench` runs end to end once and cleans up after itself.
//! It asserts no speed: the figures are for people to read.

mod common;

use common::{checkout::Checkout, *};
use xtask::model::build_output::stage_tops_made;
use xtask::sys::files::copy_tree;

fn dangling() -> Vec<String> {
    let listed = docker_ok(&["image", "ls", "--quiet", "--no-trunc", "--filter", "dangling=true"]);
    listed.lines().map(str::to_string).collect()
}

/// Two CI jobs on one engine, each in a checkout of its own: one benches
/// while the other smokes its service. Each passes; the bench reports
/// every figure and leaves nothing; and the other checkout's tag, image
/// and cache (its builder stage, on the legacy builder) are as it left
/// them.
#[test]
fn a_bench_and_a_smoke_in_two_checkouts_at_once_leave_each_other_alone() {
    let Some(_docker) = docker_test() else { return };
    let benching = Checkout::copy("benching");
    let smoking = benching.another("smoking");
    // The smoking checkout serves a fixture app, as every test does, and its
    // libraries.list has a line of its own, as another project's would:
    // the legacy builder takes the newest image of a step as its cache, so
    // a build of the very same list may stand on a builder stage that the
    // bench just made, which the bench removes as its own when it ends.
    std::fs::remove_dir_all(smoking.dir().path().join("app")).unwrap();
    copy_tree(&root().join("tests/fixtures/hello"), &smoking.dir().path().join("app")).unwrap();
    let own_line = format!("# {}", unique("smoking-checkout"));
    smoking.dir().edit("docker/libraries.list", |list| format!("{list}{own_line}\n"));
    let tag = TagGuard::new("smoking-checkout");
    let before = dangling();

    let table = benching.dir().path().join("bench.md");
    let bench = benching.spawn(&["bench", "--runs", "1", "--markdown", table.to_str().unwrap()], &[]);
    let smoke = smoking.spawn(&["smoke", "--tag", &tag.0], &[]);
    // Both at once, each read to its end: a full pipe would stall either.
    let bench = std::thread::spawn(move || finish(bench));
    let smoke = finish(smoke);
    let bench = bench.join().unwrap();
    assert_eq!(smoke.code, 0, "{}\n{}", smoke.json, smoke.stderr);
    assert_eq!(bench.code, 0, "{}\n{}", bench.json, bench.stderr);
    check_figures(&bench, &table);

    let image = smoke.str("imageId");
    assert_eq!(image_id(&tag.0), image, "the bench moved the other checkout's tag");
    // Every image the other checkout's build made is still there: its own,
    // and (on the legacy builder) its builder stage, the cache of its next
    // build. Its build output names them as the bench reads its own.
    for made in stage_tops_made(&smoke.stderr).iter().map(String::as_str).chain([image]) {
        assert!(docker(&["image", "inspect", made]).status.success(), "the bench removed {made}, the other's work");
    }

    assert_eq!(docker_ok(&["ps", "--all", "--quiet", "--filter", "label=dev.xtask.task=bench"]), "");
    let tags = docker_ok(&["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "xtask-bench/fastapi-server"]);
    assert_eq!(tags, "", "the bench left its image");
    // What is left untagged is the other checkout's builder stage (the
    // legacy builder's), which holds its own libraries.list.
    for left in dangling().into_iter().filter(|id| !before.contains(id)) {
        let list = docker(&["run", "--rm", "--entrypoint", "cat", &left, "/app/libraries.list"]).stdout;
        assert!(String::from_utf8_lossy(&list).contains(&own_line), "the bench left the untagged image {left}");
    }
}

fn check_figures(run: &Run, table: &std::path::Path) {
    let json = &run.json;
    let scenarios: Vec<&str> =
        json["build"].as_array().unwrap().iter().map(|b| b["scenario"].as_str().unwrap()).collect();
    assert_eq!(scenarios, ["cold (--no-cache)", "warm, one app file edited", "no-op rebuild", "libraries.list edited"]);
    for figure in json["build"].as_array().unwrap() {
        for way in ["xtaskMs", "binaryMs", "dockerMs"] {
            assert!(figure[way]["median"].as_f64().unwrap() > 0.0, "{way} in {figure}");
        }
    }
    for field in ["finalBytes", "runtimeBaseBytes", "payloadBytes", "naiveBytes"] {
        assert!(json["size"][field].as_u64().unwrap() > 0, "{field}");
    }
    assert!(json["size"]["naiveBytes"].as_u64() > json["size"]["finalBytes"].as_u64());
    assert!(json["context"]["bytesWithJunk"].as_u64().unwrap() < 1 << 20, "target/ must not reach the engine");
    for field in ["readyMs", "stopMs", "shellFormStopMs"] {
        assert!(json["lifecycle"][field]["median"].as_f64().unwrap() > 0.0, "{field}");
    }

    let markdown = std::fs::read_to_string(table).unwrap();
    assert!(markdown.contains("| no-op rebuild |"), "{markdown}");
    assert!(run.stderr.contains("| waste ratio (added ÷ payload) |"), "the table goes to stderr too");
}

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
