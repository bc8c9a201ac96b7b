//! Batch certificates: W3C Verifiable Credential 2.0-style JSON secured with a Data Integrity
//! proof using the `eddsa-jcs-2022` cryptosuite (Ed25519 over SHA-256 hashes of the RFC 8785
//! canonical forms of the proof options and of the credential).
use crate::date::{self, Timestamp};
use crate::error::{BatchError, Result};
use crate::gs1::DigitalLink;
use crate::jcs::canonicalize;
use crate::keys;
use crate::profile::{Assessment, Profile};
use crate::record::QcRecord;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use thiserror::Error;

pub const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
pub const CREDENTIAL_TYPE: &str = "BatchQualityCertificate";
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";

/// Why a certificate is not valid. Each variant is one check; the message says which.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum VerifyError {
    #[error("malformed certificate: {0}")]
    Malformed(String),
    #[error("unsupported proof: {0}")]
    UnsupportedProof(String),
    #[error("issuer mismatch: the certificate names issuer {certificate}, but the trusted key is {trusted}")]
    IssuerMismatch {
        certificate: String,
        trusted: String,
    },
    #[error("signature does not verify: the certificate was altered after signing, or signed by another key")]
    BadSignature,
    #[error("not yet valid: validFrom is {valid_from}, now is {now}")]
    NotYetValid { valid_from: String, now: String },
    #[error("expired: validUntil was {valid_until}, now is {now}")]
    Expired { valid_until: String, now: String },
    #[error("revoked on {revoked_at}: {reason}")]
    Revoked { reason: String, revoked_at: String },
    /// The certificate's bit is set in its Bitstring Status List ([`crate::status`]).
    #[error("revoked (status list bit {index})")]
    RevokedInList { index: u64, list: String },
}

/// One revoked certificate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Revocation {
    pub id: String,
    pub reason: String,
    #[serde(rename = "revokedAt")]
    pub revoked_at: String,
}

/// A revocation list as the registry publishes it at `GET /api/v1/revocations`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct RevocationList {
    pub revoked: Vec<Revocation>,
}

impl RevocationList {
    pub fn parse(text: &str, what: &str) -> Result<RevocationList> {
        serde_json::from_str(text).map_err(|e| {
            BatchError::invalid(format!(
                "{what}:{}:{}: not a revocation list: {e}",
                e.line(),
                e.column()
            ))
        })
    }
}

/// What `issue` produces.
#[derive(Debug, Clone)]
pub struct Issued {
    pub certificate: Value,
    /// Pretty JSON text of the certificate, as written to `certificate.json`.
    pub text: String,
    pub link: DigitalLink,
    pub uri: String,
    pub assessment: Assessment,
}

/// Options of `issue`.
pub struct IssueOptions<'a> {
    pub profile: &'a Profile,
    /// Resolver host or base URL of the QR's Digital Link.
    pub resolver: &'a str,
    pub issued_at: Timestamp,
    /// Issue even when the record fails the profile (the certificate then says so).
    pub allow_failing: bool,
}

/// Make numbers stable under serialize/parse so the signed bytes match what a verifier
/// re-derives from the file.
fn stabilize(v: Value) -> Value {
    let mut text = v.to_string();
    for _ in 0..4 {
        let parsed: Value = serde_json::from_str(&text).expect("own serialization parses");
        let again = parsed.to_string();
        if again == text {
            return parsed;
        }
        text = again;
    }
    serde_json::from_str(&text).expect("own serialization parses")
}

/// Assess the record, build the credential and sign it.
pub fn issue(record: &QcRecord, key: &SigningKey, opts: &IssueOptions) -> Result<Issued> {
    issue_with_status(record, key, opts, None)
}

