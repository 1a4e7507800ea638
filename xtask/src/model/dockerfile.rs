//! A Dockerfile read as far as the lint rules and the build's diagnoses
//! need, as docker reads it: instructions with their line numbers
//! (continuations joined, comments and blank lines inside them dropped,
//! heredoc bodies kept with their instruction), keywords in any case,
//! grouped into stages that know the stage they are built FROM, with the
//! global ARGs (before the first FROM) expanded in the base images.

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

    /// The arguments after the `--flag`s: the words of a JSON array (the
    /// form COPY takes for paths with spaces), else split on whitespace.
    pub fn operands(&self) -> Vec<String> {
        let words: Vec<&str> = self.args.split_whitespace().skip_while(|w| w.starts_with("--")).collect();
        let rest = words.join(" ");
        match serde_json::from_str::<Vec<String>>(&rest) {
            Ok(array) if rest.starts_with('[') => array,
            _ => words.into_iter().map(str::to_string).collect(),
        }
    }

    /// The command as words a shell would see: an exec-form array joined
    /// with spaces, a shell-form command as it stands.
    pub fn command(&self) -> String {
        match serde_json::from_str::<Vec<String>>(self.args.trim()) {
            Ok(words) if self.is_exec_form() => words.join(" "),
            _ => self.args.clone(),
        }
    }

    /// The instruction's `--flag`s, such as RUN's `--mount=type=cache,target=/x`.
    pub fn flags(&self) -> impl Iterator<Item = &str> {
        self.args.split_whitespace().take_while(|w| w.starts_with("--"))
    }

    /// Whether a `--flag` of the instruction starts with `prefix`.
    pub fn has_flag(&self, prefix: &str) -> bool {
        self.flags().any(|w| w.starts_with(prefix))
    }
}

#[derive(Debug)]
pub struct Stage {
    pub from: Instruction,
    /// The base image, with global ARG defaults expanded; None when a
    /// variable has no default.
    pub image: Option<String>,
    /// `FROM … AS name`.
    pub name: Option<String>,
    /// The earlier stage this one is built FROM, by its index.
    pub parent: Option<usize>,
    pub instructions: Vec<Instruction>,
}

impl Stage {
    pub fn find<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = &'a Instruction> + 'a {
        self.instructions.iter().filter(move |i| i.keyword == keyword)
    }

    /// The stage's ARG values, over `globals`: an ARG's default, or the
    /// global value of an ARG it declares again without one.
    pub fn args(&self, globals: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut values = BTreeMap::new();
        for arg in self.find("ARG") {
            let declared = arg.args.trim();
            let (name, value) = match declared.split_once('=') {
                Some((name, default)) => (name, expand(default.trim_matches('"'), &values)),
                None => (declared, globals.get(declared).cloned()),
            };
            if let Some(value) = value {
                values.insert(name.to_string(), value);
            }
        }
        values
    }
}

#[derive(Debug)]
pub struct Dockerfile {
    pub stages: Vec<Stage>,
    /// The global ARGs' values.
    pub globals: BTreeMap<String, String>,
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

/// The instructions every builder knows.
const KEYWORDS: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// The first instruction no builder knows, as a sentence: Docker's builders
/// refuse the file in their words, Buildah in a dump of its own, so the
/// file is read before any build and every engine says the same.
pub fn unknown_instruction(text: &str) -> Option<String> {
    let unknown = instructions(text).into_iter().find(|i| !KEYWORDS.contains(&i.keyword.as_str()))?;
    Some(format!("line {}: unknown instruction: {}", unknown.line, unknown.keyword))
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
                    let operands = instruction.operands();
                    let image = operands.first().and_then(|image| expand(image, globals));
                    let name = match operands.as_slice() {
                        [_, alias, name, ..] if alias.eq_ignore_ascii_case("as") => Some(name.to_string()),
                        _ => None,
                    };
                    let parent = image.as_ref().and_then(|image| {
                        stages.iter().position(|s| s.name.as_ref().is_some_and(|n| n.eq_ignore_ascii_case(image)))
                    });
                    stages.push(Stage { from: instruction, image, name, parent, instructions: Vec::new() });
                }
                (_, Some(stage)) => stage.instructions.push(instruction),
                (_, None) => {}
            }
        }
        Dockerfile { stages, globals: globals.clone() }
    }

    /// `text` as a build with `build_args` reads it.
    pub fn parse_for_build(text: &str, build_args: &BTreeMap<String, String>) -> Dockerfile {
        Dockerfile::parse_with(text, &global_args(text, build_args))
    }

    /// The base image of the final stage, through the stages it is built FROM.
    pub fn final_base(&self) -> Option<&str> {
        self.lineage(self.stages.len().checked_sub(1)?).last()?.image.as_deref()
    }

    /// The stage at `index`, then the stage it is built FROM, and so on.
    pub fn lineage(&self, index: usize) -> impl Iterator<Item = &Stage> {
        std::iter::successors(self.stages.get(index), move |stage| stage.parent.and_then(|p| self.stages.get(p)))
    }
}

