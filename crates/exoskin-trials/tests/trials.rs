//! Trial engine: determinism, calibration under the null, power, the grid, trial-file errors.

use exoskin_model::TransportParams;
use exoskin_response::ResponseParams;
use exoskin_trials::analysis::{analyze, primary_p};
use exoskin_trials::power::power_at;
use exoskin_trials::sim::{simulate, Factors, ModelResponder, Responder, VisitPcts, N_DRIVERS};
use exoskin_trials::spec::{parse_trial, ResponseMode, Trial};
use exoskin_trials::stats;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A cheap synthetic trial: `design`, n, hydration and elasticity at days 0 and 28; the
/// arms' scenario files are only parsed (the synthetic responders below never run them).
fn synthetic(design: &str, n: usize, dropout: f64) -> Trial {
    let text = GOOD
        .replacen("split_face", design, 1)
        .replacen("participants = 20", &format!("participants = {n}"), 1)
        .replacen("seed = 1", "seed = 11", 1)
        .replacen(
            "[[endpoints]]",
            &format!("[population]\ndropout_pct = {dropout}\n\n[[endpoints]]"),
            1,
        )
        + "\n[[endpoints]]\nname = \"elasticity\"\ninstrument = \"cutometer\"\n";
    parse_trial(&text, "<synthetic>", &data()).expect("synthetic trial parses")
}

/// Treatment raises hydration by `effect_pct` (times the participant's delivery), the
/// control does nothing.
struct Synthetic {
    effect_pct: f64,
    /// Scale the effect by the participant's delivery (a skewed, log-normal response).
    by_delivery: bool,
}

impl Responder for Synthetic {
    fn visit_pcts(&self, arm: usize, f: &Factors) -> VisitPcts {
        let mut v = [0.0; N_DRIVERS];
        if arm == 0 {
            v[0] = self.effect_pct * if self.by_delivery { f.delivery } else { 1.0 };
        }
        vec![[0.0; N_DRIVERS], v]
    }
}

fn rejection_rate(
    trial: &Trial,
    responder: &dyn Responder,
    trials: usize,
    endpoint: usize,
) -> (f64, f64) {
    let (t, np): (Vec<bool>, Vec<bool>) = (0..trials)
        .into_par_iter()
        .map(|s| {
            let r = simulate(trial, trial.participants, 1000 + s as u64, responder);
            let res = analyze(trial, &r);
            let e = res
                .iter()
                .find(|e| e.name == trial.endpoints[endpoint].name)
                .unwrap();
            (e.p_value < 0.05, e.nonparametric_p_value < 0.05)
        })
        .unzip();
    let f = |v: &[bool]| v.iter().filter(|x| **x).count() as f64 / trials as f64;
    (f(&t), f(&np))
}

#[test]
fn null_trials_reject_at_alpha() {
    // 2000 null trials: the rejection rate's binomial SD is 0.005 at alpha 0.05.
    let null = Synthetic {
        effect_pct: 0.0,
        by_delivery: true,
    };
    for design in ["split_face", "parallel"] {
        let trial = synthetic(design, 20, 10.0);
        let (t, np) = rejection_rate(&trial, &null, 2000, 0);
        eprintln!("{design}: null rejection rate {t} (t test), {np} (rank test)");
        assert!((0.035..=0.065).contains(&t), "{design}: t test rejects {t}");
        assert!(
            (0.03..=0.065).contains(&np),
            "{design}: rank test rejects {np}"
        );
    }
}

#[test]
fn power_rises_with_n_and_matches_the_analytic_t_test() {
    let trial = synthetic("split_face", 20, 0.0);
    // A constant effect keeps the differences near-normal, where the noncentral t applies.
    let eff = Synthetic {
        effect_pct: 3.0,
        by_delivery: false,
    };
    let p: Vec<f64> = [8, 16, 32, 64]
        .iter()
        .map(|&n| power_at(&trial, &eff, n, 1000).rate)
        .collect();
    assert!(p.windows(2).all(|w| w[1] > w[0]), "{p:?}");
    // Analytic power from the effect size of a large simulated trial.
    let big = simulate(&trial, 20_000, 5, &eff);
    let (x, y, _, _) = exoskin_trials::analysis::changes(&big, 0, 1, 1, 0);
    let d: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a - b).collect();
    let dz = stats::mean(&d) / stats::sd(&d);
    for (i, &n) in [8usize, 16, 32, 64].iter().enumerate() {
        let analytic = stats::paired_power(dz, n as f64, 0.05);
        assert!(
            (p[i] - analytic).abs() < 0.05,
            "n {n}: simulated {} analytic {analytic}",
            p[i]
        );
    }
}

