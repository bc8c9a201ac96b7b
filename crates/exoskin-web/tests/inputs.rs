//! Hostile images through the router (fixed sizes; every test stops by itself): a PNG tiled
//! with finder patterns that ties up the QR search; and a scanned link whose expiry must
//! reach the resolver.

use axum::http::StatusCode;
use exoskin_web::{router, WebConfig};
use std::time::{Duration, Instant};

mod common;
use common::*;

/// A greyscale PNG `n` x `n` finder patterns (7 x 7 modules and a 1-module gap), 2 pixels
/// per module.
fn tiled_finder_patterns(n: u32) -> Vec<u8> {
    let module = 2;
    let period = 8 * module;
    let side = n * period;
    let img = image::GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = ((x % period) / module, (y % period) / module);
        let dark = if mx >= 7 || my >= 7 {
            false
        } else {
            let ring = mx.min(my).min(6 - mx).min(6 - my);
            ring != 1
        };
        image::Luma([if dark { 0 } else { 255 }])
    });
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, side, side);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Best);
    let mut w = enc.write_header().unwrap();
    w.write_image_data(img.as_raw()).unwrap();
    w.finish().unwrap();
    out
}

#[test]
fn a_png_tiled_with_finder_patterns_is_answered_within_two_seconds() {
    // As many patterns as fit in about 3.4 KB.
    let mut n = 8;
    while tiled_finder_patterns(n + 1).len() <= 3400 {
        n += 1;
    }
    let png = tiled_finder_patterns(n);
    assert!(png.len() <= 3400 && png.len() > 1000, "{} bytes", png.len());
    rt().block_on(async {
        let app = router(WebConfig {
            max_jobs: 2,
            workers: 1,
            ..Default::default()
        });
        let started = Instant::now();
        let answer = tokio::time::timeout(
            Duration::from_secs(30),
            call(&app, post("/api/v1/qr", "image/png", png.clone())),
        )
        .await;
        let took = started.elapsed();
        let (s, b) = answer.unwrap_or_else(|_| {
            panic!(
                "{} x {} finder patterns ({} bytes): no answer after {took:?}",
                n,
                n,
                png.len()
            )
        });
        eprintln!(
            "{n} x {n} finder patterns, {} bytes of PNG: answered {s} in {took:?}",
            png.len()
        );
        assert!(
            took < Duration::from_secs(2),
            "{n} x {n} finder patterns ({} bytes) took {took:?}",
            png.len()
        );
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert_eq!(json(&b)["field"], "body");
    });
}

#[test]
fn a_real_code_still_decodes_at_camera_sizes() {
    // A code filling a third of a 1920 x 1080 frame, and a small code in a 12 MP photo.
    let code = exoskin_batch::qr::encode("https://id.example.com/01/09506000134352/10/A1")
        .unwrap()
        .to_png(12);
    let code = image::load_from_memory(&code).unwrap().to_luma8();
    for (w, h) in [(1920u32, 1080u32), (4000, 3000)] {
        let mut frame = image::GrayImage::from_pixel(w, h, image::Luma([200]));
        image::imageops::overlay(&mut frame, &code, 300, 200);
        let mut png = Vec::new();
        frame
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let started = Instant::now();
        let texts = exoskin_web::qr::decode_batch_link(&png, &|| false);
        let took = started.elapsed();
        let (uri, path) = texts.unwrap_or_else(|e| panic!("{w} x {h}: {e}"));
        assert_eq!(uri, "https://id.example.com/01/09506000134352/10/A1");
        assert_eq!(path, "/01/09506000134352/10/A1");
        assert!(took < Duration::from_secs(2), "{w} x {h}: {took:?}");
    }
}

#[test]
fn the_scan_keeps_the_links_expiry_for_the_resolver() {
    let link = "https://id.example.com/01/09506000134352/10/LOT-7?17=270131";
    let png = exoskin_batch::qr::encode(link).unwrap().to_png(4);
    rt().block_on(async {
        let app = router(WebConfig::default());
        let (s, b) = call(&app, post("/api/v1/qr", "image/png", png)).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let v = json(&b);
        assert_eq!(v["uri"], link);
        assert_eq!(v["path"], "/01/09506000134352/10/LOT-7?17=270131");
    });
}