/// [`issue`], with a `credentialStatus` naming the certificate's entry in a Bitstring
/// Status List (an index the registry allocated to this issuer) when `status` is given.
pub fn issue_with_status(
    record: &QcRecord,
    key: &SigningKey,
    opts: &IssueOptions,
    status: Option<&crate::status::StatusEntry>,
) -> Result<Issued> {
    record.validate()?;
    let assessment = opts.profile.assess(record);
    if !assessment.pass && !opts.allow_failing {
        let fails: Vec<String> = assessment
            .failures()
            .map(|c| format!("{}: {} (limit {})", c.id, c.value, c.limit))
            .collect();
        return Err(BatchError::invalid(format!(
            "batch {} fails profile {}: {}",
            record.batch.lot,
            opts.profile.id,
            fails.join("; ")
        )));
    }
    let expires = record.expires()?;
    let link = DigitalLink::new(&record.product.gtin, &record.batch.lot, Some(expires))?;
    let uri = link.uri(opts.resolver);
    let valid_until = Timestamp::end_of(expires);
    if opts.issued_at >= valid_until {
        return Err(BatchError::invalid(format!(
            "batch {} expired on {expires}; a certificate would never be valid",
            record.batch.lot
        )));
    }
    let id = uuid::Uuid::new_v4().urn().to_string();
    let vk = key.verifying_key();
    let doc = json!({
        "@context": [VC_CONTEXT],
        "id": id,
        "type": ["VerifiableCredential", CREDENTIAL_TYPE],
        "issuer": { "id": keys::did_key(&vk), "name": record.issuer.name },
        "validFrom": opts.issued_at.to_string(),
        "validUntil": valid_until.to_string(),
        "credentialSubject": {
            "id": uri,
            "gtin": link.gtin,
            "lot": link.lot,
            "expiry": expires.to_string(),
            "qcRecord": serde_json::to_value(record).map_err(|e| BatchError::invalid(e.to_string()))?,
            "assessment": serde_json::to_value(&assessment).map_err(|e| BatchError::invalid(e.to_string()))?,
        },
    });
    let mut doc = doc;
    if let Some(st) = status {
        doc["credentialStatus"] = st.to_json();
    }
    let doc = stabilize(doc);
    let signed = sign(doc, key, opts.issued_at)?;
    let text = serde_json::to_string_pretty(&signed).expect("a Value serializes") + "\n";
    Ok(Issued {
        certificate: signed,
        text,
        link,
        uri,
        assessment,
    })
}

/// The eddsa-jcs-2022 hash data: SHA-256 of the canonical proof configuration, then SHA-256
/// of the canonical unsecured document (vc-di-eddsa, 3.3.4).
pub fn hash_data(
    proof_config: &Value,
    unsecured: &Value,
) -> std::result::Result<Vec<u8>, VerifyError> {
    let malformed = |e: BatchError| VerifyError::Malformed(e.to_string());
    let pc = canonicalize(proof_config).map_err(malformed)?;
    let doc = canonicalize(unsecured).map_err(malformed)?;
    let mut out = Sha256::digest(pc.as_bytes()).to_vec();
    out.extend_from_slice(&Sha256::digest(doc.as_bytes()));
    Ok(out)
}

/// Add an `eddsa-jcs-2022` DataIntegrityProof to an unsecured credential.
pub fn sign(mut doc: Value, key: &SigningKey, created: Timestamp) -> Result<Value> {
    let obj = doc
        .as_object_mut()
        .ok_or_else(|| BatchError::invalid("a credential must be a JSON object"))?;
    obj.remove("proof");
    let mut proof = json!({
        "type": "DataIntegrityProof",
        "cryptosuite": CRYPTOSUITE,
        "created": created.to_string(),
        "verificationMethod": keys::verification_method(&key.verifying_key()),
        "proofPurpose": "assertionMethod",
    });
    let mut config = proof.clone();
    config["@context"] = obj.get("@context").cloned().unwrap_or(Value::Null);
    let data = hash_data(&config, &doc).map_err(|e| BatchError::invalid(e.to_string()))?;
    let sig = key.sign(&data);
    proof["proofValue"] = Value::String(format!("z{}", keys::base58_encode(&sig.to_bytes())));
    doc["proof"] = proof;
    Ok(doc)
}

/// A certificate that passed verification, with the fields people look at.
#[derive(Debug, Clone)]
pub struct Verified {
    pub id: String,
    pub issuer_did: String,
    pub issuer_name: String,
    pub gtin: String,
    pub lot: String,
    pub valid_from: Timestamp,
    pub valid_until: Timestamp,
    pub subject_uri: String,
    pub assessment_pass: bool,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> std::result::Result<&'a str, VerifyError> {
    let mut cur = v;
    for p in path {
        cur = cur
            .get(p)
            .ok_or_else(|| VerifyError::Malformed(format!("missing `{}`", path.join("."))))?;
    }
    cur.as_str()
        .ok_or_else(|| VerifyError::Malformed(format!("`{}` must be a string", path.join("."))))
}

type JsonMap = Map<String, Value>;