#[test]
fn same_seed_same_result_on_1_or_4_threads_and_seeds_differ() {
    let trial = synthetic("parallel", 200, 10.0);
    let eff = Synthetic {
        effect_pct: 2.0,
        by_delivery: true,
    };
    let run = |threads: usize, seed: u64| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| simulate(&trial, trial.participants, seed, &eff))
    };
    let a = run(1, 9);
    let b = run(4, 9);
    assert_eq!(a.values.len(), b.values.len());
    assert!(a
        .values
        .iter()
        .zip(&b.values)
        .all(|(x, y)| x.to_bits() == y.to_bits()));
    let c = run(4, 10);
    assert_ne!(
        a.values.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        c.values.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
}

fn model_trial(mode: ResponseMode) -> Trial {
    let mut t =
        exoskin_trials::load_trial(&data().join("mn_trial.toml")).expect("test trial loads");
    t.response = mode;
    t
}

/// A new study (assurance's draws) multiplies the vesicle arm's delivery by its dose
/// `exp(study_dose_spread z)` and leaves an arm without vesicles as it was.
#[test]
fn a_new_study_scales_the_vesicle_arms_dose_and_leaves_the_vehicle_alone() {
    let tp = TransportParams::defaults();
    let rp = ResponseParams::defaults();
    let trial = model_trial(ResponseMode::Exact);
    let shipped = ModelResponder::new(&trial, tp, rp).unwrap();
    let z = 1.5;
    let study = ModelResponder::new_study(&trial, tp, rp, z).unwrap();
    let dose = (rp.v.study_dose_spread * z).exp();
    assert!(dose > 1.05, "the spread moves the dose ({dose})");
    let f = Factors {
        age_years: 45.0,
        delivery: 1.0,
        matrix: 1.0,
        barrier: 1.0,
    };
    let at_dose = Factors {
        delivery: dose,
        ..f
    };
    assert_eq!(study.exact(0, &f), shipped.exact(0, &at_dose));
    assert_ne!(study.exact(0, &f), shipped.exact(0, &f));
    assert_eq!(study.exact(1, &f), shipped.exact(1, &f));
    // z = 0 is the shipped responder.
    let zero = ModelResponder::new_study(&trial, tp, rp, 0.0).unwrap();
    assert_eq!(zero.exact(0, &f), shipped.exact(0, &f));
}

/// An arm without vesicles borrows the vesicle arm's transport run instead of solving its
/// own; its responses are those of a responder where it runs its own, bit for bit.
#[test]
fn the_vehicle_arm_borrowing_a_transport_run_responds_bit_for_bit_as_with_its_own() {
    let tp = TransportParams::defaults();
    let rp = ResponseParams::defaults();
    let trial = model_trial(ResponseMode::Exact);
    let carries = |a: &exoskin_trials::spec::Arm| {
        exoskin_inference::effect::carries_vesicles(&a.scenario, rp)
    };
    let vehicle = trial.arms.iter().position(|a| !carries(a)).unwrap();
    assert!(
        trial.arms.iter().any(carries),
        "the test trial has a vesicle arm"
    );
    let shared = ModelResponder::new(&trial, tp, rp).unwrap();
    // The vehicle alone: no donor, so it runs its own transport.
    let mut alone = trial.clone();
    alone.arms = vec![trial.arms[vehicle].clone()];
    let own = ModelResponder::new(&alone, tp, rp).unwrap();
    let mut r = exoskin_trials::rng::Rng::for_participant(5, 0, 0);
    for _ in 0..6 {
        let f = Factors {
            age_years: 30.0 + 35.0 * r.uniform(),
            delivery: r.lognormal_cv(0.5),
            matrix: r.lognormal_cv(0.3),
            barrier: r.lognormal_cv(0.3),
        };
        let (a, b) = (shared.exact(vehicle, &f), own.exact(0, &f));
        assert!(
            a.iter()
                .flatten()
                .zip(b.iter().flatten())
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "{a:?} vs {b:?}"
        );
        // And the response moved: the procedure changes the outcomes.
        assert!(a.iter().flatten().any(|x| x.abs() > 0.1), "{a:?}");
    }
}

