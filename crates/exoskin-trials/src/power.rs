//! Sample size by simulation over the model, and the analytic answer for t tests.
//!
//! Simulation: for each candidate sample size n, `replicates` whole trials of n participants
//! (per arm in parallel designs, enrolled, dropouts included) are simulated and analysed with
//! the primary test on the primary endpoint at the last visit; the power is the fraction with
//! p < alpha. Replicate `r` uses participants `(seed_r, 0..n)`, so a trial of n + 1 extends
//! the trial of n (common random numbers: the estimated power curve is smooth in n). The
//! search doubles n until the target is reached, then bisects. A trial is a success when the
//! primary endpoint's decision p value (superiority, TOST or non-inferiority; see
//! [`crate::analysis`]) is below alpha after the trial's multiplicity correction over its
//! endpoints, so the power is the primary endpoint's power under the correction.
//!
//! The analytic answer for the effect the model gives (one large simulated trial): the
//! noncentral t for superiority and non-inferiority, the exact TOST power for equivalence
//! ([`crate::equivalence`]); a crossover is a two-sample comparison of the sequences' period
//! differences (difference twice the treatment effect, margins doubled). With Holm, Hochberg
//! or Bonferroni the analytic answer uses alpha / (number of endpoints), the Bonferroni bound
//! (Holm and Hochberg need no more participants than that); with a fixed sequence the primary
//! endpoint's own alpha, which is exact when it comes first.

