//! API scenarios both backends run (SQLite in registry_api.rs, PostgreSQL in postgres.rs).
use super::*;
use exoskin_batch::date::Timestamp;
use exoskin_registry::store::{self, verify_chain, Counts, GENESIS_HASH};

pub fn publish_resolve_revoke_round_trip(db: &str) {
    let s = start_server(db, 256 * 1024);
    let addr = s.addr.to_string();
    let i = cert_for_lot("EXO2604-12", &key(1));
    let r = post(
        &addr,
        "/api/v1/certificates",
        Some(TOKEN),
        i.text.as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.header("Location"),
        Some("/01/09506000134352/10/EXO2604-12")
    );
    // A retried publish of the same bytes is idempotent.
    assert_eq!(
        post(
            &addr,
            "/api/v1/certificates",
            Some(TOKEN),
            i.text.as_bytes()
        )
        .status,
        200
    );
    // Another certificate for the same lot is refused: certificates are immutable.
    let again = cert_for_lot("EXO2604-12", &key(1));
    let r = post(
        &addr,
        "/api/v1/certificates",
        Some(TOKEN),
        again.text.as_bytes(),
    );
    assert_eq!(r.status, 409, "{}", r.text());

    // Resolve as JSON, with the link's expiry and the GTIN-13 form too (GS1 Digital Link
    // pads to 14).
    let exp = exoskin_batch::date::parse(&fresh_record("x").batch.expires).unwrap();
    let with_expiry = format!(
        "/01/09506000134352/10/EXO2604-12?17={}",
        exoskin_batch::date::yymmdd(exp)
    );
    for path in [with_expiry.as_str(), "/01/9506000134352/10/EXO2604-12"] {
        let r = get_json(&addr, path);
        assert_eq!(r.status, 200);
        let j = r.json().unwrap();
        assert_eq!(j["status"], "valid");
        assert_eq!(j["certificate"], i.certificate);
        // The registry's name for the issuer, not the one the certificate claims.
        assert_eq!(j["issuer"]["name"], "Test Lab");
        assert_eq!(
            j["issuer"]["claimedName"],
            "Halvorsen Analytical Laboratory"
        );
    }
    // A link whose AI 17 expiry is not the certificate's: the page says so.
    let wrong = exoskin_batch::date::yymmdd(exp.checked_add(jiff::Span::new().days(1)).unwrap());
    let path = format!("/01/09506000134352/10/EXO2604-12?17={wrong}");
    assert_eq!(
        get_json(&addr, &path).json().unwrap()["status"],
        "expiry_mismatch"
    );
    let page = get_html(&addr, &path).text();
    assert!(page.contains("does not match the certificate"), "{page}");
    // The phone page.
    let r = get_html(&addr, "/01/09506000134352/10/EXO2604-12");
    assert_eq!(r.status, 200);
    assert!(r.header("Content-Type").unwrap().starts_with("text/html"));
    let page = r.text();
    let expiry = fresh_record("x").batch.expires;
    for s in [
        "Valid certificate",
        "Nordlys Biologics AS",
        "umbilical-cord",
        &expiry,
        "0.08 EU/mL",
        "name=\"viewport\"",
    ] {
        assert!(page.contains(s), "page lacks {s}");
    }

    // Only the issuer may revoke; the other lab's token is refused.
    let body = br#"{"gtin":"09506000134352","lot":"EXO2604-12","reason":"recall: endotoxin retest failed"}"#;
    assert_eq!(
        post(&addr, "/api/v1/revocations", Some(OTHER_TOKEN), body).status,
        403
    );
    let r = post(&addr, "/api/v1/revocations", Some(TOKEN), body);
    assert_eq!(r.status, 200, "{}", r.text());
    let j = get_json(&addr, "/01/09506000134352/10/EXO2604-12")
        .json()
        .unwrap();
    assert_eq!(j["status"], "revoked");
    assert_eq!(j["revocation"]["reason"], "recall: endotoxin retest failed");
    assert!(get_html(&addr, "/01/09506000134352/10/EXO2604-12")
        .text()
        .contains("REVOKED"));
    // The revocation list feeds offline verification.
    let list = get_json(&addr, "/api/v1/revocations").text();
    let revs = exoskin_batch::cert::RevocationList::parse(&list, "list")
        .unwrap()
        .revoked;
    let e = exoskin_batch::cert::verify(&i.text, &key(1).verifying_key(), Timestamp::now(), &revs)
        .unwrap_err();
    assert!(e.to_string().starts_with("revoked on"), "{e}");

    let log = get_json(&addr, "/api/v1/audit").json().unwrap();
    let entries: Vec<store::AuditEntry> = serde_json::from_value(log["entries"].clone()).unwrap();
    // The issuers the registry serves, the publish, the revocation.
    assert_eq!(entries.len(), 3);
    verify_chain(&entries, GENESIS_HASH.into()).unwrap();
    assert_eq!(entries[0].action, "issuers");
    assert_eq!(entries[1].actor, "Test Lab");
    s.shutdown();
}

