//! Symmetric positive-definite banded matrices: Cholesky factorization and solves.
//!
//! Storage is the lower band, row by row: entry (i, j) with `i - bw <= j <= i` lives at
//! `i * (bw + 1) + (i - j)`. Factorization costs `n bw^2` flops, a solve `2 n bw`; the
//! finite-volume systems here have `bw = 2` (1D with a follicle column, interleaved) or the
//! number of radial cells (2D, row-major).

/// A symmetric banded matrix (lower band stored) that can be factored in place.
#[derive(Debug, Clone)]
pub struct BandedSpd {
    n: usize,
    bw: usize,
    a: Vec<f64>,
}

/// The factorization failed: the matrix is not positive definite (a defect in assembly).
#[derive(Debug, Clone, PartialEq)]
pub struct NotPositiveDefinite {
    pub row: usize,
}

impl BandedSpd {
    pub fn zeros(n: usize, bw: usize) -> Self {
        BandedSpd {
            n,
            bw,
            a: vec![0.0; n * (bw + 1)],
        }
    }

    pub fn n(&self) -> usize {
        self.n
    }

    pub fn bandwidth(&self) -> usize {
        self.bw
    }

    /// Reset all entries to zero, keeping the shape.
    pub fn clear(&mut self) {
        self.a.iter_mut().for_each(|x| *x = 0.0);
    }

    #[inline]
    fn idx(&self, i: usize, j: usize) -> usize {
        debug_assert!(j <= i && i - j <= self.bw);
        i * (self.bw + 1) + (i - j)
    }

    /// Add `v` to entry (i, j) (and by symmetry (j, i)).
    #[inline]
    pub fn add(&mut self, i: usize, j: usize, v: f64) {
        let (i, j) = if i >= j { (i, j) } else { (j, i) };
        let k = self.idx(i, j);
        self.a[k] += v;
    }

    /// y = A x, with A as currently stored (call before factoring).
    pub fn mul(&self, x: &[f64], y: &mut [f64]) {
        y.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..self.n {
            let j0 = i.saturating_sub(self.bw);
            for j in j0..=i {
                let v = self.a[self.idx(i, j)];
                y[i] += v * x[j];
                if j != i {
                    y[j] += v * x[i];
                }
            }
        }
    }

    /// Cholesky factorization in place: A = L L^T, L stored in the band.
    pub fn factor(&mut self) -> Result<(), NotPositiveDefinite> {
        let bw = self.bw;
        for i in 0..self.n {
            let j0 = i.saturating_sub(bw);
            for j in j0..=i {
                let mut s = self.a[self.idx(i, j)];
                let k0 = j0.max(j.saturating_sub(bw));
                for k in k0..j {
                    s -= self.a[self.idx(i, k)] * self.a[self.idx(j, k)];
                }
                if j == i {
                    if !(s > 0.0) || !s.is_finite() {
                        return Err(NotPositiveDefinite { row: i });
                    }
                    let k = self.idx(i, i);
                    self.a[k] = s.sqrt();
                } else {
                    let k = self.idx(i, j);
                    self.a[k] = s / self.a[self.idx(j, j)];
                }
            }
        }
        Ok(())
    }

    /// Solve L L^T x = b in place (after [`factor`](Self::factor)).
    pub fn solve(&self, b: &mut [f64]) {
        let bw = self.bw;
        for i in 0..self.n {
            let mut s = b[i];
            for k in i.saturating_sub(bw)..i {
                s -= self.a[self.idx(i, k)] * b[k];
            }
            b[i] = s / self.a[self.idx(i, i)];
        }
        for i in (0..self.n).rev() {
            let mut s = b[i];
            for k in (i + 1)..(i + bw + 1).min(self.n) {
                s -= self.a[self.idx(k, i)] * b[k];
            }
            b[i] = s / self.a[self.idx(i, i)];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_random_spd_band_system_to_rounding() {
        // Deterministic pseudo-random SPD band matrix (diagonally dominant).
        let n = 57;
        let bw = 5;
        let mut a = BandedSpd::zeros(n, bw);
        let mut seed = 12345u64;
        let mut rnd = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        for i in 0..n {
            a.add(i, i, 10.0);
            for j in i.saturating_sub(bw)..i {
                a.add(i, j, rnd());
            }
        }
        let x: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
        let mut b = vec![0.0; n];
        a.mul(&x, &mut b);
        let mut f = a.clone();
        f.factor().unwrap();
        f.solve(&mut b);
        for i in 0..n {
            // Tolerance: a few eps times the condition (about 2 here) times |x|.
            assert!((b[i] - x[i]).abs() < 1e-13, "{i}: {} vs {}", b[i], x[i]);
        }
    }

    #[test]
    fn rejects_an_indefinite_matrix() {
        let mut a = BandedSpd::zeros(2, 1);
        a.add(0, 0, 1.0);
        a.add(1, 1, 1.0);
        a.add(1, 0, 2.0);
        assert_eq!(a.factor(), Err(NotPositiveDefinite { row: 1 }));
    }
}
