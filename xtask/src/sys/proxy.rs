//! A TCP proxy on one address that forwards each connection to the
//! current backend. `watch` serves on it: when a new container replaces
//! the old one, the backend switches and the URL stays the same.

use std::{
    io,
    net::{Shutdown, SocketAddr, TcpListener, TcpStream},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    thread,
    time::Duration,
};

pub struct Proxy {
    address: SocketAddr,
    backend: Arc<Mutex<SocketAddr>>,
    stopped: Arc<AtomicBool>,
}

impl Proxy {
    /// Listens on `address` (port 0: a free one) and forwards to `backend`.
    pub fn bind(address: SocketAddr, backend: SocketAddr) -> io::Result<Proxy> {
        let listener = TcpListener::bind(address)?;
        let address = listener.local_addr()?;
        let proxy =
            Proxy { address, backend: Arc::new(Mutex::new(backend)), stopped: Arc::new(AtomicBool::new(false)) };
        let (backend, stopped) = (proxy.backend.clone(), proxy.stopped.clone());
        thread::spawn(move || {
            for client in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let to = *backend.lock().unwrap();
                thread::spawn(move || forward(client, to));
            }
        });
        Ok(proxy)
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// New connections go to `backend` from now on; open ones finish
    /// where they began.
    pub fn switch(&self, backend: SocketAddr) {
        *self.backend.lock().unwrap() = backend;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then sees it is stopped.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_millis(200));
    }
}

/// Copies both ways between `client` and `backend` until each side ends.
fn forward(client: TcpStream, backend: SocketAddr) {
    let Ok(server) = TcpStream::connect_timeout(&backend, Duration::from_secs(2)) else { return };
    let (Ok(client_read), Ok(server_write)) = (client.try_clone(), server.try_clone()) else { return };
    let upstream = thread::spawn(move || pipe(client_read, server_write));
    pipe(server, client);
    let _ = upstream.join();
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    /// A backend that answers every connection with `word`.
    fn backend(word: &'static str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut asked = [0u8; 4];
                let _ = stream.read(&mut asked);
                let _ = stream.write_all(word.as_bytes());
            }
        });
        address
    }

    fn ask(proxy: &Proxy) -> String {
        let mut stream = TcpStream::connect(proxy.address()).unwrap();
        stream.write_all(b"ping").unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }

    #[test]
    fn the_address_stays_and_the_backend_switches() {
        let proxy = Proxy::bind("127.0.0.1:0".parse().unwrap(), backend("old")).unwrap();
        assert_eq!(ask(&proxy), "old");
        proxy.switch(backend("new"));
        assert_eq!(ask(&proxy), "new");
        let address = proxy.address();
        drop(proxy);
        thread::sleep(Duration::from_millis(50));
        assert!(TcpListener::bind(address).is_ok() || TcpStream::connect(address).is_err(), "stopped");
    }
}
