//! Scenario files: the experiment to run, in TOML.
//!
//! Two kinds exist: `franz_cell` (an in-vitro diffusion cell, OECD Test Guideline 428) and
//! `in_vivo` (a product on living skin, with an optional procedure and a regimen). See the
//! docs/simulate.md for the full key reference; `scenarios/` holds examples.

use crate::error::{check_positive, check_range, Invalid, ModelError, ScenarioError};
use crate::input;
pub use crate::input::locate;
use crate::params::{sites, TransportParams};
use crate::size::SizeDistribution;
use crate::{
    MAX_DIAMETER_NM, MAX_DIFFUSIVITY_UM2_PER_S, MAX_PARTITION, MIN_DIAMETER_NM,
    MIN_DIFFUSIVITY_UM2_PER_S, MIN_LAYER_THICKNESS_UM, MIN_PARTITION,
};
use serde::Deserialize;
use std::path::Path;

// ---------------------------------------------------------------- raw (serde) structure

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    experiment: RawExperiment,
    donor: Option<RawDonor>,
    membrane: Option<RawMembrane>,
    vesicles: Option<RawSize>,
    product: Option<RawProduct>,
    skin: Option<RawSkin>,
    procedure: Option<RawProcedure>,
    regimen: Option<RawRegimen>,
    numerics: Option<RawNumerics>,
    culture: Option<RawCulture>,
    uncertainty: Option<RawUncertainty>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUncertainty {
    members: f64,
    seed: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCulture {
    cell_type: String,
    #[serde(default = "lps")]
    stimulus: String,
    source: String,
    vesicles_per_cell: f64,
}

fn lps() -> String {
    "lps".into()
}

/// `[experiment] kind`.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Kind {
    FranzCell,
    InVivo,
    CellCulture,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExperiment {
    kind: Kind,
    name: Option<String>,
    description: Option<String>,
    duration_h: Option<f64>,
    output_interval_h: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDonor {
    concentration_per_ml: f64,
    #[serde(default = "yes")]
    infinite: bool,
    volume_ul_per_cm2: Option<f64>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMembrane {
    layers: Vec<RawLayer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayer {
    name: String,
    thickness_um: f64,
    diffusivity_um2_per_s: Option<f64>,
    partition: Option<f64>,
    tissue: Option<Tissue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSize {
    mode_nm: Option<f64>,
    gsd: Option<f64>,
    diameters_nm: Option<Vec<f64>>,
    counts: Option<Vec<f64>>,
    classes: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProduct {
    name: Option<String>,
    source: String,
    particles_per_ml: f64,
    dose_ul_per_cm2: f64,
    #[serde(default = "liquid")]
    formulation: Formulation,
    storage_temperature_c: Option<f64>,
    storage_age_days: Option<f64>,
    size: RawSize,
}

fn liquid() -> Formulation {
    Formulation::Liquid
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSkin {
    site: String,
    age_years: Option<f64>,
    sc_thickness_um: Option<f64>,
    ve_thickness_um: Option<f64>,
    dermis_thickness_um: Option<f64>,
    follicles_per_cm2: Option<f64>,
    follicle_orifice_fraction: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcedure {
    kind: ProcedureKind,
    needle_length_um: Option<f64>,
    depth_um: Option<f64>,
    channel_width_um: Option<f64>,
    channels_per_cm2: Option<f64>,
    occluded: Option<bool>,
    spot_um: Option<f64>,
    coverage_pct: Option<f64>,
    sc_removed_fraction: Option<f64>,
    sessions: Option<i64>,
    interval_days: Option<f64>,
}

/// `[procedure] kind`.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum ProcedureKind {
    None,
    Microneedling,
    FractionalCo2,
    ChemicalPeel,
}

impl ProcedureKind {
    fn name(self) -> &'static str {
        match self {
            ProcedureKind::None => "none",
            ProcedureKind::Microneedling => "microneedling",
            ProcedureKind::FractionalCo2 => "fractional_co2",
            ProcedureKind::ChemicalPeel => "chemical_peel",
        }
    }

    /// The keys of `[procedure]` this kind reads (besides `kind`).
    fn keys(self) -> &'static [&'static str] {
        match self {
            ProcedureKind::None => &[],
            ProcedureKind::Microneedling => &[
                "needle_length_um",
                "depth_um",
                "channel_width_um",
                "channels_per_cm2",
                "occluded",
                "sessions",
                "interval_days",
            ],
            ProcedureKind::FractionalCo2 => &[
                "spot_um",
                "depth_um",
                "coverage_pct",
                "sessions",
                "interval_days",
            ],
            ProcedureKind::ChemicalPeel => &["sc_removed_fraction", "sessions", "interval_days"],
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegimen {
    #[serde(default = "one")]
    applications_per_day: i64,
    #[serde(default = "one")]
    days: i64,
    #[serde(default)]
    first_application_h: f64,
    #[serde(default)]
    per_session: bool,
    #[serde(default)]
    essence_ul_per_cm2: f64,
}

fn one() -> i64 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNumerics {
    cells_per_layer: Option<i64>,
    radial_cells: Option<i64>,
    dt_max_h: Option<f64>,
    dt_initial_h: Option<f64>,
    dt_quiet_max_h: Option<f64>,
}

// ---------------------------------------------------------------- validated model

/// A validated experiment.
#[derive(Debug, Clone, PartialEq)]
pub enum Scenario {
    FranzCell(FranzCell),
    InVivo(InVivo),
    CellCulture(CellCulture),
}

/// Vesicles dosed onto cultured cells under an inflammatory stimulus (the in-vitro
/// cytokine experiments the seeds cite).
#[derive(Debug, Clone, PartialEq)]
pub struct CellCulture {
    pub experiment: Experiment,
    /// "keratinocyte", "fibroblast" or "macrophage".
    pub cell_type: String,
    /// "lps", "tnf_alpha" or "none".
    pub stimulus: String,
    pub source: String,
    pub vesicles_per_cell: f64,
}

impl Scenario {
    pub fn experiment(&self) -> &Experiment {
        match self {
            Scenario::FranzCell(f) => &f.experiment,
            Scenario::InVivo(v) => &v.experiment,
            Scenario::CellCulture(c) => &c.experiment,
        }
    }
}

/// What every experiment has.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    pub name: String,
    pub description: String,
    pub duration_h: f64,
    pub output_interval_h: f64,
    /// `[uncertainty]`: run an ensemble over the priors (like `--uncertainty N`).
    pub uncertainty: Option<Uncertainty>,
}

/// `[uncertainty] members = N, seed = S`: an ensemble of N quasi-random draws over the
/// parameters' priors and the fit's posterior.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Uncertainty {
    pub members: usize,
    pub seed: u64,
}

/// Fewest and most ensemble members (the 5th and 95th percentiles need at least 20; the
/// quasi-random sequence gives at most 65536 points).
pub const MIN_MEMBERS: usize = 20;
pub const MAX_MEMBERS: usize = 65536;
/// The ensemble seed when none is given.
pub const DEFAULT_ENSEMBLE_SEED: u64 = 20261202;

impl Uncertainty {
    /// Check a member count (from a file or the command line); `key` names it in the message.
    pub fn new(members: f64, seed: u64, key: &str) -> Result<Uncertainty, Invalid> {
        let m = check_range(
            key,
            members,
            MIN_MEMBERS as f64,
            MAX_MEMBERS as f64,
            "members",
        )?;
        if m.fract() != 0.0 {
            return Err(Invalid::new(
                key,
                format!("{members} is not a whole number of members"),
            ));
        }
        Ok(Uncertainty {
            members: m as usize,
            seed,
        })
    }
}

/// Numerical settings (all have defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct Numerics {
    /// Finite-volume cells across each layer (1D) or the depth resolution scale (2D).
    pub cells_per_layer: usize,
    /// Radial cells of the axisymmetric unit cell.
    pub radial_cells: usize,
    /// Largest time step, h.
    pub dt_max_h: f64,
    /// First time step after each event (start, application), h; steps then grow by 1.3x.
    pub dt_initial_h: f64,
    /// Largest step more than 6 h after the last application (in-vivo runs), h.
    pub dt_quiet_max_h: f64,
}

/// Franz diffusion cell (OECD TG 428): donor, membrane layers, perfect-sink receptor.
#[derive(Debug, Clone, PartialEq)]
pub struct FranzCell {
    pub experiment: Experiment,
    pub donor: Donor,
    pub layers: Vec<LayerSpec>,
    /// Vesicle sizes, needed when a layer derives its properties from a tissue type.
    pub size: Option<SizeDistribution>,
    pub size_classes: usize,
    pub numerics: Numerics,
}

/// The donor compartment.
#[derive(Debug, Clone, PartialEq)]
pub struct Donor {
    pub concentration_per_ml: f64,
    /// Infinite dose: concentration held constant. Finite: `volume_ul_per_cm2` depletes.
    pub infinite: bool,
    pub volume_ul_per_cm2: Option<f64>,
}

/// Tissue types whose properties are derived from vesicle size (`tissue = "dermis"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tissue {
    StratumCorneum,
    ViableEpidermis,
    Dermis,
    /// Free aqueous medium (hindrance 1, partition 1).
    Water,
}

impl Tissue {
    pub const NAMES: &'static str = "stratum_corneum, viable_epidermis, dermis, water";
}

/// How a layer's transport properties are set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LayerTransport {
    /// Given in the file.
    Explicit {
        diffusivity_um2_per_s: f64,
        partition: f64,
    },
    /// Derived from vesicle size and tissue type; either property may be overridden.
    Tissue {
        tissue: Tissue,
        diffusivity_um2_per_s: Option<f64>,
        partition: Option<f64>,
    },
}

/// One membrane layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerSpec {
    pub name: String,
    pub thickness_um: f64,
    pub transport: LayerTransport,
}

/// A product on living skin, with procedure and regimen.
#[derive(Debug, Clone, PartialEq)]
pub struct InVivo {
    pub experiment: Experiment,
    pub product: Product,
    pub skin: Skin,
    pub procedure: Procedure,
    /// Start times of the procedure sessions, h (the first at 0; none without a procedure).
    pub sessions_h: Vec<f64>,
    pub regimen: Regimen,
    pub numerics: Numerics,
}

impl InVivo {
    /// Application times, h, in order: the regimen after t = 0, or after every session when
    /// the regimen is `per_session`.
    pub fn application_times_h(&self) -> Vec<f64> {
        let starts: Vec<f64> = if self.regimen.per_session && !self.sessions_h.is_empty() {
            self.sessions_h.clone()
        } else {
            vec![0.0]
        };
        let mut t: Vec<f64> = starts
            .iter()
            .flat_map(|s| {
                self.regimen
                    .application_times_h()
                    .into_iter()
                    .map(move |a| s + a)
            })
            .collect();
        t.sort_by(f64::total_cmp);
        t
    }
}

/// Vesicle sources (for the response model and the labels); controls carry no EV cargo.
pub const SOURCES: &[&str] = &[
    "human_msc_adipose",
    "human_msc_umbilical_cord",
    "human_msc_bone_marrow",
    "platelet",
    "plant",
    "bacterial",
    "synthetic_mimetic",
    "conditioned_media",
    "lysate",
    "ferment",
    "liposome",
    "vehicle",
];

/// Formulation of the product as stored (`formulation = "liquid"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Formulation {
    Liquid,
    Lyophilized,
}

/// How the product was stored before use.
#[derive(Debug, Clone, PartialEq)]
pub struct Storage {
    pub temperature_c: f64,
    pub age_days: f64,
}

/// The vesicle product.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub name: String,
    pub source: String,
    pub particles_per_ml: f64,
    pub dose_ul_per_cm2: f64,
    pub formulation: Formulation,
    pub storage: Storage,
    pub size: SizeDistribution,
    pub size_classes: usize,
}

