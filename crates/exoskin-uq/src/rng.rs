//! Seeded random streams: one `Xoshiro256PlusPlus` per (seed, purpose, index), its state
//! drawn from `SplitMix64` over a hash of the three, so that a stream depends on nothing but
//! these numbers (not on threads or on the order streams are made in).

use rand_xoshiro::rand_core::{Rng as _, SeedableRng};
use rand_xoshiro::{SplitMix64, Xoshiro256PlusPlus};

/// The stream for `(seed, purpose, index)`.
pub(crate) fn stream(seed: u64, purpose: u64, index: u64) -> Xoshiro256PlusPlus {
    let mut sm = SplitMix64::seed_from_u64(
        seed ^ purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03),
    );
    // Two rounds so that neighbouring (purpose, index) pairs share no linear structure.
    let mixed = sm.next_u64();
    Xoshiro256PlusPlus::seed_from_u64(mixed)
}

/// A uniform integer in `[0, n)` (`n >= 1`) by the multiply-shift map of a 64-bit word; its
/// bias is below `n / 2^64`.
pub(crate) fn below(rng: &mut Xoshiro256PlusPlus, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// One 64-bit word of `SplitMix64` at `state`.
pub(crate) fn mix64(state: u64) -> u64 {
    SplitMix64::seed_from_u64(state).next_u64()
}
