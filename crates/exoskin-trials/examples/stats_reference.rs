//! Writes fixed data sets with this crate's statistics as JSON on stdout, for
//! `scripts/check_stats_reference.py` to compare with scipy.stats and statsmodels.
use exoskin_trials::dist::{nct_cdf, norm_cdf, norm_ppf, t_cdf, t_ppf};
use exoskin_trials::equivalence::{self as eq, Difference, Layout};
use exoskin_trials::models;
use exoskin_trials::multiplicity::{adjust, Multiplicity};
use exoskin_trials::rng::Rng;
use exoskin_trials::stats::*;
use serde_json::{json, Value};

fn sample(seed: u64, n: usize, shift: f64, sd: f64, round: Option<f64>) -> Vec<f64> {
    let mut r = Rng::for_participant(seed, 0, 0);
    (0..n)
        .map(|_| {
            let v = shift + sd * r.normal();
            match round {
                Some(q) => (v / q).round() * q,
                None => v,
            }
        })
        .collect()
}

fn tr(t: &TestResult) -> Value {
    json!({"statistic": t.statistic, "p_value": t.p_value, "df": t.df, "ci95_low": t.ci95_low, "ci95_high": t.ci95_high})
}

fn main() {
    let mut cases = Vec::new();
    // (name, n1, n2, shift, round): rounding makes ties.
    let sets: &[(&str, usize, usize, f64, Option<f64>)] = &[
        ("small_exact", 7, 6, 0.8, None),
        ("medium", 30, 25, 0.4, None),
        ("ties", 40, 35, 0.3, Some(0.5)),
        ("large", 200, 180, 0.1, None),
        ("null_ties_zeros", 60, 60, 0.0, Some(1.0)),
    ];
    for (i, &(name, n1, n2, shift, round)) in sets.iter().enumerate() {
        let x = sample(100 + i as u64, n1, shift, 1.0, round);
        let y = sample(200 + i as u64, n2, 0.0, 1.2, round);
        let m = n1.min(n2);
        let (xp, yp) = (&x[..m], &y[..m]);
        let d: Vec<f64> = xp.iter().zip(yp).map(|(a, b)| a - b).collect();
        cases.push(json!({
            "name": name, "x": x, "y": y,
            "paired_t": tr(&paired_t(xp, yp, 0.95)),
            "welch_t": tr(&welch_t(&x, &y, 0.95)),
            "wilcoxon_auto": tr(&wilcoxon(&d, false, RankMethod::Auto)),
            "wilcoxon_asymptotic_corrected": tr(&wilcoxon(&d, true, RankMethod::Asymptotic)),
            "wilcoxon_asymptotic": tr(&wilcoxon(&d, false, RankMethod::Asymptotic)),
            "mannwhitney_auto": tr(&mann_whitney(&x, &y, true, RankMethod::Auto)),
            "mannwhitney_asymptotic_nocc": tr(&mann_whitney(&x, &y, false, RankMethod::Asymptotic)),
            "cohen_dz": cohen_dz(&d, 0.95).value,
            "cohen_d": cohen_d(&x, &y, 0.95).value,
            "hedges_g": hedges_g(&x, &y, 0.95).value,
        }));
    }
    let exact_small: Vec<Value> = [(5usize, 7usize, 0.5), (8, 8, 0.0)]
        .iter()
        .enumerate()
        .map(|(i, &(n1, n2, s))| {
            let x = sample(300 + i as u64, n1, s, 1.0, None);
            let y = sample(400 + i as u64, n2, 0.0, 1.0, None);
            json!({"x": x, "y": y, "mannwhitney_exact": tr(&mann_whitney(&x, &y, true, RankMethod::Exact))})
        })
        .collect();
    let mut dists = Vec::new();
    for &df in &[1.0, 2.5, 4.0, 9.0, 29.0, 120.0, 1000.0] {
        for &t in &[-6.0, -2.0, -0.5, 0.0, 0.7, 1.96, 3.5, 8.0] {
            let mut row = json!({"t": t, "df": df, "t_cdf": t_cdf(t, df)});
            let mut nct = Vec::new();
            for &nc in &[-1.0, 0.0, 0.5, 2.0, 5.0] {
                nct.push(json!({"nc": nc, "cdf": nct_cdf(t, df, nc)}));
            }
            row["nct"] = json!(nct);
            dists.push(row);
        }
        for &p in &[0.001, 0.025, 0.3, 0.975, 0.9995] {
            dists.push(json!({"p": p, "df": df, "t_ppf": t_ppf(p, df)}));
        }
    }
    let normals: Vec<Value> = [-8.0, -3.0, -1.0, 0.0, 0.5, 2.0, 6.0]
        .iter()
        .map(|&x| json!({"x": x, "cdf": norm_cdf(x)}))
        .chain(
            [1e-10, 0.01, 0.3, 0.5, 0.8, 0.999]
                .iter()
                .map(|&p| json!({"p": p, "ppf": norm_ppf(p)})),
        )
        .collect();
    let mut power = Vec::new();
    for &es in &[0.2, 0.35, 0.5, 0.8, 1.2] {
        for &alpha in &[0.01, 0.05] {
            power.push(json!({
                "effect_size": es, "alpha": alpha,
                "paired_power_n20": paired_power(es, 20.0, alpha),
                "two_sample_power_n20": two_sample_power(es, 20.0, alpha),
                "paired_n_80": paired_n(es, alpha, 0.8),
                "two_sample_n_80": two_sample_n(es, alpha, 0.8),
                "paired_n_90": paired_n(es, alpha, 0.9),
            }));
        }
    }
    let rates: Vec<Value> = [(0usize, 10usize), (3, 10), (17, 40), (95, 100), (500, 1000)]
        .iter()
        .map(|&(k, n)| {
            let r = wilson(k, n, 0.05);
            json!({"count": k, "n": n, "low": r.ci95_low, "high": r.ci95_high})
        })
        .collect();
    let designs = designs();
    let out = json!({"cases": cases, "exact_small": exact_small, "dists": dists, "normals": normals, "power": power, "wilson": rates, "designs": designs});
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
}

