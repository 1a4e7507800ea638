//! The engine suite on podman (`--engine podman` through XTASK_ENGINE):
//! Debian's podman 4.3, rootful, whose default rlimits the machine must
//! lower in containers.conf (see the README's Engines).

mod common;

use common::{engine_suite, stack_suite, tools_on_path};

#[test]
fn the_engine_suite_passes_on_podman() {
    if !tools_on_path(&["podman"], "podman") {
        return;
    }
    // This binary's one test: nothing else reads the environment meanwhile.
    std::env::set_var("XTASK_ENGINE", "podman");
    let Some(_podman) = common::docker_test() else { return };
    for (name, scenario) in engine_suite::ALL.iter().chain(stack_suite::ALL) {
        eprintln!("== podman: {name}");
        scenario();
    }
}
