//! Stand-ins made as a layer over the runtime stand-in (the one Debian
//! root that debootstrap makes): the builder, PostgreSQL and Redis. Each
//! is a Dockerfile of ours, built once, or copied from this machine's
//! Docker when it holds it already.

use anyhow::{Context, Result};

use crate::{
    engine::Engine,
    sys::{files, project},
};

/// A file of a layer's build context: its name, its text and its mode.
pub type ContextFile = (&'static str, &'static str, u32);

/// Image `tag` (a stand-in for `what`), made over `base` from `context`
/// where `engine` lacks it. `host_files` are copied from this machine
/// into the context (its trust store).
pub fn derive(
    engine: &Engine,
    what: &str,
    tag: &str,
    base: &str,
    context: &[ContextFile],
    host_files: &[(&str, &str)],
) -> Result<()> {
    // Concurrent runs wait here for the one that makes it.
    let _lock = project::machine_lock("standin")?;
    if engine.inspect_image(tag)?.is_some() {
        return Ok(());
    }
    let made = match engine.local_docker().filter(|docker| docker.inspect_image(tag).is_ok_and(|i| i.is_some())) {
        Some(docker) => {
            eprintln!("Copying the offline {what} image {tag} from docker to {} (once).", engine.name());
            engine.copy_image(&docker, tag)
        }
        None => build(engine, what, tag, base, context, host_files),
    };
    made.with_context(|| format!("cannot make the offline {what} image {tag} in {}", engine.name()))
}

fn build(
    engine: &Engine,
    what: &str,
    tag: &str,
    base: &str,
    context: &[ContextFile],
    host_files: &[(&str, &str)],
) -> Result<()> {
    eprintln!("Making the offline {what} image {tag} over {base} (once).");
    let dir = project::scratch_dir()?.join(project::unique_name("standin"));
    let made = (|| {
        for (name, text, mode) in context {
            files::write_new(&dir.join(name), text, *mode)?;
        }
        for (from, name) in host_files {
            std::fs::copy(from, dir.join(name)).with_context(|| format!("cannot copy {from}"))?;
        }
        engine.build_from(&dir, tag, &[("BASE", base)])
    })();
    let _ = std::fs::remove_dir_all(&dir);
    made
}
