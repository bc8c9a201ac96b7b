//! Bounded attacks on the web app's job limits, on loopback only (127.0.0.1 and
//! 127.0.0.2; fixed counts; every test stops by itself): one address filling the queue
//! with huge jobs, direct runs past their time limit or abandoned by their client, jobs past
//! their time limit, and progress streams held open.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use exoskin_web::{router, WebConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

mod common;
use common::*;

/// Run `f` on a fresh runtime that is shut down, without waiting more than a few seconds
/// for the work it started, whether `f` passes or fails: a failing test stops too.
fn run(f: impl std::future::Future<Output = ()>) {
    let rt = rt();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(f)));
    rt.shutdown_timeout(Duration::from_secs(2));
    if let Err(p) = r {
        std::panic::resume_unwind(p);
    }
}

/// Serve `cfg` on 127.0.0.1 with the peer address of each connection, as `exoskin serve`
/// gives it.
async fn serve(cfg: WebConfig) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(cfg).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// One HTTP/1.1 request from the loopback address `from` (127.0.0.x): status and body.
async fn http(
    server: SocketAddr,
    from: [u8; 4],
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    assert_eq!(from[0], 127, "loopback only");
    sock.bind(SocketAddr::from((from, 0))).unwrap();
    let mut s = sock.connect(server).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut out))
        .await
        .expect("the server answered within 60 s")
        .unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

const HUGE_POWER: &str =
    r#"{"name": "microneedling_split_face", "replicates": 100000, "max_participants": 100000}"#;

