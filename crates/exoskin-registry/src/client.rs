//! HTTP clients.
//!
//! - [`post_json`]: what the CLI's `publish` and `revoke` use, on `ureq` with rustls, so
//!   `https://` registries work (Mozilla's roots, or `--ca-cert` for a private CA);
//! - [`Conn`] and [`request`]: a raw HTTP/1.1 client over plain TCP for the tests and the
//!   load benchmark, which need to send exactly the bytes they choose (keep-alive included).
use crate::error::{RegistryError, Result};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// One keep-alive connection.
pub struct Conn {
    reader: BufReader<TcpStream>,
    host: String,
}

impl Conn {
    pub fn connect(addr: &str) -> io::Result<Conn> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Conn {
            reader: BufReader::new(s),
            host: addr.to_string(),
        })
    }

    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<HttpResponse> {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() || method == "POST" {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let s = self.reader.get_mut();
        s.write_all(req.as_bytes())?;
        s.write_all(body)?;
        read_response(&mut self.reader, method == "HEAD")
    }
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

fn read_line(r: &mut impl BufRead) -> io::Result<String> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn read_response(r: &mut BufReader<TcpStream>, head: bool) -> io::Result<HttpResponse> {
    let status_line = read_line(r)?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let mut headers = Vec::new();
    loop {
        let l = read_line(r)?;
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if head || status == 204 || status == 304 {
    } else if get("Transfer-Encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let size =
                usize::from_str_radix(read_line(r)?.split(';').next().unwrap_or("").trim(), 16)
                    .map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                while !read_line(r)?.is_empty() {}
                break;
            }
            let start = body.len();
            if start.saturating_add(size) > MAX_RESPONSE_BODY {
                return Err(bad("chunked response body over the limit"));
            }
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])?;
            read_line(r)?;
        }
    } else if let Some(n) = get("Content-Length") {
        let n: usize = n.parse().map_err(|_| bad("bad Content-Length"))?;
        if n > MAX_RESPONSE_BODY {
            return Err(bad(&format!(
                "response Content-Length {n} is over the {MAX_RESPONSE_BODY}-byte limit"
            )));
        }
        body.resize(n, 0);
        r.read_exact(&mut body)?;
    } else {
        r.take(MAX_RESPONSE_BODY as u64 + 1)
            .read_to_end(&mut body)?;
        if body.len() > MAX_RESPONSE_BODY {
            return Err(bad("response body over the limit"));
        }
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// One request on a fresh connection.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<HttpResponse> {
    let mut h = headers.to_vec();
    h.push(("Connection", "close"));
    Conn::connect(addr)?.request(method, path, &h, body)
}

/// The largest response body either client reads (a registry answer is a few KiB).
pub const MAX_RESPONSE_BODY: usize = 16 * 1024 * 1024;

/// A registry's answer: status and body text.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub text: String,
}

/// Check a registry base URL: `http://` or `https://`, a host, no query or fragment.
pub fn check_registry_url(url: &str) -> Result<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| {
            RegistryError::invalid(format!(
                "registry URL `{url}` must start with https:// (or http:// on a trusted network)"
            ))
        })?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || url.contains(['?', '#']) || url.chars().any(char::is_whitespace) {
        return Err(RegistryError::invalid(format!(
            "registry URL `{url}` must be a base URL such as https://registry.example.com"
        )));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// POST a JSON body with a bearer token to `base` + `path`; `ca_cert` (PEM) replaces the
/// built-in roots for a registry with a private CA.
pub fn post_json(
    base: &str,
    path: &str,
    token: &str,
    body: &[u8],
    ca_cert: Option<&std::path::Path>,
) -> Result<Answer> {
    let base = check_registry_url(base)?;
    let url = format!("{base}{path}");
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(p) = ca_cert {
        let pem = std::fs::read(p).map_err(|e| RegistryError::io(p, e))?;
        let mut certs = Vec::new();
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
                Ok(_) => {}
                Err(e) => {
                    return Err(RegistryError::invalid(format!(
                        "--ca-cert {}: {e}",
                        p.display()
                    )))
                }
            }
        }
        if certs.is_empty() {
            return Err(RegistryError::invalid(format!(
                "--ca-cert {}: no CERTIFICATE block",
                p.display()
            )));
        }
        tls = tls.root_certs(ureq::tls::RootCerts::from(certs));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .max_response_header_size(64 * 1024)
        .tls_config(tls.build())
        .build()
        .into();
    let http = |e: ureq::Error| RegistryError::Http {
        url: url.clone(),
        reason: e.to_string(),
    };
    let mut resp = agent
        .post(&url)
        .header("Authorization", &format!("Bearer {token}"))
        .content_type("application/json")
        .send(body)
        .map_err(http)?;
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE_BODY as u64)
        .read_to_string()
        .map_err(http)?;
    Ok(Answer { status, text })
}
