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

/// A stand-in made as a layer.
pub struct Layer<'a> {
    /// What it stands in for, as messages name it.
    pub what: &'a str,
    pub tag: &'a str,
    pub base: &'a str,
    pub context: &'a [ContextFile],
    /// Files of this machine copied into the context, by their names
    /// there: its trust store.
    pub host_files: &'a [(&'a str, &'a str)],
}

/// `layer`'s image, made where `engine` lacks it.
pub fn derive(engine: &Engine, layer: &Layer<'_>) -> Result<()> {
    super::make_once(engine, layer.what, layer.tag, || build(engine, layer))
}

fn build(engine: &Engine, layer: &Layer<'_>) -> Result<()> {
    let Layer { what, tag, base, context, host_files } = *layer;
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
