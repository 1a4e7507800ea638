//! `bench --stack`: the stack, side by side with what a user would run
//! instead. `cargo xtask up` until every service is ready, against
//! `docker compose up -d --wait` on the same file, images and fresh
//! volumes, in the same run; and `smoke --stack` end to end, with its
//! parts.

use anyhow::{bail, Context, Result};
use camino::Utf8Path;

use super::{
    figures::{StackFigures, Stats},
    time, xtask_binary, Bench,
};
use crate::{
    engine::{capabilities::ComposeVia, compose::Project, Engine},
    standins,
    sys::{
        probe,
        process::{self, CommandLine},
        project,
    },
};

impl Bench {
    /// The stack figures, from the project's compose.yaml copied to `work`
    /// with its image already built under `tag`.
    pub(super) fn stack_figures(&self, engine: &Engine, work: &Utf8Path, tag: &str) -> Result<StackFigures> {
        let binary = &xtask_binary()?;
        let file = work.join("compose.yaml");
        let dockerfile = work.join("docker/Dockerfile");
        let xtask = |task: &str| {
            let line = CommandLine::new(binary).args([task, "--engine", engine.kind().name(), "--file", file.as_str()]);
            match task {
                "down" => line,
                _ => line
                    .args(["--no-build", "--tag", tag, "--context", work.as_str(), "--dockerfile", dockerfile.as_str()])
                    .args(self.offline.then_some("--offline")),
            }
        };
        let (mut up_ms, mut compose_ms) = (Vec::new(), Vec::new());
        let mut parts: [Vec<f64>; 5] = Default::default();
        for run in 0..self.runs {
            eprintln!("Timing the stack, run {} of {}.", run + 1, self.runs);
            let port = format!("API_PORT={}", probe::free_port()?);
            up_ms.push(time(&xtask("up").args(["--env", &port]))?);
            time(&xtask("down").arg("--volumes"))?;
            // Plain Compose needs an engine it talks to without our help.
            if engine.kind().can().compose == ComposeVia::Daemon {
                compose_ms.push(self.compose_up_wait(engine, &file, tag)?);
            }
            let smoke = process::output(&xtask("smoke").arg("--stack"))?;
            let report: serde_json::Value = serde_json::from_slice(&smoke.stdout).context("smoke gave no JSON")?;
            if report["success"] != true {
                bail!("smoke --stack failed: {}", report["message"]);
            }
            let timings = &report["timings"];
            for (samples, field) in parts.iter_mut().zip(["buildMs", "readyMs", "checksMs", "stopMs"]) {
                samples.push(timings[field].as_f64().unwrap_or_default());
            }
            parts[4].push(parts[..4].iter().map(|p| p.last().copied().unwrap_or_default()).sum());
        }
        let [build, ready, checks, stop, total] = parts.map(Stats::of);
        Ok(StackFigures {
            up_ms: Stats::of(up_ms),
            compose_up_wait_ms: (!compose_ms.is_empty()).then(|| Stats::of(compose_ms)),
            smoke_build_ms: build,
            smoke_ready_ms: ready,
            smoke_checks_ms: checks,
            smoke_stop_ms: stop,
            smoke_ms: total,
        })
    }

    /// `docker compose up -d --wait` of `file` as a user runs it: the same
    /// image and variables, a project and fresh volumes of its own; then
    /// down. Milliseconds until it returned.
    fn compose_up_wait(&self, engine: &Engine, file: &Utf8Path, tag: &str) -> Result<f64> {
        let mut compose = Project::new(engine, project::unique_name("xtask-bench"), vec![file.to_path_buf()])?;
        compose.set("API_IMAGE", tag);
        compose.set("API_PORT", &probe::free_port()?.to_string());
        compose.set_secret("POSTGRES_PASSWORD", &project::unique_name("bench"));
        if self.offline {
            for (variable, image) in standins::stack_images(engine)? {
                compose.set(variable, &image);
            }
        }
        let took = compose.up_and_wait();
        compose.down(true)?;
        took
    }
}
