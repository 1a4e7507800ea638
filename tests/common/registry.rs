//! A real registry for the tests: Debian's `docker-registry` (the CNCF
//! distribution registry, 2.8) on an address of ours and a free port, with
//! a scratch storage folder and a config file of its own, optionally with
//! htpasswd auth. `Drop` stops it and removes its folder.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use super::TempDir;

pub const USER: &str = "xtask";
pub const PASSWORD: &str = "xtask-registry-test";
/// bcrypt of PASSWORD (cost 4: a test's login need not be slow).
const PASSWORD_HASH: &str = "$2b$04$UIDcC6jrCKGVblLTPQyfD.kjZdPJIHHImn7EditQTQQt5v84I5KCm";

pub struct Registry {
    /// `IP:PORT`.
    pub address: String,
    child: Child,
    _dir: TempDir,
}

impl Registry {
    /// A registry on `ip` (127.0.0.1, or a test host's address of ours), on a free port.
    pub fn start(ip: &str, with_login: bool) -> Registry {
        let port = TcpListener::bind((ip, 0)).unwrap().local_addr().unwrap().port();
        Registry::start_at(&format!("{ip}:{port}"), with_login)
    }

    /// A registry on `address` (`IP:PORT`).
    pub fn start_at(address: &str, with_login: bool) -> Registry {
        Registry::start_in(None, address, with_login)
    }

    /// A registry on `address` in network namespace `namespace` (None: this
    /// machine's own).
    pub fn start_in(namespace: Option<&str>, address: &str, with_login: bool) -> Registry {
        let address = address.to_string();
        let dir = TempDir::new("registry");
        let auth = if with_login {
            dir.write("htpasswd", &format!("{USER}:{PASSWORD_HASH}\n"));
            format!("auth:\n  htpasswd:\n    realm: xtask-test\n    path: {}/htpasswd\n", dir.str())
        } else {
            String::new()
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}/data\n  delete:\n    enabled: true\nhttp:\n  addr: {address}\n{auth}",
            dir.str()
        );
        dir.write("config.yml", &config);
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let mut command = match namespace {
            Some(namespace) => {
                let mut command = Command::new("nsenter");
                command.arg(format!("--net=/var/run/netns/{namespace}")).arg("docker-registry");
                command
            }
            None => Command::new("docker-registry"),
        };
        let child = command
            .args(["serve", &format!("{}/config.yml", dir.str())])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("docker-registry starts");
        let registry = Registry { address, child, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !registry.listens(namespace) {
            assert!(Instant::now() < deadline, "the registry did not answer on {}", registry.address);
            std::thread::sleep(Duration::from_millis(100));
        }
        registry
    }

    fn listens(&self, namespace: Option<&str>) -> bool {
        match namespace {
            None => self.status("/v2/").is_some(),
            // bash's /dev/tcp, from inside the namespace.
            Some(namespace) => {
                let (ip, port) = self.address.rsplit_once(':').unwrap();
                let probe = format!("exec 3<>/dev/tcp/{ip}/{port}");
                Command::new("nsenter")
                    .args([&format!("--net=/var/run/netns/{namespace}"), "bash", "-c", &probe])
                    .output()
                    .is_ok_and(|o| o.status.success())
            }
        }
    }

    /// The status of GET `path`; None while nothing answers.
    pub fn status(&self, path: &str) -> Option<u16> {
        let mut stream = TcpStream::connect(&self.address).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(stream, "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.address).ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        response.split_whitespace().nth(1)?.parse().ok()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP proxy on 127.0.0.1 to `target` that stops passing data on, and
/// says so, once one connection has sent `after` bytes to it: a push that
/// hangs in the middle of its upload, for the test of a signal then.
pub struct StallingProxy {
    pub address: String,
    stalled: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl StallingProxy {
    pub fn start(target: &str, after: usize) -> StallingProxy {
        use std::sync::{atomic::AtomicBool, Arc};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let stalled = Arc::new(AtomicBool::new(false));
        let (target, flag) = (target.to_string(), Arc::clone(&stalled));
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&target) else { continue };
                let (mut client_in, mut server_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (mut server_in, mut client_out) = (server, client);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut server_in, &mut client_out);
                });
                let flag = Arc::clone(&flag);
                std::thread::spawn(move || {
                    let (mut sent, mut buf) = (0, [0u8; 16384]);
                    while let Ok(n @ 1..) = client_in.read(&mut buf) {
                        sent += n;
                        if sent > after {
                            // Hold the connection, pass nothing more on.
                            flag.store(true, std::sync::atomic::Ordering::SeqCst);
                            while client_in.read(&mut buf).is_ok_and(|n| n > 0) {}
                            return;
                        }
                        if server_out.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        StallingProxy { address, stalled }
    }

    /// Whether an upload has reached the point where it hangs.
    pub fn stalled(&self) -> bool {
        self.stalled.load(std::sync::atomic::Ordering::SeqCst)
    }
}
