//! Offline mode: stand-in base images for machines that reach no registry.
//!
//! They are made once, from Debian's packages, and kept in the engine
//! under a name no official image has. debootstrap makes one root, the
//! runtime (like `python:3.10-slim`: no compiler); the builder (like
//! `python:3.10`), PostgreSQL and Redis are layers over it (`layers`), so
//! that one debootstrap makes them all and the engine stores it once. Like
//! the official images they have Python under /usr/local: a venv over
//! Debian's python3 at /usr/local puts site-packages at
//! /usr/local/lib/pythonX.Y/site-packages, the path the Dockerfile copies.

mod layers;
mod services;

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use camino::Utf8Path;

use crate::{
    engine::{
        build::{Bases, StandIns, BUILDER_IMAGE, PYTHON_MINOR, RUNTIME_IMAGE},
        choice::on_path,
        Engine,
    },
    sys::{
        process::{self, CommandLine},
        project, signals,
        usage::usage,
    },
};

pub use self::services::stack_images;

const REPOSITORY: &str = "xtask-standin/python";
/// The machine's trust store: TLS to the package index may be intercepted
/// by a proxy only it trusts, so the builder carries it.
const HOST_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// `--offline`, or XTASK_OFFLINE set to anything but `0`, `false`, `no`
/// or empty.
pub fn requested(flag: bool) -> bool {
    flag || std::env::var("XTASK_OFFLINE").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false" | "no"))
}

/// The builder stand-in of Debian `suite`: `python:X.Y`'s.
fn builder_tag(suite: &str) -> String {
    format!("{REPOSITORY}:{suite}")
}

/// The runtime stand-in of Debian `suite`: `python:X.Y-slim`'s.
fn runtime_tag(suite: &str) -> String {
    format!("{REPOSITORY}:{suite}-slim")
}

/// The builder's build context: its Dockerfile; the machine's trust store
/// joins it.
const BUILDER: [layers::ContextFile; 1] = [("Dockerfile", include_str!("builder/Dockerfile"), 0o644)];

/// Caches and documentation, which slim leaves out too.
const REMOVED: [&str; 6] = [
    "var/lib/apt/lists",
    "var/cache/apt",
    "usr/local/bin/Activate.ps1",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/locale",
];

