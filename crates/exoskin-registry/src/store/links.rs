//! Links an issuer registers for a GTIN or one of its lots (a `gs1:leaflet` today), kept
//! like the rest of the registry: an append-only `links` table whose every row is written
//! in the transaction that appends its `link` audit entry, and checked against that entry
//! by [`super::verify_log`]. A later registration of the same GTIN, lot and link type
//! replaces the earlier one for resolving; both stay in the table and the log.
//!
//! A registry made before links gets the table and its triggers when it is opened (`CREATE
//! ... IF NOT EXISTS`); nothing else in it changes.
use super::*;

/// The table, shared by both backends (each adds its append-only triggers).
pub(super) const LINK_TABLE: &str = "
CREATE TABLE IF NOT EXISTS links (
  seq BIGINT PRIMARY KEY, gtin TEXT NOT NULL, lot TEXT NOT NULL, link_type TEXT NOT NULL,
  href TEXT NOT NULL, title TEXT NOT NULL, issuer TEXT NOT NULL, registered_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS links_gtin ON links (gtin, lot);
";

/// SQLite's triggers on [`LINK_TABLE`].
pub(super) const SQLITE_LINK_TRIGGERS: &str = "
CREATE TRIGGER IF NOT EXISTS links_no_update BEFORE UPDATE ON links BEGIN SELECT RAISE(ABORT, 'links are append-only'); END;
CREATE TRIGGER IF NOT EXISTS links_no_delete BEFORE DELETE ON links BEGIN SELECT RAISE(ABORT, 'links are append-only'); END;
";

/// PostgreSQL's trigger on [`LINK_TABLE`] (the function is the one the other tables use).
pub(super) const PG_LINK_TRIGGERS: &str = "
CREATE OR REPLACE TRIGGER links_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON links
  FOR EACH STATEMENT EXECUTE FUNCTION exoskin_append_only();
";

/// A link to register: for a GTIN (`lot` empty) or one of its lots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLink {
    /// GTIN-14.
    pub gtin: String,
    /// The lot, or empty for the whole GTIN.
    pub lot: String,
    /// The link type as a full URI (`https://gs1.org/voc/leaflet`).
    pub link_type: String,
    pub href: String,
    pub title: String,
    /// The issuer's `did:key`.
    pub issuer: String,
}

/// One row of the `links` table: the link and the audit entry that wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    pub seq: i64,
    pub gtin: String,
    pub lot: String,
    pub link_type: String,
    pub href: String,
    pub title: String,
    pub issuer: String,
    pub registered_at: String,
}

/// What registering a link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkOutcome {
    /// Stored; the audit entry's sequence number.
    Registered { seq: i64 },
    /// The same link was already the current one (a retried registration).
    Unchanged,
    /// The lot has no certificate here.
    NoCertificate,
    /// The lot's certificate belongs to another issuer.
    NotIssuer,
}

/// The detail of a `link` entry: every field of the row it writes.
pub(super) fn link_detail(l: &NewLink, registered_at: &str) -> String {
    json!({
        "gtin": l.gtin, "lot": l.lot, "linkType": l.link_type, "href": l.href,
        "title": l.title, "issuer": l.issuer, "registeredAt": registered_at,
    })
    .to_string()
}

/// The row a `link` entry says it wrote.
fn row_of_entry(e: &AuditEntry) -> Result<LinkRow> {
    let bad = |problem: String| RegistryError::AuditChain {
        seq: e.seq,
        problem,
    };
    let d: serde_json::Value = serde_json::from_str(&e.detail)
        .map_err(|err| bad(format!("(link) has a detail that is not JSON: {err}")))?;
    let f = |k: &str| -> Result<String> {
        d.get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| bad(format!("(link) has no `{k}` in its detail")))
    };
    Ok(LinkRow {
        seq: e.seq,
        gtin: f("gtin")?,
        lot: f("lot")?,
        link_type: f("linkType")?,
        href: f("href")?,
        title: f("title")?,
        issuer: f("issuer")?,
        registered_at: f("registeredAt")?,
    })
}

