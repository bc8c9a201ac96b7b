//! Ed25519 keys: generation, PEM files (PKCS#8 private, SPKI public, the forms OpenSSL
//! reads and writes) and `did:key` identifiers (multicodec ed25519-pub, base58btc).
use crate::error::{BatchError, Result};
use base64::Engine;
use ed25519_dalek::{SigningKey, VerifyingKey};
use std::path::Path;

/// DER prefix of a PKCS#8 v1 Ed25519 private key (RFC 8410); the 32-byte seed follows.
const PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32-byte key follows.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// Multicodec prefix of an Ed25519 public key (0xed, varint-encoded).
const MULTICODEC_ED25519_PUB: [u8; 2] = [0xed, 0x01];

/// A fresh key from the operating system's random source.
pub fn generate() -> Result<SigningKey> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| BatchError::Store(format!("no system randomness: {e}")))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // getrandom only fails where the OS has no random source; there, a loud panic is right.
    getrandom::fill(&mut b).expect("system random source");
    b
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

fn unpem(text: &str, label: &str, what: &str) -> Result<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text
        .find(&begin)
        .ok_or_else(|| BatchError::invalid(format!("{what}: no `{begin}` line")))?;
    let body = &text[start + begin.len()..];
    let stop = body
        .find(&end)
        .ok_or_else(|| BatchError::invalid(format!("{what}: no `{end}` line")))?;
    let b64: String = body[..stop].split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| BatchError::invalid(format!("{what}: bad base64 in PEM: {e}")))
}

pub fn private_key_pem(key: &SigningKey) -> String {
    let mut der = PKCS8_PREFIX.to_vec();
    der.extend_from_slice(&key.to_bytes());
    pem("PRIVATE KEY", &der)
}

pub fn public_key_pem(key: &VerifyingKey) -> String {
    let mut der = SPKI_PREFIX.to_vec();
    der.extend_from_slice(key.as_bytes());
    pem("PUBLIC KEY", &der)
}

pub fn parse_private_key(text: &str, what: &str) -> Result<SigningKey> {
    let der = unpem(text, "PRIVATE KEY", what)?;
    if der.len() != 48 || der[..16] != PKCS8_PREFIX {
        return Err(BatchError::invalid(format!(
            "{what}: not an Ed25519 PKCS#8 private key"
        )));
    }
    let seed: [u8; 32] = der[16..].try_into().expect("length checked");
    Ok(SigningKey::from_bytes(&seed))
}

/// A public key from SPKI PEM text or a `did:key:z6Mk...` identifier.
pub fn parse_public_key(text: &str, what: &str) -> Result<VerifyingKey> {
    let t = text.trim();
    if t.starts_with("did:key:") {
        return did_key_to_public(t);
    }
    let der = unpem(text, "PUBLIC KEY", what)?;
    if der.len() != 44 || der[..12] != SPKI_PREFIX {
        return Err(BatchError::invalid(format!(
            "{what}: not an Ed25519 public key (SubjectPublicKeyInfo)"
        )));
    }
    let b: [u8; 32] = der[12..].try_into().expect("length checked");
    VerifyingKey::from_bytes(&b)
        .map_err(|_| BatchError::invalid(format!("{what}: not a valid Ed25519 point")))
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
    std::fs::write(&pub_path, public_key_pem(&key.verifying_key()))
        .map_err(|e| BatchError::io(&pub_path, e))?;
    Ok(pub_path)
}

const B58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

pub fn base58_encode(data: &[u8]) -> String {
    let zeros = data.iter().take_while(|&&b| b == 0).count();
    let mut digits: Vec<u8> = Vec::with_capacity(data.len() * 138 / 100 + 1);
    for &byte in &data[zeros..] {
        let mut carry = byte as u32;
        for d in digits.iter_mut() {
            carry += (*d as u32) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut s = String::with_capacity(zeros + digits.len());
    s.extend(std::iter::repeat_n('1', zeros));
    s.extend(digits.iter().rev().map(|&d| B58[d as usize] as char));
    s
}

pub fn base58_decode(s: &str) -> Option<Vec<u8>> {
    let zeros = s.bytes().take_while(|&b| b == b'1').count();
    let mut bytes: Vec<u8> = Vec::with_capacity(s.len());
    for c in s.bytes().skip(zeros) {
        let mut carry = B58.iter().position(|&x| x == c)? as u32;
        for b in bytes.iter_mut() {
            carry += (*b as u32) * 58;
            *b = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let mut out = vec![0u8; zeros];
    out.extend(bytes.iter().rev());
    Some(out)
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
    let bad = || BatchError::invalid(format!("`{did}` is not an Ed25519 did:key"));
    let z = did.strip_prefix("did:key:z").ok_or_else(bad)?;
    let z = z.split('#').next().unwrap_or(z);
    let b = base58_decode(z).ok_or_else(bad)?;
    if b.len() != 34 || b[..2] != MULTICODEC_ED25519_PUB {
        return Err(bad());
    }
    let k: [u8; 32] = b[2..].try_into().map_err(|_| bad())?;
    VerifyingKey::from_bytes(&k).map_err(|_| bad())
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
    fn pem_round_trip() {
        let k = SigningKey::from_bytes(&[7u8; 32]);
        let back = parse_private_key(&private_key_pem(&k), "t").unwrap();
        assert_eq!(back.to_bytes(), k.to_bytes());
        let p = parse_public_key(&public_key_pem(&k.verifying_key()), "t").unwrap();
        assert_eq!(p, k.verifying_key());
        assert!(parse_public_key(&private_key_pem(&k), "t").is_err());
    }

    #[test]
    fn base58_round_trip() {
        for v in [
            vec![],
            vec![0],
            vec![0, 0, 1, 2],
            (0..=255).collect::<Vec<u8>>(),
        ] {
            assert_eq!(base58_decode(&base58_encode(&v)).unwrap(), v);
        }
        assert_eq!(base58_encode(b"Hello World!"), "2NEpo7TZRRrLZSi2U");
    }
}
