//! The policy a built image must meet: its configuration, its files, and
//! how it behaves when run.

use anyhow::{Context, Result};
use serde::Deserialize;

use super::{
    rule_table::{
        Rule, IMAGE_COMPILER, IMAGE_NOT_CHECKED, IMAGE_NO_HEALTHCHECK, IMAGE_PORT_NOT_EXPOSED, IMAGE_READ_ONLY_FAILS,
        IMAGE_ROOT_USER, IMAGE_SHELL_FORM_COMMAND, IMAGE_UNWANTED_FILE, IMAGE_WRITES_AT_RUN_TIME,
    },
    Finding,
};
use crate::{
    engine::{
        container::{Settings, Spec},
        Engine, ImageConfig,
    },
    service::{self, contract::Contract, READY_TIMEOUT},
};

/// The finding of a lint whose image checks could not run, `why`: a lint
/// that failed names its failure among its findings.
pub fn not_checked(why: &anyhow::Error, image: &str) -> Finding {
    Finding::new(IMAGE_NOT_CHECKED, image, format!("{why:#}"))
}

/// What the image's configuration says, of a service that follows `contract`.
pub fn check_config(config: &ImageConfig, contract: &Contract, image: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut error = |rule: &Rule, message: String| findings.push(Finding::new(rule, image, message));
    let user = config.user.as_deref().unwrap_or("");
    if matches!(user.split(':').next().unwrap_or(""), "" | "root" | "0") {
        error(IMAGE_ROOT_USER, format!("The image runs as root (User is {user:?})."));
    }
    let port = contract.port;
    if !config.exposed_tcp_ports().contains(&port) {
        error(IMAGE_PORT_NOT_EXPOSED, format!("The image does not EXPOSE {port}, its service's port."));
    }
    let test = config.healthcheck.as_ref().and_then(|h| h.test.as_deref()).unwrap_or_default();
    if test.is_empty() || test[0] == "NONE" {
        error(IMAGE_NO_HEALTHCHECK, "The image has no health check.".into());
    }
    for (what, command) in [("CMD", &config.cmd), ("ENTRYPOINT", &config.entrypoint)] {
        if command.as_deref().is_some_and(|c| c.len() >= 2 && c[0] == "/bin/sh" && c[1] == "-c") {
            error(IMAGE_SHELL_FORM_COMMAND, format!("The image's {what} is shell form: /bin/sh is PID 1."));
        }
    }
    findings
}

/// Compilers and files that have no place in a runtime image, found by
/// the image's own Python (every image this lints has one), in the
/// working directory, where the app is.
const FILE_CHECK: &str = r#"
import json, os, shutil
compilers = [p for p in map(shutil.which, ("gcc", "cc", "g++", "clang")) if p]
here = os.getcwd()
unwanted = [os.path.join(top, name) for top, dirs, files in os.walk(here if here != "/" else "/nonexistent") for name in dirs + files
            if name in (".git", "tests", "target", "__pycache__") or name.startswith(".env")]
print(json.dumps({"compilers": compilers, "unwanted": unwanted}))
"#;

#[derive(Deserialize)]
struct FileCheck {
    compilers: Vec<String>,
    unwanted: Vec<String>,
}

/// `image` is what to run, `shown_as` what the findings name.
pub fn check_files(engine: &Engine, image: &str, shown_as: &str) -> Result<Vec<Finding>> {
    let said = engine
        .run_once(image, "python", &["-c", FILE_CHECK])
        .context("cannot look inside the image with its python")?;
    let found: FileCheck =
        serde_json::from_str(&said).with_context(|| format!("cannot read the file check `{said}`"))?;
    Ok(file_findings(found, shown_as))
}

/// The findings of what the file check found.
fn file_findings(found: FileCheck, shown_as: &str) -> Vec<Finding> {
    let finding = |rule: &Rule, path: String, message: String| Finding {
        path: Some(path),
        ..Finding::new(rule, shown_as, message)
    };
    let compilers = found.compilers.into_iter().map(|path| {
        finding(
            IMAGE_COMPILER,
            path.clone(),
            format!("The runtime image has a compiler, {path}: build in an earlier stage."),
        )
    });
    let unwanted = found.unwanted.into_iter().map(|path| {
        finding(IMAGE_UNWANTED_FILE, path.clone(), format!("{path} is in the image: keep it out with .dockerignore."))
    });
    compilers.chain(unwanted).collect()
}

/// Runs the image twice: read-only, where it must still serve its health
/// path; and as usual, where serving requests must leave its layer empty.
pub fn check_running(
    engine: &Engine,
    image: &str,
    contract: &Contract,
    settings: &Settings,
    shown_as: &str,
) -> Result<Vec<Finding>> {
    let health = contract.health.as_str();
    let spec = |read_only| Spec { read_only, settings: settings.clone(), ..Spec::owned("lint", image, contract.port) };
    let read_only = engine.start(&spec(true))?;
    let served = service::wait_ready(&read_only, read_only.endpoint()?, health, &[], READY_TIMEOUT);
    drop(read_only);
    let (bytes, changed) = service::writes_after_serving(engine, &spec(false), health)?;
    Ok(running_findings(served, health, bytes, &changed, shown_as))
}

