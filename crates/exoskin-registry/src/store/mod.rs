//! The registry's storage: certificates, revocations and an append-only, hash-chained audit
//! log, in SQLite (embedded, the default) or PostgreSQL (`postgres://` URLs).
//!
//! Every change runs in one transaction that also appends its audit entry; the caller is
//! answered only after the commit returns. The log covers the whole state: a `publish`
//! entry carries every field of the certificate row it wrote (the body by its SHA-256), a
//! `revoke` entry every field of its revocation row, an `issuers` entry the issuers the
//! registry serves; [`verify_log`] checks the tables row by row against the log. SQLite runs in WAL mode with `synchronous=FULL`,
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
use std::collections::{HashMap, HashSet};

pub mod links;
mod pg;
mod sqlite;

pub use links::{LinkOutcome, LinkRow, LinkStore, LotSummary, NewLink};

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

/// The Merkle log's tables, after each backend's audit table: every entry's leaf hash
/// (`SHA-256(0x00 || canonical entry)`, hex), written in the transaction that appends the
/// entry, and an index to find a certificate's entry. A registry made before them gets
/// them when it is opened, and the leaf hashes of its entries ([`LEAF_BACKFILL`]).
const LOG_TABLES: &str = "
CREATE TABLE IF NOT EXISTS log_leaves (seq BIGINT PRIMARY KEY, leaf_hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_log_cert_id ON audit_log (cert_id);
";

/// The Bitstring Status List tables ([`crate::status`]), added to a registry of any earlier
/// version when it is opened: the indices the registry handed out (to which issuer; never
/// handed out twice), and which published certificate holds each (at most one). Both are
/// append-only. A list's bits are not stored: they are derived, when the list is served,
/// from the revocations and the certificates' own `credentialStatus`.
const STATUS_TABLES: &str = "
CREATE TABLE IF NOT EXISTS status_allocations (
  list BIGINT NOT NULL, idx BIGINT NOT NULL, issuer TEXT NOT NULL, allocated_at TEXT NOT NULL,
  PRIMARY KEY (list, idx));
CREATE TABLE IF NOT EXISTS status_entries (
  list BIGINT NOT NULL, idx BIGINT NOT NULL, cert_id TEXT NOT NULL UNIQUE REFERENCES certificates(id),
  PRIMARY KEY (list, idx));
";

/// A free index for a new allocation: in the first list (from 1) with fewer than `entries`
/// allocations, else a new list; the index drawn at random ([`exoskin_batch::status::
/// random_index`]), from the free ones when random draws keep hitting taken ones.
/// `taken(list, Some(i))` says whether index i is taken (a non-empty answer);
/// `taken(list, None)` lists every taken index.
fn pick_status_slot(
    entries: i64,
    counts: &[(i64, i64)],
    taken: &mut dyn FnMut(i64, Option<i64>) -> Result<Vec<i64>>,
) -> Result<(i64, i64)> {
    let list = counts
        .iter()
        .find(|(_, n)| *n < entries)
        .map(|(l, _)| *l)
        .unwrap_or_else(|| counts.iter().map(|(l, _)| *l).max().unwrap_or(0) + 1);
    for _ in 0..32 {
        let i = exoskin_batch::status::random_index(entries as u64)? as i64;
        if taken(list, Some(i))?.is_empty() {
            return Ok((list, i));
        }
    }
    let used: HashSet<i64> = taken(list, None)?.into_iter().collect();
    let free: Vec<i64> = (0..entries).filter(|i| !used.contains(i)).collect();
    if free.is_empty() {
        return Err(RegistryError::store(format!(
            "status list {list} is full, but the allocation count said otherwise"
        )));
    }
    let k = exoskin_batch::status::random_index(free.len() as u64)? as usize;
    Ok((list, free[k]))
}

/// Publishing a certificate whose status list index another certificate holds.
fn status_index_taken(list: i64, idx: i64, other: &str) -> PublishOutcome {
    PublishOutcome::Conflict(format!(
        "status list {list} index {idx} is already certificate {other}'s: an index is never reused; allocate a new one (exoskin batch allocate-status) and issue again"
    ))
}

/// The entries without a cached leaf hash: those after the last one cached.
const LEAF_BACKFILL: &str =
    "SELECT seq, at, actor, action, cert_id, detail, prev_hash, hash FROM audit_log
  WHERE seq > (SELECT COALESCE(MAX(seq), 0) FROM log_leaves) ORDER BY seq";

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
    /// The entry's canonical bytes: the RFC 8785 JSON of every field but `hash`. The chain
    /// hashes them (`hash` is their SHA-256) and they are the entry's leaf in the Merkle
    /// tree of the log ([`crate::log`]).
    pub fn leaf_bytes(&self) -> Vec<u8> {
        let v = json!({
            "seq": self.seq, "at": self.at, "actor": self.actor, "action": self.action,
            "certId": self.cert_id, "detail": self.detail, "prevHash": self.prev_hash,
        });
        canonicalize(&v)
            .expect("strings and small integers canonicalize")
            .into_bytes()
    }

    /// The entry's Merkle leaf hash, `SHA-256(0x00 || leaf bytes)`.
    pub fn leaf_hash(&self) -> crate::merkle::Hash {
        crate::merkle::leaf_hash(&self.leaf_bytes())
    }

    /// SHA-256 over the canonical JSON of every field but `hash`.
    pub fn compute_hash(&self) -> String {
        Sha256::digest(self.leaf_bytes())
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

/// SHA-256 of `bytes` in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn digest_of(v: &serde_json::Value) -> String {
    sha256_hex(canonicalize(v).expect("strings canonicalize").as_bytes())
}

/// One row of the `certificates` table, its body by SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRow {
    pub id: String,
    pub gtin: String,
    pub lot: String,
    pub issuer: String,
    pub valid_until: String,
    pub body_sha256: String,
    pub published_at: String,
}