/// The document as an object and its `proof`, which must be an eddsa-jcs-2022
/// DataIntegrityProof.
fn eddsa_jcs_proof(doc: &Value) -> std::result::Result<(&JsonMap, &JsonMap), VerifyError> {
    let obj = doc
        .as_object()
        .ok_or_else(|| VerifyError::Malformed("not a JSON object".into()))?;
    let proof = obj
        .get("proof")
        .and_then(Value::as_object)
        .ok_or_else(|| VerifyError::Malformed("no `proof` object".into()))?;
    if proof_str(proof, "type")? != "DataIntegrityProof"
        || proof_str(proof, "cryptosuite")? != CRYPTOSUITE
    {
        return Err(VerifyError::UnsupportedProof(format!(
            "expected DataIntegrityProof with cryptosuite {CRYPTOSUITE}"
        )));
    }
    Ok((obj, proof))
}

fn proof_str<'a>(proof: &'a JsonMap, k: &str) -> std::result::Result<&'a str, VerifyError> {
    proof
        .get(k)
        .and_then(Value::as_str)
        .ok_or_else(|| VerifyError::Malformed(format!("proof.{k} missing or not a string")))
}

/// Verify an `eddsa-jcs-2022` Data Integrity proof whose verification method is the
/// issuer's `did:key`; the issuer's DID when the signature holds. With `trusted`, the issuer
/// must be that key.
pub fn verify_proof(
    cert: &Value,
    trusted: Option<&VerifyingKey>,
) -> std::result::Result<String, VerifyError> {
    let (obj, proof) = eddsa_jcs_proof(cert)?;
    let pstr = |k: &str| proof_str(proof, k);
    if pstr("proofPurpose")? != "assertionMethod" {
        return Err(VerifyError::UnsupportedProof(
            "proofPurpose must be assertionMethod".into(),
        ));
    }
    // `issuer` is a URL string or an object with an `id` (VC Data Model 2.0, 4.7).
    let issuer_did = match &obj.get("issuer") {
        Some(Value::String(s)) => s.clone(),
        _ => str_at(cert, &["issuer", "id"])?.to_string(),
    };
    let issuer_key = keys::did_key_to_public(&issuer_did)
        .map_err(|e| VerifyError::Malformed(format!("issuer.id: {e}")))?;
    if let Some(t) = trusted {
        if *t != issuer_key {
            return Err(VerifyError::IssuerMismatch {
                certificate: issuer_did,
                trusted: keys::did_key(t),
            });
        }
    }
    let vm = pstr("verificationMethod")?;
    if vm != keys::verification_method(&issuer_key) {
        return Err(VerifyError::IssuerMismatch {
            certificate: format!("{issuer_did} (proof made by {vm})"),
            trusted: issuer_did.clone(),
        });
    }
    verify_data_integrity(cert, &issuer_key)?;
    Ok(issuer_did)
}

/// Check an `eddsa-jcs-2022` DataIntegrityProof on any JSON document against `key`: the
/// signature over the hashes of the canonical proof options (with the document's
/// `@context`) and of the document without its proof. Says nothing about who the key
/// belongs to; [`verify_proof`] ties it to the issuer.
pub fn verify_data_integrity(
    doc: &Value,
    key: &VerifyingKey,
) -> std::result::Result<(), VerifyError> {
    let (obj, proof) = eddsa_jcs_proof(doc)?;
    let pstr = |k: &str| proof_str(proof, k);
    let pv = pstr("proofValue")?;
    let b58 = pv.strip_prefix('z').ok_or_else(|| {
        VerifyError::Malformed("proofValue is not multibase base58btc (no `z` prefix)".into())
    })?;
    let sig_bytes = keys::base58_decode(b58, "proofValue")
        .map_err(|e| VerifyError::Malformed(e.to_string()))?;
    let sig = Signature::from_slice(&sig_bytes).map_err(|_| VerifyError::BadSignature)?;
    let mut unsecured = Map::clone(obj);
    unsecured.remove("proof");
    let mut config = Value::Object(proof.clone());
    config.as_object_mut().map(|m| m.remove("proofValue"));
    // The proof options carry the document's @context (some issuers copy it into the proof).
    let doc_context = obj.get("@context").cloned().unwrap_or(Value::Null);
    if config.get("@context").is_some_and(|c| *c != doc_context) {
        return Err(VerifyError::Malformed(
            "proof @context differs from the document's".into(),
        ));
    }
    config["@context"] = doc_context;
    let data = hash_data(&config, &Value::Object(unsecured))?;
    // Strict verification: refuses small-order keys and non-canonical or small-order R, so
    // no signature verifies for content its key's holder never signed.
    key.verify_strict(&data, &sig)
        .map_err(|_| VerifyError::BadSignature)
}