#[test]
fn one_address_holding_its_quota_of_huge_jobs_does_not_stop_another_addresss_simulation() {
    run(async {
        let server = serve(WebConfig {
            max_jobs: 8,
            workers: 2,
            max_jobs_per_client: 4,
            data_dir: root(),
            ..Default::default()
        })
        .await;
        let attacker = [127, 0, 0, 2];
        let client = [127, 0, 0, 1];
        // The attacker asks for as many huge jobs as the whole queue holds.
        let mut accepted = Vec::new();
        let mut refused = Vec::new();
        for _ in 0..8 {
            let (s, b) = http(server, attacker, "POST", "/api/v1/power", HUGE_POWER).await;
            match s {
                202 => accepted.push(json(&b)["url"].as_str().unwrap().to_string()),
                _ => refused.push((s, b)),
            }
        }
        assert_eq!(
            accepted.len(),
            4,
            "one address got {} slots",
            accepted.len()
        );
        let (s, b) = &refused[0];
        assert_eq!(*s, 429, "{b}");
        assert!(
            json(b)["message"]
                .as_str()
                .unwrap()
                .contains("your address already has 4 jobs"),
            "{b}"
        );
        // Another address still gets its simulation.
        let (s, b) = http(
            server,
            client,
            "POST",
            "/api/v1/simulate",
            &serde_json::to_string(
                &toml::from_str::<toml::Value>(exoskin_api::simulate::DEFAULT_SCENARIO).unwrap(),
            )
            .unwrap(),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        for url in &accepted {
            let (s, _) = http(server, attacker, "DELETE", url, "").await;
            assert_eq!(s, 202);
        }
    });
}

/// A Tesseract stand-in that never answers (it sleeps for a minute). Written once per
/// process: rewriting it while another test starts it would fail that start (text file
/// busy).
fn stalled_tesseract() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("exoskin-web-limits-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("tesseract-stalls");
        std::fs::write(&p, "#!/bin/sh\nexec sleep 60\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    })
    .clone()
}

fn png_bytes() -> Vec<u8> {
    exoskin_batch::qr::encode("https://id.example.com/01/09506000134352/10/A1")
        .unwrap()
        .to_png(2)
}

#[test]
fn a_direct_run_past_its_time_limit_answers_408_and_frees_its_slot() {
    run(async {
        let app = router(WebConfig {
            max_jobs: 1,
            workers: 1,
            data_dir: root(),
            tesseract: stalled_tesseract(),
            ocr_timeout: Duration::from_secs(60),
            direct_timeout: Duration::from_secs(1),
            ..Default::default()
        });
        let request = Request::post("/api/v1/label/ocr")
            .header("content-type", "image/png")
            .body(Body::from(png_bytes()))
            .unwrap();
        let (took, m) = timed_out(&app, request, Duration::from_secs(10)).await;
        assert!(m.contains("time limit"), "{m}");
        assert!(took < Duration::from_secs(5), "{took:?}");
        // The one slot is freed (once the stopped run has noticed; allowed up to 5 s on a
        // loaded machine): the next request is not refused.
        the_next_run_is_answered_within(&app, Duration::from_secs(5)).await;
    });
}

/// Send `request`, which must be stopped at its time limit within `within`: its elapsed
/// time and the 408's message.
async fn timed_out(
    app: &axum::Router,
    request: Request<Body>,
    within: Duration,
) -> (Duration, String) {
    let started = Instant::now();
    let r = tokio::time::timeout(within, app.clone().oneshot(request))
        .await
        .expect("the request stopped at its time limit")
        .unwrap();
    let took = started.elapsed();
    assert_eq!(r.status(), StatusCode::REQUEST_TIMEOUT);
    let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
    let e = json(&String::from_utf8_lossy(&b));
    (took, e["message"].as_str().unwrap().to_string())
}

/// A slot frees within `within`: the bundled scenario is answered (polled every 50 ms while
/// the slot is still taken).
async fn the_next_run_is_answered_within(app: &axum::Router, within: Duration) {
    let started = Instant::now();
    loop {
        let (status, b) = call(
            app,
            post(
                "/api/v1/simulate",
                "application/toml",
                exoskin_api::simulate::DEFAULT_SCENARIO,
            ),
        )
        .await;
        if status == StatusCode::OK {
            return;
        }
        assert!(
            status == StatusCode::TOO_MANY_REQUESTS && started.elapsed() < within,
            "{status}: {b}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn a_direct_run_whose_client_goes_away_is_stopped_and_frees_its_slot() {
    run(async {
        let app = router(WebConfig {
            max_jobs: 1,
            workers: 1,
            data_dir: root(),
            tesseract: stalled_tesseract(),
            ocr_timeout: Duration::from_secs(60),
            direct_timeout: Duration::from_secs(60),
            ..Default::default()
        });
        // The client gives up after half a second (as the server's request timeout does).
        let gave_up = tokio::time::timeout(
            Duration::from_millis(500),
            app.clone().oneshot(
                Request::post("/api/v1/label/ocr")
                    .header("content-type", "image/png")
                    .body(Body::from(png_bytes()))
                    .unwrap(),
            ),
        )
        .await;
        assert!(gave_up.is_err(), "the stalled photo read answered");
        // Soon the slot is free again (the abandoned run kept it otherwise).
        the_next_run_is_answered_within(&app, Duration::from_secs(3)).await;
    });
}

#[test]
fn a_progress_stream_closes_after_its_lifetime() {
    run(async {
        let app = router(WebConfig {
            max_jobs: 2,
            workers: 1,
            data_dir: root(),
            events_lifetime: Duration::from_secs(1),
            ..Default::default()
        });
        let (status, b) = call(&app, post("/api/v1/power", "application/json", HUGE_POWER)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{b}");
        let a = json(&b);
        let started = Instant::now();
        let r = app
            .clone()
            .oneshot(
                Request::get(a["events"].as_str().unwrap())
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let stream = tokio::time::timeout(
            Duration::from_secs(10),
            axum::body::to_bytes(r.into_body(), 1 << 20),
        )
        .await
        .expect("the stream closed by itself")
        .unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(String::from_utf8_lossy(&stream).contains("event: progress"));
        let _ = app
            .clone()
            .oneshot(
                Request::delete(a["url"].as_str().unwrap())
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
    });
}

#[test]
fn a_job_past_its_time_limit_fails_with_the_reason() {
    run(async {
        let app = router(WebConfig {
            max_jobs: 2,
            workers: 1,
            data_dir: root(),
            // Well under the 0.9 s the trial takes on 2 cores (transport and grid alone
            // take 0.4 s), so the limit, not the trial's end, decides.
            job_timeout: Duration::from_millis(200),
            ..Default::default()
        });
        // A trial reports progress per participant: the limit is checked at each report.
        let req = r#"{"name": "microneedling_split_face", "participants": 100000}"#;
        let (status, b) = call(&app, post("/api/v1/trial", "application/json", req)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{b}");
        let a = json(&b);
        let url = a["url"].as_str().unwrap().to_string();
        let started = Instant::now();
        let v = loop {
            let (_, b) = call(&app, get(&url)).await;
            let v = json(&b);
            if v["status"] != "queued" && v["status"] != "running" {
                break v;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the job ran past its limit: {v}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(v["status"], "failed", "{v}");
        let m = v["error"]["message"].as_str().unwrap();
        assert!(
            m.contains("time limit") && m.contains("participants"),
            "{m}"
        );
    });
}

/// The microneedling scenario run for `hours`, with `numerics` (TOML lines) if any.
fn microneedling(hours: f64, numerics: &str) -> String {
    let text = exoskin_api::simulate::DEFAULT_SCENARIO;
    assert!(text.contains("duration_h = 48.0"));
    let text = text.replace("duration_h = 48.0", &format!("duration_h = {hours:.1}"));
    if numerics.is_empty() {
        text
    } else {
        format!("{text}\n[numerics]\n{numerics}\n")
    }
}

/// The estimated seconds of a scenario's run, and the key that drives it.
fn estimate(text: &str) -> (f64, String) {
    let s = exoskin_api::simulate::parse(text, "t").unwrap();
    let tiny = exoskin_transport::Budget {
        memory_bytes: f64::INFINITY,
        seconds: 0.0,
    };
    match exoskin_api::simulate::check_cost(
        &s,
        "t",
        exoskin_model::TransportParams::defaults(),
        exoskin_response::ResponseParams::defaults(),
        &tiny,
    ) {
        Err(exoskin_api::ApiError::BadInput { field, message }) => {
            let huge = exoskin_transport::Budget {
                memory_bytes: f64::INFINITY,
                seconds: f64::INFINITY,
            };
            let c = exoskin_api::simulate::check_cost(
                &s,
                "t",
                exoskin_model::TransportParams::defaults(),
                exoskin_response::ResponseParams::defaults(),
                &huge,
            )
            .unwrap()
            .unwrap();
            eprintln!("{message}");
            (c.seconds, field.unwrap_or_default())
        }
        other => panic!("not refused at a zero budget: {other:?}"),
    }
}

#[test]
fn a_simulation_past_the_request_time_limit_answers_408_and_frees_its_slot() {
    // A run estimated at 30 s or more: at least a few seconds on any machine (estimates err
    // long by at most about 13x), so it is still running at the 1 s limit.
    let mut cells = 40;
    let long = loop {
        let text = microneedling(336.0, &format!("cells_per_layer = {cells}"));
        if estimate(&text).0 >= 30.0 {
            break text;
        }
        cells *= 2;
        assert!(cells <= 2000, "no grid is estimated at 30 s");
    };
    run(async {
        let app = router(WebConfig {
            max_jobs: 1,
            workers: 1,
            data_dir: root(),
            direct_timeout: Duration::from_secs(1),
            direct_budget: exoskin_transport::Budget::DEFAULT,
            ..Default::default()
        });
        let request = Request::post("/api/v1/simulate")
            .header("content-type", "application/toml")
            .body(Body::from(long))
            .unwrap();
        let (took, m) = timed_out(&app, request, Duration::from_secs(20)).await;
        assert!(m.contains("time limit") && m.contains("duration_h"), "{m}");
        assert!(took < Duration::from_secs(4), "{took:?}");
        // Its slot is free as soon as the run sees its stop (at its next solver step; on a
        // loaded machine the answer can come first): the next run is answered.
        the_next_run_is_answered_within(&app, Duration::from_secs(3)).await;
    });
}

#[test]
fn a_simulation_past_the_cost_budget_is_refused_at_once_at_the_field_it_names() {
    // A budget below the longest run the form allows (14 days), which its duration drives.
    let (seconds, field) = estimate(&microneedling(336.0, ""));
    assert_eq!(field, "experiment.duration_h");
    run(async {
        let app = router(WebConfig {
            data_dir: root(),
            direct_budget: exoskin_transport::Budget {
                seconds: seconds / 2.0,
                ..exoskin_transport::Budget::DEFAULT
            },
            ..Default::default()
        });
        let started = Instant::now();
        let (status, b) = call(
            &app,
            post(
                "/api/v1/simulate",
                "application/toml",
                microneedling(336.0, ""),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        let e = json(&b);
        assert_eq!(e["field"], "experiment.duration_h", "{e}");
        assert!(
            e["message"].as_str().unwrap().contains("of computing"),
            "{e}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        // The page shows it at the form's field.
        let (status, page) = call(&app, get("/simulate?run=1&duration_h=336")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let at_field = page
            .split("id=\"f-duration_h-error\"")
            .nth(1)
            .unwrap_or_else(|| panic!("no error at the duration field: {page}"));
        assert!(at_field.contains("of computing"), "{at_field}");
    });
}