fn one(o: &eq::OneSided) -> Value {
    json!({"statistic": o.statistic, "p_value": o.p_value, "df": o.df})
}

fn tost_json(t: &eq::Tost) -> Value {
    json!({"p_value": t.p_value, "lower": one(&t.lower), "upper": one(&t.upper), "ci_low": t.ci_low, "ci_high": t.ci_high})
}

fn effect(e: &models::Effect) -> Value {
    json!({"estimate": e.estimate, "se": e.se, "df": e.df, "statistic": e.statistic, "p_value": e.p_value, "ci_low": e.ci_low, "ci_high": e.ci_high})
}

/// Equivalence, non-inferiority, their power, multiplicity, ANCOVA, the crossover and the
/// mixed model, on fixed data.
fn designs() -> Value {
    let mut tost_cases = Vec::new();
    // (n1, n2, shift, sd2, low, high, alpha)
    let sets: &[(usize, usize, f64, f64, f64, f64, f64)] = &[
        (12, 12, 0.1, 1.0, -0.8, 0.8, 0.05),
        (30, 24, 0.3, 1.3, -0.5, 0.9, 0.05),
        (80, 60, -0.2, 0.7, -0.4, 0.4, 0.025),
        (25, 40, 1.0, 1.0, -0.5, 0.5, 0.1),
    ];
    for (i, &(n1, n2, shift, sd2, low, high, alpha)) in sets.iter().enumerate() {
        let x = sample(500 + i as u64, n1, shift, 1.0, None);
        let y = sample(600 + i as u64, n2, 0.0, sd2, None);
        let m = n1.min(n2);
        let (xp, yp) = (&x[..m], &y[..m]);
        let paired = Difference::paired(xp, yp);
        let welch = Difference::welch(&x, &y);
        let pooled = Difference::pooled(&x, &y);
        let margin = 0.5 * (high - low);
        tost_cases.push(json!({
            "x": x, "y": y, "low": low, "high": high, "alpha": alpha, "margin": margin,
            "paired": tost_json(&eq::tost(&paired, low, high, alpha)),
            "welch": tost_json(&eq::tost(&welch, low, high, alpha)),
            "pooled": tost_json(&eq::tost(&pooled, low, high, alpha)),
            "ni_paired_higher": one(&eq::non_inferiority(&paired, margin, true)),
            "ni_paired_lower": one(&eq::non_inferiority(&paired, margin, false)),
            "ni_welch_higher": one(&eq::non_inferiority(&welch, margin, true)),
            "ni_welch_lower": one(&eq::non_inferiority(&welch, margin, false)),
        }));
    }
    let mut power = Vec::new();
    // (delta, sd, low, high, n1, n2 (0: paired), alpha)
    let cases: &[(f64, f64, f64, f64, f64, f64, f64)] = &[
        (0.0, 1.0, -0.5, 0.5, 30.0, 0.0, 0.05),
        (0.1, 1.0, -0.5, 0.5, 60.0, 0.0, 0.05),
        (0.2, 2.0, -1.0, 1.5, 45.0, 0.0, 0.025),
        (0.0, 1.0, -0.6, 0.6, 12.0, 0.0, 0.05),
        (0.0, 1.0, -0.5, 0.5, 40.0, 40.0, 0.05),
        (0.15, 1.0, -0.5, 0.5, 50.0, 75.0, 0.05),
        (-0.1, 0.8, -0.4, 0.6, 20.0, 35.0, 0.1),
    ];
    for &(delta, sd, low, high, n1, n2, alpha) in cases {
        let layout = if n2 == 0.0 {
            Layout::Paired { n: n1 }
        } else {
            Layout::TwoSample { n1, n2 }
        };
        let margin = 0.5 * (high - low);
        power.push(json!({
            "delta": delta, "sd": sd, "low": low, "high": high, "n1": n1, "n2": n2, "alpha": alpha,
            "margin": margin,
            "tost_power": eq::tost_power(delta, sd, low, high, layout, alpha),
            "ni_power_higher": eq::ni_power(delta, sd, margin, true, layout, alpha),
            "ni_power_lower": eq::ni_power(delta, sd, margin, false, layout, alpha),
            "tost_n_80": if n2 == 0.0 {
                eq::tost_paired_n(delta, sd, low, high, alpha, 0.8)
            } else {
                eq::tost_two_sample_n(delta, sd, low, high, n2 / n1, alpha, 0.8)
            },
            "superiority_n_80": if n2 == 0.0 { None } else { two_sample_n_ratio((delta.abs() + 0.3) / sd, n2 / n1, alpha, 0.8) },
            "ni_n_80": eq::ni_n(delta, sd, margin, true, n2 == 0.0, if n2 == 0.0 { 1.0 } else { n2 / n1 }, alpha, 0.8),
        }));
    }
    let families: Vec<Vec<f64>> = vec![
        vec![0.01, 0.04, 0.03, 0.005],
        vec![0.2, 0.001, 0.049, 0.03, 0.6, 0.04],
        vec![0.5, 0.5, 0.02],
        vec![0.0004, 0.012, 0.011, 0.013, 0.3, 0.9, 0.026, 0.026],
    ];
    let multiplicity: Vec<Value> = families
        .iter()
        .map(|p| {
            json!({"p": p,
                "holm": adjust(p, Multiplicity::Holm),
                "hochberg": adjust(p, Multiplicity::Hochberg),
                "bonferroni": adjust(p, Multiplicity::Bonferroni),
                "fixed_sequence": adjust(p, Multiplicity::FixedSequence)})
        })
        .collect();
    // ANCOVA: change = 0.4 treated - 0.3 (baseline - 50) / 10 + noise.
    let mut ancova = Vec::new();
    for (i, &(n1, n2, effect_)) in [(20usize, 20usize, 0.4), (35, 28, 0.0), (60, 90, 1.0)]
        .iter()
        .enumerate()
    {
        let bx = sample(700 + i as u64, n1, 50.0, 10.0, None);
        let by = sample(710 + i as u64, n2, 50.0, 10.0, None);
        let ex = sample(720 + i as u64, n1, 0.0, 1.0, None);
        let ey = sample(730 + i as u64, n2, 0.0, 1.0, None);
        let x: Vec<f64> = bx
            .iter()
            .zip(&ex)
            .map(|(b, e)| effect_ - 0.03 * (b - 50.0) + e)
            .collect();
        let y: Vec<f64> = by
            .iter()
            .zip(&ey)
            .map(|(b, e)| -0.03 * (b - 50.0) + e)
            .collect();
        let a = models::ancova(&x, &bx, &y, &by, 0.95).expect("full rank");
        ancova.push(json!({"x": x, "bx": bx, "y": y, "by": by, "ancova": effect(&a)}));
    }
    // Crossover: subject effect + period + treatment + carryover into period 2.
    let mut crossover = Vec::new();
    for (i, &(n1, n2, tau, carry)) in [(12usize, 12usize, 1.0, 0.0), (20, 17, 0.3, 0.8)]
        .iter()
        .enumerate()
    {
        let s1 = sample(800 + i as u64, n1, 0.0, 2.0, None);
        let s2 = sample(810 + i as u64, n2, 0.0, 2.0, None);
        let e1 = sample(820 + i as u64, 2 * n1, 0.0, 1.0, None);
        let e2 = sample(830 + i as u64, 2 * n2, 0.0, 1.0, None);
        let tc: Vec<(f64, f64)> = (0..n1)
            .map(|k| (s1[k] + tau + e1[2 * k], s1[k] + 0.5 + carry + e1[2 * k + 1]))
            .collect();
        let ct: Vec<(f64, f64)> = (0..n2)
            .map(|k| (s2[k] + e2[2 * k], s2[k] + 0.5 + tau + e2[2 * k + 1]))
            .collect();
        let c = models::crossover(&tc, &ct, 0.95).expect("two per sequence");
        crossover.push(json!({"tc": tc, "ct": ct, "treatment": effect(&c.treatment), "period": effect(&c.period), "carryover": effect(&c.carryover)}));
    }
    // Mixed model: change at visits 1..3, arm x visit, random intercept per participant.
    let mut mixed = Vec::new();
    for (i, &(n, sd_b, visits)) in [(30usize, 1.0, 3usize), (45, 0.3, 4), (24, 2.0, 2)]
        .iter()
        .enumerate()
    {
        let b = sample(900 + i as u64, n, 0.0, sd_b, None);
        let e = sample(910 + i as u64, n * visits, 0.0, 1.0, None);
        let (mut y, mut x, mut g, mut arm, mut visit) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let p = 2 * visits;
        for k in 0..n {
            let a = k % 2;
            for v in 0..visits {
                // A dropout-like gap: every seventh participant misses the last visit.
                if k % 7 == 3 && v == visits - 1 {
                    continue;
                }
                let mut row = vec![0.0; p];
                row[v] = 1.0;
                row[visits + v] = a as f64;
                y.push(0.5 * v as f64 + 0.4 * a as f64 * (v + 1) as f64 + b[k] + e[k * visits + v]);
                x.extend(row);
                g.push(k);
                arm.push(a);
                visit.push(v);
            }
        }
        let f = models::mixed_model(&y, &x, p, &g).expect("fits");
        mixed.push(json!({"y": y, "group": g, "arm": arm, "visit": visit, "visits": visits,
            "beta": f.beta, "se": f.se, "var_participant": f.var_participant, "var_residual": f.var_residual}));
    }
    json!({"tost": tost_cases, "power": power, "multiplicity": multiplicity, "ancova": ancova, "crossover": crossover, "mixed": mixed})
}
