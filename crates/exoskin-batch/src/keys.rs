//! Ed25519 keys: generation, PEM files (PKCS#8 private, SPKI public, the forms OpenSSL
//! reads and writes) and `did:key` identifiers (multicodec ed25519-pub, base58btc).
//!
//! PEM and DER come from the `pkcs8`/`spki` support of `ed25519-dalek`; base58btc from `bs58`.
//! Base58 decoding costs time quadratic in the input length, so every base58 value is
//! checked against [`MAX_BASE58_LEN`] before it is decoded.
use crate::error::{BatchError, Result};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use std::path::Path;

/// Multicodec prefix of an Ed25519 public key (0xed, varint-encoded).
const MULTICODEC_ED25519_PUB: [u8; 2] = [0xed, 0x01];

/// Longest base58btc text accepted, in characters. The longest valid value here is an
/// Ed25519 signature (64 bytes, at most 88 base58 characters); a `did:key` identifier's
/// 34 bytes take 48. The bound leaves room and keeps the quadratic decode cheap.
pub const MAX_BASE58_LEN: usize = 128;

/// A fresh key from the operating system's random source.
pub fn generate() -> Result<SigningKey> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| BatchError::Randomness {
        reason: e.to_string(),
    })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Private key as PKCS#8 v1 PEM (RFC 8410 `OneAsymmetricKey` without the optional public
/// key: the form `openssl genpkey -algorithm ed25519` writes).
pub fn private_key_pem(key: &SigningKey) -> String {
    let bytes = ed25519_dalek::pkcs8::KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    };
    bytes
        .to_pkcs8_pem(LineEnding::LF)
        .map(|pem| pem.to_string())
        // Encoding 32 fixed bytes into a fixed DER structure cannot fail.
        .expect("an Ed25519 key encodes as PKCS#8")
}

/// Public key as SubjectPublicKeyInfo PEM (`openssl pkey -pubout`).
pub fn public_key_pem(key: &VerifyingKey) -> String {
    key.to_public_key_pem(LineEnding::LF)
        .expect("an Ed25519 key encodes as SPKI")
}

pub fn parse_private_key(text: &str, what: &str) -> Result<SigningKey> {
    SigningKey::from_pkcs8_pem(text.trim()).map_err(|e| BatchError::Key {
        what: what.to_string(),
        reason: format!(
            "not an Ed25519 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----): {e}"
        ),
    })
}

/// A public key from SPKI PEM text or a `did:key:z6Mk...` identifier.
pub fn parse_public_key(text: &str, what: &str) -> Result<VerifyingKey> {
    let t = text.trim();
    if t.starts_with("did:key:") {
        return did_key_to_public(t);
    }
    let key = VerifyingKey::from_public_key_pem(t).map_err(|e| BatchError::Key {
        what: what.to_string(),
        reason: format!(
            "not an Ed25519 public key in SubjectPublicKeyInfo PEM (-----BEGIN PUBLIC KEY-----) or a did:key: {e}"
        ),
    })?;
    refuse_weak(key, what)
}

/// Refuse a small-order public key (the identity point among them): under such a key a
/// signature can be forged for any content without a private key.
fn refuse_weak(key: VerifyingKey, what: &str) -> Result<VerifyingKey> {
    if key.is_weak() {
        return Err(BatchError::Key {
            what: what.to_string(),
            reason: "a weak Ed25519 public key (a small-order point such as the identity): \
                     signatures under it prove nothing and are refused; use the public key of \
                     a key pair made by `exoskin batch keygen`"
                .into(),
        });
    }
    Ok(key)
}

pub fn read_private_key(path: &Path) -> Result<SigningKey> {
    let text = std::fs::read_to_string(path).map_err(|e| BatchError::io(path, e))?;
    parse_private_key(&text, &path.display().to_string())
}

pub fn read_public_key(path: &Path) -> Result<VerifyingKey> {
    let text = std::fs::read_to_string(path).map_err(|e| BatchError::io(path, e))?;
    parse_public_key(&text, &path.display().to_string())
}

/// Write a new key pair: the private key to `path` (mode 0600, created fresh: an existing
/// file is never overwritten) and the public key to `path.pub`.
pub fn write_key_pair(path: &Path, key: &SigningKey) -> Result<std::path::PathBuf> {
    use std::io::Write;
    let pub_path = {
        let mut s = path.as_os_str().to_owned();
        s.push(".pub");
        std::path::PathBuf::from(s)
    };
    if path.exists() || pub_path.exists() {
        return Err(BatchError::invalid(format!(
            "{} or {} already exists; refusing to overwrite a key",
            path.display(),
            pub_path.display()
        )));
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| BatchError::io(path, e))?;
    f.write_all(private_key_pem(key).as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| BatchError::io(path, e))?;
    exoskin_io::fsutil::write_atomic(&pub_path, public_key_pem(&key.verifying_key()).as_bytes())
        .map_err(|e| BatchError::io(&pub_path, e))?;
    Ok(pub_path)
}

pub fn base58_encode(data: &[u8]) -> String {
    bs58::encode(data).into_string()
}

/// Decode base58btc text of at most [`MAX_BASE58_LEN`] characters; `what` names the value
/// in errors.
pub fn base58_decode(s: &str, what: &'static str) -> Result<Vec<u8>> {
    if s.len() > MAX_BASE58_LEN {
        return Err(BatchError::TooLong {
            what,
            len: s.len(),
            max: MAX_BASE58_LEN,
            hint: "no Ed25519 signature or key is that long in base58btc",
        });
    }
    bs58::decode(s)
        .into_vec()
        .map_err(|e| BatchError::invalid(format!("{what} is not base58btc: {e}")))
}

