//! The sampler on posteriors known in closed form, and the diagnostics on chains whose
//! effective size or mixing is known.

use exoskin_uq::diagnostics::ess_mean;
use exoskin_uq::{ess_bulk, ess_tail, sample, split_rhat, McmcConfig, McmcResult, UqError};
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use statrs::distribution::{ContinuousCDF, Gamma};

/// Monte Carlo standard error of the mean of `f` over the draws (through `ess_mean`).
fn mean_and_mcse(r: &McmcResult, f: impl Fn(&[f64]) -> f64) -> (f64, f64) {
    let chains: Vec<Vec<f64>> = r
        .chains
        .iter()
        .map(|c| c.iter().map(|x| f(x)).collect())
        .collect();
    let all: Vec<f64> = chains.iter().flatten().copied().collect();
    let n = all.len() as f64;
    let m = all.iter().sum::<f64>() / n;
    let var = all.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, (var / ess_mean(&chains).unwrap()).sqrt())
}

/// `E f` is `want` within 4 Monte Carlo standard errors.
fn expect(r: &McmcResult, what: &str, want: f64, f: impl Fn(&[f64]) -> f64) {
    let (m, se) = mean_and_mcse(r, f);
    println!("{what}: {m:.4} +- {se:.4} (exact {want:.4})");
    assert!(
        (m - want).abs() < 4.0 * se,
        "{what}: {m} vs {want}, MCSE {se}"
    );
}

fn converged(r: &McmcResult, min_ess: f64) {
    println!(
        "R-hat {:?}, ESS bulk {:?}, ESS tail {:?}, acceptance {:.3}",
        r.r_hat, r.ess_bulk, r.ess_tail, r.acceptance
    );
    for j in 0..r.r_hat.len() {
        assert!(r.r_hat[j] < 1.01, "R-hat {}", r.r_hat[j]);
        assert!(r.ess_bulk[j] > min_ess && r.ess_tail[j] > min_ess);
    }
}

fn starts(k: usize, d: usize, spread: f64) -> Vec<Vec<f64>> {
    (0..k)
        .map(|c| {
            (0..d)
                .map(|j| spread * ((c * d + j) as f64 * 0.618).sin())
                .collect()
        })
        .collect()
}

#[test]
fn correlated_gaussian() {
    // Mean (1, -2), sds (1, 2), correlation 0.8.
    let (m, s, rho) = ([1.0, -2.0], [1.0, 2.0], 0.8);
    let logp = |x: &[f64]| {
        let (a, b) = ((x[0] - m[0]) / s[0], (x[1] - m[1]) / s[1]);
        -(a * a - 2.0 * rho * a * b + b * b) / (2.0 * (1.0 - rho * rho))
    };
    let cfg = McmcConfig {
        draws: 3000,
        warmup: 1500,
        seed: 42,
        ..Default::default()
    };
    let r = sample(logp, &starts(4, 2, 3.0), &cfg).unwrap();
    converged(&r, 800.0);
    expect(&r, "E x", m[0], |x| x[0]);
    expect(&r, "E y", m[1], |x| x[1]);
    expect(&r, "Var x", s[0] * s[0], |x| (x[0] - m[0]).powi(2));
    expect(&r, "Var y", s[1] * s[1], |x| (x[1] - m[1]).powi(2));
    expect(&r, "Cov", rho * s[0] * s[1], |x| {
        (x[0] - m[0]) * (x[1] - m[1])
    });
    // Tail probabilities: P(x < m - 1.645 s) = 0.05 and P(y > m + 1.645 s) = 0.05.
    expect(&r, "P(x < q05)", 0.05, |x| {
        f64::from(u8::from(x[0] < m[0] - 1.6448536 * s[0]))
    });
    expect(&r, "P(y > q95)", 0.05, |x| {
        f64::from(u8::from(x[1] > m[1] + 1.6448536 * s[1]))
    });
    assert!(
        r.acceptance > 0.15 && r.acceptance < 0.35,
        "acceptance {}",
        r.acceptance
    );
}

