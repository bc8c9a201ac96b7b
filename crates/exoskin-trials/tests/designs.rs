//! Equivalence, non-inferiority, multiplicity, ANCOVA, crossover and repeated visits in whole
//! trials: trial-file keys and their errors, calibration under the null, simulated against
//! analytic power, and the analysis' internal consistency. The statistics themselves are
//! compared with statsmodels/scipy/pingouin by scripts/check_stats_reference.py.

use exoskin_trials::analysis::{analyze, flow, repeated, EndpointResult};
use exoskin_trials::equivalence::{self as eq, Layout};
use exoskin_trials::multiplicity::{adjust, Multiplicity};
use exoskin_trials::power::power_at;
use exoskin_trials::sim::{simulate, Factors, Responder, VisitPcts, N_DRIVERS};
use exoskin_trials::spec::{parse_trial, Analysis, Design, Trial};
use exoskin_trials::stats;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// A two-arm split-face trial that validates (each test changes one thing in it).
const BASE: &str = include_str!("data/two_arm_split_face.toml");

/// `BASE` with `header` lines added to [trial] and `endpoint` lines to the endpoint.
fn text(header: &str, endpoint: &str) -> String {
    BASE.replacen(
        "visits_days = [0, 28]",
        &format!("visits_days = [0, 28]\n{header}"),
        1,
    ) + endpoint
}

fn parse(t: &str) -> Result<Trial, String> {
    parse_trial(t, "t.toml", &data()).map_err(|e| e.to_string())
}

#[test]
fn defaults_keep_superiority_without_correction() {
    let t = parse(BASE).unwrap();
    assert_eq!(t.analysis, Analysis::Superiority);
    assert_eq!(t.multiplicity, Multiplicity::None);
    assert_eq!(t.washout_days, 0.0);
    assert!(t.endpoints[0].margin.is_none());
}

