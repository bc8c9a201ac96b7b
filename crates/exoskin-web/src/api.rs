//! The JSON API under `/api/v1`. Bad input is a 4xx JSON `{"field", "message"}` with the
//! CLI's message; a full queue, or a client's full share of it, is 429 with `Retry-After`;
//! work answered in the request that passes its time limit is stopped and answered 408.

// Helpers return the finished error answer; it is built at most once per request.
#![allow(clippy::result_large_err)]

use crate::jobs::{Busy, ErrorBody, JobView, Status};
use crate::{Web, WebError};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use exoskin_api::ApiError;
use exoskin_api::ErrorKind;
use exoskin_model::Observer;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

/// The client's address, from the connection (`ConnectInfo`, which `exoskin serve` sets);
/// `None` when the app is called without one. Job quotas are kept per address.
#[derive(Debug, Clone, Copy)]
pub struct Client(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Client(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

pub fn routes() -> Router<Arc<Web>> {
    Router::new()
        .route("/api/v1/simulate", post(simulate))
        .route("/api/v1/label", post(label))
        .route("/api/v1/label/ocr", post(label_ocr))
        .route("/api/v1/trial", post(trial))
        .route("/api/v1/power", post(power))
        .route("/api/v1/claims", post(claims))
        .route("/api/v1/certificates/verify", post(verify))
        .route("/api/v1/qr", post(qr))
        .route("/api/v1/jobs/{id}", get(job).delete(cancel))
        .route("/api/v1/jobs/{id}/events", get(events))
        .route("/api/v1/openapi.json", get(openapi))
}

/// A JSON answer.
pub fn json_response(status: StatusCode, v: &Value) -> Response {
    let mut body = serde_json::to_vec_pretty(v).unwrap_or_default();
    body.push(b'\n');
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A 4xx or 5xx `{"field", "message"}`.
pub fn error(status: StatusCode, field: Option<&str>, message: impl Into<String>) -> Response {
    json_response(status, &json!({"field": field, "message": message.into()}))
}

/// An API error answered with its kind's status (422 input, 500 solver or internal, 408
/// stopped) and `{"field", "message", "kind"}`.
pub fn bad_input(e: ApiError) -> Response {
    let b: ErrorBody = e.into();
    let status =
        StatusCode::from_u16(b.kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, &json!(b))
}

pub fn busy(b: Busy) -> Response {
    let mut r = error(StatusCode::TOO_MANY_REQUESTS, None, b.message());
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    r
}

/// The body of a request, refused past `limit` bytes (413).
pub async fn read_body(req: Request, limit: usize) -> Result<(HeaderMap, Bytes), Response> {
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_big = |n: String| {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("body"),
            format!("request body of {n} bytes is larger than the limit of {limit} bytes"),
        )
    };
    if let Some(n) = declared.filter(|n| *n > limit as u64) {
        return Err(too_big(n.to_string()));
    }
    match axum::body::to_bytes(body, limit).await {
        Ok(b) => Ok((parts.headers, b)),
        Err(_) => Err(too_big(format!("more than {limit}"))),
    }
}

fn text(bytes: &[u8], field: &str) -> Result<String, Response> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            Some(field),
            format!(
                "not UTF-8 text (invalid byte at offset {}); send UTF-8",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

fn is_json(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"))
}

fn parse_json(bytes: &[u8]) -> Result<Value, Response> {
    serde_json::from_slice(bytes).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            Some("body"),
            format!("not JSON: {e} (line {}, column {})", e.line(), e.column()),
        )
    })
}

fn str_field<'a>(v: &'a Value, k: &str) -> Result<Option<&'a str>, Response> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(k),
            format!("`{k}` must be a string"),
        )),
    }
}

fn uint_field(v: &Value, k: &str) -> Result<Option<u64>, Response> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x.as_u64().map(Some).ok_or_else(|| {
            error(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(k),
                format!("`{k}` must be a whole number >= 0"),
            )
        }),
    }
}

fn num_field(v: &Value, k: &str) -> Result<Option<f64>, Response> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x.as_f64().map(Some).ok_or_else(|| {
            error(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(k),
                format!("`{k}` must be a number"),
            )
        }),
    }
}

