//! Certificates: the examples against the default profile, signing and verifying, and
//! every way a certificate can be wrong (tampered bytes or fields, another key, dates,
//! revocation).
mod common;
use common::*;
use exoskin_batch::cert::{self, Revocation, VerifyError};
use exoskin_batch::date::Timestamp;
use exoskin_batch::jcs::canonicalize;
use exoskin_batch::profile::Profile;
use exoskin_batch::record::QcRecord;
use serde_json::Value;

#[test]
fn bundled_examples_pass_or_fail_for_their_stated_reasons() {
    let p = Profile::default_profile();
    let failing = |name: &str| -> Vec<String> {
        let a = p.assess(&example(name));
        a.failures().map(|c| c.id.clone()).collect()
    };
    assert!(failing("pass_msc_serum.toml").is_empty());
    assert!(failing("pass_plant_mist.json").is_empty());
    assert_eq!(
        failing("fail_viable_cells.toml"),
        ["safety.viable_cells", "safety.residual_dna"]
    );
    assert_eq!(
        failing("fail_markers_calnexin.toml"),
        ["markers.cytosolic", "markers.negative"]
    );
    assert_eq!(
        failing("fail_purity_endotoxin.toml"),
        [
            "size.fraction_30_150_nm",
            "purity.particles_per_ug_protein",
            "safety.endotoxin"
        ]
    );
    assert_eq!(
        failing("fail_no_gmp_screening.toml"),
        [
            "manufacturing.gmp",
            "source.donor_screening",
            "stability.shelf_life"
        ]
    );
}

#[test]
fn every_example_file_is_covered() {
    let n = std::fs::read_dir(examples_dir()).unwrap().count();
    assert_eq!(
        n, 6,
        "a new example needs its expectation in the test above"
    );
}

#[test]
fn failing_batches_are_refused_unless_allowed_and_then_say_so() {
    let rec = example("fail_viable_cells.toml");
    let p = Profile::default_profile();
    let mut opts = cert::IssueOptions {
        profile: &p,
        resolver: "id.example.com",
        issued_at: t0(),
        allow_failing: false,
    };
    let err = cert::issue(&rec, &key(1), &opts).unwrap_err().to_string();
    assert!(err.contains("safety.viable_cells"), "{err}");
    opts.allow_failing = true;
    let i = cert::issue(&rec, &key(1), &opts).unwrap();
    let v = cert::verify(&i.text, &key(1).verifying_key(), t0(), &[]).unwrap();
    assert!(!v.assessment_pass);
}

#[test]
fn record_errors_name_the_place_and_the_fix() {
    let text = std::fs::read_to_string(examples_dir().join("pass_msc_serum.toml")).unwrap();
    let bad = text.replace("gtin = \"09506000134352\"", "gtin = \"09506000134353\"");
    let e = QcRecord::parse(&bad, "r.toml").unwrap_err().to_string();
    assert!(
        e.contains("product.gtin") && e.contains("expected 2"),
        "{e}"
    );
    let bad = text.replace("size_mode_nm = 98.0", "size_mode_nm = \"big\"");
    let e = QcRecord::parse(&bad, "r.toml").unwrap_err().to_string();
    assert!(e.starts_with("r.toml:"), "{e}");
    let bad = text.replace("lot = \"EXO2604-12\"", "lot = \"EXO 2604\"");
    assert!(QcRecord::parse(&bad, "r.toml")
        .unwrap_err()
        .to_string()
        .contains("batch.lot"));
    let bad = text.replace("[safety]", "[safety]\nunknown_field = 1");
    assert!(QcRecord::parse(&bad, "r.toml")
        .unwrap_err()
        .to_string()
        .contains("unknown_field"));
    let bad = text.replace("fraction_30_150_nm = 0.82", "fraction_30_150_nm = 82.0");
    assert!(QcRecord::parse(&bad, "r.toml")
        .unwrap_err()
        .to_string()
        .contains("0..=1"));
}

