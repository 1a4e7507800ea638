//! `cargo xtask bench`: measures build, size, build context, start and
//! stop on the real engine, beside a plain `docker build` and the naive
//! single-stage Dockerfile. It measures and reports; it asserts nothing.
//! The README reads its table against the targets.

use std::{
    collections::BTreeMap,
    fs::OpenOptions,
    io::Write,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;
use xshell::{cmd, Shell};

use crate::{
    cli::{self, Args},
    container::{Container, Spec},
    docker, offline, project, service,
};

const TAG: &str = "xtask-bench/fastapi-server:latest";
const NAIVE_TAG: &str = "xtask-bench/naive:latest";
const SHELL_FORM_TAG: &str = "xtask-bench/shell-form:latest";
const CONTEXT_TAG: &str = "xtask-bench/context:latest";
/// Official defaults of the Dockerfile, when not offline.
const DEFAULT_BASES: [(&str, &str); 3] =
    [("BUILDER_IMAGE", "python:3.10"), ("RUNTIME_IMAGE", "python:3.10-slim"), ("PYTHON_MINOR", "3.10")];

#[derive(Debug)]
pub struct Bench {
    runs: usize,
    markdown: Option<Utf8PathBuf>,
    offline: bool,
}

/// Milliseconds over the runs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Stats {
    fn of(mut samples: Vec<f64>) -> Stats {
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
}

#[derive(Clone, Copy)]
enum Scenario {
    Cold,
    AppEdit,
    NoOp,
    LibrariesEdit,
}

impl Scenario {
    const ALL: [Scenario; 4] = [Scenario::Cold, Scenario::AppEdit, Scenario::NoOp, Scenario::LibrariesEdit];

    fn name(self) -> &'static str {
        match self {
            Scenario::Cold => "cold (--no-cache)",
            Scenario::AppEdit => "warm, one app file edited",
            Scenario::NoOp => "no-op rebuild",
            Scenario::LibrariesEdit => "libraries.list edited",
        }
    }

    /// The edit before each timed build: a comment, so that the files
    /// change and the image still works.
    fn prepare(self, work: &Utf8Path) -> Result<()> {
        let file = match self {
            Scenario::AppEdit => work.join("app/main.py"),
            Scenario::LibrariesEdit => work.join("docker/libraries.list"),
            Scenario::Cold | Scenario::NoOp => return Ok(()),
        };
        let mut file = OpenOptions::new().append(true).open(&file).with_context(|| format!("cannot edit {file}"))?;
        writeln!(file, "# bench edit {}", project::unique_name("e")).context("cannot edit a bench file")
    }
}