/// A scenario from a request body: TOML text, or the same tables as a JSON object.
pub fn scenario_text(headers: &HeaderMap, body: &[u8]) -> Result<String, Response> {
    if is_json(headers) {
        let v = parse_json(body)?;
        let t: toml::Value = serde_json::from_value(v).map_err(|e| {
            error(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("body"),
                format!("the scenario cannot be written as TOML: {e}"),
            )
        })?;
        toml::to_string(&t).map_err(|e| {
            error(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("body"),
                format!("the scenario cannot be written as TOML: {e}; send an object of tables (experiment, product, skin, ...)"),
            )
        })
    } else {
        text(body, "body")
    }
}

/// Why a direct run (answered in the request) gave no document.
#[derive(Debug)]
pub enum RunError {
    /// The queue or the client's quota is full (429).
    Busy(Busy),
    /// Bad input (422).
    Bad(ErrorBody),
    /// It ran past its time limit and was stopped (408).
    TimedOut(ErrorBody),
    /// It was cancelled (its request went away).
    Cancelled,
}

impl RunError {
    pub fn status(&self) -> StatusCode {
        match self {
            RunError::Busy(_) => StatusCode::TOO_MANY_REQUESTS,
            RunError::Bad(e) => StatusCode::from_u16(e.kind.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            RunError::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
            RunError::Cancelled => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
    /// The field at fault (where known) and the message.
    pub fn body(&self) -> ErrorBody {
        match self {
            RunError::Busy(b) => ErrorBody::of(ErrorKind::Cancelled, b.message()),
            RunError::Bad(e) | RunError::TimedOut(e) => e.clone(),
            RunError::Cancelled => ErrorBody::of(ErrorKind::Cancelled, "the run was cancelled"),
        }
    }
    pub fn response(self) -> Response {
        match self {
            RunError::Busy(b) => busy(b),
            other => {
                let b = other.body();
                json_response(other.status(), &json!(b))
            }
        }
    }
}

/// The document of a finished direct run, or why there is none.
pub fn direct_outcome(v: Result<JobView, Busy>) -> Result<Value, RunError> {
    let v = v.map_err(RunError::Busy)?;
    match (v.result, v.error, v.timed_out) {
        (Some(r), _, _) => Ok(r),
        (None, Some(e), Some(_)) => Err(RunError::TimedOut(e)),
        (None, Some(e), None) => Err(RunError::Bad(e)),
        (None, None, _) => Err(RunError::Cancelled),
    }
}

/// Run a scenario through the queue for `client`: the run's JSON document. A run whose
/// estimated cost is past what a request may take (`direct_budget`) is refused before it
/// starts, naming the key to change; one that starts checks the request's stop (its time
/// limit, and whether the request went away) at every transport step.
pub async fn run_scenario(
    web: &Arc<Web>,
    client: Option<IpAddr>,
    text: String,
    name: String,
) -> Result<Value, RunError> {
    let budget = web.cfg.direct_budget;
    let v = web
        .jobs
        .run(
            "simulate",
            client,
            Box::new(move |p| {
                let s = exoskin_api::simulate::parse(&text, &name)?;
                let run = exoskin_api::simulate::run_with_effect(
                    s,
                    &name,
                    exoskin_model::TransportParams::defaults(),
                    exoskin_response::ResponseParams::defaults(),
                    &budget,
                    p.stop(),
                )?;
                Ok(run.json())
            }),
        )
        .await;
    direct_outcome(v)
}

/// Run a scenario (`exoskin simulate --json`): the body is the scenario as TOML
/// (`application/toml` or text) or as a JSON object of the same tables; or a batch
/// certificate to simulate, JSON `{"certificate": CERT, "scenario"?, "pubkey"?,
/// "revocations"?, "on"?, "uncertainty"?, "seed"?, "allow_unverified"?, "allow_expired"?}`
/// (`exoskin simulate [SCENARIO] --certificate CERT --json`).
#[utoipa::path(post, path = "/api/v1/simulate",
    request_body(content = String, content_type = "application/toml", description = "A scenario file (TOML), or the same tables as JSON, or JSON {certificate, scenario?, pubkey?, revocations?, on?, uncertainty?, seed?, allow_unverified?, allow_expired?} to simulate a certified batch"),
    responses(
        (status = 200, description = "The run's document, as `exoskin simulate --json`", body = Object),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 408, description = "The run passed the time limit of a request and was stopped", body = ErrorBody),
        (status = 422, description = "Bad input, with the CLI's message", body = ErrorBody),
        (status = 429, description = "The job queue, or this client's share of it, is full", body = ErrorBody)))]
