//! The band factorizations on ill-conditioned SPD matrices shaped like production's: a
//! finite-volume diffusion step `C / dt + K` on a grid whose cells' capacities (volume times
//! partition coefficient) and whose faces' conductances span 1e-6 to 1e3, as the skin's
//! partitions do (stratum corneum lipids against viable tissue, film against dermis). For
//! every kernel (bandwidths 1, 2, 3 and wide, one system and several) the normwise backward
//! error of factor-and-solve, `|b - A x| / (|A| |x| + |b|)` in the infinity norm, stays
//! within `8 (bw + 1) n eps`, the rounding error a backward-stable Cholesky is allowed
//! (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., 2002, section 10.1).
//! The worst backward error observed and the diagonal's spread reached are printed.

use exoskin_transport::banded::BandedBatch;

/// A small deterministic generator (xorshift64*), so the matrices are the same every run.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Log-uniform on [1e-6, 1e3].
    fn contrast(&mut self) -> f64 {
        10f64.powf(-6.0 + 9.0 * self.next())
    }
}

/// `k` systems of `n` rows, bandwidth `bw`: cell i couples to i + 1 and, where `bw > 1`, to
/// i + bw (the next column of a grid numbered by columns), each with its own conductance.
fn diffusion_step(n: usize, bw: usize, k: usize, dt: f64, g: &mut Gen) -> BandedBatch {
    let mut a = BandedBatch::try_zeros(n, bw, k).unwrap();
    for s in 0..k {
        for i in 0..n {
            a.add(s, i, i, g.contrast() / dt);
        }
        for i in 0..n {
            for j in [i + 1, i + bw] {
                if j < n && j != i && (j == i + 1 || bw > 1) {
                    let c = g.contrast();
                    a.add(s, i, i, c);
                    a.add(s, j, j, c);
                    a.add(s, i, j, -c);
                }
            }
        }
    }
    a
}

fn inf_norm_of(a: &BandedBatch, s: usize, n: usize) -> f64 {
    // |A|_inf, bounded above by 2 max a_ii: the matrices are diagonally dominant with a
    // positive diagonal (each off-diagonal conductance is also added to both diagonals), so a
    // row's sum of |a_ij| is at most twice its diagonal. The diagonal is read by applying A
    // to unit vectors; the bound makes the backward error reported slightly smaller, never
    // larger, than with the exact norm (at most by a factor 2).
    let mut e = vec![0.0; n];
    let mut y = vec![0.0; n];
    let mut best: f64 = 0.0;
    for i in 0..n {
        e.iter_mut().for_each(|v| *v = 0.0);
        e[i] = 1.0;
        a.mul(s, &e, &mut y);
        best = best.max(2.0 * y[i]);
    }
    best
}

#[test]
fn factor_and_solve_are_backward_stable_on_partition_contrasts_of_1e9() {
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    let eps = f64::EPSILON;
    let mut worst: f64 = 0.0;
    let mut largest_spread: f64 = 0.0;
    for &(n, bw, k) in &[
        (40, 1, 1), // twisted tridiagonal (a Franz cell, one class)
        (40, 1, 4), // a membrane stack, four classes
        (60, 2, 1), // skin with a follicle column, one class
        (60, 2, 6), // six classes
        (60, 3, 3),
        (90, 9, 1), // the (r, z) grid: wide kernels
        (120, 17, 4),
    ] {
        for dt in [1e-3, 1.0, 24.0] {
            let a = diffusion_step(n, bw, k, dt, &mut g);
            let mut f = a.clone();
            f.factor().expect("SPD by construction");
            // Right-hand sides of very different scales per system, row i of system s at
            // [i * k + s].
            let b: Vec<f64> = (0..n * k)
                .map(|_| g.contrast() * (g.next() - 0.3))
                .collect();
            let mut x = b.clone();
            f.solve(&mut x);
            for s in 0..k {
                let xs: Vec<f64> = (0..n).map(|i| x[i * k + s]).collect();
                let bs: Vec<f64> = (0..n).map(|i| b[i * k + s]).collect();
                let mut ax = vec![0.0; n];
                a.mul(s, &xs, &mut ax);
                let r = ax
                    .iter()
                    .zip(&bs)
                    .map(|(p, q)| (p - q).abs())
                    .fold(0.0, f64::max);
                let norm_a = inf_norm_of(&a, s, n);
                let norm_x = xs.iter().map(|v| v.abs()).fold(0.0, f64::max);
                let norm_b = bs.iter().map(|v| v.abs()).fold(0.0, f64::max);
                let backward = r / (norm_a * norm_x + norm_b);
                let bound = 8.0 * (bw + 1) as f64 * n as f64 * eps;
                assert!(
                    backward.is_finite() && backward <= bound,
                    "n {n} bw {bw} k {k} dt {dt} system {s}: backward error {backward:e} > {bound:e}"
                );
                worst = worst.max(backward);
                // The diagonal's spread (a lower bound on the condition number's scale).
                let mut e = vec![0.0; n];
                let mut y = vec![0.0; n];
                let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
                for i in 0..n {
                    e.iter_mut().for_each(|v| *v = 0.0);
                    e[i] = 1.0;
                    a.mul(s, &e, &mut y);
                    lo = lo.min(y[i]);
                    hi = hi.max(y[i]);
                }
                largest_spread = largest_spread.max(hi / lo);
            }
        }
    }
    eprintln!(
        "band factorizations: worst normwise backward error {worst:.1e} (eps {eps:.1e}); diagonal spread up to {largest_spread:.1e}"
    );
    // The matrices are as ill-scaled as production's (contrasts of 1e9 and more).
    assert!(largest_spread > 1e8, "{largest_spread:e}");
}

#[test]
fn the_band_factor_reconstructs_a_by_solving_unit_vectors() {
    // A_s x = e_j for every j gives A^-1 column by column; A (A^-1 e_j) must return e_j to
    // within the backward-error bound scaled by |A| |A^-1 e_j|: a reconstruction check of the
    // factors (L L^T = A) that does not depend on how the factors are stored.
    let mut g = Gen(7);
    for &(n, bw, k) in &[(30, 1, 1), (30, 2, 3), (40, 9, 2)] {
        let a = diffusion_step(n, bw, k, 1.0, &mut g);
        let mut f = a.clone();
        f.factor().unwrap();
        for j in 0..n {
            let mut x = vec![0.0; n * k];
            for s in 0..k {
                x[j * k + s] = 1.0;
            }
            f.solve(&mut x);
            for s in 0..k {
                let xs: Vec<f64> = (0..n).map(|i| x[i * k + s]).collect();
                let mut y = vec![0.0; n];
                a.mul(s, &xs, &mut y);
                let norm_a = inf_norm_of(&a, s, n);
                let norm_x = xs.iter().map(|v| v.abs()).fold(0.0, f64::max);
                let tol = 8.0 * (bw + 1) as f64 * n as f64 * f64::EPSILON * (norm_a * norm_x + 1.0);
                for (i, v) in y.iter().enumerate() {
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!(
                        (v - want).abs() <= tol,
                        "n {n} bw {bw} s {s} column {j} row {i}: {v} vs {want} (tol {tol:e})"
                    );
                }
            }
        }
    }
}
