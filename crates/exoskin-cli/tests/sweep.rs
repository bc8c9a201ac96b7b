//! `exoskin sweep`: the issue's example spec end to end, exit codes, the Slurm scripts.

mod common;
use arrow_array::{Array, Float64Array};
use common::{exe, json_of};
use std::path::Path;

fn repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The issue's example, verbatim but for the shard count (small: 8 rows in 2 shards).
const EXAMPLE: &str = r#"base = "scenarios/in_vivo_microneedling.toml"
shards = 2
outputs = ["transport.reached_dermis_fraction"]
[[parameters]]
name = "product.particles_per_ml"       # any scenario key, dotted
values = [1.0e9, 3.0e9, 1.0e10, 3.0e10]  # or: range = [lo, hi] with sample = "sobol" | "lhs", n = ...
[[parameters]]
name = "skin.age_years"
values = [30.0, 60.0]
"#;

#[test]
fn the_issues_example_runs_resumes_and_merges() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp.path().join("sweep.toml");
    std::fs::write(&spec, EXAMPLE).unwrap();
    let out = tmp.path().join("out");
    // `base` is relative: found from the working directory (the repository root).
    let run = |args: &[&str]| exe().current_dir(repo()).args(args).output().unwrap();
    let (s, o) = (spec.to_str().unwrap(), out.to_str().unwrap());
    let r = run(&["sweep", s, "--out", o, "--threads", "2"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stderr).contains("2 shard(s) run, 0 already done"));
    let r = run(&["sweep", s, "--out", o]);
    assert!(String::from_utf8_lossy(&r.stderr).contains("0 shard(s) run, 2 already done"));
    let r = run(&["sweep", "merge", o]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stderr).contains("merged 8 rows (0 failed)"));
    let (batches, _) = exoskin_sweep::read_parquet(&out.join("sweep.parquet")).unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 8);
    // Row 4 (1e10 per ml, age 30) equals `exoskin simulate --json` of that scenario.
    let base =
        std::fs::read_to_string(repo().join("scenarios/in_vivo_microneedling.toml")).unwrap();
    let one = tmp.path().join("one.toml");
    std::fs::write(&one, base.replace("age_years = 45.0", "age_years = 30.0")).unwrap();
    let doc = json_of(&["simulate", one.to_str().unwrap(), "--json"]);
    let col = batches[0]
        .column_by_name("transport.reached_dermis_fraction")
        .unwrap();
    let col = col.as_any().downcast_ref::<Float64Array>().unwrap();
    assert!(col.is_valid(4));
    assert_eq!(
        Some(col.value(4)),
        doc["transport"]["reached_dermis_fraction"].as_f64()
    );
    // Merging again into another file gives the same rows.
    let m = exoskin_sweep::merge(&out, Some(&tmp.path().join("m.parquet"))).unwrap();
    assert_eq!(m.rows, 8);

    // --shard past the last one, and merge of an incomplete directory: exit 2.
    let r = run(&["sweep", s, "--out", o, "--shard", "5"]);
    assert_eq!(r.status.code(), Some(2));
    std::fs::remove_file(out.join("shard-00001.parquet")).unwrap();
    let r = run(&["sweep", "merge", o]);
    assert_eq!(r.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("missing: 1"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let r = run(&["sweep", s, "--out", o, "--shard", "1"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(run(&["sweep", "merge", o]).status.success());
}

#[test]
fn a_bad_spec_exits_2_with_file_line_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp.path().join("bad.toml");
    std::fs::write(&spec, EXAMPLE.replace("shards = 2", "shards = \"two\"")).unwrap();
    let r = exe()
        .current_dir(repo())
        .args(["sweep", spec.to_str().unwrap(), "--out", "unused"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2));
    let e = String::from_utf8_lossy(&r.stderr);
    assert!(e.contains("bad.toml:2:10: `shards`: invalid type"), "{e}");
    assert!(e.contains("an integer"), "{e}");
}

#[test]
fn the_slurm_engine_writes_an_array_job_and_a_merge_job() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp.path().join("sweep.toml");
    std::fs::write(&spec, EXAMPLE.replace("shards = 2", "shards = 4")).unwrap();
    let out = tmp.path().join("out");
    let r = exe()
        .current_dir(repo())
        .args([
            "sweep",
            spec.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(["--engine", "slurm"])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let msg = String::from_utf8_lossy(&r.stdout);
    assert!(msg.contains("sbatch --dependency=afterok:$jobid"), "{msg}");
    let sweep = std::fs::read_to_string(out.join("sweep.sbatch")).unwrap();
    assert!(sweep.contains("#SBATCH --array=0-3\n"), "{sweep}");
    assert!(
        sweep.contains("--shard \"$SLURM_ARRAY_TASK_ID\""),
        "{sweep}"
    );
    let merge = std::fs::read_to_string(out.join("merge.sbatch")).unwrap();
    assert!(merge.contains(" sweep merge "), "{merge}");
    assert!(out.join("manifest.json").is_file() && out.join("spec.toml").is_file());
    // Nothing ran: no shard files.
    assert!(!out.join("shard-00000.parquet").exists());
}

#[test]
fn the_dask_engine_needs_a_scheduler() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp.path().join("sweep.toml");
    std::fs::write(&spec, EXAMPLE).unwrap();
    let r = exe()
        .current_dir(repo())
        .args(["sweep", spec.to_str().unwrap(), "--out", "unused"])
        .args(["--engine", "dask"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("--scheduler ADDR"));
}
