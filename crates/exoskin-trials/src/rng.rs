//! Per-participant random streams and the few samplers the trials draw from.
//!
//! **Generator.** [`rand_xoshiro::Xoshiro256PlusPlus`] (Blackman & Vigna 2019), one per
//! participant and sub-stream. Its state is four words from [`rand_xoshiro::SplitMix64`]:
//! SplitMix64 at `seed ^ 0x6A09E667F3BCC909` gives one word `a`; SplitMix64 at
//! `a ^ index * 0xD1B54A32D192ED03 ^ stream * 0x8CB92BA72F3D8DD7` gives the four state words.
//! This is the derivation the trials have always used, so the raw `u64` stream, and every
//! reading drawn from it, is unchanged (the test `matches_the_previous_generator` keeps the
//! previous hand-written generator as its reference).
//!
//! **Why the streams are independent.** Each `(seed, index, stream)` triple is hashed by
//! SplitMix64, a bijective 64-bit mixer with full avalanche, into its own starting point of
//! the 2^256 - 1 period; a participant draws some tens of numbers, so two streams would have
//! to start within that distance of each other to overlap, a chance of order 2^-190 per
//! pair. Participant `i` always reads stream `(seed, i, 0)` for its factors and
//! `(seed, i, 1)` for instrument noise, whatever thread runs it and in whatever order, so
//! results do not depend on the thread count.
//!
//! **Samplers.** Each choice below keeps the readings bit-identical to the earlier releases:
//! * uniform on [0, 1): [`rand_distr::StandardUniform`] (the top 53 bits times 2^-53, the
//!   same formula as before);
//! * standard normal: the Box-Muller transform, one value per call, written here.
//!   `rand_distr`'s `Normal`/`StandardNormal` use the ziggurat method, which consumes a
//!   different number of words and returns other values: switching would move every
//!   reading of every trial. It is offered as a [`Distribution`] ([`BoxMuller`]);
//! * log-normal with mean 1 and a coefficient of variation: `exp(sigma Z - sigma^2 / 2)`
//!   over the Box-Muller normal (`rand_distr::LogNormal` samples the ziggurat normal);
//! * an index below `n`: `floor(n U)` (rand's integer ranges use a different mapping).

use rand_distr::{Distribution, StandardUniform};
use rand_xoshiro::rand_core::{Rng as _, SeedableRng};
use rand_xoshiro::{SplitMix64, Xoshiro256PlusPlus};

/// One SplitMix64 step from `state`: the first output of [`SplitMix64`] seeded with it.
pub fn splitmix64(state: u64) -> u64 {
    SplitMix64::seed_from_u64(state).next_u64()
}

/// A participant's random stream.
#[derive(Debug, Clone)]
pub struct Rng(Xoshiro256PlusPlus);

