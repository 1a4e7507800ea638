//! Stand-ins for the stack's PostgreSQL and Redis images, for machines
//! that reach no registry: each a layer of Debian's package over the
//! Python runtime stand-in (see `layers`). Their Dockerfiles and
//! entrypoints are beside this file.

use anyhow::Result;

use super::{ensure, layers};
use crate::engine::Engine;

/// Each stand-in: what it stands in for, the variable of the stack's
/// Compose file that names its image, and its build context.
const SERVICES: [(&str, &str, [layers::ContextFile; 2]); 2] = [
    (
        "postgres",
        "POSTGRES_IMAGE",
        [
            ("Dockerfile", include_str!("postgres/Dockerfile"), 0o644),
            ("entrypoint.sh", include_str!("postgres/entrypoint.sh"), 0o755),
        ],
    ),
    (
        "redis",
        "REDIS_IMAGE",
        [
            ("Dockerfile", include_str!("redis/Dockerfile"), 0o644),
            ("entrypoint.sh", include_str!("redis/entrypoint.sh"), 0o755),
        ],
    ),
];

fn tag(name: &str, suite: &str) -> String {
    format!("xtask-standin/{name}:{suite}")
}

/// Whether the stack's stand-ins are in `engine`'s store already.
pub fn present(engine: &Engine) -> Result<bool> {
    let suite = super::suite();
    let tags: Vec<String> = SERVICES.iter().map(|(name, ..)| tag(name, &suite)).collect();
    let found = engine.inspect_images(&tags.iter().map(String::as_str).collect::<Vec<_>>())?;
    Ok(tags.iter().all(|tag| found.iter().any(|image| image.has_tag(tag))))
}

/// The variables that point the stack's Compose file at the stand-ins
/// (`POSTGRES_IMAGE`, `REDIS_IMAGE`), made first where they are missing.
pub fn stack_images(engine: &Engine) -> Result<Vec<(&'static str, String)>> {
    let suite = super::suite();
    let mut images = Vec::new();
    for (name, variable, context) in SERVICES {
        let tag = tag(name, &suite);
        if engine.inspect_image(&tag)?.is_none() {
            let base = ensure(engine, &suite)?.runtime;
            let layer = layers::Layer { what: name, tag: &tag, base: &base, context: &context, host_files: &[] };
            layers::derive(engine, &layer)?;
        }
        images.push((variable, tag));
    }
    Ok(images)
}
