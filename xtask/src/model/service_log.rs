//! What a failed service's log says in so many words, in one sentence the
//! user can act on: a setting it lacks, a path beside its code it cannot
//! write, a port or address other than the one we publish. The log lines
//! themselves follow the sentence; this only points at them.

/// The sentence for `log`, of a service that should listen on `port`.
pub fn explain(log: &str, port: u16) -> Option<String> {
    missing_setting(log).or_else(|| unwritable(log)).or_else(|| listening_elsewhere(log, port))
}

fn missing_setting(log: &str) -> Option<String> {
    let lines: Vec<&str> = log.lines().map(str::trim).collect();
    // `os.environ["NAME"]`: the traceback's last line.
    let key_error = lines.iter().rev().find_map(|line| line.strip_prefix("KeyError: '")?.strip_suffix('\''));
    if let Some(name) = key_error.filter(|name| is_setting_name(name)) {
        return needs(&[name.to_string()]);
    }
    // pydantic-settings: each field's name, then `Field required` (pydantic
    // 2) or `field required` (pydantic 1), one pair a missing setting.
    if !log.contains("validation error") {
        return None;
    }
    let mut names: Vec<String> = lines
        .windows(2)
        .filter(|pair| pair[1].to_ascii_lowercase().starts_with("field required"))
        .map(|pair| pair[0].to_ascii_uppercase())
        .collect();
    names.dedup();
    needs(&names)
}

/// "The app needs the setting(s) A and B, which …", and where to give
/// them; None for no name.
fn needs(names: &[String]) -> Option<String> {
    let (list, which, them) = match names.split_last()? {
        (one, []) => (one.clone(), "is", "it"),
        (last, rest) => (format!("{} and {last}", rest.join(", ")), "are", "them"),
    };
    let settings = if names.len() == 1 { "setting" } else { "settings" };
    Some(format!(
        "The app needs the {settings} {list}, which {which} not set: give {them} with --env {}=…, --env-file FILE, \
         or a line in the run.env beside the Dockerfile (run.local.env, which is not committed, for secrets).",
        names[0]
    ))
}

fn is_setting_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// `[Errno 30] Read-only file system: '/srv/app/data.db'`, or `[Errno 13]`.
fn unwritable(log: &str) -> Option<String> {
    let path = log.lines().rev().find_map(|line| {
        let (_, rest) = line
            .split_once("[Errno 30] Read-only file system: '")
            .or_else(|| line.split_once("[Errno 13] Permission denied: '"))?;
        rest.split_once('\'').map(|(path, _)| path)
    })?;
    Some(format!(
        "The app writes {path}, where it cannot: the image's files are not the service's to change (it runs as a \
         user who does not own them, and may run with a read-only root). Give it a writable place: a tmpfs \
         (`docker run --tmpfs DIR`) or a volume at the folder it writes to, or a path under /tmp."
    ))
}

/// uvicorn's `Uvicorn running on http://H:P`, gunicorn's `Listening at: http://H:P`.
fn listening_elsewhere(log: &str, port: u16) -> Option<String> {
    let address = log.lines().find_map(|line| {
        let lower = line.to_ascii_lowercase();
        if !(lower.contains("running on") || lower.contains("listening")) {
            return None;
        }
        let (_, rest) = line.split_once("http://")?;
        let address = rest.split(|c: char| c.is_whitespace() || c == '/').next()?;
        let (host, listened) = address.rsplit_once(':')?;
        Some((host.to_string(), listened.parse::<u16>().ok()?))
    })?;
    match address {
        (_, listened) if listened != port => Some(format!(
            "The log says the service listens on port {listened}, and the image's service port is {port}: give \
             --app-port {listened}, or make the app listen on {port}."
        )),
        (host, _) if host == "127.0.0.1" || host == "localhost" => Some(format!(
            "The log says the service listens on {host} inside its container, which no published port reaches: \
             make it listen on 0.0.0.0."
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_setting_is_named() {
        let log =
            "Traceback (most recent call last):\n  File \"/srv/app/main.py\", line 8\nKeyError: 'REQUIRED_SETTING'";
        assert!(explain(log, 8000)
            .unwrap()
            .starts_with("The app needs the setting REQUIRED_SETTING, which is not set"));
        assert_eq!(explain("KeyError: 'user_id'", 8000), None, "a dict key, not a setting");
        let pydantic = "pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings\n\
                        database_url\n  Field required [type=missing, input_value={}, input_type=dict]";
        assert!(explain(pydantic, 8000)
            .unwrap()
            .starts_with("The app needs the setting DATABASE_URL, which is not set: give it with --env DATABASE_URL="));
        let plural = "pydantic_core._pydantic_core.ValidationError: 3 validation errors for Settings\n\
                      SECRET_KEY\n  Field required [type=missing, input_value={}, input_type=dict]\n\
                      POSTGRES_SERVER\n  Field required [type=missing, input_value={}, input_type=dict]\n\
                      POSTGRES_USER\n  Field required [type=missing, input_value={}, input_type=dict]";
        assert!(explain(plural, 8000).unwrap().starts_with(
            "The app needs the settings SECRET_KEY, POSTGRES_SERVER and POSTGRES_USER, which are not set: give them"
        ));
        let pydantic_1 = "pydantic.error_wrappers.ValidationError: 2 validation errors for Settings\n\
                          database_url\n  field required (type=value_error.missing)\n\
                          secret_key\n  field required (type=value_error.missing)";
        assert!(explain(pydantic_1, 8000)
            .unwrap()
            .starts_with("The app needs the settings DATABASE_URL and SECRET_KEY, which are not set"));
    }

    #[test]
    fn a_write_beside_the_code_is_named() {
        for error in [
            "OSError: [Errno 30] Read-only file system: '/srv/app/cache.db'",
            "PermissionError: [Errno 13] Permission denied: '/srv/app/cache.db'",
        ] {
            let said = explain(&format!("Traceback\n{error}"), 8000).unwrap();
            assert!(
                said.starts_with("The app writes /srv/app/cache.db, where it cannot") && said.contains("--tmpfs"),
                "{said}"
            );
        }
    }

    #[test]
    fn another_port_or_loopback_is_named() {
        let other = "INFO:     Uvicorn running on http://0.0.0.0:8080 (Press CTRL+C to quit)";
        assert!(explain(other, 8000).unwrap().contains("listens on port 8080, and the image's service port is 8000"));
        let loopback = "INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)";
        assert!(explain(loopback, 8000).unwrap().contains("listens on 127.0.0.1 inside its container"));
        let gunicorn = "[INFO] Listening at: http://0.0.0.0:8000 (1)";
        assert_eq!(explain(gunicorn, 8000), None);
        assert_eq!(explain("", 8000), None);
    }
}