impl CertificateRow {
    /// SHA-256 of the row's canonical JSON: what a checkpoint's `state` is made of.
    pub fn digest(&self) -> String {
        digest_of(&json!({
            "table": "certificates", "id": self.id, "gtin": self.gtin, "lot": self.lot,
            "issuer": self.issuer, "validUntil": self.valid_until,
            "bodySha256": self.body_sha256, "publishedAt": self.published_at,
        }))
    }
}

/// One row of the `revocations` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationRow {
    pub cert_id: String,
    pub reason: String,
    pub revoked_at: String,
    pub actor: String,
}

impl RevocationRow {
    pub fn digest(&self) -> String {
        digest_of(&json!({
            "table": "revocations", "certId": self.cert_id, "reason": self.reason,
            "revokedAt": self.revoked_at, "actor": self.actor,
        }))
    }
}

/// The digest of a state: `(key, row digest)` of every certificate row and every
/// revocation row, each table sorted by key (bytewise, the same on every backend).
pub fn state_digest(certificates: &[(String, String)], revocations: &[(String, String)]) -> String {
    let mut c: Vec<&(String, String)> = certificates.iter().collect();
    let mut r: Vec<&(String, String)> = revocations.iter().collect();
    c.sort();
    r.sort();
    let mut h = Sha256::new();
    h.update(b"exoskin-registry-state/1\n");
    for (k, d) in c {
        h.update(format!("certificate {d} {k}\n").as_bytes());
    }
    for (k, d) in r {
        h.update(format!("revocation {d} {k}\n").as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The detail of a `publish` entry: every field of the row it writes.
fn publish_detail(c: &NewCertificate, published_at: &str) -> String {
    json!({
        "gtin": c.gtin, "lot": c.lot, "issuer": c.issuer, "validUntil": c.valid_until,
        "publishedAt": published_at, "bodySha256": sha256_hex(c.body.as_bytes()),
    })
    .to_string()
}

/// The detail of a `revoke` entry; the row's actor is the entry's.
fn revoke_detail(reason: &str, revoked_at: &str) -> String {
    json!({ "reason": reason, "revokedAt": revoked_at }).to_string()
}

/// Whether a `publish` or `revoke` entry was written before entries described their rows
/// in full (it lacks `bodySha256` or `revokedAt`).
pub fn is_legacy_entry(e: &AuditEntry) -> bool {
    let key = match e.action.as_str() {
        "publish" => "bodySha256",
        "revoke" => "revokedAt",
        _ => return false,
    };
    serde_json::from_str::<serde_json::Value>(&e.detail)
        .ok()
        .and_then(|d| d.get(key).cloned())
        .is_none()
}

/// The detail of the `seal` entry that a registry written before full entries appends once:
/// the digest of every row then ([`state_digest`]), which later checks hold those rows to.
fn seal_detail(certificates: &[CertificateRow], revocations: &[RevocationRow]) -> String {
    let c: Vec<(String, String)> = certificates
        .iter()
        .map(|r| (r.id.clone(), r.digest()))
        .collect();
    let r: Vec<(String, String)> = revocations
        .iter()
        .map(|r| (r.cert_id.clone(), r.digest()))
        .collect();
    json!({
        "format": 2, "certificates": c.len(), "revocations": r.len(),
        "rows": state_digest(&c, &r),
    })
    .to_string()
}

/// What a `publish` or `revoke` entry says its row holds.
#[derive(Debug, Clone)]
struct Expected<R> {
    seq: i64,
    /// Every field (a full entry), or only those a legacy entry carries.
    full: bool,
    row: R,
    /// The row was found in its table.
    found: bool,
}

/// A table row against what the log says of it.
#[derive(Debug, Clone)]
struct Matched {
    key: String,
    digest: String,
    seq: i64,
}

/// The audit log read so far, and what it says the tables hold.
struct Walk {
    certificates: HashMap<String, Expected<CertificateRow>>,
    revocations: HashMap<String, Expected<RevocationRow>>,
    /// The `seal` entry: its sequence number and the digest of the rows before it.
    seal: Option<(i64, String)>,
    /// The latest `issuers` entry: its sequence number and the issuers' `did:key`s.
    issuers: Option<(i64, HashSet<String>)>,
    /// A full entry or the seal was seen: legacy entries can no longer follow.
    full_seen: bool,
    /// The `link` entries, checked against the `links` table ([`links::verify_rows`]).
    links: Vec<AuditEntry>,
    last: i64,
    prev: String,
}

fn detail_str(e: &AuditEntry, v: &serde_json::Value, k: &str, full: bool) -> Result<String> {
    match v.get(k).and_then(serde_json::Value::as_str) {
        Some(s) => Ok(s.to_string()),
        None if !full && (k == "bodySha256" || k == "publishedAt" || k == "revokedAt") => {
            Ok(String::new())
        }
        None => Err(RegistryError::AuditChain {
            seq: e.seq,
            problem: format!("({}) has no `{k}` in its detail", e.action),
        }),
    }
}

impl Walk {
    fn new() -> Walk {
        Walk {
            certificates: HashMap::new(),
            revocations: HashMap::new(),
            seal: None,
            issuers: None,
            full_seen: false,
            links: Vec::new(),
            last: 0,
            prev: GENESIS_HASH.to_string(),
        }
    }

    /// Check one entry (number, hash, link) and take in what it says of the tables.
    fn entry(&mut self, e: &AuditEntry) -> Result<()> {
        let bad = |problem: String| RegistryError::AuditChain {
            seq: e.seq,
            problem,
        };
        if e.seq != self.last + 1 {
            return Err(bad(format!(
                "follows entry {}: entries are missing",
                self.last
            )));
        }
        verify_chain(std::slice::from_ref(e), self.prev.clone())?;
        let detail: serde_json::Value = serde_json::from_str(&e.detail)
            .map_err(|err| bad(format!("has a detail that is not JSON: {err}")))?;
        let legacy = is_legacy_entry(e);
        if legacy && self.full_seen {
            return Err(bad(format!(
                "({} of {}) is in the format older registries wrote, after entries of the current one: the registry did not write it",
                e.action, e.cert_id
            )));
        }
        match e.action.as_str() {
            "publish" => {
                let full = !legacy;
                let row = CertificateRow {
                    id: e.cert_id.clone(),
                    gtin: detail_str(e, &detail, "gtin", full)?,
                    lot: detail_str(e, &detail, "lot", full)?,
                    issuer: detail_str(e, &detail, "issuer", full)?,
                    valid_until: detail_str(e, &detail, "validUntil", full)?,
                    body_sha256: detail_str(e, &detail, "bodySha256", full)?,
                    published_at: detail_str(e, &detail, "publishedAt", full)?,
                };
                if let (true, Some((at, dids))) = (full, &self.issuers) {
                    if !dids.contains(&row.issuer) {
                        return Err(bad(format!(
                            "publishes certificate {} of {}, which the issuers recorded in entry {at} do not include",
                            e.cert_id, row.issuer
                        )));
                    }
                }
                if let Some(x) = self.certificates.get(&e.cert_id) {
                    return Err(bad(format!(
                        "publishes certificate {} again (entry {} did): the registry never does",
                        e.cert_id, x.seq
                    )));
                }
                self.certificates.insert(
                    e.cert_id.clone(),
                    Expected {
                        seq: e.seq,
                        full,
                        row,
                        found: false,
                    },
                );
            }
            "revoke" => {
                let full = !legacy;
                if !self.certificates.contains_key(&e.cert_id) {
                    return Err(bad(format!(
                        "revokes certificate {}, which no earlier entry publishes",
                        e.cert_id
                    )));
                }
                if let Some(x) = self.revocations.get(&e.cert_id) {
                    return Err(bad(format!(
                        "revokes certificate {} again (entry {} did): revocations are final",
                        e.cert_id, x.seq
                    )));
                }
                let row = RevocationRow {
                    cert_id: e.cert_id.clone(),
                    reason: detail_str(e, &detail, "reason", full)?,
                    revoked_at: detail_str(e, &detail, "revokedAt", full)?,
                    actor: e.actor.clone(),
                };
                self.revocations.insert(
                    e.cert_id.clone(),
                    Expected {
                        seq: e.seq,
                        full,
                        row,
                        found: false,
                    },
                );
            }
            "seal" => {
                if let Some((s, _)) = &self.seal {
                    return Err(bad(format!("is a second seal (entry {s} is the first)")));
                }
                let rows = detail_str(e, &detail, "rows", true)?;
                self.seal = Some((e.seq, rows));
            }
            "issuers" => {
                let list = detail
                    .as_array()
                    .ok_or_else(|| bad("(issuers) has a detail that is not a list".into()))?;
                let dids = list
                    .iter()
                    .map(|i| {
                        i.get("did")
                            .and_then(serde_json::Value::as_str)
                            .map(str::to_string)
                            .ok_or_else(|| bad("(issuers) lists an issuer without `did`".into()))
                    })
                    .collect::<Result<HashSet<_>>>()?;
                self.issuers = Some((e.seq, dids));
            }
            "link" => {
                self.links.push(e.clone());
            }
            other => return Err(bad(format!("has an unknown action `{other}`"))),
        }
        if !legacy && matches!(e.action.as_str(), "publish" | "revoke" | "seal") {
            self.full_seen = true;
        }
        self.prev = e.hash.clone();
        self.last = e.seq;
        Ok(())
    }

    /// Read entries after the last one read, to the end of the log.
    fn read_on(
        &mut self,
        store: &dyn Store,
        mut each: impl FnMut(&AuditEntry) -> Result<()>,
    ) -> Result<()> {
        const PAGE: i64 = 1000;
        loop {
            let page = store.audit(self.last, PAGE)?;
            if page.is_empty() {
                return Ok(());
            }
            for e in &page {
                self.entry(e)?;
                each(e)?;
            }
        }
    }
}

/// A certificate row against its entry: `Ok(None)` when no entry (yet) names it.
fn match_certificate(walk: &mut Walk, row: &CertificateRow) -> Result<Option<Matched>> {
    let Some(x) = walk.certificates.get_mut(&row.id) else {
        return Ok(None);
    };
    let same = if x.full {
        x.row == *row
    } else {
        (&x.row.gtin, &x.row.lot, &x.row.issuer, &x.row.valid_until)
            == (&row.gtin, &row.lot, &row.issuer, &row.valid_until)
    };
    if !same {
        return Err(RegistryError::Tampered {
            table: "certificates",
            key: row.id.clone(),
            problem: format!(
                "differs from what audit entry {} recorded when it was published: the row was altered or swapped",
                x.seq
            ),
        });
    }
    x.found = true;
    Ok(Some(Matched {
        key: row.id.clone(),
        digest: row.digest(),
        seq: x.seq,
    }))
}

fn match_revocation(walk: &mut Walk, row: &RevocationRow) -> Result<Option<Matched>> {
    let Some(x) = walk.revocations.get_mut(&row.cert_id) else {
        return Ok(None);
    };
    let same = if x.full {
        x.row == *row
    } else {
        (&x.row.reason, &x.row.actor) == (&row.reason, &row.actor)
    };
    if !same {
        return Err(RegistryError::Tampered {
            table: "revocations",
            key: row.cert_id.clone(),
            problem: format!(
                "differs from what audit entry {} recorded when it was revoked: the row was altered",
                x.seq
            ),
        });
    }
    x.found = true;
    Ok(Some(Matched {
        key: row.cert_id.clone(),
        digest: row.digest(),
        seq: x.seq,
    }))
}

fn state_upto(certificates: &[Matched], revocations: &[Matched], upto: i64) -> String {
    let pick = |m: &[Matched]| -> Vec<(String, String)> {
        m.iter()
            .filter(|x| x.seq <= upto)
            .map(|x| (x.key.clone(), x.digest.clone()))
            .collect()
    };
    state_digest(&pick(certificates), &pick(revocations))
}

/// What [`verify_log`] checked.
#[derive(Debug, Clone)]
pub struct LogReport {
    /// The Merkle tree over every entry read (computed from the entries themselves; it may
    /// hold entries appended while the check ran, past `entries`).
    pub tree: crate::merkle::Tree,
    /// Cached leaf hashes found equal to their entries' (entries written by an older
    /// version after the upgrade have none until the next write).
    pub leaves_cached: i64,
    /// Entries checked.
    pub entries: i64,
    /// The head's `(seq, hash)`.
    pub head: Option<(i64, String)>,
    /// The checkpoint's sequence number the chain was found to contain.
    pub checkpoint_seq: Option<i64>,
    /// [`state_digest`] of the rows as of the head: what a checkpoint of the head signs.
    pub state: String,
    /// Certificate and revocation rows checked against the log.
    pub rows: i64,
}

/// Check the whole registry against its audit log: sequence numbers 1, 2, 3, ... without
/// gaps, each hash correct, each entry linked to its predecessor; every certificate and
/// revocation row exactly as the entry that wrote it says, no row without its entry, no
/// entry without its row (a deleted, altered, swapped or added row fails); rows written
/// before entries described them in full, as the `seal` entry recorded them. Given a
/// checkpoint (whose signature the caller checked): the chain holds its `(seq, hash)`, and
/// the rows written up to `seq` give its `state`. The error names the first bad entry or row.
///
/// Rows and entries a registry writes while this runs are taken in: the log is read on
/// after the tables, and rows are held to entries found then.
pub fn verify_log(store: &dyn Store, checkpoint: Option<&Checkpoint>) -> Result<LogReport> {
    check_empty_log_checkpoint(checkpoint)?;
    let mut reading = Reading {
        walk: Walk::new(),
        tree: crate::merkle::Tree::new(),
        checkpoint,
        found_checkpoint: checkpoint.filter(|c| c.seq == 0).map(|_| 0),
    };
    reading.read_on(store)?;
    let head = (reading.walk.last, reading.walk.prev.clone());
    let (certs, revs) = match_tables(store, &mut reading)?;
    check_missing_rows(&reading.walk, head.0)?;
    check_seal(&reading.walk, &certs, &revs)?;
    check_checkpoint(&reading, &certs, &revs)?;
    links::verify_rows(store, &reading.walk.links, head.0)?;
    let cached = check_leaf_cache(store, &mut reading)?;
    Ok(LogReport {
        tree: reading.tree,
        leaves_cached: cached,
        entries: head.0,
        state: state_upto(&certs, &revs, head.0),
        rows: certs
            .iter()
            .chain(&revs)
            .filter(|m| m.seq <= head.0)
            .count() as i64,
        head: (head.0 > 0).then_some(head),
        checkpoint_seq: reading.found_checkpoint,
    })
}

/// The log as [`verify_log`] reads it: the walk, the Merkle tree over the entries as read
/// (not the cached leaf hashes), and the checkpoint looked for in it.
struct Reading<'a> {
    walk: Walk,
    tree: crate::merkle::Tree,
    checkpoint: Option<&'a Checkpoint>,
    /// The checkpoint's sequence number, once the chain was found to contain it.
    found_checkpoint: Option<i64>,
}

impl Reading<'_> {
    /// Read on to the end of the log, each entry into the tree and against the checkpoint.
    fn read_on(&mut self, store: &dyn Store) -> Result<()> {
        let checkpoint = self.checkpoint;
        let tree = &mut self.tree;
        let found = &mut self.found_checkpoint;
        self.walk.read_on(store, |e| {
            tree.push(e.leaf_hash());
            check_checkpoint_entry(checkpoint, e, found)
        })
    }
}

/// A checkpoint of the empty log must carry the genesis hash.
fn check_empty_log_checkpoint(checkpoint: Option<&Checkpoint>) -> Result<()> {
    if let Some(c) = checkpoint.filter(|c| c.seq == 0) {
        if c.hash != GENESIS_HASH {
            return Err(RegistryError::AuditChain {
                seq: 0,
                problem: "is the empty log, but the checkpoint's hash is not the genesis hash"
                    .into(),
            });
        }
    }
    Ok(())
}

/// The entry the checkpoint names must have the checkpoint's hash; `found` records it.
fn check_checkpoint_entry(
    checkpoint: Option<&Checkpoint>,
    e: &AuditEntry,
    found: &mut Option<i64>,
) -> Result<()> {
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
        *found = Some(e.seq);
    }
    Ok(())
}

