//! Rows changed by hand behind the registry's back, and registries written by the older
//! format of audit entries: both backends run these (SQLite in authority_and_audit.rs,
//! PostgreSQL in postgres.rs). Each case gets a fresh database from `fresh`, which also
//! gives a function running raw SQL on it; `unguard` is the SQL that drops the triggers
//! guarding `certificates` and `revocations` (what someone with the database can do).
use super::*;
use exoskin_registry::checkpoint::{self, Checkpoint};
use exoskin_registry::store::{self, AuditEntry, LogReport, GENESIS_HASH};
use exoskin_registry::RegistryError;

pub type Exec = Box<dyn FnMut(&str)>;

const ADMIN: &str = "admin-token-0123456789abcdef";

fn registry_did() -> String {
    exoskin_batch::keys::did_key(&key(9).verifying_key())
}

/// A server that signs checkpoints.
fn start_signing(db: &str) -> server::RunningServer {
    let mut cfg = ServerConfig::new("127.0.0.1:0", db, issuers());
    cfg.threads = 4;
    cfg.client_limits.requests_per_second = 0.0;
    cfg.registry_key = Some(key(9));
    cfg.admin_token_sha256 = Some(server::sha256(ADMIN.as_bytes()));
    server::start(cfg).expect("server starts")
}

fn checkpoint_now(addr: &str) -> Checkpoint {
    let r = post(addr, "/api/v1/checkpoints", Some(ADMIN), b"{}");
    assert_eq!(r.status, 201, "{}", r.text());
    let cp = Checkpoint::parse(&r.text(), "checkpoint").unwrap();
    cp.verify(Some(&registry_did())).unwrap();
    cp
}

