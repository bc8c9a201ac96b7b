//! Checkpoints of the audit log's Merkle tree in the C2SP formats:
//!
//! - c2sp.org/tlog-checkpoint: the note text `<origin>\n<tree size>\n<base64 root>\n`
//!   (extension lines, if any, follow; this registry writes none);
//! - c2sp.org/signed-note: the text, a blank line, then signature lines
//!   `— <key name> <base64(4-byte key ID || signature)>\n`, the key ID being
//!   `SHA-256(key name || 0x0A || type || public key)[:4]`, type 0x01 for Ed25519 over the
//!   note text; verifier keys are written `<name>+<8 hex digits of the key ID>+<base64(type
//!   || public key)>`;
//! - c2sp.org/tlog-cosignature: witness cosignatures, type 0x04, whose signature is an
//!   8-byte big-endian POSIX time followed by an Ed25519 signature over
//!   `cosignature/v1\ntime <t>\n` and the checkpoint text.
//!
//! The registry signs with its `--registry-key` under the key name = the origin.
use crate::merkle::Hash;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature type of Ed25519 note signatures.
pub const TYPE_ED25519: u8 = 0x01;
/// Signature type of Ed25519 checkpoint cosignatures (cosignature/v1).
pub const TYPE_COSIGNATURE: u8 = 0x04;
/// The signature line's prefix: em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// The most signature lines a note may carry (the spec asks verifiers to accept 16).
pub const MAX_SIGNATURES: usize = 100;
/// The largest note accepted, in bytes.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;

/// A checkpoint or note that does not read or verify; the message says which and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteError {
    /// Not a well-formed note, checkpoint or verifier key.
    Malformed(String),
    /// Well-formed, but not signed as required.
    Signature(String),
}

