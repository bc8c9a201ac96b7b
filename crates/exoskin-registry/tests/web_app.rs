//! The web app served beside the registry (as `exoskin serve` runs them), on loopback only:
//! a scanned QR code goes to the resolver with its whole link, so a relabelled expiry shows
//! as a mismatch; and the web app's per-client job quota sees each connection's address.
mod common;
use common::*;
use exoskin_registry::client;
use exoskin_registry::server::{self, ServerConfig};

fn start_with_web(dir: &TempDir, web: exoskin_web::WebConfig) -> server::RunningServer {
    let db = dir.path().join("reg.sqlite3").to_str().unwrap().to_string();
    let mut cfg = ServerConfig::new("127.0.0.1:0", &db, issuers());
    cfg.threads = 2;
    cfg.client_limits.requests_per_second = 0.0;
    cfg.extra = Some(exoskin_web::router(web));
    server::start(cfg).expect("server starts")
}

#[test]
fn a_scanned_code_with_a_relabelled_expiry_resolves_as_a_mismatch() {
    let dir = TempDir::new("web-scan");
    let s = start_with_web(&dir, exoskin_web::WebConfig::default());
    let addr = s.addr.to_string();
    let issued = cert_for_lot("SCAN-1", &key(1));
    let r = post(
        &addr,
        "/api/v1/certificates",
        Some(TOKEN),
        issued.text.as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let expires = exoskin_batch::date::parse(&fresh_record("x").batch.expires).unwrap();
    let printed = |d| {
        let link =
            exoskin_batch::gs1::DigitalLink::new("09506000134352", "SCAN-1", Some(d)).unwrap();
        exoskin_batch::qr::encode(&link.uri("id.example.com"))
            .unwrap()
            .to_png(4)
    };
    let scan = |png: Vec<u8>| {
        let r = client::request(
            &addr,
            "POST",
            "/api/v1/qr",
            &[("Content-Type", "image/png")],
            &png,
        )
        .expect("request");
        assert_eq!(r.status, 200, "{}", r.text());
        r.json().unwrap()["path"].as_str().unwrap().to_string()
    };
    // The label's own expiry: valid.
    let path = scan(printed(expires));
    assert!(path.contains("?17="), "{path}");
    assert_eq!(get_json(&addr, &path).json().unwrap()["status"], "valid");
    // A relabelled box: another expiry printed in the code.
    let later = expires.checked_add(jiff::Span::new().days(365)).unwrap();
    let path = scan(printed(later));
    assert_eq!(
        path,
        format!(
            "/01/09506000134352/10/SCAN-1?17={}",
            exoskin_batch::date::yymmdd(later)
        )
    );
    assert_eq!(
        get_json(&addr, &path).json().unwrap()["status"],
        "expiry_mismatch"
    );
    s.shutdown();
}

#[test]
fn the_job_quota_counts_per_connection_address() {
    let dir = TempDir::new("web-quota");
    let s = start_with_web(
        &dir,
        exoskin_web::WebConfig {
            max_jobs: 8,
            workers: 1,
            max_jobs_per_client: 1,
            data_dir: std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."),
            ..Default::default()
        },
    );
    let addr = s.addr.to_string();
    let huge = br#"{"name": "microneedling_split_face", "replicates": 100000, "max_participants": 100000}"#;
    let first = post(&addr, "/api/v1/power", None, huge);
    assert_eq!(first.status, 202, "{}", first.text());
    let second = post(&addr, "/api/v1/power", None, huge);
    assert_eq!(second.status, 429, "{}", second.text());
    assert!(
        second.text().contains("your address already has 1 jobs"),
        "{}",
        second.text()
    );
    let url = first.json().unwrap()["url"].as_str().unwrap().to_string();
    let r = client::request(&addr, "DELETE", &url, &[], b"").expect("request");
    assert_eq!(r.status, 202);
    s.shutdown();
}