#[test]
fn a_fresh_certificate_verifies_and_has_the_vc_shape() {
    let i = issue_at(&example("pass_msc_serum.toml"), &key(1), t0());
    let v = cert::verify(&i.text, &key(1).verifying_key(), t0(), &[]).unwrap();
    assert_eq!(v.gtin, "09506000134352");
    assert_eq!(v.lot, "EXO2604-12");
    assert_eq!(v.valid_until.to_string(), "2028-04-11T23:59:59Z");
    assert!(v.assessment_pass);
    let c = &i.certificate;
    assert_eq!(c["@context"][0], "https://www.w3.org/ns/credentials/v2");
    assert_eq!(c["type"][1], "BatchQualityCertificate");
    assert_eq!(c["proof"]["cryptosuite"], "eddsa-jcs-2022");
    assert_eq!(
        c["credentialSubject"]["id"],
        "https://id.example.com/01/09506000134352/10/EXO2604-12?17=280411"
    );
    assert_eq!(
        c["credentialSubject"]["assessment"]["checks"]
            .as_array()
            .unwrap()
            .len(),
        16
    );
}

fn canonical_of(text: &str) -> Option<String> {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| canonicalize(&v).ok())
}

#[test]
fn changing_any_byte_fails_unless_the_json_means_the_same() {
    let i = issue_at(&example("pass_msc_serum.toml"), &key(1), t0());
    let original = canonical_of(&i.text).unwrap();
    let pk = key(1).verifying_key();
    let bytes = i.text.as_bytes();
    let mut rejected = 0;
    for pos in 0..bytes.len() {
        for delta in [1u8, 0x20] {
            let mut b = bytes.to_vec();
            b[pos] ^= delta;
            let Ok(t) = String::from_utf8(b) else {
                rejected += 1;
                continue;
            };
            match cert::verify(&t, &pk, t0(), &[]) {
                Err(_) => rejected += 1,
                // Only an encoding change that leaves the JSON value identical may pass
                // (e.g. `e` -> `E` in a number's exponent).
                Ok(_) => assert_eq!(
                    canonical_of(&t).as_deref(),
                    Some(original.as_str()),
                    "byte {pos} changed and still verified"
                ),
            }
        }
    }
    assert!(rejected > bytes.len(), "{rejected}");
}

/// Every leaf of the JSON tree, as a pointer.
fn leaves(v: &Value, path: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            leaves(
                x,
                format!("{path}/{}", k.replace('~', "~0").replace('/', "~1")),
                out,
            )
        }),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| leaves(x, format!("{path}/{i}"), out)),
        _ => out.push(path),
    }
}

#[test]
fn changing_any_field_fails() {
    let i = issue_at(&example("pass_msc_serum.toml"), &key(1), t0());
    let pk = key(1).verifying_key();
    let mut ptrs = Vec::new();
    leaves(&i.certificate, String::new(), &mut ptrs);
    assert!(ptrs.len() > 80);
    for p in &ptrs {
        let mut c = i.certificate.clone();
        let leaf = c.pointer_mut(p).unwrap();
        *leaf = match leaf.clone() {
            Value::String(s) => Value::String(format!("{s}x")),
            Value::Number(n) => serde_json::json!(n.as_f64().unwrap() + 1.0),
            Value::Bool(b) => Value::Bool(!b),
            _ => Value::String("x".into()),
        };
        let t = serde_json::to_string(&c).unwrap();
        assert!(
            cert::verify(&t, &pk, t0(), &[]).is_err(),
            "changing {p} still verified"
        );
    }
    // Adding or removing a member fails too.
    let mut c = i.certificate.clone();
    c["credentialSubject"]["extra"] = Value::Bool(true);
    assert_eq!(
        cert::verify(&c.to_string(), &pk, t0(), &[]).unwrap_err(),
        VerifyError::BadSignature
    );
    let mut c = i.certificate.clone();
    c["credentialSubject"]["qcRecord"]["safety"]
        .as_object_mut()
        .unwrap()
        .remove("endotoxin_eu_per_ml");
    assert_eq!(
        cert::verify(&c.to_string(), &pk, t0(), &[]).unwrap_err(),
        VerifyError::BadSignature
    );
}

#[test]
fn another_key_fails_whether_or_not_the_issuer_is_swapped() {
    let i = issue_at(&example("pass_msc_serum.toml"), &key(1), t0());
    // Verified against another trusted key: the issuer does not match.
    let e = cert::verify(&i.text, &key(2).verifying_key(), t0(), &[]).unwrap_err();
    assert!(matches!(e, VerifyError::IssuerMismatch { .. }), "{e}");
    // Re-signed by an attacker's key but still naming the real issuer.
    let mut forged = i.certificate.clone();
    let real_proof = forged["proof"].clone();
    forged = cert::sign(forged, &key(3), t0()).unwrap();
    forged["proof"]["verificationMethod"] = real_proof["verificationMethod"].clone();
    let e = cert::verify(&forged.to_string(), &key(1).verifying_key(), t0(), &[]).unwrap_err();
    assert_eq!(e, VerifyError::BadSignature);
    // The real proof value grafted onto a changed document.
    let mut graft = i.certificate.clone();
    graft["validUntil"] = Value::String("2099-12-31T23:59:59Z".into());
    assert!(cert::verify(&graft.to_string(), &key(1).verifying_key(), t0(), &[]).is_err());
}