/// The skin, with site defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Skin {
    pub site: String,
    pub age_years: f64,
    pub sc_thickness_um: f64,
    pub ve_thickness_um: f64,
    pub dermis_thickness_um: f64,
    pub follicles_per_cm2: f64,
    pub follicle_orifice_fraction: f64,
}

/// A procedure done before the product is applied (at t = 0).
#[derive(Debug, Clone, PartialEq)]
pub enum Procedure {
    None,
    Microneedling {
        needle_length_um: f64,
        depth_um: f64,
        channel_width_um: f64,
        channels_per_cm2: f64,
        occluded: bool,
    },
    FractionalCo2 {
        spot_um: f64,
        depth_um: f64,
        coverage_pct: f64,
    },
    ChemicalPeel {
        sc_removed_fraction: f64,
    },
}

impl Procedure {
    pub fn name(&self) -> &'static str {
        match self {
            Procedure::None => "none",
            Procedure::Microneedling { .. } => "microneedling",
            Procedure::FractionalCo2 { .. } => "fractional_co2",
            Procedure::ChemicalPeel { .. } => "chemical_peel",
        }
    }
}

/// When the product is applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Regimen {
    pub applications_per_day: u32,
    pub days: u32,
    /// Time of the first application after the procedure (or after t = 0), h.
    pub first_application_h: f64,
    /// Repeat the regimen after every procedure session.
    pub per_session: bool,
    /// An aqueous essence applied just before each application, uL/cm2 (adds vehicle volume).
    pub essence_ul_per_cm2: f64,
}

