//! Physiological invariants of the response model, as property tests over random scenarios
//! and checks of the bundled procedures: rest is the floor (every outcome back to rest after
//! any procedure, tightly), wounds inflame then resolve on their own clocks (needling redness
//! greatest at once and mostly gone by day 3; full-field ablation red for weeks), a
//! stratum-corneum peel does not remodel the dermis, vesicles on unwounded skin cause no
//! inflammation, closure grows with lesion size, depth, coverage and age, controls are inert,
//! and untreated skin stays exactly at baseline.

use exoskin_model::scenario::{InVivo, Procedure};
use exoskin_model::{parse_scenario, Scenario, TransportParams};
use exoskin_response::injury::{reepithelialization_half_life_h, Injury};
use exoskin_response::{try_simulate_in_vivo, Outcomes, ResponseParams};
use proptest::prelude::*;

fn scenario(procedure: &str, source: &str, age: f64, days: f64) -> InVivo {
    let text = format!(
        "[experiment]\nkind = \"in_vivo\"\nduration_h = {}\n\
         [product]\nsource = \"{source}\"\nparticles_per_ml = 1.0e10\ndose_ul_per_cm2 = 20.0\n\
         [product.size]\nmode_nm = 100.0\ngsd = 1.4\nclasses = 2\n\
         [skin]\nsite = \"cheek\"\nage_years = {age}\n\
         [procedure]\n{procedure}\n\
         [regimen]\napplications_per_day = 1\ndays = 3\n\
         [numerics]\ncells_per_layer = 12\nradial_cells = 10\ndt_max_h = 1.0\n",
        days * 24.0
    );
    match parse_scenario(&text, "test").unwrap() {
        Scenario::InVivo(v) => v,
        _ => unreachable!(),
    }
}

fn run(v: &InVivo) -> Outcomes {
    try_simulate_in_vivo(v, TransportParams::defaults(), ResponseParams::defaults())
        .expect("the transport run")
        .outcomes
}

fn procedure(kind: u8, size: f64, depth: f64, cover: f64) -> String {
    match kind {
        0 => format!(
            "kind = \"microneedling\"\nneedle_length_um = {}\nchannel_width_um = {}",
            depth * 5.0,
            40.0 + 60.0 * size
        ),
        1 => format!(
            "kind = \"fractional_co2\"\nspot_um = {}\ndepth_um = {depth}\ncoverage_pct = {}",
            80.0 + 200.0 * size,
            2.0 + 40.0 * cover
        ),
        _ => format!(
            "kind = \"chemical_peel\"\nsc_removed_fraction = {}",
            0.2 + 0.6 * size
        ),
    }
}

const BOUND_PCT: f64 = 100.0;

