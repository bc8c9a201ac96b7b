//! Per-participant random streams: SplitMix64 seeds a xoshiro256++ generator from
//! `(seed, participant index, stream)`, so every participant draws the same numbers whatever
//! the thread count or the order in which threads reach them.

/// SplitMix64 step (Steele, Lea & Flood 2014); also a good 64-bit mixer.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256++ (Blackman & Vigna 2019).
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// The stream of participant `index` (and sub-stream `stream`) of a trial seeded `seed`.
    pub fn for_participant(seed: u64, index: u64, stream: u64) -> Rng {
        let mut sm = seed ^ 0x6A09_E667_F3BC_C909;
        let a = splitmix64(&mut sm);
        let mut sm2 = a
            ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03)
            ^ stream.wrapping_mul(0x8CB9_2BA7_2F3D_8DD7);
        let mut s = [0u64; 4];
        for x in &mut s {
            *x = splitmix64(&mut sm2);
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Rng { s }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.uniform() * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// Standard normal (Box-Muller, one value per call: simple and order-stable).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Log-normal multiplier with mean 1 and coefficient of variation `cv`.
    pub fn lognormal_cv(&mut self, cv: f64) -> f64 {
        if cv <= 0.0 {
            return 1.0;
        }
        let s2 = (1.0 + cv * cv).ln();
        (self.normal() * s2.sqrt() - 0.5 * s2).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let mut a = Rng::for_participant(7, 3, 0);
        let mut b = Rng::for_participant(7, 3, 0);
        let mut c = Rng::for_participant(7, 4, 0);
        let mut d = Rng::for_participant(8, 3, 0);
        let (x, y, z, w) = (a.next_u64(), b.next_u64(), c.next_u64(), d.next_u64());
        assert_eq!(x, y);
        assert_ne!(x, z);
        assert_ne!(x, w);
    }

    #[test]
    fn normal_and_lognormal_moments() {
        let mut r = Rng::for_participant(1, 0, 0);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n as f64;
        assert!(m.abs() < 0.01 && (v - 1.0).abs() < 0.01, "{m} {v}");
        let ls: Vec<f64> = (0..n).map(|_| r.lognormal_cv(0.3)).collect();
        let lm = ls.iter().sum::<f64>() / n as f64;
        let lsd = (ls.iter().map(|x| (x - lm).powi(2)).sum::<f64>() / n as f64).sqrt();
        assert!(
            (lm - 1.0).abs() < 0.01 && (lsd - 0.3).abs() < 0.01,
            "{lm} {lsd}"
        );
    }
}
