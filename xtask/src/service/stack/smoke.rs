//! `smoke --stack`: the smoke checks against the whole stack, in a Compose
//! project of the run's own (its own name, password, loopback ports and
//! volumes), then the stack's own checks (a row written and read back, a
//! job a worker does); the stack goes with its volumes however the run
//! ends, and the tag moves only when every check passed.

use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::{bring_up, project::Owner, StackSpec, API_IMAGE};
use crate::{
    engine::{compose::Project, Engine},
    model::stack::Stack,
    service::{
        obtain,
        smoke::{ask, elapsed_ms, said, Checks, SmokeReport},
    },
    sys::signals,
};

impl Checks {
    /// Builds (or takes) the image, starts the stack of `stack` on it,
    /// checks it, and takes it down; the tag moves when all passed.
    pub fn run_stack(&self, engine: &Engine, stack: &StackSpec, report: &mut SmokeReport) -> Result<String> {
        engine.sweep_leftovers()?;
        super::sweep_abandoned(engine)?;
        let (mut compose, model) = stack.open(engine, Owner::Run, &self.spec.tag)?;
        report.project = Some(compose.name().to_string());
        let entry = stack.entry(&model, &self.spec.tag, "check")?.name.clone();
        let clock = Instant::now();
        let image = obtain(engine, &self.spec, self.build)?;
        report.image = image.report().clone();
        report.timings.build_ms = Some(elapsed_ms(clock));
        // The build, not the tag: the tag moves only once the stack passed.
        compose.set(API_IMAGE, &report.image.image_id);
        let health = image.contract(&self.spec).health;
        let checked = self.stack_checks(&compose, &model, (&entry, &health), stack, report);
        let clock = Instant::now();
        let down = compose.down(true);
        report.timings.stop_ms = Some(elapsed_ms(clock));
        // A signal during the teardown (a clean-up step, run to its end)
        // ends the run as any signal does: never as a pass.
        let down = down.and_then(|()| signals::check());
        let passed = checked.and_then(|passed| down.map(|()| passed)).map_err(|e| image.reject(e))?;
        report.image = image.accept()?;
        Ok(passed)
    }

    fn stack_checks(
        &self,
        compose: &Project,
        model: &Stack,
        (entry, health): (&str, &str),
        stack: &StackSpec,
        report: &mut SmokeReport,
    ) -> Result<String> {
        let clock = Instant::now();
        bring_up(compose, model, !stack.offline, stack.timeout, &mut report.services)?;
        report.timings.ready_ms = Some(elapsed_ms(clock));
        let state = report.services.iter().find(|s| s.name == entry);
        let (url, address) = state
            .and_then(|s| Some((s.url.clone()?, s.address()?)))
            .with_context(|| format!("service {entry} publishes no port"))?;
        report.url = Some(url);
        let clock = Instant::now();
        let ready = self.ready.as_deref().unwrap_or(health);
        ask(address, &self.requests_or_defaults(ready), &self.headers, &mut report.checks)?;
        ask(address, &self.stack, &self.headers, &mut report.checks)?;
        report.timings.checks_ms = Some(elapsed_ms(clock));
        let said: Vec<String> = report.checks.iter().map(said).collect();
        if report.checks.iter().any(|c| !c.ok) {
            bail!("Not every check of the stack passed: {}.", said.join(", "));
        }
        // Each service's time runs from its own start, so the slowest is
        // not always the last one ready: the sentence says which it names.
        let slowest = report.services.iter().max_by_key(|s| s.ready_ms);
        let slowest = slowest.map_or(String::new(), |s| {
            format!(" (the slowest to get ready: {}, {} ms)", s.name, s.ready_ms.unwrap_or(0))
        });
        Ok(format!(
            "{} passed with its stack of {} services on {}: {}; every service ready in {} ms{slowest}.",
            self.spec.tag,
            report.services.len(),
            compose.engine().name(),
            said.join(", "),
            report.timings.ready_ms.unwrap_or(0)
        ))
    }
}
