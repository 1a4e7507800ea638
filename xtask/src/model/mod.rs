//! Pure text models: text in, meaning out, no process and no engine. They
//! sit below `engine/` and `lint/`, which both read Dockerfiles, and are
//! unit-tested alone (and fuzzed: `fuzz/`).
//! - `dockerfile`: a Dockerfile read as docker reads it;
//! - `reference`: image references and registry addresses;
//! - `diagnose`: a failed build's output, in one sentence;
//! - `service_log`: a failed service's log, in one sentence.

pub mod diagnose;
pub mod dockerfile;
pub mod reference;
pub mod service_log;
