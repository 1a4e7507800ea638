//! `watch` on the engine the tests run on: a scenario of the engine suite
//! (`engine_suite::ALL`), so on Docker with each builder, on podman and on
//! a remote Docker.

use std::{
    io::{BufRead, BufReader},
    sync::mpsc::{self, Receiver},
    time::Duration,
};

use xtask::sys::probe::free_port;

use super::*;

/// How long a cycle may take here; the bench, not this test, says how fast.
const CYCLE: Duration = Duration::from_secs(60);

/// The JSON lines of a running `watch`, as they come.
pub fn lines_of(child: &mut Child) -> Receiver<Value> {
    let stdout = child.stdout.take().unwrap();
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let json = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            if sender.send(json).is_err() {
                break;
            }
        }
    });
    lines
}

/// Ends the `watch` when the test does, pass or fail, as Ctrl-C would.
pub struct Watching(pub Child);

impl Drop for Watching {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            signal(self.0.id(), "TERM");
            let _ = self.0.wait();
        }
    }
}

pub fn next(lines: &Receiver<Value>, what: &str) -> Value {
    lines.recv_timeout(CYCLE).unwrap_or_else(|_| panic!("no line within {CYCLE:?} for {what}"))
}

pub fn watch_serves_each_edit_on_one_url_and_keeps_the_old_on_failure() {
    let tag = TagGuard::new("watch");
    let context = copy_of_build_context(&[]);
    // A busy port is said before any build.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    let refused = task_in("watch", &context, &tag.0, &["--port", &busy_port], &[]);
    assert_ne!(refused.code, 0, "{}", refused.json);
    assert!(refused.str("message").starts_with(&format!("Port {busy_port} on 127.0.0.1 is busy.")), "{}", refused.json);
    assert!(!docker(&["image", "inspect", &tag.0]).status.success(), "a build was made for a busy port");
    let port = free_port().unwrap().to_string();
    let (mut child, _) = spawn_task_in("watch", &context, &tag.0, &["--port", &port], &[]);
    let pid = child.id();
    let stderr = child.stderr.take().unwrap();
    let said = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text);
        text
    });
    let lines = lines_of(&mut child);
    let mut child = Watching(child);
    let first = next(&lines, "the first start");
    assert_eq!((first["outcome"].as_str(), first["success"].as_bool()), (Some("serving"), Some(true)), "{first}");
    assert_eq!(first["url"], format!("http://127.0.0.1:{port}"));
    let answer = |path: &str| {
        let mut stream = TcpStream::connect(format!("127.0.0.1:{port}")).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        Some(answer)
    };
    let get = |path: &str| answer(path)?.split_whitespace().nth(1)?.parse::<u16>().ok();
    assert_eq!(get("/"), Some(200));
    assert_eq!(get("/added"), Some(404));

    let route = "\n\n@app.get(\"/added\")\ndef added() -> dict[str, int]:\n    return {\"added\": 1}\n";
    context.edit("app/main.py", |main| main + route);
    let edited = next(&lines, "an edit");
    assert_eq!(edited["outcome"], "serving", "{edited}");
    assert_eq!(edited["changed"], serde_json::json!(["app/main.py"]));
    for part in ["debounce", "build", "start", "ready", "total"] {
        assert!(edited["latencyMs"][part].is_u64(), "{part} in {edited}");
    }
    assert_eq!(get("/added"), Some(200), "the new code serves on the same URL");

    context.edit("app/main.py", |main| main + "\ndef broken(:\n");
    let broken = next(&lines, "a syntax error");
    assert_eq!((broken["outcome"].as_str(), broken["success"].as_bool()), (Some("kept"), Some(false)), "{broken}");
    assert!(broken["message"].as_str().unwrap().contains("The old code still serves"), "{broken}");
    assert_eq!(get("/added"), Some(200), "the old container still serves");

    context.edit("app/main.py", |main| main.replace("\ndef broken(:\n", "\n"));
    let fixed = next(&lines, "the fix");
    assert_eq!(fixed["outcome"], "serving", "{fixed}");

    // A burst of saves (a checkout of many files) is one rebuild.
    for i in 0..30 {
        context.write(&format!("app/data/file-{i}.json"), "{}\n");
    }
    let burst = next(&lines, "a burst");
    assert_eq!(burst["outcome"], "serving", "{burst}");
    assert_eq!(burst["changed"].as_array().unwrap().len(), 30, "{burst}");
    assert!(burst["message"].as_str().unwrap().contains(" and 25 more."), "a few named, the rest counted: {burst}");
    assert!(lines.recv_timeout(Duration::from_secs(2)).is_err(), "one burst, one rebuild");

    // Outside what reaches the image: no rebuild.
    context.write("README.md", "notes\n");
    context.write("app/tests/test_x.py", "def test_x():\n    pass\n");
    assert!(lines.recv_timeout(Duration::from_secs(3)).is_err(), "a change outside the image rebuilt");

    // `.dockerignore` is part of what reaches the image: letting app/tests/
    // in is a change, and from then on a change there is one too.
    context.edit(".dockerignore", |ignore| ignore.replace("app/tests/\n", ""));
    let let_in = next(&lines, "a .dockerignore change");
    assert!(let_in["changed"].as_array().unwrap().iter().any(|c| c == ".dockerignore"), "{let_in}");
    context.write("app/tests/test_x.py", "def test_x():\n    assert True\n");
    let now_in = next(&lines, "a change newly let in");
    assert_eq!(now_in["changed"], serde_json::json!(["app/tests/test_x.py"]), "{now_in}");
    assert_eq!(now_in["outcome"], "serving", "{now_in}");

    // The project's files are read again when one changes: a setting
    // restarts the same image with it; a mistake in one is said and the
    // old code serves; a build arg reaches the next build.
    let serving_image = now_in["imageId"].as_str().unwrap().to_string();
    context.write("docker/run.env", "XTASK_WATCH_SETTING=on\n");
    let set = next(&lines, "a setting");
    assert_eq!((set["outcome"].as_str(), set["imageId"].as_str()), (Some("serving"), Some(&*serving_image)), "{set}");
    // The one replaced may still be stopping beside it.
    let envs: Vec<String> = containers_of(pid)
        .iter()
        .map(|c| docker(&["inspect", "--format", "{{json .Config.Env}}", c]))
        .map(|ran| String::from_utf8_lossy(&ran.stdout).into_owned())
        .collect();
    assert!(
        envs.iter().any(|env| env.contains("XTASK_WATCH_SETTING=on")),
        "the setting reached the container: {envs:?}"
    );
    context.write("docker/build-args", "not a setting\n");
    let mistake = next(&lines, "a bad line in build-args");
    assert_eq!(mistake["outcome"], "kept", "{mistake}");
    assert!(mistake["message"].as_str().unwrap().contains("build-args"), "the file is named: {mistake}");
    assert_eq!(get("/added"), Some(200), "the old code still serves");
    context.write("docker/build-args", "APP_PORT=8001\n");
    let argued = next(&lines, "a build arg");
    assert_eq!(argued["outcome"], "serving", "{argued}");
    let env = docker_ok(&["image", "inspect", "--format", "{{json .Config.Env}}", argued["imageId"].as_str().unwrap()]);
    assert!(env.contains("UVICORN_PORT=8001"), "the build arg reached the build: {env}");
    context.write("docker/build-args", "");
    let reset = next(&lines, "the build args taken back");
    assert_eq!(reset["outcome"], "serving", "{reset}");

    // A save during a build stops it: one cycle builds the newest files.
    // The slow step runs after the app's files, so every build of an
    // edit waits for it.
    context.edit("docker/Dockerfile", |dockerfile| dockerfile + "RUN sleep 8\n");
    std::thread::sleep(Duration::from_secs(3));
    context.edit("app/main.py", |main| main.replace("\"added\": 1", "\"added\": 2"));
    let newest = next(&lines, "a save during a build");
    assert_eq!(newest["outcome"], "serving", "{newest}");
    assert_eq!(newest["changed"], serde_json::json!(["app/main.py", "docker/Dockerfile"]), "{newest}");
    assert!(lines.recv_timeout(Duration::from_secs(2)).is_err(), "the stale build served too");
    assert!(answer("/added").unwrap_or_default().ends_with(r#"{"added":2}"#), "the newest code serves");

    signal(pid, "TERM");
    let summary = next(&lines, "the summary");
    assert_eq!(summary["summary"], true, "{summary}");
    assert_eq!(
        (summary["cycles"].as_u64(), summary["served"].as_u64(), summary["kept"].as_u64()),
        (Some(11), Some(9), Some(2))
    );
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(143), "a run a signal ended exits 128 + its number");
    let said = said.join().unwrap();
    assert!(said.contains("invalid syntax") || said.contains("SyntaxError"), "the reason, on stderr: {said}");
    assert!(said.contains("Files changed during the build"), "the stale build was stopped: {said}");
    assert_eq!(containers_of(pid), Vec::<String>::new(), "watch left a container");
    assert!(get("/").is_none(), "the URL is closed");
}