pub async fn simulate(
    State(web): State<Arc<Web>>,
    Client(client): Client,
    req: Request,
) -> Response {
    let (headers, body) = match read_body(req, web.cfg.max_body_bytes).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    // A batch certificate to simulate: `{"certificate": ..., ...}` ([`crate::certificate`]).
    if is_json(&headers) {
        if let Ok(v) = serde_json::from_slice::<Value>(&body) {
            if crate::certificate::is_certificate_request(&v) {
                return match crate::certificate::run(&web, client, v).await {
                    Ok(v) => json_response(StatusCode::OK, &v),
                    Err(e) => e.response(),
                };
            }
        }
    }
    let text = match scenario_text(&headers, &body) {
        Ok(t) => t,
        Err(r) => return r,
    };
    match run_scenario(&web, client, text, "<request body>".into()).await {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => e.response(),
    }
}

/// Decode an ingredient list (`exoskin label FILE --json`) or check a product file
/// (`exoskin label --product FILE --json`). The body is the list as text, or JSON
/// `{"text": ...}` or `{"product": TOML, "today": "YYYY-MM-DD"}`.
#[utoipa::path(post, path = "/api/v1/label",
    request_body(content = String, content_type = "text/plain", description = "The ingredient list, or JSON {text} or {product, today}"),
    responses(
        (status = 200, description = "The report, as `exoskin label --json`", body = Object),
        (status = 422, description = "Bad input, with the CLI's message", body = ErrorBody)))]
pub async fn label(State(web): State<Arc<Web>>, req: Request) -> Response {
    let (headers, body) = match read_body(req, web.cfg.max_body_bytes).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let report = if is_json(&headers) {
        let v = match parse_json(&body) {
            Ok(v) => v,
            Err(r) => return r,
        };
        let fields = (
            str_field(&v, "text"),
            str_field(&v, "product"),
            str_field(&v, "today"),
        );
        let (t, p, today) = match fields {
            (Ok(t), Ok(p), Ok(d)) => (t, p, d),
            (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
        };
        match (t, p) {
            (_, Some(p)) => exoskin_api::label::parse_today(today)
                .and_then(|d| exoskin_api::label::check_product(p, "product", d)),
            (Some(t), None) => exoskin_api::label::decode(t, "text"),
            (None, None) => {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some("text"),
                    "give `text` (the ingredient list) or `product` (a product file, TOML)",
                )
            }
        }
    } else {
        match text(&body, "body") {
            Ok(t) => exoskin_api::label::decode(&t, "<request body>"),
            Err(r) => return r,
        }
    };
    match report.map(|r| serde_json::to_value(&r)) {
        Ok(Ok(v)) => json_response(StatusCode::OK, &v),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, None, e.to_string()),
        Err(e) => bad_input(e),
    }
}

/// Read a label photo with OCR and decode the ingredients read. The body is the image
/// (PNG or JPEG).
#[utoipa::path(post, path = "/api/v1/label/ocr",
    request_body(content = Vec<u8>, content_type = "image/png", description = "A photo of the label"),
    responses(
        (status = 200, description = "`text` read from the photo and its `report` (null when the text holds no ingredient list, with `error` saying why)", body = Object),
        (status = 413, description = "The photo is too large", body = ErrorBody),
        (status = 422, description = "Not an image", body = ErrorBody),
        (status = 408, description = "Reading the photo passed the time limit of a request", body = ErrorBody),
        (status = 429, description = "The job queue, or this client's share of it, is full", body = ErrorBody),
        (status = 503, description = "OCR is not installed on this server", body = ErrorBody)))]
pub async fn label_ocr(
    State(web): State<Arc<Web>>,
    Client(client): Client,
    req: Request,
) -> Response {
    let (_, body) = match read_body(req, web.cfg.max_upload_bytes).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let cfg = web.cfg.clone();
    let out = web
        .jobs
        .run(
            "ocr",
            client,
            Box::new(move |p| {
                let read = crate::ocr::read_text(&cfg, &body, &|| p.stopped());
                p.stop().check()?;
                Ok(match read {
                    Ok(t) => {
                        let report = exoskin_api::label::decode(&t, "photo");
                        match report {
                            Ok(r) => json!({"text": t, "report": r, "error": null}),
                            Err(e) => json!({"text": t, "report": null, "error": ErrorBody::from(e)}),
                        }
                    }
                    Err(e) => json!({"ocr_error": web_error_body(&e), "status": web_error_status(&e).as_u16()}),
                })
            }),
        )
        .await;
    match direct_outcome(out) {
        Ok(v) => match v.get("ocr_error") {
            Some(e) => {
                let status = v["status"]
                    .as_u64()
                    .and_then(|s| StatusCode::from_u16(s as u16).ok())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                json_response(status, e)
            }
            None => json_response(StatusCode::OK, &v),
        },
        Err(e) => e.response(),
    }
}

