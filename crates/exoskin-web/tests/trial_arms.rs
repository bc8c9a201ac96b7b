//! Uploaded trials whose arms reach outside the server's scenario files (another file of
//! the data directory, a symbolic link out, `..` escapes, absolute paths): refused, with
//! errors that show neither the server's paths nor other files' values.

use axum::http::StatusCode;
use exoskin_web::{router, WebConfig};
use std::path::{Path, PathBuf};

mod common;
use common::*;

/// A data directory with the scenarios, a file outside them holding a secret value, and a
/// symbolic link inside `scenarios/` that points at it.
struct DataDir(PathBuf);

impl DataDir {
    fn new() -> DataDir {
        DataDir::new_named("arms")
    }
    fn new_named(tag: &str) -> DataDir {
        let d = std::env::temp_dir().join(format!("exoskin-web-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("trials")).unwrap();
        std::fs::create_dir_all(d.join("scenarios/claims")).unwrap();
        for f in [
            "microneedling_ev_split_face.toml",
            "microneedling_vehicle_split_face.toml",
        ] {
            std::fs::copy(
                root().join("scenarios/claims").join(f),
                d.join("scenarios/claims").join(f),
            )
            .unwrap();
        }
        std::fs::write(
            d.join("secret.toml"),
            "[experiment]\nkind = \"in_vivo\"\napi_token = \"SECRET-VALUE-1234\"\n",
        )
        .unwrap();
        std::os::unix::fs::symlink(d.join("secret.toml"), d.join("scenarios/link.toml")).unwrap();
        DataDir(d)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn uploaded_trial_arms_reach_only_the_scenario_files_and_errors_hide_server_paths() {
    let data = DataDir::new();
    let trial =
        std::fs::read_to_string(root().join("trials/microneedling_split_face.toml")).unwrap();
    let ev = "../scenarios/claims/microneedling_ev_split_face.toml";
    rt().block_on(async {
        let app = router(WebConfig {
            data_dir: data.path().to_path_buf(),
            ..Default::default()
        });
        let with_arm = |scenario: &str| {
            let toml = trial.replacen(ev, scenario, 1);
            assert!(toml.contains(scenario));
            serde_json::json!({"toml": toml, "participants": 4}).to_string()
        };
        // The scenario files themselves are fine.
        let (s, b) = call(
            &app,
            post("/api/v1/trial", "application/json", with_arm(ev)),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
        // Another file of the data directory, the same through a symbolic link, a `..`
        // escape and an absolute path are all refused, naming the arm, without the server's
        // paths or the other file's values.
        let outside = data.path().join("secret.toml");
        for scenario in [
            "../secret.toml",
            "../scenarios/link.toml",
            "../scenarios/../../secret.toml",
            "../../../../../../etc/hostname",
            outside.to_str().unwrap(),
        ] {
            let (s, b) = call(
                &app,
                post("/api/v1/trial", "application/json", with_arm(scenario)),
            )
            .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{scenario}: {b}");
            let e = json(&b);
            assert_eq!(e["field"], "toml", "{b}");
            let m = e["message"].as_str().unwrap();
            assert!(m.contains("arms[0].scenario"), "{scenario}: {m}");
            assert!(m.contains("not one of the server's scenario files"), "{m}");
            assert!(!m.contains("SECRET-VALUE"), "{m}");
            let server_path = data.path().display().to_string();
            assert!(
                !m.contains(&server_path) || scenario.contains(&server_path),
                "{m}"
            );
        }
        // An error inside a scenario names it relative to the data directory.
        std::fs::write(
            data.path().join("scenarios/broken.toml"),
            "[experiment]\nkind = \"in_vivo\"\nduration_h = \"long\"\n",
        )
        .unwrap();
        let (s, b) = call(
            &app,
            post(
                "/api/v1/trial",
                "application/json",
                with_arm("../scenarios/broken.toml"),
            ),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        let m = json(&b)["message"].as_str().unwrap().to_string();
        assert!(!m.contains(&data.path().display().to_string()), "{m}");
        assert!(m.contains("broken.toml"), "{m}");
    });
}

#[test]
fn a_server_without_the_claims_scenarios_says_so_without_its_path() {
    let data = DataDir::new_named("claims");
    let empty = data.path().join("trials");
    rt().block_on(async {
        let app = router(WebConfig {
            data_dir: empty.clone(),
            ..Default::default()
        });
        let (s, b) = call(&app, post("/api/v1/claims", "application/json", "{}")).await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{b}");
        let m = json(&b)["message"].as_str().unwrap().to_string();
        assert!(
            m.contains("scenarios/claims") && m.contains("--data-dir"),
            "{m}"
        );
        assert!(!m.contains(&empty.display().to_string()), "{m}");
    });
}
