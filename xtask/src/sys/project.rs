//! Where things are: the project root, and the scratch folder under
//! `target/` for files the tasks make and remove again.

use std::fs::{File, TryLockError};

use anyhow::{Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

pub fn root() -> Utf8PathBuf {
    Utf8Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask/ lives in the project root").to_path_buf()
}

/// `target/xtask/`, made on first use. Ignored by git and by `.dockerignore`.
pub fn scratch_dir() -> Result<Utf8PathBuf> {
    let dir = root().join("target").join("xtask");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create the scratch folder {dir}"))?;
    Ok(dir)
}

/// An exclusive lock on `target/xtask/NAME.lock`, held until the file is
/// dropped: concurrent runs of this checkout (parallel tests) make a thing
/// of its own once.
pub fn lock(name: &str) -> Result<File> {
    lock_file(&scratch_dir()?.join(format!("{name}.lock")))
}

/// An exclusive lock that every checkout on this machine shares, for what
/// they share: an engine's tags and its stand-in images.
pub fn machine_lock(name: &str) -> Result<File> {
    let dir = Utf8PathBuf::try_from(std::env::temp_dir().join("xtask-locks")).context("the temp dir is not UTF-8")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {dir}"))?;
    lock_file(&dir.join(format!("{name}.lock")))
}

fn lock_file(path: &Utf8Path) -> Result<File> {
    let file = File::create(path).with_context(|| format!("cannot create {path}"))?;
    match file.try_lock() {
        Ok(()) => return Ok(file),
        Err(TryLockError::WouldBlock) => eprintln!("Waiting for another run, which holds {path}."),
        Err(TryLockError::Error(error)) => return Err(error).with_context(|| format!("cannot lock {path}")),
    }
    file.lock().with_context(|| format!("cannot lock {path}"))?;
    Ok(file)
}

/// A path the user typed, taken relative to where they typed it.
pub fn from_user(path: &str) -> Result<Utf8PathBuf> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let cwd = Utf8PathBuf::try_from(cwd).context("the current directory is not UTF-8")?;
    Ok(cwd.join(path))
}

/// A path as a person reads it: relative to the project when inside it.
pub fn shown(path: &Utf8Path) -> String {
    path.strip_prefix(root()).map_or_else(|_| path.to_string(), |p| p.to_string())
}

/// A name no other process of this machine uses now: for scratch files
/// and containers of concurrent runs.
pub fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{nanos:09}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The acceptance tests live in the top-level tests/ folder, outside
    /// the package, so cargo finds none by itself: each needs a `[[test]]`
    /// entry, and a file without one would silently never run.
    #[test]
    fn every_acceptance_test_file_is_a_test_target() {
        let manifest = std::fs::read_to_string(root().join("xtask/Cargo.toml")).unwrap();
        let mut files: Vec<String> = std::fs::read_dir(root().join("tests"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".rs"))
            .collect();
        files.sort();
        assert!(!files.is_empty());
        for file in files {
            assert!(
                manifest.contains(&format!("path = \"../tests/{file}\"")),
                "tests/{file} has no [[test]] entry in xtask/Cargo.toml, so it never runs"
            );
        }
    }
}