pub fn web_error_status(e: &WebError) -> StatusCode {
    match e {
        WebError::OcrMissing { .. } => StatusCode::SERVICE_UNAVAILABLE,
        WebError::OcrTimeout { .. } | WebError::OcrFailed { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        WebError::Image { .. }
        | WebError::ImageTooLarge { .. }
        | WebError::QrTooComplex
        | WebError::QrNotFound
        | WebError::QrNotBatch { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        WebError::NoScenarioFiles | WebError::ArmScenarioOutside { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
    }
}

pub fn web_error_body(e: &WebError) -> Value {
    json!({"field": "body", "message": e.to_string()})
}

/// The trial files shipped in `trials/`, by name (file stem).
pub fn bundled_trials(web: &Web) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(web.cfg.data_dir.join("trials"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().to_string();
                    n.strip_suffix(".toml").map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A trial from a request: a bundled trial by `name`, or a trial file's text in `toml`
/// (its arms' scenarios must be the server's scenario files: under `scenarios/` or
/// `trials/scenarios/`). Errors name files relative to the data directory, never by the
/// server's own paths.
pub fn load_trial(web: &Web, v: &Value) -> Result<exoskin_trials::spec::Trial, Response> {
    let dir = web.cfg.data_dir.join("trials");
    let bad = |field: &str, m: String| {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(field),
            hide_paths(&web.cfg.data_dir, &m),
        )
    };
    match (str_field(v, "name")?, str_field(v, "toml")?) {
        (Some(name), None) => {
            if !bundled_trials(web).iter().any(|n| n == name) {
                return Err(bad(
                    "name",
                    format!(
                        "no bundled trial `{name}`; use one of: {}",
                        bundled_trials(web).join(", ")
                    ),
                ));
            }
            let path = PathBuf::from("trials").join(format!("{name}.toml"));
            let text = std::fs::read_to_string(web.cfg.data_dir.join(&path))
                .map_err(|e| bad("name", format!("{}: {e}", path.display())))?;
            exoskin_trials::spec::parse_trial(&text, &path.display().to_string(), &dir)
                .map_err(|e| bad("name", e.to_string()))
        }
        (None, Some(text)) => {
            check_arm_paths(&web.cfg.data_dir, text).map_err(|e| bad("toml", e.to_string()))?;
            exoskin_trials::spec::parse_trial(text, "<request>", &dir)
                .map_err(|e| bad("toml", e.to_string()))
        }
        _ => Err(bad(
            "name",
            format!(
                "give `name` (one of: {}) or `toml` (a trial file), not both",
                bundled_trials(web).join(", ")
            ),
        )),
    }
}

/// `message` with the data directory's place on the server written as `<data>`.
fn hide_paths(data_dir: &FsPath, message: &str) -> String {
    let mut out = message.to_string();
    let mut forms = vec![data_dir.display().to_string()];
    if let Ok(c) = data_dir.canonicalize() {
        forms.push(c.display().to_string());
    }
    if let Ok(cwd) = std::env::current_dir() {
        forms.push(cwd.join(data_dir).display().to_string());
    }
    forms.retain(|f| !f.is_empty() && f != ".");
    // Longest first, so a prefix never leaves the rest of a longer form behind.
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    for f in forms {
        out = out.replace(&f, "<data>");
    }
    out
}

/// The directories an uploaded trial's arms may take scenarios from (canonical).
fn scenario_dirs(data_dir: &FsPath) -> Vec<PathBuf> {
    ["scenarios", "trials/scenarios"]
        .iter()
        .filter_map(|d| data_dir.join(d).canonicalize().ok())
        .collect()
}

/// An uploaded trial may name only the server's scenario files: each arm's scenario,
/// relative to `trials/`, must resolve (symbolic links followed) to a `.toml` file inside
/// `scenarios/` or `trials/scenarios/`.
fn check_arm_paths(data_dir: &FsPath, text: &str) -> Result<(), WebError> {
    let Ok(v) = text.parse::<toml::Table>() else {
        return Ok(()); // the trial parser reports the syntax error with its place
    };
    let dirs = scenario_dirs(data_dir);
    if dirs.is_empty() {
        return Err(WebError::NoScenarioFiles);
    }
    let trials = data_dir.join("trials");
    let arms = v
        .get("arms")
        .and_then(|a| a.as_array())
        .cloned()
        .unwrap_or_default();
    for (i, a) in arms.iter().enumerate() {
        let Some(s) = a.get("scenario").and_then(|s| s.as_str()) else {
            continue;
        };
        let relative =
            !s.is_empty() && FsPath::new(s).is_relative() && !s.contains('\\') && !s.contains('\0');
        let inside = relative
            && trials
                .join(s)
                .canonicalize()
                .map(|p| {
                    p.is_file()
                        && p.extension().is_some_and(|e| e == "toml")
                        && dirs.iter().any(|d| p.starts_with(d))
                })
                .unwrap_or(false);
        if !inside {
            return Err(WebError::ArmScenarioOutside {
                index: i,
                scenario: s.escape_debug().to_string(),
            });
        }
    }
    Ok(())
}

fn accepted(job: &crate::jobs::Job) -> Response {
    let mut r = json_response(
        StatusCode::ACCEPTED,
        &json!({"job": job.id, "status": "queued", "url": format!("/api/v1/jobs/{}", job.id), "events": format!("/api/v1/jobs/{}/events", job.id)}),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/jobs/{}", job.id)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

async fn json_body(web: &Web, req: Request) -> Result<Value, Response> {
    let (_, body) = read_body(req, web.cfg.max_body_bytes).await?;
    parse_json(&body)
}

/// Run a virtual trial (`exoskin trial FILE --json`) as a job. Body: `{"name": bundled trial}`
/// or `{"toml": trial file}`, with optional `participants`, `seed`, `response` (auto, exact
/// or grid).
#[utoipa::path(post, path = "/api/v1/trial",
    request_body(content = Object, description = "{name | toml, participants?, seed?, response?}"),
    responses(
        (status = 202, description = "The job: poll `url` or stream `events`", body = Object),
        (status = 422, description = "Bad input, with the CLI's message", body = ErrorBody),
        (status = 429, description = "The job queue, or this client's share of it, is full", body = ErrorBody)))]
pub async fn trial(State(web): State<Arc<Web>>, Client(client): Client, req: Request) -> Response {
    let v = match json_body(&web, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut t = match load_trial(&web, &v) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let file = match str_field(&v, "name") {
        Ok(Some(n)) => format!("trials/{n}.toml"),
        _ => "<request>".into(),
    };
    match uint_field(&v, "participants") {
        Ok(Some(n)) => {
            let max = exoskin_trials::spec::MAX_PARTICIPANTS;
            if !(2..=max as u64).contains(&n) {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some("participants"),
                    format!("--participants {n} is outside the allowed range 2 to {max}"),
                );
            }
            t.participants = n as usize;
        }
        Ok(None) => {}
        Err(r) => return r,
    }
    match uint_field(&v, "seed") {
        Ok(Some(s)) => t.seed = s,
        Ok(None) => {}
        Err(r) => return r,
    }
    match str_field(&v, "response") {
        Ok(Some(m)) => {
            use exoskin_trials::spec::ResponseMode;
            t.response = match m {
                "auto" => ResponseMode::Auto,
                "exact" => ResponseMode::Exact,
                "grid" => ResponseMode::Grid,
                _ => {
                    return error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Some("response"),
                        format!("--response {m}: use auto, exact or grid"),
                    )
                }
            }
        }
        Ok(None) => {}
        Err(r) => return r,
    }
    let submitted = web.jobs.submit(
        "trial",
        client,
        Box::new(move |p| {
            let run = exoskin_api::trial::run_trial(&t, &file, p)?;
            Ok(run.doc)
        }),
    );
    match submitted {
        Ok(job) => accepted(&job),
        Err(b) => busy(b),
    }
}

/// The sample size (`exoskin power --json`). With a trial (`name` or `toml`, as for a
/// trial) it is found by simulation as a job (202), with optional `power`, `alpha`,
/// `replicates`, `max_participants` and `assurance_draws`. Without one it is the analytic
/// t-test answer, given at once (200): `effect_size` (or `difference` and `sd`), with
/// optional `test` (`paired`, the default, or `two-sample`), `power` and `alpha`.
#[utoipa::path(post, path = "/api/v1/power",
    request_body(content = Object, description = "{name | toml, power?, alpha?, replicates?, max_participants?, assurance_draws?} for the power by simulation, or {effect_size | difference and sd, test?, power?, alpha?, analysis?, margin? | margin_low and margin_high, ratio?} for the analytic answer"),
    responses(
        (status = 200, description = "The analytic answer (no trial given), as `exoskin power --effect-size D --json`", body = Object),
        (status = 202, description = "The job of the power by simulation: poll `url` or stream `events`; its result is `exoskin power FILE --json`", body = Object),
        (status = 422, description = "Bad input, with the CLI's message", body = ErrorBody),
        (status = 429, description = "The job queue, or this client's share of it, is full", body = ErrorBody)))]
pub async fn power(State(web): State<Arc<Web>>, Client(client): Client, req: Request) -> Response {
    let v = match json_body(&web, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match power_request(&web, client, &v) {
        Ok(r) | Err(r) => r,
    }
}

fn power_request(web: &Arc<Web>, client: Option<IpAddr>, v: &Value) -> Result<Response, Response> {
    let analytic_keys = [
        "effect_size",
        "difference",
        "sd",
        "test",
        "analysis",
        "margin",
        "margin_low",
        "margin_high",
        "ratio",
    ];
    let given = |k: &str| !matches!(v.get(k), None | Some(Value::Null));
    let nums = ["effect_size", "difference", "sd", "power", "alpha"].map(|k| num_field(v, k));
    let [effect_size, difference, sd, power, alpha] = nums;
    let (effect_size, difference, sd, power, alpha) =
        (effect_size?, difference?, sd?, power?, alpha?);
    let [margin, margin_low, margin_high, ratio] =
        ["margin", "margin_low", "margin_high", "ratio"].map(|k| num_field(v, k));
    let (margin, margin_low, margin_high, ratio) = (margin?, margin_low?, margin_high?, ratio?);
    if !given("name") && !given("toml") {
        let input = exoskin_api::trial::AnalyticInput {
            effect_size,
            difference,
            sd,
            test: str_field(v, "test")?.unwrap_or("paired"),
            power,
            alpha,
            analysis: str_field(v, "analysis")?,
            margin,
            margin_low,
            margin_high,
            ratio,
        };
        return match exoskin_api::trial::analytic_power(&input) {
            Ok(Some(a)) => Ok(json_response(StatusCode::OK, &a.doc)),
            Ok(None) => Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("name"),
                format!(
                    "give a trial (`name`, one of: {}, or `toml`, a trial file) for the power by simulation, or `effect_size` (or `difference` and `sd`) for the analytic answer",
                    bundled_trials(web).join(", ")
                ),
            )),
            Err(e) => Err(bad_input(e)),
        };
    }
    if let Some(k) = analytic_keys.into_iter().find(|k| given(k)) {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(k),
            format!(
                "`{k}` is for the analytic answer without a trial; drop it, or drop `name`/`toml`"
            ),
        ));
    }
    let mut t = load_trial(web, v)?;
    let to_usize = |x: Option<u64>| x.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let settings = exoskin_api::trial::power_settings(
        &mut t,
        power,
        alpha,
        to_usize(uint_field(v, "replicates")?),
        to_usize(uint_field(v, "max_participants")?),
    )
    .map_err(bad_input)?;
    let draws = to_usize(uint_field(v, "assurance_draws")?)
        .unwrap_or(exoskin_api::trial::DEFAULT_ASSURANCE_DRAWS);
    exoskin_api::trial::check_assurance_draws(draws).map_err(bad_input)?;
    let submitted = web.jobs.submit(
        "power",
        client,
        Box::new(move |p| {
            let (_, doc) = exoskin_api::trial::run_power_with(
                &t,
                settings.target,
                settings.replicates,
                settings.max_participants,
                draws,
                p,
            )?;
            Ok(doc)
        }),
    );
    submitted.map(|job| accepted(&job)).map_err(busy)
}

