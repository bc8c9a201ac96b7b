//! Small scientific charts for exoskin, drawn to PNG or SVG with no system fonts and no heavy
//! dependencies: an own rasterizer (anti-aliased lines and markers), text in Noto Sans
//! embedded in the binary (`notosans`, outlines and coverage by `ab_glyph`), and the `png`
//! encoder. The rasterizer is small and owned because figures must be byte-for-byte
//! reproducible and the charts need only lines, discs, fills and text.
//!
//! Labels are printed as a journal would: tick labels with a true minus and powers of ten as
//! `2×10⁶` ([`typeset_number`]), and units typed in ASCII in data files can be set properly
//! with [`typeset_units`] (`um` → `µm`, `g/m2/h` → `g/m²/h`). A figure may carry a title above
//! all its panels ([`render_png_titled`], [`save_titled`]).
//!
//! A figure is a grid of [`Panel`]s, each a [`Chart`] (line, point or line-and-point
//! [`Series`], each with an optional translucent band such as a 95 % confidence interval, and
//! an optional horizontal reference line) or a [`Histogram`] (groups overlaid, e.g. one per
//! trial arm) or a [`Forest`] (one row per item: an interval with its middle value and a
//! reference value such as a claim's, against a line of no effect). Axes get "nice" ticks (1-2-5 steps, see [`nice_ticks`]), ranges are automatic
//! with a little padding, and series take their colours from the colour-blind-safe Okabe-Ito
//! [`PALETTE`] in order. Bad input (no data, NaN or infinite values, x and y of different
//! lengths, zero-size panels, forest intervals that do not hold their middle value) is a
//! [`PlotError`] naming the panel, series (or row) and index, never a panic.
//!
//! ```
//! use exoskin_plot::{render_png, render_svg, Chart, Histogram, Panel, Series, Style};
//!
//! let t: Vec<f64> = (0..=48).map(f64::from).collect();
//! let amount: Vec<f64> = t.iter().map(|h| 1.0 - (-h / 12.0).exp()).collect();
//! let lower: Vec<f64> = amount.iter().map(|a| a * 0.9).collect();
//! let upper: Vec<f64> = amount.iter().map(|a| a * 1.1).collect();
//! let chart = Chart::new("Receptor uptake", "time (h)", "fraction of dose")
//!     .with_series(Series::new("model", t.clone(), amount).with_band(lower, upper))
//!     .with_series(Series::new("measured", vec![6.0, 24.0, 48.0], vec![0.4, 0.85, 0.97]).with_style(Style::Points))
//!     .with_hline(0.0);
//! let hist = Histogram::new("Change at week 12", "wrinkle depth change (µm)", 0)
//!     .with_group("placebo", vec![-1.0, 0.5, 0.2, -0.3, 1.1])
//!     .with_group("exosome", vec![-2.0, -1.5, -0.2, -1.1, -0.8]);
//! let panels = [Panel::from(chart), Panel::from(hist)];
//! let png: Vec<u8> = render_png(&panels, 2, 480, 320)?;
//! assert_eq!(&png[1..4], b"PNG");
//! let svg: String = render_svg(&panels, 2, 480, 320)?;
//! assert!(svg.starts_with("<svg"));
//! // exoskin_plot::save(std::path::Path::new("figure.png"), &panels, 2)?;  // .png or .svg
//! # Ok::<(), exoskin_plot::PlotError>(())
//! ```

mod drawing;
mod font;
mod raster;
mod scene;
mod svg;
mod ticks;
mod typeset;

use std::path::{Path, PathBuf};

pub use drawing::{Drawing, TextAnchor, TextSpec};
pub use ticks::{format_ticks, nice_ticks, nice_ticks_inside};
pub use typeset::{typeset_number, typeset_units};

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb(pub u8, pub u8, pub u8);

/// Series colours in order of use: the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal
/// Design"), ordered so that the first colours contrast best on white; yellow comes last.
pub const PALETTE: [Rgb; 8] = [
    Rgb(0x00, 0x72, 0xB2), // blue
    Rgb(0xD5, 0x5E, 0x00), // vermillion
    Rgb(0x00, 0x9E, 0x73), // bluish green
    Rgb(0xCC, 0x79, 0xA7), // reddish purple
    Rgb(0xE6, 0x9F, 0x00), // orange
    Rgb(0x56, 0xB4, 0xE9), // sky blue
    Rgb(0x00, 0x00, 0x00), // black
    Rgb(0xF0, 0xE4, 0x42), // yellow
];

