//! Sensitivity on the model: the response-only shortcut gives the same outputs as full
//! runs, indices rank a parameter that cannot matter last, and bad outputs are refused.

use exoskin_api::sensitivity::{analyze, Method};
use exoskin_api::simulate::{parse, DEFAULT_SCENARIO};
use exoskin_api::uncertainty::Space;
use exoskin_model::Stop;

fn scenario() -> exoskin_model::Scenario {
    let text = DEFAULT_SCENARIO
        .replace("duration_h = 48.0", "duration_h = 12.0")
        .replace("days = 2", "days = 1");
    parse(&text, "microneedling_12h").unwrap()
}

#[test]
fn sobol_indices_rank_an_inert_parameter_last_and_sum_sensibly() {
    let s = scenario();
    // the CO2 laser's spot size cannot affect a microneedling run: its indices must be ~0
    let names: Vec<String> = [
        "response.inflammation_max_excess",
        "response.injury_half_saturation",
        "transport.co2_spot_diameter_um",
    ]
    .map(String::from)
    .to_vec();
    let space = Space::shipped(&s).unwrap().only(&names).unwrap();
    let doc = analyze(
        &s,
        "t",
        &space,
        "cytokines_pct@0.25",
        Method::Sobol {
            samples: 64,
            bootstrap: 200,
        },
        3,
        &Stop::never(),
    )
    .unwrap();
    let rows = doc["indices"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(doc["model_runs"], 64 * 5);
    // transport is shared between rows that differ only in response parameters
    assert!(doc["transport_runs"].as_u64().unwrap() < 64 * 5);
    let last = &rows[2];
    assert_eq!(last["parameter"], "transport.co2_spot_diameter_um");
    assert!(last["total_order"].as_f64().unwrap().abs() < 1e-9, "{last}");
    let total: f64 = rows
        .iter()
        .map(|r| r["total_order"].as_f64().unwrap())
        .sum();
    assert!(
        total > 0.9,
        "the two inflammation parameters explain the output: {total}"
    );
    for r in rows {
        let ci = r["total_order_ci95"].as_array().unwrap();
        assert!(ci[0].as_f64().unwrap() <= ci[1].as_f64().unwrap());
    }
}

#[test]
fn morris_screening_and_bad_outputs() {
    let s = scenario();
    let names: Vec<String> = ["response.inflammation_max_excess", "transport.co2_depth_um"]
        .map(String::from)
        .to_vec();
    let space = Space::shipped(&s).unwrap().only(&names).unwrap();
    let doc = analyze(
        &s,
        "t",
        &space,
        "erythema_pct@0.25",
        Method::Morris {
            trajectories: 6,
            levels: 4,
        },
        1,
        &Stop::never(),
    )
    .unwrap();
    let rows = doc["indices"].as_array().unwrap();
    assert_eq!(rows[0]["parameter"], "response.inflammation_max_excess");
    assert_eq!(rows[1]["mu_star"].as_f64().unwrap(), 0.0);
    let err = analyze(
        &s,
        "t",
        &space,
        "colagen_pct",
        Method::Morris {
            trajectories: 2,
            levels: 4,
        },
        1,
        &Stop::never(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("collagen_pct"), "{err}");
    let err = Space::shipped(&s)
        .unwrap()
        .only(&["nope".to_string()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("not an uncertain parameter"), "{err}");
}

/// The screened default: Morris over the space keeps the influential parameters (an inert
/// one is dropped), and its Sobol stage is exactly a Sobol analysis of the kept parameters.
#[test]
fn screening_keeps_the_influential_and_its_sobol_stage_is_a_sobol_analysis_of_them() {
    let s = scenario();
    let names: Vec<String> = [
        "response.inflammation_max_excess",
        "response.injury_half_saturation",
        "transport.co2_spot_diameter_um",
        "transport.co2_depth_um",
    ]
    .map(String::from)
    .to_vec();
    let space = Space::shipped(&s).unwrap().only(&names).unwrap();
    let output = "cytokines_pct@0.25";
    let doc = analyze(
        &s,
        "t",
        &space,
        output,
        Method::Screened {
            trajectories: 6,
            levels: 4,
            samples: 32,
            bootstrap: 100,
            keep: 3,
        },
        5,
        &Stop::never(),
    )
    .unwrap();
    assert_eq!(doc["method"], "screened");
    assert_eq!(doc["parameters"], 4);
    let kept: Vec<String> = doc["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    // The laser's parameters cannot move a microneedling run: screened out.
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(kept.iter().all(|k| k.starts_with("response.")), "{kept:?}");
    let screening = doc["screening"].as_array().unwrap();
    assert_eq!(screening.len(), 4);
    // 6 trajectories x 5 points, then 32 x (2 + 2) Sobol rows.
    assert_eq!(doc["model_runs"], 6 * 5 + 32 * 4);
    let direct = analyze(
        &s,
        "t",
        &Space::shipped(&s).unwrap().only(&kept).unwrap(),
        output,
        Method::Sobol {
            samples: 32,
            bootstrap: 100,
        },
        5,
        &Stop::never(),
    )
    .unwrap();
    assert_eq!(doc["indices"], direct["indices"]);
    let sum: f64 = direct["indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["first_order"].as_f64().unwrap())
        .sum();
    assert_eq!(doc["first_order_sum"].as_f64().unwrap(), sum);
    // Keeping none is refused with its field.
    let err = analyze(
        &s,
        "t",
        &space,
        output,
        Method::Screened {
            trajectories: 6,
            levels: 4,
            samples: 32,
            bootstrap: 100,
            keep: 0,
        },
        5,
        &Stop::never(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("keep"), "{err}");
}
