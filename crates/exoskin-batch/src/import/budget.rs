//! The measurement uncertainty budget of an import (GUM, JCGM 100:2008: relative standard
//! uncertainties combined in quadrature, expanded with k = 2).
//!
//! Type A is the spread of the replicates in the files (standard deviation of the replicate
//! values over the square root of their number, relative to the reported value); for FCS
//! with one acquisition, the counting (Poisson) uncertainty 1/sqrt(N) of its events. Type B
//! terms come from published studies, or are assumptions marked as such:
//!
//! - NTA size: Kestens V, Bozatzidis V, De Temmerman P-J, Ramaye Y, Roebben G. "Validation
//!   of a particle tracking analysis method for the size determination of nano- and
//!   microparticles". Journal of Nanoparticle Research 19 (2017), doi:10.1007/s11051-017-3966-8:
//!   relative expanded uncertainties (GUM, k = 2) of 10-12 % for the mode, median and mean of
//!   the number-weighted distribution of 50 and 100 nm polystyrene and 80 nm silica
//!   reference materials on NanoSight instruments. We take the upper end, 12 %, as U and
//!   its half, 6 %, as the standard uncertainty. The method itself is standardized as
//!   ISO 19430:2016, "Determination of particle size distribution — Particle tracking
//!   analysis (PTA)".
//! - NTA concentration: Vestad B, Llorente A, Neurauter A, et al. "Size and concentration
//!   analyses of extracellular vesicles by nanoparticle tracking analysis: a variation
//!   study". Journal of Extracellular Vesicles 6 (2017) 1344087,
//!   doi:10.1080/20013078.2017.1344087: day-to-day coefficients of variation of EV
//!   concentration of 2-25 % on one NanoSight NS500, with significant differences between
//!   two instruments. We take 25 % as the standard uncertainty of a lab's NTA concentration
//!   (intermediate precision; the Type A of the file's replicates comes on top, a
//!   conservative double count of repeatability). Between laboratories the spread is far
//!   wider: the VAMAS interlaboratory study (Minelli C, Wywijas M, Bartczak D, et al.,
//!   "Versailles project on advanced materials and standards (VAMAS) interlaboratory study
//!   on measuring the number concentration of colloidal gold nanoparticles", Nanoscale 14
//!   (2022), doi:10.1039/d1nr07775a) found a between-labs variability of 68 % for PTA on
//!   30 nm gold, so a certificate's concentration is a within-laboratory figure.
//! - Dilution: an assumption, 2 % (range 1-3 %) standard uncertainty for a pipetted dilution
//!   with calibrated pipettes, applied when the dilution factor is above 1.
//! - FCS size: an assumption, 5 % (range 3-10 %) standard uncertainty of a size calibrated
//!   from scatter against a bead ladder.
//! - FCS concentration: an assumption, 10 % (range 5-20 %) standard uncertainty of the
//!   sample volume analysed (flow rate calibration).
use super::dist::SizeStats;
use super::{Format, ImportError, ReplicateSummary};
use crate::record::Uncertainty;
use serde::Serialize;

/// Coverage factor of the expanded uncertainty (about 95 % for a normal distribution).
pub const K: f64 = 2.0;
/// NTA size, relative standard uncertainty: 12 % expanded (k = 2) / 2 (Kestens et al. 2017).
pub const NTA_SIZE_U_B: f64 = 0.12 / 2.0;
/// NTA concentration, relative standard uncertainty (Vestad et al. 2017, day-to-day CV up to 25 %).
pub const NTA_CONC_U_B: f64 = 0.25;
/// Dilution, relative standard uncertainty: assumption, range 0.01-0.03.
pub const DILUTION_U_B: f64 = 0.02;
/// FCS size, relative standard uncertainty: assumption, range 0.03-0.10.
pub const FCS_SIZE_U_B: f64 = 0.05;
/// FCS concentration (volume analysed), relative standard uncertainty: assumption, range 0.05-0.20.
pub const FCS_CONC_U_B: f64 = 0.10;

