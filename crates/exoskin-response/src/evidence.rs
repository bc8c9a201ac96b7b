//! Peer-reviewed evidence (`data/evidence.toml`): each datum with its paper, table or
//! figure, extraction, n and uncertainty, in a calibration set (the fit sees it) or a
//! validation set (the fit never sees it).
//!
//! Each datum becomes a scenario (procedure, arm, site, age, day from the datum; what the
//! paper does not report takes the documented defaults below) and a model reading of its
//! quantity. Quantities the model does not produce (incidence across people, scar-score
//! ratios of mRNA) are listed with the reason and not evaluated.

use crate::params::{ResponseError, ResponseParams};
use crate::{try_simulate_in_vivo, Outcomes, Simulation};
use exoskin_model::scenario::InVivo;
use exoskin_model::{parse_scenario, Scenario, TransportParams};
use serde::{Deserialize, Serialize};

pub const EVIDENCE_TOML: &str = include_str!("../../../data/evidence.toml");

/// One extracted figure.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Datum {
    pub id: String,
    pub set: String,
    pub quantity: String,
    #[serde(default)]
    pub comparison: Option<String>,
    pub value: f64,
    #[serde(default)]
    pub sd: Option<f64>,
    #[serde(default)]
    pub se: Option<f64>,
    #[serde(default)]
    pub ci95: Option<[f64; 2]>,
    #[serde(default)]
    pub uncertainty_assumed: Option<f64>,
    #[serde(default)]
    pub n: Option<f64>,
    #[serde(default)]
    pub day: Option<f64>,
    #[serde(default)]
    pub procedure: Option<String>,
    #[serde(default)]
    pub arm: Option<String>,
    #[serde(default)]
    pub site: Option<String>,
    #[serde(default)]
    pub age_years: Option<f64>,
    #[serde(default)]
    pub sessions: Option<f64>,
    #[serde(default)]
    pub interval_days: Option<f64>,
    #[serde(default)]
    pub needle_length_um: Option<f64>,
    #[serde(default)]
    pub depth_um: Option<f64>,
    #[serde(default)]
    pub occluded: Option<bool>,
    #[serde(default)]
    pub species: Option<String>,
    #[serde(default)]
    pub value_is_bound: Option<String>,
    pub paper: String,
    #[serde(default, rename = "where")]
    pub location: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Deserialize)]
struct EvidenceFile {
    datum: Vec<Datum>,
}

/// Every datum of the shipped evidence file.
pub fn data() -> Result<Vec<Datum>, ResponseError> {
    let f: EvidenceFile = toml::from_str(EVIDENCE_TOML).map_err(|e| ResponseError::Evidence {
        file: "data/evidence.toml".into(),
        message: e.to_string(),
    })?;
    Ok(f.datum)
}

impl Datum {
    /// The standard error used in the fit: the reported SE, or SD / sqrt(n), or the 95 %
    /// interval / 3.92, or the stated relative uncertainty; never below 10 % of the value
    /// plus one unit (a floor for what the model cannot represent: between-study and
    /// instrument differences).
    pub fn sigma(&self) -> f64 {
        let reported = if let Some(se) = self.se {
            se
        } else if let (Some(sd), Some(n)) = (self.sd, self.n) {
            sd / n.max(1.0).sqrt()
        } else if let Some(sd) = self.sd {
            sd
        } else if let Some([lo, hi]) = self.ci95 {
            (hi - lo) / 3.92
        } else {
            self.uncertainty_assumed.unwrap_or(0.3) * self.value.abs()
        };
        reported.max(0.1 * self.value.abs() + 1.0)
    }

