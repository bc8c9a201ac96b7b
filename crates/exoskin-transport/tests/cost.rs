//! The cost estimate against the runs it describes, the refusal of the numerics maxima, and
//! runs stopped by a deadline, a cancel flag or a failed allocation.

use exoskin_model::{read_scenario, read_scenario_file, Scenario, Stop, Stopped, TransportParams};
use exoskin_transport::cost::{self, Resource};
use exoskin_transport::{invivo, simulate, simulate_until, Budget, TransportError};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn scenarios() -> Vec<(PathBuf, Scenario)> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios"));
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v.into_iter()
        .map(|p| {
            let s = read_scenario_file(&p).unwrap();
            (p, s)
        })
        .collect()
}

const MICRONEEDLING: &str = include_str!("../../../scenarios/in_vivo_microneedling.toml");

/// The microneedling scenario with extra lines appended to its `[numerics]` table (or a new
/// one) and `replace` pairs applied.
fn microneedling_with(numerics: &str, replace: &[(&str, &str)]) -> Scenario {
    let mut text = MICRONEEDLING.to_string();
    for (a, b) in replace {
        assert!(text.contains(a), "{a} not in the scenario");
        text = text.replacen(a, b, 1);
    }
    if !numerics.is_empty() {
        assert!(!text.contains("[numerics]"));
        text.push_str(&format!("\n[numerics]\n{numerics}\n"));
    }
    read_scenario(&text, "test.toml").unwrap()
}

#[test]
fn the_step_count_and_the_grid_are_exact_for_every_bundled_scenario() {
    let p = TransportParams::defaults();
    let mut checked = 0;
    for (path, s) in scenarios() {
        let Some(c) = cost::estimate(&s, p) else {
            continue;
        };
        let run = simulate(&s, p).unwrap().unwrap();
        assert_eq!(
            c.steps,
            run.run().steps as u64,
            "{}: estimated steps",
            path.display()
        );
        assert_eq!(
            c.cells,
            run.run().cell_compartment.len(),
            "{}: estimated cells",
            path.display()
        );
        assert!(c.memory_bytes > 0.0 && c.seconds > 0.0);
        assert!(
            c.check(&Budget::DEFAULT).is_ok(),
            "{}: {c:?}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 8, "{checked} scenarios");
}

#[test]
fn the_numerics_maxima_are_refused_in_microseconds_naming_a_grid_key() {
    // The grid of the reported attack: 2000 cells per layer, 200 radial cells, 32 classes,
    // two years in steps of 0.00876 h (it allocated 43 GB and aborted).
    let s = microneedling_with(
        "cells_per_layer = 2000\nradial_cells = 200\ndt_max_h = 0.00876",
        &[("classes = ", "classes = 32 #")],
    );
    let t0 = Instant::now();
    let c = cost::estimate(&s, TransportParams::defaults()).unwrap();
    let e = c.check(&Budget::DEFAULT).unwrap_err();
    assert!(
        t0.elapsed() < Duration::from_millis(500),
        "{:?}",
        t0.elapsed()
    );
    assert!(c.memory_bytes > 40e9, "{c:?}");
    assert_eq!(e.resource, Resource::Memory);
    assert_eq!(e.field, "numerics.cells_per_layer");
    let m = e.to_string();
    assert!(m.contains("GiB") && m.contains("limit of 2.0 GiB"), "{m}");
}

#[test]
fn a_long_run_on_a_small_grid_is_refused_for_its_time_naming_the_step() {
    // Twenty days in steps of 0.00025 h: 1.9 million steps (the validated maximum is 2e6).
    let s = microneedling_with(
        "dt_max_h = 0.00025\ndt_initial_h = 0.00025\ndt_quiet_max_h = 0.00025",
        &[("duration_h = 48.0", "duration_h = 480.0")],
    );
    let c = cost::estimate(&s, TransportParams::defaults()).unwrap();
    let e = c.check(&Budget::DEFAULT).unwrap_err();
    assert_eq!(e.resource, Resource::Time, "{c:?}");
    assert_eq!(e.field, "numerics.dt_max_h");
}

#[test]
fn a_past_deadline_stops_a_run_before_its_first_step() {
    let (_, s) = scenarios()
        .into_iter()
        .find(|(p, _)| p.ends_with("in_vivo_microneedling.toml"))
        .unwrap();
    let e = simulate_until(
        &s,
        TransportParams::defaults(),
        &Stop::after(Duration::ZERO),
    )
    .unwrap_err();
    assert_eq!(
        e,
        TransportError::Stopped {
            why: Stopped::Deadline { limit_s: 0.0 },
            time_h: 0.0
        }
    );
}

#[test]
fn a_cancel_flag_stops_a_running_simulation_within_milliseconds() {
    // A run of several seconds (a fine grid over 12 weeks), cancelled after 100 ms.
    let s = microneedling_with("cells_per_layer = 60\nradial_cells = 60", &[]);
    let Scenario::InVivo(v) = &s else {
        unreachable!()
    };
    let flag = Arc::new(AtomicBool::new(false));
    let stop = Stop::never().with_flag(flag.clone());
    let t0 = Instant::now();
    let h = std::thread::spawn({
        let flag = flag.clone();
        move || {
            std::thread::sleep(Duration::from_millis(100));
            flag.store(true, Ordering::Relaxed);
        }
    });
    let e = invivo::simulate_until(v, TransportParams::defaults(), None, &stop).unwrap_err();
    h.join().unwrap();
    let took = t0.elapsed();
    assert!(
        matches!(
            e,
            TransportError::Stopped {
                why: Stopped::Cancelled,
                time_h
            } if time_h > 0.0
        ),
        "{e:?}"
    );
    // One step of this grid takes about a millisecond; the flag is read before each.
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[test]
fn an_allocation_that_cannot_be_had_is_an_error_not_an_abort() {
    let e = exoskin_transport::banded::try_zeroed(usize::MAX / 4, "a test").unwrap_err();
    assert!(
        matches!(e, TransportError::OutOfMemory { what: "a test", .. }),
        "{e:?}"
    );
    let e = exoskin_transport::banded::BandedBatch::try_zeros(1 << 40, 200, 32).unwrap_err();
    assert!(e.to_string().contains("could not allocate"), "{e}");
}