fn max_of(s: &[f64]) -> f64 {
    s.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
}
fn min_of(s: &[f64]) -> f64 {
    s.iter().cloned().fold(f64::INFINITY, f64::min)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    /// After a wound: cytokines and erythema rise first, then return towards rest; nothing
    /// crosses a physical floor (-100 %) and nothing is non-finite.
    #[test]
    fn wounds_inflame_then_resolve(kind in 0u8..3, size in 0.0f64..1.0, depth in 100.0f64..400.0,
                                   cover in 0.0f64..1.0, age in 20.0f64..75.0, ev in proptest::bool::ANY) {
        let src = if ev { "human_msc_adipose" } else { "vehicle" };
        let v = scenario(&procedure(kind, size, depth, cover), src, age, 90.0);
        let o = run(&v);
        let s = &o.series;
        for (name, x) in s.named() {
            prop_assert!(x.iter().all(|y| y.is_finite()), "{name} has a non-finite value");
            prop_assert!(min_of(x) > -BOUND_PCT, "{name} below its physical floor");
        }
        // Erythema is up right after the procedure (the vascular part) ...
        let early = exoskin_response::tissue::at_day(&s.times_d, &s.erythema_pct, 0.1);
        prop_assert!(early > 1.0, "no redness right after the procedure: {early}");
        let peak_c = max_of(&s.cytokines_pct);
        prop_assert!(peak_c > 1.0, "no inflammation after the wound: {peak_c}");
        // ... and both have resolved to within a tenth of their peaks by day 90.
        let last_c = *s.cytokines_pct.last().unwrap();
        let last_e = *s.erythema_pct.last().unwrap();
        prop_assert!(last_c.abs() < 0.1 * peak_c, "cytokines did not resolve: {last_c} of {peak_c}");
        prop_assert!(last_e.abs() < 0.1 * max_of(&s.erythema_pct), "erythema did not resolve");
        // TEWL is up after the session and recovers.
        prop_assert!(max_of(&s.tewl_pct) > 0.5);
        prop_assert!(*s.tewl_pct.last().unwrap() < 0.2 * max_of(&s.tewl_pct));
    }

    /// On unwounded skin the vesicles, whatever the sign of their effects, cause no
    /// inflammation, redness or barrier loss: those need an injury.
    #[test]
    fn vesicles_on_unwounded_skin_cause_no_inflammation(age in 20.0f64..75.0) {
        let v = scenario("kind = \"none\"", "human_msc_adipose", age, 30.0);
        let o = run(&v);
        let s = &o.series;
        for name in ["cytokines_pct", "erythema_pct", "tewl_pct"] {
            prop_assert!(s.get(name).unwrap().iter().all(|&y| y == 0.0), "{name} moved");
        }
    }

    /// Re-epithelialization takes longer for wider, deeper, denser lesions and older people.
    #[test]
    fn closure_grows_with_lesion_size_coverage_and_age(r in 20.0f64..400.0, depth in 50.0f64..1000.0,
                                                      c in 0.01f64..0.9, age in 20.0f64..70.0) {
        let v = &ResponseParams::defaults().v;
        let inj = |r: f64, depth: f64, c: f64| Injury::of(&Procedure::FractionalCo2 {
            spot_um: 2.0 * r, depth_um: depth, coverage_pct: 100.0 * c }).unwrap();
        let t = reepithelialization_half_life_h(&inj(r, depth, c), age, v);
        prop_assert!(reepithelialization_half_life_h(&inj(r * 1.5, depth, c), age, v) > t);
        prop_assert!(reepithelialization_half_life_h(&inj(r, depth * 1.5, c), age, v) > t);
        prop_assert!(reepithelialization_half_life_h(&inj(r, depth, (c + 0.1).min(1.0)), age, v) > t);
        prop_assert!(reepithelialization_half_life_h(&inj(r, depth, c), age + 10.0, v) > t);
    }
}

#[test]
fn untreated_skin_stays_exactly_at_baseline_and_controls_are_inert() {
    for src in ["vehicle", "liposome"] {
        let o = run(&scenario("kind = \"none\"", src, 45.0, 60.0));
        for (name, x) in o.series.named() {
            assert!(x.iter().all(|&y| y == 0.0), "{src}: {name} moved");
        }
    }
    // A control on a wound behaves exactly as the wound alone (the procedure, no product).
    let w = "kind = \"fractional_co2\"";
    let a = run(&scenario(w, "vehicle", 45.0, 30.0));
    let b = run(&scenario(w, "liposome", 45.0, 30.0));
    assert_eq!(a.series, b.series);
}

#[test]
fn full_field_ablation_is_accepted_and_heals_in_days_not_hours() {
    let full = run(&scenario(
        "kind = \"fractional_co2\"\ncoverage_pct = 100.0\ndepth_um = 100.0",
        "vehicle",
        45.0,
        20.0,
    ));
    let frac = run(&scenario(
        "kind = \"fractional_co2\"",
        "vehicle",
        45.0,
        20.0,
    ));
    let (f, p) = (full.wound_closure_h.unwrap(), frac.wound_closure_h.unwrap());
    assert!(f > 3.0 * p, "full-field {f} h vs fractional {p} h");
    assert!(
        (96.0..=360.0).contains(&f),
        "full-field closure {f} h, clinical 7-10 days"
    );
}

