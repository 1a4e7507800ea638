//! What a failed service's log says in so many words, in one sentence the
//! user can act on: a setting it lacks, a path beside its code it cannot
//! write, a port or address other than the one we publish. The log lines
//! themselves follow the sentence; this only points at them.

/// The sentence for `log`, of a service that should listen on `port`.
pub fn explain(log: &str, port: u16) -> Option<String> {
    missing_setting(log).or_else(|| refused_file(log)).or_else(|| listening_elsewhere(log, port))
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

/// What the app did to a file the system refused it.
#[derive(Debug, PartialEq, Eq)]
enum Access {
    Write,
    Read,
    /// The log does not say.
    Open,
}

/// `[Errno 30] Read-only file system: '/srv/app/data.db'` (a write), or
/// `[Errno 13] Permission denied: '…'`: a write where the traceback's
/// source line opened it to write, a read where Python imported it or the
/// line opened it to read. A failed read is no write.
fn refused_file(log: &str) -> Option<String> {
    let lines: Vec<&str> = log.lines().collect();
    let (at, access, path) = lines.iter().enumerate().rev().find_map(|(at, line)| {
        let (access, rest) = match line.split_once("[Errno 30] Read-only file system: '") {
            Some((_, rest)) => (Some(Access::Write), rest),
            None => (None, line.split_once("[Errno 13] Permission denied: '")?.1),
        };
        Some((at, access, rest.split_once('\'')?.0))
    })?;
    let access = access.unwrap_or_else(|| opened_for(&lines[..at]));
    const WRITABLE: &str = "Give it a writable place: a tmpfs (`docker run --tmpfs DIR`) or a volume at the folder \
                            it writes to, or a path under /tmp";
    const READABLE: &str = "make it readable by all (`chmod a+r`) before the build, or COPY it with `--chmod=644`";
    Some(match access {
        Access::Write => format!(
            "The app writes {path}, where it cannot: the image's files are not the service's to change (it runs as \
             a user who does not own them, and may run with a read-only root). {WRITABLE}."
        ),
        Access::Read => format!(
            "The app cannot read {path}: the file's permissions keep out the user the service runs as: {READABLE}."
        ),
        Access::Open => format!(
            "The app may not open {path}: it runs as a user who does not own the image's files. If it writes there, \
             {}; if it reads it, {READABLE}.",
            WRITABLE.replacen("Give", "give", 1)
        ),
    })
}

/// How the traceback `frames` (the lines before the error) opened the
/// file, read from the innermost frame out: the import machinery reads; a
/// `write_text` or an `open` with a writing mode writes; an `open` with a
/// reading mode, or with its path alone, reads; an `open` whose mode is a
/// variable (`io.open(self, mode)`) leaves it to the frame that called it.
fn opened_for(frames: &[&str]) -> Access {
    for line in frames.iter().rev().take(16).map(|line| line.trim()) {
        if line.contains("<frozen importlib") {
            return Access::Read;
        }
        if ["write_text(", "write_bytes(", "mkdir(", "touch(", "sqlite3.connect("]
            .iter()
            .any(|call| line.contains(call))
        {
            return Access::Write;
        }
        let Some((_, call)) = line.split_once("open(") else { continue };
        let args: Vec<&str> = call.split(')').next().unwrap_or_default().split(',').map(str::trim).collect();
        let quoted = |arg: &str| {
            let arg = arg.strip_prefix("mode=").unwrap_or(arg);
            arg.strip_prefix(['"', '\'']).and_then(|a| a.strip_suffix(['"', '\''])).map(str::to_string)
        };
        // `mode=…`, else the second positional argument (the first is the path).
        let positional = || args.iter().filter(|arg| !arg.contains('=')).nth(1);
        let mode = args.iter().find(|arg| arg.starts_with("mode=")).or_else(positional).copied();
        match mode.map(|mode| (mode, quoted(mode))) {
            Some((_, Some(mode))) if mode.contains(['w', 'a', 'x', '+']) => return Access::Write,
            Some((_, Some(_))) | None => return Access::Read,
            Some((_, None)) => continue,
        }
    }
    Access::Open
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

/// The hosts the log says the service could not reach (a database, a
/// cache, a broker), as each client words it: libpq's `could not translate
/// host name "db"` and `connection to server at "db"`, redis-py's `Error
/// -2 connecting to redis:6379`, kombu's `Cannot connect to
/// redis://redis:6379/0`, and any URL on a line that says a name was not
/// found or a connection was refused.
pub fn unreachable_hosts(log: &str) -> Vec<String> {
    const FAILED: [&str; 5] = [
        "Name or service not known",
        "Temporary failure in name resolution",
        "Connection refused",
        "nodename nor servname",
        "Cannot connect to",
    ];
    let mut hosts: Vec<String> = Vec::new();
    for line in log.lines() {
        let quoted = ["host name \"", "server at \""].iter().filter_map(|marker| between(line, marker, "\""));
        let connecting = line.split_once(" connecting to ").map(|(_, rest)| host_of(rest));
        let in_url = FAILED.iter().any(|failed| line.contains(failed)).then(|| {
            line.split("://").skip(1).map(|rest| host_of(rest.rsplit_once('@').map_or(rest, |(_, host)| host)))
        });
        let found = quoted.map(str::to_string).chain(connecting).chain(in_url.into_iter().flatten());
        for host in found.filter(|host| !host.is_empty()) {
            if !hosts.contains(&host) {
                hosts.push(host);
            }
        }
    }
    hosts
}

/// The host at the start of `text`: `redis` of `redis:6379. Name…`.
fn host_of(text: &str) -> String {
    text.split([':', '/', ' ', ',', '\'']).next().unwrap_or_default().trim_end_matches('.').to_string()
}

fn between<'a>(line: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let (_, rest) = line.split_once(start)?;
    Some(rest.split_once(end)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_a_service_could_not_reach_are_read_from_each_client_s_words() {
        let libpq = "psycopg.OperationalError: connection is bad: could not translate host name \"db\" to address: \
                     Name or service not known";
        let refused = "connection to server at \"postgres\" (172.18.0.2), port 5432 failed: Connection refused";
        let redis = "redis.exceptions.ConnectionError: Error -2 connecting to cache:6379. Name or service not known.";
        let kombu =
            "consumer: Cannot connect to amqp://guest:**@rabbitmq:5672//: [Errno -2] Name or service not known.";
        let url = "sqlalchemy: could not connect to postgresql://app:pw@database:5432/app: Connection refused";
        let log = [libpq, refused, redis, kombu, url, "INFO: Started server process [1]"].join("\n");
        assert_eq!(unreachable_hosts(&log), ["db", "postgres", "cache", "rabbitmq", "database"]);
        assert!(unreachable_hosts("Uvicorn running on http://0.0.0.0:8000").is_empty());
    }

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
        for log in [
            "Traceback\nOSError: [Errno 30] Read-only file system: '/srv/app/cache.db'",
            "Traceback\n  File \"/srv/app/main.py\", line 3\n    with open(CACHE, \"w\") as f:\n\
             PermissionError: [Errno 13] Permission denied: '/srv/app/cache.db'",
            "  File \"/srv/app/db.py\", line 9\n    open(path, mode='a+')\nPermissionError: [Errno 13] Permission denied: '/srv/app/cache.db'",
            // pathlib's write_text, as Python 3.11 tells it: the mode is a
            // variable in the innermost frame, and `'w'` one frame out.
            "  File \"/srv/app/main.py\", line 9, in <module>\n    CACHE.write_text(\"\")\n\
             File \"/usr/local/lib/python3.11/pathlib.py\", line 1078, in write_text\n    with self.open(mode='w', encoding=encoding) as f:\n         ^^^^^^^^^^\n\
             File \"/usr/local/lib/python3.11/pathlib.py\", line 1044, in open\n    return io.open(self, mode, buffering, encoding, errors, newline)\n           ^^^^^^^^\n\
             PermissionError: [Errno 13] Permission denied: '/srv/app/cache.db'",
        ] {
            let said = explain(log, 8000).unwrap();
            assert!(
                said.starts_with("The app writes /srv/app/cache.db, where it cannot") && said.contains("--tmpfs"),
                "{said}"
            );
        }
    }

    /// A file the service's user may not read is a read that failed, not a write.
    #[test]
    fn a_failed_read_is_no_write() {
        let import = "Traceback (most recent call last):\n  File \"<frozen importlib._bootstrap_external>\", line 1073, in get_data\n\
                      PermissionError: [Errno 13] Permission denied: '/srv/app/secret.py'";
        let opened = "  File \"/srv/app/main.py\", line 4\n    KEY = open(\"/srv/app/key.pem\").read()\n\
                      PermissionError: [Errno 13] Permission denied: '/srv/app/key.pem'";
        for (log, path) in [(import, "/srv/app/secret.py"), (opened, "/srv/app/key.pem")] {
            let said = explain(log, 8000).unwrap();
            assert!(said.starts_with(&format!("The app cannot read {path}")) && said.contains("chmod a+r"), "{said}");
        }
        let unknown = explain("PermissionError: [Errno 13] Permission denied: '/data/x'", 8000).unwrap();
        assert!(unknown.starts_with("The app may not open /data/x") && unknown.contains("if it reads it"), "{unknown}");
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