#[test]
fn dates_and_revocation_report_why() {
    let i = issue_at(&example("pass_msc_serum.toml"), &key(1), t0());
    let pk = key(1).verifying_key();
    let e = cert::verify(
        &i.text,
        &pk,
        Timestamp::parse("2028-04-12T00:00:00Z").unwrap(),
        &[],
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "expired: validUntil was 2028-04-11T23:59:59Z, now is 2028-04-12T00:00:00Z"
    );
    assert!(cert::verify(
        &i.text,
        &pk,
        Timestamp::parse("2028-04-11T23:59:59Z").unwrap(),
        &[]
    )
    .is_ok());
    let e = cert::verify(&i.text, &pk, Timestamp::parse("2026-11-22").unwrap(), &[]).unwrap_err();
    assert!(matches!(e, VerifyError::NotYetValid { .. }));
    let v = cert::verify(&i.text, &pk, t0(), &[]).unwrap();
    let revs = vec![Revocation {
        id: v.id.clone(),
        reason: "recall: endotoxin".into(),
        revoked_at: "2026-12-01T00:00:00Z".into(),
    }];
    let e = cert::verify(&i.text, &pk, t0(), &revs).unwrap_err();
    assert_eq!(
        e.to_string(),
        "revoked on 2026-12-01T00:00:00Z: recall: endotoxin"
    );
    // An expired batch cannot be certified at all.
    let p = Profile::default_profile();
    let late = cert::IssueOptions {
        profile: &p,
        resolver: "x.example",
        issued_at: Timestamp::parse("2028-05-01").unwrap(),
        allow_failing: false,
    };
    assert!(cert::issue(&example("pass_msc_serum.toml"), &key(1), &late).is_err());
}

#[test]
fn garbage_is_reported_as_malformed_not_a_panic() {
    let pk = key(1).verifying_key();
    for t in [
        "",
        "null",
        "[]",
        "{}",
        "{\"type\":[\"VerifiableCredential\",\"BatchQualityCertificate\"]}",
        "{\"a\":1e999}",
    ] {
        assert!(cert::verify(t, &pk, t0(), &[]).is_err(), "{t}");
    }
}

#[test]
fn keygen_writes_an_owner_only_private_key_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("keys");
    let path = dir.path().join("lab.key");
    let k = exoskin_batch::keys::generate().unwrap();
    let pub_path = exoskin_batch::keys::write_key_pair(&path, &k).unwrap();
    assert_eq!(pub_path, dir.path().join("lab.key.pub"));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let back = exoskin_batch::keys::read_private_key(&path).unwrap();
    assert_eq!(back.to_bytes(), k.to_bytes());
    assert_eq!(
        exoskin_batch::keys::read_public_key(&pub_path).unwrap(),
        k.verifying_key()
    );
    let other = exoskin_batch::keys::generate().unwrap();
    assert_ne!(other.to_bytes(), k.to_bytes());
    assert!(exoskin_batch::keys::write_key_pair(&path, &other).is_err());
    assert_eq!(
        exoskin_batch::keys::read_private_key(&path)
            .unwrap()
            .to_bytes(),
        k.to_bytes()
    );
}

