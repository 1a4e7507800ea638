//! Turns a failed `docker build`'s output into one sentence a person can
//! act on. Only for messages: the image id never comes from output.
//! Each rule knows the legacy builder's and BuildKit's wording.

/// What went wrong, in words; `None` when no rule knows the output.
pub fn build_failure(output: &str, context: &str) -> Option<String> {
    missing_file(output, context)
        .or_else(|| unpullable_base(output))
        .or_else(|| unknown_package(output))
        .or_else(|| untrusted_tls(output))
        .or_else(|| parse_error(output))
}

/// The last lines of `output` that say something, for a failure no rule knows.
pub fn tail(output: &str, lines: usize) -> String {
    let said: Vec<&str> = output.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    said[said.len().saturating_sub(lines)..].join("\n")
}

fn missing_file(output: &str, context: &str) -> Option<String> {
    // legacy: "COPY failed: file not found in build context or excluded by
    //          .dockerignore: stat docker/libraries.list: file does not exist"
    // BuildKit: "failed to compute cache key: ...: \"/docker/libraries.list\": not found"
    let path = between(output, "stat ", ": file does not exist")
        .or_else(|| before_marker(output, "\": not found").map(|p| p.trim_start_matches('/')))?;
    Some(format!(
        "The Dockerfile copies `{path}`, but the build context {context} has no such file \
         (or .dockerignore leaves it out). Add the file or fix the path."
    ))
}

fn unpullable_base(output: &str) -> Option<String> {
    let markers =
        ["registry-1.docker.io", "pull access denied", "failed to resolve source metadata", "manifest unknown"];
    if !markers.iter().any(|m| output.contains(m)) {
        return None;
    }
    // legacy: "Step 1/9 : FROM python:3.10 AS builder"; BuildKit: "load metadata for docker.io/library/python:3.10"
    let image = output
        .lines()
        .rev()
        .find_map(|l| l.split_once(" : FROM ").or_else(|| l.split_once("load metadata for ")))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or("?");
    // The legacy builder shows `FROM ${BUILDER_IMAGE}` unexpanded, so quote it as it stands.
    Some(format!(
        "The base image in `FROM {image}` could not be pulled: no registry answers from here. \
         Build with `--offline` (or XTASK_OFFLINE=1) to use stand-in base images made locally."
    ))
}

fn unknown_package(output: &str) -> Option<String> {
    let requirement = after(output, "No matching distribution found for ")
        .or_else(|| after(output, "Could not find a version that satisfies the requirement "))?;
    let requirement = requirement.split_whitespace().next().unwrap_or(requirement);
    Some(format!("pip found no `{requirement}` on the package index: check that name and version in libraries.list."))
}

fn untrusted_tls(output: &str) -> Option<String> {
    output.contains("CERTIFICATE_VERIFY_FAILED").then(|| {
        "pip could not verify the package index's TLS certificate: the build container does not trust \
         this network's certificate authority. `--offline` bakes the machine's CA bundle into the stand-in builder."
            .to_string()
    })
}

fn parse_error(output: &str) -> Option<String> {
    let line = output.lines().find(|l| l.to_ascii_lowercase().contains("parse error"))?;
    Some(format!("The Dockerfile does not parse: {}", line.trim()))
}

/// The text between the first `start` and the next `end` on one line.
fn between<'a>(output: &'a str, start: &str, end: &str) -> Option<&'a str> {
    output.lines().find_map(|line| {
        let (_, rest) = line.split_once(start)?;
        let (inside, _) = rest.split_once(end)?;
        Some(inside)
    })
}

/// The rest of the first line that holds `marker`.
fn after<'a>(output: &'a str, marker: &str) -> Option<&'a str> {
    output.lines().find_map(|line| line.split_once(marker).map(|(_, rest)| rest.trim()))
}

/// The quoted word just before `marker`: `"word<marker>`.
fn before_marker<'a>(output: &'a str, marker: &str) -> Option<&'a str> {
    output.lines().find_map(|line| {
        let (head, _) = line.split_once(marker)?;
        head.rsplit_once('"').map(|(_, word)| word)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_named_for_both_builders() {
        let legacy = "Step 3/9 : COPY docker/libraries.list .\nCOPY failed: file not found in build context or excluded by .dockerignore: stat docker/libraries.list: file does not exist\n";
        let buildkit = "ERROR: failed to solve: failed to compute cache key: failed to calculate checksum of ref 4b1f::x: \"/docker/libraries.list\": not found\n";
        for output in [legacy, buildkit] {
            let message = build_failure(output, "/ctx").unwrap();
            assert!(
                message.starts_with("The Dockerfile copies `docker/libraries.list`, but the build context /ctx"),
                "{message}"
            );
        }
    }

    #[test]
    fn an_unpullable_base_points_to_offline() {
        let legacy = "Step 1/9 : FROM python:3.10 AS builder\nGet \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host\n";
        let buildkit = "ERROR [internal] load metadata for docker.io/library/python:3.10\nfailed to solve: python:3.10: failed to resolve source metadata for docker.io/library/python:3.10: dial tcp: i/o timeout\n";
        assert!(build_failure(legacy, "/ctx")
            .unwrap()
            .starts_with("The base image in `FROM python:3.10` could not be pulled"));
        let message = build_failure(buildkit, "/ctx").unwrap();
        assert!(message.contains("docker.io/library/python:3.10") && message.contains("--offline"), "{message}");
    }

    #[test]
    fn an_unknown_package_is_named() {
        let output = "ERROR: Could not find a version that satisfies the requirement no-such-pkg==1.0 (from versions: none)\nERROR: No matching distribution found for no-such-pkg==1.0\n";
        assert_eq!(
            build_failure(output, "/ctx").unwrap(),
            "pip found no `no-such-pkg==1.0` on the package index: check that name and version in libraries.list."
        );
    }

    #[test]
    fn parse_errors_and_tls_are_explained() {
        assert!(build_failure("Dockerfile parse error line 3: unknown instruction: FORM", "/c")
            .unwrap()
            .contains("line 3: unknown instruction"));
        assert!(build_failure("SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED]'))", "/c")
            .unwrap()
            .contains("TLS"));
    }

    #[test]
    fn unknown_output_is_left_to_the_tail() {
        assert_eq!(build_failure("something else\n", "/c"), None);
        assert_eq!(tail("a\n\nb\nc\n", 2), "b\nc");
    }
}