/// The findings of the two runs: how the read-only one `served` `health`,
/// and the `bytes` the usual one wrote to its layer, in the files `changed`.
fn running_findings(served: Result<u16>, health: &str, bytes: u64, changed: &[String], shown_as: &str) -> Vec<Finding> {
    let trouble = match served {
        Ok(200) => None,
        Ok(status) => Some(format!("With a read-only root file system, GET {health} answers {status}.")),
        Err(error) => Some(format!("With a read-only root file system the service does not serve: {error:#}")),
    };
    let read_only = trouble.map(|message| Finding::new(IMAGE_READ_ONLY_FAILS, shown_as, message));
    let writes = (bytes > 0).then(|| {
        let message = format!("Serving requests wrote {bytes} bytes to the container's layer: {}.", changed.join(", "));
        Finding::new(IMAGE_WRITES_AT_RUN_TIME, shown_as, message)
    });
    read_only.into_iter().chain(writes).collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::lint::rule_table::tests::Seen;

    /// The policy's decisions without an engine: on a good and a naive
    /// image configuration, on what the file check could find, and on
    /// what the two runs could show.
    pub(in crate::lint) fn cases(seen: &mut Seen) {
        let rules = |found: &[Finding]| found.iter().map(|f| f.rule.clone()).collect::<Vec<_>>();
        let good: ImageConfig = serde_json::from_str(
            r#"{"User":"10001:10001","ExposedPorts":{"8000/tcp":{}},"Healthcheck":{"Test":["CMD","python"]},"Cmd":["python","-m","uvicorn"]}"#,
        )
        .unwrap();
        let contract = Contract::of(&good, &Default::default());
        let found = check_config(&good, &contract, "i");
        assert!(found.is_empty(), "{found:?}");
        let config_rules = [IMAGE_ROOT_USER, IMAGE_PORT_NOT_EXPOSED, IMAGE_NO_HEALTHCHECK, IMAGE_SHELL_FORM_COMMAND];
        config_rules.iter().for_each(|rule| seen.silent(rule.id, &found));
        let naive: ImageConfig =
            serde_json::from_str(r#"{"User":"","Cmd":["/bin/sh","-c","uvicorn main:app"]}"#).unwrap();
        let found = check_config(&naive, &contract, "i");
        assert_eq!(rules(&found), config_rules.map(|rule| rule.id));
        seen.fired(&found);

        let file_check = |said: &str| file_findings(serde_json::from_str(said).unwrap(), "i");
        let found = file_check(r#"{"compilers": [], "unwanted": []}"#);
        assert!(found.is_empty(), "{found:?}");
        [IMAGE_COMPILER, IMAGE_UNWANTED_FILE].iter().for_each(|rule| seen.silent(rule.id, &found));
        let found = file_check(r#"{"compilers": ["/usr/bin/gcc"], "unwanted": ["/app/.env"]}"#);
        assert_eq!(rules(&found), [IMAGE_COMPILER.id, IMAGE_UNWANTED_FILE.id]);
        assert_eq!(found[1].path.as_deref(), Some("/app/.env"));
        seen.fired(&found);

        let found = running_findings(Ok(200), "/health", 0, &[], "i");
        assert!(found.is_empty(), "{found:?}");
        [IMAGE_READ_ONLY_FAILS, IMAGE_WRITES_AT_RUN_TIME].iter().for_each(|rule| seen.silent(rule.id, &found));
        let found = running_findings(Ok(500), "/health", 12, &["/app/cache.db".into()], "i");
        assert_eq!(rules(&found), [IMAGE_READ_ONLY_FAILS.id, IMAGE_WRITES_AT_RUN_TIME.id]);
        assert!(found[1].message.contains("wrote 12 bytes to the container's layer: /app/cache.db"), "{found:?}");
        seen.fired(&found);
        let found = running_findings(Err(anyhow::anyhow!("the container exited")), "/health", 0, &[], "i");
        assert!(found[0].message.ends_with("does not serve: the container exited"), "{found:?}");
        seen.silent(IMAGE_NOT_CHECKED.id, &found);
        let found = [not_checked(&anyhow::anyhow!("The image cannot start its app main:app"), "i")];
        assert_eq!(found[0].message, "The image cannot start its app main:app");
        seen.fired(&found);
    }

    #[test]
    fn the_policy_passes_a_good_image_and_names_each_mistake_of_a_naive_one() {
        cases(&mut Seen::default());
    }
}
