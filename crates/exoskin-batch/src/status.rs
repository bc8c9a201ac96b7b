//! Revocation as a W3C Bitstring Status List: M. Sporny, D. Longley, M. Prorock and
//! M. Alkhraishi (eds.), "Bitstring Status List v1.0", W3C Recommendation, 15 May 2025
//! (<https://www.w3.org/TR/vc-bitstring-status-list/>). Section numbers below are that
//! document's.
//!
//! - [`StatusEntry`]: the `credentialStatus` of a certificate (section 2.1,
//!   `BitstringStatusListEntry`), read strictly from a signed certificate;
//! - [`Bitstring`]: the list itself, index 0 the left-most (most significant) bit of the
//!   first byte (sections 2.2 and 7.1), encoded as `u` + base64url without padding of its
//!   GZIP (RFC 1952) compression (section 2.2, `encodedList`);
//! - [`list_credential`] and [`open_list_credential`]: the `BitstringStatusListCredential`
//!   (section 2.2), signed and checked with the certificates' `eddsa-jcs-2022` Data Integrity
//!   proof ([`crate::cert::sign`], [`crate::cert::verify_data_integrity`]);
//! - [`check`]: the validate algorithm (section 3.2) for one certificate and one list.
//!
//! No network or database here: the registry builds and serves lists, the CLI fetches them.
use crate::cert::{self, VerifyError};
use crate::date::Timestamp;
use crate::error::{BatchError, Result};
use crate::keys;
use base64::Engine as _;
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde_json::{json, Value};
use std::io::{Read, Write};
use thiserror::Error;

pub const ENTRY_TYPE: &str = "BitstringStatusListEntry";
pub const LIST_CREDENTIAL_TYPE: &str = "BitstringStatusListCredential";
pub const LIST_TYPE: &str = "BitstringStatusList";
/// The one status purpose exoskin issues and checks (section 2.1: "Used to cancel the
/// validity of a verifiable credential. This status is not reversible.").
pub const PURPOSE_REVOCATION: &str = "revocation";

/// Fewest entries a list may have: section 3.2 step 2 (`minimumNumberOfEntries` is
/// 131,072) and section 2.2 (the uncompressed bitstring is at least 16 KB: 16 x 1024 x 8
/// bits). The lists the registry makes have exactly this many (section 1.1: "an adequate
/// amount of group privacy in the average case").
pub const MIN_ENTRIES: u64 = 131_072;

/// Largest uncompressed list decoded, in bytes: 16 MiB, 1,024 times the minimum. An
/// assumption (no list exoskin makes is larger); it bounds the memory a hostile GZIP stream
/// can take, since a few kilobytes of GZIP expand to megabytes.
pub const MAX_LIST_BYTES: usize = 16 * 1024 * 1024;

/// Longest `encodedList` read, in characters: checked before decoding. An assumption: a
/// list of [`MAX_LIST_BYTES`] with random bits gzips to about that many bytes, and base64
/// writes 4 characters per 3 bytes.
pub const MAX_ENCODED_LEN: usize = MAX_LIST_BYTES / 3 * 4 + 1024;

/// How long a signed list stays valid (`validUntil - validFrom`): one day. An assumption:
/// it bounds how long a copy made before a revocation can be passed off as current; the
/// registry signs a fresh list when it changes and when half of this has passed.
pub const LIST_VALIDITY_S: i64 = 24 * 3600;

