//! `exoskin sensitivity` and `exoskin simulate --uncertainty` from the command line: the
//! JSON keys the issue names, and bad input exits 2 with the reason.

mod common;

use common::{exe, json_of};

const MN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scenarios/in_vivo_microneedling.toml"
);

#[test]
fn sensitivity_json_has_the_named_keys_and_ranks_the_inert_parameter_last() {
    let doc = json_of(&[
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
        "--threads",
        "2",
    ]);
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
    assert!(String::from_utf8_lossy(&out.stderr).contains("use sobol or morris"));
}
