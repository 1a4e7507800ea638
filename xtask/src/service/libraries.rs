//! `libraries.list`, the file the image installs, made from what the
//! project keeps when it keeps no list of its own: `uv.lock` (with `uv
//! export`), `poetry.lock` (with `poetry export`), or a `requirements.txt`,
//! each in the build context's root beside its `pyproject.toml`. A list
//! the tool made starts with a line naming its source and a hash of it, so
//! that it is made again when the source changes, and a list a person
//! wrote is never touched. Before a build, the list's lines that pin
//! nothing are named, and so are those that pip would skip on the image's
//! Python by their markers.

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use xshell::Shell;

use crate::{
    engine::build::BuildSpec,
    model::requirements::{self, Source},
    sys::{
        hash,
        process::{self, CommandLine},
        project,
        venv::{self, Venv},
    },
};

/// Reads the list's lines against the image's Python with `packaging`'s own
/// marker evaluation: argv is the Python (X.Y), the machine, and the lines
/// as JSON `[[number, line], …]`; prints the numbers of the lines skipped.
const SKIPPED: &str = r#"
import json, sys
from packaging.markers import default_environment
from packaging.requirements import Requirement
minor, machine, lines = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
env = default_environment()
env.update(python_version=minor, python_full_version=minor + ".0", sys_platform="linux", platform_system="Linux",
           os_name="posix", implementation_name="cpython", platform_python_implementation="CPython",
           platform_machine=machine)
skipped = []
for number, line in lines:
    try:
        requirement = Requirement(line)
    except Exception:
        continue
    if requirement.marker is not None and not requirement.marker.evaluate(env):
        skipped.append(number)
print(json.dumps(skipped))
"#;

/// Makes the list when it is the tool's to make, then checks it; `python`
/// is the image's Python (X.Y), when the build says which.
pub fn prepare(spec: &BuildSpec, python: Option<&str>) -> Result<()> {
    let path =
        spec.dockerfile.parent().map_or_else(|| Utf8PathBuf::from("libraries.list"), |d| d.join("libraries.list"));
    let kept = std::fs::read_to_string(&path).ok();
    let source = Source::ALL.into_iter().find(|s| s.inputs().iter().all(|file| spec.context.join(file).is_file()));
    let list = match (kept, source) {
        (Some(list), None) => list,
        (None, None) if spec.context.join("pdm.lock").is_file() => bail!(
            "There is no {}, and the project keeps its requirements in pdm.lock, which the tool cannot export: run \
             `pdm export --prod --without-hashes -o {}` once, and commit the list.",
            project::shown(&path),
            project::shown(&path)
        ),
        // The build says the list is missing, as the contract has it.
        (None, None) => return Ok(()),
        (kept, Some(source)) => {
            let digest = digest(&spec.context, source)?;
            match kept {
                Some(list) if requirements::is_current(&list, source, digest) != Some(false) => list,
                _ => make(&spec.context, &path, source, digest)?,
            }
        }
    };
    check(&path, &list, python)
}

/// The hash of the source's files, as the list's first line records it.
fn digest(context: &Utf8Path, source: Source) -> Result<u64> {
    let mut all = Vec::new();
    for file in source.inputs() {
        let path = context.join(file);
        all.extend(std::fs::read(&path).with_context(|| format!("cannot read {path}"))?);
        all.push(0);
    }
    Ok(hash::fnv1a(&all))
}

fn make(context: &Utf8Path, path: &Utf8Path, source: Source, digest: u64) -> Result<String> {
    let from = context.join(source.file());
    let body = match source.export(context.as_str()) {
        None => std::fs::read_to_string(&from).with_context(|| format!("cannot read {from}"))?,
        Some(words) => {
            let bin = venv::bin(&Shell::new()?, Venv::Lock)?;
            let line = CommandLine::new(bin.join(&words[0]).as_str()).args(&words[1..]);
            process::read(&line).with_context(|| format!("`{}` cannot export {}", words[0], project::shown(&from)))?
                + "\n"
        }
    };
    let list = requirements::made_line(source, digest) + &body;
    // Written beside it and renamed: a reader never sees half a list, and a
    // link at the list's place is replaced, not written through.
    let written = path.with_file_name(project::unique_name(".libraries.list"));
    std::fs::write(&written, &list).with_context(|| format!("cannot write {written}"))?;
    std::fs::rename(&written, path).with_context(|| format!("cannot write {path}"))?;
    let how = match source {
        Source::UvLock => " with `uv export`",
        Source::PoetryLock => " with `poetry export`",
        Source::Requirements => "",
    };
    eprintln!("Made {} from {}{how}.", project::shown(path), project::shown(&from));
    Ok(list)
}

