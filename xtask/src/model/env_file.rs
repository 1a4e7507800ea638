//! A settings file as Compose reads it (`.env`, `env_file:`): `KEY=VALUE`
//! lines, `export ` allowed, quotes around a value taken off, comments and
//! lines without `=` skipped.

use std::collections::BTreeMap;

pub fn pairs(text: &str) -> BTreeMap<String, String> {
    let lines = text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#'));
    let pairs = lines.filter_map(|line| line.strip_prefix("export ").unwrap_or(line).split_once('='));
    pairs
        .map(|(key, value)| {
            let value = value.trim();
            let unquoted = ['"', '\''].iter().find_map(|q| value.strip_prefix(*q)?.strip_suffix(*q)).unwrap_or(value);
            (key.trim().to_string(), unquoted.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_file_is_read_as_compose_reads_it() {
        let read = super::pairs("# c\nA=1\nexport B=\"two words\"\n C = 'x' \nnoequals\n");
        assert_eq!(read["A"], "1");
        assert_eq!(read["B"], "two words");
        assert_eq!(read["C"], "x");
        assert_eq!(read.len(), 3);
    }
}