/// Test the seed articles' claims with the calibrated model (`exoskin claims --json`) as a
/// job, from the scenarios in the server's `scenarios/claims`. Body: `{"draws"?: N}`
/// (posterior draws for the intervals, 1 to 10000, default 32).
#[utoipa::path(post, path = "/api/v1/claims",
    request_body(content = Object, description = "{draws?}"),
    responses(
        (status = 202, description = "The job: poll `url` or stream `events`; its result is `exoskin claims --json`", body = Object),
        (status = 422, description = "Bad input, with the CLI's message", body = ErrorBody),
        (status = 429, description = "The job queue, or this client's share of it, is full", body = ErrorBody),
        (status = 500, description = "The server's data directory has no scenarios/claims", body = ErrorBody)))]
pub async fn claims(State(web): State<Arc<Web>>, Client(client): Client, req: Request) -> Response {
    let (_, body) = match read_body(req, web.cfg.max_body_bytes).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    // An empty body asks for the defaults.
    let v = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match parse_json(&body) {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
    let draws = match uint_field(&v, "draws") {
        Ok(d) => d.map_or(exoskin_api::claims::DEFAULT_DRAWS, |n| {
            usize::try_from(n).unwrap_or(usize::MAX)
        }),
        Err(r) => return r,
    };
    if let Err(e) = exoskin_api::claims::check_draws(draws) {
        return bad_input(e);
    }
    let dir = web.cfg.data_dir.join("scenarios").join("claims");
    if !dir.is_dir() {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "the server's data directory has no scenarios/claims; start the server with --data-dir at the repository root",
        );
    }
    let submitted = web.jobs.submit(
        "claims",
        client,
        Box::new(move |p| {
            p.message(&format!(
                "transport: running the claims' scenarios, then {draws} posterior draws per claim ..."
            ))?;
            let rows = exoskin_api::claims::run(&dir, draws, p)?;
            Ok(exoskin_api::claims::document(&rows))
        }),
    );
    match submitted {
        Ok(job) => accepted(&job),
        Err(b) => busy(b),
    }
}

