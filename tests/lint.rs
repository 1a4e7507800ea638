//! `cargo xtask lint` on our own files and image, and on the beginner's
//! naive Dockerfile. One fixture per custom rule is checked by the unit
//! tests of xtask/src/lint/dockerfile_rules.rs, without an engine.

mod common;

use common::*;
use serde_json::Value;

/// (rule, file's last path segment, line, path in the image) of each finding.
fn findings(run: &Run) -> Vec<(String, String, Option<u64>, Option<String>)> {
    run.json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f: &Value| {
            let file = f["file"].as_str().unwrap();
            (
                f["rule"].as_str().unwrap().to_string(),
                file.rsplit('/').next().unwrap().to_string(),
                f["line"].as_u64(),
                f["path"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn the_naive_dockerfile_shows_every_classic_mistake_at_its_line() {
    let Some(_docker) = docker_test() else { return };
    let context = naive_context();
    let tag = TagGuard::new("naive");
    let dockerfile = context.path().join("Dockerfile");
    let run =
        xtask(&["lint", "--tag", &tag.0, "--context", context.str(), "--dockerfile", dockerfile.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}\n{}", run.json, run.stderr);
    let found = findings(&run);
    let at = |rule: &str, file: &str, line: Option<u64>, path: Option<&str>| {
        (rule.to_string(), file.to_string(), line, path.map(str::to_string))
    };
    let image = tag.0.rsplit('/').next().unwrap();
    for expected in [
        at("final-stage-full-base", "Dockerfile", Some(5), None),
        at("copy-before-install", "Dockerfile", Some(7), None),
        at("pip-cache-in-final-stage", "Dockerfile", Some(8), None),
        at("root-user", "Dockerfile", Some(5), None),
        at("shell-form-command", "Dockerfile", Some(10), None),
        at("no-healthcheck", "Dockerfile", Some(5), None),
        at("dockerignore-leaks", ".dockerignore", None, None),
        at("hadolint/DL3042", "Dockerfile", Some(8), None),
        at("image-root-user", image, None, None),
        at("image-compiler", image, None, Some("/usr/bin/gcc")),
        at("image-unwanted-file", image, None, Some("/app/.env")),
        at("image-shell-form-command", image, None, None),
        at("image-no-healthcheck", image, None, None),
    ] {
        assert!(found.contains(&expected), "{expected:?} not in {found:#?}");
    }
    assert!(run.stderr.contains("Dockerfile:7: error [copy-before-install]"), "a readable list on stderr");
    assert!(run.json["summary"]["errors"].as_u64().unwrap() >= 12);
}

/// `--no-image` checks the Dockerfile and `.dockerignore` alone: no engine,
/// no build, no app package on the host; a `.hadolint.yaml` in the context
/// is hadolint's config.
#[test]
fn the_dockerfile_alone_without_an_engine() {
    let ours = xtask_with(&["lint", "--no-image"], &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")]);
    assert_eq!(ours.code, 0, "{}\n{}", ours.json, ours.stderr);
    assert!(ours.json["summary"]["image"].is_null(), "{}", ours.json);

    let context = naive_context();
    let dockerfile = context.path().join("Dockerfile");
    let args = ["lint", "--no-image", "--context", context.str(), "--dockerfile", dockerfile.to_str().unwrap()];
    let naive = xtask(&args);
    assert_eq!(naive.code, 1, "{}", naive.json);
    let rules: Vec<String> = findings(&naive).into_iter().map(|(rule, ..)| rule).collect();
    assert!(
        rules.contains(&"copy-before-install".to_string()) && rules.contains(&"hadolint/DL3042".to_string()),
        "{rules:?}"
    );
    assert!(!rules.iter().any(|rule| rule.starts_with("image-")), "no image was checked: {rules:?}");

    context.write(".hadolint.yaml", "ignored:\n  - DL3042\n");
    let configured = xtask(&args);
    assert!(!findings(&configured).iter().any(|(rule, ..)| rule == "hadolint/DL3042"), "{}", configured.json);

    // target/lint-venv/lib/pythonX.Y/site-packages holds hadolint alone.
    let lib = std::fs::read_dir(root().join("target/lint-venv/lib")).unwrap();
    for python in lib.flatten() {
        assert!(!python.path().join("site-packages/fastapi").exists(), "lint installed the app's packages on the host");
    }
}

/// An image that crashes when lint runs it fails lint, and the summary
/// counts that failure, which is among the findings: it never says 0
/// errors of a lint that failed, nor counts an error it does not show.
#[test]
fn a_crashing_image_is_an_error_in_the_summary() {
    let Some(_docker) = docker_test() else { return };
    let tag = TagGuard::new("lint-crash");
    let run = task_in("lint", &fixture_context("import_error"), &tag.0, &[], &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.json, run.stderr);
    let all = run.json["findings"].as_array().unwrap();
    let errors = all.iter().filter(|f| f["severity"] == "error").count();
    assert_eq!(run.json["summary"]["errors"].as_u64(), Some(errors as u64), "{}", run.json);
    let not_checked = all.iter().find(|f| f["rule"] == "image-not-checked");
    let not_checked = not_checked.unwrap_or_else(|| panic!("the failure is no finding: {}", run.json));
    assert!(!not_checked["message"].as_str().unwrap_or_default().is_empty(), "{}", run.json);
}

/// hadolint cannot parse a valid heredoc followed directly by an
/// instruction (its issue 960): lint says so in a warning, runs its own
/// rules, and does not fail on that alone. A build context that is not
/// there is an error.
#[test]
fn hadolint_s_parse_errors_do_not_fail_a_file_we_read() {
    let context = TempDir::new("heredoc");
    let dockerfile =
        "FROM python:3.12-slim\nWORKDIR /app\nRUN <<EOF\npip install --no-cache-dir fastapi==0.115.0\nEOF\n\
                      COPY app/ .\nUSER 10001\n\
                      HEALTHCHECK CMD [\"python\", \"-c\", \"print(1)\"]\n\
                      CMD [\"python\", \"-m\", \"uvicorn\", \"main:app\", \"--host\", \"0.0.0.0\"]\n";
    context.write("Dockerfile", dockerfile);
    let path = context.path().join("Dockerfile");
    let run = xtask(&["lint", "--no-image", "--dockerfile", path.to_str().unwrap(), "--context", context.str()]);
    assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
    let parse = run.json["findings"].as_array().unwrap().iter().find(|f| f["rule"] == "hadolint/DL1000").cloned();
    let parse = parse.unwrap_or_else(|| panic!("no DL1000: {}", run.json));
    assert_eq!(parse["severity"], "warning");
    assert!(parse["message"].as_str().unwrap().starts_with("hadolint could not read line"), "{parse}");

    let missing =
        xtask(&["lint", "--no-image", "--dockerfile", path.to_str().unwrap(), "--context", "/nonexistent/ctx"]);
    assert_eq!(missing.code, 1, "{}", missing.json);
    assert!(missing.str("message").contains("/nonexistent/ctx is not a directory"), "{}", missing.json);
}

/// Compose files, read as Compose resolves them (`docker compose config`;
/// no engine needed): each classic mistake named, a clean stack clean.
#[test]
fn compose_files_are_checked_as_compose_reads_them() {
    if !tools_on_path(&["docker"], "compose lint") {
        return;
    }
    let lint = |file: &str| {
        let compose = root().join("tests/fixtures/lint/compose").join(file);
        xtask(&["lint", "--no-image", "--compose", compose.to_str().unwrap()])
    };
    let mistakes = lint("mistakes.compose.yaml");
    let mut rules: Vec<String> = mistakes.json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .filter(|rule| rule.starts_with("compose-"))
        .collect();
    rules.sort();
    assert_eq!(
        rules,
        [
            "compose-depends-unhealthy",
            "compose-healthcheck-form",
            "compose-healthcheck-form",
            "compose-image-tag",
            "compose-localhost-url",
            "compose-published-datastore",
            "compose-secret-in-environment",
            "compose-source-mount",
        ],
        "{}",
        mistakes.json
    );
    assert!(!mistakes.stderr.contains("s3cr3t-literal-value"), "a secret in the file is not echoed");
    let clean = lint("clean.compose.yaml");
    let compose_findings: Vec<&serde_json::Value> = clean.json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["file"].as_str().unwrap().ends_with(".yaml"))
        .collect();
    assert!(compose_findings.is_empty(), "{compose_findings:?}");
}
