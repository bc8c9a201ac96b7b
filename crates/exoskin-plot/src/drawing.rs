//! Free-form drawings (filled polygons, rectangles, lines, text) on the same PNG and SVG
//! back ends as the charts: for figures that are not charts, such as a face map.

use crate::font::Weight;
use crate::scene::{Anchor, Prim, Role, Scene, TextStyle, BACKGROUND};
use crate::{raster, svg, PlotError, Rgb};

/// Where a text's `x` is: its left end, middle or right end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextAnchor {
    Start,
    Middle,
    End,
}

/// How a text is set: size in px, weight, colour and anchor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextSpec {
    pub size: f64,
    pub bold: bool,
    pub color: Rgb,
    pub anchor: TextAnchor,
}

/// A drawing of `width` x `height` px on a white background.
#[derive(Debug, Clone)]
pub struct Drawing {
    width: u32,
    height: u32,
    prims: Vec<Prim>,
}

impl Drawing {
    /// An empty drawing.
    pub fn new(width: u32, height: u32) -> Drawing {
        Drawing {
            width,
            height,
            prims: Vec::new(),
        }
    }

    fn check(&self, what: &str, pts: &[(f64, f64)]) -> Result<(), PlotError> {
        if self.width == 0 || self.height == 0 {
            return Err(PlotError::ZeroSize {
                width: self.width,
                height: self.height,
            });
        }
        for (i, &(x, y)) in pts.iter().enumerate() {
            if let Some(value) = [x, y].into_iter().find(|v| !v.is_finite()) {
                return Err(PlotError::NonFinite {
                    panel: 0,
                    series: what.to_string(),
                    field: "point",
                    index: i,
                    value,
                });
            }
        }
        Ok(())
    }

    /// A filled polygon (even-odd rule).
    pub fn polygon(&mut self, pts: Vec<(f64, f64)>, fill: Rgb) -> Result<(), PlotError> {
        self.check("polygon", &pts)?;
        self.prims.push(Prim::Polygon {
            pts,
            color: fill,
            opacity: 1.0,
            role: Role::Series,
        });
        Ok(())
    }

    /// An open polyline.
    pub fn line(&mut self, pts: Vec<(f64, f64)>, color: Rgb, width: f64) -> Result<(), PlotError> {
        self.check("line", &pts)?;
        self.prims.push(Prim::Line {
            pts,
            color,
            width,
            dash: None,
            role: Role::Axis,
        });
        Ok(())
    }

    /// A rectangle, filled and outlined in `stroke` when given.
    pub fn rect(
        &mut self,
        (x0, y0): (f64, f64),
        (x1, y1): (f64, f64),
        fill: Rgb,
        stroke: Option<Rgb>,
    ) -> Result<(), PlotError> {
        self.check("rect", &[(x0, y0), (x1, y1)])?;
        self.prims.push(Prim::Rect {
            x0,
            y0,
            x1,
            y1,
            fill: Some((fill, 1.0)),
            stroke,
            role: Role::Legend,
        });
        Ok(())
    }

    /// Text whose box's top is at `y`.
    pub fn text(
        &mut self,
        x: f64,
        y: f64,
        text: impl Into<String>,
        spec: TextSpec,
    ) -> Result<(), PlotError> {
        self.check("text", &[(x, y)])?;
        self.prims.push(Prim::Text {
            x,
            y,
            text: text.into(),
            style: TextStyle {
                size: spec.size,
                weight: if spec.bold {
                    Weight::Bold
                } else {
                    Weight::Regular
                },
                color: spec.color,
                anchor: match spec.anchor {
                    TextAnchor::Start => Anchor::Start,
                    TextAnchor::Middle => Anchor::Middle,
                    TextAnchor::End => Anchor::End,
                },
                vertical: false,
            },
        });
        Ok(())
    }

    /// PNG bytes (8-bit RGB).
    pub fn to_png(&self) -> Result<Vec<u8>, PlotError> {
        self.check("drawing", &[])?;
        let mut canvas = raster::Canvas::new(self.width as usize, self.height as usize, BACKGROUND);
        for p in &self.prims {
            canvas.draw(p, 0.0, 0.0);
        }
        Ok(canvas.encode_png()?)
    }

    /// The SVG document.
    pub fn to_svg(&self) -> Result<String, PlotError> {
        self.check("drawing", &[])?;
        let scene = Scene {
            prims: self.prims.clone(),
        };
        Ok(svg::document(
            self.width,
            self.height,
            BACKGROUND,
            &[(0.0, 0.0, scene)],
        ))
    }
}
