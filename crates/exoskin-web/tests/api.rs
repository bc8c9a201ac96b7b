//! The API through its router: status codes, errors with the CLI's messages, jobs with
//! progress events, cancellation, the queue limit and the OpenAPI document.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use exoskin_web::{router, WebConfig};
use serde_json::Value;
use std::path::PathBuf;
use tower::ServiceExt;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn app(max_jobs: usize) -> axum::Router {
    router(WebConfig {
        max_jobs,
        workers: 2,
        data_dir: root(),
        ..Default::default()
    })
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, String) {
    let r = app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let b = axum::body::to_bytes(r.into_body(), 64 << 20).await.unwrap();
    (status, String::from_utf8(b.to_vec()).unwrap())
}

fn post(path: &str, ct: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header("content-type", ct)
        .body(body.into())
        .unwrap()
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

#[test]
fn simulate_answers_the_run_document_for_toml_and_json_bodies() {
    rt().block_on(async {
        let app = app(4);
        let toml = exoskin_api::simulate::DEFAULT_SCENARIO;
        let (s, b) = call(&app, post("/api/v1/simulate", "application/toml", toml)).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let from_toml = json(&b);
        let rec = from_toml["transport"]["mass_balance"]["recovery"]
            .as_f64()
            .unwrap();
        assert!((rec - 1.0).abs() < 1e-6, "mass balance recovery {rec}");
        // The same scenario as JSON tables gives the same document.
        let t: toml::Value = toml::from_str(toml).unwrap();
        let body = serde_json::to_string(&t).unwrap();
        let (s, b) = call(&app, post("/api/v1/simulate", "application/json", body)).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(json(&b), from_toml);
    });
}

#[test]
fn bad_scenarios_get_422_with_the_field_and_the_cli_message() {
    rt().block_on(async {
        let app = app(4);
        let text = exoskin_api::simulate::DEFAULT_SCENARIO
            .replace("age_years = 45.0", "age_years = 450.0");
        let (s, b) = call(&app, post("/api/v1/simulate", "text/plain", text.clone())).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        let e = json(&b);
        let cli = match exoskin_api::simulate::parse(&text, "<request body>") {
            Err(exoskin_api::ApiError::BadInput { field, message }) => (field, message),
            Ok(_) => panic!("age 450 was accepted"),
        };
        assert_eq!(e["message"], cli.1);
        assert_eq!(e["field"].as_str().map(str::to_string), cli.0);
        assert!(
            e["field"].as_str().unwrap_or("").contains("age_years"),
            "{e}"
        );
        // Not JSON.
        let (s, b) = call(&app, post("/api/v1/simulate", "application/json", "{nope")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(json(&b)["field"], "body");
    });
}

#[test]
fn bodies_past_the_limit_get_413() {
    rt().block_on(async {
        let app = router(WebConfig {
            max_body_bytes: 1000,
            ..Default::default()
        });
        let (s, b) = call(
            &app,
            post("/api/v1/simulate", "text/plain", "x".repeat(1001)),
        )
        .await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
        assert!(json(&b)["message"].as_str().unwrap().contains("1000 bytes"));
    });
}

#[test]
fn label_decodes_text_and_refuses_an_empty_list_with_the_cli_message() {
    rt().block_on(async {
        let app = app(4);
        let list = "Ingredients: Aqua, Glycerin, Human Adipose Stem Cell Exosomes, Phenoxyethanol";
        let (s, b) = call(&app, post("/api/v1/label", "text/plain", list)).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let r = json(&b);
        assert_eq!(r["ingredients"].as_array().unwrap().len(), 4);
        let want =
            serde_json::to_value(exoskin_api::label::decode(list, "<request body>").unwrap())
                .unwrap();
        assert_eq!(r, want);
        let (s, b) = call(
            &app,
            post("/api/v1/label", "application/json", r#"{"text": "   "}"#),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        let e = json(&b);
        assert_eq!(e["field"], "text");
        assert!(e["message"]
            .as_str()
            .unwrap()
            .contains("Give the ingredient list as printed"));
    });
}

#[test]
fn a_trial_runs_as_a_job_with_progress_events_and_the_cli_document() {
    rt().block_on(async {
        let app = app(4);
        let req = r#"{"name": "microneedling_split_face", "participants": 6, "seed": 7}"#;
        let (s, b) = call(&app, post("/api/v1/trial", "application/json", req)).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
        let a = json(&b);
        let events = a["events"].as_str().unwrap().to_string();
        let (s, stream) = call(&app, get(&events)).await;
        assert_eq!(s, StatusCode::OK);
        let names: Vec<&str> = stream
            .lines()
            .filter_map(|l| l.strip_prefix("event: "))
            .collect();
        assert_eq!(names.last(), Some(&"done"), "{stream}");
        assert!(
            names.iter().filter(|n| **n == "progress").count() >= 1,
            "{stream}"
        );
        let (s, b) = call(&app, get(a["url"].as_str().unwrap())).await;
        assert_eq!(s, StatusCode::OK);
        let v = json(&b);
        assert_eq!(v["status"], "done");
        assert_eq!(v["done"], v["total"]);
        let doc = &v["result"];
        assert_eq!(doc["participants"], 6);
        assert_eq!(doc["seed"], 7);
        assert!(!doc["endpoints"].as_array().unwrap().is_empty());
    });
}

#[test]
fn trial_inputs_are_checked_like_the_cli_flags() {
    rt().block_on(async {
        let app = app(4);
        let cases = [
            (
                r#"{"name": "microneedling_split_face", "participants": 1}"#,
                "participants",
                "outside the allowed range 2 to",
            ),
            (r#"{"name": "nope"}"#, "name", "no bundled trial `nope`"),
            (
                r#"{"name": "microneedling_split_face", "response": "fast"}"#,
                "response",
                "use auto, exact or grid",
            ),
            (
                r#"{"toml": "[trial]\nname='x'\n[[arms]]\nname='a'\nscenario='/etc/passwd'\n"}"#,
                "toml",
                "not one of the server's scenario files",
            ),
        ];
        for (body, field, msg) in cases {
            let (s, b) = call(&app, post("/api/v1/trial", "application/json", body)).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {b}");
            let e = json(&b);
            assert_eq!(e["field"], field, "{b}");
            assert!(e["message"].as_str().unwrap().contains(msg), "{b}");
        }
        let (s, b) = call(
            &app,
            post(
                "/api/v1/power",
                "application/json",
                r#"{"name": "microneedling_split_face", "replicates": 5}"#,
            ),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(json(&b)["message"]
            .as_str()
            .unwrap()
            .contains("--replicates 5 is outside the allowed range 100 to 100000"));
    });
}

#[test]
fn delete_cancels_a_power_job_and_a_full_queue_answers_429() {
    rt().block_on(async {
        let app = app(1);
        let req = r#"{"name": "microneedling_split_face", "replicates": 100000, "max_participants": 100000}"#;
        let (s, b) = call(&app, post("/api/v1/power", "application/json", req)).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
        let a = json(&b);
        let url = a["url"].as_str().unwrap().to_string();
        // The one slot is taken: more work is refused.
        let (s, b) = call(&app, post("/api/v1/simulate", "text/plain", exoskin_api::simulate::DEFAULT_SCENARIO)).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
        assert!(json(&b)["message"].as_str().unwrap().contains("limit of 1 jobs"));
        let r = app.clone().oneshot(Request::delete(&url).body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let (_, stream) = call(&app, get(a["events"].as_str().unwrap())).await;
        assert!(stream.contains("event: cancelled"), "{stream}");
        let (_, b) = call(&app, get(&url)).await;
        assert_eq!(json(&b)["status"], "cancelled");
        // The slot is free again.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let (s, b) = call(&app, post("/api/v1/simulate", "text/plain", exoskin_api::simulate::DEFAULT_SCENARIO)).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, _) = call(&app, get("/api/v1/jobs/unknown")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    });
}

#[test]
fn the_openapi_document_is_3_1_and_lists_every_route() {
    rt().block_on(async {
        let app = app(4);
        let (s, b) = call(&app, get("/api/v1/openapi.json")).await;
        assert_eq!(s, StatusCode::OK);
        let d = json(&b);
        assert!(d["openapi"].as_str().unwrap().starts_with("3.1"));
        for p in [
            "/api/v1/simulate",
            "/api/v1/label",
            "/api/v1/trial",
            "/api/v1/power",
            "/api/v1/certificates/verify",
            "/api/v1/jobs/{id}",
            "/api/v1/jobs/{id}/events",
        ] {
            assert!(d["paths"].get(p).is_some(), "{p} missing");
        }
        assert!(d["paths"]["/api/v1/jobs/{id}"].get("delete").is_some());
    });
}

#[test]
fn pages_render_with_their_policy_and_the_preset_run_shows_a_plot() {
    rt().block_on(async {
        let app = app(4);
        for p in ["/", "/simulate", "/label", "/scan", "/trial"] {
            let r = app.clone().oneshot(get(p)).await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{p}");
            assert!(r.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("script-src 'self'"));
        }
        let (s, b) = call(&app, get("/simulate?preset=in_vivo_microneedling&run=1")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(b.contains("<svg role=\"img\""), "no plot");
        assert!(b.contains("id=\"mass-balance\""));
        let (s, b) = call(
            &app,
            get("/simulate?preset=in_vivo_microneedling&run=1&age_years=abc"),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(b.contains("is not a number"));
        let (s, b) = call(&app, get("/label?text=Aqua%2C%20Glycerin")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(b.contains("id=\"ingredients\""));
    });
}
