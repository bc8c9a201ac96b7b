//! Response parameters (`data/response.toml`), source potencies (`data/potency.toml`) and
//! the fitted values written by `exoskin calibrate` (`data/response_fit.toml`).
//!
//! [`ResponseParams`] is a typed struct: the ODE loop reads fields, never names. Names are
//! used only at the edges (loading, calibration, virtual participants), through
//! [`ResponseParams::value`] and [`ResponseParams::set`].

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

pub const RESPONSE_TOML: &str = include_str!("../../../data/response.toml");
pub const POTENCY_TOML: &str = include_str!("../../../data/potency.toml");
pub const FIT_TOML: &str = include_str!("../../../data/response_fit.toml");

/// One response parameter with provenance: the model crate's [`Param`](exoskin_model::Param).
pub use exoskin_model::Param as RParam;

/// Errors of the response crate's data and inputs.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    #[error("{file}: {message}")]
    Data { file: &'static str, message: String },
    #[error("unknown response parameter `{name}`: the names are the tables of data/response.toml")]
    UnknownParameter { name: String },
    #[error(
        "response parameter `{name}` = {value} is not allowed: it must be finite, and not negative unless its range in data/response.toml is signed"
    )]
    BadValue { name: String, value: f64 },
    #[error("{file}: {message}")]
    Evidence { file: String, message: String },
    #[error("reference integrator: step size too small at t = {time} d")]
    StepSizeTooSmall { time: f64 },
    #[error(
        "reference integrator: tolerances must be positive and finite (rtol {rtol}, atol {atol})"
    )]
    BadTolerance { rtol: f64, atol: f64 },
    #[error(transparent)]
    Transport(#[from] exoskin_transport::TransportError),
    #[error("posterior sampling: {0}")]
    Sampling(#[from] exoskin_uq::UqError),
    /// The work was cancelled or passed its time limit.
    #[error(transparent)]
    Stopped(#[from] exoskin_model::Stopped),
}

/// Relative potency of a source by pathway (human MSC = 1).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
pub struct Potency {
    pub anti_inflammatory: f64,
    pub matrix: f64,
    pub hydration: f64,
    pub migration: f64,
    pub pigment: f64,
}

impl Potency {
    pub const NONE: Potency = Potency {
        anti_inflammatory: 0.0,
        matrix: 0.0,
        hydration: 0.0,
        migration: 0.0,
        pigment: 0.0,
    };
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PotencyRow {
    anti_inflammatory: f64,
    matrix: f64,
    hydration: f64,
    migration: f64,
    pigment: f64,
    #[allow(dead_code)]
    source: String,
    /// The row's log-normal multiplier spans [1/f, f] (ensembles); absent: fixed.
    #[serde(default)]
    range_factor: Option<f64>,
    #[allow(dead_code)]
    #[serde(default)]
    range_factor_source: Option<String>,
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

macro_rules! response_params {
    ($($name:ident),* $(,)?) => {
        /// Every response parameter's value (units and sources in `data/response.toml`).
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct Values { $(pub $name: f64,)* }

        /// Every parameter name the model reads, in declaration order.
        pub const NAMES: &[&str] = &[$(stringify!($name),)*];

        /// A response parameter, named as in `data/response.toml`: resolved from its name
        /// once ([`ParamId::parse`]), then read and set without a lookup
        /// ([`ResponseParams::get`], [`ResponseParams::set_id`]).
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ParamId { $($name,)* }

        impl ParamId {
            /// Every parameter, in declaration order (the order of [`NAMES`]).
            pub const ALL: &'static [ParamId] = &[$(ParamId::$name,)*];
            /// The parameter's name in the data file.
            pub fn name(self) -> &'static str {
                NAMES[self as usize]
            }
        }

        impl Values {
            /// The value of `id`.
            pub fn get_id(&self, id: ParamId) -> f64 {
                match id { $(ParamId::$name => self.$name,)* }
            }
            fn slot_id(&mut self, id: ParamId) -> &mut f64 {
                match id { $(ParamId::$name => &mut self.$name,)* }
            }
        }

        impl Values {
            fn from_map(m: &BTreeMap<String, f64>) -> Result<Values, ResponseError> {
                Ok(Values { $($name: *m.get(stringify!($name)).ok_or_else(|| ResponseError::Data {
                    file: "data/response.toml",
                    message: format!("`{}` is missing", stringify!($name)),
                })?,)* })
            }
            fn get(&self, name: &str) -> Option<f64> {
                ParamId::parse(name).ok().map(|id| self.get_id(id))
            }
        }
    };
}

response_params!(
    // dose-response
    signal_half_life_h,
    half_effect_vesicles_per_cell,
    tissue_delivery_factor,
    culture_uptake_fraction,
    culture_uptake_time_h,
    keratinocytes_per_cm2,
    fibroblasts_per_cm2,
    // injury and inflammation
    injury_half_saturation,
    damage_resolution_needle_d,
    damage_resolution_ablative_d,
    damage_resolution_peel_d,
    epidermal_thickness_um,
    inflammation_max_excess,
    cytokine_time_constant_d,
    // erythema
    vascular_erythema_max,
    vascular_time_constant_h,
    erythema_per_inflammation,
    erythema_time_constant_d,
    // barrier and hydration
    barrier_halo_factor,
    disrupted_tewl_ratio,
    barrier_recovery_per_d,
    barrier_age_slowing_per_year,
    hydration_barrier_coupling,
    hydration_time_constant_d,
    // re-epithelialization
    reepithelialization_lag_h,
    keratinocyte_migration_um_per_h,
    confluence_slowing,
    depth_slowing_per_mm,
    reepithelialization_age_slowing_per_year,
    occlusion_speedup,
    // remodelling
    remodelling_per_injury,
    fibroblast_activation_per_inflammation,
    activation_time_constant_d,
    collagen_time_constant_d,
    elastin_expression_per_activation,
    elastin_time_constant_d,
    elastic_fibre_synthesis,
    elastic_fibre_loss_per_inflammation,
    elastic_fibre_time_constant_d,
    matrix_decline_per_year,
    wrinkle_per_collagen,
    elasticity_per_matrix,
    pore_matrix_coupling,
    pore_hydration_coupling,
    pore_time_constant_d,
    // pigment
    pih_per_inflammation,
    melanin_time_constant_d,
    // what the vesicles add (signed)
    ev_inflammation_effect,
    inflammation_remodelling_coupling,
    ev_matrix_effect,
    study_dose_spread,
    ev_barrier_effect,
    ev_hydration_effect,
    ev_pigment_effect,
    // cell culture stimuli
    stimulus_lps,
    stimulus_tnf_alpha,
);

impl ParamId {
    /// The parameter named `name` in `data/response.toml`.
    pub fn parse(name: &str) -> Result<ParamId, ResponseError> {
        NAMES
            .iter()
            .position(|n| *n == name)
            .map(|k| ParamId::ALL[k])
            .ok_or_else(|| ResponseError::UnknownParameter {
                name: name.to_string(),
            })
    }
}

impl std::str::FromStr for ParamId {
    type Err = ResponseError;
    fn from_str(s: &str) -> Result<ParamId, ResponseError> {
        ParamId::parse(s)
    }
}

/// All response parameters: typed values (data file, with fitted ones replaced by the fit),
/// their provenance, the fit and the potency table.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseParams {
    pub v: Values,
    pub meta: BTreeMap<String, RParam>,
    pub fitted: BTreeMap<String, Fitted>,
    potency: BTreeMap<String, Potency>,
    potency_range: BTreeMap<String, f64>,
    /// Per [`ParamId`]: whether the parameter's range reaches below zero (read once from
    /// `meta`, so setting a value needs no lookup).
    signed: Vec<bool>,
}

impl ResponseParams {
    /// The shipped parameters with the shipped fit (the data files are checked by tests, so
    /// a failure here is a build defect; the CLI reports it as an error, never a panic).
    pub fn shipped() -> Result<&'static ResponseParams, &'static ResponseError> {
        static P: OnceLock<Result<ResponseParams, ResponseError>> = OnceLock::new();
        P.get_or_init(|| ResponseParams::from_texts(RESPONSE_TOML, POTENCY_TOML, FIT_TOML))
            .as_ref()
    }

    /// The shipped parameters. The embedded data files are verified by the test suite
    /// (`data_files_parse_and_hold_every_name_with_a_source`).
    pub fn defaults() -> &'static ResponseParams {
        match Self::shipped() {
            Ok(p) => p,
            Err(e) => panic!("embedded response data files are invalid: {e}"),
        }
    }

    /// The priors alone (the data file's values, no fit).
    pub fn priors() -> Result<ResponseParams, ResponseError> {
        ResponseParams::from_texts(RESPONSE_TOML, POTENCY_TOML, "")
    }

    /// Parse the three data files (the fit file may hold no parameters: priors are used).
    pub fn from_texts(
        response: &str,
        potency: &str,
        fit: &str,
    ) -> Result<ResponseParams, ResponseError> {
        let data = |file: &'static str, e: toml::de::Error| ResponseError::Data {
            file,
            message: e.to_string(),
        };
        let meta: BTreeMap<String, RParam> =
            toml::from_str(response).map_err(|e| data("data/response.toml", e))?;
        let rows: BTreeMap<String, PotencyRow> =
            toml::from_str(potency).map_err(|e| data("data/potency.toml", e))?;
        let fit: FitFile = toml::from_str(fit).map_err(|e| data("data/response_fit.toml", e))?;
        for k in meta.keys() {
            if !NAMES.contains(&k.as_str()) {
                return Err(ResponseError::Data {
                    file: "data/response.toml",
                    message: format!("`{k}` is not read by the model"),
                });
            }
        }
        let mut values: BTreeMap<String, f64> =
            meta.iter().map(|(k, p)| (k.clone(), p.value)).collect();
        for (k, f) in &fit.params {
            if !meta.get(k).map(|m| m.fit).unwrap_or(false) {
                return Err(ResponseError::Data {
                    file: "data/response_fit.toml",
                    message: format!("`{k}` is not a fitted parameter of data/response.toml"),
                });
            }
            values.insert(k.clone(), f.value);
        }
        let mut potency_range = BTreeMap::new();
        for (k, r) in &rows {
            if let Some(f) = r.range_factor {
                if !(f.is_finite() && f >= 1.0) {
                    return Err(ResponseError::Data {
                        file: "data/potency.toml",
                        message: format!("[{k}] range_factor = {f}: it must be a number >= 1"),
                    });
                }
                potency_range.insert(k.clone(), f);
            }
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
                        pigment: r.pigment,
                    },
                )
            })
            .collect();
        let signed = ParamId::ALL
            .iter()
            .map(|id| {
                meta.get(id.name())
                    .and_then(|m| m.range)
                    .is_some_and(|[lo, _]| lo < 0.0)
            })
            .collect();
        Ok(ResponseParams {
            v: Values::from_map(&values)?,
            signed,
            meta,
            fitted: fit.params,
            potency,
            potency_range,
        })
    }

    /// A parameter's value by name (calibration, reports; not for inner loops).
    pub fn value(&self, name: &str) -> Result<f64, ResponseError> {
        self.v
            .get(name)
            .ok_or_else(|| ResponseError::UnknownParameter {
                name: name.to_string(),
            })
    }

    /// Whether a parameter is signed (its range reaches below zero: the vesicle effects).
    pub fn is_signed(&self, name: &str) -> bool {
        ParamId::parse(name).is_ok_and(|id| self.signed[id as usize])
    }

    /// The value of a parameter resolved once by [`ParamId::parse`] (inner loops).
    pub fn get(&self, id: ParamId) -> f64 {
        self.v.get_id(id)
    }

    /// Set a parameter by name (calibration, sensitivity, virtual participants). Values must
    /// be finite, and not negative unless the parameter is signed ([`Self::is_signed`]).
    pub fn set(&mut self, name: &str, value: f64) -> Result<(), ResponseError> {
        self.set_id(ParamId::parse(name)?, value)
    }

    /// [`Self::set`] for a parameter resolved once, without a lookup.
    pub fn set_id(&mut self, id: ParamId, value: f64) -> Result<(), ResponseError> {
        if !value.is_finite() || (value < 0.0 && !self.signed[id as usize]) {
            return Err(ResponseError::BadValue {
                name: id.name().to_string(),
                value,
            });
        }
        *self.v.slot_id(id) = value;
        Ok(())
    }

    /// Names of the parameters that calibration fits, in a fixed order.
    pub fn fit_names(&self) -> Vec<String> {
        self.meta
            .iter()
            .filter(|(_, m)| m.fit)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The prior of a source's potency multiplier (median 1), if its row is uncertain.
    pub fn potency_prior(&self, source: &str) -> Option<exoskin_model::Prior> {
        let f = *self.potency_range.get(source)?;
        (f > 1.0).then(|| exoskin_model::Prior {
            kind: exoskin_model::PriorKind::LogNormal,
            median: 1.0,
            lo: 1.0 / f,
            hi: f,
        })
    }

    /// Multiply every pathway of a source's potency by `factor` (ensembles).
    pub fn scale_potency(&mut self, source: &str, factor: f64) -> Result<(), ResponseError> {
        if !(factor.is_finite() && factor >= 0.0) {
            return Err(ResponseError::BadValue {
                name: format!("potency.{source}"),
                value: factor,
            });
        }
        if let Some(p) = self.potency.get_mut(source) {
            p.anti_inflammatory *= factor;
            p.matrix *= factor;
            p.hydration *= factor;
            p.migration *= factor;
            p.pigment *= factor;
        }
        Ok(())
    }

    /// Potency of a source; controls and unknown names have none.
    pub fn potency(&self, source: &str) -> Potency {
        self.potency.get(source).copied().unwrap_or(Potency::NONE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_files_parse_and_hold_every_name_with_a_source() {
        let p = ResponseParams::from_texts(RESPONSE_TOML, POTENCY_TOML, FIT_TOML).unwrap();
        for n in NAMES {
            let m = p.meta.get(*n).unwrap_or_else(|| panic!("{n} missing"));
            assert!(m.source.len() > 10, "{n}");
            assert!(p.value(n).unwrap().is_finite());
            if m.assumption || m.fit {
                let [lo, hi] = m
                    .range
                    .expect("assumptions and fitted parameters need a range");
                assert!(lo <= m.value && m.value <= hi, "{n}");
            }
            // every parameter with a range has a valid prior with median `value`
            if m.range.is_some() {
                let prior = exoskin_model::Prior::of(n, m)
                    .unwrap_or_else(|| panic!("{n}: a range without a prior"))
                    .unwrap_or_else(|e| panic!("{e}"));
                assert!(
                    (prior.quantile(0.5) - m.value).abs() <= 1e-9 * m.value.abs(),
                    "{n}"
                );
            }
        }
        assert_eq!(p.meta.len(), NAMES.len());
        for s in exoskin_model::scenario::SOURCES {
            let _ = p.potency(s);
        }
        assert_eq!(p.potency("vehicle"), Potency::NONE);
        assert_eq!(p.potency("liposome"), Potency::NONE);
        assert!(p.potency("plant").matrix < p.potency("human_msc_adipose").matrix);
    }

    #[test]
    fn param_ids_match_names_values_and_signs() {
        let mut p = ResponseParams::priors().unwrap();
        assert_eq!(ParamId::ALL.len(), NAMES.len());
        for (k, &id) in ParamId::ALL.iter().enumerate() {
            assert_eq!(id.name(), NAMES[k]);
            assert_eq!(ParamId::parse(NAMES[k]).unwrap(), id);
            assert_eq!(p.get(id), p.value(NAMES[k]).unwrap(), "{}", NAMES[k]);
            let signed = p.meta[NAMES[k]].range.is_some_and(|[lo, _]| lo < 0.0);
            assert_eq!(p.is_signed(NAMES[k]), signed, "{}", NAMES[k]);
            assert_eq!(p.set_id(id, -1.0).is_ok(), signed, "{}", NAMES[k]);
        }
        // a write through the id is seen by name, and the typed field is the same slot
        p.set_id(ParamId::collagen_time_constant_d, 41.0).unwrap();
        assert_eq!(p.value("collagen_time_constant_d").unwrap(), 41.0);
        assert_eq!(p.v.collagen_time_constant_d, 41.0);
        assert!(p
            .set_id(ParamId::collagen_time_constant_d, f64::NAN)
            .is_err());
        assert!(matches!(
            ParamId::parse("nope"),
            Err(ResponseError::UnknownParameter { .. })
        ));
        assert!(p.is_signed("ev_matrix_effect"));
        assert!(!p.is_signed("nope"));
    }

    #[test]
    fn names_round_trip_and_bad_values_are_refused() {
        let mut p = ResponseParams::priors().unwrap();
        p.set("collagen_time_constant_d", 40.0).unwrap();
        assert_eq!(p.v.collagen_time_constant_d, 40.0);
        assert!(p.set("nope", 1.0).is_err());
        assert!(p.set("collagen_time_constant_d", f64::NAN).is_err());
    }
}