/// One term of the budget.
#[derive(Debug, Clone, Serialize)]
pub struct Term {
    pub name: String,
    /// `A` or `B`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Relative standard uncertainty.
    pub u_rel: f64,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Budget {
    pub coverage_factor: f64,
    pub concentration: Vec<Term>,
    pub size: Vec<Term>,
    /// Combined relative standard uncertainties and the expanded ones (k u).
    pub concentration_u_rel: f64,
    pub size_u_rel: f64,
    pub concentration_expanded_rel: f64,
    pub size_expanded_rel: f64,
}

/// Relative standard error of the mean of `xs` (0 for fewer than 2 values).
fn rel_sem(xs: &[f64]) -> f64 {
    let n = xs.len();
    if n < 2 {
        return 0.0;
    }
    let m = xs.iter().sum::<f64>() / n as f64;
    if m == 0.0 {
        return 0.0;
    }
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64;
    var.sqrt() / (n as f64).sqrt() / m.abs()
}

fn combined(terms: &[Term]) -> f64 {
    terms.iter().map(|t| t.u_rel * t.u_rel).sum::<f64>().sqrt()
}

pub fn evaluate(
    format: Format,
    reps: &[ReplicateSummary],
    _stats: &SizeStats,
    _concentration: f64,
    events: Option<u64>,
    notes: &mut Vec<String>,
) -> Budget {
    let n = reps.len();
    let mut conc = Vec::new();
    let mut size = Vec::new();
    let concs: Vec<f64> = reps.iter().map(|r| r.concentration_per_ml).collect();
    if n >= 2 {
        conc.push(Term {
            name: "replicate spread".into(),
            kind: "A",
            u_rel: rel_sem(&concs),
            source: format!("standard error of the mean of {n} replicates"),
        });
        // Size: the largest relative standard error among mode, D10, D50, D90.
        let pick: [fn(&SizeStats) -> f64; 4] =
            [|s| s.mode_nm, |s| s.d10_nm, |s| s.d50_nm, |s| s.d90_nm];
        let worst = pick
            .iter()
            .map(|f| rel_sem(&reps.iter().map(|r| f(&r.stats)).collect::<Vec<_>>()))
            .fold(0.0, f64::max);
        size.push(Term {
            name: "replicate spread".into(),
            kind: "A",
            u_rel: worst,
            source: format!(
                "largest standard error of the mean of mode, D10, D50, D90 over {n} replicates"
            ),
        });
    } else if let Some(n_events) = events.filter(|e| *e > 0) {
        conc.push(Term {
            name: "counting".into(),
            kind: "A",
            u_rel: 1.0 / (n_events as f64).sqrt(),
            source: format!("Poisson, 1/sqrt({n_events} events)"),
        });
        notes.push("one acquisition: Type A of the concentration is the Poisson counting term; the size has no Type A term".into());
    } else {
        notes.push(
            "one replicate: no Type A term from the file's spread; the Type B terms stand alone"
                .into(),
        );
    }
    match format {
        Format::NtaCsv | Format::ZetaView => {
            size.push(Term {
                name: "method (PTA sizing)".into(),
                kind: "B",
                u_rel: NTA_SIZE_U_B,
                source: "Kestens et al. 2017, J Nanopart Res 19, doi:10.1007/s11051-017-3966-8: U = 10-12 % (k = 2) for mode/median/mean; method ISO 19430:2016".into(),
            });
            conc.push(Term {
                name: "intermediate precision (NTA concentration)".into(),
                kind: "B",
                u_rel: NTA_CONC_U_B,
                source: "Vestad et al. 2017, J Extracell Vesicles 6:1344087: day-to-day CV 2-25 %"
                    .into(),
            });
        }
        Format::Fcs => {
            size.push(Term {
                name: "size calibration (scatter to nm)".into(),
                kind: "B",
                u_rel: FCS_SIZE_U_B,
                source: "assumption: 5 % (range 3-10 %)".into(),
            });
            conc.push(Term {
                name: "volume analysed".into(),
                kind: "B",
                u_rel: FCS_CONC_U_B,
                source: "assumption: 10 % (range 5-20 %)".into(),
            });
        }
    }
    if reps.iter().any(|r| r.dilution > 1.0) {
        conc.push(Term {
            name: "dilution".into(),
            kind: "B",
            u_rel: DILUTION_U_B,
            source: "assumption: 2 % (range 1-3 %) for a pipetted dilution".into(),
        });
    }
    let cu = combined(&conc);
    let su = combined(&size);
    Budget {
        coverage_factor: K,
        concentration: conc,
        size,
        concentration_u_rel: cu,
        size_u_rel: su,
        concentration_expanded_rel: K * cu,
        size_expanded_rel: K * su,
    }
}

impl Budget {
    /// The record's uncertainty: expanded values rounded up to 0.001.
    pub fn uncertainty(
        &self,
        format: Format,
        files: usize,
        replicates: usize,
    ) -> Result<Uncertainty, ImportError> {
        let up = |v: f64| (v * 1000.0 - 1e-9).ceil() / 1000.0;
        let (c, s) = (
            up(self.concentration_expanded_rel),
            up(self.size_expanded_rel),
        );
        for (what, v) in [("concentration", c), ("size", s)] {
            if v >= 1.0 {
                return Err(ImportError::Table {
                    what: format!("the {what} uncertainty"),
                    message: format!(
                        "expanded relative uncertainty {v} is 100 % or more: the replicates disagree too much to certify; check the files"
                    ),
                });
            }
        }
        let refs = match format {
            Format::NtaCsv | Format::ZetaView => "size: Kestens et al. 2017 (J Nanopart Res 19, U 10-12 %), ISO 19430:2016; concentration: Vestad et al. 2017 (J Extracell Vesicles 6:1344087, CV 2-25 %)",
            Format::Fcs => "size 5 % and volume 10 % standard uncertainties are assumptions",
        };
        Ok(Uncertainty {
            concentration_rel: c,
            size_rel: s,
            coverage_factor: K,
            source: format!(
                "exoskin batch import ({}, {files} file(s), {replicates} replicate(s)): GUM, Type A (replicate spread or counting) and Type B combined, k = 2; {refs}",
                format.name()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_standard_error_by_hand() {
        // 9, 10, 11: mean 10, s = 1, s/sqrt(3)/10.
        assert!((rel_sem(&[9.0, 10.0, 11.0]) - 1.0 / 3f64.sqrt() / 10.0).abs() < 1e-12);
        assert_eq!(rel_sem(&[5.0]), 0.0);
    }
}