#[test]
fn new_keys_parse_and_bad_values_name_the_field() {
    let t = parse(&text(
        "analysis = \"equivalence\"\nmultiplicity = \"holm\"",
        "margin = 2.5\n",
    ))
    .unwrap();
    assert_eq!(t.analysis, Analysis::Equivalence);
    assert_eq!(t.multiplicity, Multiplicity::Holm);
    let m = t.endpoints[0].margin.unwrap();
    assert_eq!((m.low, m.high), (-2.5, 2.5));
    let t = parse(&text(
        "analysis = \"equivalence\"",
        "margin_low = -1.0\nmargin_high = 3.0\n",
    ))
    .unwrap();
    let m = t.endpoints[0].margin.unwrap();
    assert_eq!((m.low, m.high), (-1.0, 3.0));
    let t = parse(&text("washout_days = 14", "").replacen("split_face", "crossover", 1)).unwrap();
    assert_eq!((t.design, t.washout_days), (Design::Crossover, 14.0));

    let cases: &[(String, &[&str])] = &[
        (
            text("analysis = \"equivalence\"", ""),
            &["`endpoints[0].margin`", "needs a margin", "margin_low"],
        ),
        (
            text("analysis = \"equivalence\"", "margin_low = 2.0\nmargin_high = 1.0\n"),
            &["`endpoints[0].margin_low`", "must be below margin_high"],
        ),
        (
            text("analysis = \"equivalence\"", "margin_low = -2.0\n"),
            &["`endpoints[0].margin_high`", "both"],
        ),
        (
            text("analysis = \"equivalence\"", "margin = 1.0\nmargin_low = -2.0\nmargin_high = 1.0\n"),
            &["`endpoints[0].margin`", "not both"],
        ),
        (
            text("analysis = \"equivalence\"", "margin = -1.0\n"),
            &["`endpoints[0].margin`", "not positive"],
        ),
        (
            text("analysis = \"non_inferiority\"", ""),
            &["`endpoints[0].margin`", "non_inferiority"],
        ),
        (
            text("analysis = \"non_inferiority\"", "margin_low = -1.0\n"),
            &["`endpoints[0].margin_low`", "one margin"],
        ),
        (
            text("", "margin = 1.0\n"),
            &["`endpoints[0].margin`", "analysis = \"equivalence\""],
        ),
        (
            text("analysis = \"bioequivalence\"", ""),
            &["t.toml:6:", "`trial.analysis`", "non_inferiority"],
        ),
        (
            text("multiplicity = \"sidak\"", ""),
            &["`trial.multiplicity`", "hochberg", "fixed_sequence"],
        ),
        (
            text("washout_days = 14", ""),
            &["`trial.washout_days`", "crossover"],
        ),
        (
            text("", "").replacen("split_face", "crossover", 1),
            &["`trial.washout_days`", "needs the washout"],
        ),
        (
            text("washout_days = -3", "").replacen("split_face", "crossover", 1),
            &["`trial.washout_days`", "negative"],
        ),
        (
            text("washout_days = 7", "").replacen("split_face", "crossover", 1)
                + "\n[[arms]]\nname = \"third\"\nrole = \"treatment\"\nscenario = \"mn_short.toml\"\n",
            &["`arms`", "exactly 2 arms", "parallel"],
        ),
    ];
    // A crossover arm whose regimen runs past its period (applications on days 0, 1, 2; the
    // period ends on day 1).
    let long = text("washout_days = 7", "")
        .replacen("split_face", "crossover", 1)
        .replacen("visits_days = [0, 28]", "visits_days = [0, 1]", 1);
    let e = parse(&long).expect_err("regimen past the period");
    assert!(
        e.contains("`arms[0].scenario`") && e.contains("shorten [regimen] days"),
        "{e}"
    );
    let e = parse(&text("analysis = \"equivalence\"", "margin = nan\n")).unwrap_err();
    assert!(
        e.contains("`endpoints[0].margin`") && e.contains("not a finite number"),
        "{e}"
    );
    for (t, wants) in cases {
        let e = parse(t).expect_err(t);
        for w in *wants {
            assert!(e.contains(w), "`{e}` lacks `{w}`\n{t}");
        }
    }
}

/// Treatment raises hydration by `effect_pct`; with `carry_pct`, a residue of the treatment
/// remains at the period-2 baseline of a crossover and is gone by the next period-2 visit
/// (the period-2 visits follow the first `visits` in the responder's output).
struct Synthetic {
    effect_pct: f64,
    carry_pct: f64,
    visits: usize,
    crossover: bool,
}

impl Responder for Synthetic {
    fn visit_pcts(&self, arm: usize, _f: &Factors) -> VisitPcts {
        let mut out = vec![[0.0; N_DRIVERS]; self.visits];
        if arm == 0 {
            for v in out.iter_mut().skip(1) {
                v[0] = self.effect_pct;
            }
        }
        if self.crossover {
            let mut later = vec![[0.0; N_DRIVERS]; self.visits];
            // The residue lowers the period-2 change from baseline.
            if arm == 0 {
                later[0][0] = self.carry_pct;
            }
            out.extend(later);
        }
        out
    }
}

fn synthetic(header: &str, endpoint: &str, design: &str, n: usize) -> Trial {
    let t = text(header, endpoint)
        .replacen("split_face", design, 1)
        .replacen("participants = 20", &format!("participants = {n}"), 1);
    parse(&t).unwrap()
}

/// The true difference in hydration change (treated minus control) for an effect of `pct`
/// percent: the mean baseline times the coupling times the effect.
fn true_difference(t: &Trial, pct: f64) -> f64 {
    let i = &t.endpoints[0].instrument;
    i.baseline_mean * i.coupling * pct / 100.0
}

fn rejection_rate(
    t: &Trial,
    r: &dyn Responder,
    trials: usize,
    key: fn(&EndpointResult) -> f64,
) -> f64 {
    let hits: usize = (0..trials)
        .into_par_iter()
        .map(|s| {
            let readings = simulate(t, t.participants, 5000 + s as u64, r);
            let res = analyze(t, &readings);
            usize::from(key(&res[0]) < t.alpha)
        })
        .sum();
    hits as f64 / trials as f64
}

