//! Readers of flag values, as clap's `value_parser`s call them. Each error
//! says what is wrong without the value: `usage` puts the flag's name in
//! front, and a value may be a secret (`--build-arg`, `--env`, `--header`).
//! Where a value cannot be a secret (a port, a path) it is quoted, cut.

use std::{collections::BTreeMap, time::Duration};

use camino::Utf8PathBuf;

pub use crate::sys::text::quoted;
use crate::{
    model::contract::{is_app_reference, Asked, APP_MODULE, APP_PORT, HEALTH_PATH},
    sys::project,
};

/// `KEY=VALUE`, as `--build-arg` and `--env` take it.
pub fn pair(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err("must have the form KEY=VALUE".into()),
    }
}

/// A request path, as `--path`, `--expect` and `--health` take it, as it
/// goes on the request line: control characters (a CR/LF would inject
/// headers) are refused, and spaces encoded.
pub fn request_path(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err(format!("takes a path that starts with /, not {}", quoted(path)));
    }
    if path.chars().any(char::is_control) {
        return Err("holds a control character, which has no place in a URL path".into());
    }
    Ok(path.replace(' ', "%20"))
}

/// A path the user typed, taken relative to where they typed it.
pub fn path(value: &str) -> Result<Utf8PathBuf, String> {
    project::from_user(value).map_err(|e| format!("{e:#}"))
}

/// A TCP port from 1 to 65535.
pub fn port(value: &str) -> Result<u16, String> {
    value
        .parse::<u16>()
        .ok()
        .filter(|port| *port > 0)
        .ok_or_else(|| format!("{} is not a port from 1 to 65535", quoted(value)))
}

/// The app uvicorn serves, `MODULE:ATTR`.
pub fn app(value: &str) -> Result<String, String> {
    match is_app_reference(value) {
        true => Ok(value.to_string()),
        false => Err(format!("{} must have the form MODULE:ATTR, such as app.main:app", quoted(value))),
    }
}

/// Checks one build arg: the contract's as their flags are checked
/// (`--app`, `--app-port`, `--health`), any other as it is.
pub fn build_arg(key: &str, value: &str) -> Result<(), String> {
    match key {
        APP_MODULE => app(value).map(drop),
        APP_PORT => port(value).map(drop),
        HEALTH_PATH => request_path(value).map(drop),
        _ => Ok(()),
    }
    .map_err(|why| format!("{key} {why}"))
}

/// The contract's build args, taken out of `args` and typed.
pub fn contract(args: &mut BTreeMap<String, String>) -> Result<Asked, String> {
    for (key, value) in args.iter() {
        build_arg(key, value)?;
    }
    Ok(Asked {
        app: args.remove(APP_MODULE),
        port: args.remove(APP_PORT).and_then(|value| value.parse().ok()),
        health: args.remove(HEALTH_PATH).map(|value| value.replace(' ', "%20")),
    })
}

/// A Python version as X.Y, such as 3.11.
pub fn python(value: &str) -> Result<String, String> {
    match value.split_once('.') {
        Some((major, minor)) if major == "3" && !minor.is_empty() && minor.chars().all(|c| c.is_ascii_digit()) => {
            Ok(value.to_string())
        }
        _ => Err(format!("{} is not a Python version such as 3.11", quoted(value))),
    }
}

/// `/PATH=STATUS`, as `--expect` takes it.
pub fn expectation(value: &str) -> Result<(String, u16), String> {
    let refused = || format!("{} must have the form /PATH=STATUS, such as /orders/999=404", quoted(value));
    let (path, status) = value.rsplit_once('=').ok_or_else(refused)?;
    let status = status.parse::<u16>().ok().filter(|s| (100..=599).contains(s)).ok_or_else(refused)?;
    Ok((request_path(path)?, status))
}

/// A header `Name: value`. The value may be a secret: no message shows it.
pub fn header(value: &str) -> Result<(String, String), String> {
    let refused = |why: &str| format!("must have the form 'Name: value': {why}");
    let (name, header_value) = value.split_once(':').ok_or_else(|| refused("there is no `:`"))?;
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(refused("the name must be letters, digits and `-`"));
    }
    if header_value.chars().any(char::is_control) {
        return Err(refused(&format!("the value of `{name}` holds a control character")));
    }
    Ok((name.to_string(), header_value.trim().to_string()))
}

/// The longest `--timeout`: a day.
const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// Seconds above 0 and at most a day.
pub fn seconds(value: &str) -> Result<Duration, String> {
    match value.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= MAX_TIMEOUT_SECS => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!("{} is not a number of seconds above 0 and at most {MAX_TIMEOUT_SECS}", quoted(value))),
    }
}

/// A whole number above 0.
pub fn count(value: &str) -> Result<usize, String> {
    value.parse().ok().filter(|&n| n > 0).ok_or_else(|| format!("{} is not a whole number above 0", quoted(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_and_refused_without_echoing_secrets() {
        assert_eq!(pair("A=b=c").unwrap(), ("A".to_string(), "b=c".to_string()));
        for bad in ["NOEQUALS", "=s3cret"] {
            assert_eq!(pair(bad).unwrap_err(), "must have the form KEY=VALUE");
        }
        assert_eq!(request_path("/with space").unwrap(), "/with%20space");
        assert!(request_path("/a\r\nX: 1").unwrap_err().contains("control character"));
        assert_eq!(port("0").unwrap_err(), "`0` is not a port from 1 to 65535");
        assert_eq!(expectation("/orders/999=404").unwrap(), ("/orders/999".to_string(), 404));
        for bad in ["/x", "/x=99", "x=404"] {
            assert!(expectation(bad).is_err(), "{bad}");
        }
        assert_eq!(header("X-Token:  s3cret ").unwrap(), ("X-Token".to_string(), "s3cret".to_string()));
        for bad in ["X Token: s3cret", "X-Token: s3\r\ncret", "nocolon"] {
            assert!(!header(bad).unwrap_err().contains("s3"), "a header value is never shown");
        }
        assert_eq!(seconds("2.5").unwrap(), Duration::from_millis(2500));
        for bad in ["0", "soon", "1e30", "inf", "NaN"] {
            assert!(seconds(bad).is_err(), "{bad}");
        }
        assert_eq!(count("0").unwrap_err(), "`0` is not a whole number above 0");
        assert_eq!(python("3.13").unwrap(), "3.13");
        for bad in ["3", "3.x", "2.7", "3.11.2"] {
            assert!(python(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "/".repeat(100_000);
        let said = port(&long).unwrap_err();
        assert!(said.len() < 300 && said.contains("…`"), "{}", said.len());
    }
}