impl Regimen {
    /// Application times, h, in order.
    pub fn application_times_h(&self) -> Vec<f64> {
        let every = 24.0 / self.applications_per_day as f64;
        (0..self.days * self.applications_per_day)
            .map(|i| self.first_application_h + every * i as f64)
            .collect()
    }
}

// ---------------------------------------------------------------- parsing

/// Read and validate a scenario file.
pub fn load_scenario(path: &Path) -> Result<Scenario, ScenarioError> {
    read_scenario_file(path).map_err(ScenarioError::from)
}

/// Parse and validate scenario text; `file` names it in errors.
pub fn parse_scenario(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    read_scenario(text, file).map_err(ScenarioError::from)
}

/// [`load_scenario`] with the structured error.
pub fn read_scenario_file(path: &Path) -> Result<Scenario, ModelError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::Read {
        file: file.clone(),
        message: format!("cannot read the scenario file: {e}"),
    })?;
    read_scenario(&text, &file)
}

/// [`parse_scenario`] with the structured error.
pub fn read_scenario(text: &str, file: &str) -> Result<Scenario, ModelError> {
    let raw: RawScenario = input::from_toml(text, file)?;
    validate(raw, TransportParams::defaults()).map_err(|inv| input::invalid(file, text, inv))
}

/// [`read_scenario`] of a TOML table already in memory (a sweep's base scenario with its
/// row's keys set): on success no text is written or parsed; a table that does not read is
/// written out once, so its error is located and worded exactly as for a file.
pub fn read_scenario_table(table: &toml::Table, file: &str) -> Result<Scenario, ModelError> {
    let raw: Result<RawScenario, _> = toml::Value::Table(table.clone()).try_into();
    if let Ok(raw) = raw {
        if let Ok(s) = validate(raw, TransportParams::defaults()) {
            return Ok(s);
        }
    }
    let text = toml::to_string(table).map_err(|e| ModelError::Read {
        file: file.to_string(),
        message: format!("cannot write the scenario table: {e}"),
    })?;
    read_scenario(&text, file)
}

fn validate(raw: RawScenario, p: &TransportParams) -> Result<Scenario, Invalid> {
    let e = &raw.experiment;
    let default_cells = if e.kind == Kind::InVivo {
        DEFAULT_IN_VIVO_CELLS_PER_LAYER
    } else {
        DEFAULT_FRANZ_CELLS_PER_LAYER
    };
    let numerics = validate_numerics(raw.numerics.as_ref(), default_cells)?;
    match e.kind {
        Kind::FranzCell => validate_franz(&raw, e, numerics),
        Kind::InVivo => validate_in_vivo(&raw, e, numerics, p),
        Kind::CellCulture => validate_culture(&raw, e),
    }
}

