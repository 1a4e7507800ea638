//! `--env KEY=VALUE` and `--env-file FILE`, which every task that starts
//! the service takes.

use anyhow::Result;

use super::{usage, Given};
use crate::{engine::container::Settings, sys::project};

/// Takes `given` into `settings` if it is one of theirs; false if not.
pub fn accept_setting(settings: &mut Settings, given: &Given) -> Result<bool> {
    match given.name() {
        "--env" => {
            let (key, value) = given.pair()?;
            settings.env.insert(key, value);
        }
        "--env-file" => {
            let file = project::from_user(given.value())?;
            if !file.is_file() {
                return Err(usage(format!("`--env-file {}`: there is no such file", given.value())));
            }
            settings.env_file = Some(file);
        }
        _ => return Ok(false),
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Args;

    #[test]
    fn settings_are_read() {
        let mut settings = Settings::default();
        let manifest = project::root().join("Cargo.toml");
        let mut args = Args::of("smoke", &["--env", "A=1", "--env-file", manifest.as_str(), "--tag", "t"]);
        while let Some(given) = args.next().unwrap() {
            let taken = accept_setting(&mut settings, &given).unwrap();
            assert_eq!(taken, given.name() != "--tag");
        }
        assert_eq!((settings.env["A"].as_str(), settings.env_file.as_ref()), ("1", Some(&manifest)));
        let mut args = Args::of("smoke", &["--env-file", "no/such/file"]);
        let error = accept_setting(&mut settings, &args.next().unwrap().unwrap()).unwrap_err();
        assert!(error.to_string().contains("there is no such file"), "{error}");
    }
}
