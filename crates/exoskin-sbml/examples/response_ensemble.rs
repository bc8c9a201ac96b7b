//! An ensemble of the response ODEs of one in-vivo scenario, timed on one thread: the
//! exoskin side of scripts/bench_sbml.py (exoskin against libroadrunner on the exported SBML).
//!
//! `cargo run --release -p exoskin-sbml --example response_ensemble -- SCENARIO.toml MEMBERS
//! [SEED] [RTOL_LOOSE ATOL_LOOSE RTOL_TIGHT ATOL_TIGHT]`
//!
//! The transport runs once (with its wound and channel curves), untimed, as the exported SBML
//! holds them. Then each member multiplies the time constants of [`VARIED`] by factors
//! `exp(0.2 (2u - 1))`, u uniform in [0, 1) from splitmix64 seeded with SEED (the generator
//! scripts/bench_sbml.py reproduces, so both sides solve the same members), and is solved
//! with transport, wound and channel held fixed, by the shipped fixed-step integrator
//! ([`exoskin_response::respond`]) and by the adaptive Dormand-Prince reference
//! ([`exoskin_response::respond_reference`]) at two tolerance pairs (defaults: CVODE's
//! default 1e-6/1e-12 in libroadrunner, and the 1e-10/1e-12 of scripts/check_sbml.py).
//! Prints one JSON object: per integrator `{members, seconds, sims_per_s}`, the output times,
//! the factors of the first and last member and their final outcomes (for the cross-check).

use exoskin_model::{read_scenario_file, Scenario, TransportParams};
use exoskin_response::{respond, respond_reference, try_simulate_in_vivo, ResponseParams};
use serde_json::{json, Map, Value};
use std::time::Instant;

/// The response parameters varied per member (time constants the SBML file reads directly).
const VARIED: [&str; 5] = [
    "cytokine_time_constant_d",
    "erythema_time_constant_d",
    "hydration_time_constant_d",
    "collagen_time_constant_d",
    "melanin_time_constant_d",
];

/// splitmix64: a tiny generator both sides of the benchmark implement identically.
struct SplitMix(u64);

impl SplitMix {
    fn next_u01(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Final value of every outcome series.
fn finals(s: &exoskin_response::tissue::Series) -> Value {
    s.named()
        .into_iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                Value::from(v.last().copied().unwrap_or(f64::NAN)),
            )
        })
        .collect::<Map<_, _>>()
        .into()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: response_ensemble SCENARIO.toml MEMBERS [SEED] [RTOL_LOOSE ATOL_LOOSE RTOL_TIGHT ATOL_TIGHT]";
    let path = args.first().ok_or(usage)?;
    let members: usize = args.get(1).ok_or(usage)?.parse()?;
    if members == 0 {
        return Err("MEMBERS must be at least 1".into());
    }
    let seed: u64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let tol: Vec<f64> = args[3.min(args.len())..]
        .iter()
        .map(|s| s.parse())
        .collect::<Result<_, _>>()?;
    let tol = match tol.len() {
        0 => vec![1e-6, 1e-12, 1e-10, 1e-12],
        4 => tol,
        _ => return Err(usage.into()),
    };
    let Scenario::InVivo(v) = read_scenario_file(std::path::Path::new(path))? else {
        return Err("not an in-vivo scenario".into());
    };
    let base = ResponseParams::defaults();
    let sim =
        try_simulate_in_vivo(&v, TransportParams::defaults(), base).expect("the transport run");

    let mut rng = SplitMix(seed);
    let mut factors = Vec::with_capacity(members);
    let mut params = Vec::with_capacity(members);
    for _ in 0..members {
        let f: Vec<f64> = VARIED
            .iter()
            .map(|_| (0.2 * (2.0 * rng.next_u01() - 1.0)).exp())
            .collect();
        let mut rp = base.clone();
        for (name, k) in VARIED.iter().zip(&f) {
            rp.set(name, base.value(name)? * k)?;
        }
        factors.push(f);
        params.push(rp);
    }

    let mut runs = Map::new();
    let mut check = Map::new();
    let record = |runs: &mut Map<String, Value>, name: &str, seconds: f64| {
        runs.insert(
            name.to_string(),
            json!({"members": members, "seconds": seconds, "sims_per_s": members as f64 / seconds}),
        );
    };

    let start = Instant::now();
    let mut shipped = Vec::with_capacity(members);
    for rp in &params {
        let out = respond(
            &v,
            &sim.transport,
            sim.wound.as_ref(),
            sim.channel.as_ref(),
            1.0,
            rp,
        );
        shipped.push(out.series);
    }
    record(&mut runs, "shipped", start.elapsed().as_secs_f64());
    check.insert(
        "shipped".into(),
        json!([finals(&shipped[0]), finals(&shipped[members - 1])]),
    );

    let mut times_d = Vec::new();
    for (label, rtol, atol) in [("loose", tol[0], tol[1]), ("tight", tol[2], tol[3])] {
        let start = Instant::now();
        let mut series = Vec::with_capacity(members);
        let mut steps = 0;
        for rp in &params {
            let r = respond_reference(&v, &sim, rp, rtol, atol)?;
            steps += r.steps;
            series.push(r.series);
        }
        let name = format!("reference_{label}");
        record(&mut runs, &name, start.elapsed().as_secs_f64());
        if let Some(Value::Object(o)) = runs.get_mut(&name) {
            o.insert("rtol".into(), rtol.into());
            o.insert("atol".into(), atol.into());
            o.insert("mean_steps".into(), (steps as f64 / members as f64).into());
        }
        check.insert(
            name,
            json!([finals(&series[0]), finals(&series[members - 1])]),
        );
        times_d.clone_from(&series[0].times_d);
    }

    let doc = json!({
        "scenario": path,
        "seed": seed,
        "varied": VARIED,
        "factors_first_last": [factors[0], factors[members - 1]],
        "times_d": times_d,
        "runs": runs,
        "finals_first_last": check,
    });
    println!("{doc}");
    Ok(())
}
