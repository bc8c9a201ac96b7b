//! The response of an in-vivo scenario solved to tight tolerances, as JSON (states and
//! outcomes at the output times, and the shipped integrator's outcomes), for
//! scripts/check_sbml.py: `cargo run --release -p exoskin-sbml --example reference -- FILE`.

use exoskin_model::{read_scenario_file, Scenario, TransportParams};
use exoskin_response::{respond_reference, tissue, try_simulate_in_vivo, ResponseParams};
use serde_json::{json, Map, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: reference SCENARIO.toml")?;
    let Scenario::InVivo(v) = read_scenario_file(std::path::Path::new(&path))? else {
        return Err("not an in-vivo scenario".into());
    };
    let rp = ResponseParams::defaults();
    let sim = try_simulate_in_vivo(&v, TransportParams::defaults(), rp).expect("the transport run");
    let reference = respond_reference(&v, &sim, rp, 1e-12, 1e-14)?;
    let mut states = Map::new();
    for (i, name) in tissue::STATES.iter().enumerate() {
        states.insert(
            name.to_string(),
            reference
                .states
                .iter()
                .map(|x| x[i])
                .collect::<Vec<_>>()
                .into(),
        );
    }
    let series = |s: &tissue::Series| -> Value {
        s.named()
            .into_iter()
            .map(|(n, v)| (n.to_string(), Value::from(v.to_vec())))
            .collect::<Map<_, _>>()
            .into()
    };
    let doc = json!({
        "times_d": reference.series.times_d,
        "sessions_h": v.sessions_h,
        "states": states,
        "outputs": series(&reference.series),
        "shipped_outputs": series(&sim.outcomes.series),
        "steps": reference.steps,
    });
    println!("{doc}");
    Ok(())
}