#[test]
fn model_trial_is_deterministic_across_threads_and_grid_matches_exact() {
    let tp = TransportParams::defaults();
    let rp = ResponseParams::defaults();
    let trial = model_trial(ResponseMode::Exact);
    let exact = ModelResponder::new(&trial, tp, rp).unwrap();
    assert!(!exact.uses_grid());
    let run = |threads: usize, seed: u64| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| simulate(&trial, 12, seed, &exact))
    };
    let (a, b, c) = (run(1, 3), run(4, 3), run(4, 4));
    assert!(a
        .values
        .iter()
        .zip(&b.values)
        .all(|(x, y)| x.to_bits() == y.to_bits()));
    assert!(a.values.iter().zip(&c.values).any(|(x, y)| x != y));

    // Age acts mostly through age_factor on the matrix gains (and a little through the
    // wound's healing, slower with age): folding it into the matrix multiplier (what the grid
    // does where that errs little) comes close to the exact response.
    let age = |a: f64| exoskin_response::tissue::age_factor(a, &rp.v);
    let direct = exact.exact(
        0,
        &Factors {
            age_years: 62.0,
            delivery: 1.3,
            matrix: 0.9,
            barrier: 1.1,
        },
    );
    let folded = exact.exact(
        0,
        &Factors {
            age_years: 45.0,
            delivery: 1.3,
            matrix: 0.9 * age(62.0) / age(45.0),
            barrier: 1.1,
        },
    );
    let fold_error = direct
        .iter()
        .flatten()
        .zip(folded.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f64, f64::max);
    eprintln!("age folded into the matrix multiplier: largest error {fold_error:.4} pp");
    assert!(fold_error < 0.1, "{direct:?} vs {folded:?}");

    // Grid interpolation against exact runs for participants across the population.
    let grid = ModelResponder::new(&model_trial(ResponseMode::Grid), tp, rp).unwrap();
    assert!(grid.uses_grid());
    // The vehicle arm's response does not move with the delivery: one node on that axis.
    let [d, m, b] = exoskin_trials::sim::GRID_NODES;
    assert_eq!(grid.grid_runs(), d * m * b + m * b);
    let mut r = exoskin_trials::rng::Rng::for_participant(77, 0, 0);
    let mut worst: f64 = 0.0;
    let mut scale: f64 = 0.0;
    for _ in 0..25 {
        let f = Factors {
            age_years: 30.0 + 35.0 * r.uniform(),
            delivery: r.lognormal_cv(0.5) * r.lognormal_cv(0.1),
            matrix: r.lognormal_cv(0.3),
            barrier: r.lognormal_cv(0.3),
        };
        for arm in 0..2 {
            let (e, g) = (exact.exact(arm, &f), grid.visit_pcts(arm, &f));
            for (x, y) in e.iter().zip(&g) {
                for d in 0..N_DRIVERS {
                    worst = worst.max((x[d] - y[d]).abs());
                    scale = scale.max(x[d].abs());
                }
            }
        }
    }
    // Percentage points; the outcomes themselves reach several percent.
    assert!(
        scale > 1.0,
        "the test scenario should move the outcomes ({scale})"
    );
    assert!(
        worst < 0.05 * scale.max(1.0) && worst < 0.3,
        "grid error {worst} pp (largest outcome {scale} %)"
    );
    eprintln!(
        "grid vs exact: largest error {worst:.4} percentage points, largest outcome {scale:.2} %"
    );
}

#[test]
fn model_power_rises_with_n() {
    // Microneedling against untreated skin (parallel groups): the procedure remodels the
    // skin, so the pore-area difference is real and power must rise with n.
    let mut trial = exoskin_trials::load_trial(&data().join("mn_vs_untreated_trial.toml"))
        .expect("test trial loads");
    trial.response = ResponseMode::Grid;
    let responder = ModelResponder::new(
        &trial,
        TransportParams::defaults(),
        ResponseParams::defaults(),
    )
    .unwrap();
    let p: Vec<f64> = [6, 24, 96]
        .iter()
        .map(|&n| power_at(&trial, &responder, n, 200).rate)
        .collect();
    assert!(p[0] < p[1] && p[1] < p[2], "{p:?}");
    let r = simulate(&trial, 40, 1, &responder);
    assert!(primary_p(&trial, &r, 0, 2, trial.primary).is_finite());
}

