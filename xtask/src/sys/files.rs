//! Files and folders, beyond what xshell does: a whole tree copied, a
//! file written with its permissions.

use std::{fs, io, os::unix::fs::PermissionsExt, path::Path};

use anyhow::Context;
use camino::Utf8Path;

/// Writes `content` to `path` with permissions `mode`, making its folder
/// first: a file the tool itself hands to a build or a container.
pub fn write_new(path: &Utf8Path, content: &str, mode: u32) -> anyhow::Result<()> {
    let write = || -> io::Result<()> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write(path, content)?;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
    };
    write().with_context(|| format!("cannot write {path}"))
}

/// Copies `from` (a file or a folder, with everything in it) to `to`,
/// keeping symbolic links as links.
pub fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(from)?;
    if meta.file_type().is_symlink() {
        return std::os::unix::fs::symlink(fs::read_link(from)?, to);
    }
    if !meta.is_dir() {
        return fs::copy(from, to).map(drop);
    }
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        copy_tree(&entry.path(), &to.join(entry.file_name()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_is_copied_whole() {
        let scratch = crate::sys::project::scratch_dir().unwrap().join(crate::sys::project::unique_name("tree"));
        let from = scratch.join("from");
        fs::create_dir_all(from.join("a/b")).unwrap();
        fs::write(from.join("a/b/c.txt"), "c").unwrap();
        std::os::unix::fs::symlink("b/c.txt", from.join("a/link")).unwrap();
        copy_tree(from.as_std_path(), scratch.join("to").as_std_path()).unwrap();
        assert_eq!(fs::read_to_string(scratch.join("to/a/b/c.txt")).unwrap(), "c");
        assert_eq!(fs::read_link(scratch.join("to/a/link")).unwrap().to_str(), Some("b/c.txt"));
        fs::remove_dir_all(&scratch).unwrap();
    }
}
