//! Plots of a run: outcome curves (in vivo, cell culture) or the receptor curve (Franz cell).

use crate::bad_input;
use exoskin_plot::{save_titled, Chart, Panel, Series, Style};
use exoskin_response::Outcomes;
use exoskin_transport::Transport;
use std::path::Path;

fn line(name: &str, x: &[f64], y: &[f64]) -> Series {
    Series {
        name: name.into(),
        x: x.to_vec(),
        y: y.to_vec(),
        band: None,
        style: Style::Line,
    }
}

/// The 90 % band of an outcome series from an ensemble document (`outcomes.bands.<key>`).
fn band_of(
    bands: Option<&serde_json::Value>,
    key: &str,
    len: usize,
) -> Option<(Vec<f64>, Vec<f64>)> {
    let b = bands?.get(key)?;
    let arr = |k: &str| -> Option<Vec<f64>> {
        b.get(k)?.as_array()?.iter().map(|v| v.as_f64()).collect()
    };
    let (lo, hi) = (arr("p05")?, arr("p95")?);
    (lo.len() == len && hi.len() == len).then_some((lo, hi))
}

/// A figure's title: the experiment's or trial's name, or the file's stem when it has none.
pub fn figure_title(name: &str, file: Option<&Path>) -> String {
    if !name.trim().is_empty() {
        return name.trim().to_string();
    }
    file.and_then(|f| f.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "exoskin".into())
}

/// Draw the outcome curves (or the Franz receptor curve) to `path` (.png or .svg), with
/// `title` above the panels.
pub fn outcomes_plot(
    path: &Path,
    title: &str,
    o: Option<&Outcomes>,
    t: Option<&Transport>,
    bands: Option<&serde_json::Value>,
    effect: Option<&exoskin_inference::effect::Effect>,
) -> anyhow::Result<()> {
    let mut panels = Vec::new();
    if let Some(e) = effect {
        // What the vesicles add first: the median difference with its 90 % band.
        let series: Vec<Series> = [
            ("collagen_pct", "collagen"),
            ("elasticity_pct", "elasticity"),
            ("wrinkle_pct", "wrinkle depth"),
            ("pore_area_pct", "pore area"),
        ]
        .iter()
        .filter_map(|(k, label)| {
            let b = e.outcomes.get(*k)?;
            let mut s = line(&format!("{label} (median, 90 % band)"), &e.times_d, &b.p50);
            s.band = Some((b.p05.clone(), b.p95.clone()));
            Some(s)
        })
        .collect();
        if !series.is_empty() {
            panels.push(Panel::Chart(Chart {
                title: "What the vesicles add over the vehicle".into(),
                x_label: "time (d)".into(),
                y_label: "vesicle minus vehicle (percentage points)".into(),
                series,
                hline: Some(0.0),
            }));
        }
    }
    if let Some(o) = o {
        let x = &o.series;
        let d = &x.times_d;
        let banded = |name: &str, d: &[f64], y: &[f64], key: &str| {
            let mut s = line(name, d, y);
            s.band = band_of(bands, key, y.len());
            s
        };
        let pct_chart = |title: &str, y_label: &str, series: Vec<Series>| {
            Panel::Chart(Chart {
                title: title.into(),
                x_label: "time (d)".into(),
                y_label: y_label.into(),
                series,
                hline: Some(0.0),
            })
        };
        if x.collagen_pct.is_empty() {
            panels.push(pct_chart(
                "Inflammatory cytokines",
                "change vs stimulated control (%)",
                vec![banded("cytokines", d, &x.cytokines_pct, "cytokines_pct")],
            ));
        } else {
            let change = "change from baseline (%)";
            panels.push(pct_chart(
                "Inflammation and redness",
                change,
                vec![
                    banded("cytokines", d, &x.cytokines_pct, "cytokines_pct"),
                    banded("erythema", d, &x.erythema_pct, "erythema_pct"),
                    banded("melanin", d, &x.melanin_pct, "melanin_pct"),
                ],
            ));
            panels.push(pct_chart(
                "Barrier and hydration",
                change,
                vec![
                    banded("TEWL", d, &x.tewl_pct, "tewl_pct"),
                    banded("hydration", d, &x.hydration_pct, "hydration_pct"),
                ],
            ));
            panels.push(pct_chart(
                "Dermal matrix",
                change,
                vec![
                    banded("collagen", d, &x.collagen_pct, "collagen_pct"),
                    banded("elastin expression", d, &x.elastin_pct, "elastin_pct"),
                    banded(
                        "elastic fibres",
                        d,
                        &x.elastic_fibre_pct,
                        "elastic_fibre_pct",
                    ),
                ],
            ));
            panels.push(pct_chart(
                "What shows",
                change,
                vec![
                    banded("wrinkle depth", d, &x.wrinkle_pct, "wrinkle_pct"),
                    banded("elasticity", d, &x.elasticity_pct, "elasticity_pct"),
                    banded("pore area", d, &x.pore_area_pct, "pore_area_pct"),
                ],
            ));
        }
    } else if let Some(Transport::Franz(f)) = t {
        let r = &f.run;
        panels.push(Panel::Chart(Chart {
            title: "Receptor fluid".into(),
            x_label: "time (h)".into(),
            y_label: "cumulative vesicles per cm²".into(),
            series: vec![line("receptor", &r.times_h, &r.drained_per_cm2)],
            hline: None,
        }));
    }
    if panels.is_empty() {
        return Err(bad_input("nothing to plot for this scenario"));
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext != "png" && ext != "svg" {
        return Err(bad_input(format!(
            "--plot {}: use a file name ending in .png or .svg",
            path.display()
        )));
    }
    save_titled(path, title, &panels, panels.len().min(2))
        .map_err(|e| anyhow::anyhow!("drawing {}: {e}", path.display()))
}
