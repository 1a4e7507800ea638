//! The stack (`up`, `down`, `smoke --stack`) on Docker, through real
//! Compose v2: the scenarios of `common::stack_suite`, which `podman.rs`
//! runs on podman too.

mod common;

use common::{stack_suite, tools_on_path};

#[test]
fn the_stack_suite_passes_on_docker() {
    if !tools_on_path(&["docker"], "the stack") {
        return;
    }
    let Some(_docker) = common::docker_test() else { return };
    for (name, scenario) in stack_suite::ALL {
        eprintln!("== stack: {name}");
        scenario();
    }
}
