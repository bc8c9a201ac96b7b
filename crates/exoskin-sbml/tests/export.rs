//! The SBML export of the bundled scenarios: a well-formed L3V2 document whose parameters all
//! carry a unit and a source, the clear error for a scenario that is not in vivo, and the
//! reference integrator against the shipped one.

use exoskin_model::{read_scenario_file, Scenario, TransportParams};
use exoskin_response::{respond_reference, try_simulate_in_vivo, ResponseParams};
use exoskin_sbml::{export, in_vivo, model_id, SbmlError};
use std::path::{Path, PathBuf};

fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

fn in_vivo_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("in_vivo_") && n.ends_with(".toml"))
        })
        .collect();
    v.sort();
    assert!(v.len() >= 6, "bundled in-vivo scenarios: {v:?}");
    v
}

fn exported(path: &Path) -> String {
    let s = read_scenario_file(path).unwrap();
    let v = in_vivo(&s).unwrap();
    let rp = ResponseParams::defaults();
    let sim = try_simulate_in_vivo(v, TransportParams::defaults(), rp).expect("the transport run");
    export(v, &sim, rp, &model_id("m")).unwrap()
}

#[test]
fn every_export_is_well_formed_and_every_parameter_has_a_unit_and_a_source() {
    let rp = ResponseParams::defaults();
    for path in in_vivo_files() {
        let xml = exported(&path);
        let doc = roxmltree::Document::parse(&xml)
            .unwrap_or_else(|e| panic!("{}: not well-formed XML: {e}", path.display()));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "sbml");
        assert_eq!(root.attribute("level"), Some("3"));
        assert_eq!(root.attribute("version"), Some("2"));
        let units: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("unitDefinition"))
            .filter_map(|n| n.attribute("id"))
            .collect();
        let params: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("parameter"))
            .collect();
        let ids: Vec<&str> = params.iter().filter_map(|n| n.attribute("id")).collect();
        for p in &params {
            let id = p.attribute("id").unwrap();
            let unit = p
                .attribute("units")
                .unwrap_or_else(|| panic!("{id}: no unit"));
            assert!(
                unit == "dimensionless" || units.contains(&unit),
                "{id}: unit {unit} is not defined"
            );
            let note: String = p
                .descendants()
                .filter(|n| n.is_text())
                .filter_map(|n| n.text())
                .collect();
            assert!(!note.trim().is_empty(), "{id}: no notes");
            if let Some(meta) = rp.meta.get(id) {
                assert!(
                    note.contains(&format!("Source: {}", meta.source)),
                    "{id}: notes lack the data file's source: {note}"
                );
                assert!(
                    note.contains(&format!("Unit: {}", meta.unit)),
                    "{id}: {note}"
                );
                let value: f64 = p.attribute("value").unwrap().parse().unwrap();
                assert_eq!(value, rp.value(id).unwrap(), "{id}");
            }
        }
        // Every parameter the in-vivo response reads is in the file.
        for name in exoskin_response::params::NAMES {
            let culture = name.starts_with("culture_") || name.starts_with("stimulus_");
            assert_eq!(ids.contains(name), !culture, "{}: {name}", path.display());
        }
        // Every symbol the equations name is declared.
        for ci in doc.descendants().filter(|n| n.has_tag_name("ci")) {
            let name = ci.text().unwrap().trim();
            let declared = ids.contains(&name)
                || name == "tau"
                || doc.descendants().any(|n| {
                    n.has_tag_name("functionDefinition") && n.attribute("id") == Some(name)
                });
            assert!(declared, "{}: undeclared symbol {name}", path.display());
        }
    }
}

#[test]
fn a_scenario_that_is_not_in_vivo_is_refused_with_a_clear_error() {
    let path = scenarios_dir().join("franz_cell_single_layer.toml");
    let s = read_scenario_file(&path).unwrap();
    assert!(matches!(s, Scenario::FranzCell(_)));
    let err = in_vivo(&s).unwrap_err();
    assert!(matches!(err, SbmlError::NotInVivo { kind: "franz_cell" }));
    let text = err.to_string();
    assert!(text.contains("kind = \"in_vivo\""), "{text}");
    assert!(text.contains("scenarios/in_vivo_*.toml"), "{text}");
}

/// The shipped integrator's stated error (module docs of exoskin_response::tissue): every
/// outcome within 5e-2 of that outcome's largest magnitude over the run, or 1e-9 %
/// (worst on the bundled scenarios: 2.4e-2, pore_area_pct on the intact forearm).
const SHIPPED_ERROR: f64 = 0.05;

#[test]
fn the_reference_integrator_agrees_with_the_shipped_one_within_its_stated_error() {
    for path in in_vivo_files() {
        let s = read_scenario_file(&path).unwrap();
        let v = in_vivo(&s).unwrap();
        let rp = ResponseParams::defaults();
        let sim =
            try_simulate_in_vivo(v, TransportParams::defaults(), rp).expect("the transport run");
        let reference = respond_reference(v, &sim, rp, 1e-10, 1e-12).unwrap();
        let shipped = &sim.outcomes.series;
        assert_eq!(reference.series.times_d, shipped.times_d);
        for ((name, r), (_, s)) in reference.series.named().into_iter().zip(shipped.named()) {
            let peak = r.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            let worst = r
                .iter()
                .zip(s)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                worst <= SHIPPED_ERROR * peak + 1e-9,
                "{}: {name}: shipped deviates {worst:e} from the reference (peak {peak:e})",
                path.display()
            );
        }
        // Tighter tolerances do not move the reference by more than their own size.
        let tight = respond_reference(v, &sim, rp, 1e-12, 1e-14).unwrap();
        for ((name, a), (_, b)) in reference
            .series
            .named()
            .into_iter()
            .zip(tight.series.named())
        {
            for (x, y) in a.iter().zip(b) {
                assert!(
                    (x - y).abs() <= 1e-6 * y.abs().max(1e-3),
                    "{name}: {x} vs {y}"
                );
            }
        }
    }
}