/// The colour of the `i`-th series (or histogram group) of a panel; the palette repeats.
pub fn series_color(i: usize) -> Rgb {
    PALETTE[i % PALETTE.len()]
}

/// Panel size [`save`] uses, px.
pub const DEFAULT_PANEL_W: u32 = 640;
pub const DEFAULT_PANEL_H: u32 = 420;
/// Largest magnitude of a value that can be plotted (beyond it ranges overflow).
pub const MAX_ABS_VALUE: f64 = 1e300;
/// Largest image, in pixels (width x height), that the renderers produce.
pub const MAX_IMAGE_PIXELS: u64 = 64_000_000;
/// Most histogram bins.
pub const MAX_BINS: usize = 10_000;

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// Straight segments between consecutive points, in the given order.
    #[default]
    Line,
    /// A filled disc at each point.
    Points,
    /// Both.
    LinePoints,
}

/// One data series of a [`Chart`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// Shown in the legend; an empty name leaves the series out of the legend.
    pub name: String,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    /// Lower and upper bounds at each x (e.g. a 95 % confidence interval), drawn as a
    /// translucent fill in the series colour.
    pub band: Option<(Vec<f64>, Vec<f64>)>,
    pub style: Style,
}

impl Series {
    /// A line series.
    pub fn new(name: impl Into<String>, x: Vec<f64>, y: Vec<f64>) -> Series {
        Series {
            name: name.into(),
            x,
            y,
            band: None,
            style: Style::Line,
        }
    }

    pub fn with_style(mut self, style: Style) -> Series {
        self.style = style;
        self
    }

    pub fn with_band(mut self, lower: Vec<f64>, upper: Vec<f64>) -> Series {
        self.band = Some((lower, upper));
        self
    }
}

/// An x-y chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// A dashed horizontal reference line (e.g. a baseline at 0), included in the y range.
    pub hline: Option<f64>,
}

impl Chart {
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Chart {
        Chart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            series: Vec::new(),
            hline: None,
        }
    }

    pub fn with_series(mut self, series: Series) -> Chart {
        self.series.push(series);
        self
    }

    pub fn with_hline(mut self, y: f64) -> Chart {
        self.hline = Some(y);
        self
    }
}

/// Overlaid histograms of several groups over common bins; the y axis is the count.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Histogram {
    pub title: String,
    pub x_label: String,
    /// (name, values) per group, e.g. per trial arm.
    pub groups: Vec<(String, Vec<f64>)>,
    /// Number of equal-width bins over the range of all values; 0 chooses by Sturges' rule
    /// from the largest group. At most [`MAX_BINS`].
    pub bins: usize,
}

impl Histogram {
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, bins: usize) -> Histogram {
        Histogram {
            title: title.into(),
            x_label: x_label.into(),
            groups: Vec::new(),
            bins,
        }
    }

    pub fn with_group(mut self, name: impl Into<String>, values: Vec<f64>) -> Histogram {
        self.groups.push((name.into(), values));
        self
    }

    /// The bin edges (ascending) that every group is counted in, so that groups compare bin by
    /// bin: `bins` equal bins over the range of all values, or for `bins == 0` about Sturges'
    /// number of bins with edges on round numbers covering all values. Errors as for drawing.
    pub fn bin_edges(&self) -> Result<Vec<f64>, PlotError> {
        scene::bin_edges(0, self)
    }

    /// Each group's counts in the bins of [`Histogram::bin_edges`].
    pub fn counts(&self) -> Result<Vec<Vec<usize>>, PlotError> {
        let edges = self.bin_edges()?;
        Ok(self
            .groups
            .iter()
            .map(|(_, v)| scene::bin_counts(&edges, v))
            .collect())
    }
}

/// One row of a [`Forest`]: an interval `lo..hi` with a point `mid` inside it, and an
/// optional reference value (e.g. the value a claim states) drawn as a distinct marker.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ForestRow {
    /// Drawn left of the plot area. A `\n` starts a second (smaller, grey) line, e.g. for the
    /// numbers; lines too wide for the label column end in an ellipsis.
    pub label: String,
    pub lo: f64,
    pub mid: f64,
    pub hi: f64,
    /// Drawn as an open diamond in the second palette colour.
    pub reference: Option<f64>,
}