#[test]
fn occlusion_keeps_microneedle_channels_open_longer() {
    let open = run(&scenario("kind = \"microneedling\"", "vehicle", 40.0, 5.0));
    let occl = run(&scenario(
        "kind = \"microneedling\"\noccluded = true",
        "vehicle",
        40.0,
        5.0,
    ));
    let (a, b) = (
        open.channel_closure_h.unwrap(),
        occl.channel_closure_h.unwrap(),
    );
    assert!(b > 2.0 * a, "occluded {b} h vs open {a} h");
    // First-order closure: 95 % closed after log2(20) half-lives; the occluded half-life is
    // the measured 20-26 h (PMC8259462).
    let half = b / 20f64.log2();
    assert!((20.0..=26.0).contains(&half), "occluded half-life {half} h");
}

#[test]
fn one_dose_response_in_culture_and_tissue() {
    // Culture: after the uptake has risen (10 uptake times) the cytokine change against the
    // stimulated control is the steady state of the shared equations,
    // (1 + S max(0, 1 - m E)) / (1 + S) - 1 with E = effect(f_up dose per cell, half).
    // A calming effect of 0.4 (the shipped value may be any sign, or near zero).
    let mut rp = ResponseParams::defaults().clone();
    rp.set("ev_inflammation_effect", 0.4).unwrap();
    let rp = &rp;
    let v = &rp.v;
    let dose = 2.0e3;
    let text = format!(
        "[experiment]\nkind = \"cell_culture\"\nduration_h = {}\n[culture]\ncell_type = \"keratinocyte\"\nstimulus = \"lps\"\nsource = \"human_msc_adipose\"\nvesicles_per_cell = {dose}\n",
        20.0 * v.culture_uptake_time_h + 48.0
    );
    let Scenario::CellCulture(c) = parse_scenario(&text, "culture").unwrap() else {
        unreachable!()
    };
    let o = exoskin_response::culture::simulate_culture(&c, rp);
    let e = exoskin_response::signal::effect(
        v.culture_uptake_fraction * dose,
        v.half_effect_vesicles_per_cell,
    );
    let s = v.stimulus_lps;
    let expected =
        100.0 * ((1.0 + s * (1.0 - v.ev_inflammation_effect * e).max(0.0)) / (1.0 + s) - 1.0);
    let got = *o.series.cytokines_pct.last().unwrap();
    assert!(
        (got - expected).abs() < 1e-3 * expected.abs(),
        "{got} vs {expected}"
    );
    // Tissue: the same per-cell count gives the same effect (one function, one half-effect),
    // and the count is active vesicles over cells per cm2 times the one explicit factor.
    let per_cell = v.culture_uptake_fraction * dose;
    let active_per_cm2 = per_cell * v.keratinocytes_per_cm2 / v.tissue_delivery_factor;
    let tissue = exoskin_response::signal::effect(
        active_per_cm2 * v.tissue_delivery_factor / v.keratinocytes_per_cm2,
        v.half_effect_vesicles_per_cell,
    );
    assert!((tissue - e).abs() < 1e-12);
}

/// The largest |value| of every outcome from `day` on.
fn largest_from(o: &Outcomes, day: f64, names: &[&str]) -> Vec<(String, f64)> {
    let k = o.series.times_d.partition_point(|&t| t < day - 1e-9);
    names
        .iter()
        .map(|n| {
            let x = o.series.get(n).unwrap();
            (
                n.to_string(),
                x[k..].iter().fold(0.0f64, |a, v| a.max(v.abs())),
            )
        })
        .collect()
}

/// The acute outcomes (those without a clock of weeks to months: remodelling, and
/// post-inflammatory pigment, which clears in about 5 weeks, Manuskiatti et al. 2010).
const ACUTE: [&str; 4] = ["tewl_pct", "erythema_pct", "cytokines_pct", "hydration_pct"];

