//! `--env KEY=VALUE` and `--env-file FILE`, which every task that starts
//! the service takes, over the project's own run-time settings: a
//! `run.env` beside the Dockerfile, for the settings a team's service
//! needs to start at all (a test database's URL), not for secrets.

use std::collections::BTreeMap;

use camino::{Utf8Path, Utf8PathBuf};

use super::{beside_dockerfile, pair, usage, values, SETTINGS_FLAGS};
use crate::{engine::container::Settings, sys::mask};

/// The service's settings at run time. (`Parser` too, so that a test can
/// read these flags alone.)
#[derive(Debug, Clone, Default, clap::Parser)]
#[command(next_help_heading = SETTINGS_FLAGS)]
pub struct SettingsFlags {
    /// A setting in the container; repeatable; a value whose key or form says it is secret is never printed
    #[arg(long, value_name = "KEY=VALUE", value_parser = pair)]
    env: Vec<(String, String)>,
    /// The engine reads settings from FILE, after the run.env beside the Dockerfile; repeatable; its values are secrets, never printed
    #[arg(long = "env-file", value_name = "FILE", value_parser = env_file)]
    env_file: Vec<Utf8PathBuf>,
}

/// A file the engine can read settings from: any readable file, such as
/// /dev/null or a shell's `<(…)`; a regular one is read first (`check`).
fn env_file(value: &str) -> Result<Utf8PathBuf, String> {
    let file = values::path(value)?;
    match std::fs::File::open(&file) {
        Ok(_) if file.is_dir() => Err(format!("{} is a folder, not a file", values::quoted(value))),
        Ok(_) => Ok(file),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            Err(format!("{}: there is no such file", values::quoted(value)))
        }
        Err(error) => Err(format!("{} cannot be read: {error}", values::quoted(value))),
    }
}

/// Reads a regular settings file as the engine will, so that a bad line
/// gets our sentence (its number and name, never its value) rather than
/// the engine's, which quotes the line: its values, masked from now on when
/// the file is `marked` secret or they say they are. A pipe or a device is
/// left to the engine (reading it here would empty it).
fn read(file: &Utf8Path, marked: bool) -> anyhow::Result<BTreeMap<String, String>> {
    let mut read = BTreeMap::new();
    if !file.is_file() {
        return Ok(read);
    }
    let text = std::fs::read_to_string(file).map_err(|e| usage(format!("cannot read {file}: {e}")))?;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // Docker's own rule: the name, before any `=`, has no white space.
        let (name, value) = line.split_once('=').unwrap_or((line, ""));
        if name.is_empty() || name.contains(char::is_whitespace) {
            let first = name.split_whitespace().next().unwrap_or_default();
            return Err(usage(format!(
                "{file} line {}: the name before `=` must be one word with no space (it starts `{}`); write KEY=VALUE",
                number + 1,
                values::quoted(first).trim_matches('`')
            )));
        }
        // The engine, unlike Compose, keeps quotes as part of the value.
        let quoted = value.len() >= 2 && ["\"", "'"].iter().any(|q| value.starts_with(q) && value.ends_with(q));
        if quoted {
            eprintln!(
                "warning: {file} line {}: the value of {name} is in quotes, which the engine keeps as part of it \
                 (Compose would strip them); write it without quotes.",
                number + 1
            );
        }
        if marked {
            mask::secret(value);
        } else {
            mask::setting(name, value);
        }
        read.insert(name.to_string(), value.to_string());
    }
    Ok(read)
}

/// The settings of a run, and the values they give, by name, as the
/// container sees them: for the checks' header variables.
pub struct RunSettings {
    pub settings: Settings,
    pub values: BTreeMap<String, String>,
}

impl SettingsFlags {
    /// The settings, over the project's files beside `dockerfile`:
    /// `run.env` (committed: what the service needs to start) and
    /// `run.local.env` (not committed: local secrets); each file read first.
    pub fn over_project(self, dockerfile: &Utf8Path) -> anyhow::Result<RunSettings> {
        let committed = beside_dockerfile(dockerfile, "run.env");
        let project = [committed.clone(), beside_dockerfile(dockerfile, "run.local.env")];
        let project = project.into_iter().filter(|file| file.is_file());
        let env_files: Vec<Utf8PathBuf> = project.chain(self.env_file).collect();
        let mut values = BTreeMap::new();
        // run.env is committed, so not secret by definition; run.local.env
        // and a file given with --env-file are the user's own.
        for file in &env_files {
            values.extend(read(file, *file != committed)?);
        }
        self.env.iter().for_each(|(key, value)| mask::setting(key, value));
        values.extend(self.env.iter().cloned());
        Ok(RunSettings { settings: Settings { env: self.env.into_iter().collect(), env_files }, values })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{cli::parse, sys::project};

    fn settings(args: &[&str], dockerfile: &Utf8Path) -> anyhow::Result<Settings> {
        Ok(parse::<SettingsFlags>("smoke", args.iter().map(Into::into))?.over_project(dockerfile)?.settings)
    }

    #[test]
    fn settings_are_read() {
        let scratch = project::scratch_dir().unwrap().join(project::unique_name("settings-file"));
        std::fs::create_dir_all(&scratch).unwrap();
        let manifest = scratch.join("app.env");
        std::fs::write(&manifest, "B=2\n").unwrap();
        let nowhere = Utf8Path::new("/nonexistent/Dockerfile");
        let given = settings(&["--env", "A=1", "--env-file", manifest.as_str()], nowhere).unwrap();
        assert_eq!((given.env["A"].as_str(), given.env_files.as_slice()), ("1", std::slice::from_ref(&manifest)));
        let dir = project::scratch_dir().unwrap().join(project::unique_name("settings"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("run.env"), "DATABASE_URL=sqlite://\n").unwrap();
        std::fs::write(dir.join("run.local.env"), "SECRET_KEY=local-secret\n").unwrap();
        let with_project = settings(&["--env-file", manifest.as_str()], &dir.join("Dockerfile")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            with_project.env_files,
            [dir.join("run.env"), dir.join("run.local.env"), manifest],
            "run.local.env comes after run.env, --env-file after both, and the later wins"
        );
        let error = settings(&["--env-file", "no/such/file"], nowhere).unwrap_err();
        assert!(error.to_string().contains("there is no such file"), "{error}");
        assert!(settings(&["--env-file", "/dev/null"], nowhere).is_ok(), "any readable file");
        std::fs::remove_dir_all(&scratch).unwrap();
    }

    #[test]
    fn a_bad_line_is_named_by_number_and_name_never_value() {
        let dir = project::scratch_dir().unwrap().join(project::unique_name("envfile"));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bad.env");
        std::fs::write(&file, "# settings\nA=1\nDB_PASSWORD value-with-space\n").unwrap();
        let error = settings(&["--env-file", file.as_str()], Utf8Path::new("/nonexistent/Dockerfile")).unwrap_err();
        std::fs::write(dir.join("run.env"), " =novalue\n").unwrap();
        let unnamed = settings(&[], &dir.join("Dockerfile")).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        let said = error.to_string();
        assert!(said.contains("bad.env line 3") && said.contains("`DB_PASSWORD`"), "{said}");
        assert!(!said.contains("value-with-space"), "{said}");
        assert!(unnamed.to_string().contains("run.env line 1"), "{unnamed}");
    }
}
