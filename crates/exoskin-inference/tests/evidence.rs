//! The calibration's evaluation of the evidence takes shortcuts (one response run per group
//! of data that share a run; none for readings of the wound's and the channels' clocks);
//! each datum must read exactly what its own full run gives.

use exoskin_inference::evidence::{self, group_values, outcomes, reading};
use exoskin_model::TransportParams;
use exoskin_response::ResponseParams;

#[test]
fn grouped_and_clock_only_readings_equal_each_datums_own_run() {
    let rp = ResponseParams::shipped().unwrap();
    let data = evidence::prepare("calibration", TransportParams::defaults(), rp).unwrap();
    let groups = evidence::same_runs(&data);
    let mut clock_only = 0;
    for g in &groups {
        let shortcut = group_values(&data, g, rp, 1.3);
        for (&i, got) in g.iter().zip(shortcut) {
            let own = reading(&data[i], &outcomes(&data[i], rp, 1.3));
            assert!(
                got.to_bits() == own.to_bits() || (got.is_nan() && own.is_nan()),
                "{}: {got} vs {own}",
                data[i].datum.id
            );
            if data[i].datum.quantity.starts_with("channel_") {
                clock_only += 1;
            }
        }
    }
    assert!(
        clock_only >= 3,
        "the set has readings of the channels' clock"
    );
}