#[test]
fn tost_at_the_margin_rejects_at_alpha_and_inside_it_often() {
    // Split-face and parallel (Welch) designs; the true difference sits on the upper margin and
    // the lower margin is far away, so the equivalence null holds and TOST rejects at alpha
    // (the upper one-sided test's level). 2000 trials: binomial SD 0.005 at 0.05.
    for design in ["split_face", "parallel"] {
        let probe = synthetic("analysis = \"equivalence\"", "margin = 1.0\n", design, 30);
        let delta = true_difference(&probe, 3.0);
        let t = synthetic(
            "analysis = \"equivalence\"",
            &format!("margin_low = {}\nmargin_high = {delta}\n", -20.0 * delta),
            design,
            30,
        );
        let r = Synthetic {
            effect_pct: 3.0,
            carry_pct: 0.0,
            visits: 2,
            crossover: false,
        };
        let rate = rejection_rate(&t, &r, 2000, |e| e.tost_p_value.unwrap());
        assert!(
            (rate - 0.05).abs() < 4.0 * 0.005,
            "{design}: TOST at the margin rejects {rate}"
        );
        // With no true difference and the same margins, TOST rejects more often.
        let r0 = Synthetic {
            effect_pct: 0.0,
            carry_pct: 0.0,
            visits: 2,
            crossover: false,
        };
        let rate0 = rejection_rate(&t, &r0, 500, |e| e.tost_p_value.unwrap());
        assert!(rate0 > rate + 0.1, "{design}: {rate0} vs {rate}");
    }
}

#[test]
fn non_inferiority_at_the_margin_rejects_at_alpha() {
    // The treatment is worse than the control by exactly the margin (hydration: higher is
    // better, so the effect is negative): the one-sided test rejects at about alpha.
    let probe = synthetic(
        "analysis = \"non_inferiority\"",
        "margin = 1.0\n",
        "split_face",
        30,
    );
    let margin = -true_difference(&probe, -3.0);
    let t = synthetic(
        "analysis = \"non_inferiority\"",
        &format!("margin = {margin}\n"),
        "split_face",
        30,
    );
    let r = Synthetic {
        effect_pct: -3.0,
        carry_pct: 0.0,
        visits: 2,
        crossover: false,
    };
    let rate = rejection_rate(&t, &r, 2000, |e| e.ni_p_value.unwrap());
    assert!(
        (rate - 0.05).abs() < 4.0 * 0.005,
        "NI at the margin rejects {rate}"
    );
}

#[test]
fn simulated_tost_power_matches_the_exact_analytic_power() {
    // Paired design, no dropout: the simulated power of TOST equals the exact power for the
    // difference and SD of the paired differences (estimated from one large trial) within
    // the Monte-Carlo error (2000 trials: SE <= 0.011) plus the estimate's error.
    let mut t = synthetic(
        "analysis = \"equivalence\"",
        "margin = 1.0\n",
        "split_face",
        25,
    );
    t.population.dropout_pct = 0.0;
    let r = Synthetic {
        effect_pct: 0.5,
        carry_pct: 0.0,
        visits: 2,
        crossover: false,
    };
    let big = simulate(&t, 100_000, 77, &r);
    let (x, y, _, _) = exoskin_trials::analysis::changes(&big, 0, 1, 1, 0);
    let d: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a - b).collect();
    let (delta, sd) = (stats::mean(&d), stats::sd(&d));
    // A margin where the power is moderate at n = 25.
    let margin = delta.abs() + 0.6 * sd;
    t.endpoints[0].margin = Some(exoskin_trials::spec::Margin {
        low: -margin,
        high: margin,
    });
    let analytic = eq::tost_power(
        delta,
        sd,
        -margin,
        margin,
        Layout::Paired { n: 25.0 },
        t.alpha,
    );
    assert!(analytic > 0.3 && analytic < 0.95, "{analytic}");
    let sim = power_at(&t, &r, 25, 2000).rate;
    assert!(
        (sim - analytic).abs() < 0.04,
        "simulated {sim}, analytic {analytic}"
    );
}

