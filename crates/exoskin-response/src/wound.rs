//! Re-epithelialization of a procedure wound (a microneedle channel or a laser microthermal
//! zone) as a moving front, with the structure of Sherratt & Murray (1990, Proc R Soc B
//! 241:29): epidermal cell density `n` spreads and proliferates, and a mitosis-regulating
//! chemical `c`, produced by cells at the wound edge, raises proliferation (the activator
//! case). In dimensionless form, on a disk wound of radius 1 inside intact epidermis:
//!
//! ```text
//! n_t = b(t) [ lap(n) + (1 + c) n (1 - n) ]
//! c_t = D_c lap(c) + G 4 n (1 - n) - c
//! ```
//!
//! with `lap` the radial Laplacian and `b(t)` a speed factor of migration and
//! proliferation. The model runs the front at `b = 1`: what would raise it (vesicles in the
//! epidermis speeding closure) has no controlled human measurement, so nothing does. The
//! functional forms are this project's; the time scale is anchored to data: the
//! dimensionless time at which half the wound area is closed maps onto the closure half-life
//! of the procedure ([`crate::injury::reepithelialization_half_life_h`]). Solved by finite
//! volumes, diffusion implicit and reactions explicit.

/// Closure of one wound over time.
#[derive(Debug, Clone, PartialEq)]
pub struct WoundCurve {
    /// Real time after the procedure, h.
    pub times_h: Vec<f64>,
    /// Fraction of the wound area still open, 1 to 0.
    pub open: Vec<f64>,
    /// Time to 95 % closure, h (None if not reached within the horizon).
    pub closure_h: Option<f64>,
    /// The closure half-life the curve was made with, h (its one time scale).
    pub half_life_h: f64,
}

impl WoundCurve {
    /// The first time the open fraction falls to `level` (a study's own definition of
    /// "closed": 0.05 is this curve's `closure_h`), h; None if it never does.
    pub fn time_to_open(&self, level: f64) -> Option<f64> {
        let pts: Vec<(f64, f64)> = self
            .times_h
            .iter()
            .copied()
            .zip(self.open.iter().copied())
            .collect();
        time_to(&pts, level)
    }

    /// Open fraction at time t after the procedure (h).
    pub fn open_at(&self, t: f64) -> f64 {
        let n = self.times_h.len();
        if n == 0 || t <= 0.0 {
            return 1.0;
        }
        let k = self.times_h.partition_point(|&x| x <= t);
        self.in_interval(k, t)
    }

    /// [`WoundCurve::open_at`] for times that mostly move forward, as an integration asks:
    /// `hint` holds the place of the previous call and is moved to this one (a few steps
    /// forward by a scan, otherwise by bisection). The same value as `open_at`, bit for bit.
    pub fn open_at_from(&self, t: f64, hint: &std::cell::Cell<usize>) -> f64 {
        let n = self.times_h.len();
        if n == 0 || t <= 0.0 {
            return 1.0;
        }
        // k: the first index whose time is after t.
        let mut k = hint.get().min(n);
        if k > 0 && self.times_h[k - 1] > t {
            k = self.times_h.partition_point(|&x| x <= t);
        } else {
            let mut scanned = 0;
            while k < n && self.times_h[k] <= t {
                k += 1;
                scanned += 1;
                if scanned == 8 {
                    k = self.times_h.partition_point(|&x| x <= t);
                    break;
                }
            }
        }
        hint.set(k);
        self.in_interval(k, t)
    }

    /// The open fraction at `t` where `k` is the first index whose time is after `t`.
    fn in_interval(&self, k: usize, t: f64) -> f64 {
        let n = self.times_h.len();
        if k >= n {
            return self.open[n - 1];
        }
        let (t0, t1) = (self.times_h[k - 1], self.times_h[k]);
        let w = (t - t0) / (t1 - t0);
        self.open[k - 1] * (1.0 - w) + self.open[k] * w
    }
}

const CELLS: usize = 90;
const OUTER: f64 = 3.0;
const DT: f64 = 0.002;

