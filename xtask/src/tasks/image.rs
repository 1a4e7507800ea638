//! `cargo xtask image`: builds the service's image and reports it as the
//! contract's JSON.

use anyhow::Result;
use xshell::Shell;

use super::{Done, Task};
use crate::{
    cli::{Args, ImageFlags},
    engine::{build::BuildSpec, Engine},
    report::ImageReport,
    service,
};

#[derive(Debug)]
pub struct Image {
    spec: BuildSpec,
}

impl Task for Image {
    type Report = ImageReport;

    fn parse(args: &mut Args) -> Result<Image> {
        let mut flags = ImageFlags::default();
        while let Some(given) = args.next()? {
            flags.accept(&given)?;
        }
        Ok(Image { spec: flags.into_spec()? })
    }

    fn run(self, _sh: &Shell, engine: &Engine) -> Done<ImageReport> {
        service::build_image(engine, &self.spec)
            .unwrap_or_else(|error| ImageReport::failed(Some(self.spec.tag.clone()), &error))
            .into()
    }
}
