//! `exoskin credibility`: the factors and their criteria come before the results, every
//! factor is judged, the validation is recomputed (and agrees with the committed
//! calibration report), the response integrator stays within its stated bound, and the
//! delivered fraction is compared with its comparator.

#[allow(dead_code)] // json_of is not needed here
mod common;

use common::exe;
use serde_json::Value;

#[test]
fn the_report_states_its_criteria_first_and_recomputes_what_it_judges() {
    let dir = std::env::temp_dir().join(format!("exoskin-credibility-{}", std::process::id()));
    let out = exe()
        .args([
            "credibility",
            "--members",
            "20",
            "--trajectories",
            "2",
            "--out",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();

    // Every factor has its criterion, and the assessment judges each, in the same order.
    let factors = r["credibility_factors"].as_array().unwrap();
    let assessment = r["assessment"].as_array().unwrap();
    assert!(factors.len() >= 8);
    assert_eq!(factors.len(), assessment.len());
    for (f, a) in factors.iter().zip(assessment) {
        assert_eq!(f["id"], a["id"]);
        assert!(!f["criterion"].as_str().unwrap().is_empty());
        assert!(a["met"].is_boolean() || a["id"] == "statistics", "{a}");
    }
    // The criteria are stated before any result, and the tables keep their columns.
    let criteria_at = md.find("## Credibility factors").unwrap();
    assert!(criteria_at < md.find("## Code verification").unwrap());
    assert!(md.find("## Validation").unwrap() < md.find("## Assessment").unwrap());
    let assessed = md
        .lines()
        .skip_while(|l| !l.starts_with("## Assessment"))
        .filter(|l| l.starts_with("| "))
        .take_while(|l| !l.contains("| conclusion |"));
    for line in assessed {
        assert_eq!(
            line.matches('|').count(),
            5,
            "a cell breaks its table: {line}"
        );
    }

    // Validation is recomputed from the shipped fit and sample, and the committed calibration
    // report says the same datum by datum.
    let committed: Value =
        serde_json::from_str(include_str!("../../../docs/calibration/report.json")).unwrap();
    let verdicts = |rows: &Value| -> Vec<(String, bool)> {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["id"].as_str().unwrap().to_string(),
                    x["reproduced"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let rows = &r["validation"]["rows"];
    assert_eq!(verdicts(rows), verdicts(&committed["validation"]));
    let reproduced = verdicts(rows).iter().filter(|x| x.1).count();
    assert_eq!(r["validation"]["reproduced"], reproduced);
    let held_out = assessment.iter().find(|a| a["id"] == "held_out").unwrap();
    let share = reproduced as f64 / verdicts(rows).len() as f64;
    assert_eq!(held_out["met"], share >= 0.75);
    assert_eq!(
        verdicts(&r["validation"]["vesicle_minus_control"]),
        verdicts(&committed["differences"])
    );

    // The response integrator within its stated bound on every bundled in-vivo scenario.
    let integrator = r["response_integrator"]["scenarios"].as_array().unwrap();
    assert!(integrator.len() >= 4);
    for s in integrator {
        let share = s["deviation_share_of_peak"].as_f64().unwrap();
        assert!((0.0..=0.05).contains(&share), "{s}");
    }

    // The delivered fraction after fractional CO2 against its comparator.
    let d = &r["delivery"];
    assert_eq!(d["comparator"]["range"], serde_json::json!([0.04, 0.4]));
    let m = d["model"].as_f64().unwrap();
    let [lo, hi] = [0, 1].map(|i| d["accepted_range"][i].as_f64().unwrap());
    let met = assessment.iter().find(|a| a["id"] == "delivery").unwrap();
    assert_eq!(met["met"], m >= lo && m <= hi);
    assert!(d["p05"].as_f64().unwrap() <= m && m <= d["p95"].as_f64().unwrap());

    // What the vesicles add, over every uncertain quantity, is in the report.
    let e = &r["uncertainty"]["effect_at_end"]["collagen_pct"];
    assert!(e["p05"].as_f64().unwrap() <= e["p95"].as_f64().unwrap());
    assert!(md.contains("## What the context of use may and may not conclude"));
    let _ = std::fs::remove_dir_all(&dir);
}