/// Solve the dimensionless model until the wound closes (or `t_max`); `boost(t)` is b(t).
/// Returns (dimensionless time, open fraction) pairs.
pub fn solve_dimensionless(
    chem_diffusivity: f64,
    chem_gain: f64,
    boost: &dyn Fn(f64) -> f64,
    t_max: f64,
) -> Vec<(f64, f64)> {
    let h = OUTER / CELLS as f64;
    let rc: Vec<f64> = (0..CELLS).map(|i| (i as f64 + 0.5) * h).collect();
    let mut n: Vec<f64> = rc
        .iter()
        .map(|&r| if r < 1.0 { 0.0 } else { 1.0 })
        .collect();
    let mut c = vec![0.0; CELLS];
    // Face weights of the radial Laplacian: (1/r) d/dr (r d/dr), cell volume r h.
    let wface: Vec<f64> = (0..CELLS - 1)
        .map(|i| (i as f64 + 1.0) * h / (h * h))
        .collect();
    let mut out = vec![(0.0, 1.0)];
    let mut t = 0.0;
    let (mut a, mut bd, mut cc, mut rhs) = (
        vec![0.0; CELLS],
        vec![0.0; CELLS],
        vec![0.0; CELLS],
        vec![0.0; CELLS],
    );
    let mut step = 0usize;
    while t < t_max {
        let b = boost(t);
        // Reactions (explicit).
        for i in 0..CELLS {
            let g = n[i] * (1.0 - n[i]);
            let dn = b * (1.0 + c[i]) * g;
            let dc = chem_gain * 4.0 * g - c[i];
            n[i] = (n[i] + DT * dn).clamp(0.0, 1.0);
            c[i] = (c[i] + DT * dc).max(0.0);
        }
        // Diffusion (implicit), zero flux at both ends.
        for (field, d) in [(&mut n, b), (&mut c, chem_diffusivity)] {
            for i in 0..CELLS {
                let vol = rc[i];
                let wl = if i > 0 { wface[i - 1] } else { 0.0 };
                let wr = if i + 1 < CELLS { wface[i] } else { 0.0 };
                a[i] = -DT * d * wl / vol;
                cc[i] = -DT * d * wr / vol;
                bd[i] = 1.0 - a[i] - cc[i];
                rhs[i] = field[i];
            }
            thomas(&a, &bd, &cc, &mut rhs);
            field.copy_from_slice(&rhs);
        }
        t += DT;
        // Record every fifth step (and the closing one).
        step = (step + 1) % 5;
        let open = open_fraction(&n, &rc);
        if step == 0 || open <= 0.0 {
            out.push((t, open));
        }
        if open <= 0.0 {
            break;
        }
    }
    out
}

/// Open fraction of the unit wound disk: (front radius)^2, the front where n crosses 1/2.
fn open_fraction(n: &[f64], rc: &[f64]) -> f64 {
    if n[0] >= 0.5 {
        return 0.0;
    }
    for i in 1..n.len() {
        if n[i] >= 0.5 {
            let w = (0.5 - n[i - 1]) / (n[i] - n[i - 1]);
            let r = rc[i - 1] + w * (rc[i] - rc[i - 1]);
            return (r * r).min(1.0);
        }
    }
    1.0
}

fn thomas(a: &[f64], b: &[f64], c: &[f64], d: &mut [f64]) {
    let n = d.len();
    let mut cp = vec![0.0; n];
    let mut beta = b[0];
    d[0] /= beta;
    for i in 1..n {
        cp[i - 1] = c[i - 1] / beta;
        beta = b[i] - a[i] * cp[i - 1];
        d[i] = (d[i] - a[i] * d[i - 1]) / beta;
    }
    for i in (0..n - 1).rev() {
        d[i] -= cp[i] * d[i + 1];
    }
}

fn time_to(curve: &[(f64, f64)], level: f64) -> Option<f64> {
    curve
        .windows(2)
        .find(|w| w[0].1 > level && w[1].1 <= level)
        .map(|w| {
            let f = (w[0].1 - level) / (w[0].1 - w[1].1);
            w[0].0 + f * (w[1].0 - w[0].0)
        })
}

/// The front in dimensionless time for the model's shape constants, solved once (it
/// depends on no parameter of data/response.toml).
fn base_front() -> &'static [(f64, f64)] {
    use crate::injury::{FRONT_CHEM_DIFFUSIVITY, FRONT_CHEM_GAIN};
    static BASE: std::sync::OnceLock<Vec<(f64, f64)>> = std::sync::OnceLock::new();
    BASE.get_or_init(|| {
        solve_dimensionless(FRONT_CHEM_DIFFUSIVITY, FRONT_CHEM_GAIN, &|_| 1.0, 50.0)
    })
}

/// The closure of a wound whose half-life without vesicles is `half_life_h`, in real time:
/// the model's front with its time scaled to that half-life.
pub fn front_curve(half_life_h: f64) -> WoundCurve {
    let base = base_front();
    let scale = half_life_h / time_to(base, 0.5).unwrap_or(1.0);
    in_real_time(base, scale, half_life_h)
}

