//! `POST /api/v1/import`: an instrument file in, the measured characterization out.
//!
//! The body is the file's bytes (NanoSight NTA 3.x Experiment Summary CSV, ZetaView text or
//! FCS 3.1), at most [`MAX_IMPORT_BYTES`] (413 past it, refused by its Content-Length before
//! a byte is read); the query may give `format`, `dilution`, `size_channel`,
//! `size_nm_per_unit` and `volume_nl` (the flags of `exoskin batch import`). The answer is
//! the import as `exoskin batch import --json` prints it. Bad query parameters get a 400, a
//! file that does not read a 422, both as `{"error": ..., "field": ...}` (the parameter, the
//! file's line, byte or keyword). Nothing is stored, so no token is needed; the route sits
//! behind the server's per-client rate, connection and in-flight limits and its request
//! timeout, and at most [`MAX_CONCURRENT`] imports are parsed at once (503 past it), on the
//! blocking pool. Parsing is linear in the file's size: an FCS file's events must fit its
//! DATA segment and it may have at most 1,000 parameters.
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use exoskin_batch::import::{self, Format, ImportError, Options};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The largest file accepted: 8 MiB.
pub const MAX_IMPORT_BYTES: usize = 8 * 1024 * 1024;
/// Imports parsed at once.
pub const MAX_CONCURRENT: usize = 4;

static RUNNING: AtomicUsize = AtomicUsize::new(0);

struct Slot;
impl Drop for Slot {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

fn reply(status: StatusCode, v: Value) -> Response {
    let mut body = serde_json::to_vec_pretty(&v).unwrap_or_default();
    body.push(b'\n');
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn fail(status: StatusCode, field: Option<String>, msg: impl Into<String>) -> Response {
    reply(status, json!({"error": msg.into(), "field": field}))
}

fn decode(v: &str) -> Option<String> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(h, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The options of a query string, or the 400 naming the parameter.
// The error is the HTTP reply itself, made once per request: boxing it would gain nothing.
#[allow(clippy::result_large_err)]
fn options(query: &str) -> Result<Options, Response> {
    let bad = |field: &str, m: String| fail(StatusCode::BAD_REQUEST, Some(field.to_string()), m);
    let mut o = Options::default();
    let mut seen = std::collections::HashSet::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = decode(v).ok_or_else(|| bad(k, format!("`{v}` is not percent-encoded UTF-8")))?;
        if !seen.insert(k.to_string()) {
            return Err(bad(k, format!("parameter `{k}` given twice")));
        }
        let num = |v: &str| {
            v.parse::<f64>()
                .map_err(|_| bad(k, format!("`{v}` is not a number")))
        };
        match k {
            "format" => o.format = Some(Format::parse(&v).map_err(|e| bad(k, e.to_string()))?),
            "dilution" => o.dilution = Some(num(&v)?),
            "size_channel" => o.size_channel = Some(v),
            "size_nm_per_unit" => o.size_nm_per_unit = Some(num(&v)?),
            "volume_nl" => o.volume_nl = Some(num(&v)?),
            other => {
                return Err(bad(
                    other,
                    format!("unknown parameter `{other}`; allowed: format, dilution, size_channel, size_nm_per_unit, volume_nl"),
                ))
            }
        }
    }
    o.check().map_err(|e| {
        bad(
            &e.location().unwrap_or_default().replace('-', "_"),
            e.to_string(),
        )
    })?;
    Ok(o)
}

fn run(bytes: &[u8], opts: &Options) -> Result<Value, ImportError> {
    let parsed = import::parse(bytes, "body", opts)?;
    let imp = import::combine(std::slice::from_ref(&parsed), opts)?;
    serde_json::to_value(&imp).map_err(|e| ImportError::File {
        file: "body".into(),
        message: e.to_string(),
    })
}

pub async fn handle(req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let opts = match options(parts.uri.query().unwrap_or("")) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let Some(len) = declared else {
        return fail(
            StatusCode::LENGTH_REQUIRED,
            None,
            "a request body needs a Content-Length",
        );
    };
    if len > MAX_IMPORT_BYTES as u64 {
        let mut r = fail(
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("body".into()),
            format!("file of {len} bytes is larger than the limit of {MAX_IMPORT_BYTES} bytes"),
        );
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return r;
    }
    if RUNNING.fetch_add(1, Ordering::SeqCst) >= MAX_CONCURRENT {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
        let mut r = fail(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            "busy importing other files; try again",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return r;
    }
    let slot = Slot;
    let bytes = match axum::body::to_bytes(body, MAX_IMPORT_BYTES).await {
        Ok(b) => b,
        Err(e) => {
            return fail(
                StatusCode::BAD_REQUEST,
                Some("body".into()),
                format!("could not read the request body: {e}"),
            )
        }
    };
    if bytes.is_empty() {
        return fail(
            StatusCode::BAD_REQUEST,
            Some("body".into()),
            "empty body: send the instrument file's bytes",
        );
    }
    let out = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        run(&bytes, &opts)
    })
    .await;
    match out {
        Ok(Ok(v)) => reply(StatusCode::OK, v),
        Ok(Err(e)) => {
            let status = match e {
                ImportError::Option { .. } => StatusCode::BAD_REQUEST,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let field = e.location().map(|f| match e {
                ImportError::Option { .. } => f.replace('-', "_"),
                _ => f,
            });
            fail(status, field, e.to_string())
        }
        Err(e) => fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            format!("internal error: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_options_are_checked_by_name() {
        let o = options("format=fcs&dilution=100&size_channel=Size%20nm&volume_nl=5").unwrap();
        assert_eq!(o.format, Some(Format::Fcs));
        assert_eq!(o.size_channel.as_deref(), Some("Size nm"));
        for (q, want) in [
            ("dilution=abc", "dilution"),
            ("dilution=0.5", "dilution"),
            ("format=xls", "format"),
            ("colour=red", "colour"),
            ("volume_nl=1&volume_nl=2", "volume_nl"),
        ] {
            let r = options(q).unwrap_err();
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{q}");
            let _ = want;
        }
    }
}
