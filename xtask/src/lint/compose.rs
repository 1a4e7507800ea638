//! Our rules for a Compose file, on the model Compose itself resolved
//! (`docker compose config --format json --no-interpolate`: `extends`,
//! profiles and short forms resolved as Compose does, variables left as
//! written, so that a `${PASSWORD}` is told apart from a literal one):
//! the classic mistakes of a stack, each a pure function of that model.

use camino::Utf8Path;
use serde_json::Value;

use super::{
    rule_table::{
        Rule, COMPOSE_DEPENDS_UNHEALTHY, COMPOSE_HEALTHCHECK_FORM, COMPOSE_IMAGE_TAG, COMPOSE_LOCALHOST_URL,
        COMPOSE_NOT_READ, COMPOSE_PUBLISHED_DATASTORE, COMPOSE_SECRET_IN_ENVIRONMENT, COMPOSE_SOURCE_MOUNT,
    },
    secrets::secret_value,
    Finding,
};
use crate::{engine::compose::ComposeModel, model::reference};

/// Images of databases, caches and brokers: nothing outside the stack
/// should reach them, and a service should wait until they are ready.
const DATASTORES: [&str; 14] = [
    "postgres",
    "postgis",
    "mysql",
    "mariadb",
    "mongo",
    "redis",
    "valkey",
    "memcached",
    "rabbitmq",
    "elasticsearch",
    "opensearch",
    "cassandra",
    "clickhouse",
    "influxdb",
];

/// Our rules on the Compose file `file` (`shown` in the findings) as
/// Compose read it, and whether it gives the service built from
/// `dockerfile` a healthcheck; a warning that says so when Compose v2 is
/// not there to read it.
pub fn check_compose_file(
    read: &ComposeModel,
    file: &Utf8Path,
    shown: &str,
    dockerfile: &Utf8Path,
) -> (Vec<Finding>, bool) {
    match read {
        ComposeModel::Read(model) => {
            let dir = file.parent().map_or(String::new(), |dir| dir.to_string());
            (check_compose(model, shown, &dir), compose_checks_image(model, dockerfile.as_str()))
        }
        ComposeModel::NoCompose => (
            vec![Finding::new(
                COMPOSE_NOT_READ,
                shown,
                "Compose v2 (`docker compose`) is not installed, so this Compose file was not checked: install it \
                 (Debian trixie's docker-compose package, or Docker's compose plugin)."
                    .into(),
            )],
            false,
        ),
    }
}

