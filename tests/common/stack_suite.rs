//! The stack's scenarios, on the engine the tests run on: `stack.rs` makes
//! each a test on Docker (each builder), `podman.rs` on podman
//! (`stack_suite_tests!`). Each one starts
//! the fixture stack of `tests/fixtures/stack` (other service names and
//! shapes than the project's own compose.yaml) through real Compose, with
//! the offline stand-ins of PostgreSQL and Redis.

use std::{
    net::TcpListener,
    time::{Duration, Instant},
};

use xtask::sys::probe::free_port;

use super::*;

/// Every scenario of the stack suite, each a test of the calling file.
#[macro_export]
macro_rules! stack_suite_tests {
    ($start:expr) => {
        $crate::scenario_tests!($start;
            stack_suite::a_stack_smoke_passes_and_leaves_nothing,
            stack_suite::data_written_before_down_is_there_after_up,
            stack_suite::stack_failures_name_the_service_and_why,
            stack_suite::a_stopped_or_killed_stack_smoke_leaves_nothing,
            stack_suite::an_up_and_a_stack_smoke_of_one_checkout_never_meet,
            stack_suite::watch_replaces_the_services_of_the_image_and_keeps_the_old_on_failure,
        );
    };
}

/// The fixture stack beside a fresh build context: its compose.yaml at
/// the context's root, its app as app/, its checks and settings beside the
/// Dockerfile.
pub fn stack_context() -> TempDir {
    let context = copy_of_build_context(&["app"]);
    let fixture = root().join("tests/fixtures/stack");
    copy_tree(&fixture.join("app"), &context.path().join("app")).unwrap();
    context.write("compose.yaml", &std::fs::read_to_string(fixture.join("compose.yaml")).unwrap());
    context.write("docker/checks.json", &std::fs::read_to_string(fixture.join("checks.json")).unwrap());
    // The service's committed settings reach the stack's services of the
    // image, as they reach `run` and `smoke`: a check reads this one back.
    context.write("docker/run.env", "GREETING=hello from run.env\n");
    context
}

fn compose_file(context: &TempDir) -> String {
    context.path().join("compose.yaml").to_str().unwrap().to_string()
}

/// `cargo xtask TASK` of the stack in `context`, with `extra` arguments.
fn stack_task(task: &str, context: &TempDir, tag: &TagGuard, extra: &[&str]) -> Run {
    finish(spawn_stack_task(task, context, tag, extra))
}

fn spawn_stack_task(task: &str, context: &TempDir, tag: &TagGuard, extra: &[&str]) -> (Child, Instant) {
    let file = compose_file(context);
    let mut args = vec!["--file", file.as_str()];
    if task == "smoke" {
        args.push("--stack");
    }
    args.extend(extra);
    spawn_task_in(task, context, &tag.0, &args, &[])
}

fn down(context: &TempDir, volumes: bool) -> Run {
    let file = compose_file(context);
    let mut args = vec!["down", "--file", file.as_str()];
    if volumes {
        args.push("--volumes");
    }
    let run = xtask(&args);
    assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
    run
}

/// Takes the checkout's stack down with its data when the test ends.
struct Down<'a>(&'a TempDir);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let file = compose_file(self.0);
        let _ = xtask(&["down", "--volumes", "--file", &file]);
    }
}

/// What the engine holds of Compose project `project`: its containers,
/// volumes and networks.
pub fn resources_of(project: &str) -> Vec<String> {
    let label = format!("label=com.docker.compose.project={project}");
    let mut found = Vec::new();
    for kind in [&["ps", "--all"][..], &["volume", "ls"], &["network", "ls"]] {
        let listed = docker_ok(&[kind, &["--quiet", "--filter", &label]].concat());
        found.extend(listed.lines().map(|line| format!("{} {line}", kind[0])));
    }
    found
}

/// `METHOD path` with a JSON body on the engine's host at `port`: the
/// status and the JSON answer.
fn http_json(method: &str, port: u16, path: &str, body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(format!("{}:{port}", published_host())).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.split_whitespace().nth(1).unwrap().parse().unwrap();
    let json = answer.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
    (status, serde_json::from_str(json).unwrap_or(Value::Null))
}

