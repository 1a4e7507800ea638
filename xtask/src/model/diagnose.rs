//! Turns a failed build's output into one sentence a person can act on.
//! Only for messages: the image id never comes from output. The wording
//! differs between the legacy builder, BuildKit 0.8 (engine 20.10) and
//! newer BuildKit, so each rule matches on meaning (a quoted path and "not
//! found", a registry that does not answer, a step's exit code), not on
//! whole lines.

use std::collections::BTreeMap;

use super::dockerfile::{expand, global_args, Dockerfile};
use crate::sys::text::last_lines;

/// What the diagnosis knows of the build besides its output.
pub struct Situation {
    pub context: String,
    pub offline: bool,
    /// The Dockerfile's text, and the build args it was built with.
    pub dockerfile: String,
    pub build_args: BTreeMap<String, String>,
    /// The base images' Python (X.Y), where it is known.
    pub bases_python: Option<String>,
}

/// What went wrong, in words.
pub fn build_failure(output: &str, situation: &Situation) -> String {
    let output = strip_ansi(output);
    let output = output.as_str();
    parse_error(output)
        .or_else(|| python_mismatch(output, situation))
        .or_else(|| missing_file(output, &situation.context))
        .or_else(|| unpullable_image(output, situation))
        .or_else(|| pip_conflict(output))
        .or_else(|| unknown_package(output))
        .or_else(|| source_build(output, situation))
        .or_else(|| untrusted_tls(output))
        .or_else(|| no_buildx(output))
        .or_else(|| failed_step(output))
        .unwrap_or_else(|| format!("The build failed. Its last lines:\n{}", last_lines(output, 5)))
}

