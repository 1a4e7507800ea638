//! The project's host-side Python tools in venvs under target/, each made
//! from its requirements file and made again when that (or a file it
//! names with `-r`) changes. Nothing is installed by hand.

use anyhow::Result;
use camino::Utf8PathBuf;
use xshell::Shell;

use super::{
    process::{self, CommandLine},
    project, signals,
};

/// Which venv.
#[derive(Clone, Copy)]
pub enum Venv {
    /// hadolint alone, for `lint`: none of the app's packages.
    Lint,
    /// The app's tests: its packages, pytest, the test client, and hadolint.
    Tests,
    /// uv and poetry, which make libraries.list from a lock file.
    Lock,
    /// packaging alone, which reads a list's markers before every build
    /// that has some: a few seconds to make, once.
    Markers,
}

impl Venv {
    fn name(self) -> &'static str {
        match self {
            Venv::Lint => "lint",
            Venv::Tests => "tools",
            Venv::Lock => "lock",
            Venv::Markers => "markers",
        }
    }

    /// The requirements file, and the files it names with `-r`.
    fn requirements(self) -> Vec<&'static str> {
        match self {
            Venv::Lint => vec!["tests/lint-requirements.txt"],
            Venv::Tests => vec!["tests/requirements.txt", "tests/lint-requirements.txt", "docker/libraries.list"],
            Venv::Lock => vec!["tests/lock-requirements.txt"],
            Venv::Markers => vec!["tests/markers-requirements.txt"],
        }
    }
}

/// Whether `program` is in the venv already, without making it.
pub fn installed(venv: Venv, program: &str) -> bool {
    dir(venv).join("bin").join(program).is_file()
}

fn dir(venv: Venv) -> Utf8PathBuf {
    project::root().join(format!("target/{}-venv", venv.name()))
}

/// The requirements the venv must be made from, as its stamp records them.
fn wanted(sh: &Shell, which: Venv) -> Result<String> {
    let root = project::root();
    let mut wanted = String::new();
    for file in which.requirements() {
        wanted += &sh.read_file(root.join(file))?;
    }
    Ok(wanted)
}

fn stamp(which: Venv) -> Utf8PathBuf {
    dir(which).join("requirements.stamp")
}

/// Whether the venv is made, from its requirements as they are now.
pub fn ready(which: Venv) -> bool {
    Shell::new().is_ok_and(|sh| wanted(&sh, which).is_ok_and(|w| sh.read_file(stamp(which)).is_ok_and(|s| s == w)))
}

/// The venv's bin/ folder, made first when its requirements changed.
pub fn bin(sh: &Shell, which: Venv) -> Result<Utf8PathBuf> {
    let venv = dir(which);
    let requirements = project::root().join(which.requirements()[0]);
    let wanted = wanted(sh, which)?;
    let stamp = stamp(which);
    let _lock = project::lock(which.name())?;
    if sh.read_file(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        eprintln!("Making the tools venv {venv} from {requirements}.");
        sh.remove_path(&venv)?;
        let made = process::read(&CommandLine::new("python3").args(["-m", "venv", venv.as_str()]));
        signals::context_unless_interrupted(made, "cannot make the tools venv (is python3 installed?)")?;
        let pip = CommandLine::new(venv.join("bin/pip").as_str()).args(["install", "--quiet", "-r"]);
        let installed = process::to_stderr(&pip.arg(requirements.as_str()));
        signals::context_unless_interrupted(installed, "cannot install the tools")?;
        sh.write_file(&stamp, wanted)?;
    }
    Ok(venv.join("bin"))
}
