//! Who may certify what, strict input, page headers, token guessing, TLS, and the audit
//! log's signed checkpoints.
mod common;
use common::*;
use exoskin_registry::checkpoint::Checkpoint;
use exoskin_registry::server::{self, ServerConfig, TlsFiles};
use exoskin_registry::store::{self, AuditEntry, GENESIS_HASH};
use exoskin_registry::RegistryError;

fn db(dir: &TempDir) -> String {
    dir.path().join("reg.sqlite3").to_str().unwrap().to_string()
}

#[test]
fn an_issuer_certifies_only_its_own_gtins_and_the_page_names_it_as_the_registry_does() {
    let dir = TempDir::new("authority");
    let s = start_server(&db(&dir), 256 * 1024);
    let addr = s.addr.to_string();
    // Other Lab signs, with its own key and token, a certificate for Test Lab's GTIN.
    let squat = cert_for_lot("SQUAT-1", &key(2));
    let r = post(
        &addr,
        "/api/v1/certificates",
        Some(OTHER_TOKEN),
        squat.text.as_bytes(),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(
        r.text().contains("may not certify GTIN 09506000134352"),
        "{}",
        r.text()
    );
    // So Test Lab's lot is free: 201, not 409.
    let mut rec = fresh_record("SQUAT-1");
    rec.issuer.name = "World Health Organization\u{202E}evil".into();
    let own = issue_at(&rec, &key(1), exoskin_batch::date::Timestamp::now());
    let r = post(
        &addr,
        "/api/v1/certificates",
        Some(TOKEN),
        own.text.as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    // "Certified by" is the registry's name; the certificate's claim is not shown there.
    let page = get_html(&addr, "/01/09506000134352/10/SQUAT-1");
    let text = page.text();
    assert!(text.contains("Test Lab"), "{text}");
    assert!(!text.contains("World Health Organization"), "{text}");
    assert!(!text.contains('\u{202E}'));
    // Security headers on pages.
    let csp = page.header("Content-Security-Policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.header("X-Frame-Options"), Some("DENY"));
    assert_eq!(page.header("Referrer-Policy"), Some("no-referrer"));
    assert_eq!(page.header("X-Content-Type-Options"), Some("nosniff"));
    s.shutdown();
}

#[test]
fn issuers_files_need_authority_and_no_gtin_has_two_issuers() {
    let did1 = exoskin_batch::keys::did_key(&key(1).verifying_key());
    let did2 = exoskin_batch::keys::did_key(&key(2).verifying_key());
    let h = "a".repeat(64);
    let entry = |name: &str, did: &str, auth: &str| {
        format!("[[issuer]]\nname = \"{name}\"\ndid = \"{did}\"\ntoken_sha256 = \"{h}\"\n{auth}\n")
    };
    let none = entry("A", &did1, "");
    let e = server::parse_issuers(&none, "f").unwrap_err().to_string();
    assert!(e.contains("gtin_prefixes"), "{e}");
    let overlap = entry("A", &did1, "gtin_prefixes = [\"950600\"]")
        + &entry("B", &did2, "gtin_prefixes = [\"950600013\"]");
    let e = server::parse_issuers(&overlap, "f")
        .unwrap_err()
        .to_string();
    assert!(e.contains("each GTIN may have one issuer"), "{e}");
    let gtin_under_prefix = entry("A", &did1, "gtin_prefixes = [\"950600013\"]")
        + &entry("B", &did2, "gtins = [\"9506000134352\"]");
    assert!(server::parse_issuers(&gtin_under_prefix, "f").is_err());
    let bidi = entry("Good\u{202E}Lab", &did1, "gtins = [\"09506000134352\"]");
    let i = server::parse_issuers(&bidi, "f").unwrap();
    assert_eq!(i[0].name, "GoodLab");
    assert!(i[0].authority.covers("09506000134352"));
    assert!(!i[0].authority.covers("09506000134345"));
}

#[test]
fn duplicate_json_keys_are_refused() {
    let dir = TempDir::new("dupkeys");
    let s = start_server(&db(&dir), 256 * 1024);
    let addr = s.addr.to_string();
    let c = cert_for_lot("DUP-1", &key(1));
    // A second "type" key at the top: parsers keeping the first and the last disagree.
    let dup = c.text.replacen('{', "{\"type\": \"Other\",", 1);
    let r = post(&addr, "/api/v1/certificates", Some(TOKEN), dup.as_bytes());
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("duplicate key `type`"), "{}", r.text());
    let r = post(
        &addr,
        "/api/v1/revocations",
        Some(TOKEN),
        b"{\"id\": \"a\", \"id\": \"b\", \"reason\": \"r\"}",
    );
    assert_eq!(r.status, 400, "{}", r.text());
    s.shutdown();
}

#[test]
fn wrong_tokens_are_limited_per_client_with_429() {
    let dir = TempDir::new("guess");
    let s = start_server(&db(&dir), 256 * 1024);
    let addr = s.addr.to_string();
    let body = b"{\"id\": \"x\", \"reason\": \"r\"}";
    for i in 0..10 {
        let r = post(
            &addr,
            "/api/v1/revocations",
            Some("guess-0123456789abcdef"),
            body,
        );
        assert_eq!(r.status, 401, "attempt {i}");
    }
    let r = post(
        &addr,
        "/api/v1/revocations",
        Some("guess-0123456789abcdef"),
        body,
    );
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.header("Retry-After").is_some());
    // Reads are not affected.
    assert_eq!(get_json(&addr, "/healthz").status, 200);
    s.shutdown();
}

#[test]
fn publish_and_revoke_over_https_with_a_private_ca() {
    let dir = TempDir::new("tls");
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let keyf = dir.path().join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&keyf, ck.signing_key.serialize_pem()).unwrap();
    let mut cfg = ServerConfig::new("127.0.0.1:0", &db(&dir), issuers());
    cfg.tls = Some(TlsFiles {
        cert: cert.clone(),
        key: keyf,
    });
    let s = server::start(cfg).unwrap();
    let base = format!("https://localhost:{}", s.addr.port());
    let c = cert_for_lot("TLS-1", &key(1));
    let r = exoskin_registry::client::post_json(
        &base,
        "/api/v1/certificates",
        TOKEN,
        c.text.as_bytes(),
        Some(&cert),
    )
    .unwrap();
    assert_eq!(r.status, 201, "{}", r.text);
    // Without the CA the client refuses the certificate (no silent fallback to plain text).
    let e = exoskin_registry::client::post_json(&base, "/api/v1/certificates", TOKEN, b"{}", None)
        .unwrap_err();
    assert!(matches!(e, RegistryError::Http { .. }), "{e}");
    let r = exoskin_registry::client::post_json(
        &base,
        "/api/v1/revocations",
        TOKEN,
        b"{\"gtin\": \"09506000134352\", \"lot\": \"TLS-1\", \"reason\": \"test\"}",
        Some(&cert),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text);
    s.shutdown();
}

