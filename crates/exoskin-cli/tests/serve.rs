//! `exoskin serve`'s first contact: without `--token-file` it makes the issuer's token beside
//! the key (mode 0600) and says where; the issuer publishes with it; the page names the issuer
//! by the name the registry gave it, not by a file name.

#[allow(dead_code)] // json_of is not needed here
mod common;

use common::exe;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;

/// Kills the server when the test ends, pass or fail.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(addr: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

#[test]
fn serve_makes_the_issuer_token_and_pages_name_the_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = |args: &[&str]| {
        let out = exe().current_dir(d).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let qc = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/qc/pass_msc_serum.toml");
    ok(&["batch", "keygen", "--out", "lab.key"]);
    ok(&[
        "batch",
        "issue",
        qc.to_str().unwrap(),
        "--key",
        "lab.key",
        "--out",
        "cert",
        "--resolver",
        "id.example.com",
    ]);
    let mut child = exe()
        .current_dir(d)
        .args([
            "serve",
            "--db",
            "registry.sqlite3",
            "--listen",
            "127.0.0.1:0",
            "--issuer-pubkey",
            "lab.key.pub",
            "--issuer-name",
            "Halvorsen Analytical Laboratory",
            "--no-web",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let _server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    // The token was made beside the key, private, and stderr says where.
    let token = d.join("lab.token");
    assert!(token.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // The server keeps stderr open: read it on a thread until the line about the token.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut told = String::new();
    while let Ok(l) = rx.recv_timeout(std::time::Duration::from_secs(10)) {
        told.push_str(&l);
        told.push('\n');
        if l.contains("lab.token") {
            break;
        }
    }
    assert!(
        told.contains("wrote") && told.contains("lab.token"),
        "{told}"
    );
    // The issuer publishes with it, and the page names the issuer as registered.
    ok(&[
        "batch",
        "publish",
        "cert/certificate.json",
        "--registry",
        &format!("http://{addr}"),
        "--token-file",
        "lab.token",
    ]);
    let page = get(&addr, "/01/09506000134352/10/EXO2604-12");
    assert!(page.contains("Halvorsen Analytical Laboratory"), "{page}");
    assert!(!page.contains("lab.key"), "a file name on the page: {page}");
}
