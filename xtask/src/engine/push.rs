//! Pushing an image to a registry: the push, the digest of the manifest
//! the engine made, and a sentence for each way it fails.

use anyhow::{bail, Context, Result};
use camino::Utf8Path;

use super::{capabilities::PushDigest, Engine, Kind};
use crate::model::reference;
use crate::sys::{process::CommandLine, project};

impl Engine {
    /// podman writes the digest to a file; Docker records it with the image.
    /// podman speaks plain HTTP to a loopback registry only when told to.
    fn push_command(&self, image: &str, target: &str, digest_file: &Utf8Path) -> CommandLine {
        let line = self.cli().arg("push");
        match self.kind().can().push_digest {
            PushDigest::Recorded => line.arg(target),
            PushDigest::File => {
                let plain_http = reference::speaks_plain_http(reference::registry_of(target));
                let line = line.args(["--digestfile", digest_file.as_str()]);
                line.args(plain_http.then_some("--tls-verify=false")).args([image, target])
            }
        }
    }

    /// Pushes `target` (`HOST/NAME:TAG`, which names image `image`); the
    /// digest of the manifest the engine pushed.
    pub fn push(&self, image: &str, target: &str) -> Result<String> {
        let registry = reference::registry_of(target);
        let digest_file = project::scratch_dir()?.join(project::unique_name("digest"));
        let pushed = self.stream(&self.push_command(image, target, &digest_file));
        let from_file = std::fs::read_to_string(&digest_file).ok();
        let _ = std::fs::remove_file(&digest_file);
        let pushed = pushed?;
        if !pushed.status.success() {
            self.version()?;
            bail!(push_failure(&pushed.output, registry, self.kind()));
        }
        if let Some(digest) = from_file.map(|d| d.trim().to_string()).filter(|d| d.starts_with("sha256:")) {
            return Ok(digest);
        }
        let name = reference::repository(target);
        let info = self.inspect_image(target)?.with_context(|| format!("{target} is gone right after its push"))?;
        let digests = info.repo_digests.unwrap_or_default();
        let digest = digests.iter().find_map(|d| d.strip_prefix(name)?.strip_prefix('@'));
        digest.map(str::to_string).with_context(|| format!("the engine recorded no digest for {target}"))
    }
}

/// A registry that does not answer, said the same whoever finds out: the
/// engine's push, or the check before it (`registry::answering`).
pub fn not_answering(registry: &str) -> String {
    format!("The registry {registry} does not answer: start it, or check --registry.")
}

/// A registry that wants a login `cli` (`docker`, `podman`) does not have.
pub fn needs_login(registry: &str, cli: &str) -> String {
    format!("The registry {registry} needs a login: run `{cli} login {registry}`, then push again.")
}

/// One sentence for a failed push.
fn push_failure(output: &str, registry: &str, kind: Kind) -> String {
    let said = output.to_ascii_lowercase();
    if said.contains("no basic auth credentials")
        || said.contains("unauthorized")
        || said.contains("authentication required")
    {
        return needs_login(registry, kind.name());
    }
    if said.contains("connection refused") || said.contains("no such host") || said.contains("i/o timeout") {
        return not_answering(registry);
    }
    if said.contains("server gave http response to https client") {
        return format!(
            "The registry {registry} speaks plain HTTP, and the engine wants HTTPS there: name it among the \
             engine's insecure registries, or give it TLS."
        );
    }
    let last = output.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output").trim();
    format!("The push to {registry} failed: {last}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_push_commands() {
        let docker = Engine::default().push_command("sha256:a", "127.0.0.1:5000/app:1", "/d".into());
        assert_eq!(docker.to_string(), "docker push 127.0.0.1:5000/app:1");
        let podman = Engine::of(Kind::Podman).push_command("sha256:a", "127.0.0.1:5000/app:1", "/d".into());
        assert_eq!(podman.to_string(), "podman push --digestfile /d --tls-verify=false sha256:a 127.0.0.1:5000/app:1");
    }

    #[test]
    fn push_failures_are_sentences() {
        let login = push_failure("denied: no basic auth credentials", "r:1", Kind::Docker);
        assert_eq!(login, "The registry r:1 needs a login: run `docker login r:1`, then push again.");
        let down = push_failure("dial tcp 127.0.0.1:9: connect: connection refused", "127.0.0.1:9", Kind::Podman);
        assert!(down.starts_with("The registry 127.0.0.1:9 does not answer"), "{down}");
        assert_eq!(push_failure("\nboom\n", "r:1", Kind::Docker), "The push to r:1 failed: boom");
    }
}
