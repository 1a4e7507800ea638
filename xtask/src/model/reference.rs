//! Image references (`[host[:port]/]path[:tag]`), checked before the build
//! so that a bad `--tag` is named in plain words instead of docker's
//! "invalid reference format".

use crate::sys::text::quoted;

/// `tag` with `:latest` added when it names no tag, as docker reads it;
/// or a sentence saying what is wrong with it.
pub fn normalize(reference: &str) -> Result<String, String> {
    let bad = |why: &str| {
        Err(format!(
            "{} is not a valid image tag: {why} (expected NAME[:TAG], such as fastapi-server:latest)",
            quoted(reference)
        ))
    };
    if reference.is_empty() {
        return bad("it is empty");
    }
    if reference.contains('@') {
        return bad("a digest cannot be a build tag");
    }
    let (name, tag) = split_tag(reference);
    if let Some(tag) = tag {
        if !valid_tag(tag) {
            return bad(
                "the tag after `:` must be 1 to 128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`",
            );
        }
    }
    let mut components: Vec<&str> = name.split('/').collect();
    let has_domain = components.len() > 1 && is_domain(components[0]);
    if has_domain {
        components.remove(0);
    }
    // The engine counts the name as it qualifies it: docker.io/library/NAME.
    let qualified = match (has_domain, components.len()) {
        (true, _) => name.len(),
        (false, 1) => "docker.io/library/".len() + name.len(),
        (false, _) => "docker.io/".len() + name.len(),
    };
    if qualified > 255 {
        return bad("the name is too long: the engine takes at most 255 characters, docker.io/library/ included");
    }
    if !components.iter().all(|c| valid_component(c)) {
        return bad("each part of the name must be lowercase letters and digits, joined by `.`, `_`, `__` or dashes");
    }
    Ok(match tag {
        Some(_) => reference.to_string(),
        None => format!("{reference}:latest"),
    })
}

/// Splits off the tag: a `:` after the last `/` (an earlier one is a port).
fn split_tag(reference: &str) -> (&str, Option<&str>) {
    let last_slash = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[last_slash..].rfind(':') {
        Some(i) => (&reference[..last_slash + i], Some(&reference[last_slash + i + 1..])),
        None => (reference, None),
    }
}

/// A registry as `push --registry` takes it, `HOST[:PORT]`; or a sentence
/// saying what is wrong with it. The host must look like one to docker (a
/// `.`, a port, or `localhost`), or docker would read it as a Docker Hub
/// namespace.
pub fn registry(registry: &str) -> Result<String, String> {
    let bad = |why: &str| {
        Err(format!("{} is not a registry: {why} (expected HOST[:PORT], such as 127.0.0.1:5000)", quoted(registry)))
    };
    if registry.contains("://") {
        return bad("give no scheme: the engine chooses HTTPS, or plain HTTP for a registry on 127.0.0.0/8");
    }
    if registry.contains('/') {
        return bad("give no path");
    }
    if !is_domain(registry) {
        return bad("the host must have a `.`, a port, or be localhost");
    }
    match registry.split_once(':').map(|(_, port)| port.parse::<u16>()) {
        Some(Ok(0) | Err(_)) => bad("the port must be from 1 to 65535"),
        _ => Ok(registry.to_string()),
    }
}

/// An image as `--image` takes it: a tag (`NAME[:TAG]`), a digest
/// reference (`NAME@sha256:…`), or an image id (`sha256:…`, or 12 or more
/// of its hex digits); or a sentence saying what is wrong with it.
pub fn image(reference: &str) -> Result<String, String> {
    let hex = |text: &str| !text.is_empty() && text.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase());
    let digest = |text: &str| text.strip_prefix("sha256:").is_some_and(|h| h.len() == 64 && hex(h));
    if digest(reference) || (reference.len() >= 12 && reference.len() <= 64 && hex(reference)) {
        return Ok(reference.to_string());
    }
    match reference.split_once('@') {
        Some((name, at)) if digest(at) && !name.contains(':') => normalize(name).map(|_| reference.to_string()),
        Some(_) => Err(format!("{} is not an image: its digest must be sha256: and 64 hex digits", quoted(reference))),
        None => normalize(reference).map(|_| reference.to_string()),
    }
}

