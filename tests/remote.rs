//! The engine suite on a remote Docker engine, each scenario a test: a
//! second dockerd in a network namespace of this binary's own, reached
//! over TCP at its own address (DOCKER_HOST=tcp://…). Published ports are
//! on that host, so the reports' URLs and every probe go there. The
//! offline base images are copied to it from this machine's Docker; its
//! builds reach the package index through NAT here.

mod common;

use std::sync::{Mutex, OnceLock};

use common::{remote_host::RemoteHost, tools_on_path, EngineTest};

/// The host every test of this binary shares: started by the first, torn
/// down when the binary exits, whatever the tests did.
static HOST: OnceLock<Mutex<Option<RemoteHost>>> = OnceLock::new();

extern "C" fn tear_down() {
    if let Some(host) = HOST.get() {
        drop(host.lock().unwrap_or_else(|e| e.into_inner()).take());
    }
}

/// The remote engine's guard, the host started first where it is not.
fn remote() -> Option<EngineTest> {
    if !tools_on_path(&["ip", "iptables", "nsenter", "dockerd"], "remote engine") {
        return None;
    }
    // This machine's Docker, which the offline base images are copied from.
    drop(common::docker_test()?);
    HOST.get_or_init(|| {
        // SAFETY: registers a plain function, run once at exit.
        unsafe { libc::atexit(tear_down) };
        let host = RemoteHost::start();
        // Every test of this binary sets the same value.
        std::env::set_var("DOCKER_HOST", host.docker_host());
        // The stand-ins first, copied from this machine's Docker: no
        // scenario's timing (a signal during a build) may meet the copy,
        // whichever scenario runs first, or alone.
        let bases = xtask::standins::bases(&common::the_engine(), true, &Default::default());
        bases.expect("the offline base images reach the remote engine");
        Mutex::new(Some(host))
    });
    common::docker_test()
}

engine_suite_tests!(remote());
