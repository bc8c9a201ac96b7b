//! Exact solutions, conservation and convergence of the transport engine.

use exoskin_model::size::erfc;
use exoskin_model::{parse_scenario, Scenario, TransportParams};
use exoskin_transport::network::{Edge, Link, Network, Stepper, N_SINKS};
use exoskin_transport::{franz, simulate};

fn franz_of(text: &str) -> exoskin_model::FranzCell {
    match parse_scenario(text, "test.toml").unwrap() {
        Scenario::FranzCell(f) => f,
        _ => unreachable!(),
    }
}

fn layer(name: &str, h: f64, d: f64, k: f64) -> String {
    format!("[[membrane.layers]]\nname = \"{name}\"\nthickness_um = {h:?}\ndiffusivity_um2_per_s = {d:?}\npartition = {k:?}\n")
}

fn header(duration: f64, interval: f64, infinite: bool, extra: &str) -> String {
    format!(
        "[experiment]\nkind = \"franz_cell\"\nduration_h = {duration:?}\noutput_interval_h = {interval:?}\n[donor]\nconcentration_per_ml = 1.0e10\ninfinite = {infinite}\n{extra}\n"
    )
}

#[test]
fn multilayer_steady_flux_matches_series_resistance_within_1_percent() {
    let layers = [(15.0, 0.2, 0.5), (60.0, 2.0, 1.5), (100.0, 5.0, 0.8)];
    let mut text = header(72.0, 0.25, true, "");
    for (i, (h, d, k)) in layers.iter().enumerate() {
        text += &layer(&format!("l{i}"), *h, *d, *k);
    }
    let res = franz::simulate(&franz_of(&text), TransportParams::defaults()).unwrap();
    // Independent formula: J = C / sum(h / (K D)), D in um^2/h, C per mL, 1e-4 mL per um cm2.
    let r: f64 = layers.iter().map(|(h, d, k)| h / (k * d * 3600.0)).sum();
    let exact = 1.0e10 / r * 1e-4;
    let fit = res.fit.unwrap();
    assert!(fit.steady_state_reached);
    let rel = (fit.steady_flux_per_cm2_h - exact).abs() / exact;
    assert!(
        rel < 0.01,
        "flux {} vs exact {exact}: {rel}",
        fit.steady_flux_per_cm2_h
    );
}

#[test]
fn single_layer_lag_time_is_h2_over_6d_within_2_percent() {
    // h = 100 um, D = 0.05 um^2/s: lag = h^2/(6D) = 33333 s = 9.259 h; run 8 lag times.
    let text = header(75.0, 0.25, true, "") + &layer("m", 100.0, 0.05, 0.3);
    let res = franz::simulate(&franz_of(&text), TransportParams::defaults()).unwrap();
    let exact = 100.0f64.powi(2) / (6.0 * 0.05) / 3600.0;
    let fit = res.fit.unwrap();
    let rel = (fit.lag_time_h - exact).abs() / exact;
    assert!(rel < 0.02, "lag {} vs {exact}: {rel}", fit.lag_time_h);
    // And the flux: K D C / h.
    let j = 0.3 * 0.05 * 3600.0 * 1e10 / 100.0 * 1e-4;
    assert!((fit.steady_flux_per_cm2_h / j - 1.0).abs() < 0.01);
}

#[test]
fn semi_infinite_profile_is_erfc() {
    // A thick layer (K = 1, D = 1 um^2/s) fed at constant concentration: after 10 h the
    // front has moved sqrt(D t) = 190 um, far from the bottom at 4000 um.
    let text = header(
        10.0,
        1.0,
        true,
        "[numerics]\ncells_per_layer = 400\ndt_max_h = 0.002\ndt_initial_h = 0.0001",
    ) + &layer("slab", 4000.0, 1.0, 1.0);
    let res = franz::simulate(&franz_of(&text), TransportParams::defaults()).unwrap();
    let dt: f64 = 1.0 * 3600.0 * 10.0;
    let mut worst: f64 = 0.0;
    for (i, &x) in res.cell_depth_um.iter().enumerate() {
        let exact = 1.0e10 * erfc(x / (2.0 * dt.sqrt()));
        worst = worst.max((res.run.final_concentration_per_ml[i] - exact).abs() / 1.0e10);
    }
    // Tolerance 0.5 % of C0 (time error of backward Euler at dt = 0.002 h plus 10 um cells).
    assert!(worst < 5e-3, "max deviation {worst} of C0");
}

/// Steady reaction-diffusion slab c'' = (k/D) c, c(0) = C0, c(L) = 0, solved on the network
/// with one backward-Euler step of huge dt (which is the steady state). The receptor flux
/// `C0 D m / sinh(m L)`, `m = sqrt(k / D)`, converges at second order in the cell size.
fn reaction_slab_error(cells: usize) -> f64 {
    let (len, d, k, c0): (f64, f64, f64, f64) = (100.0, 1.0, 0.0004, 1.0);
    let h = len / cells as f64;
    let mut net = Network::default();
    let mut rates = [0.0; N_SINKS];
    rates[3] = k;
    for _ in 0..cells {
        net.push_cell(h, h, 0, rates);
    }
    for i in 0..cells - 1 {
        net.edges.push(Edge {
            a: i,
            b: i + 1,
            g: d / h,
            tracked: false,
        });
    }
    net.sources.push(Link {
        cell: 0,
        g: 2.0 * d / h,
        value: c0,
    });
    net.drains.push(Link {
        cell: cells - 1,
        g: 2.0 * d / h,
        value: 0.0,
    });
    let mut st = Stepper::new(cells, 1, 1, false).unwrap();
    let mut m = vec![vec![0.0; cells]];
    let mut acc = vec![Default::default()];
    let mut up = vec![0.0; cells];
    let u = st
        .step(
            std::slice::from_ref(&net),
            &mut m,
            1e12,
            &vec![1.0; cells],
            &mut acc,
            &mut up,
            1e12,
        )
        .unwrap()
        .to_vec();
    let flux = 2.0 * d / h * u[cells - 1];
    let mm = (k / d).sqrt();
    let exact = c0 * d * mm / (mm * len).sinh();
    (flux - exact).abs() / exact
}

