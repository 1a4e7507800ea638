//! The values the tool was given that may be secrets (build args, `--env`
//! and env files' values, headers, `--secret` contents, registry logins),
//! kept for the run so that no line we write shows one, whatever its
//! source: our messages, the build's progress passed through (BuildKit
//! prints a `RUN` step with its build args expanded), an image's history,
//! a service's log that echoes its settings.
//!
//! Values shorter than `SHORTEST` are not masked: a `--build-arg DEBUG=1`
//! would otherwise turn every `1` of the output into the mask.

use std::sync::Mutex;

/// How a secret value is shown.
pub const MASK: &str = "***";

/// The shortest value that is masked.
const SHORTEST: usize = 6;

static VALUES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Masks `value` from now on, as it is and as JSON writes it inside a string.
pub fn register(value: &str) {
    let value = value.trim();
    if value.chars().count() < SHORTEST {
        return;
    }
    let json = serde_json::to_string(value).unwrap_or_default();
    let escaped = json.trim_matches('"');
    let mut values = VALUES.lock().unwrap_or_else(|e| e.into_inner());
    for form in [value, escaped] {
        if !values.iter().any(|known| known == form) {
            values.push(form.to_string());
        }
    }
    // Longest first, so that a value holding another is masked whole.
    values.sort_by_key(|known| std::cmp::Reverse(known.len()));
}

/// `text` with every registered value masked.
pub fn mask(text: &str) -> String {
    let values = VALUES.lock().unwrap_or_else(|e| e.into_inner());
    let mut text = text.to_string();
    for value in values.iter() {
        if text.contains(value.as_str()) {
            text = text.replace(value.as_str(), MASK);
        }
    }
    text
}

/// Passes bytes on a line at a time, masked: a value split across two
/// reads of a pipe is still masked whole.
#[derive(Default)]
pub struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    /// The complete lines among what came so far (progress lines end in
    /// `\r`), masked; the rest waits for more.
    pub fn feed(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        match self.pending.iter().rposition(|&b| b == b'\n' || b == b'\r') {
            Some(end) => {
                let lines: Vec<u8> = self.pending.drain(..=end).collect();
                mask(&String::from_utf8_lossy(&lines))
            }
            None => String::new(),
        }
    }

    /// What is left at the end, masked.
    pub fn finish(&mut self) -> String {
        mask(&String::from_utf8_lossy(&std::mem::take(&mut self.pending)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_values_are_masked_in_any_line_and_in_json() {
        register("s3cret-token");
        register("pa\"ss\\word");
        register("short");
        assert_eq!(mask("RUN test -n \"s3cret-token\""), "RUN test -n \"***\"");
        assert_eq!(mask(&serde_json::to_string("x pa\"ss\\word y").unwrap()), "\"x *** y\"");
        assert_eq!(mask("short stays"), "short stays");
        let mut lines = Lines::default();
        assert_eq!(lines.feed(b"#5 RUN echo s3cret-"), "");
        assert_eq!(lines.feed(b"token\n#6 s3c"), "#5 RUN echo ***\n");
        assert_eq!(lines.finish(), "#6 s3c");
    }
}
