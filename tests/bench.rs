//! `cargo xtask bench` runs end to end once and cleans up after itself.
//! It asserts no speed: the figures are for people to read.

mod common;

use common::*;

fn dangling() -> Vec<String> {
    let listed = docker_ok(&["image", "ls", "--quiet", "--no-trunc", "--filter", "dangling=true"]);
    listed.lines().map(str::to_string).collect()
}

#[test]
fn one_bench_run_reports_every_figure_and_leaves_nothing() {
    let Some(_docker) = docker_test() else { return };
    let before = dangling();
    let out = TempDir::new("bench");
    let table = out.path().join("bench.md");
    let run = xtask(&["bench", "--runs", "1", "--markdown", table.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);

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

    let markdown = std::fs::read_to_string(&table).unwrap();
    assert!(markdown.contains("| no-op rebuild |"), "{markdown}");
    assert!(run.stderr.contains("| waste ratio (added ÷ payload) |"), "the table goes to stderr too");

    assert_eq!(docker_ok(&["ps", "--all", "--quiet", "--filter", "label=dev.xtask.task=bench"]), "");
    let left: Vec<String> = dangling().into_iter().filter(|id| !before.contains(id)).collect();
    assert_eq!(left, Vec::<String>::new(), "the bench left untagged images");
    assert!(docker(&["image", "inspect", "xtask-bench/fastapi-server:latest"]).status.code() != Some(0));
}
