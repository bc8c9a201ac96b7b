//! `effect`: what the vesicles add, as the front ends ask for it: bounded by its cost before
//! it starts and by the caller's stop while it runs, and the same answer for the same input.

use exoskin_api::simulate::{self, effect_cost_seconds, run_with_effect};
use exoskin_api::ApiError;
use exoskin_model::{Stop, TransportParams};
use exoskin_response::ResponseParams;
use exoskin_transport::Budget;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

fn bundled() -> exoskin_model::Scenario {
    simulate::parse(simulate::DEFAULT_SCENARIO, "bundled").unwrap()
}

fn run(budget: &Budget, stop: &Stop) -> Result<simulate::Run, ApiError> {
    run_with_effect(
        bundled(),
        "bundled",
        TransportParams::defaults(),
        ResponseParams::defaults(),
        budget,
        stop,
    )
}

#[test]
fn the_effect_is_in_the_cost_and_refused_past_the_budget_before_it_starts() {
    let s = bundled();
    let transport = simulate::check_cost(
        &s,
        "bundled",
        TransportParams::defaults(),
        ResponseParams::defaults(),
        &Budget::DEFAULT,
    )
    .unwrap()
    .unwrap()
    .seconds;
    let effect = effect_cost_seconds(&s);
    assert!(effect > 0.0);
    // A budget that holds the transport but not the effect on top of it.
    let tight = Budget {
        seconds: transport + 0.5 * effect,
        ..Budget::DEFAULT
    };
    let started = std::time::Instant::now();
    let e = run(&tight, &Stop::never()).err().expect("refused");
    assert!(matches!(e, ApiError::BadInput { .. }), "{e}");
    assert!(
        started.elapsed().as_secs_f64() < 0.5,
        "refused before running"
    );
    let ok = run(&Budget::DEFAULT, &Stop::never()).unwrap();
    let doc = ok.json();
    let e = &doc["effect"];
    assert!(e["control"].as_str().unwrap().contains("vehicle"));
    let times = doc["outcomes"]["times_d"].as_array().unwrap().len();
    for k in ["p05", "p50", "p95"] {
        assert_eq!(
            e["outcomes"]["collagen_pct"][k].as_array().unwrap().len(),
            times
        );
    }
    let p = e["probability_better"]["collagen_pct"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p));
    // Common random numbers and a fixed seed: the same input gives the same effect.
    assert_eq!(
        run(&Budget::DEFAULT, &Stop::never()).unwrap().json()["effect"],
        *e
    );
}

#[test]
fn a_stopped_caller_stops_the_effect() {
    let flag = Arc::new(AtomicBool::new(true));
    let stopped = Stop::never().with_flag(flag);
    let e = run(&Budget::DEFAULT, &stopped).err().expect("stopped");
    assert!(matches!(e, ApiError::Stopped(_)), "{e}");
    // The effect itself checks the stop, after a transport run that finished.
    let exoskin_model::Scenario::InVivo(v) = bundled() else {
        unreachable!()
    };
    let rp = ResponseParams::defaults();
    let sim = exoskin_response::try_simulate_in_vivo(&v, TransportParams::defaults(), rp).unwrap();
    assert!(exoskin_inference::effect::shipped_effect(&v, &sim, rp, &stopped).is_err());
    assert!(
        exoskin_inference::effect::shipped_effect(&v, &sim, rp, &Stop::never())
            .unwrap()
            .is_some()
    );
}

/// With `--uncertainty N` the effect covers every uncertain quantity: each member's two arms
/// on its own transport run and parameters. A member's difference with the posterior row
/// and the transport of the nominal run is the posterior-only effect's kind of draw, so the
/// ensemble's interval must hold the posterior-only median; and a vehicle has no effect.
#[test]
fn an_ensemble_gives_the_effect_over_every_uncertain_quantity() {
    use exoskin_api::uncertainty::{ensemble, Space, EFFECT_COVERS};
    use exoskin_model::Stop;
    let s = bundled();
    let space = Space::shipped(&s).unwrap();
    let e = ensemble(&s, "bundled", &space, 24, 7, &Stop::never()).unwrap();
    let effect = &e.doc["effect"];
    assert_eq!(effect["covers"].as_str().unwrap(), EFFECT_COVERS);
    assert_eq!(
        effect["draws"].as_u64().unwrap() as usize,
        e.members - e.failed
    );
    let times = e.doc["outcomes"]["times_d"].as_array().unwrap().len();
    let band = |k: &str| -> Vec<f64> {
        effect["outcomes"]["collagen_pct"][k]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let (lo, mid, hi) = (band("p05"), band("p50"), band("p95"));
    assert_eq!(lo.len(), times);
    for t in 0..times {
        assert!(lo[t] <= mid[t] && mid[t] <= hi[t], "ordered at {t}");
    }
    // Transport and the unfitted priors vary too: the interval has width.
    assert!(hi[times - 1] > lo[times - 1]);
    assert!(e.summary().starts_with(&e.nominal.summary()[..40]));
    assert!(e
        .summary()
        .contains("ensemble members (every uncertain quantity)"));
    // The same seed gives the same effect.
    let again = ensemble(&s, "bundled", &space, 24, 7, &Stop::never()).unwrap();
    assert_eq!(again.doc["effect"], *effect);
    // A vehicle carries no vesicles: no effect.
    let exoskin_model::Scenario::InVivo(mut v) = s else {
        unreachable!()
    };
    v.product.source = "vehicle".into();
    let vs = exoskin_model::Scenario::InVivo(v);
    let space = Space::shipped(&vs).unwrap();
    let e = ensemble(&vs, "vehicle", &space, 20, 7, &Stop::never()).unwrap();
    assert!(e.doc.get("effect").is_none());
}