/// The findings of the resolved model `model` of the Compose file `file`,
/// whose folder is `project_dir` (the source of a bind mount of the code).
fn check_compose(model: &Value, file: &str, project_dir: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let Some(services) = model["services"].as_object() else { return findings };
    let finding = |rule: &Rule, service: &str, what: &str, message: String| {
        let mut found = Finding::new(rule, file, message);
        found.path = Some(format!("services.{service}{what}"));
        found
    };
    let datastore = |service: &Value| service["image"].as_str().is_some_and(is_datastore);
    for (name, service) in services {
        for (key, value) in service["environment"].as_object().into_iter().flatten() {
            let value = value.as_str().unwrap_or_default();
            if let Some(host) = loopback_url_host(value).filter(|_| services.len() > 1 && !public_address(key, value)) {
                findings.push(finding(COMPOSE_LOCALHOST_URL, name, ".environment", format!(
                    "`{name}` reaches {host} in {key}: inside its container that is the container itself. Use the other service's name (such as `db`) as the host."
                )));
            }
            if secret_value(key, value) {
                findings.push(finding(COMPOSE_SECRET_IN_ENVIRONMENT, name, ".environment", format!(
                    "`{name}` sets {key} to a literal secret in the Compose file, which is committed: take it from a variable (`${{{key}}}`), an env_file that is not committed, or Compose secrets."
                )));
            }
        }
        if datastore(service) {
            for port in service["ports"].as_array().into_iter().flatten() {
                let host_ip = port["host_ip"].as_str().unwrap_or("");
                if matches!(host_ip, "" | "0.0.0.0" | "::") && port["published"].as_str().is_some_and(|p| !p.is_empty())
                {
                    findings.push(finding(COMPOSE_PUBLISHED_DATASTORE, name, ".ports", format!(
                        "`{name}` publishes port {} on every interface of the host, so anyone who reaches the host reaches it: publish it on 127.0.0.1 only (`127.0.0.1:{}:{}`), or not at all.",
                        port["target"], port["published"].as_str().unwrap_or(""), port["target"]
                    )));
                }
            }
        }
        for (needed, how) in service["depends_on"].as_object().into_iter().flatten() {
            let condition = how["condition"].as_str().unwrap_or("service_started");
            let Some(other) = services.get(needed) else { continue };
            let checked = other["healthcheck"].is_object() && other["healthcheck"]["disable"] != true;
            if condition == "service_healthy" && !checked {
                findings.push(finding(
                    COMPOSE_DEPENDS_UNHEALTHY,
                    name,
                    ".depends_on",
                    format!(
                        "`{name}` waits for `{needed}` to be healthy, and `{needed}` has no healthcheck: give it one."
                    ),
                ));
            } else if condition == "service_started" && datastore(other) {
                findings.push(finding(COMPOSE_DEPENDS_UNHEALTHY, name, ".depends_on", format!(
                    "`{name}` starts as soon as `{needed}` has started, before it accepts connections: wait for it with `condition: service_healthy`{}.",
                    if checked { "" } else { ", and give it a healthcheck" }
                )));
            }
        }
        if let Some(test) = service["healthcheck"]["test"].as_array() {
            let words: Vec<&str> = test.iter().filter_map(Value::as_str).collect();
            match words.first() {
                Some(&("CMD" | "CMD-SHELL" | "NONE")) => {}
                form => findings.push(finding(COMPOSE_HEALTHCHECK_FORM, name, ".healthcheck.test", format!(
                    "The healthcheck of `{name}` starts with {}, which Compose does not run: start it with CMD (an argv) or CMD-SHELL (a shell command), or NONE.",
                    form.map_or("nothing".to_string(), |word| format!("`{word}`"))
                ))),
            }
            let command = words.join(" ");
            if command.contains("pg_isready")
                && !command.split_whitespace().any(|w| w == "-h" || w.starts_with("--host"))
            {
                findings.push(finding(COMPOSE_HEALTHCHECK_FORM, name, ".healthcheck.test", format!(
                    "The healthcheck of `{name}` runs pg_isready without -h, over the Unix socket, which answers during PostgreSQL's first initialisation before the server restarts for real: add `-h 127.0.0.1`."
                )));
            }
        }
        if service["build"].is_object() {
            for volume in service["volumes"].as_array().into_iter().flatten() {
                let source = volume["source"].as_str().unwrap_or_default();
                let inside = source == project_dir || source.starts_with(&format!("{project_dir}/"));
                if volume["type"] == "bind" && inside {
                    findings.push(finding(COMPOSE_SOURCE_MOUNT, name, ".volumes", format!(
                        "`{name}` mounts {source} over {} in the image it builds, so it runs the checkout's files, not the image's: fine for development (in a compose.override.yaml), wrong in a file used for CI or production.",
                        volume["target"].as_str().unwrap_or("its code")
                    )));
                }
            }
        } else if let Some(image) = service["image"].as_str() {
            if untagged(image) {
                findings.push(finding(COMPOSE_IMAGE_TAG, name, ".image", format!(
                    "`{name}` runs `{image}`, with no tag or `latest`: each pull may bring another version. Pin a tag (such as `postgres:16`)."
                )));
            }
        }
    }
    findings
}

/// Whether the model gives a healthcheck to a service built from `dockerfile`.
fn compose_checks_image(model: &Value, dockerfile: &str) -> bool {
    let services = model["services"].as_object().into_iter().flat_map(|services| services.values());
    services.filter(|service| service["healthcheck"].is_object()).any(|service| {
        let build = &service["build"];
        let context = build["context"].as_str().unwrap_or_default();
        let file = build["dockerfile"].as_str().unwrap_or("Dockerfile");
        let path = if file.starts_with('/') { file.to_string() } else { format!("{context}/{file}") };
        build.is_object() && path == dockerfile
    })
}

/// The last part of the image's repository: `redis` of `docker.io/bitnami/redis:7`.
fn repository(image: &str) -> &str {
    let name = reference::repository(image.split('@').next().unwrap_or(image));
    name.rsplit('/').next().unwrap_or(name)
}

fn is_datastore(image: &str) -> bool {
    let repository = repository(image);
    DATASTORES.iter().any(|store| repository == *store || repository.starts_with(&format!("{store}-")))
}

/// No tag (and no digest), or `latest`; a variable may name the tag.
fn untagged(image: &str) -> bool {
    if image.contains('@') || image.contains("${") {
        return false;
    }
    reference::tag(image).is_none_or(|tag| tag == "latest")
}

