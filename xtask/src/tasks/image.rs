//! `cargo xtask image`: builds the service's image and reports it as the
//! contract's JSON.

use anyhow::Result;

use super::{Done, Task};
use crate::{
    cli::{EngineFlag, ImageFlags},
    engine::{build::BuildSpec, choice::Choice},
    report::ImageReport,
    service,
};

/// Build the service's image; report imageId, tag and size as JSON
#[derive(Debug, clap::Parser)]
#[command(name = "image")]
pub struct Flags {
    #[command(flatten)]
    image: ImageFlags,
    #[command(flatten)]
    engine: EngineFlag,
}

#[derive(Debug)]
pub struct Image {
    spec: BuildSpec,
    engine: Choice,
}

impl Task for Image {
    type Flags = Flags;
    type Report = ImageReport;

    fn new(flags: Flags) -> Result<Image> {
        Ok(Image { engine: flags.engine.choice()?, spec: flags.image.into_spec()? })
    }

    fn run(self) -> Done<ImageReport> {
        service::build_image(&self.engine.engine(), &self.spec)
            .unwrap_or_else(|error| ImageReport::failed(Some(self.spec.tag.clone()), &error))
            .into()
    }
}
