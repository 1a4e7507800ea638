//! Child processes. A command line is data (`CommandLine`), so that each
//! one is unit-tested as a string and shown to a person before it runs,
//! with its secret values masked. Our stdout carries one JSON document, so
//! no child may write there: its output is either captured or sent to our
//! stderr.

use std::{
    fmt,
    io::{self, Read, Write},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{
        mpsc::{self, RecvTimeoutError},
        Arc, Mutex,
    },
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

use super::{
    mask::{self, MASK},
    signals,
};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Arg {
    Plain(String),
    /// `KEY=VALUE` where VALUE may be a secret: passed on as it is, shown as `KEY=***`.
    Masked {
        key: String,
        value: String,
    },
}

/// An environment variable of a child; a `secret` one is shown as `KEY=***`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Var {
    key: String,
    value: String,
    secret: bool,
}

/// A program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    program: String,
    args: Vec<Arg>,
    /// Environment variables set for the child, shown before the program.
    env: Vec<Var>,
    /// Clean-up: runs even after a signal came, and is not interrupted.
    cleanup: bool,
}

impl CommandLine {
    pub fn new(program: impl Into<String>) -> CommandLine {
        CommandLine { program: program.into(), args: Vec::new(), env: Vec::new(), cleanup: false }
    }

    /// Marks a clean-up step (removing what a run started), which must run
    /// to its end even when a signal is what ended the run.
    pub fn cleanup(mut self) -> CommandLine {
        self.cleanup = true;
        self
    }

    pub fn arg(mut self, arg: impl Into<String>) -> CommandLine {
        self.args.push(Arg::Plain(arg.into()));
        self
    }

    pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> CommandLine {
        self.args.extend(args.into_iter().map(|arg| Arg::Plain(arg.into())));
        self
    }

    /// `KEY=VALUE`, shown as `KEY=***` when the key or value says it is a
    /// secret or the value is one: for build args and environment values,
    /// which may hold tokens.
    pub fn masked_pair(mut self, key: &str, value: &str) -> CommandLine {
        self.args.push(Arg::Masked { key: key.to_string(), value: value.to_string() });
        self
    }

    /// An environment variable for the child, shown as `KEY=value`.
    pub fn env(mut self, key: &str, value: &str) -> CommandLine {
        self.env.push(Var { key: key.to_string(), value: value.to_string(), secret: false });
        self
    }

    /// An environment variable for the child whose value may be a secret:
    /// shown as `KEY=***`.
    pub fn masked_env(mut self, key: &str, value: &str) -> CommandLine {
        self.env.push(Var { key: key.to_string(), value: value.to_string(), secret: true });
        self
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.envs(self.env.iter().map(|var| (&var.key, &var.value)));
        for arg in &self.args {
            match arg {
                Arg::Plain(arg) => command.arg(arg),
                Arg::Masked { key, value } => command.arg(format!("{key}={value}")),
            };
        }
        command.stdin(Stdio::null());
        command
    }
}

/// A pair's value as a person may see it: masked whole when it is a secret.
fn shown(key: &str, value: &str) -> String {
    let masked = mask::mask(value);
    if mask::says_secret(key, value) || masked != value {
        MASK.to_string()
    } else {
        masked
    }
}