/// Why a status could not be established. The names in brackets are the errors section 3.2
/// and the VC Data Model 2.0 name for each case.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum StatusError {
    /// A property that breaks a MUST of section 2 (MALFORMED_VALUE_ERROR).
    #[error("{field}: {reason} (MALFORMED_VALUE_ERROR)")]
    Malformed { field: String, reason: String },
    /// The list could not be fetched or read (STATUS_RETRIEVAL_ERROR).
    #[error("status list {url} could not be retrieved: {reason} (STATUS_RETRIEVAL_ERROR)")]
    Retrieval { url: String, reason: String },
    /// The list's proof, issuer, type, purpose, id or dates do not hold
    /// (STATUS_VERIFICATION_ERROR).
    #[error("status list {url}: {reason} (STATUS_VERIFICATION_ERROR)")]
    Verification { url: String, reason: String },
    /// A list shorter than [`MIN_ENTRIES`] (STATUS_LIST_LENGTH_ERROR).
    #[error("status list {url} has {entries} entries; at least {min} are required (STATUS_LIST_LENGTH_ERROR)")]
    Length { url: String, entries: u64, min: u64 },
    /// An index past the end of the list (RANGE_ERROR).
    #[error(
        "statusListIndex {index} is outside status list {url} of {entries} entries (RANGE_ERROR)"
    )]
    Range {
        url: String,
        index: u64,
        entries: u64,
    },
}

fn malformed(field: &str, reason: impl Into<String>) -> StatusError {
    StatusError::Malformed {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// A certificate's revocation entry: the list's URL and the certificate's index in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    /// `statusListCredential`: the URL of the `BitstringStatusListCredential`.
    pub list: String,
    /// `statusListIndex`.
    pub index: u64,
}

/// Digits a `statusListIndex` may have: 18, so every index fits an `i64` (the databases'
/// integer) and no list could be long enough to need more.
const MAX_INDEX_DIGITS: usize = 18;

/// A status list URL: `http(s)://host/...`, no fragment or whitespace, at most 2,000
/// characters (an assumption, the usual bound on URLs in practice).
pub fn check_list_url(url: &str, field: &str) -> std::result::Result<(), StatusError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| {
            malformed(
                field,
                format!("`{url}` must be an https:// (or http://) URL"),
            )
        })?;
    if rest.split('/').next().unwrap_or("").is_empty()
        || url.contains('#')
        || url.len() > 2000
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(malformed(
            field,
            format!("`{url}` must be a URL such as https://registry.example.com/api/v1/status/1 (no fragment, no spaces)"),
        ));
    }
    Ok(())
}

/// A `statusListIndex`: a base-10 integer 0 or more, as a string (section 2.1).
pub fn parse_index(s: &str, field: &str) -> std::result::Result<u64, StatusError> {
    if s.is_empty() || s.len() > MAX_INDEX_DIGITS || !s.bytes().all(|c| c.is_ascii_digit()) {
        let shown: String = s.chars().take(40).collect();
        return Err(malformed(
            field,
            format!(
                "`{}` is not an index: a whole number 0 or more written in base 10 as a string, at most {MAX_INDEX_DIGITS} digits",
                shown.escape_debug()
            ),
        ));
    }
    s.parse()
        .map_err(|e| malformed(field, format!("`{s}`: {e}")))
}

impl StatusEntry {
    pub fn new(list: &str, index: u64) -> std::result::Result<StatusEntry, StatusError> {
        check_list_url(list, "statusListCredential")?;
        Ok(StatusEntry {
            list: list.to_string(),
            index,
        })
    }

    /// The `credentialStatus` object: `id` is `<list>#<index>` (section 2.1: it MUST NOT be
    /// the list's URL).
    pub fn to_json(&self) -> Value {
        json!({
            "id": format!("{}#{}", self.list, self.index),
            "type": ENTRY_TYPE,
            "statusPurpose": PURPOSE_REVOCATION,
            "statusListIndex": self.index.to_string(),
            "statusListCredential": self.list,
        })
    }

