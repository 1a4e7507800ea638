//! `cargo xtask layers [image flags] [--image REF] [--run]`: the image's
//! read-only layers, each with the instruction that made it, its size and
//! whether it comes from the base image or from our Dockerfile; the totals;
//! the bytes wasted on files that a later layer overwrites or deletes, and
//! the efficiency score, in the manner of dive; with `--run`, the writable
//! layer of a container after it served its health path and `/`. JSON on
//! stdout, a table on stderr.

mod table;
mod waste;

use anyhow::{Context, Result};
use serde::Serialize;

use self::waste::Waste;
use super::{Done, Task};
use crate::{
    cli::{EngineFlag, ImageFlags},
    engine::{build::BuildSpec, choice::Choice, container::Spec, Engine},
    model::dockerfile::Dockerfile,
    model::reference,
    report::{extends_image, ImageReport},
    service::{self, contract::Contract, Obtained},
    standins,
};

/// How many of the wasted copies the report lists, the biggest first.
const WASTED_LISTED: usize = 20;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Layer {
    /// From 0, the bottom layer.
    pub index: usize,
    pub instruction: String,
    pub bytes: u64,
    pub files: usize,
    /// `base` (the final stage's base image), `dockerfile`, or `image`
    /// when the base is not known (`--image`).
    pub origin: &'static str,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub layers: usize,
    pub bytes: u64,
    pub base_bytes: u64,
    pub dockerfile_bytes: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Writable {
    pub bytes: u64,
    pub changed: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayersReport {
    #[serde(flatten)]
    pub image: ImageReport,
    pub layers: Vec<Layer>,
    pub totals: Totals,
    #[serde(flatten)]
    pub waste: Waste,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writable: Option<Writable>,
}

extends_image!(LayersReport, table::text);

/// The image's layers: instruction, size, base or ours; wasted bytes and efficiency, as dive counts them
#[derive(Debug, clap::Parser)]
#[command(name = "layers")]
pub struct Flags {
    /// Read this image instead of building one
    #[arg(long, value_name = "IMAGE", value_parser = reference::image)]
    image: Option<String>,
    /// Also the writable layer of a container after it served its health path and /
    #[arg(long)]
    run: bool,
    #[command(flatten)]
    build: ImageFlags,
    #[command(flatten)]
    engine: EngineFlag,
}

pub struct Layers {
    spec: BuildSpec,
    /// An image to read instead of building one.
    image: Option<String>,
    run: bool,
    engine: Choice,
}

impl Task for Layers {
    type Flags = Flags;
    type Report = LayersReport;

    fn new(flags: Flags) -> Result<Layers> {
        Ok(Layers {
            spec: flags.build.into_spec()?,
            image: flags.image,
            run: flags.run,
            engine: flags.engine.choice()?,
        })
    }

    fn run(self) -> Done<LayersReport> {
        let mut report = LayersReport::default();
        let outcome = self.read(&self.engine.engine(), &mut report);
        report.image.settle(outcome);
        report.into()
    }
}

impl Layers {
    /// Reads the image (a build of ours is tagged only once it was read,
    /// and with `--run`, once it served).
    fn read(&self, engine: &Engine, report: &mut LayersReport) -> Result<String> {
        // The base is known only for an image of our Dockerfile.
        let (image, base) = match &self.image {
            Some(reference) => {
                let info =
                    engine.inspect_image(reference)?.with_context(|| format!("There is no image {reference}."))?;
                (Obtained::Existing(service::existing(reference, &info, engine), info.config), None)
            }
            None => (service::checked_build(engine, &self.spec)?, Some(self.base_layers(engine)?)),
        };
        report.image = image.report().clone();
        let read = self.read_layers(engine, base, report).map_err(|e| image.reject(e))?;
        report.image = image.accept()?;
        Ok(read)
    }

    fn read_layers(
        &self,
        engine: &Engine,
        base: Option<Option<Vec<String>>>,
        report: &mut LayersReport,
    ) -> Result<String> {
        let id = report.image.image_id.clone();
        let archive = engine.save_archive(&id)?;
        let base_layers = base.flatten().map(|base| common_prefix(&base, &archive.diff_ids));
        for (index, files) in archive.layers.iter().enumerate() {
            let origin = match base_layers {
                Some(count) if index < count => "base",
                Some(_) => "dockerfile",
                None => "image",
            };
            let instruction = archive.created_by.get(index).map_or_else(String::new, |made| instruction(made));
            let bytes = files.iter().map(|f| f.size).sum();
            report.layers.push(Layer { index, instruction, bytes, files: files.len(), origin });
        }
        let bytes_of = |origin| report.layers.iter().filter(|l| l.origin == origin).map(|l| l.bytes).sum();
        report.totals = Totals {
            layers: report.layers.len(),
            bytes: report.layers.iter().map(|l| l.bytes).sum(),
            base_bytes: bytes_of("base"),
            dockerfile_bytes: bytes_of("dockerfile"),
        };
        report.waste = waste::of(&archive.layers);
        report.waste.wasted.truncate(WASTED_LISTED);
        if self.run {
            report.writable = Some(self.writable(engine, &id)?);
        }
        Ok(format!(
            "{} layers, {} bytes; {} bytes wasted, efficiency {:.4}.",
            report.totals.layers, report.totals.bytes, report.waste.wasted_bytes, report.waste.efficiency
        ))
    }

    /// The layers of the final stage's base image, when the engine has it.
    fn base_layers(&self, engine: &Engine) -> Result<Option<Vec<String>>> {
        let text = std::fs::read_to_string(&self.spec.dockerfile)
            .with_context(|| format!("cannot read {}", self.spec.dockerfile))?;
        let build_args =
            standins::bases(engine, self.spec.offline, &self.spec.build_args)?.build_args(&self.spec.build_args);
        let Some(base) = Dockerfile::parse_for_build(&text, &build_args).final_base().map(str::to_string) else {
            return Ok(None);
        };
        Ok(engine.inspect_image(&base)?.map(|info| info.layers()))
    }

    /// What a container of the image writes to its own layer while it
    /// serves its health path and `/`.
    fn writable(&self, engine: &Engine, id: &str) -> Result<Writable> {
        let config = engine.inspect_image(id)?.context("the image is gone")?.config;
        let contract = Contract::of(&config, &self.spec.contract);
        let spec = Spec::owned("layers", id, contract.port);
        let (bytes, changed) = service::writes_after_serving(engine, &spec, &contract.health)?;
        Ok(Writable { bytes, changed })
    }
}

/// How many of `image`'s layers, from the bottom, are `base`'s.
fn common_prefix(base: &[String], image: &[String]) -> usize {
    base.iter().zip(image).take_while(|(a, b)| a == b).count()
}

/// The instruction as the Dockerfile says it: without the legacy builder's
/// `/bin/sh -c #(nop) ` and BuildKit's ` # buildkit`.
fn instruction(created_by: &str) -> String {
    let made = created_by.trim();
    let made = made.strip_prefix("/bin/sh -c #(nop) ").map(str::trim).unwrap_or(made);
    let made = made.strip_suffix("# buildkit").map(str::trim).unwrap_or(made);
    match made.strip_prefix("/bin/sh -c ") {
        Some(command) => format!("RUN {command}"),
        None => made.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_read_as_the_dockerfile_says_them() {
        assert_eq!(instruction("/bin/sh -c #(nop) COPY dir:ab12 in . "), "COPY dir:ab12 in .");
        assert_eq!(instruction("/bin/sh -c pip install -r libraries.list"), "RUN pip install -r libraries.list");
        assert_eq!(instruction("COPY app/ . # buildkit"), "COPY app/ .");
        assert_eq!(
            instruction("RUN /bin/sh -c rm -rf /root/.cache/pip # buildkit"),
            "RUN /bin/sh -c rm -rf /root/.cache/pip"
        );
    }

    #[test]
    fn the_base_is_the_common_bottom() {
        let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(common_prefix(&ids(&["a", "b"]), &ids(&["a", "b", "c"])), 2);
        assert_eq!(common_prefix(&ids(&["a", "x"]), &ids(&["a", "b", "c"])), 1);
        assert_eq!(common_prefix(&ids(&[]), &ids(&["a"])), 0);
    }
}