/// Verify a certificate (`exoskin batch verify --json`): signature, issuer key, dates and
/// revocation. Body: `{"certificate": object or text, "pubkey": did:key or PEM, "at"?,
/// "revocations"?: list object or text}`.
#[utoipa::path(post, path = "/api/v1/certificates/verify",
    request_body(content = Object, description = "{certificate, pubkey, at?, revocations?}"),
    responses(
        (status = 200, description = "`valid` with the certificate's fields, or `valid: false` with `error`", body = Object),
        (status = 422, description = "Bad input, with the CLI's message", body = ErrorBody)))]
pub async fn verify(State(web): State<Arc<Web>>, req: Request) -> Response {
    // The certificate may come inline as an object: read the body with the certificate
    // reader's rules, so a key repeated inside it is refused, not resolved to one value.
    let (_, body) = match read_body(req, web.cfg.max_body_bytes).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let text = match std::str::from_utf8(&body) {
        Ok(t) => t,
        Err(_) => return error(StatusCode::BAD_REQUEST, Some("body"), "not UTF-8 text"),
    };
    let v = match exoskin_batch::jcs::parse_strict(text) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                Some("body"),
                format!("not JSON: {e} (line {}, column {})", e.line(), e.column()),
            )
        }
    };
    let as_text = |k: &str| -> Option<String> {
        match v.get(k) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        }
    };
    let Some(cert) = as_text("certificate") else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("certificate"),
            "give `certificate`: the certificate JSON (certificate.json from `exoskin batch issue`)",
        );
    };
    let Some(key) = as_text("pubkey") else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("pubkey"),
            "give `pubkey`: the issuer's did:key or PEM public key",
        );
    };
    let at = as_text("at");
    let revs = as_text("revocations");
    match exoskin_api::verify::verify(
        &cert,
        &key,
        at.as_deref(),
        revs.as_deref(),
        ("pubkey", "revocations"),
    ) {
        Ok(doc) => json_response(StatusCode::OK, &doc),
        Err(e) => bad_input(e),
    }
}

