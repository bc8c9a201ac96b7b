//! Cost of one evaluation of the calibration's log-posterior (criterion):
//! `cargo bench -p exoskin-inference --bench calibration`. Figures in docs/benchmarks.md.
//!
//! `per_datum`: every calibration datum re-responded on its own (the evaluation before
//! grouping; the reading of the datum from the outcomes, a lookup, is left out);
//! `log_posterior`: the evaluation the fit and the MCMC use, moving between two points.
//! Both on the same prepared transport runs.

use criterion::{criterion_group, criterion_main, Criterion};
use exoskin_inference::evidence;
use exoskin_inference::posterior::LogPosterior;
use exoskin_model::TransportParams;
use exoskin_response::ResponseParams;
use rayon::prelude::*;

fn bench(c: &mut Criterion) {
    let tp = TransportParams::defaults();
    let rp = ResponseParams::priors().expect("data/response.toml");
    let cal = evidence::prepare("calibration", tp, &rp).expect("calibration set");
    let lp = LogPosterior::new(&cal).expect("priors");
    // A point a little off the prior medians, so nothing sits on a special value.
    let x: Vec<f64> = lp.prior_medians().iter().map(|m| m + 0.1).collect();
    let q = lp.point(&x).rp;
    let mut g = c.benchmark_group("calibration");
    g.sample_size(20);
    g.bench_function("per_datum", |b| {
        b.iter(|| {
            cal.par_iter()
                .map(|p| {
                    let o = p.sim.respond_with(&p.scenario, &q);
                    o.series.times_d.len()
                })
                .sum::<usize>()
        })
    });
    // Alternate between two points that differ in every parameter, as accepted MCMC moves
    // do, so a memo keyed on the parameters cannot serve a result it would not serve there.
    let y: Vec<f64> = x.iter().map(|v| v - 0.05).collect();
    let mut flip = false;
    g.bench_function("log_posterior", |b| {
        b.iter(|| {
            flip = !flip;
            lp.at(if flip { &x } else { &y })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