#[test]
fn bundled_trials_load() {
    let dir = repo().join("trials");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            exoskin_trials::load_trial(&p).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 3);
}

fn err(text: &str) -> String {
    parse_trial(text, "bad.toml", &data())
        .expect_err("should fail")
        .to_string()
}

/// A two-arm split-face trial that validates (each test changes one thing in it).
const GOOD: &str = include_str!("data/two_arm_split_face.toml");

#[test]
fn bad_trial_files_point_at_file_line_column_and_key() {
    assert!(parse_trial(GOOD, "good.toml", &data()).is_ok());
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "participants = 20",
            "participants = 1",
            &[
                "bad.toml:3:16",
                "`trial.participants`",
                "allowed range 2 to",
            ],
        ),
        (
            "design = \"split_face\"",
            "design = \"latin_square\"",
            &["bad.toml:2:10", "`trial.design`", "split_face", "crossover"],
        ),
        (
            "visits_days = [0, 28]",
            "visits_days = [0, 28, 14]",
            &["bad.toml:5:23", "`trial.visits_days[2]`", "increasing"],
        ),
        (
            "visits_days = [0, 28]",
            "visits_days = [3, 28]",
            &["bad.toml:5:16", "baseline, day 0"],
        ),
        (
            "instrument = \"corneometer\"",
            "instrument = \"tewameter\"",
            &["bad.toml:19:14", "`endpoints[0].instrument`", "corneometer"],
        ),
        (
            "name = \"hydration\"",
            "name = \"glow\"",
            &["bad.toml:18:8", "`endpoints[0].name`", "unknown endpoint"],
        ),
        (
            "role = \"vehicle\"",
            "role = \"treatment\"",
            &["bad.toml:", "`arms`", "control"],
        ),
        (
            "role = \"vehicle\"",
            "role = \"sham\"",
            &["bad.toml:14:8", "`arms[1].role`"],
        ),
        (
            "seed = 1",
            "seed = 1\ncolour = \"red\"",
            &["bad.toml:5:1", "unknown field `colour`"],
        ),
        (
            "scenario = \"mn_short.toml\"",
            "scenario = \"missing.toml\"",
            &["bad.toml:10:12", "`arms[0].scenario`", "cannot read"],
        ),
        (
            "scenario = \"mn_short_vehicle.toml\"",
            "scenario = \"../../../../scenarios/claims/untreated.toml\"",
            &["`arms[1].scenario`", "split-face"],
        ),
        (
            "[[endpoints]]",
            "[population]\ndropout_pct = 95.0\n\n[[endpoints]]",
            &["bad.toml:18:15", "`population.dropout_pct`", "0 to 90"],
        ),
    ];
    for (from, to, wants) in cases {
        let text = GOOD.replacen(from, to, 1);
        assert_ne!(text, GOOD, "{from}");
        let e = err(&text);
        for w in *wants {
            assert!(e.contains(w), "{to}: `{e}` lacks `{w}`");
        }
    }
    // An error inside an arm's scenario points into that scenario file.
    std::fs::write(
        std::env::temp_dir().join("exoskin_bad_arm.toml"),
        std::fs::read_to_string(data().join("mn_short.toml"))
            .unwrap()
            .replace("dose_ul_per_cm2 = 2.0", "dose_ul_per_cm2 = -2.0"),
    )
    .unwrap();
    let text = GOOD.replacen(
        "scenario = \"mn_short.toml\"",
        &format!(
            "scenario = {:?}",
            std::env::temp_dir()
                .join("exoskin_bad_arm.toml")
                .display()
                .to_string()
        ),
        1,
    );
    let e = err(&text);
    assert!(
        e.contains("exoskin_bad_arm.toml:11:19") && e.contains("product.dose_ul_per_cm2"),
        "{e}"
    );
}

