//! The command line: one table says which flags each task takes, and
//! both the parser (`Args`) and the help text are made from it, so that
//! they cannot drift apart. Hand-rolled: the tasks take a handful of
//! `--flag value` pairs, and a parser crate would cost more compile time
//! than it saves.

use camino::{Utf8Path, Utf8PathBuf};

mod args;
mod build_args_file;
mod image_flags;
mod settings;

pub use self::{
    args::{request_path, usage, Args, Given, UsageError},
    image_flags::ImageFlags,
    settings::{accept_setting, with_project_settings},
};

/// The project's own file `name` beside `dockerfile` (`build-args`, `run.env`).
fn beside_dockerfile(dockerfile: &Utf8Path, name: &str) -> Utf8PathBuf {
    dockerfile.parent().unwrap_or(Utf8Path::new(".")).join(name)
}

/// One flag: its name, the placeholder of its value (None for a switch),
/// and its help.
pub struct Flag {
    pub name: &'static str,
    pub value: Option<&'static str>,
    pub help: &'static str,
}

const fn switch(name: &'static str, help: &'static str) -> Flag {
    Flag { name, value: None, help }
}

const fn valued(name: &'static str, value: &'static str, help: &'static str) -> Flag {
    Flag { name, value: Some(value), help }
}

pub struct TaskInfo {
    pub name: &'static str,
    pub summary: &'static str,
    /// Groups of flags: the image flags are one group, shared.
    pub flags: &'static [&'static [Flag]],
}

impl TaskInfo {
    pub fn flag(&self, name: &str) -> Option<&'static Flag> {
        self.flags.iter().flat_map(|group| group.iter()).find(|flag| flag.name == name)
    }
}

/// What to build: every task that builds takes these.
const IMAGE: &[Flag] = &[
    valued("--dockerfile", "PATH", "default docker/Dockerfile"),
    valued("--context", "DIR", "default the project root (.dockerignore keeps it small)"),
    valued("--build-arg", "KEY=VALUE", "repeatable; BUILDER_IMAGE, RUNTIME_IMAGE, PYTHON_MINOR choose the bases"),
    valued("--tag", "NAME[:TAG]", "default fastapi-server:latest"),
    valued("--app", "MODULE:ATTR", "the app uvicorn serves, such as app.main:app (default main:app)"),
    valued("--app-port", "PORT", "the port the service listens on in its container (default 8000)"),
    valued("--health", "/PATH", "the path that says the service is ready (default /health)"),
    switch("--offline", "build on stand-in base images made locally (also XTASK_OFFLINE=1)"),
    switch("--no-cache", "build every step again"),
    valued(
        "--cache-from",
        "REF",
        "repeatable; an image in a registry (and the stage caches `push --cache` put beside it) to reuse steps from",
    ),
    valued(
        "--secret",
        "id=NAME,src=FILE|env=VAR",
        "repeatable; a BuildKit secret mount: in no layer, no history, no log",
    ),
    valued(
        "--input",
        "FILE",
        "the same as JSON: {\"dockerfilePath\", \"buildContext\", \"buildArgs\", \"tag\"} (- for stdin)",
    ),
];

/// Which engine: every task that talks to one takes it.
const ENGINE: &[Flag] = &[valued(
    "--engine",
    "docker|podman",
    "the container engine (also XTASK_ENGINE); default Docker when one answers, else podman",
)];

/// The service's settings at run time: every task that starts it takes these.
const SETTINGS: &[Flag] = &[
    valued("--env", "KEY=VALUE", "repeatable; set in the container, never printed"),
    valued("--env-file", "FILE", "the engine reads the settings from FILE; their values are never printed"),
];