/// Check the `links` table against the log's `link` entries (already checked as part of
/// the chain): every row exactly as its entry wrote it, no row without its entry, no entry
/// up to `head` without its row.
pub(super) fn verify_rows(store: &dyn Store, entries: &[AuditEntry], head: i64) -> Result<i64> {
    let mut want: HashMap<i64, LinkRow> = HashMap::new();
    for e in entries {
        want.insert(e.seq, row_of_entry(e)?);
    }
    let rows = store.link_rows()?;
    let mut seen = HashSet::new();
    for row in &rows {
        match want.get(&row.seq) {
            Some(w) if w == row => {
                seen.insert(row.seq);
            }
            Some(_) => {
                return Err(RegistryError::Tampered {
                    table: "links",
                    key: row.seq.to_string(),
                    problem: format!(
                        "differs from what audit entry {} recorded when it was registered: the row was altered",
                        row.seq
                    ),
                })
            }
            None if row.seq > head => {}
            None => {
                return Err(RegistryError::Tampered {
                    table: "links",
                    key: row.seq.to_string(),
                    problem: "has no audit entry: the row was added behind the registry's back"
                        .into(),
                })
            }
        }
    }
    let mut missing: Vec<i64> = want
        .keys()
        .filter(|s| **s <= head && !seen.contains(*s))
        .copied()
        .collect();
    missing.sort();
    if let Some(seq) = missing.first() {
        return Err(RegistryError::Tampered {
            table: "links",
            key: seq.to_string(),
            problem: format!("is missing, but audit entry {seq} wrote it: the row was deleted"),
        });
    }
    Ok(seen.len() as i64)
}

/// The current links of a GTIN's rows: the latest registration of each (lot, link type).
pub fn current(rows: Vec<LinkRow>) -> Vec<LinkRow> {
    let mut latest: HashMap<(String, String), LinkRow> = HashMap::new();
    for r in rows {
        let k = (r.lot.clone(), r.link_type.clone());
        match latest.get(&k) {
            Some(x) if x.seq > r.seq => {}
            _ => {
                latest.insert(k, r);
            }
        }
    }
    let mut out: Vec<LinkRow> = latest.into_values().collect();
    out.sort_by(|a, b| (&a.lot, &a.link_type).cmp(&(&b.lot, &b.link_type)));
    out
}

/// A GTIN's lots: certificate ids, lots and revocation, for the product page.
#[derive(Debug, Clone, PartialEq)]
pub struct LotSummary {
    pub id: String,
    pub lot: String,
    pub issuer: String,
    pub valid_until: String,
    pub published_at: String,
    pub revoked: Option<Revocation>,
}

/// The registry's links and a GTIN's lots.
pub trait LinkStore {
    /// Register a link: append its row and its `link` audit entry in one transaction. A
    /// lot's link needs the lot's certificate, published by the same issuer.
    fn register_link(&self, link: &NewLink, actor: &str) -> Result<LinkOutcome>;
    /// Every registered row for a GTIN (all lots and the GTIN itself), oldest first.
    fn links_for(&self, gtin: &str) -> Result<Vec<LinkRow>>;
    /// Every row of the table, by sequence number.
    fn link_rows(&self) -> Result<Vec<LinkRow>>;
    /// A GTIN's certificates, by lot, at most `limit`.
    fn lots(&self, gtin: &str, limit: i64) -> Result<Vec<LotSummary>>;
}

mod sqlite_impl {
    use super::*;
    use crate::store::sqlite::{append_audit, SqliteStore};
    use rusqlite::{params, OptionalExtension, TransactionBehavior};

    fn link_row(r: &rusqlite::Row) -> rusqlite::Result<LinkRow> {
        Ok(LinkRow {
            seq: r.get(0)?,
            gtin: r.get(1)?,
            lot: r.get(2)?,
            link_type: r.get(3)?,
            href: r.get(4)?,
            title: r.get(5)?,
            issuer: r.get(6)?,
            registered_at: r.get(7)?,
        })
    }

