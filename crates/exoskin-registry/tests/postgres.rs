//! Everything against a real PostgreSQL server: a throwaway cluster (initdb in a temp dir,
//! started on a free loopback port, stopped at the end). One test function, so the cluster
//! starts once and is always stopped.
mod common;
use common::*;
use exoskin_registry::store;

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

    let (acked, stored) = durability::kill_during_burst(&pg.database("dur"), 800, 8, 150);
    eprintln!("postgres: {acked} acknowledged before SIGKILL, {stored} stored after restart");
}
