//! A "remote host" of the test's own: a network namespace with a veth
//! pair to this machine, an address of its own, and a second dockerd in
//! it (its own data-root, exec-root and pidfile) that listens on TCP at
//! that address only. The tests talk to it at that address and nowhere
//! else. Its containers reach the package index through NAT on this
//! machine, as this machine's own containers do, so that builds there can
//! pip install. `Drop` tears it all down: dockerd, namespace, rules, files.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct RemoteHost {
    namespace: String,
    subnet: String,
    address: String,
    dir: PathBuf,
    dockerd: Option<Child>,
}

/// Runs `program args`; panics with its output when it fails.
fn run(program: &str, args: &[&str]) {
    let output = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program} did not start: {e}"));
    assert!(output.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// The firewall rules that let the namespace's traffic out through NAT:
/// Docker's FORWARD policy drops what it does not know.
fn rules(subnet: &str) -> [Vec<String>; 3] {
    let rule = |words: &[&str]| words.iter().map(|w| w.replace("SUBNET", subnet)).collect();
    [
        rule(&["-t", "nat", "POSTROUTING", "-s", "SUBNET", "-j", "MASQUERADE"]),
        rule(&["FORWARD", "-s", "SUBNET", "-j", "ACCEPT"]),
        rule(&["FORWARD", "-d", "SUBNET", "-j", "ACCEPT"]),
    ]
}

/// `rule` with the action (`-I`, `-D`) in front of its chain.
fn iptables(action: &str, rule: &[String]) -> Vec<String> {
    let mut args = rule.to_vec();
    let chain = if args[0] == "-t" { 2 } else { 0 };
    args.insert(chain, action.to_string());
    args
}

impl RemoteHost {
    /// The host, and a registry on the host's own loopback, 127.0.0.1:5000,
    /// which its engine speaks plain HTTP to (BuildKit's cache import does
    /// so for loopback alone), and which only the engine reaches.
    pub fn start_with_registry() -> (RemoteHost, super::registry::Registry) {
        let host = RemoteHost::start();
        let registry = super::registry::Registry::start_in(Some(&host.namespace), "127.0.0.1:5000", false);
        (host, registry)
    }

    /// Makes the host and waits until its dockerd answers.
    pub fn start() -> RemoteHost {
        // One /30 per test process, from its pid: two runs at once do not meet.
        let net = std::process::id() % 250 + 1;
        let (base, address) = (format!("10.231.{net}.1"), format!("10.231.{net}.2"));
        let namespace = format!("xtask-remote-{}", std::process::id());
        let dir = std::env::temp_dir().join(&namespace);
        let subnet = format!("10.231.{net}.0/30");
        let mut host = RemoteHost { namespace, subnet, address, dir, dockerd: None };
        let (outside, inside) = (format!("xto{net}"), format!("xti{net}"));
        let ns = host.namespace.clone();
        run("ip", &["netns", "add", &ns]);
        run("ip", &["link", "add", &outside, "type", "veth", "peer", "name", &inside]);
        run("ip", &["link", "set", &inside, "netns", &ns]);
        run("ip", &["addr", "add", &format!("{base}/30"), "dev", &outside]);
        run("ip", &["link", "set", &outside, "up"]);
        let in_ns = |args: &[&str]| run("ip", &[&["netns", "exec", &ns, "ip"], args].concat());
        in_ns(&["addr", "add", &format!("{}/30", host.address), "dev", &inside]);
        in_ns(&["link", "set", &inside, "up"]);
        in_ns(&["link", "set", "lo", "up"]);
        in_ns(&["route", "add", "default", "via", &base]);
        for rule in rules(&host.subnet) {
            let args = iptables("-I", &rule);
            run("iptables", &args.iter().map(String::as_str).collect::<Vec<_>>());
        }
        std::fs::create_dir_all(&host.dir).unwrap();
        let path = |name: &str| host.dir.join(name).to_str().unwrap().to_string();
        let log = std::fs::File::create(host.dir.join("dockerd.log")).unwrap();
        // nsenter, not `ip netns exec`: that one remounts /sys, which hides
        // the cgroup mounts dockerd needs.
        let dockerd = Command::new("nsenter")
            .arg(format!("--net=/var/run/netns/{ns}"))
            .args(["dockerd", "--host", &format!("tcp://{}:2375", host.address), "--tls=false"])
            .args(["--data-root", &path("data"), "--exec-root", &path("exec"), "--pidfile", &path("dockerd.pid")])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("dockerd starts");
        host.dockerd = Some(dockerd);
        host.wait_until_it_answers();
        host
    }

    /// DOCKER_HOST for it.
    pub fn docker_host(&self) -> String {
        format!("tcp://{}:2375", self.address)
    }

    fn wait_until_it_answers(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let answered = Command::new("docker")
                .args(["--host", &self.docker_host(), "version"])
                .output()
                .is_ok_and(|o| o.status.success());
            if answered {
                return;
            }
            let log = std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
            assert!(Instant::now() < deadline, "the remote dockerd did not answer in 60 s:\n{log}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for RemoteHost {
    fn drop(&mut self) {
        if let Some(mut dockerd) = self.dockerd.take() {
            // SIGTERM: dockerd stops its containers and unmounts its layers.
            let _ = Command::new("kill").args(["-TERM", &dockerd.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while dockerd.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = dockerd.kill();
            let _ = dockerd.wait();
        }
        for rule in rules(&self.subnet) {
            let _ = Command::new("iptables").args(iptables("-D", &rule)).output();
        }
        // The veth pair goes with the namespace.
        let _ = Command::new("ip").args(["netns", "del", &self.namespace]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
