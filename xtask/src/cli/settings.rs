//! `--env KEY=VALUE` and `--env-file FILE`, which every task that starts
//! the service takes, over the project's own run-time settings: a
//! `run.env` beside the Dockerfile, for the settings a team's service
//! needs to start at all (a test database's URL), not for secrets.

use anyhow::Result;
use camino::Utf8Path;

use super::{beside_dockerfile, usage, Given};
use crate::{engine::container::Settings, sys::project};

/// `settings` over the `run.env` beside `dockerfile`, when there is one.
pub fn with_project_settings(mut settings: Settings, dockerfile: &Utf8Path) -> Settings {
    let file = beside_dockerfile(dockerfile, "run.env");
    if file.is_file() {
        settings.env_files.insert(0, file);
    }
    settings
}

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
            settings.env_files.push(file);
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
        assert_eq!((settings.env["A"].as_str(), settings.env_files.as_slice()), ("1", std::slice::from_ref(&manifest)));
        let dir = project::scratch_dir().unwrap().join(project::unique_name("settings"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("run.env"), "DATABASE_URL=sqlite://\n").unwrap();
        let with_project = with_project_settings(settings.clone(), &dir.join("Dockerfile"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(with_project.env_files, [dir.join("run.env"), manifest], "--env-file comes after run.env, and wins");
        let mut args = Args::of("smoke", &["--env-file", "no/such/file"]);
        let error = accept_setting(&mut settings, &args.next().unwrap().unwrap()).unwrap_err();
        assert!(error.to_string().contains("there is no such file"), "{error}");
    }
}
