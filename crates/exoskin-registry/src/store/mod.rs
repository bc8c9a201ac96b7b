//! The registry's storage: certificates, revocations and an append-only, hash-chained audit
//! log, in SQLite (embedded, the default) or PostgreSQL (`postgres://` URLs).
//!
//! Every change runs in one transaction that also appends its audit entry; the caller is
//! answered only after the commit returns. SQLite runs in WAL mode with `synchronous=FULL`,
//! so a commit is on disk before it is acknowledged. Triggers reject UPDATE and DELETE on
//! all three tables: certificates are immutable, revocations final, the log append-only.
//! Every value is bound as a parameter; no SQL is built from input.
use crate::checkpoint::Checkpoint;
use crate::error::{RegistryError, Result};
use exoskin_batch::cert::Revocation;
use exoskin_batch::jcs::canonicalize;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

mod pg;
mod sqlite;

/// The tables both backends share verbatim; each adds its audit table and triggers.
const COMMON_TABLES: &str = "
CREATE TABLE IF NOT EXISTS certificates (
  id TEXT PRIMARY KEY, gtin TEXT NOT NULL, lot TEXT NOT NULL, issuer TEXT NOT NULL,
  valid_until TEXT NOT NULL, body TEXT NOT NULL, published_at TEXT NOT NULL, UNIQUE (gtin, lot));
