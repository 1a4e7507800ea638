//! The engine suite on a remote Docker engine: a second dockerd in a
//! network namespace of this test's own, reached over TCP at its own
//! address (DOCKER_HOST=tcp://…). Published ports are on that host, so the
//! reports' URLs and every probe go there. The offline base images are
//! copied to it from this machine's Docker; its builds reach the package
//! index through NAT here.

mod common;

use common::{engine_suite, remote_host::RemoteHost, tools_on_path};

#[test]
fn the_engine_suite_passes_on_a_remote_engine() {
    if !tools_on_path(&["ip", "iptables", "nsenter", "dockerd"], "remote engine") {
        return;
    }
    // This machine's Docker, which the offline base images are copied from.
    let Some(_docker) = common::docker_test() else { return };
    let host = RemoteHost::start();
    // This binary's one test: nothing else reads the environment meanwhile.
    std::env::set_var("DOCKER_HOST", host.docker_host());
    for (name, scenario) in engine_suite::ALL {
        eprintln!("== remote: {name}");
        scenario();
    }
}
