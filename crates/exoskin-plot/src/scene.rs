//! From a panel to a list of drawing primitives in panel-local pixel coordinates. The PNG
//! rasterizer and the SVG writer both draw the same list, so the two outputs agree.

use crate::font::{fit_text, metrics, text_width, Weight};
use crate::ticks::{format_ticks, nice_step, ticks_with, Placement};
use crate::typeset::typeset_number;
use crate::{
    series_color, Chart, Forest, Histogram, Layout, Panel, PlotError, Rgb, Style, MAX_ABS_VALUE,
};

/// Blank border around a panel, px.
const PAD: f64 = 8.0;
/// Length of a tick mark, px.
const TICK_LEN: f64 = 4.0;
/// Gap between a tick mark and its label, px.
const TICK_GAP: f64 = 3.0;
/// Smallest plot area (inside the axes) that is still drawn, px.
const MIN_PLOT_W: f64 = 40.0;
const MIN_PLOT_H: f64 = 30.0;
/// Fraction of the data range added on each side of a chart's axes.
const RANGE_PAD: f64 = 0.04;
/// Width of series lines, px.
const SERIES_LINE_W: f64 = 2.0;
/// Radius of point markers, px.
const MARKER_R: f64 = 3.0;
/// Font sizes (em, px): tick labels, axis labels, panel titles (bold), legend entries, and
/// the figure's title (bold).
const TICK_FONT: f64 = 11.0;
const LABEL_FONT: f64 = 12.0;
const TITLE_FONT: f64 = 13.0;
const LEGEND_FONT: f64 = 11.0;
pub(crate) const FIGURE_TITLE_FONT: f64 = 15.0;
/// Height of capitals and digits in Noto Sans, em (its OS/2 cap height, 714/1000): text is
/// centred on a tick or a legend swatch by this height, not by the line's.
const CAP_HEIGHT_EM: f64 = 0.714;
/// Opacity of confidence bands and histogram bars.
const BAND_OPACITY: f64 = 0.22;
const BAR_OPACITY: f64 = 0.30;

pub(crate) const BACKGROUND: Rgb = Rgb(255, 255, 255);
const INK: Rgb = Rgb(34, 34, 34);
const AXIS: Rgb = Rgb(68, 68, 68);
const GRID: Rgb = Rgb(228, 228, 228);
const REFERENCE: Rgb = Rgb(90, 90, 90);
const LEGEND_EDGE: Rgb = Rgb(160, 160, 160);

/// What an element is, for SVG class names (and so tests can find series).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Grid,
    Axis,
    Reference,
    Band,
    Series,
    Legend,
}

impl Role {
    pub(crate) fn class(self) -> &'static str {
        match self {
            Role::Grid => "grid",
            Role::Axis => "axis",
            Role::Reference => "reference",
            Role::Band => "band",
            Role::Series => "series",
            Role::Legend => "legend",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    Start,
    Middle,
    End,
}

#[derive(Debug, Clone)]
pub(crate) enum Prim {
    /// An open polyline.
    Line {
        pts: Vec<(f64, f64)>,
        color: Rgb,
        width: f64,
        /// (on, off) lengths in px.
        dash: Option<(f64, f64)>,
        role: Role,
    },
    /// A filled polygon (even-odd), no outline.
    Polygon {
        pts: Vec<(f64, f64)>,
        color: Rgb,
        opacity: f64,
        role: Role,
    },
    /// An axis-aligned rectangle, optionally filled and/or outlined (1 px).
    Rect {
        x0: f64,
        y0: f64,
        x1: f64,
        y1: f64,
        fill: Option<(Rgb, f64)>,
        stroke: Option<Rgb>,
        role: Role,
    },
    /// Filled discs.
    Markers {
        pts: Vec<(f64, f64)>,
        color: Rgb,
        radius: f64,
        role: Role,
    },
    /// Text; `y` is the top of the text box (horizontal) or the middle of it (vertical, read
    /// bottom to top, with `x` its left edge).
    Text {
        x: f64,
        y: f64,
        text: String,
        style: TextStyle,
    },
}

/// How a text is drawn: size (em, px) and weight, colour, which point of it `x` is, and
/// direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TextStyle {
    pub(crate) size: f64,
    pub(crate) weight: Weight,
    pub(crate) color: Rgb,
    pub(crate) anchor: Anchor,
    pub(crate) vertical: bool,
}

/// Horizontal text in the ink colour; `y` is the top of its box.
pub(crate) fn ink_text(
    x: f64,
    y: f64,
    text: String,
    size: f64,
    weight: Weight,
    anchor: Anchor,
) -> Prim {
    Prim::Text {
        x,
        y,
        text,
        style: TextStyle {
            size,
            weight,
            color: INK,
            anchor,
            vertical: false,
        },
    }
}

/// Horizontal regular text whose capitals and digits are centred on the line `cy`.
fn centred_text(x: f64, cy: f64, text: String, size: f64, anchor: Anchor) -> Prim {
    let top = cy + CAP_HEIGHT_EM * size / 2.0 - metrics(size, Weight::Regular).ascent;
    ink_text(x, top.round(), text, size, Weight::Regular, anchor)
}

/// Height of a line of regular text at `size`, px.
fn line_h(size: f64) -> f64 {
    metrics(size, Weight::Regular).line_height()
}

/// The drawing of one panel.
pub(crate) struct Scene {
    pub(crate) prims: Vec<Prim>,
}

/// A closed interval of values (low, high).
type Range = (f64, f64);

