//! Batch QR codes in photos and camera frames: decoded with rqrr, read as a GS1 Digital
//! Link, and sent to this server's resolver page.
//!
//! Decoding is bounded before the work starts, so any upload answers quickly:
//! - the image's size is read from its header and refused past [`MAX_PIXELS`] before any
//!   pixel is decoded, and the decoder's allocations are capped ([`MAX_DECODE_BYTES`]);
//! - images wider or taller than [`MAX_SIDE`] are scaled down before the search;
//! - the search's cost is bounded before it runs ([`search_cost`]). rqrr cannot be stopped
//!   once it searches, and its cost grows with the shapes that look like a QR code's corner
//!   squares (finder patterns): it tries pairs of neighbours for each one, each try on a
//!   copy of the image, and re-fills regions it has evicted from its cache of 251. So the
//!   image is thresholded by rqrr itself, its finder-pattern candidates are counted as
//!   rqrr would find them (a superset), and an image with more than [`MAX_CAPSTONES`] of
//!   them, or whose region fills could pass [`WORK_PER_PIXEL`] per pixel, is refused
//!   before the search starts.

use crate::WebError;
use exoskin_batch::gs1::DigitalLink;
use image::GrayImage;
use std::io::Cursor;

/// The largest image accepted, in pixels (a 12-megapixel phone photo fits).
pub const MAX_PIXELS: u64 = 16_000_000;
/// The most bytes the image decoder may allocate.
pub const MAX_DECODE_BYTES: u64 = 192 * 1024 * 1024;
/// Longer sides are scaled down to this before the search (a QR code in a photo needs a
/// few hundred pixels).
pub const MAX_SIDE: u32 = 2048;
/// Region-fill work (pixels) the search may need per pixel of the (scaled) image, and at
/// least 16 Mi in all (assumption: a frame or photo holding one code needs a few).
pub const WORK_PER_PIXEL: u64 = 200;
/// The most finder-pattern candidates an image may have (assumption: one code has 3, a few
/// codes or look-alikes in a photo a handful). With `c` candidates rqrr tries at most
/// `c * floor((c-1)/2) * ceil((c-1)/2)` groupings (each candidate's horizontal and vertical
/// neighbour lists are disjoint), one image copy each: 144 at 9.
pub const MAX_CAPSTONES: usize = 9;

/// Refuse anything that is not a PNG or JPEG by its signature.
pub fn check_image(bytes: &[u8]) -> Result<(), WebError> {
    let png = bytes.starts_with(b"\x89PNG\r\n\x1a\n");
    let jpeg = bytes.starts_with(&[0xFF, 0xD8, 0xFF]);
    if png || jpeg {
        Ok(())
    } else {
        Err(WebError::Image {
            message: "not a PNG or JPEG file".into(),
        })
    }
}

fn reader(bytes: &[u8]) -> Result<image::ImageReader<Cursor<&[u8]>>, WebError> {
    image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| WebError::Image {
            message: e.to_string(),
        })
}

/// The image as greyscale, its size checked from the header before anything is decoded,
/// and scaled down to [`MAX_SIDE`].
pub fn load_gray(bytes: &[u8]) -> Result<GrayImage, WebError> {
    check_image(bytes)?;
    let (w, h) = reader(bytes)?
        .into_dimensions()
        .map_err(|e| WebError::Image {
            message: e.to_string(),
        })?;
    let pixels = u64::from(w) * u64::from(h);
    if pixels > MAX_PIXELS {
        return Err(WebError::ImageTooLarge {
            width: w,
            height: h,
            limit_mp: MAX_PIXELS as f64 / 1e6,
        });
    }
    let mut r = reader(bytes)?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(w);
    limits.max_image_height = Some(h);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    r.limits(limits);
    let img = r.decode().map_err(|e| WebError::Image {
        message: e.to_string(),
    })?;
    let gray = img.to_luma8();
    drop(img);
    if w.max(h) > MAX_SIDE {
        let s = f64::from(MAX_SIDE) / f64::from(w.max(h));
        let nw = ((f64::from(w) * s).round() as u32).max(1);
        let nh = ((f64::from(h) * s).round() as u32).max(1);
        return Ok(image::imageops::thumbnail(&gray, nw, nh));
    }
    Ok(gray)
}