impl std::fmt::Display for NoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoteError::Malformed(m) | NoteError::Signature(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for NoteError {}

fn malformed<T>(m: impl Into<String>) -> Result<T, NoteError> {
    Err(NoteError::Malformed(m.into()))
}

// ---- base64 (RFC 4648 section 4, with padding) ----

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Strict standard base64: padded, no whitespace, no stray bits (one text per byte string).
pub fn b64_decode(text: &str) -> Option<Vec<u8>> {
    let s = text.as_bytes();
    if !s.len().is_multiple_of(4) {
        return None;
    }
    let val = |c: u8| B64.iter().position(|&x| x == c).map(|p| p as u32);
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for (ci, chunk) in s.chunks(4).enumerate() {
        let last = ci == s.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            let v = if i >= 4 - pad { 0 } else { val(c)? };
            n = (n << 6) | v;
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        // Bits beyond the data must be zero.
        if (pad == 1 && bytes[2] != 0) || (pad == 2 && (bytes[1] != 0 || bytes[2] != 0)) {
            return None;
        }
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

// ---- keys ----

/// Key names (and origins) are non-empty and have no Unicode spaces, no `+` and no control
/// characters; a checkpoint origin is a key name here (the log signs under its origin).
pub fn check_key_name(name: &str, what: &str) -> Result<(), NoteError> {
    if name.is_empty() {
        return malformed(format!("{what} is empty"));
    }
    if name.len() > 256 {
        return malformed(format!("{what} is longer than 256 bytes"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_whitespace() || *c == '+' || c.is_control())
    {
        return malformed(format!(
            "{what} `{}` contains {c:?}: names have no spaces, `+` or control characters",
            name.escape_debug()
        ));
    }
    Ok(())
}

/// `SHA-256(name || 0x0A || type || public key)[:4]`.
pub fn key_id(name: &str, kind: u8, public: &[u8]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', kind]);
    h.update(public);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// A verifier key: a name, a signature type (0x01 note signature, 0x04 cosignature) and an
/// Ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    pub name: String,
    pub kind: u8,
    pub key: VerifyingKey,
}

impl Verifier {
    /// The log's key: Ed25519 note signatures under `name` (the origin).
    pub fn log(name: &str, key: VerifyingKey) -> Result<Verifier, NoteError> {
        Verifier::new(name, TYPE_ED25519, key)
    }

    /// A witness's key: cosignature/v1 under `name`.
    pub fn witness(name: &str, key: VerifyingKey) -> Result<Verifier, NoteError> {
        Verifier::new(name, TYPE_COSIGNATURE, key)
    }

    fn new(name: &str, kind: u8, key: VerifyingKey) -> Result<Verifier, NoteError> {
        check_key_name(name, "key name")?;
        if key.is_weak() {
            return malformed(format!(
                "key {name}: a weak Ed25519 public key (a small-order point such as the identity): signatures under it prove nothing"
            ));
        }
        Ok(Verifier {
            name: name.to_string(),
            kind,
            key,
        })
    }

    pub fn id(&self) -> [u8; 4] {
        key_id(&self.name, self.kind, self.key.as_bytes())
    }

    /// `<name>+<hex key ID>+<base64(type || public key)>`.
    pub fn to_vkey(&self) -> String {
        let mut k = vec![self.kind];
        k.extend_from_slice(self.key.as_bytes());
        let id: String = self.id().iter().map(|b| format!("{b:02x}")).collect();
        format!("{}+{id}+{}", self.name, b64_encode(&k))
    }

    /// Parse a verifier key string; its key ID must be the one its name and key give.
    pub fn parse(vkey: &str) -> Result<Verifier, NoteError> {
        let v = vkey.trim();
        if v.len() > 1024 {
            return malformed("a verifier key is at most 1024 characters");
        }
        let form = "a verifier key has the form <name>+<8 hex digits>+<base64 key>";
        let (name, rest) = v
            .split_once('+')
            .ok_or_else(|| NoteError::Malformed(form.into()))?;
        let (hex_id, b64) = rest
            .split_once('+')
            .ok_or_else(|| NoteError::Malformed(form.into()))?;
        check_key_name(name, "the verifier key's name")?;
        if hex_id.len() != 8 || !hex_id.bytes().all(|c| c.is_ascii_hexdigit()) {
            return malformed(format!(
                "{form}; `{}` is not 8 hex digits",
                hex_id.escape_debug()
            ));
        }
        let raw = b64_decode(b64)
            .ok_or_else(|| NoteError::Malformed(format!("{form}; the key is not base64")))?;
        let (kind, public) = match raw.split_first() {
            Some((&k, p)) if (k == TYPE_ED25519 || k == TYPE_COSIGNATURE) && p.len() == 32 => {
                (k, p)
            }
            Some((&k, _)) if k != TYPE_ED25519 && k != TYPE_COSIGNATURE => {
                return malformed(format!(
                    "verifier key {name}: signature type 0x{k:02x} is not supported (0x01 Ed25519, 0x04 Ed25519 cosignature)"
                ))
            }
            _ => return malformed(format!("verifier key {name}: not a 32-byte Ed25519 key")),
        };
        let bytes: [u8; 32] = public.try_into().expect("32 bytes");
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| {
            NoteError::Malformed(format!("verifier key {name}: not an Ed25519 public key"))
        })?;
        let verifier = Verifier::new(name, kind, key)?;
        let want: String = verifier.id().iter().map(|b| format!("{b:02x}")).collect();
        if !hex_id.eq_ignore_ascii_case(&want) {
            return malformed(format!(
                "verifier key {name}: key ID {hex_id} is not the one its name and key give ({want})"
            ));
        }
        Ok(verifier)
    }
}

// ---- checkpoints ----

/// A tree head: origin, size and root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Extension lines (none from this registry; kept when read, signed as they are).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: origin, size, base64 root, extension lines, each ending in a newline.
    pub fn body(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            b64_encode(&self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parse a note text as a checkpoint.
    pub fn parse_body(text: &str) -> Result<Checkpoint, NoteError> {
        let Some(t) = text.strip_suffix('\n') else {
            return malformed("the checkpoint text must end in a newline");
        };
        let lines: Vec<&str> = t.split('\n').collect();
        if lines.len() < 3 {
            return malformed(
                "a checkpoint has at least three lines: origin, tree size, root hash",
            );
        }
        if let Some(i) = lines.iter().position(|l| l.is_empty()) {
            return malformed(format!("checkpoint line {} is empty", i + 1));
        }
        check_key_name(lines[0], "the checkpoint's origin")?;
        let size_ok = lines[1].bytes().all(|c| c.is_ascii_digit())
            && (lines[1] == "0" || !lines[1].starts_with('0'))
            && lines[1].len() <= 20;
        let size: u64 = match lines[1].parse() {
            Ok(n) if size_ok => n,
            _ => {
                return malformed(format!(
                    "checkpoint line 2, the tree size `{}`, is not a decimal number without leading zeros",
                    lines[1].escape_debug()
                ))
            }
        };
        let root: Hash = b64_decode(lines[2])
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| {
                NoteError::Malformed(
                    "checkpoint line 3, the root hash, is not the base64 of 32 bytes".into(),
                )
            })?;
        Ok(Checkpoint {
            origin: lines[0].to_string(),
            size,
            root,
            extensions: lines[3..].iter().map(|s| s.to_string()).collect(),
        })
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub id: [u8; 4],
    pub signature: Vec<u8>,
}

impl NoteSignature {
    fn line(&self) -> String {
        let mut b = self.id.to_vec();
        b.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, b64_encode(&b))
    }
}

/// A signed note: its text (ending in a newline) and its signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parse a signed note (syntax only: no signature is checked here).
    pub fn parse(note: &str) -> Result<Note, NoteError> {
        if note.len() > MAX_NOTE_BYTES {
            return malformed(format!("a note is at most {MAX_NOTE_BYTES} bytes"));
        }
        if let Some(c) = note.chars().find(|c| (*c as u32) < 0x20 && *c != '\n') {
            return malformed(format!(
                "a note has no control characters but newlines; found {c:?}"
            ));
        }
        let Some(split) = note.rfind("\n\n") else {
            return malformed("a signed note is its text, a blank line, then signature lines");
        };
        let text = &note[..split + 1];
        let sigs = &note[split + 2..];
        let Some(sigs) = sigs.strip_suffix('\n') else {
            return malformed("a note's last signature line must end in a newline");
        };
        let mut signatures = Vec::new();
        for line in sigs.split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return malformed(format!("a note has at most {MAX_SIGNATURES} signatures"));
            }
            let Some(rest) = line.strip_prefix(SIG_PREFIX) else {
                return malformed(format!(
                    "signature line `{}` does not start with an em dash and a space",
                    line.chars().take(60).collect::<String>().escape_debug()
                ));
            };
            let Some((name, b64)) = rest.split_once(' ') else {
                return malformed("a signature line is `— <key name> <base64 signature>`");
            };
            check_key_name(name, "a signature line's key name")?;
            let raw = b64_decode(b64).filter(|r| r.len() > 4).ok_or_else(|| {
                NoteError::Malformed(format!(
                    "the signature by {name} is not the base64 of a key ID and a signature"
                ))
            })?;
            signatures.push(NoteSignature {
                name: name.to_string(),
                id: [raw[0], raw[1], raw[2], raw[3]],
                signature: raw[4..].to_vec(),
            });
        }
        Ok(Note {
            text: text.to_string(),
            signatures,
        })
    }

    /// The note as text: the text, a blank line, the signature lines.
    pub fn to_text(&self) -> String {
        let mut s = self.text.clone();
        s.push('\n');
        for sig in &self.signatures {
            s.push_str(&sig.line());
        }
        s
    }
}

/// Sign a checkpoint as the log: a note with one Ed25519 signature under `name`.
pub fn sign_checkpoint(key: &SigningKey, name: &str, cp: &Checkpoint) -> Result<String, NoteError> {
    check_key_name(&cp.origin, "the origin")?;
    let v = Verifier::log(name, key.verifying_key())?;
    let text = cp.body();
    let sig = key.sign(text.as_bytes());
    Ok(Note {
        text,
        signatures: vec![NoteSignature {
            name: name.to_string(),
            id: v.id(),
            signature: sig.to_bytes().to_vec(),
        }],
    }
    .to_text())
}

/// The message a cosignature/v1 signs.
pub fn cosignature_message(timestamp: u64, checkpoint_text: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}").into_bytes()
}