/// Check the proof and the certificate's internal consistency, not dates or revocation.
/// With `trusted`, the issuer must be that key; without, the issuer's own `did:key`
/// (self-certifying) is used, as the registry does before it matches the issuer's token.
pub fn verify_signature(
    cert: &Value,
    trusted: Option<&VerifyingKey>,
) -> std::result::Result<Verified, VerifyError> {
    let obj = cert
        .as_object()
        .ok_or_else(|| VerifyError::Malformed("not a JSON object".into()))?;
    let types = obj.get("type").and_then(Value::as_array);
    let has_type = |t: &str| types.is_some_and(|a| a.iter().any(|x| x == t));
    if !has_type("VerifiableCredential") || !has_type(CREDENTIAL_TYPE) {
        return Err(VerifyError::Malformed(format!(
            "`type` must include VerifiableCredential and {CREDENTIAL_TYPE}"
        )));
    }
    let issuer_did = verify_proof(cert, trusted)?;

    // Signed, so the fields below are the issuer's; still check they agree with each other.
    let ts = |k: &str| -> std::result::Result<Timestamp, VerifyError> {
        Timestamp::parse(str_at(cert, &[k])?)
            .map_err(|e| VerifyError::Malformed(format!("{k}: {e}")))
    };
    let valid_from = ts("validFrom")?;
    let valid_until = ts("validUntil")?;
    let subj = &cert["credentialSubject"];
    let gtin = str_at(subj, &["gtin"])?.to_string();
    let lot = str_at(subj, &["lot"])?.to_string();
    let subject_uri = str_at(subj, &["id"])?.to_string();
    let link = DigitalLink::parse(&subject_uri)
        .map_err(|e| VerifyError::Malformed(format!("credentialSubject.id: {e}")))?;
    if link.gtin != gtin || link.lot != lot {
        return Err(VerifyError::Malformed(
            "credentialSubject.id does not name the subject's GTIN and lot".into(),
        ));
    }
    let expiry = date::parse(str_at(subj, &["expiry"])?)
        .map_err(|e| VerifyError::Malformed(format!("credentialSubject.expiry: {e}")))?;
    if Timestamp::end_of(expiry) != valid_until {
        return Err(VerifyError::Malformed(
            "validUntil is not the end of the expiry date".into(),
        ));
    }
    Ok(Verified {
        id: str_at(cert, &["id"])?.to_string(),
        issuer_name: cert["issuer"]["name"].as_str().unwrap_or("").to_string(),
        issuer_did,
        gtin,
        lot,
        valid_from,
        valid_until,
        subject_uri,
        assessment_pass: subj["assessment"]["pass"].as_bool().unwrap_or(false),
    })
}

/// Dates and revocation of an already signature-checked certificate at time `now`.
pub fn check_status(
    v: &Verified,
    now: Timestamp,
    revocations: &[Revocation],
) -> std::result::Result<(), VerifyError> {
    if let Some(r) = revocations.iter().find(|r| r.id == v.id) {
        return Err(VerifyError::Revoked {
            reason: r.reason.clone(),
            revoked_at: r.revoked_at.clone(),
        });
    }
    if now < v.valid_from {
        return Err(VerifyError::NotYetValid {
            valid_from: v.valid_from.to_string(),
            now: now.to_string(),
        });
    }
    if now > v.valid_until {
        return Err(VerifyError::Expired {
            valid_until: v.valid_until.to_string(),
            now: now.to_string(),
        });
    }
    Ok(())
}

/// Read certificate text: JSON with no key repeated in any object. Every reader of
/// certificates (the CLI's and the web API's verify, the registry's publish and resolver)
/// goes through here, so none can read a different document from the same bytes; a repeated
/// key is named with its line and column.
pub fn parse_certificate(text: &str) -> std::result::Result<Value, VerifyError> {
    crate::jcs::parse_strict(text)
        .map_err(|e| VerifyError::Malformed(format!("not JSON ({}:{}): {e}", e.line(), e.column())))
}

/// Full verification of certificate text: signature with `trusted`, dates at `now`, revocation.
pub fn verify(
    text: &str,
    trusted: &VerifyingKey,
    now: Timestamp,
    revocations: &[Revocation],
) -> std::result::Result<Verified, VerifyError> {
    let cert = parse_certificate(text)?;
    let v = verify_signature(&cert, Some(trusted))?;
    check_status(&v, now, revocations)?;
    Ok(v)
}