impl Bench {
    pub fn parse(args: &mut Args) -> Result<Bench> {
        let mut bench = Bench { runs: 5, markdown: None, offline: false };
        while let Some(flag) = args.next_flag()? {
            match flag.as_str() {
                "--runs" => {
                    let value = args.value(&flag)?;
                    bench.runs = value
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| cli::usage(format!("`--runs {value}` is not a whole number above 0")))?;
                }
                "--markdown" => bench.markdown = Some(project::from_user(&args.value(&flag)?)?),
                "--offline" => bench.offline = true,
                _ => return Err(cli::unknown_flag("bench", &flag)),
            }
        }
        bench.offline = offline::requested(bench.offline);
        Ok(bench)
    }

    pub fn run(self, sh: &Shell) -> bool {
        let mut report = BenchReport { runs: self.runs, ..BenchReport::default() };
        let dangling_before = dangling_images(sh);
        let outcome = self.measure(sh, &mut report);
        remove_images(sh, &[TAG, NAIVE_TAG, SHELL_FORM_TAG, CONTEXT_TAG]);
        // Rebuilds leave the images they replaced, and the legacy builder
        // each build's builder stage, untagged: remove those the bench made.
        let made: Vec<String> = dangling_images(sh).into_iter().filter(|id| !dangling_before.contains(id)).collect();
        remove_images(sh, &made.iter().map(String::as_str).collect::<Vec<_>>());
        report.success = outcome.is_ok();
        report.message = outcome.err().map(|e| format!("{e:#}"));
        let table = markdown(&report);
        eprintln!("\n{table}");
        if let Some(path) = &self.markdown {
            if let Err(error) = std::fs::write(path, &table) {
                report.success = false;
                report.message = Some(format!("cannot write the table to {path}: {error}"));
            }
        }
        crate::emit(&report);
        report.success
    }

    fn measure(&self, sh: &Shell, report: &mut BenchReport) -> Result<()> {
        report.engine = docker::ensure_engine(sh)?;
        report.date = cmd!(sh, "date -u +%Y-%m-%d").quiet().read()?;
        let mut bases: BTreeMap<String, String> =
            DEFAULT_BASES.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if self.offline {
            let stand_ins = offline::StandIns::ensure(sh)?;
            bases.clear();
            stand_ins.add_build_args(&mut bases);
            report.bases = stand_ins.describe();
        } else {
            report.bases = format!("{} and {}", bases["BUILDER_IMAGE"], bases["RUNTIME_IMAGE"]);
        }

        eprintln!("Timing cargo's own start ({} runs).", self.runs);
        report.cargo_startup_ms = Some(self.repeat(|| time(Command::new("cargo").args(["xtask", "--help"])))?);

        let work = sh.create_temp_dir()?;
        let work = Utf8Path::from_path(work.path()).context("the temp dir is not UTF-8")?.to_path_buf();
        let root = project::root();
        for item in ["app", "docker", ".dockerignore"] {
            let from = root.join(item);
            cmd!(sh, "cp -a {from} {work}").quiet().run()?;
        }
        for scenario in Scenario::ALL {
            eprintln!("Timing the build, {} ({} runs each way).", scenario.name(), self.runs);
            report.build.push(self.build_figure(scenario, &work, &bases)?);
        }
        report.size = Some(self.size_figures(sh, &work, &bases)?);
        report.context = Some(context_figures(sh, &root, &work)?);
        report.lifecycle = Some(self.lifecycle_figures(sh, &work)?);
        Ok(())
    }

    fn repeat(&self, mut measure: impl FnMut() -> Result<f64>) -> Result<Stats> {
        let samples = (0..self.runs).map(|_| measure()).collect::<Result<Vec<f64>>>()?;
        Ok(Stats::of(samples))
    }

    fn build_figure(
        &self,
        scenario: Scenario,
        work: &Utf8Path,
        bases: &BTreeMap<String, String>,
    ) -> Result<BuildFigure> {
        let no_cache = matches!(scenario, Scenario::Cold);
        let dockerfile = work.join("docker/Dockerfile");
        let binary = std::env::current_exe().context("cannot find the xtask binary")?;
        let (mut xtask_ms, mut binary_ms, mut docker_ms) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..self.runs {
            for (program, prefix, samples) in
                [("cargo", &["xtask"][..], &mut xtask_ms), (binary.to_str().unwrap_or("xtask"), &[], &mut binary_ms)]
            {
                scenario.prepare(work)?;
                let mut xtask = Command::new(program);
                xtask.args(prefix).args(["image", "--tag", TAG, "--context", work.as_str()]);
                xtask.args(["--dockerfile", dockerfile.as_str()]);
                xtask.args(self.offline.then_some("--offline")).args(no_cache.then_some("--no-cache"));
                samples.push(time(&mut xtask)?);
            }

            scenario.prepare(work)?;
            let mut plain = Command::new("docker");
            plain.args(["build", "--file", dockerfile.as_str(), "--tag", TAG, "--force-rm"]);
            plain.args(no_cache.then_some("--no-cache"));
            for (key, value) in bases {
                plain.args(["--build-arg", &format!("{key}={value}")]);
            }
            docker_ms.push(time(plain.arg(work.as_str()))?);
        }
        let (xtask_ms, binary_ms, docker_ms) = (Stats::of(xtask_ms), Stats::of(binary_ms), Stats::of(docker_ms));
        Ok(BuildFigure {
            scenario: scenario.name(),
            overhead: xtask_ms.median / docker_ms.median,
            xtask_ms,
            binary_ms,
            docker_ms,
        })
    }

    fn size_figures(&self, sh: &Shell, work: &Utf8Path, bases: &BTreeMap<String, String>) -> Result<SizeFigures> {
        eprintln!("Measuring sizes, and building the naive image.");
        let final_bytes = image_size(sh, TAG)?;
        let runtime_base_bytes = image_size(sh, &bases["RUNTIME_IMAGE"])?;
        let site_packages = format!("/usr/local/lib/python{}/site-packages", bases["PYTHON_MINOR"]);
        let counted = cmd!(sh, "docker run --rm --entrypoint du {TAG} -sbc {site_packages} /app").quiet().read()?;
        let payload_bytes: u64 = counted
            .lines()
            .last()
            .and_then(|total| total.split_whitespace().next()?.parse().ok())
            .with_context(|| format!("cannot read du's total from `{counted}`"))?;

        // The beginner's context: everything in one folder, a .env, no .dockerignore.
        let naive = work.join("naive");
        let fixture = project::root().join("tests/fixtures/naive");
        cmd!(sh, "cp -a {fixture} {naive}").quiet().run()?;
        sh.copy_file(work.join("docker/libraries.list"), &naive)?;
        let base = format!("BUILDER_IMAGE={}", bases["BUILDER_IMAGE"]);
        time(Command::new("docker").args(["build", "--tag", NAIVE_TAG, "--build-arg", &base, naive.as_str()]))?;
        let naive_bytes = image_size(sh, NAIVE_TAG)?;

        let added_bytes = final_bytes.saturating_sub(runtime_base_bytes);
        Ok(SizeFigures {
            final_bytes,
            runtime_base_bytes,
            added_bytes,
            payload_bytes,
            waste_ratio: added_bytes as f64 / payload_bytes as f64,
            naive_bytes,
            final_over_naive: final_bytes as f64 / naive_bytes as f64,
        })
    }

    fn lifecycle_figures(&self, sh: &Shell, work: &Utf8Path) -> Result<LifecycleFigures> {
        eprintln!("Timing start and stop ({} runs each).", self.runs);
        let image_id = docker::inspect_image(sh, TAG)?.context("the bench image is gone")?.id;
        let (ready_ms, stop_ms) = self.start_and_stop(sh, &image_id)?;

        // The same image, started the way a shell-form CMD starts it.
        let shell_form = work.join("shell-form");
        sh.write_file(
            shell_form.join("Dockerfile"),
            format!("FROM {image_id}\nCMD python -m uvicorn main:app --host 0.0.0.0 --port 8000\n"),
        )?;
        time(Command::new("docker").args(["build", "--tag", SHELL_FORM_TAG, shell_form.as_str()]))?;
        let (_, shell_form_stop_ms) = self.start_and_stop(sh, SHELL_FORM_TAG)?;
        Ok(LifecycleFigures { ready_ms, stop_ms, shell_form_stop_ms })
    }

    /// Ready and stop times of `image`, over the runs.
    fn start_and_stop(&self, sh: &Shell, image: &str) -> Result<(Stats, Stats)> {
        let (mut ready, mut stop) = (Vec::new(), Vec::new());
        for _ in 0..self.runs {
            let clock = Instant::now();
            let container = Container::start(sh, &Spec::owned("bench", image))?;
            let port = container.host_port()?;
            let status = service::wait_ready(&container, port, "/health", Duration::from_secs(30))?;
            if status != 200 {
                bail!("{image} answered {status} on /health");
            }
            ready.push(millis(clock.elapsed()));
            stop.push(millis(container.stop()?));
        }
        Ok((Stats::of(ready), Stats::of(stop)))
    }
}

