//! `claims`: the seed articles' claims tested with the calibrated model, as the document
//! `exoskin claims --json` prints.

use crate::ApiError;
use exoskin_inference::claims::Evaluated;
use exoskin_model::{Observer, TransportParams};
use exoskin_response::params::ResponseError;
use exoskin_response::ResponseParams;
use serde_json::{json, Value};
use std::path::Path;

/// Posterior draws for the intervals by default (`exoskin claims --draws`).
pub const DEFAULT_DRAWS: usize = 32;

/// Check a number of posterior draws (`--draws`): 1 to 10,000, each costing one response
/// run per claim's scenario.
pub fn check_draws(draws: usize) -> Result<(), ApiError> {
    if draws == 0 || draws > 10_000 {
        return Err(ApiError::BadInput {
            field: Some("draws".into()),
            message: format!(
                "--draws {draws}: must be between 1 and 10000; 32 (the default) gives 90 % intervals"
            ),
        });
    }
    Ok(())
}

/// Evaluate every claim of data/claims.toml with `draws` posterior draws of the shipped
/// response parameters, from the scenarios in `scenarios` (scenarios/claims). `observer`
/// hears the claims done out of the total and may stop the work between them.
pub fn run(
    scenarios: &Path,
    draws: usize,
    observer: &dyn Observer,
) -> Result<Vec<Evaluated>, ApiError> {
    check_draws(draws)?;
    let tp = TransportParams::defaults();
    let rp = ResponseParams::shipped().map_err(|e| ApiError::Internal(e.to_string()))?;
    exoskin_inference::claims::evaluate(scenarios, tp, rp, draws, observer).map_err(|e| match e {
        ResponseError::Stopped(why) => ApiError::Stopped(why),
        e => ApiError::bad(e.to_string()),
    })
}

/// The document of evaluated claims: `{"claims": [...]}`.
pub fn document(rows: &[Evaluated]) -> Value {
    json!({ "claims": rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_outside_1_to_10000_are_refused_with_the_field() {
        for bad in [0, 10_001] {
            match check_draws(bad) {
                Err(ApiError::BadInput { field, message }) => {
                    assert_eq!(field.as_deref(), Some("draws"));
                    assert!(message.starts_with(&format!("--draws {bad}:")), "{message}");
                }
                Ok(()) => panic!("{bad} draws accepted"),
                Err(e) => panic!("not a bad-input error: {e}"),
            }
        }
        assert!(check_draws(1).is_ok() && check_draws(10_000).is_ok());
    }
}