/// Range of finite values, `None` when empty.
fn extend(range: &mut Option<(f64, f64)>, v: f64) {
    *range = Some(match *range {
        None => (v, v),
        Some((lo, hi)) => (lo.min(v), hi.max(v)),
    });
}

/// A range wide enough to draw: a single value (or values too close to tell apart) becomes a
/// range around it.
fn widen_degenerate(lo: f64, hi: f64) -> (f64, f64) {
    let span = hi - lo;
    let scale = lo.abs().max(hi.abs());
    if span > 1e-200 && span > scale * 1e-12 {
        return (lo, hi);
    }
    let centre = lo / 2.0 + hi / 2.0;
    let half = if centre.abs() > 1e-200 {
        centre.abs() * 0.1
    } else {
        1.0
    };
    (centre - half, centre + half)
}

fn pad_range(lo: f64, hi: f64, fraction: f64) -> (f64, f64) {
    let (lo, hi) = widen_degenerate(lo, hi);
    let pad = (hi - lo) * fraction;
    (lo - pad, hi + pad)
}

/// Checks a list of values: all finite and not absurdly large.
fn check_values(
    panel: usize,
    series: &str,
    field: &'static str,
    v: &[f64],
) -> Result<(), PlotError> {
    for (index, &value) in v.iter().enumerate() {
        check_value(panel, series, field, index, value)?;
    }
    Ok(())
}

/// Checks one value: finite and not absurdly large.
fn check_value(
    panel: usize,
    series: &str,
    field: &'static str,
    index: usize,
    value: f64,
) -> Result<(), PlotError> {
    if !value.is_finite() {
        return Err(PlotError::NonFinite {
            panel,
            series: series.to_string(),
            field,
            index,
            value,
        });
    }
    if value.abs() > MAX_ABS_VALUE {
        return Err(PlotError::OutOfRange {
            panel,
            series: series.to_string(),
            field,
            index,
            value,
        });
    }
    Ok(())
}

fn check_len(
    panel: usize,
    series: &str,
    field: &'static str,
    expected: usize,
    found: usize,
) -> Result<(), PlotError> {
    if expected != found {
        return Err(PlotError::LengthMismatch {
            panel,
            series: series.to_string(),
            field,
            expected,
            found,
        });
    }
    Ok(())
}

/// Validates a chart and returns its data ranges (x, y).
fn chart_ranges(panel: usize, chart: &Chart) -> Result<(Range, Range), PlotError> {
    if chart.series.is_empty() {
        return Err(PlotError::NoData { panel });
    }
    let mut xr = None;
    let mut yr = None;
    for s in &chart.series {
        let name = s.name.as_str();
        if s.x.is_empty() && s.y.is_empty() {
            return Err(PlotError::EmptySeries {
                panel,
                series: name.to_string(),
            });
        }
        check_len(panel, name, "y", s.x.len(), s.y.len())?;
        check_values(panel, name, "x", &s.x)?;
        check_values(panel, name, "y", &s.y)?;
        if let Some((lower, upper)) = &s.band {
            check_len(panel, name, "band lower", s.x.len(), lower.len())?;
            check_len(panel, name, "band upper", s.x.len(), upper.len())?;
            check_values(panel, name, "band lower", lower)?;
            check_values(panel, name, "band upper", upper)?;
            for &v in lower.iter().chain(upper) {
                extend(&mut yr, v);
            }
        }
        for &v in &s.x {
            extend(&mut xr, v);
        }
        for &v in &s.y {
            extend(&mut yr, v);
        }
    }
    if let Some(h) = chart.hline {
        if !h.is_finite() || h.abs() > MAX_ABS_VALUE {
            return Err(PlotError::BadReferenceLine { panel, value: h });
        }
        extend(&mut yr, h);
    }
    match (xr, yr) {
        (Some(x), Some(y)) => Ok((x, y)),
        _ => Err(PlotError::NoData { panel }),
    }
}

/// Validates a histogram and returns its value range.
fn histogram_range(panel: usize, h: &Histogram) -> Result<(f64, f64), PlotError> {
    if h.groups.is_empty() {
        return Err(PlotError::NoData { panel });
    }
    let mut r = None;
    for (name, values) in &h.groups {
        if values.is_empty() {
            return Err(PlotError::EmptySeries {
                panel,
                series: name.clone(),
            });
        }
        check_values(panel, name, "values", values)?;
        for &v in values {
            extend(&mut r, v);
        }
    }
    r.ok_or(PlotError::NoData { panel })
}

/// The bin edges every group of a histogram is counted in (ascending, at least 2): as many
/// equal bins as asked over the range of all values, or for `bins == 0` about Sturges' number
/// of bins with edges on round numbers (1-2-5 steps) covering all values.
pub(crate) fn bin_edges(panel: usize, h: &Histogram) -> Result<Vec<f64>, PlotError> {
    let (lo, hi) = histogram_range(panel, h)?;
    let (lo, hi) = widen_degenerate(lo, hi);
    let bins = bin_count(h);
    if h.bins == 0 {
        // Round steps come in 1-2-5 ratios: allow up to twice the edges to get at least
        // three quarters of Sturges' bins.
        let mut best = Vec::new();
        for max_edges in bins + 1..=2 * bins + 2 {
            let edges = ticks_with(lo, hi, max_edges, false, Placement::Cover);
            if edges.len() >= 2 {
                let enough = 4 * (edges.len() - 1) >= 3 * bins;
                best = edges;
                if enough {
                    break;
                }
            }
        }
        if best.len() >= 2 {
            return Ok(best);
        }
    }
    let width = (hi - lo) / bins as f64;
    Ok((0..=bins)
        .map(|k| if k == bins { hi } else { lo + width * k as f64 })
        .collect())
}

