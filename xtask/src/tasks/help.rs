//! What the flags' declarations say to people: `cargo xtask --help` (one
//! line a task), `cargo xtask TASK --help` (clap's, from the task's
//! flags) and the flag tables of docs/reference.md, which a unit test
//! keeps equal to the declarations.

use super::TASKS;
use crate::cli::{ENGINE_FLAG, IMAGE_FLAGS, SETTINGS_FLAGS};

const EXIT_CODES: &str =
    "Exit codes: 0 success, 1 failure, 2 a mistake in the command line, 130 or 143 after SIGINT or SIGTERM.";

/// `cargo xtask --help`: one line a task, as `cargo --list` does.
pub fn help() -> String {
    let mut out = "cargo xtask TASK [flags]: build, run and prove the service's container image.\n\
                   Each task prints one JSON document on stdout; progress goes to stderr.\n\nTasks:\n"
        .to_string();
    for task in TASKS {
        let command = task.command();
        out += &format!("  {:<8} {}\n", command.get_name(), about(&command));
    }
    out + "\n`cargo xtask TASK --help` lists a task's flags; docs/reference.md has them all.\n" + EXIT_CODES + "\n"
}

/// `cargo xtask TASK --help`.
pub fn task_help(command: &clap::Command) -> String {
    let name = format!("cargo xtask {}", command.get_name());
    let summary = about(command);
    let mut command = command.clone().bin_name(&name).about(None).disable_help_flag(true);
    format!("{name}: {summary}\n\n{}\n{EXIT_CODES}\n", command.render_help())
}

fn about(command: &clap::Command) -> String {
    command.get_about().map(ToString::to_string).unwrap_or_default()
}

/// The flag tables, in Markdown: each shared group once, then each task
/// with the groups it takes and a table of its own flags.
pub fn markdown() -> String {
    let commands: Vec<clap::Command> = TASKS.iter().map(|task| task.command()).collect();
    let mut out = String::new();
    for group in [IMAGE_FLAGS, SETTINGS_FLAGS, ENGINE_FLAG] {
        let taken_by: Vec<&clap::Command> =
            commands.iter().filter(|command| flags(command, Some(group)).next().is_some()).collect();
        let names: Vec<String> = taken_by.iter().map(|command| format!("`{}`", command.get_name())).collect();
        let Some(first) = taken_by.first() else { continue };
        out += &format!("\n### {group}\n\nTaken by {}.\n\n{}", names.join(", "), table(flags(first, Some(group))));
    }
    for command in &commands {
        out += &format!("\n### `cargo xtask {}`\n\n{}.\n\n", command.get_name(), about(command));
        let groups = [IMAGE_FLAGS, SETTINGS_FLAGS, ENGINE_FLAG];
        let taken: Vec<&str> = groups.into_iter().filter(|g| flags(command, Some(g)).next().is_some()).collect();
        let groups: Vec<String> = taken.iter().map(|group| format!("the {}", group.to_lowercase())).collect();
        out += &match (groups.split_last(), flags(command, None).next()) {
            (None, None) => "No flags.\n".to_string(),
            (None, Some(_)) => table(flags(command, None)),
            (Some((last, [])), own) => format!("Takes {last}{}", own_flags(command, own.is_some())),
            (Some((last, rest)), own) => {
                format!("Takes {} and {last}{}", rest.join(", "), own_flags(command, own.is_some()))
            }
        };
    }
    out
}

/// The end of "Takes the … flags": a full stop, or its own flags' table.
fn own_flags(command: &clap::Command, any: bool) -> String {
    match any {
        true => format!(", and these:\n\n{}", table(flags(command, None))),
        false => ".\n".to_string(),
    }
}

/// The flags of `command` under help heading `group` (None: its own).
fn flags<'c>(command: &'c clap::Command, group: Option<&'c str>) -> impl Iterator<Item = &'c clap::Arg> + 'c {
    command.get_arguments().filter(move |arg| arg.get_long().is_some() && arg.get_help_heading() == group)
}

fn table<'a>(flags: impl Iterator<Item = &'a clap::Arg>) -> String {
    let mut out = "| flag | what it does |\n|---|---|\n".to_string();
    for arg in flags {
        let value = match arg.get_action().takes_values() {
            true => arg.get_value_names().map(|names| format!(" {}", names[0])).unwrap_or_default(),
            false => String::new(),
        };
        let defaults: Vec<String> = arg.get_default_values().iter().map(|v| v.to_string_lossy().into()).collect();
        let default = match defaults.is_empty() {
            true => String::new(),
            false => format!(" [default: {}]", defaults.join(", ")),
        };
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        let flag = format!("--{}{value}", arg.get_long().unwrap_or_default());
        out += &format!("| `{}` | {}{default} |\n", flag.replace('|', "\\|"), help.replace('|', "\\|"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/reference.md's flag tables are the declarations' own: with
    /// UPDATE_DOCS=1 this test writes them, else it fails when they differ.
    #[test]
    fn the_reference_s_flag_tables_are_the_declarations() {
        crate::sys::doc_blocks::check_reference_block("flags", &markdown(), "flag_tables");
    }

    /// The README is the first screen and a guide a few lines each, with
    /// links: the details and the figures live in docs/.
    #[test]
    fn the_readme_stays_short_and_lists_every_task() {
        let readme = std::fs::read_to_string(crate::sys::project::root().join("README.md")).unwrap();
        let lines = readme.lines().count();
        assert!(lines <= 250, "README.md has {lines} lines: at most 250, the rest belongs in docs/");
        for task in TASKS {
            let name = task.command().get_name().to_string();
            assert!(readme.contains(&format!("| `{name}` |")), "README.md's task table lacks `{name}`");
        }
    }

    #[test]
    fn the_help_is_a_line_a_task_and_each_task_lists_its_flags() {
        let help = help();
        assert_eq!(help.lines().filter(|line| line.starts_with("  ")).count(), TASKS.len(), "{help}");
        let image = task_help(&crate::tasks::find("image").unwrap().command());
        assert!(image.starts_with("cargo xtask image: "), "{image}");
        assert!(image.contains("--tag <NAME[:TAG]>") && image.contains("[default: fastapi-server:latest]"), "{image}");
        assert!(task_help(&crate::tasks::find("stop").unwrap().command()).contains("--tag <NAME[:TAG]>"));
    }
}