/// What rqrr's search of a thresholded image could cost, counted before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchCost {
    /// Finder-pattern candidates: distinct rings that pass the checks rqrr makes before it
    /// takes a shape as a finder pattern (an upper bound on the ones it takes).
    pub capstones: usize,
    /// Pixels rqrr's region fills could touch while it looks for finder patterns (each
    /// look-up fills at most its whole region, again after an eviction).
    pub fill_work: u64,
}

/// The finder pattern's run ratio along a line: dark, light, dark, light, dark as
/// 1:1:3:1:1 (ISO/IEC 18004:2015, Information technology - QR Code bar code symbology
/// specification, 6.3.3).
const FINDER_RUNS: [usize; 5] = [1, 1, 3, 1, 1];

/// Whether five runs (dark first) may be a finder pattern's: each within 3/4 of the mean
/// module width of its 1:1:3:1:1 share, as rqrr's line scanner accepts them, widened by a
/// pixel either way so that this accepts everything rqrr does.
fn finder_runs(runs: &[usize]) -> bool {
    let module = (runs[0] + runs[1] + runs[3] + runs[4]) / 4;
    let slack = module * 3 / 4 + 1;
    runs.iter()
        .zip(FINDER_RUNS)
        .all(|(&r, k)| r + slack >= k * module && r <= k * module + slack)
}

/// Count what rqrr's search would cost on `bin`, a `w` x `h` image thresholded by rqrr
/// (1 dark, 0 light), row by row.
///
/// Dark pixels are joined into 4-connected regions as rqrr's flood fill joins them. Along
/// each row, every five runs dark, light, dark, light, dark that [`finder_runs`] accepts
/// is a hit: rqrr then looks up the region of the last dark run (the ring) and of the
/// middle one (the stone), and takes a finder pattern only when they differ and the
/// stone has 10 % to 70 % of the ring's pixels; taking one claims its ring, so each ring
/// gives at most one.
pub fn search_cost(bin: &[u8], w: usize, h: usize) -> SearchCost {
    const NONE: u32 = u32::MAX;
    let dark = |p: usize| bin[p] == 1;
    let mut label = vec![NONE; w * h];
    let mut sizes: Vec<u64> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    for start in 0..w * h {
        if !dark(start) || label[start] != NONE {
            continue;
        }
        let id = sizes.len() as u32;
        let mut n = 0u64;
        label[start] = id;
        stack.push(start);
        while let Some(p) = stack.pop() {
            n += 1;
            let (x, y) = (p % w, p / w);
            let around = [
                (x > 0).then(|| p - 1),
                (x + 1 < w).then(|| p + 1),
                (y > 0).then(|| p - w),
                (y + 1 < h).then(|| p + w),
            ];
            for q in around.into_iter().flatten() {
                if dark(q) && label[q] == NONE {
                    label[q] = id;
                    stack.push(q);
                }
            }
        }
        sizes.push(n);
    }
    let mut rings: Vec<u32> = Vec::new();
    let mut fill_work = 0u64;
    // (start, length) of the runs of one row; runs alternate, the first one's colour is
    // the row's first pixel's.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for y in 0..h {
        let row = &bin[y * w..(y + 1) * w];
        runs.clear();
        let mut from = 0;
        for x in 1..=w {
            if x == w || row[x] != row[from] {
                runs.push((from, x - from));
                from = x;
            }
        }
        let first_dark = row.first() == Some(&1);
        for k in 4..runs.len() {
            // Dark runs are the even ones when the row starts dark, else the odd ones.
            if (k % 2 == 0) != first_dark {
                continue;
            }
            let lens: Vec<usize> = runs[k - 4..=k].iter().map(|r| r.1).collect();
            if !finder_runs(&lens) {
                continue;
            }
            let ring = label[y * w + runs[k].0];
            let stone = label[y * w + runs[k - 2].0];
            let (rs, ss) = (sizes[ring as usize], sizes[stone as usize]);
            fill_work = fill_work.saturating_add(rs + ss);
            let ratio = ss * 100 / rs.max(1);
            if ring != stone && 10 < ratio && ratio < 70 {
                rings.push(ring);
            }
        }
    }
    rings.sort_unstable();
    rings.dedup();
    for r in &rings {
        // Taking a finder pattern repaints its ring twice.
        fill_work = fill_work.saturating_add(2 * sizes[*r as usize]);
    }
    SearchCost {
        capstones: rings.len(),
        fill_work,
    }
}

