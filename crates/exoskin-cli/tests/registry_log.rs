//! `exoskin registry prove` and `exoskin registry verify-log --log-checkpoint` against a
//! registry served by `exoskin serve`: proofs that verify, a saved checkpoint the grown log
//! is consistent with, and exit 1 (a failed check) or 2 (bad input) otherwise.

#[allow(dead_code)] // json_of is not needed here
mod common;

use common::exe;
use exoskin_registry::{merkle, tlog};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::Stdio;

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
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut r = String::new();
    s.read_to_string(&mut r).unwrap();
    let (head, body) = r.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
    body.to_string()
}

fn run(d: &Path, args: &[&str]) -> (i32, String, String) {
    let out = exe().current_dir(d).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn hashes(v: &serde_json::Value) -> Vec<merkle::Hash> {
    v.as_array().unwrap().iter().map(hash).collect()
}

fn hash(v: &serde_json::Value) -> merkle::Hash {
    tlog::b64_decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

#[test]
fn prove_and_verify_log_check_the_merkle_log_against_a_saved_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = |args: &[&str]| {
        let (code, out, err) = run(d, args);
        assert_eq!(code, 0, "{args:?}: {out}{err}");
        out
    };
    let qc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/qc/pass_msc_serum.toml"),
    )
    .unwrap();
    ok(&["batch", "keygen", "--out", "lab.key"]);
    ok(&["batch", "keygen", "--out", "registry.key"]);
    for i in 0..3 {
        std::fs::write(
            d.join(format!("lot{i}.toml")),
            qc.replace("lot = \"EXO2604-12\"", &format!("lot = \"LOG-{i}\"")),
        )
        .unwrap();
        ok(&[
            "batch",
            "issue",
            &format!("lot{i}.toml"),
            "--key",
            "lab.key",
            "--out",
            &format!("cert{i}"),
        ]);
    }
    std::fs::write(d.join("lab.token"), "log-test-token-0123456789\n").unwrap();
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
            "--token-file",
            "lab.token",
            "--registry-key",
            "registry.key",
            "--log-origin",
            "registry.test.invalid/log",
            "--no-web",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let server = Server(child);
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_string();
    let second = lines.next().unwrap().unwrap();
    let vkey = second.rsplit(' ').next().unwrap().to_string();
    assert!(
        second.starts_with("Merkle log registry.test.invalid/log: checkpoints verify with registry.test.invalid/log+"),
        "{second}"
    );
    let publish = |i: usize| {
        ok(&[
            "batch",
            "publish",
            &format!("cert{i}/certificate.json"),
            "--registry",
            &format!("http://{addr}"),
            "--token-file",
            "lab.token",
        ])
    };
    publish(0);
    publish(1);
    let saved = get(&addr, "/api/v1/log/checkpoint");
    assert!(
        saved.starts_with("registry.test.invalid/log\n3\n"),
        "{saved}"
    );
    std::fs::write(d.join("checkpoint.txt"), &saved).unwrap();
    publish(2);
    drop(server);

    // prove: the inclusion proof of an entry, by index and by certificate, and a
    // consistency proof, each verifying against the signed root.
    let cp = tlog::Checkpoint::parse_body(&tlog::Note::parse(&saved).unwrap().text).unwrap();
    let v: serde_json::Value = serde_json::from_str(&ok(&[
        "registry",
        "prove",
        "--db",
        "registry.sqlite3",
        "--index",
        "1",
        "--size",
        "3",
    ]))
    .unwrap();
    assert_eq!(hash(&v["root"]), cp.root);
    let entry: exoskin_registry::store::AuditEntry =
        serde_json::from_value(v["entry"].clone()).unwrap();
    merkle::verify_inclusion(1, 3, &entry.leaf_hash(), &hashes(&v["proof"]), &cp.root).unwrap();
    let id = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(d.join("cert2/certificate.json")).unwrap(),
    )
    .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&ok(&[
        "registry",
        "prove",
        "--db",
        "registry.sqlite3",
        "--certificate",
        &id,
    ]))
    .unwrap();
    assert_eq!(
        (v["index"].as_u64(), v["size"].as_u64()),
        (Some(3), Some(4))
    );
    let now = hash(&v["root"]);
    let c: serde_json::Value = serde_json::from_str(&ok(&[
        "registry",
        "prove",
        "--db",
        "registry.sqlite3",
        "--old",
        "3",
    ]))
    .unwrap();
    assert_eq!(hash(&c["oldRoot"]), cp.root);
    merkle::verify_consistency(3, 4, &cp.root, &now, &hashes(&c["proof"])).unwrap();

    // verify-log: the saved checkpoint, by the registry's public key or its verifier key.
    for key in [
        ["--registry-pubkey", "registry.key.pub"],
        ["--log-key", vkey.as_str()],
    ] {
        let out = ok(&[
            "registry",
            "verify-log",
            "--db",
            "registry.sqlite3",
            "--log-checkpoint",
            "checkpoint.txt",
            key[0],
            key[1],
        ]);
        assert!(out.contains("at size 3"), "{out}");
        assert!(
            out.contains("the log now (4 leaves) is consistent with it"),
            "{out}"
        );
    }
    std::fs::write(d.join("vkey.txt"), format!("{vkey}\n")).unwrap();
    ok(&[
        "registry",
        "verify-log",
        "--db",
        "registry.sqlite3",
        "--log-checkpoint",
        "checkpoint.txt",
        "--log-key",
        "vkey.txt",
    ]);

    // Failed checks exit 1, naming what failed.
    std::fs::write(d.join("altered.txt"), saved.replacen("\n3\n", "\n2\n", 1)).unwrap();
    for (args, says) in [
        (
            vec![
                "--log-checkpoint",
                "altered.txt",
                "--log-key",
                vkey.as_str(),
            ],
            "does not verify",
        ),
        (
            vec![
                "--log-checkpoint",
                "checkpoint.txt",
                "--registry-pubkey",
                "lab.key.pub",
            ],
            "no signature by the log's key",
        ),
    ] {
        let mut a = vec!["registry", "verify-log", "--db", "registry.sqlite3"];
        a.extend(args);
        let (code, out, err) = run(d, &a);
        assert_eq!(code, 1, "{a:?}: {out}{err}");
        assert!(out.contains(says), "{out}");
    }
    let (code, out, _) = run(
        d,
        &[
            "registry",
            "prove",
            "--db",
            "registry.sqlite3",
            "--certificate",
            "urn:uuid:none",
        ],
    );
    assert_eq!(code, 1, "{out}");

    // Bad input exits 2.
    for args in [
        vec![
            "registry",
            "verify-log",
            "--db",
            "registry.sqlite3",
            "--log-checkpoint",
            "checkpoint.txt",
            "--log-key",
            "nonsense",
        ],
        vec![
            "registry",
            "verify-log",
            "--db",
            "registry.sqlite3",
            "--log-checkpoint",
            "checkpoint.txt",
        ],
        vec![
            "registry",
            "verify-log",
            "--db",
            "registry.sqlite3",
            "--log-key",
            vkey.as_str(),
        ],
        vec![
            "registry",
            "verify-log",
            "--db",
            "registry.sqlite3",
            "--log-checkpoint",
            "checkpoint.txt",
            "--registry-pubkey",
            "registry.key.pub",
            "--witness",
            vkey.as_str(),
        ],
        vec![
            "registry",
            "verify-log",
            "--db",
            "registry.sqlite3",
            "--log-checkpoint",
            "lot0.toml",
            "--registry-pubkey",
            "registry.key.pub",
        ],
        vec!["registry", "verify-log", "--db", "missing.sqlite3"],
        vec![
            "registry",
            "prove",
            "--db",
            "registry.sqlite3",
            "--index",
            "4",
        ],
        vec![
            "registry",
            "prove",
            "--db",
            "registry.sqlite3",
            "--index",
            "1",
            "--size",
            "9",
        ],
        vec![
            "registry",
            "prove",
            "--db",
            "registry.sqlite3",
            "--old",
            "3",
            "--size",
            "2",
        ],
        vec!["registry", "prove", "--db", "registry.sqlite3"],
    ] {
        let (code, out, err) = run(d, &args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
    }
}