pub const TASKS: &[TaskInfo] = &[
    TaskInfo {
        name: "image",
        summary: "build the service's image; report imageId, tag and size as JSON",
        flags: &[IMAGE, ENGINE],
    },
    TaskInfo {
        name: "run",
        summary: "build the image (cached), start it; report its URL once its health path answers, and only then tag it",
        flags: &[
            IMAGE,
            ENGINE,
            SETTINGS,
            &[
                switch("--no-build", "start the image the tag names as it is"),
                valued("--port", "HOSTPORT", "publish on this port of 127.0.0.1 (default a free one)"),
                switch("--attach", "follow the service's log until Ctrl-C, then remove the container"),
            ],
        ],
    },
    TaskInfo {
        name: "smoke",
        summary: "build, run, GET each path, tear down; report every check and its timings",
        flags: &[
            IMAGE,
            ENGINE,
            SETTINGS,
            &[
                switch("--no-build", "use the image the tag names as it is"),
                valued("--path", "/PATH", "repeatable; GET it, expecting 200 (default /health and /)"),
                valued("--expect", "/PATH=STATUS", "repeatable; GET it, expecting STATUS, such as /orders/999=404"),
                valued("--header", "NAME: VALUE", "repeatable; sent with every GET, its value never printed"),
                valued("--timeout", "SECS", "how long the service may take to answer (default 30)"),
            ],
        ],
    },
    TaskInfo {
        name: "stop",
        summary: "remove the containers `run` started from this checkout",
        flags: &[
            ENGINE,
            &[
                switch(
                    "--all",
                    "every container of ours on the engine: other checkouts', smoke and lint runs included",
                ),
                valued("--tag", "NAME[:TAG]", "only the containers of that image tag"),
            ],
        ],
    },
    TaskInfo {
        name: "lint",
        summary: "check the Dockerfile (hadolint and our rules) and the built image for classic mistakes",
        flags: &[
            IMAGE,
            ENGINE,
            SETTINGS,
            &[
                valued("--image", "TAG", "check this image instead of building one"),
                switch("--no-image", "check the Dockerfile and .dockerignore only, without building"),
            ],
        ],
    },
    TaskInfo {
        name: "push",
        summary: "build (cached), tag HOST[:PORT]/NAME:TAG, push, and check with the registry that it names that manifest",
        flags: &[
            IMAGE,
            ENGINE,
            SETTINGS,
            &[
                valued("--registry", "HOST[:PORT]", "where to push, such as 127.0.0.1:5000 (required)"),
                switch("--no-build", "push the image the tag names as it is"),
                switch("--smoke", "run the smoke checks first, and push only an image that passed"),
                switch("--cache", "also push the builder stages' cache, for --cache-from on a fresh runner"),
            ],
        ],
    },
    TaskInfo {
        name: "layers",
        summary: "the image's layers: instruction, size, base or ours; wasted bytes and efficiency, as dive counts them",
        flags: &[
            IMAGE,
            ENGINE,
            &[
                valued("--image", "TAG", "read this image instead of building one"),
                switch("--run", "also the writable layer of a container after it served its health path and /"),
            ],
        ],
    },
    TaskInfo {
        name: "doctor",
        summary: "check what this machine has for the tasks (engines, builder, registry or offline bases, tools); each problem comes with its fix",
        flags: &[ENGINE],
    },
    TaskInfo {
        name: "tools",
        summary: "make the host-side tools' venv (hadolint, pytest) under target/; print its paths",
        flags: &[],
    },
    TaskInfo {
        name: "bench",
        summary: "measure build, size, context, start and stop; JSON on stdout, a Markdown table on stderr",
        flags: &[
            ENGINE,
            &[
                valued("--runs", "N", "runs of each measure (default 5)"),
                valued("--markdown", "FILE", "write the table there too"),
                switch("--offline", "build on stand-in base images made locally (also XTASK_OFFLINE=1)"),
            ],
        ],
    },
];

pub fn task(name: &str) -> Option<&'static TaskInfo> {
    TASKS.iter().find(|task| task.name == name)
}

const EXIT_CODES: &str = "Exit codes: 0 success, 1 failure, 2 a mistake in the command line.\n";

/// `cargo xtask --help`: every task with its flags.
pub fn help() -> String {
    let mut out =
        "cargo xtask <task> [flags]\n\nEach task prints one JSON document on stdout; progress goes to stderr.\n"
            .to_string();
    for task in TASKS {
        out += "\n";
        out += &task_help(task);
    }
    out + "\n" + EXIT_CODES
}

/// `cargo xtask TASK --help`.
pub fn task_help(task: &TaskInfo) -> String {
    let mut out = format!("cargo xtask {}: {}\n", task.name, task.summary);
    for flag in task.flags.iter().flat_map(|group| group.iter()) {
        let spelled = format!("{} {}", flag.name, flag.value.unwrap_or(""));
        out += &format!("  {spelled:<26} {}\n", flag.help);
    }
    out + &format!("  {:<26} this text\n", "--help, -h")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_names_every_task_and_flag() {
        let help = help();
        for task in TASKS {
            assert!(help.contains(&format!("cargo xtask {}: ", task.name)), "{}", task.name);
            for flag in task.flags.iter().flat_map(|g| g.iter()) {
                assert!(task_help(task).contains(&format!("  {} ", flag.name)), "{} {}", task.name, flag.name);
            }
        }
        assert!(task_help(task("stop").unwrap()).contains("  --tag NAME[:TAG]"));
    }

    #[test]
    fn no_task_declares_a_flag_twice() {
        for task in TASKS {
            let mut names: Vec<&str> = task.flags.iter().flat_map(|g| g.iter()).map(|f| f.name).collect();
            let count = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), count, "{}", task.name);
        }
    }
}
