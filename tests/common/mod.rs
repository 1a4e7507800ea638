//! What the acceptance tests share: running the real xtask binary, a
//! Docker engine check that never skips in CI, and guards that remove
//! what a test made, pass or fail.
#![allow(dead_code)] // each test binary uses its own part of this

pub mod checkout;
pub mod engine_suite;
pub mod registry;
pub mod remote_host;
pub mod stack_suite;
pub mod watch_suite;

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

use serde_json::Value;
use xtask::{
    engine::{choice::on_path, Engine, Kind},
    sys::files::copy_tree,
};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A name unique across test threads and concurrent test runs.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

pub struct Run {
    pub code: i32,
    pub json: Value,
    pub stderr: String,
    pub took: Duration,
}

impl Run {
    pub fn str(&self, field: &str) -> &str {
        self.json[field].as_str().unwrap_or_else(|| panic!("no string `{field}` in {}", self.json))
    }
}

/// `cargo xtask ARGS` through the built binary. The tests build on the
/// offline stand-in bases unless XTASK_OFFLINE says otherwise, so that
/// they need no registry.
pub fn xtask(args: &[&str]) -> Run {
    xtask_with(args, &[])
}

pub fn xtask_with(args: &[&str], env: &[(&str, &str)]) -> Run {
    finish(spawn_xtask(args, env))
}

/// Starts the xtask with stdout and stderr captured, for `finish`.
pub fn spawn_xtask(args: &[&str], env: &[(&str, &str)]) -> (Child, Instant) {
    spawn_xtask_of(Path::new(env!("CARGO_BIN_EXE_xtask")), &root(), args, env)
}

/// `spawn_xtask` of the xtask `binary`, run in the folder `dir`: another
/// checkout's (`checkout::Checkout`).
pub fn spawn_xtask_of(binary: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Child, Instant) {
    let mut command = Command::new(binary);
    command.args(args).current_dir(dir).stdout(Stdio::piped()).stderr(Stdio::piped());
    if std::env::var_os("XTASK_OFFLINE").is_none() {
        command.env("XTASK_OFFLINE", "1");
    }
    command.envs(env.iter().copied());
    (command.spawn().expect("the xtask binary runs"), Instant::now())
}

/// Waits for a spawned xtask and reads its one JSON document.
pub fn finish((child, started): (Child, Instant)) -> Run {
    let output = child.wait_with_output().unwrap();
    run_of(output, started)
}

/// For a task that goes on after its report (`run --attach`): reads the
/// xtask's stdout until its JSON document is complete, calls `then` with
/// its pid, and waits for it to end.
pub fn finish_after_report((mut child, started): (Child, Instant), then: impl FnOnce(u32)) -> Run {
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    // Drained all along, so that a full stderr pipe never stalls the xtask.
    let stderr = std::thread::spawn(move || {
        let mut said = Vec::new();
        let _ = stderr.read_to_end(&mut said);
        said
    });
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while serde_json::from_slice::<Value>(&seen).is_err() {
        match stdout.read(&mut buf).unwrap() {
            0 => break,
            n => seen.extend_from_slice(&buf[..n]),
        }
    }
    then(child.id());
    stdout.read_to_end(&mut seen).unwrap();
    let status = child.wait().unwrap();
    run_of(Output { status, stdout: seen, stderr: stderr.join().unwrap() }, started)
}

fn run_of(output: Output, started: Instant) -> Run {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{stdout}"));
    Run {
        code: output.status.code().unwrap_or(-1),
        json,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        took: started.elapsed(),
    }
}

/// Whether every program of `programs` is installed, for a test that needs
/// `what`: outside CI a missing one skips the test with a note; in CI it
/// fails it.
pub fn tools_on_path(programs: &[&str], what: &str) -> bool {
    let missing: Vec<&str> = programs.iter().copied().filter(|program| !on_path(program)).collect();
    if !missing.is_empty() {
        assert!(std::env::var_os("CI").is_none(), "CI must run the {what} tests, and {missing:?} are not installed");
        eprintln!("skipped: {what} needs {missing:?} (CI runs this test)");
    }
    missing.is_empty()
}

/// The engine the tests and the xtask use: XTASK_ENGINE's, else Docker
/// (never detected: a test run on a machine without Docker must fail, not
/// quietly test podman).
pub fn the_engine() -> Engine {
    let named = std::env::var("XTASK_ENGINE").ok().filter(|e| !e.is_empty());
    Engine::of(named.map_or(Kind::Docker, |name| Kind::parse(&name).expect("XTASK_ENGINE names an engine")))
}

