//! What `watch` rebuilds for: a change to a file that reaches the image
//! (inside the build context and let through by `.dockerignore`), to the
//! Dockerfile, or to the project's files beside it (`build-args`,
//! `run.env`, `checks.json`). Anything else (tests, docs, `target/`,
//! `.git`, an editor's swap and backup files) triggers nothing.

use camino::{Utf8Path, Utf8PathBuf};

use super::dockerignore::DockerIgnore;

#[derive(Clone)]
pub struct WatchScope {
    context: Utf8PathBuf,
    ignore: DockerIgnore,
    /// Files that matter wherever they are: the Dockerfile, and the
    /// project's files beside it.
    files: Vec<Utf8PathBuf>,
}

/// An editor's file that is never the user's content: vim's swap files and
/// its write test (`4913`), Emacs's lock and autosave files, backups.
fn editor_scratch(name: &str) -> bool {
    let swap = [".swp", ".swo", ".swx", ".swpx", "~", ".tmp", ".bak"].iter().any(|end| name.ends_with(end));
    swap || name == "4913" || name.starts_with(".#") || (name.starts_with('#') && name.ends_with('#'))
}

impl WatchScope {
    /// The scope of a build of `context` with `.dockerignore` text
    /// `ignore` (empty: none), and `files` that matter too.
    pub fn new(context: &Utf8Path, ignore: &str, files: Vec<Utf8PathBuf>) -> WatchScope {
        WatchScope { context: context.to_path_buf(), ignore: DockerIgnore::parse(ignore), files }
    }

    /// The folders to watch: the context, and the folders of the files
    /// outside it. Folders, not files: an editor that saves by renaming a
    /// new file over the old one would leave a watch on a file behind.
    pub fn folders(&self) -> Vec<Utf8PathBuf> {
        let mut folders = vec![self.context.clone()];
        for file in &self.files {
            let Some(dir) = file.parent() else { continue };
            if !dir.starts_with(&self.context) && !folders.iter().any(|f| f == dir) {
                folders.push(dir.to_path_buf());
            }
        }
        folders
    }

    /// Whether folder `dir` (absolute) may hold what reaches the image,
    /// so that it must be watched.
    pub fn descends(&self, dir: &Utf8Path) -> bool {
        if dir.file_name() == Some(".git") {
            return false;
        }
        match dir.strip_prefix(&self.context) {
            Ok(relative) if relative.as_str().is_empty() => true,
            Ok(relative) => {
                let relative = relative.as_str();
                !self.ignore.excludes(relative) || self.ignore.may_let_in_below(relative)
            }
            Err(_) => self.folders().iter().any(|folder| folder == dir),
        }
    }

    /// Whether a change to `path` (absolute) reaches the image.
    pub fn triggers(&self, path: &Utf8Path) -> bool {
        if path.file_name().is_some_and(editor_scratch) || path.components().any(|c| c.as_str() == ".git") {
            return false;
        }
        if self.files.iter().any(|file| file == path) {
            return true;
        }
        match path.strip_prefix(&self.context) {
            Ok(relative) if !relative.as_str().is_empty() => !self.ignore.excludes(relative.as_str()),
            _ => false,
        }
    }

    /// `path` as a person reads it: relative to the context when inside it.
    pub fn shown(&self, path: &Utf8Path) -> String {
        path.strip_prefix(&self.context).map_or_else(|_| path.to_string(), |p| p.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_reaches_the_image_triggers() {
        let ignore = "*\n!docker/libraries.list\n!app/\napp/tests/\n**/__pycache__/\n";
        let scope = WatchScope::new(
            "/p".into(),
            ignore,
            vec!["/p/docker/Dockerfile".into(), "/p/docker/build-args".into(), "/elsewhere/run.env".into()],
        );
        for (path, expected) in [
            ("/p/app/main.py", true),
            ("/p/app/data/config.yaml", true),
            ("/p/docker/libraries.list", true),
            ("/p/docker/Dockerfile", true),
            ("/p/docker/build-args", true),
            ("/elsewhere/run.env", true),
            ("/p/app/tests/test_main.py", false),
            ("/p/app/__pycache__/main.cpython-311.pyc", false),
            ("/p/README.md", false),
            ("/p/target/debug/xtask", false),
            ("/p/.git/index", false),
            ("/p/app/.main.py.swp", false),
            ("/p/app/main.py~", false),
            ("/p/app/4913", false),
            ("/p/app/.#main.py", false),
            ("/p/app/#main.py#", false),
            ("/other/app/main.py", false),
            ("/p", false),
        ] {
            assert_eq!(scope.triggers(Utf8Path::new(path)), expected, "{path}");
        }
        assert_eq!(scope.folders(), [Utf8PathBuf::from("/p"), "/elsewhere".into()]);
        for (dir, expected) in [
            ("/p", true),
            ("/p/app", true),
            ("/p/app/pkg", true),
            ("/p/docker", true),
            ("/p/app/tests", false),
            ("/p/app/pkg/__pycache__", false),
            ("/p/target", false),
            ("/p/target/debug", false),
            ("/p/.git", false),
            ("/p/docs", false),
            ("/elsewhere", true),
        ] {
            assert_eq!(scope.descends(Utf8Path::new(dir)), expected, "{dir}");
        }
        let no_ignore = WatchScope::new("/q".into(), "", Vec::new());
        assert!(!no_ignore.triggers("/q/.git/HEAD".into()) && !no_ignore.descends("/q/.git".into()));
        assert!(no_ignore.triggers("/q/anything.txt".into()));
        assert_eq!(scope.shown("/p/app/main.py".into()), "app/main.py");
    }
}
