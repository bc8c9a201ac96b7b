//! The audit log as a Merkle transparency log, on SQLite: proofs over HTTP for every index
//! and size against signed C2SP checkpoints, tampering, and a registry made before the
//! Merkle log upgraded when opened. PostgreSQL runs the same in postgres.rs.
mod common;
use common::merkle_log::{self, Exec};
use common::*;

/// The SQLite schema before the Merkle log (crates/exoskin-registry/src/store/mod.rs
/// COMMON_TABLES and store/sqlite.rs SCHEMA as they were), verbatim.
const SQLITE_SCHEMA_BEFORE: &str = "
CREATE TABLE IF NOT EXISTS certificates (
  id TEXT PRIMARY KEY, gtin TEXT NOT NULL, lot TEXT NOT NULL, issuer TEXT NOT NULL,
  valid_until TEXT NOT NULL, body TEXT NOT NULL, published_at TEXT NOT NULL, UNIQUE (gtin, lot));
CREATE TABLE IF NOT EXISTS revocations (
  cert_id TEXT PRIMARY KEY REFERENCES certificates(id), reason TEXT NOT NULL,
  revoked_at TEXT NOT NULL, actor TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (n BIGINT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_log (
  seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  cert_id TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS certificates_no_update BEFORE UPDATE ON certificates BEGIN SELECT RAISE(ABORT, 'certificates are immutable'); END;
CREATE TRIGGER IF NOT EXISTS certificates_no_delete BEFORE DELETE ON certificates BEGIN SELECT RAISE(ABORT, 'certificates are immutable'); END;
CREATE TRIGGER IF NOT EXISTS revocations_no_update BEFORE UPDATE ON revocations BEGIN SELECT RAISE(ABORT, 'revocations are final'); END;
CREATE TRIGGER IF NOT EXISTS revocations_no_delete BEFORE DELETE ON revocations BEGIN SELECT RAISE(ABORT, 'revocations are final'); END;
";

const SQLITE_UNGUARD_LOG: &str = "DROP TRIGGER IF EXISTS audit_log_no_update;
DROP TRIGGER IF EXISTS log_leaves_no_update;";

fn sqlite_dbs(dir: &TempDir) -> impl FnMut(&str) -> (String, Exec) + '_ {
    move |name: &str| {
        let p = dir.path().join(format!("{name}.sqlite3"));
        let p = p.to_str().unwrap().to_string();
        let c = rusqlite::Connection::open(&p).unwrap();
        let exec: Exec = Box::new(move |sql: &str| c.execute_batch(sql).unwrap());
        (p, exec)
    }
}

#[test]
fn every_proof_over_http_verifies_against_the_signed_checkpoints() {
    let dir = TempDir::new("merkle_http");
    let db = dir.path().join("reg.sqlite3");
    let n = merkle_log::every_proof_over_http_verifies_against_the_signed_checkpoints(
        db.to_str().unwrap(),
    );
    assert_eq!(n, 15);
}

#[test]
fn a_rewritten_log_fails_against_a_saved_checkpoint() {
    let dir = TempDir::new("merkle_rewrite");
    merkle_log::a_rewritten_log_fails_against_a_saved_checkpoint(
        &mut sqlite_dbs(&dir),
        SQLITE_UNGUARD_LOG,
    );
}

#[test]
fn a_registry_made_before_the_merkle_log_gets_it_when_opened() {
    let dir = TempDir::new("merkle_migrate");
    merkle_log::a_registry_made_before_the_merkle_log_gets_it_when_opened(
        &mut sqlite_dbs(&dir),
        SQLITE_SCHEMA_BEFORE,
    );
}

#[test]
fn the_leaf_cache_is_append_only_and_checkpoints_need_a_registry_key() {
    let dir = TempDir::new("merkle_guard");
    let db = dir.path().join("reg.sqlite3");
    let db = db.to_str().unwrap();
    let s = start_server(db, 256 * 1024);
    let addr = s.addr.to_string();
    let r = get_json(&addr, "/api/v1/log/checkpoint");
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.text().contains("--registry-key"), "{}", r.text());
    // Proofs need no key: the default origin names the listen address.
    let v = get_json(&addr, "/api/v1/log/proof/inclusion?index=0")
        .json()
        .unwrap();
    assert_eq!(v["origin"], format!("{}/exoskin-registry", s.addr));
    assert_eq!(s.log_vkey, None);
    s.shutdown();
    let c = rusqlite::Connection::open(db).unwrap();
    for sql in [
        "UPDATE log_leaves SET leaf_hash = 'x'",
        "DELETE FROM log_leaves",
    ] {
        let e = c.execute_batch(sql).unwrap_err().to_string();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
    // An origin with a space or a plus is refused.
    for bad in ["has space", "a+b", ""] {
        let mut cfg = exoskin_registry::server::ServerConfig::new("127.0.0.1:0", db, issuers());
        cfg.log_origin = Some(bad.into());
        let e = exoskin_registry::server::start(cfg).err().expect("refused");
        assert!(e.is_bad_input(), "{e}");
    }
}
