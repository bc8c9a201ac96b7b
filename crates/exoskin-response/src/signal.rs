//! The vesicle signal in cells: internalized vesicles act until degraded.
//!
//! From the cumulative uptake a transport run books at its output times, the active amount
//! `A` obeys `dA/dt = uptake rate - A / tau`; taking the rate constant within each output
//! interval, `A` is integrated exactly: `A(t) = A_j e^{-k s} + r_j (1 - e^{-k s}) / k`.

/// Active internalized vesicles over time, per cm2 of skin.
#[derive(Debug, Clone)]
pub struct Signal {
    times_h: Vec<f64>,
    /// Active amount at each output time.
    active: Vec<f64>,
    /// Uptake rate within each interval (per h).
    rate: Vec<f64>,
    k: f64,
}

impl Signal {
    /// From output times (h) and cumulative uptake (per cm2), with decay half-life `half_life_h`.
    pub fn new(times_h: &[f64], cumulative: &[f64], half_life_h: f64, scale: f64) -> Signal {
        let k = std::f64::consts::LN_2 / half_life_h;
        let mut active = vec![0.0; times_h.len()];
        let mut rate = vec![0.0; times_h.len()];
        for j in 0..times_h.len().saturating_sub(1) {
            let dt = times_h[j + 1] - times_h[j];
            let r = if dt > 0.0 {
                scale * (cumulative[j + 1] - cumulative[j]).max(0.0) / dt
            } else {
                0.0
            };
            rate[j] = r;
            let e = (-k * dt).exp();
            active[j + 1] = active[j] * e + r * (1.0 - e) / k;
        }
        Signal {
            times_h: times_h.to_vec(),
            active,
            rate,
            k,
        }
    }

    /// Output times, h (the ends of the intervals).
    pub fn times_h(&self) -> &[f64] {
        &self.times_h
    }
    /// Active amount at each output time.
    pub fn active(&self) -> &[f64] {
        &self.active
    }
    /// Uptake rate within interval j (from output time j to j + 1), per h.
    pub fn rate(&self) -> &[f64] {
        &self.rate
    }
    /// Decay rate constant, per h.
    pub fn k(&self) -> f64 {
        self.k
    }

    /// Active amount at time t (h); zero before the first output, decaying after the last.
    pub fn at(&self, t: f64) -> f64 {
        if self.times_h.is_empty() || t <= self.times_h[0] {
            return 0.0;
        }
        let j = self.times_h.partition_point(|&x| x <= t) - 1;
        self.in_interval(j, t)
    }

    /// [`Signal::at`] for times that mostly move forward, as an integration asks: `hint`
    /// holds the interval of the previous call and is moved to this one (a few steps
    /// forward by a scan, otherwise by bisection). The same value as `at`, bit for bit.
    pub fn at_from(&self, t: f64, hint: &std::cell::Cell<usize>) -> f64 {
        let n = self.times_h.len();
        if n == 0 || t <= self.times_h[0] {
            return 0.0;
        }
        let mut j = hint.get().min(n - 1);
        if self.times_h[j] > t {
            j = self.times_h.partition_point(|&x| x <= t) - 1;
        } else {
            let mut scanned = 0;
            while j + 1 < n && self.times_h[j + 1] <= t {
                j += 1;
                scanned += 1;
                if scanned == 8 {
                    j = self.times_h.partition_point(|&x| x <= t) - 1;
                    break;
                }
            }
        }
        hint.set(j);
        self.in_interval(j, t)
    }

    /// The active amount at `t` in interval `j` (the last output time at or before `t`).
    fn in_interval(&self, j: usize, t: f64) -> f64 {
        let r = if j + 1 < self.times_h.len() {
            self.rate[j]
        } else {
            0.0
        };
        if self.active[j] == 0.0 && r == 0.0 {
            // Nothing taken up yet (or no vesicles): what the formula gives, without exp.
            return 0.0;
        }
        let s = t - self.times_h[j];
        let e = (-self.k * s).exp();
        self.active[j] * e + r * (1.0 - e) / self.k
    }
}

/// Saturating effect of `per_cell` active vesicles per cell: `n / (n + half)`, in [0, 1).
/// The one dose-response of the model, in culture and in tissue alike.
pub fn effect(per_cell: f64, half: f64) -> f64 {
    if per_cell <= 0.0 {
        0.0
    } else {
        per_cell / (per_cell + half)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_uptake_approaches_rate_times_tau() {
        // Uptake 10 per h for 200 h: A -> 10 / k; compare with the exact solution.
        let times: Vec<f64> = (0..=200).map(|i| i as f64).collect();
        let cum: Vec<f64> = times.iter().map(|t| 10.0 * t).collect();
        let s = Signal::new(&times, &cum, 24.0, 1.0);
        let k = std::f64::consts::LN_2 / 24.0;
        for t in [0.5, 10.0, 55.5, 199.0] {
            let exact = 10.0 / k * (1.0 - (-k * t).exp());
            assert!((s.at(t) - exact).abs() < 1e-9 * exact, "{t}");
        }
        // After the last output the signal decays with the half-life.
        assert!((s.at(224.0) / s.at(200.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn the_hinted_lookup_is_the_lookup_bit_for_bit() {
        // Uneven output times with a repeated time (a jump booked twice).
        let times = [0.0, 0.5, 0.5, 1.0, 3.0, 3.1, 10.0, 50.0, 51.0];
        let cum = [0.0, 2.0, 2.0, 3.0, 9.0, 9.5, 20.0, 21.0, 40.0];
        let s = Signal::new(&times, &cum, 24.0, 3.0);
        let hint = std::cell::Cell::new(0);
        // Forward, backward, far jumps, exact output times and beyond the last.
        let ts = [
            -1.0, 0.0, 0.25, 0.5, 0.75, 1.0, 2.9, 3.05, 60.0, 0.6, 9.99, 10.0, 3.0, 51.0, 1e4,
        ];
        for t in ts {
            assert_eq!(s.at_from(t, &hint).to_bits(), s.at(t).to_bits(), "t = {t}");
        }
        let fine: Vec<f64> = (0..6000).map(|i| i as f64 * 0.01).collect();
        for t in fine {
            assert_eq!(s.at_from(t, &hint).to_bits(), s.at(t).to_bits(), "t = {t}");
        }
    }
}