/// Counts of `values` in the bins between `edges`: bin k holds `edges[k] <= v < edges[k+1]`,
/// the last bin also its upper edge; values outside go to the nearest end bin.
pub(crate) fn bin_counts(edges: &[f64], values: &[f64]) -> Vec<usize> {
    let bins = edges.len().saturating_sub(1).max(1);
    let mut c = vec![0usize; bins];
    for &v in values {
        let k = edges.partition_point(|&e| e <= v).saturating_sub(1);
        c[k.min(bins - 1)] += 1;
    }
    c
}

/// Number of histogram bins: as asked (at most [`crate::MAX_BINS`]), or Sturges' rule for 0.
pub(crate) fn bin_count(h: &Histogram) -> usize {
    if h.bins > 0 {
        return h.bins.min(crate::MAX_BINS);
    }
    let n = h
        .groups
        .iter()
        .map(|(_, v)| v.len())
        .max()
        .unwrap_or(1)
        .max(1);
    ((n as f64).log2().ceil() as usize + 1).clamp(1, 100)
}

struct Texts<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
}

/// Axes of a panel: plot area, ranges, ticks and their labels.
struct Frame {
    layout: Layout,
    x_labels: Vec<String>,
    y_labels: Vec<String>,
}

fn labels_for(ticks: &[f64], lo: f64, hi: f64, max_ticks: usize, integer: bool) -> Vec<String> {
    let step = nice_step(lo, hi, max_ticks, integer, Placement::Inside).map_or(1.0, |s| s.value());
    format_ticks(ticks, step)
        .iter()
        .map(|t| typeset_number(t))
        .collect()
}

/// What stands left of the plot area: value ticks on the y axis (whole numbers only, or
/// any), or row labels in a column of the given width (no y ticks).
#[derive(Clone, Copy)]
enum LeftAxis {
    Ticks { integer: bool },
    Labels { width: f64 },
}

/// Gap between a forest's row labels and its plot area, px.
const ROW_LABEL_GAP: f64 = 10.0;

/// Top of the plot area: below the panel's title, and `extra` px more (e.g. a legend row).
fn plot_top(texts: &Texts, extra: f64) -> f64 {
    PAD + if texts.title.is_empty() {
        6.0
    } else {
        metrics(TITLE_FONT, Weight::Bold).line_height() + 8.0
    } + extra
}

#[allow(clippy::too_many_arguments)]
fn frame(
    panel: usize,
    texts: &Texts,
    xr: (f64, f64),
    yr: (f64, f64),
    left_axis: LeftAxis,
    extra_top: f64,
    w: f64,
    h: f64,
) -> Result<Frame, PlotError> {
    let too_small = || PlotError::PanelTooSmall {
        panel,
        width: w as u32,
        height: h as u32,
    };
    let top = plot_top(texts, extra_top);
    let bottom = PAD
        + TICK_LEN
        + TICK_GAP
        + line_h(TICK_FONT)
        + if texts.x_label.is_empty() {
            0.0
        } else {
            2.0 + line_h(LABEL_FONT)
        };
    let plot_h = (h - top - bottom).floor();
    if plot_h < MIN_PLOT_H {
        return Err(too_small());
    }
    let top = top.round();

    let (y_ticks, y_labels, left) = match left_axis {
        LeftAxis::Ticks { integer } => {
            // y ticks: about one per 40 px.
            let y_max_ticks = ((plot_h / 40.0) as usize + 1).clamp(2, 11);
            let y_ticks = ticks_with(yr.0, yr.1, y_max_ticks, integer, Placement::Inside);
            let y_labels = labels_for(&y_ticks, yr.0, yr.1, y_max_ticks, integer);
            let y_label_w = y_labels
                .iter()
                .map(|l| text_width(l, TICK_FONT, Weight::Regular))
                .fold(0.0, f64::max);
            let left =
                (PAD + if texts.y_label.is_empty() {
                    0.0
                } else {
                    line_h(LABEL_FONT) + 4.0
                } + y_label_w
                    + TICK_GAP
                    + TICK_LEN)
                    .round();
            (y_ticks, y_labels, left)
        }
        LeftAxis::Labels { width } => (
            Vec::new(),
            Vec::new(),
            (PAD + width + ROW_LABEL_GAP).round(),
        ),
    };

    let mut right = PAD + 12.0;
    let mut result = None;
    for _attempt in 0..2 {
        let plot_w = (w - left - right).floor();
        if plot_w < MIN_PLOT_W {
            return Err(too_small());
        }
        let mut max_ticks = ((plot_w / 50.0) as usize + 1).clamp(2, 11);
        let (x_ticks, x_labels) = loop {
            let ticks = ticks_with(xr.0, xr.1, max_ticks, false, Placement::Inside);
            let labels = labels_for(&ticks, xr.0, xr.1, max_ticks, false);
            let px = |v: f64| (v - xr.0) / (xr.1 - xr.0) * plot_w;
            let fits = ticks.windows(2).zip(labels.windows(2)).all(|(t, l)| {
                let room = px(t[1]) - px(t[0]);
                let half = |t: &str| text_width(t, TICK_FONT, Weight::Regular) / 2.0;
                room >= half(&l[0]) + half(&l[1]) + 12.0
            });
            if fits || max_ticks <= 2 {
                break (ticks, labels);
            }
            max_ticks -= 1;
        };
        // The last label is centred on its tick and may stick out to the right.
        let overflow = match (x_ticks.last(), x_labels.last()) {
            (Some(&t), Some(l)) => {
                let px = left + (t - xr.0) / (xr.1 - xr.0) * plot_w;
                px + text_width(l, TICK_FONT, Weight::Regular) / 2.0 - (w - PAD)
            }
            _ => 0.0,
        };
        result = Some((plot_w, x_ticks, x_labels));
        if overflow > 0.0 {
            right += overflow.ceil();
        } else {
            break;
        }
    }
    let Some((plot_w, x_ticks, x_labels)) = result else {
        return Err(too_small());
    };
    Ok(Frame {
        layout: Layout {
            plot_left: left,
            plot_top: top,
            plot_width: plot_w,
            plot_height: plot_h,
            x_range: xr,
            y_range: yr,
            x_ticks,
            y_ticks,
        },
        x_labels,
        y_labels,
    })
}

