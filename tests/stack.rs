//! The stack (`up`, `down`, `smoke --stack`) on Docker, through real
//! Compose v2: each scenario of `common::stack_suite` a test, which
//! `podman.rs` runs on podman too.

mod common;

stack_suite_tests!(common::docker_test());
