//! Parameter data: `data/transport.toml` and `data/skin_sites.toml`, embedded in the binary.
//! Every value carries its unit and source; assumptions carry a range.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// One parameter with its provenance (transport and response data files alike).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub value: f64,
    pub unit: String,
    pub source: String,
    #[serde(default)]
    pub range: Option<[f64; 2]>,
    #[serde(default)]
    pub assumption: bool,
    /// Calibrated by `exoskin calibrate` (response parameters): `value` is the prior median
    /// and `range` its 95 % prior interval.
    #[serde(default)]
    pub fit: bool,
    /// The prior's shape over `range` (see [`crate::prior`]); every parameter with a range
    /// has one.
    #[serde(default)]
    pub prior: Option<crate::prior::PriorKind>,
    /// Strictly positive although its unit does not say so (a dimensionless quantity such
    /// as a tortuosity, at least 1 by its definition); see [`Param::must_be_positive`].
    #[serde(default)]
    pub positive: bool,
}

/// Units of quantities that are positive by their nature: lengths, times, a viscosity, the
/// Boltzmann constant.
pub const POSITIVE_UNITS: &[&str] = &["nm", "um", "h", "d", "Pa s", "J/K"];

impl Param {
    /// The value.
    pub fn v(&self) -> f64 {
        self.value
    }

    /// Whether the value must be strictly positive (a division or a logarithm needs it): by
    /// its unit ([`POSITIVE_UNITS`]) or marked `positive = true` in its data file.
    pub fn must_be_positive(&self) -> bool {
        self.positive || POSITIVE_UNITS.contains(&self.unit.as_str())
    }
}

macro_rules! transport_params {
    ($($name:ident),* $(,)?) => {
        /// All transport parameters (see `data/transport.toml` for units and sources).
        #[derive(Debug, Clone, Deserialize, PartialEq)]
        #[serde(deny_unknown_fields)]
        pub struct TransportParams { $(pub $name: Param,)* }

        impl TransportParams {
            /// Every parameter by name, in declaration order.
            pub fn entries(&self) -> Vec<(&'static str, &Param)> {
                vec![$((stringify!($name), &self.$name),)*]
            }
            /// Mutable access by name (for sensitivity runs and virtual populations).
            pub fn get_mut(&mut self, name: &str) -> Option<&mut Param> {
                match name { $(stringify!($name) => Some(&mut self.$name),)* _ => None }
            }
        }
    };
}

transport_params!(
    boltzmann_j_per_k,
    skin_temperature_c,
    water_viscosity_32c_pa_s,
    sc_pore_radius_nm,
    sc_pore_fraction,
    sc_tortuosity,
    sc_residual_factor,
    sc_turnover_days,
    ve_extracellular_fraction,
    ve_fibre_volume_fraction,
    ve_fibre_radius_nm,
    dermis_fluid_fraction,
    dermis_fibre_volume_fraction,
    dermis_fibre_radius_nm,
    tissue_tortuosity,
    follicle_depth_um,
    follicle_effective_diffusivity_um2_per_s,
    follicle_wall_permeability_um_per_h,
    follicle_wall_pore_radius_nm,
    follicle_residence_half_life_h,
    uptake_rate_per_h,
    keratinocyte_capacity_per_ml,
    fibroblast_capacity_per_ml,
    lysosomal_half_life_h,
    dermal_clearance_half_life_h,
    tissue_degradation_half_life_h,
    surface_degradation_half_life_h,
    surface_removal_half_life_h,
    film_evaporation_time_h,
    film_residual_fraction,
    storage_half_life_liquid_4c_d,
    storage_half_life_liquid_25c_d,
    storage_half_life_lyophilized_25c_d,
    storage_half_life_lyophilized_4c_d,
    microneedle_depth_ratio,
    microneedle_channel_width_um,
    microneedle_closure_half_life_h,
    microneedle_closure_half_life_occluded_h,
    co2_spot_diameter_um,
    co2_depth_um,
    co2_closure_half_life_h,
    peel_sc_removed_fraction,
    microneedle_channels_per_cm2,
);

/// The transport data file as shipped.
pub const TRANSPORT_TOML: &str = include_str!("../../../data/transport.toml");
/// The body-site data file as shipped.
pub const SITES_TOML: &str = include_str!("../../../data/skin_sites.toml");

impl TransportParams {
    /// The embedded defaults. The data file is checked by the test suite, so this cannot fail
    /// in a released binary; a parse failure here is a build defect.
    pub fn defaults() -> &'static TransportParams {
        static P: OnceLock<TransportParams> = OnceLock::new();
        P.get_or_init(|| {
            toml::from_str(TRANSPORT_TOML).expect("data/transport.toml is checked by tests")
        })
    }
}

/// Layer thicknesses and follicles of a body site.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SiteData {
    pub sc_thickness_um: f64,
    pub ve_thickness_um: f64,
    pub dermis_thickness_um: f64,
    pub follicles_per_cm2: f64,
    pub follicle_orifice_fraction: f64,
    pub source: String,
}

/// The body sites shipped in `data/skin_sites.toml`, by name.
pub fn sites() -> &'static BTreeMap<String, SiteData> {
    static S: OnceLock<BTreeMap<String, SiteData>> = OnceLock::new();
    S.get_or_init(|| toml::from_str(SITES_TOML).expect("data/skin_sites.toml is checked by tests"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_files_parse_and_every_value_has_a_source_and_sane_range() {
        let p: TransportParams = toml::from_str(TRANSPORT_TOML).unwrap();
        for (name, param) in p.entries() {
            assert!(param.value.is_finite(), "{name}");
            assert!(param.source.len() > 10, "{name} lacks a source");
            if param.assumption {
                assert!(param.range.is_some(), "assumption {name} needs a range");
            }
            if let Some([lo, hi]) = param.range {
                assert!(
                    lo <= param.value && param.value <= hi,
                    "{name} outside its range"
                );
            }
        }
        let s = sites();
        assert!(s.contains_key("forehead") && s.contains_key("forearm"));
        // Otberg 2004: forehead has far more follicle orifice area than the forearm.
        assert!(
            s["forehead"].follicle_orifice_fraction > 10.0 * s["forearm"].follicle_orifice_fraction
        );
        // every parameter with a range has a valid prior with median `value`
        for (name, param) in p.entries() {
            if param.range.is_some() {
                let prior = crate::Prior::of(name, param)
                    .unwrap_or_else(|| panic!("{name}: a range without a prior"))
                    .unwrap_or_else(|e| panic!("{e}"));
                assert!(
                    (prior.quantile(0.5) - param.value).abs() <= 1e-9 * param.value.abs(),
                    "{name}"
                );
            }
        }
    }
}
