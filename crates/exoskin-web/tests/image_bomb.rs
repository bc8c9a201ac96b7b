//! A decompression bomb (a small PNG whose header declares a huge image) is refused from
//! its header, before any pixel is decoded. Its own test binary, so the peak memory it
//! measures is its own.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use exoskin_web::{router, WebConfig};
use std::io::Write;
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// The peak resident memory of this process so far (kB).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// A black greyscale PNG of `w` x `h` pixels, written row by row (never whole in memory).
fn bomb(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Best);
    let mut writer = enc.write_header().unwrap();
    let mut rows = writer.stream_writer().unwrap();
    let row = vec![0u8; w as usize];
    for _ in 0..h {
        rows.write_all(&row).unwrap();
    }
    rows.finish().unwrap();
    writer.finish().unwrap();
    out
}

#[test]
fn a_decompression_bomb_is_refused_from_its_header_without_decoding() {
    // 16000 x 8000: 128 megapixels, 128 MB as greyscale, in well under 1 MiB of PNG.
    let png = bomb(16_000, 8_000);
    assert!(png.len() < 1 << 20, "{} bytes", png.len());
    let before = peak_rss_kib();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = router(WebConfig::default());
        let started = Instant::now();
        let r = tokio::time::timeout(
            Duration::from_secs(60),
            app.oneshot(
                Request::post("/api/v1/qr")
                    .header("content-type", "image/png")
                    .body(Body::from(png))
                    .unwrap(),
            ),
        )
        .await
        .expect("an answer within a minute")
        .unwrap();
        let took = started.elapsed();
        let status = r.status();
        let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        let e: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        let m = e["message"].as_str().unwrap();
        assert!(
            m.contains("16000 x 8000") && m.contains("megapixels"),
            "{m}"
        );
        assert!(took < Duration::from_secs(1), "{took:?}");
    });
    let grew_mib = peak_rss_kib().saturating_sub(before) / 1024;
    assert!(grew_mib < 64, "peak memory grew by {grew_mib} MiB");
}
