//! The project's checks, `checks.json` beside the Dockerfile (its format:
//! `model::checks`), read with each header's variable resolved from our
//! environment, then from the service's own settings (`run.local.env`
//! holds the local secrets).

use std::collections::BTreeMap;

use anyhow::Result;
use camino::Utf8Path;

use super::{read_beside_dockerfile, request_path, usage};
use crate::{
    model::checks::{variable, ChecksFile, Request},
    sys::{mask, probe::Header},
};

/// What the project's file says to check; empty when there is no file.
#[derive(Debug, Default)]
pub struct ProjectChecks {
    /// The path that says the service is ready, when not the image's health path.
    pub ready: Option<String>,
    pub headers: Vec<Header>,
    pub requests: Vec<Request>,
    /// The checks of the whole stack (`smoke --stack`).
    pub stack: Vec<Request>,
}

/// `checks.json` beside `dockerfile`, its variables looked up in our
/// environment and then in `values` (the service's settings).
pub fn read(dockerfile: &Utf8Path, values: &BTreeMap<String, String>) -> Result<ProjectChecks> {
    let (path, text) = read_beside_dockerfile(dockerfile, "checks.json")?;
    let Some(text) = text else { return Ok(ProjectChecks::default()) };
    let refused = |why: String| usage(format!("{path}: {why}"));
    let file = ChecksFile::parse(&text).map_err(refused)?;
    let mut headers = Vec::new();
    for (name, value) in file.headers {
        let variable = variable(&value).unwrap_or_default();
        let resolved = std::env::var(variable).ok().or_else(|| values.get(variable).cloned()).ok_or_else(|| {
            refused(format!(
                "the header {name} reads {variable}, which is set nowhere: export it, or give it a line in the \
                 run.local.env beside the Dockerfile (not committed)"
            ))
        })?;
        mask::secret(&resolved);
        headers.push((name, resolved));
    }
    let path_of = |path: &str| request_path(path).map_err(|why| refused(format!("the path {path} {why}")));
    let ready = file.ready.as_deref().map(path_of).transpose()?;
    let checked = |checks: Vec<Request>| -> Result<Vec<Request>> {
        checks.into_iter().map(|check| Ok(Request { path: path_of(&check.path)?, ..check })).collect()
    };
    let requests = checked(file.checks)?;
    let stack = checked(file.stack.checks)?;
    Ok(ProjectChecks { ready, headers, requests, stack })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::project;

    #[test]
    fn variables_come_from_the_environment_then_the_settings() {
        let dir = project::scratch_dir().unwrap().join(project::unique_name("checks"));
        std::fs::create_dir_all(&dir).unwrap();
        let dockerfile = dir.join("Dockerfile");
        assert!(read(&dockerfile, &BTreeMap::new()).unwrap().requests.is_empty(), "no file, no checks");
        std::fs::write(
            dir.join("checks.json"),
            r#"{"ready": "/status", "headers": {"X-Token": "${XTASK_TEST_CHECKS_TOKEN}"}, "checks": [{"path": "/a b"}]}"#,
        )
        .unwrap();
        let values = BTreeMap::from([("XTASK_TEST_CHECKS_TOKEN".to_string(), "from-settings".to_string())]);
        let checks = read(&dockerfile, &values).unwrap();
        let unset = read(&dockerfile, &BTreeMap::new()).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(checks.ready.as_deref(), Some("/status"));
        assert_eq!(checks.headers, [("X-Token".to_string(), "from-settings".to_string())]);
        assert_eq!(checks.requests, [Request::get("/a%20b".into(), 200)]);
        assert!(unset.to_string().contains("reads XTASK_TEST_CHECKS_TOKEN, which is set nowhere"), "{unset}");
    }
}