fn assert_every_service_ready(run: &Run, count: usize) {
    let services = run.json["services"].as_array().unwrap_or_else(|| panic!("no services in {}", run.json));
    assert_eq!(services.len(), count, "{}", run.json);
    for service in services {
        assert_eq!(service["ready"], true, "{service}");
        assert!(service["readyMs"].is_u64() && service["container"].is_string(), "{service}");
    }
}

pub fn a_stack_smoke_passes_and_leaves_nothing() {
    let tag = TagGuard::new("stack");
    let context = stack_context();
    let run = stack_task("smoke", &context, &tag, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.json, run.stderr);
    assert_eq!(run.str("imageId"), image_id(&tag.0), "the tag moved to the image that passed");
    assert_every_service_ready(&run, 6);
    assert!(
        run.stderr.contains("Offline: service cache's image redis:7.2-alpine is not here, so the stand-in"),
        "{}",
        run.stderr
    );
    let schema = run.json["services"].as_array().unwrap().iter().find(|s| s["name"] == "schema").unwrap();
    assert_eq!(schema["state"], "exited", "the one-shot migration ran and ended");
    let checks: Vec<String> = run.json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{} {}", c["path"].as_str().unwrap(), c["status"]))
        .collect();
    assert_eq!(checks[..3], ["/health 200", "/ 200", "/notes 201"]);
    assert!(checks[3].starts_with("/notes/") && checks[5].starts_with("/shout/"), "{checks:?}");
    for timing in ["buildMs", "readyMs", "checksMs", "stopMs"] {
        assert!(run.json["timings"][timing].is_u64(), "{timing} in {}", run.json);
    }
    let project = run.str("project");
    assert_eq!(resources_of(project), Vec::<String>::new(), "the stack left something behind");
    assert!(!context.path().join(".env").exists(), "a run's password is its own, kept nowhere");
}

