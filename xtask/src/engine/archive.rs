//! An image as `save` writes it: its layers' file lists, in order, and the
//! history that says which instruction made each layer. Both Docker's
//! archive (`<id>/layer.tar`) and podman's (`<digest>.tar`) hold a
//! `manifest.json` that names the config and the layers; the layers are
//! read as streams, straight out of the archive.

use std::{collections::BTreeMap, fs::File, io::BufReader};

use anyhow::{bail, Context, Result};
use camino::Utf8Path;
use serde::Deserialize;

use super::Engine;
use crate::sys::{
    process::CommandLine,
    project,
    tar::{self, Entry},
};

pub struct ImageArchive {
    /// Each layer's entries, bottom first.
    pub layers: Vec<Vec<Entry>>,
    /// The instruction that made each layer, bottom first.
    pub created_by: Vec<String>,
    /// The layers' ids (`sha256:` of each uncompressed layer), bottom first.
    pub diff_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    config: String,
    layers: Vec<String>,
}

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    history: Vec<History>,
    rootfs: RootFs,
}

#[derive(Deserialize)]
struct History {
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    empty_layer: bool,
}

#[derive(Deserialize)]
struct RootFs {
    diff_ids: Vec<String>,
}

impl Engine {
    pub(super) fn save_command(&self, image: &str, file: &Utf8Path) -> CommandLine {
        self.cli().args(["save", "--output", file.as_str(), image])
    }

    /// Saves `image` to a scratch file, reads it, and removes the file.
    pub fn save_archive(&self, image: &str) -> Result<ImageArchive> {
        let file = project::scratch_dir()?.join(project::unique_name("image.tar"));
        let saved = self.read(&self.save_command(image, &file)).with_context(|| format!("cannot save {image}"));
        let archive = saved.and_then(|_| read_archive(&file));
        let _ = std::fs::remove_file(&file);
        archive
    }
}

/// Reads a saved image's archive.
pub fn read_archive(path: &Utf8Path) -> Result<ImageArchive> {
    let file = File::open(path).with_context(|| format!("cannot open {path}"))?;
    let mut outer = tar::Reader::new(BufReader::new(file));
    let (mut small, mut layers) = (BTreeMap::new(), BTreeMap::new());
    while let Some(entry) = outer.next_entry().with_context(|| format!("cannot read {path} as a tar"))? {
        if entry.path.ends_with(".json") || entry.path == "manifest.json" {
            small.insert(entry.path, outer.read_data()?);
        } else if entry.path.ends_with(".tar") || entry.path.starts_with("blobs/") {
            let mut inner = tar::Reader::new(outer.data());
            let mut files = Vec::new();
            // A blob that is not a tar (a config, in the OCI layout) reads as no entries.
            while let Ok(Some(file)) = inner.next_entry() {
                files.push(file);
            }
            layers.insert(entry.path, files);
        }
    }
    let manifest = small.get("manifest.json").context("the image archive has no manifest.json")?;
    let manifest: Vec<ManifestEntry> = serde_json::from_slice(manifest).context("cannot read manifest.json")?;
    let Some(image) = manifest.into_iter().next() else { bail!("the image archive's manifest names no image") };
    let config = small.get(&image.config).with_context(|| format!("the image archive has no {}", image.config))?;
    let config: Config = serde_json::from_slice(config).context("cannot read the image's config")?;
    let layers = image
        .layers
        .iter()
        .map(|name| layers.remove(name).with_context(|| format!("the image archive has no layer {name}")))
        .collect::<Result<Vec<_>>>()?;
    let created_by: Vec<String> = config.history.into_iter().filter(|h| !h.empty_layer).map(|h| h.created_by).collect();
    Ok(ImageArchive { layers, created_by, diff_ids: config.rootfs.diff_ids })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::tar::tests::archive;

    #[test]
    fn a_saved_image_is_read_with_its_history() {
        let layer_one = archive(&[("etc/os-release", b'0', b"debian")]);
        let layer_two = archive(&[("srv/app/main.py", b'0', b"app = 1"), ("etc/.wh.os-release", b'0', b"")]);
        let config = br#"{"history":[{"created_by":"ADD rootfs /"},{"created_by":"WORKDIR /srv","empty_layer":true},{"created_by":"COPY app/ ."}],"rootfs":{"type":"layers","diff_ids":["sha256:a","sha256:b"]}}"#;
        let manifest = br#"[{"Config":"c.json","RepoTags":["t:1"],"Layers":["1/layer.tar","2/layer.tar"]}]"#;
        let saved = archive(&[
            ("2/layer.tar", b'0', &layer_two),
            ("1/layer.tar", b'0', &layer_one),
            ("c.json", b'0', config),
            ("manifest.json", b'0', manifest),
        ]);
        let path = project::scratch_dir().unwrap().join(project::unique_name("saved.tar"));
        std::fs::write(&path, saved).unwrap();
        let read = read_archive(&path);
        std::fs::remove_file(&path).unwrap();
        let read = read.unwrap();
        assert_eq!(read.created_by, ["ADD rootfs /", "COPY app/ ."]);
        assert_eq!(read.diff_ids, ["sha256:a", "sha256:b"]);
        assert_eq!(read.layers[0][0].path, "etc/os-release");
        assert_eq!(
            read.layers[1].iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
            ["srv/app/main.py", "etc/.wh.os-release"]
        );
    }
}