impl ForestRow {
    pub fn new(label: impl Into<String>, lo: f64, mid: f64, hi: f64) -> ForestRow {
        ForestRow {
            label: label.into(),
            lo,
            mid,
            hi,
            reference: None,
        }
    }

    pub fn with_reference(mut self, value: f64) -> ForestRow {
        self.reference = Some(value);
        self
    }
}

/// A forest plot: one row per item, top to bottom in the order given, each an interval line
/// with end ticks and a filled dot at its middle value (first palette colour), with the row's
/// reference value as an open diamond (second palette colour), and an optional dashed
/// vertical line of no effect. Row labels stand left of the plot area; a legend above it.
///
/// In its [`Layout`], row `i` of `n` is centred at y = `n - i - 0.5` (y runs from 0 at the
/// bottom to `n` at the top) and there are no y ticks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Forest {
    pub title: String,
    pub x_label: String,
    pub rows: Vec<ForestRow>,
    /// The value of no effect (e.g. 0 for a difference, 1 for a ratio): a dashed vertical
    /// line, included in the x range.
    pub null: Option<f64>,
    /// The legend's name for the dot and its interval (None: "model median, 90 % interval").
    pub interval_name: Option<String>,
}

impl Forest {
    pub fn new(title: impl Into<String>, x_label: impl Into<String>) -> Forest {
        Forest {
            title: title.into(),
            x_label: x_label.into(),
            rows: Vec::new(),
            null: None,
            interval_name: None,
        }
    }

    /// Name the dot and its interval in the legend (e.g. "estimate, 95 % interval").
    pub fn with_interval_name(mut self, name: impl Into<String>) -> Forest {
        self.interval_name = Some(name.into());
        self
    }

    pub fn with_row(mut self, row: ForestRow) -> Forest {
        self.rows.push(row);
        self
    }

    pub fn with_null(mut self, x: f64) -> Forest {
        self.null = Some(x);
        self
    }
}

/// One cell of a figure.
#[derive(Debug, Clone, PartialEq)]
pub enum Panel {
    Chart(Chart),
    Histogram(Histogram),
    Forest(Forest),
}

impl From<Chart> for Panel {
    fn from(c: Chart) -> Panel {
        Panel::Chart(c)
    }
}

impl From<Histogram> for Panel {
    fn from(h: Histogram) -> Panel {
        Panel::Histogram(h)
    }
}

impl From<Forest> for Panel {
    fn from(f: Forest) -> Panel {
        Panel::Forest(f)
    }
}

/// Why a figure could not be drawn or written. `panel` is the index in the slice given.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("no panels to draw")]
    NoPanels,
    #[error("columns must be at least 1 (got 0)")]
    ZeroColumns,
    #[error("panel size {width}x{height} px: both must be greater than 0")]
    ZeroSize { width: u32, height: u32 },
    #[error("panel {panel}: {width}x{height} px leaves no room for the plot area; make the panel larger")]
    PanelTooSmall {
        panel: usize,
        width: u32,
        height: u32,
    },
    #[error("image of {width}x{height} px is larger than the limit of {max} pixels")]
    ImageTooLarge { width: u64, height: u64, max: u64 },
    #[error("panel {panel}: nothing to draw (no series, groups or rows)")]
    NoData { panel: usize },
    #[error("panel {panel}, series \"{series}\": no data points")]
    EmptySeries { panel: usize, series: String },
    #[error("panel {panel}, series \"{series}\": {field}[{index}] is {value}; every value must be finite")]
    NonFinite {
        panel: usize,
        series: String,
        field: &'static str,
        index: usize,
        value: f64,
    },
    #[error("panel {panel}, series \"{series}\": {field}[{index}] = {value:e} is out of range; magnitudes up to 1e300 can be plotted")]
    OutOfRange {
        panel: usize,
        series: String,
        field: &'static str,
        index: usize,
        value: f64,
    },
    #[error("panel {panel}, series \"{series}\": {field} has {found} values but x has {expected}")]
    LengthMismatch {
        panel: usize,
        series: String,
        field: &'static str,
        expected: usize,
        found: usize,
    },
    #[error(
        "panel {panel}: reference line at {value} must be finite and at most 1e300 in magnitude"
    )]
    BadReferenceLine { panel: usize, value: f64 },
    #[error("panel {panel}, row {index} (\"{row}\"): the interval must hold its middle value, lo <= mid <= hi (got lo = {lo}, mid = {mid}, hi = {hi})")]
    IntervalOrder {
        panel: usize,
        row: String,
        index: usize,
        lo: f64,
        mid: f64,
        hi: f64,
    },
    #[error("{path}: unknown figure format; the file name must end in .png or .svg")]
    UnknownFormat { path: PathBuf },
    #[error("encoding PNG: {0}")]
    Png(#[from] png::EncodingError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where a panel's plot area lies and what its axes show, in pixels of a panel whose top-left
/// corner is (0, 0); pixel (i, j) covers `[i, i+1) x [j, j+1)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub plot_left: f64,
    pub plot_top: f64,
    pub plot_width: f64,
    pub plot_height: f64,
    /// Data values at the left and right edges of the plot area.
    pub x_range: (f64, f64),
    /// Data values at the bottom and top edges of the plot area.
    pub y_range: (f64, f64),
    pub x_ticks: Vec<f64>,
    pub y_ticks: Vec<f64>,
}