    const COLUMNS: &str = "seq, gtin, lot, link_type, href, title, issuer, registered_at";

    impl LinkStore for SqliteStore {
        fn register_link(&self, l: &NewLink, actor: &str) -> Result<LinkOutcome> {
            self.pool.with(|conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(db_err)?;
                if !l.lot.is_empty() {
                    let owner: Option<String> = tx
                        .query_row(
                            "SELECT issuer FROM certificates WHERE gtin = ?1 AND lot = ?2",
                            params![l.gtin, l.lot],
                            |r| r.get(0),
                        )
                        .optional()
                        .map_err(db_err)?;
                    match owner {
                        None => return Ok(LinkOutcome::NoCertificate),
                        Some(o) if o != l.issuer => return Ok(LinkOutcome::NotIssuer),
                        _ => {}
                    }
                }
                let last: Option<(String, String, String)> = tx
                    .query_row(
                        "SELECT href, title, issuer FROM links WHERE gtin = ?1 AND lot = ?2 AND link_type = ?3 ORDER BY seq DESC LIMIT 1",
                        params![l.gtin, l.lot, l.link_type],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .optional()
                    .map_err(db_err)?;
                if last == Some((l.href.clone(), l.title.clone(), l.issuer.clone())) {
                    return Ok(LinkOutcome::Unchanged);
                }
                let now = exoskin_batch::date::Timestamp::now().to_string();
                let seq = append_audit(&tx, actor, "link", "", link_detail(l, &now))?;
                tx.execute(
                    &format!("INSERT INTO links ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                    params![seq, l.gtin, l.lot, l.link_type, l.href, l.title, l.issuer, now],
                )
                .map_err(db_err)?;
                tx.commit().map_err(db_err)?;
                Ok(LinkOutcome::Registered { seq })
            })
        }

        fn links_for(&self, gtin: &str) -> Result<Vec<LinkRow>> {
            self.pool.with(|conn| {
                let mut st = conn
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM links WHERE gtin = ?1 ORDER BY seq"
                    ))
                    .map_err(db_err)?;
                let rows = st.query_map(params![gtin], link_row).map_err(db_err)?;
                rows.collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(db_err)
            })
        }

        fn link_rows(&self) -> Result<Vec<LinkRow>> {
            self.pool.with(|conn| {
                let mut st = conn
                    .prepare_cached(&format!("SELECT {COLUMNS} FROM links ORDER BY seq"))
                    .map_err(db_err)?;
                let rows = st.query_map([], link_row).map_err(db_err)?;
                rows.collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(db_err)
            })
        }

        fn lots(&self, gtin: &str, limit: i64) -> Result<Vec<LotSummary>> {
            self.pool.with(|conn| {
                let mut st = conn
                    .prepare_cached(
                        "SELECT c.id, c.lot, c.issuer, c.valid_until, c.published_at, r.reason, r.revoked_at
                         FROM certificates c LEFT JOIN revocations r ON r.cert_id = c.id
                         WHERE c.gtin = ?1 ORDER BY c.lot LIMIT ?2",
                    )
                    .map_err(db_err)?;
                let rows = st
                    .query_map(params![gtin, limit], |r| {
                        let id: String = r.get(0)?;
                        let reason: Option<String> = r.get(5)?;
                        let at: Option<String> = r.get(6)?;
                        Ok(LotSummary {
                            revoked: reason.map(|reason| Revocation {
                                id: id.clone(),
                                reason,
                                revoked_at: at.unwrap_or_default(),
                            }),
                            id,
                            lot: r.get(1)?,
                            issuer: r.get(2)?,
                            valid_until: r.get(3)?,
                            published_at: r.get(4)?,
                        })
                    })
                    .map_err(db_err)?;
                rows.collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(db_err)
            })
        }
    }
}

mod pg_impl {
    use super::*;
    use crate::store::pg::{append_audit, pg_err, write_tx, PgStore};

