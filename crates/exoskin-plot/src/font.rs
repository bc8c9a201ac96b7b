//! Text from an embedded vector font: Noto Sans Regular and Bold (SIL Open Font License 1.1,
//! shipped as bytes by the `notosans` crate), so that figures need no system fonts. Glyph
//! outlines, advances and kerning come from `ab_glyph`, which also turns an outline into
//! anti-aliased pixel coverage. Text is laid out on one line from the font's own metrics; the
//! PNG rasterizer and the SVG writer use the same layout.

use ab_glyph::{point, Font, FontRef, GlyphId, PxScale, ScaleFont};
use std::sync::OnceLock;

/// Regular or bold face.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Weight {
    Regular,
    Bold,
}

impl Weight {
    /// The CSS `font-weight` of the face.
    pub(crate) fn css(self) -> &'static str {
        match self {
            Weight::Regular => "normal",
            Weight::Bold => "bold",
        }
    }
}

/// The family name SVG output asks for first (the embedded face), then look-alikes.
pub(crate) const SVG_FONT_FAMILY: &str =
    "'Noto Sans', 'Open Sans', 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";

fn face(weight: Weight) -> &'static FontRef<'static> {
    static REGULAR: OnceLock<FontRef<'static>> = OnceLock::new();
    static BOLD: OnceLock<FontRef<'static>> = OnceLock::new();
    let (cell, bytes) = match weight {
        Weight::Regular => (&REGULAR, notosans::REGULAR_TTF),
        Weight::Bold => (&BOLD, notosans::BOLD_TTF),
    };
    // The bytes are compiled in; `embedded_faces_parse` checks that they are a font.
    cell.get_or_init(|| FontRef::try_from_slice(bytes).expect("embedded Noto Sans parses"))
}

/// The `ab_glyph` scale whose em is `size` px (CSS `font-size`): ab_glyph scales the
/// ascent-to-descent height, not the em.
fn px_scale(f: &FontRef<'static>, size: f64) -> PxScale {
    let upem = f.units_per_em().unwrap_or(1000.0);
    let h = f.height_unscaled();
    PxScale::from((size as f32) * h / upem)
}

/// Vertical metrics of a face at a size, px: ascent above the baseline and descent below it
/// (positive), their sum being the height of a line of text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Metrics {
    pub(crate) ascent: f64,
    pub(crate) descent: f64,
}

impl Metrics {
    pub(crate) fn line_height(self) -> f64 {
        self.ascent + self.descent
    }
}

pub(crate) fn metrics(size: f64, weight: Weight) -> Metrics {
    let f = face(weight);
    let s = f.as_scaled(px_scale(f, size));
    Metrics {
        ascent: f64::from(s.ascent()),
        descent: f64::from(-s.descent()),
    }
}

/// Size and rise (em) of the signs drawn in place of superscript signs the face lacks, matched
/// to its superscript digits.
const SUPERSCRIPT_SCALE: f64 = 0.6;
const SUPERSCRIPT_RISE_EM: f64 = 0.34;

/// The character drawn for `c` and whether it is set as a superscript: control characters
/// become spaces; the superscript minus and plus, which Noto Sans lacks, are a small raised
/// minus and plus; other missing characters become look-alikes where there is one, else `?`.
fn drawn_char(f: &FontRef<'static>, c: char) -> (char, bool) {
    let c = if c.is_control() { ' ' } else { c };
    if f.glyph_id(c).0 != 0 {
        return (c, false);
    }
    match c {
        '\u{207B}' => return ('\u{2212}', true),
        '\u{207A}' => return ('+', true),
        _ => {}
    }
    let alt = match c {
        '\u{2212}' | '\u{2010}' | '\u{2011}' | '\u{2012}' => '-',
        '\u{2013}' | '\u{2014}' => '-',
        '\u{00B5}' => '\u{03BC}',
        '\u{2018}' | '\u{2019}' => '\'',
        '\u{201C}' | '\u{201D}' => '"',
        _ => '?',
    };
    if f.glyph_id(alt).0 != 0 {
        (alt, false)
    } else {
        ('?', false)
    }
}

/// A glyph placed on a line: pen position (px from the start), its em size in px and how far
/// above the baseline it sits (px; superscripts only).
struct Placed {
    id: GlyphId,
    x: f64,
    size: f64,
    rise: f64,
}

/// Glyphs of a line of text with their pen positions.
struct Line {
    glyphs: Vec<Placed>,
    width: f64,
}