#[test]
fn model_trial_without_a_true_effect_rejects_at_about_alpha() {
    // Both sides get the vehicle: any difference is participant and instrument noise.
    let text = std::fs::read_to_string(data().join("mn_trial.toml"))
        .unwrap()
        .replacen(
            "scenario = \"mn_short.toml\"",
            "scenario = \"mn_short_vehicle.toml\"",
            1,
        );
    let mut trial = parse_trial(&text, "null.toml", &data()).unwrap();
    trial.response = ResponseMode::Grid;
    let responder = ModelResponder::new(
        &trial,
        TransportParams::defaults(),
        ResponseParams::defaults(),
    )
    .unwrap();
    // 1000 trials: binomial SD 0.007 at alpha 0.05.
    let rate = power_at(&trial, &responder, 20, 1000).rate;
    eprintln!("model null trial (n = 20, 1000 trials): rejection rate {rate}");
    assert!((0.03..=0.07).contains(&rate), "null rejection rate {rate}");
}

/// Changes nothing: every reading is the person's baseline times instrument noise.
struct NoChange {
    visits: usize,
}

impl Responder for NoChange {
    fn visit_pcts(&self, _arm: usize, _f: &Factors) -> VisitPcts {
        vec![[0.0; N_DRIVERS]; self.visits]
    }
}

#[test]
fn visits_are_read_before_the_procedure_of_their_day() {
    // Microneedling at days 0 and 14 (with EV serum) vs no procedure; visits on both session
    // days and between them.
    let text = r#"
[trial]
design = "parallel"
participants = 40
seed = 5
visits_days = [0, 7, 14, 28]
response = "exact"

[[arms]]
name = "microneedling"
role = "treatment"
scenario = "mn_two_sessions.toml"

[[arms]]
name = "vehicle"
role = "vehicle"
scenario = "mn_short_vehicle.toml"

[[endpoints]]
name = "tewl"
instrument = "tewameter"

[[endpoints]]
name = "hydration"
instrument = "corneometer"
"#;
    let trial = parse_trial(text, "<visit timing>", &data()).expect("trial parses");
    let (tp, rp) = (TransportParams::defaults(), ResponseParams::defaults());
    let model = ModelResponder::new(&trial, tp, rp).unwrap();
    let r = simulate(&trial, trial.participants, trial.seed, &model);
    let unchanged = simulate(
        &trial,
        trial.participants,
        trial.seed,
        &NoChange { visits: 4 },
    );
    // Day 0: every participant's reading is their baseline (the same draws, instrument
    // noise included, as a trial in which nothing changes), not the injured barrier
    // (TEWL 25-60 g/m2/h right after microneedling, where normal is about 15).
    for p in 0..r.participants {
        for e in 0..2 {
            assert_eq!(
                r.get(p, 0, 0, e).to_bits(),
                unchanged.get(p, 0, 0, e).to_bits(),
                "participant {p} endpoint {e}"
            );
        }
    }

    // Day 14, the second session: the skin just before it. Reference: the response with
    // only the sessions before day 14, whose value at day 14 is the exact left limit.
    let arm = &trial.arms[0].scenario;
    let sim = exoskin_response::try_simulate_in_vivo(arm, tp, rp).unwrap();
    let f = Factors {
        age_years: arm.skin.age_years,
        delivery: 1.0,
        matrix: 1.0,
        barrier: 1.0,
    };
    let got = model.exact(0, &f);
    let series_at = |v: &exoskin_model::InVivo, day: f64| {
        let o = exoskin_response::respond(
            v,
            &sim.transport,
            sim.wound.as_ref(),
            sim.channel.as_ref(),
            1.0,
            rp,
        );
        let k = o
            .series
            .times_d
            .iter()
            .position(|&t| (t - day).abs() < 1e-9)
            .expect("daily series");
        (o.series.tewl_pct[k], o.series.hydration_pct[k])
    };
    let mut before = arm.clone();
    before.sessions_h.retain(|&h| h < 14.0 * 24.0);
    assert_eq!(arm.sessions_h.len(), 2, "{:?}", arm.sessions_h);
    let (tewl_before, hyd_before) = series_at(&before, 14.0);
    let (tewl_after, _) = series_at(arm, 14.0);
    // TEWL percent change from baseline (driver 1), hydration (driver 0).
    let (tewl, hyd) = (got[2][1], got[2][0]);
    assert!(
        tewl_after - tewl_before > 20.0,
        "the session should open the barrier: {tewl_before} % before, {tewl_after} % after"
    );
    // The reading extrapolates the days before the session: within 0.1 percentage points
    // of the exact limit (the session's own jump is over 20 points; 0.02 seen).
    assert!(
        (tewl - tewl_before).abs() < 0.1 && (hyd - hyd_before).abs() < 0.1,
        "day 14: TEWL {tewl} % (just before the session {tewl_before} %), hydration {hyd} % ({hyd_before} %)"
    );
    eprintln!(
        "day 14: TEWL {tewl:.3} % read, {tewl_before:.3} % just before, {tewl_after:.3} % just after; hydration {hyd:.3} % vs {hyd_before:.3} %"
    );
}

