//! The stack a task asks for: its Compose file, the project name it runs
//! under, and the variables the file reads, opened as a Compose project.

use std::{collections::BTreeMap, time::Duration};

use anyhow::{bail, Context, Result};
use camino::{Utf8Path, Utf8PathBuf};

use crate::{
    engine::{
        compose::{Project, NO_COMPOSE},
        Engine,
    },
    model::{
        env_file, service_log,
        stack::{Service, Stack, StandIn},
    },
    standins,
    sys::{files, mask, project},
};

/// The variable that the stack's file reads the database password from.
/// The start of the names of the stacks that `smoke --stack` runs own,
/// each of its own run: `RUN_PREFIX-PID-…`.
pub const RUN_PREFIX: &str = "xtask-smoke";
pub const PASSWORD: &str = "POSTGRES_PASSWORD";
/// The variable that names the image the tool builds.
pub const API_IMAGE: &str = "API_IMAGE";

/// How long a whole stack may take to be ready.
pub const STACK_TIMEOUT: Duration = Duration::from_secs(120);

/// A stack to start.
#[derive(Debug, Clone)]
pub struct StackSpec {
    pub file: Utf8PathBuf,
    /// The stand-ins of the services' images, not the official ones.
    pub offline: bool,
    /// Variables for the file (`--env`), which may be secrets.
    pub variables: BTreeMap<String, String>,
    /// The service's settings files (`run.env`, `run.local.env`,
    /// `--env-file`): the services of the image get them, as `run` and
    /// `smoke` give them to the image.
    pub env_files: Vec<Utf8PathBuf>,
    /// The values of the `.env` beside the file, which Compose reads itself.
    pub dotenv: BTreeMap<String, String>,
    pub timeout: Duration,
}

/// Whose stack it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// This checkout's (`up`, `down`): one name for it, its data kept.
    Checkout,
    /// One run's (`smoke --stack`): a name of its own, a password of its
    /// own, free loopback ports, everything gone when the run ends.
    Run,
}

/// The Compose file in `dir`, by the names Compose looks for.
pub fn compose_file_in(dir: &Utf8Path) -> Option<Utf8PathBuf> {
    ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"]
        .into_iter()
        .map(|name| dir.join(name))
        .find(|file| file.is_file())
}

/// The sentence for a service that failed alone for want of its stack:
/// its log (in `said`) could not reach a host that is a service of the
/// Compose file in `dir`, whose image `tag` names.
pub fn needs_stack(engine: &Engine, dir: &Utf8Path, tag: &str, said: &str) -> Option<String> {
    let hosts = service_log::unreachable_hosts(said);
    let file = compose_file_in(dir).filter(|_| !hosts.is_empty())?;
    let mut compose = Project::new(engine, project::unique_name(RUN_PREFIX), vec![file.clone()]).ok()?;
    compose.set(API_IMAGE, tag);
    let stack = Stack::from_json(&compose.config().ok()?).ok()?;
    let host = hosts.iter().find(|host| stack.service(host).is_some())?;
    Some(format!(
        "The service needs its stack: its log cannot reach {host}, a service of {}; smoke it with `cargo xtask \
         smoke --stack`.",
        project::shown(&file)
    ))
}

/// The project name of the stack of the Compose file `file`: its
/// folder's name and a hash of its path, so that the stacks (and volumes)
/// of two checkouts never meet.
pub fn checkout_name(file: &Utf8Path) -> String {
    let dir = file.parent().unwrap_or(file);
    let hash =
        dir.as_str().bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let folder: String = dir
        .file_name()
        .unwrap_or("project")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect();
    format!("xtask-{}-{:08x}", folder.trim_matches('-'), hash as u32)
}