/// Legend entry: name, colour, and how the swatch looks.
struct LegendEntry {
    name: String,
    color: Rgb,
    line: bool,
    marker: bool,
    fill: bool,
}

/// Grid lines, reference line: drawn under the data.
fn under_layer(frame: &Frame, hline: Option<f64>, prims: &mut Vec<Prim>) {
    let l = &frame.layout;
    let (x0, x1) = (l.plot_left, l.plot_left + l.plot_width);
    let (y0, y1) = (l.plot_top, l.plot_top + l.plot_height);
    for &t in &l.y_ticks {
        let y = l.to_pixel(l.x_range.0, t).1.floor() + 0.5;
        prims.push(Prim::Line {
            pts: vec![(x0, y), (x1, y)],
            color: GRID,
            width: 1.0,
            dash: None,
            role: Role::Grid,
        });
    }
    for &t in &l.x_ticks {
        let x = l.to_pixel(t, l.y_range.0).0.floor() + 0.5;
        prims.push(Prim::Line {
            pts: vec![(x, y0), (x, y1)],
            color: GRID,
            width: 1.0,
            dash: None,
            role: Role::Grid,
        });
    }
    if let Some(h) = hline {
        let y = l.to_pixel(l.x_range.0, h).1;
        prims.push(Prim::Line {
            pts: vec![(x0, y), (x1, y)],
            color: REFERENCE,
            width: 1.5,
            dash: Some((6.0, 4.0)),
            role: Role::Reference,
        });
    }
}

/// Frame, ticks, labels, title, legend: drawn over the data.
fn over_layer(
    frame: &Frame,
    texts: &Texts,
    legend: &[LegendEntry],
    occupied: &[(f64, f64)],
    w: f64,
    h: f64,
    prims: &mut Vec<Prim>,
) {
    let l = &frame.layout;
    let (x0, x1) = (l.plot_left, l.plot_left + l.plot_width);
    let (y0, y1) = (l.plot_top, l.plot_top + l.plot_height);
    prims.push(Prim::Rect {
        x0: x0 - 0.5,
        y0: y0 - 0.5,
        x1: x1 + 0.5,
        y1: y1 + 0.5,
        fill: None,
        stroke: Some(AXIS),
        role: Role::Axis,
    });
    for (&t, label) in l.x_ticks.iter().zip(&frame.x_labels) {
        let x = l.to_pixel(t, l.y_range.0).0.floor() + 0.5;
        prims.push(Prim::Line {
            pts: vec![(x, y1 + 0.5), (x, y1 + 0.5 + TICK_LEN)],
            color: AXIS,
            width: 1.0,
            dash: None,
            role: Role::Axis,
        });
        prims.push(ink_text(
            x,
            y1 + TICK_LEN + TICK_GAP,
            label.clone(),
            TICK_FONT,
            Weight::Regular,
            Anchor::Middle,
        ));
    }
    for (&t, label) in l.y_ticks.iter().zip(&frame.y_labels) {
        let y = l.to_pixel(l.x_range.0, t).1.floor() + 0.5;
        prims.push(Prim::Line {
            pts: vec![(x0 - 0.5 - TICK_LEN, y), (x0 - 0.5, y)],
            color: AXIS,
            width: 1.0,
            dash: None,
            role: Role::Axis,
        });
        prims.push(centred_text(
            x0 - TICK_LEN - TICK_GAP - 1.0,
            y,
            label.clone(),
            TICK_FONT,
            Anchor::End,
        ));
    }
    if !texts.title.is_empty() {
        prims.push(ink_text(
            (w / 2.0).round(),
            PAD,
            fit_text(texts.title, w - 2.0 * PAD, TITLE_FONT, Weight::Bold),
            TITLE_FONT,
            Weight::Bold,
            Anchor::Middle,
        ));
    }
    if !texts.x_label.is_empty() {
        prims.push(ink_text(
            ((x0 + x1) / 2.0).round(),
            (h - PAD - line_h(LABEL_FONT)).round(),
            fit_text(texts.x_label, w - 2.0 * PAD, LABEL_FONT, Weight::Regular),
            LABEL_FONT,
            Weight::Regular,
            Anchor::Middle,
        ));
    }
    if !texts.y_label.is_empty() {
        prims.push(Prim::Text {
            x: PAD,
            y: ((y0 + y1) / 2.0).round(),
            text: fit_text(
                texts.y_label,
                l.plot_height + l.plot_top - PAD,
                LABEL_FONT,
                Weight::Regular,
            ),
            style: TextStyle {
                size: LABEL_FONT,
                weight: Weight::Regular,
                color: INK,
                anchor: Anchor::Middle,
                vertical: true,
            },
        });
    }
    legend_prims(l, legend, occupied, prims);
}

