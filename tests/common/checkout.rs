//! Another checkout of the project on this machine, as a second CI job
//! has one: a copy of the files git would check out (tracked, and new ones
//! not ignored: no `target/`, no local secrets), with an xtask built in it,
//! whose project root is the copy (`CARGO_MANIFEST_DIR` is compiled in).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command},
    time::Instant,
};

use super::*;

pub struct Checkout(TempDir);

impl Checkout {
    /// A copy of this checkout, its xtask built from scratch.
    pub fn copy(name: &str) -> Checkout {
        let checkout = Checkout::files(name);
        checkout.build();
        checkout
    }

    /// Another copy, which starts from this one's compiled dependencies.
    /// Cargo names a workspace member's artifacts by its path inside the
    /// workspace, so the copied ones look fresh with this checkout's root
    /// compiled in: they go, and only the xtask compiles again.
    pub fn another(&self, name: &str) -> Checkout {
        let checkout = Checkout::files(name);
        copy_tree(&self.target(), &checkout.target()).expect("the target folder copies");
        run_ok(checkout.cargo().args(["clean", "--quiet", "--package", "xtask"]));
        checkout.build();
        checkout
    }

    fn files(name: &str) -> Checkout {
        let checkout = Checkout(TempDir::new(name));
        let listed = run_ok(
            Command::new("git")
                .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
                .current_dir(root()),
        );
        for file in listed.stdout.split(|&b| b == 0).filter(|f| !f.is_empty()) {
            let file = std::str::from_utf8(file).expect("a UTF-8 path");
            // Deleted in the working tree, not yet in the index.
            if root().join(file).symlink_metadata().is_ok() {
                let to = checkout.path().join(file);
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                copy_tree(&root().join(file), &to).unwrap();
            }
        }
        checkout
    }

    /// The copy's folder, its project root.
    pub fn dir(&self) -> &TempDir {
        &self.0
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn target(&self) -> PathBuf {
        self.path().join("target")
    }

    /// Cargo in the copy, with its own target folder whatever the
    /// environment of this test says.
    fn cargo(&self) -> Command {
        let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cargo.current_dir(self.path()).env("CARGO_TARGET_DIR", self.target());
        cargo
    }

    fn build(&self) {
        run_ok(self.cargo().args(["build", "--quiet", "--package", "xtask", "--bin", "xtask"]));
    }

    /// Starts the copy's xtask in the copy, for `finish`; `cargo xtask`
    /// there (the bench runs it) finds the copy's build.
    pub fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> (Child, Instant) {
        let target = self.target();
        let env = [env, &[("CARGO_TARGET_DIR", target.to_str().unwrap())]].concat();
        spawn_xtask_of(&target.join("debug/xtask"), self.path(), args, &env)
    }
}