    fn link_row(r: &postgres::Row) -> LinkRow {
        LinkRow {
            seq: r.get(0),
            gtin: r.get(1),
            lot: r.get(2),
            link_type: r.get(3),
            href: r.get(4),
            title: r.get(5),
            issuer: r.get(6),
            registered_at: r.get(7),
        }
    }

    const COLUMNS: &str = "seq, gtin, lot, link_type, href, title, issuer, registered_at";

    impl LinkStore for PgStore {
        fn register_link(&self, l: &NewLink, actor: &str) -> Result<LinkOutcome> {
            self.pool.with(|conn| {
                let mut tx = write_tx(conn)?;
                if !l.lot.is_empty() {
                    let owner = tx
                        .query_opt(
                            "SELECT issuer FROM certificates WHERE gtin = $1 AND lot = $2",
                            &[&l.gtin, &l.lot],
                        )
                        .map_err(pg_err)?;
                    match owner.map(|r| r.get::<_, String>(0)) {
                        None => return Ok(LinkOutcome::NoCertificate),
                        Some(o) if o != l.issuer => return Ok(LinkOutcome::NotIssuer),
                        _ => {}
                    }
                }
                let last = tx
                    .query_opt(
                        "SELECT href, title, issuer FROM links WHERE gtin = $1 AND lot = $2 AND link_type = $3 ORDER BY seq DESC LIMIT 1",
                        &[&l.gtin, &l.lot, &l.link_type],
                    )
                    .map_err(pg_err)?
                    .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1), r.get::<_, String>(2)));
                if last == Some((l.href.clone(), l.title.clone(), l.issuer.clone())) {
                    return Ok(LinkOutcome::Unchanged);
                }
                let now = exoskin_batch::date::Timestamp::now().to_string();
                let seq = append_audit(&mut tx, actor, "link", "", link_detail(l, &now))?;
                tx.execute(
                    &format!("INSERT INTO links ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
                    &[&seq, &l.gtin, &l.lot, &l.link_type, &l.href, &l.title, &l.issuer, &now],
                )
                .map_err(pg_err)?;
                tx.commit().map_err(pg_err)?;
                Ok(LinkOutcome::Registered { seq })
            })
        }

        fn links_for(&self, gtin: &str) -> Result<Vec<LinkRow>> {
            self.pool.with(|conn| {
                Ok(conn
                    .query(
                        &format!("SELECT {COLUMNS} FROM links WHERE gtin = $1 ORDER BY seq"),
                        &[&gtin],
                    )
                    .map_err(pg_err)?
                    .iter()
                    .map(link_row)
                    .collect())
            })
        }

        fn link_rows(&self) -> Result<Vec<LinkRow>> {
            self.pool.with(|conn| {
                Ok(conn
                    .query(&format!("SELECT {COLUMNS} FROM links ORDER BY seq"), &[])
                    .map_err(pg_err)?
                    .iter()
                    .map(link_row)
                    .collect())
            })
        }

        fn lots(&self, gtin: &str, limit: i64) -> Result<Vec<LotSummary>> {
            self.pool.with(|conn| {
                Ok(conn
                    .query(
                        "SELECT c.id, c.lot, c.issuer, c.valid_until, c.published_at, r.reason, r.revoked_at
                         FROM certificates c LEFT JOIN revocations r ON r.cert_id = c.id
                         WHERE c.gtin = $1 ORDER BY c.lot LIMIT $2",
                        &[&gtin, &limit],
                    )
                    .map_err(pg_err)?
                    .iter()
                    .map(|r| {
                        let id: String = r.get(0);
                        let reason: Option<String> = r.get(5);
                        let at: Option<String> = r.get(6);
                        LotSummary {
                            revoked: reason.map(|reason| Revocation {
                                id: id.clone(),
                                reason,
                                revoked_at: at.unwrap_or_default(),
                            }),
                            id,
                            lot: r.get(1),
                            issuer: r.get(2),
                            valid_until: r.get(3),
                            published_at: r.get(4),
                        }
                    })
                    .collect())
            })
        }
    }
}