#[test]
fn a_relinked_chain_verifies_alone_but_not_against_an_earlier_checkpoint() {
    let dir = TempDir::new("checkpoint");
    let dbp = db(&dir);
    let admin = "admin-token-0123456789abcdef";
    let mut cfg = ServerConfig::new("127.0.0.1:0", &dbp, issuers());
    cfg.registry_key = Some(key(9));
    cfg.admin_token_sha256 = Some(server::sha256(admin.as_bytes()));
    let s = server::start(cfg).unwrap();
    let addr = s.addr.to_string();
    for lot in ["CP-1", "CP-2", "CP-3"] {
        let c = cert_for_lot(lot, &key(1));
        assert_eq!(
            post(
                &addr,
                "/api/v1/certificates",
                Some(TOKEN),
                c.text.as_bytes()
            )
            .status,
            201
        );
    }
    // An issuer token is not the admin token.
    assert_eq!(
        post(&addr, "/api/v1/checkpoints", Some(TOKEN), b"{}").status,
        401
    );
    let r = post(&addr, "/api/v1/checkpoints", Some(admin), b"{}");
    assert_eq!(r.status, 201, "{}", r.text());
    let latest = get_json(&addr, "/api/v1/checkpoints/latest");
    assert_eq!(latest.status, 200);
    let cp = Checkpoint::parse(&latest.text(), "latest").unwrap();
    cp.verify(Some(&exoskin_batch::keys::did_key(&key(9).verifying_key())))
        .unwrap();
    // The issuers the registry serves (entry 1), then the three publishes.
    assert_eq!(cp.seq, 4);
    s.shutdown();

    let st = store::open(&dbp, 1).unwrap();
    let ok = store::verify_log(st.as_ref(), Some(&cp)).unwrap();
    assert_eq!((ok.entries, ok.checkpoint_seq), (4, Some(4)));
    assert_eq!(cp.state.as_deref(), Some(ok.state.as_str()));
    let cp2_id = st.find("09506000134352", "CP-2").unwrap().unwrap().id;

    // Someone with the file removes CP-2's entry and re-links the rest.
    let c = rusqlite::Connection::open(&dbp).unwrap();
    c.execute_batch(
        "DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_log_no_update; DROP TRIGGER certificates_no_delete;",
    )
    .unwrap();
    let rows: Vec<AuditEntry> = st.audit(0, 100).unwrap();
    c.execute("DELETE FROM audit_log", []).unwrap();
    let mut prev = GENESIS_HASH.to_string();
    for (i, e) in rows
        .into_iter()
        .filter(|e| !e.detail.contains("CP-2"))
        .enumerate()
    {
        let mut e = e;
        e.seq = i as i64 + 1;
        e.prev_hash = prev.clone();
        e.hash = e.compute_hash();
        prev = e.hash.clone();
        c.execute(
            "INSERT INTO audit_log (seq, at, actor, action, cert_id, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![e.seq, e.at, e.actor, e.action, e.cert_id, e.detail, e.prev_hash, e.hash],
        )
        .unwrap();
    }
    // CP-2's row is still there without its entry: the log alone tells.
    let e = store::verify_log(st.as_ref(), None).unwrap_err();
    assert!(
        matches!(&e, RegistryError::Tampered { table: "certificates", key, .. } if *key == cp2_id),
        "{e}"
    );
    assert!(e.to_string().contains("has no audit entry"), "{e}");
    // With the row deleted too, the rewritten log and tables agree...
    c.execute("DELETE FROM certificates WHERE id = ?1", [&cp2_id])
        .unwrap();
    // The Merkle log's leaf cache still holds the old entries' leaves: it tells too...
    let e = store::verify_log(st.as_ref(), None).unwrap_err();
    assert!(
        matches!(
            &e,
            RegistryError::Tampered {
                table: "log_leaves",
                ..
            }
        ),
        "{e}"
    );
    // ...until it is rewritten as well.
    c.execute_batch("DROP TRIGGER log_leaves_no_delete; DELETE FROM log_leaves;")
        .unwrap();
    for e in st.audit(0, 100).unwrap() {
        c.execute(
            "INSERT INTO log_leaves (seq, leaf_hash) VALUES (?1, ?2)",
            rusqlite::params![e.seq, exoskin_registry::merkle::to_hex(&e.leaf_hash())],
        )
        .unwrap();
    }
    assert_eq!(store::verify_log(st.as_ref(), None).unwrap().entries, 3);
    // ...but not with the checkpoint kept elsewhere.
    let e = store::verify_log(st.as_ref(), Some(&cp)).unwrap_err();
    assert!(
        matches!(&e, RegistryError::AuditChain { seq: 4, .. }),
        "{e}"
    );
    // An altered entry is named by its sequence number.
    c.execute("UPDATE audit_log SET actor = 'x' WHERE seq = 2", [])
        .unwrap();
    let e = store::verify_log(st.as_ref(), None).unwrap_err();
    assert!(
        matches!(&e, RegistryError::AuditChain { seq: 2, .. }),
        "{e}"
    );
}

