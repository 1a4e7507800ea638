//! Hand-rolled flag parsing. The tasks take a handful of `--flag value`
//! pairs; a parser crate would cost more compile time than it saves.

use std::{collections::VecDeque, fmt};

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

pub fn unknown_flag(task: &str, flag: &str) -> anyhow::Error {
    usage(format!("`{flag}` is not a flag of `cargo xtask {task}`; `cargo xtask --help` lists the flags"))
}

/// The arguments after the task name, consumed flag by flag.
pub struct Args {
    rest: VecDeque<String>,
    /// The value of a `--flag=value` argument, waiting for `value()`.
    inline: Option<(String, String)>,
}

impl Args {
    pub fn new(args: impl IntoIterator<Item = String>) -> Args {
        Args { rest: args.into_iter().collect(), inline: None }
    }

    /// The next flag, or `None` at the end.
    pub fn next_flag(&mut self) -> anyhow::Result<Option<String>> {
        if let Some((flag, _)) = self.inline.take() {
            return Err(usage(format!("`{flag}` takes no value")));
        }
        let Some(arg) = self.rest.pop_front() else { return Ok(None) };
        if !arg.starts_with("--") {
            return Err(usage(format!("unexpected argument `{arg}`: every argument is a `--flag`")));
        }
        match arg.split_once('=') {
            Some((flag, value)) => {
                self.inline = Some((flag.to_string(), value.to_string()));
                Ok(Some(flag.to_string()))
            }
            None => Ok(Some(arg)),
        }
    }

    /// The value of `flag`, from `--flag=value` or `--flag value`.
    pub fn value(&mut self, flag: &str) -> anyhow::Result<String> {
        if let Some((_, value)) = self.inline.take() {
            return Ok(value);
        }
        match self.rest.pop_front() {
            Some(value) if !value.starts_with("--") => Ok(value),
            _ => Err(usage(format!("`{flag}` needs a value"))),
        }
    }

    /// A `KEY=VALUE` value of `flag`, such as `--build-arg` or `--env` take.
    pub fn pair(&mut self, flag: &str) -> anyhow::Result<(String, String)> {
        let value = self.value(flag)?;
        match value.split_once('=') {
            Some((key, val)) if !key.is_empty() => Ok((key.to_string(), val.to_string())),
            _ => Err(usage(format!("`{flag} {value}` must have the form KEY=VALUE"))),
        }
    }
}

#[cfg(test)]
impl Args {
    /// The arguments of a unit test's command line.
    pub fn of(list: &[&str]) -> Args {
        Args::new(list.iter().map(|s| s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_take_values_in_both_spellings() {
        let mut a = Args::of(&["--tag", "x:1", "--context=dir", "--offline"]);
        assert_eq!(a.next_flag().unwrap().as_deref(), Some("--tag"));
        assert_eq!(a.value("--tag").unwrap(), "x:1");
        assert_eq!(a.next_flag().unwrap().as_deref(), Some("--context"));
        assert_eq!(a.value("--context").unwrap(), "dir");
        assert_eq!(a.next_flag().unwrap().as_deref(), Some("--offline"));
        assert!(a.next_flag().unwrap().is_none());
    }

    #[test]
    fn a_missing_value_is_named() {
        let mut a = Args::of(&["--tag", "--offline"]);
        a.next_flag().unwrap();
        assert_eq!(a.value("--tag").unwrap_err().to_string(), "`--tag` needs a value");
    }

    #[test]
    fn a_value_given_to_a_switch_is_refused() {
        let mut a = Args::of(&["--offline=yes"]);
        a.next_flag().unwrap();
        assert_eq!(a.next_flag().unwrap_err().to_string(), "`--offline` takes no value");
    }

    #[test]
    fn pairs_need_an_equals_sign() {
        let mut a = Args::of(&["--build-arg", "A=b=c", "--build-arg", "NOEQUALS"]);
        a.next_flag().unwrap();
        assert_eq!(a.pair("--build-arg").unwrap(), ("A".to_string(), "b=c".to_string()));
        a.next_flag().unwrap();
        let err = a.pair("--build-arg").unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some());
        assert_eq!(err.to_string(), "`--build-arg NOEQUALS` must have the form KEY=VALUE");
    }

    #[test]
    fn bare_words_are_refused() {
        assert!(Args::of(&["image"]).next_flag().is_err());
    }
}
