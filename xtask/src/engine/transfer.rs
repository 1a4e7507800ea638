//! Images into an engine from elsewhere: another engine's store (`save`
//! then `load`, which works across engines and hosts), or a root file
//! system's tarball (`import`), as the offline stand-ins are made.

use anyhow::{Context, Result};
use camino::Utf8Path;

use super::Engine;
use crate::sys::{
    process::{self, CommandLine},
    project,
};

impl Engine {
    pub(super) fn load_command(&self, file: &Utf8Path) -> CommandLine {
        self.cli().args(["load", "--input", file.as_str()])
    }

    /// Copies image `tag` from engine `source` to this one, through a
    /// file: `save | load`, which works across engines and hosts.
    pub fn copy_image(&self, source: &Engine, tag: &str) -> Result<()> {
        let file = project::scratch_dir()?.join(project::unique_name("image.tar"));
        let copied = source.read(&source.save_command(tag, &file)).and_then(|_| self.read(&self.load_command(&file)));
        let _ = std::fs::remove_file(&file);
        copied.map(drop)
    }

    fn import_command(&self, changes: &[String], tarball: &Utf8Path, tag: &str) -> CommandLine {
        self.cli().arg("import").args(changes.iter().cloned()).args([tarball.as_str(), tag])
    }

    fn build_from_command(&self, context: &Utf8Path, tag: &str, args: &[(&str, &str)]) -> CommandLine {
        let args = args.iter().flat_map(|(key, value)| ["--build-arg".to_string(), format!("{key}={value}")]);
        self.cli().args(["build", "--tag", tag]).args(args).arg(context.as_str())
    }

    /// Builds image `tag` from the Dockerfile in `context`, which is the
    /// tool's own (a stand-in's), with `args`: its output goes to stderr.
    pub fn build_from(&self, context: &Utf8Path, tag: &str, args: &[(&str, &str)]) -> Result<()> {
        process::to_stderr(&self.build_from_command(context, tag, args)).or_else(|error| self.explain(error))
    }

    /// Makes image `tag` from a root file system's tarball.
    pub fn import(&self, changes: &[String], tarball: &Utf8Path, tag: &str) -> Result<()> {
        self.read(&self.import_command(changes, tarball, tag)).context("the engine's import failed")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Kind;

    #[test]
    fn the_commands_that_move_an_image() {
        let changes = ["--change".to_string(), "ENV A=1".to_string()];
        assert_eq!(
            Engine::default().import_command(&changes, "/w/rootfs.tar".into(), "t:1").to_string(),
            r#"docker import --change "ENV A=1" /w/rootfs.tar t:1"#
        );
        let podman = Engine::of(Kind::Podman);
        let docker = Engine::docker_here();
        assert_eq!(
            docker.save_command("t:1", "/s/i.tar".into()).to_string(),
            "docker --host unix:///var/run/docker.sock save --output /s/i.tar t:1"
        );
        assert_eq!(podman.load_command("/s/i.tar".into()).to_string(), "podman load --input /s/i.tar");
        assert_eq!(
            podman.build_from_command("/c".into(), "s:1", &[("BASE", "b:1")]).to_string(),
            "podman build --tag s:1 --build-arg BASE=b:1 /c"
        );
    }
}
