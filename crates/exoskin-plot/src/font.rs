//! The bitmap font: 8x8 glyphs from `font8x8` (public domain IBM-PC style shapes), so that
//! rendering needs no system fonts.

use font8x8::legacy::{BASIC_LEGACY, GREEK_LEGACY, LATIN_LEGACY};

/// Width and height of one glyph cell at scale 1, in pixels.
pub(crate) const GLYPH_PX: f64 = 8.0;

/// The 8 rows of a glyph; bit 0 of each row is the leftmost pixel. Characters the font lacks
/// are drawn as `?`; a few typographic characters are mapped to their ASCII look-alikes.
pub(crate) fn glyph(c: char) -> [u8; 8] {
    let c = match c {
        '\u{2212}' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' => '-',
        '\u{2018}' | '\u{2019}' => '\'',
        '\u{201C}' | '\u{201D}' => '"',
        '\t' => ' ',
        other => other,
    };
    let cp = c as u32;
    match cp {
        0x20..=0x7E => BASIC_LEGACY[cp as usize],
        0xA0..=0xFF => LATIN_LEGACY[(cp - 0xA0) as usize],
        0x390..=0x3C9 => GREEK_LEGACY[(cp - 0x390) as usize],
        _ => BASIC_LEGACY[b'?' as usize],
    }
}

/// Width in pixels of `text` drawn at `scale`.
pub(crate) fn text_width(text: &str, scale: u32) -> f64 {
    text.chars().count() as f64 * GLYPH_PX * f64::from(scale)
}

/// `text` cut to at most `max_px` pixels wide at `scale`, ending in ".." when cut.
pub(crate) fn fit_text(text: &str, max_px: f64, scale: u32) -> String {
    if text_width(text, scale) <= max_px {
        return text.to_string();
    }
    let cell = GLYPH_PX * f64::from(scale);
    let max_chars = (max_px / cell).floor().max(0.0) as usize;
    if max_chars < 3 {
        return text.chars().take(max_chars).collect();
    }
    let mut out: String = text.chars().take(max_chars - 2).collect();
    out.push_str("..");
    out
}
