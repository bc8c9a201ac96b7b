//! Timing helper for the reference comparison (`scripts/bench_reference.sh`):
//! `cargo run --release -p exoskin-transport --example solve_timing -- SCENARIO [REPEATS]`
//! reads the scenario once, then times the transport solve alone (`simulate`: network
//! assembly, the time loop, the booked flows) REPEATS times (5) and prints the best and the
//! number of steps as one JSON line. Process start-up, parsing and output are excluded.
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: solve_timing SCENARIO [REPEATS]")?;
    let repeats: usize = match args.next() {
        Some(s) => s
            .parse()
            .map_err(|e| format!("REPEATS `{s}`: {e}; give a whole number of 1 or more"))?,
        None => 5,
    };
    if repeats == 0 {
        return Err("REPEATS must be 1 or more".into());
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let scenario = exoskin_model::parse_scenario(&text, &path)?;
    let p = exoskin_model::TransportParams::defaults();
    let mut best = f64::INFINITY;
    let mut steps = 0;
    for _ in 0..repeats {
        let t = Instant::now();
        let out = exoskin_transport::simulate(std::hint::black_box(&scenario), p)?
            .ok_or("the scenario has no transport part")?;
        best = best.min(t.elapsed().as_secs_f64());
        steps = out.run().steps;
    }
    println!("{{\"best_s\": {best:e}, \"repeats\": {repeats}, \"steps\": {steps}}}");
    Ok(())
}