#[test]
fn trial_errors_carry_structured_fields() {
    let text = GOOD.replacen("role = \"vehicle\"", "role = \"sham\"", 1);
    match parse_trial(&text, "bad.toml", &data()) {
        Err(exoskin_trials::TrialError::File {
            file,
            line,
            column,
            field,
            allowed,
            ..
        }) => {
            assert_eq!(
                (file.as_str(), line, column, field.as_deref()),
                ("bad.toml", Some(14), Some(8), Some("arms[1].role"))
            );
            assert_eq!(
                &*allowed,
                ["treatment", "vehicle", "placebo", "untreated", "reference"]
            );
        }
        other => panic!("{other:?}"),
    }
    match exoskin_trials::load_trial(Path::new("/nonexistent/trial.toml")) {
        Err(e @ exoskin_trials::TrialError::Read { .. }) => {
            assert!(e
                .to_string()
                .contains("/nonexistent/trial.toml: cannot read"))
        }
        other => panic!("{other:?}"),
    }
}

/// The coarse grid of assurance's model draws against exact runs, for participants drawn
/// across each bundled trial's population: its largest error on any outcome, in reading
/// units, is a small fraction of the least noisy instrument's noise, and not far from the
/// full grid's.
#[test]
fn the_assurance_grid_interpolates_bundled_trials_well_below_instrument_noise() {
    use exoskin_trials::sim::{ASSURANCE_GRID_NODES, GRID_NODES};
    use exoskin_trials::spec::AgeDistribution;
    let tp = TransportParams::defaults();
    let rp = ResponseParams::defaults();
    for (path, mut trial) in bundled_trials() {
        trial.response = ResponseMode::Exact;
        let exact = ModelResponder::new(&trial, tp, rp).unwrap();
        trial.response = ResponseMode::Grid;
        let fine = ModelResponder::new_study_on(&trial, tp, rp, 0.0, GRID_NODES).unwrap();
        let coarse =
            ModelResponder::new_study_on(&trial, tp, rp, 0.0, ASSURANCE_GRID_NODES).unwrap();
        // The least noisy instrument's noise, in percentage points of the outcome.
        let noise_pp = trial
            .endpoints
            .iter()
            .map(|e| 100.0 * e.instrument.noise_cv / e.instrument.coupling.abs().max(1e-9))
            .fold(f64::INFINITY, f64::min);
        let p = &trial.population;
        let (amin, amax) = match p.age_years {
            AgeDistribution::Uniform { min, max } | AgeDistribution::Normal { min, max, .. } => {
                (min, max)
            }
        };
        let mut r = exoskin_trials::rng::Rng::for_participant(11, 0, 0);
        let (mut worst_fine, mut worst_coarse): (f64, f64) = (0.0, 0.0);
        for _ in 0..40 {
            let f = Factors {
                age_years: amin + (amax - amin) * r.uniform(),
                delivery: r.lognormal_cv(p.delivery_cv) * r.lognormal_cv(p.side_cv),
                matrix: r.lognormal_cv(p.matrix_response_cv),
                barrier: r.lognormal_cv(p.barrier_response_cv),
            };
            for arm in 0..trial.arms.len() {
                let e = exact.exact(arm, &f);
                let (g, c) = (fine.visit_pcts(arm, &f), coarse.visit_pcts(arm, &f));
                for ((x, y), z) in e
                    .iter()
                    .flatten()
                    .zip(g.iter().flatten())
                    .zip(c.iter().flatten())
                {
                    worst_fine = worst_fine.max((x - y).abs());
                    worst_coarse = worst_coarse.max((x - z).abs());
                }
            }
        }
        eprintln!(
            "{}: grid error {worst_fine:.4} pp (full), {worst_coarse:.4} pp (assurance); least instrument noise {noise_pp:.2} pp",
            path.display()
        );
        assert!(
            worst_fine < 0.03 * noise_pp,
            "{}: the grid errs by {worst_fine} pp, noise {noise_pp} pp",
            path.display()
        );
        assert!(
            worst_coarse < 0.1 * noise_pp,
            "{}: the assurance grid errs by {worst_coarse} pp, noise {noise_pp} pp",
            path.display()
        );
    }
}

