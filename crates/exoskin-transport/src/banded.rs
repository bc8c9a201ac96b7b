//! Batches of symmetric positive-definite banded matrices: Cholesky factorization and solves.
//!
//! Every size class of vesicles has its own matrix on the same grid, so the classes are
//! factored and solved together, the class index innermost: the serial dependency chain of a
//! triangular solve then runs across independent systems at once (instruction-level
//! parallelism and SIMD over classes), the "substrates solved together as vectors" idea of
//! BioFVM. Storage: entry (i, j) of system s, `i - bw <= j <= i`, lives at
//! `((i * (bw + 1) + (j + bw - i)) * k + s)`. Factorization costs `k n bw^2` flops, a solve
//! `2 k n bw`; here `bw = 1` (a membrane stack), `bw = 2` (1D with a follicle column,
//! interleaved) or the shorter side of the (r, z) grid (its radial rings plus one, or its
//! depth rows; see `invivo::Axisym`). One tridiagonal system (a Franz cell with one size
//! class) is factored twisted instead, from both ends at once, so that its solve runs two
//! serial chains of half the length side by side.
//! These kernels are the product's inner loop, kept here rather than taken from a sparse
//! solver crate: batches of a few systems with the class index innermost are not a layout
//! those crates offer, and the band's fill is complete anyway on these grids.

use crate::error::TransportError;

/// `k` symmetric banded matrices of size `n` and bandwidth `bw` (lower band stored).
#[derive(Debug, Clone)]
pub struct BandedBatch {
    n: usize,
    bw: usize,
    k: usize,
    a: Vec<f64>,
    /// Reciprocals of the factors' diagonals (multiplications replace divisions on the
    /// solves' dependency chain).
    inv: Vec<f64>,
    /// For one system of bandwidth 2, after factoring: the backward sweep's
    /// multipliers (see `scale_factors`); empty otherwise.
    back: Vec<f64>,
    dot: Vec<f64>,
}

/// The factorization failed: a matrix is not positive definite (a defect in assembly).
#[derive(Debug, Clone, PartialEq)]
pub struct NotPositiveDefinite {
    pub system: usize,
    pub row: usize,
}

impl BandedBatch {
    /// `k` zero systems of `n` rows and half-bandwidth `bw`; fails with
    /// [`TransportError::OutOfMemory`] instead of aborting when the memory cannot be had.
    pub fn try_zeros(n: usize, bw: usize, k: usize) -> Result<Self, TransportError> {
        Ok(BandedBatch {
            n,
            bw,
            k,
            a: try_zeroed(
                n.saturating_mul(bw + 1).saturating_mul(k),
                "the band factors",
            )?,
            inv: try_zeroed(n.saturating_mul(k), "the band factors")?,
            back: Vec::new(),
            dot: vec![0.0; k],
        })
    }

    pub fn n(&self) -> usize {
        self.n
    }

    pub fn bandwidth(&self) -> usize {
        self.bw
    }

    pub fn systems(&self) -> usize {
        self.k
    }

    /// Reset all entries to zero, keeping the shape.
    pub fn clear(&mut self) {
        self.a.iter_mut().for_each(|x| *x = 0.0);
    }

    #[inline]
    fn at(&self, i: usize, j: usize) -> usize {
        debug_assert!(j <= i && i - j <= self.bw);
        (i * (self.bw + 1) + (j + self.bw - i)) * self.k
    }

    /// Add `v` to entry (i, j) (and by symmetry (j, i)) of system `s`.
    #[inline]
    pub fn add(&mut self, s: usize, i: usize, j: usize, v: f64) {
        let (i, j) = if i >= j { (i, j) } else { (j, i) };
        let p = self.at(i, j) + s;
        self.a[p] += v;
    }

    /// Entry (i, j), `j <= i`, of every system: a slice of length `k`, system s at `[s]`.
    #[inline]
    pub fn entry_mut(&mut self, i: usize, j: usize) -> &mut [f64] {
        let p = self.at(i, j);
        &mut self.a[p..p + self.k]
    }

    /// y = A_s x for system `s`, as currently stored (call before factoring).
    pub fn mul(&self, s: usize, x: &[f64], y: &mut [f64]) {
        y.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..self.n {
            for j in i.saturating_sub(self.bw)..=i {
                let v = self.a[self.at(i, j) + s];
                y[i] += v * x[j];
                if j != i {
                    y[j] += v * x[i];
                }
            }
        }
    }

    /// Factorization of every system in place: Cholesky, A_s = L_s L_s^T, except one
    /// tridiagonal system, which is factored twisted (see
    /// [`factor_twisted`](Self::factor_twisted)); the stored entries then hold the factors,
    /// in the form the solves use, not A_s.
    ///
    /// The narrow bands of the 1D geometries (1: a membrane stack, 2: skin with a follicle
    /// column), and a single system, get their own copies of the kernel with the bandwidth
    /// (and the system count) a constant, so the loops over the band unroll and the index
    /// arithmetic folds away; wider bands use the same code with both read at run time.
    pub fn factor(&mut self) -> Result<(), NotPositiveDefinite> {
        match (self.bw, self.k) {
            (1, 1) => return self.factor_twisted(),
            (2, 1) => self.factor_band(2, 1),
            (0, k) => self.factor_band(0, k),
            (1, k) => self.factor_band(1, k),
            (2, k) => self.factor_band(2, k),
            (3, k) => self.factor_band(3, k),
            _ => self.factor_wide(),
        }?;
        if self.scaled() {
            self.scale_factors();
        }
        Ok(())
    }

