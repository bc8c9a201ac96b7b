//! Transport benchmarks (criterion): `cargo bench -p exoskin-transport`.
//! Figures are recorded in docs/benchmarks.md.

use criterion::{criterion_group, criterion_main, Criterion};
use exoskin_model::{parse_scenario, TransportParams};
use exoskin_transport::simulate;

fn bench(c: &mut Criterion) {
    let p = TransportParams::defaults();
    let daily = parse_scenario(
        include_str!("../../../scenarios/in_vivo_daily_12_weeks.toml"),
        "daily",
    )
    .unwrap();
    let needling = parse_scenario(
        include_str!("../../../scenarios/in_vivo_microneedling.toml"),
        "mn",
    )
    .unwrap();
    let franz = parse_scenario(
        include_str!("../../../scenarios/franz_cell_multilayer.toml"),
        "franz",
    )
    .unwrap();
    let mut g = c.benchmark_group("transport");
    g.sample_size(10);
    g.bench_function("in_vivo_1d_12_weeks_daily", |b| {
        b.iter(|| simulate(&daily, p).unwrap().expect("transport"))
    });
    g.bench_function("in_vivo_axisymmetric_microneedling_48h", |b| {
        b.iter(|| simulate(&needling, p).unwrap().expect("transport"))
    });
    g.bench_function("franz_3_layers_72h", |b| {
        b.iter(|| simulate(&franz, p).unwrap().expect("transport"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
