//! The exoskin domain model: what an experiment is (scenario files), what a product, a skin
//! and a procedure are, and the parameter data (every value with its source).
//!
//! Scenario files are TOML. Parsing happens in two passes: serde reads the structure (unknown
//! keys, unknown kinds and wrong types are errors with line, column and dotted key, through
//! [`input`], the one place every file kind maps reader errors), then validation checks
//! ranges and consistency and reports the offending key, located in the file again. Every
//! number is checked to be finite and physically meaningful before it reaches a solver.

pub mod error;
/// Atomic file writes, from [`exoskin_io`] (kept here for the crates that use it by this path).
pub use exoskin_io::fsutil;
pub mod input;
pub mod params;
pub mod prior;
pub mod scenario;
pub mod size;
pub mod stop;

pub use error::{ModelError, Place, ScenarioError, SourceLocation};
pub use params::{Param, SiteData, TransportParams};
pub use prior::{Prior, PriorError, PriorKind};
pub use scenario::{
    load_scenario, parse_scenario, read_scenario, read_scenario_file, read_scenario_table,
    CellCulture, Donor, Experiment, FranzCell, InVivo, LayerSpec, LayerTransport, Procedure,
    Product, Regimen, Scenario, Skin, Storage, Uncertainty,
};
pub use size::{SizeClass, SizeDistribution};
pub use stop::{Observer, Stop, Stopped, Tally};

/// Smallest and largest vesicle diameters the transport model supports, nm. Below 20 nm the
/// continuum Stokes-Einstein picture for a vesicle with a bilayer shell breaks down; above
/// 1000 nm particles are no longer extracellular vesicles of the exosome/microvesicle range
/// the hindrance models were set for (MISEV2023: small EVs < 200 nm).
pub const MIN_DIAMETER_NM: f64 = 20.0;
/// See [`MIN_DIAMETER_NM`].
pub const MAX_DIAMETER_NM: f64 = 1000.0;

/// Thinnest membrane layer, um: one lipid bilayer, about 5 nm (phosphatidylcholine bilayers
/// are 4 to 5 nm thick including head groups; Nagle & Tristram-Nagle 2000, Biochim Biophys
/// Acta 1469:159). A thinner "layer" is not a physical layer, and the conductance `K D / h`
/// of a vanishing one overflows.
pub const MIN_LAYER_THICKNESS_UM: f64 = 0.005;

/// Thickness of a film of 1 µL spread over 1 cm², µm: 1e-3 cm³ / 1 cm² = 1e-3 cm = 10 µm
/// (doses in µL/cm² to film thickness).
pub const UM_PER_UL_PER_CM2: f64 = 10.0;
/// Smallest diffusivity a layer may be given, um^2/s. Assumption (range 1e-12 to 1e-6): at
/// 1e-9 um^2/s a vesicle moves sqrt(2 D t) = 0.25 um in the longest run allowed (a year),
/// so smaller values are indistinguishable from an impermeable layer.
pub const MIN_DIFFUSIVITY_UM2_PER_S: f64 = 1e-9;
/// Largest diffusivity a layer may be given, um^2/s: over 300x the free diffusivity of the
/// smallest supported vesicle (Stokes-Einstein, 20 nm in water at 32 C: about 30 um^2/s).
pub const MAX_DIFFUSIVITY_UM2_PER_S: f64 = 1e4;
/// Partition coefficient bounds (layer over vehicle concentration at equilibrium).
/// Assumption: six orders of magnitude below an even partition (K = 1) and three above; the
/// tissue-derived values of the transport model lie inside (checked by the test suite).
pub const MIN_PARTITION: f64 = 1e-6;
/// See [`MIN_PARTITION`].
pub const MAX_PARTITION: f64 = 1e3;
