//! QR codes of Digital Link URIs, rendered to PNG (8-bit greyscale) and SVG.
use crate::error::{BatchError, Result};
use qrcode::{Color, EcLevel, QrCode};

/// Modules of white border on each side (ISO/IEC 18004 asks for 4).
pub const QUIET_ZONE: usize = 4;

/// A QR symbol as a square grid of dark (true) modules.
pub struct QrMatrix {
    pub width: usize,
    pub dark: Vec<bool>,
}

/// Encode `data` at error-correction level M (15% recovery: survives a scuffed label).
pub fn encode(data: &str) -> Result<QrMatrix> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|e| BatchError::invalid(format!("cannot encode a QR code: {e}")))?;
    let width = code.width();
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    Ok(QrMatrix { width, dark })
}

impl QrMatrix {
    fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark[y * self.width + x]
    }

    /// PNG with `scale` pixels per module and the quiet zone.
    pub fn to_png(&self, scale: usize) -> Vec<u8> {
        let scale = scale.max(1);
        let side = (self.width + 2 * QUIET_ZONE) * scale;
        let mut pixels = vec![255u8; side * side];
        for y in 0..self.width {
            for x in 0..self.width {
                if self.is_dark(x, y) {
                    for dy in 0..scale {
                        let row = (y + QUIET_ZONE) * scale + dy;
                        let start = row * side + (x + QUIET_ZONE) * scale;
                        pixels[start..start + scale].fill(0);
                    }
                }
            }
        }
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, side as u32, side as u32);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc.write_header().expect("writing to a Vec cannot fail");
            w.write_image_data(&pixels)
                .expect("writing to a Vec cannot fail");
        }
        out
    }

    /// SVG with one path of unit squares in module coordinates (scales without blur).
    pub fn to_svg(&self, title: &str) -> String {
        let side = self.width + 2 * QUIET_ZONE;
        let mut d = String::new();
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if self.is_dark(x, y) {
                    let start = x;
                    while x < self.width && self.is_dark(x, y) {
                        x += 1;
                    }
                    d.push_str(&format!(
                        "M{} {}h{}v1h-{}z",
                        start + QUIET_ZONE,
                        y + QUIET_ZONE,
                        x - start,
                        x - start
                    ));
                } else {
                    x += 1;
                }
            }
        }
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" width=\"{px}\" height=\"{px}\" shape-rendering=\"crispEdges\">\n<title>{}</title>\n<rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/>\n<path fill=\"#000\" d=\"{d}\"/>\n</svg>\n",
            exoskin_io::escape::xml(title),
            px = side * 8
        )
    }
}
