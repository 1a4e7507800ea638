//! A Dockerfile read as far as the lint rules and the build's diagnoses
//! need: instructions with their line numbers (continuations joined,
//! comments dropped), grouped into stages, with the global ARGs (before
//! the first FROM) expanded in the base images.

use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Instruction {
    /// 1-based, where the instruction starts.
    pub line: usize,
    /// Upper case: `FROM`, `RUN`, …
    pub keyword: String,
    pub args: String,
}

impl Instruction {
    /// `["a", "b"]` rather than a shell string.
    pub fn is_exec_form(&self) -> bool {
        self.args.trim_start().starts_with('[')
    }

    /// The arguments split on whitespace, with `--flag`s left out.
    pub fn operands(&self) -> Vec<&str> {
        self.args.split_whitespace().filter(|w| !w.starts_with("--")).collect()
    }
}

#[derive(Debug)]
pub struct Stage {
    pub from: Instruction,
    /// The base image, with global ARG defaults expanded; None when a
    /// variable has no default.
    pub image: Option<String>,
    pub instructions: Vec<Instruction>,
}

impl Stage {
    pub fn find<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = &'a Instruction> + 'a {
        self.instructions.iter().filter(move |i| i.keyword == keyword)
    }
}

#[derive(Debug)]
pub struct Dockerfile {
    pub stages: Vec<Stage>,
}

/// The global ARGs' values: a build arg wins over the ARG's default.
pub fn global_args(text: &str, build_args: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut globals = BTreeMap::new();
    for instruction in instructions(text) {
        match instruction.keyword.as_str() {
            "FROM" => break,
            "ARG" => {
                let declared = instruction.args.trim();
                let (name, default) = match declared.split_once('=') {
                    Some((name, default)) => (name, expand(default.trim_matches('"'), &globals)),
                    None => (declared, None),
                };
                if let Some(value) = build_args.get(name).cloned().or(default) {
                    globals.insert(name.to_string(), value);
                }
            }
            _ => {}
        }
    }
    globals
}

impl Dockerfile {
    /// As the Dockerfile reads with no build args: its ARGs' defaults.
    pub fn parse(text: &str) -> Dockerfile {
        Dockerfile::parse_with(text, &global_args(text, &BTreeMap::new()))
    }

    /// With the global ARGs' values `globals` (see `global_args`).
    pub fn parse_with(text: &str, globals: &BTreeMap<String, String>) -> Dockerfile {
        let mut stages: Vec<Stage> = Vec::new();
        for instruction in instructions(text) {
            match (instruction.keyword.as_str(), stages.last_mut()) {
                ("FROM", _) => {
                    let image = instruction.operands().first().and_then(|image| expand(image, globals));
                    stages.push(Stage { from: instruction, image, instructions: Vec::new() });
                }
                (_, Some(stage)) => stage.instructions.push(instruction),
                (_, None) => {}
            }
        }
        Dockerfile { stages }
    }

    pub fn final_stage(&self) -> Option<&Stage> {
        self.stages.last()
    }
}

/// The instructions of `text`, continuation lines joined.
fn instructions(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') || (line.is_empty() && pending.is_none()) {
            continue;
        }
        let (body, continues) = match line.strip_suffix('\\') {
            Some(body) => (body.trim_end(), true),
            None => (line, false),
        };
        let (start, mut text) = pending.take().unwrap_or((index + 1, String::new()));
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(body);
        if continues {
            pending = Some((start, text));
        } else if let Some((keyword, args)) = split_keyword(&text) {
            out.push(Instruction { line: start, keyword, args });
        }
    }
    if let Some((start, text)) = pending {
        if let Some((keyword, args)) = split_keyword(&text) {
            out.push(Instruction { line: start, keyword, args });
        }
    }
    out
}

fn split_keyword(text: &str) -> Option<(String, String)> {
    let mut parts = text.trim().splitn(2, char::is_whitespace);
    let keyword = parts.next().filter(|k| !k.is_empty())?.to_ascii_uppercase();
    Some((keyword, parts.next().unwrap_or("").trim().to_string()))
}

/// `$NAME` and `${NAME}` replaced from `vars`; None when one has no value.
pub fn expand(text: &str, vars: &BTreeMap<String, String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let (name, tail) = match after.strip_prefix('{') {
            Some(braced) => {
                let end = braced.find('}')?;
                (&braced[..end], &braced[end + 1..])
            }
            None => {
                let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        out.push_str(vars.get(name)?);
        rest = tail;
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_dockerfile_reads_as_two_stages_on_the_official_bases() {
        let dockerfile = Dockerfile::parse(include_str!("../../../docker/Dockerfile"));
        let images: Vec<_> = dockerfile.stages.iter().map(|s| s.image.clone().unwrap()).collect();
        assert_eq!(images, ["python:3.10", "python:3.10-slim"]);
        let healthcheck = dockerfile.final_stage().unwrap().find("HEALTHCHECK").next().unwrap();
        assert!(healthcheck.args.contains("CMD [\"python\", \"-c\""), "continuations are joined: {}", healthcheck.args);
    }

    #[test]
    fn lines_continuations_and_comments() {
        let dockerfile = Dockerfile::parse("# c\nFROM a AS b\n\nRUN x \\\n  # inside\n  && y\ncmd [\"z\"]\n");
        let stage = &dockerfile.stages[0];
        assert_eq!((stage.from.line, stage.image.as_deref()), (2, Some("a")));
        let run = &stage.instructions[0];
        assert_eq!((run.line, run.keyword.as_str(), run.args.as_str()), (4, "RUN", "x && y"));
        assert_eq!((stage.instructions[1].line, stage.instructions[1].is_exec_form()), (7, true));
    }

    #[test]
    fn build_args_win_over_the_defaults_of_global_args() {
        let text = include_str!("../../../docker/Dockerfile");
        let defaults = global_args(text, &BTreeMap::new());
        assert_eq!(defaults["BUILDER_IMAGE"], "python:3.10");
        let args = BTreeMap::from([("PYTHON_MINOR".to_string(), "3.9".to_string())]);
        let given = global_args(text, &args);
        assert_eq!(
            (given["BUILDER_IMAGE"].as_str(), given["RUNTIME_IMAGE"].as_str()),
            ("python:3.9", "python:3.9-slim")
        );
        let late = "FROM a\nARG LATE=1\n";
        assert!(global_args(late, &BTreeMap::new()).is_empty(), "an ARG after FROM is the stage's own");
    }

    #[test]
    fn variables_without_a_default_leave_the_image_unknown() {
        let vars = BTreeMap::from([("A".to_string(), "x".to_string())]);
        assert_eq!(expand("p:${A}-slim/$A", &vars).as_deref(), Some("p:x-slim/x"));
        assert_eq!(expand("${B}", &vars), None);
        assert_eq!(Dockerfile::parse("FROM --platform=linux/amd64 $NOPE\n").stages[0].image, None);
    }
}
