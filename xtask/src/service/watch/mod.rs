//! The dev loop: serve the image, and on every change that reaches it,
//! rebuild from the cache, start the new container beside the old one,
//! and switch to it only once it answers on its ready path. The URL never
//! changes (a proxy of ours holds the port), and a build that fails or a
//! container that never becomes ready leaves the old one serving.
//!
//! The check `image` makes after a build (can the image start its app?)
//! is not made here: the new container is started anyway, and its
//! readiness proves more, so the loop does not pay twice.
//!
//! With `--stack` the loop serves this checkout's stack instead (`stack`).

mod stack;

use std::{
    collections::BTreeSet,
    net::SocketAddr,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;

use self::stack::{Replaced, WatchedStack};
use super::{
    obtain,
    stack::{ServiceState, StackSpec},
    wait_serving, Obtained,
};
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
        signals, text,
        watcher::Watcher,
    },
};

/// Quiet after the last event before a burst of them counts as done: an
/// editor's save (write, rename, chmod) comes within a few milliseconds.
const QUIET: Duration = Duration::from_millis(30);
/// The longest a burst is waited on: a `git checkout` of many files.
const LONGEST_BURST: Duration = Duration::from_secs(1);

/// What the project's files and the flags say to build and run: read at
/// the start, and again when one of the project's files changes.
pub struct Served {
    pub spec: BuildSpec,
    pub settings: Settings,
    /// The path that says a new container is ready; None: the image's health path.
    pub ready: Option<String>,
    pub headers: Vec<Header>,
}

/// The project's files beside the Dockerfile that a build or a start
/// reads: a change to them is a change to what runs.
const PROJECT_FILES: [&str; 4] = ["build-args", "run.env", "run.local.env", "checks.json"];

fn project_files(spec: &BuildSpec) -> Vec<Utf8PathBuf> {
    let beside = spec.dockerfile.parent().unwrap_or(Utf8Path::new("."));
    PROJECT_FILES.iter().map(|name| beside.join(name)).collect()
}

/// The build context's `.dockerignore`: a change to it changes what
/// reaches the image, and so what the loop watches.
fn ignore_file(spec: &BuildSpec) -> Utf8PathBuf {
    spec.context.join(".dockerignore")
}

/// What `spec`'s build reads: its context as `.dockerignore` lets it
/// through, the Dockerfile, the project's files beside it, and the
/// `.dockerignore` itself.
fn scope(spec: &BuildSpec) -> WatchScope {
    let ignore = std::fs::read_to_string(ignore_file(spec)).unwrap_or_default();
    let files = [spec.dockerfile.clone(), ignore_file(spec)].into_iter().chain(project_files(spec));
    WatchScope::new(&spec.context, &ignore, files.collect())
}

/// The loop's file events, for what `scope` says reaches the image.
fn watcher(scope: &WatchScope, poll: bool) -> Result<Watcher> {
    let (inside, triggers) = (scope.clone(), scope.clone());
    let descend = move |dir: &Utf8Path| inside.descends(dir);
    Watcher::new(&scope.folders(), descend, move |path| triggers.triggers(path), poll)
}

/// What to serve, and where.
pub struct WatchSpec {
    pub served: Served,
    /// The project's files beside the Dockerfile (build args, run
    /// settings, checks): a change to one reads them all again (`reread`).
    pub project_files: Vec<Utf8PathBuf>,
    pub reread: Box<dyn Fn() -> Result<Served>>,
    /// The host port the URL keeps; None: a free one.
    pub port: Option<u16>,
    /// Poll the files instead of waiting for their events.
    pub poll: bool,
    pub scope: WatchScope,
    /// Serve this stack, replacing its services of our image on each build.
    pub stack: Option<StackSpec>,
}

