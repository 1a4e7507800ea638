//! `cargo xtask bench` of the builds runs end to end once, beside another
//! checkout's work on the same engine, and cleans up after itself. It
//! asserts no speed: the figures are for people to read. The stack's and
//! the dev loop's benches: tests/bench_loops.rs.

mod common;

use common::{checkout::Checkout, *};
use xtask::model::build_output::stage_tops_made;
use xtask::sys::files::copy_tree;

/// A service's list as small as a FastAPI service's can be: the bench's
/// builds install it cold three times.
const SMALL_LIST: &str = "fastapi==0.115.6\nuvicorn==0.32.1\n";

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
    // Each serves the fixture app with a small list, so that the bench's
    // cold builds take seconds, not minutes: what is proven is that the two
    // runs leave each other alone. The smoking checkout's list has a line
    // of its own, as another project's would: the legacy builder takes the
    // newest image of a step as its cache, so a build of the very same list
    // may stand on a builder stage that the bench just made, which the
    // bench removes as its own when it ends.
    let own_line = format!("# {}", unique("smoking-checkout"));
    for (checkout, list) in [(&benching, SMALL_LIST.to_string()), (&smoking, format!("{SMALL_LIST}{own_line}\n"))] {
        std::fs::remove_dir_all(checkout.dir().path().join("app")).unwrap();
        copy_tree(&root().join("tests/fixtures/hello"), &checkout.dir().path().join("app")).unwrap();
        checkout.dir().write("docker/libraries.list", &list);
    }
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