/// `output` without the terminal's colour codes (the legacy builder
/// colours a step's stderr).
fn strip_ansi(output: &str) -> String {
    let mut out = String::with_capacity(output.len());
    let mut chars = output.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn parse_error(output: &str) -> Option<String> {
    let line = output.lines().find(|l| l.to_ascii_lowercase().contains("parse error"))?;
    Some(format!("The Dockerfile does not parse: {}", line.trim()))
}

/// A `COPY --from` of `/usr/local/lib/pythonX.Y` that the builder stage lacks.
fn python_mismatch(output: &str, situation: &Situation) -> Option<String> {
    // legacy: "COPY failed: stat usr/local/lib/python3.9/site-packages: file does not exist"
    // BuildKit: "failed to walk …/usr/local/lib/python3.9: lstat …: no such file or directory"
    // Buildah: "building at STEP \"COPY --from=builder /usr/local/lib/python${PYTHON_MINOR}/…\": … copier:
    //          stat: \"/usr/local/lib/python3.9/site-packages\": no such file or directory"
    let line = output.lines().find(|l| {
        l.contains("lib/python") && (l.contains("file does not exist") || l.contains("no such file or directory"))
    })?;
    // The version as expanded: Buildah's line holds the step's `${PYTHON_MINOR}` first.
    let wanted: String = line
        .split("lib/python")
        .skip(1)
        .map(|rest| rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect::<String>())
        .find(|version| !version.is_empty())?;
    let bases =
        situation.bases_python.as_deref().map_or(String::new(), |v| format!(" (the base images carry Python {v})"));
    Some(format!(
        "The Python versions do not match: the Dockerfile copies /usr/local/lib/python{wanted}/site-packages from \
         the builder stage, which has no Python {wanted}{bases}. Set PYTHON_MINOR to the base images' Python \
         version, or leave it out."
    ))
}

fn missing_file(output: &str, context: &str) -> Option<String> {
    // legacy: "COPY failed: file not found in build context or excluded by
    //          .dockerignore: stat docker/libraries.list: file does not exist"
    // BuildKit 0.8: "\"/docker/libraries.list\" not found: not found"
    // newer BuildKit: "…: \"/docker/libraries.list\": not found"
    // Buildah: "checking on sources under \"/ctx\": copier: stat: \"/docker/libraries.list\": no such file or directory"
    let buildah = || {
        let line = output.lines().find(|l| l.contains("checking on sources under"))?;
        let path = between(line, "copier: stat: \"", "\": no such file or directory")?;
        Some(path.trim_start_matches('/'))
    };
    let legacy = output
        .lines()
        .filter(|l| l.contains("build context"))
        .find_map(|l| between(l, "stat ", ": file does not exist"));
    let path = legacy.or_else(|| output.lines().find_map(quoted_path_not_found)).or_else(buildah)?;
    Some(format!(
        "The Dockerfile copies `{path}`, but the build context {context} has no such file \
         (or .dockerignore leaves it out). Add the file or fix the path."
    ))
}

/// `"/path" not found` or `"/path": not found` → `path`.
fn quoted_path_not_found(line: &str) -> Option<&str> {
    let (head, _) = line.split_once("\" not found").or_else(|| line.split_once("\": not found"))?;
    let (_, path) = head.rsplit_once('"')?;
    path.starts_with('/').then(|| path.trim_start_matches('/'))
}

fn unpullable_image(output: &str, situation: &Situation) -> Option<String> {
    let markers = [
        "registry-1.docker.io",
        "pull access denied",
        "failed to resolve source metadata",
        "manifest unknown",
        "failed to do request",
        "invalid from flag value",
        // Buildah
        "did not resolve to an alias",
        "pinging container registry",
        "no stage or image found with that name",
    ];
    if !markers.iter().any(|m| output.contains(m)) {
        return None;
    }
    let variables = global_args(&situation.dockerfile, &situation.build_args);
    let image = named_image(output, &variables)?;
    let bases: Vec<String> = Dockerfile::parse_with(&situation.dockerfile, &variables)
        .stages
        .into_iter()
        .filter_map(|stage| stage.image)
        .collect();
    let what = if bases.iter().any(|base| short_name(base) == image) {
        format!("The base image `{image}`")
    } else {
        format!("The image `{image}`, which the Dockerfile copies from,")
    };
    let advice = if situation.offline {
        "It is none of the offline stand-ins: build it locally first, or name an image this engine has."
    } else {
        "Build with `--offline` (or XTASK_OFFLINE=1) to use stand-in base images made locally."
    };
    Some(format!("{what} could not be pulled: no registry answers from here. {advice}"))
}

/// The image a failed pull names, as the Dockerfile would name it.
fn named_image(output: &str, variables: &BTreeMap<String, String>) -> Option<String> {
    let lines: Vec<&str> = output.lines().collect();
    // BuildKit: "load metadata for docker.io/library/python:3.10", "> FROM docker.io/x/y:z:".
    let buildkit = lines.iter().rev().find_map(|l| {
        let (_, rest) = l.split_once("load metadata for ").or_else(|| l.split_once("> FROM "))?;
        Some(rest.split_whitespace().next()?.trim_end_matches(':').to_string())
    });
    // legacy: "invalid from flag value IMAGE: …" and "Step 4/17 : FROM ${BUILDER_IMAGE} AS builder".
    // Buildah: "Error: COPY --from=IMAGE: no stage or image found …" and "STEP 1/4: FROM IMAGE AS builder".
    let legacy = || {
        lines
            .iter()
            .find_map(|l| {
                let (_, rest) =
                    l.split_once("invalid from flag value ").or_else(|| l.split_once("Error: COPY --from="))?;
                Some(rest.split(": ").next()?.to_string())
            })
            .or_else(|| {
                let (_, from) =
                    lines.iter().rev().find_map(|l| l.split_once(" : FROM ").or_else(|| l.split_once(": FROM ")))?;
                let word = from.split_whitespace().find(|w| !w.starts_with("--"))?;
                expand(word, variables)
            })
    };
    buildkit.or_else(legacy).map(|image| short_name(&image).to_string())
}

/// `docker.io/library/python:3.10` → `python:3.10`, as people write it.
fn short_name(image: &str) -> &str {
    image.strip_prefix("docker.io/").map(|rest| rest.strip_prefix("library/").unwrap_or(rest)).unwrap_or(image)
}

fn pip_conflict(output: &str) -> Option<String> {
    if !output.contains("ResolutionImpossible") && !output.contains("conflicting dependencies") {
        return None;
    }
    let mut requested: Vec<&str> = output.lines().filter_map(|l| after(l, "The user requested ")).collect();
    requested.dedup();
    // pip's cause, when a package of the list needs another version of a
    // pinned one: "uvicorn 0.24.0.post1 depends on typing-extensions>=4.0".
    let mut causes: Vec<&str> = output.lines().filter(|l| l.contains(" depends on ")).map(step_text).collect();
    causes.dedup();
    let which = match (requested.is_empty(), causes.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!(": {}", requested.join(" and ")),
        (true, false) => format!(": {}", causes.join("; ")),
        (false, false) => format!(": {} ({})", requested.join(" and "), causes.join("; ")),
    };
    Some(format!(
        "pip cannot install the packages of libraries.list together, because their versions conflict{which}. \
         Pin one version of each package, one that the others accept."
    ))
}

fn unknown_package(output: &str) -> Option<String> {
    let requirement = output.lines().find_map(|l| {
        after(l, "No matching distribution found for ")
            .or_else(|| after(l, "Could not find a version that satisfies the requirement "))
    })?;
    let requirement = requirement.split_whitespace().next().unwrap_or(requirement);
    // pip: "Ignored the following versions that require a different python
    // version: 1.20.1 Requires-Python >=3.10; …": the pin exists, for
    // another Python.
    let pinned = requirement.split_once("==").map(|(_, version)| version);
    let ignored = output.lines().find_map(|l| after(l, "require a different python version: ")).unwrap_or_default();
    let needs = ignored.split(';').map(str::trim).find_map(|entry| {
        let (version, python) = entry.split_once(" Requires-Python ")?;
        (Some(version.trim()) == pinned).then(|| python.trim())
    });
    Some(match needs {
        Some(python) => format!(
            "`{requirement}` needs Python {python}, which the image's Python does not meet: choose a Python it supports \
             (--python, or PYTHON_MINOR in docker/build-args), or pin a version of it for this Python in \
             libraries.list."
        ),
        None => format!("pip found no `{requirement}` on the package index: check that name and version in libraries.list."),
    })
}

/// A package pip had to build from source, and could not: its name, the
/// cause its build printed, and the way out.
fn source_build(output: &str, situation: &Situation) -> Option<String> {
    let markers = ["metadata-generation-failed", "Failed building wheel for", "failed-wheel-build-for-install"];
    if !markers.iter().any(|marker| output.contains(marker)) {
        return None;
    }
    // BuildKit prefixes each line of a step with `#N SECONDS `.
    let lines: Vec<&str> = output
        .lines()
        .map(|line| match line.strip_prefix('#').and_then(|rest| rest.split_once(' ')) {
            Some((_, rest)) => {
                rest.split_once(' ').filter(|(time, _)| time.parse::<f64>().is_ok()).map_or(line, |(_, text)| text)
            }
            None => line,
        })
        .map(str::trim)
        .collect();
    let failed_wheel = lines.iter().find_map(|line| after(line, "Failed building wheel for "));
    let collecting = || {
        let failure = lines.iter().position(|line| line.contains("error: subprocess-exited-with-error"))?;
        lines[..failure].iter().rev().find_map(|line| after(line, "Collecting "))
    };
    let package = failed_wheel.or_else(collecting)?;
    let package = package.split(" (").next().unwrap_or(package);
    // The build's own output, between pip's `[N lines of output]` and `[end of output]`.
    let start = lines.iter().position(|line| line.contains("lines of output]"))?;
    let end =
        lines[start..].iter().position(|line| line.contains("[end of output]")).map_or(lines.len(), |at| start + at);
    let said = &lines[start + 1..end];
    let cause = said
        .iter()
        .find(|line| line.to_ascii_lowercase().starts_with("error:"))
        .or_else(|| said.iter().rev().find(|line| !line.is_empty()))
        .map(|line| line.trim_start_matches("Error: ").trim_start_matches("error: ").trim_end_matches('.'))?;
    let python = situation.bases_python.as_deref().map_or(String::new(), |v| format!(" {v}"));
    let way_out = match cause.contains("pg_config") {
        true => "use its binary wheel instead (psycopg2-binary for psycopg2), or install libpq-dev in the builder stage".to_string(),
        false => format!("pin a version that has a wheel for Python{python} on this platform, or install what its build needs in the builder stage"),
    };
    Some(format!(
        "pip could not build {package} from source (there is no wheel of it for this Python and platform): {cause}. \
         To fix it, {way_out}."
    ))
}

fn untrusted_tls(output: &str) -> Option<String> {
    output.contains("CERTIFICATE_VERIFY_FAILED").then(|| {
        "pip could not verify the package index's TLS certificate: the build container does not trust \
         this network's certificate authority. `--offline` bakes the machine's CA bundle into the stand-in builder."
            .to_string()
    })
}

/// Docker 23 and later with DOCKER_BUILDKIT=1 but no buildx plugin.
fn no_buildx(output: &str) -> Option<String> {
    output.contains("BuildKit is enabled but the buildx component is missing").then(|| {
        "DOCKER_BUILDKIT=1 asks for BuildKit, and this docker client has no buildx to build with it: install the \
         buildx plugin, use a client that builds with the daemon's BuildKit itself (Docker 20.10), or set \
         DOCKER_BUILDKIT=0 for the legacy builder."
            .to_string()
    })
}

/// A `RUN` that exited non-zero: the step, its exit code, and its last lines.
fn failed_step(output: &str) -> Option<String> {
    // legacy: "The command '/bin/sh -c CMD' returned a non-zero code: 1"
    // BuildKit 0.8: "#13 ERROR: executor failed running [/bin/sh -c CMD]: exit code: 1"
    // newer BuildKit: "ERROR: process \"/bin/sh -c CMD\" did not complete successfully: exit code: 1"
    // Buildah: "Error: building at STEP \"RUN CMD\": while running runtime: exit status 1"
    let (line_at, command, code) = output.lines().enumerate().find_map(|(at, line)| {
        let (command, code) = between(line, "The command '", "' returned a non-zero code: ")
            .map(|c| (c, line.rsplit(": ").next()))
            .or_else(|| {
                between(line, "executor failed running [", "]: exit code: ").map(|c| (c, line.rsplit(": ").next()))
            })
            .or_else(|| {
                between(line, "process \"", "\" did not complete successfully: exit code: ")
                    .map(|c| (c, line.rsplit(": ").next()))
            })
            .or_else(|| {
                let (command, _) =
                    line.split_once("building at STEP \"RUN ")?.1.rsplit_once("\": while running runtime: ")?;
                Some((command, line.rsplit("exit status ").next()))
            })?;
        Some((at, command, code?.trim()))
    })?;
    let command = command.strip_prefix("/bin/sh -c ").unwrap_or(command);
    let said = step_output(output, line_at);
    let said = if said.is_empty() { String::new() } else { format!(" Its last lines:\n{said}") };
    Some(format!("The Dockerfile step `RUN {command}` failed with exit code {code}.{said}"))
}

/// The last lines the failed step printed, without the builder's own.
fn step_output(output: &str, failure_line: usize) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let failure = lines[failure_line];
    let printed: Vec<&str> = match failure.strip_prefix('#').and_then(|l| l.split_once(' ')) {
        // BuildKit: the step's own lines are "#13 0.199 text".
        Some((step, _)) => lines
            .iter()
            .filter_map(|l| l.strip_prefix('#')?.strip_prefix(step)?.strip_prefix(' '))
            .filter_map(|l| l.split_once(' ').filter(|(time, _)| time.parse::<f64>().is_ok()).map(|(_, text)| text))
            .collect(),
        // legacy: between "---> Running in ID" and the failure, less the builder's lines;
        // Buildah: between "STEP n/m: RUN …" and the failure.
        None => {
            let start = lines[..failure_line]
                .iter()
                .rposition(|l| l.contains("---> Running in ") || (l.contains("STEP ") && l.contains(": RUN ")))
                .map_or(0, |i| i + 1);
            lines[start..failure_line]
                .iter()
                .copied()
                .filter(|l| !l.starts_with("Removing intermediate container"))
                .collect()
        }
    };
    last_lines(&printed.join("\n"), 5)
}

