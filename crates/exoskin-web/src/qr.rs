//! Batch QR codes in photos and camera frames: decoded with rqrr, read as a GS1 Digital
//! Link, and sent to this server's resolver page.
//!
//! Decoding is bounded before and during the work, so any upload answers quickly:
//! - the image's size is read from its header and refused past [`MAX_PIXELS`] before any
//!   pixel is decoded, and the decoder's allocations are capped ([`MAX_DECODE_BYTES`]);
//! - images wider or taller than [`MAX_SIDE`] are scaled down before the search;
//! - the search reads the pixels through a meter: past [`WORK_PER_PIXEL`] reads and writes
//!   per pixel, or [`TIME_LIMIT`], or when the caller says stop, it is abandoned. (Images
//!   tiled with finder-pattern look-alikes make the search try every triple of them, each
//!   on a copy of the image.)

use crate::WebError;
use exoskin_batch::gs1::DigitalLink;
use image::{GenericImage, GenericImageView, GrayImage, Luma};
use std::cell::Cell;
use std::io::Cursor;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// The largest image accepted, in pixels (a 12-megapixel phone photo fits).
pub const MAX_PIXELS: u64 = 16_000_000;
/// The most bytes the image decoder may allocate.
pub const MAX_DECODE_BYTES: u64 = 192 * 1024 * 1024;
/// Longer sides are scaled down to this before the search (a QR code in a photo needs a
/// few hundred pixels).
pub const MAX_SIDE: u32 = 2048;
/// Pixel reads and writes the search may make per pixel of the (scaled) image (and at least
/// 16 Mi in all); a frame or photo holding one code takes 6 to 20.
pub const WORK_PER_PIXEL: u64 = 200;
/// The longest the search may take.
pub const TIME_LIMIT: Duration = Duration::from_millis(1500);

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

/// Why the metered search was abandoned (the unwinding payload).
struct OutOfWork;

/// The search's allowance, shared by the image and its copies.
struct Meter<'a> {
    used: Cell<u64>,
    budget: u64,
    deadline: Instant,
    stop: &'a dyn Fn() -> bool,
}

impl Meter<'_> {
    fn spend(&self, n: u64) {
        let before = self.used.get();
        let after = before.saturating_add(n);
        self.used.set(after);
        // Checked every 64 Ki units (and on every large step): cheap next to the search.
        if before >> 16 != after >> 16
            && (after > self.budget || Instant::now() >= self.deadline || (self.stop)())
        {
            std::panic::resume_unwind(Box::new(OutOfWork));
        }
    }
}

/// A greyscale image whose every pixel read and write (and every copy) is metered.
struct Metered<'a> {
    img: GrayImage,
    meter: Rc<Meter<'a>>,
}

// The finder-pattern grouping copies the whole image per candidate: copies are metered
// by their size.
impl Clone for Metered<'_> {
    fn clone(&self) -> Self {
        self.meter
            .spend(u64::from(self.img.width()) * u64::from(self.img.height()));
        Metered {
            img: self.img.clone(),
            meter: self.meter.clone(),
        }
    }
}

impl GenericImageView for Metered<'_> {
    type Pixel = Luma<u8>;
    fn dimensions(&self) -> (u32, u32) {
        self.img.dimensions()
    }
    fn get_pixel(&self, x: u32, y: u32) -> Luma<u8> {
        self.meter.spend(1);
        *self.img.get_pixel(x, y)
    }
}

#[allow(deprecated)]
impl GenericImage for Metered<'_> {
    fn get_pixel_mut(&mut self, x: u32, y: u32) -> &mut Luma<u8> {
        self.meter.spend(1);
        self.img.get_pixel_mut(x, y)
    }
    fn put_pixel(&mut self, x: u32, y: u32, pixel: Luma<u8>) {
        self.meter.spend(1);
        self.img.put_pixel(x, y, pixel);
    }
    fn blend_pixel(&mut self, x: u32, y: u32, pixel: Luma<u8>) {
        self.meter.spend(1);
        self.img.blend_pixel(x, y, pixel);
    }
}

/// The text of every QR code in an image; the search stops early (with an error) past its
/// work or time allowance, or when `stop` says so.
pub fn decode(bytes: &[u8], stop: &dyn Fn() -> bool) -> Result<Vec<String>, WebError> {
    let gray = load_gray(bytes)?;
    let pixels = u64::from(gray.width()) * u64::from(gray.height());
    let meter = Rc::new(Meter {
        used: Cell::new(0),
        budget: pixels.saturating_mul(WORK_PER_PIXEL).max(1 << 24),
        deadline: Instant::now() + TIME_LIMIT,
        stop,
    });
    let img = Metered {
        img: gray,
        meter: meter.clone(),
    };
    let found = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let mut prepared = rqrr::PreparedImage::prepare(img);
        prepared
            .detect_grids()
            .into_iter()
            .filter_map(|g| g.decode().ok().map(|(_, text)| text))
            .collect::<Vec<String>>()
    }));
    match found {
        Ok(texts) => Ok(texts),
        Err(payload) if payload.is::<OutOfWork>() => Err(WebError::QrTooComplex),
        Err(payload) => std::panic::resume_unwind(payload),
    }
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
}
