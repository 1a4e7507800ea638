//! The dev loop: serve the image, and on every change that reaches it,
//! rebuild from the cache, start the new container beside the old one,
//! and switch to it only once it answers on its ready path. The URL never
//! changes (a proxy of ours holds the port), and a build that fails or a
//! container that never becomes ready leaves the old one serving.
//!
//! The check `image` makes after a build (can the image start its app?)
//! is not made here: the new container is started anyway, and its
//! readiness proves more, so the loop does not pay twice.

use std::{
    collections::BTreeSet,
    net::SocketAddr,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use super::{obtain, wait_ready, Obtained, READY_TIMEOUT};
use crate::{
    engine::{
        build::BuildSpec,
        container::{Container, Settings, Spec},
        Engine,
    },
    model::watch_scope::WatchScope,
    report::{Printed, Report},
    sys::{
        millis,
        probe::{self, Header},
        proxy::Proxy,
        signals,
        watcher::Watcher,
    },
};

/// Quiet after the last event before a burst of them counts as done: an
/// editor's save (write, rename, chmod) comes within a few milliseconds.
const QUIET: Duration = Duration::from_millis(30);
/// The longest a burst is waited on: a `git checkout` of many files.
const LONGEST_BURST: Duration = Duration::from_secs(1);

/// What to serve, and where.
pub struct WatchSpec {
    pub spec: BuildSpec,
    pub settings: Settings,
    /// The path that says a new container is ready; None: the image's health path.
    pub ready: Option<String>,
    pub headers: Vec<Header>,
    /// The host port the URL keeps; None: a free one.
    pub port: Option<u16>,
    /// Poll the files instead of waiting for their events.
    pub poll: bool,
    pub scope: WatchScope,
}

/// Milliseconds of one cycle, from the first file event.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    /// From the first event to the build's start: the burst's quiet time.
    pub debounce: u64,
    pub build: u64,
    /// The check of the image: none, the start below proves it.
    pub check: u64,
    /// The engine's run until the container was started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<u64>,
    /// From the start until the new container answered 200.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready: Option<u64>,
    /// From the first event until the new code served on the URL.
    pub total: u64,
}

/// One cycle: a line of `watch`'s output.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cycle {
    pub cycle: u32,
    /// The files that changed, relative to the build context.
    pub changed: Vec<String>,
    /// `serving` (the new code serves), `kept` (it failed: the old code
    /// still serves), `unchanged` (the build is the image that serves).
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub image_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<Latency>,
    pub success: bool,
    pub message: String,
}

impl Report for Cycle {
    fn success(&self) -> bool {
        self.success
    }

    fn failure(message: String) -> Cycle {
        Cycle { message, ..Cycle::default() }
    }
}

/// The last line: how the loop went.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub summary: bool,
    pub cycles: u32,
    pub served: u32,
    pub kept: u32,
    /// Of the cycles that served new code: from the first event until it served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worst_ms: Option<u64>,
    pub success: bool,
    pub message: String,
}

impl Report for Summary {
    fn success(&self) -> bool {
        self.success
    }

    fn failure(message: String) -> Summary {
        Summary {
            summary: true,
            cycles: 0,
            served: 0,
            kept: 0,
            median_ms: None,
            worst_ms: None,
            success: false,
            message,
        }
    }
}

/// The loop, serving.
pub struct Watching {
    engine: Engine,
    spec: WatchSpec,
    watcher: Watcher,
    proxy: Proxy,
    serving: Container,
    image_id: String,
    cycles: u32,
    totals: Vec<u64>,
    kept: u32,
    /// The replaced containers' graceful stops, under way: the loop goes
    /// on to the next edit meanwhile, and waits for them at its end.
    stopping: Vec<std::thread::JoinHandle<()>>,
}

fn ms(since: Instant) -> u64 {
    millis(since.elapsed()) as u64
}

