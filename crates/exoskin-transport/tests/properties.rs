//! Property tests: random membranes and products never give NaN, negative concentrations
//! or a broken mass balance; arbitrary text never panics the parser.

use exoskin_model::{parse_scenario, Scenario, TransportParams};
use exoskin_transport::simulate;
use proptest::prelude::*;

fn check(s: &Scenario) {
    let t = simulate(s, TransportParams::defaults())
        .unwrap()
        .expect("a transport scenario");
    let r = t.run();
    let scale = r
        .applied_per_cm2
        .iter()
        .cloned()
        .fold(0.0, f64::max)
        .max(1e-300);
    for series in r.amounts_per_cm2.iter().chain(&r.sinks_per_cm2) {
        for v in series {
            assert!(v.is_finite(), "NaN or infinite amount");
            assert!(*v >= -1e-12 * scale, "negative amount {v}");
        }
    }
    let cmax = r
        .final_concentration_per_ml
        .iter()
        .cloned()
        .fold(0.0, f64::max);
    for c in &r.final_concentration_per_ml {
        assert!(
            c.is_finite() && *c >= -1e-12 * cmax.max(1.0),
            "concentration {c}"
        );
    }
    if r.applied_per_cm2.last().copied().unwrap_or(0.0) > 0.0 {
        assert!(
            (r.recovery().unwrap() - 1.0).abs() < 1e-9,
            "recovery {:?}",
            r.recovery()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn random_franz_membranes_are_sane(
        layers in prop::collection::vec((1.0f64..500.0, 1e-4f64..50.0, 1e-3f64..10.0), 1..5),
        infinite in any::<bool>(),
        hours in 0.5f64..100.0,
    ) {
        let mut text = format!("[experiment]\nkind = \"franz_cell\"\nduration_h = {hours:?}\n[donor]\nconcentration_per_ml = 1e9\ninfinite = {infinite}\nvolume_ul_per_cm2 = 5.0\n[numerics]\ncells_per_layer = 10\n");
        for (i, (h, d, k)) in layers.iter().enumerate() {
            text += &format!("[[membrane.layers]]\nname = \"l{i}\"\nthickness_um = {h:?}\ndiffusivity_um2_per_s = {d:?}\npartition = {k:?}\n");
        }
        check(&parse_scenario(&text, "p.toml").unwrap());
    }

    #[test]
    fn random_in_vivo_products_are_sane(
        mode in 20.0f64..1000.0,
        gsd in 1.0f64..2.5,
        site in prop::sample::select(vec!["forehead", "cheek", "forearm", "calf", "back"]),
        proc in 0usize..4,
        apps in 1i64..4,
        days in 1i64..3,
        temp in -80.0f64..40.0,
    ) {
        let procedure = ["", "[procedure]\nkind = \"microneedling\"\noccluded = true", "[procedure]\nkind = \"fractional_co2\"\ncoverage_pct = 30.0", "[procedure]\nkind = \"chemical_peel\""][proc];
        let text = format!("[experiment]\nkind = \"in_vivo\"\n[product]\nsource = \"plant\"\nparticles_per_ml = 1e10\ndose_ul_per_cm2 = 2.0\nstorage_temperature_c = {temp:?}\nstorage_age_days = 30.0\n[product.size]\nmode_nm = {mode:?}\ngsd = {gsd:?}\nclasses = 3\n[skin]\nsite = \"{site}\"\n{procedure}\n[regimen]\napplications_per_day = {apps}\ndays = {days}\n[numerics]\ncells_per_layer = 12\nradial_cells = 8\n");
        check(&parse_scenario(&text, "p.toml").unwrap());
    }

    #[test]
    fn the_parser_never_panics_on_arbitrary_text(s in "\\PC{0,400}") {
        let _ = parse_scenario(&s, "fuzz.toml");
    }

    #[test]
    fn the_parser_never_panics_on_mutated_scenarios(pos in 0usize..400, byte in prop::sample::select(vec!["-", "\"", "[", "]", "=", "1e999", "nan", "\n", "inf", "0"])) {
        let base = include_str!("../../../scenarios/in_vivo_microneedling.toml");
        let mut text = base.to_string();
        let p = pos.min(text.len());
        let p = (0..=p).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        text.insert_str(p, byte);
        if let Ok(s) = parse_scenario(&text, "m.toml") {
            check(&s);
        }
    }
}
