//! A small RGB rasterizer: anti-aliased thick polylines and discs (coverage from the distance
//! of each pixel centre to the shape), scanline-filled polygons, and
//! text from the embedded font's coverage (see `font`).

use crate::font::{rasterize, text_width, COVERAGE_PAD};
use crate::scene::{Anchor, Prim, TextStyle};
use crate::Rgb;

pub(crate) struct Canvas {
    pub(crate) width: usize,
    pub(crate) height: usize,
    /// RGB, row-major, 3 bytes a pixel.
    pub(crate) data: Vec<u8>,
}

/// Coverage (0..1) accumulated over a rectangle of the canvas, then blended once, so that
/// where segments of one polyline overlap the colour is not laid down twice.
struct Mask {
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
    cov: Vec<f32>,
}

impl Mask {
    /// A mask over the bounding box of `pts` grown by `margin`, clipped to the canvas; `None`
    /// when that is empty.
    fn around(pts: &[(f64, f64)], margin: f64, canvas: &Canvas) -> Option<Mask> {
        let (mut x0, mut y0, mut x1, mut y1) = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        for &(x, y) in pts {
            if x.is_finite() && y.is_finite() {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x);
                y1 = y1.max(y);
            }
        }
        if x0 > x1 {
            return None;
        }
        let cx0 = clamp_px(x0 - margin, canvas.width);
        let cy0 = clamp_px(y0 - margin, canvas.height);
        let cx1 = clamp_px(x1 + margin + 1.0, canvas.width);
        let cy1 = clamp_px(y1 + margin + 1.0, canvas.height);
        if cx1 <= cx0 || cy1 <= cy0 {
            return None;
        }
        let (w, h) = (cx1 - cx0, cy1 - cy0);
        Some(Mask {
            x0: cx0,
            y0: cy0,
            w,
            h,
            cov: vec![0.0; w * h],
        })
    }

    /// Pixel index range `[a, b)` of the mask along one axis for a coordinate interval.
    fn span(lo: f64, hi: f64, origin: usize, len: usize) -> (usize, usize) {
        let a = clamp_px(lo, origin + len).max(origin) - origin;
        let b = clamp_px(hi + 1.0, origin + len).max(origin) - origin;
        (a, b)
    }

    fn segment(&mut self, a: (f64, f64), b: (f64, f64), half_width: f64) {
        let reach = half_width + 1.0;
        let (ix0, ix1) = Self::span(a.0.min(b.0) - reach, a.0.max(b.0) + reach, self.x0, self.w);
        let (iy0, iy1) = Self::span(a.1.min(b.1) - reach, a.1.max(b.1) + reach, self.y0, self.h);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = dx * dx + dy * dy;
        for iy in iy0..iy1 {
            let py = (self.y0 + iy) as f64 + 0.5;
            for ix in ix0..ix1 {
                let px = (self.x0 + ix) as f64 + 0.5;
                let t = if len2 > 0.0 {
                    (((px - a.0) * dx + (py - a.1) * dy) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (qx, qy) = (a.0 + t * dx - px, a.1 + t * dy - py);
                let d = (qx * qx + qy * qy).sqrt();
                let c = (half_width + 0.5 - d).clamp(0.0, 1.0) as f32;
                let slot = &mut self.cov[iy * self.w + ix];
                if c > *slot {
                    *slot = c;
                }
            }
        }
    }

    fn disc(&mut self, c: (f64, f64), r: f64) {
        self.segment(c, c, r);
    }

    fn composite(&self, canvas: &mut Canvas, color: Rgb, opacity: f64) {
        for iy in 0..self.h {
            for ix in 0..self.w {
                let a = self.cov[iy * self.w + ix];
                if a > 0.0 {
                    canvas.blend(self.x0 + ix, self.y0 + iy, color, f64::from(a) * opacity);
                }
            }
        }
    }
}

/// A coordinate clamped to `[0, limit]` and truncated to a pixel index.
fn clamp_px(v: f64, limit: usize) -> usize {
    if v.is_nan() || v <= 0.0 {
        0
    } else if v >= limit as f64 {
        limit
    } else {
        v as usize
    }
}

/// Splits a polyline into its dashes.
fn dashes(pts: &[(f64, f64)], on: f64, off: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    if on <= 0.0 || off < 0.0 {
        out.push(pts.to_vec());
        return out;
    }
    let period = on + off;
    let mut pos = 0.0f64; // distance along the pattern
    let mut current: Vec<(f64, f64)> = Vec::new();
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        if !len.is_finite() || len == 0.0 {
            continue;
        }
        let mut t = 0.0;
        // At most a few thousand pieces per segment.
        let mut guard = 0;
        while t < len && guard < 100_000 {
            guard += 1;
            let phase = pos % period;
            let drawing = phase < on;
            let remaining = if drawing { on - phase } else { period - phase };
            let step = remaining.min(len - t);
            let p0 = (a.0 + (b.0 - a.0) * t / len, a.1 + (b.1 - a.1) * t / len);
            let t1 = t + step;
            let p1 = (a.0 + (b.0 - a.0) * t1 / len, a.1 + (b.1 - a.1) * t1 / len);
            if drawing {
                if current.is_empty() {
                    current.push(p0);
                }
                current.push(p1);
            } else if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            t = t1;
            pos += step;
            if step <= 0.0 {
                break;
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

impl Canvas {
    pub(crate) fn new(width: usize, height: usize, background: Rgb) -> Canvas {
        let mut data = Vec::with_capacity(width * height * 3);
        for _ in 0..width * height {
            data.extend_from_slice(&[background.0, background.1, background.2]);
        }
        Canvas {
            width,
            height,
            data,
        }
    }

    fn blend(&mut self, x: usize, y: usize, c: Rgb, alpha: f64) {
        if x >= self.width || y >= self.height {
            return;
        }
        let a = alpha.clamp(0.0, 1.0);
        let i = (y * self.width + x) * 3;
        for (k, v) in [c.0, c.1, c.2].into_iter().enumerate() {
            let old = f64::from(self.data[i + k]);
            self.data[i + k] = (old + (f64::from(v) - old) * a).round().clamp(0.0, 255.0) as u8;
        }
    }

    /// Fills the pixels whose centres lie in `[x0, x1) x [y0, y1)`.
    fn fill_rect(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, c: Rgb, alpha: f64) {
        let ix0 = clamp_px((x0 - 0.5).ceil(), self.width);
        let ix1 = clamp_px((x1 - 0.5).ceil(), self.width);
        let iy0 = clamp_px((y0 - 0.5).ceil(), self.height);
        let iy1 = clamp_px((y1 - 0.5).ceil(), self.height);
        for y in iy0..iy1 {
            for x in ix0..ix1 {
                self.blend(x, y, c, alpha);
            }
        }
    }

    fn stroke(&mut self, pts: &[(f64, f64)], color: Rgb, width: f64, opacity: f64) {
        let half = (width / 2.0).max(0.25);
        if let Some(mut mask) = Mask::around(pts, half + 1.0, self) {
            if pts.len() == 1 {
                mask.segment(pts[0], pts[0], half);
            }
            for w in pts.windows(2) {
                mask.segment(w[0], w[1], half);
            }
            mask.composite(self, color, opacity);
        }
    }

    fn fill_polygon(&mut self, pts: &[(f64, f64)], color: Rgb, opacity: f64) {
        if pts.len() < 3 {
            return;
        }
        let (mut ymin, mut ymax) = (f64::INFINITY, f64::NEG_INFINITY);
        for &(_, y) in pts {
            ymin = ymin.min(y);
            ymax = ymax.max(y);
        }
        let iy0 = clamp_px((ymin - 0.5).floor(), self.height);
        let iy1 = clamp_px(ymax.ceil() + 1.0, self.height);
        let mut xs: Vec<f64> = Vec::new();
        for iy in iy0..iy1 {
            let yc = iy as f64 + 0.5;
            xs.clear();
            for i in 0..pts.len() {
                let a = pts[i];
                let b = pts[(i + 1) % pts.len()];
                if (a.1 <= yc) != (b.1 <= yc) {
                    xs.push(a.0 + (yc - a.1) / (b.1 - a.1) * (b.0 - a.0));
                }
            }
            xs.sort_by(|p, q| p.total_cmp(q));
            for pair in xs.chunks_exact(2) {
                let ix0 = clamp_px((pair[0] - 0.5).ceil(), self.width);
                let ix1 = clamp_px((pair[1] - 0.5).ceil(), self.width);
                for ix in ix0..ix1 {
                    self.blend(ix, iy, color, opacity);
                }
            }
        }
    }

    /// Anti-aliased text from the embedded font; see [`Prim::Text`] for where `(x, y)` lies.
    /// The text box is placed on whole pixels, so a text looks the same wherever it is drawn.
    fn text(&mut self, x: f64, y: f64, text: &str, style: TextStyle) {
        let width = text_width(text, style.size, style.weight);
        let start = match style.anchor {
            Anchor::Start => 0.0,
            Anchor::Middle => -width / 2.0,
            Anchor::End => -width,
        };
        let c = rasterize(text, style.size, style.weight);
        let pad = COVERAGE_PAD as i64;
        // Canvas pixel of coverage pixel `along` the text and `across` it (downwards from the
        // top of the box). Vertical text reads bottom to top.
        let (left, top) = ((x + start).round() as i64, y.round() as i64);
        let (vx, bottom) = (x.round() as i64, (y - start).round() as i64);
        for across in 0..c.h {
            for along in 0..c.w {
                let a = c.cov[across * c.w + along];
                if a <= 0.0 {
                    continue;
                }
                let (i, j) = (along as i64 - pad, across as i64 - pad);
                let (px, py) = if style.vertical {
                    (vx + j, bottom - 1 - i)
                } else {
                    (left + i, top + j)
                };
                if px >= 0 && py >= 0 {
                    self.blend(px as usize, py as usize, style.color, f64::from(a));
                }
            }
        }
    }

    /// Draws a primitive shifted by `(dx, dy)`.
    pub(crate) fn draw(&mut self, prim: &Prim, dx: f64, dy: f64) {
        let shift = |pts: &[(f64, f64)]| -> Vec<(f64, f64)> {
            pts.iter().map(|&(x, y)| (x + dx, y + dy)).collect()
        };
        match prim {
            Prim::Line {
                pts,
                color,
                width,
                dash,
                ..
            } => {
                let pts = shift(pts);
                match dash {
                    Some((on, off)) => {
                        let pieces = dashes(&pts, *on, *off);
                        let all: Vec<(f64, f64)> = pieces.iter().flatten().copied().collect();
                        if let Some(mut mask) = Mask::around(&all, width / 2.0 + 1.0, self) {
                            for piece in &pieces {
                                for w in piece.windows(2) {
                                    mask.segment(w[0], w[1], width / 2.0);
                                }
                            }
                            mask.composite(self, *color, 1.0);
                        }
                    }
                    None => self.stroke(&pts, *color, *width, 1.0),
                }
            }
            Prim::Polygon {
                pts,
                color,
                opacity,
                ..
            } => self.fill_polygon(&shift(pts), *color, *opacity),
            Prim::Rect {
                x0,
                y0,
                x1,
                y1,
                fill,
                stroke,
                ..
            } => {
                let (x0, y0, x1, y1) = (x0 + dx, y0 + dy, x1 + dx, y1 + dy);
                if let Some((c, a)) = fill {
                    self.fill_rect(x0, y0, x1, y1, *c, *a);
                }
                if let Some(c) = stroke {
                    let pts = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)];
                    self.stroke(&pts, *c, 1.0, 1.0);
                }
            }
            Prim::Markers {
                pts, color, radius, ..
            } => {
                let pts = shift(pts);
                if let Some(mut mask) = Mask::around(&pts, radius + 1.0, self) {
                    for &p in &pts {
                        mask.disc(p, *radius);
                    }
                    mask.composite(self, *color, 1.0);
                }
            }
            Prim::Text { x, y, text, style } => self.text(x + dx, y + dy, text, *style),
        }
    }

    /// PNG bytes (8-bit RGB).
    pub(crate) fn encode_png(&self) -> Result<Vec<u8>, png::EncodingError> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut writer = enc.write_header()?;
            writer.write_image_data(&self.data)?;
            writer.finish()?;
        }
        Ok(out)
    }
}