/// The instructions of `text`: continuation lines joined, and comments and
/// blank lines inside a continuation passed over, as docker does; a
/// heredoc's body (`RUN <<EOF` … `EOF`) stays with its instruction.
fn instructions(text: &str) -> Vec<Instruction> {
    // A UTF-8 byte order mark is no part of the first line.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let escape = escape_character(text);
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    let mut pending: Option<(usize, String)> = None;
    while let Some((index, raw)) = lines.next() {
        let line = raw.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (body, continues) = match line.strip_suffix(escape) {
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
            continue;
        }
        for delimiter in heredoc_delimiters(&text) {
            for (_, body_line) in lines.by_ref() {
                if body_line.trim() == delimiter {
                    break;
                }
                text.push('\n');
                text.push_str(body_line);
            }
        }
        out.extend(split_keyword(&text).map(|(keyword, args)| Instruction { line: start, keyword, args }));
    }
    if let Some((start, text)) = pending {
        out.extend(split_keyword(&text).map(|(keyword, args)| Instruction { line: start, keyword, args }));
    }
    out
}

/// The line-continuation character: `\\`, or what an `# escape=`
/// parser directive says (`` ` `` on Windows images). Directives are the
/// `# key=value` comments at the very top, before any other line.
fn escape_character(text: &str) -> char {
    for line in text.lines() {
        let Some(directive) = line.trim().strip_prefix('#') else { break };
        let Some((key, value)) = directive.split_once('=') else { break };
        if key.trim().eq_ignore_ascii_case("escape") {
            return match value.trim() {
                "`" => '`',
                _ => '\\',
            };
        }
    }
    '\\'
}