/// Bytes of the project's context that reach the engine, counted as the
/// files a `FROM scratch` image copies from it: the same for both builders.
fn context_figures(sh: &Shell, root: &Utf8Path, work: &Utf8Path) -> Result<ContextFigures> {
    eprintln!("Measuring the build context, then again with 1 GiB in target/.");
    let probe = work.join("context.Dockerfile");
    sh.write_file(&probe, "FROM scratch\nCOPY . /context/\n")?;
    let measure = || -> Result<(u64, f64)> {
        let ms = time(Command::new("docker").args([
            "build",
            "--file",
            probe.as_str(),
            "--tag",
            CONTEXT_TAG,
            root.as_str(),
        ]))?;
        Ok((image_size(sh, CONTEXT_TAG)?, ms))
    };
    let (bytes, _) = measure()?;
    let junk = project::scratch_dir()?.join("bench-junk.bin");
    // Sparse: made at once, and 1 GiB to read for a context that lets it in.
    std::fs::File::create(&junk)?.set_len(1 << 30)?;
    let with_junk = measure();
    let _ = std::fs::remove_file(&junk);
    let (bytes_with_junk, ms_with_junk) = with_junk?;
    Ok(ContextFigures { bytes, bytes_with_junk, ms_with_junk })
}

fn image_size(sh: &Shell, image: &str) -> Result<u64> {
    Ok(docker::inspect_image(sh, image)?.with_context(|| format!("the engine has no image {image}"))?.size)
}