/// The eddsa-jcs-2022 interoperability vector published by Digital Bazaar (W3C VC Data
/// Integrity EdDSA Cryptosuites test suite): an independent implementation's signature
/// must verify here, and any change must break it.
#[test]
fn verifies_the_digital_bazaar_eddsa_jcs_2022_vector() {
    let v: Value = serde_json::from_str(
        r#"{
  "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
  "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
  "type": ["VerifiableCredential", "AlumniCredential"],
  "name": "Alumni Credential",
  "description": "A minimum viable example of an Alumni Credential.",
  "issuer": "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
  "validFrom": "2023-01-01T00:00:00Z",
  "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
  "proof": {
    "type": "DataIntegrityProof",
    "created": "2023-02-24T23:36:38Z",
    "verificationMethod": "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
    "cryptosuite": "eddsa-jcs-2022",
    "proofPurpose": "assertionMethod",
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
    "proofValue": "z5EhYRJkfPLkoT92FPXN8KK6M9rsBhq3xs19GBSsA6VdNYH4QMKSyNuA2Gfznz9QthVD7Rz3HTAfqxxay23htUpTg"
  }
}"#,
    )
    .unwrap();
    assert_eq!(
        cert::verify_proof(&v, None).unwrap(),
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    );
    let mut t = v.clone();
    t["credentialSubject"]["alumniOf"] = Value::String("The School of Forgeries".into());
    assert_eq!(
        cert::verify_proof(&t, None).unwrap_err(),
        VerifyError::BadSignature
    );
    let mut t = v.clone();
    t["proof"]["created"] = Value::String("2023-02-24T23:36:39Z".into());
    assert_eq!(
        cert::verify_proof(&t, None).unwrap_err(),
        VerifyError::BadSignature
    );
}

proptest::proptest! {
    /// JCS numbers are the shortest form that reads back as the same double.
    #[test]
    fn jcs_numbers_round_trip(f in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO) {
        let s = canonicalize(&serde_json::json!(f)).unwrap();
        proptest::prop_assert_eq!(s.parse::<f64>().unwrap(), f, "{}", s);
        proptest::prop_assert!(!s.contains("E") && !s.ends_with(".0"), "{}", s);
    }
}

/// A certificate where the subject's `lot` appears twice: a reader keeping the last value
/// sees the signed lot, a reader keeping the first sees another. Refused, naming the key.
#[test]
fn a_certificate_with_a_repeated_key_is_refused_naming_the_key() {
    let i = issue_at(&example("pass_msc_serum.toml"), &key(1), t0());
    let needle = "\"lot\": \"EXO2604-12\"";
    assert!(i.text.contains(needle), "{}", i.text);
    let dup = i
        .text
        .replacen(needle, &format!("\"lot\": \"EVIL-1\",\n    {needle}"), 1);
    let e = cert::verify(&dup, &key(1).verifying_key(), t0(), &[]).unwrap_err();
    assert!(matches!(e, VerifyError::Malformed(_)), "{e}");
    assert!(e.to_string().contains("duplicate key `lot`"), "{e}");
    // The line of the repeated key is given.
    let line = dup.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert!(e.to_string().contains(&format!("({line}:")), "{e}");
    assert!(cert::parse_certificate(&dup).is_err());
    assert!(cert::parse_certificate(&i.text).is_ok());
}

/// With the identity point as `did:key`, R = identity and S = 0 satisfies the cofactorless
/// check for any content. Such keys are refused when read, and the strict check refuses the
/// signature even under a key object made directly from the weak bytes.
#[test]
fn the_identity_key_with_a_zero_signature_forges_nothing() {
    use ed25519_dalek::VerifyingKey;
    use exoskin_batch::keys;
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = VerifyingKey::from_bytes(&identity).unwrap();
    let mut sig = identity.to_vec(); // R = identity
    sig.extend_from_slice(&[0u8; 32]); // S = 0
    let i = issue_at(&example("pass_msc_serum.toml"), &key(1), t0());
    let mut c = i.certificate.clone();
    c["issuer"]["id"] = Value::String(keys::did_key(&weak));
    c["credentialSubject"]["lot"] = Value::String("EXO2604-12".into());
    c["proof"]["verificationMethod"] = Value::String(keys::verification_method(&weak));
    c["proof"]["proofValue"] = Value::String(format!("z{}", keys::base58_encode(&sig)));
    let text = serde_json::to_string_pretty(&c).unwrap();
    // Self-certifying (the registry's way): the issuer's did:key is refused.
    let e = cert::verify_signature(&c, None).unwrap_err();
    assert!(e.to_string().contains("weak Ed25519 public key"), "{e}");
    // Trusting the weak key, as `exoskin batch verify --pubkey did:key:...` would.
    assert!(cert::verify(&text, &weak, t0(), &[]).is_err());
    assert_eq!(
        cert::verify_data_integrity(&c, &weak).unwrap_err(),
        VerifyError::BadSignature
    );
    let e = keys::parse_public_key(&keys::did_key(&weak), "--pubkey")
        .unwrap_err()
        .to_string();
    assert!(e.contains("weak"), "{e}");
}
