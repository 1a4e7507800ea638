//! `cargo xtask bench`: measures build, size, build context, start and
//! stop on the real engine, beside a plain engine build and the naive
//! single-stage Dockerfile. It measures and reports; it asserts nothing.
//! The README reads its table against the targets. The figures and the
//! table are in their own modules; this one measures.

mod figures;
mod made;
mod stack;
mod table;
mod watch;

use std::{collections::BTreeMap, fs::OpenOptions, io::Write, time::Instant};

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::Shell;

use self::{
    figures::{BenchReport, BuildFigure, ContextFigures, LifecycleFigures, SizeFigures, Stats},
    made::Made,
};
use super::{Done, Task};
use crate::{
    cli::{values, EngineFlag, ImageFlags, OfflineFlag, StackFlag},
    engine::{
        build::{Bases, BuildSpec, BUILDER_IMAGE, RUNTIME_IMAGE},
        choice::Choice,
        container::Spec,
        Engine,
    },
    model::dockerfile::global_args,
    report::Report,
    service::{self, contract::Contract, READY_TIMEOUT},
    standins,
    sys::{
        files::copy_tree,
        millis,
        process::{self, CommandLine, Ran},
        project, today_utc,
    },
};

/// The repository of the image the bench builds, under a tag of the
/// run's own, so that two benches at once do not meet.
const REPOSITORY: &str = "xtask-bench/fastapi-server";

/// Measure build, size, context, start and stop; JSON on stdout, a Markdown table on stderr
#[derive(Debug, clap::Parser)]
#[command(name = "bench")]
pub struct Flags {
    /// Runs of each measure
    #[arg(long, value_name = "N", value_parser = values::count, default_value_t = 5)]
    runs: usize,
    /// Write the table there too
    #[arg(long, value_name = "FILE", value_parser = values::path)]
    markdown: Option<Utf8PathBuf>,
    #[command(flatten)]
    offline: OfflineFlag,
    // The stack: `up` beside `docker compose up --wait`, and `smoke --stack`;
    // with --watch, `watch --stack` beside `docker compose watch` of it.
    #[command(flatten)]
    stack: StackFlag,
    /// Measure the dev loop instead: `watch` beside `docker compose watch`, 4 edits a run each
    #[arg(long)]
    watch: bool,
    #[command(flatten)]
    engine: EngineFlag,
}

#[derive(Debug)]
pub struct Bench {
    runs: usize,
    markdown: Option<Utf8PathBuf>,
    offline: bool,
    stack: bool,
    watch: bool,
    engine: Choice,
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

impl Task for Bench {
    type Flags = Flags;
    type Report = BenchReport;

    fn new(flags: Flags) -> Result<Bench> {
        let engine = flags.engine.choice()?;
        Ok(Bench {
            runs: flags.runs,
            markdown: flags.markdown,
            offline: flags.offline.requested(),
            stack: flags.stack.stack,
            watch: flags.watch,
            engine,
        })
    }

    fn run(self) -> Done<BenchReport> {
        let engine = &self.engine.engine();
        let mut report = BenchReport { runs: self.runs, ..BenchReport::default() };
        // One bench of this checkout at a time: two at once would time each
        // other's load.
        let _one_bench = match project::lock("bench") {
            Ok(lock) => lock,
            Err(error) => return BenchReport::failure(format!("{error:#}")).into(),
        };
        let tag = format!("{REPOSITORY}:{}", project::unique_name("bench"));
        let made = Made::default();
        let outcome =
            Shell::new().map_err(Into::into).and_then(|sh| self.measure(&sh, engine, &tag, &made, &mut report));
        engine.remove_images(&[&tag]);
        // The other images the bench builds have no tag, and rebuilds leave
        // the images they replaced: remove those, and only those, it made.
        made.remove(engine);
        report.success = outcome.is_ok();
        report.message = outcome.err().map(|e| format!("{e:#}"));
        if let Some(path) = &self.markdown {
            if let Err(error) = std::fs::write(path, table::markdown(&report)) {
                report.success = false;
                report.message = Some(format!("cannot write the table to {path}: {error}"));
            }
        }
        report.into()
    }
}

/// A plain engine build: the command `cargo xtask image` runs, with no xtask around it.
struct PlainBuild<'a> {
    engine: &'a Engine,
    bases: &'a Bases,
    made: &'a Made,
}

