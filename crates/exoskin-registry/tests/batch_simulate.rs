//! `GET /01/<gtin>/10/<lot>/simulate`: the registered batch simulated from its certificate
//! (verified against the issuer that published it), linked from the certificate page;
//! refused once revoked, 404 for an unknown lot.
mod common;
use common::*;

#[test]
fn the_certificate_page_links_to_its_batch_simulation() {
    let dir = TempDir::new("simulate");
    let db = dir.path().join("reg.sqlite3");
    let s = start_server(db.to_str().unwrap(), 256 * 1024);
    let addr = s.addr.to_string();
    let i = cert_for_lot("EXO2604-12", &key(1));
    let r = post(
        &addr,
        "/api/v1/certificates",
        Some(TOKEN),
        i.text.as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());

    let page = get_html(&addr, "/01/09506000134352/10/EXO2604-12");
    assert_eq!(page.status, 200);
    assert!(
        page.text()
            .contains("href=\"/01/09506000134352/10/EXO2604-12/simulate\""),
        "{}",
        page.text()
    );
    assert!(page.text().contains("Simulate this batch"));

    let r = get_json(&addr, "/01/09506000134352/10/EXO2604-12/simulate");
    assert_eq!(r.status, 200, "{}", r.text());
    let doc = r.json().unwrap();
    let b = &doc["batch"];
    assert_eq!(b["lot"], "EXO2604-12");
    assert_eq!(b["gtin"], "09506000134352");
    assert_eq!(b["verified"], true);
    assert_eq!(b["verification"]["issuer_pinned"], true);
    assert_eq!(b["issuer"]["id"], i.certificate["issuer"]["id"]);
    assert_eq!(doc["uncertainty"]["members"], 64);
    assert!(doc["outcomes"]["bands"]["collagen_pct"]["p95"].is_array());

    let r = get_json(&addr, "/01/09506000134352/10/NO-SUCH-LOT/simulate");
    assert_eq!(r.status, 404, "{}", r.text());

    // Revoked: refused with the reason, and the page no longer links to a simulation.
    let body = serde_json::json!({"id": i.certificate["id"], "reason": "recall"}).to_string();
    let r = post(&addr, "/api/v1/revocations", Some(TOKEN), body.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    let r = get_json(&addr, "/01/09506000134352/10/EXO2604-12/simulate");
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(
        r.text().contains("REVOKED") && r.text().contains("recall"),
        "{}",
        r.text()
    );
    let page = get_html(&addr, "/01/09506000134352/10/EXO2604-12");
    assert!(!page.text().contains("Simulate this batch"));
}
