//! Sobol and Morris indices against functions whose indices are known exactly.

use exoskin_uq::{FirstOrderEstimator, MorrisDesign, SaltelliDesign, SobolIndex, UqError};
use std::f64::consts::PI;

/// Ishigami function on inputs uniform in [-pi, pi]^3, mapped from the unit cube.
fn ishigami(u: &[f64], a: f64, b: f64) -> f64 {
    let x: Vec<f64> = u.iter().map(|v| -PI + 2.0 * PI * v).collect();
    x[0].sin() + a * x[1].sin().powi(2) + b * x[2].powi(4) * x[0].sin()
}

/// Analytic first and total indices of Ishigami (Sobol & Levitan 1999).
fn ishigami_exact(a: f64, b: f64) -> ([f64; 3], [f64; 3]) {
    let pi4 = PI.powi(4);
    let pi8 = PI.powi(8);
    let v1 = 0.5 * (1.0 + b * pi4 / 5.0).powi(2);
    let v2 = a * a / 8.0;
    let v13 = b * b * pi8 * (1.0 / 18.0 - 1.0 / 50.0);
    let v = v1 + v2 + v13;
    ([v1 / v, v2 / v, 0.0], [(v1 + v13) / v, v2 / v, v13 / v])
}

/// Sobol g-function: prod_i (|4 x_i - 2| + a_i) / (1 + a_i).
fn g_function(x: &[f64], a: &[f64]) -> f64 {
    x.iter()
        .zip(a)
        .map(|(x, a)| ((4.0 * x - 2.0).abs() + a) / (1.0 + a))
        .product()
}

fn g_exact(a: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let vi: Vec<f64> = a
        .iter()
        .map(|a| 1.0 / (3.0 * (1.0 + a) * (1.0 + a)))
        .collect();
    let v = vi.iter().map(|v| 1.0 + v).product::<f64>() - 1.0;
    let first = vi.iter().map(|x| x / v).collect();
    let total = vi
        .iter()
        .enumerate()
        .map(|(i, x)| {
            x * vi
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, v)| 1.0 + v)
                .product::<f64>()
                / v
        })
        .collect();
    (first, total)
}

const G_A: [f64; 6] = [0.0, 1.0, 4.5, 9.0, 99.0, 99.0];

/// Each analytic value lies in its bootstrap interval and within `tol` of the estimate.
fn check(name: &str, idx: &[SobolIndex], first: &[f64], total: &[f64], tol: f64) {
    for (j, s) in idx.iter().enumerate() {
        println!(
            "{name} x{}: S {:.4} [{:.4}, {:.4}] exact {:.4} | ST {:.4} [{:.4}, {:.4}] exact {:.4}",
            j + 1,
            s.first_order,
            s.first_order_ci95[0],
            s.first_order_ci95[1],
            first[j],
            s.total_order,
            s.total_order_ci95[0],
            s.total_order_ci95[1],
            total[j]
        );
        let inside = |ci: [f64; 2], v: f64| ci[0] <= v && v <= ci[1];
        assert!(
            inside(s.first_order_ci95, first[j]),
            "{name} S_{j}: {s:?} vs {}",
            first[j]
        );
        assert!(
            inside(s.total_order_ci95, total[j]),
            "{name} ST_{j}: {s:?} vs {}",
            total[j]
        );
        assert!((s.first_order - first[j]).abs() < tol, "{name} S_{j}");
        assert!((s.total_order - total[j]).abs() < tol, "{name} ST_{j}");
    }
}

#[test]
fn ishigami_indices_match_analytic() {
    let (a, b) = (7.0, 0.1);
    let design = SaltelliDesign::new(1 << 13, 3, 2024).unwrap();
    let y: Vec<f64> = design.points().iter().map(|p| ishigami(p, a, b)).collect();
    let idx = design.indices(&y, 500, 7).unwrap();
    let (first, total) = ishigami_exact(a, b);
    // Absolute tolerance 0.02 at N = 2^13 (the intervals are about +-0.02 wide).
    check("ishigami", &idx, &first, &total, 0.02);
    let alt = design
        .indices_with(&y, 500, 7, FirstOrderEstimator::Saltelli2010)
        .unwrap();
    for (j, s) in alt.iter().enumerate() {
        assert!(
            (s.first_order - first[j]).abs() < 0.03,
            "Saltelli 2010 S_{j} = {}",
            s.first_order
        );
        // Both first-order choices share the same (Jansen) total index.
        assert!((s.total_order - idx[j].total_order).abs() < 1e-12);
    }
}

#[test]
fn g_function_indices_match_analytic() {
    let design = SaltelliDesign::new(1 << 13, 6, 99).unwrap();
    let y: Vec<f64> = design
        .points()
        .iter()
        .map(|p| g_function(p, &G_A))
        .collect();
    let idx = design.indices(&y, 500, 3).unwrap();
    let (first, total) = g_exact(&G_A);
    check("g", &idx, &first, &total, 0.02);
}

