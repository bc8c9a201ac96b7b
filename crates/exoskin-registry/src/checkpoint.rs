//! Signed checkpoints of the registry: the registry signs, with its own Ed25519 key, the
//! audit log's head `(seq, hash)` and a digest of every certificate and revocation row as
//! of that entry (`state`). A copy kept outside the database pins the history and the
//! tables: a chain cut and re-linked after a checkpoint no longer holds its `(seq, hash)`,
//! and rows changed behind the log's back no longer give its `state`, so
//! [`crate::store::verify_log`] against it fails.
use crate::error::{RegistryError, Result};
use ed25519_dalek::{Signature, Signer, SigningKey};
use exoskin_batch::date::Timestamp;
use exoskin_batch::jcs::canonicalize;
use exoskin_batch::keys;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The `type` of a checkpoint document: head and state.
pub const CHECKPOINT_TYPE: &str = "exoskin-audit-checkpoint/2";

/// The `type` of checkpoints signed before they carried `state`: the head only. They still
/// verify, and pin the log as before.
pub const CHECKPOINT_TYPE_V1: &str = "exoskin-audit-checkpoint/1";

/// A signed statement "the audit log's entry `seq` has hash `hash`, and the tables hold
/// the rows whose digest is `state`".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    #[serde(rename = "type")]
    pub kind: String,
    /// The head's sequence number (0: the empty log).
    pub seq: i64,
    /// The head's hash (the genesis hash for the empty log).
    pub hash: String,
    /// Digest of the certificate and revocation rows written up to entry `seq`
    /// ([`crate::store::state_digest`]); absent in type 1 checkpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// When it was signed (RFC 3339 UTC).
    pub at: String,
    /// The registry's key as `did:key`.
    pub registry: String,
    /// base58btc Ed25519 signature over the RFC 8785 JSON of the other fields.
    pub signature: String,
}

fn signed_bytes(
    kind: &str,
    seq: i64,
    hash: &str,
    state: Option<&str>,
    at: &str,
    registry: &str,
) -> Vec<u8> {
    let mut v = json!({"type": kind, "seq": seq, "hash": hash, "at": at, "registry": registry});
    if let Some(s) = state {
        v["state"] = json!(s);
    }
    canonicalize(&v).map(String::into_bytes).unwrap_or_default()
}

/// Sign a checkpoint of the head `(seq, hash)` and the tables' `state` as of `seq`.
pub fn sign(key: &SigningKey, seq: i64, hash: &str, state: &str, at: Timestamp) -> Checkpoint {
    let registry = keys::did_key(&key.verifying_key());
    let at = at.to_string();
    let sig = key.sign(&signed_bytes(
        CHECKPOINT_TYPE,
        seq,
        hash,
        Some(state),
        &at,
        &registry,
    ));
    Checkpoint {
        kind: CHECKPOINT_TYPE.into(),
        seq,
        hash: hash.into(),
        state: Some(state.into()),
        at,
        registry,
        signature: bs58::encode(sig.to_bytes()).into_string(),
    }
}

impl Checkpoint {
    /// Parse a checkpoint file (what `GET /api/v1/checkpoints/latest` answers).
    pub fn parse(text: &str, what: &str) -> Result<Checkpoint> {
        serde_json::from_str(text).map_err(|e| {
            RegistryError::invalid(format!(
                "{what}:{}:{}: not a checkpoint: {e}",
                e.line(),
                e.column()
            ))
        })
    }

