//! `POST /api/v1/simulate` with `{"certificate": ...}`: the document `exoskin simulate
//! --certificate CERT --json` prints (made by the same library call), and refusals with 422
//! naming the field.

use exoskin_web::{router, WebConfig};
use serde_json::{json as j, Value};

mod common;
use common::*;

fn certificate_text() -> String {
    use exoskin_batch::cert::{issue, IssueOptions};
    use exoskin_batch::date::Timestamp;
    use exoskin_batch::profile::{Profile, DEFAULT_PROFILE_TOML};
    let record =
        exoskin_batch::record::QcRecord::load(&root().join("examples/qc/pass_msc_serum.toml"))
            .unwrap();
    let profile = Profile::parse(DEFAULT_PROFILE_TOML, "default").unwrap();
    let key = exoskin_batch::keys::generate().unwrap();
    let opts = IssueOptions {
        profile: &profile,
        resolver: "id.example.com",
        issued_at: Timestamp::parse("2026-04-20T12:00:00Z").unwrap(),
        allow_failing: false,
    };
    issue(&record, &key, &opts).unwrap().text
}

#[test]
fn a_certificate_body_simulates_the_batch_as_the_library_does() {
    rt().block_on(async {
        let app = router(WebConfig {
            max_jobs: 4,
            workers: 2,
            data_dir: root(),
            ..Default::default()
        });
        let text = certificate_text();
        let cert: Value = serde_json::from_str(&text).unwrap();
        let body = j!({"certificate": cert, "on": "2026-05-12", "uncertainty": 20, "seed": 7});
        let (s, b) = call(
            &app,
            post("/api/v1/simulate", "application/json", body.to_string()),
        )
        .await;
        assert_eq!(s.as_u16(), 200, "{b}");
        let ours = json(&b);
        assert_eq!(ours["batch"]["age_days"], 30);
        assert_eq!(ours["batch"]["verified"], true);

        use exoskin_api::certificate as c;
        let opts = c::CertificateOptions {
            on: Some("2026-05-12"),
            ..Default::default()
        };
        let batch = c::read_certificate(&text, &opts).unwrap();
        let name = exoskin_api::simulate::DEFAULT_SCENARIO_NAME;
        let scenario =
            exoskin_api::simulate::parse(exoskin_api::simulate::DEFAULT_SCENARIO, name).unwrap();
        let doc = c::simulate(scenario, name, &batch, 20, 7, &exoskin_model::Stop::never())
            .unwrap()
            .doc;
        assert_eq!(ours, doc);

        // An ensemble whose estimated cost is past what a request may take is refused before
        // it starts, naming the field and how many members would fit.
        let course =
            std::fs::read_to_string(root().join("scenarios/course_microneedling_ev.toml")).unwrap();
        let body =
            j!({"certificate": cert, "on": "2026-05-12", "scenario": course, "uncertainty": 256});
        let (s, b) = call(
            &app,
            post("/api/v1/simulate", "application/json", body.to_string()),
        )
        .await;
        assert_eq!(s.as_u16(), 422, "{b}");
        let e = json(&b);
        assert_eq!(e["field"], "uncertainty", "{b}");
        assert!(
            e["message"].as_str().unwrap().contains("ask for at most"),
            "{b}"
        );

        // Expired on the day of use, and an unknown key: 422 naming the field.
        let body = j!({"certificate": text, "on": "2028-05-01"});
        let (s, b) = call(
            &app,
            post("/api/v1/simulate", "application/json", body.to_string()),
        )
        .await;
        assert_eq!(s.as_u16(), 422, "{b}");
        let e = json(&b);
        assert_eq!(e["field"], "certificate");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("expired on 2028-04-11"),
            "{b}"
        );
        let body = j!({"certificate": text, "members": 20});
        let (s, b) = call(
            &app,
            post("/api/v1/simulate", "application/json", body.to_string()),
        )
        .await;
        assert_eq!(s.as_u16(), 422, "{b}");
        assert_eq!(json(&b)["field"], "members");
    });
}
