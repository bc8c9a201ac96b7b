//! `exoskin sensitivity` and `exoskin simulate --uncertainty` from the command line: the
//! JSON keys the issue names, and bad input exits 2 with the reason.

mod common;

use common::{exe, json_of};

const MN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scenarios/in_vivo_microneedling.toml"
);

/// A cheap Morris screening of two parameters (one of them inert for microneedling).
const MORRIS_TWO: [&str; 11] = [
    "sensitivity",
    MN,
    "--output",
    "erythema_pct@0.5",
    "--method",
    "morris",
    "--trajectories",
    "2",
    "--parameters",
    "response.inflammation_max_excess,transport.co2_depth_um",
    "--json",
];

#[test]
fn sensitivity_json_has_the_named_keys_and_ranks_the_inert_parameter_last() {
    let mut args = MORRIS_TWO.to_vec();
    args.extend(["--threads", "2"]);
    let doc = json_of(&args);
    let rows = doc["indices"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["parameter"], "response.inflammation_max_excess");
    assert!(rows[0]["mu_star"].as_f64().unwrap() > 0.0);
    assert_eq!(rows[1]["mu_star"].as_f64().unwrap(), 0.0);
    assert_eq!(doc["model_runs"], 6);
}

#[test]
fn bad_uncertainty_and_sensitivity_input_exits_2() {
    let out = exe()
        .args(["simulate", MN, "--uncertainty", "3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("20 to 65536"));
    let out = exe()
        .args(["sensitivity", MN, "--output", "colagen_pct"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("collagen_pct"));
    let out = exe()
        .args([
            "sensitivity",
            MN,
            "--output",
            "collagen_pct",
            "--method",
            "fast",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("use screened, sobol or morris"));
}

#[test]
fn sharded_sensitivity_prints_the_in_process_document_and_writes_a_slurm_analysis_step() {
    let args = MORRIS_TWO;
    let want = json_of(&args);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s");
    let out_s = out.to_str().unwrap();
    let mut sharded = args.to_vec();
    sharded.extend(["--shards", "2", "--out", out_s]);
    assert_eq!(json_of(&sharded), want);
    assert_eq!(json_of(&["sensitivity", "--from", out_s, "--json"]), want);
    // The shards are a sweep: `exoskin sweep` runs one by number from the spec.
    let status = exe()
        .args([
            "sweep",
            &format!("{out_s}/spec.toml"),
            "--out",
            out_s,
            "--shard",
            "1",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    // Slurm: the merge step ends with the analysis.
    let slurm = dir.path().join("slurm");
    let mut s = args.to_vec();
    let slurm_s = slurm.to_str().unwrap();
    s.extend(["--shards", "2", "--out", slurm_s, "--engine", "slurm"]);
    assert!(exe().args(&s).status().unwrap().success());
    let merge = std::fs::read_to_string(slurm.join("merge.sbatch")).unwrap();
    assert!(merge.contains(" sweep merge "), "{merge}");
    assert!(merge.contains(" sensitivity --from "), "{merge}");
}

#[test]
fn bad_sharded_analysis_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for (args, says) in [
        (
            vec![
                "sensitivity",
                MN,
                "--output",
                "erythema_pct@0.5",
                "--method",
                "sobol",
                "--shards",
                "0",
                "--out",
                d,
            ],
            "--shards must be at least 1",
        ),
        (vec!["sensitivity", "--from", d], "no spec.toml"),
        (
            vec![
                "sensitivity",
                MN,
                "--output",
                "erythema_pct@0.5",
                "--shards",
                "2",
                "--out",
                d,
            ],
            "--method screened runs its two stages in process",
        ),
        (vec!["power", "--from", d], "no power.toml"),
        (
            vec![
                "sensitivity",
                MN,
                "--output",
                "erythema_pct@0.5",
                "--engine",
                "slurm",
            ],
            "--engine goes with --shards",
        ),
    ] {
        let out = exe().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// `--plot` draws the most influential parameters' indices with their intervals; a file name
/// that is neither .png nor .svg is refused before any run.
#[test]
fn sensitivity_plot_draws_the_indices_and_needs_a_png_or_svg_name() {
    let png = std::env::temp_dir().join(format!("exoskin-sens-{}.png", std::process::id()));
    let out = exe()
        .args([
            "sensitivity",
            MN,
            "--output",
            "collagen_pct@2",
            "--method",
            "morris",
            "--trajectories",
            "2",
            "--plot",
        ])
        .arg(&png)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000);
    let _ = std::fs::remove_file(&png);
    let out = exe()
        .args([
            "sensitivity",
            MN,
            "--output",
            "collagen_pct@2",
            "--plot",
            "x.txt",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(".png or .svg"));
}