/// Whether `registry` (`HOST[:PORT]`) speaks plain HTTP to us: a loopback
/// address, where Docker and podman speak it too.
pub fn speaks_plain_http(registry: &str) -> bool {
    let host = registry.rsplit_once(':').map_or(registry, |(host, _)| host);
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `tag` (normalized) in `registry`: its name without any registry of its own.
pub fn in_registry(registry: &str, tag: &str) -> String {
    let (path, tag) = path_and_tag(tag);
    format!("{registry}/{path}:{tag}")
}

/// The repository path and tag of `reference` (`HOST/PATH:TAG`), as the
/// registry's API names them: `/v2/PATH/manifests/TAG`.
pub fn path_and_tag(reference: &str) -> (&str, &str) {
    let (name, tag) = split_tag(reference);
    let path = name.split_once('/').filter(|(first, _)| is_domain(first)).map_or(name, |(_, path)| path);
    (path, tag.unwrap_or("latest"))
}

/// The registry of `reference` (`HOST[:PORT]/PATH:TAG`): its first part.
pub fn registry_of(reference: &str) -> &str {
    reference.split('/').next().unwrap_or(reference)
}

/// `reference` without its tag: `HOST/PATH`, as a digest reference names it.
pub fn repository(reference: &str) -> &str {
    split_tag(reference).0
}

/// The tag of `reference`, if it names one (`HOST[:PORT]/PATH:TAG`).
pub fn tag(reference: &str) -> Option<&str> {
    split_tag(reference).1
}

fn valid_tag(tag: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    (1..=128).contains(&tag.len()) && tag.starts_with(word) && tag.chars().all(|c| word(c) || c == '.' || c == '-')
}

/// The first component is a registry host when it looks like one.
fn is_domain(first: &str) -> bool {
    let (host, port) = match first.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (first, None),
    };
    let looks_like_host = host.contains('.') || port.is_some() || host == "localhost";
    looks_like_host
        && !host.is_empty()
        && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_component(component: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !component.starts_with(alnum) || !component.ends_with(alnum) {
        return false;
    }
    component
        .split(alnum)
        .filter(|separator| !separator.is_empty())
        .all(|separator| matches!(separator, "." | "_" | "__") || separator.chars().all(|c| c == '-'))
        && component.chars().all(|c| alnum(c) || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_for_loopback() {
        assert!(
            speaks_plain_http("127.0.0.1:5000")
                && speaks_plain_http("localhost:5000")
                && speaks_plain_http("127.8.0.1")
        );
        assert!(!speaks_plain_http("registry.example.com") && !speaks_plain_http("10.0.0.1:5000"));
    }

    #[test]
    fn registries_and_references_in_them() {
        assert_eq!(registry("127.0.0.1:5000").unwrap(), "127.0.0.1:5000");
        assert_eq!(registry("registry.example.com").unwrap(), "registry.example.com");
        for (bad, why) in [
            ("http://127.0.0.1:5000", "give no scheme"),
            ("127.0.0.1:5000/team", "give no path"),
            ("myregistry", "the host must have"),
            ("bad host:5000", "the host must have"),
            ("127.0.0.1:port", "the host must have"),
            ("127.0.0.1:99999", "the port must be from 1 to 65535"),
            ("127.0.0.1:0", "the port must be from 1 to 65535"),
        ] {
            let error = registry(bad).unwrap_err();
            assert!(error.starts_with(&format!("`{bad}` is not a registry: {why}")), "{error}");
        }
        assert_eq!(in_registry("127.0.0.1:5000", "fastapi-server:latest"), "127.0.0.1:5000/fastapi-server:latest");
        assert_eq!(in_registry("r.io", "localhost:5000/team/app:1"), "r.io/team/app:1");
        assert_eq!(path_and_tag("127.0.0.1:5000/team/app:1"), ("team/app", "1"));
        assert_eq!(registry_of("127.0.0.1:5000/team/app:1"), "127.0.0.1:5000");
        assert_eq!(repository("127.0.0.1:5000/team/app:1"), "127.0.0.1:5000/team/app");
    }

    #[test]
    fn good_references_get_a_tag() {
        assert_eq!(normalize("fastapi-server").unwrap(), "fastapi-server:latest");
        assert_eq!(normalize("fastapi-server:1.0").unwrap(), "fastapi-server:1.0");
        assert_eq!(normalize("localhost:5000/team/app").unwrap(), "localhost:5000/team/app:latest");
        assert_eq!(
            normalize("registry.example.com/a__b/c-d--e:v_1.2-x").unwrap(),
            "registry.example.com/a__b/c-d--e:v_1.2-x"
        );
    }

    #[test]
    fn images_are_tags_digests_or_ids() {
        let id = "sha256:".to_string() + &"a".repeat(64);
        for good in ["app", "app:1", "8e5699ab12cd", id.as_str(), &format!("r.io/app@{id}")] {
            assert_eq!(image(good).unwrap(), good);
        }
        for bad in ["not!valid", "app@sha256:00", "", "Upper"] {
            assert!(image(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_references_say_why() {
        for bad in ["", "Upper", "with space", "app:", "app:-x", "a..b", "-a", "a/", "app@sha256:00", "a._b"] {
            let err = normalize(bad).unwrap_err();
            assert!(err.contains("is not a valid image tag"), "{bad}: {err}");
        }
        assert!(normalize(&"a".repeat(256)).unwrap_err().contains("255"));
        // As the engine qualifies it, docker.io/library/ makes it too long.
        assert!(normalize(&"a".repeat(255)).unwrap_err().contains("255"));
        assert!(normalize(&"a".repeat(237)).is_ok() && normalize(&"a".repeat(238)).is_err());
        assert!(normalize(&format!("r.io/{}", "a".repeat(250))).is_ok());
        assert!(normalize(&format!("a:{}", "t".repeat(129))).is_err());
    }
}
