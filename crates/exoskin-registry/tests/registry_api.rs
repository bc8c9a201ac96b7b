//! The registry over HTTP on SQLite: publish, resolve, revoke, audit; and every kind of bad
//! input answered with a clear 4xx while stored data stays untouched.
mod common;
use common::*;
use exoskin_registry::store;

fn db(dir: &TempDir) -> String {
    dir.path().join("reg.sqlite3").to_str().unwrap().to_string()
}

#[test]
fn sqlite_store_conformance() {
    let dir = TempDir::new("suite");
    let s = store::open(&db(&dir), 2).unwrap();
    store_suite(s.as_ref());
}

#[test]
fn publish_resolve_revoke_round_trip() {
    let dir = TempDir::new("api");
    api::publish_resolve_revoke_round_trip(&db(&dir));
}

#[test]
fn bad_input_gets_a_clear_4xx_and_leaves_data_untouched() {
    let dir = TempDir::new("api");
    let db = db(&dir);
    api::bad_input_gets_a_clear_4xx_and_leaves_data_untouched(&db);
    // The audit log, certificates and revocations refuse UPDATE and DELETE even from
    // inside the database.
    let c = rusqlite::Connection::open(&db).unwrap();
    for sql in [
        "UPDATE audit_log SET actor = 'x'",
        "DELETE FROM audit_log",
        "UPDATE certificates SET body = '{}'",
        "DELETE FROM certificates",
        "DELETE FROM revocations",
        "UPDATE revocations SET reason = ''",
    ] {
        assert!(c.execute(sql, []).is_err(), "{sql} was allowed");
    }
}

#[test]
fn hostile_lots_that_are_valid_gs1_are_stored_literally_and_escaped_in_html() {
    let dir = TempDir::new("api");
    api::hostile_lots_that_are_valid_gs1_are_stored_literally_and_escaped_in_html(&db(&dir));
}

/// Send raw bytes, read everything until the server closes.
fn raw(addr: &str, bytes: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether the server still answers a plain request.
fn healthy(addr: &str) -> bool {
    raw(
        addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .starts_with("HTTP/1.1 200")
}

#[test]
fn malformed_and_smuggling_shaped_requests_get_400_and_the_server_keeps_serving() {
    let dir = TempDir::new("raw");
    let s = start_server(&db(&dir), 64 * 1024);
    let addr = s.addr.to_string();
    let cases: Vec<(&str, &[u8], &str)> = vec![
        ("garbage", b"GARBAGE\r\n\r\n", "HTTP/1.1 400"),
        ("extra token in the request line", b"GET /healthz HTTP/1.1 extra\r\n\r\n", "HTTP/1.1 400"),
        ("target not a path", b"GET healthz HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400"),
        ("lower-case method", b"get /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400"),
        ("HTTP/1.2", b"GET /healthz HTTP/1.2\r\nHost: x\r\n\r\n", "HTTP/1.1 400"),
        ("bare CR in a header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", "HTTP/1.1 400"),
        ("NUL in a header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", "HTTP/1.1 400"),
        ("Content-Length with a letter", b"POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\nContent-Length: 12x\r\n\r\n", "HTTP/1.1 400"),
        ("Content-Length with a Unicode space", "POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\nContent-Length: 1\u{2003}2\r\n\r\n".as_bytes(), "HTTP/1.1 400"),
        ("Content-Length overflowing", b"POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", "HTTP/1.1 400"),
        ("two different Content-Lengths", b"POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "HTTP/1.1 400"),
        ("CL.TE", b"POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG", "HTTP/1.1 400"),
        ("TE.CL", b"POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n", "HTTP/1.1 400"),
        ("obfuscated TE", b"POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 400"),
        ("chunked body", b"POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "HTTP/1.1 400"),
    ];
    for (what, req, want) in cases {
        let got = raw(&addr, req);
        assert!(
            got.starts_with(want),
            "{what}: {:?} -> {got}",
            String::from_utf8_lossy(req)
        );
        assert!(healthy(&addr), "{what}: the server stopped answering");
    }
    let ok10 = raw(&addr, b"GET /healthz HTTP/1.0\r\n\r\n");
    assert!(ok10.contains(" 200 "), "{ok10}");
    let mut big = b"GET /healthz HTTP/1.1\r\nX-Pad: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 20_000));
    big.extend_from_slice(b"\r\n\r\n");
    let got = raw(&addr, &big);
    assert!(got.starts_with("HTTP/1.1 431"), "{got}");
    assert!(healthy(&addr));

    // Expect: 100-continue: `100 Continue` only after the token was accepted.
    let c = cert_for_lot("EXPECT-1", &key(1));
    let head = |token: &str| {
        format!(
            "POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
            c.text.len()
        )
    };
    // A wrong token gets 401 at once, from the head alone: no 100, body never asked for.
    let got = raw(&addr, head("wrong-token-0123456789").as_bytes());
    assert!(got.starts_with("HTTP/1.1 401"), "{got}");
    let mut req = head(TOKEN).into_bytes();
    req.extend_from_slice(c.text.as_bytes());
    let got = raw(&addr, &req);
    assert!(
        got.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201"),
        "{got}"
    );
    assert_eq!(
        get_json(&addr, "/01/09506000134352/10/EXPECT-1").status,
        200
    );
    s.shutdown();
}
