//! Convergence diagnostics of Markov chains (Vehtari, Gelman, Simpson, Carpenter & Bürkner
//! 2021, "Rank-normalization, folding, and localization: an improved R-hat"), computed as
//! ArviZ computes them (checked against it by `scripts/check_salib.py`).
//!
//! Each function takes the draws of one scalar quantity, `chains[c][i]` for chain `c` and
//! draw `i`; all chains have the same length, at least 4. Chains are split in halves (the
//! middle draw of an odd length is dropped), so one chain already gives two.
//!
//! * [`split_rhat`]: the rank-normalized split-R-hat, the larger of the bulk R-hat (of the
//!   rank-normalized draws) and the tail R-hat (of the rank-normalized distances from the
//!   median). Rank normalization: pooled ranks `r` (ties averaged) of the `S` split draws
//!   become `Phi^-1((r - 3/8) / (S + 1/4))`.
//! * [`ess_bulk`]: the effective sample size of the rank-normalized split chains.
//! * [`ess_tail`]: the smaller effective sample size of the indicators `x <= q05` and
//!   `x <= q95` (quantiles of all draws, linear interpolation).
//! * [`ess_mean`]: the effective sample size of the split chains themselves (for the Monte
//!   Carlo error of a mean).
//!
//! The effective sample size is Geyer's initial-monotone-sequence estimator over the
//! multi-chain autocorrelation of Stan's reference manual. Autocovariances are summed
//! directly, lag by lag, only as far as Geyer's truncation needs: fast for mixing chains,
//! quadratic in the chain length for chains that do not mix.

use crate::error::UqError;
use crate::stats::quantile;
use statrs::distribution::{ContinuousCDF, Normal};

/// Rank-normalized split-R-hat (the larger of bulk and tail). Values above 1.01 say the
/// chains have not mixed.
pub fn split_rhat(chains: &[Vec<f64>]) -> Result<f64, UqError> {
    let split = split_chains(chains)?;
    let bulk = rhat(&z_scale(&split));
    let pooled: Vec<f64> = split.iter().flatten().copied().collect();
    let med = median(pooled);
    let folded: Vec<Vec<f64>> = split
        .iter()
        .map(|c| c.iter().map(|x| (x - med).abs()).collect())
        .collect();
    let tail = rhat(&z_scale(&folded));
    Ok(bulk.max(tail))
}

/// Bulk effective sample size (of the rank-normalized split chains).
pub fn ess_bulk(chains: &[Vec<f64>]) -> Result<f64, UqError> {
    Ok(ess_raw(&z_scale(&split_chains(chains)?)))
}

/// Tail effective sample size: the smaller of those of the 5 % and 95 % quantiles.
pub fn ess_tail(chains: &[Vec<f64>]) -> Result<f64, UqError> {
    check(chains)?;
    let mut pooled: Vec<f64> = chains.iter().flatten().copied().collect();
    pooled.sort_by(f64::total_cmp);
    let ess_at = |p: f64| -> Result<f64, UqError> {
        let q = quantile(&pooled, p);
        let ind: Vec<Vec<f64>> = chains
            .iter()
            .map(|c| c.iter().map(|&x| if x <= q { 1.0 } else { 0.0 }).collect())
            .collect();
        Ok(ess_raw(&split_chains(&ind)?))
    };
    Ok(ess_at(0.05)?.min(ess_at(0.95)?))
}

/// Effective sample size of the split chains without rank normalization (for the Monte
/// Carlo standard error of a mean, `sd / sqrt(ess_mean)`).
pub fn ess_mean(chains: &[Vec<f64>]) -> Result<f64, UqError> {
    Ok(ess_raw(&split_chains(chains)?))
}

fn check(chains: &[Vec<f64>]) -> Result<(), UqError> {
    let Some(first) = chains.first() else {
        return Err(UqError::InvalidArgument {
            name: "number of chains",
            value: "0".into(),
            allowed: "at least 1",
        });
    };
    if first.len() < 4 {
        return Err(UqError::BadChain {
            chain: 0,
            message: format!("{} draws; a diagnostic needs at least 4", first.len()),
        });
    }
    for (c, chain) in chains.iter().enumerate() {
        if chain.len() != first.len() {
            return Err(UqError::BadChain {
                chain: c,
                message: format!("{} draws where chain 0 has {}", chain.len(), first.len()),
            });
        }
        if let Some(i) = chain.iter().position(|x| !x.is_finite()) {
            return Err(UqError::BadChain {
                chain: c,
                message: format!("draw {i} is {}", chain[i]),
            });
        }
    }
    Ok(())
}

