//! `.dockerignore` matching, as the docker client does it: patterns in
//! order, the last that matches a path or one of its parent folders wins,
//! `!` lets a path back in, `*` and `?` stay within one path segment and
//! `**` spans any number of them.

#[derive(Clone)]
pub struct DockerIgnore {
    patterns: Vec<(bool, Vec<String>)>,
}

impl DockerIgnore {
    pub fn parse(text: &str) -> DockerIgnore {
        let patterns = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (negated, pattern) = match l.strip_prefix('!') {
                    Some(p) => (true, p.trim()),
                    None => (false, l),
                };
                let segments = pattern.trim_matches('/').split('/').filter(|s| !s.is_empty() && *s != ".");
                (negated, segments.map(str::to_string).collect())
            })
            .collect();
        DockerIgnore { patterns }
    }

    /// Whether `path` (relative, `/`-separated) stays out of the context.
    pub fn excludes(&self, path: &str) -> bool {
        let segments: Vec<&str> = path.split('/').collect();
        let mut excluded = false;
        for (negated, pattern) in &self.patterns {
            let hits = (1..=segments.len()).any(|n| matches(pattern, &segments[..n]));
            if hits {
                excluded = !negated;
            }
        }
        excluded
    }
}

impl DockerIgnore {
    /// Whether a path below the folder `dir` (relative) may be in the
    /// context although `dir` is excluded: a `!` pattern could match
    /// beneath it (`*` then `!app/`).
    pub fn may_let_in_below(&self, dir: &str) -> bool {
        let segments: Vec<&str> = dir.split('/').collect();
        // Only a `!` after the last pattern that excludes `dir` counts.
        let excluding = |(negated, pattern): &(bool, Vec<String>)| {
            !negated && (1..=segments.len()).any(|n| matches(pattern, &segments[..n]))
        };
        let after = self.patterns.iter().rposition(excluding).map_or(0, |at| at + 1);
        self.patterns[after..].iter().filter(|(negated, _)| *negated).any(|(_, pattern)| reaches(pattern, &segments))
    }
}

/// Whether `pattern` may match `dir` or a path below it.
fn reaches(pattern: &[String], dir: &[&str]) -> bool {
    match (pattern.first(), dir.first()) {
        (_, None) | (None, Some(_)) => true,
        (Some(p), _) if p == "**" => true,
        (Some(p), Some(s)) => glob(p.as_bytes(), s.as_bytes()) && reaches(&pattern[1..], &dir[1..]),
    }
}

fn matches(pattern: &[String], path: &[&str]) -> bool {
    match (pattern.first(), path.first()) {
        (None, None) => true,
        (Some(p), _) if p == "**" => (0..=path.len()).any(|skip| matches(&pattern[1..], &path[skip..])),
        (Some(p), Some(s)) => glob(p.as_bytes(), s.as_bytes()) && matches(&pattern[1..], &path[1..]),
        _ => false,
    }
}

/// `*` and `?` within one segment.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&pattern[1..], text) || (!text.is_empty() && glob(pattern, &text[1..])),
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &text[1..]),
        (Some(p), Some(t)) => p == t && glob(&pattern[1..], &text[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_allow_list_lets_in_only_the_app_and_the_requirements() {
        let ignore = DockerIgnore::parse(include_str!("../../../.dockerignore"));
        for kept in ["docker/libraries.list", "app/main.py", "app/sub/module.py"] {
            assert!(!ignore.excludes(kept), "{kept}");
        }
        for dropped in [
            ".env",
            "app/.env",
            ".git/HEAD",
            "target/debug/x",
            "app/tests/test_main.py",
            "app/__pycache__/m.pyc",
            "docker/Dockerfile",
            ".venv/bin/python",
        ] {
            assert!(ignore.excludes(dropped), "{dropped}");
        }
    }

    #[test]
    fn patterns_as_docker_reads_them() {
        let ignore = DockerIgnore::parse("target/\n*.md\n!README.md\n**/secret?\n");
        assert!(ignore.excludes("target/a/b"));
        assert!(ignore.excludes("NOTES.md") && !ignore.excludes("README.md"));
        assert!(!ignore.excludes("docs/NOTES.md"), "* does not cross /");
        assert!(ignore.excludes("a/b/secret1") && ignore.excludes("secret2"));
        assert!(!ignore.excludes("src/main.rs"));
    }
}