/// Match the tables row by row to the entries: the certificate and revocation rows matched
/// on the first pass; rows without an entry are held to the entries read on after them.
fn match_tables(store: &dyn Store, reading: &mut Reading) -> Result<(Vec<Matched>, Vec<Matched>)> {
    let (certs, unmatched_certs) = match_certificate_rows(store, &mut reading.walk)?;
    let (revs, unmatched_revs) = match_revocation_rows(store, &mut reading.walk)?;
    // Rows without an entry may have been written after the log was read: read on.
    if !unmatched_certs.is_empty() || !unmatched_revs.is_empty() {
        reading.read_on(store)?;
        match_late_rows(&mut reading.walk, &unmatched_certs, &unmatched_revs)?;
    }
    Ok((certs, revs))
}

/// Every certificate row, page by page: those matched to an entry, and those without one.
fn match_certificate_rows(
    store: &dyn Store,
    walk: &mut Walk,
) -> Result<(Vec<Matched>, Vec<CertificateRow>)> {
    let mut certs: Vec<Matched> = Vec::new();
    let mut unmatched_certs: Vec<CertificateRow> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.certificate_rows(after.as_deref(), 500)?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        for row in &page {
            match match_certificate(walk, row)? {
                Some(m) => certs.push(m),
                None => unmatched_certs.push(row.clone()),
            }
        }
    }
    Ok((certs, unmatched_certs))
}