#[test]
fn banana() {
    // x ~ N(0, 1), y | x ~ N(x^2 - 1, 1): E y = 0, Var y = 1 + Var(x^2) = 3, Cov = 0,
    // E[x^2 y] = E[x^4 - x^2] = 2.
    let logp = |v: &[f64]| {
        let (x, y) = (v[0], v[1]);
        -0.5 * x * x - 0.5 * (y - x * x + 1.0).powi(2)
    };
    let cfg = McmcConfig {
        draws: 20000,
        warmup: 2000,
        seed: 7,
        ..Default::default()
    };
    let r = sample(logp, &starts(4, 2, 1.0), &cfg).unwrap();
    converged(&r, 1500.0);
    expect(&r, "E x", 0.0, |v| v[0]);
    expect(&r, "E y", 0.0, |v| v[1]);
    expect(&r, "Var x", 1.0, |v| v[0] * v[0]);
    expect(&r, "Var y", 3.0, |v| v[1] * v[1]);
    expect(&r, "E x^2 y", 2.0, |v| v[0] * v[0] * v[1]);
}

#[test]
fn gamma_with_a_hard_boundary() {
    // Gamma(shape 3, rate 2) on x > 0; the density is zero (log-density -inf) below 0,
    // so proposals there must be rejected.
    let logp = |x: &[f64]| {
        if x[0] > 0.0 {
            2.0 * x[0].ln() - 2.0 * x[0]
        } else {
            f64::NEG_INFINITY
        }
    };
    let cfg = McmcConfig {
        draws: 4000,
        warmup: 1000,
        seed: 3,
        ..Default::default()
    };
    let r = sample(logp, &[vec![0.5], vec![1.0], vec![2.0], vec![4.0]], &cfg).unwrap();
    converged(&r, 1000.0);
    assert!(r.chains.iter().flatten().all(|x| x[0] > 0.0));
    let g = Gamma::new(3.0, 2.0).unwrap();
    expect(&r, "mean", 1.5, |x| x[0]);
    expect(&r, "variance", 0.75, |x| (x[0] - 1.5).powi(2));
    for p in [0.05, 0.5, 0.95] {
        let q = g.inverse_cdf(p);
        expect(&r, &format!("P(x <= q{p})"), p, |x| {
            f64::from(u8::from(x[0] <= q))
        });
    }
}

#[test]
fn chains_stuck_in_separate_modes_are_flagged() {
    // Two well separated modes at -10 and +10, two chains started in each: a random walk
    // never crosses, so each pair of chains sees a different distribution.
    let logp = |x: &[f64]| {
        let a = -0.5 * (x[0] + 10.0).powi(2);
        let b = -0.5 * (x[0] - 10.0).powi(2);
        a.max(b) + (1.0 + (a.min(b) - a.max(b)).exp()).ln()
    };
    let cfg = McmcConfig {
        draws: 1000,
        warmup: 500,
        seed: 1,
        ..Default::default()
    };
    let init = [vec![-10.0], vec![-9.0], vec![10.0], vec![9.0]];
    let r = sample(logp, &init, &cfg).unwrap();
    println!("stuck chains: R-hat {:?}", r.r_hat);
    assert!(r.r_hat[0] > 1.1);
}

fn iid_chains(m: usize, n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..m)
        .map(|_| (0..n).map(|_| StandardNormal.sample(&mut rng)).collect())
        .collect()
}