fn publish(addr: &str, c: &cert::Issued) -> String {
    let r = post(addr, "/api/v1/certificates", Some(TOKEN), c.text.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    r.json().unwrap()["id"].as_str().unwrap().to_string()
}

fn revoke(addr: &str, id: &str, reason: &str) {
    let body = serde_json::json!({"id": id, "reason": reason}).to_string();
    let r = post(addr, "/api/v1/revocations", Some(TOKEN), body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
}

fn status(addr: &str, lot: &str) -> String {
    let j = get_json(addr, &format!("/01/09506000134352/10/{lot}"))
        .json()
        .unwrap();
    j["status"].as_str().unwrap().to_string()
}

/// A registry with two certificates, one of them recalled, and a signed checkpoint of it.
struct Recalled {
    db: String,
    exec: Exec,
    cp: Checkpoint,
    recalled: String,
    kept: String,
}

fn recalled(fresh: &mut dyn FnMut(&str) -> (String, Exec), name: &str) -> Recalled {
    let (db, exec) = fresh(name);
    let s = start_signing(&db);
    let addr = s.addr.to_string();
    let recalled = publish(&addr, &cert_for_lot("RECALL-1", &key(1)));
    let kept = publish(&addr, &cert_for_lot("KEEP-1", &key(1)));
    revoke(&addr, &recalled, "recall: endotoxin retest failed");
    assert_eq!(status(&addr, "RECALL-1"), "revoked");
    let cp = checkpoint_now(&addr);
    s.shutdown();
    let st = store::open(&db, 1).unwrap();
    let ok = store::verify_log(st.as_ref(), Some(&cp)).unwrap();
    assert_eq!((ok.entries, ok.checkpoint_seq, ok.rows), (4, Some(4), 3));
    assert_eq!(cp.state.as_deref(), Some(ok.state.as_str()));
    Recalled {
        db,
        exec,
        cp,
        recalled,
        kept,
    }
}

/// `verify_log` without and with the checkpoint; both must fail, and the first error is
/// returned for the caller to look at.
fn both_fail(db: &str, cp: &Checkpoint) -> RegistryError {
    let st = store::open(db, 1).unwrap();
    let with = store::verify_log(st.as_ref(), Some(cp));
    assert!(with.is_err(), "passes with the checkpoint: {with:?}");
    match store::verify_log(st.as_ref(), None) {
        Ok(r) => panic!("passes without a checkpoint: {r:?}"),
        Err(e) => e,
    }
}

fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub fn hand_edits_of_any_table_fail_verify_log(
    fresh: &mut dyn FnMut(&str) -> (String, Exec),
    unguard: &str,
) {
    // The attack: the revocation row of a recalled batch is deleted, so it shows valid.
    let mut r = recalled(fresh, "del_revocation");
    (r.exec)(unguard);
    (r.exec)(&format!(
        "DELETE FROM revocations WHERE cert_id = {}",
        sql_text(&r.recalled)
    ));
    {
        let s = start_server(&r.db, 256 * 1024);
        assert_eq!(status(&s.addr.to_string(), "RECALL-1"), "valid");
        s.shutdown();
    }
    let e = both_fail(&r.db, &r.cp);
    assert!(
        matches!(&e, RegistryError::Tampered { table: "revocations", key, .. } if *key == r.recalled),
        "{e}"
    );
    assert!(e.to_string().contains("was deleted"), "{e}");
    assert!(e.to_string().contains("audit entry 4"), "{e}");

    // Another signed certificate of the same issuer swapped in under the same id.
    let mut r = recalled(fresh, "swap_body");
    let other = cert_for_lot("KEEP-1", &key(1));
    (r.exec)(unguard);
    (r.exec)(&format!(
        "UPDATE certificates SET body = {} WHERE id = {}",
        sql_text(&other.text),
        sql_text(&r.kept)
    ));
    let e = both_fail(&r.db, &r.cp);
    assert!(
        matches!(&e, RegistryError::Tampered { table: "certificates", key, .. } if *key == r.kept),
        "{e}"
    );
    assert!(e.to_string().contains("altered or swapped"), "{e}");

    // ...or as a whole row, with its own id.
    let mut r = recalled(fresh, "swap_row");
    let v = cert::verify_signature(&other.certificate, None).unwrap();
    (r.exec)(unguard);
    (r.exec)(&format!(
        "DELETE FROM certificates WHERE id = {kept};
         INSERT INTO certificates (id, gtin, lot, issuer, valid_until, body, published_at)
         VALUES ({id}, '{gtin}', 'KEEP-1', '{issuer}', '{until}', {body}, '2026-01-01T00:00:00Z')",
        kept = sql_text(&r.kept),
        id = sql_text(&v.id),
        gtin = v.gtin,
        issuer = v.issuer_did,
        until = v.valid_until,
        body = sql_text(&other.text),
    ));
    let e = both_fail(&r.db, &r.cp);
    assert!(
        matches!(
            &e,
            RegistryError::Tampered {
                table: "certificates",
                ..
            }
        ),
        "{e}"
    );

    // An altered revocation (the reason rewritten) and one added by hand.
    let mut r = recalled(fresh, "alter_revocation");
    (r.exec)(unguard);
    (r.exec)("UPDATE revocations SET reason = 'withdrawn by the brand'");
    let e = both_fail(&r.db, &r.cp);
    assert!(
        matches!(
            &e,
            RegistryError::Tampered {
                table: "revocations",
                ..
            }
        ),
        "{e}"
    );
    let mut r = recalled(fresh, "add_revocation");
    (r.exec)(&format!(
        "INSERT INTO revocations (cert_id, reason, revoked_at, actor) VALUES ({}, 'x', '2026-01-01T00:00:00Z', 'Test Lab')",
        sql_text(&r.kept)
    ));
    let e = both_fail(&r.db, &r.cp);
    assert!(e.to_string().contains("has no audit entry"), "{e}");

    // A checkpoint binds the state: the same head with another state does not verify.
    let r = recalled(fresh, "state");
    let st = store::open(&r.db, 1).unwrap();
    let forged = checkpoint::sign(
        &key(9),
        r.cp.seq,
        &r.cp.hash,
        &"0".repeat(64),
        exoskin_batch::date::Timestamp::now(),
    );
    let e = store::verify_log(st.as_ref(), Some(&forged)).unwrap_err();
    assert!(e.to_string().contains("state the checkpoint"), "{e}");
    // An untouched registry keeps verifying, with its checkpoint and with none.
    store::verify_log(st.as_ref(), Some(&r.cp)).unwrap();
    store::verify_log(st.as_ref(), None).unwrap();
}

/// The schema every registry has had; the audit entries of this fixture are in the older
/// format (`publish` without `bodySha256`/`publishedAt`, `revoke` without `revokedAt`).
const OLD_SCHEMA: &str = "
CREATE TABLE certificates (
  id TEXT PRIMARY KEY, gtin TEXT NOT NULL, lot TEXT NOT NULL, issuer TEXT NOT NULL,
  valid_until TEXT NOT NULL, body TEXT NOT NULL, published_at TEXT NOT NULL, UNIQUE (gtin, lot));
CREATE TABLE revocations (
  cert_id TEXT PRIMARY KEY REFERENCES certificates(id), reason TEXT NOT NULL,
  revoked_at TEXT NOT NULL, actor TEXT NOT NULL);
CREATE TABLE checkpoints (n BIGINT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE audit_log (
  seq BIGINT PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  cert_id TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
";

/// Write a registry as the older format did, by SQL: two certificates, one revoked, and
/// the three audit entries of that time. Returns the ids (revoked, kept).
fn old_format_fixture(exec: &mut Exec) -> (String, String) {
    exec(OLD_SCHEMA);
    let mut prev = GENESIS_HASH.to_string();
    let mut ids = Vec::new();
    let mut seq = 0;
    let mut entry = |exec: &mut Exec, action: &str, id: &str, detail: String| {
        seq += 1;
        let mut e = AuditEntry {
            seq,
            at: "2026-01-0".to_string() + &seq.to_string() + "T10:00:00Z",
            actor: "Test Lab".into(),
            action: action.into(),
            cert_id: id.into(),
            detail,
            prev_hash: prev.clone(),
            hash: String::new(),
        };
        e.hash = e.compute_hash();
        prev = e.hash.clone();
        exec(&format!(
            "INSERT INTO audit_log (seq, at, actor, action, cert_id, detail, prev_hash, hash) VALUES ({}, '{}', 'Test Lab', '{}', {}, {}, '{}', '{}')",
            e.seq, e.at, e.action, sql_text(&e.cert_id), sql_text(&e.detail), e.prev_hash, e.hash
        ));
    };
    for lot in ["OLD-1", "OLD-2"] {
        let c = cert_for_lot(lot, &key(1));
        let v = cert::verify_signature(&c.certificate, None).unwrap();
        exec(&format!(
            "INSERT INTO certificates (id, gtin, lot, issuer, valid_until, body, published_at) VALUES ({}, '{}', '{lot}', '{}', '{}', {}, '2026-01-01T10:00:00Z')",
            sql_text(&v.id), v.gtin, v.issuer_did, v.valid_until, sql_text(&c.text)
        ));
        let detail = serde_json::json!({"gtin": v.gtin, "lot": lot, "issuer": v.issuer_did, "validUntil": v.valid_until.to_string()});
        entry(exec, "publish", &v.id, detail.to_string());
        ids.push(v.id);
    }
    exec(&format!(
        "INSERT INTO revocations (cert_id, reason, revoked_at, actor) VALUES ({}, 'recall', '2026-01-03T10:00:00Z', 'Test Lab')",
        sql_text(&ids[0])
    ));
    entry(
        exec,
        "revoke",
        &ids[0],
        serde_json::json!({"reason": "recall"}).to_string(),
    );
    (ids[0].clone(), ids[1].clone())
}

fn verify(db: &str) -> Result<LogReport, RegistryError> {
    let st = store::open(db, 1).unwrap();
    store::verify_log(st.as_ref(), None)
}

pub fn old_format_registries_keep_verifying_and_are_sealed_on_upgrade(
    fresh: &mut dyn FnMut(&str) -> (String, Exec),
    unguard: &str,
) {
    let (db, mut exec) = fresh("old_format");
    let (revoked, kept) = old_format_fixture(&mut exec);
    // Opened by this version: the old entries verify as they are.
    assert_eq!(verify(&db).unwrap().entries, 3);
    // A server seals them once, records its issuers, and carries on in the new format.
    let s = start_signing(&db);
    let addr = s.addr.to_string();
    assert_eq!(status(&addr, "OLD-1"), "revoked");
    assert!(get_json(&addr, "/api/v1/revocations")
        .text()
        .contains(&revoked));
    assert_eq!(status(&addr, "OLD-2"), "valid");
    let new = publish(&addr, &cert_for_lot("NEW-1", &key(1)));
    revoke(&addr, &kept, "recall after upgrade");
    let cp = checkpoint_now(&addr);
    s.shutdown();
    let st = store::open(&db, 1).unwrap();
    let log = st.audit(0, 100).unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["publish", "publish", "revoke", "seal", "issuers", "publish", "revoke"]
    );
    assert!(log[5].detail.contains(&new) || log[5].cert_id == new);
    let ok = store::verify_log(st.as_ref(), Some(&cp)).unwrap();
    assert_eq!((ok.entries, ok.rows), (7, 5));
    // A restart does not seal again.
    start_signing(&db).shutdown();
    assert_eq!(verify(&db).unwrap().entries, 7);

    // Old rows stay covered: the body of an old certificate swapped, an old revocation
    // deleted.
    exec(unguard);
    let other = cert_for_lot("OLD-2", &key(1));
    exec(&format!(
        "UPDATE certificates SET body = {} WHERE id = {}",
        sql_text(&other.text),
        sql_text(&kept)
    ));
    let e = verify(&db).unwrap_err();
    assert!(
        matches!(&e, RegistryError::AuditChain { seq: 4, .. }),
        "{e}"
    );
    assert!(store::verify_log(st.as_ref(), Some(&cp)).is_err());

    let (db, mut exec) = fresh("old_format_deleted");
    let (revoked, _) = old_format_fixture(&mut exec);
    exec(unguard);
    exec(&format!(
        "DELETE FROM revocations WHERE cert_id = {}",
        sql_text(&revoked)
    ));
    // Before the upgrade: the old revoke entry has no row.
    let e = verify(&db).unwrap_err();
    assert!(
        matches!(
            &e,
            RegistryError::Tampered {
                table: "revocations",
                ..
            }
        ),
        "{e}"
    );
}