/// Every revocation row: those matched to an entry, and those without one.
fn match_revocation_rows(
    store: &dyn Store,
    walk: &mut Walk,
) -> Result<(Vec<Matched>, Vec<RevocationRow>)> {
    let mut revs: Vec<Matched> = Vec::new();
    let mut unmatched_revs: Vec<RevocationRow> = Vec::new();
    for row in store.revocation_rows()? {
        match match_revocation(walk, &row)? {
            Some(m) => revs.push(m),
            None => unmatched_revs.push(row),
        }
    }
    Ok((revs, unmatched_revs))
}

/// Rows unmatched on the first pass must match an entry read on since: else they were added.
fn match_late_rows(
    walk: &mut Walk,
    unmatched_certs: &[CertificateRow],
    unmatched_revs: &[RevocationRow],
) -> Result<()> {
    for row in unmatched_certs {
        if match_certificate(walk, row)?.is_none() {
            return Err(RegistryError::Tampered {
                table: "certificates",
                key: row.id.clone(),
                problem: "has no audit entry: the row was added behind the registry's back".into(),
            });
        }
    }
    for row in unmatched_revs {
        if match_revocation(walk, row)?.is_none() {
            return Err(RegistryError::Tampered {
                table: "revocations",
                key: row.cert_id.clone(),
                problem: "has no audit entry: the row was added behind the registry's back".into(),
            });
        }
    }
    Ok(())
}

