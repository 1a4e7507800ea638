//! What no line we write may show, whatever its source: our messages, the
//! build's progress passed through (BuildKit prints a `RUN` step with its
//! build args expanded), an image's history, a service's log that echoes
//! its settings.
//!
//! A value is secret when the user marked it so (`run.local.env`,
//! `--env-file`, `--secret`, a check's header, a registry login, the
//! stack's password: `secret`) or when its key or its value says it is one
//! (`setting`: a build arg, `--env`, `run.env`, Compose's `.env`): a key
//! naming a password, token, key or credential, a URL's password part, a
//! token of a well-known form. Plain words are never masked: a committed
//! `run.env`'s `POSTGRES_USER=postgres` is no secret, and masking it would
//! turn every service, container and image named `postgres` into `***`.
//! Nor are the names the tool makes (`name`), nor values shorter than
//! `SHORTEST` (a `DEBUG=1` would mask every `1`).

use std::{ops::Range, sync::Mutex};

/// How a secret value is shown.
pub const MASK: &str = "***";

/// The shortest value that is masked.
const SHORTEST: usize = 6;

/// Beginnings of values that are tokens whatever their key.
const TOKEN_PREFIXES: [&str; 10] =
    ["ghp_", "gho_", "ghs_", "github_pat_", "glpat-", "sk_live_", "xoxb-", "xoxp-", "-----BEGIN", "AKIA"];

struct Known {
    /// Longest first, so that a value holding another is masked whole.
    values: Vec<String>,
    names: Vec<String>,
}

static KNOWN: Mutex<Known> = Mutex::new(Known { values: Vec::new(), names: Vec::new() });

/// Masks `value` from now on, as it is and as JSON writes it inside a
/// string: the user marked it as a secret.
pub fn secret(value: &str) {
    let value = value.trim();
    if value.chars().count() < SHORTEST {
        return;
    }
    let json = serde_json::to_string(value).unwrap_or_default();
    let escaped = json.trim_matches('"');
    let mut known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    for form in [value, escaped] {
        if !known.values.iter().any(|v| v == form) {
            known.values.push(form.to_string());
        }
    }
    known.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
}

/// A setting nobody marked: masked when it says it is a secret, and a
/// URL's password in any case.
pub fn setting(key: &str, value: &str) {
    if says_secret(key, value) {
        secret(value);
    } else if let Some(password) = url_password(value) {
        secret(password);
    }
}

/// A name the tool made (a service, container, image or project): shown
/// as it is even where it holds a secret's text.
pub fn name(name: &str) {
    let mut known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    if !name.is_empty() && !known.names.iter().any(|n| n == name) {
        known.names.push(name.to_string());
    }
}

/// True when the key or the value of a setting says it is a secret.
pub fn says_secret(key: &str, value: &str) -> bool {
    let value = value.trim();
    secret_name(key) || TOKEN_PREFIXES.iter().any(|prefix| value.starts_with(prefix)) || is_jwt(value)
}

/// A name with a secret's word in it, the words split at `_`, `-` or `.`
/// (`DB_PASSWORD`, `API_KEY`; not `TIKTOKEN_CACHE_DIR`, `SORT_KEY`), and
/// not the path or address of one (`SECRET_KEY_FILE`, `TOKEN_URL`).
pub fn secret_name(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    let words: Vec<&str> = upper.split(['_', '-', '.']).filter(|w| !w.is_empty()).collect();
    let alone = ["PASSWORD", "PASSWD", "PASSPHRASE", "PASS", "PWD", "SECRET", "TOKEN", "APIKEY", "CREDENTIALS", "DSN"];
    // A key is a secret where a word says whose: API_KEY, PRIVATE_KEY, SECRET_KEY.
    let keyed = ["API", "PRIVATE", "ACCESS", "SECRET", "SIGNING", "ENCRYPTION"];
    let last = words.last().copied().unwrap_or_default();
    if ["FILE", "PATH", "DIR", "URL", "URI", "HOST", "PORT", "NAME", "USER", "ID"].contains(&last) {
        return false;
    }
    words.iter().any(|w| alone.contains(w)) || words.windows(2).any(|pair| keyed.contains(&pair[0]) && pair[1] == "KEY")
}

/// `scheme://user:PASSWORD@host…`'s password.
pub fn url_password(value: &str) -> Option<&str> {
    let (_, rest) = value.split_once("://")?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let (_, password) = authority[..authority.rfind('@')?].split_once(':')?;
    (!password.is_empty()).then_some(password)
}

