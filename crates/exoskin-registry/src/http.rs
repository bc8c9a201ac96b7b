//! A small HTTP/1.1 server on `std::net`: one thread per connection (capped), keep-alive,
//! `Content-Length` bodies with a size limit checked before reading, `Expect: 100-continue`,
//! idle and read timeouts, and each response written in one `write` with `TCP_NODELAY`.
//!
//! Chunked request bodies are refused (411): every client of the registry knows the length.
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A parsed request with its whole body.
#[derive(Debug, Clone)]
pub struct Request {
    /// Upper-case method.
    pub method: String,
    /// The request target: path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A response; `Content-Length` and `Connection` are added when it is written.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", content_type.to_string())],
            body,
        }
    }

    fn plain(status: u16, msg: &str) -> Response {
        let body = format!("{{\"error\": {}}}\n", serde_json::Value::String(msg.into()));
        Response::new(status, "application/json", body.into_bytes())
    }
}

/// Limits of the HTTP layer.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_head_bytes: usize,
    pub max_connections: usize,
    /// How long a keep-alive connection may sit idle, and a read may stall.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 256 * 1024,
            max_head_bytes: 16 * 1024,
            max_connections: 512,
            timeout: Duration::from_secs(30),
        }
    }
}

pub type Handler = dyn Fn(&Request) -> Response + Send + Sync;

/// A listening server; dropping it does not stop it, [`HttpServer::shutdown`] does.
pub struct HttpServer {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl HttpServer {
    pub fn start(
        listener: TcpListener,
        limits: Limits,
        handler: Arc<Handler>,
    ) -> io::Result<HttpServer> {
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let open = Arc::new(AtomicUsize::new(0));
        let stop2 = Arc::clone(&stop);
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = conn else { continue };
                if open.fetch_add(1, Ordering::SeqCst) >= limits.max_connections {
                    open.fetch_sub(1, Ordering::SeqCst);
                    let _ = write_response(
                        &stream,
                        &Response::plain(503, "too many connections"),
                        false,
                        false,
                    );
                    continue;
                }
                let (handler, open, stop) =
                    (Arc::clone(&handler), Arc::clone(&open), Arc::clone(&stop2));
                std::thread::spawn(move || {
                    let _ = serve_connection(stream, limits, handler.as_ref(), &stop);
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Ok(HttpServer {
            addr,
            stop,
            accept: Some(accept),
        })
    }

    /// Block until the accept loop ends (it ends only on shutdown).
    pub fn wait(mut self) {
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
    }

    /// Stop accepting; connections finish the request in hand and close.
    pub fn shutdown(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wake the accept loop
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
    }
}

enum Head {
    Request(Request, usize, bool),
    Closed,
    Reject(Response),
}

fn read_head(r: &mut BufReader<TcpStream>, limits: &Limits) -> io::Result<Head> {
    let mut lines: Vec<String> = Vec::new();
    let mut total = 0;
    loop {
        let mut buf = Vec::new();
        let n = r
            .by_ref()
            .take((limits.max_head_bytes + 1 - total.min(limits.max_head_bytes)) as u64)
            .read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok(if lines.is_empty() && total == 0 {
                Head::Closed
            } else {
                Head::Reject(Response::plain(400, "incomplete request"))
            });
        }
        total += n;
        if total > limits.max_head_bytes {
            return Ok(Head::Reject(Response::plain(431, "request head too large")));
        }
        let line = String::from_utf8(buf)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "non-UTF-8 head"));
        let Ok(line) = line else {
            return Ok(Head::Reject(Response::plain(
                400,
                "request head is not UTF-8",
            )));
        };
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            if lines.is_empty() {
                continue; // tolerate blank lines between requests (RFC 9112 2.2)
            }
            break;
        }
        lines.push(line);
    }
    let bad = |m: &str| Ok(Head::Reject(Response::plain(400, m)));
    let mut parts = lines[0].split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return bad("malformed request line");
    };
    if !version.starts_with("HTTP/1.")
        || method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_alphabetic())
    {
        return bad("malformed request line");
    }
    if !target.starts_with('/') {
        return bad("request target must be a path");
    }
    let mut headers = Vec::new();
    for l in &lines[1..] {
        let Some((k, v)) = l.split_once(':') else {
            return bad("malformed header line");
        };
        if k.is_empty() || k.contains(char::is_whitespace) {
            return bad("malformed header name");
        }
        headers.push((k.to_string(), v.trim().to_string()));
    }
    let req = Request {
        method: method.to_ascii_uppercase(),
        target: target.to_string(),
        headers,
        body: Vec::new(),
    };
    if req.header("Transfer-Encoding").is_some() {
        return Ok(Head::Reject(Response::plain(
            411,
            "chunked bodies are not accepted; send Content-Length",
        )));
    }
    let lengths: Vec<&str> = req
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
        .map(|(_, v)| v.as_str())
        .collect();
    let len = match lengths.as_slice() {
        [] => 0,
        [one] if !one.is_empty() && one.bytes().all(|b| b.is_ascii_digit()) => {
            match one.parse::<usize>() {
                Ok(n) => n,
                Err(_) => return Ok(Head::Reject(Response::plain(413, "body too large"))),
            }
        }
        _ => return bad("invalid Content-Length"),
    };
    let conn = req.header("Connection").map(str::to_ascii_lowercase);
    let keep_alive = if version == "HTTP/1.0" {
        conn.as_deref() == Some("keep-alive")
    } else {
        !conn
            .as_deref()
            .is_some_and(|c| c.split(',').any(|t| t.trim() == "close"))
    };
    Ok(Head::Request(req, len, keep_alive))
}

