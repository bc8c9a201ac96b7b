//! `exoskin trial` and `exoskin power` as a user runs them: JSON fields, the CSV, plots,
//! determinism across threads, and bad input (exit code 2).

mod common;

use common::{exe, json_of};
use std::path::PathBuf;

/// The fast test trial of exoskin-trials (28-day microneedling split-face, coarse numerics).
fn test_trial() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../exoskin-trials/tests/data/mn_trial.toml")
        .display()
        .to_string()
}

#[test]
fn trial_json_has_the_endpoint_fields_and_does_not_depend_on_threads() {
    let t = test_trial();
    let a = json_of(&["trial", &t, "--json", "--threads", "1"]);
    let b = json_of(&["trial", &t, "--json", "--threads", "2"]);
    let eps = a["endpoints"].as_array().unwrap();
    // 3 endpoints x 2 visits after baseline.
    assert_eq!(eps.len(), 6);
    for e in eps {
        for k in [
            "name",
            "visit_day",
            "mean_difference",
            "ci95_low",
            "ci95_high",
            "p_value",
            "test",
            "effect_size",
        ] {
            assert!(!e[k].is_null(), "{k} missing in {e}");
        }
        assert_eq!(e["test"], "paired_t");
        assert!(e["ci95_low"].as_f64() <= e["mean_difference"].as_f64());
    }
    assert_eq!(a["endpoints"], b["endpoints"]);
    let c = json_of(&["trial", &t, "--json", "--seed", "2"]);
    assert_ne!(a["endpoints"], c["endpoints"]);
}

