//! `cargo xtask bench` runs end to end once and cleans up after itself.
//! It asserts no speed: the figures are for people to read.

mod common;

use common::*;

fn dangling() -> Vec<String> {
    let listed = docker_ok(&["image", "ls", "--quiet", "--no-trunc", "--filter", "dangling=true"]);
    listed.lines().map(str::to_string).collect()
}

/// Two benches at once, as two CI jobs on one engine run them: each
/// reports every figure, and neither disturbs the other.
#[test]
fn two_bench_runs_at_once_report_every_figure_and_leave_nothing() {
    let Some(_docker) = docker_test() else { return };
    let before = dangling();
    let out = TempDir::new("bench");
    let tables: Vec<_> = (0..2).map(|i| out.path().join(format!("bench-{i}.md"))).collect();
    let spawned: Vec<_> = tables
        .iter()
        .map(|table| spawn_xtask(&["bench", "--runs", "1", "--markdown", table.to_str().unwrap()], &[]))
        .collect();
    for (run, table) in spawned.into_iter().map(finish).zip(&tables) {
        assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
        check_figures(&run, table);
    }

    assert_eq!(docker_ok(&["ps", "--all", "--quiet", "--filter", "label=dev.xtask.task=bench"]), "");
    let left: Vec<String> = dangling().into_iter().filter(|id| !before.contains(id)).collect();
    assert_eq!(left, Vec::<String>::new(), "the bench left untagged images");
    let tags = docker_ok(&["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "xtask-bench/fastapi-server"]);
    assert_eq!(tags, "", "the bench left its image");
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