#[test]
fn diagnostics_on_known_chains() {
    // Independent draws: ESS close to the number of draws, R-hat close to 1.
    let iid = iid_chains(4, 1000, 5);
    let (b, t, r) = (
        ess_bulk(&iid).unwrap(),
        ess_tail(&iid).unwrap(),
        split_rhat(&iid).unwrap(),
    );
    println!("iid: ESS bulk {b:.0}, tail {t:.0} of 4000; R-hat {r:.4}");
    assert!((3400.0..4600.0).contains(&b), "bulk {b}");
    assert!((3000.0..5000.0).contains(&t), "tail {t}");
    assert!(r < 1.01);

    // AR(1) with phi = 0.9: ESS / n = (1 - phi) / (1 + phi) = 0.0526.
    let phi: f64 = 0.9;
    let ar: Vec<Vec<f64>> = iid_chains(4, 20000, 6)
        .into_iter()
        .map(|e| {
            let mut x = 0.0;
            e.into_iter()
                .map(|z| {
                    x = phi * x + (1.0 - phi * phi).sqrt() * z;
                    x
                })
                .collect()
        })
        .collect();
    let want = 80000.0 * (1.0 - phi) / (1.0 + phi);
    let got = ess_mean(&ar).unwrap();
    println!("AR(1): ESS {got:.0}, exact {want:.0}");
    assert!((got / want - 1.0).abs() < 0.15);

    // Chains from N(0, 1) and N(1, 1): not the same distribution.
    let mut shifted = iid_chains(4, 1000, 7);
    shifted[2].iter_mut().for_each(|x| *x += 1.0);
    shifted[3].iter_mut().for_each(|x| *x += 1.0);
    assert!(split_rhat(&shifted).unwrap() > 1.1);

    // A chain that drifts (its halves differ) is caught by splitting, even alone.
    let drift: Vec<f64> = (0..1000).map(|i| i as f64 / 100.0).collect();
    assert!(split_rhat(&[drift]).unwrap() > 1.1);

    // Scale and tail: the folded R-hat sees chains that differ only in spread.
    let mut wide = iid_chains(4, 2000, 8);
    wide[0].iter_mut().for_each(|x| *x *= 3.0);
    assert!(split_rhat(&wide).unwrap() > 1.05);
}

#[test]
fn deterministic_on_any_number_of_threads() {
    let logp = |x: &[f64]| -0.5 * (x[0] * x[0] + x[1] * x[1] / 4.0);
    let cfg = McmcConfig {
        draws: 200,
        warmup: 200,
        seed: 11,
        ..Default::default()
    };
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| sample(logp, &starts(4, 2, 1.0), &cfg).unwrap())
    };
    let (a, b) = (run(1), run(3));
    assert_eq!(a.chains, b.chains);
    assert_eq!(a.r_hat, b.r_hat);
    let other = sample(
        logp,
        &starts(4, 2, 1.0),
        &McmcConfig {
            seed: 12,
            ..cfg.clone()
        },
    )
    .unwrap();
    assert_ne!(a.chains, other.chains);
}

#[test]
fn bad_input_is_an_error() {
    let logp = |x: &[f64]| if x[0] > 0.0 { -x[0] } else { f64::NEG_INFINITY };
    let cfg = McmcConfig::default();
    assert!(matches!(
        sample(logp, &[vec![1.0], vec![-1.0]], &cfg),
        Err(UqError::NonFiniteInitial { chain: 1, .. })
    ));
    assert!(matches!(
        sample(logp, &[vec![1.0], vec![1.0, 2.0]], &cfg),
        Err(UqError::DimensionMismatch {
            chain: 1,
            expected: 1,
            got: 2
        })
    ));
    assert!(sample(logp, &[], &cfg).is_err());
    assert!(sample(
        logp,
        &[vec![1.0]],
        &McmcConfig {
            draws: 3,
            ..cfg.clone()
        }
    )
    .is_err());
    assert!(ess_bulk(&[vec![1.0, 2.0, 3.0]]).is_err());
    assert!(ess_bulk(&[vec![1.0, 2.0, 3.0, 4.0], vec![1.0, 2.0, 3.0]]).is_err());
    assert!(split_rhat(&[vec![1.0, f64::NAN, 3.0, 4.0]]).is_err());
}

// Elliptical slice sampling: the same known posteriors, started from a reference that is
// wrong in place and scale (the warm-up must re-estimate it), and one in 26 dimensions
// like the calibration's, where it must beat the random walk per evaluation.