#[test]
fn multiplicity_adjusts_each_visit_family_in_endpoint_order() {
    let add = "\n[[endpoints]]\nname = \"tewl\"\ninstrument = \"tewameter\"\n\n[[endpoints]]\nname = \"elasticity\"\ninstrument = \"cutometer\"\n";
    for (name, m) in [
        ("holm", Multiplicity::Holm),
        ("hochberg", Multiplicity::Hochberg),
        ("bonferroni", Multiplicity::Bonferroni),
        ("fixed_sequence", Multiplicity::FixedSequence),
    ] {
        let mut t = synthetic(&format!("multiplicity = \"{name}\""), add, "parallel", 40);
        t.visits_days = vec![0.0, 14.0, 28.0];
        let r = Synthetic {
            effect_pct: 2.0,
            carry_pct: 0.0,
            visits: 3,
            crossover: false,
        };
        let readings = simulate(&t, 40, 3, &r);
        let res = analyze(&t, &readings);
        for day in [14.0, 28.0] {
            let fam: Vec<&EndpointResult> = res.iter().filter(|e| e.visit_day == day).collect();
            assert_eq!(fam.len(), 3);
            let raw: Vec<f64> = fam.iter().map(|e| e.p_value).collect();
            let want = adjust(&raw, m);
            for (e, w) in fam.iter().zip(&want) {
                assert_eq!(e.adjusted_p_value, *w, "{name}");
                assert_eq!(e.significant, *w < t.alpha);
                assert!(e.adjusted_p_value >= e.p_value);
            }
        }
    }
    // Without a correction the adjusted p value is the p value.
    let t = synthetic("", add, "parallel", 30);
    let r = Synthetic {
        effect_pct: 2.0,
        carry_pct: 0.0,
        visits: 2,
        crossover: false,
    };
    for e in analyze(&t, &simulate(&t, 30, 4, &r)) {
        assert_eq!(e.adjusted_p_value, e.p_value);
        assert!(e.tost_p_value.is_none() && e.ni_p_value.is_none());
    }
}

#[test]
fn parallel_trials_report_ancova_and_flow() {
    let mut t = synthetic("", "", "parallel", 60);
    t.population.dropout_pct = 20.0;
    let r = Synthetic {
        effect_pct: 4.0,
        carry_pct: 0.0,
        visits: 2,
        crossover: false,
    };
    let readings = simulate(&t, 60, 9, &r);
    let res = analyze(&t, &readings);
    let a = res[0].ancova.expect("parallel designs report ANCOVA");
    // The baseline explains part of the change here (the effect is a percent of the
    // baseline), so ANCOVA's SE is no larger than Welch's, up to the lost degree of freedom.
    let welch_se =
        (res[0].ci95_high - res[0].ci95_low) / 2.0 / exoskin_trials::dist::t_ppf(0.975, res[0].df);
    assert!(a.se < 1.05 * welch_se, "{} vs {welch_se}", a.se);
    assert!((a.estimate - res[0].mean_difference).abs() < 3.0 * welch_se);
    let f = flow(&t, &readings);
    assert_eq!(f.enrolled, 120);
    assert_eq!(f.groups.len(), 2);
    let total: usize = f.groups.iter().map(|g| g.allocated).sum();
    assert_eq!(total, 120);
    for g in &f.groups {
        assert_eq!(g.allocated, g.dropped_out + g.analysed);
    }
    assert!(f.groups.iter().any(|g| g.dropped_out > 0));
    assert_eq!(f.groups[0].analysed, res[0].n_treatment);
    assert_eq!(f.groups[1].analysed, res[0].n_control);
    let split = synthetic("", "", "split_face", 20);
    let res = analyze(&split, &simulate(&split, 20, 1, &r));
    assert!(res[0].ancova.is_none());
}

