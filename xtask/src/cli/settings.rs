//! `--env KEY=VALUE` and `--env-file FILE`, which every task that starts
//! the service takes, over the project's own run-time settings: a
//! `run.env` beside the Dockerfile, for the settings a team's service
//! needs to start at all (a test database's URL), not for secrets.

use camino::{Utf8Path, Utf8PathBuf};

use super::{beside_dockerfile, pair, values, SETTINGS_FLAGS};
use crate::{engine::container::Settings, sys::project};

/// The service's settings at run time. (`Parser` too, so that a test can
/// read these flags alone.)
#[derive(Debug, Default, clap::Parser)]
#[command(next_help_heading = SETTINGS_FLAGS)]
pub struct SettingsFlags {
    /// A setting in the container; repeatable; its value is never printed
    #[arg(long, value_name = "KEY=VALUE", value_parser = pair)]
    env: Vec<(String, String)>,
    /// The engine reads settings from FILE, after the run.env beside the Dockerfile; repeatable; values never printed
    #[arg(long = "env-file", value_name = "FILE", value_parser = env_file)]
    env_file: Vec<Utf8PathBuf>,
}

/// A file the engine can read settings from.
fn env_file(value: &str) -> Result<Utf8PathBuf, String> {
    let file = project::from_user(value).map_err(|e| format!("{e:#}"))?;
    match file.is_file() {
        true => Ok(file),
        false => Err(format!("{}: there is no such file", values::quoted(value))),
    }
}

impl SettingsFlags {
    /// The settings, over the `run.env` beside `dockerfile` when there is one.
    pub fn over_project(self, dockerfile: &Utf8Path) -> Settings {
        let mut env_files = self.env_file;
        let file = beside_dockerfile(dockerfile, "run.env");
        if file.is_file() {
            env_files.insert(0, file);
        }
        Settings { env: self.env.into_iter().collect(), env_files }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::parse;

    fn settings(args: &[&str], dockerfile: &Utf8Path) -> anyhow::Result<Settings> {
        Ok(parse::<SettingsFlags>("smoke", args.iter().map(Into::into))?.over_project(dockerfile))
    }

    #[test]
    fn settings_are_read() {
        let manifest = project::root().join("Cargo.toml");
        let nowhere = Utf8Path::new("/nonexistent/Dockerfile");
        let given = settings(&["--env", "A=1", "--env-file", manifest.as_str()], nowhere).unwrap();
        assert_eq!((given.env["A"].as_str(), given.env_files.as_slice()), ("1", std::slice::from_ref(&manifest)));
        let dir = project::scratch_dir().unwrap().join(project::unique_name("settings"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("run.env"), "DATABASE_URL=sqlite://\n").unwrap();
        let with_project = settings(&["--env-file", manifest.as_str()], &dir.join("Dockerfile")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(with_project.env_files, [dir.join("run.env"), manifest], "--env-file comes after run.env, and wins");
        let error = settings(&["--env-file", "no/such/file"], nowhere).unwrap_err();
        assert!(error.to_string().contains("there is no such file"), "{error}");
    }
}