impl PlainBuild<'_> {
    /// The spec of `image --dockerfile DOCKERFILE --context CONTEXT` with
    /// `more` flags: built the way `image` reads its flags.
    fn spec(dockerfile: &Utf8Path, context: &Utf8Path, more: &[&str]) -> Result<BuildSpec> {
        let args = [&["--dockerfile", dockerfile.as_str(), "--context", context.as_str()][..], more].concat();
        ImageFlags::spec_of(&args)
    }

    /// Milliseconds the build of `spec` took, and the id of the image it built.
    fn time(&self, spec: &BuildSpec) -> Result<(f64, String)> {
        let iidfile = project::scratch_dir()?.join(project::unique_name("bench-iid"));
        let ran = run_timed(&self.engine.build_command(spec, self.bases, &[], &iidfile));
        let id = std::fs::read_to_string(&iidfile);
        let _ = std::fs::remove_file(&iidfile);
        let (took, ran) = ran?;
        let id = id.context("the build wrote no image id")?.trim().to_string();
        self.made.built(&ran.output);
        self.made.image(&id);
        Ok((took, id))
    }
}

impl Bench {
    fn measure(&self, sh: &Shell, engine: &Engine, tag: &str, made: &Made, report: &mut BenchReport) -> Result<()> {
        report.engine = format!("{} {}", engine.name(), engine.version()?);
        report.date = today_utc();
        let bases = standins::bases(engine, self.offline, &BTreeMap::new())?;
        // The bases' names and Python, for the size figures: the Dockerfile's
        // ARGs, as the build args of a plain build set them.
        let dockerfile = project::root().join("docker/Dockerfile");
        let text = std::fs::read_to_string(&dockerfile).with_context(|| format!("cannot read {dockerfile}"))?;
        let base_args = global_args(&text, &bases.build_args(&BTreeMap::new()));
        report.bases = match &bases {
            Bases::StandIns(stand_ins) => {
                format!(
                    "offline base images {} and {} (Python {})",
                    stand_ins.builder, stand_ins.runtime, stand_ins.python
                )
            }
            Bases::Dockerfile => format!("{} and {}", base_args[BUILDER_IMAGE], base_args[RUNTIME_IMAGE]),
        };

        eprintln!("Timing cargo's own start ({} runs).", self.runs);
        report.cargo_startup_ms = Some(self.repeat(|| time(&CommandLine::new("cargo").args(["xtask", "--help"])))?);

        let work = sh.create_temp_dir()?;
        let work = Utf8Path::from_path(work.path()).context("the temp dir is not UTF-8")?.to_path_buf();
        let root = project::root();
        for item in ["app", "docker", ".dockerignore", "compose.yaml"] {
            copy_tree(root.join(item).as_std_path(), work.join(item).as_std_path())
                .with_context(|| format!("cannot copy {item} to {work}"))?;
        }
        Made::mark(&work, tag)?;
        let plain = PlainBuild { engine, bases: &bases, made };
        if self.stack && !self.watch {
            let spec = PlainBuild::spec(&work.join("docker/Dockerfile"), &work, &["--tag", tag])?;
            let (_, id) = plain.time(&spec)?;
            engine.tag(&id, tag)?;
            report.stack = Some(self.stack_figures(engine, &work, tag)?);
            return Ok(());
        }
        if self.watch {
            report.watch = Some(self.watch_figures(engine, &work, &bases, tag, made)?);
            return Ok(());
        }
        for scenario in Scenario::ALL {
            eprintln!("Timing the build, {} ({} runs each way).", scenario.name(), self.runs);
            report.build.push(self.build_figure(scenario, &work, &plain, tag)?);
        }
        report.size = Some(self.size_figures(engine, &work, &plain, &base_args, tag)?);
        report.context = Some(context_figures(sh, &root, &work, &plain, tag)?);
        report.lifecycle = Some(self.lifecycle_figures(sh, engine, &work, &plain, tag)?);
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
        plain: &PlainBuild<'_>,
        tag: &str,
    ) -> Result<BuildFigure> {
        let no_cache = matches!(scenario, Scenario::Cold);
        let dockerfile = work.join("docker/Dockerfile");
        let binary = &xtask_binary()?;
        let spec = PlainBuild::spec(&dockerfile, work, if no_cache { &["--no-cache"] } else { &[] })?;
        let (mut xtask_ms, mut binary_ms, mut docker_ms) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..self.runs {
            for (xtask, samples) in
                [(CommandLine::new("cargo").arg("xtask"), &mut xtask_ms), (CommandLine::new(binary), &mut binary_ms)]
            {
                scenario.prepare(work)?;
                let xtask = xtask.args(["image", "--engine", plain.engine.kind().name(), "--tag", tag]);
                let xtask = xtask.args(["--context", work.as_str()]);
                let xtask = xtask.args(["--dockerfile", dockerfile.as_str()]);
                let xtask = xtask.args(self.offline.then_some("--offline")).args(no_cache.then_some("--no-cache"));
                let (took, ran) = run_timed(&xtask)?;
                plain.made.xtask_ran(&ran);
                samples.push(took);
            }
            scenario.prepare(work)?;
            let (ms, id) = plain.time(&spec)?;
            // Untimed: the tag names this build, as it would after `image`,
            // so that the next xtask run starts from the same state.
            plain.engine.tag(&id, tag)?;
            docker_ms.push(ms);
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

    fn size_figures(
        &self,
        engine: &Engine,
        work: &Utf8Path,
        plain: &PlainBuild<'_>,
        bases: &BTreeMap<String, String>,
        tag: &str,
    ) -> Result<SizeFigures> {
        eprintln!("Measuring sizes, and building the naive image.");
        let final_bytes = image_size(engine, tag)?;
        let runtime_base_bytes = image_size(engine, &bases["RUNTIME_IMAGE"])?;
        let site_packages = format!("/usr/local/lib/python{}/site-packages", bases["PYTHON_MINOR"]);
        // `.`: du runs in the image's working directory, where the app is.
        let counted = engine.run_once(tag, "du", &["-sbc", &site_packages, "."])?;
        let payload_bytes: u64 = counted
            .lines()
            .last()
            .and_then(|total| total.split_whitespace().next()?.parse().ok())
            .with_context(|| format!("cannot read du's total from `{counted}`"))?;

        // The beginner's context: everything in one folder (their Dockerfile
        // and .env, our app and libraries), no .dockerignore.
        let naive = work.join("naive");
        let fixture = project::root().join("tests/fixtures/naive");
        copy_tree(fixture.as_std_path(), naive.as_std_path()).context("cannot copy the naive fixture")?;
        copy_tree(work.join("app").as_std_path(), naive.as_std_path()).context("cannot copy the app")?;
        std::fs::copy(work.join("docker/libraries.list"), naive.join("libraries.list"))?;
        let builder = format!("BUILDER_IMAGE={}", bases["BUILDER_IMAGE"]);
        let spec = PlainBuild::spec(&naive.join("Dockerfile"), &naive, &["--build-arg", &builder])?;
        let (_, naive) = plain.time(&spec)?;
        let naive_bytes = image_size(engine, &naive)?;

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

    fn lifecycle_figures(
        &self,
        sh: &Shell,
        engine: &Engine,
        work: &Utf8Path,
        plain: &PlainBuild<'_>,
        tag: &str,
    ) -> Result<LifecycleFigures> {
        eprintln!("Timing start and stop ({} runs each).", self.runs);
        let info = engine.inspect_image(tag)?.context("the bench image is gone")?;
        let contract = Contract::of(&info.config, &Default::default());
        let (ready_ms, stop_ms) = self.start_and_stop(engine, &info.id, &contract)?;

        // The same image, started the way a shell-form CMD starts it.
        let shell_form = work.join("shell-form");
        sh.write_file(
            shell_form.join("Dockerfile"),
            // By tag: BuildKit reads `FROM sha256:…` as a repository to pull.
            format!("FROM {tag}\nCMD python -m uvicorn\n"),
        )?;
        let (_, shell_form_id) = plain.time(&PlainBuild::spec(&shell_form.join("Dockerfile"), &shell_form, &[])?)?;
        let (_, shell_form_stop_ms) = self.start_and_stop(engine, &shell_form_id, &contract)?;
        Ok(LifecycleFigures { ready_ms, stop_ms, shell_form_stop_ms })
    }

    /// Ready and stop times of `image`, over the runs.
    fn start_and_stop(&self, engine: &Engine, image: &str, contract: &Contract) -> Result<(Stats, Stats)> {
        let (mut ready, mut stop) = (Vec::new(), Vec::new());
        for _ in 0..self.runs {
            let clock = Instant::now();
            let container = engine.start(&Spec::owned("bench", image, contract.port))?;
            let port = container.endpoint()?;
            let status = service::wait_ready(&container, port, &contract.health, &[], READY_TIMEOUT)?;
            if status != 200 {
                bail!("{image} answered {status} on {}", contract.health);
            }
            ready.push(millis(clock.elapsed()));
            stop.push(millis(container.stop()?.took));
        }
        Ok((Stats::of(ready), Stats::of(stop)))
    }
}

/// Bytes of the project's context that reach the engine, counted as the
/// files a `FROM scratch` image copies from it: the same for both builders.
/// Its label is the run's (`run`): the image is this run's alone, though
/// another checkout of these files copies the same.
fn context_figures(
    sh: &Shell,
    root: &Utf8Path,
    work: &Utf8Path,
    plain: &PlainBuild<'_>,
    run: &str,
) -> Result<ContextFigures> {
    eprintln!("Measuring the build context, then again with 1 GiB in target/.");
    let probe = work.join("context.Dockerfile");
    sh.write_file(&probe, format!("FROM scratch\nCOPY . /context/\nLABEL dev.xtask.bench-run=\"{run}\"\n"))?;
    let spec = PlainBuild::spec(&probe, root, &[])?;
    let measure = || -> Result<(u64, f64)> {
        let (ms, id) = plain.time(&spec)?;
        Ok((image_size(plain.engine, &id)?, ms))
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

fn image_size(engine: &Engine, image: &str) -> Result<u64> {
    Ok(engine.inspect_image(image)?.with_context(|| format!("the engine has no image {image}"))?.size)
}

/// This xtask's binary, which the bench runs beside cargo's `cargo xtask`.
fn xtask_binary() -> Result<String> {
    let binary = std::env::current_exe().context("cannot find the xtask binary")?;
    Ok(binary.to_str().context("the xtask binary's path is not UTF-8")?.to_string())
}

/// Milliseconds `line` took; its output goes nowhere, a failure stops the bench.
fn time(line: &CommandLine) -> Result<f64> {
    Ok(run_timed(line)?.0)
}

/// Milliseconds `line` took, and what it said; a failure stops the bench.
fn run_timed(line: &CommandLine) -> Result<(f64, Ran)> {
    let clock = Instant::now();
    let output = process::output(line)?;
    let took = millis(clock.elapsed());
    if !output.status.success() {
        bail!("`{line}` failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok((took, output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_read() {
        let parse = |list: &[&str]| crate::cli::parse("bench", list.iter().map(Into::into)).and_then(Bench::new);
        assert_eq!(parse(&["--runs", "3"]).unwrap().runs, 3);
        assert!(parse(&["--runs", "0"]).is_err());
        assert!(parse(&["--tag", "x"]).is_err());
    }

    /// The plain build the bench times is the very command that the
    /// xtask it times beside it runs.
    #[test]
    fn the_plain_build_is_the_image_task_s_build_command() {
        let image_args = ["--context", "/w", "--dockerfile", "/w/docker/Dockerfile", "--no-cache"];
        let flags: crate::cli::ImageFlags = crate::cli::parse("image", image_args.iter().map(Into::into)).unwrap();
        let by_image = flags.into_spec().unwrap();
        let by_bench = PlainBuild::spec("/w/docker/Dockerfile".into(), "/w".into(), &["--no-cache"]).unwrap();
        let engine = Engine::default();
        let line = |spec| engine.build_command(spec, &Bases::Dockerfile, &[], "/t/iid".into()).unmasked();
        assert_eq!(line(&by_bench), line(&by_image));
        assert_eq!(
            line(&by_bench),
            "docker build --file /w/docker/Dockerfile --iidfile /t/iid --force-rm --no-cache /w"
        );
    }
}
