//! Small flags that several tasks take, each declared once: its name,
//! help and meaning are the same wherever it is flattened in.

use crate::standins;

/// `--no-build`: `run`, `smoke`, `up`, `push`.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct NoBuildFlag {
    /// Use the image the tag names as it is, without building
    #[arg(long = "no-build")]
    no_build: bool,
}

impl NoBuildFlag {
    /// Whether to build (from the cache) first.
    pub fn build(self) -> bool {
        !self.no_build
    }
}

/// `--attach`: `run` and `up`.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct AttachFlag {
    /// Follow the logs until Ctrl-C, then stop what was started (a stack's data stays)
    #[arg(long)]
    pub attach: bool,
}

/// `--offline`: every task that builds, `setup` and `bench`.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct OfflineFlag {
    /// No registry: base images are stand-ins made locally from Debian's packages (also XTASK_OFFLINE=1)
    #[arg(long)]
    offline: bool,
}

impl OfflineFlag {
    /// `--offline`, or XTASK_OFFLINE.
    pub fn requested(self) -> bool {
        standins::requested(self.offline)
    }
}

/// `--stack`: `smoke`, `watch` and `bench`.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct StackFlag {
    /// The whole stack of the Compose file, not the service alone: `smoke` and `bench` start projects of their own
    /// and remove them, `watch` serves this checkout's (its data stays)
    #[arg(long)]
    pub stack: bool,
}
