//! Label photos read by Tesseract (Debian's tesseract-ocr with tesseract-ocr-eng), run as a
//! subprocess with a time limit: the image goes in on stdin, the text comes out on stdout.

use crate::{WebConfig, WebError};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Whether the Tesseract program can be started.
pub fn available(cfg: &WebConfig) -> bool {
    Command::new(&cfg.tesseract)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The text in a photo (PNG or JPEG). Tesseract is killed when it runs past the OCR time
/// limit or `stop` says so (the request's time limit, or the request went away).
pub fn read_text(
    cfg: &WebConfig,
    image: &[u8],
    stop: &dyn Fn() -> bool,
) -> Result<String, WebError> {
    crate::qr::check_image(image)?;
    let mut child = Command::new(&cfg.tesseract)
        .args(["stdin", "stdout", "-l", "eng", "--psm", "6"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => WebError::OcrMissing {
                program: cfg.tesseract.display().to_string(),
            },
            _ => WebError::OcrFailed {
                message: format!("cannot start {}: {e}", cfg.tesseract.display()),
            },
        })?;
    // Feed stdin from a thread so a full stdout pipe cannot deadlock us.
    let mut stdin = child.stdin.take();
    let data = image.to_vec();
    let feeder = std::thread::spawn(move || {
        if let Some(s) = stdin.as_mut() {
            let _ = s.write_all(&data);
        }
    });
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = stdout.as_mut() {
            let _ = o.read_to_string(&mut s);
        }
        s
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if stop() => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(WebError::OcrFailed {
                    message: "stopped".into(),
                });
            }
            Ok(None) if started.elapsed() > cfg.ocr_timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(WebError::OcrTimeout {
                    seconds: cfg.ocr_timeout.as_secs(),
                });
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(20)),
            Err(e) => {
                return Err(WebError::OcrFailed {
                    message: e.to_string(),
                })
            }
        }
    };
    let _ = feeder.join();
    let text = reader.join().unwrap_or_default();
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        return Err(WebError::OcrFailed {
            message: format!("tesseract exited with {status}: {}", err.trim()),
        });
    }
    Ok(text)
}