/// A JSON web token: three base64url parts, the first a JSON object's.
fn is_jwt(value: &str) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    let base64url =
        |part: &&str| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || "-_=".contains(c));
    parts.len() == 3 && value.starts_with("eyJ") && parts.iter().all(base64url)
}

/// `text` with every secret masked, except where it lies within a name the
/// tool made.
pub fn mask(text: &str) -> String {
    let known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    let within = |name: &String| -> Vec<Range<usize>> {
        text.match_indices(name.as_str()).map(|(at, _)| at..at + name.len()).collect()
    };
    let names: Vec<Range<usize>> = known.names.iter().flat_map(within).collect();
    let mut hidden: Vec<Range<usize>> = Vec::new();
    for value in &known.values {
        for (at, _) in text.match_indices(value.as_str()) {
            let found = at..at + value.len();
            let overlaps = hidden.iter().any(|h| h.start < found.end && found.start < h.end);
            let named = names.iter().any(|n| n.start <= found.start && found.end <= n.end);
            if !overlaps && !named {
                hidden.push(found);
            }
        }
    }
    hidden.sort_by_key(|h| h.start);
    let (mut masked, mut from) = (String::with_capacity(text.len()), 0);
    for h in hidden {
        masked.push_str(&text[from..h.start]);
        masked.push_str(MASK);
        from = h.end;
    }
    masked.push_str(&text[from..]);
    masked
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
    fn secrets_are_masked_in_any_line_and_in_json() {
        secret("s3cret-token");
        secret("pa\"ss\\word");
        secret("short");
        assert_eq!(mask("RUN test -n \"s3cret-token\""), "RUN test -n \"***\"");
        assert_eq!(mask(&serde_json::to_string("x pa\"ss\\word y").unwrap()), "\"x *** y\"");
        assert_eq!(mask("short stays"), "short stays");
        let mut lines = Lines::default();
        assert_eq!(lines.feed(b"#5 RUN echo s3cret-"), "");
        assert_eq!(lines.feed(b"token\n#6 s3c"), "#5 RUN echo ***\n");
        assert_eq!(lines.finish(), "#6 s3c");
    }

    #[test]
    fn a_setting_is_secret_when_its_key_or_value_says_so() {
        for (key, value) in [
            ("POSTGRES_PASSWORD", "changethis"),
            ("db_pass", "hunter22"),
            ("API_KEY", "abcdef12"),
            ("SECRET_KEY_BASE", "abcdef12"),
            ("GITHUB_TOKEN", "abcdef12"),
            ("AWS_SECRET_ACCESS_KEY", "abcdef12"),
            ("GOOGLE_APPLICATION_CREDENTIALS_JSON", "{}"),
            ("DB_PWD", "abcdef12"),
            ("SENTRY_DSN", "https://k@o1.ingest.example/1"),
            ("ANY", "ghp_0123456789abcdef"),
            ("ANY", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nature_x"),
        ] {
            assert!(says_secret(key, value), "{key}={value}");
        }
        for (key, value) in [
            ("POSTGRES_USER", "postgres"),
            ("POSTGRES_DB", "app"),
            ("PROJECT_NAME", "Full Stack FastAPI"),
            ("MONKEY_BUSINESS", "bananas"),
            ("SORT_KEY", "created"),
            ("SECRET_KEY_FILE", "/run/secrets/key"),
            ("AUTHOR", "someone"),
            ("ENVIRONMENT", "local"),
            ("REDIS_URL", "redis://redis:6379/0"),
        ] {
            assert!(!says_secret(key, value), "{key}={value}");
        }
        assert_eq!(url_password("postgresql://app:pa55word@db:5432/app"), Some("pa55word"));
        assert_eq!(url_password("redis://redis:6379/0"), None);
        assert_eq!(url_password("https://example.com/a:b@c"), None);
    }

    #[test]
    fn plain_words_and_the_tools_names_are_never_masked() {
        setting("POSTGRES_USER", "postgres-plain-word");
        setting("DATABASE_URL", "postgresql://postgres-plain-word:urlpass-4471@db/app");
        assert_eq!(
            mask("service postgres-plain-word: DATABASE_URL=postgresql://postgres-plain-word:urlpass-4471@db/app"),
            "service postgres-plain-word: DATABASE_URL=postgresql://postgres-plain-word:***@db/app"
        );
        // A password that is also a name the tool made: the name is shown,
        // the password anywhere else is not.
        secret("worker-secret");
        name("xtask-run-worker-secret-1");
        assert_eq!(
            mask("container xtask-run-worker-secret-1, password worker-secret"),
            "container xtask-run-worker-secret-1, password ***"
        );
    }
}