#[test]
fn crossover_estimates_the_effect_and_sees_a_carryover() {
    // Large trials: the treatment effect is the true difference; a persisting effect of the
    // period-1 treatment shows as carryover (and biases the period-2 comparison), none without.
    let t = synthetic("washout_days = 14", "", "crossover", 400);
    let delta = true_difference(&t, 4.0);
    let clean = Synthetic {
        effect_pct: 4.0,
        carry_pct: 0.0,
        visits: 2,
        crossover: true,
    };
    let res = analyze(&t, &simulate(&t, 400, 21, &clean));
    let e = &res[0];
    assert_eq!(e.test, "crossover_t");
    let c = e.crossover.expect("crossover effects");
    assert!((e.mean_difference - delta).abs() < 4.0 * (e.ci95_high - e.mean_difference) / 1.96);
    assert!(c.carryover.p_value > 1e-3, "{c:?}");
    assert!(c.period.p_value > 1e-3, "{c:?}");
    let carried = Synthetic {
        effect_pct: 4.0,
        carry_pct: 3.0,
        visits: 2,
        crossover: true,
    };
    let res = analyze(&t, &simulate(&t, 400, 21, &carried));
    let c = res[0].crossover.unwrap();
    assert!(
        c.carryover.p_value < 1e-3 && c.carryover.estimate < 0.0,
        "{c:?}"
    );
    // Calibration: no treatment effect, no carryover: the crossover t test rejects at alpha.
    let t = synthetic("washout_days = 14", "", "crossover", 16);
    let null = Synthetic {
        effect_pct: 0.0,
        carry_pct: 0.0,
        visits: 2,
        crossover: true,
    };
    let rate = rejection_rate(&t, &null, 2000, |e| e.p_value);
    assert!(
        (rate - 0.05).abs() < 4.0 * 0.005,
        "null crossover rejects {rate}"
    );
    // Flow: both sequences, alternately allocated.
    let readings = simulate(&t, 16, 2, &null);
    let f = flow(&t, &readings);
    assert_eq!(f.groups.len(), 2);
    assert_eq!((f.groups[0].allocated, f.groups[1].allocated), (8, 8));
}

#[test]
fn mixed_model_equals_per_visit_differences_with_complete_balanced_data() {
    // Complete data, equal arms: the visit x arm estimates of the random-intercept model are
    // the per-visit mean differences (ordinary least squares and GLS agree for this design).
    let mut t = synthetic("", "", "parallel", 30);
    t.population.dropout_pct = 0.0;
    t.visits_days = vec![0.0, 14.0, 28.0, 56.0];
    let r = Synthetic {
        effect_pct: 3.0,
        carry_pct: 0.0,
        visits: 4,
        crossover: false,
    };
    let readings = simulate(&t, 30, 8, &r);
    let res = analyze(&t, &readings);
    let rep = repeated(&t, &readings);
    assert_eq!(rep.len(), 1);
    assert_eq!(rep[0].visits.len(), 3);
    for v in &rep[0].visits {
        let per = res.iter().find(|e| e.visit_day == v.visit_day).unwrap();
        assert!(
            (v.difference.estimate - per.mean_difference).abs()
                < 1e-9 * (1.0 + per.mean_difference.abs()),
            "{} vs {}",
            v.difference.estimate,
            per.mean_difference
        );
    }
    assert!(rep[0].var_residual > 0.0 && rep[0].var_participant >= 0.0);
    // Two visits only: no repeated-measures model.
    let t2 = synthetic("", "", "parallel", 30);
    assert!(repeated(
        &t2,
        &simulate(
            &t2,
            30,
            8,
            &Synthetic {
                effect_pct: 3.0,
                carry_pct: 0.0,
                visits: 2,
                crossover: false
            }
        )
    )
    .is_empty());
}
