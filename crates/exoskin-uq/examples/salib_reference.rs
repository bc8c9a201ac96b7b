//! Prints, as JSON, the designs and the indices computed here for the Ishigami and Sobol g
//! functions (Saltelli and Morris), and sample chains with their R-hat and ESS, for
//! `scripts/check_salib.py` to recompute with SALib and ArviZ on the very same points,
//! outputs and chains.
//!
//! Usage: `cargo run --release -p exoskin-uq --example salib_reference`

use exoskin_uq::diagnostics::ess_mean;
use exoskin_uq::{
    ess_bulk, ess_tail, sample, split_rhat, FirstOrderEstimator, McmcConfig, MorrisDesign,
    SaltelliDesign, UqError,
};
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde_json::{json, Value};
use std::f64::consts::PI;

const ISHIGAMI: (f64, f64) = (7.0, 0.1);
const G_A: [f64; 6] = [0.0, 1.0, 4.5, 9.0, 99.0, 99.0];

fn ishigami(u: &[f64]) -> f64 {
    let x: Vec<f64> = u.iter().map(|v| -PI + 2.0 * PI * v).collect();
    let (a, b) = ISHIGAMI;
    x[0].sin() + a * x[1].sin().powi(2) + b * x[2].powi(4) * x[0].sin()
}

fn g_function(x: &[f64]) -> f64 {
    x.iter()
        .zip(&G_A)
        .map(|(x, a)| ((4.0 * x - 2.0).abs() + a) / (1.0 + a))
        .product()
}

fn saltelli_case(
    name: &str,
    f: fn(&[f64]) -> f64,
    n: usize,
    dim: usize,
    seed: u64,
) -> Result<Value, UqError> {
    let design = SaltelliDesign::new(n, dim, seed)?;
    let y: Vec<f64> = design.points().iter().map(|p| f(p)).collect();
    let jansen = design.indices(&y, 1000, seed + 1)?;
    let saltelli = design.indices_with(&y, 1000, seed + 1, FirstOrderEstimator::Saltelli2010)?;
    Ok(json!({
        "name": name,
        "base_rows": n,
        "dim": dim,
        "points": design.points(),
        "y": y,
        "indices": jansen,
        "first_order_saltelli2010": saltelli.iter().map(|s| s.first_order).collect::<Vec<_>>(),
        "first_order_saltelli2010_ci95": saltelli.iter().map(|s| s.first_order_ci95).collect::<Vec<_>>(),
    }))
}

fn morris_case(
    name: &str,
    f: fn(&[f64]) -> f64,
    r: usize,
    dim: usize,
    levels: usize,
    seed: u64,
) -> Result<Value, UqError> {
    let design = MorrisDesign::new(r, dim, levels, seed)?;
    let y: Vec<f64> = design.points().iter().map(|p| f(p)).collect();
    Ok(json!({
        "name": name,
        "trajectories": r,
        "dim": dim,
        "levels": levels,
        "delta": design.delta(),
        "points": design.points(),
        "y": y,
        "indices": design.indices(&y)?,
    }))
}

fn chain_case(name: &str, chains: Vec<Vec<f64>>) -> Result<Value, UqError> {
    Ok(json!({
        "name": name,
        "r_hat": split_rhat(&chains)?,
        "ess_bulk": ess_bulk(&chains)?,
        "ess_tail": ess_tail(&chains)?,
        "ess_mean": ess_mean(&chains)?,
        "chains": chains,
    }))
}

fn main() -> Result<(), UqError> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(17);
    let iid: Vec<Vec<f64>> = (0..4)
        .map(|_| (0..501).map(|_| StandardNormal.sample(&mut rng)).collect())
        .collect();
    let mut ar = iid.clone();
    for c in &mut ar {
        for i in 1..c.len() {
            c[i] += 0.8 * c[i - 1];
        }
    }
    let mut shifted = iid.clone();
    shifted[3].iter_mut().for_each(|x| *x += 1.5);
    // Ties: rounded draws.
    let rounded: Vec<Vec<f64>> = iid
        .iter()
        .map(|c| c.iter().map(|x| (x * 2.0).round()).collect())
        .collect();
    let banana = sample(
        |v: &[f64]| -0.5 * v[0] * v[0] - 0.5 * (v[1] - v[0] * v[0] + 1.0).powi(2),
        &[vec![0.0, 0.0], vec![1.0, -1.0], vec![-1.0, 1.0]],
        &McmcConfig {
            draws: 600,
            warmup: 400,
            seed: 5,
            ..Default::default()
        },
    )?;
    let out = json!({
        "saltelli": [
            saltelli_case("ishigami", ishigami, 1024, 3, 11)?,
            saltelli_case("g", g_function, 1024, 6, 12)?,
        ],
        "ishigami": {"a": ISHIGAMI.0, "b": ISHIGAMI.1},
        "g_a": G_A,
        "morris": [
            morris_case("ishigami", ishigami, 40, 3, 4, 13)?,
            morris_case("g", g_function, 40, 6, 6, 14)?,
        ],
        "chains": [
            chain_case("iid", iid)?,
            chain_case("ar1", ar)?,
            chain_case("shifted", shifted)?,
            chain_case("ties", rounded)?,
            chain_case("banana_x", banana.parameter(0))?,
            chain_case("banana_y", banana.parameter(1))?,
        ],
    });
    println!("{out}");
    Ok(())
}