/// The text of every QR code in an image; an image whose search could take too long
/// ([`search_cost`]) is refused before it starts, and `stop` is asked before the search
/// and before each code is read.
pub fn decode(bytes: &[u8], stop: &dyn Fn() -> bool) -> Result<Vec<String>, WebError> {
    let gray = load_gray(bytes)?;
    let (w, h) = (gray.width() as usize, gray.height() as usize);
    let mut prepared = rqrr::PreparedImage::prepare(gray);
    let bin: Vec<u8> = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .map(|(x, y)| u8::from(prepared.get_pixel_at(x, y)))
        .collect();
    let cost = search_cost(&bin, w, h);
    drop(bin);
    let budget = (w as u64 * h as u64)
        .saturating_mul(WORK_PER_PIXEL)
        .max(1 << 24);
    if cost.capstones > MAX_CAPSTONES || cost.fill_work > budget || stop() {
        return Err(WebError::QrTooComplex);
    }
    let mut texts = Vec::new();
    for grid in prepared.detect_grids() {
        if stop() {
            return Err(WebError::QrTooComplex);
        }
        if let Ok((_, text)) = grid.decode() {
            texts.push(text);
        }
    }
    Ok(texts)
}

/// The path and query of a Digital Link URI (`/01/<gtin>/10/<lot>?17=...`): everything the
/// resolver checks, with the scheme, host and any fragment dropped, and bytes that have no
/// place in a URL query percent-encoded.
fn resolver_target(uri: &str, link: &DigitalLink) -> String {
    let mut out = link.path();
    let after_host = match uri.find("://") {
        Some(i) => {
            let rest = &uri[i + 3..];
            &rest[rest.find('/').unwrap_or(rest.len())..]
        }
        None => uri,
    };
    let without_fragment = after_host.split('#').next().unwrap_or("");
    if let Some((_, query)) = without_fragment.split_once('?') {
        if !query.is_empty() {
            out.push('?');
            for b in query.bytes() {
                if b.is_ascii_graphic() && !matches!(b, b'"' | b'<' | b'>' | b'\\' | b'`') {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

/// The batch link in an image: its URI and the resolver target on this server
/// (`/01/<gtin>/10/<lot>`, with the link's query, e.g. `?17=<expiry>`, so the resolver
/// checks the printed expiry against the certificate).
pub fn decode_batch_link(
    bytes: &[u8],
    stop: &dyn Fn() -> bool,
) -> Result<(String, String), WebError> {
    let texts = decode(bytes, stop)?;
    let mut last = None;
    for t in texts {
        match DigitalLink::parse(&t) {
            Ok(link) => {
                let target = resolver_target(&t, &link);
                return Ok((t, target));
            }
            Err(e) => last = Some(format!("`{t}`: {e}")),
        }
    }
    Err(match last {
        Some(message) => WebError::QrNotBatch { message },
        None => WebError::QrNotFound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resolver_target_keeps_the_query_and_drops_the_fragment() {
        let uri = "https://id.example.com/01/09506000134352/10/AB-12?17=270131&3103=000189#x";
        let link = DigitalLink::parse(uri).unwrap();
        assert_eq!(
            resolver_target(uri, &link),
            "/01/09506000134352/10/AB-12?17=270131&3103=000189"
        );
        let bare = "https://id.example.com/01/09506000134352/10/AB";
        let link = DigitalLink::parse(bare).unwrap();
        assert_eq!(resolver_target(bare, &link), "/01/09506000134352/10/AB");
        let odd = "/01/09506000134352/10/AB?17=270131&x=a b\"<";
        let link = DigitalLink::parse(odd).unwrap();
        assert_eq!(
            resolver_target(odd, &link),
            "/01/09506000134352/10/AB?17=270131&x=a%20b%22%3C"
        );
    }

    /// A greyscale PNG of `n` x `n` finder patterns (7 x 7 modules and a 1-module gap) of
    /// `module` pixels per module.
    fn tiled_finder_patterns(n: u32, module: u32) -> Vec<u8> {
        let period = 8 * module;
        let side = n * period;
        let img = GrayImage::from_fn(side, side, |x, y| {
            let (mx, my) = ((x % period) / module, (y % period) / module);
            let dark = mx < 7 && my < 7 && mx.min(my).min(6 - mx).min(6 - my) != 1;
            image::Luma([if dark { 0 } else { 255 }])
        });
        let mut png = Vec::new();
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        png
    }

    fn cost_of(png: &[u8]) -> SearchCost {
        let gray = load_gray(png).unwrap();
        let (w, h) = (gray.width() as usize, gray.height() as usize);
        let prepared = rqrr::PreparedImage::prepare(gray);
        let bin: Vec<u8> = (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .map(|(x, y)| u8::from(prepared.get_pixel_at(x, y)))
            .collect();
        search_cost(&bin, w, h)
    }

    #[test]
    fn finder_patterns_are_counted_as_the_decoder_finds_them() {
        let code = exoskin_batch::qr::encode("https://id.example.com/01/09506000134352/10/A1")
            .unwrap()
            .to_png(8);
        // The code's three finder patterns, and at most a stray look-alike from its data.
        let c = cost_of(&code).capstones;
        assert!((3..=4).contains(&c), "{c}");
        for n in [1, 2, 3, 4] {
            assert_eq!(
                cost_of(&tiled_finder_patterns(n, 6)).capstones,
                (n * n) as usize
            );
        }
        assert!(finder_runs(&[2, 2, 6, 2, 2]) && finder_runs(&[3, 2, 7, 2, 3]));
        assert!(!finder_runs(&[2, 2, 2, 2, 2]) && !finder_runs(&[2, 9, 6, 2, 2]));
    }

    #[test]
    fn the_largest_search_allowed_is_quick_and_one_more_pattern_is_refused() {
        // 3 x 3 patterns (9, the most allowed, all in rows and columns so that every
        // pairing is tried) filling the largest side searched.
        let module = MAX_SIDE / 24;
        let png = tiled_finder_patterns(3, module);
        let t = std::time::Instant::now();
        let found = decode(&png, &|| false).unwrap();
        let took = t.elapsed();
        assert!(found.is_empty(), "{found:?}");
        eprintln!(
            "9 finder patterns at {0} x {0}: searched in {took:?}",
            24 * module
        );
        assert!(took < std::time::Duration::from_secs(3), "{took:?}");
        let png = tiled_finder_patterns(4, MAX_SIDE / 32);
        assert!(matches!(
            decode(&png, &|| false),
            Err(WebError::QrTooComplex)
        ));
        // A stop asked before the search is honoured.
        let code = exoskin_batch::qr::encode("https://id.example.com/01/09506000134352/10/A1")
            .unwrap()
            .to_png(8);
        assert_eq!(decode(&code, &|| false).unwrap().len(), 1);
        assert!(matches!(
            decode(&code, &|| true),
            Err(WebError::QrTooComplex)
        ));
    }
}