use crate::analysis::{changes, crossover_periods, primary_p};
use crate::equivalence as eq;
use crate::multiplicity::Multiplicity;
use crate::rng::splitmix64;
use crate::sim::{simulate, simulate_needed, Responder};
use crate::spec::Analysis;
use crate::spec::{Design, Trial};
use crate::stats::{self, Rate};
use exoskin_model::{Observer, Stopped};
use rayon::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PowerPoint {
    /// Participants enrolled (split-face) or per arm (parallel).
    pub n: usize,
    pub power: Rate,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PowerResult {
    pub endpoint: String,
    pub visit_day: f64,
    pub comparison: String,
    pub test: String,
    /// "superiority", "equivalence" or "non_inferiority".
    pub analysis: String,
    /// The multiplicity correction over the endpoints.
    pub multiplicity: String,
    pub alpha: f64,
    pub target: f64,
    pub replicates: usize,
    /// Smallest n whose simulated power reaches the target (None: not within max).
    pub n_required: Option<usize>,
    /// Monte-Carlo standard error of `n_required` from the finite number of replicates:
    /// the binomial SE of the power at the target, sqrt(target (1 - target) / replicates),
    /// divided by the slope of the power curve there (delta method; slope from a
    /// least-squares line through the curve points with power within 0.15 of the target).
    pub n_required_mc_se: Option<f64>,
    pub curve: Vec<PowerPoint>,
    /// Effect size of the primary comparison estimated from one simulated trial of
    /// [`EFFECT_SIZE_PARTICIPANTS`] (per arm in parallel designs).
    pub effect_size_estimate: f64,
    pub effect_size_ci95: [f64; 2],
    /// "cohen_dz" (paired) or "cohen_d" (two-sample).
    pub effect_size_measure: String,
    /// The difference (treated minus control change, instrument units) and its SD (of the
    /// paired differences, within groups, or of the crossover's period differences) behind the
    /// analytic answer.
    pub difference_estimate: f64,
    pub sd_estimate: f64,
    /// The instrument's unit of `difference_estimate`.
    pub difference_unit: String,
    /// Whether the treated arm is the better one by that difference (the instrument says
    /// which direction is an improvement); None when the difference is exactly 0. A power
    /// analysis for a treatment that is worse sizes a trial that finds harm.
    pub treated_better: Option<bool>,
    /// The level the analytic answer is computed at (see the module notes).
    pub analytic_alpha: f64,
    /// Analytic completers needed for that effect size (noncentral t; TOST power for
    /// equivalence), per arm in parallel designs, in all in split-face and crossover designs.
    pub analytic_n_completers: Option<f64>,
    /// The same, enrolled: divided by the fraction that completes.
    pub analytic_n_enrolled: Option<usize>,
}

/// Participants (per arm in parallel designs) of the simulated trial that estimates the
/// effect size for the analytic answer.
pub const EFFECT_SIZE_PARTICIPANTS: usize = 20_000;

fn replicate_seed(seed: u64, r: usize) -> u64 {
    splitmix64(seed ^ 0xA076_1D64_78BD_642F_u64.wrapping_mul(r as u64 + 1))
}

/// Power at one n: the fraction of `replicates` simulated trials that reject.
pub fn power_at(trial: &Trial, responder: &dyn Responder, n: usize, replicates: usize) -> Rate {
    stats::wilson(
        rejections(trial, &[responder], n, 0..replicates),
        replicates,
        0.05,
    )
}

/// The simulated trials of n participants among replicates `range` that reject the null
/// hypothesis: replicate `r` uses participants `(seed_r, 0..n)` and the model
/// `responders[r mod M]`. The count over a range is the sum of the counts over any split of
/// it, so replicates can be computed in blocks anywhere and added up.
pub fn rejections(
    trial: &Trial,
    responders: &[&dyn Responder],
    n: usize,
    range: std::ops::Range<usize>,
) -> usize {
    let last = trial.visits_days.len() - 1;
    let arm = trial.treatments()[0];
    let m = responders.len().max(1);
    // Only the readings the primary test reads are drawn (the same values, fewer draws).
    let needed = crate::sim::Needed::primary(trial, last);
    range
        .into_par_iter()
        .map(|r| {
            let responder = responders[r % m];
            let readings =
                simulate_needed(trial, n, replicate_seed(trial.seed, r), responder, &needed);
            let p = primary_p(trial, &readings, arm, last, trial.primary);
            usize::from(p < trial.alpha)
        })
        .sum()
}

/// Monte-Carlo SE of the sample size where the power curve crosses `target` (see
/// [`PowerResult::n_required_mc_se`]); None if the curve has no usable slope there.
pub fn mc_se_of_n(curve: &[PowerPoint], n: usize, target: f64, replicates: usize) -> Option<f64> {
    let near: Vec<(f64, f64)> = curve
        .iter()
        .filter(|p| (p.power.rate - target).abs() <= 0.15)
        .map(|p| (p.n as f64, p.power.rate))
        .collect();
    let spread = near.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max)
        - near.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    // a slope needs points spread over at least a few participants
    if near.len() < 2 || spread < 2.0 || n == 0 {
        return None;
    }
    let k = near.len() as f64;
    let (mx, my) = (
        near.iter().map(|p| p.0).sum::<f64>() / k,
        near.iter().map(|p| p.1).sum::<f64>() / k,
    );
    let sxy: f64 = near.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = near.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let slope = sxy / sxx;
    if !(slope.is_finite() && slope > 0.0) {
        return None;
    }
    Some((target * (1.0 - target) / replicates as f64).sqrt() / slope)
}

/// Assurance at n: the probability of success averaged over what is not known about the
/// model (O'Hagan, Stevens & Campbell 2005, Pharm Stat 4:187): simulated trial `r` uses
/// the model draw `r mod M` (one draw of the uncertain parameters per simulated trial),
/// with the same participants as [`power_at`] so power and assurance differ only in the
/// model.
pub fn assurance_at(
    trial: &Trial,
    responders: &[&(dyn Responder + Sync)],
    n: usize,
    replicates: usize,
) -> Rate {
    let rs: Vec<&dyn Responder> = responders.iter().map(|r| *r as &dyn Responder).collect();
    stats::wilson(rejections(trial, &rs, n, 0..replicates), replicates, 0.05)
}