/// Names the lines that pin nothing, and those pip would skip on `python`;
/// fails when it would skip them all.
fn check(path: &Utf8Path, list: &str, python: Option<&str>) -> Result<()> {
    let shown = project::shown(path);
    let said = |lines: &[(usize, &str)]| {
        lines.iter().map(|(number, line)| format!("line {number} `{line}`")).collect::<Vec<_>>().join(", ")
    };
    let unpinned = requirements::unpinned(list);
    if !unpinned.is_empty() {
        eprintln!(
            "warning: {shown} pins no version on {}: a later build may install other versions; pin each with ==.",
            said(&unpinned)
        );
    }
    let lines: Vec<(usize, &str)> = requirements::requirement_lines(list).collect();
    let Some(python) = python.filter(|_| lines.iter().any(|(_, line)| line.contains(';'))) else { return Ok(()) };
    let bin = venv::bin(&Shell::new()?, Venv::Markers)?;
    let args =
        [SKIPPED.to_string(), python.to_string(), std::env::consts::ARCH.to_string(), serde_json::to_string(&lines)?];
    let said_skipped = process::read(&CommandLine::new(bin.join("python").as_str()).arg("-c").args(args))
        .context("cannot read the markers of the list")?;
    let numbers: Vec<usize> = serde_json::from_str(&said_skipped).context("cannot read the markers of the list")?;
    let left_out = requirements::left_out(&lines, &numbers);
    if !left_out.is_empty() && numbers.len() == lines.len() {
        bail!(
            "On the image's Python {python}, pip would skip every line of {shown} by its marker ({}): the list is for \
             another Python; give --python X.Y, or PYTHON_MINOR in docker/build-args.",
            said(&left_out[..1])
        );
    }
    if !left_out.is_empty() {
        eprintln!(
            "note: on the image's Python {python}, pip installs no line of {shown} for {}, by their markers: {}.",
            left_out.iter().map(|(_, line)| requirements::package(line)).collect::<Vec<_>>().join(", "),
            said(&left_out)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder, removed when the test ends.
    struct Dir(Utf8PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A project with a requirements.txt, which needs no tool to export it.
    fn project(requirements: &str) -> (Dir, BuildSpec) {
        let dir = Utf8PathBuf::try_from(std::env::temp_dir().join(project::unique_name("libraries"))).unwrap();
        std::fs::create_dir_all(dir.join("docker")).unwrap();
        std::fs::write(dir.join("requirements.txt"), requirements).unwrap();
        let spec =
            BuildSpec { dockerfile: dir.join("docker/Dockerfile"), context: dir.clone(), ..BuildSpec::default() };
        (Dir(dir), spec)
    }

    #[test]
    fn the_list_is_made_from_its_source_again_when_that_changes_and_a_written_one_is_kept() {
        let (dir, spec) = project("fastapi==0.115.6\n");
        let list = dir.0.join("docker/libraries.list");
        prepare(&spec, None).unwrap();
        let made = std::fs::read_to_string(&list).unwrap();
        assert!(
            made.starts_with("# Made by `cargo xtask` from requirements.txt (") && made.ends_with("fastapi==0.115.6\n")
        );

        // Current: left as it is (a mark of ours shows it was not written again).
        std::fs::write(&list, made.clone() + "# untouched\n").unwrap();
        prepare(&spec, None).unwrap();
        assert!(std::fs::read_to_string(&list).unwrap().ends_with("# untouched\n"));

        std::fs::write(dir.0.join("requirements.txt"), "fastapi==0.115.7\n").unwrap();
        prepare(&spec, None).unwrap();
        assert!(std::fs::read_to_string(&list).unwrap().ends_with("\nfastapi==0.115.7\n"));

        // A person's list is theirs, whatever the source says.
        std::fs::write(&list, "fastapi==0.110.0\n").unwrap();
        prepare(&spec, None).unwrap();
        assert_eq!(std::fs::read_to_string(&list).unwrap(), "fastapi==0.110.0\n");
    }

    #[test]
    fn without_a_list_or_a_source_the_build_says_it_is_missing() {
        let (dir, spec) = project("");
        std::fs::remove_file(dir.0.join("requirements.txt")).unwrap();
        prepare(&spec, None).unwrap();
        assert!(!dir.0.join("docker/libraries.list").exists());
        std::fs::write(dir.0.join("pdm.lock"), "").unwrap();
        let said = prepare(&spec, None).unwrap_err().to_string();
        assert!(said.contains("pdm.lock, which the tool cannot export: run `pdm export"), "{said}");
    }
}
