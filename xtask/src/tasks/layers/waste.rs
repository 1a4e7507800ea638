//! Wasted bytes, in the manner of dive: a file that a later layer
//! overwrites, or deletes with a whiteout, still takes its bytes in the
//! layer that holds it. The efficiency is the share of the stored bytes
//! that the image's final file system still shows.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::sys::tar::{Entry, Kind};

/// A copy of a file that no one sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Wasted {
    pub path: String,
    pub bytes: u64,
    /// The layer that holds the copy, and the one that overwrote or deleted it (from 0, bottom first).
    pub layer: usize,
    pub hidden_by: usize,
}

#[derive(Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Waste {
    /// Bytes of every file in every layer.
    pub stored_bytes: u64,
    pub wasted_bytes: u64,
    /// 1 − wasted ÷ stored.
    pub efficiency: f64,
    /// Every wasted copy, the biggest first.
    pub wasted: Vec<Wasted>,
}

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

/// The waste of `layers`, bottom first.
pub fn of(layers: &[Vec<Entry>]) -> Waste {
    // What each path shows now: its size and the layer it comes from.
    let mut visible: BTreeMap<String, (u64, usize)> = BTreeMap::new();
    let mut waste = Waste::default();
    for (index, layer) in layers.iter().enumerate() {
        let mut hide = |path: &str, whole_folder: bool, visible: &mut BTreeMap<String, (u64, usize)>| {
            let folder = format!("{path}/");
            let mut gone: Vec<String> = visible
                .range(folder.clone()..)
                .map(|(p, _)| p)
                .take_while(|p| p.starts_with(&folder))
                .cloned()
                .collect();
            if !whole_folder {
                gone.extend(visible.contains_key(path).then(|| path.to_string()));
            }
            for path in gone {
                let (bytes, layer) = visible.remove(&path).expect("listed above");
                waste.wasted.push(Wasted { path, bytes, layer, hidden_by: index });
            }
        };
        // A layer's whiteouts hide what the layers below it hold, whatever
        // their order in its archive.
        for entry in layer {
            let path = entry.path.trim_end_matches('/');
            let (folder, name) = path.rsplit_once('/').map_or(("", path), |(f, n)| (f, n));
            if name == OPAQUE {
                hide(folder, true, &mut visible);
            } else if let Some(hidden) = name.strip_prefix(WHITEOUT) {
                let target = if folder.is_empty() { hidden.to_string() } else { format!("{folder}/{hidden}") };
                hide(&target, false, &mut visible);
            }
        }
        for entry in layer.iter().filter(|e| matches!(e.kind, Kind::File | Kind::Symlink | Kind::Hardlink)) {
            let name = entry.path.rsplit('/').next().unwrap_or(&entry.path);
            if name.starts_with(WHITEOUT) {
                continue;
            }
            waste.stored_bytes += entry.size;
            if let Some((bytes, layer)) = visible.insert(entry.path.clone(), (entry.size, index)) {
                waste.wasted.push(Wasted { path: entry.path.clone(), bytes, layer, hidden_by: index });
            }
        }
    }
    waste.wasted.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    waste.wasted_bytes = waste.wasted.iter().map(|w| w.bytes).sum();
    waste.efficiency = match waste.stored_bytes {
        0 => 1.0,
        stored => 1.0 - waste.wasted_bytes as f64 / stored as f64,
    };
    waste
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, size: u64) -> Entry {
        Entry { path: path.into(), size, kind: Kind::File }
    }

    #[test]
    fn an_image_without_overwrites_wastes_nothing() {
        let waste = of(&[vec![file("usr/bin/python3", 100)], vec![file("srv/app/main.py", 10)]]);
        assert_eq!((waste.stored_bytes, waste.wasted_bytes, waste.efficiency), (110, 0, 1.0));
    }

    #[test]
    fn overwritten_and_deleted_files_are_waste() {
        let layers = [
            vec![file("root/.cache/pip/a.whl", 60), file("root/.cache/pip/b.whl", 20), file("etc/motd", 5)],
            vec![file("etc/motd", 7)],
            vec![file("root/.cache/.wh.pip", 0), file("tmp/.wh..wh..opq", 0)],
        ];
        let waste = of(&layers);
        assert_eq!(waste.stored_bytes, 92);
        assert_eq!(waste.wasted_bytes, 85);
        assert_eq!(waste.wasted[0], Wasted { path: "root/.cache/pip/a.whl".into(), bytes: 60, layer: 0, hidden_by: 2 });
        assert_eq!(waste.wasted[2], Wasted { path: "etc/motd".into(), bytes: 5, layer: 0, hidden_by: 1 });
        assert!((waste.efficiency - (1.0 - 85.0 / 92.0)).abs() < 1e-9);
    }

    #[test]
    fn an_opaque_folder_hides_what_is_below_it_only() {
        let layers = [vec![file("var/lib/x", 4)], vec![file("var/lib/.wh..wh..opq", 0), file("var/lib/y", 3)]];
        let waste = of(&layers);
        assert_eq!(waste.wasted.iter().map(|w| w.path.as_str()).collect::<Vec<_>>(), ["var/lib/x"]);
    }
}
