//! Tick values and labels.

use exoskin_plot::{format_ticks, nice_ticks, nice_ticks_inside};

#[test]
fn zero_to_97_in_steps_of_20() {
    assert_eq!(
        nice_ticks(0.0, 97.0, 6),
        vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    );
}

#[test]
fn steps_are_1_2_or_5_times_a_power_of_ten() {
    for &(lo, hi, n) in &[
        (0.0, 1.0, 5),
        (-3.7, 12.2, 8),
        (1e-6, 3e-6, 6),
        (1e6, 7.3e7, 10),
        (-0.004, 0.0, 4),
        (123.0, 124.0, 3),
    ] {
        let t = nice_ticks(lo, hi, n);
        assert!(t.len() >= 2 && t.len() <= n.max(2), "{lo}..{hi}: {t:?}");
        assert!(t[0] <= lo && *t.last().unwrap() >= hi, "{lo}..{hi}: {t:?}");
        let step = t[1] - t[0];
        let mantissa = step / 10f64.powf(step.log10().floor());
        assert!(
            [1.0, 2.0, 5.0, 10.0]
                .iter()
                .any(|m| (mantissa - m).abs() < 1e-6),
            "{lo}..{hi}: step {step}"
        );
    }
}

#[test]
fn small_ranges_and_negative_ranges() {
    assert_eq!(nice_ticks(-1.0, 1.0, 5), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
    assert_eq!(nice_ticks(0.0, 0.3, 4), vec![0.0, 0.1, 0.2, 0.3]);
    assert_eq!(
        nice_ticks_inside(-0.04, 1.04, 6),
        vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    );
    // A step leaving fewer than 2 ticks inside is passed over for a finer one.
    assert_eq!(nice_ticks_inside(3.9, 4.1, 2), vec![3.9, 4.0, 4.1]);
}

#[test]
fn bad_ranges_give_no_ticks() {
    assert!(nice_ticks(1.0, 1.0, 5).is_empty());
    assert!(nice_ticks(2.0, 1.0, 5).is_empty());
    assert!(nice_ticks(f64::NAN, 1.0, 5).is_empty());
    assert!(nice_ticks(0.0, f64::INFINITY, 5).is_empty());
    assert!(nice_ticks(-f64::MAX, f64::MAX, 5).is_empty());
}

#[test]
fn labels_use_the_decimals_the_step_needs() {
    assert_eq!(
        format_ticks(&[0.0, 20.0, 40.0], 20.0),
        vec!["0", "20", "40"]
    );
    assert_eq!(
        format_ticks(&[0.0, 0.1, 0.2, 0.30000000000000004], 0.1),
        vec!["0", "0.1", "0.2", "0.3"]
    );
    assert_eq!(
        format_ticks(&[-0.5, 0.0, 0.5], 0.5),
        vec!["-0.5", "0", "0.5"]
    );
    assert_eq!(
        format_ticks(&[0.0, 2.5e6, 5e6], 2.5e6),
        vec!["0", "2.5e6", "5.0e6"]
    );
    assert_eq!(format_ticks(&[1e-4, 2e-4], 1e-4), vec!["0.0001", "0.0002"]);
    assert_eq!(format_ticks(&[1e-5, 2e-5], 1e-5), vec!["1e-5", "2e-5"]);
}
