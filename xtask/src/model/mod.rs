//! Pure text models: text in, meaning out, no process and no engine. They
//! sit below `engine/` and `lint/`, which both read Dockerfiles, and are
//! unit-tested alone (and fuzzed: `fuzz/`).
//! - `checks`: the project's smoke checks file;
//! - `contract`: the service contract a build asks for (app, port, health path);
//! - `dockerfile`: a Dockerfile read as docker reads it;
//! - `dockerignore`: which paths `.dockerignore` keeps out of the build context;
//! - `python`: the Python a project asks for (`requires-python`);
//! - `reference`: image references and registry addresses;
//! - `diagnose`: a failed build's output, in one sentence;
//! - `build_output`: which images a build made itself, as its output tells;
//! - `service_log`: a failed service's log, in one sentence;
//! - `stack`: the stack as Compose resolves it, and each service's readiness;
//! - `watch_scope`: which changed files `watch` rebuilds for.

pub mod build_output;
pub mod checks;
pub mod contract;
pub mod diagnose;
pub mod dockerfile;
pub mod dockerignore;
pub mod env_file;
pub mod python;
pub mod reference;
pub mod requirements;
pub mod service_log;
pub mod stack;
pub mod watch_scope;