use exoskin_uq::{sample_elliptical, EllipticalConfig};
use nalgebra::DMatrix;

fn elliptical(
    logp: impl Fn(&[f64]) -> f64 + Sync,
    d: usize,
    draws: usize,
    warmup: usize,
    seed: u64,
) -> McmcResult {
    // Reference: centred 1 off in every coordinate, 3 times too wide, uncorrelated.
    let mean = vec![1.0; d];
    let cov = DMatrix::identity(d, d) * 9.0;
    let cfg = EllipticalConfig {
        draws,
        warmup,
        seed,
        ..Default::default()
    };
    // Starts between 1 and 3 in every coordinate.
    let init: Vec<Vec<f64>> = starts(4, d, 1.0)
        .into_iter()
        .map(|x| x.into_iter().map(|v| v + 2.0).collect())
        .collect();
    sample_elliptical(logp, &init, &cfg, &mean, &cov).unwrap()
}

#[test]
fn elliptical_correlated_gaussian_and_banana() {
    let (m, s, rho) = ([1.0, -2.0], [1.0, 2.0], 0.8);
    let logp = |x: &[f64]| {
        let (a, b) = ((x[0] - m[0]) / s[0], (x[1] - m[1]) / s[1]);
        -(a * a - 2.0 * rho * a * b + b * b) / (2.0 * (1.0 - rho * rho))
    };
    let r = elliptical(logp, 2, 3000, 1000, 42);
    converged(&r, 1500.0);
    expect(&r, "E x", m[0], |x| x[0]);
    expect(&r, "E y", m[1], |x| x[1]);
    expect(&r, "Var y", s[1] * s[1], |x| (x[1] - m[1]).powi(2));
    expect(&r, "Cov", rho * s[0] * s[1], |x| {
        (x[0] - m[0]) * (x[1] - m[1])
    });
    expect(&r, "P(y > q95)", 0.05, |x| {
        f64::from(u8::from(x[1] > m[1] + 1.6448536 * s[1]))
    });
    assert_eq!(r.acceptance, 1.0, "every iteration moves");
    let banana = |v: &[f64]| {
        let (x, y) = (v[0], v[1]);
        -0.5 * x * x - 0.5 * (y - x * x + 1.0).powi(2)
    };
    let r = elliptical(banana, 2, 8000, 1000, 7);
    converged(&r, 600.0);
    expect(&r, "E y", 0.0, |v| v[1]);
    expect(&r, "Var y", 3.0, |v| v[1] * v[1]);
    expect(&r, "E x^2 y", 2.0, |v| v[0] * v[0] * v[1]);
}

#[test]
fn elliptical_respects_a_hard_boundary() {
    // Gamma(shape 3, rate 2) on x > 0: mean 1.5, variance 0.75, P(x < 0.5) = 0.0803.
    let logp = |x: &[f64]| {
        if x[0] > 0.0 {
            2.0 * x[0].ln() - 2.0 * x[0]
        } else {
            f64::NEG_INFINITY
        }
    };
    let r = elliptical(logp, 1, 4000, 1000, 3);
    converged(&r, 1000.0);
    assert!(r.chains.iter().flatten().all(|x| x[0] > 0.0));
    expect(&r, "E x", 1.5, |x| x[0]);
    expect(&r, "Var x", 0.75, |x| (x[0] - 1.5).powi(2));
    let p = Gamma::new(3.0, 2.0).unwrap().cdf(0.5);
    expect(&r, "P(x < 0.5)", p, |x| f64::from(u8::from(x[0] < 0.5)));
}

