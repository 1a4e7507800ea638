//! The project's own build args, written once: a `build-args` file beside
//! the Dockerfile, a `KEY=VALUE` a line. A team sets its service contract
//! there (APP_MODULE, APP_PORT, HEALTH_PATH) instead of on every command.
//! InputData's buildArgs and the flags override it.

use std::collections::BTreeMap;

use anyhow::Result;
use camino::Utf8Path;

use super::{read_beside_dockerfile, usage, values};
use crate::model::dockerfile::is_name;

/// The build args in `dockerfile`'s file; none when there is no such file.
pub fn read(dockerfile: &Utf8Path) -> Result<BTreeMap<String, String>> {
    let (file, text) = read_beside_dockerfile(dockerfile, "build-args")?;
    let Some(text) = text else { return Ok(BTreeMap::new()) };
    parse(&text).map_err(|why| usage(format!("{file}: {why}")))
}

/// Blank lines and `#` comments are skipped; spaces around the key and
/// the value too. Quotes are part of the value, as in docker's --env-file.
/// A bad line is named by its number alone: values may be secrets.
fn parse(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut args = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((key, value)) if is_name(key.trim()) => (key.trim(), value.trim()),
            _ => return Err(format!("line {} is not KEY=VALUE", number + 1)),
        };
        // The contract's keys are checked as their flags are.
        values::build_arg(key, value).map_err(|why| format!("line {}: {why}", number + 1))?;
        args.insert(key.to_string(), value.to_string());
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::beside_dockerfile;

    #[test]
    fn lines_are_key_value_pairs() {
        let args = parse("# the contract\nAPP_MODULE=app.main:app\n\n  HEALTH_PATH = /healthz\nTOKEN=a=b\n").unwrap();
        let pairs: Vec<(&str, &str)> = args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(pairs, [("APP_MODULE", "app.main:app"), ("HEALTH_PATH", "/healthz"), ("TOKEN", "a=b")]);
    }

    #[test]
    fn a_bad_line_is_named_by_number_not_value() {
        assert_eq!(parse("A=1\nsecret-value\n").unwrap_err(), "line 2 is not KEY=VALUE");
        assert_eq!(parse("1A=x").unwrap_err(), "line 1 is not KEY=VALUE");
        assert_eq!(
            parse("# c\nAPP_PORT=notaport").unwrap_err(),
            "line 2: APP_PORT `notaport` is not a port from 1 to 65535"
        );
        assert!(parse("HEALTH_PATH=nohealthslash").unwrap_err().starts_with("line 1: HEALTH_PATH takes a path"));
        assert_eq!(
            parse("APP_MODULE=main.py").unwrap_err(),
            "line 1: APP_MODULE `main.py` must have the form MODULE:ATTR, such as app.main:app"
        );
    }

    #[test]
    fn the_file_sits_beside_the_dockerfile() {
        assert_eq!(beside_dockerfile(Utf8Path::new("/p/docker/Dockerfile"), "build-args"), "/p/docker/build-args");
        assert!(read(Utf8Path::new("/nonexistent/Dockerfile")).unwrap().is_empty());
    }
}
