//! Where things are: the project root, and the scratch folder under
//! `target/` for files the tasks make and remove again.

use std::fs::{File, OpenOptions, TryLockError};

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

/// An exclusive lock on `target/xtask/NAME.lock`, held until it is
/// dropped: concurrent runs of this checkout (parallel tests) make a thing
/// of its own once.
pub fn lock(name: &str) -> Result<Lock> {
    Lock::take(scratch_dir()?.join(format!("{name}.lock")))
}

/// An exclusive lock that every checkout on this machine shares, for what
/// they share: an engine's tags and its stand-in images.
pub fn machine_lock(name: &str) -> Result<Lock> {
    let dir = Utf8PathBuf::try_from(std::env::temp_dir().join("xtask-locks")).context("the temp dir is not UTF-8")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {dir}"))?;
    Lock::take(dir.join(format!("{name}.lock")))
}

/// A lock on a file, held until it is dropped, which removes the file:
/// a lock for each tag built leaves no file behind.
pub struct Lock {
    /// Held, not read: closing it lets the lock go.
    _file: File,
    path: Utf8PathBuf,
}

impl Lock {
    /// Waits for the lock on `path`, saying so once. A run that waited
    /// may find that the run before it removed the file as it let go:
    /// that file is no lock any more, and it takes the one at `path` now.
    fn take(path: Utf8PathBuf) -> Result<Lock> {
        let mut said = false;
        loop {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .with_context(|| format!("cannot create {path}"))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    if !said {
                        eprintln!("Waiting for another run, which holds {path}.");
                        said = true;
                    }
                    file.lock().with_context(|| format!("cannot lock {path}"))?;
                }
                Err(TryLockError::Error(error)) => return Err(error).with_context(|| format!("cannot lock {path}")),
            }
            if is_at(&file, &path) {
                return Ok(Lock { _file: file, path });
            }
        }
    }
}

/// Whether `file` is the file at `path` still.
fn is_at(file: &File, path: &Utf8Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(held), Ok(there)) => (held.dev(), held.ino()) == (there.dev(), there.ino()),
        _ => false,
    }
}

impl Drop for Lock {
    /// Removes the file while still holding it, then lets it go (the
    /// `File` closes after this): whoever waits on it looks again.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
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

/// The process id in `name`, when `unique_name(prefix)` made it.
pub fn pid_of_unique(name: &str, prefix: &str) -> Option<u32> {
    let (pid, nanos) = name.strip_prefix(prefix)?.strip_prefix('-')?.split_once('-')?;
    (nanos.len() == 9 && nanos.bytes().all(|b| b.is_ascii_digit())).then(|| pid.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unique_name_gives_back_its_process() {
        let name = unique_name("xtask-smoke");
        assert_eq!(pid_of_unique(&name, "xtask-smoke"), Some(std::process::id()));
        assert_eq!(pid_of_unique(&format!("{name}_default"), "xtask-smoke"), None, "a network's own name");
        assert_eq!(pid_of_unique("xtask-main-84beef61", "xtask-smoke"), None);
        assert_eq!(pid_of_unique("xtask-smoke-12-34", "xtask-smoke"), None);
    }

    /// A run that waits takes the lock once the run before it lets go,
    /// though that run removed the file; the last one leaves no file.
    #[test]
    fn a_lock_is_taken_in_turn_and_leaves_no_file() {
        let name = unique_name("lock-test");
        let first = lock(&name).unwrap();
        let path = first.path.clone();
        let (took, taken) = std::sync::mpsc::channel();
        let second = std::thread::spawn(move || {
            let held = lock(&name).unwrap();
            took.send(()).unwrap();
            held
        });
        let wait = std::time::Duration::from_millis(300);
        assert!(taken.recv_timeout(wait).is_err(), "a lock was taken twice");
        drop(first);
        taken.recv_timeout(wait * 10).expect("the waiting run takes the lock once it is let go");
        let second = second.join().unwrap();
        assert!(path.exists(), "the lock held has its file");
        drop(second);
        assert!(!path.exists(), "the lock let go left its file");
    }

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
