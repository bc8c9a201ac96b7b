//! SQLite backend (WAL, synchronous=FULL).
use super::*;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

/// Added to [`COMMON_TABLES`].
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit_log (
  seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  cert_id TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS certificates_no_update BEFORE UPDATE ON certificates BEGIN SELECT RAISE(ABORT, 'certificates are immutable'); END;
CREATE TRIGGER IF NOT EXISTS certificates_no_delete BEFORE DELETE ON certificates BEGIN SELECT RAISE(ABORT, 'certificates are immutable'); END;
CREATE TRIGGER IF NOT EXISTS revocations_no_update BEFORE UPDATE ON revocations BEGIN SELECT RAISE(ABORT, 'revocations are final'); END;
CREATE TRIGGER IF NOT EXISTS revocations_no_delete BEFORE DELETE ON revocations BEGIN SELECT RAISE(ABORT, 'revocations are final'); END;
";

/// Added to [`LOG_TABLES`].
const LOG_TRIGGERS: &str = "
CREATE TRIGGER IF NOT EXISTS log_leaves_no_update BEFORE UPDATE ON log_leaves BEGIN SELECT RAISE(ABORT, 'log_leaves is append-only'); END;
CREATE TRIGGER IF NOT EXISTS log_leaves_no_delete BEFORE DELETE ON log_leaves BEGIN SELECT RAISE(ABORT, 'log_leaves is append-only'); END;
";

/// Added to [`STATUS_TABLES`].
const STATUS_TRIGGERS: &str = "
CREATE TRIGGER IF NOT EXISTS status_allocations_no_update BEFORE UPDATE ON status_allocations BEGIN SELECT RAISE(ABORT, 'status_allocations is append-only'); END;
CREATE TRIGGER IF NOT EXISTS status_allocations_no_delete BEFORE DELETE ON status_allocations BEGIN SELECT RAISE(ABORT, 'status_allocations is append-only'); END;
CREATE TRIGGER IF NOT EXISTS status_entries_no_update BEFORE UPDATE ON status_entries BEGIN SELECT RAISE(ABORT, 'status_entries is append-only'); END;
CREATE TRIGGER IF NOT EXISTS status_entries_no_delete BEFORE DELETE ON status_entries BEGIN SELECT RAISE(ABORT, 'status_entries is append-only'); END;
";

pub struct SqliteStore {
    pub(super) pool: Pool<Connection>,
}

fn connect(path: &str) -> Result<Connection> {
    let c = Connection::open(path).map_err(|e| RegistryError::store(format!("{path}: {e}")))?;
    c.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(db_err)?;
    c.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
        .map_err(db_err)?;
    Ok(c)
}

impl SqliteStore {
    pub fn open(path: &str, pool_size: usize) -> Result<SqliteStore> {
        let c = connect(path)?;
        c.execute_batch(COMMON_TABLES).map_err(db_err)?;
        c.execute_batch(SCHEMA).map_err(db_err)?;
        // Registered links (a registry made before them gets the table here).
        c.execute_batch(links::LINK_TABLE).map_err(db_err)?;
        c.execute_batch(links::SQLITE_LINK_TRIGGERS)
            .map_err(db_err)?;
        // The Merkle log's tables, and the leaf hashes of entries written before them.
        let mut c = c;
        let tx = c
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        tx.execute_batch(LOG_TABLES).map_err(db_err)?;
        tx.execute_batch(LOG_TRIGGERS).map_err(db_err)?;
        tx.execute_batch(STATUS_TABLES).map_err(db_err)?;
        tx.execute_batch(STATUS_TRIGGERS).map_err(db_err)?;
        backfill_leaves(&tx)?;
        tx.commit().map_err(db_err)?;
        let p = path.to_string();
        let pool = Pool::new(pool_size, Box::new(move || connect(&p)), |_| true)?;
        Ok(SqliteStore { pool })
    }
}

const ENTRY_COLUMNS: &str = "seq, at, actor, action, cert_id, detail, prev_hash, hash";

fn entry_row(r: &rusqlite::Row) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        cert_id: r.get(4)?,
        detail: r.get(5)?,
        prev_hash: r.get(6)?,
        hash: r.get(7)?,
    })
}

