//! The registry over HTTP on SQLite: publish, resolve, revoke, audit; and every kind of bad
//! input answered with a clear 4xx while stored data stays untouched.
mod common;
use common::*;
use exoskin_batch::store;

fn db(dir: &TempDir) -> String {
    dir.path().join("reg.sqlite3").to_str().unwrap().to_string()
}

#[test]
fn sqlite_store_conformance() {
    let dir = TempDir::new("suite");
    let s = store::open(&db(&dir), 2).unwrap();
    store_suite(s.as_ref());
}

#[test]
fn publish_resolve_revoke_round_trip() {
    let dir = TempDir::new("api");
    api::publish_resolve_revoke_round_trip(&db(&dir));
}

#[test]
fn bad_input_gets_a_clear_4xx_and_leaves_data_untouched() {
    let dir = TempDir::new("api");
    let db = db(&dir);
    api::bad_input_gets_a_clear_4xx_and_leaves_data_untouched(&db);
    // The audit log, certificates and revocations refuse UPDATE and DELETE even from
    // inside the database.
    let c = rusqlite::Connection::open(&db).unwrap();
    for sql in [
        "UPDATE audit_log SET actor = 'x'",
        "DELETE FROM audit_log",
        "UPDATE certificates SET body = '{}'",
        "DELETE FROM certificates",
        "DELETE FROM revocations",
        "UPDATE revocations SET reason = ''",
    ] {
        assert!(c.execute(sql, []).is_err(), "{sql} was allowed");
    }
}

#[test]
fn hostile_lots_that_are_valid_gs1_are_stored_literally_and_escaped_in_html() {
    let dir = TempDir::new("api");
    api::hostile_lots_that_are_valid_gs1_are_stored_literally_and_escaped_in_html(&db(&dir));
}