/// The sample-size search over a source of power estimates: `power(n)` is the estimated
/// power at n, or `None` when it is not known yet. The search doubles n from 4 until the
/// target is reached (or `max_n` is passed), then bisects. Returns [`Search::Need`] with the
/// first n whose power it needs and does not have, else the sizes it visited and the answer.
pub fn search(target: f64, max_n: usize, power: &mut dyn FnMut(usize) -> Option<f64>) -> Search {
    let mut visited: Vec<usize> = Vec::new();
    let mut eval = |n: usize| -> Option<f64> {
        let p = power(n)?;
        if !visited.contains(&n) {
            visited.push(n);
        }
        Some(p)
    };
    let mut lo = 3usize; // largest n known to fall short
    let mut hi = None;
    let mut n = 4usize;
    while n <= max_n {
        let Some(p) = eval(n) else {
            return Search::Need(n);
        };
        if p >= target {
            hi = Some(n);
            break;
        }
        lo = n;
        n = if n >= max_n {
            max_n + 1
        } else {
            (n * 2).min(max_n)
        };
    }
    if let Some(mut h) = hi {
        while h - lo > 1 {
            let mid = (lo + h) / 2;
            let Some(p) = eval(mid) else {
                return Search::Need(mid);
            };
            if p >= target {
                h = mid;
            } else {
                lo = mid;
            }
        }
        hi = Some(h);
    }
    visited.sort_unstable();
    Search::Done {
        visited,
        n_required: hi,
    }
}

/// Where a sample-size [`search`] stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// The power at this n is needed next.
    Need(usize),
    /// Finished: the sizes visited (ascending) and the smallest reaching the target.
    Done {
        visited: Vec<usize>,
        n_required: Option<usize>,
    },
}

/// Search the sample size reaching `target` power; `observer` hears each sample size as it
/// is finished ("n = 40: power 0.620", counted as done of an unknown total) and may stop the
/// search between them.
pub fn simulate_power(
    trial: &Trial,
    responder: &dyn Responder,
    target: f64,
    replicates: usize,
    max_n: usize,
    observer: &dyn Observer,
) -> Result<PowerResult, Stopped> {
    let mut curve: Vec<PowerPoint> = Vec::new();
    let (visited, hi) = loop {
        let known = |n: usize| curve.iter().find(|p| p.n == n).map(|p| p.power.rate);
        match search(target, max_n, &mut |n| known(n)) {
            Search::Need(n) => {
                let point = PowerPoint {
                    n,
                    power: power_at(trial, responder, n, replicates),
                };
                let said = format!("n = {}: power {:.3}", point.n, point.power.rate);
                curve.push(point);
                observer.progress(curve.len(), 0)?;
                observer.message(&said)?;
            }
            Search::Done {
                visited,
                n_required,
            } => break (visited, n_required),
        }
    };
    curve.retain(|p| visited.contains(&p.n));
    curve.sort_by_key(|p| p.n);
    Ok(finish_power(
        trial, responder, target, replicates, curve, hi,
    ))
}