    /// Solve A_s x_s = b_s with the factors of every system in place (after
    /// [`factor`](Self::factor)); `b[i * k + s]` is row i of system s. Specialised as
    /// `factor` is.
    pub fn solve(&self, b: &mut [f64]) {
        match (self.bw, self.k) {
            (1, 1) => self.solve_twisted(b),
            (2, 1) => self.solve_single::<2>(b),
            (0, k) => self.solve_band(0, k, b),
            (1, k) => self.solve_band(1, k, b),
            (2, k) => self.solve_band(2, k, b),
            (3, k) => self.solve_band(3, k, b),
            _ => self.solve_wide(b),
        }
    }

    /// The kernels for any bandwidth and system count, compiled on their own (inlined into
    /// the dispatch beside the specialised copies they lost about 40 % of their speed).
    #[inline(never)]
    fn factor_wide(&mut self) -> Result<(), NotPositiveDefinite> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { self.factor_wide_avx2() };
        }
        self.factor_wide_portable()
    }

    /// [`factor_wide_portable`](Self::factor_wide_portable) compiled for AVX2: four systems
    /// per vector instead of two. No fused multiply-add is enabled, so the arithmetic (and
    /// every bit of the factors) is the portable build's.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn factor_wide_avx2(&mut self) -> Result<(), NotPositiveDefinite> {
        self.factor_wide_portable()
    }

    #[inline(always)]
    fn factor_wide_portable(&mut self) -> Result<(), NotPositiveDefinite> {
        match self.k {
            1 => self.factor_classes::<1>(),
            2 => self.factor_classes::<2>(),
            3 => self.factor_classes::<3>(),
            4 => self.factor_classes::<4>(),
            5 => self.factor_classes::<5>(),
            6 => self.factor_classes::<6>(),
            7 => self.factor_classes::<7>(),
            8 => self.factor_classes::<8>(),
            _ => self.factor_band(self.bw, self.k),
        }
    }

    /// The wide-band factorization with the system count a constant `K`: each row's dot
    /// products run over `K` systems at once in registers (fixed-size arrays), which the
    /// compiler vectorizes, two rows at a time (see [`factor_row_pair`](Self::factor_row_pair));
    /// the sums are those of [`factor_band`](Self::factor_band), term for term.
    #[inline(always)]
    fn factor_classes<const K: usize>(&mut self) -> Result<(), NotPositiveDefinite> {
        debug_assert_eq!(K, self.k);
        let mut i = 0;
        while i < self.n {
            if i + 1 < self.n {
                self.factor_row_pair::<K>(i)?;
                i += 2;
            } else {
                self.factor_row::<K>(i)?;
                i += 1;
            }
        }
        Ok(())
    }

    /// Row `i` of the factors, `K` systems at once (left-looking: its entries from the rows
    /// above, then its pivot).
    #[inline(always)]
    fn factor_row<const K: usize>(&mut self, i: usize) -> Result<(), NotPositiveDefinite> {
        let bw = self.bw;
        let w = (bw + 1) * K;
        let j0 = i.saturating_sub(bw);
        let (done, rest) = self.a.split_at_mut(i * w);
        let row = &mut rest[..w];
        for j in j0..i {
            let ri = &row[(j0 + bw - i) * K..(j + bw - i) * K];
            let rj = &done[j * w + (j0 + bw - j) * K..j * w + bw * K];
            let dot = Self::dot::<K>(ri, rj);
            let out = &mut row[(j + bw - i) * K..(j + bw - i + 1) * K];
            Self::finish::<K>(out, &dot, &self.inv[j * K..(j + 1) * K]);
        }
        Self::pivot::<K>(row, bw, j0, i, &mut self.inv[i * K..(i + 1) * K])
    }

    /// `sum_q x_q y_q` over `K`-system chunks, in order, one sum per system.
    #[inline(always)]
    fn dot<const K: usize>(x: &[f64], y: &[f64]) -> [f64; K] {
        let mut d = [0.0; K];
        for (x, y) in x.chunks_exact(K).zip(y.chunks_exact(K)) {
            for s in 0..K {
                d[s] += x[s] * y[s];
            }
        }
        d
    }

    /// An entry of the factor from its dot product: `l_ij = (a_ij - d) / l_jj`.
    #[inline(always)]
    fn finish<const K: usize>(out: &mut [f64], d: &[f64; K], inv_j: &[f64]) {
        for s in 0..K {
            out[s] = (out[s] - d[s]) * inv_j[s];
        }
    }

    /// The pivot of a row whose off-diagonal entries are done: `sqrt(a_ii - sum l_iq^2)`,
    /// with its reciprocal into `inv`.
    #[inline(always)]
    fn pivot<const K: usize>(
        row: &mut [f64],
        bw: usize,
        j0: usize,
        i: usize,
        inv: &mut [f64],
    ) -> Result<(), NotPositiveDefinite> {
        let x = &row[(j0 + bw - i) * K..bw * K];
        let dot = Self::dot::<K>(x, x);
        // All systems checked first, then all square roots: no early exit between them, so
        // they run as vector operations.
        let mut d = [0.0; K];
        let mut bad = false;
        for s in 0..K {
            d[s] = row[bw * K + s] - dot[s];
            bad |= !(d[s].is_finite() && d[s] > 0.0);
        }
        if bad {
            let s = d.iter().position(|v| !(v.is_finite() && *v > 0.0));
            return Err(NotPositiveDefinite {
                system: s.unwrap_or(0),
                row: i,
            });
        }
        for s in 0..K {
            let l = d[s].sqrt();
            row[bw * K + s] = l;
            inv[s] = 1.0 / l;
        }
        Ok(())
    }

    /// Rows `i` and `i + 1` together, against columns `j` and `j + 1` together: each entry
    /// of the two rows and of the two rows above is loaded once for four dot products (one
    /// load per multiply-add instead of one and a half), and the four sums are independent
    /// chains, so the multiply-adds overlap instead of waiting on one another's additions.
    /// Each dot product still sums its terms in the order of [`factor_row`](Self::factor_row) (the
    /// term in column `j` of a column-`j + 1` product comes last, once that entry is done),
    /// so the factors are the same to the last bit.
    #[inline(always)]
    fn factor_row_pair<const K: usize>(&mut self, i: usize) -> Result<(), NotPositiveDefinite> {
        let bw = self.bw;
        let w = (bw + 1) * K;
        let i1 = i + 1;
        let j0 = i.saturating_sub(bw);
        let j1 = i1.saturating_sub(bw);
        let (done, rest) = self.a.split_at_mut(i * w);
        let (row, rest) = rest.split_at_mut(w);
        let row1 = &mut rest[..w];
        let inv = &self.inv;
        // Entry (r, q) of row i, row i + 1 and a finished row j, `K` systems from there.
        let at_i = |q: usize| (q + bw - i) * K;
        let at_i1 = |q: usize| (q + bw - i1) * K;
        let mut j = j0;
        if j0 < j1 && j0 < i {
            // Column j0 lies outside row i + 1's band, and its entry in row i has no terms
            // (row i starts there).
            Self::finish::<K>(
                &mut row[at_i(j0)..at_i(j0) + K],
                &[0.0; K],
                &inv[j0 * K..(j0 + 1) * K],
            );
            j += 1;
        }
        // Now j >= j1: both rows have column j in their band.
        while j + 1 < i {
            let (ja, jb) = (j, j + 1);
            let ra = &done[ja * w..(ja + 1) * w];
            let rb = &done[jb * w..(jb + 1) * w];
            let (mut a0, mut b0, mut a1, mut b1) = ([0.0; K], [0.0; K], [0.0; K], [0.0; K]);
            // Row i's terms before row i + 1's band starts (q = j0 when j1 = j0 + 1).
            for q in j0..j1 {
                for s in 0..K {
                    let x = row[at_i(q) + s];
                    a0[s] += x * ra[(q + bw - ja) * K + s];
                    b0[s] += x * rb[(q + bw - jb) * K + s];
                }
            }
            let n = ja - j1;
            let xi = row[at_i(j1)..at_i(ja)].chunks_exact(K);
            let xi1 = row1[at_i1(j1)..at_i1(ja)].chunks_exact(K);
            let ya = ra[(j1 + bw - ja) * K..bw * K].chunks_exact(K);
            let yb = rb[(j1 + bw - jb) * K..(ja + bw - jb) * K].chunks_exact(K);
            debug_assert!(xi.len() == n && xi1.len() == n && ya.len() == n && yb.len() == n);
            for (((x, x1), y), z) in xi.zip(xi1).zip(ya).zip(yb) {
                for s in 0..K {
                    a0[s] += x[s] * y[s];
                    b0[s] += x[s] * z[s];
                    a1[s] += x1[s] * y[s];
                    b1[s] += x1[s] * z[s];
                }
            }
            let (inv_a, inv_b) = (&inv[ja * K..(ja + 1) * K], &inv[jb * K..(jb + 1) * K]);
            Self::finish::<K>(&mut row[at_i(ja)..at_i(ja) + K], &a0, inv_a);
            Self::finish::<K>(&mut row1[at_i1(ja)..at_i1(ja) + K], &a1, inv_a);
            // The last term of the column-(j + 1) products: the entries just finished.
            let l = &rb[(ja + bw - jb) * K..(ja + bw - jb + 1) * K];
            for s in 0..K {
                b0[s] += row[at_i(ja) + s] * l[s];
                b1[s] += row1[at_i1(ja) + s] * l[s];
            }
            Self::finish::<K>(&mut row[at_i(jb)..at_i(jb) + K], &b0, inv_b);
            Self::finish::<K>(&mut row1[at_i1(jb)..at_i1(jb) + K], &b1, inv_b);
            j += 2;
        }
        if j < i {
            // One column left: both rows against it.
            let rj = &done[j * w..(j + 1) * w];
            let (mut d0, mut d1) = ([0.0; K], [0.0; K]);
            for q in j0..j1 {
                for s in 0..K {
                    d0[s] += row[at_i(q) + s] * rj[(q + bw - j) * K + s];
                }
            }
            let xi = row[at_i(j1)..at_i(j)].chunks_exact(K);
            let xi1 = row1[at_i1(j1)..at_i1(j)].chunks_exact(K);
            let y = rj[(j1 + bw - j) * K..bw * K].chunks_exact(K);
            for ((x, x1), y) in xi.zip(xi1).zip(y) {
                for s in 0..K {
                    d0[s] += x[s] * y[s];
                    d1[s] += x1[s] * y[s];
                }
            }
            let inv_j = &inv[j * K..(j + 1) * K];
            Self::finish::<K>(&mut row[at_i(j)..at_i(j) + K], &d0, inv_j);
            Self::finish::<K>(&mut row1[at_i1(j)..at_i1(j) + K], &d1, inv_j);
        }
        Self::pivot::<K>(row, bw, j0, i, &mut self.inv[i * K..(i + 1) * K])?;
        // Row i + 1's entry in column i, from row i (now done), then its pivot.
        if i >= j1 {
            let ri = &row[(j1 + bw - i) * K..bw * K];
            let ri1 = &row1[(j1 + bw - i1) * K..(i + bw - i1) * K];
            let dot = Self::dot::<K>(ri1, ri);
            let out = &mut row1[(i + bw - i1) * K..(i + bw - i1 + 1) * K];
            Self::finish::<K>(out, &dot, &self.inv[i * K..(i + 1) * K]);
        }
        Self::pivot::<K>(row1, bw, j1, i1, &mut self.inv[i1 * K..(i1 + 1) * K])
    }

    /// See [`factor_wide`](Self::factor_wide).
    #[inline(never)]
    fn solve_wide(&self, b: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { self.solve_wide_avx2(b) };
        }
        self.solve_wide_portable(b)
    }

    /// The solve compiled for AVX2, as [`factor_wide_avx2`](Self::factor_wide_avx2).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn solve_wide_avx2(&self, b: &mut [f64]) {
        self.solve_wide_portable(b)
    }

    #[inline(always)]
    fn solve_wide_portable(&self, b: &mut [f64]) {
        match self.k {
            1 => self.solve_classes::<1>(b),
            2 => self.solve_classes::<2>(b),
            3 => self.solve_classes::<3>(b),
            4 => self.solve_classes::<4>(b),
            5 => self.solve_classes::<5>(b),
            6 => self.solve_classes::<6>(b),
            7 => self.solve_classes::<7>(b),
            8 => self.solve_classes::<8>(b),
            _ => self.solve_band(self.bw, self.k, b),
        }
    }

    /// The wide-band solve with the system count a constant `K`, as
    /// [`factor_classes`](Self::factor_classes) is to the factorization (same arithmetic in
    /// the same order as [`solve_band`](Self::solve_band)).
    #[inline(always)]
    fn solve_classes<const K: usize>(&self, b: &mut [f64]) {
        debug_assert_eq!(K, self.k);
        let (n, bw) = (self.n, self.bw);
        let w = (bw + 1) * K;
        let inv = &self.inv;
        // Row r's entries from column q on, `K` systems each.
        let row_from = |r: usize, q: usize| &self.a[r * w + (q + bw - r) * K..r * w + bw * K];
        // Forward, rows i and i + 1 together: the unknowns above both are loaded once for
        // two independent sums; row i + 1 then takes its term in row i last, as the
        // row-by-row sweep does, so the result is the same to the last bit.
        let mut i = 0;
        while i < n {
            let j0 = i.saturating_sub(bw);
            let (before, tail) = b.split_at_mut(i * K);
            let mut x: [f64; K] = tail[..K].try_into().expect("K entries");
            if i + 1 == n {
                for (l, bq) in row_from(i, j0)
                    .chunks_exact(K)
                    .zip(before[j0 * K..].chunks_exact(K))
                {
                    for s in 0..K {
                        x[s] -= l[s] * bq[s];
                    }
                }
                for s in 0..K {
                    tail[s] = x[s] * inv[i * K + s];
                }
                break;
            }
            let i1 = i + 1;
            let j1 = i1.saturating_sub(bw);
            let mut x1: [f64; K] = tail[K..2 * K].try_into().expect("K entries");
            let (li, li1) = (row_from(i, j0), row_from(i1, j1));
            // Row i's terms before row i + 1's band starts.
            let pre = (j1 - j0) * K;
            for (l, bq) in li[..pre]
                .chunks_exact(K)
                .zip(before[j0 * K..].chunks_exact(K))
            {
                for s in 0..K {
                    x[s] -= l[s] * bq[s];
                }
            }
            let shared = li[pre..].chunks_exact(K).zip(li1.chunks_exact(K));
            for ((l, l1), bq) in shared.zip(before[j1 * K..].chunks_exact(K)) {
                for s in 0..K {
                    x[s] -= l[s] * bq[s];
                    x1[s] -= l1[s] * bq[s];
                }
            }
            let l1i = &li1[(i - j1) * K..(i - j1 + 1) * K];
            for s in 0..K {
                x[s] *= inv[i * K + s];
                tail[s] = x[s];
                x1[s] -= l1i[s] * x[s];
                tail[K + s] = x1[s] * inv[i1 * K + s];
            }
            i += 2;
        }
        // Backward, rows hi and hi - 1 together: row hi's update of row hi - 1 comes first
        // (its unknown needs it), then each unknown above both takes row hi's term and row
        // hi - 1's in that order, loaded and stored once.
        let mut hi = n;
        while hi > 0 {
            hi -= 1;
            let j0 = hi.saturating_sub(bw);
            let (before, tail) = b.split_at_mut(hi * K);
            let mut x = [0.0; K];
            for s in 0..K {
                x[s] = tail[s] * inv[hi * K + s];
                tail[s] = x[s];
            }
            if hi == 0 {
                break;
            }
            let lo = hi - 1;
            let jl = lo.saturating_sub(bw);
            let (lh, ll) = (row_from(hi, j0), row_from(lo, jl));
            let (above, blo) = before.split_at_mut(lo * K);
            // Row hi's entry in column lo, then row lo's unknown.
            let lhl = &lh[(lo - j0) * K..(lo - j0 + 1) * K];
            let mut xl = [0.0; K];
            for s in 0..K {
                blo[s] -= lhl[s] * x[s];
                xl[s] = blo[s] * inv[lo * K + s];
                blo[s] = xl[s];
            }
            // Row lo's band starts up to one column before row hi's.
            let pre = (j0 - jl) * K;
            for (l, bq) in ll[..pre]
                .chunks_exact(K)
                .zip(above[jl * K..].chunks_exact_mut(K))
            {
                for s in 0..K {
                    bq[s] -= l[s] * xl[s];
                }
            }
            let shared = lh[..(lo - j0) * K]
                .chunks_exact(K)
                .zip(ll[pre..].chunks_exact(K));
            for ((l, l1), bq) in shared.zip(above[j0 * K..].chunks_exact_mut(K)) {
                for s in 0..K {
                    bq[s] = (bq[s] - l[s] * x[s]) - l1[s] * xl[s];
                }
            }
            hi = lo;
        }
    }

    /// The factorization kernel for bandwidth `bw` and `k` systems (equal to `self.bw` and
    /// `self.k`); inlined into each arm of [`factor`](Self::factor) so that constants
    /// specialise it.
    #[inline(always)]
    fn factor_band(&mut self, bw: usize, k: usize) -> Result<(), NotPositiveDefinite> {
        debug_assert_eq!((bw, k), (self.bw, self.k));
        let w = (bw + 1) * k;
        for i in 0..self.n {
            let j0 = i.saturating_sub(bw);
            let (done, rest) = self.a.split_at_mut(i * w);
            let row = &mut rest[..w];
            for j in j0..i {
                let cij = j + bw - i;
                self.dot.iter_mut().for_each(|d| *d = 0.0);
                for q in j0..j {
                    let ri = &row[(q + bw - i) * k..(q + bw - i + 1) * k];
                    let rj = &done[j * w + (q + bw - j) * k..j * w + (q + bw - j + 1) * k];
                    for ((d, x), y) in self.dot.iter_mut().zip(ri).zip(rj) {
                        *d += x * y;
                    }
                }
                let inv_j = &self.inv[j * k..(j + 1) * k];
                for ((x, d), iv) in row[cij * k..(cij + 1) * k]
                    .iter_mut()
                    .zip(&self.dot)
                    .zip(inv_j)
                {
                    *x = (*x - d) * iv;
                }
            }
            self.dot.iter_mut().for_each(|d| *d = 0.0);
            for q in j0..i {
                let r = &row[(q + bw - i) * k..(q + bw - i + 1) * k];
                for (d, x) in self.dot.iter_mut().zip(r) {
                    *d += x * x;
                }
            }
            for s in 0..k {
                let d = row[bw * k + s] - self.dot[s];
                if !d.is_finite() || d <= 0.0 {
                    return Err(NotPositiveDefinite { system: s, row: i });
                }
                let l = d.sqrt();
                row[bw * k + s] = l;
                self.inv[i * k + s] = 1.0 / l;
            }
        }
        Ok(())
    }

    /// The solve kernel for bandwidth `bw` and `k` systems, specialised like
    /// [`factor_band`](Self::factor_band). With several systems the serial chain of one
    /// system's sweep overlaps the others'.
    #[inline(always)]
    fn solve_band(&self, bw: usize, k: usize, b: &mut [f64]) {
        debug_assert_eq!((bw, k), (self.bw, self.k));
        let w = (bw + 1) * k;
        for i in 0..self.n {
            let j0 = i.saturating_sub(bw);
            let row = &self.a[i * w..(i + 1) * w];
            let (before, tail) = b.split_at_mut(i * k);
            let bi = &mut tail[..k];
            for q in j0..i {
                let l = &row[(q + bw - i) * k..(q + bw - i + 1) * k];
                for ((x, lv), bq) in bi.iter_mut().zip(l).zip(&before[q * k..(q + 1) * k]) {
                    *x -= lv * bq;
                }
            }
            for (x, iv) in bi.iter_mut().zip(&self.inv[i * k..(i + 1) * k]) {
                *x *= iv;
            }
        }
        for i in (0..self.n).rev() {
            let row = &self.a[i * w..(i + 1) * w];
            let j0 = i.saturating_sub(bw);
            let (before, tail) = b.split_at_mut(i * k);
            let bi = &mut tail[..k];
            for (x, iv) in bi.iter_mut().zip(&self.inv[i * k..(i + 1) * k]) {
                *x *= iv;
            }
            for q in j0..i {
                let l = &row[(q + bw - i) * k..(q + bw - i + 1) * k];
                for ((x, lv), bv) in before[q * k..(q + 1) * k].iter_mut().zip(l).zip(bi.iter()) {
                    *x -= lv * bv;
                }
            }
        }
    }

    /// One system of bandwidth `BW` (2; a tridiagonal one is solved twisted): the serial
    /// chain of each sweep is the whole cost, so the factors are kept scaled by their pivots
    /// (see [`scale_factors`](Self::scale_factors)) and each row adds one multiply-add per
    /// band entry to the chain, with the pivot scalings off it; the last `BW` unknowns ride in
    /// registers instead of a store and a reload per row.
    fn solve_single<const BW: usize>(&self, b: &mut [f64]) {
        debug_assert_eq!((BW, 1), (self.bw, self.k));
        let w = BW + 1;
        // win[BW - 1] is the newest value, win[0] the oldest; zeros stand for rows above 0.
        let mut win = [0.0; BW];
        for (i, (bi, iv)) in b.iter_mut().zip(&self.inv).enumerate() {
            let row = &self.a[i * w..i * w + BW];
            let mut x = *bi * iv;
            for q in 0..BW.min(i) {
                x -= row[BW - 1 - q] * win[BW - 1 - q];
            }
            *bi = x;
            for j in 1..BW {
                win[j - 1] = win[j];
            }
            win[BW - 1] = x;
        }
        for (x, iv) in b.iter_mut().zip(&self.inv) {
            *x *= iv;
        }
        // Backward: row i's multipliers l_iq / l_qq update the BW unknowns above it; the
        // pending updates ride in `win` (win[BW - 1] for row i - 1).
        let mut win = [0.0; BW];
        for i in (0..self.n).rev() {
            let xi = b[i] - win[BW - 1];
            b[i] = xi;
            for j in (1..BW).rev() {
                win[j] = win[j - 1];
            }
            win[0] = 0.0;
            let row = &self.back[i * w..i * w + BW];
            for q in 0..BW.min(i) {
                win[BW - 1 - q] += row[BW - 1 - q] * xi;
            }
        }
    }

    /// Whether the factors are kept scaled, for [`solve_single`](Self::solve_single).
    fn scaled(&self) -> bool {
        self.k == 1 && self.bw == 2
    }

    /// The row where the twisted factorization of one tridiagonal system meets.
    fn twist(&self) -> usize {
        self.n / 2
    }

    /// One tridiagonal system (a membrane stack): a twisted `L D L^T` factorization, taken
    /// from the top down to row `p = n / 2` and from the bottom up to it, so that each
    /// sweep of the solve is two independent serial chains of half the length (the chains
    /// of a tridiagonal solve are its whole cost; both run at once). The pivots are the
    /// Schur complements of leading and trailing principal blocks, positive for an SPD
    /// matrix, so the factorization is as stable as Cholesky's.
    ///
    /// With `e_i = A[i][i-1]`: above p, `d_0 = a_00`, `l_i = e_i / d_(i-1)`,
    /// `d_i = a_ii - l_i e_i`; below p, `f_(n-1) = a`, `u_i = e_i / f_i`,
    /// `f_(i-1) = a - u_i e_i`; at p, `g = a_pp - l_p e_p - u_(p+1) e_(p+1)`. Row i keeps its
    /// multiplier (`l_i` up to p, `u_i` below) in the off-diagonal slot and the pivot's
    /// reciprocal in `inv`.
    fn factor_twisted(&mut self) -> Result<(), NotPositiveDefinite> {
        debug_assert_eq!((self.bw, self.k), (1, 1));
        let n = self.n;
        if n == 0 {
            return Ok(());
        }
        let p = self.twist();
        let pivot = |v: f64, row: usize| {
            if v.is_finite() && v > 0.0 {
                Ok(v)
            } else {
                Err(NotPositiveDefinite { system: 0, row })
            }
        };
        let (a, inv) = (&mut self.a, &mut self.inv);
        // Above the twist: rows 0..p, then row p's multiplier from above and the part of
        // its pivot that the rows above take.
        let mut from_above = 0.0;
        for i in 0..=p {
            let e = if i > 0 { a[2 * i] } else { 0.0 };
            let l = if i > 0 { e * inv[i - 1] } else { 0.0 };
            a[2 * i] = l;
            if i < p {
                inv[i] = 1.0 / pivot(a[2 * i + 1] - l * e, i)?;
            } else {
                from_above = l * e;
            }
        }
        // Below the twist: rows n-1 down to p + 1, each keeping its multiplier to the row
        // above; `from_below` is what row i + 1 takes from row i's pivot.
        let mut from_below = 0.0;
        for i in (p + 1..n).rev() {
            inv[i] = 1.0 / pivot(a[2 * i + 1] - from_below, i)?;
            let e = a[2 * i];
            let u = e * inv[i];
            a[2 * i] = u;
            from_below = u * e;
        }
        inv[p] = 1.0 / pivot(a[2 * p + 1] - from_above - from_below, p)?;
        Ok(())
    }

    /// The solve for [`factor_twisted`](Self::factor_twisted): with `y` from above and `z`
    /// from below, `y_i = b_i - l_i y_(i-1)` and `z_i = b_i - u_(i+1) z_(i+1)` meet in
    /// `x_p = (b_p - l_p y_(p-1) - u_(p+1) z_(p+1)) / g`; then `x_i = y_i / d_i - l_(i+1)
    /// x_(i+1)` upward and `x_i = z_i / f_i - u_i x_(i-1)` downward. The two chains of each
    /// sweep are advanced in the same loop, one multiply and one subtract a row on each.
    fn solve_twisted(&self, b: &mut [f64]) {
        debug_assert_eq!((self.bw, self.k), (1, 1));
        let n = self.n;
        if n == 0 {
            return;
        }
        let p = self.twist();
        let (a, inv) = (&self.a, &self.inv);
        let (top, rest) = b.split_at_mut(p);
        let (mid, bottom) = rest.split_at_mut(1);
        // Inward sweeps: top rows 1..p forward, bottom rows from n - 2 back to p + 1.
        let (mut y, mut z) = (top.first().copied().unwrap_or(0.0), 0.0);
        let nb = bottom.len();
        if nb > 0 {
            z = bottom[nb - 1];
        }
        let both = p.saturating_sub(1).min(nb.saturating_sub(1));
        for j in 0..both {
            let (i, r) = (1 + j, nb - 2 - j);
            y = top[i] - a[2 * i] * y;
            top[i] = y;
            z = bottom[r] - a[2 * (p + 2 + r)] * z;
            bottom[r] = z;
        }
        for i in 1 + both..p {
            y = top[i] - a[2 * i] * y;
            top[i] = y;
        }
        for r in (0..nb.saturating_sub(1 + both)).rev() {
            z = bottom[r] - a[2 * (p + 2 + r)] * z;
            bottom[r] = z;
        }
        // The twist row.
        let mut xp = mid[0];
        if p > 0 {
            xp -= a[2 * p] * y;
        }
        if nb > 0 {
            xp -= a[2 * (p + 1)] * z;
        }
        xp *= inv[p];
        mid[0] = xp;
        // Outward sweeps: rows p - 1 down to 0 and p + 1 up to n - 1.
        let (mut up, mut down) = (xp, xp);
        let both = p.min(nb);
        for j in 0..both {
            let i = p - 1 - j;
            up = top[i] * inv[i] - a[2 * (i + 1)] * up;
            top[i] = up;
            let r = j;
            let row = p + 1 + r;
            down = bottom[r] * inv[row] - a[2 * row] * down;
            bottom[r] = down;
        }
        for i in (0..p - both).rev() {
            up = top[i] * inv[i] - a[2 * (i + 1)] * up;
            top[i] = up;
        }
        for (r, x) in bottom.iter_mut().enumerate().skip(both) {
            let row = p + 1 + r;
            down = *x * inv[row] - a[2 * row] * down;
            *x = down;
        }
    }

    /// After the factorization: keep `l_iq / l_qq` (the backward sweep's multipliers) in
    /// `back` and scale the stored rows to `l_iq / l_ii` (the forward sweep's).
    fn scale_factors(&mut self) {
        let (bw, k) = (self.bw, self.k);
        let w = (bw + 1) * k;
        self.back.resize(self.a.len(), 0.0);
        for i in 0..self.n {
            let inv_i = &self.inv[i * k..(i + 1) * k];
            let j0 = i.saturating_sub(bw);
            let row = &mut self.a[i * w..(i + 1) * w];
            let back = &mut self.back[i * w..(i + 1) * w];
            for q in j0..i {
                let slot = (q + bw - i) * k..(q + bw - i + 1) * k;
                let inv_q = &self.inv[q * k..(q + 1) * k];
                for (((l, b), iq), ii) in row[slot.clone()]
                    .iter_mut()
                    .zip(&mut back[slot])
                    .zip(inv_q)
                    .zip(inv_i)
                {
                    *b = *l * iq;
                    *l *= ii;
                }
            }
        }
    }
}

