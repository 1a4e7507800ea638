//! A minimal HTTP/1.1 client over std's `TcpStream`, with connect and read
//! timeouts: enough to ask a local service for a status code, or to send a
//! JSON body and read the JSON answer, and no HTTP crate to compile.

use std::{
    io::{self, Read, Write},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

/// A request header, `(name, value)`; the value may be a secret, and is
/// only ever written to the request.
pub type Header = (String, String);

/// A port of this machine's loopback that nothing listens on now, for a
/// service about to be published there.
pub fn free_port() -> io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Fails, in a sentence, when something listens on `port` of loopback:
/// before a build, rather than after it.
pub fn ensure_free(port: u16) -> anyhow::Result<()> {
    if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        anyhow::bail!(
            "Port {port} on 127.0.0.1 is busy. Choose another with --port, or leave --port out for a free one."
        );
    }
    Ok(())
}

/// The status code of `GET path` on `address`, with `headers`. Any
/// error, a timeout included, means "no HTTP answer yet".
pub fn get(address: SocketAddr, path: &str, headers: &[Header], timeout: Duration) -> io::Result<u16> {
    // The status line is all we need; stop reading once it is complete.
    let head = request("GET", address, path, headers, timeout, b"\r\n")?;
    status(&head)
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
    let status = status(&head)?;
    let text = String::from_utf8_lossy(&head);
    let fields = text.split("\r\n").skip(1).take_while(|line| !line.is_empty());
    let fields = fields
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()));
    Ok((status, fields.collect()))
}

/// An answer: its status and its body (de-chunked).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// The largest body `send` reads: a check's answer, not a download.
const MAX_BODY: usize = 1 << 20;

/// A request: `METHOD path`, its headers, and a JSON body when given.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: &'a [Header],
    /// The body, and its content type.
    pub body: Option<(&'a str, &'a [u8])>,
}

/// Sends `request` and reads the whole answer.
pub fn send(address: SocketAddr, request: &Request<'_>, timeout: Duration) -> io::Result<Answer> {
    let stream = connect(address, request, timeout)?;
    let mut answer = Vec::new();
    stream.take(MAX_BODY as u64).read_to_end(&mut answer)?;
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").map(|at| at + 4).unwrap_or(answer.len());
    let status = status(&answer)?;
    let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
    let body = answer[split..].to_vec();
    let chunked = head.lines().any(|line| line.starts_with("transfer-encoding:") && line.contains("chunked"));
    Ok(Answer { status, body: if chunked { dechunk(&body) } else { body } })
}

/// A chunked body's data: `SIZE\r\nDATA\r\n`… up to the empty chunk.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&body[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok());
        let Some(size) = size.filter(|&size| size > 0) else { break };
        let start = end + 2;
        let Some(chunk) = body.get(start..start + size) else { break };
        data.extend_from_slice(chunk);
        body = body.get(start + size + 2..).unwrap_or_default();
    }
    data
}

/// Connects and writes the request, in one write: a request written in
/// pieces may meet a server that has read the first piece, answered and
/// closed.
fn connect(address: SocketAddr, request: &Request<'_>, timeout: Duration) -> io::Result<TcpStream> {
    let Request { method, path, headers, body } = *request;
    let timeout = timeout.max(Duration::from_millis(10));
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n").into_bytes();
    for (name, value) in headers {
        request.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if let Some((content_type, bytes)) = body {
        request.extend_from_slice(
            format!("Content-Type: {content_type}\r\nContent-Length: {}\r\n", bytes.len()).as_bytes(),
        );
    }
    request.extend_from_slice(b"\r\n");
    request.extend_from_slice(body.map(|(_, bytes)| bytes).unwrap_or_default());
    stream.write_all(&request)?;
    Ok(stream)
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
    let mut stream = connect(address, &Request { method, path, headers, body: None }, timeout)?;
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

/// The status code of an answer; none is no HTTP answer.
fn status(head: &[u8]) -> io::Result<u16> {
    status_code(head).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no HTTP status line"))
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
    fn send_posts_json_and_reads_the_answer_whole_or_chunked() {
        let port = server("HTTP/1.1 201 Created\r\nContent-Length: 9\r\n\r\n{\"id\":7}");
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let post = Request { method: "POST", path: "/items", headers: &[], body: Some(("application/json", b"{}")) };
        let answer = send(address, &post, Duration::from_secs(2)).unwrap();
        assert_eq!((answer.status, answer.body.as_slice()), (201, &b"{\"id\":7}"[..]));
        let port = server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n");
        let get = Request { method: "GET", path: "/", headers: &[], body: None };
        let answer = send(SocketAddr::from(([127, 0, 0, 1], port)), &get, Duration::from_secs(2)).unwrap();
        assert_eq!(answer.body, b"{\"a\":1}");
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