/// The engine's CLI: `docker` or `podman`.
pub fn engine() -> String {
    the_engine().kind().name().to_string()
}

/// Where the engine publishes ports: the remote engine's host, else loopback.
pub fn published_host() -> String {
    the_engine().published_host().to_string()
}

/// Starts a test that needs the engine: None (skip the test) when no
/// engine answers outside CI. Otherwise a guard that runs such tests one at
/// a time (a test's cleanup must not remove an image that another test's
/// build is standing on: the legacy builder then fails with "unknown parent
/// image ID"), and that removes, when the test ends, the untagged images
/// it left (the candidates that failed their checks).
pub fn docker_test() -> Option<EngineTest> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    if !docker_ready() {
        return None;
    }
    let one_at_a_time = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let engine = the_engine();
    let dangling_before = engine.dangling_images();
    Some(EngineTest { _one_at_a_time: one_at_a_time, engine, dangling_before })
}

pub struct EngineTest {
    _one_at_a_time: MutexGuard<'static, ()>,
    engine: Engine,
    dangling_before: Vec<String>,
}

impl Drop for EngineTest {
    fn drop(&mut self) {
        let left = self.engine.dangling_images().into_iter().filter(|id| !self.dangling_before.contains(id));
        let left: Vec<String> = left.collect();
        self.engine.remove_images(&left.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

/// True when a Docker engine answers. Outside CI a missing engine skips
/// the test with a note; in CI it fails it.
fn docker_ready() -> bool {
    let engine = engine();
    let answers = Command::new(&engine).args(["version"]).output().is_ok_and(|o| o.status.success());
    if !answers {
        assert!(std::env::var_os("CI").is_none(), "CI must run the engine tests, and no {engine} engine answers");
        eprintln!("skipped: no {engine} engine answers (CI runs this test)");
    }
    answers
}

/// Whether this leg of the suite builds with BuildKit (`.ci/run` runs the
/// Docker tests once per builder: DOCKER_BUILDKIT=1 with Debian's docker
/// 20.10 client, and the legacy builder).
pub fn buildkit() -> bool {
    std::env::var("DOCKER_BUILDKIT").is_ok_and(|v| v == "1")
}

/// Every container on the engine, running or not; on podman, Buildah's
/// working containers too.
pub fn all_containers() -> Vec<String> {
    let external = if engine() == "podman" { &["--external"][..] } else { &[] };
    let args = [&["ps", "--all", "--quiet", "--no-trunc"][..], external].concat();
    docker_ok(&args).lines().map(str::to_string).collect()
}

/// Sends signal NAME (INT, TERM) to process `pid` alone, not its group.
pub fn signal(pid: u32, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &pid.to_string()]).status().unwrap();
    assert!(status.success());
}

/// The engine's CLI (docker, or XTASK_ENGINE's) with `args`.
pub fn docker(args: &[&str]) -> Output {
    Command::new(engine()).args(args).output().expect("the engine's CLI runs")
}

/// The engine CLI's stdout, trimmed; panics when it fails.
pub fn docker_ok(args: &[&str]) -> String {
    let output = docker(args);
    assert!(output.status.success(), "{} {args:?} failed: {}", engine(), String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The image's id, `sha256:…` (podman's inspect leaves the prefix out).
pub fn image_id(reference: &str) -> String {
    let id = docker_ok(&["image", "inspect", "--format", "{{.Id}}", reference]);
    if id.contains(':') {
        id
    } else {
        format!("sha256:{id}")
    }
}

/// Removes an image tag when the test ends. `--no-prune` keeps the
/// untagged parent layers: they are the build cache the next test's build
/// stands on, and pruning them makes every test rebuild them.
pub struct TagGuard(pub String);

impl TagGuard {
    pub fn new(prefix: &str) -> TagGuard {
        TagGuard(format!("xtask-test/{}:t", unique(prefix)))
    }
}

impl Drop for TagGuard {
    fn drop(&mut self) {
        let _ = docker(&["image", "rm", "--no-prune", &self.0]);
    }
}

/// Force-removes a container when the test ends.
pub struct ContainerGuard(pub String);

impl Drop for ContainerGuard {
    fn drop(&mut self) {
        let _ = docker(&["rm", "--force", &self.0]);
    }
}

/// A folder under the system's temp dir, removed when the test ends.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let dir = std::env::temp_dir().join(unique(prefix));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn str(&self) -> &str {
        self.0.to_str().unwrap()
    }

