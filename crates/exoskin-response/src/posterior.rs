//! The posterior of the fitted response parameters by Markov-chain Monte Carlo, beside the
//! Laplace approximation of [`crate::calibrate`].
//!
//! **Target.** The parameters are sampled in log space, `x = ln theta`, under exactly the
//! MAP objective's terms: the density is `exp(-S(x) / 2)` with `S` the sum of squared
//! normalized residuals of the calibration set plus the log-normal prior terms, so the MAP
//! estimate is its mode. Transport runs once per datum ([`evidence::prepare`]); an
//! evaluation re-responds those fixed runs ([`crate::Simulation::respond_with`]), once per
//! group of data that share a scenario ([`evidence::same_runs`]).
//!
//! **Sampler.** `exoskin_uq::sample` (adaptive random-walk Metropolis, chains in parallel,
//! deterministic for a seed). Chains start dispersed around the MAP: `x_map + 2 s z` with
//! `s` the Laplace SD in log space and `z` standard normal, so that split-R-hat can see
//! chains that have not mixed. Convergence per parameter: rank-normalized split-R-hat
//! (below 1.01 is the usual criterion) and bulk and tail effective sample sizes.
//!
//! **Posterior-predictive checks.** For every calibration and validation datum, the model's
//! value at a thinned set of posterior draws plus the datum's measurement uncertainty (a
//! normal error with the sigma the likelihood uses) gives the 90 % predictive interval; the
//! datum is inside when the interval holds its value (for a bound: when the interval
//! reaches the allowed side of it).

use crate::calibrate::{data_cell, percentiles, Problem};
use crate::evidence::{self, Prepared};
use crate::params::{ResponseError, ResponseParams};
use exoskin_uq::{sample, McmcConfig, McmcResult};
use nalgebra::DVector;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::rand_core::SeedableRng;
use rayon::prelude::*;
use serde::Serialize;

/// Sampler settings (`exoskin calibrate --mcmc --draws N --chains C --seed S`).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Draws kept per chain.
    pub draws: usize,
    /// Independent chains.
    pub chains: usize,
    /// Warm-up (adaptation) iterations per chain, discarded.
    pub warmup: usize,
    pub seed: u64,
}

/// Split-R-hat above this for any parameter: not converged.
pub const R_HAT_LIMIT: f64 = 1.01;
/// Posterior draws the predictive checks use (evenly thinned from all chains).
pub const PREDICTIVE_DRAWS: usize = 400;
/// Rows of the draws file at most (evenly thinned).
pub const FILE_DRAWS: usize = 2000;

/// One parameter's posterior beside its MAP and Laplace SD.
#[derive(Debug, Clone, Serialize)]
pub struct ParamSummary {
    pub name: String,
    pub map: f64,
    pub laplace_sd: f64,
    pub mean: f64,
    pub median: f64,
    pub p05: f64,
    pub p95: f64,
    pub r_hat: f64,
    pub ess_bulk: f64,
    pub ess_tail: f64,
}

/// A datum against its posterior-predictive interval.
#[derive(Debug, Clone, Serialize)]
pub struct Predictive {
    pub id: String,
    pub set: String,
    pub quantity: String,
    pub value: f64,
    pub sigma: f64,
    pub bound: Option<String>,
    pub p05: Option<f64>,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    /// The 90 % predictive interval holds the datum (a bound: reaches its allowed side).
    pub inside: bool,
}

/// Fraction of a set's data inside their 90 % predictive intervals (0.9 expected).
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    pub set: String,
    pub inside: usize,
    pub total: usize,
    pub fraction: f64,
}

/// The MCMC part of the calibration report.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub sampler: String,
    pub chains: usize,
    pub draws_per_chain: usize,
    pub warmup: usize,
    pub seed: u64,
    pub acceptance: f64,
    /// Every parameter's split-R-hat is at most [`R_HAT_LIMIT`].
    pub converged: bool,
    pub max_r_hat: f64,
    pub min_ess_bulk: f64,
    pub min_ess_tail: f64,
    pub params: Vec<ParamSummary>,
    pub predictive_draws: usize,
    pub predictive: Vec<Predictive>,
    pub coverage: Vec<Coverage>,
    /// Log-posterior evaluations and the wall time of the sampling.
    pub evaluations: usize,
    pub sampling_seconds: f64,
}

