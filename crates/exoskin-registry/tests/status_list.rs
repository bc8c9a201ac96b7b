//! Bitstring Status Lists against a running registry, on SQLite and (with EXOSKIN_PG_BIN) on
//! PostgreSQL: indices allocated at random and never twice, publication checks, the signed
//! list derived from the revocations, the resolver's report, and a registry made before
//! status lists opened by this version.
mod common;
use common::*;
use exoskin_batch::cert::{self, IssueOptions, Issued};
use exoskin_batch::date::Timestamp;
use exoskin_batch::profile::Profile;
use exoskin_batch::status::{self as bsl, StatusEntry};
use exoskin_registry::server::{self, RunningServer, ServerConfig};
use exoskin_registry::status as reg_status;
use exoskin_registry::store;
use serde_json::{json, Value};

/// A registry whose lists are signed by key(9).
fn start(db: &str) -> RunningServer {
    let mut cfg = ServerConfig::new("127.0.0.1:0", db, issuers());
    cfg.threads = 4;
    cfg.client_limits.requests_per_second = 0.0;
    cfg.registry_key = Some(key(9));
    server::start(cfg).expect("server starts")
}

fn issue(lot: &str, entry: Option<&StatusEntry>) -> Issued {
    let p = Profile::default_profile();
    cert::issue_with_status(
        &fresh_record(lot),
        &key(1),
        &IssueOptions {
            profile: &p,
            resolver: "id.example.com",
            issued_at: Timestamp::now(),
            allow_failing: false,
        },
        entry,
    )
    .expect("issue")
}

fn allocate(addr: &str) -> StatusEntry {
    let r = post(addr, reg_status::ALLOCATE_PATH, Some(TOKEN), b"{}");
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json().unwrap();
    let url = v["statusListCredential"].as_str().unwrap();
    let index = bsl::parse_index(v["statusListIndex"].as_str().unwrap(), "index").unwrap();
    StatusEntry::new(url, index).unwrap()
}

fn publish(addr: &str, c: &Issued) -> (u16, String) {
    let r = post(addr, "/api/v1/certificates", Some(TOKEN), c.text.as_bytes());
    (r.status, r.text())
}