impl WatchSpec {
    /// Serving `served` (read again with `reread`), on `port`, alone or
    /// with `stack`; what it watches follows from what it builds.
    pub fn new(
        served: Served,
        reread: Box<dyn Fn() -> Result<Served>>,
        port: Option<u16>,
        poll: bool,
        stack: Option<StackSpec>,
    ) -> WatchSpec {
        let (project_files, scope) = (project_files(&served.spec), scope(&served.spec));
        WatchSpec { served, project_files, reread, port, poll, scope, stack }
    }
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
    /// `--stack`: then, the replacement of the stack's services of our image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<u64>,
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
    /// `--stack`, on the first line: each service as `up` reports it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceState>,
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

/// What the loop serves, and replaces on every new build.
enum Serving {
    Container(Container),
    Stack(Box<WatchedStack>),
}

impl Serving {
    /// What the end of the loop does with it, as a sentence's end.
    fn removal(&self) -> String {
        match self {
            Serving::Container(container) => format!("removed {}", container.name),
            Serving::Stack(stack) => format!("stopped the stack {} (its data stays)", stack.name()),
        }
    }
}

/// The loop, serving.
pub struct Watching {
    engine: Engine,
    spec: WatchSpec,
    watcher: Watcher,
    proxy: Proxy,
    serving: Serving,
    image_id: String,
    cycles: u32,
    totals: Vec<u64>,
    kept: u32,
    /// A project file changed, and was not read again yet.
    reread: bool,
    /// `.dockerignore` changed: what reaches the image, and so what is
    /// watched, was not read again yet.
    rescope: bool,
    /// The replaced containers' graceful stops, under way: the loop goes
    /// on to the next edit meanwhile, and waits for them at its end.
    stopping: Vec<std::thread::JoinHandle<()>>,
}

fn ms(since: Instant) -> u64 {
    millis(since.elapsed()) as u64
}

/// Stops `container` the graceful way, while the loop goes on.
fn stop_later(container: Container) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || drop(container.stop()))
}

