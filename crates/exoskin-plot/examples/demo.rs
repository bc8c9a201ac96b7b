//! Writes a demonstration figure: `cargo run -p exoskin-plot --example demo -- OUT.png`
//! (or `.svg`).

use exoskin_plot::{save, Chart, Histogram, Panel, Series, Style};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "demo.png".to_string());
    let t: Vec<f64> = (0..=96).map(|i| f64::from(i) * 0.5).collect();
    let model: Vec<f64> = t.iter().map(|h| 1.0 - (-h / 12.0).exp()).collect();
    let lower: Vec<f64> = model.iter().map(|a| a * 0.85).collect();
    let upper: Vec<f64> = model.iter().map(|a| (a * 1.15).min(1.1)).collect();
    let slow: Vec<f64> = t.iter().map(|h| 0.6 * (1.0 - (-h / 30.0).exp())).collect();
    let uptake = Chart::new(
        "Receptor uptake (Franz cell)",
        "time (h)",
        "fraction of dose",
    )
    .with_series(Series::new("microneedling", t.clone(), model).with_band(lower, upper))
    .with_series(Series::new("intact skin", t.clone(), slow))
    .with_series(
        Series::new(
            "measured",
            vec![2.0, 6.0, 12.0, 24.0, 36.0, 48.0],
            vec![0.12, 0.42, 0.6, 0.88, 0.93, 0.99],
        )
        .with_style(Style::Points),
    );
    let weeks: Vec<f64> = (0..=12).map(f64::from).collect();
    let change = Chart::new("Wrinkle depth vs baseline", "time (weeks)", "change (µm)")
        .with_series(
            Series::new(
                "exosome",
                weeks.clone(),
                weeks
                    .iter()
                    .map(|w| -0.9 * w + 0.3 * (w * 0.7).sin())
                    .collect(),
            )
            .with_style(Style::LinePoints),
        )
        .with_series(
            Series::new(
                "vehicle",
                weeks.clone(),
                weeks
                    .iter()
                    .map(|w| -0.2 * w + 0.4 * (w * 1.3).cos() - 0.4)
                    .collect(),
            )
            .with_style(Style::LinePoints),
        )
        .with_hline(0.0);
    // Deterministic pseudo-random samples.
    let mut state = 12345u64;
    let mut normal = move || {
        let mut s = 0.0;
        for _ in 0..12 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s += (state >> 11) as f64 / (1u64 << 53) as f64;
        }
        s - 6.0
    };
    let placebo: Vec<f64> = (0..300).map(|_| 2.0 * normal() - 1.0).collect();
    let active: Vec<f64> = (0..300).map(|_| 2.5 * normal() - 6.0).collect();
    let hist = Histogram::new("Change at week 12 per arm", "change in TEWL (g/m²/h)", 0)
        .with_group("placebo", placebo)
        .with_group("exosome serum", active);
    let flat = Chart::new("Constant series", "dose (µg/cm²)", "recovery").with_series(
        Series::new("recovery", vec![1.0, 2.0, 3.0], vec![0.98, 0.98, 0.98])
            .with_style(Style::LinePoints),
    );
    let panels = [
        Panel::from(uptake),
        Panel::from(change),
        Panel::from(hist),
        Panel::from(flat),
    ];
    save(std::path::Path::new(&out), &panels, 2)?;
    println!("wrote {out}");
    Ok(())
}
