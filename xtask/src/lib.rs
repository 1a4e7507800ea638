//! `cargo xtask <task>`: build, run and prove the FastAPI service's
//! container image, alone and with its whole stack, and serve it while it
//! is edited. Each task prints one JSON document on stdout; the
//! engine's own output and our progress go to stderr. `main.rs` is a thin
//! shell over `run`, and the fuzz targets (`fuzz/`) and the acceptance
//! tests' helpers use this library too.
//!
//! The layers, each depending only on those below it:
//! - `tasks/`: one module per task, each declaring its flags and returning
//!   its report;
//! - `cli`, `report`, `service/`, `lint/`, `registry`: what the tasks share;
//! - `standins/`: the offline stand-in images, made through the engine;
//! - `engine/`: the one entry point to the container engine;
//! - `model/`: pure text models (Dockerfiles, references, what a failed
//!   build or service said);
//! - `sys/`: child processes, the HTTP probe, signals, project paths.

pub mod cli;
pub mod engine;
pub mod lint;
pub mod model;
pub mod registry;
pub mod report;
pub mod service;
pub mod standins;
pub mod sys;
pub mod tasks;

use std::ffi::OsString;

use crate::report::{NoTask, Printed, Report};

/// What a command line came to: its report (or help), and what goes on
/// after it is printed.
pub struct Outcome {
    pub printed: Printed,
    pub then: Option<tasks::Then>,
}

/// Runs the command line `args` (after the program's name).
pub fn run(args: impl IntoIterator<Item = OsString>) -> Outcome {
    let mut args = args.into_iter();
    let name = args.next().map(|name| name.to_string_lossy().into_owned());
    let Some(name) = name.filter(|n| !matches!(n.as_str(), "help" | "--help" | "-h")) else {
        return Outcome { printed: Printed::text(tasks::help::help()), then: None };
    };
    let Some(task) = tasks::find(&name) else {
        let message = format!("`{name}` is not a task; `cargo xtask --help` lists them");
        return Outcome { printed: Printed::usage(Printed::of(&NoTask::failure(message))), then: None };
    };
    let args: Vec<OsString> = args.collect();
    if args.iter().any(|arg| arg == "--help" || arg == "-h") {
        return Outcome { printed: Printed::text(tasks::help::task_help(&task.command())), then: None };
    }
    sys::signals::install();
    let finished = task.run(args);
    let mut printed = finished.printed;
    settle(&mut printed);
    // The reports that follow are masked as the first is.
    let then = finished.then.map(|then| -> tasks::Then {
        Box::new(move |print| {
            let code = then(&mut |mut printed| {
                settle(&mut printed);
                print(printed)
            });
            // A loop or a follower ends on a signal: the run exits as the
            // shell reports such a run, whatever its last report said.
            sys::signals::received().map(|signum| 128 + signum as u8).or(code)
        })
    });
    Outcome { printed, then }
}

/// Masks every value the tool was given in what a report quotes (a
/// build's last lines, an image's history, a service's log), and gives a
/// run that a signal ended the exit code the shell reports: 128 + its number.
fn settle(printed: &mut Printed) {
    printed.json = sys::mask::mask(&printed.json);
    printed.human = sys::mask::mask(&printed.human);
    if let (1.., Some(signum)) = (printed.code, sys::signals::received()) {
        printed.code = 128 + signum as u8;
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeSet, fs, path::Path};

    /// The layers, top first: a module may use only those after it.
    const LAYERS: [&str; 10] =
        ["tasks", "cli", "lint", "registry", "service", "report", "standins", "engine", "model", "sys"];

    /// The top-level modules that `text` (a file's code before its tests) uses.
    fn used(text: &str) -> BTreeSet<String> {
        let code = text.split("#[cfg(test)]").next().unwrap_or(text);
        let mut found = BTreeSet::new();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let names = match rest.strip_prefix('{') {
                // `use crate::{a::b, c::{d, e}}`: the names at the braces' top level.
                Some(group) => {
                    let (mut depth, mut start, mut names) = (0, 0, Vec::new());
                    for (i, c) in group.char_indices() {
                        match c {
                            '{' => depth += 1,
                            '}' if depth == 0 => {
                                names.push(&group[start..i]);
                                break;
                            }
                            '}' => depth -= 1,
                            ',' if depth == 0 => {
                                names.push(&group[start..i]);
                                start = i + 1;
                            }
                            _ => {}
                        }
                    }
                    names
                }
                None => vec![rest],
            };
            for name in names {
                let name: String = name.trim().chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                found.insert(name);
            }
        }
        found
    }

    fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            match entry.path() {
                path if path.is_dir() => files(&path, out),
                path => out.push(path),
            }
        }
    }

    /// Only `engine/` starts an engine's binary (its CLI or its daemon): a
    /// third engine is a change to the engine layer alone.
    #[test]
    fn no_engine_binary_is_started_outside_engine() {
        use crate::engine::Kind;
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut paths = Vec::new();
        files(&src, &mut paths);
        let binaries: Vec<String> = Kind::ALL
            .iter()
            .flat_map(|kind| [Some(kind.can().cli), kind.can().daemon])
            .flatten()
            .map(|binary| format!("\"{binary}\""))
            .collect();
        let outside = paths.iter().filter(|path| !path.starts_with(src.join("engine")));
        for path in outside {
            let text = fs::read_to_string(path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or(&text);
            for starter in ["Command::new(", "CommandLine::new("] {
                for (at, _) in code.match_indices(starter) {
                    let argument = code[at + starter.len()..].split(')').next().unwrap_or_default().trim();
                    let named = binaries.iter().any(|binary| argument == binary)
                        || ["kind().name()", "can().cli", "can().daemon"].iter().any(|asked| argument.contains(asked));
                    assert!(!named, "{} starts an engine's binary ({argument}) outside engine/", path.display());
                }
            }
        }
    }

    #[test]
    fn dependencies_point_down() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for (rank, layer) in LAYERS.iter().enumerate() {
            let mut paths = Vec::new();
            match src.join(layer).is_dir() {
                true => files(&src.join(layer), &mut paths),
                false => paths.push(src.join(format!("{layer}.rs"))),
            }
            for path in paths {
                for name in used(&fs::read_to_string(&path).unwrap()) {
                    let Some(at) = LAYERS.iter().position(|l| *l == name) else { continue };
                    assert!(at >= rank, "{} uses crate::{name}, a layer above {layer}", path.display());
                }
            }
        }
        assert_eq!(
            used("use crate::{a::b, c::{d, e}};\nfn f() { crate::g::h(); }"),
            ["a", "c", "g"].map(String::from).into()
        );
    }
}