fn revoke(addr: &str, c: &Issued) {
    let id = c.certificate["id"].as_str().unwrap();
    let r = post(
        addr,
        "/api/v1/revocations",
        Some(TOKEN),
        json!({"id": id, "reason": "recall"}).to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

/// The indices set in list 1, read as a verifier does (signature by key(9), dates, length).
fn ones(addr: &str) -> Vec<u64> {
    let url = format!("http://{addr}/api/v1/status/1");
    let r = get_json(addr, "/api/v1/status/1");
    assert_eq!(r.status, 200, "{}", r.text());
    let doc = r.json().unwrap();
    assert_eq!(doc["credentialSubject"]["type"], "BitstringStatusList");
    assert_eq!(
        doc["issuer"],
        exoskin_batch::keys::did_key(&key(9).verifying_key())
    );
    let o = bsl::open_list_credential(&doc, &url, Some(&key(9).verifying_key()), Timestamp::now())
        .unwrap();
    assert_eq!(o.bits.len(), bsl::MIN_ENTRIES);
    o.bits.ones()
}

fn resolver_status(addr: &str, lot: &str) -> Value {
    let r = get_json(addr, &format!("/01/09506000134352/10/{lot}"));
    assert_eq!(r.status, 200, "{}", r.text());
    r.json().unwrap()
}

/// Allocation, publication, revocation and the list, on one backend.
pub fn round_trip(db: &str) {
    let s = start(db);
    let addr = s.addr.to_string();
    let entries: Vec<StatusEntry> = (0..3).map(|_| allocate(&addr)).collect();
    for e in &entries {
        assert_eq!(e.list, format!("http://{addr}/api/v1/status/1"));
        assert!(e.index < bsl::MIN_ENTRIES);
    }
    assert_eq!(
        entries
            .iter()
            .map(|e| e.index)
            .collect::<std::collections::HashSet<_>>()
            .len(),
        3,
        "three allocations, three indices"
    );
    let certs: Vec<Issued> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| issue(&format!("BSL-{i}"), Some(e)))
        .collect();
    for c in &certs {
        assert_eq!(publish(&addr, c).0, 201);
    }
    let legacy = issue("BSL-LEGACY", None);
    assert_eq!(publish(&addr, &legacy).0, 201);
    assert_eq!(ones(&addr), Vec::<u64>::new());

    // Revoking sets exactly the revoked certificates' bits; the legacy one has none.
    revoke(&addr, &certs[0]);
    revoke(&addr, &certs[2]);
    revoke(&addr, &legacy);
    let mut want = vec![entries[0].index, entries[2].index];
    want.sort();
    assert_eq!(ones(&addr), want);
    let revoked = get_json(&addr, "/api/v1/revocations").json().unwrap();
    assert_eq!(revoked["revoked"].as_array().unwrap().len(), 3);
    let r0 = resolver_status(&addr, "BSL-0");
    assert_eq!(r0["status"], "revoked");
    assert_eq!(
        r0["credentialStatus"]["status"],
        format!("revoked (status list bit {})", entries[0].index)
    );
    let r1 = resolver_status(&addr, "BSL-1");
    assert_eq!(r1["status"], "valid");
    assert_eq!(r1["credentialStatus"]["bit"], 0);
    assert!(resolver_status(&addr, "BSL-LEGACY")["credentialStatus"].is_null());

    // What `exoskin batch verify` does: fetch the list the certificate names and check.
    let now = Timestamp::now();
    let k9 = key(9).verifying_key();
    for (c, revoked) in [(&certs[0], true), (&certs[1], false)] {
        let got = reg_status::check_certificate(&c.certificate, None, Some(&k9), None, now)
            .unwrap()
            .unwrap();
        assert_eq!(got.revoked, revoked);
    }
    let e = reg_status::check_certificate(
        &certs[1].certificate,
        None,
        Some(&key(8).verifying_key()),
        None,
        now,
    )
    .unwrap_err();
    assert!(e.to_string().contains("STATUS_VERIFICATION_ERROR"), "{e}");
    assert!(
        reg_status::check_certificate(&legacy.certificate, None, None, None, now)
            .unwrap()
            .is_none()
    );

    // An index is never reused: not by another certificate, not without an allocation,
    // not from another registry's list.
    let (code, text) = publish(&addr, &issue("BSL-REUSE", Some(&entries[1])));
    assert_eq!(code, 409, "{text}");
    assert!(text.contains("never reused"), "{text}");
    let taken: Vec<u64> = entries.iter().map(|e| e.index).collect();
    let free = (0..bsl::MIN_ENTRIES).find(|i| !taken.contains(i)).unwrap();
    let unallocated = StatusEntry::new(&entries[0].list, free).unwrap();
    let (code, text) = publish(&addr, &issue("BSL-UNALLOC", Some(&unallocated)));
    assert_eq!(code, 422, "{text}");
    assert!(text.contains("never allocated"), "{text}");
    let elsewhere = StatusEntry::new(
        "https://elsewhere.example/api/v1/status/1",
        entries[1].index,
    )
    .unwrap();
    let (code, text) = publish(&addr, &issue("BSL-ELSEWHERE", Some(&elsewhere)));
    assert_eq!(code, 422, "{text}");
    assert!(text.contains("not one of this registry's lists"), "{text}");
    // Without a token no index; lists past the path's form are 404.
    assert_eq!(
        post(&addr, reg_status::ALLOCATE_PATH, None, b"{}").status,
        401
    );
    assert_eq!(get_json(&addr, "/api/v1/status/0").status, 404);
    assert_eq!(get_json(&addr, "/api/v1/status/x").status, 404);
    s.shutdown();

    // The audit log and its rows still check out (status tables are beside them).
    let st = store::open(db, 1).unwrap();
    store::verify_log(st.as_ref(), None).unwrap();
}

/// A registry made before status lists (the same database without their two tables)
/// opens, keeps its data, serves an empty list, and takes certificates with entries.
pub fn an_older_registry_gets_status_lists(db: &str, drop_tables: &mut dyn FnMut(&str)) {
    let s = start(db);
    let addr = s.addr.to_string();
    let old: Vec<Issued> = (0..3).map(|i| issue(&format!("OLD-{i}"), None)).collect();
    for c in &old {
        assert_eq!(publish(&addr, c).0, 201);
    }
    revoke(&addr, &old[1]);
    s.shutdown();
    drop_tables("DROP TABLE status_entries; DROP TABLE status_allocations;");
    let before = store::open(db, 1).unwrap().counts().unwrap();
    let s = start(db);
    let addr = s.addr.to_string();
    assert_eq!(api::counts(&addr).certificates, before.certificates);
    assert_eq!(resolver_status(&addr, "OLD-1")["status"], "revoked");
    assert_eq!(resolver_status(&addr, "OLD-0")["status"], "valid");
    assert_eq!(ones(&addr), Vec::<u64>::new());
    let e = allocate(&addr);
    let c = issue("NEW-0", Some(&e));
    assert_eq!(publish(&addr, &c).0, 201);
    revoke(&addr, &c);
    assert_eq!(ones(&addr), vec![e.index]);
    s.shutdown();
    store::verify_log(store::open(db, 1).unwrap().as_ref(), None).unwrap();
}

#[test]
fn sqlite_status_lists() {
    let dir = TempDir::new("status_list");
    let db = dir.path().join("reg.sqlite3");
    let db = db.to_str().unwrap();
    round_trip(db);
    // Allocations and holdings are append-only.
    let c = rusqlite::Connection::open(db).unwrap();
    for sql in [
        "UPDATE status_allocations SET issuer = 'x'",
        "DELETE FROM status_allocations",
        "UPDATE status_entries SET idx = 0",
        "DELETE FROM status_entries",
    ] {
        let e = c.execute_batch(sql).unwrap_err().to_string();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
    let old = dir.path().join("old.sqlite3");
    let old = old.to_str().unwrap().to_string();
    let o = old.clone();
    an_older_registry_gets_status_lists(&old, &mut move |sql| {
        rusqlite::Connection::open(&o)
            .unwrap()
            .execute_batch(sql)
            .unwrap()
    });
}

#[test]
fn lists_are_off_without_a_registry_key() {
    let dir = TempDir::new("status_nokey");
    let db = dir.path().join("reg.sqlite3");
    let s = start_server(db.to_str().unwrap(), 256 * 1024);
    let addr = s.addr.to_string();
    let r = post(&addr, reg_status::ALLOCATE_PATH, Some(TOKEN), b"{}");
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.text().contains("--registry-key"), "{}", r.text());
    assert_eq!(get_json(&addr, "/api/v1/status/1").status, 404);
    let e = StatusEntry::new(&format!("http://{addr}/api/v1/status/1"), 5).unwrap();
    let (code, text) = publish(&addr, &issue("NOKEY-0", Some(&e)));
    assert_eq!(code, 422, "{text}");
    // Certificates without an entry publish as before.
    assert_eq!(publish(&addr, &issue("NOKEY-1", None)).0, 201);
    s.shutdown();
}

#[test]
fn postgres_status_lists() {
    let Some(pg) = PgCluster::start() else { return };
    round_trip(&pg.database("status1"));
    let url = pg.database("status2");
    let u = url.clone();
    an_older_registry_gets_status_lists(&url, &mut move |sql| {
        postgres::Client::connect(&u, postgres::NoTls)
            .unwrap()
            .batch_execute(sql)
            .unwrap()
    });
}