/// Height of a legend row, px.
fn legend_row() -> f64 {
    (line_h(LEGEND_FONT) + 1.0).round()
}
const LEGEND_SWATCH: f64 = 20.0;
const LEGEND_INSET: f64 = 6.0;

fn legend_prims(
    l: &Layout,
    entries: &[LegendEntry],
    occupied: &[(f64, f64)],
    prims: &mut Vec<Prim>,
) {
    let named: Vec<&LegendEntry> = entries.iter().filter(|e| !e.name.is_empty()).collect();
    if named.is_empty() {
        return;
    }
    // Room for names: at most 60 % of the plot width.
    let fixed = 6.0 + LEGEND_SWATCH + 6.0 + 6.0;
    let name_room = (l.plot_width * 0.6 - fixed).max(2.0 * LEGEND_FONT);
    let names: Vec<String> = named
        .iter()
        .map(|e| fit_text(&e.name, name_room, LEGEND_FONT, Weight::Regular))
        .collect();
    let max_rows = ((l.plot_height - 2.0 * LEGEND_INSET - 8.0) / legend_row()).floor();
    if max_rows < 1.0 {
        return;
    }
    let rows = named.len().min(max_rows as usize);
    let name_w = names[..rows]
        .iter()
        .map(|n| text_width(n, LEGEND_FONT, Weight::Regular))
        .fold(0.0, f64::max);
    let box_w = (fixed + name_w).ceil();
    let box_h = (rows as f64 * legend_row() + 8.0).ceil();
    if box_w > l.plot_width - 2.0 * LEGEND_INSET {
        return;
    }
    let left = l.plot_left + LEGEND_INSET;
    let right = l.plot_left + l.plot_width - LEGEND_INSET - box_w;
    let top = l.plot_top + LEGEND_INSET;
    let bottom = l.plot_top + l.plot_height - LEGEND_INSET - box_h;
    // Corners in order of preference; the one covering the fewest data points wins.
    let corners = [(right, top), (left, top), (right, bottom), (left, bottom)];
    let covered = |(bx, by): (f64, f64)| {
        occupied
            .iter()
            .filter(|&&(x, y)| {
                x >= bx - 4.0 && x <= bx + box_w + 4.0 && y >= by - 4.0 && y <= by + box_h + 4.0
            })
            .count()
    };
    let mut best = corners[0];
    let mut best_count = covered(best);
    for &c in &corners[1..] {
        let n = covered(c);
        if n < best_count {
            best = c;
            best_count = n;
        }
    }
    let (bx, by) = (best.0.round(), best.1.round());
    prims.push(Prim::Rect {
        x0: bx + 0.5,
        y0: by + 0.5,
        x1: bx + box_w - 0.5,
        y1: by + box_h - 0.5,
        fill: Some((BACKGROUND, 0.88)),
        stroke: Some(LEGEND_EDGE),
        role: Role::Legend,
    });
    for (i, (entry, name)) in named.iter().zip(&names).take(rows).enumerate() {
        let cy = by + 4.0 + i as f64 * legend_row() + legend_row() / 2.0;
        let sx0 = bx + 6.0;
        let sx1 = sx0 + LEGEND_SWATCH;
        if entry.fill {
            prims.push(Prim::Rect {
                x0: sx0 + 2.0,
                y0: cy - 4.0,
                x1: sx1 - 2.0,
                y1: cy + 4.0,
                fill: Some((entry.color, BAR_OPACITY * 1.5)),
                stroke: Some(entry.color),
                role: Role::Legend,
            });
        }
        if entry.line {
            prims.push(Prim::Line {
                pts: vec![(sx0, cy), (sx1, cy)],
                color: entry.color,
                width: SERIES_LINE_W,
                dash: None,
                role: Role::Legend,
            });
        }
        if entry.marker {
            prims.push(Prim::Markers {
                pts: vec![((sx0 + sx1) / 2.0, cy)],
                color: entry.color,
                radius: MARKER_R,
                role: Role::Legend,
            });
        }
        prims.push(centred_text(
            sx1 + 6.0,
            cy,
            name.clone(),
            LEGEND_FONT,
            Anchor::Start,
        ));
    }
}

/// Samples along a polyline (its vertices and midpoints), for legend placement.
fn sample_points(pts: &[(f64, f64)], out: &mut Vec<(f64, f64)>) {
    // Keep the work bounded for very long series.
    let stride = (pts.len() / 2000).max(1);
    for (i, w) in pts.windows(2).enumerate().step_by(stride) {
        let _ = i;
        out.push(w[0]);
        for k in 1..4 {
            let t = f64::from(k) / 4.0;
            out.push((
                w[0].0 + (w[1].0 - w[0].0) * t,
                w[0].1 + (w[1].1 - w[0].1) * t,
            ));
        }
    }
    if let Some(&p) = pts.last() {
        out.push(p);
    }
}