/// A Franz diffusion cell: donor, membrane layers (their properties or tissue types) and the vesicles when a layer needs them.
fn validate_franz(
    raw: &RawScenario,
    e: &RawExperiment,
    numerics: Numerics,
) -> Result<Scenario, Invalid> {
    for (present, key) in [
        (raw.product.is_some(), "product"),
        (raw.skin.is_some(), "skin"),
        (raw.procedure.is_some(), "procedure"),
        (raw.regimen.is_some(), "regimen"),
        (raw.culture.is_some(), "culture"),
    ] {
        if present {
            return Err(Invalid::new(key, "does not belong to kind = \"franz_cell\"; a franz_cell uses [donor] and [[membrane.layers]]"));
        }
    }
    let duration = match e.duration_h {
        Some(d) => check_range(
            "experiment.duration_h",
            d,
            MIN_DURATION_H,
            24.0 * 365.0,
            "h",
        )?,
        None => {
            return Err(Invalid::new(
                "experiment",
                "missing `duration_h` (hours to run), e.g. duration_h = 48.0",
            ))
        }
    };
    let experiment = experiment(e, raw.uncertainty.as_ref(), duration)?;
    let d = raw.donor.as_ref().ok_or_else(|| {
        Invalid::new(
            "experiment.kind",
            "a franz_cell needs a [donor] table with concentration_per_ml",
        )
    })?;
    check_range(
        "donor.concentration_per_ml",
        d.concentration_per_ml,
        0.0,
        1e16,
        "particles per mL",
    )?;
    let volume = match (d.infinite, d.volume_ul_per_cm2) {
        (false, None) => return Err(Invalid::new(
            "donor.infinite",
            "a finite dose (infinite = false) needs volume_ul_per_cm2, the donor volume per cm2",
        )),
        (_, Some(v)) => Some(check_range(
            "donor.volume_ul_per_cm2",
            v,
            0.01,
            10_000.0,
            "uL/cm2 (0.01 uL/cm2 is a film 0.1 um thick)",
        )?),
        (true, None) => None,
    };
    let m = raw.membrane.as_ref().ok_or_else(|| {
        Invalid::new(
            "experiment.kind",
            "a franz_cell needs at least one [[membrane.layers]] table",
        )
    })?;
    if m.layers.is_empty() {
        return Err(Invalid::new("membrane.layers", "needs at least one layer"));
    }
    if m.layers.len() > 20 {
        return Err(Invalid::new(
            "membrane.layers",
            "at most 20 layers are supported",
        ));
    }
    let mut layers = Vec::new();
    let mut needs_size = false;
    for (i, l) in m.layers.iter().enumerate() {
        let key = |f: &str| format!("membrane.layers[{i}].{f}");
        if l.thickness_um <= 0.0 {
            return Err(Invalid::new(key("thickness_um"), format!("{} is not allowed: it must be greater than 0 (at least {MIN_LAYER_THICKNESS_UM} um, one lipid bilayer) and at most 10000 um", l.thickness_um)));
        }
        let thickness_um = check_range(
            &key("thickness_um"),
            l.thickness_um,
            MIN_LAYER_THICKNESS_UM,
            10_000.0,
            "um (a layer is at least one lipid bilayer thick)",
        )?;
        let dif = l
            .diffusivity_um2_per_s
            .map(|v| {
                check_range(
                    &key("diffusivity_um2_per_s"),
                    v,
                    MIN_DIFFUSIVITY_UM2_PER_S,
                    MAX_DIFFUSIVITY_UM2_PER_S,
                    "um^2/s",
                )
            })
            .transpose()?;
        let part = l
            .partition
            .map(|v| {
                check_range(
                    &key("partition"),
                    v,
                    MIN_PARTITION,
                    MAX_PARTITION,
                    "(dimensionless)",
                )
            })
            .transpose()?;
        let transport = match (l.tissue, dif, part) {
            (None, Some(d), Some(k)) => LayerTransport::Explicit { diffusivity_um2_per_s: d, partition: k },
            (None, _, _) => return Err(Invalid::new(key("name"), "give both diffusivity_um2_per_s and partition, or tissue = one of stratum_corneum, viable_epidermis, dermis, water to derive them from vesicle size")),
            (Some(tissue), d, k) => {
                if d.is_none() || k.is_none() {
                    needs_size = true;
                }
                LayerTransport::Tissue { tissue, diffusivity_um2_per_s: d, partition: k }
            }
        };
        if l.name.trim().is_empty() {
            return Err(Invalid::new(key("name"), "a layer needs a non-empty name"));
        }
        layers.push(LayerSpec {
            name: l.name.clone(),
            thickness_um,
            transport,
        });
    }
    let (size, size_classes) = match (&raw.vesicles, needs_size) {
        (Some(s), _) => {
            let (d, n) = validate_size(s, "vesicles")?;
            (Some(d), n)
        }
        (None, true) => return Err(Invalid::new("membrane.layers", "a layer derives its properties from a tissue type, so the vesicle size is needed: add [vesicles] with mode_nm and gsd")),
        (None, false) => (None, 1),
    };
    Ok(Scenario::FranzCell(FranzCell {
        experiment,
        donor: Donor {
            concentration_per_ml: d.concentration_per_ml,
            infinite: d.infinite,
            volume_ul_per_cm2: volume,
        },
        layers,
        size,
        size_classes,
        numerics,
    }))
}