/// Builds and serves the image: the loop, and its first line.
pub fn start(engine: &Engine, spec: WatchSpec) -> Result<(Watching, Cycle)> {
    engine.sweep_leftovers()?;
    let clock = Instant::now();
    let image = obtain(engine, &spec.spec, true)?;
    let build = ms(clock);
    let (container, address, started) = serve(engine, &spec, &image).map_err(|e| image.reject(e))?;
    let image_id = image.accept()?.image_id;
    let listen = SocketAddr::from(([127, 0, 0, 1], spec.port.unwrap_or(0)));
    let proxy =
        Proxy::bind(listen, address).with_context(|| format!("cannot serve on {listen}: choose another --port"))?;
    let (inside, triggers) = (spec.scope.clone(), spec.scope.clone());
    let descend = move |dir: &camino::Utf8Path| inside.descends(dir);
    let watcher = Watcher::new(&spec.scope.folders(), descend, move |path| triggers.triggers(path), spec.poll)?;
    if let Some(why) = &watcher.polling {
        eprintln!("Polling the files every 200 ms, {why}.");
    }
    let url = format!("http://{}", proxy.address());
    let message = format!(
        "{} serves on {url} as {} container {}; watching {} for changes until Ctrl-C.",
        spec.spec.tag,
        engine.name(),
        container.name,
        spec.spec.context
    );
    let first = Cycle {
        outcome: "serving",
        image_id: image_id.clone(),
        url,
        latency_ms: Some(Latency { build, total: build + started.start + started.ready, ..started.into() }),
        success: true,
        message,
        ..Cycle::default()
    };
    let watching = Watching {
        engine: engine.clone(),
        spec,
        watcher,
        proxy,
        serving: container,
        image_id,
        cycles: 0,
        totals: Vec::new(),
        kept: 0,
        stopping: Vec::new(),
    };
    Ok((watching, first))
}

/// Milliseconds of a start: the engine's run, then the wait for a 200.
struct Started {
    start: u64,
    ready: u64,
}

impl From<Started> for Latency {
    fn from(started: Started) -> Latency {
        Latency { start: Some(started.start), ready: Some(started.ready), ..Latency::default() }
    }
}

/// Starts the image and waits until its ready path answers 200: the
/// container, where it answers, and how long each took.
fn serve(engine: &Engine, spec: &WatchSpec, image: &Obtained<'_>) -> Result<(Container, SocketAddr, Started)> {
    let contract = image.contract(&spec.spec);
    // A free port chosen here, on a local engine: one question less to the
    // engine (`port`) on every cycle.
    let host_port = (!engine.is_remote()).then(|| probe::free_port().ok()).flatten();
    let run = Spec {
        settings: spec.settings.clone(),
        host_port,
        ..Spec::owned("watch", &image.report().image_id, contract.port)
    };
    let clock = Instant::now();
    let container = engine.start(&run)?;
    let address = container.endpoint()?;
    let start = ms(clock);
    let clock = Instant::now();
    let ready = spec.ready.as_deref().unwrap_or(&contract.health);
    match wait_ready(&container, address, ready, &spec.headers, READY_TIMEOUT)? {
        200 => Ok((container, address, Started { start, ready: ms(clock) })),
        status => bail!("GET {ready} answered {status}, not 200. {}", container.last_words()),
    }
}

impl Watching {
    /// Watches until a signal comes, printing a line per cycle, then the
    /// summary; removes what it started.
    pub fn run(mut self, print: &mut dyn FnMut(Printed)) {
        while let Some(burst) = self.next_burst() {
            self.cycles += 1;
            let cycle = self.cycle(burst);
            print(Printed::line(&cycle));
        }
        let served = self.totals.len() as u32;
        let mut sorted = self.totals.clone();
        sorted.sort_unstable();
        let median = sorted.get(sorted.len().saturating_sub(1) / 2).copied();
        let message = format!(
            "Stopped watching after {} cycles: {served} served new code{}, {} kept the old; removed {}.",
            self.cycles,
            median.map_or(String::new(), |m| format!(" (median {m} ms from the save)")),
            self.kept,
            self.serving.name
        );
        let summary = Summary {
            summary: true,
            cycles: self.cycles,
            served,
            kept: self.kept,
            median_ms: median,
            worst_ms: sorted.last().copied(),
            success: true,
            message,
        };
        for stop in std::mem::take(&mut self.stopping) {
            let _ = stop.join();
        }
        // The container goes with `self`, the proxy with it.
        drop(self);
        print(Printed::line(&summary));
    }

    /// The next burst of changes that reach the image, once it is quiet:
    /// when it began, and the files. None when a signal came.
    fn next_burst(&mut self) -> Option<(Instant, BTreeSet<String>)> {
        let first = loop {
            signals::check().ok()?;
            if let Some(change) = self.watcher.next(Duration::from_millis(100)) {
                break change;
            }
        };
        let mut changed = BTreeSet::new();
        self.note(&first.1, &mut changed);
        self.gather(first.0, &mut changed);
        Some((first.0, changed))
    }