/// The posterior draws in natural units (`data/response_posterior.csv`).
#[derive(Debug, Clone)]
pub struct Draws {
    pub names: Vec<String>,
    /// (chain, draw within chain, log-posterior up to a constant, parameter values).
    pub rows: Vec<(usize, usize, f64, Vec<f64>)>,
    pub header: String,
}

/// The log-posterior of the fitted parameters in log space (up to a constant): `-S(x) / 2`
/// with `S` the MAP objective over the calibration data `cal`.
pub struct LogPosterior<'a> {
    problem: Problem<'a>,
}

impl<'a> LogPosterior<'a> {
    pub fn new(cal: &'a [Prepared]) -> Result<LogPosterior<'a>, ResponseError> {
        let priors = ResponseParams::priors()?;
        Ok(LogPosterior {
            problem: Problem::new(cal, &priors, &priors, None),
        })
    }
    /// Names of the fitted parameters, in the order of `x`.
    pub fn names(&self) -> &[String] {
        &self.problem.names
    }
    /// Log prior medians: the starting point of the fit.
    pub fn prior_medians(&self) -> Vec<f64> {
        self.problem.priors.iter().map(|(m, _)| m.ln()).collect()
    }
    /// Normalized residuals and prior terms at `x` (log parameters).
    pub fn residuals(&self, x: &[f64]) -> Vec<f64> {
        self.problem
            .residuals_at(&DVector::from_column_slice(x))
            .as_slice()
            .to_vec()
    }
    /// `-S(x) / 2`.
    pub fn at(&self, x: &[f64]) -> f64 {
        -0.5 * self.residuals(x).iter().map(|r| r * r).sum::<f64>()
    }
    /// The parameter set at `x`.
    pub fn params_at(&self, x: &[f64]) -> ResponseParams {
        self.problem.params_at(&DVector::from_column_slice(x))
    }
}

/// Samples `exp(-|r(x)|^2 / 2)` with chains started at `x_map + 2 s z` (`s`: the Laplace
/// SD of each coordinate; non-finite ones count as 0.1). The calibration's own target and a
/// linear-Gaussian check go through here alike.
pub fn sample_least_squares(
    residuals: impl Fn(&[f64]) -> Vec<f64> + Sync,
    x_map: &[f64],
    sd: &[f64],
    s: &Settings,
) -> Result<McmcResult, exoskin_uq::UqError> {
    let sd: Vec<f64> = sd
        .iter()
        .map(|&v| if v.is_finite() && v > 0.0 { v } else { 0.1 })
        .collect();
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(s.seed ^ 0x5EED_C4A1);
    let init: Vec<Vec<f64>> = (0..s.chains)
        .map(|_| {
            x_map
                .iter()
                .zip(&sd)
                .map(|(m, sj)| {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    m + 2.0 * sj * z
                })
                .collect()
        })
        .collect();
    let d = x_map.len() as f64;
    let cfg = McmcConfig {
        draws: s.draws,
        warmup: s.warmup,
        seed: s.seed,
        thin: 1,
        initial_scale: sd.iter().cloned().fold(f64::INFINITY, f64::min) * 2.38 / d.sqrt(),
        target_acceptance: None,
    };
    let logp = |x: &[f64]| {
        let r = residuals(x);
        -0.5 * r.iter().map(|v| v * v).sum::<f64>()
    };
    sample(logp, &init, &cfg)
}

/// Samples the posterior of the fitted parameters of `rp` (a MAP fit with Laplace SDs) and
/// checks it against both sets.
pub fn sample_posterior(
    cal: &[Prepared],
    val: &[Prepared],
    rp: &ResponseParams,
    s: &Settings,
) -> Result<(Summary, Draws), ResponseError> {
    let lp = LogPosterior::new(cal)?;
    let names = lp.names().to_vec();
    let map: Vec<f64> = names.iter().map(|n| rp.fitted[n].value).collect();
    let laplace: Vec<f64> = names.iter().map(|n| rp.fitted[n].sd).collect();
    let x_map: Vec<f64> = map.iter().map(|v| v.ln()).collect();
    let sd_log: Vec<f64> = map.iter().zip(&laplace).map(|(v, s)| s / v).collect();
    let started = std::time::Instant::now();
    let res = sample_least_squares(|x| lp.residuals(x), &x_map, &sd_log, s)?;
    let sampling_seconds = started.elapsed().as_secs_f64();
    let params: Vec<ParamSummary> = names
        .iter()
        .enumerate()
        .map(|(j, n)| {
            let v: Vec<f64> = res.pooled(j).iter().map(|x| x.exp()).collect();
            let q = percentiles(v.clone()).unwrap_or([f64::NAN; 3]);
            ParamSummary {
                name: n.clone(),
                map: map[j],
                laplace_sd: laplace[j],
                mean: v.iter().sum::<f64>() / v.len() as f64,
                median: q[1],
                p05: q[0],
                p95: q[2],
                r_hat: res.r_hat[j],
                ess_bulk: res.ess_bulk[j],
                ess_tail: res.ess_tail[j],
            }
        })
        .collect();
    let pooled: Vec<(usize, usize, f64, Vec<f64>)> = res
        .chains
        .iter()
        .enumerate()
        .flat_map(|(c, ch)| {
            let lp = &res.log_density[c];
            ch.iter()
                .enumerate()
                .map(move |(i, x)| (c, i, lp[i], x.clone()))
        })
        .collect();
    let thinned = |k: usize| -> Vec<&(usize, usize, f64, Vec<f64>)> {
        let n = pooled.len();
        let k = k.min(n);
        (0..k).map(|i| &pooled[i * n / k]).collect()
    };
    let at = |x: &[f64]| lp.params_at(x);
    let draws_rp: Vec<ResponseParams> =
        thinned(PREDICTIVE_DRAWS).iter().map(|r| at(&r.3)).collect();
    let mut predictive = Vec::new();
    let mut coverage = Vec::new();
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(s.seed ^ 0x9E3B_1E55);
    for (set, data) in [("calibration", cal), ("validation", val)] {
        let rows = predictive_checks(data, &draws_rp, &mut rng);
        let inside = rows.iter().filter(|r| r.inside).count();
        coverage.push(Coverage {
            set: set.into(),
            inside,
            total: rows.len(),
            fraction: if rows.is_empty() {
                f64::NAN
            } else {
                inside as f64 / rows.len() as f64
            },
        });
        predictive.extend(rows);
    }
    let max_r_hat = res.r_hat.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let summary = Summary {
        sampler: "adaptive random-walk Metropolis (exoskin_uq::sample), log parameters".into(),
        chains: s.chains,
        draws_per_chain: s.draws,
        warmup: s.warmup,
        seed: s.seed,
        acceptance: res.acceptance,
        converged: max_r_hat <= R_HAT_LIMIT,
        max_r_hat,
        min_ess_bulk: res.ess_bulk.iter().cloned().fold(f64::INFINITY, f64::min),
        min_ess_tail: res.ess_tail.iter().cloned().fold(f64::INFINITY, f64::min),
        params,
        predictive_draws: draws_rp.len(),
        predictive,
        coverage,
        evaluations: s.chains * (s.warmup + s.draws + 1),
        sampling_seconds,
    };
    let file_rows: Vec<(usize, usize, f64, Vec<f64>)> = thinned(FILE_DRAWS)
        .into_iter()
        .map(|(c, i, lp, x)| (*c, *i, *lp, x.iter().map(|v| v.exp()).collect()))
        .collect();
    let header = format!(
        "Posterior draws of the fitted response parameters (data/response.toml, fit = true), \
         written by `exoskin calibrate --mcmc`.\n\
         Target: the MAP objective of the calibration set (normalized residuals and log-normal \
         priors) as a density in log parameters; sampler: adaptive random-walk Metropolis, \
         {} chains x {} kept draws after {} warm-up iterations, seed {}, chains started \
         around the MAP.\n\
         Rows: {} draws evenly thinned from all chains; values in natural units; \
         log_posterior is -S/2 up to a constant.\n\
         Convergence: max split-R-hat {:.3} ({}), min bulk ESS {:.0}, min tail ESS {:.0}.",
        s.chains,
        s.draws,
        s.warmup,
        s.seed,
        file_rows.len(),
        max_r_hat,
        if summary.converged {
            "converged"
        } else {
            "NOT converged: run more draws"
        },
        summary.min_ess_bulk,
        summary.min_ess_tail,
    );
    Ok((
        summary,
        Draws {
            names,
            rows: file_rows,
            header,
        },
    ))
}

fn predictive_checks(
    data: &[Prepared],
    draws: &[ResponseParams],
    rng: &mut rand_xoshiro::Xoshiro256PlusPlus,
) -> Vec<Predictive> {
    let groups = evidence::same_runs(data);
    // values[k][i]: datum i under draw k.
    let values: Vec<Vec<f64>> = draws
        .par_iter()
        .map(|q| {
            let mut v = vec![f64::NAN; data.len()];
            for g in &groups {
                for (&i, m) in g.iter().zip(evidence::group_values(data, g, q)) {
                    v[i] = m;
                }
            }
            v
        })
        .collect();
    data.iter()
        .enumerate()
        .map(|(i, p)| {
            let d = &p.datum;
            let sigma = d.sigma();
            let sample: Vec<f64> = values
                .iter()
                .map(|v| {
                    let z: f64 = StandardNormal.sample(&mut *rng);
                    v[i] + sigma * z
                })
                .collect();
            let band = percentiles(sample);
            let inside = band.is_some_and(|[lo, _, hi]| match d.value_is_bound.as_deref() {
                Some("upper") => lo <= d.value,
                Some("lower") => hi >= d.value,
                _ => lo <= d.value && d.value <= hi,
            });
            Predictive {
                id: d.id.clone(),
                set: d.set.clone(),
                quantity: d.quantity.clone(),
                value: d.value,
                sigma,
                bound: d.value_is_bound.clone(),
                p05: band.map(|b| b[0]),
                p50: band.map(|b| b[1]),
                p95: band.map(|b| b[2]),
                inside,
            }
        })
        .collect()
}

/// The shipped posterior sample, `data/response_posterior.csv` (written by
/// `exoskin calibrate --mcmc`).
pub const POSTERIOR_CSV: &str = include_str!("../../../data/response_posterior.csv");

impl Draws {
    /// Read a draws file (see [`draws_csv`]); `file` names it in errors.
    pub fn parse(text: &str, file: &'static str) -> Result<Draws, ResponseError> {
        let bad = |line: usize, message: String| ResponseError::Data {
            file,
            message: format!("line {line}: {message}"),
        };
        let mut header = String::new();
        let mut names: Option<Vec<String>> = None;
        let mut rows = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            if let Some(h) = line.strip_prefix('#') {
                header.push_str(h.trim_start());
                header.push('\n');
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            let Some(names) = &names else {
                if cells.len() < 4 || cells[..3] != ["chain", "draw", "log_posterior"] {
                    return Err(bad(
                        line_no,
                        "the header must be `chain,draw,log_posterior,<parameter names>`".into(),
                    ));
                }
                names = Some(cells[3..].iter().map(|c| c.to_string()).collect());
                continue;
            };
            if cells.len() != names.len() + 3 {
                return Err(bad(
                    line_no,
                    format!("{} values, expected {}", cells.len(), names.len() + 3),
                ));
            }
            let int = |c: &str| {
                c.parse::<usize>()
                    .map_err(|_| bad(line_no, format!("`{c}` is not a whole number")))
            };
            let num = |c: &str| match c.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(bad(line_no, format!("`{c}` is not a finite number"))),
            };
            let values = cells[3..]
                .iter()
                .map(|c| num(c))
                .collect::<Result<Vec<_>, _>>()?;
            rows.push((int(cells[0])?, int(cells[1])?, num(cells[2])?, values));
        }
        let names = names.ok_or_else(|| bad(0, "no header line".into()))?;
        if rows.is_empty() {
            return Err(bad(0, "no draws".into()));
        }
        Ok(Draws {
            names,
            rows,
            header,
        })
    }