/// Power draws only the readings its test reads: on every bundled trial, those readings are
/// the full simulation's bit for bit, the rest are NaN, and the primary p-value is the same.
#[test]
fn power_draws_only_the_readings_its_test_reads_and_they_are_the_full_ones() {
    use exoskin_trials::sim::{simulate_needed, Needed};
    let tp = TransportParams::defaults();
    let rp = ResponseParams::defaults();
    for (path, mut trial) in bundled_trials() {
        trial.response = ResponseMode::Grid;
        let responder = ModelResponder::new(&trial, tp, rp).unwrap();
        let last = trial.visits_days.len() - 1;
        let needed = Needed::primary(&trial, last);
        let arm = trial.treatments()[0];
        for seed in [1u64, 2, 3] {
            let full = simulate(&trial, 14, seed, &responder);
            let part = simulate_needed(&trial, 14, seed, &responder, &needed);
            let mut kept = 0;
            for (i, (a, b)) in full.values.iter().zip(&part.values).enumerate() {
                let e = i % full.endpoints;
                let k = (i / full.endpoints) % full.visits;
                if needed.endpoints[e] && needed.visits[k] {
                    assert_eq!(a.to_bits(), b.to_bits(), "{}: reading {i}", path.display());
                    kept += usize::from(a.is_finite());
                } else {
                    assert!(b.is_nan(), "{}: reading {i} drawn", path.display());
                }
            }
            assert!(kept > 0);
            let (pa, pb) = (
                primary_p(&trial, &full, arm, last, trial.primary),
                primary_p(&trial, &part, arm, last, trial.primary),
            );
            assert_eq!(pa.to_bits(), pb.to_bits(), "{}", path.display());
        }
    }
}

/// Every bundled trial file (trials/*.toml), read.
fn bundled_trials() -> Vec<(PathBuf, Trial)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(repo().join("trials")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) == Some("toml") {
            let trial = exoskin_trials::load_trial(&path).unwrap();
            out.push((path, trial));
        }
    }
    assert!(out.len() >= 5, "the bundled trials are read");
    out
}

/// Where the arms' transport ignores the response parameters (intact skin, microneedling),
/// runs made under one set of response parameters serve another exactly: the responder is
/// the one built from scratch, bit for bit (what assurance's paired draws rely on).
#[test]
fn arm_runs_under_other_response_parameters_serve_exactly_where_transport_ignores_them() {
    use exoskin_trials::sim::GRID_NODES;
    let tp = TransportParams::defaults();
    let rp = ResponseParams::defaults();
    let trial = model_trial(ResponseMode::Exact);
    assert!(ModelResponder::transport_ignores_response(&trial));
    let mut other = rp.clone();
    for (name, factor) in [
        ("remodelling_per_injury", 1.7),
        ("reepithelialization_age_slowing_per_year", 2.0),
        ("ev_barrier_effect", 0.5),
    ] {
        let v = other.value(name).unwrap();
        other.set(name, v * factor).unwrap();
    }
    let runs = ModelResponder::arm_runs(&trial, tp, rp).unwrap();
    let shared = ModelResponder::from_runs(&trial, runs, &other, 0.4, GRID_NODES);
    let fresh = ModelResponder::new_study_on(&trial, tp, &other, 0.4, GRID_NODES).unwrap();
    let f = Factors {
        age_years: 58.0,
        delivery: 1.2,
        matrix: 0.8,
        barrier: 1.3,
    };
    for arm in 0..trial.arms.len() {
        let (a, b) = (shared.exact(arm, &f), fresh.exact(arm, &f));
        assert!(
            a.iter()
                .flatten()
                .zip(b.iter().flatten())
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "arm {arm}"
        );
        // And the other parameters moved the response.
        let base = ModelResponder::new(&trial, tp, rp).unwrap().exact(arm, &f);
        assert!(a
            .iter()
            .flatten()
            .zip(base.iter().flatten())
            .any(|(x, y)| x != y));
    }
    // A laser's wound closes the channels the transport runs through: not shareable.
    let co2 = exoskin_trials::load_trial(&repo().join("trials/co2_split_face.toml")).unwrap();
    assert!(!ModelResponder::transport_ignores_response(&co2));
}
