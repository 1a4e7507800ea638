//! What the acceptance tests share: running the real xtask binary, a
//! Docker engine check that never skips in CI, and guards that remove
//! what a test made, pass or fail.
#![allow(dead_code)] // each test binary uses its own part of this

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::Mutex,
};

use serde_json::Value;

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
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.args(args).current_dir(root());
    if std::env::var_os("XTASK_OFFLINE").is_none() {
        command.env("XTASK_OFFLINE", "1");
    }
    command.envs(env.iter().copied());
    let output = command.output().expect("the xtask binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{stdout}"));
    Run { code: output.status.code().unwrap_or(-1), json, stderr: String::from_utf8_lossy(&output.stderr).into_owned() }
}

/// True when a Docker engine answers. Outside CI a missing engine skips
/// the test with a note; in CI it fails it.
pub fn docker_ready() -> bool {
    let answers = Command::new("docker").args(["version"]).output().is_ok_and(|o| o.status.success());
    if !answers {
        assert!(std::env::var_os("CI").is_none(), "CI must run the Docker tests, and no Docker engine answers");
        eprintln!("skipped: no Docker engine answers (CI runs this test)");
    }
    answers
}

pub fn docker(args: &[&str]) -> Output {
    Command::new("docker").args(args).output().expect("docker runs")
}

/// docker's stdout, trimmed; panics when docker fails.
pub fn docker_ok(args: &[&str]) -> String {
    let output = docker(args);
    assert!(output.status.success(), "docker {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

pub fn image_id(reference: &str) -> String {
    docker_ok(&["image", "inspect", "--format", "{{.Id}}", reference])
}

/// Removes an image tag when the test ends.
pub struct TagGuard(pub String);

impl TagGuard {
    pub fn new(prefix: &str) -> TagGuard {
        TagGuard(format!("xtask-test/{}:t", unique(prefix)))
    }
}

impl Drop for TagGuard {
    fn drop(&mut self) {
        let _ = docker(&["image", "rm", &self.0]);
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

/// The files the image is built from, copied into a fresh context;
/// a test then adds, breaks or leaves out what it is about.
pub fn copy_of_build_context(leave_out: &[&str]) -> TempDir {
    let context = TempDir::new("context");
    for file in ["docker/Dockerfile", "docker/libraries.list", ".dockerignore", "app/main.py"] {
        if !leave_out.contains(&file) {
            context.write(file, &std::fs::read_to_string(root().join(file)).unwrap());
        }
    }
    context
}

/// A Python with the app's test packages and hadolint, in a venv under
/// target/ that is made again only when its requirements change.
pub fn tools_python() -> PathBuf {
    static MAKING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let venv = root().join("target/test-venv");
    let requirements = root().join("tests/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).unwrap()
        + &std::fs::read_to_string(root().join("docker/libraries.list")).unwrap();
    let stamp = venv.join("requirements.stamp");
    let python = venv.join("bin/python");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        let _ = std::fs::remove_dir_all(&venv);
        run_ok(Command::new("python3").args(["-m", "venv"]).arg(&venv));
        run_ok(Command::new(&python).args(["-m", "pip", "install", "--quiet", "-r"]).arg(&requirements));
        std::fs::write(&stamp, wanted).unwrap();
    }
    python
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
