//! A minimal HTTP/1.1 GET over std's `TcpStream`, with connect and read
//! timeouts: enough to ask a local service for a status code, and no HTTP
//! crate to compile.

use std::{
    io::{self, Read, Write},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

/// A request header, `(name, value)`; the value may be a secret, and is
/// only ever written to the request.
pub type Header = (String, String);

/// The status code of `GET path` on `address`, with `headers`. Any
/// error, a timeout included, means "no HTTP answer yet".
pub fn get(address: SocketAddr, path: &str, headers: &[Header], timeout: Duration) -> io::Result<u16> {
    let timeout = timeout.max(Duration::from_millis(10));
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    // One write: a request written in pieces may meet a server that has
    // read the first piece, answered and closed.
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request += &format!("{name}: {value}\r\n");
    }
    stream.write_all(format!("{request}\r\n").as_bytes())?;
    // The status line is all we need; stop reading once it is complete.
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 4096 {
        match stream.read(&mut buf)? {
            0 => break,
            n => head.extend_from_slice(&buf[..n]),
        }
    }
    status_code(&head).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no HTTP status line"))
}

/// `HTTP/1.1 200 OK\r\n…` → 200.
fn status_code(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.split_whitespace();
    words.next().filter(|v| v.starts_with("HTTP/"))?;
    words.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use std::{net::TcpListener, thread, time::Instant};

    use super::*;

    /// A one-connection server on a free port that answers with `response`
    /// (or holds the connection open, saying nothing, when it is empty).
    fn server(response: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request);
            if response.is_empty() {
                thread::sleep(Duration::from_secs(5));
            }
            let _ = stream.write_all(response.as_bytes());
        });
        port
    }

    #[test]
    fn reads_the_status_code() {
        let port = server("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n");
        assert_eq!(get(SocketAddr::from(([127, 0, 0, 1], port)), "/health", &[], Duration::from_secs(2)).unwrap(), 503);
    }

    #[test]
    fn a_silent_server_times_out() {
        let port = server("");
        let started = Instant::now();
        assert!(get(SocketAddr::from(([127, 0, 0, 1], port)), "/health", &[], Duration::from_millis(300)).is_err());
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn garbage_is_no_status() {
        assert_eq!(status_code(b"HTTP/1.0 200 OK\r\n"), Some(200));
        assert_eq!(status_code(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(status_code(b""), None);
    }
}