impl Layout {
    /// Pixel position of a data point.
    pub fn to_pixel(&self, x: f64, y: f64) -> (f64, f64) {
        let fx = (x - self.x_range.0) / (self.x_range.1 - self.x_range.0);
        let fy = (y - self.y_range.0) / (self.y_range.1 - self.y_range.0);
        (
            self.plot_left + fx * self.plot_width,
            self.plot_top + self.plot_height - fy * self.plot_height,
        )
    }
}

/// The layout of one panel drawn at `panel_w` x `panel_h` px (after validating it).
pub fn layout(panel: &Panel, panel_w: u32, panel_h: u32) -> Result<Layout, PlotError> {
    scene::panel_scene(0, panel, panel_w, panel_h).map(|(_, l)| l)
}

/// Height of the band above the panels that holds a figure's title, px (0 without a title).
fn title_band(title: &str) -> u32 {
    if title.is_empty() {
        0
    } else {
        let m = font::metrics(scene::FIGURE_TITLE_FONT, font::Weight::Bold);
        (m.line_height() + 12.0).ceil() as u32
    }
}

/// Grid geometry: (columns used, image width, image height), with `band` px above the panels.
fn grid(
    panels: &[Panel],
    columns: usize,
    panel_w: u32,
    panel_h: u32,
    band: u32,
) -> Result<(usize, u32, u32), PlotError> {
    if panels.is_empty() {
        return Err(PlotError::NoPanels);
    }
    if columns == 0 {
        return Err(PlotError::ZeroColumns);
    }
    if panel_w == 0 || panel_h == 0 {
        return Err(PlotError::ZeroSize {
            width: panel_w,
            height: panel_h,
        });
    }
    let cols = columns.min(panels.len());
    let rows = panels.len().div_ceil(cols);
    let width = cols as u64 * u64::from(panel_w);
    let height = rows as u64 * u64::from(panel_h) + u64::from(band);
    if width.saturating_mul(height) > MAX_IMAGE_PIXELS {
        return Err(PlotError::ImageTooLarge {
            width,
            height,
            max: MAX_IMAGE_PIXELS,
        });
    }
    // Both fit in u32: each is at most MAX_IMAGE_PIXELS.
    Ok((cols, width as u32, height as u32))
}

/// The figure's title (if any) and all panels' scenes with their offsets in the image.
fn scenes(
    title: &str,
    panels: &[Panel],
    cols: usize,
    panel_w: u32,
    panel_h: u32,
    width: u32,
) -> Result<Vec<(f64, f64, scene::Scene)>, PlotError> {
    let band = title_band(title);
    let mut out = Vec::with_capacity(panels.len() + 1);
    if band > 0 {
        let size = scene::FIGURE_TITLE_FONT;
        let w = f64::from(width);
        let text = font::fit_text(title, w - 16.0, size, font::Weight::Bold);
        let prims = vec![scene::ink_text(
            (w / 2.0).round(),
            8.0,
            text,
            size,
            font::Weight::Bold,
            scene::Anchor::Middle,
        )];
        out.push((0.0, 0.0, scene::Scene { prims }));
    }
    for (i, p) in panels.iter().enumerate() {
        let (s, _) = scene::panel_scene(i, p, panel_w, panel_h)?;
        let ox = f64::from(panel_w) * (i % cols) as f64;
        let oy = f64::from(panel_h) * (i / cols) as f64 + f64::from(band);
        out.push((ox, oy, s));
    }
    Ok(out)
}

