//! `cargo xtask tools`: makes the tests' venv (see `sys::venv`) and
//! reports where its Python and hadolint are.

use anyhow::Result;
use serde::Serialize;
use xshell::Shell;

use super::{Done, Engine, Task};
use crate::{
    cli::Args,
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

pub struct Tools;

impl Task for Tools {
    type Report = ToolsReport;

    fn parse(args: &mut Args) -> Result<Tools> {
        match args.next()? {
            Some(given) => Err(given.unhandled()),
            None => Ok(Tools),
        }
    }

    fn run(self, sh: &Shell, _engine: &Engine) -> Done<ToolsReport> {
        match venv::bin(sh, Venv::Tests) {
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
