//! clap's errors said as our one sentence, naming the flag, never its
//! value: a `UsageError` (exit code 2).

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};

pub use crate::sys::usage::{usage, UsageError};

/// `args` (after the task's name) read as task `task`'s flags `F`.
pub fn parse<F: clap::Parser>(task: &str, args: impl IntoIterator<Item = OsString>) -> anyhow::Result<F> {
    let argv = std::iter::once(OsString::from(task)).chain(args);
    // A negative number after a flag is that flag's value (`--timeout -1`),
    // which its own parser then refuses in its own words, not a flag.
    let command = F::command().allow_negative_numbers(true);
    let matches = command.try_get_matches_from(argv).map_err(|error| usage(said(task, &error)))?;
    F::from_arg_matches(&matches).map_err(|error| usage(said(task, &error)))
}

/// A flag as clap names it in its errors (`--tag <NAME[:TAG]>`, or the
/// argument as typed, `--bogus=value`): its name alone.
fn flag_name(shown: &str) -> &str {
    shown.split([' ', '=']).next().unwrap_or(shown)
}

fn context(error: &clap::Error, kind: ContextKind) -> Option<&str> {
    match error.get(kind)? {
        ContextValue::String(text) => Some(text),
        ContextValue::Strings(texts) => texts.first().map(String::as_str),
        _ => None,
    }
}

/// Our sentence for clap's `error` on task `task`'s command line.
fn said(task: &str, error: &clap::Error) -> String {
    let arg = context(error, ContextKind::InvalidArg).map(flag_name).unwrap_or_default();
    let help = format!("`cargo xtask {task} --help` lists its flags");
    match error.kind() {
        ErrorKind::UnknownArgument if arg.starts_with('-') => {
            format!("`{arg}` is not a flag of `cargo xtask {task}`; {help}")
        }
        // A stray word may be a value typed without its flag: not quoted.
        ErrorKind::UnknownArgument => {
            format!("`cargo xtask {task}` takes only `--flag`s, and one of its arguments is not one; {help}")
        }
        ErrorKind::InvalidValue if context(error, ContextKind::InvalidValue).is_some_and(|v| !v.is_empty()) => {
            format!("`{arg}` takes no such value; {help}")
        }
        ErrorKind::InvalidValue | ErrorKind::NoEquals | ErrorKind::TooFewValues => format!("`{arg}` needs a value"),
        ErrorKind::TooManyValues => format!("`{arg}` takes no value"),
        ErrorKind::ValueValidation => {
            let why = std::error::Error::source(error).map(ToString::to_string).unwrap_or_default();
            match why.starts_with('`') {
                true => format!("`{arg}`: {why}"),
                false => format!("`{arg}` {why}"),
            }
        }
        ErrorKind::ArgumentConflict => {
            let prior = context(error, ContextKind::PriorArg).map(flag_name).unwrap_or_default();
            format!("`{arg}` and `{prior}` contradict each other: give one")
        }
        ErrorKind::MissingRequiredArgument => format!("`cargo xtask {task}` needs `{arg}`; {help}"),
        ErrorKind::InvalidUtf8 => format!("an argument of `cargo xtask {task}` is not UTF-8"),
        _ => format!("the command line of `cargo xtask {task}` cannot be read; {help}"),
    }
}