/// The delimiters of the heredocs an instruction opens: `<<EOF`, `<<-EOF`,
/// A name as ARGs, build args and Python identifiers have them: a letter or
/// `_`, then letters, digits and `_` (ASCII).
pub fn is_name(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `<<"EOF"`, `<<'EOF'`, in order.
fn heredoc_delimiters(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("<<") {
        let after = rest[at + 2..].trim_start_matches('-');
        let unquoted = after.trim_start_matches(['"', '\'']);
        let word: String = unquoted.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if is_name(&word) {
            found.push(word);
        }
        rest = &rest[at + 2..];
    }
    found
}

fn split_keyword(text: &str) -> Option<(String, String)> {
    let mut parts = text.trim().splitn(2, char::is_whitespace);
    let keyword = parts.next().filter(|k| !k.is_empty())?.to_ascii_uppercase();
    Some((keyword, parts.next().unwrap_or("").trim().to_string()))
}

/// `$NAME`, `${NAME}` and `${NAME:-default}` replaced from `vars`; None
/// when one has no value.
pub fn expand(text: &str, vars: &BTreeMap<String, String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let (name, default, tail) = match after.strip_prefix('{') {
            Some(braced) => {
                let end = braced.find('}')?;
                let inside = &braced[..end];
                match inside.split_once(":-").or_else(|| inside.split_once('-')) {
                    Some((name, default)) => (name, Some(default), &braced[end + 1..]),
                    None => (inside, None, &braced[end + 1..]),
                }
            }
            None => {
                let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
                (&after[..end], None, &after[end..])
            }
        };
        match (vars.get(name).filter(|v| !v.is_empty()), default) {
            (Some(value), _) => out.push_str(value),
            (None, Some(default)) => out.push_str(&expand(default, vars)?),
            (None, None) => return None,
        }
        rest = tail;
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instruction_no_builder_knows_is_named_with_its_line() {
        let text = "# syntax=docker/dockerfile:1\nFROM python:3.10\n\nrun echo \\\n  ok\nCOPPY . /srv\n";
        assert_eq!(unknown_instruction(text).as_deref(), Some("line 6: unknown instruction: COPPY"));
        assert_eq!(unknown_instruction("FROM a\nRUN <<EOF\nNOTAKEYWORD x\nEOF\n"), None, "a heredoc's body");
    }

    #[test]
    fn a_byte_order_mark_and_the_escape_directive_are_read_as_docker_reads_them() {
        let bom = Dockerfile::parse("\u{feff}FROM python:3.12-slim\nUSER app\n");
        assert_eq!(bom.stages.len(), 1);
        assert_eq!(bom.stages[0].image.as_deref(), Some("python:3.12-slim"));
        let backtick =
            "# escape=`\nFROM mcr.microsoft.com/windows/servercore\nRUN Write-Host `\n    one; `\n    two\nUSER app\n";
        let stage = &Dockerfile::parse(backtick).stages[0];
        let runs: Vec<&str> = stage.find("RUN").map(|run| run.args.as_str()).collect();
        assert_eq!(runs, ["Write-Host one; two"]);
        assert_eq!(stage.find("USER").count(), 1);
        let late = "FROM a\n# escape=`\nRUN x `\nUSER b\n";
        assert_eq!(
            Dockerfile::parse(late).stages[0].find("RUN").next().unwrap().args,
            "x `",
            "a directive only at the top"
        );
    }

    #[test]
    fn our_dockerfile_reads_as_two_stages_on_the_official_bases() {
        let dockerfile = Dockerfile::parse(include_str!("../../../docker/Dockerfile"));
        let images: Vec<_> = dockerfile.stages.iter().map(|s| s.image.clone().unwrap()).collect();
        assert_eq!(images, ["python:3.10", "python:3.10-slim"]);
        let healthcheck = dockerfile.stages.last().unwrap().find("HEALTHCHECK").next().unwrap();
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
    fn heredocs_blank_lines_case_and_exec_form_as_docker_reads_them() {
        let text = "from python:3.12 as base\nRUN <<EOF\nfrom transformers import x\nFROM not-a-stage\nEOF\nrun python - <<'PY' \\\n  && true\nimport os\nPY\nRUN apt-get update \\\n\n    && apt-get install -y curl\nRUN [\"pip\", \"install\", \"-r\", \"r.txt\"]\nuser 0:0\n";
        let dockerfile = Dockerfile::parse(text);
        assert_eq!(dockerfile.stages.len(), 1, "a heredoc's `from` is no stage");
        let stage = &dockerfile.stages[0];
        assert_eq!(stage.name.as_deref(), Some("base"));
        let keywords: Vec<(usize, &str)> = stage.instructions.iter().map(|i| (i.line, i.keyword.as_str())).collect();
        assert_eq!(keywords, [(2, "RUN"), (6, "RUN"), (10, "RUN"), (13, "RUN"), (14, "USER")]);
        assert!(stage.instructions[0].args.contains("from transformers import x"));
        assert_eq!(stage.instructions[2].args, "apt-get update && apt-get install -y curl");
        assert_eq!(stage.instructions[3].command(), "pip install -r r.txt");
    }

    #[test]
    fn stages_know_their_parents_and_their_args() {
        let text = "ARG FLAVOUR=-slim\nFROM python:3.12${VARIANT:-$FLAVOUR} AS base\nARG UID=0\nUSER ${UID}\nFROM base AS prod\nFROM prod\n";
        let dockerfile = Dockerfile::parse(text);
        assert_eq!(dockerfile.stages[0].image.as_deref(), Some("python:3.12-slim"));
        let lineage: Vec<Option<&str>> = dockerfile.lineage(2).map(|s| s.name.as_deref()).collect();
        assert_eq!(lineage, [None, Some("prod"), Some("base")]);
        assert_eq!(dockerfile.stages[0].args(&dockerfile.globals)["UID"], "0");
    }

    #[test]
    fn variables_without_a_default_leave_the_image_unknown() {
        let vars = BTreeMap::from([("A".to_string(), "x".to_string())]);
        assert_eq!(expand("p:${A}-slim/$A", &vars).as_deref(), Some("p:x-slim/x"));
        assert_eq!(expand("${B}", &vars), None);
        assert_eq!(Dockerfile::parse("FROM --platform=linux/amd64 $NOPE\n").stages[0].image, None);
    }
}
