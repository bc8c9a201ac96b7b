//! Transport of extracellular vesicles through skin: a finite-volume, implicit, conservative
//! engine over layered membranes (Franz cell), layered skin with a follicular shunt, and an
//! axisymmetric unit cell around a micro-channel.
//!
//! Layout: [`physics`] (mobility and hindrance), [`network`] (cells, conductances and the
//! conservative implicit step), [`banded`] (the SPD banded solver), [`engine`] (time loop,
//! doses, outputs), and one module per experiment kind ([`franz`], [`invivo`]).

pub mod banded;
pub mod engine;
pub mod franz;
pub mod invivo;
pub mod network;
pub mod physics;

pub use engine::Run;
pub use franz::FranzResult;
pub use invivo::InVivoResult;

use exoskin_model::{Scenario, TransportParams};

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

/// Simulate the transport part of a scenario with the given parameters; `None` for kinds
/// without transport (cell culture).
pub fn simulate(s: &Scenario, p: &TransportParams) -> Option<Transport> {
    match s {
        Scenario::FranzCell(f) => Some(Transport::Franz(franz::simulate(f, p))),
        Scenario::InVivo(v) => Some(Transport::InVivo(invivo::simulate(v, p, None))),
        Scenario::CellCulture(_) => None,
    }
}