/// Builds and serves the image: the loop, and its first line.
pub fn start(engine: &Engine, mut spec: WatchSpec) -> Result<(Watching, Cycle)> {
    // A busy port costs no build.
    if let (Some(port), None) = (spec.port, &spec.stack) {
        probe::ensure_free(port)?;
    }
    engine.sweep_leftovers()?;
    // The stack's file first: a mistake in it costs no build.
    let stack = match &spec.stack {
        Some(stack) => {
            super::stack::sweep_abandoned(engine)?;
            Some(WatchedStack::open(engine, stack, &spec.served.spec.tag)?)
        }
        None => None,
    };
    // The stack's port, which the file gives: busy costs no build either,
    // unless this checkout's own stack holds it (the loop takes it over).
    if let Some(stack) = &stack {
        match (spec.port, stack.file_port) {
            (Some(port), _) if !stack.holds(port) => probe::ensure_free(port)?,
            (None, Some(port)) if !stack.holds(port) && probe::ensure_free(port).is_err() => bail!(
                "Port {port} on 127.0.0.1, where the stack's file publishes its {} service, is busy: choose \
                 another with --port.",
                stack.entry()
            ),
            _ => {}
        }
    }
    let clock = Instant::now();
    let image = obtain(engine, &spec.served.spec, true)?;
    let build = ms(clock);
    let (serving, address, latency) = match stack {
        None => {
            let (container, address, started) = serve(engine, &spec, &image, None).map_err(|e| image.reject(e))?;
            (Serving::Container(container), address, started.into())
        }
        Some(mut stack) => {
            spec.port = spec.port.or(stack.file_port);
            let clock = Instant::now();
            match stack.up(&image.report().image_id) {
                Ok(address) => {
                    (Serving::Stack(Box::new(stack)), address, Latency { ready: Some(ms(clock)), ..Latency::default() })
                }
                Err(error) => {
                    // Down first: its containers hold the image.
                    drop(stack);
                    return Err(image.reject(error));
                }
            }
        }
    };
    let image_id = image.accept()?.image_id;
    let listen = SocketAddr::from(([127, 0, 0, 1], spec.port.unwrap_or(0)));
    let proxy =
        Proxy::bind(listen, address).with_context(|| format!("cannot serve on {listen}: choose another --port"))?;
    let watcher = watcher(&spec.scope, spec.poll)?;
    if let Some(why) = &watcher.polling {
        eprintln!("Polling the files every 200 ms, {why}.");
    }
    let url = format!("http://{}", proxy.address());
    let what = match &serving {
        Serving::Container(container) => format!("as {} container {}", engine.name(), container.name),
        Serving::Stack(stack) => {
            format!("with its stack {} of {} services on {}", stack.name(), stack.services.len(), engine.name())
        }
    };
    let message = format!(
        "{} serves on {url} {what}; watching {} for changes until Ctrl-C.",
        spec.served.spec.tag, spec.served.spec.context
    );
    let total = build + latency.start.unwrap_or(0) + latency.ready.unwrap_or(0);
    let first = Cycle {
        outcome: "serving",
        image_id: image_id.clone(),
        url,
        latency_ms: Some(Latency { build, total, ..latency }),
        success: true,
        message,
        services: match &serving {
            Serving::Stack(stack) => stack.services.clone(),
            Serving::Container(_) => Vec::new(),
        },
        ..Cycle::default()
    };
    let watching = Watching {
        engine: engine.clone(),
        spec,
        watcher,
        proxy,
        serving,
        image_id,
        cycles: 0,
        totals: Vec::new(),
        kept: 0,
        reread: false,
        rescope: false,
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

/// Starts the image (with `stack`, as a one-off of its entry service
/// beside it) and waits until its ready path answers 200: the container,
/// where it answers, and how long each took.
fn serve(
    engine: &Engine,
    spec: &WatchSpec,
    image: &Obtained<'_>,
    stack: Option<&mut WatchedStack>,
) -> Result<(Container, SocketAddr, Started)> {
    let served = &spec.served;
    let contract = image.contract(&served.spec);
    // The path asked for, else the one the stack's healthcheck GETs, else the image's.
    let named = served.ready.clone().or_else(|| stack.as_ref().and_then(|s| s.ready.clone()));
    let ready = named.clone().unwrap_or(contract.health);
    let id = &image.report().image_id;
    // A free port chosen here, on a local engine: one question less to the
    // engine (`port`) on every cycle.
    let host_port = (!engine.is_remote()).then(|| probe::free_port().ok()).flatten();
    let clock = Instant::now();
    let container = match stack {
        Some(stack) => stack.next(id, host_port)?,
        None => {
            let settings = served.settings.clone();
            engine.start(&Spec { settings, host_port, ..Spec::owned("watch", id, contract.port) })?
        }
    };
    let address = container.endpoint()?;
    let start = ms(clock);
    let clock = Instant::now();
    wait_serving(&container, address, &ready, named.is_some(), &served.headers)?;
    Ok((container, address, Started { start, ready: ms(clock) }))
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
            "Stopped watching after {} cycles: {served} served new code{}, {} kept the old; {}.",
            self.cycles,
            median.map_or(String::new(), |m| format!(" (median {m} ms from the save)")),
            self.kept,
            self.serving.removal()
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
        // What serves goes with `self`, the proxy with it.
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
    fn note(&mut self, path: &Utf8Path, changed: &mut BTreeSet<String>) {
        self.reread |= self.spec.project_files.iter().any(|file| file == path);
        self.rescope |= *path == ignore_file(&self.spec.served.spec);
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
        match outcome {
            Ok(Some(image_id)) => {
                self.image_id = image_id;
                self.totals.push(latency.total);
                cycle.outcome = "serving";
                cycle.message = format!(
                    "New code serves on {} ({} ms from the save): {}.",
                    cycle.url,
                    latency.total,
                    text::some_of(&cycle.changed, 5)
                );
            }
            Ok(None) => {
                latency.total = ms(first);
                cycle.outcome = "unchanged";
                cycle.message = "The build is the image that serves already: nothing to replace.".into();
            }
            Err(error) => {
                latency.total = ms(first);
                self.kept += 1;
                cycle.outcome = "kept";
                cycle.message = format!("{error:#}");
                eprintln!("{}", cycle.message);
            }
        }
        cycle.success = cycle.outcome != "kept";
        cycle.image_id = self.image_id.clone();
        cycle.latency_ms = Some(latency);
        cycle
    }

    /// "… The old code still serves on URL.": a cycle that kept it.
    fn kept(&self, error: anyhow::Error) -> anyhow::Error {
        anyhow::anyhow!("{error:#} The old code still serves on http://{}.", self.proxy.address())
    }

    /// Builds (again while changes keep coming during the build), starts
    /// the build beside what serves and switches to it once it is ready:
    /// the new image, or None when the build is the image that serves.
    fn rebuild(
        &mut self,
        first: Instant,
        changed: &mut BTreeSet<String>,
        latency: &mut Latency,
    ) -> Result<Option<String>> {
        let engine = self.engine.clone();
        let mut reread = false;
        let image = loop {
            // A project file that changed is read again before the build; a
            // mistake in one keeps the old code serving, and the files are
            // read again next time.
            if self.reread {
                self.spec.served = (self.spec.reread)().map_err(|error| self.kept(error))?;
                (self.reread, reread) = (false, true);
            }
            // A path it newly lets in is watched from now on, one it keeps
            // out no longer triggers.
            if self.rescope {
                self.spec.scope = scope(&self.spec.served.spec);
                self.watcher = watcher(&self.spec.scope, self.spec.poll).map_err(|error| self.kept(error))?;
                self.rescope = false;
            }
            let clock = Instant::now();
            // A change during the build stops it (`signals::cancel`).
            self.watcher.arm(true);
            let built = obtain(&engine, &self.spec.served.spec, true);
            self.watcher.arm(false);
            latency.build = ms(clock);
            let stale = signals::cancelled() | self.pending(changed);
            signals::resume();
            match built {
                Ok(image) if !stale => break image,
                Ok(image) => self.discard(&image),
                Err(_) if stale => {}
                Err(error) => return Err(self.kept(error)),
            }
            eprintln!("Files changed during the build: building again with the newest.");
            self.gather(first, changed);
        };
        let id = image.report().image_id.clone();
        // A container's settings (run.env, checks.json) changed: the same
        // image starts again with them. The stack's services take theirs
        // from the Compose file.
        let settings_changed = reread && matches!(self.serving, Serving::Container(_));
        if id == self.image_id && !settings_changed {
            return Ok(None);
        }
        let stack = match &mut self.serving {
            Serving::Stack(stack) => Some(&mut **stack),
            Serving::Container(_) => None,
        };
        let (container, address, started) = match serve(&engine, &self.spec, &image, stack) {
            Ok(served) => served,
            Err(error) => {
                let error = self.kept(anyhow::anyhow!("The new build did not become ready: {error:#}"));
                self.discard(&image);
                return Err(error);
            }
        };
        (latency.start, latency.ready) = (Some(started.start), Some(started.ready));
        self.proxy.switch(address);
        latency.total = ms(first);
        let old = match &mut self.serving {
            Serving::Container(serving) => std::mem::replace(serving, container),
            Serving::Stack(stack) => {
                let clock = Instant::now();
                let replaced = stack.replace(&id, &self.image_id);
                latency.stack = Some(ms(clock));
                match replaced {
                    Replaced::New(address) => {
                        self.proxy.switch(address);
                        self.stopping.extend(stack.stand_in().map(stop_later));
                        container
                    }
                    Replaced::Old(address, error) => {
                        self.proxy.switch(address);
                        drop(container);
                        let error = self.kept(error);
                        self.discard(&image);
                        return Err(error);
                    }
                    Replaced::Neither(error) => {
                        stack.keep_serving(container);
                        let url = self.proxy.address();
                        return Err(anyhow::anyhow!(
                            "{error:#} A one-off container serves the new build on http://{url}."
                        ));
                    }
                }
            }
        };
        image.accept()?;
        self.stopping.push(stop_later(old));
        Ok(Some(id))
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
