//! What `setup` and `doctor` read off the machine, for the plan: quick
//! questions only, so that a second `setup` on a ready machine is quick.

use std::time::Duration;

use super::plan::{Facts, Family};
use crate::{
    engine::{choice::on_path, container::CONTAINERS_CONF, Engine},
    registry, standins,
    sys::{
        process::{self, CommandLine},
        venv::{self, Venv},
    },
};

/// Where the official base images come from, unless a mirror is named.
const REGISTRY: &str = "registry-1.docker.io:443";
/// The capability that lets a process raise its rlimits (capabilities(7)).
const CAP_SYS_RESOURCE: u32 = 24;

/// Whether the official images' registry answers within a few seconds.
pub fn registry_answers() -> bool {
    registry::answers_within(REGISTRY, Duration::from_secs(3))
}

/// The machine as it is now, for `engine`; `offline` when offline mode was
/// asked for, else when no registry answers.
pub fn read(engine: &Engine, offline: bool) -> Facts {
    let os_release = match cfg!(target_os = "macos") {
        true => None,
        false => Some(std::fs::read_to_string("/etc/os-release").unwrap_or_default()),
    };
    let kind = engine.kind();
    // An engine without a daemon answers once it is installed.
    let version = match kind.can().daemon {
        Some(_) => engine.version().map(drop),
        None => Ok(()),
    };
    let answers = version.is_ok() && on_path(kind.name());
    let conf = std::fs::read_to_string(CONTAINERS_CONF).unwrap_or_default();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    Facts {
        family: Family::of(os_release.as_deref()),
        // SAFETY: geteuid cannot fail and touches no memory of ours.
        root: unsafe { libc::geteuid() } == 0,
        engine: kind,
        // Any DOCKER_HOST, a socket of its own included, names an engine
        // that is not this machine's default: not ours to start.
        docker_host: std::env::var("DOCKER_HOST")
            .ok()
            .filter(|host| !host.is_empty() && kind.can().follows_docker_host),
        installed: on_path(kind.can().daemon.unwrap_or(kind.can().cli)),
        answers,
        denied: version.is_err_and(|error| format!("{error:#}").contains("permission denied")),
        service_manager: std::path::Path::new("/run/systemd/system").is_dir(),
        compose: engine.compose_version().is_some(),
        rlimits_fail: !has_capability(&status, CAP_SYS_RESOURCE) && !conf.contains("default_ulimits"),
        offline,
        debootstrap: on_path("debootstrap"),
        stand_ins: answers && standins::all_present(engine).unwrap_or(false),
        registry: on_path("docker-registry"),
        python_venv: process::read(&CommandLine::new("python3").args(["-c", "import venv, ensurepip"])).is_ok(),
        tools_venv: venv::ready(Venv::Tests),
    }
}

/// Whether /proc/self/status's effective set (`CapEff`) holds `bit`.
fn has_capability(status: &str, bit: u32) -> bool {
    let effective = status.lines().find_map(|line| line.strip_prefix("CapEff:")).map(str::trim);
    effective.and_then(|hex| u64::from_str_radix(hex, 16).ok()).is_some_and(|set| set & (1 << bit) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_read_from_the_effective_set() {
        // This sandbox's: all but CAP_SYS_RESOURCE.
        let sandbox = "CapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\n";
        assert!(!has_capability(sandbox, CAP_SYS_RESOURCE));
        assert!(has_capability(sandbox, 0));
        assert!(has_capability("CapEff:\t000001ffffffffff\n", CAP_SYS_RESOURCE));
        assert!(!has_capability("", CAP_SYS_RESOURCE), "unknown: assume the rlimits fail");
    }
}
