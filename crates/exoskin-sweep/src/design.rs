//! Sample designs over the unit cube: Sobol points and Latin hypercubes.
//!
//! Sobol points come from `sobol_burley` (Owen-scrambled, Burley 2020), seeded. The Latin
//! hypercube is a few lines of our own: each dimension is cut into `n` equal strata, a
//! seeded permutation assigns one stratum to each point, and the point sits uniformly at
//! random inside it. The generator is `Xoshiro256PlusPlus` seeded from the spec's `seed`,
//! so the design is a function of (n, dimensions, seed) alone.

use rand_xoshiro::rand_core::{Rng as _, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// The most dimensions a Sobol design may have (the table `sobol_burley` ships).
pub const SOBOL_MAX_DIMENSIONS: usize = sobol_burley::NUM_DIMENSIONS as usize;

/// `n` scrambled Sobol points in `[0, 1)^dims` (`dims <= SOBOL_MAX_DIMENSIONS`, `n <= 2^32`).
pub fn sobol(n: usize, dims: usize, seed: u64) -> Vec<Vec<f64>> {
    // The scrambling seed is 32 bits: fold the spec's 64-bit seed into it.
    let seed32 = (seed ^ (seed >> 32)) as u32;
    (0..n)
        .map(|i| {
            (0..dims)
                .map(|d| f64::from(sobol_burley::sample(i as u32, d as u32, seed32)))
                .collect()
        })
        .collect()
}

/// `n` points of a Latin hypercube in `[0, 1)^dims`: in every dimension each of the `n`
/// strata `[k/n, (k+1)/n)` holds exactly one point.
pub fn lhs(n: usize, dims: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut points = vec![vec![0.0; dims]; n];
    for d in 0..dims {
        let mut perm: Vec<usize> = (0..n).collect();
        // Fisher-Yates, with an unbiased-enough bounded draw (n is far below 2^32).
        for k in (1..n).rev() {
            let j = ((u128::from(rng.next_u64()) * (k as u128 + 1)) >> 64) as usize;
            perm.swap(k, j);
        }
        for (k, p) in points.iter_mut().enumerate() {
            let u = (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
            p[d] = (perm[k] as f64 + u) / n as f64;
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lhs_puts_one_point_in_every_stratum_of_every_dimension() {
        for (n, dims) in [(1, 1), (7, 3), (100, 5)] {
            let pts = lhs(n, dims, 42);
            for d in 0..dims {
                let mut seen = vec![false; n];
                for p in &pts {
                    assert!((0.0..1.0).contains(&p[d]));
                    let k = (p[d] * n as f64).floor() as usize;
                    assert!(!seen[k], "stratum {k} twice in dim {d}");
                    seen[k] = true;
                }
            }
        }
        assert_eq!(lhs(50, 4, 9), lhs(50, 4, 9));
        assert_ne!(lhs(50, 4, 9), lhs(50, 4, 10));
    }

    #[test]
    fn sobol_points_are_balanced_in_every_dimension() {
        // A (t, m, s)-net property every scrambled Sobol sequence keeps: the first 2^m
        // points put exactly 2^m / 2^k of them in each of the 2^k equal intervals of one
        // dimension (k <= m).
        let pts = sobol(256, 6, 3);
        for d in 0..6 {
            let mut counts = [0usize; 16];
            for p in &pts {
                assert!((0.0..1.0).contains(&p[d]));
                counts[(p[d] * 16.0) as usize] += 1;
            }
            assert!(counts.iter().all(|c| *c == 16), "dim {d}: {counts:?}");
        }
        assert_eq!(sobol(16, 2, 1), sobol(16, 2, 1));
    }
}