    /// Why the model cannot evaluate this datum, if it cannot.
    pub fn not_evaluated(&self) -> Option<&'static str> {
        match self.quantity.as_str() {
            "constant" => Some("a constant of the model (used as a parameter value)"),
            "pih_incidence_pct" => {
                Some("an incidence across people; the model gives a mean melanin change")
            }
            "erythema_duration_d" => Some("a duration of visible change scored by clinicians"),
            "reepithelialization_h"
                if self.comparison.as_deref() == Some("treated_minus_control") =>
            {
                Some("used to set reepithelialization_age_slowing_per_year (not refitted)")
            }
            _ if self.comparison.as_deref() == Some("ratio_treated_to_control") => {
                Some("an mRNA ratio; the model has no transcript level")
            }
            _ => match self.procedure.as_deref() {
                Some("fractional_nonablative") => Some("non-ablative lasers are not modelled"),
                _ => None,
            },
        }
    }

    fn site(&self) -> &'static str {
        match self.site.as_deref() {
            Some(s) if s.contains("forearm") || s.contains("arm") || s.contains("abdomen") => {
                "forearm"
            }
            Some(s) if s.contains("forehead") => "forehead",
            Some(s) if s.contains("back") => "back",
            _ => "cheek",
        }
    }

    /// The scenario that mirrors this datum. Defaults where the paper is silent: age 40;
    /// cheek for facial studies; the vesicle arm is human adipose MSC EVs at 1e10 per mL,
    /// 20 uL/cm2, once daily for 7 days after each session (an assumption: the papers do
    /// not report particle doses); human micropore-lifetime studies keep the site occluded
    /// (their protocols cover the site between readings); fractional CO2 defaults of
    /// data/transport.toml; tape stripping as the removal of 70 % of the stratum corneum.
    pub fn scenario(&self) -> Result<InVivo, ResponseError> {
        // Without a reading day (closure and recovery times), 30 days after the last session.
        let sessions = self.sessions.unwrap_or(1.0).max(1.0) as u32;
        let interval = self.interval_days.unwrap_or(28.0);
        let span = (sessions - 1) as f64 * interval;
        let duration_h = (span + self.day.map(|d| d.max(1.0) + 1.0).unwrap_or(30.0)) * 24.0;
        let source = match self.arm.as_deref() {
            Some("ev") | Some("conditioned_media") => "human_msc_adipose",
            _ => "vehicle",
        };
        let human = self
            .species
            .as_deref()
            .map(|s| s == "human")
            .unwrap_or(true);
        let occluded = self
            .occluded
            .unwrap_or(human && self.quantity.starts_with("channel"));
        let procedure = match self.procedure.as_deref() {
            Some("microneedling") => format!(
                "kind = \"microneedling\"\nneedle_length_um = {}\noccluded = {occluded}\nsessions = {sessions}\ninterval_days = {interval}\n",
                self.needle_length_um.unwrap_or(1000.0)
            ),
            Some("fractional_co2") | Some("fractional_ablative_other") => format!(
                "kind = \"fractional_co2\"\n{}sessions = {sessions}\ninterval_days = {interval}\n",
                self.depth_um.map(|d| format!("depth_um = {d}\n")).unwrap_or_default()
            ),
            Some("fractional_co2_full_field") => format!(
                "kind = \"fractional_co2\"\ncoverage_pct = 100.0\ndepth_um = {}\n",
                self.depth_um.unwrap_or(100.0)
            ),
            Some("tape_stripping") | Some("chemical_peel") => {
                "kind = \"chemical_peel\"\nsc_removed_fraction = 0.7\n".to_string()
            }
            _ => "kind = \"none\"\n".to_string(),
        };
        let apps = if source == "vehicle" { 1 } else { 7 };
        let text = format!(
            "[experiment]\nkind = \"in_vivo\"\nname = \"{id}\"\nduration_h = {duration_h}\noutput_interval_h = 6.0\n\
             [product]\nsource = \"{source}\"\nparticles_per_ml = 1.0e10\ndose_ul_per_cm2 = 20.0\n\
             [product.size]\nmode_nm = 100.0\ngsd = 1.4\nclasses = 3\n\
             [skin]\nsite = \"{site}\"\nage_years = {age}\n\
             [procedure]\n{procedure}\
             [regimen]\napplications_per_day = 1\ndays = {apps}\nper_session = true\n\
             [numerics]\ncells_per_layer = 16\nradial_cells = 12\ndt_max_h = 1.0\n",
            id = self.id,
            site = self.site(),
            age = self.age_years.unwrap_or(40.0),
        );
        match parse_scenario(&text, &format!("evidence:{}", self.id)) {
            Ok(Scenario::InVivo(v)) => Ok(v),
            Ok(_) => Err(ResponseError::Evidence {
                file: "data/evidence.toml".into(),
                message: format!("{}: not an in-vivo scenario", self.id),
            }),
            Err(e) => Err(ResponseError::Evidence {
                file: "data/evidence.toml".into(),
                message: format!("{}: {e}", self.id),
            }),
        }
    }
}

/// A datum prepared for repeated evaluation: its scenario and transport run.
pub struct Prepared {
    pub datum: Datum,
    pub scenario: InVivo,
    pub sim: Simulation,
    /// The wound curve of the last evaluation (reused while its parameters are unchanged).
    pub wound_memo: crate::WoundMemo,
}