    /// The revocation entry of a credential; `None` when it has no `credentialStatus` (a
    /// certificate issued without one, checked against revocation lists as before). A
    /// `credentialStatus` exoskin cannot check (another type, another purpose only, more
    /// than one revocation entry, `statusSize` other than 1) is an error, never ignored.
    pub fn of(credential: &Value) -> std::result::Result<Option<StatusEntry>, StatusError> {
        let Some(status) = credential.get("credentialStatus") else {
            return Ok(None);
        };
        let items: Vec<&Value> = match status {
            Value::Array(a) => a.iter().collect(),
            v @ Value::Object(_) => vec![v],
            _ => {
                return Err(malformed(
                    "credentialStatus",
                    "must be an object or an array of objects",
                ))
            }
        };
        let mut found: Option<StatusEntry> = None;
        for (i, item) in items.iter().enumerate() {
            let field = |k: &str| {
                if items.len() == 1 {
                    format!("credentialStatus.{k}")
                } else {
                    format!("credentialStatus[{i}].{k}")
                }
            };
            let s = |k: &str| -> std::result::Result<Option<&str>, StatusError> {
                match item.get(k) {
                    None => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.as_str())),
                    Some(_) => Err(malformed(&field(k), "must be a string")),
                }
            };
            if !item.is_object() {
                return Err(malformed(&field("type"), "each entry must be an object"));
            }
            if s("type")? != Some(ENTRY_TYPE) || s("statusPurpose")? != Some(PURPOSE_REVOCATION) {
                continue;
            }
            match item.get("statusSize") {
                None => {}
                Some(v) if v.as_u64() == Some(1) => {}
                Some(_) => {
                    return Err(malformed(
                        &field("statusSize"),
                        "exoskin checks 1-bit revocation entries only (statusSize absent or 1)",
                    ))
                }
            }
            let list = s("statusListCredential")?
                .ok_or_else(|| malformed(&field("statusListCredential"), "is missing"))?;
            check_list_url(list, &field("statusListCredential"))?;
            let index = parse_index(
                s("statusListIndex")?
                    .ok_or_else(|| malformed(&field("statusListIndex"), "is missing"))?,
                &field("statusListIndex"),
            )?;
            if s("id")? == Some(list) {
                return Err(malformed(
                    &field("id"),
                    "must not be the status list's URL (section 2.1)",
                ));
            }
            if found.is_some() {
                return Err(malformed(
                    "credentialStatus",
                    "has more than one revocation entry; exoskin checks one",
                ));
            }
            found = Some(StatusEntry {
                list: list.to_string(),
                index,
            });
        }
        match found {
            Some(e) => Ok(Some(e)),
            None => Err(malformed(
                "credentialStatus",
                format!("has no {ENTRY_TYPE} with statusPurpose `{PURPOSE_REVOCATION}`, the only status exoskin checks"),
            )),
        }
    }
}

/// A status list: one bit per entry, index 0 the left-most bit of the first byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitstring {
    bytes: Vec<u8>,
}

