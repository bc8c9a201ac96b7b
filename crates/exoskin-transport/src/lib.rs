//! Transport of extracellular vesicles through skin: a finite-volume, implicit, conservative
//! engine over layered membranes (Franz cell), layered skin with a follicular shunt, and an
//! axisymmetric unit cell around a micro-channel.
//!
//! Layout: [`physics`] (mobility and hindrance), [`network`] (cells, conductances and the
//! conservative implicit step), [`banded`] (the SPD banded solver), [`engine`] (time loop,
//! doses, outputs), [`cost`] (what a run will take, known before it starts), and one module per experiment kind ([`franz`], [`invivo`]).

pub mod banded;
pub mod cost;
pub mod engine;
pub mod error;
pub mod franz;
pub mod invivo;
pub mod network;
pub mod physics;

pub use cost::{Budget, Cost, TooCostly};
pub use engine::Run;
pub use error::TransportError;
pub use franz::FranzResult;
pub use invivo::InVivoResult;

use exoskin_model::{Scenario, Stop, TransportParams};

/// The transport result of any scenario kind.
#[derive(Debug, Clone)]
pub enum Transport {
    Franz(FranzResult),
    InVivo(InVivoResult),
}

impl Transport {
    pub fn run(&self) -> &Run {
        match self {
            Transport::Franz(f) => &f.run,
            Transport::InVivo(v) => &v.run,
        }
    }
}

/// Simulate the transport part of a scenario with the given parameters; `Ok(None)` for kinds
/// without transport (cell culture).
pub fn simulate(s: &Scenario, p: &TransportParams) -> Result<Option<Transport>, TransportError> {
    simulate_until(s, p, &Stop::never())
}

/// [`simulate`], stopping with [`TransportError::Stopped`] once `stop` says so.
pub fn simulate_until(
    s: &Scenario,
    p: &TransportParams,
    stop: &Stop,
) -> Result<Option<Transport>, TransportError> {
    Ok(match s {
        Scenario::FranzCell(f) => Some(Transport::Franz(franz::simulate_until(f, p, stop)?)),
        Scenario::InVivo(v) => Some(Transport::InVivo(invivo::simulate_until(v, p, None, stop)?)),
        Scenario::CellCulture(_) => None,
    })
}

/// Names of parameters that must be strictly positive (half-lives, times, sizes, material
/// constants); every other parameter must be finite.
fn must_be_positive(name: &str) -> bool {
    name.contains("half_life")
        || name.ends_with("_days")
        || name.ends_with("_time_h")
        || name.ends_with("_nm")
        || name.ends_with("_um")
        || name.ends_with("_pa_s")
        || name.ends_with("tortuosity")
        || name == "boltzmann_j_per_k"
}

/// Check the parameters a solver reads: finite, and positive where a division or a logarithm
/// needs it. The shipped data pass; parameters changed by a caller may not.
pub fn check_params(p: &TransportParams) -> Result<(), TransportError> {
    for (name, param) in p.entries() {
        let v = param.value;
        if !v.is_finite() {
            return Err(TransportError::Parameter {
                name,
                value: v,
                requirement: "a finite number",
            });
        }
        if must_be_positive(name) && v <= 0.0 {
            return Err(TransportError::Parameter {
                name,
                value: v,
                requirement: "greater than 0",
            });
        }
        if v < 0.0 && name != "skin_temperature_c" {
            return Err(TransportError::Parameter {
                name,
                value: v,
                requirement: "0 or more",
            });
        }
    }
    Ok(())
}
