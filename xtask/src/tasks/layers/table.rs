//! The readable table of `layers`, for stderr.

use super::LayersReport;

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

pub fn text(report: &LayersReport) -> String {
    let mut out = String::new();
    if report.layers.is_empty() {
        return report.image.message.clone().unwrap_or_default();
    }
    out += &format!("{:>3}  {:>10}  {:>6}  {:<10}  instruction\n", "#", "size", "files", "from");
    for layer in &report.layers {
        let instruction: String = layer.instruction.chars().take(90).collect();
        out += &format!(
            "{:>3}  {:>10}  {:>6}  {:<10}  {instruction}\n",
            layer.index,
            mib(layer.bytes),
            layer.files,
            layer.origin
        );
    }
    let t = &report.totals;
    out += &format!(
        "total: {} layers, {} ({} base, {} ours)\n",
        t.layers,
        mib(t.bytes),
        mib(t.base_bytes),
        mib(t.dockerfile_bytes)
    );
    let w = &report.waste;
    out +=
        &format!("wasted: {} of {} stored; efficiency {:.4}\n", mib(w.wasted_bytes), mib(w.stored_bytes), w.efficiency);
    for wasted in w.wasted.iter().take(5) {
        out += &format!(
            "  {} /{} in layer {}, hidden by layer {}\n",
            mib(wasted.bytes),
            wasted.path,
            wasted.layer,
            wasted.hidden_by
        );
    }
    if let Some(writable) = &report.writable {
        out += &format!("writable layer after serving: {} bytes {}\n", writable.bytes, writable.changed.join(", "));
    }
    out + report.image.message.as_deref().unwrap_or_default()
}
