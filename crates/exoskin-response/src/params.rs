//! Response parameters (`data/response.toml`), source potencies (`data/potency.toml`) and
//! the fitted values written by `exoskin calibrate` (`data/response_fit.toml`).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

pub const RESPONSE_TOML: &str = include_str!("../../../data/response.toml");
pub const POTENCY_TOML: &str = include_str!("../../../data/potency.toml");
pub const FIT_TOML: &str = include_str!("../../../data/response_fit.toml");
pub const TARGETS_TOML: &str = include_str!("../../../data/calibration_targets.toml");

/// One response parameter with provenance: the model crate's [`Param`].
pub use exoskin_model::Param as RParam;

/// Relative potency of a source by pathway (human MSC = 1).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
pub struct Potency {
    pub anti_inflammatory: f64,
    pub matrix: f64,
    pub hydration: f64,
    pub migration: f64,
}

#[derive(Deserialize)]
struct PotencyRow {
    anti_inflammatory: f64,
    matrix: f64,
    hydration: f64,
    migration: f64,
    #[allow(dead_code)]
    source: String,
}

/// A fitted value with its posterior standard deviation (Laplace approximation).
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq)]
pub struct Fitted {
    pub value: f64,
    pub sd: f64,
}

#[derive(Deserialize)]
struct FitFile {
    #[serde(default)]
    params: BTreeMap<String, Fitted>,
}

/// All response parameters by name: data-file values, with fitted ones replaced by the fit.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseParams {
    values: BTreeMap<String, f64>,
    pub meta: BTreeMap<String, RParam>,
    pub fitted: BTreeMap<String, Fitted>,
    potency: BTreeMap<String, Potency>,
}

impl ResponseParams {
    /// The shipped parameters with the shipped fit.
    pub fn defaults() -> &'static ResponseParams {
        static P: OnceLock<ResponseParams> = OnceLock::new();
        P.get_or_init(|| {
            ResponseParams::from_texts(RESPONSE_TOML, POTENCY_TOML, FIT_TOML)
                .expect("data files are checked by tests")
        })
    }

    /// Parse the three data files (the fit file may hold no parameters: priors are used).
    pub fn from_texts(response: &str, potency: &str, fit: &str) -> Result<ResponseParams, String> {
        let meta: BTreeMap<String, RParam> =
            toml::from_str(response).map_err(|e| format!("data/response.toml: {e}"))?;
        let rows: BTreeMap<String, PotencyRow> =
            toml::from_str(potency).map_err(|e| format!("data/potency.toml: {e}"))?;
        let fit: FitFile =
            toml::from_str(fit).map_err(|e| format!("data/response_fit.toml: {e}"))?;
        let mut values: BTreeMap<String, f64> =
            meta.iter().map(|(k, p)| (k.clone(), p.value)).collect();
        for (k, f) in &fit.params {
            if !meta.get(k).map(|m| m.fit).unwrap_or(false) {
                return Err(format!(
                    "data/response_fit.toml: `{k}` is not a fitted parameter of data/response.toml"
                ));
            }
            values.insert(k.clone(), f.value);
        }
        let potency = rows
            .into_iter()
            .map(|(k, r)| {
                (
                    k,
                    Potency {
                        anti_inflammatory: r.anti_inflammatory,
                        matrix: r.matrix,
                        hydration: r.hydration,
                        migration: r.migration,
                    },
                )
            })
            .collect();
        Ok(ResponseParams {
            values,
            meta,
            fitted: fit.params,
            potency,
        })
    }

    /// A parameter's value. Names are fixed by the code and checked by the test suite.
    pub fn get(&self, name: &str) -> f64 {
        match self.values.get(name) {
            Some(v) => *v,
            None => panic!("response parameter `{name}` missing from data/response.toml"),
        }
    }

    /// Set a parameter (calibration, sensitivity, virtual participants).
    pub fn set(&mut self, name: &str, value: f64) -> Result<(), String> {
        match self.values.get_mut(name) {
            Some(v) => {
                *v = value;
                Ok(())
            }
            None => Err(format!("unknown response parameter `{name}`")),
        }
    }

    /// Names of the parameters that calibration fits, in a fixed order.
    pub fn fit_names(&self) -> Vec<String> {
        self.meta
            .iter()
            .filter(|(_, m)| m.fit)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Potency of a source; controls and unknown names have none.
    pub fn potency(&self, source: &str) -> Potency {
        self.potency.get(source).copied().unwrap_or(Potency {
            anti_inflammatory: 0.0,
            matrix: 0.0,
            hydration: 0.0,
            migration: 0.0,
        })
    }
}

/// Every parameter name the model reads; the test suite checks each exists in the data file.
pub const NAMES: &[&str] = &[
    "signal_half_life_h",
    "half_effect_keratinocyte_per_cm2",
    "half_effect_fibroblast_per_cm2",
    "half_effect_vesicles_per_cell",
    "cytokine_max_reduction",
    "closure_speedup",
    "collagen_gain",
    "elastin_gain",
    "procedure_collagen_induction",
    "pore_matrix_coupling",
    "pore_hydration_coupling",
    "hyaluronan_gain",
    "ceramide_gain",
    "injury_inflammation",
    "injury_tewl",
    "cytokine_time_constant_d",
    "erythema_time_constant_d",
    "barrier_time_constant_d",
    "hydration_time_constant_d",
    "pore_time_constant_d",
    "collagen_time_constant_d",
    "elastin_time_constant_d",
    "remodeling_time_constant_d",
    "matrix_decline_per_year",
    "wound_chemical_diffusivity",
    "wound_chemical_gain",
    "culture_uptake_time_h",
    "stimulus_lps",
    "stimulus_tnf_alpha",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_files_parse_and_hold_every_name_with_a_source() {
        let p = ResponseParams::from_texts(RESPONSE_TOML, POTENCY_TOML, FIT_TOML).unwrap();
        for n in NAMES {
            let m = p.meta.get(*n).unwrap_or_else(|| panic!("{n} missing"));
            assert!(m.source.len() > 10, "{n}");
            assert!(p.get(n).is_finite());
            if m.assumption || m.fit {
                let [lo, hi] = m
                    .range
                    .expect("assumptions and fitted parameters need a range");
                assert!(lo <= m.value && m.value <= hi, "{n}");
            }
        }
        assert_eq!(
            p.meta.len(),
            NAMES.len(),
            "data/response.toml has entries the model does not read"
        );
        for s in exoskin_model::scenario::SOURCES {
            let _ = p.potency(s);
        }
        assert_eq!(p.potency("vehicle").matrix, 0.0);
        assert!(p.potency("plant").matrix < p.potency("human_msc_adipose").matrix);
    }
}