#[test]
fn design_layout_is_salib_order() {
    let d = SaltelliDesign::new(8, 3, 1).unwrap();
    let p = d.points();
    assert_eq!(p.len(), 8 * 5);
    for i in 0..8 {
        let blk = &p[i * 5..(i + 1) * 5];
        let (a, b) = (&blk[0], &blk[4]);
        for j in 0..3 {
            for k in 0..3 {
                let want = if k == j { b[k] } else { a[k] };
                assert_eq!(blk[1 + j][k], want);
            }
        }
    }
    assert!(p.iter().flatten().all(|&x| x > 0.0 && x < 1.0));
}

#[test]
fn indices_are_deterministic() {
    let d = SaltelliDesign::new(256, 3, 5).unwrap();
    let y: Vec<f64> = d.points().iter().map(|p| ishigami(p, 7.0, 0.1)).collect();
    assert_eq!(
        d.indices(&y, 200, 1).unwrap(),
        d.indices(&y, 200, 1).unwrap()
    );
    assert_ne!(
        d.indices(&y, 200, 1).unwrap(),
        d.indices(&y, 200, 2).unwrap()
    );
}

#[test]
fn bad_outputs_are_errors() {
    let d = SaltelliDesign::new(16, 2, 0).unwrap();
    let mut y = vec![1.0; d.points().len()];
    assert!(matches!(
        d.indices(&y, 100, 0),
        Err(UqError::ZeroVariance { rows: 16 })
    ));
    y[5] = 2.0;
    y[17] = f64::NAN;
    assert!(matches!(
        d.indices(&y, 100, 0),
        Err(UqError::NonFiniteOutput { row: 17, .. })
    ));
    assert!(matches!(
        d.indices(&y[1..], 100, 0),
        Err(UqError::OutputLength {
            expected: 64,
            got: 63
        })
    ));
    y[17] = 1.0;
    assert!(matches!(
        d.indices(&y, 10, 0),
        Err(UqError::InvalidArgument { .. })
    ));
    assert!(SaltelliDesign::new(1, 2, 0).is_err());
    assert!(SaltelliDesign::new(4, 129, 0).is_err());
    let m = MorrisDesign::new(4, 2, 4, 0).unwrap();
    let mut y = vec![0.0; m.points().len()];
    y[3] = f64::INFINITY;
    assert!(matches!(
        m.indices(&y),
        Err(UqError::NonFiniteOutput { row: 3, .. })
    ));
    assert!(MorrisDesign::new(1, 2, 4, 0).is_err());
    assert!(MorrisDesign::new(4, 2, 3, 0).is_err());
}

#[test]
fn morris_is_exact_on_a_linear_function() {
    // f = sum c_j x_j: every elementary effect of input j is c_j.
    let c = [3.0, -1.5, 0.0, 0.25];
    let m = MorrisDesign::new(10, 4, 6, 8).unwrap();
    let y: Vec<f64> = m
        .points()
        .iter()
        .map(|p| p.iter().zip(&c).map(|(x, c)| x * c).sum())
        .collect();
    for (j, s) in m.indices(&y).unwrap().iter().enumerate() {
        assert!((s.mu - c[j]).abs() < 1e-12);
        assert!((s.mu_star - c[j].abs()).abs() < 1e-12);
        assert!(s.sigma < 1e-12);
    }
}

#[test]
fn morris_trajectories_move_one_input_by_delta() {
    let m = MorrisDesign::new(20, 5, 4, 3).unwrap();
    let p = m.points();
    assert_eq!(p.len(), 20 * 6);
    for t in 0..20 {
        let mut moved = [false; 5];
        for s in 0..5 {
            let (a, b) = (&p[t * 6 + s], &p[t * 6 + s + 1]);
            let diff: Vec<usize> = (0..5).filter(|&j| a[j] != b[j]).collect();
            assert_eq!(diff.len(), 1);
            assert!(((a[diff[0]] - b[diff[0]]).abs() - m.delta()).abs() < 1e-15);
            assert!(!moved[diff[0]]);
            moved[diff[0]] = true;
        }
    }
    assert!(p.iter().flatten().all(|&x| x > 0.0 && x < 1.0));
}

#[test]
fn morris_ranks_g_function_inputs() {
    // The smaller a_i, the more important x_i: mu_star must fall strictly along
    // a = 0, 1, 4.5, 9 and the two a = 99 inputs must be negligible.
    let m = MorrisDesign::new(64, 6, 4, 12).unwrap();
    let y: Vec<f64> = m.points().iter().map(|p| g_function(p, &G_A)).collect();
    let idx = m.indices(&y).unwrap();
    for (j, s) in idx.iter().enumerate() {
        println!(
            "g x{}: mu* {:.4} [{:.4}, {:.4}] mu {:.4} sigma {:.4}",
            j + 1,
            s.mu_star,
            s.mu_star_ci95[0],
            s.mu_star_ci95[1],
            s.mu,
            s.sigma
        );
        assert!(s.mu_star_ci95[0] <= s.mu_star && s.mu_star <= s.mu_star_ci95[1]);
    }
    for j in 0..3 {
        assert!(
            idx[j].mu_star_ci95[0] > idx[j + 1].mu_star_ci95[1],
            "x{} vs x{}",
            j + 1,
            j + 2
        );
    }
    for j in 4..6 {
        assert!(idx[j].mu_star < 0.05 * idx[0].mu_star);
    }
}
