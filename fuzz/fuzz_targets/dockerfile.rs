//! Any text, as a Dockerfile for the lint rules and as a failed build's
//! output for its diagnosis: neither may panic on what a build writes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    xtask::lint::check_dockerfile(&text, "Dockerfile");
    let situation = xtask::model::diagnose::Situation {
        context: "/ctx".into(),
        offline: text.len() % 2 == 0,
        dockerfile: text.to_string(),
        build_args: Default::default(),
        bases_python: Some("3.11".into()),
    };
    xtask::model::diagnose::build_failure(&text, &situation);
});