#[test]
fn elliptical_beats_the_random_walk_in_26_dimensions() {
    // A Gaussian with sds from 0.01 to 10 and correlations up to 0.9 (an AR(1) structure
    // on a shuffled order), the calibration's dimension. Same evaluations for both.
    let d = 26;
    let sd: Vec<f64> = (0..d)
        .map(|j| 10f64.powf(-2.0 + 3.0 * j as f64 / 25.0))
        .collect();
    let rho: f64 = 0.9;
    // Precision of an AR(1) correlation matrix: tridiagonal.
    let prec = |i: usize, j: usize| -> f64 {
        let r2 = 1.0 - rho * rho;
        if i == j {
            if i == 0 || i == d - 1 {
                1.0 / r2
            } else {
                (1.0 + rho * rho) / r2
            }
        } else if i.abs_diff(j) == 1 {
            -rho / r2
        } else {
            0.0
        }
    };
    let logp = |x: &[f64]| {
        let z: Vec<f64> = x.iter().zip(&sd).map(|(v, s)| v / s).collect();
        let mut q = 0.0;
        for i in 0..d {
            for j in i.saturating_sub(1)..(i + 2).min(d) {
                q += z[i] * prec(i, j) * z[j];
            }
        }
        -0.5 * q
    };
    // First reference: the right variances twice too wide in sd, no correlation, centred
    // one sd off (a Laplace approximation is closer than this).
    let cfg = EllipticalConfig {
        draws: 2000,
        warmup: 4000,
        seed: 11,
        ..Default::default()
    };
    let diag = DMatrix::from_diagonal(&nalgebra::DVector::from_iterator(
        d,
        sd.iter().map(|s| s * s),
    ));
    let r = sample_elliptical(logp, &starts(4, d, 0.0), &cfg, &sd, &(&diag * 4.0)).unwrap();
    converged(&r, 400.0);
    let per_eval = r.ess_bulk.iter().cloned().fold(f64::INFINITY, f64::min) / r.evaluations as f64;
    // The random walk with the same evaluations, started at the mode with the true
    // diagonal as its first proposal.
    let evals_per_chain = r.evaluations / 4;
    let cfg = McmcConfig {
        draws: evals_per_chain / 2,
        warmup: evals_per_chain / 2,
        seed: 11,
        initial_scale: 1.0,
        ..Default::default()
    };
    let rw =
        exoskin_uq::sample_preconditioned(logp, &starts(4, d, 0.0), &cfg, Some(&diag)).unwrap();
    let rw_per_eval =
        rw.ess_bulk.iter().cloned().fold(f64::INFINITY, f64::min) / rw.evaluations as f64;
    println!("min bulk ESS per evaluation: elliptical {per_eval:.4}, random walk {rw_per_eval:.4}");
    assert!(per_eval > 3.0 * rw_per_eval);
    // The variances are right: each within 4 MCSE (estimated through the bulk ESS).
    for j in [0, 12, 25] {
        expect(&r, "Var", sd[j] * sd[j], |x| x[j] * x[j]);
    }
}

#[test]
fn elliptical_is_the_same_on_any_thread_count_and_refuses_bad_references() {
    let logp = |x: &[f64]| -0.5 * (x[0] * x[0] + 4.0 * x[1] * x[1]);
    let run = || elliptical(logp, 2, 200, 100, 5);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(run);
    let many = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap()
        .install(run);
    assert_eq!(one.chains, many.chains);
    let cfg = EllipticalConfig::default();
    let init = starts(2, 2, 1.0);
    let not_pd = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
    assert!(matches!(
        sample_elliptical(logp, &init, &cfg, &[0.0, 0.0], &not_pd),
        Err(UqError::InvalidArgument {
            name: "covariance",
            ..
        })
    ));
    let eye = DMatrix::identity(2, 2);
    assert!(matches!(
        sample_elliptical(logp, &init, &cfg, &[0.0], &eye),
        Err(UqError::InvalidArgument {
            name: "reference mean",
            ..
        })
    ));
    let narrow = EllipticalConfig {
        inflation: 0.5,
        ..cfg
    };
    assert!(matches!(
        sample_elliptical(logp, &init, &narrow, &[0.0, 0.0], &eye),
        Err(UqError::InvalidArgument {
            name: "inflation",
            ..
        })
    ));
}
