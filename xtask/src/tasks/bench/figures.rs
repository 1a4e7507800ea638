//! The bench's figures, as its JSON report carries them.

use serde::Serialize;

use crate::report::Report;

/// Milliseconds over the runs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Stats {
    pub fn of(mut samples: Vec<f64>) -> Stats {
        samples.sort_by(f64::total_cmp);
        let n = samples.len();
        let median = if n % 2 == 1 { samples[n / 2] } else { (samples[n / 2 - 1] + samples[n / 2]) / 2.0 };
        Stats { median, min: samples[0], max: samples[n - 1] }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildFigure {
    pub scenario: &'static str,
    /// `cargo xtask image`, as a person types it.
    pub xtask_ms: Stats,
    /// The xtask binary alone, without cargo's start.
    pub binary_ms: Stats,
    pub docker_ms: Stats,
    /// `cargo xtask image` ÷ `docker build`, of the medians.
    pub overhead: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SizeFigures {
    pub final_bytes: u64,
    pub runtime_base_bytes: u64,
    /// What the final image adds over its base.
    pub added_bytes: u64,
    /// site-packages plus /app, as `du` counts them in the image.
    pub payload_bytes: u64,
    /// added ÷ payload: 1.0 means no byte wasted.
    pub waste_ratio: f64,
    pub naive_bytes: u64,
    pub final_over_naive: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextFigures {
    /// Bytes of the project's build context that reach the engine.
    pub bytes: u64,
    /// The same, with a 1 GiB file in target/.
    pub bytes_with_junk: u64,
    pub ms_with_junk: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleFigures {
    /// `docker run` to the first answer on /health.
    pub ready_ms: Stats,
    pub stop_ms: Stats,
    /// `docker stop` of the same image with a shell-form CMD.
    pub shell_form_stop_ms: Stats,
}

/// `bench --stack`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackFigures {
    /// `cargo xtask up --no-build` (the xtask binary) until every service was ready.
    pub up_ms: Stats,
    /// `docker compose up -d --wait` of the same file; not on podman,
    /// where it waits forever for healthchecks that never run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compose_up_wait_ms: Option<Stats>,
    /// `smoke --stack --no-build`, end to end, and its parts.
    pub smoke_ms: Stats,
    pub smoke_build_ms: Stats,
    pub smoke_ready_ms: Stats,
    pub smoke_checks_ms: Stats,
    pub smoke_stop_ms: Stats,
}

/// `bench --watch`: from an edit's save until its new route answers.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchFigures {
    /// `--stack`: the loops of the whole stack, the route on its API.
    pub stack: bool,
    pub edits: usize,
    pub xtask_ms: Stats,
    /// `docker compose watch`, a `rebuild` action; not on podman.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compose_watch_ms: Option<Stats>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BenchReport {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub date: String,
    pub engine: String,
    pub bases: String,
    pub runs: usize,
    /// `cargo xtask --help`: what cargo itself adds to every task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cargo_startup_ms: Option<Stats>,
    pub build: Vec<BuildFigure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<SizeFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<ContextFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<LifecycleFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<StackFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch: Option<WatchFigures>,
}

impl Report for BenchReport {
    fn success(&self) -> bool {
        self.success
    }

    fn failure(message: String) -> BenchReport {
        BenchReport { message: Some(message), ..BenchReport::default() }
    }

    fn human(&self) -> String {
        super::table::markdown(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_take_the_median() {
        let s = Stats::of(vec![5.0, 1.0, 3.0]);
        assert_eq!((s.median, s.min, s.max), (3.0, 1.0, 5.0));
        assert_eq!(Stats::of(vec![4.0, 1.0, 2.0, 3.0]).median, 2.5);
    }
}