CREATE TABLE IF NOT EXISTS revocations (
  cert_id TEXT PRIMARY KEY REFERENCES certificates(id), reason TEXT NOT NULL,
  revoked_at TEXT NOT NULL, actor TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (n BIGINT PRIMARY KEY, body TEXT NOT NULL);
";

/// A verified certificate about to be stored.
#[derive(Debug, Clone)]
pub struct NewCertificate {
    pub id: String,
    pub gtin: String,
    pub lot: String,
    pub issuer: String,
    pub valid_until: String,
    /// The certificate JSON exactly as the issuer sent it.
    pub body: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PublishOutcome {
    /// Stored; the audit entry's sequence number.
    Created { seq: i64 },
    /// The identical certificate was already stored (a retried publish).
    Unchanged,
    /// Another certificate holds this GTIN and lot, or this id.
    Conflict(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum RevokeOutcome {
    Revoked {
        seq: i64,
    },
    AlreadyRevoked,
    NotFound,
    /// The certificate belongs to another issuer.
    NotIssuer,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredCertificate {
    pub id: String,
    pub gtin: String,
    pub lot: String,
    pub issuer: String,
    pub body: String,
    pub published_at: String,
    pub revocation: Option<Revocation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    #[serde(rename = "certId")]
    pub cert_id: String,
    pub detail: String,
    #[serde(rename = "prevHash")]
    pub prev_hash: String,
    pub hash: String,
}

/// Hash of the first entry's predecessor.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl AuditEntry {
    /// SHA-256 over the canonical JSON of every field but `hash`.
    pub fn compute_hash(&self) -> String {
        let v = json!({
            "seq": self.seq, "at": self.at, "actor": self.actor, "action": self.action,
            "certId": self.cert_id, "detail": self.detail, "prevHash": self.prev_hash,
        });
        let c = canonicalize(&v).expect("strings and small integers canonicalize");
        Sha256::digest(c.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub(crate) fn new(
        seq: i64,
        prev_hash: String,
        actor: &str,
        action: &str,
        cert_id: &str,
        detail: String,
    ) -> Self {
        let mut e = AuditEntry {
            seq,
            at: exoskin_batch::date::Timestamp::now().to_string(),
            actor: actor.into(),
            action: action.into(),
            cert_id: cert_id.into(),
            detail,
            prev_hash,
            hash: String::new(),
        };
        e.hash = e.compute_hash();
        e
    }
}

/// Check a run of audit entries: each hash correct, each linked to its predecessor.
pub fn verify_chain(entries: &[AuditEntry], mut prev: String) -> Result<()> {
    for e in entries {
        if e.prev_hash != prev {
            return Err(RegistryError::AuditChain {
                seq: e.seq,
                problem: "does not link to its predecessor".into(),
            });
        }
        if e.compute_hash() != e.hash {
            return Err(RegistryError::AuditChain {
                seq: e.seq,
                problem: "was altered".into(),
            });
        }
        prev = e.hash.clone();
    }
    Ok(())
}

/// What [`verify_log`] checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogReport {
    /// Entries checked.
    pub entries: i64,
    /// The head's `(seq, hash)`.
    pub head: Option<(i64, String)>,
    /// The checkpoint's sequence number the chain was found to contain.
    pub checkpoint_seq: Option<i64>,
}

/// Check the whole audit log: sequence numbers 1, 2, 3, ... without gaps, each hash
/// correct, each entry linked to its predecessor; and, given a checkpoint (whose signature
/// the caller checked), that the chain holds the checkpoint's `(seq, hash)`. The error names
/// the first bad entry.
pub fn verify_log(store: &dyn Store, checkpoint: Option<&Checkpoint>) -> Result<LogReport> {
    const PAGE: i64 = 1000;
    let mut prev = GENESIS_HASH.to_string();
    let mut last = 0i64;
    let mut found_checkpoint = checkpoint.filter(|c| c.seq == 0).map(|_| 0);
    if let Some(c) = checkpoint.filter(|c| c.seq == 0) {
        if c.hash != GENESIS_HASH {
            return Err(RegistryError::AuditChain {
                seq: 0,
                problem: "is the empty log, but the checkpoint's hash is not the genesis hash"
                    .into(),
            });
        }
    }
    loop {
        let page = store.audit(last, PAGE)?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            if e.seq != last + 1 {
                return Err(RegistryError::AuditChain {
                    seq: e.seq,
                    problem: format!("follows entry {last}: entries are missing"),
                });
            }
            verify_chain(std::slice::from_ref(e), prev.clone())?;
            if let Some(c) = checkpoint.filter(|c| c.seq == e.seq) {
                if c.hash != e.hash {
                    return Err(RegistryError::AuditChain {
                        seq: e.seq,
                        problem: format!(
                            "has hash {}, but the signed checkpoint of {} says {}: the log was rewritten after the checkpoint",
                            e.hash, c.at, c.hash
                        ),
                    });
                }
                found_checkpoint = Some(e.seq);
            }
            prev = e.hash.clone();
            last = e.seq;
        }
    }
    if let Some(c) = checkpoint {
        if found_checkpoint.is_none() {
            return Err(RegistryError::AuditChain {
                seq: c.seq,
                problem: format!(
                    "is missing: the signed checkpoint of {} covers entries up to {}, the log ends at {last}",
                    c.at, c.seq
                ),
            });
        }
    }
    Ok(LogReport {
        entries: last,
        head: (last > 0).then_some((last, prev)),
        checkpoint_seq: found_checkpoint,
    })
}

fn checkpoint_from_text(text: &str) -> Result<Checkpoint> {
    Checkpoint::parse(text, "stored checkpoint")
}

/// Counts of rows, for tests and health checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub certificates: i64,
    pub revocations: i64,
    pub audit: i64,
}

pub trait Store: Send + Sync {
    fn publish(&self, c: &NewCertificate, actor: &str) -> Result<PublishOutcome>;
    fn revoke(&self, id: &str, issuer: &str, reason: &str, actor: &str) -> Result<RevokeOutcome>;
    fn find(&self, gtin: &str, lot: &str) -> Result<Option<StoredCertificate>>;
    fn revocations(&self) -> Result<Vec<Revocation>>;
    /// Audit entries with `seq > after`, oldest first, at most `limit`.
    fn audit(&self, after: i64, limit: i64) -> Result<Vec<AuditEntry>>;
    fn counts(&self) -> Result<Counts>;
    /// The last audit entry's `(seq, hash)`; `None` for an empty log.
    fn head(&self) -> Result<Option<(i64, String)>>;
    /// Keep a signed checkpoint (a copy; the copy that counts is kept elsewhere).
    fn save_checkpoint(&self, c: &Checkpoint) -> Result<()>;
    fn latest_checkpoint(&self) -> Result<Option<Checkpoint>>;
    /// Which backend, for logs: `sqlite` or `postgres`.
    fn kind(&self) -> &'static str;
}

/// Open a store: a `postgres://` or `postgresql://` URL, or a SQLite file path.
pub fn open(db: &str, pool_size: usize) -> Result<Box<dyn Store>> {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        Ok(Box::new(pg::PgStore::open(db, pool_size)?))
    } else {
        Ok(Box::new(sqlite::SqliteStore::open(db, pool_size)?))
    }
}

fn db_err(e: impl std::fmt::Display) -> RegistryError {
    RegistryError::store(e.to_string())
}

fn publish_detail(c: &NewCertificate) -> String {
    json!({"gtin": c.gtin, "lot": c.lot, "issuer": c.issuer, "validUntil": c.valid_until})
        .to_string()
}

/// What publishing `c` means when a certificate `id` with `body` already holds its GTIN
/// and lot (or its id): a retry of the same bytes, or a conflict.
fn existing_outcome(c: &NewCertificate, id: &str, body: &str) -> PublishOutcome {
    if body == c.body {
        PublishOutcome::Unchanged
    } else {
        PublishOutcome::Conflict(format!(
            "certificate {id} already holds GTIN {} lot {} (or this id); certificates are immutable, revoke it and issue a new lot",
            c.gtin, c.lot
        ))
    }
}

/// Opens one connection of a backend; `healthy` says whether a used connection may return
/// to the pool (PostgreSQL connections close when the server goes away).
pub(crate) struct Connector<C> {
    make: Box<dyn Fn() -> Result<C> + Send + Sync>,
    healthy: fn(&C) -> bool,
}

impl<C: Send + 'static> r2d2::ManageConnection for Connector<C> {
    type Connection = C;
    type Error = RegistryError;

    fn connect(&self) -> Result<C> {
        (self.make)()
    }

    fn is_valid(&self, conn: &mut C) -> Result<()> {
        if (self.healthy)(conn) {
            Ok(())
        } else {
            Err(RegistryError::store("connection closed"))
        }
    }

    fn has_broken(&self, conn: &mut C) -> bool {
        !(self.healthy)(conn)
    }
}

/// A pool of at most `size` connections, opened on demand (`r2d2`). A connection goes back
/// to the pool when its guard drops, also while a panic unwinds, so no slot can leak;
/// broken connections are dropped and replaced.
pub(crate) struct Pool<C: Send + 'static> {
    inner: r2d2::Pool<Connector<C>>,
}