/// Issuers behind one address (a NAT): another's wrong tokens must not lock out the right
/// one, while wrong tokens stay limited.
#[test]
fn wrong_tokens_do_not_lock_out_the_right_token_from_the_same_address() {
    let dir = TempDir::new("nat");
    let s = start_server(&db(&dir), 256 * 1024);
    let addr = s.addr.to_string();
    let body = b"{\"id\": \"urn:uuid:none\", \"reason\": \"r\"}";
    let wrong = Some("guess-0123456789abcdef");
    for _ in 0..12 {
        let st = post(&addr, "/api/v1/revocations", wrong, body).status;
        assert!(st == 401 || st == 429, "{st}");
    }
    assert_eq!(post(&addr, "/api/v1/revocations", wrong, body).status, 429);
    // The right tokens still get in (404: authenticated, no such certificate).
    for token in [TOKEN, OTHER_TOKEN, TOKEN] {
        let r = post(&addr, "/api/v1/revocations", Some(token), body);
        assert_eq!(r.status, 404, "{}", r.text());
    }
    let c = cert_for_lot("NAT-1", &key(1));
    let r = post(
        &addr,
        "/api/v1/certificates",
        Some(TOKEN),
        c.text.as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    // A right token does not reset the count: the wrong one is still refused.
    let r = post(&addr, "/api/v1/revocations", wrong, body);
    assert_eq!(r.status, 429, "{}", r.text());
    assert!(r.header("Retry-After").is_some());
    s.shutdown();
}

const SQLITE_UNGUARD: &str =
    "DROP TRIGGER IF EXISTS certificates_no_update; DROP TRIGGER IF EXISTS certificates_no_delete;
DROP TRIGGER IF EXISTS revocations_no_update; DROP TRIGGER IF EXISTS revocations_no_delete;";

/// Fresh SQLite files under `dir`, each with a connection for raw SQL.
fn sqlite_dbs(dir: &TempDir) -> impl FnMut(&str) -> (String, tamper::Exec) + '_ {
    move |name: &str| {
        let p = dir.path().join(format!("{name}.sqlite3"));
        let p = p.to_str().unwrap().to_string();
        let c = rusqlite::Connection::open(&p).unwrap();
        let exec: tamper::Exec = Box::new(move |sql: &str| c.execute_batch(sql).unwrap());
        (p, exec)
    }
}

#[test]
fn a_deleted_revocation_or_a_swapped_certificate_fails_verify_log() {
    let dir = TempDir::new("tamper");
    tamper::hand_edits_of_any_table_fail_verify_log(&mut sqlite_dbs(&dir), SQLITE_UNGUARD);
}

#[test]
fn an_old_format_registry_keeps_verifying_and_is_sealed_on_upgrade() {
    let dir = TempDir::new("oldformat");
    tamper::old_format_registries_keep_verifying_and_are_sealed_on_upgrade(
        &mut sqlite_dbs(&dir),
        SQLITE_UNGUARD,
    );
}
