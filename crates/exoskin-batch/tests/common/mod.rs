//! Shared test helpers: keys, bundled records, certificates and temp dirs. The registry's
//! tests include this file too (crates/exoskin-registry/tests/common).
#![allow(dead_code)]
use ed25519_dalek::SigningKey;
use exoskin_batch::cert::{self, IssueOptions, Issued};
use exoskin_batch::date::Timestamp;
use exoskin_batch::profile::Profile;
use exoskin_batch::record::QcRecord;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/qc")
}

pub fn example(name: &str) -> QcRecord {
    QcRecord::load(&examples_dir().join(name)).expect("bundled example loads")
}

/// 2026-11-23T12:00:00Z, the fixed "now" of the tests.
pub fn t0() -> Timestamp {
    Timestamp::parse("2026-11-23T12:00:00Z").unwrap()
}

pub fn issue_at(rec: &QcRecord, k: &SigningKey, at: Timestamp) -> Issued {
    let p = Profile::default_profile();
    cert::issue(
        rec,
        k,
        &IssueOptions {
            profile: &p,
            resolver: "id.example.com",
            issued_at: at,
            allow_failing: false,
        },
    )
    .expect("issue")
}

/// The passing example with another lot, made 30 days ago and expiring in 700 days, so
/// that a registry (which checks against the real clock) accepts it whenever tests run.
pub fn fresh_record(lot: &str) -> QcRecord {
    let mut rec = example("pass_msc_serum.toml");
    let today = Timestamp::now().date();
    let days = |n: i64| jiff::Span::new().days(n);
    rec.batch.lot = lot.to_string();
    rec.batch.manufactured = today.checked_sub(days(30)).unwrap().to_string();
    rec.batch.expires = today.checked_add(days(700)).unwrap().to_string();
    rec
}

/// [`fresh_record`] issued by `k` now.
pub fn cert_for_lot(lot: &str, k: &SigningKey) -> Issued {
    issue_at(&fresh_record(lot), k, Timestamp::now())
}

pub static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let p =
            std::env::temp_dir().join(format!("exoskin-{tag}-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Is a tool required (the test command sets EXOSKIN_REQUIRE_TOOLS=1) or may tests skip?
pub fn required() -> bool {
    std::env::var("EXOSKIN_REQUIRE_TOOLS").is_ok_and(|v| v == "1")
}