/// PNG bytes (8-bit RGB) of `panels` in a grid of `columns` columns (fewer when there are
/// fewer panels), filled row by row, each `panel_w` x `panel_h` px.
pub fn render_png(
    panels: &[Panel],
    columns: usize,
    panel_w: u32,
    panel_h: u32,
) -> Result<Vec<u8>, PlotError> {
    render_png_titled("", panels, columns, panel_w, panel_h)
}

/// [`render_png`] with `title` centred in a band above the panels (none when empty); the
/// image is taller by that band.
pub fn render_png_titled(
    title: &str,
    panels: &[Panel],
    columns: usize,
    panel_w: u32,
    panel_h: u32,
) -> Result<Vec<u8>, PlotError> {
    let (cols, width, height) = grid(panels, columns, panel_w, panel_h, title_band(title))?;
    let scenes = scenes(title, panels, cols, panel_w, panel_h, width)?;
    let mut canvas = raster::Canvas::new(width as usize, height as usize, scene::BACKGROUND);
    for (ox, oy, s) in &scenes {
        for p in &s.prims {
            canvas.draw(p, *ox, *oy);
        }
    }
    Ok(canvas.encode_png()?)
}

/// The same figure as [`render_png`] as an SVG document. Each series line is one
/// `<polyline class="series">`, each series' markers one `<path class="series-points">`, each
/// band one `<polygon class="band">`; text is `<text>` in Noto Sans (or a look-alike
/// stretched to the same width), placed from the embedded font's metrics as in the PNG.
pub fn render_svg(
    panels: &[Panel],
    columns: usize,
    panel_w: u32,
    panel_h: u32,
) -> Result<String, PlotError> {
    render_svg_titled("", panels, columns, panel_w, panel_h)
}

/// [`render_svg`] with a figure title, as [`render_png_titled`].
pub fn render_svg_titled(
    title: &str,
    panels: &[Panel],
    columns: usize,
    panel_w: u32,
    panel_h: u32,
) -> Result<String, PlotError> {
    let (cols, width, height) = grid(panels, columns, panel_w, panel_h, title_band(title))?;
    let scenes = scenes(title, panels, cols, panel_w, panel_h, width)?;
    Ok(svg::document(width, height, scene::BACKGROUND, &scenes))
}

/// Writes the figure to `path` as PNG or SVG (by the extension, `.png` or `.svg`, any case),
/// panels of [`DEFAULT_PANEL_W`] x [`DEFAULT_PANEL_H`] px. See [`save_sized`].
pub fn save(path: &Path, panels: &[Panel], columns: usize) -> Result<(), PlotError> {
    save_sized(path, panels, columns, DEFAULT_PANEL_W, DEFAULT_PANEL_H)
}

/// [`save`] with `title` above the panels (see [`render_png_titled`]).
pub fn save_titled(
    path: &Path,
    title: &str,
    panels: &[Panel],
    columns: usize,
) -> Result<(), PlotError> {
    save_figure(
        path,
        title,
        panels,
        columns,
        DEFAULT_PANEL_W,
        DEFAULT_PANEL_H,
    )
}

/// Writes the figure to `path` (`.png` or `.svg`) atomically: to a temporary file in the same
/// folder, then renamed over `path`, so a reader never sees a half-written figure.
pub fn save_sized(
    path: &Path,
    panels: &[Panel],
    columns: usize,
    panel_w: u32,
    panel_h: u32,
) -> Result<(), PlotError> {
    save_figure(path, "", panels, columns, panel_w, panel_h)
}

fn save_figure(
    path: &Path,
    title: &str,
    panels: &[Panel],
    columns: usize,
    panel_w: u32,
    panel_h: u32,
) -> Result<(), PlotError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let bytes = match ext.as_deref() {
        Some("png") => render_png_titled(title, panels, columns, panel_w, panel_h)?,
        Some("svg") => render_svg_titled(title, panels, columns, panel_w, panel_h)?.into_bytes(),
        _ => {
            return Err(PlotError::UnknownFormat {
                path: path.to_path_buf(),
            })
        }
    };
    exoskin_io::fsutil::write_atomic(path, &bytes).map_err(|source| PlotError::Io {
        path: path.to_path_buf(),
        source,
    })
}