pub fn data_written_before_down_is_there_after_up() {
    let tag = TagGuard::new("up");
    let context = stack_context();
    let _down = Down(&context);
    let port = free_port().unwrap();
    let api_port = format!("API_PORT={port}");
    let up = stack_task("up", &context, &tag, &["--env", &api_port]);
    assert_eq!(up.code, 0, "{}\n{}", up.json, up.stderr);
    assert_every_service_ready(&up, 6);
    let web = up.json["services"].as_array().unwrap().iter().find(|s| s["name"] == "web").unwrap().clone();
    assert_eq!(web["url"], format!("http://{}:{port}", published_host()), "{web}");
    // The checkout's password: made once, kept where Compose reads it, never printed.
    let dotenv = std::fs::read_to_string(context.path().join(".env")).unwrap();
    let password = dotenv.lines().find_map(|l| l.strip_prefix("POSTGRES_PASSWORD=")).unwrap().to_string();
    assert!(!up.stderr.contains(&password) && !up.json.to_string().contains(&password));

    let (status, note) = http_json("POST", port, "/notes", r#"{"body": "kept"}"#);
    assert_eq!(status, 201, "{note}");
    let id = note["id"].as_u64().unwrap();
    let project = up.str("project").to_string();
    let down_run = down(&context, false);
    assert_eq!(down_run.str("project"), project);
    let left = resources_of(&project);
    assert!(left.iter().all(|r| r.starts_with("volume ")) && left.len() == 2, "only the data stays: {left:?}");

    let again = stack_task("up", &context, &tag, &["--env", &api_port, "--no-build"]);
    assert_eq!(again.code, 0, "{}\n{}", again.json, again.stderr);
    let (status, read) = http_json("GET", port, &format!("/notes/{id}"), "");
    assert_eq!((status, read["body"].as_str()), (200, Some("kept")), "the row written before down");
    let gone = down(&context, true);
    assert_eq!(gone.json["volumesRemoved"], true);
    assert_eq!(resources_of(&project), Vec::<String>::new(), "down --volumes leaves nothing");
}

pub fn stack_failures_name_the_service_and_why() {
    let tag = TagGuard::new("stackfail");
    let before = image_id_or_none(&tag.0);
    let failing = |edit: &dyn Fn(&TempDir), says: &[&str]| {
        let context = stack_context();
        edit(&context);
        let run = stack_task("smoke", &context, &tag, &["--stack-timeout", "60"]);
        for said in says {
            assert_failed(&run, said);
        }
        if let Some(project) = run.json["project"].as_str() {
            assert_eq!(resources_of(project), Vec::<String>::new(), "{says:?} left something behind");
        }
        assert_eq!(image_id_or_none(&tag.0), before, "{says:?}: the tag did not move");
        run
    };
    failing(&|c| std::fs::remove_file(c.path().join("compose.yaml")).unwrap(), &["There is no Compose file"]);
    failing(&|c| c.edit("compose.yaml", |y| y.replace("  web:\n", "  web:\n bad: [\n")), &["Compose cannot read"]);
    failing(
        &|c| {
            c.edit("compose.yaml", |y| {
                y.replace("cache: { condition: service_started }", "queue: { condition: service_started }")
            })
        },
        &["Compose cannot read", "undefined service \"queue\""],
    );
    failing(
        &|c| c.write("app/migrate.py", "raise SystemExit('fixture: the migration cannot run')\n"),
        &["Service schema failed with exit code 1", "fixture: the migration cannot run"],
    );
    failing(
        &|c| {
            c.write("app/broken.py", "raise RuntimeError('fixture: the worker fails at import')\n");
            c.edit("compose.yaml", |y| y.replace(r#""-A", "tasks", "worker""#, r#""-A", "broken", "worker""#));
        },
        &["Service jobs exited with", "fixture: the worker fails at import"],
    );
    let run = failing(
        &|c| c.edit("compose.yaml", |y| y.replace("      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n", "")),
        &["Service db exited with 1", "superuser password is not specified"],
    );
    let db = run.json["services"].as_array().unwrap().iter().find(|s| s["name"] == "db").unwrap();
    assert!(!db["logTail"].as_array().unwrap().is_empty(), "the failed service's log is in the report: {db}");

    // A sidecar whose check never passes is the one named, not the service
    // that waits on it.
    let gate = "  gate:\n    <<: *image\n    command: [\"python\", \"-c\", \"import time; time.sleep(600)\"]\n    \
                healthcheck:\n      test: [\"CMD\", \"python\", \"-c\", \"raise SystemExit(1)\"]\n\n  db:\n";
    let waits = "      cache: { condition: service_started }\n      gate: { condition: service_healthy }\n";
    let context = stack_context();
    context.edit("compose.yaml", |y| {
        y.replace("  db:\n", gate).replace("      cache: { condition: service_started }\n", waits)
    });
    let run = stack_task("smoke", &context, &tag, &["--stack-timeout", "8"]);
    assert_failed(&run, "Service gate was not ready within 8 s (the tool waited for `python -c raise SystemExit(1)`");
    assert!(run.str("message").contains("web never started"), "{}", run.json);
    assert_eq!(resources_of(run.str("project")), Vec::<String>::new(), "the sidecar's stack was left");

    // A taken port, on `up`: the checkout's own port.
    let context = stack_context();
    let _down = Down(&context);
    let taken = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let run = stack_task("up", &context, &tag, &["--env", &format!("API_PORT={port}")]);
    assert_failed(&run, "Compose could not start web");
    assert!(run.str("message").contains(&port.to_string()), "the port is named: {}", run.json);
}

fn image_id_or_none(reference: &str) -> Option<String> {
    docker(&["image", "inspect", "--format", "{{.Id}}", reference]).status.success().then(|| image_id(reference))
}

/// The Compose project that process `pid`'s `smoke --stack` runs, once it
/// has a container.
fn wait_for_stack(pid: u32) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let owned = docker_ok(&["ps", "--all", "--filter", "label=dev.xtask.stack-owner", "--format", "{{.Names}}"]);
        let prefix = format!("xtask-smoke-{pid}-");
        if let Some(name) = owned.lines().find(|name| name.starts_with(&prefix)) {
            return name.split('-').take(4).collect::<Vec<_>>().join("-");
        }
        assert!(Instant::now() < deadline, "process {pid} started no stack");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn a_stopped_or_killed_stack_smoke_leaves_nothing() {
    let tag = TagGuard::new("stacksig");
    let context = stack_context();
    let (child, started) = spawn_stack_task("smoke", &context, &tag, &[]);
    let project = wait_for_stack(child.id());
    signal(child.id(), "TERM");
    let run = finish((child, started));
    assert_eq!(run.code, 143, "{}", run.json);
    assert_eq!(resources_of(&project), Vec::<String>::new(), "SIGTERM: the stack went with its volumes");

    let (mut child, _) = spawn_stack_task("smoke", &context, &tag, &[]);
    let killed = wait_for_stack(child.id());
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!resources_of(&killed).is_empty(), "SIGKILL leaves the stack for the next run");
    // A run that a signal ended while Compose made the network, before any
    // container: its network alone is left, named after its gone process.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let network_only = format!("xtask-smoke-{}-000000001", gone.id());
    // As Compose labels the networks it makes.
    let label = format!("com.docker.compose.project={network_only}");
    let network = format!("{network_only}_default");
    docker_ok(&["network", "create", "--label", &label, "--label", "com.docker.compose.network=default", &network]);
    let next = stack_task("smoke", &context, &tag, &[]);
    assert_eq!(next.code, 0, "{}\n{}", next.json, next.stderr);
    assert!(next.stderr.contains(&format!("Removing the stack {killed}")), "{}", next.stderr);
    assert_eq!(resources_of(&killed), Vec::<String>::new(), "the next run swept the killed run's stack");
    assert_eq!(resources_of(&network_only), Vec::<String>::new(), "the next run swept the network left alone");
}

pub fn an_up_and_a_stack_smoke_of_one_checkout_never_meet() {
    let tag = TagGuard::new("twostacks");
    let context = stack_context();
    let _down = Down(&context);
    // The smoke publishes on a free loopback port, not the file's API_PORT.
    let api_port = format!("API_PORT={}", free_port().unwrap());
    let up = spawn_stack_task("up", &context, &tag, &["--env", &api_port]);
    let smoke = spawn_stack_task("smoke", &context, &tag, &["--env", &api_port]);
    let (up, smoke) = (finish(up), finish(smoke));
    assert_eq!(up.code, 0, "{}\n{}", up.json, up.stderr);
    assert_eq!(smoke.code, 0, "{}\n{}", smoke.json, smoke.stderr);
    assert_ne!(up.str("project"), smoke.str("project"));
    assert_eq!(resources_of(smoke.str("project")), Vec::<String>::new());
    assert!(resources_of(up.str("project")).len() >= 6, "the smoke left the checkout's stack alone");
}

/// The id of the container that runs `service` of Compose project `project`.
fn container_of(project: &str, service: &str) -> String {
    let filters =
        [format!("label=com.docker.compose.project={project}"), format!("label=com.docker.compose.service={service}")];
    docker_ok(&["ps", "--quiet", "--filter", &filters[0], "--filter", &filters[1]])
}

pub fn watch_replaces_the_services_of_the_image_and_keeps_the_old_on_failure() {
    use super::watch_suite::{lines_of, next, Watching};
    let tag = TagGuard::new("watch-stack");
    let context = stack_context();
    let _down = Down(&context);
    // A busy port is said before any build or service, as plain watch says it.
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    let refused = stack_task("watch", &context, &tag, &["--stack", "--port", &busy_port]);
    assert_ne!(refused.code, 0, "{}", refused.json);
    assert!(refused.str("message").starts_with(&format!("Port {busy_port} on 127.0.0.1 is busy.")), "{}", refused.json);
    assert!(!docker(&["image", "inspect", &tag.0]).status.success(), "a build was made for a busy port");
    drop(busy);
    let port = free_port().unwrap();
    let (mut child, _) = spawn_stack_task("watch", &context, &tag, &["--stack", "--port", &port.to_string()]);
    let pid = child.id();
    let lines = lines_of(&mut child);
    let mut child = Watching(child);
    let first = next(&lines, "the stack's start");
    assert_eq!((first["outcome"].as_str(), first["success"].as_bool()), (Some("serving"), Some(true)), "{first}");
    assert_eq!(first["url"], format!("http://127.0.0.1:{port}"));
    assert_eq!(first["services"].as_array().map(Vec::len), Some(6), "{first}");
    let project = first["services"][0]["container"].as_str().unwrap().rsplitn(3, '-').nth(2).unwrap().to_string();
    let (status, note) = http_json("POST", port, "/notes", r#"{"body": "kept across builds"}"#);
    assert_eq!(status, 201, "{note}");
    let note_path = format!("/notes/{}", note["id"]);
    let (db, jobs) = (container_of(&project, "db"), container_of(&project, "jobs"));

    // New code: the web service serves it on the same URL, the worker and
    // beat run it too, the database goes on with its data.
    let route = "\n\n@app.get(\"/added\")\ndef added() -> dict[str, int]:\n    return {\"added\": 1}\n";
    context.edit("app/main.py", |main| main + route);
    let edited = next(&lines, "an edit");
    assert_eq!(edited["outcome"], "serving", "{edited}");
    assert!(edited["latencyMs"]["stack"].is_u64() && edited["latencyMs"]["total"].is_u64(), "{edited}");
    assert_eq!(http_json("GET", port, "/added", "").0, 200, "the new code serves on the same URL");
    assert_eq!(http_json("GET", port, &note_path, "").0, 200, "the data stayed");
    assert_eq!(container_of(&project, "db"), db, "the database was not replaced");
    let replaced = container_of(&project, "jobs");
    assert!(!replaced.is_empty() && replaced != jobs, "the worker runs the new build");

    // A build whose web cannot start: nothing of the stack is touched.
    context.edit("app/main.py", |main| main + "\ndef broken(:\n");
    let broken = next(&lines, "a syntax error");
    assert_eq!((broken["outcome"].as_str(), broken["success"].as_bool()), (Some("kept"), Some(false)), "{broken}");
    assert!(broken["message"].as_str().unwrap().contains("SyntaxError"), "{broken}");
    assert_eq!(http_json("GET", port, "/added", "").0, 200, "the old code still serves");
    assert_eq!(container_of(&project, "jobs"), replaced, "the worker was not touched");
    context.edit("app/main.py", |main| main.replace("\ndef broken(:\n", "\n"));
    let fixed = next(&lines, "the fix");
    assert_eq!(fixed["outcome"], "serving", "{fixed}");

    // A build whose web starts but whose worker cannot: the services go
    // back to the old build, which serves.
    context.edit("app/tasks.py", |tasks| {
        tasks + "\nimport sys\n\nif \"worker\" in sys.argv:\n    raise SystemExit(\"no worker today\")\n"
    });
    let half = next(&lines, "a worker that cannot start");
    assert_eq!(half["outcome"], "kept", "{half}");
    let said = half["message"].as_str().unwrap();
    assert!(said.contains("Service jobs") && said.contains("run the old one again"), "{half}");
    assert_eq!(http_json("GET", port, "/added", "").0, 200, "the old code serves again");
    let jobs = container_of(&project, "jobs");
    assert!(!jobs.is_empty(), "the worker runs the old build again");

    signal(pid, "TERM");
    let summary = next(&lines, "the summary");
    assert_eq!(summary["summary"], true, "{summary}");
    assert_eq!((summary["served"].as_u64(), summary["kept"].as_u64()), (Some(2), Some(2)), "{summary}");
    assert_eq!(child.0.wait().unwrap().code(), Some(143), "a run a signal ended exits 128 + its number");
    let left: Vec<String> = resources_of(&project).into_iter().filter(|r| !r.starts_with("volume ")).collect();
    assert_eq!(left, Vec::<String>::new(), "watch left a container or network of the stack");
    assert_eq!(containers_of(pid), Vec::<String>::new(), "watch left a one-off container");
}