/// Decode a batch QR code in a photo or camera frame (PNG or JPEG): its GS1 Digital Link
/// and the resolver path on this server.
#[utoipa::path(post, path = "/api/v1/qr",
    request_body(content = Vec<u8>, content_type = "image/png", description = "A photo holding a batch QR code"),
    responses(
        (status = 200, description = "`uri` (the code's content) and `path` (its resolver page here)", body = Object),
        (status = 408, description = "Decoding passed the time limit of a request", body = ErrorBody),
        (status = 422, description = "No batch QR code in the image, or an image too large to decode", body = ErrorBody),
        (status = 429, description = "The job queue, or this client's share of it, is full", body = ErrorBody)))]
pub async fn qr(State(web): State<Arc<Web>>, Client(client): Client, req: Request) -> Response {
    let (_, body) = match read_body(req, web.cfg.max_upload_bytes).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let out = web
        .jobs
        .run(
            "qr",
            client,
            Box::new(move |p| {
                let read = crate::qr::decode_batch_link(&body, &|| p.stopped());
                p.stop().check()?;
                Ok(match read {
                    Ok((uri, path)) => json!({"uri": uri, "path": path}),
                    Err(e) => json!({"qr_error": web_error_body(&e)}),
                })
            }),
        )
        .await;
    match direct_outcome(out) {
        Ok(v) => match v.get("qr_error") {
            Some(e) => json_response(StatusCode::UNPROCESSABLE_ENTITY, e),
            None => json_response(StatusCode::OK, &v),
        },
        Err(e) => e.response(),
    }
}

