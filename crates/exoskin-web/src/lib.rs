//! exoskin-web: the web app. An HTTP API for what the CLI does (simulate, label, trial,
//! power, certificate checks) and the pages that use it, as one axum [`Router`] that
//! `exoskin serve` mounts beside the registry and resolver (one server, one port; the
//! registry's connection caps, timeouts and per-client limits guard both).
//!
//! - [`api`]: the JSON API under `/api/v1`; documents come from `exoskin-api`, the same
//!   code the CLI prints, so the API's JSON is the CLI's;
//! - [`jobs`]: the bounded job queue CPU-heavy work runs on (429 past its limit);
//! - [`pages`]: server-rendered pages (maud) with embedded CSS and a little JS;
//! - [`openapi`]: the OpenAPI 3.1 document, generated from the handlers;
//! - [`ocr`] and [`qr`]: reading label photos (Tesseract) and batch QR codes (rqrr).

use axum::Router;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub mod api;
pub mod certificate;
pub mod jobs;
pub mod ocr;
pub mod openapi;
pub mod pages;
pub mod qr;

/// What went wrong in the web app's own work (OCR, QR codes, uploads).
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("OCR is not available on this server: `{program}` was not found (install Debian's tesseract-ocr and tesseract-ocr-eng)")]
    OcrMissing { program: String },
    #[error("OCR took longer than {seconds} s; send a smaller or clearer photo")]
    OcrTimeout { seconds: u64 },
    #[error("OCR failed: {message}")]
    OcrFailed { message: String },
    #[error("the image could not be read: {message}; send a PNG or JPEG photo")]
    Image { message: String },
    #[error("no QR code was found in the image; hold the code flat, in focus and filling a third of the frame")]
    QrNotFound,
    #[error("the QR code does not hold a batch link: {message}")]
    QrNotBatch { message: String },
    #[error("the image is {width} x {height} pixels, more than the limit of {limit_mp} megapixels; send a smaller photo (a QR code needs a few hundred pixels across)")]
    ImageTooLarge {
        width: u32,
        height: u32,
        limit_mp: f64,
    },
    #[error("the image has too many shapes like a QR code's corner squares to search in time; crop the photo to the one code and send it again")]
    QrTooComplex,
    /// An uploaded trial names arm scenarios, but the server's data directory has none.
    #[error("this server has no scenario files (its data directory has no scenarios/); ask its operator to start it with --data-dir at the repository root")]
    NoScenarioFiles,
    /// An uploaded trial's arm `index` names a scenario outside the server's scenario
    /// files (`scenario` as given, escaped).
    #[error("arms[{index}].scenario: `{scenario}` is not one of the server's scenario files; name a file under scenarios/ relative to trials/, e.g. \"../scenarios/in_vivo_microneedling.toml\"")]
    ArmScenarioOutside { index: usize, scenario: String },
}

/// Limits and places of the web app.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Jobs queued or running at once, direct runs included; past it requests get 429.
    pub max_jobs: usize,
    /// Jobs running at once (each on a blocking thread).
    pub workers: usize,
    /// Largest JSON or TOML request body.
    pub max_body_bytes: usize,
    /// Largest uploaded photo.
    pub max_upload_bytes: usize,
    /// The directory holding `trials/` (trial files name their scenarios relative to it).
    pub data_dir: PathBuf,
    /// The Tesseract program.
    pub tesseract: PathBuf,
    pub ocr_timeout: Duration,
    /// Finished jobs kept for `GET /api/v1/jobs/{id}`.
    pub keep_finished: usize,
    /// Jobs one client address (IPv4, or IPv6 /64) may have queued or running at once,
    /// direct runs included (0: no limit); past it that client gets 429.
    pub max_jobs_per_client: usize,
    /// A job's time limit (trial, power, claims), from when it starts running.
    pub job_timeout: Duration,
    /// The time limit of work answered in the request (simulate, QR, OCR), from when the
    /// request is queued; below the server's request timeout so the answer is this app's
    /// 408 with its reason.
    pub direct_timeout: Duration,
    /// The most a simulation answered in the request may be estimated to need, checked
    /// before it starts (a refusal names the key to change). The estimates err long (by
    /// about 1.3x to 13x), so the time is a few times `direct_timeout`; a run that gets
    /// past it still stops at `direct_timeout`.
    pub direct_budget: exoskin_transport::Budget,
    /// How long one progress stream (`/api/v1/jobs/{id}/events`) stays open; a browser's
    /// EventSource reconnects after it closes.
    pub events_lifetime: Duration,
}

impl Default for WebConfig {
    fn default() -> Self {
        // One core stays free for the resolver and the pages while jobs run.
        let workers = std::thread::available_parallelism()
            .map(|n| n.get().saturating_sub(1))
            .unwrap_or(1)
            .clamp(1, 8);
        WebConfig {
            max_jobs: 16,
            workers,
            max_body_bytes: 256 * 1024,
            max_upload_bytes: 8 * 1024 * 1024,
            data_dir: PathBuf::from("."),
            tesseract: PathBuf::from("tesseract"),
            ocr_timeout: Duration::from_secs(30),
            keep_finished: 256,
            max_jobs_per_client: 4,
            job_timeout: Duration::from_secs(600),
            direct_timeout: Duration::from_secs(25),
            direct_budget: exoskin_transport::Budget {
                seconds: 100.0,
                ..exoskin_transport::Budget::DEFAULT
            },
            events_lifetime: Duration::from_secs(300),
        }
    }
}

/// The shared state of every handler.
pub struct Web {
    pub cfg: WebConfig,
    pub jobs: Arc<jobs::Jobs>,
}

/// The web app: API, pages and assets.
pub fn router(cfg: WebConfig) -> Router {
    let web = Arc::new(Web {
        jobs: Arc::new(jobs::Jobs::new(jobs::Limits {
            max_jobs: cfg.max_jobs,
            workers: cfg.workers,
            keep_finished: cfg.keep_finished,
            per_client: cfg.max_jobs_per_client,
            job_timeout: cfg.job_timeout,
            direct_timeout: cfg.direct_timeout.min(cfg.job_timeout),
        })),
        cfg,
    });
    api::routes().merge(pages::routes()).with_state(web)
}
