//! The images a bench run made, and only those: what it removes when it
//! ends. The engine is shared with other checkouts and CI jobs, and an
//! untagged image that appeared meanwhile may be someone else's: a build
//! that has not passed its checks yet, or the builder stage that is the
//! cache of their next build.
//!
//! Each build says what it made. On every builder its image is named by
//! the iidfile (a plain build) or the report (`imageId`, an xtask run);
//! the legacy builder's output names the stage images it made
//! (`model::build_output`); BuildKit makes no stage image (its cache is
//! none); Buildah names its stage images nowhere once given `--iidfile`,
//! so those stay, as podman's layer cache. A label unique to the run would
//! not do: the legacy builder puts `--label` on the last stage alone, and
//! a plain build must stay the very command that `image` runs.
//!
//! The image of a build that the cache served whole is one that was there
//! before; `mark` makes sure it is this run's own all the same.

use std::{cell::RefCell, fs::OpenOptions, io::Write};

use anyhow::{Context, Result};
use camino::Utf8Path;

use crate::{engine::Engine, model::build_output::stage_tops_made, sys::process::Ran};

#[derive(Default)]
pub struct Made(RefCell<Vec<String>>);

impl Made {
    /// Gives the copy of the app at `work` a line of the run's own (`run`):
    /// every image built from it is then this run's alone, and no build
    /// of someone else comes out as one of them.
    pub fn mark(work: &Utf8Path, run: &str) -> Result<()> {
        let main = work.join("app/main.py");
        let mut file = OpenOptions::new().append(true).open(&main).with_context(|| format!("cannot edit {main}"))?;
        writeln!(file, "# made by the bench run {run}").with_context(|| format!("cannot edit {main}"))
    }

    /// An image that a build of this run named.
    pub fn image(&self, id: &str) {
        self.0.borrow_mut().push(id.to_string());
    }

    /// The stage images that a build's `output` says it made.
    pub fn built(&self, output: &str) {
        self.0.borrow_mut().extend(stage_tops_made(output));
    }

    /// What an xtask run that built said it made: the image of each of its
    /// JSON reports (`image`'s one document, over several lines, or
    /// `watch`'s one a line), and the stage images its build output names,
    /// which it echoes on its stderr.
    pub fn xtask(&self, stdout: &str, stderr: &str) {
        let reports = serde_json::Deserializer::from_str(stdout).into_iter::<serde_json::Value>();
        for report in reports.map_while(Result::ok) {
            if let Some(id) = report["imageId"].as_str() {
                self.image(id);
            }
        }
        self.built(stderr);
    }

    /// `xtask`, of a run that ended.
    pub fn xtask_ran(&self, ran: &Ran) {
        self.xtask(&String::from_utf8_lossy(&ran.stdout), &String::from_utf8_lossy(&ran.stderr));
    }

    /// Removes them, but for those that someone else tagged or built on.
    pub fn remove(&self, engine: &Engine) {
        engine.remove_unused(&self.0.borrow());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::project;

    #[test]
    fn an_xtask_run_made_the_images_it_reports_and_those_its_build_output_names() {
        let made = Made::default();
        let lines = "{\"cycle\":0,\"imageId\":\"sha256:aa\",\"success\":true}\n{\"cycle\":1,\"outcome\":\"kept\"}\n";
        let stderr = "$ docker build …\nStep 2/3 : FROM b AS builder\n ---> 2be53607e943\nStep 3/3 : RUN x\n ---> Running in f53160d6c093\n ---> 8bd281339caa\n";
        made.xtask(lines, stderr);
        assert_eq!(*made.0.borrow(), ["sha256:aa", "8bd281339caa"]);
        // `image` prints one document over several lines.
        let made = Made::default();
        made.xtask("{\n  \"imageId\": \"sha256:bb\",\n  \"success\": true\n}\n", "");
        assert_eq!(*made.0.borrow(), ["sha256:bb"]);
    }

    #[test]
    fn the_mark_ends_the_app() {
        let work = project::scratch_dir().unwrap().join(project::unique_name("mark"));
        std::fs::create_dir_all(work.join("app")).unwrap();
        std::fs::write(work.join("app/main.py"), "app = 1\n").unwrap();
        Made::mark(&work, "xtask-bench/fastapi-server:bench-1-2").unwrap();
        let main = std::fs::read_to_string(work.join("app/main.py")).unwrap();
        std::fs::remove_dir_all(&work).unwrap();
        assert_eq!(main, "app = 1\n# made by the bench run xtask-bench/fastapi-server:bench-1-2\n");
    }
}
