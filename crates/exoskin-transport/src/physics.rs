//! Vesicle mobility: Stokes-Einstein free diffusivity and per-tissue hindrance.

use exoskin_model::params::TransportParams;
use exoskin_model::scenario::Tissue;

/// Free diffusivity of a sphere of diameter `d_nm` in water at skin temperature, um^2/s:
/// `D = kT / (6 pi eta r)` (Stokes-Einstein).
pub fn free_diffusivity_um2_per_s(d_nm: f64, p: &TransportParams) -> f64 {
    let t_k = 273.15 + p.skin_temperature_c.v();
    let r_m = 0.5 * d_nm * 1e-9;
    let d_m2_s = p.boltzmann_j_per_k.v() * t_k
        / (6.0 * std::f64::consts::PI * p.water_viscosity_32c_pa_s.v() * r_m);
    d_m2_s * 1e12
}

/// Renkin pore model for a sphere of radius ratio `lambda = r_particle / r_pore`:
/// steric partition `(1 - lambda)^2` and hydrodynamic hindrance
/// `1 - 2.104 lambda + 2.09 lambda^3 - 0.95 lambda^5` (Renkin 1954, J Gen Physiol 38:225).
/// Both are 0 for `lambda >= 1`.
pub fn renkin(lambda: f64) -> (f64, f64) {
    if lambda >= 1.0 {
        return (0.0, 0.0);
    }
    let l = lambda.max(0.0);
    let phi = (1.0 - l).powi(2);
    let kd = 1.0 - 2.104 * l + 2.09 * l.powi(3) - 0.95 * l.powi(5);
    (phi, kd.max(0.0))
}

/// Smallest partition or hindrance factor a tissue cell is given. For thin fibres and
/// large vesicles the Ogston partition underflows (1 nm fibres, 200 nm vesicles, phi 0.05:
/// exp(-510)), which would leave a cell with no capacity and the implicit matrix singular;
/// at 1e-30 the cell holds and passes nothing measurable (a 1e10 per mL product puts less
/// than 1e-20 vesicles into it), so results are unchanged wherever they were defined.
pub const MIN_HINDRANCE: f64 = 1e-30;

/// Ogston fibre-matrix model (Ogston 1958; Phillips 2000 review): partition
/// `exp(-phi (1 + r/rf)^2)` and diffusive hindrance `exp(-sqrt(phi) (1 + r/rf))` for a sphere
/// of radius `r` among random fibres of radius `rf` at volume fraction `phi`, each at least
/// [`MIN_HINDRANCE`].
pub fn ogston(r_nm: f64, fibre_radius_nm: f64, phi: f64) -> (f64, f64) {
    let x = 1.0 + r_nm / fibre_radius_nm;
    (
        (-phi * x * x).exp().max(MIN_HINDRANCE),
        (-phi.sqrt() * x).exp().max(MIN_HINDRANCE),
    )
}

/// Partition coefficient (tissue over vehicle) and effective diffusivity (um^2/s) of a vesicle
/// of diameter `d_nm` in a tissue.
pub fn tissue_properties(tissue: Tissue, d_nm: f64, p: &TransportParams) -> (f64, f64) {
    let d0 = free_diffusivity_um2_per_s(d_nm, p);
    let r = 0.5 * d_nm;
    match tissue {
        Tissue::Water => (1.0, d0),
        Tissue::StratumCorneum => {
            let (phi, kd) = renkin(r / p.sc_pore_radius_nm.v());
            let floor = p.sc_residual_factor.v();
            (
                p.sc_pore_fraction.v() * phi.max(floor),
                d0 * kd.max(floor) / p.sc_tortuosity.v(),
            )
        }
        Tissue::ViableEpidermis => {
            let (phi, kd) = ogston(r, p.ve_fibre_radius_nm.v(), p.ve_fibre_volume_fraction.v());
            (
                p.ve_extracellular_fraction.v() * phi,
                d0 * kd / p.tissue_tortuosity.v(),
            )
        }
        Tissue::Dermis => {
            let (phi, kd) = ogston(
                r,
                p.dermis_fibre_radius_nm.v(),
                p.dermis_fibre_volume_fraction.v(),
            );
            (
                p.dermis_fluid_fraction.v() * phi,
                d0 * kd / p.tissue_tortuosity.v(),
            )
        }
    }
}

/// Permeability of the lower follicle wall to a vesicle, um/h (Renkin-reduced reference).
pub fn follicle_wall_permeability_um_per_h(d_nm: f64, p: &TransportParams) -> f64 {
    let (phi, kd) = renkin(0.5 * d_nm / p.follicle_wall_pore_radius_nm.v());
    p.follicle_wall_permeability_um_per_h.v() * phi * kd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stokes_einstein_matches_the_brief() {
        let p = TransportParams::defaults();
        // Model brief: a 100 nm vesicle diffuses at about 5.8 um^2/s in water at 32 C.
        let d = free_diffusivity_um2_per_s(100.0, p);
        assert!((d - 5.84).abs() < 0.05, "{d}");
        // Inverse proportionality to size.
        assert!((free_diffusivity_um2_per_s(50.0, p) / d - 2.0).abs() < 1e-12);
    }

    #[test]
    fn hindrance_is_monotone_in_size_and_bounded() {
        let p = TransportParams::defaults();
        for t in [
            Tissue::StratumCorneum,
            Tissue::ViableEpidermis,
            Tissue::Dermis,
        ] {
            let mut last = f64::INFINITY;
            for d in [20.0, 30.0, 50.0, 100.0, 150.0, 300.0, 1000.0] {
                let (k, dd) = tissue_properties(t, d, p);
                assert!(k > 0.0 && k <= 1.0 && dd > 0.0);
                let perm = k * dd;
                assert!(perm <= last, "{t:?} {d}");
                last = perm;
            }
        }
        assert_eq!(renkin(1.2), (0.0, 0.0));
        let (phi, kd) = renkin(0.0);
        assert_eq!((phi, kd), (1.0, 1.0));
    }
}