    /// Rewrites the file at `relative` with `edit`.
    pub fn edit(&self, relative: &str, edit: impl FnOnce(String) -> String) {
        let path = self.0.join(relative);
        std::fs::write(&path, edit(std::fs::read_to_string(&path).unwrap())).unwrap();
    }

    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.0.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The project's Dockerfile, libraries and .dockerignore, with the
/// fixture app `hello` as its app, copied into a fresh context; a test
/// then adds, breaks or leaves out what it is about. The tests of the tool
/// build fixture apps, never the project's own app/: an adopter who puts
/// their service there changes no test.
pub fn copy_of_build_context(leave_out: &[&str]) -> TempDir {
    let context = TempDir::new("context");
    for file in ["docker/Dockerfile", "docker/libraries.list", ".dockerignore"] {
        if !leave_out.contains(&file) {
            context.write(file, &std::fs::read_to_string(root().join(file)).unwrap());
        }
    }
    if !leave_out.contains(&"app") {
        copy_fixture("hello", &context);
    }
    context
}

/// The fixture app `tests/fixtures/NAME/`, every file of it, as the context's app/.
fn copy_fixture(name: &str, context: &TempDir) {
    copy_tree(&root().join("tests/fixtures").join(name), &context.path().join("app")).unwrap();
}

/// A Python with the app's test packages and hadolint, from
/// `cargo xtask tools`, which makes its venv when needed.
pub fn tools_python() -> PathBuf {
    let run = xtask(&["tools"]);
    assert_eq!(run.code, 0, "{}", run.json);
    PathBuf::from(run.str("python"))
}

pub fn run_ok(command: &mut Command) -> Output {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?} did not start: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The beginner's single-folder project of `tests/fixtures/naive` (its
/// Dockerfile and `.env`), with the fixture app `hello` and the project's
/// libraries.
pub fn naive_context() -> TempDir {
    let context = TempDir::new("naive");
    for file in ["Dockerfile", ".env"] {
        context.write(file, &std::fs::read_to_string(root().join("tests/fixtures/naive").join(file)).unwrap());
    }
    context.write("main.py", &std::fs::read_to_string(root().join("tests/fixtures/hello/main.py")).unwrap());
    context.write("libraries.list", &std::fs::read_to_string(root().join("docker/libraries.list")).unwrap());
    context
}

/// `cargo xtask TASK --tag TAG` from `context`, whose Dockerfile is at
/// docker/Dockerfile, with `extra` arguments.
pub fn task_in(task: &str, context: &TempDir, tag: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
    finish(spawn_task_in(task, context, tag, extra, env))
}

/// `task_in`, started: for `finish` or `finish_after_report`.
pub fn spawn_task_in(
    task: &str,
    context: &TempDir,
    tag: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Child, Instant) {
    let dockerfile = context.path().join("docker/Dockerfile");
    let mut args = vec![task, "--tag", tag, "--context", context.str(), "--dockerfile", dockerfile.to_str().unwrap()];
    args.extend(extra);
    spawn_xtask(&args, env)
}

/// A build context whose app is the fixture `tests/fixtures/NAME/`.
pub fn fixture_context(name: &str) -> TempDir {
    let context = copy_of_build_context(&["app"]);
    copy_fixture(name, &context);
    context
}

/// `cargo xtask image --tag TAG` from `context`, whose Dockerfile is at docker/Dockerfile.
pub fn image_from(context: &TempDir, tag: &str) -> Run {
    task_in("image", context, tag, &[], &[])
}

/// Names of the containers of ours that process `pid` owns.
pub fn containers_of(pid: u32) -> Vec<String> {
    the_engine().containers_of(pid).expect("the engine lists its containers")
}

/// GET `path` on the engine's host at `port`; the status code, or None while nothing answers.
pub fn http_status(port: &str, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(format!("{}:{port}", published_host())).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

/// Waits until container NAME answers 200 on /health; its host port.
pub fn wait_until_healthy(name: &str) -> String {
    let port = docker_ok(&["port", name, "8000/tcp"]);
    let port = port.lines().next().unwrap().rsplit(':').next().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http_status(&port, "/health") != Some(200) {
        assert!(Instant::now() < deadline, "no 200 on /health in 30 s: {}", docker_ok(&["logs", name]));
        std::thread::sleep(Duration::from_millis(100));
    }
    port
}

/// A failed run: exit code 1, success false, a message that says `says`.
pub fn assert_failed(run: &Run, says: &str) {
    assert_eq!(run.code, 1, "{}\n{}", run.json, run.stderr);
    assert_eq!(run.json["success"], false);
    assert!(run.str("message").contains(says), "expected `{says}` in: {}", run.json);
    assert!(!run.str("message").contains('\u{1b}'), "no terminal codes: {}", run.json);
}