#[test]
fn trial_out_writes_participants_csv_and_plots() {
    let dir = std::env::temp_dir().join(format!("exoskin-cli-trial-{}", std::process::id()));
    let out = exe()
        .args([
            "trial",
            &test_trial(),
            "--out",
            dir.to_str().unwrap(),
            "--participants",
            "10",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(dir.join("participants.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("participant,arm,visit_day,endpoint,value")
    );
    let rows: Vec<&str> = lines.collect();
    // At most 10 participants x 2 sides x 3 visits x 3 endpoints (dropouts lose visits).
    assert!(rows.len() <= 180 && rows.len() >= 120, "{}", rows.len());
    assert!(rows.iter().all(|r| r.split(',').count() == 5));
    for e in ["pore_area", "elasticity", "hydration"] {
        let png = std::fs::read(dir.join(format!("{e}.png"))).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }
    assert!(dir.join("results.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn power_analytic_and_by_simulation() {
    let v = json_of(&["power", "--effect-size", "0.5", "--json"]);
    assert!((v["n"].as_f64().unwrap() - 33.367).abs() < 0.01, "{v}");
    let v = json_of(&[
        "power",
        "--difference",
        "1",
        "--sd",
        "2",
        "--test",
        "two-sample",
        "--json",
    ]);
    assert!((v["n"].as_f64().unwrap() - 63.766).abs() < 0.01, "{v}");
    let v = json_of(&[
        "power",
        &test_trial(),
        "--replicates",
        "100",
        "--max-participants",
        "64",
        "--json",
    ]);
    let curve = v["curve"].as_array().unwrap();
    assert!(curve.len() >= 3);
    let first = curve.first().unwrap()["power"]["rate"].as_f64().unwrap();
    let last = curve.last().unwrap()["power"]["rate"].as_f64().unwrap();
    assert!(last > first, "{v}");
    // The effect powered for has its sign in words: better or worse for the treated side.
    let delta = v["difference_estimate"].as_f64().unwrap();
    assert!(v["difference_unit"].is_string(), "{v}");
    assert_eq!(v["treated_better"].as_bool().is_some(), delta != 0.0, "{v}");
    let png = std::env::temp_dir().join(format!("exoskin-power-{}.png", std::process::id()));
    let out = exe()
        .args([
            "power",
            &test_trial(),
            "--replicates",
            "100",
            "--max-participants",
            "16",
            "--assurance-draws",
            "0",
            "--plot",
        ])
        .arg(&png)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // The power curve is drawn.
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 5000);
    let _ = std::fs::remove_file(&png);
    let line = text
        .lines()
        .find(|l| l.starts_with("the effect powered for:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("is the better side") || line.contains("is WORSE than"),
        "{line}"
    );
}

#[test]
fn bad_input_exits_2_with_file_line_column() {
    let bad =
        std::env::temp_dir().join(format!("exoskin-cli-bad-trial-{}.toml", std::process::id()));
    let text = std::fs::read_to_string(test_trial())
        .unwrap()
        .replace("participants = 30", "participants = 1");
    std::fs::write(&bad, text).unwrap();
    // The arms' scenarios are relative to the trial file: copy them beside it.
    let data = PathBuf::from(test_trial()).parent().unwrap().to_path_buf();
    for f in ["mn_short.toml", "mn_short_vehicle.toml"] {
        std::fs::copy(data.join(f), std::env::temp_dir().join(f)).unwrap();
    }
    let out = exe()
        .args(["trial", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(":4:16: `trial.participants`") && err.contains("allowed range 2 to"),
        "{err}"
    );
    let out = exe()
        .args(["power", "--effect-size", "0.5", "--sd", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = exe()
        .args(["trial", "/nonexistent/trial.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_file(&bad);
}

#[test]
fn sharded_power_prints_the_in_process_document() {
    let t = test_trial();
    let args = [
        "power",
        &t,
        "--replicates",
        "100",
        "--max-participants",
        "32",
        "--assurance-draws",
        "2",
        "--json",
    ];
    let mut want = json_of(&args);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("p");
    let d = d.to_str().unwrap();
    let mut sharded = args.to_vec();
    sharded.extend(["--shards", "2", "--out", d]);
    let mut got = json_of(&sharded);
    for doc in [&mut want, &mut got] {
        doc["elapsed_s"] = serde_json::Value::Null;
    }
    assert_eq!(got, want);
    // Finished: --from reports it again without running anything.
    let mut again = json_of(&["power", "--from", d, "--json"]);
    again["elapsed_s"] = serde_json::Value::Null;
    assert_eq!(again, want);
}

fn bundled(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../trials")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn equivalence_and_crossover_trials_report_their_analyses() {
    let v = json_of(&["trial", &bundled("ev_serum_equivalence.toml"), "--json"]);
    assert_eq!(v["analysis"], "equivalence");
    assert_eq!(v["multiplicity"], "holm");
    for e in v["endpoints"].as_array().unwrap() {
        let tost = e["tost_p_value"].as_f64().expect("tost_p_value");
        let adj = e["adjusted_p_value"].as_f64().expect("adjusted_p_value");
        assert!(adj >= tost && adj <= 1.0, "{e}");
        assert!(e["ni_p_value"].is_null());
        let ci = e["ci_1_minus_2alpha"].as_array().unwrap();
        // The 90 % CI lies inside the 95 % CI.
        assert!(
            ci[0].as_f64() >= e["ci95_low"].as_f64() && ci[1].as_f64() <= e["ci95_high"].as_f64()
        );
        assert!(
            !e["ancova"]["estimate"].is_null(),
            "parallel designs report ANCOVA"
        );
        assert_eq!(e["significant"].as_bool(), Some(adj < 0.05));
    }
    // CONSORT flow: allocated = dropped out + analysed, per arm.
    let groups = v["flow"]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    for g in groups {
        assert_eq!(
            g["allocated"].as_u64().unwrap(),
            g["dropped_out"].as_u64().unwrap() + g["analysed"].as_u64().unwrap()
        );
    }
    assert_eq!(v["flow"]["enrolled"], v["participants"]);
    // One table per endpoint; three visits after baseline give the mixed model.
    assert_eq!(v["tables"].as_array().unwrap().len(), 3);
    assert_eq!(v["repeated_measures"].as_array().unwrap().len(), 3);

    let v = json_of(&["trial", &bundled("serum_vehicle_crossover.toml"), "--json"]);
    assert_eq!(v["design"], "crossover");
    assert_eq!(v["washout_days"], 14.0);
    for e in v["endpoints"].as_array().unwrap() {
        assert_eq!(e["test"], "crossover_t");
        assert!(
            e["crossover"]["carryover"]["p_value"].as_f64().is_some(),
            "{e}"
        );
        assert!(
            e["crossover"]["period"]["p_value"].as_f64().is_some(),
            "{e}"
        );
        assert!(e["tost_p_value"].is_null());
    }
    // Fixed sequence: an endpoint is significant only when the ones before it are.
    let eps = v["endpoints"].as_array().unwrap();
    for day in [14.0, 28.0] {
        let fam: Vec<&serde_json::Value> = eps.iter().filter(|e| e["visit_day"] == day).collect();
        assert!(fam[1]["adjusted_p_value"].as_f64() >= fam[0]["adjusted_p_value"].as_f64());
    }
    let text = exe()
        .args(["trial", &bundled("serum_vehicle_crossover.toml")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("participant flow") && text.contains("carryover p"),
        "{text}"
    );
}

#[test]
fn a_missing_margin_exits_2_naming_the_field() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../trials");
    let text = std::fs::read_to_string(dir.join("ev_serum_equivalence.toml"))
        .unwrap()
        .replacen("margin = 3.0\n", "", 1);
    // Beside copies of its arms' scenarios, in a folder of its own.
    let tmp = std::env::temp_dir().join(format!("exoskin-cli-margin-{}", std::process::id()));
    std::fs::create_dir_all(tmp.join("scenarios")).unwrap();
    for f in [
        "ev_serum_adipose_12_weeks.toml",
        "ev_serum_umbilical_12_weeks.toml",
    ] {
        std::fs::copy(dir.join("scenarios").join(f), tmp.join("scenarios").join(f)).unwrap();
    }
    let bad = tmp.join("bad.toml");
    std::fs::write(&bad, text).unwrap();
    let out = exe()
        .args(["trial", bad.to_str().unwrap()])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&tmp);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`endpoints[0].margin`") && err.contains("needs a margin"),
        "{err}"
    );
}

#[test]
fn analytic_power_for_equivalence_non_inferiority_and_unequal_groups() {
    // The same numbers as the library (checked against statsmodels and a scipy quadrature by
    // scripts/check_stats_reference.py), through the CLI's flags.
    use exoskin_trials::equivalence as eq;
    let v = json_of(&[
        "power",
        "--analysis",
        "equivalence",
        "--difference",
        "0",
        "--sd",
        "2",
        "--margin",
        "1",
        "--json",
    ]);
    let want = eq::tost_paired_n(0.0, 1.0, -0.5, 0.5, 0.05, 0.8).unwrap();
    assert!((v["n"].as_f64().unwrap() - want).abs() < 1e-9, "{v}");
    assert_eq!(v["analysis"], "equivalence");
    let v = json_of(&[
        "power",
        "--analysis",
        "equivalence",
        "--effect-size",
        "0.1",
        "--test",
        "two-sample",
        "--margin-low",
        "-0.4",
        "--margin-high",
        "0.6",
        "--ratio",
        "2",
        "--json",
    ]);
    let want = eq::tost_two_sample_n(0.1, 1.0, -0.4, 0.6, 2.0, 0.05, 0.8).unwrap();
    assert!((v["n"].as_f64().unwrap() - want).abs() < 1e-9, "{v}");
    assert!((v["n2"].as_f64().unwrap() - 2.0 * want).abs() < 1e-9, "{v}");
    let v = json_of(&[
        "power",
        "--analysis",
        "non_inferiority",
        "--effect-size",
        "0",
        "--margin",
        "0.5",
        "--json",
    ]);
    let want = eq::ni_n(0.0, 1.0, 0.5, true, true, 1.0, 0.05, 0.8).unwrap();
    assert!((v["n"].as_f64().unwrap() - want).abs() < 1e-9, "{v}");
    // Bad margins exit 2 naming the flag.
    let out = exe()
        .args([
            "power",
            "--analysis",
            "equivalence",
            "--effect-size",
            "0",
            "--margin-low",
            "1",
            "--margin-high",
            "-1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--margin-low"));
    let out = exe()
        .args(["power", "--analysis", "equivalence", "--effect-size", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
