//! `exoskin simulate` as a user runs it: outputs, JSON fields, CSV files, and bad input.

mod common;

use common::{exe, json_of};
use std::path::PathBuf;

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("exoskin-cli-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn franz_json_has_the_documented_fields() {
    let v = json_of(&[
        "simulate",
        scenario("franz_cell_single_layer.toml").to_str().unwrap(),
        "--json",
    ]);
    let t = &v["transport"];
    let times = t["times_h"].as_array().unwrap();
    let q = t["cumulative_receptor_per_cm2"].as_array().unwrap();
    assert_eq!(times.len(), q.len());
    assert!(t["steady_flux_per_cm2_h"].as_f64().unwrap() > 0.0);
    let lag = t["lag_time_h"].as_f64().unwrap();
    assert!((lag - 400.0 / 3.0 / 3600.0).abs() < 0.02 * lag);
    let rec = t["mass_balance"]["recovery"].as_f64().unwrap();
    assert!((rec - 1.0).abs() < 1e-9);
    assert!(t["mass_balance"]["compartments_per_cm2"]["receptor"]
        .as_f64()
        .is_some());
}

#[test]
fn in_vivo_json_reports_dermis_fraction_and_csv_is_written() {
    let dir = tmp("invivo");
    let v = json_of(&[
        "simulate",
        scenario("in_vivo_intact_forehead.toml").to_str().unwrap(),
        "--json",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let f = v["transport"]["reached_dermis_fraction"].as_f64().unwrap();
    assert!(f > 0.0 && f < 1e-3);
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.starts_with("time_h,film_per_cm2"), "{header}");
    assert_eq!(
        csv.lines().count(),
        v["transport"]["times_h"].as_array().unwrap().len() + 1
    );
    assert!(
        std::fs::read_to_string(dir.join("profile_final.csv"))
            .unwrap()
            .lines()
            .count()
            > 10
    );
}

#[test]
fn readable_summary_and_embedded_default() {
    let out = exe().arg("simulate").output().unwrap();
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(
        s.contains("reached the dermis") && s.contains("recovery"),
        "{s}"
    );
}

/// The README's first command: a clinician's course. Its first lines say what the vesicles
/// add over the vehicle after the same procedure, in words, with the interval and the
/// probability; then the table at 2, 4 and 12 weeks (a reading on a session day taken
/// before that session), the outcomes, and a mass balance in words with shares.
#[test]
fn the_course_leads_with_what_the_vesicles_add() {
    let out = exe()
        .args(["simulate", "../../scenarios/course_microneedling_ev.toml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8(out.stdout).unwrap();
    let head: String = s.lines().take(8).collect::<Vec<_>>().join("\n");
    assert!(head.contains("the vesicles add"), "{head}");
    assert!(head.contains("compared with the vehicle"), "{head}");
    assert!(
        head.contains("90 %") && head.contains("probability"),
        "{head}"
    );
    assert!(
        !head.contains("90\n%"),
        "a unit torn from its number: {head}"
    );
    let table = s
        .lines()
        .find(|l| l.contains("day 14") && l.contains("day 28") && l.contains("day 84"))
        .expect("the effect at 2, 4 and 12 weeks");
    assert!(table.contains("P(better)"), "{table}");
    assert!(s.contains("taken just before that session"));
    // Read before the second session (day 28), water loss is back to rest, not at the
    // fresh injury's peak.
    let tewl = s
        .lines()
        .find(|l| l.trim_start().starts_with("TEWL"))
        .unwrap();
    let cells: Vec<f64> = tewl
        .split_whitespace()
        .skip(1)
        .map(|c| c.parse().unwrap())
        .collect();
    assert!(cells.iter().all(|x| x.abs() < 0.5), "{tewl}");
    assert!(s.contains("taken up by fibroblasts") && s.contains("recovery"));
    assert!(s.contains("µm") && s.contains("per cm²"));
    // No raw notation such as 9.442e-7: a digit, `e`, then a digit or a minus sign.
    for line in s.lines() {
        let b = line.as_bytes();
        let raw = b.windows(3).any(|w| {
            w[0].is_ascii_digit() && w[1] == b'e' && (w[2].is_ascii_digit() || w[2] == b'-')
        });
        assert!(!raw, "raw notation: {line}");
    }
}

/// The output the README quotes under its quick start is what the command prints, line for
/// line up to its `...`.
#[test]
fn the_readme_quotes_the_first_command_verbatim() {
    let readme = include_str!("../../../README.md");
    let quick = &readme[readme.find("## Quick start").unwrap()..];
    let command = quick
        .lines()
        .find(|l| l.starts_with("cargo run --release -- simulate"))
        .unwrap();
    let file = command.split_whitespace().nth(5).unwrap();
    let quoted: Vec<&str> = quick
        .split("```text\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| l.trim() != "..." && !l.starts_with("```"))
        .collect();
    assert!(quoted.len() > 8);
    let out = exe()
        .args(["simulate", &format!("../../{file}")])
        .output()
        .unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    let printed: Vec<&str> = printed.lines().collect();
    for (i, q) in quoted.iter().enumerate() {
        let p = printed[i].replace("../../", "");
        assert_eq!(*q, p, "README line {} differs", i + 1);
    }
}

fn bad(text: &str, expect: &[&str]) {
    let dir = tmp("bad");
    let f = dir.join(format!("s{}.toml", text.len()));
    std::fs::write(&f, text).unwrap();
    let out = exe()
        .args(["simulate", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "exit code");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("panicked"), "{err}");
    for e in expect {
        assert!(err.contains(e), "expected {e:?} in {err}");
    }
}

#[test]
fn bad_input_exits_2_with_file_line_column() {
    let good = std::fs::read_to_string(scenario("franz_cell_single_layer.toml")).unwrap();
    // Negative thickness: names the key, its position and the allowed range.
    bad(
        &good.replace("thickness_um = 20.0", "thickness_um = -20.0"),
        &[
            ".toml:14:16:",
            "membrane.layers[0].thickness_um",
            "greater than 0",
        ],
    );
    // Unknown key.
    bad(
        &good.replace("infinite = true", "infinte = true"),
        &[".toml:10:1:", "unknown field `infinte`"],
    );
    // Missing key.
    bad(
        &good.replace("concentration_per_ml = 1.0e10\n", ""),
        &["missing field `concentration_per_ml`"],
    );
    // Malformed TOML.
    bad("[experiment\nkind = ", &[".toml:1:"]);
    // A size the model does not support.
    let v = std::fs::read_to_string(scenario("in_vivo_intact_forehead.toml")).unwrap();
    bad(
        &v.replace("mode_nm = 100.0", "mode_nm = 5.0"),
        &["product.size.mode_nm", "20 to 1000 nm"],
    );
    // Unknown kind.
    bad(
        &good.replace("franz_cell", "franz"),
        &["unknown kind \"franz\""],
    );
}

#[test]
fn a_missing_file_exits_2() {
    let out = exe()
        .args(["simulate", "/nonexistent/x.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the scenario file"));
}

#[test]
fn in_vivo_json_has_outcomes_and_plot_is_drawn() {
    let dir = tmp("outcomes");
    let png = dir.join("o.png");
    let v = json_of(&[
        "simulate",
        scenario("in_vivo_intact_forehead.toml").to_str().unwrap(),
        "--json",
        "--plot",
        png.to_str().unwrap(),
    ]);
    let o = &v["outcomes"];
    let n = o["times_d"].as_array().unwrap().len();
    for k in [
        "collagen_pct",
        "elastin_pct",
        "tewl_pct",
        "hydration_pct",
        "erythema_pct",
        "cytokines_pct",
        "pore_area_pct",
    ] {
        let s = o[k].as_array().unwrap_or_else(|| panic!("{k} missing"));
        assert_eq!(s.len(), n, "{k}");
        assert!(s.iter().all(|x| x.as_f64().unwrap().is_finite()));
    }
    assert!(o["wound_closure_h"].is_null(), "no wound on intact skin");
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
}

#[test]
fn cell_culture_reports_cytokines_and_wounds_report_closure() {
    let claims = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/claims");
    let v = json_of(&[
        "simulate",
        claims.join("cytokines_in_vitro.toml").to_str().unwrap(),
        "--json",
    ]);
    assert!(v["transport"].is_null());
    let c = v["outcomes"]["cytokines_pct"].as_array().unwrap();
    // The vesicles move the stimulated culture the way the fitted, signed
    // `ev_inflammation_effect` says (calming when positive, inflaming when negative), never
    // below what removing the whole stimulus gives, -S / (1 + S), nor above what the
    // largest effect its range allows adds, 0.8 S / (1 + S), with S = 2 for LPS.
    let last = c.last().unwrap().as_f64().unwrap();
    let effect = exoskin_response::ResponseParams::shipped()
        .unwrap()
        .v
        .ev_inflammation_effect;
    assert!(
        last.signum() == -effect.signum() && last.abs() > 0.1,
        "{last} for an effect {effect}"
    );
    assert!(
        last > -100.0 * 2.0 / 3.0 && last < 100.0 * 0.8 * 2.0 / 3.0,
        "{last}"
    );
    let w = json_of(&[
        "simulate",
        scenario("in_vivo_fractional_co2.toml").to_str().unwrap(),
        "--json",
    ]);
    let h = w["outcomes"]["wound_closure_h"].as_f64().unwrap();
    assert!(h > 1.0 && h < 96.0, "{h}");
}

#[test]
fn a_bad_plot_extension_exits_2() {
    let out = exe()
        .args([
            "simulate",
            scenario("franz_cell_single_layer.toml").to_str().unwrap(),
            "--plot",
            "/tmp/x.jpg",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(".png or .svg"));
}

#[test]
fn the_reported_fuzz_cases_exit_2_naming_the_field() {
    let good = std::fs::read_to_string(scenario("franz_cell_single_layer.toml")).unwrap();
    // Vanishing layers used to panic in the solver (exit 101) or print inf/NaN (exit 0).
    for v in ["1e-305", "1e-300", "5e-324"] {
        bad(
            &good.replace("thickness_um = 20.0", &format!("thickness_um = {v}")),
            &[
                ".toml:14:16:",
                "membrane.layers[0].thickness_um",
                "0.005 to 10000 um",
            ],
        );
    }
    bad(
        &good.replace("partition = 0.2", "partition = 5e-324"),
        &["membrane.layers[0].partition", "0.000001 to 1000"],
    );
    bad(
        &good.replace("thickness_um = 20.0", "thickness_um = nan"),
        &["membrane.layers[0].thickness_um", "NaN"],
    );
    // A type error names the key, the type found and the type expected.
    bad(
        &format!("{good}\n[numerics]\nradial_cells = \"two\"\n"),
        &["numerics.radial_cells", "\"two\"", "an integer"],
    );
    // A duplicate key says which key, in which table.
    bad(
        &good.replace("infinite = true", "infinite = true\ninfinite = false"),
        &["duplicate key `infinite`", "`donor.infinite`", ".toml:11:"],
    );
}

/// The executable is linked at a fixed address on Linux (build.rs says why), unless built
/// with `EXOSKIN_PIE=1`: the ELF header's type is then `ET_EXEC` (2), not `ET_DYN` (3).
#[test]
#[cfg(target_os = "linux")]
fn the_executable_is_linked_at_a_fixed_address_unless_asked_otherwise() {
    let bytes = std::fs::read(env!("CARGO_BIN_EXE_exoskin")).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF");
    let e_type = u16::from_le_bytes([bytes[16], bytes[17]]);
    let pie = option_env!("EXOSKIN_PIE") == Some("1");
    assert_eq!(e_type, if pie { 3 } else { 2 }, "ELF type {e_type}");
}

/// The scenario of a reported attack: the microneedling file with every grid setting at its
/// validated maximum (it asked for 43 GB and the process aborted with exit 134).
fn numerics_maxima(dir: &std::path::Path) -> PathBuf {
    let text = std::fs::read_to_string(scenario("in_vivo_microneedling.toml"))
        .unwrap()
        .replace("duration_h = 48.0", "duration_h = 17520.0")
        .replace("classes = 6", "classes = 32");
    let path = dir.join("maxima.toml");
    std::fs::write(
        &path,
        format!(
            "{text}\n[numerics]\ncells_per_layer = 2000\nradial_cells = 200\ndt_max_h = 0.00876\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_run_past_the_budget_exits_2_at_once_naming_the_key_the_estimate_and_the_limit() {
    let dir = tmp("maxima");
    let path = numerics_maxima(&dir);
    let t0 = std::time::Instant::now();
    let out = exe()
        .args(["simulate", path.to_str().unwrap()])
        .output()
        .unwrap();
    let took = t0.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    assert!(err.contains("`numerics.cells_per_layer`"), "{err}");
    assert!(
        err.contains("GiB of memory") && err.contains("limit of 2.0 GiB"),
        "{err}"
    );
    // A raised memory limit moves the refusal to the time the run would take.
    let out = exe()
        .args([
            "simulate",
            path.to_str().unwrap(),
            "--max-memory-mib",
            "1e9",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("of computing, more than the limit of 10 min"),
        "{err}"
    );
    // Nonsense limits are bad input.
    let out = exe()
        .args(["simulate", "--max-seconds=0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-seconds 0"));
}
