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
    // The status line is all we need; stop reading once it is complete.
    let head = request("GET", address, path, headers, timeout, b"\r\n")?;
    status_code(&head).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no HTTP status line"))
}

/// The status and the response headers (names in lowercase) of `HEAD path`.
pub fn head(address: SocketAddr, path: &str, headers: &[Header], timeout: Duration) -> io::Result<(u16, Vec<Header>)> {
    answer("HEAD", address, path, headers, timeout)
}

/// The status and the response headers (names in lowercase) of `GET path`.
pub fn get_head(
    address: SocketAddr,
    path: &str,
    headers: &[Header],
    timeout: Duration,
) -> io::Result<(u16, Vec<Header>)> {
    answer("GET", address, path, headers, timeout)
}

fn answer(
    method: &str,
    address: SocketAddr,
    path: &str,
    headers: &[Header],
    timeout: Duration,
) -> io::Result<(u16, Vec<Header>)> {
    let head = request(method, address, path, headers, timeout, b"\r\n\r\n")?;
    let status = status_code(&head).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no HTTP status line"))?;
    let text = String::from_utf8_lossy(&head);
    let fields = text.split("\r\n").skip(1).take_while(|line| !line.is_empty());
    let fields = fields
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()));
    Ok((status, fields.collect()))
}

/// Sends `METHOD path` and reads the answer until `end` (or 16 KiB).
fn request(
    method: &str,
    address: SocketAddr,
    path: &str,
    headers: &[Header],
    timeout: Duration,
    end: &[u8],
) -> io::Result<Vec<u8>> {
    let timeout = timeout.max(Duration::from_millis(10));
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    // One write: a request written in pieces may meet a server that has
    // read the first piece, answered and closed.
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request += &format!("{name}: {value}\r\n");
    }
    stream.write_all(format!("{request}\r\n").as_bytes())?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 512];
    while !answer.windows(end.len()).any(|w| w == end) && answer.len() < 16384 {
        match stream.read(&mut buf)? {
            0 => break,
            n => answer.extend_from_slice(&buf[..n]),
        }
    }
    Ok(answer)
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
    fn head_reads_the_headers() {
        let port = server("HTTP/1.1 200 OK\r\nDocker-Content-Digest: sha256:ab\r\nContent-Length: 9\r\n\r\n");
        let (status, headers) =
            head(SocketAddr::from(([127, 0, 0, 1], port)), "/v2/", &[], Duration::from_secs(2)).unwrap();
        assert_eq!(status, 200);
        assert!(headers.contains(&("docker-content-digest".to_string(), "sha256:ab".to_string())), "{headers:?}");
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