#[test]
fn spatial_convergence_is_second_order() {
    let errs: Vec<f64> = [10, 20, 40, 80]
        .iter()
        .map(|&n| reaction_slab_error(n))
        .collect();
    for w in errs.windows(2) {
        let order = (w[0] / w[1]).log2();
        assert!(
            (1.8..2.2).contains(&order),
            "observed order {order}, errors {errs:?}"
        );
    }
    assert!(errs[3] < 1e-3, "{errs:?}");
}

#[test]
fn mass_balance_closes_to_1e9_in_every_bundled_scenario() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let s = exoskin_model::load_scenario(&path).unwrap();
        let t = simulate(&s, TransportParams::defaults())
            .unwrap()
            .expect("a transport scenario");
        let r = t.run();
        // At every output time, not only the last.
        for i in 0..r.times_h.len() {
            let found: f64 = r.amounts_per_cm2.iter().map(|c| c[i]).sum::<f64>()
                + r.sinks_per_cm2.iter().map(|c| c[i]).sum::<f64>()
                + r.drained_per_cm2[i];
            let applied = r.applied_per_cm2[i];
            if applied > 0.0 {
                assert!(
                    ((found - applied) / applied).abs() < 1e-9,
                    "{}: t = {} recovery {}",
                    path.display(),
                    r.times_h[i],
                    found / applied
                );
            }
        }
        n += 1;
    }
    assert!(n >= 8, "only {n} scenarios found");
}

#[test]
fn finite_dose_depletes_and_conserves() {
    let text = header(48.0, 0.5, false, "volume_ul_per_cm2 = 10.0") + &layer("m", 20.0, 0.5, 1.0);
    let res = franz::simulate(&franz_of(&text), TransportParams::defaults()).unwrap();
    let r = &res.run;
    let last = r.times_h.len() - 1;
    // Applied = 1e10 per mL * 10 uL = 1e8 per cm2; after 48 h nearly all crossed.
    assert!((r.applied_per_cm2[last] - 1e8).abs() < 1e-6 * 1e8);
    assert!(r.drained_per_cm2[last] > 0.9 * 1e8);
    assert!(
        r.amounts_per_cm2[0]
            .windows(2)
            .all(|w| w[1] <= w[0] * (1.0 + 1e-12)),
        "donor must deplete monotonically"
    );
    assert!((r.recovery().unwrap() - 1.0).abs() < 1e-9);
}

#[test]
fn the_default_in_vivo_grid_is_within_2_percent_of_a_4x_finer_one() {
    let base = include_str!("../../../scenarios/in_vivo_daily_12_weeks.toml")
        .replace("days = 84", "days = 7");
    let run = |cells: usize| {
        let text = base.replace(
            "[regimen]",
            &format!("[numerics]\ncells_per_layer = {cells}\n[regimen]"),
        );
        match simulate(
            &parse_scenario(&text, "g.toml").unwrap(),
            TransportParams::defaults(),
        )
        .unwrap()
        .expect("transport")
        {
            exoskin_transport::Transport::InVivo(v) => {
                let last = v.run.times_h.len() - 1;
                (
                    v.reached_dermis_fraction,
                    v.run.sinks_per_cm2[0][last],
                    v.run.sinks_per_cm2[1][last],
                )
            }
            _ => unreachable!(),
        }
    };
    let (a, b) = (run(20), run(80));
    for (x, y) in [(a.0, b.0), (a.1, b.1), (a.2, b.2)] {
        assert!(((x - y) / y).abs() < 0.02, "{x} vs {y}");
    }
}

#[test]
fn default_time_steps_are_within_1_5_percent_of_a_fine_reference() {
    let base = include_str!("../../../scenarios/in_vivo_daily_12_weeks.toml")
        .replace("days = 84", "days = 14");
    let run = |numerics: &str| {
        let text = base.replace("[regimen]", &format!("{numerics}\n[regimen]"));
        match simulate(
            &parse_scenario(&text, "t.toml").unwrap(),
            TransportParams::defaults(),
        )
        .unwrap()
        .expect("transport")
        {
            exoskin_transport::Transport::InVivo(v) => {
                let last = v.run.times_h.len() - 1;
                (v.reached_dermis_fraction, v.run.sinks_per_cm2[1][last])
            }
            _ => unreachable!(),
        }
    };
    let (a, b) = (
        run(""),
        run("[numerics]\ndt_max_h = 0.02\ndt_quiet_max_h = 0.02"),
    );
    for (x, y) in [(a.0, b.0), (a.1, b.1)] {
        assert!(((x - y) / y).abs() < 0.015, "{x} vs {y}");
    }
}