/// Entries up to the head (read before the tables) must all have their rows.
fn check_missing_rows(walk: &Walk, head_seq: i64) -> Result<()> {
    let mut missing: Vec<(i64, &'static str, &String)> = walk
        .certificates
        .iter()
        .filter(|(_, x)| !x.found && x.seq <= head_seq)
        .map(|(k, x)| (x.seq, "certificates", k))
        .chain(
            walk.revocations
                .iter()
                .filter(|(_, x)| !x.found && x.seq <= head_seq)
                .map(|(k, x)| (x.seq, "revocations", k)),
        )
        .collect();
    missing.sort();
    if let Some((seq, table, key)) = missing.first() {
        return Err(RegistryError::Tampered {
            table,
            key: (*key).clone(),
            problem: format!("is missing, but audit entry {seq} wrote it: the row was deleted"),
        });
    }
    Ok(())
}

/// The rows written before the seal must still give the digest the seal recorded.
fn check_seal(walk: &Walk, certs: &[Matched], revs: &[Matched]) -> Result<()> {
    if let Some((seal_seq, rows)) = &walk.seal {
        let now = state_upto(certs, revs, seal_seq - 1);
        if now != *rows {
            return Err(RegistryError::AuditChain {
                seq: *seal_seq,
                problem: format!(
                    "(the seal of the rows written before it) does not match them: a certificate or revocation row from before entry {seal_seq} was altered, swapped or deleted"
                ),
            });
        }
    }
    Ok(())
}

/// The chain must hold the checkpoint's entry, and the rows up to it give its state.
fn check_checkpoint(reading: &Reading, certs: &[Matched], revs: &[Matched]) -> Result<()> {
    if let Some(c) = reading.checkpoint {
        if reading.found_checkpoint.is_none() {
            return Err(RegistryError::AuditChain {
                seq: c.seq,
                problem: format!(
                    "is missing: the signed checkpoint of {} covers entries up to {}, the log ends at {}",
                    c.at, c.seq, reading.walk.last
                ),
            });
        }
        if let Some(state) = &c.state {
            if state_upto(certs, revs, c.seq) != *state {
                return Err(RegistryError::Tampered {
                    table: "certificates and revocations",
                    key: format!("up to audit entry {}", c.seq),
                    problem: format!(
                        "do not give the state the checkpoint of {} signed: rows were altered, swapped, added or deleted",
                        c.at
                    ),
                });
            }
        }
    }
    Ok(())
}

/// The cached leaf hashes, each against its entry's: how many were found equal.
fn check_leaf_cache(store: &dyn Store, reading: &mut Reading) -> Result<i64> {
    let mut after = 0i64;
    let mut cached = 0i64;
    loop {
        let page = store.leaf_hashes(after, 1000)?;
        let Some(&(last, _)) = page.last() else { break };
        for (seq, h) in &page {
            if *seq != after + 1 {
                return Err(RegistryError::Tampered {
                    table: "log_leaves",
                    key: (after + 1).to_string(),
                    problem: format!(
                        "is missing (the next cached leaf is entry {seq}'s): the Merkle log's cache was altered"
                    ),
                });
            }
            after = *seq;
            if *seq as u64 > reading.tree.size() {
                // Written after the log was read: its entry is read with it below.
                reading.read_on(store)?;
            }
            check_cached_leaf(&reading.tree, *seq, h)?;
            cached += 1;
        }
        after = last;
    }
    Ok(cached)
}

/// One cached leaf hash against the tree's leaf for its entry.
fn check_cached_leaf(tree: &crate::merkle::Tree, seq: i64, h: &str) -> Result<()> {
    let want = tree.leaf(seq as u64 - 1).map(|l| crate::merkle::to_hex(&l));
    match want {
        Some(w) if w == h => Ok(()),
        Some(_) => Err(RegistryError::Tampered {
            table: "log_leaves",
            key: seq.to_string(),
            problem: format!(
                "is not the leaf hash of audit entry {seq}: the Merkle log's cache was altered"
            ),
        }),
        None => Err(RegistryError::Tampered {
            table: "log_leaves",
            key: seq.to_string(),
            problem: "has no audit entry: a leaf was added to the Merkle log's cache".into(),
        }),
    }
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

pub trait Store: Send + Sync + LinkStore {
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
    /// Certificate rows with `id > after`, by id, at most `limit`; bodies by SHA-256.
    fn certificate_rows(&self, after: Option<&str>, limit: i64) -> Result<Vec<CertificateRow>>;
    fn revocation_rows(&self) -> Result<Vec<RevocationRow>>;
    /// Bring a registry written before entries described their rows in full under the
    /// log: append one `seal` entry with the digest of every row. Nothing to do (`None`)
    /// when the log's last publish or revoke entry is a full one, or there is none.
    fn seal_legacy(&self, actor: &str) -> Result<Option<i64>>;
    /// Append an `issuers` entry with `detail` (the issuers served, as JSON) unless the
    /// latest one says the same; none for an empty list on a log that never had one.
    fn record_issuers(&self, detail: &str, actor: &str) -> Result<Option<i64>>;
    /// Cached Merkle leaf hashes `(seq, hex)` of the entries with `seq > after`, by
    /// sequence number, at most `limit`.
    fn leaf_hashes(&self, after: i64, limit: i64) -> Result<Vec<(i64, String)>>;
    /// The sequence number of the entry that published certificate `id`.
    fn publish_seq(&self, id: &str) -> Result<Option<i64>>;
    /// Hand out a status list index to `issuer` (its `did:key`), in lists of `entries`
    /// entries: `(list, index)`, never handed out before.
    fn allocate_status(&self, issuer: &str, entries: i64) -> Result<(i64, i64)>;
    /// The issuer a status list index was handed out to, if any.
    fn status_allocation(&self, list: i64, index: i64) -> Result<Option<String>>;
    /// [`Store::publish`], recording that the certificate holds status list index
    /// `(list, index)`: a conflict when another certificate holds it.
    fn publish_with_status(
        &self,
        c: &NewCertificate,
        status: Option<(i64, i64)>,
        actor: &str,
    ) -> Result<PublishOutcome>;
    /// The bodies of the revoked certificates.
    fn revoked_bodies(&self) -> Result<Vec<String>>;
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
        // A handler that panics on its own thread, as a request handler's task would: the
        // join reports the panic, and the connection's guard has put it back on the way out.
        for _ in 0..3 {
            let joined = std::thread::scope(|s| {
                s.spawn(|| pool.with(|_c| -> Result<()> { panic!("handler bug") }))
                    .join()
            });
            assert!(joined.is_err());
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