/// How long a request waits for a free connection before it fails.
const POOL_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

impl<C: Send + 'static> Pool<C> {
    pub(crate) fn new(
        size: usize,
        make: Box<dyn Fn() -> Result<C> + Send + Sync>,
        healthy: fn(&C) -> bool,
    ) -> Result<Self> {
        let size = u32::try_from(size.max(1)).unwrap_or(u32::MAX);
        let inner = r2d2::Pool::builder()
            .max_size(size)
            .min_idle(Some(0))
            .test_on_check_out(false)
            .connection_timeout(POOL_WAIT)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(Connector { make, healthy });
        Ok(Pool { inner })
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut C) -> Result<R>) -> Result<R> {
        let mut conn = self.inner.get().map_err(|e| {
            RegistryError::store(format!(
                "no database connection within {} s: {e}",
                POOL_WAIT.as_secs()
            ))
        })?;
        f(&mut conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn a_panic_while_holding_a_connection_does_not_leak_the_slot() {
        let opened = Arc::new(AtomicUsize::new(0));
        let o = opened.clone();
        let pool: Pool<u32> = Pool::new(
            1,
            Box::new(move || Ok(o.fetch_add(1, Ordering::SeqCst) as u32)),
            |_| true,
        )
        .unwrap();
        for _ in 0..3 {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.with(|_c| -> Result<()> { panic!("handler bug") })
            }));
            assert!(r.is_err());
        }
        // The only slot is free again: this returns at once instead of waiting POOL_WAIT.
        let t = std::time::Instant::now();
        assert_eq!(pool.with(|c| Ok(*c)).unwrap(), 0);
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(opened.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn broken_connections_are_replaced() {
        let opened = Arc::new(AtomicUsize::new(0));
        let o = opened.clone();
        // Connection 0 reports broken after its first use; the pool must open another.
        let pool: Pool<u32> = Pool::new(
            2,
            Box::new(move || Ok(o.fetch_add(1, Ordering::SeqCst) as u32)),
            |c| *c != 0,
        )
        .unwrap();
        let seen: Vec<u32> = (0..3).map(|_| pool.with(|c| Ok(*c)).unwrap()).collect();
        assert_eq!(seen, vec![0, 1, 1]);
        assert_eq!(opened.load(Ordering::SeqCst), 2);
    }
}