/// An in-vivo scenario: product, skin, procedure, regimen and the sessions and duration they give.
fn validate_in_vivo(
    raw: &RawScenario,
    e: &RawExperiment,
    numerics: Numerics,
    p: &TransportParams,
) -> Result<Scenario, Invalid> {
    for (present, key) in [
        (raw.donor.is_some(), "donor"),
        (raw.membrane.is_some(), "membrane"),
        (raw.vesicles.is_some(), "vesicles"),
        (raw.culture.is_some(), "culture"),
    ] {
        if present {
            return Err(Invalid::new(key, "does not belong to kind = \"in_vivo\", which uses [product], [skin], [procedure] and [regimen]"));
        }
    }
    let pr = raw.product.as_ref().ok_or_else(|| {
        Invalid::new(
            "experiment.kind",
            "an in_vivo scenario needs a [product] table",
        )
    })?;
    let product = validate_product(pr)?;
    let sk = raw.skin.as_ref().ok_or_else(|| {
        Invalid::new(
            "experiment.kind",
            "an in_vivo scenario needs a [skin] table with site",
        )
    })?;
    let skin = validate_skin(sk)?;
    let procedure = match &raw.procedure {
        None => Procedure::None,
        Some(pc) => validate_procedure(pc, p)?,
    };
    let regimen = match &raw.regimen {
        None => Regimen {
            applications_per_day: 1,
            days: 1,
            first_application_h: 0.0,
            per_session: false,
            essence_ul_per_cm2: 0.0,
        },
        Some(r) => Regimen {
            applications_per_day: check_range(
                "regimen.applications_per_day",
                r.applications_per_day as f64,
                1.0,
                24.0,
                "per day",
            )? as u32,
            days: check_range("regimen.days", r.days as f64, 1.0, 730.0, "days")? as u32,
            first_application_h: check_range(
                "regimen.first_application_h",
                r.first_application_h,
                0.0,
                24.0 * 30.0,
                "h",
            )?,
            per_session: r.per_session,
            essence_ul_per_cm2: check_range(
                "regimen.essence_ul_per_cm2",
                r.essence_ul_per_cm2,
                0.0,
                100.0,
                "uL/cm2",
            )?,
        },
    };
    let sessions_h = match (&raw.procedure, &procedure) {
        (_, Procedure::None) | (None, _) => vec![],
        (Some(pc), _) => {
            let n = check_range(
                "procedure.sessions",
                pc.sessions.unwrap_or(1) as f64,
                1.0,
                24.0,
                "sessions",
            )? as usize;
            let every = match (pc.interval_days, n) {
                (Some(d), _) => check_range("procedure.interval_days", d, 1.0, 365.0, "days")?,
                (None, 1) => 0.0,
                (None, _) => {
                    return Err(Invalid::new(
                        "procedure.sessions",
                        "several sessions need interval_days, the days between sessions",
                    ))
                }
            };
            (0..n).map(|i| 24.0 * every * i as f64).collect()
        }
    };
    let last_start = if regimen.per_session {
        sessions_h.last().copied().unwrap_or(0.0)
    } else {
        0.0
    };
    let last = last_start + regimen.first_application_h + 24.0 * regimen.days as f64;
    let duration = match e.duration_h {
        Some(d) => check_range(
            "experiment.duration_h",
            d,
            MIN_DURATION_H,
            24.0 * 730.0,
            "h",
        )?,
        None => last,
    };
    if duration / numerics.dt_max_h > MAX_STEPS {
        return Err(Invalid::new(
            "numerics.dt_max_h",
            format!(
                "{} h over {duration} h is more than {MAX_STEPS} steps; choose a larger dt_max_h or a shorter run",
                numerics.dt_max_h
            ),
        ));
    }
    let experiment = experiment(e, raw.uncertainty.as_ref(), duration)?;
    Ok(Scenario::InVivo(InVivo {
        experiment,
        product,
        skin,
        procedure,
        sessions_h,
        regimen,
        numerics,
    }))
}

/// A cell-culture experiment: cell type, stimulus, source and dose.
fn validate_culture(raw: &RawScenario, e: &RawExperiment) -> Result<Scenario, Invalid> {
    for (present, key) in [
        (raw.donor.is_some(), "donor"),
        (raw.membrane.is_some(), "membrane"),
        (raw.product.is_some(), "product"),
        (raw.skin.is_some(), "skin"),
        (raw.procedure.is_some(), "procedure"),
        (raw.regimen.is_some(), "regimen"),
    ] {
        if present {
            return Err(Invalid::new(
                key,
                "does not belong to kind = \"cell_culture\", which uses [culture]",
            ));
        }
    }
    let c = raw.culture.as_ref().ok_or_else(|| {
        Invalid::new(
            "experiment.kind",
            "a cell_culture needs a [culture] table with cell_type, source and vesicles_per_cell",
        )
    })?;
    if !["keratinocyte", "fibroblast", "macrophage"].contains(&c.cell_type.as_str()) {
        return Err(Invalid::new(
            "culture.cell_type",
            format!(
                "unknown cell type \"{}\"; use keratinocyte, fibroblast or macrophage",
                c.cell_type
            ),
        ));
    }
    if !["lps", "tnf_alpha", "none"].contains(&c.stimulus.as_str()) {
        return Err(Invalid::new(
            "culture.stimulus",
            format!(
                "unknown stimulus \"{}\"; use lps, tnf_alpha or none",
                c.stimulus
            ),
        ));
    }
    if !SOURCES.contains(&c.source.as_str()) {
        return Err(Invalid::new(
            "culture.source",
            format!(
                "unknown source \"{}\"; use one of {}",
                c.source,
                SOURCES.join(", ")
            ),
        ));
    }
    let dose = check_range(
        "culture.vesicles_per_cell",
        c.vesicles_per_cell,
        0.0,
        1e7,
        "vesicles per cell",
    )?;
    let duration = match e.duration_h {
        Some(d) => check_range("experiment.duration_h", d, MIN_DURATION_H, 24.0 * 14.0, "h")?,
        None => 24.0,
    };
    Ok(Scenario::CellCulture(CellCulture {
        experiment: experiment(e, raw.uncertainty.as_ref(), duration)?,
        cell_type: c.cell_type.clone(),
        stimulus: c.stimulus.clone(),
        source: c.source.clone(),
        vesicles_per_cell: dose,
    }))
}

/// Shortest run, h (36 s: one output of the fastest experiment).
const MIN_DURATION_H: f64 = 0.01;
/// Most time steps of an in-vivo run at `dt_max_h` (the 12-week daily scenario takes about
/// 8000); a bound on run time, not on accuracy.
const MAX_STEPS: f64 = 2e6;

fn experiment(
    e: &RawExperiment,
    u: Option<&RawUncertainty>,
    duration_h: f64,
) -> Result<Experiment, Invalid> {
    let output_interval_h = match e.output_interval_h {
        Some(v) => check_positive(
            "experiment.output_interval_h",
            v,
            duration_h,
            "h (at most the duration)",
        )?,
        None => default_interval(duration_h),
    };
    if duration_h / output_interval_h > 200_000.0 {
        return Err(Invalid::new(
            "experiment.output_interval_h",
            "more than 200000 output times; choose a longer interval",
        ));
    }
    Ok(Experiment {
        name: e.name.clone().unwrap_or_default(),
        description: e.description.clone().unwrap_or_default(),
        duration_h,
        output_interval_h,
        uncertainty: u
            .map(|u| {
                Uncertainty::new(
                    u.members,
                    u.seed.unwrap_or(DEFAULT_ENSEMBLE_SEED),
                    "uncertainty.members",
                )
            })
            .transpose()?,
    })
}

