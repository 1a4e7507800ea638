//! The engine suite and the stack suite on podman (`--engine podman`
//! through XTASK_ENGINE), each scenario a test: Debian's podman 4.3,
//! rootful, whose default rlimits `cargo xtask setup --engine podman`
//! lowers in containers.conf.

mod common;

use common::EngineTest;

/// podman's guard: every test of this file is on podman.
fn podman() -> Option<EngineTest> {
    if !common::tools_on_path(&["podman"], "podman") {
        return None;
    }
    // Every test of this binary sets the same value.
    std::env::set_var("XTASK_ENGINE", "podman");
    common::docker_test()
}

engine_suite_tests!(podman());
stack_suite_tests!(podman());