    /// The shipped draws ([`POSTERIOR_CSV`]; checked by the test suite, so an error here is a
    /// build defect that callers report).
    pub fn shipped() -> Result<&'static Draws, &'static ResponseError> {
        static D: std::sync::OnceLock<Result<Draws, ResponseError>> = std::sync::OnceLock::new();
        D.get_or_init(|| Draws::parse(POSTERIOR_CSV, "data/response_posterior.csv"))
            .as_ref()
    }
}

/// The draws file's text: `#` header lines, then `chain,draw,log_posterior,<parameters>`.
pub fn draws_csv(d: &Draws) -> String {
    let mut s: String = d.header.lines().map(|l| format!("# {l}\n")).collect();
    s.push_str("chain,draw,log_posterior");
    for n in &d.names {
        s.push(',');
        s.push_str(n);
    }
    s.push('\n');
    for (c, i, lp, x) in &d.rows {
        s.push_str(&format!("{c},{i},{lp:.6}"));
        for v in x {
            s.push_str(&format!(",{v:.6e}"));
        }
        s.push('\n');
    }
    s
}

/// The report's MCMC section (Markdown).
pub fn markdown(m: &Summary) -> String {
    let mut s = String::from("\n## Posterior sample (MCMC)\n\n");
    s.push_str(&format!(
        "Sampler: {}; {} chains x {} kept draws after {} warm-up iterations each, seed {}, chains started dispersed around the MAP (2 Laplace SDs); acceptance {:.2}; {} log-posterior evaluations in {:.0} s. The target is the MAP objective itself (same likelihood, same log-normal priors), so the MAP is its mode.\n\n",
        m.sampler, m.chains, m.draws_per_chain, m.warmup, m.seed, m.acceptance, m.evaluations, m.sampling_seconds
    ));
    if m.converged {
        s.push_str(&format!(
            "Convergence: every split-R-hat is at most {R_HAT_LIMIT} (largest {:.3}); smallest bulk ESS {:.0}, smallest tail ESS {:.0}.\n\n",
            m.max_r_hat, m.min_ess_bulk, m.min_ess_tail
        ));
    } else {
        let bad: Vec<String> = m
            .params
            .iter()
            .filter(|p| p.r_hat > R_HAT_LIMIT)
            .map(|p| format!("`{}` ({:.3})", p.name, p.r_hat))
            .collect();
        s.push_str(&format!(
            "**Not converged**: split-R-hat exceeds {R_HAT_LIMIT} for {}. The intervals below are provisional; run more draws (`exoskin calibrate --mcmc --draws N` with a larger N).\n\n",
            bad.join(", ")
        ));
    }
    s.push_str("| parameter | MAP | Laplace sd | posterior median | posterior 90 % | R-hat | bulk ESS | tail ESS |\n|---|---|---|---|---|---|---|---|\n");
    for p in &m.params {
        s.push_str(&format!(
            "| `{}` | {:.4} | {:.3} | {:.4} | {:.3} to {:.3} | {:.3} | {:.0} | {:.0} |\n",
            p.name, p.map, p.laplace_sd, p.median, p.p05, p.p95, p.r_hat, p.ess_bulk, p.ess_tail
        ));
    }
    s.push_str(&format!(
        "\n### Posterior-predictive checks\n\n90 % intervals of the model's value over {} posterior draws plus the datum's measurement uncertainty (normal, the sigma of the likelihood). A bound is inside when the interval reaches its allowed side.\n\n",
        m.predictive_draws
    ));
    for c in &m.coverage {
        s.push_str(&format!(
            "- {} set: {} of {} inside ({:.0} %; 90 % expected if the model and the stated uncertainties were right).\n",
            c.set,
            c.inside,
            c.total,
            100.0 * c.fraction
        ));
    }
    s.push_str("\n| datum | set | quantity | data | sigma | predictive 90 % | inside |\n|---|---|---|---|---|---|---|\n");
    for r in &m.predictive {
        s.push_str(&format!(
            "| `{}` | {} | {} | {} | {:.3} | {} | {} |\n",
            r.id,
            r.set,
            r.quantity,
            data_cell(r.value, r.bound.as_deref()),
            r.sigma,
            match (r.p05, r.p95) {
                (Some(a), Some(b)) => format!("{a:.3} to {b:.3}"),
                _ => "-".into(),
            },
            if r.inside { "yes" } else { "**no**" }
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{DMatrix, DVector};

    #[test]
    fn the_shipped_draws_parse_round_trip_and_name_the_fitted_parameters() {
        let d = Draws::shipped().unwrap();
        assert_eq!(d.rows.len(), 2000);
        let fitted: Vec<&String> = ResponseParams::shipped().unwrap().fitted.keys().collect();
        let mut names: Vec<&String> = d.names.iter().collect();
        names.sort();
        assert_eq!(
            names, fitted,
            "the draws hold exactly the fitted parameters"
        );
        assert!(d.rows.iter().all(|r| r.3.iter().all(|v| *v > 0.0)));
        // written again, the file reads back to the same numbers
        let again = Draws::parse(&draws_csv(d), "again").unwrap();
        assert_eq!(again.names, d.names);
        for (a, b) in again.rows.iter().zip(&d.rows) {
            assert_eq!((a.0, a.1), (b.0, b.1));
            for (x, y) in a.3.iter().zip(&b.3) {
                assert!((x / y - 1.0).abs() < 1e-6, "{x} vs {y}");
            }
        }
    }

    #[test]
    fn a_broken_draws_file_names_its_line() {
        let e = Draws::parse("chain,draw,log_posterior,a\n0,0,-1.0,abc\n", "f.csv").unwrap_err();
        assert!(
            e.to_string().contains("f.csv: line 2") && e.to_string().contains("abc"),
            "{e}"
        );
        let e = Draws::parse("x,y\n", "f.csv").unwrap_err();
        assert!(e.to_string().contains("header"), "{e}");
        let e = Draws::parse("chain,draw,log_posterior,a\n0,0,-1.0\n", "f.csv").unwrap_err();
        assert!(e.to_string().contains("3 values, expected 4"), "{e}");
    }

    /// A linear-Gaussian least-squares problem: `r = A x - b` (data rows and prior rows, as
    /// the calibration's residuals are). Its posterior is exactly normal with mean
    /// `(A^T A)^-1 A^T b` and covariance `(A^T A)^-1`; the sampler must recover both within
    /// Monte-Carlo error.
    #[test]
    fn linear_gaussian_posterior_is_recovered() {
        #[rustfmt::skip]
        let a = DMatrix::from_row_slice(5, 2, &[
            1.0, 0.5,
            0.8, -1.2,
            2.0, 0.3,
            1.0 / 0.7, 0.0, // prior on x0, sd 0.7
            0.0, 1.0 / 1.5, // prior on x1, sd 1.5
        ]);
        let b = DVector::from_vec(vec![1.0, -0.4, 2.2, 0.3 / 0.7, -1.0 / 1.5]);
        let ata = a.transpose() * &a;
        let cov = ata.clone().try_inverse().unwrap();
        let mean = &cov * a.transpose() * &b;
        let residuals = |x: &[f64]| {
            (&a * DVector::from_column_slice(x) - &b)
                .as_slice()
                .to_vec()
        };
        let laplace_sd = [cov[(0, 0)].sqrt(), cov[(1, 1)].sqrt()];
        let s = Settings {
            draws: 4000,
            chains: 4,
            warmup: 2000,
            seed: 11,
        };
        let res = sample_least_squares(residuals, mean.as_slice(), &laplace_sd, &s).unwrap();
        for j in 0..2 {
            let v = res.pooled(j);
            let n = v.len() as f64;
            let m = v.iter().sum::<f64>() / n;
            let sd = (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0)).sqrt();
            let ess = res.ess_bulk[j];
            assert!(res.r_hat[j] < R_HAT_LIMIT, "R-hat {}", res.r_hat[j]);
            assert!(ess > 400.0, "ESS {ess}");
            // Monte-Carlo standard errors: of the mean sd/sqrt(ESS); of the SD about
            // sd/sqrt(2 ESS). Four of them is a 1-in-15,000 miss for a correct sampler.
            let se_mean = laplace_sd[j] / ess.sqrt();
            assert!(
                (m - mean[j]).abs() < 4.0 * se_mean,
                "mean {m} vs exact {} (se {se_mean})",
                mean[j]
            );
            let se_sd = laplace_sd[j] / (2.0 * ess).sqrt();
            assert!(
                (sd - laplace_sd[j]).abs() < 4.0 * se_sd,
                "sd {sd} vs exact {} (se {se_sd})",
                laplace_sd[j]
            );
        }
        // The chains start dispersed, not at the mode: a start equal to the MAP everywhere
        // would hide a sampler that never moves.
        let firsts: Vec<f64> = res.chains.iter().map(|c| c[0][0]).collect();
        assert!(firsts.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn draws_file_has_its_header_and_columns() {
        let d = Draws {
            names: vec!["a".into(), "b".into()],
            rows: vec![(0, 0, -1.5, vec![1.0, 2.0]), (1, 3, -2.0, vec![0.5, 4.0])],
            header: "how they were made\nsecond line".into(),
        };
        let text = draws_csv(&d);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "# how they were made");
        assert_eq!(lines[1], "# second line");
        assert_eq!(lines[2], "chain,draw,log_posterior,a,b");
        assert_eq!(lines[4], "1,3,-2.000000,5.000000e-1,4.000000e0");
        assert_eq!(lines.len(), 5);
    }
}
