//! The Merkle log against a running registry, on either backend (SQLite in merkle_log.rs,
//! PostgreSQL in postgres.rs): proofs over HTTP for every index and size, tampering, and a
//! registry made before the Merkle log opened by this version.
use super::*;
use exoskin_registry::merkle::{self, Hash};
use exoskin_registry::store::{self, AuditEntry};
use exoskin_registry::tlog::{self, Checkpoint, Verifier};
use exoskin_registry::{log, RegistryError};
use serde_json::Value;

pub type Exec = Box<dyn FnMut(&str)>;

pub const ORIGIN: &str = "registry.test.invalid/log";
const ADMIN: &str = "admin-token-0123456789abcdef";

/// A server that signs checkpoints with key(9) under [`ORIGIN`].
pub fn start_signing(db: &str) -> RunningServer {
    let mut cfg = ServerConfig::new("127.0.0.1:0", db, issuers());
    cfg.threads = 4;
    cfg.client_limits.requests_per_second = 0.0;
    cfg.registry_key = Some(key(9));
    cfg.admin_token_sha256 = Some(server::sha256(ADMIN.as_bytes()));
    cfg.log_origin = Some(ORIGIN.into());
    server::start(cfg).expect("server starts")
}

pub fn log_key() -> Verifier {
    Verifier::log(ORIGIN, key(9).verifying_key()).unwrap()
}

