//! Where secrets hide, as several rules ask it: a name that says it holds
//! one, a value that could be one, a URL with a password in it, and the
//! `.env` files that hold them. The Dockerfile's `ENV`/`ARG` rule, the
//! `.dockerignore` rule and the Compose rules share these, so that each
//! judges a secret by the same test.

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
    (secret_name(key) && could_be_secret(value)) || has_url_password(value)
}

/// A name with a secret's word in it, the words split at `_`, `-` or `.`.
fn secret_name(key: &str) -> bool {
    let upper = key.to_ascii_uppercase();
    let words: Vec<&str> = upper.split(['_', '-', '.']).filter(|w| !w.is_empty()).collect();
    let alone = ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "APIKEY", "CREDENTIALS"];
    // A key is a secret where a word says whose: API_KEY, PRIVATE_KEY, SECRET_KEY.
    let keyed = ["API", "PRIVATE", "ACCESS", "SECRET", "SIGNING", "ENCRYPTION"];
    let last = words.last().copied().unwrap_or_default();
    // A path to a secret, or where one is read from, is the right way.
    if ["FILE", "PATH", "DIR", "URL", "URI", "HOST", "PORT", "NAME", "USER", "ID"].contains(&last) {
        return false;
    }
    words.iter().any(|w| alone.contains(w)) || words.windows(2).any(|pair| keyed.contains(&pair[0]) && pair[1] == "KEY")
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

/// `scheme://user:password@host`, the password a literal.
fn has_url_password(value: &str) -> bool {
    let Some((_, rest)) = value.split_once("://") else { return false };
    let authority = rest.split('/').next().unwrap_or(rest);
    let Some((userinfo, _)) = authority.rsplit_once('@') else { return false };
    userinfo.split_once(':').is_some_and(|(_, password)| !password.is_empty() && !password.contains('$'))
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