fn chart_scene(panel: usize, chart: &Chart, w: f64, h: f64) -> Result<(Scene, Layout), PlotError> {
    let (xr, yr) = chart_ranges(panel, chart)?;
    let texts = Texts {
        title: &chart.title,
        x_label: &chart.x_label,
        y_label: &chart.y_label,
    };
    let frame = frame(
        panel,
        &texts,
        pad_range(xr.0, xr.1, RANGE_PAD),
        pad_range(yr.0, yr.1, RANGE_PAD),
        LeftAxis::Ticks { integer: false },
        0.0,
        w,
        h,
    )?;
    let l = &frame.layout;
    let mut prims = Vec::new();
    under_layer(&frame, chart.hline, &mut prims);
    // Bands first, so that every line is drawn over every band.
    for (i, s) in chart.series.iter().enumerate() {
        if let Some((lower, upper)) = &s.band {
            let mut pts: Vec<(f64, f64)> =
                s.x.iter()
                    .zip(upper)
                    .map(|(&x, &y)| l.to_pixel(x, y))
                    .collect();
            pts.extend(s.x.iter().zip(lower).rev().map(|(&x, &y)| l.to_pixel(x, y)));
            prims.push(Prim::Polygon {
                pts,
                color: series_color(i),
                opacity: BAND_OPACITY,
                role: Role::Band,
            });
        }
    }
    let mut legend = Vec::new();
    let mut occupied = Vec::new();
    for (i, s) in chart.series.iter().enumerate() {
        let color = series_color(i);
        let pts: Vec<(f64, f64)> =
            s.x.iter()
                .zip(&s.y)
                .map(|(&x, &y)| l.to_pixel(x, y))
                .collect();
        let line = matches!(s.style, Style::Line | Style::LinePoints);
        let marker = matches!(s.style, Style::Points | Style::LinePoints);
        if line {
            sample_points(&pts, &mut occupied);
        } else {
            occupied.extend_from_slice(&pts);
        }
        if line {
            prims.push(Prim::Line {
                pts: pts.clone(),
                color,
                width: SERIES_LINE_W,
                dash: None,
                role: Role::Series,
            });
        }
        if marker {
            prims.push(Prim::Markers {
                pts,
                color,
                radius: MARKER_R,
                role: Role::Series,
            });
        }
        legend.push(LegendEntry {
            name: s.name.clone(),
            color,
            line,
            marker,
            fill: false,
        });
    }
    over_layer(&frame, &texts, &legend, &occupied, w, h, &mut prims);
    let layout = frame.layout;
    Ok((Scene { prims }, layout))
}

fn histogram_scene(
    panel: usize,
    hist: &Histogram,
    w: f64,
    h: f64,
) -> Result<(Scene, Layout), PlotError> {
    let edges = bin_edges(panel, hist)?;
    let bins = edges.len() - 1;
    let (lo, hi) = (edges[0], edges[bins]);
    let counts: Vec<Vec<usize>> = hist
        .groups
        .iter()
        .map(|(_, values)| bin_counts(&edges, values))
        .collect();
    let max_count = counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    let x_pad = (hi - lo) * 0.02;
    let xr = (lo - x_pad, hi + x_pad);
    let yr = (0.0, max_count * 1.08);
    let texts = Texts {
        title: &hist.title,
        x_label: &hist.x_label,
        y_label: "count",
    };
    let frame = frame(
        panel,
        &texts,
        xr,
        yr,
        LeftAxis::Ticks { integer: true },
        0.0,
        w,
        h,
    )?;
    let l = &frame.layout;
    let mut prims = Vec::new();
    under_layer(&frame, None, &mut prims);
    let mut legend = Vec::new();
    let mut occupied = Vec::new();
    let edge = |k: usize| edges[k];
    let mut outlines = Vec::new();
    for (g, ((name, _), c)) in hist.groups.iter().zip(&counts).enumerate() {
        let color = series_color(g);
        // The outline of the bars as one step curve from the baseline and back.
        let mut outline = vec![l.to_pixel(lo, 0.0)];
        for (k, &n) in c.iter().enumerate() {
            let y = n as f64;
            outline.push(l.to_pixel(edge(k), y));
            outline.push(l.to_pixel(edge(k + 1), y));
            let (cx, _) = l.to_pixel((edge(k) + edge(k + 1)) / 2.0, 0.0);
            for q in 0..=4 {
                occupied.push((cx, l.to_pixel(lo, y * f64::from(q) / 4.0).1));
            }
        }
        outline.push(l.to_pixel(hi, 0.0));
        prims.push(Prim::Polygon {
            pts: outline.clone(),
            color,
            opacity: BAR_OPACITY,
            role: Role::Band,
        });
        // Outlines after all fills, so that no group's fill hides another's outline.
        outlines.push(Prim::Line {
            pts: outline,
            color,
            width: 1.5,
            dash: None,
            role: Role::Series,
        });
        legend.push(LegendEntry {
            name: name.clone(),
            color,
            line: false,
            marker: false,
            fill: true,
        });
    }
    prims.append(&mut outlines);
    over_layer(&frame, &texts, &legend, &occupied, w, h, &mut prims);
    let layout = frame.layout;
    Ok((Scene { prims }, layout))
}

/// Forest plot marks, px: half-height of an interval's end ticks, radius of its middle dot,
/// half-diagonal of the reference diamond, and the width of the interval and diamond lines.
const FOREST_END_TICK: f64 = 5.0;
const FOREST_DOT_R: f64 = 4.0;
const FOREST_DIAMOND: f64 = 6.5;
const FOREST_LINE_W: f64 = 2.0;
/// Fraction of the value range added on each side of a forest's x axis (room for the marks).
const FOREST_RANGE_PAD: f64 = 0.06;
/// Largest share of the panel's width that the row labels take.
const ROW_LABEL_SHARE: f64 = 0.45;
/// Size and colour of the second and further lines of a row label.
const ROW_NOTE_FONT: f64 = 11.0;
const ROW_NOTE: Rgb = Rgb(85, 85, 85);
/// The forest legend's names: the interval with its middle value, the reference marker and
/// the line of no effect.
const FOREST_INTERVAL_NAME: &str = "model median, 90 % interval";
const FOREST_REFERENCE_NAME: &str = "claimed";
const FOREST_NULL_NAME: &str = "no effect";
/// Gap between forest legend entries, and the width of a swatch, px.
const FOREST_LEGEND_GAP: f64 = 18.0;
const FOREST_SWATCH: f64 = 24.0;

