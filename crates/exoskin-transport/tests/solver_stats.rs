//! Snapshot of the solver's statistics for every bundled scenario (scenarios/ and
//! scenarios/claims/): grid cells, factored band half-width, size classes, time steps and
//! factorizations. `tests/cost.rs` checks that these estimates equal what the runs do, so a
//! change here is a change of the numerics every result rests on: it must be seen and
//! explained, not slip by. After a deliberate change, rewrite the snapshot with
//! `EXOSKIN_UPDATE_SNAPSHOTS=1 cargo test --release -p exoskin-transport --test solver_stats`
//! and say why in the commit.

use exoskin_model::{read_scenario_file, TransportParams};
use exoskin_transport::cost;
use std::path::{Path, PathBuf};

const SNAPSHOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/snapshots/solver_stats.txt"
);

fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

fn table() -> String {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let mut out = String::from("# scenario cells bandwidth classes steps factorizations\n");
    let mut files = toml_files(&root.join("scenarios"));
    files.extend(toml_files(&root.join("scenarios/claims")));
    for p in files {
        let s = read_scenario_file(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let name = p.strip_prefix(&root).unwrap().display().to_string();
        match cost::estimate(&s, TransportParams::defaults()) {
            Some(c) => out.push_str(&format!(
                "{name} {} {} {} {} {}\n",
                c.cells, c.bandwidth, c.classes, c.steps, c.factorizations
            )),
            None => out.push_str(&format!("{name} - - - - -\n")),
        }
    }
    out
}

#[test]
fn solver_statistics_of_the_bundled_scenarios_are_as_recorded() {
    let now = table();
    if std::env::var_os("EXOSKIN_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(SNAPSHOT, &now).unwrap();
        return;
    }
    let recorded = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    if now != recorded {
        let changed: Vec<String> = now
            .lines()
            .filter(|l| !recorded.lines().any(|r| r == *l))
            .map(|l| format!("  now:  {l}"))
            .chain(
                recorded
                    .lines()
                    .filter(|r| !now.lines().any(|l| l == *r))
                    .map(|r| format!("  was:  {r}")),
            )
            .collect();
        panic!(
            "solver statistics changed (tests/snapshots/solver_stats.txt):\n{}\nif deliberate, \
             rerun with EXOSKIN_UPDATE_SNAPSHOTS=1 and explain it in the commit",
            changed.join("\n")
        );
    }
    // Every bundled transport scenario is in it, each with a positive step count.
    assert!(now.lines().skip(1).all(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        f.len() == 6 && (f[4] == "-" || f[4].parse::<u64>().is_ok_and(|s| s > 0))
    }));
}
