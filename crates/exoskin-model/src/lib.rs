//! The exoskin domain model: what an experiment is (scenario files), what a product, a skin
//! and a procedure are, and the parameter data (every value with its source).
//!
//! Scenario files are TOML. Parsing happens in two passes: serde reads the structure (unknown
//! keys and wrong types are errors with line and column), then [`scenario::validate`] checks
//! ranges and consistency and reports the offending key, located in the file again.

pub mod error;
pub mod fsutil;
pub mod params;
pub mod scenario;
pub mod size;

pub use error::{ScenarioError, SourceLocation};
pub use params::{Param, SiteData, TransportParams};
pub use scenario::{
    load_scenario, parse_scenario, CellCulture, Donor, Experiment, FranzCell, InVivo, LayerSpec,
    LayerTransport, Procedure, Product, Regimen, Scenario, Skin, Storage,
};
pub use size::{SizeClass, SizeDistribution};

/// Smallest and largest vesicle diameters the transport model supports, nm. Below 20 nm the
/// continuum Stokes-Einstein picture for a vesicle with a bilayer shell breaks down; above
/// 1000 nm particles are no longer extracellular vesicles of the exosome/microvesicle range
/// the hindrance models were set for (MISEV2023: small EVs < 200 nm).
pub const MIN_DIAMETER_NM: f64 = 20.0;
/// See [`MIN_DIAMETER_NM`].
pub const MAX_DIAMETER_NM: f64 = 1000.0;