/// Default output interval: about 200 points, on a round step.
fn default_interval(duration_h: f64) -> f64 {
    let raw = duration_h / 200.0;
    [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 6.0, 12.0, 24.0]
        .into_iter()
        .find(|s| *s >= raw)
        .unwrap_or(24.0)
}

/// Cells per layer of a Franz cell when none are given (the exact-solution checks).
pub const DEFAULT_FRANZ_CELLS_PER_LAYER: usize = 40;
/// Cells per layer of an in-vivo run when none are given (see [`validate_numerics`]).
pub const DEFAULT_IN_VIVO_CELLS_PER_LAYER: usize = 20;
/// Radial cells of the axisymmetric unit cell when none are given.
pub const DEFAULT_RADIAL_CELLS: usize = 24;
/// Largest time step when none is given, h.
pub const DEFAULT_DT_MAX_H: f64 = 0.25;
/// Size classes of a size distribution when none are given.
pub const DEFAULT_SIZE_CLASSES: usize = 6;

/// Defaults: 40 cells per layer for Franz cells (the exact-solution checks), 20 for in-vivo
/// runs (grid error under 2 % of the uptake and dermis figures, checked by the test suite
/// against 80), 24 radial cells, steps from 0.001 h growing to 0.25 h.
fn validate_numerics(n: Option<&RawNumerics>, default_cells: usize) -> Result<Numerics, Invalid> {
    let mut out = Numerics {
        cells_per_layer: default_cells,
        radial_cells: DEFAULT_RADIAL_CELLS,
        dt_max_h: DEFAULT_DT_MAX_H,
        dt_initial_h: 1e-3,
        dt_quiet_max_h: 0.5,
    };
    if let Some(n) = n {
        if let Some(c) = n.cells_per_layer {
            out.cells_per_layer =
                check_range("numerics.cells_per_layer", c as f64, 2.0, 2000.0, "cells")? as usize;
        }
        if let Some(c) = n.radial_cells {
            out.radial_cells =
                check_range("numerics.radial_cells", c as f64, 4.0, 200.0, "cells")? as usize;
        }
        if let Some(v) = n.dt_max_h {
            out.dt_max_h = check_range("numerics.dt_max_h", v, 1e-4, 24.0, "h")?;
        }
        if let Some(v) = n.dt_initial_h {
            out.dt_initial_h = check_range(
                "numerics.dt_initial_h",
                v,
                1e-6,
                out.dt_max_h,
                "h (at most dt_max_h)",
            )?;
        }
        // Without an explicit quiet-phase step, it is 2x dt_max_h (0.5 h by default: within
        // 1 % of a 0.05 h reference on the 12-week daily scenario).
        out.dt_quiet_max_h = match n.dt_quiet_max_h {
            Some(v) => check_range(
                "numerics.dt_quiet_max_h",
                v,
                out.dt_max_h,
                24.0,
                "h (at least dt_max_h)",
            )?,
            None => 2.0 * out.dt_max_h,
        };
    }
    Ok(out)
}

fn validate_size(s: &RawSize, table: &str) -> Result<(SizeDistribution, usize), Invalid> {
    let key = |f: &str| format!("{table}.{f}");
    let classes = match s.classes {
        Some(c) => check_range(&key("classes"), c as f64, 1.0, 32.0, "classes")? as usize,
        None => DEFAULT_SIZE_CLASSES,
    };
    let range = |k: &str, d: f64| {
        check_range(
            k,
            d,
            MIN_DIAMETER_NM,
            MAX_DIAMETER_NM,
            "nm (the sizes the transport model supports)",
        )
    };
    match (s.mode_nm, &s.diameters_nm) {
        (Some(m), None) => {
            range(&key("mode_nm"), m)?;
            let gsd = check_range(
                &key("gsd"),
                s.gsd.unwrap_or(1.0),
                1.0,
                3.0,
                "(geometric SD; 1 = a single size)",
            )?;
            if s.counts.is_some() {
                return Err(Invalid::new(
                    key("counts"),
                    "counts go with diameters_nm (a histogram), not with mode_nm",
                ));
            }
            Ok((SizeDistribution::LogNormal { mode_nm: m, gsd }, classes))
        }
        (None, Some(d)) => {
            let c = s.counts.as_ref().ok_or_else(|| {
                Invalid::new(
                    key("diameters_nm"),
                    "a histogram needs counts with one value per diameter",
                )
            })?;
            if c.len() != d.len() || d.is_empty() {
                return Err(Invalid::new(
                    key("counts"),
                    format!(
                        "{} counts for {} diameters: give one count per diameter",
                        c.len(),
                        d.len()
                    ),
                ));
            }
            if d.len() > 64 {
                return Err(Invalid::new(
                    key("diameters_nm"),
                    "at most 64 histogram bins",
                ));
            }
            for (i, x) in d.iter().enumerate() {
                range(&format!("{table}.diameters_nm[{i}]"), *x)?;
            }
            for (i, x) in c.iter().enumerate() {
                check_range(
                    &format!("{table}.counts[{i}]"),
                    *x,
                    0.0,
                    1e18,
                    "(counts, not negative)",
                )?;
            }
            if c.iter().sum::<f64>() <= 0.0 {
                return Err(Invalid::new(key("counts"), "all counts are zero"));
            }
            Ok((
                SizeDistribution::Histogram {
                    diameters_nm: d.clone(),
                    counts: c.clone(),
                },
                classes,
            ))
        }
        (Some(_), Some(_)) => Err(Invalid::new(
            key("mode_nm"),
            "give either mode_nm (with gsd) or diameters_nm with counts, not both",
        )),
        (None, None) => Err(Invalid::new(
            table,
            "give the size as mode_nm (with gsd) or as a histogram (diameters_nm and counts)",
        )),
    }
}

