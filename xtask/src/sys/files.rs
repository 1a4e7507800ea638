//! Files and folders, beyond what xshell does: a whole tree copied.

use std::{fs, io, path::Path};

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
