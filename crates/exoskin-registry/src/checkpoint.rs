//! Signed checkpoints of the audit log: the registry signs `(seq, hash)` of the chain's
//! head with its own Ed25519 key. A copy kept outside the database pins the history: a
//! chain that was cut and re-linked after a checkpoint no longer contains the checkpoint's
//! `(seq, hash)`, so [`crate::store::verify_log`] against it fails.
use crate::error::{RegistryError, Result};
use ed25519_dalek::{Signature, Signer, SigningKey};
use exoskin_batch::date::Timestamp;
use exoskin_batch::jcs::canonicalize;
use exoskin_batch::keys;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The `type` of a checkpoint document.
pub const CHECKPOINT_TYPE: &str = "exoskin-audit-checkpoint/1";

/// A signed statement "the audit log's entry `seq` has hash `hash`".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    #[serde(rename = "type")]
    pub kind: String,
    /// The head's sequence number (0: the empty log).
    pub seq: i64,
    /// The head's hash (the genesis hash for the empty log).
    pub hash: String,
    /// When it was signed (RFC 3339 UTC).
    pub at: String,
    /// The registry's key as `did:key`.
    pub registry: String,
    /// base58btc Ed25519 signature over the RFC 8785 JSON of the other fields.
    pub signature: String,
}

fn signed_bytes(kind: &str, seq: i64, hash: &str, at: &str, registry: &str) -> Vec<u8> {
    let v = json!({"type": kind, "seq": seq, "hash": hash, "at": at, "registry": registry});
    canonicalize(&v).map(String::into_bytes).unwrap_or_default()
}

/// Sign a checkpoint of `(seq, hash)`.
pub fn sign(key: &SigningKey, seq: i64, hash: &str, at: Timestamp) -> Checkpoint {
    let registry = keys::did_key(&key.verifying_key());
    let at = at.to_string();
    let sig = key.sign(&signed_bytes(CHECKPOINT_TYPE, seq, hash, &at, &registry));
    Checkpoint {
        kind: CHECKPOINT_TYPE.into(),
        seq,
        hash: hash.into(),
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
        if self.kind != CHECKPOINT_TYPE {
            return Err(bad(format!("type must be {CHECKPOINT_TYPE}")));
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
            &signed_bytes(&self.kind, self.seq, &self.hash, &self.at, &self.registry),
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
        assert!(c
            .verify(Some(&keys::did_key(&other.verifying_key())))
            .is_err());
    }
}