/// Milliseconds `command` took; its output goes nowhere, a failure stops the bench.
fn time(command: &mut Command) -> Result<f64> {
    let clock = Instant::now();
    let output =
        command.stdout(Stdio::null()).stderr(Stdio::piped()).output().context("cannot start a timed command")?;
    let took = millis(clock.elapsed());
    if !output.status.success() {
        bail!("{command:?} failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(took)
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Removes the bench's tags (and the images no other tag holds), or images by id.
fn remove_images(sh: &Shell, images: &[&str]) {
    if !images.is_empty() {
        let _ = cmd!(sh, "docker image rm {images...}").quiet().ignore_status().ignore_stdout().ignore_stderr().run();
    }
}

/// Ids of the untagged images that no other image is built on.
fn dangling_images(sh: &Shell) -> Vec<String> {
    let listed =
        cmd!(sh, "docker image ls --quiet --no-trunc --filter dangling=true").quiet().read().unwrap_or_default();
    listed.lines().map(str::to_string).collect()
}

fn markdown(report: &BenchReport) -> String {
    let ms = |s: &Stats| format!("{:.0} ms ({:.0}–{:.0})", s.median, s.min, s.max);
    let mib = |b: u64| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0));
    let mut out = format!(
        "Bench of {}, engine {}, {}; median of {} runs (min–max).\n\n",
        report.date, report.engine, report.bases, report.runs
    );
    out +=
        "| build | `cargo xtask image` | xtask binary alone | plain `docker build` | ratio |\n|---|---|---|---|---|\n";
    for b in &report.build {
        let (xtask, binary, docker) = (ms(&b.xtask_ms), ms(&b.binary_ms), ms(&b.docker_ms));
        out += &format!("| {} | {xtask} | {binary} | {docker} | {:.2} |\n", b.scenario, b.overhead);
    }
    if let Some(c) = &report.cargo_startup_ms {
        out += &format!("| cargo's own start (`cargo xtask --help`) | {} | | | |\n", ms(c));
    }
    if let Some(s) = &report.size {
        out += "\n| size | |\n|---|---|\n";
        out += &format!("| final image | {} ({} bytes) |\n", mib(s.final_bytes), s.final_bytes);
        out += &format!("| runtime base | {} |\n", mib(s.runtime_base_bytes));
        out += &format!("| added over the base | {} |\n", mib(s.added_bytes));
        out += &format!("| site-packages + app | {} |\n", mib(s.payload_bytes));
        out += &format!("| waste ratio (added ÷ payload) | {:.3} |\n", s.waste_ratio);
        out += &format!("| naive single-stage image | {} |\n", mib(s.naive_bytes));
        out += &format!("| final ÷ naive | {:.2} |\n", s.final_over_naive);
    }
    if let Some(c) = &report.context {
        out += "\n| build context | |\n|---|---|\n";
        out += &format!("| bytes sent | {} |\n", c.bytes);
        out += &format!("| bytes sent with 1 GiB in target/ | {} ({:.0} ms) |\n", c.bytes_with_junk, c.ms_with_junk);
    }
    if let Some(l) = &report.lifecycle {
        out += "\n| start and stop | |\n|---|---|\n";
        out += &format!("| `docker run` to first answer on /health | {} |\n", ms(&l.ready_ms));
        out += &format!("| `docker stop`, exec-form CMD (ours) | {} |\n", ms(&l.stop_ms));
        out += &format!("| `docker stop`, shell-form CMD | {} |\n", ms(&l.shell_form_stop_ms));
    }
    if let Some(message) = &report.message {
        out += &format!("\nThe bench stopped early: {message}\n");
    }
    out
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

    #[test]
    fn flags_are_read() {
        let parse = |list: &[&str]| Bench::parse(&mut Args::of(list));
        assert_eq!(parse(&["--runs", "3"]).unwrap().runs, 3);
        assert!(parse(&["--runs", "0"]).is_err());
        assert!(parse(&["--tag", "x"]).is_err());
    }

    #[test]
    fn the_table_has_a_row_per_figure() {
        let stats = Stats::of(vec![1.0]);
        let report = BenchReport {
            runs: 1,
            build: vec![BuildFigure {
                scenario: "no-op rebuild",
                xtask_ms: stats,
                binary_ms: stats,
                docker_ms: stats,
                overhead: 1.0,
            }],
            ..BenchReport::default()
        };
        let table = markdown(&report);
        assert!(table.contains("| no-op rebuild | 1 ms (1–1) | 1 ms (1–1) | 1 ms (1–1) | 1.00 |"), "{table}");
    }
}