/// The first line of a row label, naming the row in errors.
fn row_name(label: &str) -> &str {
    label.lines().next().unwrap_or("")
}

/// Validates a forest and returns the range of all its values (intervals, references and the
/// line of no effect).
fn forest_range(panel: usize, f: &Forest) -> Result<Range, PlotError> {
    if f.rows.is_empty() {
        return Err(PlotError::NoData { panel });
    }
    let mut r = None;
    for (index, row) in f.rows.iter().enumerate() {
        let name = row_name(&row.label);
        let values = [("lo", row.lo), ("mid", row.mid), ("hi", row.hi)];
        for (field, v) in values
            .into_iter()
            .chain(row.reference.map(|v| ("reference", v)))
        {
            check_value(panel, name, field, index, v)?;
            extend(&mut r, v);
        }
        if !(row.lo <= row.mid && row.mid <= row.hi) {
            return Err(PlotError::IntervalOrder {
                panel,
                row: name.to_string(),
                index,
                lo: row.lo,
                mid: row.mid,
                hi: row.hi,
            });
        }
    }
    if let Some(n) = f.null {
        if !n.is_finite() || n.abs() > MAX_ABS_VALUE {
            return Err(PlotError::BadReferenceLine { panel, value: n });
        }
        extend(&mut r, n);
    }
    r.ok_or(PlotError::NoData { panel })
}

/// Size and colour of line `j` of a row label.
fn row_line_style(j: usize) -> (f64, Rgb) {
    if j == 0 {
        (LABEL_FONT, INK)
    } else {
        (ROW_NOTE_FONT, ROW_NOTE)
    }
}

/// Regular text whose capitals are centred on the line `cy`, in `color`.
fn coloured_text(x: f64, cy: f64, text: String, size: f64, color: Rgb, anchor: Anchor) -> Prim {
    let top = cy + CAP_HEIGHT_EM * size / 2.0 - metrics(size, Weight::Regular).ascent;
    Prim::Text {
        x,
        y: top.round(),
        text,
        style: TextStyle {
            size,
            weight: Weight::Regular,
            color,
            anchor,
            vertical: false,
        },
    }
}

/// The interval of a forest row as one polyline: the left end tick, the line, the right end
/// tick.
fn interval_pts(x_lo: f64, x_hi: f64, cy: f64) -> Vec<(f64, f64)> {
    let t = FOREST_END_TICK;
    vec![
        (x_lo, cy - t),
        (x_lo, cy + t),
        (x_lo, cy),
        (x_hi, cy),
        (x_hi, cy - t),
        (x_hi, cy + t),
    ]
}

/// An open diamond around (x, cy), as a closed polyline.
fn diamond_pts(x: f64, cy: f64, r: f64) -> Vec<(f64, f64)> {
    vec![
        (x, cy - r),
        (x + r, cy),
        (x, cy + r),
        (x - r, cy),
        (x, cy - r),
    ]
}

/// A forest's legend on one line above the plot area, as many entries as fit.
fn forest_legend(f: &Forest, l: &Layout, w: f64, prims: &mut Vec<Prim>) {
    #[derive(Clone, Copy)]
    enum Swatch {
        Interval,
        Diamond,
        Null,
    }
    let mut entries = vec![(
        Swatch::Interval,
        f.interval_name.as_deref().unwrap_or(FOREST_INTERVAL_NAME),
    )];
    if f.rows.iter().any(|r| r.reference.is_some()) {
        entries.push((Swatch::Diamond, FOREST_REFERENCE_NAME));
    }
    if f.null.is_some() {
        entries.push((Swatch::Null, FOREST_NULL_NAME));
    }
    let entry_w = |name: &str| FOREST_SWATCH + 6.0 + text_width(name, LEGEND_FONT, Weight::Regular);
    let total = |e: &[(Swatch, &str)]| {
        e.iter().map(|(_, n)| entry_w(n)).sum::<f64>()
            + FOREST_LEGEND_GAP * e.len().saturating_sub(1) as f64
    };
    let room = w - 2.0 * PAD;
    while entries.len() > 1 && total(&entries) > room {
        entries.pop();
    }
    // Over the plot area where it fits, else as far left as needed.
    let mut x = l.plot_left.min(w - PAD - total(&entries)).max(PAD).round();
    let cy = (l.plot_top - legend_row() / 2.0 - 3.0).round();
    for (swatch, name) in entries {
        let (sx0, sx1) = (x + 2.0, x + FOREST_SWATCH - 2.0);
        let mid = (sx0 + sx1) / 2.0;
        match swatch {
            Swatch::Interval => {
                prims.push(Prim::Line {
                    pts: interval_pts(sx0, sx1, cy),
                    color: series_color(0),
                    width: FOREST_LINE_W,
                    dash: None,
                    role: Role::Legend,
                });
                prims.push(Prim::Markers {
                    pts: vec![(mid, cy)],
                    color: series_color(0),
                    radius: FOREST_DOT_R,
                    role: Role::Legend,
                });
            }
            Swatch::Diamond => prims.push(Prim::Line {
                pts: diamond_pts(mid, cy, FOREST_DIAMOND),
                color: series_color(1),
                width: FOREST_LINE_W,
                dash: None,
                role: Role::Legend,
            }),
            Swatch::Null => prims.push(Prim::Line {
                pts: vec![
                    (mid, cy - FOREST_DIAMOND - 1.0),
                    (mid, cy + FOREST_DIAMOND + 1.0),
                ],
                color: REFERENCE,
                width: 1.5,
                dash: Some((4.0, 3.0)),
                role: Role::Legend,
            }),
        }
        let room = w - PAD - (x + FOREST_SWATCH + 6.0);
        prims.push(centred_text(
            x + FOREST_SWATCH + 6.0,
            cy,
            fit_text(name, room, LEGEND_FONT, Weight::Regular),
            LEGEND_FONT,
            Anchor::Start,
        ));
        x += entry_w(name) + FOREST_LEGEND_GAP;
    }
}