fn publish(addr: &str, lot: &str) -> String {
    let c = cert_for_lot(lot, &key(1));
    let r = post(addr, "/api/v1/certificates", Some(TOKEN), c.text.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    r.json().unwrap()["id"].as_str().unwrap().to_string()
}

fn revoke(addr: &str, id: &str) {
    let body = serde_json::json!({"id": id, "reason": "recall"}).to_string();
    let r = post(addr, "/api/v1/revocations", Some(TOKEN), body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
}

/// The signed checkpoint now, opened with the log's key.
pub fn checkpoint(addr: &str) -> (String, Checkpoint) {
    let r = get_json(addr, "/api/v1/log/checkpoint");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    let note = r.text();
    let o = tlog::open_checkpoint(&note, &log_key(), &[]).expect("the checkpoint verifies");
    assert_eq!(o.checkpoint.origin, ORIGIN);
    (note, o.checkpoint)
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| {
            tlog::b64_decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect()
}

fn hash(v: &Value) -> Hash {
    tlog::b64_decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn entry_of(v: &Value) -> AuditEntry {
    serde_json::from_value(v.clone()).unwrap()
}

/// Publish and revoke, signing a checkpoint after each write; then every inclusion proof
/// (every index at every size) and every consistency proof (every pair of sizes) served over
/// HTTP verifies against the signed roots. Returns the number of entries.
pub fn every_proof_over_http_verifies_against_the_signed_checkpoints(db: &str) -> u64 {
    let s = start_signing(db);
    let addr = s.addr.to_string();
    assert_eq!(s.log_origin, ORIGIN);
    assert_eq!(s.log_vkey.as_deref(), Some(log_key().to_vkey().as_str()));
    let mut roots: Vec<Hash> = vec![merkle::empty_root()];
    let (_, cp) = checkpoint(&addr);
    assert_eq!(cp.size, 1, "the issuers entry");
    roots.push(cp.root);
    let mut ids = Vec::new();
    let signed = |addr: &str, roots: &mut Vec<Hash>| {
        let (_, cp) = checkpoint(addr);
        assert_eq!(cp.size as usize, roots.len());
        roots.push(cp.root);
    };
    for i in 0..12 {
        ids.push(publish(&addr, &format!("MERKLE-{i}")));
        signed(&addr, &mut roots);
        if i % 5 == 4 {
            revoke(&addr, &ids[i - 2]);
            signed(&addr, &mut roots);
        }
    }
    let n = roots.len() as u64 - 1;
    assert_eq!(n, 15);
    let mut checked = 0;
    for size in 1..=n {
        for index in 0..size {
            let r = get_json(
                &addr,
                &format!("/api/v1/log/proof/inclusion?index={index}&size={size}"),
            );
            assert_eq!(r.status, 200, "{}", r.text());
            let v = r.json().unwrap();
            assert_eq!(v["origin"], ORIGIN);
            let e = entry_of(&v["entry"]);
            assert_eq!(e.seq as u64, index + 1);
            let leaf = merkle::leaf_hash(&e.leaf_bytes());
            assert_eq!(hash(&v["leafHash"]), leaf);
            assert_eq!(hash(&v["root"]), roots[size as usize]);
            merkle::verify_inclusion(
                index,
                size,
                &leaf,
                &hashes(&v["proof"]),
                &roots[size as usize],
            )
            .unwrap_or_else(|e| panic!("leaf {index} at size {size}: {e}"));
            checked += 1;
        }
    }
    assert_eq!(checked, n * (n + 1) / 2);
    for size in 0..=n {
        for old in 0..=size {
            let v = get_json(
                &addr,
                &format!("/api/v1/log/proof/consistency?old={old}&size={size}"),
            )
            .json()
            .unwrap();
            assert_eq!(hash(&v["oldRoot"]), roots[old as usize]);
            assert_eq!(hash(&v["root"]), roots[size as usize]);
            merkle::verify_consistency(
                old,
                size,
                &roots[old as usize],
                &roots[size as usize],
                &hashes(&v["proof"]),
            )
            .unwrap_or_else(|e| panic!("{old} -> {size}: {e}"));
        }
    }
    // By entry number and by certificate id: the same leaf.
    let by_entry = get_json(&addr, "/api/v1/log/proof/inclusion?entry=3")
        .json()
        .unwrap();
    assert_eq!(by_entry["index"], 2);
    let by_cert = get_json(
        &addr,
        &format!(
            "/api/v1/log/proof/inclusion?certificate={}",
            ids[1].replace(':', "%3A")
        ),
    )
    .json()
    .unwrap();
    assert_eq!(by_entry, by_cert);
    assert_eq!(by_cert["entry"]["action"], "publish");
    // Bad and out-of-range numbers: clear 400 and 404 answers.
    for (q, status, says) in [
        ("inclusion?index=15", 404, "the log has 15 entries"),
        ("inclusion?index=2&size=16", 404, "no tree of size 16"),
        ("inclusion?index=4&size=4", 400, "not in the tree of size 4"),
        ("inclusion?index=-1", 400, "whole number"),
        ("inclusion?index=1e3", 400, "whole number"),
        ("inclusion?index=99999999999999999999", 400, "whole number"),
        ("inclusion?index=1&index=2", 400, "twice"),
        ("inclusion?index=1&entry=2", 400, "give one of"),
        ("inclusion?", 400, "give one of"),
        ("inclusion?entry=0", 400, "numbered from 1"),
        (
            "inclusion?certificate=urn%3Auuid%3Anone",
            404,
            "no audit entry publishes",
        ),
        ("inclusion?certificate=%ZZ", 400, "percent"),
        ("inclusion?limit=3", 400, "unknown parameter"),
        ("consistency?old=5&size=4", 400, "larger than size"),
        ("consistency?old=2&size=99", 404, "no tree of size 99"),
        ("consistency?size=3", 400, "give old=M"),
    ] {
        let r = get_json(&addr, &format!("/api/v1/log/proof/{q}"));
        assert_eq!(r.status, status, "{q}: {}", r.text());
        assert!(r.text().contains(says), "{q}: {}", r.text());
    }
    let r = post(&addr, "/api/v1/log/checkpoint", None, b"{}");
    assert_eq!(r.status, 405, "{}", r.text());
    s.shutdown();
    n
}

/// Rewriting history behind the registry's back: a rewritten entry with the chain re-linked
/// and the leaf cache recomputed verifies alone but not against a checkpoint saved before;
/// a changed cached leaf fails verify-log.
pub fn a_rewritten_log_fails_against_a_saved_checkpoint(
    fresh: &mut dyn FnMut(&str) -> (String, Exec),
    unguard: &str,
) {
    let (db, mut exec) = fresh("merkle_rewrite");
    let s = start_signing(&db);
    let addr = s.addr.to_string();
    for i in 0..5 {
        publish(&addr, &format!("REWRITE-{i}"));
    }
    let (note, saved) = checkpoint(&addr);
    publish(&addr, "REWRITE-5");
    s.shutdown();
    let st = store::open(&db, 1).unwrap();
    let report = store::verify_log(st.as_ref(), None).unwrap();
    assert_eq!(report.leaves_cached, 7);
    let m = log::check_against_checkpoint(&report.tree, &saved).unwrap();
    assert_eq!((m.size, m.current_size), (6, 7));
    assert!(tlog::open_checkpoint(&note, &log_key(), &[]).is_ok());

    // A cached leaf changed: verify-log names it.
    exec(unguard);
    exec("UPDATE log_leaves SET leaf_hash = '00' || substr(leaf_hash, 3) WHERE seq = 3");
    let e = store::verify_log(st.as_ref(), None).unwrap_err();
    assert!(
        matches!(&e, RegistryError::Tampered { table: "log_leaves", key, .. } if key == "3"),
        "{e}"
    );
    // The whole history rewritten from entry 1 on (its actor), the chain re-linked and the
    // cache recomputed: consistent alone, but not with the saved checkpoint.
    let entries = st.audit(0, 100).unwrap();
    let mut prev = store::GENESIS_HASH.to_string();
    for e in &entries {
        let mut x = e.clone();
        if x.seq == 1 {
            x.actor = "someone else".into();
        }
        x.prev_hash = prev.clone();
        x.hash = x.compute_hash();
        prev = x.hash.clone();
        exec(&format!(
            "UPDATE audit_log SET actor = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {};
             UPDATE log_leaves SET leaf_hash = '{}' WHERE seq = {}",
            x.actor,
            x.prev_hash,
            x.hash,
            x.seq,
            merkle::to_hex(&x.leaf_hash()),
            x.seq
        ));
    }
    let report = store::verify_log(st.as_ref(), None).unwrap();
    assert_eq!(report.leaves_cached, 7);
    let e = log::check_against_checkpoint(&report.tree, &saved).unwrap_err();
    assert!(
        matches!(&e, RegistryError::AuditChain { seq: 6, .. })
            && e.to_string().contains("rewritten"),
        "{e}"
    );
    // A log cut back below the checkpoint's size fails too.
    let mut short = merkle::Tree::new();
    for i in 0..5 {
        short.push(report.tree.leaf(i).unwrap());
    }
    let e = log::check_against_checkpoint(&short, &saved).unwrap_err();
    assert!(e.to_string().contains("entries were removed"), "{e}");
}

fn sql(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A registry written before the Merkle log (`old_schema`: the tables of that version,
/// made by its statements) with its rows copied from a registry written here, is opened by
/// this version: the leaf hashes of its entries are added, the tree is the same, its old
/// signed checkpoint still verifies, the server serves proofs and signed checkpoints and
/// appends as usual.
pub fn a_registry_made_before_the_merkle_log_gets_it_when_opened(
    fresh: &mut dyn FnMut(&str) -> (String, Exec),
    old_schema: &str,
) {
    // A registry with certificates, a revocation and a signed (JSON) checkpoint.
    let (src, _) = fresh("merkle_src");
    let s = start_signing(&src);
    let addr = s.addr.to_string();
    let ids: Vec<String> = (0..4)
        .map(|i| publish(&addr, &format!("MIGRATE-{i}")))
        .collect();
    revoke(&addr, &ids[2]);
    let r = post(&addr, "/api/v1/checkpoints", Some(ADMIN), b"{}");
    assert_eq!(r.status, 201, "{}", r.text());
    let old_cp = exoskin_registry::checkpoint::Checkpoint::parse(&r.text(), "cp").unwrap();
    let (_, signed) = checkpoint(&addr);
    s.shutdown();
    let st = store::open(&src, 1).unwrap();
    let entries = st.audit(0, 100).unwrap();
    assert_eq!(entries.len(), 6);
    drop(st);

    // The same rows in a database with the schema of the version before.
    let (old, mut exec) = fresh("merkle_old");
    exec(old_schema);
    let st = store::open(&src, 1).unwrap();
    for e in &entries {
        if e.action == "publish" {
            let d: Value = serde_json::from_str(&e.detail).unwrap();
            let c = st
                .find(d["gtin"].as_str().unwrap(), d["lot"].as_str().unwrap())
                .unwrap()
                .unwrap();
            exec(&format!(
                "INSERT INTO certificates (id, gtin, lot, issuer, valid_until, body, published_at) VALUES ({}, {}, {}, {}, {}, {}, {})",
                sql(&c.id), sql(&c.gtin), sql(&c.lot), sql(&c.issuer),
                sql(d["validUntil"].as_str().unwrap()), sql(&c.body), sql(&c.published_at)
            ));
        }
        if e.action == "revoke" {
            let d: Value = serde_json::from_str(&e.detail).unwrap();
            exec(&format!(
                "INSERT INTO revocations (cert_id, reason, revoked_at, actor) VALUES ({}, {}, {}, {})",
                sql(&e.cert_id), sql(d["reason"].as_str().unwrap()),
                sql(d["revokedAt"].as_str().unwrap()), sql(&e.actor)
            ));
        }
        exec(&format!(
            "INSERT INTO audit_log (seq, at, actor, action, cert_id, detail, prev_hash, hash) VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
            e.seq, sql(&e.at), sql(&e.actor), sql(&e.action), sql(&e.cert_id), sql(&e.detail),
            sql(&e.prev_hash), sql(&e.hash)
        ));
    }
    exec(&format!(
        "INSERT INTO checkpoints (n, body) VALUES (1, {})",
        sql(&serde_json::to_string(&old_cp).unwrap())
    ));
    drop(st);

    // Opened by this version: every entry gets its leaf hash, and the tree is the one the
    // registry signed before the copy.
    let st = store::open(&old, 1).unwrap();
    assert_eq!(st.leaf_hashes(0, 100).unwrap().len(), 6);
    let tree = log::load_tree(st.as_ref()).unwrap();
    assert_eq!((tree.size(), tree.root(6).unwrap()), (6, signed.root));
    let report = store::verify_log(st.as_ref(), Some(&old_cp)).unwrap();
    assert_eq!(
        (report.entries, report.leaves_cached, report.checkpoint_seq),
        (6, 6, Some(6))
    );
    assert_eq!(st.latest_checkpoint().unwrap(), Some(old_cp));
    // Opening again changes nothing.
    drop(st);
    let st = store::open(&old, 1).unwrap();
    assert_eq!(st.leaf_hashes(0, 100).unwrap().len(), 6);
    drop(st);

    // The server on it: the same signed tree head, proofs, and new entries appended.
    let s = start_signing(&old);
    let addr = s.addr.to_string();
    let (_, now) = checkpoint(&addr);
    assert_eq!(now, signed);
    publish(&addr, "MIGRATE-NEW");
    let (_, grown) = checkpoint(&addr);
    assert_eq!(grown.size, 7);
    let v = get_json(&addr, "/api/v1/log/proof/consistency?old=6")
        .json()
        .unwrap();
    merkle::verify_consistency(6, 7, &signed.root, &grown.root, &hashes(&v["proof"])).unwrap();
    let v = get_json(&addr, "/api/v1/log/proof/inclusion?index=6")
        .json()
        .unwrap();
    let e = entry_of(&v["entry"]);
    assert_eq!(
        e.cert_id,
        get_json(&addr, "/01/09506000134352/10/MIGRATE-NEW")
            .json()
            .unwrap()["certificate"]["id"]
    );
    merkle::verify_inclusion(6, 7, &e.leaf_hash(), &hashes(&v["proof"]), &grown.root).unwrap();
    s.shutdown();
    let st = store::open(&old, 1).unwrap();
    let report = store::verify_log(st.as_ref(), None).unwrap();
    assert_eq!((report.entries, report.leaves_cached), (7, 7));
}
