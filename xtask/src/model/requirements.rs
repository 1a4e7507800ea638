//! libraries.list as text: where the tool made it from, and the lines
//! that pin nothing. The lock files themselves are read by their own
//! tools (uv, poetry), never here.

/// The first line of a list the tool made, before its source's name.
const MADE: &str = "# Made by `cargo xtask` from ";

/// What a project keeps its requirements in, beside its pyproject.toml,
/// in the order the tool looks for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    UvLock,
    PoetryLock,
    /// A pinned requirements file (pip-tools' output, `pip freeze`).
    Requirements,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::UvLock, Source::PoetryLock, Source::Requirements];

    /// Its file, in the build context's root.
    pub fn file(self) -> &'static str {
        match self {
            Source::UvLock => "uv.lock",
            Source::PoetryLock => "poetry.lock",
            Source::Requirements => "requirements.txt",
        }
    }

    /// The files whose content the list follows: a lock and the
    /// pyproject.toml it locks (which says which groups are the app's).
    pub fn inputs(self) -> &'static [&'static str] {
        match self {
            Source::UvLock => &["pyproject.toml", "uv.lock"],
            Source::PoetryLock => &["pyproject.toml", "poetry.lock"],
            Source::Requirements => &["requirements.txt"],
        }
    }

    /// The command that prints the app's requirements of the project in
    /// `dir`: its own dependencies, no dependency group (uv's default
    /// groups hold dev and lint tools), no workspace member as `-e ./…`
    /// (no such folder reaches the builder), the index the lock came from
    /// (a mirror, PyTorch's), and no hashes (the list is installed with
    /// `pip install -r`, and a hash on one line asks for one on every line).
    pub fn export(self, dir: &str) -> Option<Vec<String>> {
        let words: &[&str] = match self {
            Source::UvLock => &[
                "uv",
                "export",
                "--frozen",
                "--no-default-groups",
                "--no-hashes",
                "--no-emit-project",
                "--no-emit-workspace",
                "--emit-index-url",
                "--no-header",
                "--no-annotate",
                "--format",
                "requirements-txt",
                "--project",
            ],
            Source::PoetryLock => {
                &["poetry", "export", "--without-hashes", "--format", "requirements.txt", "--directory"]
            }
            Source::Requirements => return None,
        };
        Some(words.iter().map(|word| word.to_string()).chain([dir.to_string()]).collect())
    }
}

/// The first line of a list made from `source`, whose inputs hash to
/// `digest`: how a later run knows the list is its own, and current.
pub fn made_line(source: Source, digest: u64) -> String {
    format!("{MADE}{} ({digest:016x}): edit that, not this file.\n", source.file())
}

/// Whether `list` is one the tool made from `source` with inputs that hash
/// to `digest`: `Some(true)` current, `Some(false)` made from other inputs,
/// `None` not made by the tool (a person's list, kept as it is).
pub fn is_current(list: &str, source: Source, digest: u64) -> Option<bool> {
    let first = list.lines().next()?;
    first.starts_with(MADE).then(|| first == made_line(source, digest).trim_end())
}

/// The requirement lines (comments, options and blanks left out), each
/// with its line number.
pub fn requirement_lines(list: &str) -> impl Iterator<Item = (usize, &str)> {
    list.lines().enumerate().filter_map(|(at, line)| {
        let line = line.split(" #").next().unwrap_or_default().trim();
        (!line.is_empty() && !line.starts_with('#') && !line.starts_with('-')).then_some((at + 1, line))
    })
}

/// A requirement line's package, as pip compares names: `Typing_Extensions`
/// and `typing-extensions` are one.
pub fn package(line: &str) -> String {
    let name = line.split(|c: char| "=<>!~;[ @".contains(c)).next().unwrap_or_default();
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// The packages that none of their lines install, once `skipped` (line
/// numbers) are skipped: a package with another line that applies is not
/// left out.
pub fn left_out<'a>(lines: &[(usize, &'a str)], skipped: &[usize]) -> Vec<(usize, &'a str)> {
    let kept: Vec<String> =
        lines.iter().filter(|(number, _)| !skipped.contains(number)).map(|(_, line)| package(line)).collect();
    lines.iter().copied().filter(|(number, line)| skipped.contains(number) && !kept.contains(&package(line))).collect()
}

/// The requirement lines that pin no version: `fastapi`, `uvicorn>=0.20`.
/// A direct reference (`name @ https://…`) names one file, so it pins.
pub fn unpinned(list: &str) -> Vec<(usize, &str)> {
    requirement_lines(list)
        .filter(|(_, line)| {
            let requirement = line.split(';').next().unwrap_or_default();
            !requirement.contains("==") && !requirement.contains(" @ ")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_knows_whether_the_tool_made_it_and_from_what() {
        let made = made_line(Source::UvLock, 0xabc) + "fastapi==0.115.0\n";
        assert_eq!(is_current(&made, Source::UvLock, 0xabc), Some(true));
        assert_eq!(is_current(&made, Source::UvLock, 0xabd), Some(false));
        assert_eq!(is_current(&made, Source::PoetryLock, 0xabc), Some(false));
        assert_eq!(is_current("fastapi==0.115.0\n", Source::UvLock, 0xabc), None);
        assert_eq!(is_current("", Source::UvLock, 0xabc), None);
    }

    #[test]
    fn unpinned_lines_are_named_with_their_numbers() {
        let list = "# the app's\nfastapi==0.115.0\nuvicorn>=0.20  # any\n--index-url https://x\n\nrich\n\
                    tomli==2.0.1 ; python_version < \"3.11\"\nsvc @ https://example.com/svc-1.0.tar.gz\n\
                    anyio>=3 ; python_version == \"3.10\"\n";
        assert_eq!(unpinned(list), [(3, "uvicorn>=0.20"), (6, "rich"), (9, "anyio>=3 ; python_version == \"3.10\"")]);
    }

    #[test]
    fn a_package_is_left_out_only_when_none_of_its_lines_applies() {
        let lines = [
            (1, "pydantic==2.13.5 ; python_full_version < '3.10'"),
            (2, "Pydantic==2.14.4 ; python_full_version >= '3.10'"),
            (3, "tomli==2.0.1 ; python_version < \"3.11\""),
            (4, "fastapi==0.115.6"),
        ];
        assert_eq!(left_out(&lines, &[1, 3]), [(3, "tomli==2.0.1 ; python_version < \"3.11\"")]);
        assert_eq!(package("typing_extensions>=4 ; python_version < '3.11'"), "typing-extensions");
    }

    #[test]
    fn each_lock_is_exported_by_its_own_tool_without_dev_or_hashes() {
        let uv = Source::UvLock.export("/p").unwrap().join(" ");
        assert_eq!(
            uv,
            "uv export --frozen --no-default-groups --no-hashes --no-emit-project --no-emit-workspace \
             --emit-index-url --no-header --no-annotate --format requirements-txt --project /p"
        );
        let poetry = Source::PoetryLock.export("/p").unwrap().join(" ");
        assert_eq!(poetry, "poetry export --without-hashes --format requirements.txt --directory /p");
        assert_eq!(Source::Requirements.export("/p"), None);
    }
}