/// The command line as a person may see it: secret values masked.
impl fmt::Display for CommandLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for Var { key, value, secret } in &self.env {
            write!(f, "{key}={} ", if *secret { MASK.to_string() } else { mask::mask(value) })?;
        }
        f.write_str(&self.program)?;
        for arg in &self.args {
            match arg {
                Arg::Plain(arg) if arg.is_empty() || arg.contains(char::is_whitespace) => write!(f, " {arg:?}")?,
                Arg::Plain(arg) => write!(f, " {arg}")?,
                Arg::Masked { key, value } => write!(f, " {key}={}", shown(key, value))?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
impl CommandLine {
    /// The command line as it runs, secrets and all: for unit tests of argv.
    pub fn unmasked(&self) -> String {
        let command = self.command();
        std::iter::once(command.get_program())
            .chain(command.get_args())
            .map(|arg| arg.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// How long a child may take to end after we passed it a signal; then it is killed.
const GRACE: Duration = Duration::from_millis(1500);

/// What a finished child said.
pub struct Ran {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// stdout and stderr, interleaved as they came.
    pub output: String,
}

/// Runs `line` to its end with both streams captured, and, with `echo`,
/// copied to our stderr as they come. A SIGINT or SIGTERM sent to us is
/// passed on to the child, which is killed if it has not ended within
/// `GRACE`; the run then fails as interrupted. A cancel (`signals::cancel`)
/// stops it the same way, and it fails as cancelled. A clean-up step runs
/// to its end all the same.
fn run(line: &CommandLine, echo: bool) -> Result<Ran> {
    let interruptible = !line.cleanup;
    if interruptible {
        signals::check()?;
    }
    let (mut child, pipes) = spawn_piped(line)?;
    let pid = child.id();
    let interleaved = Arc::new(Mutex::new(Vec::new()));
    let readers = pipes.map(|pipe| pump(pipe, echo, Some(Arc::clone(&interleaved))));
    // The child is waited for on a thread of its own, so that this one can
    // watch for signals and still learn at once that the child ended.
    let (ended, waiting) = mpsc::channel();
    let waiter = thread::spawn(move || {
        let status = child.wait();
        let _ = ended.send(());
        status
    });
    let mut passed_on: Option<Instant> = None;
    while let Err(RecvTimeoutError::Timeout) = waiting.recv_timeout(Duration::from_millis(50)) {
        let stop = signals::received().or(signals::cancelled().then_some(signals::SIGTERM));
        match (stop.filter(|_| interruptible), passed_on) {
            (Some(signum), None) => {
                signals::send(pid, signum);
                passed_on = Some(Instant::now());
            }
            (Some(_), Some(at)) if at.elapsed() > GRACE => signals::send(pid, signals::SIGKILL),
            _ => {}
        }
    }
    let status = waiter
        .join()
        .expect("the waiter does not panic")
        .with_context(|| format!("`{}` did not finish", line.program))?;
    let [stdout, stderr] = readers.map(|reader| reader.join().unwrap_or_default());
    if interruptible {
        signals::check()?;
        if signals::cancelled() {
            bail!(signals::CANCELLED_STEP);
        }
    }
    let output = String::from_utf8_lossy(&interleaved.lock().unwrap()).into_owned();
    Ok(Ran { status, stdout, stderr, output })
}

/// Runs `line` with both streams captured.
pub fn output(line: &CommandLine) -> Result<Ran> {
    run(line, false)
}

/// The trimmed stdout of `line`; fails with its stderr when it fails.
pub fn read(line: &CommandLine) -> Result<String> {
    let ran = output(line)?;
    if !ran.status.success() {
        bail!("`{line}` failed ({}): {}", ran.status, String::from_utf8_lossy(&ran.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&ran.stdout).trim().to_string())
}

/// Runs `line`, echoing both its streams to our stderr as they come and
/// keeping a copy, for a failure message. Our stdout stays one JSON document.
pub fn stream(line: &CommandLine) -> Result<Ran> {
    eprintln!("$ {line}");
    run(line, true)
}

/// Like `stream`, for a step that must succeed: a failure names the
/// command and its last lines, which say why.
pub fn to_stderr(line: &CommandLine) -> Result<()> {
    let ran = stream(line)?;
    if !ran.status.success() {
        bail!("`{line}` failed ({}): {}", ran.status, super::text::last_lines(&ran.output, 3));
    }
    Ok(())
}

/// Starts `line` in the background with both its streams copied to our
/// stderr, masked (a service's log may echo its settings).
pub fn spawn_to_stderr(line: &CommandLine) -> Result<Child> {
    let (child, pipes) = spawn_piped(line)?;
    for pipe in pipes {
        pump(pipe, true, None);
    }
    Ok(child)
}

/// Lets `follower` (a child that follows a log to our stderr) run until a
/// signal comes or it ends by itself, then ends it: `--attach`.
pub fn follow_until_signal(mut follower: Child) {
    while signals::check().is_ok() && matches!(follower.try_wait(), Ok(None)) {
        thread::sleep(Duration::from_millis(100));
    }
    let _ = follower.kill();
    let _ = follower.wait();
}

/// Starts `line` in the background with its output thrown away (a server
/// whose log would only be noise), and tied to us: the kernel ends it
/// with SIGTERM when we end, however we end, SIGKILL included.
pub fn spawn_tied(line: &CommandLine) -> Result<Child> {
    use std::os::unix::process::CommandExt;
    let mut command = line.command();
    command.stdout(Stdio::null()).stderr(Stdio::null());
    // SAFETY: prctl is async-signal-safe, and touches nothing of ours.
    unsafe {
        command.pre_exec(|| match libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) {
            0 => Ok(()),
            _ => Err(io::Error::last_os_error()),
        });
    }
    command.spawn().with_context(|| format!("cannot start `{}`", line.program))
}

/// Starts `line` to outlive us: in a process group of its own (a Ctrl-C
/// at the terminal does not reach it), its output appended to `log`, none
/// of our pipes held open (a reader of our stdout would wait for it).
pub fn spawn_detached(line: &CommandLine, log: &camino::Utf8Path) -> Result<u32> {
    use std::os::unix::process::CommandExt;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("cannot open {log}"))?;
    let mut command = line.command();
    command.stdout(file.try_clone()?).stderr(file).process_group(0);
    let child = command.spawn().with_context(|| format!("cannot start `{}`", line.program))?;
    Ok(child.id())
}

/// A long-running child in a process group of its own, ended as Ctrl-C
/// would end it when dropped, then killed whole: a CLI that runs a plugin
/// as its child (`docker compose watch`) may leave the plugin running when
/// the CLI alone is signalled.
pub struct Group(pub Child);

impl Group {
    /// Starts `line` in a group of its own; with `piped`, its stdout and
    /// stderr are the caller's to read (all along, so that a full pipe
    /// never stalls it), else thrown away.
    pub fn spawn(line: &CommandLine, piped: bool) -> Result<Group> {
        use std::os::unix::process::CommandExt;
        let out = || if piped { Stdio::piped() } else { Stdio::null() };
        let child = line.command().process_group(0).stdout(out()).stderr(out()).spawn();
        Ok(Group(child.with_context(|| format!("cannot start `{}`", line.program))?))
    }

    fn signal(&self, signum: i32) {
        // SAFETY: kill(2) with a negative pid signals that process group.
        unsafe {
            libc::kill(-(self.0.id() as i32), signum);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal(libc::SIGINT);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while matches!(self.0.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
            thread::sleep(Duration::from_millis(50));
        }
        self.signal(libc::SIGKILL);
        let _ = self.0.wait();
    }
}

type Pipe = Box<dyn Read + Send>;

/// Starts `line` with its stdout and stderr piped to us.
fn spawn_piped(line: &CommandLine) -> Result<(Child, [Pipe; 2])> {
    let mut child = line
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start `{}`", line.program))?;
    let pipes: [Pipe; 2] = [Box::new(child.stdout.take().unwrap()), Box::new(child.stderr.take().unwrap())];
    Ok((child, pipes))
}

/// Reads `pipe` to its end on a thread of its own: with `echo`, copied to
/// our stderr a line at a time, masked; each chunk also goes to
/// `interleaved`, where both streams meet as they came. The thread
/// returns what this pipe said.
fn pump(mut pipe: Pipe, echo: bool, interleaved: Option<Arc<Mutex<Vec<u8>>>>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let (mut own, mut buf, mut lines) = (Vec::new(), [0u8; 8192], mask::Lines::default());
        while let Ok(n @ 1..) = pipe.read(&mut buf) {
            if echo {
                let _ = io::stderr().write_all(lines.feed(&buf[..n]).as_bytes());
            }
            if let Some(interleaved) = &interleaved {
                interleaved.lock().unwrap().extend_from_slice(&buf[..n]);
            }
            own.extend_from_slice(&buf[..n]);
        }
        if echo {
            let _ = io::stderr().write_all(lines.finish().as_bytes());
        }
        own
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_when_shown_and_passed_on_as_they_are() {
        let line = CommandLine::new("tool").arg("--flag").arg("two words").masked_pair("TOKEN", "s3cret");
        assert_eq!(line.to_string(), r#"tool --flag "two words" TOKEN=***"#);
        assert_eq!(line.unmasked(), "tool --flag two words TOKEN=s3cret");
        let line = CommandLine::new("env").env("A", "1").masked_env("PASSWORD", "s3cret");
        assert_eq!(line.to_string(), "A=1 PASSWORD=*** env");
        assert!(read(&line).unwrap().lines().any(|l| l == "PASSWORD=s3cret"), "passed on as it is");
    }

    #[test]
    fn a_failure_names_the_command_without_its_secrets() {
        let line = CommandLine::new("sh").args(["-c", "echo oops >&2; exit 3"]).masked_pair("X", "s3cret");
        let error = read(&line).unwrap_err().to_string();
        assert!(error.contains("oops") && error.contains("X=***"), "{error}");
        assert!(!error.contains("s3cret"), "{error}");
        assert_eq!(read(&CommandLine::new("echo").arg(" hi ")).unwrap(), "hi");
        let error = to_stderr(&CommandLine::new("sh").args(["-c", "echo the cause >&2; exit 1"])).unwrap_err();
        assert!(error.to_string().ends_with("failed (exit status: 1): the cause"), "{error}");
    }
}