impl Rng {
    /// The stream of participant `index` (and sub-stream `stream`) of a trial seeded `seed`.
    pub fn for_participant(seed: u64, index: u64, stream: u64) -> Rng {
        let a = splitmix64(seed ^ 0x6A09_E667_F3BC_C909);
        let mut sm = SplitMix64::seed_from_u64(
            a ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03)
                ^ stream.wrapping_mul(0x8CB9_2BA7_2F3D_8DD7),
        );
        let mut s = [0u64; 4];
        for x in &mut s {
            *x = sm.next_u64();
        }
        if s == [0; 4] {
            // The one state xoshiro cannot leave (never reached in practice).
            s[0] = 1;
        }
        let mut bytes = [0u8; 32];
        for (chunk, w) in bytes.chunks_exact_mut(8).zip(s) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        Rng(Xoshiro256PlusPlus::from_seed(bytes))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn uniform(&mut self) -> f64 {
        StandardUniform.sample(&mut self.0)
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.uniform() * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// Standard normal.
    pub fn normal(&mut self) -> f64 {
        BoxMuller.sample(&mut self.0)
    }

    /// Move past one [`Rng::normal`] without computing it (it takes two 64-bit draws):
    /// the draws after it are those after a `normal()`, bit for bit.
    pub fn skip_normal(&mut self) {
        self.0.next_u64();
        self.0.next_u64();
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

/// The standard normal by the Box-Muller transform, one value per draw (two uniforms, the
/// cosine branch): simple, and each draw uses a fixed number of words.
#[derive(Debug, Clone, Copy)]
pub struct BoxMuller;

impl Distribution<f64> for BoxMuller {
    fn sample<R: rand_xoshiro::rand_core::Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let u: f64 = StandardUniform.sample(rng);
        let u1 = 1.0 - u; // (0, 1]
        let u2: f64 = StandardUniform.sample(rng);
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generator the trials used before `rand_xoshiro`, kept as the reference: SplitMix64
    /// seeding and xoshiro256++ written out from the published algorithms.
    struct Reference {
        s: [u64; 4],
    }

    fn reference_splitmix(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    impl Reference {
        fn new(seed: u64, index: u64, stream: u64) -> Reference {
            let mut sm = seed ^ 0x6A09_E667_F3BC_C909;
            let a = reference_splitmix(&mut sm);
            let mut sm2 = a
                ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03)
                ^ stream.wrapping_mul(0x8CB9_2BA7_2F3D_8DD7);
            let mut s = [0u64; 4];
            for x in &mut s {
                *x = reference_splitmix(&mut sm2);
            }
            if s == [0; 4] {
                s[0] = 1;
            }
            Reference { s }
        }

        fn next_u64(&mut self) -> u64 {
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

        fn uniform(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
        }

        fn normal(&mut self) -> f64 {
            let u1 = 1.0 - self.uniform();
            let u2 = self.uniform();
            (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        }
    }

    const TRIPLES: [(u64, u64, u64); 6] = [
        (0, 0, 0),
        (20251, 0, 0),
        (20251, 24, 1),
        (7, 3, 0),
        (u64::MAX, 999_999, 1),
        (0x5EED, u64::MAX - 1, 0),
    ];

    #[test]
    fn matches_the_previous_generator() {
        for (seed, index, stream) in TRIPLES {
            let mut old = Reference::new(seed, index, stream);
            let mut new = Rng::for_participant(seed, index, stream);
            for k in 0..1000 {
                assert_eq!(
                    new.next_u64(),
                    old.next_u64(),
                    "({seed}, {index}, {stream}) output {k}"
                );
            }
        }
    }

    #[test]
    fn samplers_match_the_previous_ones() {
        for (seed, index, stream) in TRIPLES {
            let mut old = Reference::new(seed, index, stream);
            let mut new = Rng::for_participant(seed, index, stream);
            for _ in 0..300 {
                assert_eq!(new.uniform().to_bits(), old.uniform().to_bits());
                assert_eq!(new.normal().to_bits(), old.normal().to_bits());
            }
        }
        let mut s = 12345u64;
        for _ in 0..100 {
            let before = s;
            assert_eq!(splitmix64(before), reference_splitmix(&mut s));
        }
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let mut a = Rng::for_participant(7, 3, 0);
        let mut b = Rng::for_participant(7, 3, 0);
        let mut c = Rng::for_participant(7, 4, 0);
        let mut d = Rng::for_participant(8, 3, 0);
        let mut e = Rng::for_participant(7, 3, 1);
        let (x, y, z, w, v) = (
            a.next_u64(),
            b.next_u64(),
            c.next_u64(),
            d.next_u64(),
            e.next_u64(),
        );
        assert_eq!(x, y);
        assert_ne!(x, z);
        assert_ne!(x, w);
        assert_ne!(x, v);
    }

    #[test]
    fn skipping_a_normal_leaves_the_stream_where_drawing_it_does() {
        let (mut a, mut b) = (Rng::for_participant(9, 4, 1), Rng::for_participant(9, 4, 1));
        for _ in 0..50 {
            a.normal();
            b.skip_normal();
            assert_eq!(a.normal().to_bits(), b.normal().to_bits());
        }
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
