//! The arguments after the task name, read against the task's flag table.

use std::{collections::VecDeque, fmt};

use super::{Flag, TaskInfo};

/// A mistake in the command line: reported like any failure, but with
/// exit code 2 so that scripts can tell "you called it wrong" apart.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

pub fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// A request path, as `--path`, `--expect` and `--health` take it, as it
/// goes on the request line: control characters (a CR/LF would inject
/// headers) are refused, and spaces encoded.
pub fn request_path(flag: &str, path: &str) -> anyhow::Result<String> {
    if !path.starts_with('/') {
        return Err(usage(format!("`{flag} {path}` must start with /")));
    }
    if path.chars().any(char::is_control) {
        return Err(usage(format!("`{flag} {path:?}` holds a control character, which has no place in a URL path")));
    }
    Ok(path.replace(' ', "%20"))
}

/// One flag of the command line, with its value when the table says it takes one.
pub struct Given {
    pub flag: &'static Flag,
    value: String,
}

impl Given {
    pub fn name(&self) -> &'static str {
        self.flag.name
    }

    /// The value; empty for a switch.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// A `KEY=VALUE` value, such as `--build-arg` or `--env` take.
    pub fn pair(&self) -> anyhow::Result<(String, String)> {
        match self.value.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
            _ => Err(usage(format!("`{} {}` must have the form KEY=VALUE", self.name(), self.value))),
        }
    }

    /// For a flag the table declares and the task's parser does not take:
    /// a bug, which the unit tests of every task's parser catch.
    pub fn unhandled(&self) -> anyhow::Error {
        anyhow::anyhow!("the flag `{}` is declared but not handled", self.name())
    }
}

/// The arguments after the task name, consumed flag by flag.
pub struct Args {
    task: &'static TaskInfo,
    rest: VecDeque<String>,
    engine: Option<String>,
}

impl Args {
    pub fn new(task: &'static TaskInfo, args: impl IntoIterator<Item = String>) -> Args {
        Args { task, rest: args.into_iter().collect(), engine: None }
    }

    /// `--engine NAME`, which every task that declares it takes alike: the
    /// reader keeps it, and the task never sees it.
    pub fn engine(&self) -> Option<&str> {
        self.engine.as_deref()
    }

    /// The next flag, or `None` at the end. A flag the task does not
    /// declare, a missing value and a value given to a switch are usage errors.
    pub fn next(&mut self) -> anyhow::Result<Option<Given>> {
        let Some(arg) = self.rest.pop_front() else { return Ok(None) };
        if !arg.starts_with("--") {
            return Err(usage(format!("unexpected argument `{arg}`: every argument is a `--flag`")));
        }
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (arg, None),
        };
        let task = self.task.name;
        let flag = self.task.flag(&name).ok_or_else(|| {
            usage(format!(
                "`{name}` is not a flag of `cargo xtask {task}`; `cargo xtask {task} --help` lists its flags"
            ))
        })?;
        let value = match (flag.value, inline) {
            (None, None) => String::new(),
            (None, Some(_)) => return Err(usage(format!("`{name}` takes no value"))),
            (Some(_), Some(value)) => value,
            (Some(_), None) => match self.rest.pop_front() {
                Some(value) if !value.starts_with("--") => value,
                _ => return Err(usage(format!("`{name}` needs a value"))),
            },
        };
        if flag.name == "--engine" {
            self.engine = Some(value);
            return self.next();
        }
        Ok(Some(Given { flag, value }))
    }
}

#[cfg(test)]
impl Args {
    /// The arguments of a unit test's command line for `task`.
    pub fn of(task: &str, list: &[&str]) -> Args {
        Args::new(super::task(task).expect("a task"), list.iter().map(|s| s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(args: &mut Args) -> anyhow::Result<(String, String)> {
        let given = args.next()?.expect("a flag");
        Ok((given.name().to_string(), given.value().to_string()))
    }

    #[test]
    fn flags_take_values_in_both_spellings() {
        let mut a = Args::of("image", &["--tag", "x:1", "--context=dir", "--offline"]);
        assert_eq!(next(&mut a).unwrap(), ("--tag".into(), "x:1".into()));
        assert_eq!(next(&mut a).unwrap(), ("--context".into(), "dir".into()));
        assert_eq!(next(&mut a).unwrap(), ("--offline".into(), "".into()));
        assert!(a.next().unwrap().is_none());
    }

    #[test]
    fn mistakes_are_usage_errors_that_name_the_problem() {
        for (task, list, says) in [
            ("image", &["--tag", "--offline"][..], "`--tag` needs a value"),
            ("image", &["--tag"], "`--tag` needs a value"),
            ("image", &["--offline=yes"], "`--offline` takes no value"),
            ("image", &["image"], "unexpected argument `image`: every argument is a `--flag`"),
            (
                "stop",
                &["--bogus"],
                "`--bogus` is not a flag of `cargo xtask stop`; `cargo xtask stop --help` lists its flags",
            ),
            ("stop", &["--offline"], "`--offline` is not a flag of `cargo xtask stop`"),
        ] {
            let error = next(&mut Args::of(task, list)).unwrap_err();
            assert!(error.downcast_ref::<UsageError>().is_some(), "{list:?}");
            assert!(error.to_string().starts_with(says), "{list:?}: {error}");
        }
    }

    #[test]
    fn pairs_need_an_equals_sign() {
        let mut a = Args::of("image", &["--build-arg", "A=b=c", "--build-arg", "NOEQUALS", "--build-arg", "=x"]);
        assert_eq!(a.next().unwrap().unwrap().pair().unwrap(), ("A".to_string(), "b=c".to_string()));
        let err = a.next().unwrap().unwrap().pair().unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some());
        assert_eq!(err.to_string(), "`--build-arg NOEQUALS` must have the form KEY=VALUE");
        assert!(a.next().unwrap().unwrap().pair().is_err());
    }
}