/// The text between the first `start` and the next `end` on `line`.
fn between<'a>(line: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let (_, rest) = line.split_once(start)?;
    let (inside, _) = rest.split_once(end)?;
    Some(inside)
}

/// A line of a step's output without BuildKit's `#11 0.660` before it.
fn step_text(line: &str) -> &str {
    let line = line.trim();
    let mut words = line.splitn(3, ' ');
    match (words.next(), words.next(), words.next()) {
        (Some(step), Some(time), Some(rest)) if step.starts_with('#') && time.parse::<f64>().is_ok() => rest.trim(),
        _ => line,
    }
}

/// The rest of `line` after `marker`.
fn after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    line.split_once(marker).map(|(_, rest)| rest.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn situation(offline: bool) -> Situation {
        Situation {
            context: "/ctx".into(),
            offline,
            dockerfile: include_str!("../../../docker/Dockerfile").into(),
            build_args: BTreeMap::new(),
            bases_python: offline.then(|| "3.11".to_string()),
        }
    }

    fn said(output: &str) -> String {
        build_failure(output, &situation(false))
    }

    #[test]
    fn a_missing_file_is_named_for_every_builder() {
        let legacy = "Step 3/9 : COPY docker/libraries.list .\nCOPY failed: file not found in build context or excluded by .dockerignore: stat docker/libraries.list: file does not exist\n";
        let buildkit_08 = "#10 ERROR: \"/docker/libraries.list\" not found: not found\n------\nfailed to compute cache key: \"/docker/libraries.list\" not found: not found\n";
        let buildkit = "ERROR: failed to solve: failed to compute cache key: failed to calculate checksum of ref 4b1f::x: \"/docker/libraries.list\": not found\n";
        let buildah = "[1/2] STEP 3/4: COPY docker/libraries.list .\nError: building at STEP \"COPY docker/libraries.list .\": checking on sources under \"/ctx\": copier: stat: \"/docker/libraries.list\": no such file or directory\n";
        for output in [legacy, buildkit_08, buildkit, buildah] {
            let message = said(output);
            assert!(
                message.starts_with("The Dockerfile copies `docker/libraries.list`, but the build context /ctx"),
                "{message}"
            );
        }
    }

    #[test]
    fn a_python_mismatch_is_named_not_blamed_on_the_context() {
        let legacy = "Step 12/17 : COPY --from=builder /usr/local/lib/python${PYTHON_MINOR}/site-packages /usr/local/lib/python${PYTHON_MINOR}/site-packages\nCOPY failed: stat usr/local/lib/python3.9/site-packages: file does not exist\n";
        let buildkit = "#12 ERROR: failed to walk /var/lib/docker/tmp/buildkit-mount1/usr/local/lib/python3.9: lstat /var/lib/docker/tmp/buildkit-mount1/usr/local/lib/python3.9: no such file or directory\n";
        let buildah = "[2/2] STEP 9/14: COPY --from=builder /usr/local/lib/python${PYTHON_MINOR}/site-packages /usr/local/lib/python${PYTHON_MINOR}/site-packages\nError: building at STEP \"COPY --from=builder /usr/local/lib/python${PYTHON_MINOR}/site-packages /usr/local/lib/python${PYTHON_MINOR}/site-packages\": checking on sources under \"/var/lib/containers/storage/overlay/c495/merged\": copier: stat: \"/usr/local/lib/python3.9/site-packages\": no such file or directory\n";
        for output in [legacy, buildkit, buildah] {
            let message = build_failure(output, &situation(true));
            assert!(message.starts_with("The Python versions do not match"), "{message}");
            assert!(message.contains("python3.9/site-packages") && message.contains("carry Python 3.11"), "{message}");
        }
    }

    #[test]
    fn an_unpullable_base_is_named_expanded_with_no_stray_colon() {
        let legacy = "Step 4/17 : FROM ${BUILDER_IMAGE} AS builder\nGet \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host\n";
        let buildkit = "#4 [internal] load metadata for docker.io/library/python:3.10\n#4 ERROR: failed to do request: Head \"https://registry-1.docker.io/v2/library/python/manifests/3.10\": dial tcp: no such host\n------\n > [internal] load metadata for docker.io/library/python:3.10:\n------\nfailed to solve with frontend dockerfile.v0: failed to create LLB definition: failed to do request\n";
        let buildah = "[1/2] STEP 1/4: FROM docker.io/library/python:3.10 AS builder\nTrying to pull docker.io/library/python:3.10...\nError: creating build container: initializing source docker://python:3.10: pinging container registry registry-1.docker.io: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host\n";
        let short_name = "[1/2] STEP 1/4: FROM python:3.10 AS builder\nError: creating build container: short-name \"python:3.10\" did not resolve to an alias and no unqualified-search registries are defined in \"/etc/containers/registries.conf\"\n";
        for output in [legacy, buildkit, buildah, short_name] {
            let message = said(output);
            assert!(message.starts_with("The base image `python:3.10` could not be pulled"), "{message}");
            assert!(message.contains("--offline"), "{message}");
        }
        let mut with_arg = situation(false);
        with_arg.build_args.insert("BUILDER_IMAGE".into(), "mirror.example/python:3.10".into());
        let message = build_failure(legacy, &with_arg);
        assert!(message.starts_with("The base image `mirror.example/python:3.10`"), "{message}");
    }

    #[test]
    fn an_unpullable_copy_from_image_is_named_and_offline_is_not_advised_twice() {
        let legacy = "Step 17/18 : COPY --from=xtask-test/no-such-image:none /x /x\ninvalid from flag value xtask-test/no-such-image:none: Get \"https://registry-1.docker.io/v2/\": dial tcp: no such host\n";
        let buildkit = "#13 FROM docker.io/xtask-test/no-such-image:none\n#13 ERROR: failed to do request: Head \"https://registry-1.docker.io/v2/xtask-test/no-such-image/manifests/none\": no such host\n------\n > FROM docker.io/xtask-test/no-such-image:none:\n------\nfailed to load cache key: failed to do request\n";
        let buildah = "STEP 1/2: FROM xtask-standin/python:bookworm-slim\nSTEP 2/2: COPY --from=xtask-test/no-such-image:none /x /x\nError: COPY --from=xtask-test/no-such-image:none: no stage or image found with that name\n";
        for output in [legacy, buildkit, buildah] {
            let message = build_failure(output, &situation(true));
            assert!(
                message.starts_with(
                    "The image `xtask-test/no-such-image:none`, which the Dockerfile copies from, could not be pulled"
                ),
                "{message}"
            );
            assert!(!message.contains("--offline") && !message.contains("FROM ?"), "{message}");
        }
    }

    #[test]
    fn a_pip_conflict_is_named_without_colour_codes() {
        let legacy = "The conflict is caused by:\n    The user requested fastapi==0.162.5\n    The user requested fastapi==0.110.0\n\u{1b}[91mERROR: Cannot install fastapi==0.110.0 and fastapi==0.162.5 because these package versions have conflicting dependencies.\n\u{1b}[0m\u{1b}[91mERROR: ResolutionImpossible: for help visit https://pip.pypa.io\n\u{1b}[0mThe command '/bin/sh -c pip install --no-cache-dir -r libraries.list' returned a non-zero code: 1\n";
        let buildkit = "#11 0.660 The conflict is caused by:\n#11 0.660     The user requested fastapi==0.162.5\n#11 0.660     The user requested fastapi==0.110.0\n#11 0.660 ERROR: ResolutionImpossible: for help visit https://pip.pypa.io\n#11 ERROR: executor failed running [/bin/sh -c pip install --no-cache-dir -r libraries.list]: exit code: 1\n";
        for output in [legacy, buildkit] {
            let message = said(output);
            assert!(
                message.starts_with("pip cannot install the packages of libraries.list together")
                    && message.contains("fastapi==0.162.5 and fastapi==0.110.0")
                    && !message.contains('\u{1b}'),
                "{message}"
            );
        }
        let caused = "#11 0.660 The conflict is caused by:\n#11 0.660     The user requested typing-extensions==3.10.0.2\n#11 0.660     uvicorn 0.24.0.post1 depends on typing-extensions>=4.0; python_version < \"3.11\"\n#11 0.661 ERROR: ResolutionImpossible: for help visit https://pip.pypa.io\n";
        assert!(
            said(caused).contains(
                ": typing-extensions==3.10.0.2 (uvicorn 0.24.0.post1 depends on typing-extensions>=4.0; python_version < \"3.11\")."
            ),
            "{}",
            said(caused)
        );
    }

    #[test]
    fn a_client_without_buildx_is_named() {
        let output = "ERROR: BuildKit is enabled but the buildx component is missing or broken.\n       Install the buildx component";
        let said = build_failure(output, &situation(false));
        assert!(
            said.starts_with("DOCKER_BUILDKIT=1 asks for BuildKit, and this docker client has no buildx"),
            "{said}"
        );
    }

    #[test]
    fn a_failed_step_gives_its_command_exit_code_and_last_lines() {
        let legacy = "Step 17/18 : RUN python -c boom\n ---> Running in 2cfe18d985a5\nstep output\n\u{1b}[91mboom: the build step failed\n\u{1b}[0mRemoving intermediate container 2cfe18d985a5\nThe command '/bin/sh -c python -c boom' returned a non-zero code: 1\n";
        let buildkit_08 = "#13 [stage-1 4/5] RUN python -c boom\n#13 sha256:8c50\n#13 0.199 step output\n#13 0.199 boom: the build step failed\n#13 ERROR: executor failed running [/bin/sh -c python -c boom]: exit code: 1\n------\n > [stage-1 4/5] RUN python -c boom:\n------\nexecutor failed running [/bin/sh -c python -c boom]: exit code: 1\n";
        let buildkit = "#13 0.199 step output\n#13 0.199 boom: the build step failed\n#13 ERROR: process \"/bin/sh -c python -c boom\" did not complete successfully: exit code: 2\n";
        let buildah = "STEP 1/2: FROM xtask-standin/python:bookworm-slim\nSTEP 2/2: RUN python -c boom\nstep output\nboom: the build step failed\nError: building at STEP \"RUN python -c boom\": while running runtime: exit status 3\n";
        for (output, code) in [(legacy, 1), (buildkit_08, 1), (buildkit, 2), (buildah, 3)] {
            assert_eq!(
                said(output),
                format!("The Dockerfile step `RUN python -c boom` failed with exit code {code}. Its last lines:\nstep output\nboom: the build step failed")
            );
        }
    }

    #[test]
    fn a_failed_source_build_names_the_package_and_its_cause() {
        let pip = "Collecting psycopg2==2.9.9 (from -r libraries.list (line 3))\n  Downloading psycopg2-2.9.9.tar.gz (384 kB)\n  Preparing metadata (setup.py): started\n  Preparing metadata (setup.py): finished with status 'error'\n  error: subprocess-exited-with-error\n  \n  × python setup.py egg_info did not run successfully.\n  │ exit code: 1\n  ╰─> [23 lines of output]\n      running egg_info\n      \n      Error: pg_config executable not found.\n      \n      pg_config is required to build psycopg2 from source.\n      [end of output]\n  \n  note: This error originates from a subprocess, and is likely not a problem with pip.\nerror: metadata-generation-failed\n\n× Encountered error while generating package metadata.\n╰─> See above for output.\n";
        let buildkit: String = pip.lines().map(|line| format!("#11 12.34 {line}\n")).collect();
        for output in [pip.to_string(), buildkit] {
            let said = said(&output);
            assert!(
                said.starts_with("pip could not build psycopg2==2.9.9 from source (there is no wheel of it for this Python and platform): pg_config executable not found."),
                "{said}"
            );
            assert!(said.contains("psycopg2-binary") && said.contains("libpq-dev"), "{said}");
        }
        let gcc = "Collecting pkg==1.0\n  Building wheel for pkg (pyproject.toml): finished with status 'error'\n  error: subprocess-exited-with-error\n  ╰─> [5 lines of output]\n      running build_ext\n      error: command 'gcc' failed: No such file or directory\n      [end of output]\n  ERROR: Failed building wheel for pkg\nerror: failed-wheel-build-for-install\n";
        let said = said(gcc);
        assert!(said.starts_with("pip could not build pkg from source"), "{said}");
        assert!(
            said.contains("command 'gcc' failed: No such file or directory") && said.contains("pin a version"),
            "{said}"
        );
    }

    #[test]
    fn a_pin_for_another_python_says_so() {
        let output = "ERROR: Ignored the following versions that require a different python version: 1.18.0 Requires-Python >=3.10; 1.20.1 Requires-Python >=3.10\nERROR: Could not find a version that satisfies the requirement alembic==1.20.1 (from versions: 0.1.0, 1.13.1)\nERROR: No matching distribution found for alembic==1.20.1\n";
        let said = said(output);
        assert!(said.starts_with("`alembic==1.20.1` needs Python >=3.10"), "{said}");
        assert!(said.contains("--python"), "{said}");
    }

    #[test]
    fn an_unknown_package_is_named() {
        let output = "ERROR: Could not find a version that satisfies the requirement no-such-pkg==1.0 (from versions: none)\nERROR: No matching distribution found for no-such-pkg==1.0\n";
        assert_eq!(
            said(output),
            "pip found no `no-such-pkg==1.0` on the package index: check that name and version in libraries.list."
        );
    }

    #[test]
    fn parse_errors_and_tls_are_explained() {
        assert!(
            said("Dockerfile parse error line 3: unknown instruction: FORM").contains("line 3: unknown instruction")
        );
        assert!(said("SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED]'))").contains("TLS"));
    }

    #[test]
    fn unknown_output_is_left_to_the_tail() {
        assert_eq!(said("a\n\nsomething else\n"), "The build failed. Its last lines:\na\nsomething else");
        assert_eq!(strip_ansi("\u{1b}[91mred\u{1b}[0m plain"), "red plain");
    }
}