fn certificate_rows(
    c: &Connection,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<CertificateRow>> {
    let mut st = c
        .prepare_cached(
            "SELECT id, gtin, lot, issuer, valid_until, body, published_at FROM certificates
             WHERE ?1 IS NULL OR id > ?1 ORDER BY id LIMIT ?2",
        )
        .map_err(db_err)?;
    let rows = st
        .query_map(params![after, limit], |r| {
            let body: String = r.get(5)?;
            Ok(CertificateRow {
                id: r.get(0)?,
                gtin: r.get(1)?,
                lot: r.get(2)?,
                issuer: r.get(3)?,
                valid_until: r.get(4)?,
                body_sha256: sha256_hex(body.as_bytes()),
                published_at: r.get(6)?,
            })
        })
        .map_err(db_err)?;
    rows.collect::<std::result::Result<Vec<_>, _>>()
        .map_err(db_err)
}

fn revocation_rows(c: &Connection) -> Result<Vec<RevocationRow>> {
    let mut st = c
        .prepare_cached("SELECT cert_id, reason, revoked_at, actor FROM revocations")
        .map_err(db_err)?;
    let rows = st
        .query_map([], |r| {
            Ok(RevocationRow {
                cert_id: r.get(0)?,
                reason: r.get(1)?,
                revoked_at: r.get(2)?,
                actor: r.get(3)?,
            })
        })
        .map_err(db_err)?;
    rows.collect::<std::result::Result<Vec<_>, _>>()
        .map_err(db_err)
}

pub(super) fn append_audit(
    tx: &rusqlite::Transaction,
    actor: &str,
    action: &str,
    cert_id: &str,
    detail: String,
) -> Result<i64> {
    let last: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(db_err)?;
    let (seq, prev) = last
        .map(|(s, h)| (s + 1, h))
        .unwrap_or((1, GENESIS_HASH.to_string()));
    let e = AuditEntry::new(seq, prev, actor, action, cert_id, detail);
    tx.execute(
        "INSERT INTO audit_log (seq, at, actor, action, cert_id, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![e.seq, e.at, e.actor, e.action, e.cert_id, e.detail, e.prev_hash, e.hash],
    )
    .map_err(db_err)?;
    backfill_leaves(tx)?;
    Ok(seq)
}

/// Cache the leaf hash of every entry after the last one cached (the entry just appended;
/// on opening a registry made before the Merkle log, all of them). The number cached.
fn backfill_leaves(tx: &rusqlite::Transaction) -> Result<usize> {
    let entries: Vec<AuditEntry> = {
        let mut st = tx.prepare_cached(LEAF_BACKFILL).map_err(db_err)?;
        let rows = st.query_map([], entry_row).map_err(db_err)?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(db_err)?
    };
    let mut ins = tx
        .prepare_cached("INSERT INTO log_leaves (seq, leaf_hash) VALUES (?1, ?2)")
        .map_err(db_err)?;
    for e in &entries {
        ins.execute(params![e.seq, crate::merkle::to_hex(&e.leaf_hash())])
            .map_err(db_err)?;
    }
    Ok(entries.len())
}

impl Store for SqliteStore {
    fn publish(&self, c: &NewCertificate, actor: &str) -> Result<PublishOutcome> {
        self.publish_with_status(c, None, actor)
    }

    fn publish_with_status(
        &self,
        c: &NewCertificate,
        status: Option<(i64, i64)>,
        actor: &str,
    ) -> Result<PublishOutcome> {
        self.pool.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
            let existing: Option<(String, String)> = tx
                .query_row(
                    "SELECT id, body FROM certificates WHERE (gtin = ?1 AND lot = ?2) OR id = ?3 LIMIT 1",
                    params![c.gtin, c.lot, c.id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(db_err)?;
            if let Some((id, body)) = existing {
                return Ok(existing_outcome(c, &id, &body));
            }
            if let Some((list, idx)) = status {
                let other: Option<String> = tx
                    .query_row(
                        "SELECT cert_id FROM status_entries WHERE list = ?1 AND idx = ?2",
                        params![list, idx],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(db_err)?;
                if let Some(other) = other {
                    return Ok(status_index_taken(list, idx, &other));
                }
            }
            let now = exoskin_batch::date::Timestamp::now().to_string();
            tx.execute(
                "INSERT INTO certificates (id, gtin, lot, issuer, valid_until, body, published_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![c.id, c.gtin, c.lot, c.issuer, c.valid_until, c.body, now],
            )
            .map_err(db_err)?;
            if let Some((list, idx)) = status {
                tx.execute(
                    "INSERT INTO status_entries (list, idx, cert_id) VALUES (?1, ?2, ?3)",
                    params![list, idx, c.id],
                )
                .map_err(db_err)?;
            }
            let seq = append_audit(&tx, actor, "publish", &c.id, publish_detail(c, &now))?;
            tx.commit().map_err(db_err)?;
            Ok(PublishOutcome::Created { seq })
        })
    }

    fn revoke(&self, id: &str, issuer: &str, reason: &str, actor: &str) -> Result<RevokeOutcome> {
        self.pool.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
            let owner: Option<String> = tx
                .query_row("SELECT issuer FROM certificates WHERE id = ?1", params![id], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            match owner {
                None => return Ok(RevokeOutcome::NotFound),
                Some(o) if o != issuer => return Ok(RevokeOutcome::NotIssuer),
                _ => {}
            }
            let already: Option<i64> = tx
                .query_row("SELECT 1 FROM revocations WHERE cert_id = ?1", params![id], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            if already.is_some() {
                return Ok(RevokeOutcome::AlreadyRevoked);
            }
            let now = exoskin_batch::date::Timestamp::now().to_string();
            tx.execute(
                "INSERT INTO revocations (cert_id, reason, revoked_at, actor) VALUES (?1, ?2, ?3, ?4)",
                params![id, reason, now, actor],
            )
            .map_err(db_err)?;
            let seq = append_audit(&tx, actor, "revoke", id, revoke_detail(reason, &now))?;
            tx.commit().map_err(db_err)?;
            Ok(RevokeOutcome::Revoked { seq })
        })
    }

    fn find(&self, gtin: &str, lot: &str) -> Result<Option<StoredCertificate>> {
        self.pool.with(|conn| {
            let mut st = conn
                .prepare_cached(
                    "SELECT c.id, c.gtin, c.lot, c.issuer, c.body, c.published_at, r.reason, r.revoked_at
                     FROM certificates c LEFT JOIN revocations r ON r.cert_id = c.id
                     WHERE c.gtin = ?1 AND c.lot = ?2",
                )
                .map_err(db_err)?;
            st.query_row(params![gtin, lot], |r| {
                let reason: Option<String> = r.get(6)?;
                let at: Option<String> = r.get(7)?;
                let id: String = r.get(0)?;
                Ok(StoredCertificate {
                    revocation: reason.map(|reason| Revocation {
                        id: id.clone(),
                        reason,
                        revoked_at: at.unwrap_or_default(),
                    }),
                    id,
                    gtin: r.get(1)?,
                    lot: r.get(2)?,
                    issuer: r.get(3)?,
                    body: r.get(4)?,
                    published_at: r.get(5)?,
                })
            })
            .optional()
            .map_err(db_err)
        })
    }

    fn revocations(&self) -> Result<Vec<Revocation>> {
        self.pool.with(|conn| {
            let mut st = conn
                .prepare_cached("SELECT cert_id, reason, revoked_at FROM revocations ORDER BY revoked_at, cert_id")
                .map_err(db_err)?;
            let rows = st
                .query_map([], |r| Ok(Revocation { id: r.get(0)?, reason: r.get(1)?, revoked_at: r.get(2)? }))
                .map_err(db_err)?;
            rows.collect::<std::result::Result<Vec<_>, _>>().map_err(db_err)
        })
    }

    fn audit(&self, after: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        self.pool.with(|conn| {
            let mut st = conn
                .prepare_cached(
                    "SELECT seq, at, actor, action, cert_id, detail, prev_hash, hash FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                )
                .map_err(db_err)?;
            let rows = st.query_map(params![after, limit], entry_row).map_err(db_err)?;
            rows.collect::<std::result::Result<Vec<_>, _>>().map_err(db_err)
        })
    }

    fn counts(&self) -> Result<Counts> {
        self.pool.with(|conn| {
            conn.query_row(
                "SELECT (SELECT COUNT(*) FROM certificates), (SELECT COUNT(*) FROM revocations), (SELECT COUNT(*) FROM audit_log)",
                [],
                |r| Ok(Counts { certificates: r.get(0)?, revocations: r.get(1)?, audit: r.get(2)? }),
            )
            .map_err(db_err)
        })
    }

    fn head(&self) -> Result<Option<(i64, String)>> {
        self.pool.with(|conn| {
            conn.query_row(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db_err)
        })
    }

    fn save_checkpoint(&self, c: &Checkpoint) -> Result<()> {
        let body = serde_json::to_string(c).map_err(db_err)?;
        self.pool.with(|conn| {
            conn.execute(
                "INSERT INTO checkpoints (n, body) VALUES ((SELECT COALESCE(MAX(n), 0) + 1 FROM checkpoints), ?1)",
                params![body],
            )
            .map_err(db_err)?;
            Ok(())
        })
    }

    fn latest_checkpoint(&self) -> Result<Option<Checkpoint>> {
        let body: Option<String> = self.pool.with(|conn| {
            conn.query_row(
                "SELECT body FROM checkpoints ORDER BY n DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)
        })?;
        body.as_deref().map(checkpoint_from_text).transpose()
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn certificate_rows(&self, after: Option<&str>, limit: i64) -> Result<Vec<CertificateRow>> {
        self.pool.with(|conn| certificate_rows(conn, after, limit))
    }

    fn revocation_rows(&self) -> Result<Vec<RevocationRow>> {
        self.pool.with(|conn| revocation_rows(conn))
    }

    fn seal_legacy(&self, actor: &str) -> Result<Option<i64>> {
        self.pool.with(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let sealed: Option<i64> = tx
                .query_row("SELECT seq FROM audit_log WHERE action = 'seal' LIMIT 1", [], |r| r.get(0))
                .optional()
                .map_err(db_err)?;
            let last: Option<AuditEntry> = tx
                .query_row(
                    &format!("SELECT {ENTRY_COLUMNS} FROM audit_log WHERE action IN ('publish', 'revoke') ORDER BY seq DESC LIMIT 1"),
                    [],
                    entry_row,
                )
                .optional()
                .map_err(db_err)?;
            if sealed.is_some() || !last.is_some_and(|e| is_legacy_entry(&e)) {
                return Ok(None);
            }
            let mut certs = Vec::new();
            loop {
                let after = certs.last().map(|r: &CertificateRow| r.id.clone());
                let page = certificate_rows(&tx, after.as_deref(), 1000)?;
                if page.is_empty() {
                    break;
                }
                certs.extend(page);
            }
            let revs = revocation_rows(&tx)?;
            let seq = append_audit(&tx, actor, "seal", "", seal_detail(&certs, &revs))?;
            tx.commit().map_err(db_err)?;
            Ok(Some(seq))
        })
    }

    fn leaf_hashes(&self, after: i64, limit: i64) -> Result<Vec<(i64, String)>> {
        self.pool.with(|conn| {
            let mut st = conn
                .prepare_cached(
                    "SELECT seq, leaf_hash FROM log_leaves WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                )
                .map_err(db_err)?;
            let rows = st
                .query_map(params![after, limit], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db_err)?;
            rows.collect::<std::result::Result<Vec<_>, _>>()
                .map_err(db_err)
        })
    }

    fn publish_seq(&self, id: &str) -> Result<Option<i64>> {
        self.pool.with(|conn| {
            conn.query_row(
                "SELECT seq FROM audit_log WHERE cert_id = ?1 AND action = 'publish' ORDER BY seq LIMIT 1",
                params![id],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)
        })
    }

    fn record_issuers(&self, detail: &str, actor: &str) -> Result<Option<i64>> {
        self.pool.with(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let last: Option<String> = tx
                .query_row(
                    "SELECT detail FROM audit_log WHERE action = 'issuers' ORDER BY seq DESC LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_err)?;
            if last.as_deref().unwrap_or("[]") == detail {
                return Ok(None);
            }
            let seq = append_audit(&tx, actor, "issuers", "", detail.to_string())?;
            tx.commit().map_err(db_err)?;
            Ok(Some(seq))
        })
    }

    fn allocate_status(&self, issuer: &str, entries: i64) -> Result<(i64, i64)> {
        self.pool.with(|conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let counts: Vec<(i64, i64)> = {
                let mut st = tx
                    .prepare_cached(
                        "SELECT list, COUNT(*) FROM status_allocations GROUP BY list ORDER BY list",
                    )
                    .map_err(db_err)?;
                let rows = st
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(db_err)?;
                rows.collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(db_err)?
            };
            let (list, idx) = pick_status_slot(entries, &counts, &mut |list, idx| {
                let mut st = tx
                    .prepare_cached(
                        "SELECT idx FROM status_allocations WHERE list = ?1 AND (?2 IS NULL OR idx = ?2)",
                    )
                    .map_err(db_err)?;
                let rows = st
                    .query_map(params![list, idx], |r| r.get(0))
                    .map_err(db_err)?;
                rows.collect::<std::result::Result<Vec<i64>, _>>()
                    .map_err(db_err)
            })?;
            tx.execute(
                "INSERT INTO status_allocations (list, idx, issuer, allocated_at) VALUES (?1, ?2, ?3, ?4)",
                params![list, idx, issuer, exoskin_batch::date::Timestamp::now().to_string()],
            )
            .map_err(db_err)?;
            tx.commit().map_err(db_err)?;
            Ok((list, idx))
        })
    }

    fn status_allocation(&self, list: i64, index: i64) -> Result<Option<String>> {
        self.pool.with(|conn| {
            conn.query_row(
                "SELECT issuer FROM status_allocations WHERE list = ?1 AND idx = ?2",
                params![list, index],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)
        })
    }

    fn revoked_bodies(&self) -> Result<Vec<String>> {
        self.pool.with(|conn| {
            let mut st = conn
                .prepare_cached(
                    "SELECT c.body FROM revocations r JOIN certificates c ON c.id = r.cert_id ORDER BY r.cert_id",
                )
                .map_err(db_err)?;
            let rows = st.query_map([], |r| r.get(0)).map_err(db_err)?;
            rows.collect::<std::result::Result<Vec<String>, _>>()
                .map_err(db_err)
        })
    }
}