impl Bitstring {
    /// A list of `entries` bits (rounded up to whole bytes), all 0.
    pub fn new(entries: u64) -> Bitstring {
        Bitstring {
            bytes: vec![0; entries.div_ceil(8) as usize],
        }
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Bitstring {
        Bitstring { bytes }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The number of entries.
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64 * 8
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bit at `index`; `None` past the end.
    pub fn get(&self, index: u64) -> Option<bool> {
        let byte = self.bytes.get(usize::try_from(index / 8).ok()?)?;
        Some(byte & (0x80 >> (index % 8)) != 0)
    }

    /// Set the bit at `index` to 1; false (and no change) past the end.
    pub fn set(&mut self, index: u64) -> bool {
        match usize::try_from(index / 8)
            .ok()
            .and_then(|i| self.bytes.get_mut(i))
        {
            Some(b) => {
                *b |= 0x80 >> (index % 8);
                true
            }
            None => false,
        }
    }

    /// The indices whose bit is 1, ascending.
    pub fn ones(&self) -> Vec<u64> {
        let mut out = Vec::new();
        for (i, b) in self.bytes.iter().enumerate() {
            if *b != 0 {
                for k in 0..8u64 {
                    if b & (0x80 >> k) != 0 {
                        out.push(i as u64 * 8 + k);
                    }
                }
            }
        }
        out
    }

    /// `encodedList`: multibase `u` + base64url without padding (RFC 4648 section 5) of the
    /// GZIP (RFC 1952) compression of the bits. The GZIP header carries no time or name, so
    /// the same bits always encode to the same text.
    pub fn encode(&self) -> String {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing to a Vec cannot fail.
        gz.write_all(&self.bytes).expect("writing to memory");
        let compressed = gz.finish().expect("writing to memory");
        format!(
            "u{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(compressed)
        )
    }

    /// Read an `encodedList` (section 3.4, the bitstring expansion algorithm): refuses
    /// another multibase prefix, padding or characters outside base64url, a stream that is
    /// not GZIP or has bytes after it, and lists over [`MAX_LIST_BYTES`].
    pub fn decode(encoded: &str, field: &str) -> std::result::Result<Bitstring, StatusError> {
        if encoded.len() > MAX_ENCODED_LEN {
            return Err(malformed(
                field,
                format!(
                    "is {} characters long; at most {MAX_ENCODED_LEN} are read",
                    encoded.len()
                ),
            ));
        }
        let b64 = encoded.strip_prefix('u').ok_or_else(|| {
            malformed(
                field,
                "must be multibase base64url: `u` followed by base64url without padding",
            )
        })?;
        let gz = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(b64)
            .map_err(|e| malformed(field, format!("not base64url without padding: {e}")))?;
        let mut d = flate2::bufread::GzDecoder::new(gz.as_slice());
        let mut bytes = Vec::new();
        (&mut d)
            .take(MAX_LIST_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| malformed(field, format!("not a GZIP stream: {e}")))?;
        if bytes.len() > MAX_LIST_BYTES {
            return Err(malformed(
                field,
                format!("expands past {MAX_LIST_BYTES} bytes; refused"),
            ));
        }
        let rest = d.into_inner();
        if !rest.is_empty() {
            return Err(malformed(
                field,
                format!("has {} bytes after its GZIP stream", rest.len()),
            ));
        }
        Ok(Bitstring { bytes })
    }
}

/// The unsigned `BitstringStatusListCredential` (section 2.2) of `bits` at `url`, issued
/// by `issuer` (a `did:key`), valid from `valid_from` for [`LIST_VALIDITY_S`].
pub fn unsigned_list_credential(
    url: &str,
    issuer: &str,
    bits: &Bitstring,
    valid_from: Timestamp,
) -> Value {
    json!({
        "@context": [cert::VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": valid_from.to_string(),
        "validUntil": Timestamp(valid_from.0 + LIST_VALIDITY_S).to_string(),
        "credentialSubject": {
            "id": format!("{url}#list"),
            "type": LIST_TYPE,
            "statusPurpose": PURPOSE_REVOCATION,
            "encodedList": bits.encode(),
        },
    })
}

/// The signed list credential: [`unsigned_list_credential`] with an `eddsa-jcs-2022`
/// proof by `key`, whose `did:key` is the issuer.
pub fn list_credential(
    url: &str,
    key: &SigningKey,
    bits: &Bitstring,
    valid_from: Timestamp,
) -> Result<Value> {
    let issuer = keys::did_key(&key.verifying_key());
    cert::sign(
        unsigned_list_credential(url, &issuer, bits, valid_from),
        key,
        valid_from,
    )
}

/// A list credential that passed [`open_list_credential`].
#[derive(Debug, Clone)]
pub struct OpenedList {
    /// The `did:key` that signed it.
    pub issuer: String,
    pub bits: Bitstring,
    pub valid_until: Option<Timestamp>,
}

/// Check a `BitstringStatusListCredential` for the list at `url` (section 3.2 steps 4 to 9):
/// its `eddsa-jcs-2022` proof under its issuer's `did:key` (with `trusted`, that key), its
/// type, its `id` (when given) equal to `url`, a `revocation` purpose, its dates at `now`,
/// and an `encodedList` of at least [`MIN_ENTRIES`] entries.
pub fn open_list_credential(
    doc: &Value,
    url: &str,
    trusted: Option<&VerifyingKey>,
    now: Timestamp,
) -> std::result::Result<OpenedList, StatusError> {
    let fail = |reason: String| StatusError::Verification {
        url: url.to_string(),
        reason,
    };
    let types = doc.get("type").and_then(Value::as_array);
    if !types.is_some_and(|t| t.iter().any(|x| x == "VerifiableCredential"))
        || !types.is_some_and(|t| t.iter().any(|x| x == LIST_CREDENTIAL_TYPE))
    {
        return Err(fail(format!(
            "`type` must include VerifiableCredential and {LIST_CREDENTIAL_TYPE}"
        )));
    }
    if let Some(id) = doc.get("id") {
        if id.as_str() != Some(url) {
            return Err(fail(format!(
                "its id is {id}, not the URL the certificate names: another list"
            )));
        }
    }
    let issuer = match doc.get("issuer") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        _ => String::new(),
    };
    let key = keys::did_key_to_public(&issuer)
        .map_err(|e| fail(format!("issuer `{issuer}` is not a did:key: {e}")))?;
    if let Some(t) = trusted {
        if *t != key {
            return Err(fail(format!(
                "signed by {issuer}, not by the registry key given ({})",
                keys::did_key(t)
            )));
        }
    }
    let vm = doc
        .get("proof")
        .and_then(|p| p.get("verificationMethod"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if vm != keys::verification_method(&key) {
        return Err(fail(format!(
            "its proof is by {vm}, not by its issuer {issuer}"
        )));
    }
    cert::verify_data_integrity(doc, &key).map_err(|e| match e {
        VerifyError::BadSignature => {
            fail("its signature does not verify: the list was altered after signing".into())
        }
        e => fail(format!("its proof does not verify: {e}")),
    })?;
    let ts = |k: &str| -> std::result::Result<Option<Timestamp>, StatusError> {
        match doc.get(k) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .ok_or_else(|| fail(format!("`{k}` must be a string")))
                .and_then(|s| Timestamp::parse(s).map_err(|e| fail(format!("{k}: {e}"))))
                .map(Some),
        }
    };
    let valid_from = ts("validFrom")?;
    let valid_until = ts("validUntil")?;
    if let Some(f) = valid_from.filter(|f| now < *f) {
        return Err(fail(format!("not valid before {f} (now {now})")));
    }
    if let Some(u) = valid_until.filter(|u| now > *u) {
        return Err(fail(format!(
            "expired at {u} (now {now}): fetch the current list"
        )));
    }
    let subject = doc
        .get("credentialSubject")
        .filter(|s| s.is_object())
        .ok_or_else(|| fail("no credentialSubject object".into()))?;
    if subject.get("type").and_then(Value::as_str) != Some(LIST_TYPE) {
        return Err(fail(format!("credentialSubject.type must be {LIST_TYPE}")));
    }
    let purposes: Vec<&str> = match subject.get("statusPurpose") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !purposes.contains(&PURPOSE_REVOCATION) {
        return Err(fail(format!(
            "credentialSubject.statusPurpose is not `{PURPOSE_REVOCATION}`: the list says nothing of revocation"
        )));
    }
    let encoded = subject
        .get("encodedList")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            malformed(
                "credentialSubject.encodedList",
                "is missing or not a string",
            )
        })?;
    let bits = Bitstring::decode(encoded, "credentialSubject.encodedList")?;
    if bits.len() < MIN_ENTRIES {
        return Err(StatusError::Length {
            url: url.to_string(),
            entries: bits.len(),
            min: MIN_ENTRIES,
        });
    }
    Ok(OpenedList {
        issuer,
        bits,
        valid_until,
    })
}

/// The status of one entry in an opened list: `true` when its bit is 1 (revoked).
pub fn check(entry: &StatusEntry, list: &OpenedList) -> std::result::Result<bool, StatusError> {
    list.bits.get(entry.index).ok_or(StatusError::Range {
        url: entry.list.clone(),
        index: entry.index,
        entries: list.bits.len(),
    })
}

/// The status of a certificate with a revocation entry, as a verifier checks it.
#[derive(Debug, Clone)]
pub struct Checked {
    pub entry: StatusEntry,
    pub revoked: bool,
    /// The `did:key` that signed the list.
    pub signer: String,
    pub list_valid_until: Option<Timestamp>,
}

/// Check a certificate's revocation entry (section 3.2): the list credential from
/// `source` (a file, or a URL given to `fetch`; default: the entry's own URL, fetched),
/// verified (with `trusted`, signed by that key) at `now`, and the certificate's bit in it.
/// `Ok(None)` for a certificate without `credentialStatus`. `fetch` is the caller's HTTP
/// client (the registry crate has one), so this check itself needs no network code.
pub fn check_certificate_with(
    cert: &Value,
    source: Option<&str>,
    trusted: Option<&VerifyingKey>,
    now: Timestamp,
    fetch: impl FnOnce(&str) -> std::result::Result<String, StatusError>,
) -> std::result::Result<Option<Checked>, StatusError> {
    let Some(entry) = StatusEntry::of(cert)? else {
        return Ok(None);
    };
    let text = match source {
        Some(s) if !is_url(s) => {
            std::fs::read_to_string(s).map_err(|e| StatusError::Retrieval {
                url: s.to_string(),
                reason: e.to_string(),
            })?
        }
        Some(url) => fetch(url)?,
        None => fetch(&entry.list)?,
    };
    let doc = crate::jcs::parse_strict(&text).map_err(|e| StatusError::Retrieval {
        url: source.unwrap_or(&entry.list).to_string(),
        reason: format!("not JSON ({}:{}): {e}", e.line(), e.column()),
    })?;
    let opened = open_list_credential(&doc, &entry.list, trusted, now)?;
    let revoked = check(&entry, &opened)?;
    Ok(Some(Checked {
        revoked,
        signer: opened.issuer.clone(),
        list_valid_until: opened.valid_until,
        entry,
    }))
}

/// Whether a list source is a URL (`http://` or `https://`) rather than a file.
pub fn is_url(source: &str) -> bool {
    source.starts_with("https://") || source.starts_with("http://")
}

/// A uniformly random index below `bound` from the operating system's random source
/// (section 2.1: implementations SHOULD assign indexes randomly).
pub fn random_index(bound: u64) -> Result<u64> {
    if bound == 0 {
        return Err(BatchError::invalid("no index below 0"));
    }
    // Rejection sampling: draws at or past the largest multiple of `bound` are redrawn, so
    // every index is equally likely.
    let zone = u64::MAX - u64::MAX % bound;
    loop {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).map_err(|e| BatchError::Randomness {
            reason: e.to_string(),
        })?;
        let x = u64::from_le_bytes(b);
        if x < zone {
            return Ok(x % bound);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_zero_is_the_leftmost_bit_of_the_first_byte() {
        let mut b = Bitstring::new(16);
        assert!(b.set(0));
        assert_eq!(b.as_bytes(), &[0x80, 0]);
        assert!(b.set(7));
        assert!(b.set(9));
        assert_eq!(b.as_bytes(), &[0x81, 0x40]);
        assert_eq!(b.ones(), vec![0, 7, 9]);
        assert_eq!(b.get(9), Some(true));
        assert_eq!(b.get(8), Some(false));
        assert_eq!(b.get(16), None);
        assert!(!b.set(16));
    }

    #[test]
    fn encode_decode_round_trip_and_the_spec_example_decodes() {
        let mut b = Bitstring::new(MIN_ENTRIES);
        for i in [0, 1, 4096, 94_567, MIN_ENTRIES - 1] {
            b.set(i);
        }
        let text = b.encode();
        assert!(text.starts_with("uH4sI"), "{text}");
        assert!(!text.contains('='));
        assert_eq!(Bitstring::decode(&text, "f").unwrap(), b);
        // Example 3 of section 2.2: an all-zero list of 131,072 entries.
        let ex = Bitstring::decode(
            "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA",
            "example",
        )
        .unwrap();
        assert_eq!(ex.len(), MIN_ENTRIES);
        assert!(ex.ones().is_empty());
    }

    #[test]
    fn bad_encodings_are_refused_with_the_field() {
        let good = Bitstring::new(64).encode();
        for (bad, says) in [
            (format!("z{}", &good[1..]), "multibase"),
            (format!("{good}=="), "base64url"),
            (format!("u{}", "AAAA"), "GZIP"),
            (
                {
                    let mut gz = base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(&good[1..])
                        .unwrap();
                    gz.extend_from_slice(b"xyz");
                    format!(
                        "u{}",
                        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(gz)
                    )
                },
                "after its GZIP",
            ),
        ] {
            let e = Bitstring::decode(&bad, "encodedList")
                .unwrap_err()
                .to_string();
            assert!(e.contains("encodedList") && e.contains(says), "{bad}: {e}");
        }
        // A bomb: 17 MiB of zeros gzip to a few kB and are refused after 16 MiB.
        let bomb = Bitstring::new((MAX_LIST_BYTES as u64 + 1024 * 1024) * 8).encode();
        assert!(bomb.len() < 100_000);
        let e = Bitstring::decode(&bomb, "encodedList")
            .unwrap_err()
            .to_string();
        assert!(e.contains("expands past"), "{e}");
    }

    fn cert_with(status: Value) -> Value {
        json!({"id": "urn:uuid:1", "credentialStatus": status})
    }

    #[test]
    fn entries_are_read_strictly() {
        let e = StatusEntry::new("https://r.example/api/v1/status/1", 42).unwrap();
        let v = cert_with(e.to_json());
        assert_eq!(StatusEntry::of(&v).unwrap(), Some(e.clone()));
        assert_eq!(v["credentialStatus"]["statusListIndex"], "42");
        assert_eq!(StatusEntry::of(&json!({"id": "x"})).unwrap(), None);
        // In an array beside a suspension entry.
        let mut sus = e.to_json();
        sus["statusPurpose"] = json!("suspension");
        let v = cert_with(json!([sus, e.to_json()]));
        assert_eq!(StatusEntry::of(&v).unwrap(), Some(e.clone()));
        for (change, says) in [
            (json!({"statusListIndex": 42}), "must be a string"),
            (json!({"statusListIndex": "-1"}), "base 10"),
            (json!({"statusListIndex": "4 2"}), "base 10"),
            (
                json!({"statusListIndex": "1234567890123456789"}),
                "18 digits",
            ),
            (json!({"statusListCredential": "ftp://x/1"}), "https://"),
            (json!({"statusSize": 2}), "1-bit"),
            (
                json!({"type": "StatusList2021Entry"}),
                "no BitstringStatusListEntry",
            ),
            (
                json!({"statusPurpose": "suspension"}),
                "no BitstringStatusListEntry",
            ),
            (
                json!({"id": "https://r.example/api/v1/status/1"}),
                "must not be",
            ),
        ] {
            let mut s = e.to_json();
            for (k, v) in change.as_object().unwrap() {
                s[k] = v.clone();
            }
            let err = StatusEntry::of(&cert_with(s)).unwrap_err().to_string();
            assert!(
                err.contains(says) && err.contains("credentialStatus"),
                "{change}: {err}"
            );
        }
        let err = StatusEntry::of(&cert_with(json!([e.to_json(), e.to_json()])))
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than one"), "{err}");
    }

    #[test]
    fn a_signed_list_opens_and_every_change_is_caught() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let url = "https://r.example/api/v1/status/1";
        let at = Timestamp::parse("2026-03-01T00:00:00Z").unwrap();
        let mut bits = Bitstring::new(MIN_ENTRIES);
        bits.set(77);
        let doc = list_credential(url, &key, &bits, at).unwrap();
        let now = Timestamp(at.0 + 3600);
        let opened = open_list_credential(&doc, url, Some(&key.verifying_key()), now).unwrap();
        assert_eq!(opened.bits, bits);
        let entry = StatusEntry::new(url, 77).unwrap();
        assert!(check(&entry, &opened).unwrap());
        assert!(!check(&StatusEntry::new(url, 78).unwrap(), &opened).unwrap());
        let e = check(&StatusEntry::new(url, MIN_ENTRIES).unwrap(), &opened).unwrap_err();
        assert!(matches!(e, StatusError::Range { .. }), "{e}");
        // A cleared bit (the list altered), another URL, another key, too late, too short.
        let mut cleared = doc.clone();
        cleared["credentialSubject"]["encodedList"] = json!(Bitstring::new(MIN_ENTRIES).encode());
        let e = open_list_credential(&cleared, url, None, now)
            .unwrap_err()
            .to_string();
        assert!(e.contains("signature does not verify"), "{e}");
        let e = open_list_credential(&doc, "https://r.example/api/v1/status/2", None, now)
            .unwrap_err()
            .to_string();
        assert!(e.contains("another list"), "{e}");
        let other = SigningKey::from_bytes(&[8; 32]);
        let e = open_list_credential(&doc, url, Some(&other.verifying_key()), now)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not by the registry key"), "{e}");
        let late = Timestamp(at.0 + LIST_VALIDITY_S + 1);
        let e = open_list_credential(&doc, url, None, late)
            .unwrap_err()
            .to_string();
        assert!(e.contains("expired"), "{e}");
        let short = list_credential(url, &key, &Bitstring::new(MIN_ENTRIES - 8), at).unwrap();
        let e = open_list_credential(&short, url, None, now).unwrap_err();
        assert!(matches!(e, StatusError::Length { .. }), "{e}");
    }

    #[test]
    fn a_certificate_is_checked_against_a_list_file_or_what_fetch_returns() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let url = "https://r.example/api/v1/status/1";
        let at = Timestamp::parse("2026-03-01T00:00:00Z").unwrap();
        let now = Timestamp(at.0 + 3600);
        let mut bits = Bitstring::new(MIN_ENTRIES);
        bits.set(77);
        let list = list_credential(url, &key, &bits, at).unwrap().to_string();
        let path = std::env::temp_dir().join(format!("exoskin-list-{}.json", std::process::id()));
        std::fs::write(&path, &list).unwrap();
        let file = path.to_str().unwrap();
        let revoked = cert_with(StatusEntry::new(url, 77).unwrap().to_json());
        let fine = cert_with(StatusEntry::new(url, 78).unwrap().to_json());
        let no_fetch = |u: &str| -> std::result::Result<String, StatusError> {
            panic!("a file source must not be fetched ({u})")
        };
        let trusted = key.verifying_key();
        let c = check_certificate_with(&revoked, Some(file), Some(&trusted), now, no_fetch)
            .unwrap()
            .unwrap();
        assert!(c.revoked);
        assert_eq!(c.signer, keys::did_key(&trusted));
        let c = check_certificate_with(&fine, Some(file), None, now, no_fetch)
            .unwrap()
            .unwrap();
        assert!(!c.revoked && c.entry.index == 78);
        // No source: the entry's own URL goes to `fetch`; what it returns is checked.
        let mut asked = String::new();
        let c = check_certificate_with(&revoked, None, None, now, |u| {
            asked = u.to_string();
            Ok(list.clone())
        })
        .unwrap()
        .unwrap();
        assert!(c.revoked);
        assert_eq!(asked, url);
        // A fetch that fails, a missing file, and a certificate without an entry.
        let e = check_certificate_with(&fine, Some("https://x.example/l"), None, now, |u| {
            Err(StatusError::Retrieval {
                url: u.to_string(),
                reason: "offline".into(),
            })
        })
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("x.example/l could not be retrieved: offline"),
            "{e}"
        );
        let e = check_certificate_with(&fine, Some("/no/such/list.json"), None, now, no_fetch)
            .unwrap_err();
        assert!(matches!(e, StatusError::Retrieval { .. }), "{e}");
        let none = check_certificate_with(&json!({"id": "x"}), None, None, now, no_fetch).unwrap();
        assert!(none.is_none());
        assert!(is_url("http://a") && is_url("https://a") && !is_url("list.json"));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn random_indices_cover_the_range() {
        let mut seen = [false; 8];
        for _ in 0..400 {
            let i = random_index(8).unwrap();
            seen[i as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert!(random_index(0).is_err());
    }
}
