//! Acceptance profiles and the assessment of a QC record against one.
//!
//! A profile is a data file (TOML) whose every section names its source; limits that are
//! assumptions for cosmetics (no pharmacopoeial limit exists for a topical EV product)
//! say so in their `note`. The default profile ships in `data/batch/profiles/default.toml`
//! and is compiled into the binary.
use crate::error::{BatchError, Result};
use crate::record::QcRecord;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The default profile's text, compiled in.
pub const DEFAULT_PROFILE_TOML: &str = include_str!("../../../data/batch/profiles/default.toml");

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub id: String,
    pub title: String,
    pub version: String,
    pub sources: Vec<SourceRef>,
    pub markers: MarkerRules,
    pub size: SizeRules,
    pub concentration: ConcentrationRules,
    pub purity: PurityRules,
    pub safety: SafetyRules,
    pub manufacturing: ManufacturingRules,
    pub donor: DonorRules,
    pub stability: StabilityRules,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRef {
    pub key: String,
    pub citation: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MarkerRules {
    pub source: String,
    /// MISEV category 1: transmembrane or GPI-anchored proteins.
    pub transmembrane: Vec<String>,
    /// MISEV category 2: cytosolic proteins recovered in EVs.
    pub cytosolic: Vec<String>,
    /// MISEV categories 3-4: co-isolated contaminants and proteins of other compartments.
    pub negative: Vec<String>,
    pub min_transmembrane_present: usize,
    pub min_cytosolic_present: usize,
    pub min_negative_tested_absent: usize,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SizeRules {
    pub source: String,
    #[serde(default)]
    pub note: Option<String>,
    pub mode_nm_min: f64,
    pub mode_nm_max: f64,
    pub fraction_30_150_nm_min: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConcentrationRules {
    pub source: String,
    #[serde(default)]
    pub note: Option<String>,
    pub min_per_ml: f64,
    pub methods: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PurityRules {
    pub source: String,
    #[serde(default)]
    pub note: Option<String>,
    /// Bands of particles per microgram of protein, highest first; the first whose `min`
    /// the value reaches names the band.
    pub bands: Vec<PurityBand>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PurityBand {
    pub name: String,
    pub min: f64,
    pub pass: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyRules {
    pub viable_cells_per_ml_max: f64,
    pub viable_cells_source: String,
    pub residual_dna_ng_per_ml_max: f64,
    pub residual_dna_source: String,
    #[serde(default)]
    pub residual_dna_note: Option<String>,
    pub endotoxin_eu_per_ml_max: f64,
    pub endotoxin_source: String,
    #[serde(default)]
    pub endotoxin_note: Option<String>,
    pub sterility_source: String,
    pub mycoplasma_source: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ManufacturingRules {
    pub source: String,
    pub gmp_certificate_required: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DonorRules {
    pub source: String,
    /// Source kinds from human donors, for which screening is required.
    pub human_source_kinds: Vec<String>,
    /// Each must appear (case-insensitive) in some entry of `source.donor_screening`.
    pub required_tests: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StabilityRules {
    pub source: String,
    #[serde(default)]
    pub note: Option<String>,
    pub particle_retention_min: f64,
}

/// One check's outcome.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Check {
    pub id: String,
    pub description: String,
    pub value: String,
    pub limit: String,
    pub pass: bool,
    pub source: String,
}

/// The assessment of a record against a profile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Assessment {
    pub profile: String,
    #[serde(rename = "profileVersion")]
    pub profile_version: String,
    pub pass: bool,
    pub checks: Vec<Check>,
}

impl Assessment {
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.pass)
    }
}

fn eq_ci(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn sci(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-3) {
        format!("{v:.2e}")
    } else {
        format!("{v}")
    }
}

impl Profile {
    pub fn parse(text: &str, what: &str) -> Result<Profile> {
        let p: Profile =
            toml::from_str(text).map_err(|e| BatchError::invalid(format!("{what}: {e}")))?;
        let keys: Vec<&str> = p.sources.iter().map(|s| s.key.as_str()).collect();
        for s in p.cited() {
            if !keys.contains(&s) {
                return Err(BatchError::invalid(format!(
                    "{what}: source `{s}` is cited but not listed in [[sources]]"
                )));
            }
        }
        if p.purity.bands.is_empty() {
            return Err(BatchError::invalid(format!(
                "{what}: purity.bands is empty"
            )));
        }
        Ok(p)
    }

    pub fn load(path: &Path) -> Result<Profile> {
        let text = std::fs::read_to_string(path).map_err(|e| BatchError::io(path, e))?;
        Profile::parse(&text, &path.display().to_string())
    }

    pub fn default_profile() -> Profile {
        Profile::parse(DEFAULT_PROFILE_TOML, "data/batch/profiles/default.toml")
            .expect("the bundled default profile parses (tested)")
    }

    fn cited(&self) -> Vec<&str> {
        let s = &self.safety;
        vec![
            &self.markers.source,
            &self.size.source,
            &self.concentration.source,
            &self.purity.source,
            &s.viable_cells_source,
            &s.residual_dna_source,
            &s.endotoxin_source,
            &s.sterility_source,
            &s.mycoplasma_source,
            &self.manufacturing.source,
            &self.donor.source,
            &self.stability.source,
        ]
        .into_iter()
        .flat_map(|s| s.split(',').map(str::trim))
        .collect()
    }

    /// Assess a record: every check, its value, limit and outcome.
    pub fn assess(&self, r: &QcRecord) -> Assessment {
        let mut out = Checks(Vec::new());
        self.marker_checks(r, &mut out);
        self.physical_checks(r, &mut out);
        self.safety_checks(r, &mut out);
        self.donor_checks(r, &mut out);
        self.stability_checks(r, &mut out);
        let checks = out.0;
        let pass = checks.iter().all(|c| c.pass);
        Assessment {
            profile: self.id.clone(),
            profile_version: self.version.clone(),
            pass,
            checks,
        }
    }

    /// Identity: the EV marker categories present and the negative markers absent (MISEV).
    fn marker_checks(&self, r: &QcRecord, out: &mut Checks) {
        let c = &r.characterization;
        let m = &self.markers;
        let in_list = |list: &[String], name: &str| list.iter().any(|x| eq_ci(x, name));
        let found = |cat: &[String], from: &[String]| -> Vec<String> {
            from.iter().filter(|x| in_list(cat, x)).cloned().collect()
        };
        let tm = found(&m.transmembrane, &c.markers_present);
        out.add(
            "markers.transmembrane",
            "Transmembrane/GPI-anchored EV markers present (MISEV category 1)",
            list_or_none(&tm),
            format!(
                ">= {} of {}",
                m.min_transmembrane_present,
                m.transmembrane.join(", ")
            ),
            tm.len() >= m.min_transmembrane_present,
            &m.source,
        );
        let cy = found(&m.cytosolic, &c.markers_present);
        out.add(
            "markers.cytosolic",
            "Cytosolic EV markers present (MISEV category 2)",
            list_or_none(&cy),
            format!(
                ">= {} of {}",
                m.min_cytosolic_present,
                m.cytosolic.join(", ")
            ),
            cy.len() >= m.min_cytosolic_present,
            &m.source,
        );
        let neg_present = found(&m.negative, &c.markers_present);
        let neg_absent = found(&m.negative, &c.markers_absent);
        out.add(
            "markers.negative",
            "Contaminant/non-EV markers tested and absent (MISEV categories 3-4)",
            if neg_present.is_empty() {
                format!("absent: {}", list_or_none(&neg_absent))
            } else {
                format!("PRESENT: {}", neg_present.join(", "))
            },
            format!(
                "none present; >= {} tested absent ({})",
                m.min_negative_tested_absent,
                m.negative.join(", ")
            ),
            neg_present.is_empty() && neg_absent.len() >= m.min_negative_tested_absent,
            &m.source,
        );
    }

    /// Size distribution and particle concentration, with the method used.
    fn physical_checks(&self, r: &QcRecord, out: &mut Checks) {
        let c = &r.characterization;
        let s = &self.size;
        out.add(
            "size.mode",
            "Modal particle diameter",
            format!("{} nm", c.size_mode_nm),
            format!("{}-{} nm", s.mode_nm_min, s.mode_nm_max),
            (s.mode_nm_min..=s.mode_nm_max).contains(&c.size_mode_nm),
            &s.source,
        );
        out.add(
            "size.fraction_30_150_nm",
            "Fraction of particles within 30-150 nm",
            format!("{:.0}%", c.fraction_30_150_nm * 100.0),
            format!(">= {:.0}%", s.fraction_30_150_nm_min * 100.0),
            c.fraction_30_150_nm >= s.fraction_30_150_nm_min,
            &s.source,
        );
        let k = &self.concentration;
        let method_ok = k.methods.iter().any(|x| eq_ci(x, &c.concentration_method));
        out.add(
            "concentration",
            "Particle concentration by a single-particle counting method",
            format!(
                "{} particles/mL by {}",
                sci(c.particle_concentration_per_ml),
                c.concentration_method
            ),
            format!(
                ">= {} particles/mL by {}",
                sci(k.min_per_ml),
                k.methods.join("/")
            ),
            method_ok && c.particle_concentration_per_ml >= k.min_per_ml,
            &k.source,
        );
        let band = self
            .purity
            .bands
            .iter()
            .find(|b| c.particles_per_ug_protein >= b.min)
            .or(self.purity.bands.last())
            .expect("bands is not empty (checked at load)");
        let pass_min = self
            .purity
            .bands
            .iter()
            .filter(|b| b.pass)
            .map(|b| b.min)
            .fold(f64::INFINITY, f64::min);
        out.add(
            "purity.particles_per_ug_protein",
            "Particle-to-protein ratio (purity)",
            format!(
                "{} particles/µg ({})",
                sci(c.particles_per_ug_protein),
                band.name
            ),
            format!(">= {} particles/µg", sci(pass_min)),
            band.pass,
            &self.purity.source,
        );
    }

    /// Purity and safety: upper limits, pharmacopoeial tests, GMP.
    fn safety_checks(&self, r: &QcRecord, out: &mut Checks) {
        let sf = &r.safety;
        let sr = &self.safety;
        // (id, description, value, unit, maximum, source): upper limits.
        let maxima = [
            (
                "safety.viable_cells",
                "Viable cells",
                sf.viable_cells_per_ml,
                "/mL",
                sr.viable_cells_per_ml_max,
                &sr.viable_cells_source,
            ),
            (
                "safety.residual_dna",
                "Residual host-cell DNA",
                sf.residual_dna_ng_per_ml,
                "ng/mL",
                sr.residual_dna_ng_per_ml_max,
                &sr.residual_dna_source,
            ),
            (
                "safety.endotoxin",
                "Bacterial endotoxin (LAL)",
                sf.endotoxin_eu_per_ml,
                "EU/mL",
                sr.endotoxin_eu_per_ml_max,
                &sr.endotoxin_source,
            ),
        ];
        for (id, description, value, unit, max, source) in maxima {
            out.add(
                id,
                description,
                format!("{value} {unit}"),
                format!("<= {max} {unit}"),
                value <= max,
                source,
            );
        }
        // (id, description, result, required result, source): pharmacopoeial tests.
        let tests = [
            (
                "safety.sterility",
                "Sterility",
                &sf.sterility,
                "pass",
                &sr.sterility_source,
            ),
            (
                "safety.mycoplasma",
                "Mycoplasma",
                &sf.mycoplasma,
                "not_detected",
                &sr.mycoplasma_source,
            ),
        ];
        for (id, description, result, required, source) in tests {
            out.add(
                id,
                description,
                result.clone(),
                required.into(),
                result == required,
                source,
            );
        }
        let gmp = r.manufacturing.gmp_certificate.trim();
        out.add(
            "manufacturing.gmp",
            "GMP certificate of the manufacturing site",
            if gmp.is_empty() {
                "none".into()
            } else {
                gmp.to_string()
            },
            if self.manufacturing.gmp_certificate_required {
                "required".into()
            } else {
                "optional".into()
            },
            !self.manufacturing.gmp_certificate_required || !gmp.is_empty(),
            &self.manufacturing.source,
        );
    }

    /// Donor screening and consent for human sources.
    fn donor_checks(&self, r: &QcRecord, out: &mut Checks) {
        let d = &self.donor;
        if d.human_source_kinds
            .iter()
            .any(|k| eq_ci(k, &r.source.kind))
        {
            let missing: Vec<&String> = d
                .required_tests
                .iter()
                .filter(|t| {
                    !r.source
                        .donor_screening
                        .iter()
                        .any(|e| e.to_ascii_lowercase().contains(&t.to_ascii_lowercase()))
                })
                .collect();
            out.add(
                "source.donor_screening",
                "Donor screening for a human source",
                if missing.is_empty() {
                    r.source.donor_screening.join(", ")
                } else {
                    format!(
                        "missing: {}",
                        missing
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                d.required_tests.join(", "),
                missing.is_empty() && r.source.donor_consent != Some(false),
                &d.source,
            );
        }
    }

    /// Stability: the shelf life the study supports and the particles retained.
    fn stability_checks(&self, r: &QcRecord, out: &mut Checks) {
        let st = &self.stability;
        let shelf = match (r.manufactured(), r.expires()) {
            (Ok(a), Ok(b)) => crate::date::months_until(a, b),
            _ => i64::MAX,
        };
        out.add(
            "stability.shelf_life",
            "Shelf life covered by the stability study",
            format!("{shelf} months claimed"),
            format!("<= {} months studied", r.stability.supported_months),
            shelf <= r.stability.supported_months as i64,
            &st.source,
        );
        out.add(
            "stability.particle_retention",
            "Particles retained at the end of the stability study",
            format!("{:.0}%", r.stability.particle_retention_fraction * 100.0),
            format!(">= {:.0}%", st.particle_retention_min * 100.0),
            r.stability.particle_retention_fraction >= st.particle_retention_min,
            &st.source,
        );
    }
}

/// The checks of one assessment, in order.
struct Checks(Vec<Check>);

impl Checks {
    fn add(
        &mut self,
        id: &str,
        description: &str,
        value: String,
        limit: String,
        pass: bool,
        source: &str,
    ) {
        self.0.push(Check {
            id: id.into(),
            description: description.into(),
            value,
            limit,
            pass,
            source: source.into(),
        });
    }
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}
