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
        let s = t - self.times_h[j];
        let e = (-self.k * s).exp();
        let r = if j + 1 < self.times_h.len() {
            self.rate[j]
        } else {
            0.0
        };
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
}
