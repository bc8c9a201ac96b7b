//! The response model behaves as what is known says it should.

use exoskin_model::{parse_scenario, Scenario, TransportParams};
use exoskin_response::{simulate_in_vivo, Outcomes, ResponseParams};

fn run(source: &str, particles: f64, procedure: &str, days: u32, age: f64, apps: u32) -> Outcomes {
    let text = format!(
        r#"
[experiment]
kind = "in_vivo"
duration_h = {dur:?}
output_interval_h = 2.0
[product]
source = "{source}"
particles_per_ml = {particles:?}
dose_ul_per_cm2 = 2.0
[product.size]
mode_nm = 100.0
gsd = 1.4
classes = 3
[skin]
site = "cheek"
age_years = {age:?}
{procedure}
[regimen]
applications_per_day = 1
days = {apps}
[numerics]
cells_per_layer = 16
radial_cells = 12
dt_max_h = 1.0
"#,
        dur = days as f64 * 24.0
    );
    let Scenario::InVivo(v) = parse_scenario(&text, "t.toml").unwrap() else {
        unreachable!()
    };
    simulate_in_vivo(&v, TransportParams::defaults(), ResponseParams::defaults()).outcomes
}

fn at(o: &Outcomes, v: &[f64], day: f64) -> f64 {
    let k = o
        .series
        .times_d
        .iter()
        .position(|t| (t - day).abs() < 1e-6)
        .unwrap();
    v[k]
}

const MN: &str = "[procedure]\nkind = \"microneedling\"\nneedle_length_um = 1500.0";
const CO2: &str = "[procedure]\nkind = \"fractional_co2\"";

#[test]
fn untreated_skin_does_not_drift_over_a_year() {
    let o = run("vehicle", 0.0, "", 365, 45.0, 1);
    let s = &o.series;
    for v in [
        &s.collagen_pct,
        &s.elastin_pct,
        &s.tewl_pct,
        &s.hydration_pct,
        &s.erythema_pct,
        &s.cytokines_pct,
        &s.pore_area_pct,
    ] {
        assert!(v.iter().all(|x| x.abs() < 1e-12), "drift");
    }
    assert_eq!(o.wound_closure_h, None);
}

#[test]
fn controls_carry_no_vesicle_effect() {
    // On intact skin a vehicle and a liposome control change nothing; after needling they
    // give exactly the procedure's own response.
    for proc in ["", MN] {
        let veh = run("vehicle", 1e10, proc, 28, 45.0, 1);
        let lip = run("liposome", 1e10, proc, 28, 45.0, 1);
        assert_eq!(veh.series, lip.series);
        if proc.is_empty() {
            assert!(veh.series.collagen_pct.iter().all(|x| x.abs() < 1e-12));
        }
    }
}

#[test]
fn effect_grows_with_dose_and_saturates() {
    // In vivo: the collagen effect over the vehicle grows with every tenfold of dose and
    // stays below its ceiling (collagen_gain at full signal for the whole run).
    let veh = run("vehicle", 1e10, MN, 28, 45.0, 1);
    let base = at(&veh, &veh.series.collagen_pct, 28.0);
    let c: Vec<f64> = [1e8, 1e10, 1e12, 1e14]
        .iter()
        .map(|d| {
            let o = run("human_msc_adipose", *d, MN, 28, 45.0, 1);
            at(&o, &o.series.collagen_pct, 28.0) - base
        })
        .collect();
    assert!(c.windows(2).all(|w| w[1] > w[0]), "{c:?}");
    let ceiling = 100.0 * ResponseParams::defaults().get("collagen_gain");
    assert!(c[3] < ceiling, "{c:?} vs ceiling {ceiling}");
    // In vitro, where the dose is per cell: a saturating dose-response.
    let cyto = |dose: f64| {
        let text = format!("[experiment]\nkind = \"cell_culture\"\n[culture]\ncell_type = \"keratinocyte\"\nsource = \"human_msc_adipose\"\nvesicles_per_cell = {dose:?}\n");
        let Scenario::CellCulture(c) = parse_scenario(&text, "c.toml").unwrap() else {
            unreachable!()
        };
        -exoskin_response::culture::simulate_culture(&c, ResponseParams::defaults())
            .series
            .cytokines_pct
            .last()
            .copied()
            .unwrap()
    };
    let r: Vec<f64> = [1e1, 1e2, 1e3, 1e4, 1e5, 1e6]
        .iter()
        .map(|d| cyto(*d))
        .collect();
    assert!(r.windows(2).all(|w| w[1] > w[0]), "{r:?}");
    assert!(r[5] - r[4] < 0.2 * (r[3] - r[2]), "no saturation: {r:?}");
}

