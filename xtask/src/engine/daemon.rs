//! The engine's daemon on this machine, started where none runs
//! (`cargo xtask setup`): Docker's dockerd; podman has none.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::Engine;
use crate::sys::process::{self, CommandLine};

/// Where a dockerd that we start writes its log: a known place, which the
/// report names.
pub const DOCKERD_LOG: &str = "/var/log/xtask-dockerd.log";
/// Where dockerd writes its pid (its own default): how to stop it.
pub const DOCKERD_PID: &str = "/var/run/docker.pid";
/// How long a new dockerd may take to answer: its first start on a new
/// machine sets up its storage and networks.
const START_TIMEOUT: Duration = Duration::from_secs(60);

fn systemctl_start() -> CommandLine {
    CommandLine::new("systemctl").args(["start", "docker"])
}

impl Engine {
    /// Starts the engine's daemon on this machine, through the service
    /// manager when one runs, else in the background with its log in
    /// DOCKERD_LOG; returns once the engine answers.
    pub fn start_daemon(&self, service_manager: bool) -> Result<()> {
        let Some(daemon) = self.kind.can().daemon.filter(|_| !self.is_remote()) else {
            bail!("{} has no daemon on this machine to start", self.name());
        };
        match service_manager {
            true => process::to_stderr(&systemctl_start())?,
            false => {
                eprintln!("Starting {daemon} in the background, its log in {DOCKERD_LOG}.");
                process::spawn_detached(&CommandLine::new(daemon), DOCKERD_LOG.into())?;
            }
        }
        let clock = Instant::now();
        loop {
            match self.version() {
                Ok(_) => return Ok(()),
                Err(error) if clock.elapsed() > START_TIMEOUT => {
                    return Err(error).with_context(|| {
                        format!("{daemon} did not answer within {START_TIMEOUT:?}: its log is {DOCKERD_LOG}")
                    })
                }
                Err(_) => std::thread::sleep(Duration::from_millis(250)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_manager_starts_docker() {
        assert_eq!(systemctl_start().to_string(), "systemctl start docker");
    }
}
