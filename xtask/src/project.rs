//! Where things are: the project root, and the scratch folder under
//! `target/` for files the tasks make and remove again.

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

/// A path the user typed, taken relative to where they typed it.
pub fn from_user(path: &str) -> Result<Utf8PathBuf> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let cwd = Utf8PathBuf::try_from(cwd).context("the current directory is not UTF-8")?;
    Ok(cwd.join(path))
}

/// A name no other process of this machine uses now: for scratch files
/// and containers of concurrent runs.
pub fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{nanos:09}", std::process::id())
}