/// Rest is the floor: after one session of each bundled procedure, with or without vesicles,
/// the acute outcomes are within 0.5 % of rest by the first horizon and within 0.01 % by the
/// second (microneedling and peels: days 21 and 84; fractional CO2, whose redness lasts weeks
/// to months: days 90 and 180), and every outcome, remodelling and pigment included, within
/// 0.5 % two years on.
#[test]
fn rest_is_the_floor_after_every_procedure() {
    let cases = [
        ("kind = \"microneedling\"", 21.0, 84.0),
        (
            "kind = \"chemical_peel\"\nsc_removed_fraction = 0.5",
            21.0,
            84.0,
        ),
        ("kind = \"fractional_co2\"", 90.0, 180.0),
    ];
    for (proc_, first, second) in cases {
        for src in ["vehicle", "human_msc_adipose"] {
            let o = run(&scenario(proc_, src, 45.0, second));
            for (n, m) in largest_from(&o, first, &ACUTE) {
                assert!(
                    m < 0.5,
                    "{proc_} {src}: {n} still {m} % from rest at day {first}"
                );
            }
            for (n, m) in largest_from(&o, second, &ACUTE) {
                assert!(
                    m < 0.01,
                    "{proc_} {src}: {n} still {m} % from rest at day {second}"
                );
            }
        }
    }
    let o = run(&scenario(
        "kind = \"microneedling\"",
        "human_msc_adipose",
        45.0,
        730.0,
    ));
    let all: Vec<&str> = exoskin_response::tissue::OUTCOMES.to_vec();
    for (n, m) in largest_from(&o, 729.0, &all) {
        assert!(
            m < 0.5,
            "microneedling: {n} still {m} % from rest after two years"
        );
    }
}

/// Needling redness is greatest in the first day and mostly gone by day 3; after full-field
/// ablation it lasts weeks.
#[test]
fn redness_follows_each_procedures_own_clock() {
    let o = run(&scenario("kind = \"microneedling\"", "vehicle", 40.0, 10.0));
    let s = &o.series;
    let peak = max_of(&s.erythema_pct);
    let first_day = s
        .times_d
        .iter()
        .zip(&s.erythema_pct)
        .filter(|(t, _)| **t <= 1.0)
        .fold(0.0f64, |a, (_, e)| a.max(*e));
    assert!(
        first_day >= peak - 1e-12,
        "needling redness peaks after day 1: {first_day} vs {peak}"
    );
    let day3 = exoskin_response::tissue::at_day(&s.times_d, &s.erythema_pct, 3.0);
    assert!(
        day3 < 0.3 * peak,
        "needling redness at day 3 is {day3} of a peak {peak}"
    );
    let full = run(&scenario(
        "kind = \"fractional_co2\"\ncoverage_pct = 100.0\ndepth_um = 100.0",
        "vehicle",
        45.0,
        42.0,
    ));
    let f = &full.series;
    let day21 = exoskin_response::tissue::at_day(&f.times_d, &f.erythema_pct, 21.0);
    assert!(
        day21 > 5.0,
        "full-field ablation: redness at day 21 only {day21} %"
    );
}

/// A peel confined to the stratum corneum injures no dermis: it remodels far less than
/// needling (here: not at all), though it inflames and disrupts the barrier.
#[test]
fn a_stratum_corneum_peel_remodels_far_less_than_needling() {
    let peel = run(&scenario(
        "kind = \"chemical_peel\"\nsc_removed_fraction = 0.5",
        "vehicle",
        45.0,
        84.0,
    ));
    let needle = run(&scenario(
        "kind = \"microneedling\"\nneedle_length_um = 1500.0",
        "vehicle",
        45.0,
        84.0,
    ));
    let (p, n) = (
        *peel.series.collagen_pct.last().unwrap(),
        *needle.series.collagen_pct.last().unwrap(),
    );
    assert!(n > 1.0, "needling remodels: {n}");
    assert!(p.abs() < 0.1 * n, "peel collagen {p} % vs needling {n} %");
    assert!(
        max_of(&peel.series.tewl_pct) > 1.0,
        "the peel disrupts the barrier"
    );
}
