//! The face map: one EV product (or a routine's EV serum) run on every facial zone, each a
//! site of `data/skin_sites.toml`, and drawn as a map of predicted delivery and outcome.
//!
//! Each zone's numbers come from an ordinary single-site `in_vivo` scenario (its text is in
//! the output), so `exoskin simulate` on that text gives the same numbers.

use crate::predict::{at_weeks, RunSpec, REPORT_WEEKS};
use crate::RoutineError;
use exoskin_model::params::sites;
use exoskin_plot::{Drawing, Rgb, TextAnchor, TextSpec};
use serde::Serialize;
use std::collections::BTreeMap;

/// Facial zones, in drawing order (each is a site of `data/skin_sites.toml`).
pub const ZONES: &[&str] = &[
    "neck",
    "forehead",
    "cheek",
    "periorbital",
    "nose",
    "perioral",
    "chin",
];
/// The T-zone (forehead, nose, chin), compared with the cheeks.
pub const T_ZONE: &[&str] = &["forehead", "nose", "chin"];

/// One zone's result.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ZoneResult {
    pub zone: String,
    pub sc_thickness_um: f64,
    pub ve_thickness_um: f64,
    pub follicles_per_cm2: f64,
    pub follicle_orifice_fraction: f64,
    /// Fraction of applied vesicles that reached the dermis over the run, %.
    pub reached_dermis_pct: f64,
    /// outcome -> [week 2, 4, 12], % change from baseline.
    pub outcomes: BTreeMap<String, Vec<f64>>,
    pub source: String,
    pub scenario_toml: String,
}

/// The face map's numbers.
#[derive(Debug, Clone, Serialize)]
pub struct FaceMap {
    pub product: String,
    pub weeks: Vec<u32>,
    pub zones: Vec<ZoneResult>,
    /// Mean over the T-zone and the cheek value: delivery %, collagen % at week 12.
    pub t_zone_vs_cheek: TZone,
    pub notes: Vec<String>,
}

/// "T-zone vs cheeks" in numbers.
#[derive(Debug, Clone, Serialize)]
pub struct TZone {
    pub t_zone_reached_dermis_pct: f64,
    pub cheek_reached_dermis_pct: f64,
    pub t_zone_collagen_pct_week12: f64,
    pub cheek_collagen_pct_week12: f64,
}

