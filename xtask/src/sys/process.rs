//! Child processes. A command line is data (`CommandLine`), so that each
//! one is unit-tested as a string and shown to a person before it runs,
//! with its secret values masked. Our stdout carries one JSON document, so
//! no child may write there: its output is either captured or sent to our
//! stderr.

use std::{
    fmt,
    io::{self, Read, Write},
    process::{Command, ExitStatus, Output, Stdio},
    sync::{Arc, Mutex},
    thread,
};

use anyhow::{bail, Context, Result};

/// How a secret value is shown.
const MASK: &str = "***";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Arg {
    Plain(String),
    /// `KEY=VALUE` where VALUE may be a secret: passed on as it is, shown as `KEY=***`.
    Masked {
        key: String,
        value: String,
    },
}

/// A program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    program: String,
    args: Vec<Arg>,
}

impl CommandLine {
    pub fn new(program: impl Into<String>) -> CommandLine {
        CommandLine { program: program.into(), args: Vec::new() }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> CommandLine {
        self.args.push(Arg::Plain(arg.into()));
        self
    }

    pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> CommandLine {
        self.args.extend(args.into_iter().map(|arg| Arg::Plain(arg.into())));
        self
    }

    /// `KEY=VALUE`, shown as `KEY=***`: for build args and environment
    /// values, which may hold tokens.
    pub fn masked_pair(mut self, key: &str, value: &str) -> CommandLine {
        self.args.push(Arg::Masked { key: key.to_string(), value: value.to_string() });
        self
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
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

/// The command line as a person may see it: secret values masked.
impl fmt::Display for CommandLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.program)?;
        for arg in &self.args {
            match arg {
                Arg::Plain(arg) if arg.is_empty() || arg.contains(char::is_whitespace) => write!(f, " {arg:?}")?,
                Arg::Plain(arg) => write!(f, " {arg}")?,
                Arg::Masked { key, .. } => write!(f, " {key}={MASK}")?,
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

/// Runs `line` with both streams captured.
pub fn output(line: &CommandLine) -> Result<Output> {
    line.command().output().with_context(|| format!("cannot start `{}`", line.program))
}

/// The trimmed stdout of `line`; fails with its stderr when it fails.
pub fn read(line: &CommandLine) -> Result<String> {
    let output = output(line)?;
    if !output.status.success() {
        bail!("`{line}` failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Runs `line` with its stdout sent to our stderr, so that a person sees
/// progress and our stdout stays one JSON document.
pub fn to_stderr(line: &CommandLine) -> Result<()> {
    eprintln!("$ {line}");
    let status =
        line.command().stdout(io::stderr()).status().with_context(|| format!("cannot start `{}`", line.program))?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(())
}

/// Starts `line` in the background with its stdout sent to our stderr.
pub fn spawn_to_stderr(line: &CommandLine) -> Result<std::process::Child> {
    line.command().stdout(io::stderr()).spawn().with_context(|| format!("cannot start `{}`", line.program))
}

pub struct Captured {
    pub status: ExitStatus,
    /// stdout and stderr, interleaved as they came.
    pub output: String,
}

/// Runs `line`, echoing both its streams to our stderr as they come and
/// keeping a copy, for a failure message.
pub fn stream(line: &CommandLine) -> Result<Captured> {
    eprintln!("$ {line}");
    let mut child = line
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start `{}`", line.program))?;
    let kept = Arc::new(Mutex::new(Vec::new()));
    let pipes: Vec<Box<dyn Read + Send>> =
        vec![Box::new(child.stdout.take().unwrap()), Box::new(child.stderr.take().unwrap())];
    let copiers: Vec<_> = pipes
        .into_iter()
        .map(|mut pipe| {
            let kept = Arc::clone(&kept);
            thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n @ 1..) = pipe.read(&mut buf) {
                    let _ = io::stderr().write_all(&buf[..n]);
                    kept.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            })
        })
        .collect();
    let status = child.wait().with_context(|| format!("`{}` did not finish", line.program))?;
    for copier in copiers {
        let _ = copier.join();
    }
    let output = String::from_utf8_lossy(&kept.lock().unwrap()).into_owned();
    Ok(Captured { status, output })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_when_shown_and_passed_on_as_they_are() {
        let line = CommandLine::new("tool").arg("--flag").arg("two words").masked_pair("TOKEN", "s3cret");
        assert_eq!(line.to_string(), r#"tool --flag "two words" TOKEN=***"#);
        assert_eq!(line.unmasked(), "tool --flag two words TOKEN=s3cret");
    }

    #[test]
    fn a_failure_names_the_command_without_its_secrets() {
        let line = CommandLine::new("sh").args(["-c", "echo oops >&2; exit 3"]).masked_pair("X", "s3cret");
        let error = read(&line).unwrap_err().to_string();
        assert!(error.contains("oops") && error.contains("X=***"), "{error}");
        assert!(!error.contains("s3cret"), "{error}");
        assert_eq!(read(&CommandLine::new("echo").arg(" hi ")).unwrap(), "hi");
    }
}