/// The values of a `[product]` table given by other means than a scenario file (a batch
/// certificate's measured values): a log-normal size by its mode and geometric SD.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductValues {
    pub name: String,
    pub source: String,
    pub particles_per_ml: f64,
    pub dose_ul_per_cm2: f64,
    pub formulation: Formulation,
    pub storage_temperature_c: f64,
    pub storage_age_days: f64,
    pub mode_nm: f64,
    pub gsd: f64,
    pub classes: usize,
}

impl Product {
    /// A product from `v`, checked exactly as a scenario's `[product]` table is (the same
    /// ranges; errors name the `product.` key).
    pub fn checked(v: &ProductValues) -> Result<Product, Invalid> {
        validate_product(&RawProduct {
            name: Some(v.name.clone()),
            source: v.source.clone(),
            particles_per_ml: v.particles_per_ml,
            dose_ul_per_cm2: v.dose_ul_per_cm2,
            formulation: v.formulation,
            storage_temperature_c: Some(v.storage_temperature_c),
            storage_age_days: Some(v.storage_age_days),
            size: RawSize {
                mode_nm: Some(v.mode_nm),
                gsd: Some(v.gsd),
                diameters_nm: None,
                counts: None,
                classes: Some(v.classes as i64),
            },
        })
    }
}

fn validate_product(pr: &RawProduct) -> Result<Product, Invalid> {
    if !SOURCES.contains(&pr.source.as_str()) {
        return Err(Invalid::new(
            "product.source",
            format!(
                "unknown source \"{}\"; use one of {}",
                pr.source,
                SOURCES.join(", ")
            ),
        ));
    }
    let particles = check_range(
        "product.particles_per_ml",
        pr.particles_per_ml,
        0.0,
        1e15,
        "particles per mL",
    )?;
    let dose = check_range(
        "product.dose_ul_per_cm2",
        pr.dose_ul_per_cm2,
        0.01,
        100.0,
        "uL/cm2 (0.01 uL/cm2 is a film 0.1 um thick)",
    )?;
    let formulation = pr.formulation;
    let storage = Storage {
        temperature_c: check_range(
            "product.storage_temperature_c",
            pr.storage_temperature_c.unwrap_or(4.0),
            -90.0,
            40.0,
            "C",
        )?,
        age_days: check_range(
            "product.storage_age_days",
            pr.storage_age_days.unwrap_or(0.0),
            0.0,
            3650.0,
            "days",
        )?,
    };
    let (size, size_classes) = validate_size(&pr.size, "product.size")?;
    Ok(Product {
        name: pr.name.clone().unwrap_or_default(),
        source: pr.source.clone(),
        particles_per_ml: particles,
        dose_ul_per_cm2: dose,
        formulation,
        storage,
        size,
        size_classes,
    })
}