#[test]
fn intact_skin_collagen_effect_is_far_smaller_than_after_procedures() {
    let effect = |proc: &str| {
        let ev = run("human_msc_adipose", 1e10, proc, 28, 45.0, 7);
        let ve = run("vehicle", 1e10, proc, 28, 45.0, 7);
        at(&ev, &ev.series.collagen_pct, 28.0) - at(&ve, &ve.series.collagen_pct, 28.0)
    };
    let (intact, mn, co2) = (effect(""), effect(MN), effect(CO2));
    assert!(intact >= 0.0);
    // "Far smaller": at least five times (the seeds give no number; the evidence review says
    // intact-skin evidence is "significantly thinner" because of the penetration barrier).
    assert!(
        mn > 5.0 * intact && co2 > 5.0 * intact,
        "intact {intact}, microneedling {mn}, co2 {co2}"
    );
}

#[test]
fn plant_vesicles_hydrate_and_calm_but_build_less_collagen() {
    let plant = run("plant", 1e10, MN, 28, 45.0, 7);
    let msc = run("human_msc_adipose", 1e10, MN, 28, 45.0, 7);
    let veh = run("vehicle", 1e10, MN, 28, 45.0, 7);
    let d = |o: &Outcomes, v: fn(&Outcomes) -> &Vec<f64>, day: f64| {
        at(o, v(o), day) - at(&veh, v(&veh), day)
    };
    assert!(d(&plant, |o| &o.series.hydration_pct, 14.0) > 0.0);
    assert!(d(&plant, |o| &o.series.cytokines_pct, 1.0) < 0.0);
    assert!(
        d(&plant, |o| &o.series.collagen_pct, 28.0)
            < 0.5 * d(&msc, |o| &o.series.collagen_pct, 28.0)
    );
}

#[test]
fn older_skin_starts_lower_and_responds_less() {
    let young = run("human_msc_adipose", 1e10, MN, 28, 30.0, 1);
    let old = run("human_msc_adipose", 1e10, MN, 28, 65.0, 1);
    assert!(old.baseline.collagen_index < young.baseline.collagen_index);
    assert!(
        at(&old, &old.series.collagen_pct, 28.0) < at(&young, &young.series.collagen_pct, 28.0)
    );
}

#[test]
fn hydration_moves_first_then_texture_then_collagen() {
    let o = run("human_msc_adipose", 1e10, "", 112, 45.0, 112);
    let s = &o.series;
    let t_frac = |v: &[f64], f: f64| {
        let last = *v.last().unwrap();
        s.times_d
            .iter()
            .zip(v)
            .find(|(_, x)| **x / last >= f)
            .map(|(t, _)| *t)
            .unwrap()
    };
    let neg: Vec<f64> = s.pore_area_pct.iter().map(|x| -x).collect();
    let (h, p, c) = (
        t_frac(&s.hydration_pct, 0.5),
        t_frac(&neg, 0.5),
        t_frac(&s.collagen_pct, 0.9),
    );
    assert!(
        h <= 14.0 && h < p && p < c,
        "hydration {h}, pores {p}, collagen {c}"
    );
    assert!((56.0..=112.0).contains(&c), "collagen at 90 % on day {c}");
}

#[test]
fn wounds_close_and_vesicles_speed_them() {
    let ev = run("human_msc_adipose", 1e10, CO2, 4, 45.0, 2);
    let veh = run("vehicle", 1e10, CO2, 4, 45.0, 2);
    let (a, b) = (ev.wound_closure_h.unwrap(), veh.wound_closure_h.unwrap());
    assert!(a < b, "with EVs {a} h, vehicle {b} h");
}
