//! A binned, number-weighted size distribution and the statistics read from it.
//!
//! **The percentile method** (one, used for every format): each bin's particles are spread
//! uniformly over the bin, so the cumulative distribution is piecewise linear between bin
//! edges and a percentile is read by linear interpolation inside the bin where the
//! cumulative fraction reaches it. Bin edges are the midpoints between adjacent bin centres;
//! the first bin's lower edge and the last bin's upper edge lie half a bin width beyond
//! their centres (the lower edge no lower than 0 nm). With edges `e_0 < ... < e_n`, bin
//! weights `w_i` and `F(e_i) = (w_1 + ... + w_i) / W`, `D_p` for `0 < p < 1` is
//! `e_{i-1} + (p - F(e_{i-1})) / (w_i / W) * (e_i - e_{i-1})` for the first bin `i` with
//! `F(e_i) >= p`. The mode is the centre of the fullest bin (the first on a tie); the
//! fraction in 30-150 nm adds each bin's weight times the share of its width inside
//! [30, 150] nm.
use super::ImportError;

/// Bin centres (nm, strictly increasing) and their weights (particles/mL in that bin, or
/// counts).
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    pub centres_nm: Vec<f64>,
    pub weights: Vec<f64>,
}

/// What the characterization takes from a distribution.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SizeStats {
    pub mode_nm: f64,
    pub d10_nm: f64,
    pub d50_nm: f64,
    pub d90_nm: f64,
    /// Number-weighted arithmetic mean (bin centres), reported beside the rest.
    pub mean_nm: f64,
    pub fraction_30_150_nm: f64,
    /// Sum of the weights.
    pub total: f64,
}

impl Distribution {
    /// Checks the table: at least two bins, finite increasing centres >= 0, finite weights
    /// >= 0 with a positive sum. `what` names the table in errors.
    pub fn new(centres_nm: Vec<f64>, weights: Vec<f64>, what: &str) -> Result<Self, ImportError> {
        let bad = |m: String| ImportError::Table {
            what: what.to_string(),
            message: m,
        };
        if centres_nm.len() != weights.len() {
            return Err(bad(format!(
                "{} bin centres but {} weights",
                centres_nm.len(),
                weights.len()
            )));
        }
        if centres_nm.len() < 2 {
            return Err(bad(format!(
                "{} bin(s); a size distribution needs at least 2",
                centres_nm.len()
            )));
        }
        for (i, c) in centres_nm.iter().enumerate() {
            if !c.is_finite() || *c < 0.0 {
                return Err(bad(format!(
                    "bin {} has centre {c} nm; centres must be >= 0",
                    i + 1
                )));
            }
            if i > 0 && *c <= centres_nm[i - 1] {
                return Err(bad(format!(
                    "bin centres must increase: bin {} is {c} nm after {} nm",
                    i + 1,
                    centres_nm[i - 1]
                )));
            }
        }
        for (i, w) in weights.iter().enumerate() {
            if !w.is_finite() || *w < 0.0 {
                return Err(bad(format!(
                    "bin {} ({} nm) has weight {w}; weights must be finite and >= 0",
                    i + 1,
                    centres_nm[i]
                )));
            }
        }
        if weights.iter().sum::<f64>() <= 0.0 {
            return Err(bad("every bin is empty: no particles to size".into()));
        }
        Ok(Distribution {
            centres_nm,
            weights,
        })
    }

    /// Bin edges, one more than the bins.
    pub fn edges(&self) -> Vec<f64> {
        let c = &self.centres_nm;
        let n = c.len();
        let mut e = Vec::with_capacity(n + 1);
        e.push((c[0] - (c[1] - c[0]) / 2.0).max(0.0));
        for i in 0..n - 1 {
            e.push((c[i] + c[i + 1]) / 2.0);
        }
        e.push(c[n - 1] + (c[n - 1] - c[n - 2]) / 2.0);
        e
    }

    pub fn total(&self) -> f64 {
        self.weights.iter().sum()
    }

    /// The size below which a fraction `p` (0 < p < 1) of the particles lie.
    pub fn percentile(&self, p: f64) -> f64 {
        let e = self.edges();
        let total = self.total();
        let mut below = 0.0;
        for (i, w) in self.weights.iter().enumerate() {
            let f_hi = (below + w) / total;
            if *w > 0.0 && f_hi >= p {
                let f_lo = below / total;
                return e[i] + (p - f_lo) / (w / total) * (e[i + 1] - e[i]);
            }
            below += w;
        }
        e[e.len() - 1]
    }

