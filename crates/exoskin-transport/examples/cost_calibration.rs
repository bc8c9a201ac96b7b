//! The cost estimate against measured run times: every bundled scenario and a ladder of
//! finer grids, each run once after a warm-up, with the estimate's seconds, the measured
//! seconds and their ratio (the estimate must not fall below the measurement: a ratio of at
//! least 1 everywhere). Figures are recorded in docs/benchmarks.md, "Cost estimates".
//!
//! `cargo run --release -p exoskin-transport --example cost_calibration`

use exoskin_model::{read_scenario, read_scenario_file, Scenario, TransportParams};
use exoskin_transport::{cost, simulate};
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios"));
    let mut cases: Vec<(String, Scenario)> = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("the scenarios folder")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    for f in files {
        let s = read_scenario_file(&f).expect("a bundled scenario");
        cases.push((f.file_name().unwrap().to_string_lossy().into(), s));
    }
    let base = std::fs::read_to_string(root.join("in_vivo_microneedling.toml")).unwrap();
    for (cpl, nr) in [(40, 24), (40, 48), (60, 60), (80, 100)] {
        let text = format!("{base}\n[numerics]\ncells_per_layer = {cpl}\nradial_cells = {nr}\n");
        cases.push((
            format!("microneedling {cpl} x {nr}"),
            read_scenario(&text, "grid.toml").unwrap(),
        ));
    }
    let p = TransportParams::defaults();
    println!(
        "{:<34} {:>7} {:>4} {:>7} {:>10} {:>10} {:>7}",
        "scenario", "cells", "band", "steps", "estimate s", "measured s", "ratio"
    );
    let mut lowest = f64::INFINITY;
    for (name, s) in &cases {
        let Some(c) = cost::estimate(s, p) else {
            continue;
        };
        let _ = simulate(s, p);
        let t0 = Instant::now();
        simulate(s, p).expect("the run");
        let took = t0.elapsed().as_secs_f64();
        let ratio = c.seconds / took;
        lowest = lowest.min(ratio);
        println!(
            "{:<34} {:>7} {:>4} {:>7} {:>10.4} {:>10.4} {:>7.2}",
            name, c.cells, c.bandwidth, c.steps, c.seconds, took, ratio
        );
    }
    println!("lowest ratio (estimate over measured): {lowest:.2}");
}