/// The power result from a finished search's curve and answer: the effect size from one
/// large simulated trial and the analytic sample size for it.
pub fn finish_power(
    trial: &Trial,
    responder: &dyn Responder,
    target: f64,
    replicates: usize,
    curve: Vec<PowerPoint>,
    hi: Option<usize>,
) -> PowerResult {
    // Effect size from one large trial (its own seed), for the analytic answer.
    let readings = simulate(
        trial,
        EFFECT_SIZE_PARTICIPANTS,
        replicate_seed(trial.seed ^ 0x5EED, usize::MAX - 1),
        responder,
    );
    let last = trial.visits_days.len() - 1;
    let arm = trial.treatments()[0];
    let (x, y, _, _) = changes(&readings, arm, trial.control(), last, trial.primary);
    let completing = 1.0 - trial.population.dropout_pct / 100.0;
    let ep = &trial.endpoints[trial.primary];
    let families = trial.endpoints.len() as f64;
    let alpha = match trial.multiplicity {
        Multiplicity::Holm | Multiplicity::Hochberg | Multiplicity::Bonferroni => {
            trial.alpha / families
        }
        Multiplicity::None | Multiplicity::FixedSequence => trial.alpha,
    };
    // The comparison as paired or two-sample: difference, SD, the scale of the margins and
    // the participants per unit of n.
    let (es, measure, delta, sd, paired, scale, per_n) = match trial.design {
        Design::SplitFace => {
            let d: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a - b).collect();
            let es = stats::cohen_dz(&d, 0.95);
            (
                es,
                "cohen_dz",
                stats::mean(&d),
                stats::sd(&d),
                true,
                1.0,
                1.0,
            )
        }
        Design::Parallel => {
            let es = stats::cohen_d(&x, &y, 0.95);
            let sd = eq::Difference::pooled(&x, &y).se
                / (1.0 / x.len() as f64 + 1.0 / y.len() as f64).sqrt();
            (
                es,
                "cohen_d",
                stats::mean(&x) - stats::mean(&y),
                sd,
                false,
                1.0,
                1.0,
            )
        }
        Design::Crossover => {
            let (tc, ct) = crossover_periods(&readings, arm, last, trial.primary);
            let d1: Vec<f64> = tc.iter().map(|(a, b)| a - b).collect();
            let d2: Vec<f64> = ct.iter().map(|(a, b)| a - b).collect();
            let es = stats::cohen_d(&d1, &d2, 0.95);
            let sd = eq::Difference::pooled(&d1, &d2).se
                / (1.0 / d1.len() as f64 + 1.0 / d2.len() as f64).sqrt();
            (
                es,
                "cohen_d_period_differences",
                stats::mean(&d1) - stats::mean(&d2),
                sd,
                false,
                2.0,
                2.0,
            )
        }
    };
    let n_an = match (trial.analysis, ep.margin) {
        (Analysis::Equivalence, Some(m)) => {
            let (lo, hi) = (scale * m.low, scale * m.high);
            if paired {
                eq::tost_paired_n(delta, sd, lo, hi, alpha, target)
            } else {
                eq::tost_two_sample_n(delta, sd, lo, hi, 1.0, alpha, target)
            }
        }
        (Analysis::NonInferiority, Some(m)) => eq::ni_n(
            delta,
            sd,
            scale * m.high,
            ep.instrument.higher_is_better,
            paired,
            1.0,
            alpha,
            target,
        ),
        _ if paired => stats::paired_n(es.value.abs(), alpha, target),
        _ => stats::two_sample_n(es.value.abs(), alpha, target),
    }
    .map(|n| n * per_n);
    PowerResult {
        endpoint: trial.endpoints[trial.primary].name.clone(),
        visit_day: trial.visits_days[last],
        comparison: format!(
            "{} vs {}",
            trial.arms[arm].name,
            trial.arms[trial.control()].name
        ),
        test: match trial.design {
            Design::SplitFace => "paired_t",
            Design::Parallel => "welch_t",
            Design::Crossover => "crossover_t",
        }
        .into(),
        analysis: trial.analysis.name().into(),
        multiplicity: trial.multiplicity.name().into(),
        alpha: trial.alpha,
        target,
        replicates,
        n_required_mc_se: hi.and_then(|n| mc_se_of_n(&curve, n, target, replicates)),
        n_required: hi,
        curve,
        effect_size_estimate: es.value,
        effect_size_ci95: [es.ci95_low, es.ci95_high],
        effect_size_measure: measure.into(),
        difference_estimate: delta,
        sd_estimate: sd,
        difference_unit: ep.instrument.unit.clone(),
        treated_better: (delta != 0.0).then_some((delta > 0.0) == ep.instrument.higher_is_better),
        analytic_alpha: alpha,
        analytic_n_completers: n_an,
        analytic_n_enrolled: n_an.map(|n| (n.ceil() / completing).ceil() as usize),
    }
}