/// Cosign a checkpoint text as a witness (cosignature/v1): the signature line to append.
pub fn cosign(
    key: &SigningKey,
    name: &str,
    timestamp: u64,
    checkpoint_text: &str,
) -> Result<NoteSignature, NoteError> {
    let v = Verifier::witness(name, key.verifying_key())?;
    let sig = key.sign(&cosignature_message(timestamp, checkpoint_text));
    let mut signature = timestamp.to_be_bytes().to_vec();
    signature.extend_from_slice(&sig.to_bytes());
    Ok(NoteSignature {
        name: name.to_string(),
        id: v.id(),
        signature,
    })
}

/// A checkpoint whose signatures were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub checkpoint: Checkpoint,
    /// Each witness's name and the time of its cosignature, in the order given.
    pub cosigned: Vec<(String, u64)>,
}

fn verify_one(v: &Verifier, text: &str, sig: &NoteSignature) -> Result<Option<u64>, NoteError> {
    let bad = || {
        NoteError::Signature(format!(
            "the signature by {} does not verify: the checkpoint was altered or not signed by this key",
            v.name
        ))
    };
    match v.kind {
        TYPE_ED25519 => {
            let s: [u8; 64] = sig.signature.as_slice().try_into().map_err(|_| bad())?;
            v.key
                .verify_strict(text.as_bytes(), &Signature::from_bytes(&s))
                .map_err(|_| bad())?;
            Ok(None)
        }
        _ => {
            if sig.signature.len() != 72 {
                return Err(bad());
            }
            let t = u64::from_be_bytes(sig.signature[..8].try_into().expect("8 bytes"));
            if t > i64::MAX as u64 {
                return Err(bad());
            }
            let s: [u8; 64] = sig.signature[8..].try_into().expect("64 bytes");
            v.key
                .verify_strict(&cosignature_message(t, text), &Signature::from_bytes(&s))
                .map_err(|_| bad())?;
            Ok(Some(t))
        }
    }
}