fn no_job(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        Some("id"),
        format!("no job `{id}` (finished jobs are kept for a while, then forgotten)"),
    )
}

/// A job's status, progress and, once done, its document.
#[utoipa::path(get, path = "/api/v1/jobs/{id}",
    params(("id" = String, Path, description = "The job id from the 202 answer")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 404, description = "No such job", body = ErrorBody)))]
pub async fn job(State(web): State<Arc<Web>>, Path(id): Path<String>) -> Response {
    match web.jobs.get(&id) {
        Some(j) => json_response(
            StatusCode::OK,
            &serde_json::to_value(j.view()).unwrap_or(Value::Null),
        ),
        None => no_job(&id),
    }
}

/// Cancel a job: it stops at its next progress report.
#[utoipa::path(delete, path = "/api/v1/jobs/{id}",
    params(("id" = String, Path, description = "The job id")),
    responses(
        (status = 202, description = "Cancellation asked; the job's status becomes `cancelled`", body = JobView),
        (status = 404, description = "No such job", body = ErrorBody)))]
pub async fn cancel(State(web): State<Arc<Web>>, Path(id): Path<String>) -> Response {
    match web.jobs.get(&id) {
        Some(j) => {
            j.cancel();
            json_response(
                StatusCode::ACCEPTED,
                &serde_json::to_value(j.view()).unwrap_or(Value::Null),
            )
        }
        None => no_job(&id),
    }
}

/// The job's progress as server-sent events: one `progress` event per change (the job as
/// JSON), and a last `done`, `failed` or `cancelled` event. A stream is closed after the
/// server's stream lifetime (5 minutes by default); connect again to go on.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/events",
    params(("id" = String, Path, description = "The job id")),
    responses(
        (status = 200, description = "text/event-stream of JobView documents", content_type = "text/event-stream", body = String),
        (status = 404, description = "No such job", body = ErrorBody)))]
pub async fn events(State(web): State<Arc<Web>>, Path(id): Path<String>) -> Response {
    let Some(j) = web.jobs.get(&id) else {
        return no_job(&id);
    };
    let rx = j.subscribe();
    // (receiver, whether the last state was sent)
    let stream =
        futures_util::stream::unfold((rx, false, true), |(mut rx, ended, first)| async move {
            if ended {
                return None;
            }
            if !first && rx.changed().await.is_err() {
                return None;
            }
            let v = rx.borrow_and_update().clone();
            let fin = v.status.finished();
            let name = match v.status {
                Status::Done => "done",
                Status::Failed => "failed",
                Status::Cancelled => "cancelled",
                _ => "progress",
            };
            let data = serde_json::to_string(&v).unwrap_or_default();
            let ev: Result<Event, Infallible> = Ok(Event::default().event(name).data(data));
            Some((ev, (rx, fin, false)))
        });
    // A stream lives at most `events_lifetime`; the browser's EventSource reconnects.
    use futures_util::StreamExt;
    let stream = stream.take_until(tokio::time::sleep(web.cfg.events_lifetime));
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
pub async fn openapi() -> Response {
    json_response(
        StatusCode::OK,
        &serde_json::to_value(crate::openapi::document()).unwrap_or(Value::Null),
    )
}
