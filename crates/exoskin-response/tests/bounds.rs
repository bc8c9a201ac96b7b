//! Outcomes never go NaN or outside physical bounds, whatever the (valid) scenario.

use exoskin_model::{parse_scenario, Scenario, TransportParams};
use exoskin_response::{culture, simulate_in_vivo, ResponseParams};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, .. ProptestConfig::default() })]

    #[test]
    fn in_vivo_outcomes_stay_finite_and_physical(
        source in prop::sample::select(exoskin_model::scenario::SOURCES.to_vec()),
        particles in 0.0f64..1e13,
        proc in 0usize..4,
        age in 18.0f64..100.0,
        days in 1u32..20,
    ) {
        let procedure = ["", "[procedure]\nkind = \"microneedling\"", "[procedure]\nkind = \"fractional_co2\"\ncoverage_pct = 40.0\ndepth_um = 1500.0", "[procedure]\nkind = \"chemical_peel\""][proc];
        let text = format!("[experiment]\nkind = \"in_vivo\"\n[product]\nsource = \"{source}\"\nparticles_per_ml = {particles:?}\ndose_ul_per_cm2 = 2.0\n[product.size]\nmode_nm = 80.0\ngsd = 1.3\nclasses = 2\n[skin]\nsite = \"forehead\"\nage_years = {age:?}\n{procedure}\n[regimen]\ndays = {days}\n[numerics]\ncells_per_layer = 8\nradial_cells = 8\ndt_max_h = 2.0\n");
        let Scenario::InVivo(v) = parse_scenario(&text, "p.toml").unwrap() else { unreachable!() };
        let o = simulate_in_vivo(&v, TransportParams::defaults(), ResponseParams::defaults()).outcomes;
        let s = &o.series;
        for v in [&s.collagen_pct, &s.elastin_pct, &s.tewl_pct, &s.hydration_pct, &s.erythema_pct, &s.cytokines_pct, &s.pore_area_pct] {
            for x in v.iter() {
                prop_assert!(x.is_finite());
                prop_assert!(*x > -100.0, "a level below zero: {x}");
            }
        }
        if let Some(h) = o.wound_closure_h {
            prop_assert!(h.is_finite() && h > 0.0);
        }
    }

    #[test]
    fn culture_outcomes_are_bounded(dose in 0.0f64..1e7, stim in prop::sample::select(vec!["lps", "tnf_alpha", "none"])) {
        let text = format!("[experiment]\nkind = \"cell_culture\"\n[culture]\ncell_type = \"fibroblast\"\nstimulus = \"{stim}\"\nsource = \"human_msc_adipose\"\nvesicles_per_cell = {dose:?}\n");
        let Scenario::CellCulture(c) = parse_scenario(&text, "c.toml").unwrap() else { unreachable!() };
        let o = culture::simulate_culture(&c, ResponseParams::defaults());
        for x in &o.series.cytokines_pct {
            prop_assert!(x.is_finite() && *x <= 1e-9 && *x > -100.0);
        }
    }
}
