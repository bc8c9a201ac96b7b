//! Response benchmarks (criterion): `cargo bench -p exoskin-response`.
//! Figures are recorded in docs/benchmarks.md.

use criterion::{criterion_group, criterion_main, Criterion};
use exoskin_model::{parse_scenario, Scenario, TransportParams};
use exoskin_response::{respond, try_simulate_in_vivo, ResponseParams};

fn bench(c: &mut Criterion) {
    let tp = TransportParams::defaults();
    let rp = ResponseParams::defaults();
    let Scenario::InVivo(daily) = parse_scenario(
        include_str!("../../../scenarios/in_vivo_daily_12_weeks.toml"),
        "daily",
    )
    .unwrap() else {
        unreachable!()
    };
    let mut g = c.benchmark_group("response");
    g.sample_size(10);
    g.bench_function("in_vivo_12_weeks_with_response", |b| {
        b.iter(|| try_simulate_in_vivo(&daily, tp, rp).expect("the transport run"))
    });
    let sim = try_simulate_in_vivo(&daily, tp, rp).expect("the transport run");
    g.bench_function("respond_only_12_weeks", |b| {
        b.iter(|| respond(&daily, &sim.transport, None, None, 1.0, rp))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
