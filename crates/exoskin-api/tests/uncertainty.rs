//! Ensembles: the bands hold the nominal run (whose parameters are the priors' medians),
//! shrink as the priors shrink, and do not depend on the number of threads; the shipped
//! space draws the fitted parameters jointly from the MCMC sample.

use exoskin_api::simulate::{parse, DEFAULT_SCENARIO};
use exoskin_api::uncertainty::{ensemble, Space};
use exoskin_model::Stop;
use serde_json::Value;

/// The bundled microneedling scenario, shortened to 12 h (one application) for speed.
fn scenario() -> exoskin_model::Scenario {
    let text = DEFAULT_SCENARIO
        .replace("duration_h = 48.0", "duration_h = 12.0")
        .replace("days = 2", "days = 1");
    parse(&text, "microneedling_12h").unwrap()
}

fn pool(n: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .unwrap()
}

fn series(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Width of the 90 % band of an outcome at its last time.
fn width(doc: &Value, key: &str) -> f64 {
    let b = &doc["outcomes"]["bands"][key];
    series(&b["p95"]).last().unwrap() - series(&b["p05"]).last().unwrap()
}

#[test]
fn bands_contain_the_nominal_run_shrink_with_the_priors_and_ignore_threads() {
    let s = scenario();
    // The Laplace space: every prior's median is the nominal value (the fit's for the fitted
    // parameters), so the nominal run is the median-parameter run. (The MCMC sample's
    // medians are not the fit's: see the next test.)
    let rp = exoskin_response::ResponseParams::shipped().unwrap();
    let space = Space::new(&s, exoskin_model::TransportParams::defaults(), rp).unwrap();
    assert!(space.dim() > 80, "{} uncertain parameters", space.dim());
    let e = pool(2)
        .install(|| ensemble(&s, "t", &space, 64, 7, &Stop::never()))
        .unwrap();
    let doc = &e.doc;
    let times = series(&doc["outcomes"]["times_d"]);
    let bands = doc["outcomes"]["bands"].as_object().unwrap();
    assert!(bands.contains_key("collagen_pct") && bands.contains_key("erythema_pct"));
    for key in [
        "collagen_pct",
        "erythema_pct",
        "cytokines_pct",
        "tewl_pct",
        "elastin_pct",
    ] {
        let nominal = series(&doc["outcomes"][key]);
        let (lo, hi) = (series(&bands[key]["p05"]), series(&bands[key]["p95"]));
        assert_eq!(lo.len(), times.len());
        for t in 0..times.len() {
            // tolerance: round-off where every member is at rest (band of zero width)
            let tol = 1e-9 * nominal[t].abs().max(1.0);
            assert!(
                lo[t] - tol <= nominal[t] && nominal[t] <= hi[t] + tol,
                "{key} at day {}: nominal {} outside [{}, {}]",
                times[t],
                nominal[t],
                lo[t],
                hi[t]
            );
            assert!(lo[t] <= hi[t]);
        }
    }
    // transport band over the transport times, holding the nominal fraction at the end
    let tb = &doc["transport"]["bands"]["reached_dermis_fraction"];
    let th = series(&doc["transport"]["times_h"]);
    assert_eq!(series(&tb["p50"]).len(), th.len());
    let f = doc["transport"]["reached_dermis_fraction"]
        .as_f64()
        .unwrap();
    assert!(*series(&tb["p05"]).last().unwrap() <= f && f <= *series(&tb["p95"]).last().unwrap());

    // halving every prior's spread narrows the bands; a point prior collapses them
    let half = pool(2)
        .install(|| ensemble(&s, "t", &space.scaled(0.5), 64, 7, &Stop::never()))
        .unwrap();
    let none = pool(2)
        .install(|| ensemble(&s, "t", &space.scaled(0.0), 64, 7, &Stop::never()))
        .unwrap();
    for key in ["collagen_pct", "erythema_pct", "tewl_pct"] {
        let (w1, w05, w0) = (
            width(doc, key),
            width(&half.doc, key),
            width(&none.doc, key),
        );
        assert!(
            w05 < w1 && w0 <= 1e-12 * w1.max(1.0),
            "{key}: {w1} -> {w05} -> {w0}"
        );
    }

    // the same seed on one thread gives the same document, bit for bit
    let one = pool(1)
        .install(|| ensemble(&s, "t", &space, 64, 7, &Stop::never()))
        .unwrap();
    assert_eq!(one.doc, e.doc);
    assert_eq!(e.failed, 0, "{}", e.doc["uncertainty"]["first_failure"]);
}

#[test]
fn the_shipped_space_draws_the_fitted_parameters_jointly_from_the_mcmc_sample() {
    let s = scenario();
    let rp = exoskin_response::ResponseParams::shipped().unwrap();
    let laplace = Space::new(&s, exoskin_model::TransportParams::defaults(), rp).unwrap();
    let space = Space::shipped(&s).unwrap();
    let draws = exoskin_inference::posterior::Draws::shipped().unwrap();
    let nfit = rp.fitted.len();
    // The draws hold every fitted parameter, and besides them only the calibration's
    // reading coordinates (measurement scales, class potencies, study effects).
    assert!(rp.fitted.keys().all(|k| draws.names.contains(k)));
    let fitted = |n: &String| rp.fitted.contains_key(n);
    assert!(draws
        .names
        .iter()
        .filter(|n| !fitted(n))
        .all(|n| n.starts_with("scale.") || n.starts_with("class.") || n.starts_with("study.")));
    // the fitted parameters' Laplace dimensions become one that picks a row
    assert_eq!(space.dim(), laplace.dim() - nfit + 1);
    let j = space
        .params
        .iter()
        .position(|p| p.name == "response.posterior")
        .unwrap();
    let mut u = vec![0.5; space.dim()];
    for (x, row) in [(0.0, 0), (0.49995, 999), (0.9999, 1999), (1.0, 1999)] {
        u[j] = x;
        let (_, got) = space.at(&u).unwrap();
        for (name, v) in draws
            .names
            .iter()
            .zip(&draws.rows[row].3)
            .filter(|(n, _)| fitted(n))
        {
            assert_eq!(got.value(name).unwrap(), *v, "{name} at u = {x}");
        }
    }
    // a point posterior is the fit itself; half the spread is the geometric midpoint (the
    // arithmetic one for signed parameters)
    u[j] = 0.3;
    let row = &draws.rows[600].3;
    let (_, at0) = space.scaled(0.0).at(&u).unwrap();
    let (_, half) = space.scaled(0.5).at(&u).unwrap();
    for (name, v) in draws.names.iter().zip(row).filter(|(n, _)| fitted(n)) {
        let fit = rp.fitted[name].value;
        assert!(
            (at0.value(name).unwrap() - fit).abs() <= 1e-12 * fit.abs().max(1e-300),
            "{name}"
        );
        let mid = if rp.is_signed(name) {
            0.5 * (fit + v)
        } else {
            (fit * v).sqrt()
        };
        assert!(
            (half.value(name).unwrap() - mid).abs() <= 1e-12 * mid.abs().max(1.0),
            "{name}"
        );
    }
    // an ensemble over the shipped space runs and lists the dimension with its source
    let e = pool(2)
        .install(|| ensemble(&s, "t", &space, 32, 3, &Stop::never()))
        .unwrap();
    assert_eq!(e.failed, 0);
    let listed = e.doc["uncertainty"]["parameters"].as_array().unwrap();
    assert!(listed.iter().any(|p| p["name"] == "response.posterior"));
}

#[test]
fn bad_member_counts_are_refused_with_the_range() {
    let s = scenario();
    let space = Space::shipped(&s).unwrap();
    let err = match ensemble(&s, "t", &space, 5, 1, &Stop::never()) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("5 members accepted"),
    };
    assert!(
        err.contains("outside the allowed range 20 to 65536"),
        "{err}"
    );
    let e = exoskin_api::simulate::parse(
        "[experiment]\nkind = \"in_vivo\"\n[uncertainty]\nmembers = 3\n",
        "u.toml",
    );
    assert!(e.is_err());
}
