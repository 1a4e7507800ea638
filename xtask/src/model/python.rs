//! Which Python a project asks for: `requires-python` in its
//! pyproject.toml, a PEP 440 specifier such as `>=3.10,<3.13`, checked
//! against an image's Python (`X.Y`) before anything is built.

/// The `requires-python` of a pyproject.toml's `[project]` table.
pub fn requires_python(pyproject: &str) -> Option<String> {
    let mut in_project = false;
    for line in pyproject.lines().map(str::trim) {
        if line.starts_with('[') {
            in_project = line == "[project]";
        } else if let Some(rest) = line.strip_prefix("requires-python").filter(|_| in_project) {
            let value = rest.trim_start().strip_prefix('=')?.trim();
            return Some(value.trim_matches(|c| c == '"' || c == '\'').to_string());
        }
    }
    None
}

/// Whether Python `minor` (`X.Y`) satisfies `specifier`, at the level of
/// X.Y: some X.Y.Z of it does (the image's patch release is the bases').
/// None when the specifier is beyond what this reads: nothing is claimed.
pub fn satisfies(specifier: &str, minor: &str) -> Option<bool> {
    let have = numbers(minor)?;
    let have = (*have.first()?, *have.get(1)?);
    specifier.split(',').map(str::trim).filter(|clause| !clause.is_empty()).try_fold(true, |all, clause| {
        let at = clause.find(|c: char| c.is_ascii_digit())?;
        let operator = clause[..at].trim();
        let wanted = numbers(clause[at..].trim().trim_end_matches(".*"))?;
        let want = (*wanted.first()?, wanted.get(1).copied().unwrap_or(0));
        let patch = wanted.len() > 2;
        let holds = match operator {
            ">=" => have >= want,
            ">" if patch => have >= want,
            ">" => have > want,
            "<=" => have <= want,
            "<" if patch => have <= want,
            "<" => have < want,
            "==" => have == want,
            "!=" => patch || have != want,
            // ~=X.Y: X.Y or later, same X; ~=X.Y.Z: X.Y itself.
            "~=" if patch => have == want,
            "~=" => have >= want && have.0 == want.0,
            _ => return None,
        };
        Some(all && holds)
    })
}

fn numbers(version: &str) -> Option<Vec<u32>> {
    version.split('.').map(|part| part.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requires_python_is_read_from_the_project_table() {
        let pyproject = "[tool.x]\nrequires-python = \"<3\"\n[project]\nname = \"app\"\nrequires-python = \">=3.12\"\n";
        assert_eq!(requires_python(pyproject).as_deref(), Some(">=3.12"));
        assert_eq!(requires_python("[project]\nname = \"x\"\n"), None);
    }

    #[test]
    fn specifiers_are_checked_against_a_minor_version() {
        for (specifier, minor, holds) in [
            (">=3.12", "3.11", false),
            (">=3.12", "3.13", true),
            (">=3.10,<3.13", "3.11", true),
            (">=3.10,<3.13", "3.13", false),
            ("<3.12", "3.11", true),
            ("==3.11.*", "3.11", true),
            ("==3.11.*", "3.12", false),
            ("!=3.12", "3.11", true),
            ("~=3.9", "3.13", true),
            ("~=3.9", "3.8", false),
            (">=3.11.4", "3.11", true),
            (">3.11", "3.11", false),
        ] {
            assert_eq!(satisfies(specifier, minor), Some(holds), "{specifier} {minor}");
        }
        assert_eq!(satisfies("===3.11", "3.11"), None);
    }
}