/// Each chain's first and last `n / 2` draws as two chains.
fn split_chains(chains: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, UqError> {
    check(chains)?;
    let n = chains[0].len();
    let half = n / 2;
    Ok(chains
        .iter()
        .map(|c| c[..half].to_vec())
        .chain(chains.iter().map(|c| c[n - half..].to_vec()))
        .collect())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    quantile(&v, 0.5)
}

/// Pooled average ranks (1-based) mapped to normal scores, `Phi^-1((r - 3/8) / (S + 1/4))`.
fn z_scale(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let flat: Vec<f64> = chains.iter().flatten().copied().collect();
    let s = flat.len();
    let mut order: Vec<usize> = (0..s).collect();
    order.sort_by(|&a, &b| flat[a].total_cmp(&flat[b]));
    let mut rank = vec![0.0; s];
    let mut i = 0;
    while i < s {
        let mut j = i;
        while j + 1 < s && flat[order[j + 1]] == flat[order[i]] {
            j += 1;
        }
        // Positions i..=j (0-based) share the average rank of (i + 1 + j + 1) / 2.
        let r = (i + j + 2) as f64 / 2.0;
        for &k in &order[i..=j] {
            rank[k] = r;
        }
        i = j + 1;
    }
    let normal = Normal::standard();
    let mut it = rank
        .into_iter()
        .map(|r| normal.inverse_cdf((r - 0.375) / (s as f64 + 0.25)));
    chains
        .iter()
        .map(|c| it.by_ref().take(c.len()).collect())
        .collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Sample variance with `n - 1` in the denominator.
fn var1(v: &[f64]) -> f64 {
    let m = mean(v);
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64
}

/// Gelman-Rubin R-hat of (already split) chains.
fn rhat(chains: &[Vec<f64>]) -> f64 {
    let n = chains[0].len() as f64;
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    let between = n * var1(&means);
    let within = mean(&chains.iter().map(|c| var1(c)).collect::<Vec<_>>());
    ((between / within + n - 1.0) / n).sqrt()
}

/// Geyer initial-monotone-sequence effective sample size of (already split) chains.
fn ess_raw(chains: &[Vec<f64>]) -> f64 {
    let m = chains.len();
    let n = chains[0].len();
    let total = (m * n) as f64;
    let (lo, hi) = chains
        .iter()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
            (l.min(x), h.max(x))
        });
    if hi - lo < 1e-15 {
        return total;
    }
    let centred: Vec<Vec<f64>> = chains
        .iter()
        .map(|c| {
            let mu = mean(c);
            c.iter().map(|x| x - mu).collect()
        })
        .collect();
    // Mean over chains of the biased (divide by n) autocovariance at lag t.
    let acov = |t: usize| -> f64 {
        centred
            .iter()
            .map(|c| {
                c[..n - t]
                    .iter()
                    .zip(&c[t..])
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
                    / n as f64
            })
            .sum::<f64>()
            / m as f64
    };
    let nf = n as f64;
    let mean_var = acov(0) * nf / (nf - 1.0);
    let mut var_plus = mean_var * (nf - 1.0) / nf;
    if m > 1 {
        var_plus += var1(&chains.iter().map(|c| mean(c)).collect::<Vec<_>>());
    }
    let rho = |t: usize| 1.0 - (mean_var - acov(t)) / var_plus;
    let mut rho_hat = vec![0.0; n];
    rho_hat[0] = 1.0;
    let mut even = 1.0;
    let mut odd = rho(1);
    rho_hat[1] = odd;
    let mut t = 1;
    while t + 3 < n && even + odd > 0.0 {
        even = rho(t + 1);
        odd = rho(t + 2);
        if even + odd >= 0.0 {
            rho_hat[t + 1] = even;
            rho_hat[t + 2] = odd;
        }
        t += 2;
    }
    // The last lag of the positive sequence; -1 when not even the first pair was taken.
    let max_t = t as isize - 2;
    let next = (max_t + 1) as usize;
    if even > 0.0 {
        rho_hat[next] = even;
    }
    // Initial monotone sequence: pair sums never increase.
    let mut t = 1;
    while t as isize <= max_t - 2 {
        if rho_hat[t + 1] + rho_hat[t + 2] > rho_hat[t - 1] + rho_hat[t] {
            rho_hat[t + 1] = (rho_hat[t - 1] + rho_hat[t]) / 2.0;
            rho_hat[t + 2] = rho_hat[t + 1];
        }
        t += 2;
    }
    let tau = -1.0 + 2.0 * rho_hat[..next].iter().sum::<f64>() + rho_hat[next];
    let tau = tau.max(1.0 / total.log10());
    total / tau
}