fn in_real_time(dimless: &[(f64, f64)], scale: f64, half_life_h: f64) -> WoundCurve {
    WoundCurve {
        times_h: dimless.iter().map(|p| p.0 * scale).collect(),
        open: dimless.iter().map(|p| p.1).collect(),
        closure_h: time_to(dimless, 0.05).map(|t| t * scale),
        half_life_h,
    }
}

/// First-order closure with half-life `half_life_h` (the form in which the human micropore
/// half-lives were estimated); closure = 95 % closed. Sampled every 1/40 half-life to 8
/// half-lives (where every study's threshold lies), then every half-life to 40 (open 2^-40,
/// about 1e-12), then exactly closed one half-life later, so that whatever reads the curve
/// past its end sees a closed channel: rest is the floor. The tail is coarse because every
/// point is a piece of the SBML export's closure function, which other solvers compile.
pub fn first_order_curve(half_life_h: f64) -> WoundCurve {
    let k = std::f64::consts::LN_2 / half_life_h;
    let fine = (0..=320).map(|i| i as f64 / 40.0);
    let tail = (9..=40).map(f64::from);
    let mut times_h: Vec<f64> = fine.chain(tail).map(|h| h * half_life_h).collect();
    let mut open: Vec<f64> = times_h.iter().map(|t| (-k * t).exp()).collect();
    times_h.push(41.0 * half_life_h);
    open.push(0.0);
    WoundCurve {
        times_h,
        open,
        closure_h: Some(20f64.ln() / k),
        half_life_h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placed_lookup_is_the_lookup_bit_for_bit() {
        let w = front_curve(12.0);
        let place = std::cell::Cell::new(0);
        let end = w.times_h.last().copied().unwrap();
        // Forward in small and large steps, backwards, at sample times and beyond the end.
        let mut ts: Vec<f64> = (0..4000).map(|i| i as f64 * end / 3000.0).collect();
        ts.extend([
            -1.0,
            0.0,
            5.0,
            1.0,
            end,
            w.times_h[3],
            w.times_h[3] - 1e-9,
            0.5,
        ]);
        for t in ts {
            assert_eq!(
                w.open_at_from(t, &place).to_bits(),
                w.open_at(t).to_bits(),
                "t = {t}"
            );
        }
    }

    #[test]
    fn the_front_closes_the_wound_and_anchors_to_the_half_life() {
        let w = front_curve(12.0);
        assert!((w.open_at(12.0) - 0.5).abs() < 0.02, "{}", w.open_at(12.0));
        assert!(
            w.open.windows(2).all(|p| p[1] <= p[0] + 1e-12),
            "closure is monotone"
        );
        let c = w.closure_h.unwrap();
        assert!(c > 12.0 && c < 48.0, "{c}");
    }

    #[test]
    fn first_order_channels_end_closed_and_meet_each_threshold_exactly() {
        let w = first_order_curve(24.0);
        assert_eq!(
            w.open_at(1e6),
            0.0,
            "past the samples the channel is closed"
        );
        assert!(w.open_at(24.0 * 21.0) < 1e-6);
        // A study calling "closed" an open fraction of 2^-2.44 reads 2.44 half-lives.
        let t = w.time_to_open(2f64.powf(-2.44)).unwrap();
        assert!((t / 24.0 - 2.44).abs() < 1e-3, "{t}");
    }

    #[test]
    fn the_cached_front_is_the_front_solved_afresh() {
        use crate::injury::{FRONT_CHEM_DIFFUSIVITY, FRONT_CHEM_GAIN};
        let fresh = solve_dimensionless(FRONT_CHEM_DIFFUSIVITY, FRONT_CHEM_GAIN, &|_| 1.0, 50.0);
        let scale = 30.0 / time_to(&fresh, 0.5).unwrap();
        assert_eq!(in_real_time(&fresh, scale, 30.0), front_curve(30.0));
    }

    #[test]
    fn faster_migration_closes_faster_by_about_the_boost() {
        let closure = |b: f64| time_to(&solve_dimensionless(1.0, 2.0, &|_| b, 50.0), 0.05).unwrap();
        let (base, fast) = (closure(1.0), closure(1.3));
        // Cell motility and proliferation scale by b while the chemical's kinetics do not, so
        // closure time scales close to 1/b: within 2 % of it here.
        assert!((base / fast - 1.3).abs() < 0.02, "{}", base / fast);
    }
}