/// `docker import --change` arguments: the environment the official
/// images set, PYTHON_VERSION included (we read it back).
fn image_changes(python_version: &str) -> Vec<String> {
    let env = [
        "PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        "LANG=C.UTF-8".to_string(),
        format!("PYTHON_VERSION={python_version}"),
    ];
    let mut changes: Vec<String> = env.into_iter().flat_map(|e| ["--change".to_string(), format!("ENV {e}")]).collect();
    changes.extend(["--change".to_string(), r#"CMD ["python3"]"#.to_string()]);
    changes
}

/// The stand-ins of Debian `suite` in `engine`, made first where they are missing.
fn ensure(engine: &Engine, suite: &str) -> Result<StandIns> {
    let suite = suite.to_string();
    if let Some(ready) = existing(engine, &suite)? {
        return Ok(ready);
    }
    let runtime = runtime_tag(&suite);
    make_once(engine, "runtime", &runtime, || build(engine, &suite))?;
    let builder = builder_tag(&suite);
    let trust = [(HOST_CA_BUNDLE, "ca-certificates.crt")];
    let layer = layers::Layer { what: "builder", tag: &builder, base: &runtime, context: &BUILDER, host_files: &trust };
    layers::derive(engine, &layer)?;
    existing(engine, &suite)?.context("the offline base images are missing right after they were made")
}

/// Image `tag`, the stand-in for `what`, where `engine` lacks it: copied
/// from this machine's Docker when that holds it (podman, a remote
/// engine), else made by `make`.
fn make_once(engine: &Engine, what: &str, tag: &str, make: impl FnOnce() -> Result<()>) -> Result<()> {
    if engine.inspect_image(tag)?.is_some() {
        return Ok(());
    }
    // Concurrent runs wait here for the one that makes it.
    let _lock = project::machine_lock("standin")?;
    let holder = engine.local_docker().filter(|docker| docker.inspect_image(tag).is_ok_and(|i| i.is_some()));
    match holder {
        _ if engine.inspect_image(tag)?.is_some() => Ok(()),
        Some(docker) => {
            eprintln!("Copying the offline {what} image {tag} from docker to {} (once).", engine.name());
            engine.copy_image(&docker, tag)
        }
        None => make(),
    }
    .with_context(|| format!("cannot make the offline {what} image {tag} in {}", engine.name()))
}

/// The bases a build stands on: the stand-ins (made first when missing)
/// when `offline`, else the Dockerfile's own.
pub fn bases(engine: &Engine, offline: bool, build_args: &BTreeMap<String, String>) -> Result<Bases> {
    Ok(match offline {
        true => Bases::StandIns(ensure(engine, &suite_for(build_args)?)?),
        false => Bases::Dockerfile,
    })
}

/// The Debian releases whose python3 stands in for `python:X.Y` offline.
const RELEASES: [(&str, &str); 3] = [("3.9", "bullseye"), ("3.11", "bookworm"), ("3.13", "trixie")];

/// The release the stand-ins of a build with `build_args` come from:
/// XTASK_DEBIAN_SUITE; else, when it asks for a Python (PYTHON_MINOR) and
/// names no bases of its own, the release that carries that Python; else
/// this machine's own. A sentence naming the releases when none carries it.
pub fn suite_for(build_args: &BTreeMap<String, String>) -> Result<String> {
    if let Some(suite) = std::env::var("XTASK_DEBIAN_SUITE").ok().filter(|s| !s.is_empty()) {
        return Ok(suite);
    }
    let own_bases = build_args.contains_key(BUILDER_IMAGE) && build_args.contains_key(RUNTIME_IMAGE);
    let Some(python) = build_args.get(PYTHON_MINOR).filter(|_| !own_bases) else { return Ok(suite()) };
    match RELEASES.iter().find(|(version, _)| version == python) {
        Some((_, suite)) => Ok(suite.to_string()),
        None => {
            let known: Vec<String> = RELEASES.iter().map(|(version, suite)| format!("{version} ({suite})")).collect();
            Err(usage(format!(
                "Offline, Python {python} has no stand-in: each Debian release carries one Python, and these are \
                 {}. Choose one of them with --python, or build online on python:{python}.",
                known.join(", ")
            )))
        }
    }
}

/// Whether this machine's release's stand-ins are in `engine`'s store already.
pub fn present(engine: &Engine) -> Result<bool> {
    Ok(existing(engine, &suite())?.is_some())
}

/// Whether every stand-in of this machine's release is in `engine`'s
/// store: the Python pair and the stack's services.
pub fn all_present(engine: &Engine) -> Result<bool> {
    Ok(present(engine)? && services::present(engine)?)
}

/// Runs the runtime stand-in once, as a container: whether `engine`
/// can start containers here at all.
pub fn run_one(engine: &Engine) -> Result<()> {
    engine.run_once(&runtime_tag(&suite()), "true", &[]).map(drop)
}

fn existing(engine: &Engine, suite: &str) -> Result<Option<StandIns>> {
    let (builder, runtime) = (builder_tag(suite), runtime_tag(suite));
    let found = engine.inspect_images(&[&builder, &runtime])?;
    let Some(runtime_info) = found.iter().find(|i| i.has_tag(&runtime)) else { return Ok(None) };
    if !found.iter().any(|i| i.has_tag(&builder)) {
        return Ok(None);
    }
    let version = runtime_info.env("PYTHON_VERSION").context("the offline runtime image sets no PYTHON_VERSION")?;
    Ok(Some(StandIns { python: minor_version(version).to_string(), builder, runtime }))
}

/// The runtime stand-in, from a root that debootstrap makes.
fn build(engine: &Engine, suite: &str) -> Result<()> {
    if !on_path("debootstrap") {
        bail!("offline mode makes its base images with debootstrap, which is not installed here: `sudo apt-get install debootstrap`");
    }
    let mirror = mirror()?;
    let scratch = project::scratch_dir()?;
    let cache = scratch.join("debootstrap-cache");
    let work = scratch.join(project::unique_name("standin"));
    let rootfs = work.join("rootfs");
    for dir in [&cache, &rootfs] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {dir}"))?;
    }
    let result = make_image(engine, suite, &mirror, &cache, &work);
    // A failed debootstrap may leave /proc mounted in the root file system.
    let _ = process::output(&CommandLine::new("umount").arg("--recursive").args(mounts(&rootfs)).cleanup());
    std::fs::remove_dir_all(&work).with_context(|| format!("cannot remove {work}"))?;
    result
}

fn mounts(rootfs: &Utf8Path) -> [String; 2] {
    [rootfs.join("proc").into_string(), rootfs.join("sys").into_string()]
}

fn make_image(engine: &Engine, suite: &str, mirror: &str, cache: &Utf8Path, work: &Utf8Path) -> Result<()> {
    let rootfs = work.join("rootfs");
    eprintln!("Making the offline runtime base image from Debian {suite} (about a minute, once).");
    signals::context_unless_interrupted(
        process::to_stderr(&debootstrap_command(suite, mirror, cache, &rootfs)),
        "debootstrap failed (it needs root and the Debian mirror)",
    )?;
    let chroot = CommandLine::new("chroot").args([rootfs.as_str(), "/usr/bin/python3"]);
    let python_version =
        process::read(&chroot.clone().args(["-c", "import platform; print(platform.python_version())"]))?;
    // Like slim, without pip; the builder's layer adds it.
    process::to_stderr(&chroot.args(["-m", "venv", "--without-pip", "/usr/local"]))
        .context("cannot make the Python environment under /usr/local")?;
    for path in REMOVED {
        let path = rootfs.join(path);
        let removed = match path.symlink_metadata() {
            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&path),
            Ok(_) => std::fs::remove_file(&path),
            Err(_) => Ok(()),
        };
        removed.with_context(|| format!("cannot remove {path}"))?;
    }
    // Empty, as apt leaves them, so that images built on these can still apt-get.
    for path in ["var/lib/apt/lists/partial", "var/cache/apt/archives/partial"] {
        std::fs::create_dir_all(rootfs.join(path))?;
    }
    let tarball = work.join("rootfs.tar");
    process::to_stderr(&CommandLine::new("tar").args([
        "--numeric-owner",
        "-C",
        rootfs.as_str(),
        "-cf",
        tarball.as_str(),
        ".",
    ]))?;
    engine.import(&image_changes(&python_version), &tarball, &runtime_tag(suite))
}

