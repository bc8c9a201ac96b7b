//! Writes fixed data sets with this crate's statistics as JSON on stdout, for
//! `scripts/check_stats_reference.py` to compare with scipy.stats and statsmodels.
use exoskin_trials::dist::{nct_cdf, norm_cdf, norm_ppf, t_cdf, t_ppf};
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
    let out = json!({"cases": cases, "exact_small": exact_small, "dists": dists, "normals": normals, "power": power, "wilson": rates});
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
}
