//! The engine suite on Docker, with the builder of the leg
//! (DOCKER_BUILDKIT): each scenario of `common::engine_suite` a test,
//! which `podman.rs` and `remote.rs` run on their engines too.

mod common;

engine_suite_tests!(common::docker_test());
