//! Registry test helpers: an in-process server, a throwaway PostgreSQL cluster and the
//! store conformance suite both backends run; the certificate helpers come from
//! exoskin-batch's tests.
#![allow(dead_code)]
#[path = "../../../exoskin-batch/tests/common/mod.rs"]
mod domain;
pub use domain::*;
use exoskin_batch::cert;
use exoskin_registry::client::{self, HttpResponse};
use exoskin_registry::server::{self, Authority, Issuer, RunningServer, ServerConfig};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;

pub const TOKEN: &str = "test-token-0123456789abcdef";
pub const OTHER_TOKEN: &str = "other-token-0123456789abcdef";
/// The GS1 company prefix of the bundled examples' GTIN 09506000134352: Test Lab's.
pub const TEST_LAB_PREFIX: &str = "950600013";
/// Another company's prefix: Other Lab's.
pub const OTHER_LAB_PREFIX: &str = "950600099";

pub fn issuers() -> Vec<Issuer> {
    vec![
        Issuer {
            name: "Test Lab".into(),
            did: exoskin_batch::keys::did_key(&key(1).verifying_key()),
            token_sha256: server::sha256(TOKEN.as_bytes()),
            authority: Authority::Gtins {
                prefixes: vec![TEST_LAB_PREFIX.into()],
                gtins: vec![],
            },
        },
        Issuer {
            name: "Other Lab".into(),
            did: exoskin_batch::keys::did_key(&key(2).verifying_key()),
            token_sha256: server::sha256(OTHER_TOKEN.as_bytes()),
            authority: Authority::Gtins {
                prefixes: vec![OTHER_LAB_PREFIX.into()],
                gtins: vec![],
            },
        },
    ]
}

/// An in-process server on a free loopback port.
pub fn start_server(db: &str, max_body: usize) -> RunningServer {
    let mut cfg = ServerConfig::new("127.0.0.1:0", db, issuers());
    cfg.threads = 4;
    cfg.max_body_bytes = max_body;
    // The tests run many requests from one address; limits.rs and the attack tests check
    // the per-client rate.
    cfg.client_limits.requests_per_second = 0.0;
    server::start(cfg).expect("server starts")
}

pub fn post(addr: &str, path: &str, token: Option<&str>, body: &[u8]) -> HttpResponse {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut h: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        h.push(("Authorization", a));
    }
    client::request(addr, "POST", path, &h, body).expect("request")
}

pub fn get_json(addr: &str, path: &str) -> HttpResponse {
    client::request(addr, "GET", path, &[("Accept", "application/json")], b"").expect("request")
}

pub fn get_html(addr: &str, path: &str) -> HttpResponse {
    client::request(addr, "GET", path, &[("Accept", "text/html")], b"").expect("request")
}

/// A throwaway PostgreSQL cluster: initdb in a temp dir, started on a free loopback port,
/// run as the `postgres` user when we are root (PostgreSQL refuses to run as root).
pub struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    pub port: u16,
}

fn pg_bin() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("EXOSKIN_PG_BIN") {
        return Some(PathBuf::from(p));
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    dirs.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PgCluster {
    /// `None` when PostgreSQL is not installed and not required.
    pub fn start() -> Option<PgCluster> {
        let Some(bin) = pg_bin() else {
            assert!(
                !required(),
                "PostgreSQL binaries not found (set EXOSKIN_PG_BIN)"
            );
            eprintln!("SKIP: PostgreSQL not installed");
            return None;
        };
        let as_postgres = is_root();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("exoskin-pg-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let c = PgCluster {
            dir,
            bin,
            as_postgres,
            port: free_port(),
        };
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&c.dir)
                .status()
                .unwrap();
            assert!(ok.success(), "chown to postgres failed");
        }
        let data = c.dir.join("data");
        c.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=100",
            c.port,
            c.dir.display()
        );
        c.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                c.dir.join("log").to_str().unwrap(),
                "-w",
                "-t",
                "60",
                "-o",
                &opts,
                "start",
            ],
        );
        Some(c)
    }

    /// A PostgreSQL tool, run as the postgres user when we are root.
    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self
            .command(tool)
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("run PostgreSQL tool");
        assert!(
            out.status.success(),
            "{tool} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A fresh database in the cluster; its URL.
    pub fn database(&self, name: &str) -> String {
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        let mut c =
            postgres::Client::connect(&admin, postgres::NoTls).expect("connect to test cluster");
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self
            .command("pg_ctl")
            .args([
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The store conformance suite: both backends must pass it.
pub fn store_suite(store: &dyn exoskin_registry::store::Store) {
    use exoskin_registry::store::*;
    let k = key(1);
    let did = exoskin_batch::keys::did_key(&k.verifying_key());
    let mk = |lot: &str| {
        let i = cert_for_lot(lot, &k);
        let v = cert::verify_signature(&i.certificate, None).unwrap();
        NewCertificate {
            id: v.id,
            gtin: v.gtin,
            lot: v.lot,
            issuer: v.issuer_did,
            valid_until: v.valid_until.to_string(),
            body: i.text,
        }
    };
    let a = mk("SUITE-A");
    assert!(matches!(
        store.publish(&a, "Test Lab").unwrap(),
        PublishOutcome::Created { seq: 1 }
    ));
    assert_eq!(
        store.publish(&a, "Test Lab").unwrap(),
        PublishOutcome::Unchanged
    );
    let mut other = mk("SUITE-A");
    other.id = "urn:uuid:00000000-0000-4000-8000-000000000000".into();
    assert!(matches!(
        store.publish(&other, "Test Lab").unwrap(),
        PublishOutcome::Conflict(_)
    ));
    // Injection-looking but valid lot: stored and found literally.
    let inj = mk("'OR'1'='1;--");
    assert!(matches!(
        store.publish(&inj, "Test Lab").unwrap(),
        PublishOutcome::Created { seq: 2 }
    ));
    let got = store.find(&inj.gtin, "'OR'1'='1;--").unwrap().unwrap();
    assert_eq!(got.body, inj.body);
    assert!(store.find(&inj.gtin, "'OR'1'='1").unwrap().is_none());
    assert_eq!(
        store
            .revoke(&a.id, "did:key:zSomeoneElse", "x", "Mallory")
            .unwrap(),
        RevokeOutcome::NotIssuer
    );
    assert_eq!(
        store
            .revoke("urn:uuid:nope", &did, "x", "Test Lab")
            .unwrap(),
        RevokeOutcome::NotFound
    );
    assert!(matches!(
        store.revoke(&a.id, &did, "recall", "Test Lab").unwrap(),
        RevokeOutcome::Revoked { seq: 3 }
    ));
    assert_eq!(
        store.revoke(&a.id, &did, "again", "Test Lab").unwrap(),
        RevokeOutcome::AlreadyRevoked
    );
    let found = store.find(&a.gtin, &a.lot).unwrap().unwrap();
    assert_eq!(found.revocation.as_ref().unwrap().reason, "recall");
    assert_eq!(store.revocations().unwrap().len(), 1);
    let log = store.audit(0, 100).unwrap();
    assert_eq!(
        log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["publish", "publish", "revoke"]
    );
    verify_chain(&log, GENESIS_HASH.to_string()).unwrap();
    assert_eq!(store.audit(2, 100).unwrap().len(), 1);
    assert_eq!(
        store.counts().unwrap(),
        Counts {
            certificates: 2,
            revocations: 1,
            audit: 3
        }
    );
}
pub mod api;
pub mod durability;
pub mod merkle_log;
pub mod tamper;