    pub fn mode(&self) -> f64 {
        let mut best = 0;
        for (i, w) in self.weights.iter().enumerate() {
            if *w > self.weights[best] {
                best = i;
            }
        }
        self.centres_nm[best]
    }

    /// Fraction of the particles between `lo` and `hi` nm.
    pub fn fraction_between(&self, lo: f64, hi: f64) -> f64 {
        let e = self.edges();
        let mut inside = 0.0;
        for (i, w) in self.weights.iter().enumerate() {
            let overlap = (e[i + 1].min(hi) - e[i].max(lo)).max(0.0);
            inside += w * overlap / (e[i + 1] - e[i]);
        }
        (inside / self.total()).clamp(0.0, 1.0)
    }

    pub fn mean(&self) -> f64 {
        let s: f64 = self
            .centres_nm
            .iter()
            .zip(&self.weights)
            .map(|(c, w)| c * w)
            .sum();
        s / self.total()
    }

    pub fn stats(&self) -> SizeStats {
        SizeStats {
            mode_nm: self.mode(),
            d10_nm: self.percentile(0.10),
            d50_nm: self.percentile(0.50),
            d90_nm: self.percentile(0.90),
            mean_nm: self.mean(),
            fraction_30_150_nm: self.fraction_between(30.0, 150.0),
            total: self.total(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: &[f64], w: &[f64]) -> Distribution {
        Distribution::new(c.to_vec(), w.to_vec(), "test").unwrap()
    }

    #[test]
    fn percentiles_match_hand_computed_values() {
        // Bins of 20 nm centred on 50, 70, 90, 110: edges 40, 60, 80, 100, 120.
        // Weights 1, 2, 4, 3 (total 10): F at edges 0, .1, .3, .7, 1.
        let x = d(&[50.0, 70.0, 90.0, 110.0], &[1.0, 2.0, 4.0, 3.0]);
        assert_eq!(x.edges(), vec![40.0, 60.0, 80.0, 100.0, 120.0]);
        // D10: reached exactly at the top of bin 1 -> 60.
        assert!((x.percentile(0.10) - 60.0).abs() < 1e-12);
        // D50: bin 3 (F .3 -> .7): 80 + (.5-.3)/.4*20 = 90.
        assert!((x.percentile(0.50) - 90.0).abs() < 1e-12);
        // D90: bin 4 (F .7 -> 1): 100 + (.9-.7)/.3*20 = 113.333...
        assert!((x.percentile(0.90) - (100.0 + 0.2 / 0.3 * 20.0)).abs() < 1e-9);
        assert_eq!(x.mode(), 90.0);
        // Mean: (50 + 140 + 360 + 330) / 10 = 88.
        assert!((x.mean() - 88.0).abs() < 1e-12);
        // 30-150 covers everything.
        assert!((x.fraction_between(30.0, 150.0) - 1.0).abs() < 1e-12);
        // 70-110: half of bin 2 (1), bin 3 (4), half of bin 4 (1.5) = 6.5 / 10.
        assert!((x.fraction_between(70.0, 110.0) - 0.65).abs() < 1e-12);
    }

    #[test]
    fn empty_bins_are_skipped_and_the_first_edge_is_not_negative() {
        // Centres 5, 15, 25 nm (width 10): edges 0, 10, 20, 30. All weight in bin 3.
        let x = d(&[5.0, 15.0, 25.0], &[0.0, 0.0, 2.0]);
        assert!((x.percentile(0.5) - 25.0).abs() < 1e-12);
        assert!((x.percentile(0.1) - 21.0).abs() < 1e-12);
        let y = d(&[1.0, 5.0], &[1.0, 1.0]);
        assert_eq!(y.edges()[0], 0.0, "the lower edge is clamped at 0 nm");
        // Fraction 30-150 of a distribution wholly below 30 nm is 0.
        assert_eq!(y.fraction_between(30.0, 150.0), 0.0);
    }

    #[test]
    fn bad_tables_are_refused_with_the_bin() {
        let e = Distribution::new(vec![10.0, 10.0], vec![1.0, 1.0], "t").unwrap_err();
        assert!(e.to_string().contains("must increase"), "{e}");
        let e = Distribution::new(vec![10.0, 20.0], vec![1.0, -1.0], "t").unwrap_err();
        assert!(e.to_string().contains("bin 2"), "{e}");
        let e = Distribution::new(vec![10.0, 20.0], vec![0.0, 0.0], "t").unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        assert!(Distribution::new(vec![10.0], vec![1.0], "t").is_err());
    }
}