fn lay_out(text: &str, size: f64, weight: Weight) -> Line {
    let f = face(weight);
    let s = f.as_scaled(px_scale(f, size));
    let small = f.as_scaled(px_scale(f, size * SUPERSCRIPT_SCALE));
    let mut glyphs = Vec::with_capacity(text.len());
    let mut pen = 0.0f64;
    let mut prev: Option<GlyphId> = None;
    for c in text.chars() {
        let (c, sup) = drawn_char(f, c);
        let id = f.glyph_id(c);
        if sup {
            glyphs.push(Placed {
                id,
                x: pen,
                size: size * SUPERSCRIPT_SCALE,
                rise: SUPERSCRIPT_RISE_EM * size,
            });
            pen += f64::from(small.h_advance(id));
            prev = None;
            continue;
        }
        if let Some(p) = prev {
            pen += f64::from(s.kern(p, id));
        }
        glyphs.push(Placed {
            id,
            x: pen,
            size,
            rise: 0.0,
        });
        pen += f64::from(s.h_advance(id));
        prev = Some(id);
    }
    Line { glyphs, width: pen }
}

/// Width in px of `text` set at `size` px.
pub(crate) fn text_width(text: &str, size: f64, weight: Weight) -> f64 {
    lay_out(text, size, weight).width
}

/// `text` cut to at most `max_px` wide, ending in an ellipsis when cut.
pub(crate) fn fit_text(text: &str, max_px: f64, size: f64, weight: Weight) -> String {
    if text_width(text, size, weight) <= max_px {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    // The longest prefix that fits with the ellipsis: widths grow with the prefix, so bisect.
    let (mut lo, mut hi) = (0usize, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let candidate: String = chars[..mid].iter().chain(['\u{2026}'].iter()).collect();
        if text_width(&candidate, size, weight) <= max_px {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    if lo == 0 {
        return String::new();
    }
    let mut out: String = chars[..lo].iter().collect();
    out.push('\u{2026}');
    out
}

/// Anti-aliased coverage (0..1) of a line of text in a box whose top-left pixel is (0, 0): the
/// pen starts at x = `pad`, the baseline lies at y = ascent + `pad`.
pub(crate) struct Coverage {
    pub(crate) w: usize,
    pub(crate) h: usize,
    pub(crate) cov: Vec<f32>,
}

/// Margin around the text box in a [`Coverage`], px: glyphs may reach a little past their
/// advance and below the descent.
pub(crate) const COVERAGE_PAD: usize = 2;

pub(crate) fn rasterize(text: &str, size: f64, weight: Weight) -> Coverage {
    let f = face(weight);
    let m = metrics(size, weight);
    let line = lay_out(text, size, weight);
    let pad = COVERAGE_PAD as f64;
    let w = (line.width.ceil() as usize).saturating_add(2 * COVERAGE_PAD);
    let h = (m.line_height().ceil() as usize).saturating_add(2 * COVERAGE_PAD);
    let mut cov = vec![0.0f32; w * h];
    let baseline = (m.ascent + pad) as f32;
    for g in &line.glyphs {
        let glyph = g.id.with_scale_and_position(
            px_scale(f, g.size),
            point((g.x + pad) as f32, baseline - g.rise as f32),
        );
        let Some(outlined) = f.outline_glyph(glyph) else {
            continue; // a space
        };
        let b = outlined.px_bounds();
        let (bx, by) = (b.min.x as i64, b.min.y as i64);
        outlined.draw(|gx, gy, c| {
            let (px, py) = (bx + i64::from(gx), by + i64::from(gy));
            if px >= 0 && py >= 0 && (px as usize) < w && (py as usize) < h {
                let slot = &mut cov[py as usize * w + px as usize];
                *slot = (*slot + c).min(1.0);
            }
        });
    }
    Coverage { w, h, cov }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_faces_parse_and_have_the_unit_characters() {
        for weight in [Weight::Regular, Weight::Bold] {
            let f = face(weight);
            let missing: String = "µ²³±°×−⁰¹⁴⁵⁶⁷⁸⁹…αβγΔμ"
                .chars()
                .filter(|&c| f.glyph_id(c).0 == 0)
                .collect();
            assert!(missing.is_empty(), "{missing:?} missing from {weight:?}");
        }
    }

    #[test]
    fn metrics_scale_with_size() {
        let a = metrics(10.0, Weight::Regular);
        let b = metrics(20.0, Weight::Regular);
        assert!(a.ascent > 0.0 && a.descent > 0.0);
        assert!((b.ascent - 2.0 * a.ascent).abs() < 1e-6);
        assert!((b.line_height() - 2.0 * a.line_height()).abs() < 1e-6);
        // A line is somewhat taller than the em.
        assert!(a.line_height() > 10.0 && a.line_height() < 16.0);
    }

    #[test]
    fn fit_text_cuts_to_the_width_with_an_ellipsis() {
        let long = "abcdefghij".repeat(20);
        let cut = fit_text(&long, 100.0, 12.0, Weight::Regular);
        assert!(cut.ends_with('\u{2026}'));
        assert!(text_width(&cut, 12.0, Weight::Regular) <= 100.0);
        // One more character would not have fit.
        let n = cut.chars().count() - 1;
        let longer: String = long.chars().take(n + 1).chain(['\u{2026}']).collect();
        assert!(text_width(&longer, 12.0, Weight::Regular) > 100.0);
        assert_eq!(fit_text("short", 100.0, 12.0, Weight::Regular), "short");
    }
}
