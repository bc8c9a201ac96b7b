//! The API through its router: status codes, errors with the CLI's messages, jobs with
//! progress events, cancellation, the queue limit and the OpenAPI document.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use exoskin_web::{router, WebConfig};
use serde_json::Value;
use tower::ServiceExt;

mod common;
use common::*;

fn app(max_jobs: usize) -> axum::Router {
    router(WebConfig {
        max_jobs,
        workers: 2,
        data_dir: root(),
        ..Default::default()
    })
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

/// Each kind of API error gets its status and names its kind: input 422, solver and
/// internal 500, stopped 408.
#[test]
fn each_kind_of_api_error_has_its_status_and_kind() {
    use exoskin_api::ApiError;
    let solver = ApiError::Solver {
        name: "s.toml".into(),
        error: exoskin_transport::TransportError::NonFinite {
            class: 0,
            cell: 2,
            time_h: 3.0,
        },
    };
    for (e, status, kind) in [
        (ApiError::bad("x"), 422, "input"),
        (solver, 500, "solver"),
        (ApiError::Internal("bundled data".into()), 500, "internal"),
        (
            ApiError::Stopped(exoskin_model::Stopped::Cancelled),
            408,
            "cancelled",
        ),
    ] {
        let r = exoskin_web::api::bad_input(e);
        assert_eq!(r.status().as_u16(), status);
        let b = rt()
            .block_on(axum::body::to_bytes(r.into_body(), 1 << 16))
            .unwrap();
        assert_eq!(json(&String::from_utf8_lossy(&b))["kind"], kind);
    }
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
            Err(e) => panic!("not a bad-input error: {e}"),
        };
        assert_eq!(e["message"], cli.1);
        assert_eq!(e["field"].as_str().map(str::to_string), cli.0);
        assert_eq!(e["kind"], "input", "{e}");
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
fn the_trial_page_shows_the_flow_and_one_table_per_endpoint() {
    rt().block_on(async {
        let app = app(4);
        let req = r#"{"name": "ev_serum_equivalence", "participants": 12, "seed": 3}"#;
        let (s, b) = call(&app, post("/api/v1/trial", "application/json", req)).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
        let a = json(&b);
        let (_, stream) = call(&app, get(a["events"].as_str().unwrap())).await;
        assert!(stream.contains("event: done"), "{stream}");
        let url = a["url"].as_str().unwrap();
        let (_, b) = call(&app, get(url)).await;
        let doc = &json(&b)["result"];
        assert_eq!(doc["analysis"], "equivalence");
        assert!(doc["endpoints"][0]["tost_p_value"].as_f64().is_some());
        let id = url.rsplit('/').next().unwrap();
        let (s, page) = call(&app, get(&format!("/trial?job={id}"))).await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains("Participant flow"), "{page}");
        assert_eq!(
            page.matches("class=\"endpoint-table\"").count(),
            3,
            "{page}"
        );
        assert!(
            page.contains("adjusted p") && page.contains("margins"),
            "{page}"
        );
        assert!(page.contains("Repeated visits"), "{page}");
        // One phone-sized figure per endpoint, never one tall multi-panel SVG.
        let viewbox = format!(
            "viewBox=\"0 0 {} {}\"",
            exoskin_web::pages::PHONE_PLOT_W,
            exoskin_web::pages::PHONE_PLOT_H
        );
        let result = &page[page.find("id=\"trial-result\"").unwrap()..];
        assert_eq!(result.matches("<svg ").count(), 3, "{page}");
        assert_eq!(result.matches(viewbox.as_str()).count(), 3, "{page}");
        // Units as printed, in the tables and the plots alike (TEWL's g/m2/h from its file).
        assert!(
            result.contains("g/m²/h") && !result.contains("g/m2/h"),
            "{result}"
        );
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
            "/api/v1/claims",
            "/api/v1/certificates/verify",
            "/api/v1/jobs/{id}",
            "/api/v1/jobs/{id}/events",
        ] {
            assert!(d["paths"].get(p).is_some(), "{p} missing");
        }
        assert!(d["paths"]["/api/v1/jobs/{id}"].get("delete").is_some());
        let power = &d["paths"]["/api/v1/power"]["post"]["responses"];
        assert!(
            power.get("200").is_some() && power.get("202").is_some(),
            "{power}"
        );
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
        // One phone-sized figure per outcome, never one wide figure scaled down on a phone.
        let viewbox = format!(
            "viewBox=\"0 0 {} {}\"",
            exoskin_web::pages::PHONE_PLOT_W,
            exoskin_web::pages::PHONE_PLOT_H
        );
        let plots = &b[b.find("id=\"outcome-plots\"").expect("outcome plots")..];
        let plots = &plots[..plots.find("id=\"wound\"").unwrap()];
        assert_eq!(plots.matches("<svg ").count(), 5, "{plots}");
        assert_eq!(plots.matches(viewbox.as_str()).count(), 5, "{plots}");
        assert!(plots.contains("id=\"outcome-collagen\""), "{plots}");
        let (s, b) = call(
            &app,
            get("/simulate?preset=in_vivo_microneedling&run=1&age_years=abc"),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(b.contains("is not a number"));
        let (s, b) = call(&app, get("/trial?effect_size=0.5&test=paired")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            b.contains("id=\"analytic-answer\"") && b.contains("34 pairs"),
            "{b}"
        );
        let (s, b) = call(&app, get("/trial?effect_size=abc")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(b.contains("Effect size: `abc` is not a number"));
        let (s, b) = call(&app, get("/label?text=Aqua%2C%20Glycerin")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(b.contains("id=\"ingredients\""));
        // The box's region, claims and expiry reach the flags that need them.
        let (s, b) = call(
            &app,
            get("/label?text=Aqua%2C%20Human%20Umbilical%20Cord%20Mesenchymal%20Stem%20Cell%20Exosomes&region=US&claims=FDA%20approved%20exosome%20therapy&expiry=2020-01"),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert!(b.contains("approval claim"), "{b}");
        assert!(b.contains("id=\"verdict\""));
        assert!(b.contains("option value=\"US\" selected"), "the region is kept in the form");
    });
}

async fn power_json(app: &axum::Router, body: &str) -> (StatusCode, Value) {
    let (s, b) = call(
        app,
        post("/api/v1/power", "application/json", body.to_string()),
    )
    .await;
    (s, json(&b))
}

#[test]
fn power_without_a_trial_answers_the_analytic_sample_size_at_once() {
    rt().block_on(async {
        let app = app(4);
        // Reference: the paired t test at d_z = 0.5, alpha 0.05, power 0.8 needs 33.37 pairs
        // and the two-sample test at d = 0.5 needs 63.77 per group (noncentral t; G*Power
        // rounds them up to 34 and 64).
        let (s, v) = power_json(&app, r#"{"effect_size": 0.5}"#).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!((v["n"].as_f64().unwrap() - 33.367).abs() < 0.01, "{v}");
        assert_eq!(v["n_rounded_up"], 34);
        assert_eq!(v["test"], "paired");
        assert_eq!(
            (v["alpha"].as_f64(), v["power"].as_f64()),
            (Some(0.05), Some(0.8))
        );
        let (s, v) = power_json(
            &app,
            r#"{"difference": 1, "sd": 2, "test": "two-sample", "power": 0.8, "alpha": 0.05}"#,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!((v["n"].as_f64().unwrap() - 63.766).abs() < 0.01, "{v}");
        assert_eq!(v["effect_size"], 0.5);
        // The document is the one `exoskin power --effect-size 0.5 --json` prints.
        let want = exoskin_api::trial::analytic_power(&exoskin_api::trial::AnalyticInput {
            effect_size: Some(0.5),
            difference: None,
            sd: None,
            test: "paired",
            power: None,
            alpha: None,
            analysis: None,
            margin: None,
            margin_low: None,
            margin_high: None,
            ratio: None,
        })
        .unwrap()
        .unwrap();
        assert_eq!(
            power_json(&app, r#"{"effect_size": 0.5}"#).await.1,
            want.doc
        );
    });
}

#[test]
fn power_inputs_get_the_cli_messages_with_their_field() {
    rt().block_on(async {
        let app = app(4);
        let cases = [
            (
                r#"{"effect_size": 0.5, "sd": 1}"#,
                "effect_size",
                "give either --effect-size, or both --difference and --sd",
            ),
            (
                r#"{"difference": 1}"#,
                "sd",
                "give either --effect-size, or both --difference and --sd",
            ),
            (
                r#"{"difference": 1, "sd": 0}"#,
                "sd",
                "--sd 0 must be a positive number",
            ),
            (
                r#"{"effect_size": 0}"#,
                "effect_size",
                "the effect size must be a finite number other than 0",
            ),
            (
                r#"{"effect_size": 0.5, "test": "anova"}"#,
                "test",
                "--test anova: use paired or two-sample",
            ),
            (
                r#"{"effect_size": 0.5, "power": 1.5}"#,
                "power",
                "--power 1.5 is outside the allowed range 0.05 to 0.999",
            ),
            (
                r#"{"effect_size": 0.5, "alpha": 0.9}"#,
                "alpha",
                "--alpha 0.9 is outside the allowed range 1e-6 to 0.5",
            ),
            (
                r#"{"effect_size": "big"}"#,
                "effect_size",
                "`effect_size` must be a number",
            ),
            (
                r#"{}"#,
                "name",
                "or `effect_size` (or `difference` and `sd`) for the analytic answer",
            ),
            (
                r#"{"name": "microneedling_split_face", "effect_size": 0.5}"#,
                "effect_size",
                "for the analytic answer without a trial",
            ),
            (
                r#"{"name": "microneedling_split_face", "alpha": 0.7}"#,
                "alpha",
                "--alpha 0.7 is outside",
            ),
            (
                r#"{"name": "microneedling_split_face", "assurance_draws": 5000}"#,
                "assurance_draws",
                "--assurance-draws 5000 is outside the allowed range 0 to 1000",
            ),
        ];
        for (body, field, msg) in cases {
            let (s, e) = power_json(&app, body).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {e}");
            assert_eq!(e["field"], field, "{body}: {e}");
            assert!(e["message"].as_str().unwrap().contains(msg), "{body}: {e}");
        }
    });
}

#[test]
fn claims_run_as_a_job_with_progress_per_claim_and_the_cli_document() {
    rt().block_on(async {
        let app = app(4);
        let (s, b) = call(
            &app,
            post("/api/v1/claims", "application/json", r#"{"draws": 2}"#),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
        let a = json(&b);
        let (_, stream) = call(&app, get(a["events"].as_str().unwrap())).await;
        assert!(stream.contains("event: done"), "{stream}");
        let (_, b) = call(&app, get(a["url"].as_str().unwrap())).await;
        let v = json(&b);
        assert_eq!(v["status"], "done", "{v}");
        let n = v["result"]["claims"].as_array().unwrap().len();
        assert!(n > 0);
        assert_eq!(
            (v["done"].as_u64(), v["total"].as_u64()),
            (Some(n as u64), Some(n as u64))
        );
        // The CLI's document: the same function over the same scenarios, draws and seed.
        let rows = exoskin_api::claims::run(
            &root().join("scenarios/claims"),
            2,
            &exoskin_model::Stop::never(),
        )
        .unwrap();
        assert_eq!(v["result"], exoskin_api::claims::document(&rows));
        for c in v["result"]["claims"].as_array().unwrap() {
            assert!(!c["unit"].as_str().unwrap().is_empty(), "{c}");
            // A claim comparing two arms is judged on their paired difference.
            if c["id"] == "pores_split_face_ev" {
                assert_eq!(c["difference"], c["predicted"], "{c}");
                assert!(c["difference"]["p50"].is_f64(), "{c}");
            }
            let verdict = c["verdict"].as_str().unwrap();
            assert!(
                ["supported", "not_supported", "contradicted", "untestable"].contains(&verdict),
                "{c}"
            );
        }
    });
}

#[test]
fn claims_draws_are_checked_like_the_cli_flag_and_the_job_can_be_cancelled() {
    rt().block_on(async {
        let app = app(1);
        for (body, msg) in [
            (r#"{"draws": 0}"#, "--draws 0: must be between 1 and 10000"),
            (
                r#"{"draws": 10001}"#,
                "--draws 10001: must be between 1 and 10000",
            ),
            (r#"{"draws": -3}"#, "`draws` must be a whole number"),
        ] {
            let (s, b) = call(&app, post("/api/v1/claims", "application/json", body)).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {b}");
            let e = json(&b);
            assert_eq!(e["field"], "draws", "{b}");
            assert!(e["message"].as_str().unwrap().contains(msg), "{b}");
        }
        // A long run holds the one slot; a second is refused, and DELETE stops the first at
        // its next claim.
        let (s, b) = call(
            &app,
            post("/api/v1/claims", "application/json", r#"{"draws": 10000}"#),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
        let a = json(&b);
        let (s, _) = call(&app, post("/api/v1/claims", "application/json", "")).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        let url = a["url"].as_str().unwrap().to_string();
        let r = app
            .clone()
            .oneshot(Request::delete(&url).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let (_, stream) = call(&app, get(a["events"].as_str().unwrap())).await;
        assert!(stream.contains("event: cancelled"), "{stream}");
        let (_, b) = call(&app, get(&url)).await;
        let v = json(&b);
        assert_eq!(v["status"], "cancelled");
        assert!(v["result"].is_null());
    });
}

/// A certificate whose subject names its lot twice (`"lot": "EVIL-1", "lot": <signed>`) is
/// refused, inline or as text, with the repeated key named; the same certificate without
/// the extra key verifies.
#[test]
fn certificate_verify_refuses_repeated_keys() {
    use exoskin_batch::{cert, date::Timestamp, keys, profile::Profile, record::QcRecord};
    let rec = QcRecord::load(&root().join("examples/qc/pass_msc_serum.toml")).unwrap();
    let k = keys::generate().unwrap();
    let at = "2026-11-23T12:00:00Z";
    let p = Profile::default_profile();
    let issued = cert::issue(
        &rec,
        &k,
        &cert::IssueOptions {
            profile: &p,
            resolver: "id.example.com",
            issued_at: Timestamp::parse(at).unwrap(),
            allow_failing: false,
        },
    )
    .unwrap();
    let did = keys::did_key(&k.verifying_key());
    let lot = "\"lot\": \"EXO2604-12\"";
    let dup = issued
        .text
        .replacen(lot, &format!("\"lot\": \"EVIL-1\", {lot}"), 1);
    rt().block_on(async {
        let app = app(2);
        let req = |cert_json: String| {
            post(
                "/api/v1/certificates/verify",
                "application/json",
                format!(
                    "{{\"certificate\": {cert_json}, \"pubkey\": \"{did}\", \"at\": \"{at}\"}}"
                ),
            )
        };
        let (s, b) = call(&app, req(issued.text.clone())).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(json(&b)["valid"], true, "{b}");
        // Inline: the request body itself is refused.
        let (s, b) = call(&app, req(dup.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
        assert!(b.contains("duplicate key `lot`"), "{b}");
        // As text: the certificate is not valid, and the message names the key.
        let (s, b) = call(&app, req(serde_json::to_string(&dup).unwrap())).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let v = json(&b);
        assert_eq!(v["valid"], false, "{b}");
        assert!(
            v["error"].as_str().unwrap().contains("duplicate key `lot`"),
            "{b}"
        );
    });
}

#[test]
fn the_simulate_page_shows_a_runs_error_at_the_field_it_names() {
    rt().block_on(async {
        let app = app(4);
        // The form accepts 450 as a number; the model refuses it, naming skin.age_years.
        let (s, page) = call(&app, get("/simulate?run=1&age_years=450")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let at_field = page
            .split("id=\"f-age_years-error\"")
            .nth(1)
            .unwrap_or_else(|| panic!("no error at the age field: {page}"));
        assert!(at_field.contains("age"), "{at_field}");
        assert!(page.contains("aria-describedby=\"f-age_years-error\""));
        assert!(page.contains("aria-invalid=\"true\""));
        // Only that field is marked.
        assert_eq!(page.matches("aria-invalid").count(), 1);
    });
}

#[test]
fn power_replicates_and_max_participants_out_of_range_get_422_at_their_field() {
    rt().block_on(async {
        let app = app(4);
        let (rlo, rhi) = exoskin_web::pages::POWER_REPLICATES;
        let (mlo, mhi) = exoskin_web::pages::POWER_MAX_PARTICIPANTS;
        // The API names the field, with the CLI's message.
        for (body, field, msg) in [
            (
                format!(
                    r#"{{"name": "microneedling_split_face", "replicates": {}}}"#,
                    rlo - 1
                ),
                "replicates",
                format!(
                    "--replicates {} is outside the allowed range {rlo} to {rhi}",
                    rlo - 1
                ),
            ),
            (
                format!(
                    r#"{{"name": "microneedling_split_face", "replicates": {}}}"#,
                    rhi + 1
                ),
                "replicates",
                format!(
                    "--replicates {} is outside the allowed range {rlo} to {rhi}",
                    rhi + 1
                ),
            ),
            (
                format!(
                    r#"{{"name": "microneedling_split_face", "max_participants": {}}}"#,
                    mlo - 1
                ),
                "max_participants",
                format!(
                    "--max-participants {} is outside the allowed range {mlo} to {mhi}",
                    mlo - 1
                ),
            ),
            (
                r#"{"name": "microneedling_split_face", "replicates": -3}"#.to_string(),
                "replicates",
                "`replicates` must be a whole number >= 0".to_string(),
            ),
        ] {
            let (s, e) = power_json(&app, &body).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {e}");
            assert_eq!(e["field"], field, "{body}: {e}");
            assert_eq!(e["message"], msg.as_str(), "{body}: {e}");
        }
        // The page's ranges are the API's: its boundaries are accepted there.
        let mut trial =
            exoskin_api::trial::load(&root().join("trials/microneedling_split_face.toml")).unwrap();
        for (r, m) in [(rlo, mlo), (rhi, mhi)] {
            let got = exoskin_api::trial::power_settings(&mut trial, None, None, Some(r), Some(m));
            assert!(got.is_ok(), "{r} {m}: {got:?}");
        }
        // The page shows the limits next to the form, and a value out of range at its field
        // (422, as for the analytic form).
        let (s, page) = call(&app, get("/trial")).await;
        assert_eq!(s, StatusCode::OK);
        let limits = &page[page.find("id=\"power-limits\"").unwrap()..];
        let limits = &limits[..limits.find("</div>").unwrap()];
        for want in [
            format!("{rlo} to {rhi} simulated trials per sample size"),
            format!("maximum participants: {mlo} to {mhi}"),
            format!(
                "{} model draws",
                exoskin_api::trial::DEFAULT_ASSURANCE_DRAWS
            ),
            "past 600 s (10 min) is stopped".to_string(),
        ] {
            assert!(limits.contains(&want), "{want}: {limits}");
        }
        assert!(
            page.contains("id=\"power-replicates\" name=\"replicates\""),
            "{page}"
        );
        assert!(!page.contains("field-error"), "{page}");
        for (query, id, msg) in [
            (
                "replicates=5",
                "power-replicates",
                "5 is outside this server's range 100 to 100000",
            ),
            (
                "replicates=2000000",
                "power-replicates",
                "2000000 is outside this server's range 100 to 100000",
            ),
            (
                "max_participants=3",
                "power-max-participants",
                "3 is outside this server's range 4 to 100000",
            ),
            (
                "max_participants=ten",
                "power-max-participants",
                "`ten` is not a whole number",
            ),
        ] {
            let (s, page) = call(&app, get(&format!("/trial?{query}"))).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
            let at = page
                .find(&format!("id=\"{id}\""))
                .unwrap_or_else(|| panic!("{query}: {page}"));
            let field = &page[at..];
            let field = &field[..field.find("</div>").unwrap()];
            assert!(field.contains("aria-invalid=\"true\""), "{query}: {field}");
            assert!(
                field.contains(&format!("id=\"{id}-error\"")) && field.contains(msg),
                "{query}: {field}"
            );
        }
        let (s, _) = call(&app, get("/trial?replicates=100&max_participants=100000")).await;
        assert_eq!(s, StatusCode::OK);
    });
}

#[test]
fn a_power_job_shows_n_the_better_side_and_its_curve_on_the_trial_page() {
    rt().block_on(async {
        let app = app(4);
        let req = r#"{"name": "microneedling_split_face", "replicates": 100, "max_participants": 40}"#;
        let (s, b) = call(&app, post("/api/v1/power", "application/json", req)).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
        let a = json(&b);
        let (_, stream) = call(&app, get(a["events"].as_str().unwrap())).await;
        assert!(stream.contains("event: done"), "{stream}");
        let id = a["job"].as_str().unwrap();
        let (s, page) = call(
            &app,
            get(&format!("/trial?name=microneedling_split_face&replicates=100&max_participants=40&power_job={id}")),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let result = &page[page.find("id=\"power-result\"").unwrap()..];
        // The answer first: at 40 participants the power falls short of 0.8.
        assert!(
            result.contains("No sample size up to 40 participants enrolled reaches power 0.8 for elasticity at day 84"),
            "{result}"
        );
        assert!(
            result.contains("The t-test formula for the same effect needs ")
                && result.contains("raise the maximum participants to search that far"),
            "{result}"
        );
        assert!(result.contains("EV serum is the better side"), "{result}");
        assert!(result.contains("R2 (Ua/Uf)"), "{result}");
        // The curve: power and assurance with their bands, the target as a line, one
        // phone-sized panel.
        let fig = &result[result.find("id=\"power-curve\"").unwrap()..];
        let fig = &fig[..fig.find("</figure>").unwrap()];
        assert!(
            fig.contains(&format!(
                "viewBox=\"0 0 {} {}\"",
                exoskin_web::pages::PHONE_PLOT_W,
                exoskin_web::pages::PHONE_PLOT_H
            )),
            "{fig}"
        );
        assert_eq!(fig.matches("class=\"band\"").count(), 2, "{fig}");
        assert!(fig.contains(">power</text>") && fig.contains(">assurance</text>"), "{fig}");
        assert!(fig.contains("stroke-dasharray"), "the target line: {fig}");
        assert!(fig.contains("participants enrolled"), "{fig}");
        // The form keeps its inputs; a trial result is not looked for in a power job.
        assert!(page.contains("name=\"replicates\" inputmode=\"numeric\" autocomplete=\"off\" value=\"100\""), "{page}");
        let (s, page) = call(&app, get(&format!("/trial?job={id}"))).await;
        assert_eq!(s, StatusCode::OK);
        assert!(!page.contains("id=\"trial-result\""), "{page}");
        let (_, page) = call(&app, get("/trial?power_job=gone")).await;
        assert!(page.contains("no longer kept"), "{page}");
    });
}