fn debootstrap_command(suite: &str, mirror: &str, cache: &Utf8Path, rootfs: &Utf8Path) -> CommandLine {
    CommandLine::new("debootstrap").args([
        "--variant=minbase".to_string(),
        "--include=python3".to_string(),
        format!("--cache-dir={cache}"),
        suite.to_string(),
        rootfs.to_string(),
        mirror.to_string(),
    ])
}

/// X.Y of X.Y.Z.
fn minor_version(version: &str) -> &str {
    match version.match_indices('.').nth(1) {
        Some((i, _)) => &version[..i],
        None => version,
    }
}

/// XTASK_DEBIAN_SUITE, else this machine's own release, else bookworm.
fn suite() -> String {
    std::env::var("XTASK_DEBIAN_SUITE").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| {
        let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        codename(&os_release).unwrap_or("bookworm").to_string()
    })
}

fn codename(os_release: &str) -> Option<&str> {
    os_release
        .lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|v| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// XTASK_DEBIAN_MIRROR, else the mirror this machine's apt uses.
fn mirror() -> Result<String> {
    if let Ok(mirror) = std::env::var("XTASK_DEBIAN_MIRROR") {
        return Ok(mirror);
    }
    let mut sources = std::fs::read_to_string("/etc/apt/sources.list").unwrap_or_default();
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        // apt reads only these two kinds; other files there are switched off.
        let read_by_apt = |p: &std::path::Path| p.extension().is_some_and(|e| e == "list" || e == "sources");
        for path in dir.flatten().map(|e| e.path()).filter(|p| read_by_apt(p)) {
            sources += &std::fs::read_to_string(path).unwrap_or_default();
        }
    }
    apt_mirror(&sources).map(str::to_string).context(
        "offline mode needs a Debian mirror, and this machine's apt names none: set XTASK_DEBIAN_MIRROR to its URL",
    )
}