/// 32 hexadecimal digits from the kernel's random source.
fn random_password() -> Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("cannot read /dev/urandom")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl StackSpec {
    fn dotenv_path(&self) -> Utf8PathBuf {
        self.file.parent().map_or_else(|| Utf8PathBuf::from(".env"), |dir| dir.join(".env"))
    }

    /// The database password, unless the environment, `--env` or `.env`
    /// gives one: a checkout's is made once and kept in `.env` (which
    /// Compose reads, so that `docker compose up` alone finds it too); a
    /// run's is new each time.
    fn password(&self, owner: Owner) -> Result<Option<String>> {
        let given = std::env::var(PASSWORD).ok().or_else(|| self.variables.get(PASSWORD).cloned());
        if given.is_some() || self.dotenv.contains_key(PASSWORD) {
            return Ok(given);
        }
        // A stack whose file asks for no database password gets none, and
        // no .env is written for it.
        let file = std::fs::read_to_string(&self.file).unwrap_or_default();
        if !file.contains(PASSWORD) {
            return Ok(None);
        }
        let made = random_password()?;
        if owner == Owner::Checkout {
            let path = self.dotenv_path();
            let mut text = std::fs::read_to_string(&path).unwrap_or_default();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text += &format!(
                "# Made by `cargo xtask up`: the stack's database password. Never commit it.\n{PASSWORD}={made}\n"
            );
            files::write_new(&path, &text, 0o600)?;
            eprintln!("Made a database password for this checkout's stack and kept it in {path}.");
        }
        Ok(Some(made))
    }

    /// The service of `stack` that runs the image `tag` and publishes a
    /// port: where the tool's requests go, to `what` (`check`, `serve`).
    pub fn entry<'a>(&self, stack: &'a Stack, tag: &str, what: &str) -> Result<&'a Service> {
        stack.entry(tag).with_context(|| {
            format!(
                "No service of {} runs the image {tag} and publishes a port, so there is nothing to {what}: set its \
                 image to ${{{API_IMAGE}:-{tag}}}.",
                project::shown(&self.file)
            )
        })
    }

    /// The Compose project of this stack for `owner`, with its variables
    /// set and `API_IMAGE` naming `api_image`, and the stack it resolves to.
    pub fn open(&self, engine: &Engine, owner: Owner, api_image: &str) -> Result<(Project, Stack)> {
        if !self.file.is_file() {
            bail!(
                "There is no Compose file {}: the stack is described there (see the README), or give its path with \
                 --file.",
                project::shown(&self.file)
            );
        }
        if engine.compose_version().is_none() {
            bail!(NO_COMPOSE);
        }
        let name = match owner {
            Owner::Checkout => checkout_name(&self.file),
            Owner::Run => project::unique_name(RUN_PREFIX),
        };
        let mut compose = Project::new(engine, name, vec![self.file.clone()])?;
        for (key, value) in &self.variables {
            if mask::says_secret(key, value) {
                compose.set_secret(key, value);
            } else {
                compose.set(key, value);
            }
        }
        if let Some(password) = self.password(owner)? {
            mask::secret(&password);
            compose.set_secret(PASSWORD, &password);
        }
        let standins = if self.offline { standins::stack_images(engine)? } else { Vec::new() };
        for (variable, image) in &standins {
            if std::env::var(variable).is_err() && !self.variables.contains_key(*variable) {
                compose.set(variable, image);
            }
        }
        compose.set(API_IMAGE, api_image);
        let config = compose.config().with_context(|| format!("Compose cannot read {}", project::shown(&self.file)))?;
        let stack =
            Stack::from_json(&config).with_context(|| format!("{} cannot start", project::shown(&self.file)))?;
        // The names of the stack's parts are shown as they are, whatever
        // secret holds their text (a password `postgres`).
        mask::name(compose.name());
        let images = stack.services.iter().filter_map(|service| service.image.as_deref());
        stack.services.iter().map(|service| service.name.as_str()).chain(images).for_each(mask::name);
        if owner == Owner::Run {
            compose.add_override(&stack.isolated_override(&Project::owner_labels(), engine.published_host()))?;
        }
        // Offline, a service's own image of a family the stand-ins serve
        // (`postgres:11.5-alpine`, written in the file, not a variable),
        // which the engine does not have, runs on the stand-in instead.
        let images: Vec<&str> = standins.iter().map(|(_, image)| image.as_str()).collect();
        let missing = |image: &str| engine.inspect_image(image).ok().flatten().is_none();
        if let Some((yaml, replaced)) = stack.standins_override(&images, missing) {
            for StandIn { service, image, standin } in replaced {
                eprintln!(
                    "Offline: service {service}'s image {image} is not here, so the stand-in {standin} serves it."
                );
            }
            compose.add_override(&yaml)?;
        }
        let files: Vec<String> = self.env_files.iter().map(|file| file.to_string()).collect();
        if let Some(yaml) = stack.settings_override(api_image, &files) {
            compose.add_override(&yaml)?;
        }
        for file in &self.env_files {
            let settings = env_file::pairs(&std::fs::read_to_string(file).unwrap_or_default());
            for (key, service, api) in stack.localhost_settings(api_image, &settings) {
                eprintln!(
                    "warning: {} sets {key} to localhost, which inside the stack is {api}'s own container, and the \
                     stack has {service}: set {key} in the Compose file's environment for {api} (host {service}), \
                     which wins over the settings files.",
                    project::shown(file)
                );
            }
        }
        Ok((compose, stack))
    }
}