/// A vector of `len` zeros, or [`TransportError::OutOfMemory`] when it cannot be allocated
/// (or its size overflows), instead of an abort.
pub fn try_zeroed(len: usize, what: &'static str) -> Result<Vec<f64>, TransportError> {
    let bytes = len.saturating_mul(std::mem::size_of::<f64>());
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| TransportError::OutOfMemory { what, bytes })?;
    v.resize(len, 0.0);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_batch(n: usize, bw: usize, k: usize) -> BandedBatch {
        let mut a = BandedBatch::try_zeros(n, bw, k).unwrap();
        let mut seed = 12345u64;
        let mut rnd = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        for s in 0..k {
            for i in 0..n {
                a.add(s, i, i, 10.0 + s as f64);
                for j in i.saturating_sub(bw)..i {
                    a.add(s, i, j, rnd());
                }
            }
        }
        a
    }

    #[test]
    fn solves_random_spd_band_systems_to_rounding() {
        // Every specialised kernel (bandwidth 0-3, one system or several; wide bands with 1-8
        // systems a constant) and the general one (wide, 9 systems).
        for (n, bw, k) in [
            (57, 5, 1),
            (64, 25, 6),
            (41, 30, 8),
            (30, 12, 9),
            (12, 20, 5),
            (40, 2, 7),
            (30, 8, 3),
            (1, 0, 2),
            (50, 1, 1),
            (50, 2, 1),
            (2, 2, 1),
            (1, 1, 1),
            (33, 1, 4),
            (20, 3, 2),
            (20, 0, 1),
        ] {
            let a = random_batch(n, bw, k);
            let mut b = vec![0.0; n * k];
            let mut xs = vec![];
            for s in 0..k {
                let x: Vec<f64> = (0..n).map(|i| ((i + 3 * s) as f64).sin()).collect();
                let mut y = vec![0.0; n];
                a.mul(s, &x, &mut y);
                for i in 0..n {
                    b[i * k + s] = y[i];
                }
                xs.push(x);
            }
            let mut f = a.clone();
            f.factor().unwrap();
            f.solve(&mut b);
            for s in 0..k {
                for i in 0..n {
                    // Diagonally dominant (condition about 2): a few eps times |x|.
                    assert!(
                        (b[i * k + s] - xs[s][i]).abs() < 1e-13,
                        "n {n} bw {bw} system {s} row {i}"
                    );
                }
            }
        }
    }

    #[test]
    fn kernels_with_a_constant_system_count_match_the_general_ones_bit_for_bit() {
        // Odd and even row and column counts, and a matrix narrower than its band.
        for (n, bw) in [(45, 17), (46, 17), (10, 17), (7, 4), (30, 5), (31, 6)] {
            for k in 1..=8 {
                let a = random_batch(n, bw, k);
                let (mut fast, mut general) = (a.clone(), a.clone());
                fast.factor().unwrap();
                general.factor_band(bw, k).unwrap();
                assert_eq!(fast.a, general.a, "factors, n {n} bw {bw} k {k}");
                assert_eq!(fast.inv, general.inv, "pivots, n {n} bw {bw} k {k}");
                let b: Vec<f64> = (0..n * k).map(|i| (i as f64 * 0.37).cos()).collect();
                let (mut x, mut y) = (b.clone(), b.clone());
                fast.solve(&mut x);
                general.solve_band(bw, k, &mut y);
                assert_eq!(x, y, "solutions, n {n} bw {bw} k {k}");
            }
        }
    }

    #[test]
    fn twisted_tridiagonal_solve_is_exact_to_rounding_at_every_size_and_twist() {
        // Both sides of the twist, their unequal lengths (odd and even n) and the smallest
        // systems, where one side is empty.
        for n in (1..=13).chain([119, 120, 121]) {
            let a = random_batch(n, 1, 1);
            let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).sin() + 0.1).collect();
            let mut b = vec![0.0; n];
            a.mul(0, &x, &mut b);
            let mut f = a.clone();
            f.factor().unwrap();
            f.solve(&mut b);
            for i in 0..n {
                assert!(
                    (b[i] - x[i]).abs() < 1e-14,
                    "n {n} row {i}: {} vs {}",
                    b[i],
                    x[i]
                );
            }
        }
    }

    #[test]
    fn twisted_factorization_names_the_row_that_is_not_positive_definite() {
        // Rows 0..4 with the twist at 2: a zero pivot above it, below it and at it.
        for bad in [0, 1, 2, 3, 4] {
            let mut a = BandedBatch::try_zeros(5, 1, 1).unwrap();
            for i in 0..5 {
                a.add(0, i, i, if i == bad { -1.0 } else { 4.0 });
                if i > 0 {
                    a.add(0, i, i - 1, -1.0);
                }
            }
            assert_eq!(
                a.factor(),
                Err(NotPositiveDefinite {
                    system: 0,
                    row: bad
                }),
                "bad row {bad}"
            );
        }
    }

    #[test]
    fn the_wide_kernels_name_the_first_system_that_is_not_positive_definite() {
        // Bandwidth 5 (the wide kernels), 3 systems; rows 6 and 7 are paired.
        for (bad_row, bad_systems) in [(7, vec![2]), (6, vec![1, 2]), (0, vec![0])] {
            let mut a = random_batch(20, 5, 3);
            for &s in &bad_systems {
                let d = a.entry_mut(bad_row, bad_row)[s];
                a.add(s, bad_row, bad_row, -d - 1.0);
            }
            assert_eq!(
                a.factor(),
                Err(NotPositiveDefinite {
                    system: bad_systems[0],
                    row: bad_row
                })
            );
        }
    }

    #[test]
    fn rejects_an_indefinite_matrix() {
        let mut a = BandedBatch::try_zeros(2, 1, 2).unwrap();
        for s in 0..2 {
            a.add(s, 0, 0, 1.0);
            a.add(s, 1, 1, 1.0);
        }
        a.add(1, 1, 0, 2.0);
        assert_eq!(a.factor(), Err(NotPositiveDefinite { system: 1, row: 1 }));
    }
}