    /// Adds the changes that follow until `QUIET` passes without one.
    fn gather(&mut self, since: Instant, changed: &mut BTreeSet<String>) {
        while since.elapsed() < LONGEST_BURST {
            match self.watcher.next(QUIET) {
                Some((_, path)) => self.note(&path, changed),
                None => break,
            }
        }
    }

    /// Records a changed file; a folder is no file to name (its files come
    /// as changes of their own).
    fn note(&self, path: &camino::Utf8Path, changed: &mut BTreeSet<String>) {
        if !path.is_dir() {
            changed.insert(self.spec.scope.shown(path));
        }
    }

    /// Changes that came during a build: they make it stale.
    fn pending(&mut self, changed: &mut BTreeSet<String>) -> bool {
        let mut any = false;
        while let Some((_, path)) = self.watcher.next(Duration::ZERO) {
            self.note(&path, changed);
            any = true;
        }
        any
    }

    fn cycle(&mut self, (first, mut changed): (Instant, BTreeSet<String>)) -> Cycle {
        let url = format!("http://{}", self.proxy.address());
        let mut latency = Latency { debounce: ms(first), ..Latency::default() };
        let mut cycle = Cycle { cycle: self.cycles, url, ..Cycle::default() };
        let outcome = self.rebuild(first, &mut changed, &mut latency);
        cycle.changed = changed.into_iter().collect();
        latency.total = ms(first);
        match outcome {
            Ok(Some((container, image_id))) => {
                let old = std::mem::replace(&mut self.serving, container);
                self.image_id = image_id;
                self.totals.push(latency.total);
                cycle.outcome = "serving";
                cycle.message = format!(
                    "New code serves on {} ({} ms from the save): {}.",
                    cycle.url,
                    latency.total,
                    cycle.changed.join(", ")
                );
                self.stopping.push(std::thread::spawn(move || drop(old.stop())));
            }
            Ok(None) => {
                cycle.outcome = "unchanged";
                cycle.message = "The build is the image that serves already: nothing to replace.".into();
            }
            Err(error) => {
                self.kept += 1;
                cycle.outcome = "kept";
                cycle.message = format!("{error:#} The old code still serves on {}.", cycle.url);
                eprintln!("{}", cycle.message);
            }
        }
        cycle.success = cycle.outcome != "kept";
        cycle.image_id = self.image_id.clone();
        cycle.latency_ms = Some(latency);
        cycle
    }

    /// Builds (again while changes keep coming during the build), starts
    /// the build beside the serving container and switches to it once it
    /// is ready: the new container and its image, or None when the build
    /// is the image that serves.
    fn rebuild(
        &mut self,
        first: Instant,
        changed: &mut BTreeSet<String>,
        latency: &mut Latency,
    ) -> Result<Option<(Container, String)>> {
        let engine = self.engine.clone();
        let image = loop {
            let clock = Instant::now();
            // A change during the build stops it (`signals::cancel`).
            self.watcher.arm(true);
            let built = obtain(&engine, &self.spec.spec, true);
            self.watcher.arm(false);
            latency.build = ms(clock);
            let stale = signals::cancelled() | self.pending(changed);
            signals::resume();
            match built {
                Ok(image) if !stale => break image,
                Ok(image) => self.discard(&image),
                Err(_) if stale => {}
                Err(error) => return Err(error),
            }
            eprintln!("Files changed during the build: building again with the newest.");
            self.gather(first, changed);
        };
        let id = image.report().image_id.clone();
        if id == self.image_id {
            return Ok(None);
        }
        let (container, address, started) = match serve(&engine, &self.spec, &image) {
            Ok(served) => served,
            Err(error) => {
                let error = anyhow::anyhow!("The new build did not become ready: {error:#}");
                self.discard(&image);
                return Err(error);
            }
        };
        (latency.start, latency.ready) = (Some(started.start), Some(started.ready));
        self.proxy.switch(address);
        image.accept()?;
        Ok(Some((container, id)))
    }

    /// Removes a build that will not serve, unless a tag names it or it
    /// is the image that serves.
    fn discard(&self, image: &Obtained<'_>) {
        let id = &image.report().image_id;
        if let Obtained::Built(candidate) = image {
            if !candidate.unchanged && *id != self.image_id {
                self.engine.remove_images(&[id]);
            }
        }
    }
}