fn validate_skin(sk: &RawSkin) -> Result<Skin, Invalid> {
    let all = sites();
    let site = all.get(&sk.site).ok_or_else(|| {
        Invalid::new(
            "skin.site",
            format!(
                "unknown site \"{}\"; use one of {}",
                sk.site,
                all.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    let opt = |k: &str, v: Option<f64>, d: f64, lo: f64, hi: f64, unit: &str| {
        check_range(k, v.unwrap_or(d), lo, hi, unit)
    };
    Ok(Skin {
        site: sk.site.clone(),
        age_years: opt("skin.age_years", sk.age_years, 40.0, 18.0, 100.0, "years")?,
        sc_thickness_um: opt(
            "skin.sc_thickness_um",
            sk.sc_thickness_um,
            site.sc_thickness_um,
            1.0,
            200.0,
            "um",
        )?,
        ve_thickness_um: opt(
            "skin.ve_thickness_um",
            sk.ve_thickness_um,
            site.ve_thickness_um,
            10.0,
            500.0,
            "um",
        )?,
        dermis_thickness_um: opt(
            "skin.dermis_thickness_um",
            sk.dermis_thickness_um,
            site.dermis_thickness_um,
            300.0,
            5000.0,
            "um",
        )?,
        follicles_per_cm2: opt(
            "skin.follicles_per_cm2",
            sk.follicles_per_cm2,
            site.follicles_per_cm2,
            0.0,
            // Densest measured facial skin: nose, up to 1220 per cm2 (Pagnoni 1994).
            1500.0,
            "per cm2",
        )?,
        follicle_orifice_fraction: opt(
            "skin.follicle_orifice_fraction",
            sk.follicle_orifice_fraction,
            site.follicle_orifice_fraction,
            0.0,
            0.1,
            "(fraction of the surface)",
        )?,
    })
}

fn validate_procedure(pc: &RawProcedure, p: &TransportParams) -> Result<Procedure, Invalid> {
    let allowed = pc.kind.keys();
    let given = [
        ("needle_length_um", pc.needle_length_um.is_some()),
        ("depth_um", pc.depth_um.is_some()),
        ("channel_width_um", pc.channel_width_um.is_some()),
        ("channels_per_cm2", pc.channels_per_cm2.is_some()),
        ("occluded", pc.occluded.is_some()),
        ("spot_um", pc.spot_um.is_some()),
        ("coverage_pct", pc.coverage_pct.is_some()),
        ("sc_removed_fraction", pc.sc_removed_fraction.is_some()),
        ("sessions", pc.sessions.is_some()),
        ("interval_days", pc.interval_days.is_some()),
    ];
    for (k, present) in given {
        if present && !allowed.contains(&k) {
            return Err(Invalid::new(
                format!("procedure.{k}"),
                format!(
                    "does not apply to kind = \"{}\"; its keys are: {}",
                    pc.kind.name(),
                    if allowed.is_empty() {
                        "none".to_string()
                    } else {
                        allowed.join(", ")
                    }
                ),
            ));
        }
    }
    Ok(match pc.kind {
        ProcedureKind::Microneedling => {
            let needle = check_range(
                "procedure.needle_length_um",
                pc.needle_length_um.unwrap_or(1000.0),
                100.0,
                3000.0,
                "um",
            )?;
            let depth = match pc.depth_um {
                Some(d) => check_range(
                    "procedure.depth_um",
                    d,
                    10.0,
                    needle,
                    "um (at most the needle length)",
                )?,
                None => needle * p.microneedle_depth_ratio.v(),
            };
            Procedure::Microneedling {
                needle_length_um: needle,
                depth_um: depth,
                channel_width_um: check_range(
                    "procedure.channel_width_um",
                    pc.channel_width_um
                        .unwrap_or(p.microneedle_channel_width_um.v()),
                    5.0,
                    500.0,
                    "um",
                )?,
                channels_per_cm2: check_range(
                    "procedure.channels_per_cm2",
                    pc.channels_per_cm2
                        .unwrap_or(p.microneedle_channels_per_cm2.v()),
                    1.0,
                    5000.0,
                    "per cm2",
                )?,
                occluded: pc.occluded.unwrap_or(false),
            }
        }
        ProcedureKind::FractionalCo2 => {
            let spot = check_range(
                "procedure.spot_um",
                pc.spot_um.unwrap_or(p.co2_spot_diameter_um.v()),
                50.0,
                1300.0,
                "um",
            )?;
            Procedure::FractionalCo2 {
                spot_um: spot,
                depth_um: check_range(
                    "procedure.depth_um",
                    pc.depth_um.unwrap_or(p.co2_depth_um.v()),
                    20.0,
                    2000.0,
                    "um",
                )?,
                coverage_pct: check_range(
                    "procedure.coverage_pct",
                    pc.coverage_pct.unwrap_or(10.0),
                    1.0,
                    100.0,
                    "% of the surface (100: full-field ablation)",
                )?,
            }
        }
        ProcedureKind::ChemicalPeel => Procedure::ChemicalPeel {
            sc_removed_fraction: check_range(
                "procedure.sc_removed_fraction",
                pc.sc_removed_fraction
                    .unwrap_or(p.peel_sc_removed_fraction.v()),
                0.0,
                0.95,
                "(fraction of the SC)",
            )?,
        },
        ProcedureKind::None => Procedure::None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRANZ: &str = r#"
[experiment]
kind = "franz_cell"
duration_h = 48.0
[donor]
concentration_per_ml = 1.0e10
infinite = true
[[membrane.layers]]
name = "a"
thickness_um = 20.0
diffusivity_um2_per_s = 0.5
partition = 0.2
"#;

    #[test]
    fn the_issue_keys_parse() {
        let s = parse_scenario(FRANZ, "f.toml").unwrap();
        let Scenario::FranzCell(f) = s else { panic!() };
        assert_eq!(f.layers.len(), 1);
        assert_eq!(f.donor.concentration_per_ml, 1e10);
        assert!(
            matches!(f.layers[0].transport, LayerTransport::Explicit { partition, .. } if partition == 0.2)
        );
    }

    #[test]
    fn negative_thickness_is_located() {
        let text = FRANZ.replace("thickness_um = 20.0", "thickness_um = -5.0");
        let e = parse_scenario(&text, "f.toml").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("membrane.layers[0].thickness_um"));
        let loc = e.location.clone().unwrap();
        assert_eq!(loc.line, 10, "{e}");
        assert_eq!(loc.column, 16, "{e}");
        assert!(e.to_string().contains("greater than 0"), "{e}");
    }

    #[test]
    fn unknown_and_missing_keys_name_line_and_column() {
        let text = FRANZ.replace("infinite = true", "infinit = true");
        let e = parse_scenario(&text, "f.toml").unwrap_err();
        assert_eq!(e.location.as_ref().unwrap().line, 7, "{e}");
        assert!(e.message.contains("unknown field `infinit`"), "{e}");
        let text = FRANZ.replace("concentration_per_ml = 1.0e10\n", "");
        let e = parse_scenario(&text, "f.toml").unwrap_err();
        assert!(
            e.message.contains("missing field `concentration_per_ml`"),
            "{e}"
        );
        assert!(e.location.is_some());
    }

    #[test]
    fn malformed_toml_is_an_error_with_position() {
        let e = parse_scenario("[experiment\nkind = 1", "bad.toml").unwrap_err();
        assert!(e.location.is_some(), "{e}");
        assert!(e.to_string().starts_with("bad.toml:1:"), "{e}");
    }

    #[test]
    fn size_outside_the_model_is_rejected_with_the_range() {
        let text = r#"
[experiment]
kind = "in_vivo"
[product]
source = "human_msc_adipose"
particles_per_ml = 1e10
dose_ul_per_cm2 = 2.0
[product.size]
mode_nm = 5000.0
gsd = 1.3
[skin]
site = "forehead"
"#;
        let e = parse_scenario(text, "v.toml").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("product.size.mode_nm"));
        assert!(e.message.contains("20 to 1000 nm"), "{e}");
        assert_eq!(e.location.clone().unwrap().line, 9);
    }

    #[test]
    fn in_vivo_defaults_come_from_the_site_table() {
        let text = r#"
[experiment]
kind = "in_vivo"
[product]
source = "plant"
particles_per_ml = 1e10
dose_ul_per_cm2 = 2.0
[product.size]
mode_nm = 100.0
gsd = 1.3
[skin]
site = "forearm"
[procedure]
kind = "microneedling"
needle_length_um = 770.0
[regimen]
days = 3
"#;
        let Scenario::InVivo(v) = parse_scenario(text, "v.toml").unwrap() else {
            panic!()
        };
        assert_eq!(
            v.skin.follicles_per_cm2,
            sites()["forearm"].follicles_per_cm2
        );
        assert_eq!(v.experiment.duration_h, 72.0);
        let Procedure::Microneedling { depth_um, .. } = v.procedure else {
            panic!()
        };
        assert!((depth_um - 154.0).abs() < 1e-9);
        assert_eq!(v.application_times_h(), vec![0.0, 24.0, 48.0]);
        assert_eq!(v.sessions_h, vec![0.0]);
    }
}
