//! Interoperability: RFC 8785 number serialization, numbers that other JCS implementations
//! print, and the eddsa-jcs-2022 test vector of the W3C vc-di-eddsa specification.
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use exoskin_batch::cert::{hash_data, sign, verify_data_integrity, VerifyError};
use exoskin_batch::date::Timestamp;
use exoskin_batch::jcs::canonicalize;
use exoskin_batch::keys;
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical JSON text.
const RFC8785_NUMBERS: [(u64, &str); 26] = [
    (0x0000000000000000, "0"),
    (0x8000000000000000, "0"),
    (0x0000000000000001, "5e-324"),
    (0x8000000000000001, "-5e-324"),
    (0x7fefffffffffffff, "1.7976931348623157e+308"),
    (0xffefffffffffffff, "-1.7976931348623157e+308"),
    (0x4340000000000000, "9007199254740992"),
    (0xc340000000000000, "-9007199254740992"),
    (0x4430000000000000, "295147905179352830000"),
    (0x44b52d02c7e14af5, "9.999999999999997e+22"),
    (0x44b52d02c7e14af6, "1e+23"),
    (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
    (0x444b1ae4d6e2ef4e, "999999999999999700000"),
    (0x444b1ae4d6e2ef4f, "999999999999999900000"),
    (0x444b1ae4d6e2ef50, "1e+21"),
    (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
    (0x3eb0c6f7a0b5ed8d, "0.000001"),
    (0x41b3de4355555553, "333333333.3333332"),
    (0x41b3de4355555554, "333333333.33333325"),
    (0x41b3de4355555555, "333333333.3333333"),
    (0x41b3de4355555556, "333333333.3333334"),
    (0x41b3de4355555557, "333333333.33333343"),
    (0xbecbf647612f3696, "-0.0000033333333333333333"),
    (0x43143ff3c1cb0959, "1424953923781206.2"),
    (0x3ff0000000000000, "1"),
    (0x3fb999999999999a, "0.1"),
];

#[test]
fn rfc8785_appendix_b_numbers() {
    for (bits, want) in RFC8785_NUMBERS {
        let x = f64::from_bits(bits);
        assert_eq!(canonicalize(&json!(x)).unwrap(), want, "{bits:016x}");
        // Another implementation's canonical text parses back to the same double.
        let back: f64 = serde_json::from_str(want).unwrap();
        assert_eq!(
            back.to_bits(),
            x.to_bits() & !(u64::from(x == 0.0) << 63),
            "{want}"
        );
    }
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    )
}

/// Every double between 1e-6 and 1e13, uniform over the representable values (positive
/// doubles order like their bit patterns).
fn awkward_doubles() -> impl Strategy<Value = f64> {
    (1e-6f64.to_bits()..=1e13f64.to_bits()).prop_map(f64::from_bits)
}

/// A document signed here, printed the way another RFC 8785 implementation prints it (its
/// canonical form, ECMAScript number text) or the way we write certificate files (pretty
/// serde_json), parses back and verifies. Without exact float parsing a fraction of these
/// doubles re-canonicalize to other digits and the signature fails.
#[test]
fn random_doubles_survive_sign_print_parse_verify() {
    let key = SigningKey::from_bytes(&[5u8; 32]);
    let at = Timestamp::parse("2026-01-02T03:04:05Z").unwrap();
    runner(2000)
        .run(&(awkward_doubles(), awkward_doubles()), |(x, y)| {
            let doc = json!({
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "measurement": {"value": x, "list": [y, -x, x * 1e-3]},
            });
            let signed = sign(doc, &key, at).unwrap();
            for text in [
                canonicalize(&signed).unwrap(),
                serde_json::to_string_pretty(&signed).unwrap(),
            ] {
                let parsed: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(parsed["measurement"]["value"].as_f64(), Some(x));
                assert_eq!(verify_data_integrity(&parsed, &key.verifying_key()), Ok(()));
            }
            Ok(())
        })
        .unwrap();
}

/// The eddsa-jcs-2022 example of the W3C vc-di-eddsa specification (TestVectors/
/// eddsa-jcs-2022): key pair, signed credential, canonical forms and signature as published.
mod w3c_vector {
    use super::*;

    pub const PUBLIC_KEY_MULTIBASE: &str = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
    pub const PRIVATE_KEY_MULTIBASE: &str = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq";
    pub const SIGNED: &str = r#"{
  "@context": [
    "https://www.w3.org/ns/credentials/v2",
    "https://www.w3.org/ns/credentials/examples/v2"
  ],
  "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
  "type": [
    "VerifiableCredential",
    "AlumniCredential"
  ],
  "name": "Alumni Credential",
  "description": "A minimum viable example of an Alumni Credential.",
  "issuer": "https://vc.example/issuers/5678",
  "validFrom": "2023-01-01T00:00:00Z",
  "credentialSubject": {
    "id": "did:example:abcdefgh",
    "alumniOf": "The School of Examples"
  },
  "proof": {
    "type": "DataIntegrityProof",
    "cryptosuite": "eddsa-jcs-2022",
    "created": "2023-02-24T23:36:38Z",
    "verificationMethod": "https://vc.example/issuers/5678#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
    "proofPurpose": "assertionMethod",
    "@context": [
      "https://www.w3.org/ns/credentials/v2",
      "https://www.w3.org/ns/credentials/examples/v2"
    ],
    "proofValue": "z63t83Y53KfzJ5ZosfKTnqfMcKB2dmTrfjSaQjeNNjAD5srBowQfmWqeRb8rRjmeEuCBEsddF9LsVogtuTsijJKh4"
  }
}"#;
    /// canonDocJCS.txt: the canonical unsecured credential.
    pub const CANONICAL_DOCUMENT: &str = r#"{"@context":["https://www.w3.org/ns/credentials/v2","https://www.w3.org/ns/credentials/examples/v2"],"credentialSubject":{"alumniOf":"The School of Examples","id":"did:example:abcdefgh"},"description":"A minimum viable example of an Alumni Credential.","id":"urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33","issuer":"https://vc.example/issuers/5678","name":"Alumni Credential","type":["VerifiableCredential","AlumniCredential"],"validFrom":"2023-01-01T00:00:00Z"}"#;
    /// sigHexJCS.txt: the Ed25519 signature of the signed credential above.
    pub const SIGNATURE_HEX: &str = "fc91dec6565f35fbe185a77352e7fc512f95d1904da305cfef32ab8135469301f5a72d4e7a58368fc6ffc497b44633993bac054e3bc1436e3c846db8f1544503";

    pub fn public_key() -> VerifyingKey {
        keys::did_key_to_public(&format!("did:key:{PUBLIC_KEY_MULTIBASE}")).unwrap()
    }

    /// The private key multibase is multicodec ed25519-priv (0x1300, varint 0x80 0x26) and
    /// the 32-byte seed.
    pub fn private_key() -> SigningKey {
        let b = keys::base58_decode(&PRIVATE_KEY_MULTIBASE[1..], "private key").unwrap();
        assert_eq!(b[..2], [0x80, 0x26]);
        SigningKey::from_bytes(&b[2..].try_into().unwrap())
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn w3c_eddsa_jcs_2022_vector_verifies() {
    use w3c_vector::*;
    let signed: Value = serde_json::from_str(SIGNED).unwrap();
    // The published key pair belongs together.
    assert_eq!(private_key().verifying_key(), public_key());
    // Our canonical form of the credential is the published one, byte for byte.
    let mut unsecured = signed.clone();
    unsecured.as_object_mut().unwrap().remove("proof");
    assert_eq!(canonicalize(&unsecured).unwrap(), CANONICAL_DOCUMENT);
    // Our verifier accepts the credential exactly as published.
    assert_eq!(verify_data_integrity(&signed, &public_key()), Ok(()));
    // The proofValue is the published signature; signing our hash data with the published
    // private key reproduces it (Ed25519 signatures are deterministic).
    let pv = signed["proof"]["proofValue"].as_str().unwrap();
    let sig = keys::base58_decode(&pv[1..], "proofValue").unwrap();
    assert_eq!(hex(&sig), SIGNATURE_HEX);
    let mut config = signed["proof"].clone();
    config.as_object_mut().unwrap().remove("proofValue");
    let data = hash_data(&config, &unsecured).unwrap();
    assert_eq!(
        data[32..],
        Sha256::digest(CANONICAL_DOCUMENT.as_bytes())[..]
    );
    assert_eq!(hex(&private_key().sign(&data).to_bytes()), SIGNATURE_HEX);
}

#[test]
fn w3c_eddsa_jcs_2022_vector_rejects_any_change() {
    use w3c_vector::*;
    let signed: Value = serde_json::from_str(SIGNED).unwrap();
    let mut v = signed.clone();
    v["credentialSubject"]["alumniOf"] = json!("The School of Examples ");
    assert_eq!(
        verify_data_integrity(&v, &public_key()),
        Err(VerifyError::BadSignature)
    );
    let mut v = signed.clone();
    v["proof"]["created"] = json!("2023-02-24T23:36:39Z");
    assert_eq!(
        verify_data_integrity(&v, &public_key()),
        Err(VerifyError::BadSignature)
    );
    let other = SigningKey::from_bytes(&[1u8; 32]).verifying_key();
    assert_eq!(
        verify_data_integrity(&signed, &other),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn overlong_proof_value_is_rejected_quickly_with_a_clear_error() {
    use w3c_vector::*;
    let mut v: Value = serde_json::from_str(SIGNED).unwrap();
    v["proof"]["proofValue"] = json!(format!("z{}", "3".repeat(200_000)));
    match verify_data_integrity(&v, &public_key()) {
        Err(VerifyError::Malformed(m)) => {
            assert!(m.contains("proofValue is 200000 characters long"), "{m}");
            assert!(m.contains("at most 128"), "{m}");
        }
        other => panic!("{other:?}"),
    }
}
