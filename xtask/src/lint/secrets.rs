//! Where secrets hide, as several rules ask it: a name that says it holds
//! one, a value that could be one, a URL with a password in it, and the
//! `.env` files that hold them. The Dockerfile's `ENV`/`ARG` rule, the
//! `.dockerignore` rule and the Compose rules share these, so that each
//! judges a secret by the same test, and the names and URLs are judged as
//! the masking of secrets judges them (`sys::mask`).

use crate::sys::mask;

/// `.env` and `.env.production`, but not a template such as `.env.example`.
pub(super) fn is_env_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let templates = ["example", "sample", "template", "dist"];
    (name == ".env" || name.starts_with(".env.")) && !templates.iter().any(|t| name.ends_with(t))
}

/// The key of an `ENV`/`ARG` that sets a secret to a literal value: a name
/// with a secret's word in it (`DB_PASSWORD`, `API_KEY`; not
/// `TIKTOKEN_CACHE_DIR`), whose value could be one (not a path, a flag, a
/// number or a `${reference}`); or any value that is a URL with a password
/// in it (`postgres://user:pass@db/app`).
pub(super) fn secret_key(args: &str) -> Option<String> {
    let pairs: Vec<(&str, &str)> = match args.split_once('=') {
        Some(_) => args.split_whitespace().filter_map(|pair| pair.split_once('=')).collect(),
        // `ENV KEY value`, the old form.
        None => args.split_once(char::is_whitespace).into_iter().collect(),
    };
    pairs
        .into_iter()
        .find(|(key, value)| secret_value(key, value.trim().trim_matches(['"', '\''])))
        .map(|(key, _)| key.to_string())
}

/// Whether `key` set to `value` sets a secret: a secret's name with a value
/// that could be one, or a URL with a password in it.
pub(super) fn secret_value(key: &str, value: &str) -> bool {
    (mask::secret_name(key) && could_be_secret(value)) || mask::url_password(value).is_some_and(|p| !p.contains('$'))
}

/// A value that could be a secret: not empty, a reference, a path, a
/// boolean or a number.
fn could_be_secret(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    !(value.is_empty()
        || value.contains('$')
        || value.starts_with(['/', '.', '~'])
        || ["true", "false", "yes", "no", "on", "off", "none", "null"].contains(&lower.as_str())
        || value.parse::<f64>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_words_and_urls_hold_passwords() {
        for secret in [
            "API_KEY=abc123",
            "DB_PASSWORD=hunter2",
            "SECRET_KEY=x8s7",
            "github-token=ghp_1",
            "Url=redis://:pw@cache:6379",
        ] {
            assert!(secret_key(secret).is_some(), "{secret}");
        }
        for fine in [
            "TIKTOKEN_CACHE_DIR=/tmp",
            "TOKENIZERS_PARALLELISM=false",
            "SECRET_KEY_FILE=/run/secrets/k",
            "AWS_ACCESS_KEY_ID=AKIA",
            "MAX_TOKENS=4096",
            "DATABASE_URL=postgresql://app@db/app",
            "DATABASE_URL=postgresql://app:${DB_PASSWORD}@db/app",
            "KEYBOARD=us",
        ] {
            assert_eq!(secret_key(fine), None, "{fine}");
        }
    }

    #[test]
    fn secrets_in_env_and_arg_values() {
        assert_eq!(secret_key("API_TOKEN=abc LOG=1").as_deref(), Some("API_TOKEN"));
        assert_eq!(secret_key("DB_PASSWORD hunter2").as_deref(), Some("DB_PASSWORD"));
        assert_eq!(secret_key("API_TOKEN"), None, "an ARG without a value");
        assert_eq!(secret_key("API_TOKEN=${API_TOKEN}"), None, "a reference, not a value");
        assert_eq!(secret_key("TOKEN_URL="), None);
        assert!(is_env_file("app/.env.production") && !is_env_file(".env.example") && !is_env_file("env.py"));
    }
}
