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
        if param.must_be_positive() && v <= 0.0 {
            return Err(TransportError::Parameter {
                name,
                value: v,
                requirement: "greater than 0",
            });
        }
        // Temperatures in degrees Celsius may be below 0; every other quantity may not.
        if v < 0.0 && param.unit != "degC" {
            return Err(TransportError::Parameter {
                name,
                value: v,
                requirement: "0 or more",
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Positivity comes from the data (a unit of length, time, viscosity or J/K, or
    /// `positive = true`), not from how a parameter is named.
    #[test]
    fn parameters_positive_by_unit_or_mark_refuse_zero_and_others_allow_it() {
        let shipped = TransportParams::defaults();
        assert!(check_params(shipped).is_ok());
        let positive: Vec<&str> = shipped
            .entries()
            .into_iter()
            .filter(|(_, p)| p.must_be_positive())
            .map(|(n, _)| n)
            .collect();
        for name in [
            "sc_pore_radius_nm",
            "follicle_depth_um",
            "dermal_clearance_half_life_h",
            "sc_turnover_days",
            "water_viscosity_32c_pa_s",
            "boltzmann_j_per_k",
            "sc_tortuosity",
            "tissue_tortuosity",
        ] {
            assert!(positive.contains(&name), "{name} is not checked positive");
            let mut p = shipped.clone();
            p.get_mut(name).unwrap().value = 0.0;
            match check_params(&p) {
                Err(TransportError::Parameter {
                    name: n,
                    requirement,
                    ..
                }) => assert_eq!((n, requirement), (name, "greater than 0")),
                other => panic!("{name} = 0: {other:?}"),
            }
        }
        // A fraction may be 0, not below; a temperature in degrees Celsius may be below 0.
        let mut p = shipped.clone();
        p.get_mut("film_residual_fraction").unwrap().value = 0.0;
        assert!(check_params(&p).is_ok());
        p.get_mut("film_residual_fraction").unwrap().value = -0.1;
        assert!(check_params(&p).is_err());
        let mut p = shipped.clone();
        p.get_mut("skin_temperature_c").unwrap().value = -1.0;
        assert!(check_params(&p).is_ok());
    }
}
