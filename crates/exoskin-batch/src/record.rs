//! The QC record of one batch, read from TOML or JSON.
//!
//! Units are in the field names: `_per_ml`, `_nm`, `_ng_per_ml`, `_eu_per_ml`, `_c`.
//! Characterization follows MISEV2023 (Welsh et al. 2024, J Extracell Vesicles 13:e12404):
//! particle concentration with its method, size distribution, the fraction of particles in
//! the small-EV range, the particle-to-protein ratio, and protein markers found present or
//! absent.
use crate::date::Date;
use crate::error::{BatchError, Result};
use crate::gs1;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The schema tag a record carries.
pub const SCHEMA: &str = "exoskin-qc/1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct QcRecord {
    /// Always `exoskin-qc/1`.
    pub schema: String,
    pub product: Product,
    pub batch: Batch,
    /// Who issues the certificate: the QC laboratory or the manufacturer.
    pub issuer: Party,
    pub source: Source,
    pub manufacturing: Manufacturing,
    pub characterization: Characterization,
    pub safety: Safety,
    pub storage: Storage,
    pub stability: Stability,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub name: String,
    pub brand: String,
    /// GTIN-8/12/13/14 with a correct check digit.
    pub gtin: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inci_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// GS1 AI (10): 1-20 characters of GS1 character set 82.
    pub lot: String,
    /// `YYYY-MM-DD`.
    pub manufactured: String,
    /// `YYYY-MM-DD`.
    pub expires: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_units: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Party {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accreditation: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// `human_cell_culture`, `human_platelet`, `animal`, `plant`, `bacterial`, `synthetic`.
    pub kind: String,
    /// E.g. "umbilical-cord mesenchymal stromal cells".
    pub cell_type: String,
    /// Donor tests performed (e.g. HIV-1/2, HBV, HCV, syphilis); empty for non-human sources.
    #[serde(default)]
    pub donor_screening: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub donor_consent: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manufacturing {
    pub manufacturer: String,
    pub site: String,
    /// GMP certificate identifier; empty when none.
    #[serde(default)]
    pub gmp_certificate: String,
    /// E.g. "tangential flow filtration + size-exclusion chromatography".
    pub isolation_method: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Characterization {
    pub particle_concentration_per_ml: f64,
    /// NTA, TRPS, nFCM, ...
    pub concentration_method: String,
    pub size_mode_nm: f64,
    pub size_d10_nm: f64,
    pub size_d50_nm: f64,
    pub size_d90_nm: f64,
    /// Fraction (0-1) of particles between 30 and 150 nm.
    pub fraction_30_150_nm: f64,
    pub particles_per_ug_protein: f64,
    /// Markers detected (Western blot, ELISA, flow): e.g. CD9, CD63, CD81, TSG101.
    pub markers_present: Vec<String>,
    /// Markers tested and not detected: e.g. calnexin, APOA1.
    pub markers_absent: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub morphology: Option<String>,
    /// Expanded measurement uncertainty of the concentration and size figures above. Absent
    /// in records written before it existed: readers then fall back to a documented default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncertainty: Option<Uncertainty>,
}

/// Expanded measurement uncertainty (GUM: U = k u) of a characterization, relative to the
/// reported value. For particle tracking analysis (the method of ISO 19430:2016), a validation
/// study found relative expanded uncertainties of about 10-12 % (k = 2) for the mode, median
/// and mean size (Kestens V, Bozatzidis V, De Temmerman P-J, Ramaye Y, Roebben G. Validation
/// of a particle tracking analysis method for the size determination of nano- and
/// microparticles. J Nanopart Res 19 (2017), doi:10.1007/s11051-017-3966-8); concentration by
/// NTA is markedly less certain.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Uncertainty {
    /// Relative expanded uncertainty of the particle concentration (0.2 means +/-20 %).
    pub concentration_rel: f64,
    /// Relative expanded uncertainty of the size figures (mode, D10, D50, D90).
    pub size_rel: f64,
    /// Coverage factor k of the expanded uncertainty (2 for about 95 %).
    pub coverage_factor: f64,
    /// Where the figures come from: the lab's uncertainty budget, an instrument import, or a
    /// cited standard.
    pub source: String,
}

impl Uncertainty {
    /// The relative uncertainties in (0, 1), the coverage factor in 1..=3, and a source.
    fn validate(&self) -> Result<()> {
        for (name, v) in [
            (
                "characterization.uncertainty.concentration_rel",
                self.concentration_rel,
            ),
            ("characterization.uncertainty.size_rel", self.size_rel),
        ] {
            if !(v.is_finite() && v > 0.0 && v < 1.0) {
                return bad(format!(
                    "{name} is {v}; it must be a relative uncertainty in (0, 1), e.g. 0.12 for +/-12 %"
                ));
            }
        }
        if !(1.0..=3.0).contains(&self.coverage_factor) {
            return bad(format!(
                "characterization.uncertainty.coverage_factor is {}; it must be in 1..=3 (2 for about 95 %)",
                self.coverage_factor
            ));
        }
        if self.source.trim().is_empty() {
            return bad("characterization.uncertainty.source must not be empty".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Safety {
    pub residual_dna_ng_per_ml: f64,
    pub viable_cells_per_ml: f64,
    pub endotoxin_eu_per_ml: f64,
    /// `pass` or `fail` (Ph. Eur. 2.6.1 / USP <71>).
    pub sterility: String,
    /// `not_detected` or `detected` (Ph. Eur. 2.6.7 / USP <63>).
    pub mycoplasma: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    pub temperature_min_c: f64,
    pub temperature_max_c: f64,
    /// `liquid`, `frozen`, `lyophilised`.
    pub form: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Stability {
    /// The stability study behind the shelf life (e.g. "real-time, 24 months, 2-8 °C").
    pub study: String,
    /// Months of shelf life the study supports.
    pub supported_months: u32,
    /// Fraction of particles retained at the end of the study (0-1).
    pub particle_retention_fraction: f64,
}

/// A structural validation error with this message.
fn bad(m: String) -> Result<()> {
    Err(BatchError::invalid(m))
}

impl QcRecord {
    /// Parse TOML or JSON text (JSON if it starts with `{`). Errors name line and column.
    pub fn parse(text: &str, what: &str) -> Result<QcRecord> {
        let rec: QcRecord = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| BatchError::Syntax {
                file: what.to_string(),
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            })?
        } else {
            exoskin_io::input::from_toml(text, what)?
        };
        rec.validate().map_err(|e| e.in_field(what))?;
        Ok(rec)
    }

    pub fn load(path: &Path) -> Result<QcRecord> {
        let text = std::fs::read_to_string(path).map_err(|e| BatchError::io(path, e))?;
        QcRecord::parse(&text, &path.display().to_string())
    }

    /// Structural validation (not acceptance: a record may be valid and still fail a profile).
    pub fn validate(&self) -> Result<()> {
        self.validate_identity()?;
        self.validate_required_text()?;
        self.validate_nonnegative()?;
        self.validate_fractions()?;
        if let Some(u) = &self.characterization.uncertainty {
            u.validate()?;
        }
        self.validate_size_order()?;
        self.validate_safety_results()?;
        self.validate_storage()
    }

    /// The schema tag, the GTIN, the lot, and the dates (expiry after manufacture).
    fn validate_identity(&self) -> Result<()> {
        if self.schema != SCHEMA {
            return bad(format!("schema is `{}`, expected `{SCHEMA}`", self.schema));
        }
        gs1::normalize_gtin(&self.product.gtin).map_err(|e| e.in_field("product.gtin"))?;
        gs1::validate_lot(&self.batch.lot).map_err(|e| e.in_field("batch.lot"))?;
        let made = self.manufactured()?;
        let exp = self.expires()?;
        if exp <= made {
            return bad(format!(
                "batch.expires ({exp}) must be after batch.manufactured ({made})"
            ));
        }
        Ok(())
    }

    /// The text fields that must not be empty or blank.
    fn validate_required_text(&self) -> Result<()> {
        for (name, s) in [
            ("product.name", &self.product.name),
            ("product.brand", &self.product.brand),
            ("issuer.name", &self.issuer.name),
            ("source.kind", &self.source.kind),
            (
                "manufacturing.manufacturer",
                &self.manufacturing.manufacturer,
            ),
            (
                "manufacturing.isolation_method",
                &self.manufacturing.isolation_method,
            ),
            (
                "characterization.concentration_method",
                &self.characterization.concentration_method,
            ),
        ] {
            if s.trim().is_empty() {
                return bad(format!("{name} must not be empty"));
            }
        }
        Ok(())
    }

    /// The measured quantities that must be finite and not negative.
    fn validate_nonnegative(&self) -> Result<()> {
        let c = &self.characterization;
        let s = &self.safety;
        let nonneg = [
            (
                "characterization.particle_concentration_per_ml",
                c.particle_concentration_per_ml,
            ),
            ("characterization.size_mode_nm", c.size_mode_nm),
            ("characterization.size_d10_nm", c.size_d10_nm),
            ("characterization.size_d50_nm", c.size_d50_nm),
            ("characterization.size_d90_nm", c.size_d90_nm),
            (
                "characterization.particles_per_ug_protein",
                c.particles_per_ug_protein,
            ),
            ("safety.residual_dna_ng_per_ml", s.residual_dna_ng_per_ml),
            ("safety.viable_cells_per_ml", s.viable_cells_per_ml),
            ("safety.endotoxin_eu_per_ml", s.endotoxin_eu_per_ml),
        ];
        for (name, v) in nonneg {
            if !v.is_finite() || v < 0.0 {
                return bad(format!("{name} is {v}; it must be a finite number >= 0"));
            }
        }
        Ok(())
    }

    /// The fractions, which must lie in 0..=1.
    fn validate_fractions(&self) -> Result<()> {
        for (name, v) in [
            (
                "characterization.fraction_30_150_nm",
                self.characterization.fraction_30_150_nm,
            ),
            (
                "stability.particle_retention_fraction",
                self.stability.particle_retention_fraction,
            ),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(format!("{name} is {v}; it must be a fraction in 0..=1"));
            }
        }
        Ok(())
    }

    /// The size distribution's order: D10 <= D50 <= D90.
    fn validate_size_order(&self) -> Result<()> {
        let c = &self.characterization;
        if !(c.size_d10_nm <= c.size_d50_nm && c.size_d50_nm <= c.size_d90_nm) {
            return bad(format!(
                "characterization: D10 <= D50 <= D90 must hold (got {} / {} / {} nm)",
                c.size_d10_nm, c.size_d50_nm, c.size_d90_nm
            ));
        }
        Ok(())
    }

    /// The categorical safety results: sterility and mycoplasma.
    fn validate_safety_results(&self) -> Result<()> {
        let s = &self.safety;
        if !matches!(s.sterility.as_str(), "pass" | "fail") {
            return bad(format!(
                "safety.sterility is `{}`; allowed: pass, fail",
                s.sterility
            ));
        }
        if !matches!(s.mycoplasma.as_str(), "not_detected" | "detected") {
            return bad(format!(
                "safety.mycoplasma is `{}`; allowed: not_detected, detected",
                s.mycoplasma
            ));
        }
        Ok(())
    }

    /// The storage temperature range: finite, minimum not above maximum.
    fn validate_storage(&self) -> Result<()> {
        if self.storage.temperature_min_c > self.storage.temperature_max_c
            || !self.storage.temperature_min_c.is_finite()
            || !self.storage.temperature_max_c.is_finite()
        {
            return bad("storage.temperature_min_c must be <= temperature_max_c".into());
        }
        Ok(())
    }

    pub fn manufactured(&self) -> Result<Date> {
        crate::date::parse(&self.batch.manufactured).map_err(|e| e.in_field("batch.manufactured"))
    }

    pub fn expires(&self) -> Result<Date> {
        crate::date::parse(&self.batch.expires).map_err(|e| e.in_field("batch.expires"))
    }

    /// GTIN-14 of the product.
    pub fn gtin14(&self) -> Result<String> {
        gs1::normalize_gtin(&self.product.gtin)
    }
}