/// Run `base` on every zone.
pub fn run(base: &RunSpec, notes: Vec<String>) -> Result<FaceMap, RoutineError> {
    let all = sites();
    let product = base
        .name
        .trim_end_matches(&format!(" on {}", base.site))
        .to_string();
    let specs: Vec<RunSpec> = ZONES
        .iter()
        .map(|z| RunSpec {
            name: format!("{product} on {z}"),
            site: z.to_string(),
            ..base.clone()
        })
        .collect();
    let results: Vec<Result<ZoneResult, RoutineError>> = std::thread::scope(|s| {
        let hs: Vec<_> = specs
            .iter()
            .map(|sp| {
                s.spawn(move || {
                    let sim = sp.run()?;
                    let site = &all[&sp.site];
                    Ok(ZoneResult {
                        zone: sp.site.clone(),
                        sc_thickness_um: site.sc_thickness_um,
                        ve_thickness_um: site.ve_thickness_um,
                        follicles_per_cm2: site.follicles_per_cm2,
                        follicle_orifice_fraction: site.follicle_orifice_fraction,
                        reached_dermis_pct: 100.0 * sim.transport.reached_dermis_fraction,
                        outcomes: at_weeks(&sim, &REPORT_WEEKS),
                        source: site.source.clone(),
                        scenario_toml: sp.scenario_toml(),
                    })
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("a zone simulation panicked"))
            .collect()
    });
    let zones = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    let get = |z: &str| zones.iter().find(|r| r.zone == z).expect("every zone ran");
    let collagen12 = |r: &ZoneResult| r.outcomes.get("collagen_pct").map_or(0.0, |v| v[2]);
    let n = T_ZONE.len() as f64;
    let t_zone_vs_cheek = TZone {
        t_zone_reached_dermis_pct: T_ZONE
            .iter()
            .map(|z| get(z).reached_dermis_pct)
            .sum::<f64>()
            / n,
        cheek_reached_dermis_pct: get("cheek").reached_dermis_pct,
        t_zone_collagen_pct_week12: T_ZONE.iter().map(|z| collagen12(get(z))).sum::<f64>() / n,
        cheek_collagen_pct_week12: collagen12(get("cheek")),
    };
    Ok(FaceMap {
        product,
        weeks: REPORT_WEEKS.to_vec(),
        zones,
        t_zone_vs_cheek,
        notes,
    })
}

/// Viridis-like colour scale (5 stops of matplotlib's viridis), t in [0, 1].
pub fn colour(t: f64) -> Rgb {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * 4.0;
    let i = (x.floor() as usize).min(3);
    let f = x - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |p: f64, q: f64| (p + (q - p) * f).round() as u8;
    Rgb(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn ellipse(cx: f64, cy: f64, rx: f64, ry: f64) -> Vec<(f64, f64)> {
    (0..48)
        .map(|k| {
            let a = k as f64 / 48.0 * std::f64::consts::TAU;
            (cx + rx * a.cos(), cy + ry * a.sin())
        })
        .collect()
}

/// A polygon's corners, px.
type Shape = Vec<(f64, f64)>;

/// Zone shapes and label anchors on a 640 x 720 canvas (one or two shapes per zone).
fn shapes(zone: &str) -> (Vec<Shape>, (f64, f64)) {
    match zone {
        "neck" => (
            vec![vec![
                (240.0, 560.0),
                (400.0, 560.0),
                (410.0, 690.0),
                (230.0, 690.0),
            ]],
            (320.0, 640.0),
        ),
        "forehead" => (
            vec![vec![
                (190.0, 200.0),
                (200.0, 140.0),
                (250.0, 100.0),
                (320.0, 88.0),
                (390.0, 100.0),
                (440.0, 140.0),
                (450.0, 200.0),
            ]],
            (320.0, 140.0),
        ),
        "cheek" => (
            vec![
                vec![
                    (180.0, 270.0),
                    (270.0, 270.0),
                    (285.0, 400.0),
                    (255.0, 450.0),
                    (200.0, 420.0),
                    (180.0, 340.0),
                ],
                vec![
                    (460.0, 270.0),
                    (370.0, 270.0),
                    (355.0, 400.0),
                    (385.0, 450.0),
                    (440.0, 420.0),
                    (460.0, 340.0),
                ],
            ],
            (222.0, 350.0),
        ),
        "periorbital" => (
            vec![
                ellipse(255.0, 235.0, 48.0, 26.0),
                ellipse(385.0, 235.0, 48.0, 26.0),
            ],
            (255.0, 228.0),
        ),
        "nose" => (
            vec![vec![
                (300.0, 205.0),
                (340.0, 205.0),
                (350.0, 330.0),
                (368.0, 370.0),
                (272.0, 370.0),
                (290.0, 330.0),
            ]],
            (320.0, 300.0),
        ),
        "perioral" => (vec![ellipse(320.0, 420.0, 62.0, 36.0)], (320.0, 412.0)),
        _ => (
            vec![vec![
                (260.0, 465.0),
                (380.0, 465.0),
                (370.0, 520.0),
                (320.0, 540.0),
                (270.0, 520.0),
            ]],
            (320.0, 490.0),
        ),
    }
}

/// Draw the map: colour = dermal delivery (% of applied vesicles); each zone's label gives
/// delivery and the collagen change at week 12.
pub fn draw(map: &FaceMap) -> Result<Drawing, RoutineError> {
    let mut d = Drawing::new(640, 760);
    let ink = Rgb(34, 34, 34);
    let spec = |size: f64, bold: bool, color: Rgb, anchor: TextAnchor| TextSpec {
        size,
        bold,
        color,
        anchor,
    };
    let mid = TextAnchor::Middle;
    let start = TextAnchor::Start;
    d.text(
        320.0,
        10.0,
        "Predicted dermal delivery by facial zone",
        spec(18.0, true, ink, mid),
    )?;
    d.text(
        320.0,
        36.0,
        map.product.clone(),
        spec(12.0, false, ink, mid),
    )?;
    let lo = map
        .zones
        .iter()
        .map(|z| z.reached_dermis_pct)
        .fold(f64::INFINITY, f64::min);
    let hi = map
        .zones
        .iter()
        .map(|z| z.reached_dermis_pct)
        .fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    // Face outline.
    d.polygon(ellipse(320.0, 310.0, 165.0, 240.0), Rgb(238, 226, 214))?;
    for z in &map.zones {
        let (polys, (lx, ly)) = shapes(&z.zone);
        let t = (z.reached_dermis_pct - lo) / span;
        for p in polys {
            d.polygon(p, colour(t))?;
        }
        let tc = if t > 0.6 { ink } else { Rgb(255, 255, 255) };
        let col = z.outcomes.get("collagen_pct").map_or(0.0, |v| v[2]);
        d.text(lx, ly - 12.0, z.zone.clone(), spec(11.0, true, tc, mid))?;
        d.text(
            lx,
            ly + 2.0,
            format!("{:.3} %", z.reached_dermis_pct),
            spec(11.0, false, tc, mid),
        )?;
        d.text(
            lx,
            ly + 15.0,
            format!("coll. {col:+.1} %"),
            spec(10.0, false, tc, mid),
        )?;
    }
    // Legend: a colour bar with its ends.
    let (x0, y0, w, h) = (500.0, 560.0, 24.0, 150.0);
    for k in 0..50 {
        let t = k as f64 / 49.0;
        let y = y0 + h * (1.0 - t);
        d.rect((x0, y - h / 50.0), (x0 + w, y + 0.5), colour(t), None)?;
    }
    d.text(
        x0 + w + 6.0,
        y0 - 6.0,
        format!("{hi:.3} %"),
        spec(11.0, false, ink, start),
    )?;
    d.text(
        x0 + w + 6.0,
        y0 + h - 8.0,
        format!("{lo:.3} %"),
        spec(11.0, false, ink, start),
    )?;
    d.text(
        x0 - 10.0,
        y0 - 26.0,
        "reached dermis",
        spec(11.0, true, ink, start),
    )?;
    let t = &map.t_zone_vs_cheek;
    let line1 = format!(
        "T-zone (forehead, nose, chin): {:.3} % delivered, collagen {:+.1} % at week 12",
        t.t_zone_reached_dermis_pct, t.t_zone_collagen_pct_week12
    );
    let line2 = format!(
        "Cheek: {:.3} % delivered, collagen {:+.1} % at week 12 (point predictions, no bands yet)",
        t.cheek_reached_dermis_pct, t.cheek_collagen_pct_week12
    );
    d.text(20.0, 720.0, line1, spec(11.0, false, ink, start))?;
    d.text(20.0, 736.0, line2, spec(11.0, false, ink, start))?;
    Ok(d)
}

/// The face map as text.
pub fn to_text(map: &FaceMap) -> String {
    use std::fmt::Write as _;
    let mut out = format!("Face map: {}\n", map.product);
    let _ = writeln!(
        out,
        "{:<12} {:>8} {:>10} {:>10} {:>14} {:>14}",
        "zone", "SC um", "foll/cm2", "orifice %", "dermis %", "collagen wk12"
    );
    for z in &map.zones {
        let _ = writeln!(
            out,
            "{:<12} {:>8.1} {:>10.0} {:>10.2} {:>14.4} {:>+14.2}",
            z.zone,
            z.sc_thickness_um,
            z.follicles_per_cm2,
            100.0 * z.follicle_orifice_fraction,
            z.reached_dermis_pct,
            z.outcomes.get("collagen_pct").map_or(0.0, |v| v[2])
        );
    }
    let t = &map.t_zone_vs_cheek;
    let _ = writeln!(
        out,
        "T-zone vs cheek: {:.4} % vs {:.4} % reached the dermis; collagen {:+.2} % vs {:+.2} % at week 12",
        t.t_zone_reached_dermis_pct, t.cheek_reached_dermis_pct, t.t_zone_collagen_pct_week12, t.cheek_collagen_pct_week12
    );
    for n in &map.notes {
        let _ = writeln!(out, "note: {n}");
    }
    out.push_str("Point predictions: uncertainty bands are not available yet.\n");
    out
}