pub fn counts(addr: &str) -> Counts {
    let j = get_json(addr, "/healthz").json().unwrap();
    serde_json::from_value::<serde_json::Value>(j["counts"].clone())
        .map(|c| Counts {
            certificates: c["certificates"].as_i64().unwrap(),
            revocations: c["revocations"].as_i64().unwrap(),
            audit: c["audit"].as_i64().unwrap(),
        })
        .unwrap()
}

/// Returns after revoking GOOD-1 directly in the store, so the caller can test triggers.
pub fn bad_input_gets_a_clear_4xx_and_leaves_data_untouched(db: &str) {
    let s = start_server(db, 64 * 1024);
    let addr = s.addr.to_string();
    let good = cert_for_lot("GOOD-1", &key(1));
    assert_eq!(
        post(
            &addr,
            "/api/v1/certificates",
            Some(TOKEN),
            good.text.as_bytes()
        )
        .status,
        201
    );
    let before = counts(&addr);
    let page_before = get_json(&addr, "/01/09506000134352/10/GOOD-1")
        .json()
        .unwrap();
    let other = cert_for_lot("OTHER-1", &key(1));
    let by_other_key = cert_for_lot("OTHER-2", &key(2));
    let tampered = other.text.replace(
        "\"residual_dna_ng_per_ml\": 1.8",
        "\"residual_dna_ng_per_ml\": 0.1",
    );
    assert_ne!(tampered, other.text);
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(70 * 1024));
    let expired = {
        let mut rec = example("pass_msc_serum.toml");
        rec.batch.lot = "OLD-1".into();
        rec.batch.manufactured = "2024-01-01".into();
        rec.batch.expires = "2026-01-01".into();
        rec.stability.supported_months = 24;
        issue_at(
            &rec,
            &key(1),
            exoskin_batch::date::Timestamp::parse("2025-06-01").unwrap(),
        )
    };
    /// (what, token, body, expected status, expected words in the error)
    type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "malformed JSON",
            Some(TOKEN),
            b"{\"type\": [".to_vec(),
            400,
            "malformed JSON",
        ),
        (
            "not JSON at all",
            Some(TOKEN),
            b"DROP TABLE certificates;".to_vec(),
            400,
            "malformed JSON",
        ),
        (
            "oversized body",
            Some(TOKEN),
            huge.into_bytes(),
            413,
            "larger than",
        ),
        (
            "no token",
            None,
            other.text.clone().into_bytes(),
            401,
            "missing Authorization",
        ),
        (
            "wrong token",
            Some("not-the-token-at-all-xxxxxx"),
            other.text.clone().into_bytes(),
            401,
            "invalid token",
        ),
        (
            "token of another issuer",
            Some(OTHER_TOKEN),
            other.text.clone().into_bytes(),
            403,
            "certificate is issued by",
        ),
        (
            "tampered certificate",
            Some(TOKEN),
            tampered.into_bytes(),
            422,
            "signature does not verify",
        ),
        (
            "signed by a key the token is not for",
            Some(TOKEN),
            by_other_key.text.clone().into_bytes(),
            403,
            "certificate is issued by",
        ),
        (
            "expired certificate",
            Some(TOKEN),
            expired.text.clone().into_bytes(),
            422,
            "expired",
        ),
        (
            "a JSON array",
            Some(TOKEN),
            b"[1,2,3]".to_vec(),
            422,
            "malformed certificate",
        ),
    ];
    for (what, token, body, status, msg) in cases {
        let r = post(&addr, "/api/v1/certificates", token, &body);
        assert_eq!(r.status, status, "{what}: {}", r.text());
        let err = r.json().unwrap()["error"].as_str().unwrap().to_string();
        assert!(err.contains(msg), "{what}: `{err}` lacks `{msg}`");
    }
    // Wrong content type, wrong method, bad revocations, bad audit parameters.
    let r = exoskin_registry::client::request(
        &addr,
        "POST",
        "/api/v1/certificates",
        &[
            ("Authorization", &format!("Bearer {TOKEN}")),
            ("Content-Type", "text/plain"),
        ],
        other.text.as_bytes(),
    )
    .unwrap();
    assert_eq!(r.status, 415);
    assert_eq!(
        exoskin_registry::client::request(&addr, "DELETE", "/api/v1/certificates", &[], b"")
            .unwrap()
            .status,
        405
    );
    assert_eq!(
        post(&addr, "/01/09506000134352/10/GOOD-1", Some(TOKEN), b"{}").status,
        405
    );
    for body in [
        &b"{\"id\":\"urn:uuid:x\"}"[..],
        b"{\"reason\":\"r\"}",
        b"{\"gtin\":\"123\",\"lot\":\"A\",\"reason\":\"r\"}",
        b"{\"gtin\":\"09506000134352\",\"lot\":\"A B\",\"reason\":\"r\"}",
    ] {
        let r = post(&addr, "/api/v1/revocations", Some(TOKEN), body);
        assert_eq!(r.status, 400, "{}", r.text());
    }
    assert_eq!(
        post(
            &addr,
            "/api/v1/revocations",
            Some(TOKEN),
            b"{\"id\":\"urn:uuid:x' OR 1=1 --\",\"reason\":\"r\"}"
        )
        .status,
        404
    );
    assert_eq!(
        post(
            &addr,
            "/api/v1/revocations",
            None,
            b"{\"id\":\"x\",\"reason\":\"r\"}"
        )
        .status,
        401
    );
    assert_eq!(get_json(&addr, "/api/v1/audit?after=-1").status, 400);
    assert_eq!(get_json(&addr, "/api/v1/audit?after=1;DROP").status, 400);

    // Injection strings in lot numbers on the resolver.
    let lots = [
        ("%27%3B%20DROP%20TABLE%20certificates%3B--", 400), // spaces: not GS1 CSET 82
        ("%27OR%271%27%3D%271", 404),                       // valid CSET 82, no such lot
        ("GOOD-1%27%20OR%20%271%27%3D%271", 400),
        ("%3Cscript%3Ealert(1)%3C%2Fscript%3E", 400), // 24 characters: too long
        ("%3Cscript%3E", 404),
        ("%ZZ", 400),
        ("%C3%A9", 400),
        ("..%2F..%2Fetc%2Fpasswd", 404),
    ];
    for (lot, status) in lots {
        let path = format!("/01/09506000134352/10/{lot}");
        let r = get_json(&addr, &path);
        assert_eq!(r.status, status, "{lot}: {}", r.text());
        assert!(r.json().unwrap()["error"].is_string());
        let h = get_html(&addr, &path);
        assert_eq!(h.status, status);
        assert!(
            !h.text().contains("<script>"),
            "unescaped input in the page for {lot}"
        );
    }
    assert_eq!(get_json(&addr, "/01/09506000134353/10/GOOD-1").status, 400); // bad check digit
                                                                             // A GTIN alone answers its product page (gs1:pip, its lots); one with nothing is a 404.
    assert_eq!(get_json(&addr, "/01/09506000134352").status, 200);
    assert_eq!(get_json(&addr, "/01/00000096385074").status, 404);

    assert_eq!(
        counts(&addr),
        before,
        "a rejected request changed stored data"
    );
    assert_eq!(
        get_json(&addr, "/01/09506000134352/10/GOOD-1")
            .json()
            .unwrap(),
        page_before
    );
    s.shutdown();

    // The audit log and certificates refuse UPDATE and DELETE even from inside the database.
    let st = store::open(db, 1).unwrap();
    let id = st.find("09506000134352", "GOOD-1").unwrap().unwrap().id;
    let did = exoskin_batch::keys::did_key(&key(1).verifying_key());
    assert!(matches!(
        st.revoke(&id, &did, "test", "Test Lab").unwrap(),
        store::RevokeOutcome::Revoked { .. }
    ));
}

pub fn hostile_lots_that_are_valid_gs1_are_stored_literally_and_escaped_in_html(db: &str) {
    let s = start_server(db, 256 * 1024);
    let addr = s.addr.to_string();
    for lot in ["<script>", "'OR'1'='1", "A\"B&C", "x';--"] {
        let mut rec = fresh_record(lot);
        rec.product.name = format!("Serum {lot}");
        let i = issue_at(&rec, &key(1), Timestamp::now());
        let r = post(
            &addr,
            "/api/v1/certificates",
            Some(TOKEN),
            i.text.as_bytes(),
        );
        assert_eq!(r.status, 201, "{lot}: {}", r.text());
        let path = i.link.path();
        let j = get_json(&addr, &path).json().unwrap();
        assert_eq!(j["lot"], lot);
        let page = get_html(&addr, &path).text();
        assert!(
            !page.contains(lot) || !lot.contains(['<', '"', '&', '\'']),
            "{lot} appears unescaped"
        );
        assert!(page.contains(&exoskin_registry::html::escape(lot)));
    }
    assert_eq!(counts(&addr).certificates, 4);
    s.shutdown();
}