/// Prepare every evaluable datum of `set` ("calibration", "validation" or "all").
pub fn prepare(
    set: &str,
    tp: &TransportParams,
    rp: &ResponseParams,
) -> Result<Vec<Prepared>, ResponseError> {
    use rayon::prelude::*;
    let chosen: Vec<Datum> = data()?
        .into_iter()
        .filter(|d| (set == "all" || d.set == set) && d.not_evaluated().is_none())
        .collect();
    chosen
        .into_par_iter()
        .map(|datum| {
            let scenario = datum.scenario()?;
            let sim = try_simulate_in_vivo(&scenario, tp, rp)?;
            Ok(Prepared {
                datum,
                scenario,
                sim,
                wound_memo: Default::default(),
            })
        })
        .collect()
}

/// Outcomes of a prepared datum under `rp` (transport held fixed; the wound recomputed).
pub fn outcomes(p: &Prepared, rp: &ResponseParams) -> Outcomes {
    p.sim.respond_with_memo(&p.scenario, rp, &p.wound_memo)
}

/// The data of `data` grouped by run: data whose scenarios are equal up to their names are
/// the same transport and response run, so a fit computes their outcomes once per group.
pub fn same_runs(data: &[Prepared]) -> Vec<Vec<usize>> {
    let unnamed = |p: &Prepared| {
        let mut v = p.scenario.clone();
        v.experiment.name.clear();
        v
    };
    let keys: Vec<InVivo> = data.iter().map(unnamed).collect();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in 0..data.len() {
        match groups.iter_mut().find(|g| keys[g[0]] == keys[i]) {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
}

/// Model values of the data of one group of [`same_runs`] (one response run for all).
pub fn group_values(data: &[Prepared], group: &[usize], rp: &ResponseParams) -> Vec<f64> {
    let o = outcomes(&data[group[0]], rp);
    group
        .iter()
        .map(|&i| reading(&data[i].datum, &data[i].scenario, &o))
        .collect()
}

/// Value of a series at a day (linear between outputs).
pub fn at_day(times: &[f64], s: &[f64], day: f64) -> f64 {
    if times.is_empty() {
        return f64::NAN;
    }
    let j = times
        .partition_point(|&x| x <= day)
        .clamp(1, times.len().max(2) - 1);
    if times.len() < 2 {
        return s[0];
    }
    let (t0, t1) = (times[j - 1], times[j]);
    let w = if t1 > t0 {
        ((day - t0) / (t1 - t0)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    s[j - 1] + w * (s[j] - s[j - 1])
}

/// The model's reading of a datum's quantity.
pub fn model_value(p: &Prepared, rp: &ResponseParams) -> f64 {
    let o = outcomes(p, rp);
    reading(&p.datum, &p.scenario, &o)
}

fn reading(d: &Datum, v: &InVivo, o: &Outcomes) -> f64 {
    let s = &o.series;
    let day = d.day.unwrap_or(0.0);
    let last_session_d = v.sessions_h.last().copied().unwrap_or(0.0) / 24.0;
    let read = |name: &str| {
        s.get(name)
            .map(|x| at_day(&s.times_d, x, last_session_d + day))
            .unwrap_or(f64::NAN)
    };
    match d.quantity.as_str() {
        "channel_closure_h" => o.channel_closure_h.unwrap_or(f64::NAN),
        // Microneedle channels close first order: 95 % closed after log2(20) half-lives.
        "channel_half_life_h" => o
            .channel_closure_h
            .map(|c| c / 20f64.log2())
            .unwrap_or(f64::NAN),
        "reepithelialization_h" => o.wound_closure_h.unwrap_or(f64::NAN),
        "barrier_recovery_d" => {
            // Days after the last session until TEWL excess is below 10 % of its peak.
            let (peak_i, peak) =
                s.tewl_pct
                    .iter()
                    .enumerate()
                    .fold((0, 0.0), |a, (i, &x)| if x > a.1 { (i, x) } else { a });
            s.tewl_pct[peak_i..]
                .iter()
                .position(|&x| x < 0.1 * peak)
                .map(|k| s.times_d[peak_i + k] - last_session_d)
                .unwrap_or(f64::INFINITY)
        }
        "barrier_recovery_pct" => {
            let peak = s.tewl_pct.iter().cloned().fold(0.0, f64::max);
            let now = at_day(&s.times_d, &s.tewl_pct, last_session_d + day);
            if peak > 0.0 {
                100.0 * (1.0 - now / peak)
            } else {
                f64::NAN
            }
        }
        "scar_pct" => read("wrinkle_pct"),
        q => read(q),
    }
}

/// The residual of a datum in units of its sigma (bounds count only when violated).
pub fn residual(d: &Datum, model: f64) -> f64 {
    if !model.is_finite() {
        return 10.0;
    }
    let r = (model - d.value) / d.sigma();
    match d.value_is_bound.as_deref() {
        Some("upper") => r.max(0.0),
        Some("lower") => r.min(0.0),
        _ => r,
    }
}