fn serve_connection(
    stream: TcpStream,
    limits: Limits,
    handler: &Handler,
    stop: &AtomicBool,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(limits.timeout))?;
    stream.set_write_timeout(Some(limits.timeout))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let (mut req, len, keep_alive) = match read_head(&mut reader, &limits) {
            Ok(Head::Request(r, len, k)) => (r, len, k),
            Ok(Head::Closed) => return Ok(()),
            Ok(Head::Reject(resp)) => return reject(&stream, &mut reader, &resp),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(())
            }
            Err(e) => return Err(e),
        };
        if len > limits.max_body_bytes {
            let msg = format!(
                "body of {len} bytes is larger than the limit of {} bytes",
                limits.max_body_bytes
            );
            return reject(&stream, &mut reader, &Response::plain(413, &msg));
        }
        if len > 0
            && req
                .header("Expect")
                .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
        {
            (&stream).write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        req.body = vec![0; len];
        reader.read_exact(&mut req.body)?;
        let resp = handler(&req);
        let keep = keep_alive && !stop.load(Ordering::SeqCst);
        write_response(&stream, &resp, keep, req.method == "HEAD")?;
        if !keep {
            return Ok(());
        }
    }
}

/// Answer and close without reading the rest of the request. The unread bytes are drained
/// for a moment first ("lingering close"), or the kernel would reset the connection and the
/// client might never read the answer.
fn reject(
    stream: &TcpStream,
    reader: &mut BufReader<TcpStream>,
    resp: &Response,
) -> io::Result<()> {
    write_response(stream, resp, false, false)?;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = io::copy(&mut reader.by_ref().take(4 << 20), &mut io::sink());
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn write_response(
    mut stream: &TcpStream,
    resp: &Response,
    keep_alive: bool,
    head_only: bool,
) -> io::Result<()> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (k, v) in &resp.headers {
        // Header values come from our own code; strip CR/LF all the same.
        let v: String = v.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: {}\r\n\r\n",
        resp.body.len(),
        if keep_alive { "keep-alive" } else { "close" }
    ));
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(&resp.body);
    }
    stream.write_all(&bytes)?;
    stream.flush()
}
