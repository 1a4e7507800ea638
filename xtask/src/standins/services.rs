//! Stand-ins for the stack's PostgreSQL and Redis images, for machines
//! that reach no registry: each a layer of Debian's package over the
//! Python runtime stand-in, so that no debootstrap more is needed and the
//! base layers are stored once. Their Dockerfiles and entrypoints are
//! beside this file.

use anyhow::{Context, Result};

use super::ensure;
use crate::{
    engine::Engine,
    sys::{files, project},
};

#[derive(Clone, Copy, Debug)]
enum Kind {
    Postgres,
    Redis,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Postgres => "postgres",
            Kind::Redis => "redis",
        }
    }

    /// The variable of the stack's Compose file that names its image.
    fn variable(self) -> &'static str {
        match self {
            Kind::Postgres => "POSTGRES_IMAGE",
            Kind::Redis => "REDIS_IMAGE",
        }
    }

    fn files(self) -> [&'static str; 2] {
        match self {
            Kind::Postgres => [include_str!("postgres/Dockerfile"), include_str!("postgres/entrypoint.sh")],
            Kind::Redis => [include_str!("redis/Dockerfile"), include_str!("redis/entrypoint.sh")],
        }
    }

    fn tag(self, suite: &str) -> String {
        format!("xtask-standin/{}:{suite}", self.name())
    }
}

/// The variables that point the stack's Compose file at the stand-ins
/// (`POSTGRES_IMAGE`, `REDIS_IMAGE`), made first where they are missing.
pub fn stack_images(engine: &Engine) -> Result<Vec<(&'static str, String)>> {
    let suite = super::suite();
    let mut images = Vec::new();
    for kind in [Kind::Postgres, Kind::Redis] {
        let tag = kind.tag(&suite);
        if engine.inspect_image(&tag)?.is_none() {
            make(engine, kind, &suite, &tag)
                .with_context(|| format!("cannot make the offline {} image {tag} in {}", kind.name(), engine.name()))?;
        }
        images.push((kind.variable(), tag));
    }
    Ok(images)
}

fn make(engine: &Engine, kind: Kind, suite: &str, tag: &str) -> Result<()> {
    let base = ensure(engine, suite)?.runtime;
    // Concurrent runs wait here for the one that makes it.
    let _lock = project::machine_lock("standin")?;
    if engine.inspect_image(tag)?.is_some() {
        return Ok(());
    }
    if let Some(docker) = engine.local_docker().filter(|docker| docker.inspect_image(tag).is_ok_and(|i| i.is_some())) {
        eprintln!("Copying the offline {} image {tag} from docker to {} (once).", kind.name(), engine.name());
        return engine.copy_image(&docker, tag);
    }
    eprintln!("Making the offline {} image {tag} over {base} (once).", kind.name());
    let context = project::scratch_dir()?.join(project::unique_name("standin"));
    let [dockerfile, entrypoint] = kind.files();
    let made = files::write_new(&context.join("Dockerfile"), dockerfile, 0o644)
        .and_then(|()| files::write_new(&context.join("entrypoint.sh"), entrypoint, 0o755))
        .and_then(|()| engine.build_from(&context, tag, &[("BASE", &base)]));
    let _ = std::fs::remove_dir_all(&context);
    made
}