/// Read a signed checkpoint: the log's signature by `log` must verify, and each witness in
/// `witnesses` must have cosigned it. As c2sp.org/signed-note asks, lines by other keys are
/// ignored, a failing line by a known key rejects the note, and so does a known key signing
/// twice.
pub fn open_checkpoint(
    note: &str,
    log: &Verifier,
    witnesses: &[Verifier],
) -> Result<Opened, NoteError> {
    let n = Note::parse(note)?;
    let checkpoint = Checkpoint::parse_body(&n.text)?;
    let mut log_ok = false;
    let mut cosigned = Vec::new();
    for v in std::iter::once(log).chain(witnesses) {
        let id = v.id();
        let mine: Vec<&NoteSignature> = n
            .signatures
            .iter()
            .filter(|s| s.name == v.name && s.id == id)
            .collect();
        if mine.len() > 1 {
            return Err(NoteError::Signature(format!(
                "{} signed the note {} times: a key signs a note once",
                v.name,
                mine.len()
            )));
        }
        let Some(sig) = mine.first() else {
            if std::ptr::eq(v, log) {
                return Err(NoteError::Signature(format!(
                    "no signature by the log's key {} (key ID {}): signed by {}",
                    v.name,
                    id.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                    if n.signatures.is_empty() {
                        "nobody".to_string()
                    } else {
                        n.signatures
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                )));
            }
            return Err(NoteError::Signature(format!(
                "the witness {} did not cosign the checkpoint",
                v.name
            )));
        };
        match verify_one(v, &n.text, sig)? {
            None => log_ok = true,
            Some(t) => cosigned.push((v.name.clone(), t)),
        }
    }
    debug_assert!(log_ok);
    Ok(Opened {
        checkpoint,
        cosigned,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_is_strict() {
        for (raw, enc) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE="),
            (b"foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(b64_encode(raw), enc);
            assert_eq!(b64_decode(enc).unwrap(), raw);
        }
        for bad in [
            "Zg", "Zg=", "Zh==", "Z===", "Zm9v\n", "Zg==Zg==", "Zm9_", " Zm9v",
        ] {
            assert!(b64_decode(bad).is_none(), "{bad}");
        }
    }

    /// The documented example of golang.org/x/mod/sumdb/note, the reference implementation
    /// of signed notes: its signer key, verifier key and signed note, byte for byte.
    #[test]
    fn the_reference_example_note_signs_and_verifies_byte_for_byte() {
        let skey = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"; // 0x01 || Ed25519 seed
        let seed: [u8; 32] = b64_decode(skey).unwrap()[1..].try_into().unwrap();
        let signer = SigningKey::from_bytes(&seed);
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let v = Verifier::parse(vkey).unwrap();
        assert_eq!(v.to_vkey(), vkey);
        let note = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
        let n = Note::parse(note).unwrap();
        assert_eq!(n.to_text(), note);
        let sig = &n.signatures[0];
        assert_eq!(sig.id, v.id());
        assert_eq!(verify_one(&v, &n.text, sig).unwrap(), None);
        assert_eq!(signer.verifying_key(), v.key);
        let line = NoteSignature {
            name: "PeterNeumann".into(),
            id: v.id(),
            signature: signer.sign(n.text.as_bytes()).to_bytes().to_vec(),
        };
        assert_eq!(format!("{}\n{}", n.text, line.line()), note);
        let mut altered = n.clone();
        altered.text = altered.text.replace("answer", "question");
        assert!(verify_one(&v, &altered.text, sig).is_err());
    }

    #[test]
    fn a_checkpoint_signed_here_opens_and_any_change_fails() {
        let k = SigningKey::from_bytes(&[5; 32]);
        let cp = Checkpoint {
            origin: "registry.example/log".into(),
            size: 12,
            root: [7; 32],
            extensions: vec![],
        };
        let note = sign_checkpoint(&k, &cp.origin, &cp).unwrap();
        assert!(note.starts_with("registry.example/log\n12\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n\n\u{2014} registry.example/log "), "{note}");
        let v = Verifier::log(&cp.origin, k.verifying_key()).unwrap();
        let vkey = v.to_vkey();
        assert!(vkey.starts_with("registry.example/log+"), "{vkey}");
        assert_eq!(Verifier::parse(&vkey).unwrap(), v);
        let opened = open_checkpoint(&note, &v, &[]).unwrap();
        assert_eq!(opened.checkpoint, cp);
        // Another size, root or origin: the signature no longer verifies.
        for (from, to) in [
            ("\n12\n", "\n13\n"),
            ("BwcH", "CAcH"),
            ("registry.example/log\n1", "registry.example/lag\n1"),
        ] {
            let changed = note.replacen(from, to, 1);
            let e = open_checkpoint(&changed, &v, &[]).unwrap_err();
            assert!(matches!(e, NoteError::Signature(_)), "{from}: {e}");
        }
        // Another key under the same name: no signature by it.
        let other =
            Verifier::log(&cp.origin, SigningKey::from_bytes(&[6; 32]).verifying_key()).unwrap();
        let e = open_checkpoint(&note, &other, &[]).unwrap_err().to_string();
        assert!(e.contains("no signature by the log's key"), "{e}");
        // A key ID that is not the name's and key's is refused when parsed.
        let mut wrong_id = vkey.clone();
        let i = wrong_id.find('+').unwrap() + 1;
        let c = if &wrong_id[i..i + 1] == "0" { "1" } else { "0" };
        wrong_id.replace_range(i..i + 1, c);
        assert!(Verifier::parse(&wrong_id).is_err());
        // Unknown signers are ignored; the known key signing twice is refused.
        let stranger = SigningKey::from_bytes(&[9; 32]);
        let extra = sign_checkpoint(&stranger, "someone.else/k", &cp).unwrap();
        let extra_line = &extra[extra.rfind("\n\n").unwrap() + 2..];
        let with_stranger = format!("{note}{extra_line}");
        open_checkpoint(&with_stranger, &v, &[]).unwrap();
        let own_line = &note[note.rfind("\n\n").unwrap() + 2..];
        assert!(open_checkpoint(&format!("{note}{own_line}"), &v, &[]).is_err());
        // Malformed: leading zeros, a short root, no blank line, control characters.
        for bad in [
            note.replacen("\n12\n", "\n012\n", 1),
            note.replacen("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=", "BwcH", 1),
            note.replacen("\n\n", "\n", 1),
            note.replacen("registry", "reg\tistry", 1),
        ] {
            assert!(
                matches!(open_checkpoint(&bad, &v, &[]), Err(NoteError::Malformed(_))),
                "{bad}"
            );
        }
        // A weak key is refused as a verifier key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = VerifyingKey::from_bytes(&identity).unwrap();
        assert!(Verifier::log("x.example/log", weak).is_err());
    }

    #[test]
    fn witness_cosignatures_are_checked_when_asked_for() {
        let k = SigningKey::from_bytes(&[5; 32]);
        let w = SigningKey::from_bytes(&[11; 32]);
        let cp = Checkpoint {
            origin: "registry.example/log".into(),
            size: 3,
            root: [1; 32],
            extensions: vec![],
        };
        let note = sign_checkpoint(&k, &cp.origin, &cp).unwrap();
        let log = Verifier::log(&cp.origin, k.verifying_key()).unwrap();
        let wit = Verifier::witness("witness.example/w1", w.verifying_key()).unwrap();
        assert!(wit.to_vkey().starts_with("witness.example/w1+"));
        let e = open_checkpoint(&note, &log, std::slice::from_ref(&wit)).unwrap_err();
        assert!(e.to_string().contains("did not cosign"), "{e}");
        let line = cosign(&w, &wit.name, 1_767_000_000, &cp.body())
            .unwrap()
            .line();
        let cosigned = format!("{note}{line}");
        let o = open_checkpoint(&cosigned, &log, std::slice::from_ref(&wit)).unwrap();
        assert_eq!(
            o.cosigned,
            vec![("witness.example/w1".to_string(), 1_767_000_000)]
        );
        // A cosignature of another tree head fails, and rejects the note.
        let other = cosign(
            &w,
            &wit.name,
            1_767_000_000,
            "registry.example/log\n4\nAQ==\n",
        )
        .unwrap()
        .line();
        assert!(open_checkpoint(&format!("{note}{other}"), &log, &[wit]).is_err());
    }
}
