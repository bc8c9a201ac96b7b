//! SQLite durability: SIGKILL during a burst of concurrent publishes loses nothing that was
//! acknowledged. (The PostgreSQL run is in postgres.rs.)
mod common;
use common::*;

#[test]
fn sqlite_keeps_every_acknowledged_publish_across_sigkill() {
    let dir = TempDir::new("dur-sqlite");
    let db = dir.path().join("reg.sqlite3");
    let (acked, stored) = durability::kill_during_burst(db.to_str().unwrap(), 800, 8, 150);
    eprintln!("sqlite: {acked} acknowledged before SIGKILL, {stored} stored after restart");
}
