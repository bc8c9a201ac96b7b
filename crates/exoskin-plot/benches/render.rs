//! Rendering time of a four-panel figure (lines with a band, points, histogram) to PNG and
//! SVG, text included.

use criterion::{criterion_group, criterion_main, Criterion};
use exoskin_plot::{render_png, render_svg, Chart, Histogram, Panel, Series, Style};
use std::hint::black_box;

fn figure() -> Vec<Panel> {
    let t: Vec<f64> = (0..=480).map(|i| f64::from(i) * 0.1).collect();
    let y: Vec<f64> = t.iter().map(|h| 1.0 - (-h / 12.0).exp()).collect();
    let lo: Vec<f64> = y.iter().map(|v| v * 0.9).collect();
    let hi: Vec<f64> = y.iter().map(|v| v * 1.1).collect();
    let uptake = Chart::new("Receptor uptake", "time (h)", "fraction of dose")
        .with_series(Series::new("model", t.clone(), y.clone()).with_band(lo, hi))
        .with_series(Series::new(
            "slow",
            t.clone(),
            y.iter().map(|v| v * 0.5).collect(),
        ));
    let points = Chart::new("Wrinkle depth", "time (weeks)", "change (µm)").with_series(
        Series::new(
            "exosome",
            (0..13).map(f64::from).collect(),
            (0..13).map(|w| -0.8 * f64::from(w)).collect(),
        )
        .with_style(Style::LinePoints),
    );
    let a: Vec<f64> = (0..400).map(|i| f64::from(i % 37) * 0.3 - 6.0).collect();
    let b: Vec<f64> = (0..400).map(|i| f64::from(i % 23) * 0.4 - 9.0).collect();
    let hist = Histogram::new("Change at week 12", "change in TEWL (g/m²/h)", 0)
        .with_group("placebo", a)
        .with_group("exosome", b);
    vec![
        Panel::from(uptake),
        Panel::from(points),
        Panel::from(hist.clone()),
        Panel::from(hist),
    ]
}

fn bench(c: &mut Criterion) {
    let panels = figure();
    c.bench_function("render_png 2x2 panels 640x420", |b| {
        b.iter(|| render_png(black_box(&panels), 2, 640, 420).unwrap())
    });
    c.bench_function("render_svg 2x2 panels 640x420", |b| {
        b.iter(|| render_svg(black_box(&panels), 2, 640, 420).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