fn forest_scene(panel: usize, f: &Forest, w: f64, h: f64) -> Result<(Scene, Layout), PlotError> {
    let (lo, hi) = forest_range(panel, f)?;
    let n = f.rows.len();
    let texts = Texts {
        title: &f.title,
        x_label: &f.x_label,
        y_label: "",
    };
    // The label column: as wide as the widest line, at most a share of the panel.
    let max_label_w = (w * ROW_LABEL_SHARE).floor();
    let label_w = f
        .rows
        .iter()
        .flat_map(|r| {
            r.label.split('\n').enumerate().map(|(j, t)| {
                let (size, _) = row_line_style(j);
                text_width(t, size, Weight::Regular)
            })
        })
        .fold(0.0, f64::max)
        .min(max_label_w)
        .ceil();
    let frame = frame(
        panel,
        &texts,
        pad_range(lo, hi, FOREST_RANGE_PAD),
        (0.0, n as f64),
        LeftAxis::Labels { width: label_w },
        legend_row() + 6.0,
        w,
        h,
    )?;
    let l = &frame.layout;
    let band = l.plot_height / n as f64;
    let pitch = line_h(LABEL_FONT).round();
    if band < pitch {
        return Err(PlotError::PanelTooSmall {
            panel,
            width: w as u32,
            height: h as u32,
        });
    }
    let mut prims = Vec::new();
    under_layer(&frame, None, &mut prims);
    let (y0, y1) = (l.plot_top, l.plot_top + l.plot_height);
    if let Some(null) = f.null {
        let x = l.to_pixel(null, 0.0).0;
        prims.push(Prim::Line {
            pts: vec![(x, y0), (x, y1)],
            color: REFERENCE,
            width: 1.5,
            dash: Some((6.0, 4.0)),
            role: Role::Reference,
        });
    }
    let centre = |i: usize| l.to_pixel(l.x_range.0, n as f64 - i as f64 - 0.5).1.round();
    let mut dots = Vec::with_capacity(n);
    let mut diamonds = Vec::new();
    for (i, row) in f.rows.iter().enumerate() {
        let cy = centre(i);
        let x_lo = l.to_pixel(row.lo, 0.0).0;
        let x_hi = l.to_pixel(row.hi, 0.0).0;
        prims.push(Prim::Line {
            pts: interval_pts(x_lo, x_hi, cy),
            color: series_color(0),
            width: FOREST_LINE_W,
            dash: None,
            role: Role::Series,
        });
        dots.push((l.to_pixel(row.mid, 0.0).0, cy));
        if let Some(r) = row.reference {
            diamonds.push(Prim::Line {
                pts: diamond_pts(l.to_pixel(r, 0.0).0, cy, FOREST_DIAMOND),
                color: series_color(1),
                width: FOREST_LINE_W,
                dash: None,
                role: Role::Series,
            });
        }
        // As many lines of the label as the row's height holds, centred on the row.
        let lines: Vec<&str> = row.label.split('\n').collect();
        let k = lines
            .len()
            .min(((band - 2.0) / pitch).floor().max(1.0) as usize);
        for (j, text) in lines.iter().take(k).enumerate() {
            let (size, color) = row_line_style(j);
            let ty = cy + (j as f64 - (k - 1) as f64 / 2.0) * pitch;
            prims.push(coloured_text(
                PAD,
                ty,
                fit_text(text, label_w, size, Weight::Regular),
                size,
                color,
                Anchor::Start,
            ));
        }
    }
    prims.push(Prim::Markers {
        pts: dots,
        color: series_color(0),
        radius: FOREST_DOT_R,
        role: Role::Series,
    });
    prims.append(&mut diamonds);
    over_layer(&frame, &texts, &[], &[], w, h, &mut prims);
    forest_legend(f, l, w, &mut prims);
    let layout = frame.layout;
    Ok((Scene { prims }, layout))
}

/// The scene and layout of one panel of `w` x `h` pixels; `panel` is its index (for errors).
pub(crate) fn panel_scene(
    panel: usize,
    p: &Panel,
    w: u32,
    h: u32,
) -> Result<(Scene, Layout), PlotError> {
    if w == 0 || h == 0 {
        return Err(PlotError::ZeroSize {
            width: w,
            height: h,
        });
    }
    let (w, h) = (f64::from(w), f64::from(h));
    match p {
        Panel::Chart(c) => chart_scene(panel, c, w, h),
        Panel::Histogram(hg) => histogram_scene(panel, hg, w, h),
        Panel::Forest(f) => forest_scene(panel, f, w, h),
    }
}
