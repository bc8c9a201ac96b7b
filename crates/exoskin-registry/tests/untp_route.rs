//! `GET /01/<gtin>/10/<lot>/untp`: the registered certificate as a UNTP Digital Conformity
//! Credential, equal to what the library's export (`exoskin batch export --untp`) makes of the
//! same certificate; 404 for an unknown lot, 400 for a malformed link.
mod common;
use common::*;

#[test]
fn the_registry_serves_a_certificate_as_a_untp_credential() {
    let dir = TempDir::new("untp");
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

    let r = get_json(&addr, "/01/09506000134352/10/EXO2604-12/untp");
    assert_eq!(r.status, 200, "{}", r.text());
    let served = r.json().unwrap();
    let profile = exoskin_batch::profile::Profile::default_profile();
    let doc = exoskin_batch::cert::parse_certificate(&i.text).unwrap();
    let made = exoskin_batch::untp::export(
        &doc,
        &exoskin_batch::untp::ExportOptions {
            profile: Some(&profile),
        },
    )
    .unwrap();
    assert_eq!(served, made.document);
    let types = served["type"].as_array().unwrap();
    assert!(
        types.iter().any(|t| t == "DigitalConformityCredential"),
        "{served}"
    );

    let r = get_json(&addr, "/01/09506000134352/10/NO-SUCH-LOT/untp");
    assert_eq!(r.status, 404, "{}", r.text());
    let r = get_json(&addr, "/01/09506000134353/10/EXO2604-12/untp");
    assert_eq!(r.status, 400, "bad check digit: {}", r.text());
}
