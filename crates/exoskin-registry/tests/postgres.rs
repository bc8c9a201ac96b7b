//! Everything against a real PostgreSQL server: a throwaway cluster (initdb in a temp dir,
//! started on a free loopback port, stopped at the end). One test function, so the cluster
//! starts once and is always stopped.
mod common;
use common::*;
use exoskin_registry::store;

/// The PostgreSQL schema before the Merkle log (crates/exoskin-registry/src/store/mod.rs
/// COMMON_TABLES and store/pg.rs SCHEMA as they were), verbatim.
const PG_SCHEMA_BEFORE: &str = "
CREATE TABLE IF NOT EXISTS certificates (
  id TEXT PRIMARY KEY, gtin TEXT NOT NULL, lot TEXT NOT NULL, issuer TEXT NOT NULL,
  valid_until TEXT NOT NULL, body TEXT NOT NULL, published_at TEXT NOT NULL, UNIQUE (gtin, lot));
CREATE TABLE IF NOT EXISTS revocations (
  cert_id TEXT PRIMARY KEY REFERENCES certificates(id), reason TEXT NOT NULL,
  revoked_at TEXT NOT NULL, actor TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (n BIGINT PRIMARY KEY, body TEXT NOT NULL);
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

#[test]
fn postgres_backend() {
    let Some(pg) = PgCluster::start() else { return };

    let url = pg.database("suite");
    let s = store::open(&url, 2).unwrap();
    store_suite(s.as_ref());
    // Opening again (a restarted server) keeps the data and re-applies the schema cleanly.
    assert_eq!(
        store::open(&url, 1).unwrap().counts().unwrap().certificates,
        2
    );

    api::publish_resolve_revoke_round_trip(&pg.database("api1"));
    let db = pg.database("api2");
    api::bad_input_gets_a_clear_4xx_and_leaves_data_untouched(&db);
    let mut c = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    for sql in [
        "UPDATE audit_log SET actor = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "UPDATE certificates SET body = '{}'",
        "DELETE FROM certificates",
        "DELETE FROM revocations",
    ] {
        let e = c.batch_execute(sql).expect_err(sql);
        assert!(
            e.to_string().contains("append-only") || format!("{e:?}").contains("append-only"),
            "{sql}: {e:?}"
        );
    }
    api::hostile_lots_that_are_valid_gs1_are_stored_literally_and_escaped_in_html(
        &pg.database("api3"),
    );

    let mut fresh = |name: &str| {
        let url = pg.database(name);
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let exec: tamper::Exec = Box::new(move |sql: &str| c.batch_execute(sql).unwrap());
        (url, exec)
    };
    let unguard = "DROP TRIGGER IF EXISTS certificates_append_only ON certificates;
        DROP TRIGGER IF EXISTS revocations_append_only ON revocations;";
    tamper::hand_edits_of_any_table_fail_verify_log(&mut fresh, unguard);
    tamper::old_format_registries_keep_verifying_and_are_sealed_on_upgrade(&mut fresh, unguard);

    // The Merkle log: proofs over HTTP, a rewritten history, a registry from before it.
    let n = merkle_log::every_proof_over_http_verifies_against_the_signed_checkpoints(
        &pg.database("merkle1"),
    );
    assert_eq!(n, 15);
    let mut fresh_log = |name: &str| {
        let url = pg.database(name);
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let exec: merkle_log::Exec = Box::new(move |sql: &str| c.batch_execute(sql).unwrap());
        (url, exec)
    };
    merkle_log::a_rewritten_log_fails_against_a_saved_checkpoint(
        &mut fresh_log,
        "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log;
         DROP TRIGGER IF EXISTS log_leaves_append_only ON log_leaves;",
    );
    merkle_log::a_registry_made_before_the_merkle_log_gets_it_when_opened(
        &mut fresh_log,
        PG_SCHEMA_BEFORE,
    );
    let mut c = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    for sql in [
        "UPDATE log_leaves SET leaf_hash = 'x'",
        "DELETE FROM log_leaves",
        "TRUNCATE log_leaves",
    ] {
        let e = c.batch_execute(sql).expect_err(sql);
        assert!(format!("{e:?}").contains("append-only"), "{sql}: {e:?}");
    }

    let (acked, stored) = durability::kill_during_burst(&pg.database("dur"), 800, 8, 150);
    eprintln!("postgres: {acked} acknowledged before SIGKILL, {stored} stored after restart");
}
