//! File events for `watch`, from `notify`: inotify on Linux, or its polling
//! watcher where inotify cannot serve (its limit is too low for the tree)
//! or when asked (file systems that send no events: network mounts, some
//! container file systems). Folders are watched, each on its own, not
//! files: an editor that saves by renaming a new file over the old one
//! would leave a watch on a file behind. Which folders is the caller's
//! choice (`descend`), so that `target/` and `.git` cost no watch.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc::{self, Receiver, RecvTimeoutError},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use camino::{Utf8Path, Utf8PathBuf};
use notify::{event::EventKind, PollWatcher, RecommendedWatcher, RecursiveMode, Watcher as _};

use super::signals;

/// How often the polling watcher looks.
const POLL_EVERY: Duration = Duration::from_millis(200);

/// A changed path, and when its event came.
pub type Change = (Instant, Utf8PathBuf);

pub struct Watcher {
    inner: Box<dyn notify::Watcher + Send>,
    /// While armed, a change cancels the step under way (`signals::cancel`).
    armed: Arc<AtomicBool>,
    changes: Receiver<Change>,
    descend: Box<dyn Fn(&Utf8Path) -> bool>,
    /// The files found in a folder made since the start: written before
    /// its watch began, they came with no event of their own.
    found: std::collections::VecDeque<Change>,
    /// Why it polls, when it does.
    pub polling: Option<String>,
}

/// What notify calls with each event: the changes that matter go to the
/// channel, and, while armed, cancel the step under way.
#[derive(Clone)]
struct Events {
    sender: mpsc::Sender<Change>,
    armed: Arc<AtomicBool>,
    matters: Arc<dyn Fn(&Utf8Path) -> bool + Send + Sync>,
}

impl notify::EventHandler for Events {
    fn handle_event(&mut self, event: notify::Result<notify::Event>) {
        let Ok(event) = event else { return };
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        for path in event.paths.into_iter().filter_map(|path| Utf8PathBuf::try_from(path).ok()) {
            if (self.matters)(&path) {
                if self.armed.load(Ordering::SeqCst) {
                    signals::cancel();
                }
                let _ = self.sender.send((Instant::now(), path));
            }
        }
    }
}

fn watch_all(inner: &mut dyn notify::Watcher, folders: &[Utf8PathBuf]) -> Result<()> {
    for folder in folders {
        inner
            .watch(folder.as_std_path(), RecursiveMode::NonRecursive)
            .with_context(|| format!("cannot watch {folder}"))?;
    }
    Ok(())
}

impl Watcher {
    /// Watches `roots` and every folder below them that `descend` accepts,
    /// for changes to the paths that `matters` accepts; with `poll`, by
    /// polling.
    pub fn new(
        roots: &[Utf8PathBuf],
        descend: impl Fn(&Utf8Path) -> bool + 'static,
        matters: impl Fn(&Utf8Path) -> bool + Send + Sync + 'static,
        poll: bool,
    ) -> Result<Watcher> {
        let folders: Vec<Utf8PathBuf> = roots.iter().flat_map(|root| folders(root, &descend)).collect();
        let armed = Arc::new(AtomicBool::new(false));
        let (sender, changes) = mpsc::channel();
        let events = Events { sender, armed: armed.clone(), matters: Arc::new(matters) };
        let inotify = match poll {
            true => Err("as asked (--poll)".to_string()),
            false => match RecommendedWatcher::new(events.clone(), notify::Config::default()) {
                Err(error) => Err(format!("because there are no file events here ({error})")),
                Ok(mut inner) => match watch_all(&mut inner, &folders) {
                    Ok(()) => Ok(inner),
                    Err(error) => Err(format!("because the file events cannot cover the tree ({error:#})")),
                },
            },
        };
        let (inner, polling): (Box<dyn notify::Watcher + Send>, _) = match inotify {
            Ok(inner) => (Box::new(inner), None),
            Err(why) => {
                let config = notify::Config::default().with_poll_interval(POLL_EVERY).with_compare_contents(false);
                let mut inner = PollWatcher::new(events, config).context("cannot poll the files")?;
                watch_all(&mut inner, &folders)?;
                (Box::new(inner), Some(why))
            }
        };
        Ok(Watcher { inner, armed, changes, descend: Box::new(descend), found: Default::default(), polling })
    }

    /// While `armed`, a change that matters cancels the step under way.
    pub fn arm(&self, armed: bool) {
        self.armed.store(armed, Ordering::SeqCst);
    }

    /// The next change within `timeout`, if any. A folder made since the
    /// start is watched from then on, with what it holds.
    pub fn next(&mut self, timeout: Duration) -> Option<Change> {
        if let Some(found) = self.found.pop_front() {
            return Some(found);
        }
        let change = match self.changes.recv_timeout(timeout) {
            Ok(change) => change,
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
        };
        if change.1.is_dir() && (self.descend)(&change.1) {
            let new = folders(&change.1, &self.descend);
            let _ = watch_all(self.inner.as_mut(), &new);
            for folder in &new {
                let files = folder.read_dir_utf8().into_iter().flatten().flatten();
                let files = files.filter(|e| e.file_type().is_ok_and(|t| t.is_file()));
                self.found.extend(files.map(|e| (change.0, e.path().to_path_buf())));
            }
        }
        Some(change)
    }
}

/// `root` and the folders below it that `descend` accepts.
fn folders(root: &Utf8Path, descend: &dyn Fn(&Utf8Path) -> bool) -> Vec<Utf8PathBuf> {
    let mut found = vec![root.to_path_buf()];
    let mut at = 0;
    while at < found.len() {
        if let Ok(entries) = found[at].read_dir_utf8() {
            let below = entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir()));
            let below: Vec<Utf8PathBuf> = below.map(|e| e.path().to_path_buf()).filter(|p| descend(p)).collect();
            found.extend(below);
        }
        at += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> Utf8PathBuf {
        let dir = crate::sys::project::scratch_dir().unwrap().join(crate::sys::project::unique_name(name));
        std::fs::create_dir_all(dir.join("app/pkg")).unwrap();
        std::fs::create_dir_all(dir.join("target/debug")).unwrap();
        dir
    }

    /// The next change to a path that is not a folder.
    fn next_file(watcher: &mut Watcher) -> Option<Utf8PathBuf> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            match watcher.next(Duration::from_millis(100)) {
                Some((_, path)) if !path.is_dir() => return Some(path),
                _ => {}
            }
        }
        None
    }

    #[test]
    fn changes_below_the_folders_it_descends_into_come_in_both_modes() {
        for poll in [false, true] {
            let dir = scratch("watch");
            let skip = dir.join("target");
            let mut watcher = Watcher::new(std::slice::from_ref(&dir), move |p| p != skip, |_| true, poll).unwrap();
            assert_eq!(watcher.polling.is_some(), poll);
            std::fs::write(dir.join("target/debug/x"), "no").unwrap();
            std::fs::write(dir.join("app/pkg/mod.py"), "x = 1\n").unwrap();
            assert_eq!(next_file(&mut watcher), Some(dir.join("app/pkg/mod.py")), "poll: {poll}");
            // A folder made after the start is watched too.
            std::fs::create_dir_all(dir.join("app/new")).unwrap();
            std::thread::sleep(Duration::from_millis(if poll { 500 } else { 50 }));
            while watcher.next(Duration::from_millis(50)).is_some() {}
            std::fs::write(dir.join("app/new/b.py"), "y = 2\n").unwrap();
            assert_eq!(next_file(&mut watcher), Some(dir.join("app/new/b.py")), "poll: {poll}");
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