/// An http(s) URL under a name that says it is the address people use
/// (REDASH_HOST, SITE_URL, PUBLIC_URL, CORS_ORIGINS): a browser's
/// localhost, rightly. A database's or broker's URL is never that.
fn public_address(key: &str, value: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    let words: Vec<&str> = upper.split(['_', '-', '.']).collect();
    let public = [
        "PUBLIC", "EXTERNAL", "BASE", "SITE", "FRONTEND", "ORIGIN", "ORIGINS", "REDIRECT", "CALLBACK", "DOMAIN",
        "ALLOWED", "CORS", "CSRF", "TRUSTED",
    ];
    let web = value.starts_with("http://") || value.starts_with("https://");
    web && (words.iter().any(|word| public.contains(word)) || words.last() == Some(&"HOST"))
}

/// The loopback host of a URL in `value` (`postgresql://u@localhost:5432/x`).
fn loopback_url_host(value: &str) -> Option<String> {
    let (_, rest) = value.split_once("://")?;
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = host_port.rsplit_once(':').map_or(host_port, |(host, _)| host);
    matches!(host, "localhost" | "127.0.0.1" | "[::1]").then(|| host_port.to_string())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::lint::rule_table::tests::Seen;

    fn check(read: &ComposeModel) -> Vec<Finding> {
        check_compose_file(read, "/p/compose.yaml".into(), "compose.yaml", "/p/docker/Dockerfile".into()).0
    }

    /// Each fixture tests/fixtures/lint/compose/*.json (a model as Compose
    /// resolves it) fires the rule its name starts with, once, and no
    /// other; clean-*.json fire none, and name the rules they come close
    /// to in `x-no-finding-of` (an extension field, which Compose keeps
    /// and the rules do not read). Without Compose v2, no file is read.
    pub(in crate::lint) fn cases(seen: &mut Seen) {
        let dir = crate::sys::project::root().join("tests/fixtures/lint/compose");
        let mut fixtures = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            let model: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let found = check(&ComposeModel::Read(model.clone()));
            let rules: Vec<&str> = found.iter().map(|f| f.rule.as_str()).collect();
            match name.strip_prefix("clean-") {
                Some(_) => {
                    assert!(rules.is_empty(), "{name}: {rules:?}");
                    let named = model["x-no-finding-of"].as_array().unwrap_or_else(|| panic!("{name} names no rule"));
                    named.iter().for_each(|rule| seen.silent(rule.as_str().unwrap(), &found));
                }
                None => {
                    assert_eq!(rules, [name.split('.').next().unwrap()], "{name}");
                    seen.fired(&found);
                }
            }
            fixtures += 1;
        }
        assert!(fixtures >= 8, "{fixtures} fixtures");
        let unread = check(&ComposeModel::NoCompose);
        assert_eq!(unread.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(), [COMPOSE_NOT_READ.id]);
        seen.fired(&unread);
    }

    #[test]
    fn each_compose_rule_fires_on_its_fixture_and_the_clean_ones_on_none() {
        cases(&mut Seen::default());
    }

    #[test]
    fn a_healthcheck_in_compose_serves_the_image_built_for_it() {
        let model: Value = serde_json::from_str(
            r#"{"services": {"api": {"build": {"context": "/p", "dockerfile": "docker/Dockerfile"}, "healthcheck": {"test": ["CMD", "true"]}}}}"#,
        )
        .unwrap();
        assert!(compose_checks_image(&model, "/p/docker/Dockerfile"));
        assert!(!compose_checks_image(&model, "/p/Dockerfile"));
    }

    #[test]
    fn a_public_address_may_be_localhost_and_a_backend_s_may_not() {
        assert!(public_address("REDASH_HOST", "http://localhost:5001"));
        assert!(public_address("SITE_URL", "https://localhost"));
        assert!(!public_address("API_URL", "http://localhost:8000"), "a service's address for another");
        assert!(!public_address("CACHE_HOST", "redis://localhost:6379"), "a backend's URL");
    }

    #[test]
    fn hosts_tags_and_stores_are_read() {
        assert_eq!(loopback_url_host("redis://localhost:6379/0").as_deref(), Some("localhost:6379"));
        assert_eq!(loopback_url_host("postgresql://u:p@127.0.0.1/app").as_deref(), Some("127.0.0.1"));
        assert_eq!(loopback_url_host("postgresql://u@db:5432/app"), None);
        assert!(untagged("redis") && untagged("redis:latest") && untagged("r.io:5000/team/redis"));
        assert!(!untagged("redis:7") && !untagged("postgres:${PG:-16}") && !untagged("r.io:5000/team/redis:7"));
        assert!(
            is_datastore("postgres:16") && is_datastore("docker.io/library/redis:7") && is_datastore("bitnami/redis")
        );
        assert!(!is_datastore("myapi:1") && !is_datastore("redisinsight-ui:1"));
    }
}
