//! PostgreSQL backend (synchronous client; `synchronous_commit` as the server sets it, on by
//! default). Writers serialize on a transaction-scoped advisory lock so the audit chain stays
//! linear.
use super::*;
use postgres::{Client, NoTls};

/// Advisory lock key for writers ("exosk" in ASCII-ish digits).
const WRITE_LOCK: i64 = 0x65786f736b;

/// Advisory lock key for schema creation.
const SCHEMA_LOCK: i64 = 7306087;

/// Added to [`COMMON_TABLES`].
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit_log (
  seq BIGINT PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  cert_id TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE OR REPLACE FUNCTION exoskin_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$;
CREATE OR REPLACE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION exoskin_append_only();
CREATE OR REPLACE TRIGGER certificates_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON certificates
  FOR EACH STATEMENT EXECUTE FUNCTION exoskin_append_only();
CREATE OR REPLACE TRIGGER revocations_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON revocations
  FOR EACH STATEMENT EXECUTE FUNCTION exoskin_append_only();
";

/// Added to [`LOG_TABLES`].
const LOG_TRIGGERS: &str = "
CREATE OR REPLACE TRIGGER log_leaves_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON log_leaves
  FOR EACH STATEMENT EXECUTE FUNCTION exoskin_append_only();
";

/// Added to [`STATUS_TABLES`].
const STATUS_TRIGGERS: &str = "
CREATE OR REPLACE TRIGGER status_allocations_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON status_allocations
  FOR EACH STATEMENT EXECUTE FUNCTION exoskin_append_only();
CREATE OR REPLACE TRIGGER status_entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON status_entries
  FOR EACH STATEMENT EXECUTE FUNCTION exoskin_append_only();
";

pub struct PgStore {
    pub(super) pool: Pool<Client>,
}

/// postgres::Error's Display says only "db error"; give the server's message.
pub(super) fn pg_err(e: postgres::Error) -> RegistryError {
    match e.as_db_error() {
        Some(db) => {
            RegistryError::store(format!("PostgreSQL {}: {}", db.code().code(), db.message()))
        }
        None => RegistryError::store(format!("PostgreSQL: {e}")),
    }
}

fn connect(url: &str) -> Result<Client> {
    Client::connect(url, NoTls).map_err(|e| match pg_err(e) {
        RegistryError::Store { message } => {
            RegistryError::store(format!("cannot connect: {message}"))
        }
        other => other,
    })
}

impl PgStore {
    pub fn open(url: &str, pool_size: usize) -> Result<PgStore> {
        let mut c = connect(url)?;
        let mut tx = c.transaction().map_err(pg_err)?;
        // Several servers may start at once: one applies the schema at a time.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .map_err(pg_err)?;
        tx.batch_execute(COMMON_TABLES).map_err(pg_err)?;
        tx.batch_execute(SCHEMA).map_err(pg_err)?;
        // Registered links (a registry made before them gets the table here).
        tx.batch_execute(links::LINK_TABLE).map_err(pg_err)?;
        tx.batch_execute(links::PG_LINK_TRIGGERS).map_err(pg_err)?;
        // The Merkle log's tables, and the leaf hashes of entries written before them
        // (under the writers' lock, so no entry is appended meanwhile).
        tx.batch_execute(LOG_TABLES).map_err(pg_err)?;
        tx.batch_execute(LOG_TRIGGERS).map_err(pg_err)?;
        tx.batch_execute(STATUS_TABLES).map_err(pg_err)?;
        tx.batch_execute(STATUS_TRIGGERS).map_err(pg_err)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
            .map_err(pg_err)?;
        backfill_leaves(&mut tx)?;
        tx.commit().map_err(pg_err)?;
        let u = url.to_string();
        let pool = Pool::new(pool_size, Box::new(move || connect(&u)), |c: &Client| {
            !c.is_closed()
        })?;
        Ok(PgStore { pool })
    }
}

pub(super) fn append_audit(
    tx: &mut postgres::Transaction,
    actor: &str,
    action: &str,
    cert_id: &str,
    detail: String,
) -> Result<i64> {
    let last = tx
        .query_opt(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .map_err(pg_err)?;
    let (seq, prev) = last
        .map(|r| (r.get::<_, i64>(0) + 1, r.get::<_, String>(1)))
        .unwrap_or((1, GENESIS_HASH.to_string()));
    let e = AuditEntry::new(seq, prev, actor, action, cert_id, detail);
    tx.execute(
        "INSERT INTO audit_log (seq, at, actor, action, cert_id, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[&e.seq, &e.at, &e.actor, &e.action, &e.cert_id, &e.detail, &e.prev_hash, &e.hash],
    )
    .map_err(pg_err)?;
    backfill_leaves(tx)?;
    Ok(seq)
}

/// Cache the leaf hash of every entry after the last one cached (the entry just appended;
/// on opening a registry made before the Merkle log, all of them). The number cached.
fn backfill_leaves(tx: &mut postgres::Transaction) -> Result<usize> {
    let entries: Vec<AuditEntry> = tx
        .query(LEAF_BACKFILL, &[])
        .map_err(pg_err)?
        .iter()
        .map(entry_row)
        .collect();
    if entries.is_empty() {
        return Ok(0);
    }
    let ins = tx
        .prepare("INSERT INTO log_leaves (seq, leaf_hash) VALUES ($1, $2)")
        .map_err(pg_err)?;
    for e in &entries {
        tx.execute(&ins, &[&e.seq, &crate::merkle::to_hex(&e.leaf_hash())])
            .map_err(pg_err)?;
    }
    Ok(entries.len())
}

const ENTRY_COLUMNS: &str = "seq, at, actor, action, cert_id, detail, prev_hash, hash";

fn entry_row(r: &postgres::Row) -> AuditEntry {
    AuditEntry {
        seq: r.get(0),
        at: r.get(1),
        actor: r.get(2),
        action: r.get(3),
        cert_id: r.get(4),
        detail: r.get(5),
        prev_hash: r.get(6),
        hash: r.get(7),
    }
}

fn certificate_rows(
    c: &mut impl postgres::GenericClient,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<CertificateRow>> {
    let rows = c
        .query(
            "SELECT id, gtin, lot, issuer, valid_until, body, published_at FROM certificates
             WHERE $1::TEXT IS NULL OR id > $1::TEXT ORDER BY id LIMIT $2",
            &[&after, &limit],
        )
        .map_err(pg_err)?;
    Ok(rows
        .iter()
        .map(|r| CertificateRow {
            id: r.get(0),
            gtin: r.get(1),
            lot: r.get(2),
            issuer: r.get(3),
            valid_until: r.get(4),
            body_sha256: sha256_hex(r.get::<_, &str>(5).as_bytes()),
            published_at: r.get(6),
        })
        .collect())
}

fn revocation_rows(c: &mut impl postgres::GenericClient) -> Result<Vec<RevocationRow>> {
    let rows = c
        .query(
            "SELECT cert_id, reason, revoked_at, actor FROM revocations",
            &[],
        )
        .map_err(pg_err)?;
    Ok(rows
        .iter()
        .map(|r| RevocationRow {
            cert_id: r.get(0),
            reason: r.get(1),
            revoked_at: r.get(2),
            actor: r.get(3),
        })
        .collect())
}

pub(super) fn write_tx(c: &mut Client) -> Result<postgres::Transaction<'_>> {
    let mut tx = c.transaction().map_err(pg_err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
        .map_err(pg_err)?;
    Ok(tx)
}

impl Store for PgStore {
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
            let mut tx = write_tx(conn)?;
            let existing = tx
                .query_opt(
                    "SELECT id, body FROM certificates WHERE (gtin = $1 AND lot = $2) OR id = $3 LIMIT 1",
                    &[&c.gtin, &c.lot, &c.id],
                )
                .map_err(pg_err)?;
            if let Some(r) = existing {
                let (id, body): (String, String) = (r.get(0), r.get(1));
                return Ok(existing_outcome(c, &id, &body));
            }
            if let Some((list, idx)) = status {
                let other = tx
                    .query_opt(
                        "SELECT cert_id FROM status_entries WHERE list = $1 AND idx = $2",
                        &[&list, &idx],
                    )
                    .map_err(pg_err)?;
                if let Some(r) = other {
                    return Ok(status_index_taken(list, idx, &r.get::<_, String>(0)));
                }
            }
            let now = exoskin_batch::date::Timestamp::now().to_string();
            tx.execute(
                "INSERT INTO certificates (id, gtin, lot, issuer, valid_until, body, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&c.id, &c.gtin, &c.lot, &c.issuer, &c.valid_until, &c.body, &now],
            )
            .map_err(pg_err)?;
            if let Some((list, idx)) = status {
                tx.execute(
                    "INSERT INTO status_entries (list, idx, cert_id) VALUES ($1, $2, $3)",
                    &[&list, &idx, &c.id],
                )
                .map_err(pg_err)?;
            }
            let seq = append_audit(&mut tx, actor, "publish", &c.id, publish_detail(c, &now))?;
            tx.commit().map_err(pg_err)?;
            Ok(PublishOutcome::Created { seq })
        })
    }

    fn revoke(&self, id: &str, issuer: &str, reason: &str, actor: &str) -> Result<RevokeOutcome> {
        self.pool.with(|conn| {
            let mut tx = write_tx(conn)?;
            let owner = tx
                .query_opt("SELECT issuer FROM certificates WHERE id = $1", &[&id])
                .map_err(pg_err)?;
            match owner.map(|r| r.get::<_, String>(0)) {
                None => return Ok(RevokeOutcome::NotFound),
                Some(o) if o != issuer => return Ok(RevokeOutcome::NotIssuer),
                _ => {}
            }
            if tx
                .query_opt("SELECT 1 FROM revocations WHERE cert_id = $1", &[&id])
                .map_err(pg_err)?
                .is_some()
            {
                return Ok(RevokeOutcome::AlreadyRevoked);
            }
            let now = exoskin_batch::date::Timestamp::now().to_string();
            tx.execute(
                "INSERT INTO revocations (cert_id, reason, revoked_at, actor) VALUES ($1, $2, $3, $4)",
                &[&id, &reason, &now, &actor],
            )
            .map_err(pg_err)?;
            let seq = append_audit(&mut tx, actor, "revoke", id, revoke_detail(reason, &now))?;
            tx.commit().map_err(pg_err)?;
            Ok(RevokeOutcome::Revoked { seq })
        })
    }

    fn find(&self, gtin: &str, lot: &str) -> Result<Option<StoredCertificate>> {
        self.pool.with(|conn| {
            let row = conn
                .query_opt(
                    "SELECT c.id, c.gtin, c.lot, c.issuer, c.body, c.published_at, r.reason, r.revoked_at
                     FROM certificates c LEFT JOIN revocations r ON r.cert_id = c.id
                     WHERE c.gtin = $1 AND c.lot = $2",
                    &[&gtin, &lot],
                )
                .map_err(pg_err)?;
            Ok(row.map(|r| {
                let id: String = r.get(0);
                let reason: Option<String> = r.get(6);
                let at: Option<String> = r.get(7);
                StoredCertificate {
                    revocation: reason.map(|reason| Revocation { id: id.clone(), reason, revoked_at: at.unwrap_or_default() }),
                    id,
                    gtin: r.get(1),
                    lot: r.get(2),
                    issuer: r.get(3),
                    body: r.get(4),
                    published_at: r.get(5),
                }
            }))
        })
    }

    fn revocations(&self) -> Result<Vec<Revocation>> {
        self.pool.with(|conn| {
            let rows = conn
                .query("SELECT cert_id, reason, revoked_at FROM revocations ORDER BY revoked_at, cert_id", &[])
                .map_err(pg_err)?;
            Ok(rows
                .iter()
                .map(|r| Revocation { id: r.get(0), reason: r.get(1), revoked_at: r.get(2) })
                .collect())
        })
    }

    fn audit(&self, after: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        self.pool.with(|conn| {
            let rows = conn
                .query(
                    "SELECT seq, at, actor, action, cert_id, detail, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                    &[&after, &limit],
                )
                .map_err(pg_err)?;
            Ok(rows.iter().map(entry_row).collect())
        })
    }

    fn counts(&self) -> Result<Counts> {
        self.pool.with(|conn| {
            let r = conn
                .query_one(
                    "SELECT (SELECT COUNT(*) FROM certificates), (SELECT COUNT(*) FROM revocations), (SELECT COUNT(*) FROM audit_log)",
                    &[],
                )
                .map_err(pg_err)?;
            Ok(Counts { certificates: r.get(0), revocations: r.get(1), audit: r.get(2) })
        })
    }

    fn head(&self) -> Result<Option<(i64, String)>> {
        self.pool.with(|conn| {
            let r = conn
                .query_opt(
                    "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                    &[],
                )
                .map_err(pg_err)?;
            Ok(r.map(|r| (r.get(0), r.get(1))))
        })
    }

    fn save_checkpoint(&self, c: &Checkpoint) -> Result<()> {
        let body = serde_json::to_string(c).map_err(db_err)?;
        self.pool.with(|conn| {
            conn.execute(
                "INSERT INTO checkpoints (n, body) VALUES ((SELECT COALESCE(MAX(n), 0) + 1 FROM checkpoints), $1)",
                &[&body],
            )
            .map_err(pg_err)?;
            Ok(())
        })
    }

    fn latest_checkpoint(&self) -> Result<Option<Checkpoint>> {
        let body: Option<String> = self.pool.with(|conn| {
            let r = conn
                .query_opt("SELECT body FROM checkpoints ORDER BY n DESC LIMIT 1", &[])
                .map_err(pg_err)?;
            Ok(r.map(|r| r.get(0)))
        })?;
        body.as_deref().map(checkpoint_from_text).transpose()
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn certificate_rows(&self, after: Option<&str>, limit: i64) -> Result<Vec<CertificateRow>> {
        self.pool.with(|conn| certificate_rows(conn, after, limit))
    }

    fn revocation_rows(&self) -> Result<Vec<RevocationRow>> {
        self.pool.with(revocation_rows)
    }

    fn seal_legacy(&self, actor: &str) -> Result<Option<i64>> {
        self.pool.with(|conn| {
            let mut tx = write_tx(conn)?;
            let sealed = tx
                .query_opt("SELECT seq FROM audit_log WHERE action = 'seal' LIMIT 1", &[])
                .map_err(pg_err)?;
            let last = tx
                .query_opt(
                    &format!("SELECT {ENTRY_COLUMNS} FROM audit_log WHERE action IN ('publish', 'revoke') ORDER BY seq DESC LIMIT 1"),
                    &[],
                )
                .map_err(pg_err)?
                .map(|r| entry_row(&r));
            if sealed.is_some() || !last.is_some_and(|e| is_legacy_entry(&e)) {
                return Ok(None);
            }
            let mut certs: Vec<CertificateRow> = Vec::new();
            loop {
                let after = certs.last().map(|r| r.id.clone());
                let page = certificate_rows(&mut tx, after.as_deref(), 1000)?;
                if page.is_empty() {
                    break;
                }
                certs.extend(page);
            }
            let revs = revocation_rows(&mut tx)?;
            let seq = append_audit(&mut tx, actor, "seal", "", seal_detail(&certs, &revs))?;
            tx.commit().map_err(pg_err)?;
            Ok(Some(seq))
        })
    }

    fn leaf_hashes(&self, after: i64, limit: i64) -> Result<Vec<(i64, String)>> {
        self.pool.with(|conn| {
            let rows = conn
                .query(
                    "SELECT seq, leaf_hash FROM log_leaves WHERE seq > $1 ORDER BY seq LIMIT $2",
                    &[&after, &limit],
                )
                .map_err(pg_err)?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    fn publish_seq(&self, id: &str) -> Result<Option<i64>> {
        self.pool.with(|conn| {
            let r = conn
                .query_opt(
                    "SELECT seq FROM audit_log WHERE cert_id = $1 AND action = 'publish' ORDER BY seq LIMIT 1",
                    &[&id],
                )
                .map_err(pg_err)?;
            Ok(r.map(|r| r.get(0)))
        })
    }

    fn record_issuers(&self, detail: &str, actor: &str) -> Result<Option<i64>> {
        self.pool.with(|conn| {
            let mut tx = write_tx(conn)?;
            let last: Option<String> = tx
                .query_opt(
                    "SELECT detail FROM audit_log WHERE action = 'issuers' ORDER BY seq DESC LIMIT 1",
                    &[],
                )
                .map_err(pg_err)?
                .map(|r| r.get(0));
            if last.as_deref().unwrap_or("[]") == detail {
                return Ok(None);
            }
            let seq = append_audit(&mut tx, actor, "issuers", "", detail.to_string())?;
            tx.commit().map_err(pg_err)?;
            Ok(Some(seq))
        })
    }

    fn allocate_status(&self, issuer: &str, entries: i64) -> Result<(i64, i64)> {
        self.pool.with(|conn| {
            // Under the writers' lock: allocations are serialized like every other write.
            let mut tx = write_tx(conn)?;
            let counts: Vec<(i64, i64)> = tx
                .query(
                    "SELECT list, COUNT(*) FROM status_allocations GROUP BY list ORDER BY list",
                    &[],
                )
                .map_err(pg_err)?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            let (list, idx) = pick_status_slot(entries, &counts, &mut |list, idx| {
                Ok(tx
                    .query(
                        "SELECT idx FROM status_allocations WHERE list = $1 AND ($2::BIGINT IS NULL OR idx = $2::BIGINT)",
                        &[&list, &idx],
                    )
                    .map_err(pg_err)?
                    .iter()
                    .map(|r| r.get(0))
                    .collect())
            })?;
            tx.execute(
                "INSERT INTO status_allocations (list, idx, issuer, allocated_at) VALUES ($1, $2, $3, $4)",
                &[&list, &idx, &issuer, &exoskin_batch::date::Timestamp::now().to_string()],
            )
            .map_err(pg_err)?;
            tx.commit().map_err(pg_err)?;
            Ok((list, idx))
        })
    }

    fn status_allocation(&self, list: i64, index: i64) -> Result<Option<String>> {
        self.pool.with(|conn| {
            let r = conn
                .query_opt(
                    "SELECT issuer FROM status_allocations WHERE list = $1 AND idx = $2",
                    &[&list, &index],
                )
                .map_err(pg_err)?;
            Ok(r.map(|r| r.get(0)))
        })
    }

    fn revoked_bodies(&self) -> Result<Vec<String>> {
        self.pool.with(|conn| {
            let rows = conn
                .query(
                    "SELECT c.body FROM revocations r JOIN certificates c ON c.id = r.cert_id ORDER BY r.cert_id",
                    &[],
                )
                .map_err(pg_err)?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }
}
