//! SVG output of the same primitives the rasterizer draws. Series lines are the only
//! `<polyline>` elements and series markers the only `<path>` elements, one per series. Text
//! stays text (searchable, editable), set in Noto Sans where the viewer has it, placed and
//! sized from the embedded font's metrics like the PNG.

use std::fmt::Write;

use crate::font::{metrics, text_width, Weight, SVG_FONT_FAMILY};
use crate::scene::{Anchor, Prim, Role, Scene, TextStyle};
use crate::Rgb;

use exoskin_io::escape::xml as escape;

/// A coordinate with at most 2 decimals and no trailing zeros.
fn num(v: f64) -> String {
    let v = if v.abs() < 0.005 { 0.0 } else { v };
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

fn hex(c: Rgb) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

fn points(pts: &[(f64, f64)]) -> String {
    let mut s = String::with_capacity(pts.len() * 12);
    for (i, &(x, y)) in pts.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{},{}", num(x), num(y));
    }
    s
}

fn prim(out: &mut String, p: &Prim) {
    match p {
        Prim::Line {
            pts,
            color,
            width,
            dash,
            role,
        } => {
            let dash_attr = dash
                .map(|(on, off)| format!(r#" stroke-dasharray="{} {}""#, num(on), num(off)))
                .unwrap_or_default();
            if *role == Role::Series {
                let _ = writeln!(
                    out,
                    r#"<polyline class="series" fill="none" stroke="{}" stroke-width="{}" stroke-linejoin="round" stroke-linecap="round"{} points="{}"/>"#,
                    hex(*color),
                    num(*width),
                    dash_attr,
                    points(pts)
                );
            } else {
                for w in pts.windows(2) {
                    let _ = writeln!(
                        out,
                        r#"<line class="{}" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="{}"{}/>"#,
                        role.class(),
                        num(w[0].0),
                        num(w[0].1),
                        num(w[1].0),
                        num(w[1].1),
                        hex(*color),
                        num(*width),
                        dash_attr
                    );
                }
            }
        }
        Prim::Polygon {
            pts,
            color,
            opacity,
            role,
        } => {
            let _ = writeln!(
                out,
                r#"<polygon class="{}" fill="{}" fill-opacity="{}" stroke="none" points="{}"/>"#,
                role.class(),
                hex(*color),
                num(*opacity),
                points(pts)
            );
        }
        Prim::Rect {
            x0,
            y0,
            x1,
            y1,
            fill,
            stroke,
            role,
        } => {
            let fill_attr = match fill {
                Some((c, a)) => format!(r#"fill="{}" fill-opacity="{}""#, hex(*c), num(*a)),
                None => r#"fill="none""#.to_string(),
            };
            let stroke_attr = match stroke {
                Some(c) => format!(r#" stroke="{}" stroke-width="1""#, hex(*c)),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                r#"<rect class="{}" x="{}" y="{}" width="{}" height="{}" {}{}/>"#,
                role.class(),
                num(x0.min(*x1)),
                num(y0.min(*y1)),
                num((x1 - x0).abs()),
                num((y1 - y0).abs()),
                fill_attr,
                stroke_attr
            );
        }
        Prim::Markers {
            pts,
            color,
            radius,
            role,
        } => {
            if *role == Role::Series {
                let mut d = String::with_capacity(pts.len() * 40);
                let r = num(*radius);
                let dia = num(2.0 * radius);
                for &(x, y) in pts {
                    let _ = write!(
                        d,
                        "M{},{}a{r},{r} 0 1,0 {dia},0a{r},{r} 0 1,0 -{dia},0Z",
                        num(x - radius),
                        num(y)
                    );
                }
                let _ = writeln!(
                    out,
                    r#"<path class="series-points" fill="{}" stroke="none" d="{}"/>"#,
                    hex(*color),
                    d
                );
            } else {
                for &(x, y) in pts {
                    let _ = writeln!(
                        out,
                        r#"<circle class="{}" cx="{}" cy="{}" r="{}" fill="{}"/>"#,
                        role.class(),
                        num(x),
                        num(y),
                        num(*radius),
                        hex(*color)
                    );
                }
            }
        }
        Prim::Text { x, y, text, style } => {
            let TextStyle {
                size,
                weight,
                color,
                anchor,
                vertical,
            } = *style;
            // The same box as the rasterizer: start of the text on a whole pixel, baseline
            // one ascent below the top (or right of the left edge, for vertical text), and
            // the width from the embedded font's advances, so that a look-alike font
            // stretches to the same extent.
            let width = text_width(text, size, weight);
            let start = match anchor {
                Anchor::Start => 0.0,
                Anchor::Middle => -width / 2.0,
                Anchor::End => -width,
            };
            let ascent = metrics(size, weight).ascent;
            let bold = if weight == Weight::Bold {
                format!(r#" font-weight="{}""#, weight.css())
            } else {
                String::new()
            };
            let common = format!(
                r#"font-size="{}"{bold} fill="{}" textLength="{}" lengthAdjust="spacingAndGlyphs""#,
                num(size),
                hex(color),
                num(width)
            );
            if vertical {
                let bx = x.round() + ascent;
                let by = (y - start).round();
                let _ = writeln!(
                    out,
                    r#"<text x="{bx}" y="{by}" {common} transform="rotate(-90 {bx} {by})">{t}</text>"#,
                    bx = num(bx),
                    by = num(by),
                    t = escape(text)
                );
            } else {
                let _ = writeln!(
                    out,
                    r#"<text x="{}" y="{}" {common}>{}</text>"#,
                    num((x + start).round()),
                    num(y.round() + ascent),
                    escape(text)
                );
            }
        }
    }
}

/// The SVG document of panels placed at the given offsets on a `width` x `height` canvas.
pub(crate) fn document(
    width: u32,
    height: u32,
    background: Rgb,
    panels: &[(f64, f64, Scene)],
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{SVG_FONT_FAMILY}">"#
    );
    let _ = writeln!(
        out,
        r#"<rect x="0" y="0" width="{width}" height="{height}" fill="{}"/>"#,
        hex(background)
    );
    for (ox, oy, scene) in panels {
        let _ = writeln!(
            out,
            r#"<g class="panel" transform="translate({},{})">"#,
            num(*ox),
            num(*oy)
        );
        for p in &scene.prims {
            prim(&mut out, p);
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    out
}
