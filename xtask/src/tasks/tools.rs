//! `cargo xtask tools`: makes the tests' venv (see `sys::venv`) and
//! reports where its Python and hadolint are.

use anyhow::Result;
use serde::Serialize;
use xshell::Shell;

use super::{Done, Task};
use crate::{
    report::Report,
    sys::venv::{self, Venv},
};

#[derive(Debug, Default, Serialize)]
pub struct ToolsReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hadolint: Option<String>,
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Report for ToolsReport {
    fn success(&self) -> bool {
        self.success
    }

    fn failure(message: String) -> ToolsReport {
        ToolsReport { message: Some(message), ..ToolsReport::default() }
    }
}

/// Make the host-side tools' venv (hadolint, pytest) under target/; print its paths
#[derive(Debug, clap::Parser)]
#[command(name = "tools")]
pub struct Flags {}

pub struct Tools;

impl Task for Tools {
    type Flags = Flags;
    type Report = ToolsReport;

    fn new(_: Flags) -> Result<Tools> {
        Ok(Tools)
    }

    fn run(self) -> Done<ToolsReport> {
        match Shell::new().map_err(Into::into).and_then(|sh| venv::bin(&sh, Venv::Tests)) {
            Ok(bin) => ToolsReport {
                python: Some(bin.join("python").into_string()),
                hadolint: Some(bin.join("hadolint").into_string()),
                success: true,
                message: None,
            },
            Err(error) => ToolsReport::failure(format!("{error:#}")),
        }
        .into()
    }
}
