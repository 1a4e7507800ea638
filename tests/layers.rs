//! `cargo xtask layers` on our image and on the beginner's naive one.

mod common;

use common::*;

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
    // The base's own waste (offline, the builder's apt layer rewrites
    // debconf's cache) may rank first; the claim is about the Dockerfile's.
    let wasted = run.json["wasted"].as_array().unwrap();
    let late = wasted.iter().find(|w| w["path"].as_str().unwrap().contains("__pycache__"));
    let late = late.unwrap_or_else(|| panic!("no __pycache__ among the waste: {wasted:?}"));
    assert_eq!(late["hiddenBy"].as_u64().unwrap() as usize, last, "the late clean-up hides them: {late}");
}

/// `layers --run` on an app that crashes at import fails, and its build is
/// not tagged: the tag only ever names what passed.
#[test]
fn layers_of_an_app_that_crashes_move_no_tag() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("layers-crash");
    let run = task_in("layers", &fixture_context("import_error"), &tag.0, &["--run"], &[]);
    assert_failed(&run, "exited with code 1 before it answered");
    assert!(docker(&["image", "inspect", &tag.0]).status.code() != Some(0), "the crashing build was tagged");
}
