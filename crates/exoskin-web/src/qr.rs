//! Batch QR codes in photos and camera frames: decoded with rqrr, read as a GS1 Digital
//! Link, and sent to this server's resolver page.

use crate::WebError;
use exoskin_batch::gs1::DigitalLink;

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

/// The text of every QR code in an image.
pub fn decode(bytes: &[u8]) -> Result<Vec<String>, WebError> {
    check_image(bytes)?;
    let img = image::load_from_memory(bytes).map_err(|e| WebError::Image {
        message: e.to_string(),
    })?;
    let luma = img.to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(luma);
    Ok(prepared
        .detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, text)| text))
        .collect())
}

/// The batch link in an image: its URI and the resolver path (`/01/<gtin>/10/<lot>...`).
pub fn decode_batch_link(bytes: &[u8]) -> Result<(String, String), WebError> {
    let texts = decode(bytes)?;
    let mut last = None;
    for t in texts {
        match DigitalLink::parse(&t) {
            Ok(link) => return Ok((t, link.path())),
            Err(e) => last = Some(format!("`{t}`: {e}")),
        }
    }
    Err(match last {
        Some(message) => WebError::QrNotBatch { message },
        None => WebError::QrNotFound,
    })
}
