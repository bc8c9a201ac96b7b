//! `batch verify`: check a certificate's signature, issuer, dates and revocation, as
//! `exoskin batch verify --json` prints it.

use crate::ApiError;
use exoskin_batch::cert::{self, RevocationList};
use exoskin_batch::date::Timestamp;
use exoskin_batch::keys;
use serde_json::{json, Value};

/// Verify certificate `text` against the issuer's public key (`did:key:` or PEM) as of `at`
/// (RFC 3339 UTC or YYYY-MM-DD; `None` is now), with an optional revocation list (JSON).
/// A certificate that fails verification is a document with `"valid": false`, not an
/// error; errors are inputs that cannot be read. `names` are the key's and the revocation
/// list's names in messages (file paths in the CLI, fields in the API).
pub fn verify(
    text: &str,
    pubkey: &str,
    at: Option<&str>,
    revocations: Option<&str>,
    names: (&str, &str),
) -> Result<Value, ApiError> {
    let key = keys::parse_public_key(pubkey, names.0).map_err(|e| ApiError::BadInput {
        field: Some("pubkey".into()),
        message: e.to_string(),
    })?;
    let revs = match revocations {
        Some(t) => {
            RevocationList::parse(t, names.1)
                .map_err(|e| ApiError::BadInput {
                    field: Some("revocations".into()),
                    message: e.to_string(),
                })?
                .revoked
        }
        None => Vec::new(),
    };
    let now = match at {
        Some(s) => Timestamp::parse(s).map_err(|e| ApiError::BadInput {
            field: Some("at".into()),
            message: format!("--at: {e}"),
        })?,
        None => Timestamp::now(),
    };
    Ok(match cert::verify(text, &key, now, &revs) {
        Ok(v) => json!({
            "valid": true,
            "id": v.id,
            "gtin": v.gtin,
            "lot": v.lot,
            "issuer_name": v.issuer_name,
            "issuer_did": v.issuer_did,
            "valid_from": v.valid_from.to_string(),
            "valid_until": v.valid_until.to_string(),
            "subject_uri": v.subject_uri,
            "assessment_pass": v.assessment_pass,
            "checked_at": now.to_string(),
        }),
        Err(e) => json!({"valid": false, "error": e.to_string(), "checked_at": now.to_string()}),
    })
}