/// The first main-archive URI in apt's sources, one-line or deb822 style.
fn apt_mirror(sources: &str) -> Option<&str> {
    sources.lines().map(str::trim).find_map(|line| {
        let uri = match line.strip_prefix("URIs:") {
            Some(uris) => uris.split_whitespace().next()?,
            None => {
                let rest = line.strip_prefix("deb ")?;
                let rest = if rest.trim_start().starts_with('[') { rest.split_once(']')?.1 } else { rest };
                rest.split_whitespace().next()?
            }
        };
        (!uri.contains("security")).then_some(uri)
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn apt_sources_name_the_mirror() {
        let deb822 = "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: x\n\nTypes: deb\nURIs: http://mirror.example/debian\n";
        assert_eq!(apt_mirror(deb822), Some("http://mirror.example/debian"));
        let one_line = "# comment\ndeb [signed-by=/k.gpg] http://mirror.example/debian bookworm main\n";
        assert_eq!(apt_mirror(one_line), Some("http://mirror.example/debian"));
        assert_eq!(apt_mirror("deb-src http://x/debian bookworm main"), None);
    }

    #[test]
    fn a_python_picks_the_release_that_carries_it() {
        let args = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(suite_for(&args(&[(PYTHON_MINOR, "3.13")])).unwrap(), "trixie");
        assert_eq!(suite_for(&args(&[(PYTHON_MINOR, "3.9")])).unwrap(), "bullseye");
        assert_eq!(suite_for(&args(&[])).unwrap(), suite());
        let own = args(&[(PYTHON_MINOR, "3.10"), (BUILDER_IMAGE, "b"), (RUNTIME_IMAGE, "r")]);
        assert_eq!(suite_for(&own).unwrap(), suite(), "bases of the user's own: their Python is theirs");
        let none = suite_for(&args(&[(PYTHON_MINOR, "3.10")])).unwrap_err().to_string();
        assert!(
            none.contains("Python 3.10 has no stand-in")
                && none.contains("3.9 (bullseye), 3.11 (bookworm), 3.13 (trixie)"),
            "{none}"
        );
    }

    #[test]
    fn versions_and_codenames_are_read() {
        assert_eq!(minor_version("3.11.2"), "3.11");
        assert_eq!(minor_version("3.10"), "3.10");
        assert_eq!(codename("NAME=\"Debian\"\nVERSION_CODENAME=bookworm\n"), Some("bookworm"));
        assert_eq!(codename("NAME=x\n"), None);
    }

    #[test]
    fn the_builder_trusts_the_machine_and_the_user_chooses_first() {
        let changes = image_changes("3.11.2").join(" ");
        assert!(changes.contains("--change ENV PYTHON_VERSION=3.11.2"), "{changes}");
        assert!(BUILDER[0].1.contains("ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt"));

        let stand_ins = StandIns { builder: "b".into(), runtime: "r".into(), python: "3.11".into() };
        let given = BTreeMap::from([("RUNTIME_IMAGE".to_string(), "mine".to_string())]);
        let args = Bases::StandIns(stand_ins).build_args(&given);
        assert_eq!(args["RUNTIME_IMAGE"], "mine");
        assert_eq!(args["BUILDER_IMAGE"], "b");
        assert_eq!(args["PYTHON_MINOR"], "3.11");
    }

    #[test]
    fn the_commands_that_make_a_stand_in() {
        let line = debootstrap_command("bookworm", "http://m/debian", "/c".into(), "/r".into());
        assert_eq!(
            line.to_string(),
            "debootstrap --variant=minbase --include=python3 --cache-dir=/c bookworm /r http://m/debian"
        );
    }
}
