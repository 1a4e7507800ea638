//! `watch --stack`: the loop over this checkout's stack. The stack starts
//! as `up` starts it, but its entry service (the one of our image that
//! publishes a port) publishes on a free port, and the loop's proxy holds
//! the file's port. A new build first serves from a one-off container of
//! the entry service beside the stack (its networks, variables and
//! secrets); once that answers, the proxy switches to it and the services
//! of our image are replaced in their order, then the proxy switches back
//! to the entry service. A build that cannot serve never touches the
//! stack; a replacement that fails puts the old build back.

use std::{net::SocketAddr, time::Duration};

use anyhow::{anyhow, Context, Result};

use crate::{
    engine::{compose::Project, container::Container, Engine},
    model::stack::{Readiness, Stack},
    service::stack::{bring_up, Owner, ServiceState, StackSpec, API_IMAGE},
};

/// The stack the loop serves, and takes down (keeping its data) when it
/// is dropped.
pub struct WatchedStack {
    project: Project,
    stack: Stack,
    /// The services of our image: what a new build replaces.
    ours: Stack,
    entry: String,
    /// The entry's container port.
    port: u16,
    /// The host port the file publishes the entry on: the URL's, unless
    /// `--port` says otherwise.
    pub file_port: Option<u16>,
    /// The path the stack's healthcheck of the entry GETs, if it GETs one.
    pub ready: Option<String>,
    pull: bool,
    timeout: Duration,
    /// The services as last brought up, for the report.
    pub services: Vec<ServiceState>,
    /// A one-off that serves a build the services could not take, when
    /// they could not take the old one again either.
    stand_in: Option<Container>,
}

impl WatchedStack {
    /// This checkout's stack of `spec`, whose image `tag` the loop builds.
    pub fn open(engine: &Engine, spec: &StackSpec, tag: &str) -> Result<WatchedStack> {
        let (mut project, stack) = spec.open(engine, Owner::Checkout, tag)?;
        let entry = spec.entry(&stack, tag, "serve")?;
        let ready = match stack.readiness(entry) {
            Readiness::Http { path, .. } => Some(path),
            _ => None,
        };
        let (name, port, file_port) = (entry.name.clone(), entry.ports[0], entry.host_ports.first().copied());
        project.add_override(&stack.republished(&name, engine.published_host()))?;
        let ours = stack.running(tag);
        Ok(WatchedStack {
            project,
            stack,
            ours,
            entry: name,
            port,
            file_port,
            ready,
            pull: !spec.offline,
            timeout: spec.timeout,
            services: Vec::new(),
            stand_in: None,
        })
    }

    pub fn name(&self) -> &str {
        self.project.name()
    }

    /// The service that publishes the image's port: the one the URL serves.
    pub fn entry(&self) -> &str {
        &self.entry
    }

    /// Whether a container of this stack (started by `up`) publishes on
    /// `port`: the loop takes the stack over, port and all.
    pub fn holds(&self, port: u16) -> bool {
        let containers = self.project.ps().unwrap_or_default();
        containers.iter().flat_map(|c| c.publishers.iter().flatten()).any(|p| p.published_port == port)
    }

    /// Starts the whole stack on `image_id`: where its entry answers.
    pub fn up(&mut self, image_id: &str) -> Result<SocketAddr> {
        self.project.set(API_IMAGE, image_id);
        bring_up(&self.project, &self.stack, self.pull, self.timeout, &mut self.services)?;
        self.entry_address()
    }

    fn entry_address(&self) -> Result<SocketAddr> {
        let entry = self.services.iter().find(|s| s.name == self.entry);
        entry.and_then(ServiceState::address).with_context(|| format!("service {} publishes no port", self.entry))
    }

    /// A one-off container of the entry service on `image_id`, beside the
    /// stack, publishing on `host_port` (None: a free one).
    pub fn next(&mut self, image_id: &str, host_port: Option<u16>) -> Result<Container> {
        self.project.set(API_IMAGE, image_id);
        self.project.run_beside(&self.entry, self.port, host_port)
    }

    /// Replaces the services of our image with `image_id`'s, in their
    /// order. When one fails, they go back to `old_id`.
    pub fn replace(&mut self, image_id: &str, old_id: &str) -> Replaced {
        let error = match self.bring_up_ours(image_id) {
            Ok(address) => return Replaced::New(address),
            Err(error) => error,
        };
        eprintln!("Putting the old build back in the stack's services.");
        match self.bring_up_ours(old_id) {
            Ok(address) => Replaced::Old(
                address,
                anyhow!("The stack's services could not take the new build, so they run the old one again: {error:#}"),
            ),
            Err(again) => Replaced::Neither(anyhow!(
                "The stack's services could not take the new build ({error:#}), nor the old one again ({again:#})."
            )),
        }
    }

    /// Starts the services of our image on `image_id`: where the entry answers.
    fn bring_up_ours(&mut self, image_id: &str) -> Result<SocketAddr> {
        self.project.set(API_IMAGE, image_id);
        let mut replaced = Vec::new();
        let brought = bring_up(&self.project, &self.ours, self.pull, self.timeout, &mut replaced);
        for state in replaced {
            if let Some(kept) = self.services.iter_mut().find(|s| s.name == state.name) {
                *kept = state;
            }
        }
        brought?;
        self.entry_address()
    }

    /// Keeps `container` serving until a new build replaces the stack's
    /// services: they could take neither build.
    pub fn keep_serving(&mut self, container: Container) {
        self.stand_in = Some(container);
    }

    /// That one-off, once the services took a build again.
    pub fn stand_in(&mut self) -> Option<Container> {
        self.stand_in.take()
    }
}

/// What became of a replacement.
pub enum Replaced {
    /// The services run the new build; the entry answers here.
    New(SocketAddr),
    /// They could not take it and run the old one again, answering here.
    Old(SocketAddr, anyhow::Error),
    /// They could take neither.
    Neither(anyhow::Error),
}
impl Drop for WatchedStack {
    fn drop(&mut self) {
        eprintln!("Stopping the stack {}; its data stays.", self.project.name());
        if let Err(error) = self.project.down(false) {
            eprintln!("{error:#}");
        }
    }
}
