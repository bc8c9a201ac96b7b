//! Kill the registry (SIGKILL) in the middle of a burst of concurrent publishes; after a
//! restart every acknowledged publish must be there, and the audit chain intact.
use super::*;
use exoskin_registry::client::Conn;
use exoskin_registry::store::{verify_chain, AuditEntry, GENESIS_HASH};
use std::io::BufRead;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Start the `exoskin-registry` binary; returns the child and its address.
pub fn spawn_registry(db: &str, dir: &Path) -> (Child, String) {
    let issuers = dir.join("issuers.toml");
    let hex: String = exoskin_registry::server::sha256(TOKEN.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(
        &issuers,
        format!(
            "[[issuer]]\nname = \"Test Lab\"\ndid = \"{}\"\ntoken_sha256 = \"{hex}\"\ngtin_prefixes = [\"{TEST_LAB_PREFIX}\"]\n",
            exoskin_batch::keys::did_key(&key(1).verifying_key())
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_exoskin-registry"))
        .args([
            "--db",
            db,
            "--listen",
            "127.0.0.1:0",
            "--threads",
            "8",
            "--rate-per-client",
            "0",
            "--issuers",
        ])
        .arg(&issuers)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn exoskin-registry");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in `{line}`"))
        .to_string();
    (child, addr)
}

/// Publish `n` certificates from `clients` threads; SIGKILL the server once `kill_after`
/// were acknowledged; restart and check. Returns (acknowledged, stored after restart).
pub fn kill_during_burst(db: &str, n: usize, clients: usize, kill_after: usize) -> (usize, i64) {
    let dir = TempDir::new("dur");
    let k = key(1);
    let certs: Vec<(String, String)> = (0..n)
        .map(|i| {
            let c = cert_for_lot(&format!("DUR-{i:05}"), &k);
            (c.link.path(), c.text)
        })
        .collect();
    let certs = Arc::new(certs);
    let (mut child, addr) = spawn_registry(db, dir.path());
    let acked: Arc<Mutex<Vec<usize>>> = Arc::default();
    let threads: Vec<_> = (0..clients)
        .map(|t| {
            let (certs, acked, addr) = (Arc::clone(&certs), Arc::clone(&acked), addr.clone());
            std::thread::spawn(move || {
                let auth = format!("Bearer {TOKEN}");
                let Ok(mut conn) = Conn::connect(&addr) else {
                    return;
                };
                for i in (t..certs.len()).step_by(clients) {
                    let r = conn.request(
                        "POST",
                        "/api/v1/certificates",
                        &[
                            ("Authorization", &auth),
                            ("Content-Type", "application/json"),
                        ],
                        certs[i].1.as_bytes(),
                    );
                    match r {
                        Ok(r) if r.status == 201 || r.status == 200 => {
                            acked.lock().unwrap().push(i)
                        }
                        Ok(r) => panic!("publish {i}: HTTP {} {}", r.status, r.text()),
                        Err(_) => return, // the server died under us: this one was not acknowledged
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < kill_after && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("SIGKILL the server"); // Child::kill sends SIGKILL on Unix
    child.wait().unwrap();
    for t in threads {
        t.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= kill_after,
        "only {} publishes acknowledged before the deadline",
        acked.len()
    );
    assert!(
        acked.len() < n,
        "the burst finished before the kill; raise n"
    );

    let (mut child, addr) = spawn_registry(db, dir.path());
    let mut conn = Conn::connect(&addr).unwrap();
    for &i in &acked {
        let r = conn
            .request("GET", &certs[i].0, &[("Accept", "application/json")], b"")
            .unwrap();
        assert_eq!(r.status, 200, "acknowledged publish {i} lost after SIGKILL");
        let stored = r.json().unwrap()["certificate"].clone();
        assert_eq!(
            stored,
            serde_json::from_str::<serde_json::Value>(&certs[i].1).unwrap()
        );
    }
    let h = conn
        .request("GET", "/healthz", &[], b"")
        .unwrap()
        .json()
        .unwrap();
    let stored = h["counts"]["certificates"].as_i64().unwrap();
    assert!(stored >= acked.len() as i64);
    assert_eq!(
        h["counts"]["audit"].as_i64().unwrap(),
        stored + 1,
        "the issuers entry, then one audit entry per stored certificate"
    );
    let mut entries: Vec<AuditEntry> = Vec::new();
    loop {
        let after = entries.last().map(|e| e.seq).unwrap_or(0);
        let j = conn
            .request(
                "GET",
                &format!("/api/v1/audit?after={after}&limit=1000"),
                &[],
                b"",
            )
            .unwrap()
            .json()
            .unwrap();
        let page: Vec<AuditEntry> = serde_json::from_value(j["entries"].clone()).unwrap();
        if page.is_empty() {
            break;
        }
        entries.extend(page);
    }
    assert_eq!(entries.len() as i64, stored + 1);
    verify_chain(&entries, GENESIS_HASH.into()).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    (acked.len(), stored)
}
