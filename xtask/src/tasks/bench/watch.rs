//! `bench --watch`: the dev loop, side by side with what a user would run
//! instead, on the same edits: `cargo xtask watch`, and `docker compose
//! watch` with a `rebuild` action on the same service. Each edit appends
//! a new route to the app; the time is from the save until that route
//! answers 200 on the loop's one URL, polled every 20 ms.
//!
//! With `--stack`, the loops serve the whole stack of compose.yaml:
//! `cargo xtask watch --stack`, and `docker compose watch` with the
//! `rebuild` action on the API service (the worker and beat have no build
//! of their own in the file, so Compose's loop leaves them on the old
//! code; the xtask's replaces them too).

use std::{
    fs::OpenOptions,
    io::{BufRead, BufReader, Write},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use camino::Utf8Path;

use super::{
    figures::{Stats, WatchFigures},
    made::Made,
    xtask_binary, Bench,
};
use crate::{
    engine::{build::Bases, capabilities::ComposeVia, compose::Project, Engine},
    service::stack::API_IMAGE,
    standins,
    sys::{
        millis, probe,
        process::{CommandLine, Group},
        project,
        wait::Wait,
    },
};

/// How long one edit may take to serve before the bench gives up.
const EDIT_TIMEOUT: Duration = Duration::from_secs(60);
/// With the stack, the pause after each edit served: both loops may go
/// on replacing services after the API serves, and an edit should not
/// time the one before it.
const STACK_SETTLE: Duration = Duration::from_secs(10);

/// Waits until GET `path` on 127.0.0.1:`port` answers 200.
fn until_200(port: u16, path: &str) -> Result<()> {
    let address = ([127, 0, 0, 1], port).into();
    let answers = |_| Ok((probe::get(address, path, &[], Duration::from_secs(2)).ok() == Some(200)).then_some(()));
    Wait::new(EDIT_TIMEOUT, Duration::from_millis(20))
        .until(answers)?
        .with_context(|| format!("GET {path} did not answer 200 within {} s", EDIT_TIMEOUT.as_secs()))
}

impl Bench {
    /// The watch figures, from the project's app and Dockerfile copied to
    /// `work`; what the loops built goes to `made`.
    pub(super) fn watch_figures(
        &self,
        engine: &Engine,
        work: &Utf8Path,
        bases: &Bases,
        tag: &str,
        made: &Made,
    ) -> Result<WatchFigures> {
        let edits = self.runs * 4;
        let main = work.join("app/main.py");
        let mut route = 0;
        let mut edit_and_time = |port: u16| -> Result<f64> {
            route += 1;
            let path = format!("/bench-edit-{route}");
            let mut file =
                OpenOptions::new().append(true).open(&main).with_context(|| format!("cannot edit {main}"))?;
            writeln!(file, "\n\n@app.get(\"{path}\")\ndef bench_edit_{route}() -> dict[str, int]:\n    return {{\"edit\": {route}}}")?;
            drop(file);
            let clock = Instant::now();
            until_200(port, &path)?;
            let took = millis(clock.elapsed());
            if self.stack {
                std::thread::sleep(STACK_SETTLE);
            }
            Ok(took)
        };
        let file = work.join("compose.yaml");

        eprintln!("Timing `cargo xtask watch`, {edits} edits.");
        let binary = xtask_binary()?;
        let port = probe::free_port()?;
        let xtask = CommandLine::new(binary.as_str())
            .args(["watch", "--engine", engine.kind().name(), "--tag", tag, "--port", &port.to_string()])
            .args(["--context", work.as_str(), "--dockerfile", work.join("docker/Dockerfile").as_str()])
            .args(self.offline.then_some("--offline"))
            .args(if self.stack { vec!["--stack", "--file", file.as_str()] } else { Vec::new() });
        let mut watch = Group::spawn(&xtask, true)?;
        // Both are read all along, so that a full pipe never stalls it: its
        // lines (one a cycle) and its stderr say what it built.
        let stderr = watch.0.stderr.take().context("no stderr")?;
        let stderr = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
        let mut lines = BufReader::new(watch.0.stdout.take().context("no stdout")?).lines();
        let first = lines.next().context("watch printed nothing")??;
        let cycles = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<String>>().join("\n"));
        made.xtask(&first, "");
        if !first.contains(r#""success":true"#) {
            bail!("watch did not start: {first}");
        }
        let xtask_ms = (0..edits).map(|_| edit_and_time(port)).collect::<Result<Vec<f64>>>();
        drop(watch);
        made.xtask(&cycles.join().unwrap_or_default(), &stderr.join().unwrap_or_default());
        if self.stack {
            // The loop stopped the stack; its data goes too.
            let down = Command::new(&binary)
                .args(["down", "--volumes", "--engine", engine.kind().name()])
                .args(["--file", file.as_str()])
                .output();
            down.context("cannot take the stack down")?;
        }
        let xtask_ms = xtask_ms?;

        // Plain Compose needs an engine it talks to without our help.
        let compose_ms = match engine.kind().can().compose {
            ComposeVia::Daemon => {
                eprintln!("Timing `docker compose watch`, {edits} edits.");
                Some(self.compose_watch(engine, work, bases, &mut edit_and_time, made)?)
            }
            ComposeVia::Service => None,
        };
        Ok(WatchFigures {
            stack: self.stack,
            edits,
            xtask_ms: Stats::of(xtask_ms),
            compose_watch_ms: compose_ms.map(Stats::of),
        })
    }

    /// `docker compose watch` with a `rebuild` action on the same service,
    /// built from the same files on the same bases: the service alone, or
    /// with `--stack` the API service of compose.yaml in its stack. Each
    /// build's image, which its name moves to, goes to `made`.
    fn compose_watch(
        &self,
        engine: &Engine,
        work: &Utf8Path,
        bases: &Bases,
        edit_and_time: &mut dyn FnMut(u16) -> Result<f64>,
        made: &Made,
    ) -> Result<Vec<f64>> {
        let port = probe::free_port()?;
        let name = project::unique_name("xtask-bench-watch");
        let image = format!("{name}:latest");
        let args: String = bases
            .build_args(&Default::default())
            .iter()
            .map(|(key, value)| format!("        {key}: \"{value}\"\n"))
            .collect();
        // Over compose.yaml, the API's ports replace the file's.
        let replace = if self.stack { " !override" } else { "" };
        let file = work.join("compose.watch.yaml");
        std::fs::write(
            &file,
            format!(
                "services:\n  api:\n    image: {image}\n    build:\n      context: .\n      dockerfile: \
                 docker/Dockerfile\n      args:\n{args}    ports:{replace} [\"127.0.0.1:{port}:8000\"]\n    \
                 develop:\n      watch:\n        - action: rebuild\n          path: ./app\n"
            ),
        )?;
        let files = match self.stack {
            true => vec![work.join("compose.yaml"), file],
            false => vec![file],
        };
        let mut compose = Project::new(engine, name, files)?;
        if self.stack {
            // The worker, beat and migration run the API's image too.
            compose.set(API_IMAGE, &image);
            compose.set_secret("POSTGRES_PASSWORD", &project::unique_name("bench"));
            if self.offline {
                standins::stack_images(engine)?.into_iter().for_each(|(key, value)| compose.set(key, &value));
            }
        }
        let watch = compose.watch()?;
        // Once new code serves, the name names the build that serves it.
        let built = || -> Result<()> {
            made.image(&engine.inspect_image(&image)?.context("compose named no image")?.id);
            Ok(())
        };
        let measured = until_200(port, "/").and_then(|()| built()).and_then(|()| {
            (0..self.runs * 4).map(|_| edit_and_time(port).and_then(|took| built().map(|()| took))).collect()
        });
        drop(watch);
        let _ = compose.down(true);
        engine.remove_images(&[&image]);
        measured
    }
}
