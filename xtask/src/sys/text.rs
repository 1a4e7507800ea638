//! Cutting what a program said down to what a message can hold.

/// The last `count` lines of `output` that say something, trimmed.
pub fn last_lines(output: &str, count: usize) -> String {
    last_of(&output.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>(), count)
}

/// The last `count` lines of a log as it was written: a traceback keeps
/// its indentation and its blank lines.
pub fn last_lines_as_written(log: &str, count: usize) -> String {
    last_of(&log.trim_end().lines().collect::<Vec<_>>(), count)
}

fn last_of(lines: &[&str], count: usize) -> String {
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// A value as a message may quote it: at most 200 characters, a long one
/// cut with an ellipsis, so that a 100 KB argument gives no 100 KB message.
pub fn quoted(value: &str) -> String {
    format!("`{}`", cut(value))
}

/// `value`, cut to 200 characters with an ellipsis.
pub fn cut(value: &str) -> String {
    const MAX: usize = 200;
    match value.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &value[..at]),
        None => value.to_string(),
    }
}

/// The first `count` of `names`, and how many more: a save of 500 files
/// is named in a line, not in 9 KB.
pub fn some_of(names: &[String], count: usize) -> String {
    match names.len().checked_sub(count) {
        Some(more) if more > 0 => format!("{} and {more} more", names[..count].join(", ")),
        _ => names.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_names_are_named_a_few_and_counted() {
        let names: Vec<String> = (1..=500).map(|n| format!("f{n}.py")).collect();
        assert_eq!(some_of(&names, 3), "f1.py, f2.py, f3.py and 497 more");
        assert_eq!(some_of(&names[..3], 3), "f1.py, f2.py, f3.py");
        assert_eq!(some_of(&[], 3), "");
    }

    #[test]
    fn last_lines_said_or_as_written() {
        assert_eq!(last_lines("a\n\n  b\nc\n\n", 2), "b\nc");
        assert_eq!(last_lines_as_written("a\n  b\n\nc\n\n", 3), "  b\n\nc");
        assert_eq!(last_lines_as_written("a\n", 20), "a");
        assert_eq!(last_lines_as_written("", 20), "");
    }
}
