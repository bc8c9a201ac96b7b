//! Every calibration target, run through its bundled scenario with the shipped parameters.
//! The fit targets and checks must be reproduced within their tolerance; the one the model
//! cannot reproduce (an essence raising vesicle absorption) must be reported as such.

use exoskin_model::TransportParams;
use exoskin_response::calibrate::{evaluate, prepare};
use exoskin_response::ResponseParams;
use std::path::Path;

#[test]
fn bundled_claims_reproduce_their_targets() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/claims");
    let tp = TransportParams::defaults();
    let rp = ResponseParams::defaults();
    let prepared = prepare(&dir, tp, rp).unwrap();
    let rows = evaluate(&prepared, tp, rp).unwrap();
    assert!(rows.len() >= 8);
    for r in &rows {
        assert!(r.model.is_finite(), "{}: {}", r.name, r.model);
        if r.name == "essence_before_serum" {
            assert!(
                !r.reproduced,
                "the model has no mechanism for it: {}",
                r.model
            );
            assert!(
                r.model < 0.0,
                "an essence only dilutes the film in the model: {}",
                r.model
            );
        } else {
            assert!(
                r.reproduced,
                "{} not reproduced: model {} vs {} +- {} ({})",
                r.name, r.model, r.target, r.tolerance, r.note
            );
        }
    }
}