    /// Check the signature; with `trusted`, also that the registry's key is that one.
    pub fn verify(&self, trusted: Option<&str>) -> Result<()> {
        let bad = |m: String| RegistryError::invalid(format!("checkpoint: {m}"));
        match (self.kind.as_str(), &self.state) {
            (CHECKPOINT_TYPE, Some(_)) | (CHECKPOINT_TYPE_V1, None) => {}
            (CHECKPOINT_TYPE, None) => {
                return Err(bad(format!("a {CHECKPOINT_TYPE} checkpoint needs `state`")))
            }
            (CHECKPOINT_TYPE_V1, Some(_)) => {
                return Err(bad(format!(
                    "a {CHECKPOINT_TYPE_V1} checkpoint has no `state`"
                )))
            }
            _ => {
                return Err(bad(format!(
                    "type must be {CHECKPOINT_TYPE} (or {CHECKPOINT_TYPE_V1})"
                )))
            }
        }
        if let Some(t) = trusted {
            if t != self.registry {
                return Err(bad(format!(
                    "signed by {}, not by the registry key given ({t})",
                    self.registry
                )));
            }
        }
        let key = keys::did_key_to_public(&self.registry)?;
        if self.signature.len() > 128 {
            return Err(bad("signature is too long".into()));
        }
        let sig = bs58::decode(&self.signature)
            .into_vec()
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
            .ok_or_else(|| bad("signature is not 64 base58btc bytes".into()))?;
        key.verify_strict(
            &signed_bytes(
                &self.kind,
                self.seq,
                &self.hash,
                self.state.as_deref(),
                &self.at,
                &self.registry,
            ),
            &Signature::from_bytes(&sig),
        )
        .map_err(|_| bad("signature does not verify (the checkpoint was altered)".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_verifies_and_any_change_breaks_it() {
        let k = SigningKey::from_bytes(&[7; 32]);
        let c = sign(
            &k,
            12,
            "ab",
            "cd",
            Timestamp::parse("2026-01-01T00:00:00Z").unwrap(),
        );
        c.verify(None).unwrap();
        c.verify(Some(&keys::did_key(&k.verifying_key()))).unwrap();
        let text = serde_json::to_string(&c).unwrap();
        assert_eq!(Checkpoint::parse(&text, "f").unwrap(), c);
        let mut moved = c.clone();
        moved.seq = 11;
        assert!(moved.verify(None).is_err());
        let mut rehashed = c.clone();
        rehashed.hash = "cd".into();
        assert!(rehashed.verify(None).is_err());
        let mut restated = c.clone();
        restated.state = Some("ef".into());
        assert!(restated.verify(None).is_err());
        // Dropping the state, with or without claiming type 1, breaks it too.
        let mut stateless = c.clone();
        stateless.state = None;
        assert!(stateless.verify(None).is_err());
        stateless.kind = CHECKPOINT_TYPE_V1.into();
        assert!(stateless.verify(None).is_err());
        // The identity point as the registry key, R = identity and S = 0: refused.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = ed25519_dalek::VerifyingKey::from_bytes(&identity).unwrap();
        let mut forged = c.clone();
        forged.registry = keys::did_key(&weak);
        let mut sig = identity.to_vec();
        sig.extend_from_slice(&[0; 32]);
        forged.signature = bs58::encode(sig).into_string();
        let e = forged.verify(None).unwrap_err().to_string();
        assert!(e.contains("weak Ed25519 public key"), "{e}");
        let other = SigningKey::from_bytes(&[8; 32]);
        // A type 1 checkpoint (no state), as signed before, still verifies.
        let v1_sig = k.sign(&signed_bytes(
            CHECKPOINT_TYPE_V1,
            12,
            "ab",
            None,
            &c.at,
            &c.registry,
        ));
        let v1 = Checkpoint {
            kind: CHECKPOINT_TYPE_V1.into(),
            state: None,
            signature: bs58::encode(v1_sig.to_bytes()).into_string(),
            ..c.clone()
        };
        v1.verify(None).unwrap();
        let text = serde_json::to_string(&v1).unwrap();
        assert!(!text.contains("state"), "{text}");
        assert_eq!(Checkpoint::parse(&text, "f").unwrap(), v1);
        assert!(c
            .verify(Some(&keys::did_key(&other.verifying_key())))
            .is_err());
    }
}