/// `did:key:z6Mk...` of a public key.
pub fn did_key(key: &VerifyingKey) -> String {
    let mut b = MULTICODEC_ED25519_PUB.to_vec();
    b.extend_from_slice(key.as_bytes());
    format!("did:key:z{}", base58_encode(&b))
}

/// The verification method (`did:key:z6Mk...#z6Mk...`) of a key.
pub fn verification_method(key: &VerifyingKey) -> String {
    let did = did_key(key);
    let frag = did.trim_start_matches("did:key:").to_string();
    format!("{did}#{frag}")
}

pub fn did_key_to_public(did: &str) -> Result<VerifyingKey> {
    let bad = || BatchError::Key {
        what: format!("`{}`", crate::gs1::truncate_for_message(did)),
        reason: "not an Ed25519 did:key (did:key:z6Mk... with 48 base58btc characters)".into(),
    };
    let z = did.strip_prefix("did:key:z").ok_or_else(bad)?;
    let z = z.split('#').next().unwrap_or(z);
    let b = base58_decode(z, "did:key identifier")?;
    if b.len() != 34 || b[..2] != MULTICODEC_ED25519_PUB {
        return Err(bad());
    }
    let k: [u8; 32] = b[2..].try_into().map_err(|_| bad())?;
    let key = VerifyingKey::from_bytes(&k).map_err(|_| bad())?;
    refuse_weak(key, &format!("`{}`", crate::gs1::truncate_for_message(did)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_key_matches_spec_vector() {
        // did:key spec test vector (Ed25519, public key from the W3C CCG test suite).
        let did = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";
        let k = did_key_to_public(did).unwrap();
        assert_eq!(did_key(&k), did);
    }

    #[test]
    fn weak_public_keys_are_refused_in_every_form() {
        // The identity point (y = 1) and the point of order 2 (y = -1): both small-order.
        let identity = {
            let mut b = [0u8; 32];
            b[0] = 1;
            b
        };
        let order2 = {
            let mut b = [0xffu8; 32];
            b[0] = 0xec;
            b[31] = 0x7f;
            b
        };
        for bytes in [identity, order2] {
            let weak = VerifyingKey::from_bytes(&bytes).unwrap();
            assert!(weak.is_weak());
            let did = did_key(&weak);
            let e = did_key_to_public(&did).unwrap_err().to_string();
            assert!(e.contains("weak Ed25519 public key"), "{e}");
            assert!(e.contains(&did[..20]), "{e}");
            let e = parse_public_key(&did, "pubkey").unwrap_err().to_string();
            assert!(e.contains("weak"), "{e}");
            let e = parse_public_key(&public_key_pem(&weak), "issuer.pub")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("issuer.pub: a weak"), "{e}");
        }
        // An ordinary key still reads.
        let k = SigningKey::from_bytes(&[3u8; 32]).verifying_key();
        assert_eq!(did_key_to_public(&did_key(&k)).unwrap(), k);
    }

    #[test]
    fn pem_round_trip() {
        let k = SigningKey::from_bytes(&[7u8; 32]);
        let back = parse_private_key(&private_key_pem(&k), "t").unwrap();
        assert_eq!(back.to_bytes(), k.to_bytes());
        let p = parse_public_key(&public_key_pem(&k.verifying_key()), "t").unwrap();
        assert_eq!(p, k.verifying_key());
        assert!(parse_public_key(&private_key_pem(&k), "t").is_err());
    }

    #[test]
    fn pem_files_match_the_openssl_der_layout() {
        // RFC 8410: PKCS#8 v1 is this 16-byte prefix and the seed; SPKI this 12-byte prefix
        // and the key. Keys written before keep reading, keys written now keep the layout.
        use base64::Engine;
        let k = SigningKey::from_bytes(&[9u8; 32]);
        let der_of = |pem: &str| {
            let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap()
        };
        let mut want = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        want.extend_from_slice(&k.to_bytes());
        let pem = private_key_pem(&k);
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
        assert_eq!(der_of(&pem), want);
        let mut want = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        want.extend_from_slice(k.verifying_key().as_bytes());
        let pem = public_key_pem(&k.verifying_key());
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
        assert_eq!(der_of(&pem), want);
    }

    #[test]
    fn overlong_base58_is_rejected_before_decoding() {
        let long = "z".repeat(200_000);
        let e = base58_decode(&long, "proofValue").unwrap_err();
        assert!(
            matches!(
                e,
                BatchError::TooLong {
                    len: 200_000,
                    max: MAX_BASE58_LEN,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("at most 128"), "{e}");
        let did = format!("did:key:z{}", "6Mk".repeat(70_000));
        assert!(matches!(
            did_key_to_public(&did).unwrap_err(),
            BatchError::TooLong { .. }
        ));
        assert!(base58_decode("0OIl", "t").is_err()); // not in the base58btc alphabet
    }

    #[test]
    fn base58_round_trip() {
        for v in [
            vec![],
            vec![0],
            vec![0, 0, 1, 2],
            (0..64).map(|i| 255 - i).collect::<Vec<u8>>(), // as long as a signature
        ] {
            assert_eq!(base58_decode(&base58_encode(&v), "t").unwrap(), v);
        }
        assert_eq!(base58_encode(b"Hello World!"), "2NEpo7TZRRrLZSi2U");
    }
}
