//! The service's own tests (FastAPI's test client) and the Dockerfile
//! linter, run from `cargo test` so that one command runs everything.

mod common;

use std::process::Command;

use common::{root, run_ok, tools_python};

/// An app without tests passes: pytest exits 5 when it collects none.
#[test]
fn the_app_passes_its_own_tests() {
    let output = Command::new(tools_python())
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "app"])
        .current_dir(root())
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    const NO_TESTS_COLLECTED: i32 = 5;
    assert!(matches!(output.status.code(), Some(0 | NO_TESTS_COLLECTED)), "pytest failed:\n{said}");
    eprintln!("{said}");
}

#[test]
fn hadolint_has_nothing_to_say_about_the_dockerfile() {
    let hadolint = tools_python().with_file_name("hadolint");
    let output = run_ok(Command::new(hadolint).arg("docker/Dockerfile").current_dir(root()));
    assert!(output.stdout.is_empty(), "{}", String::from_utf8_lossy(&output.stdout));
}
