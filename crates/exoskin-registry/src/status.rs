//! The registry's Bitstring Status Lists (W3C Bitstring Status List v1.0, W3C
//! Recommendation, 15 May 2025; the format is [`exoskin_batch::status`]).
//!
//! - `POST /api/v1/status/allocate` (issuer token): hands the issuer a status list index,
//!   drawn at random among the free ones of the current list (section 2.1: indexes SHOULD be
//!   assigned randomly), recorded so it is never handed out again. The issuer signs it into
//!   the certificate (`exoskin batch issue --status-list URL --status-index N`); the index is
//!   allocated before signing because a signed certificate cannot change at publication.
//! - Publishing a certificate with a `credentialStatus` checks that it names one of this
//!   registry's lists and an index allocated to the certificate's issuer that no other
//!   certificate holds, and records which certificate holds it.
//! - `GET /api/v1/status/<n>`: the `BitstringStatusListCredential` of list n (131,072
//!   entries), signed by the registry's key (`--registry-key`) with the certificates'
//!   `eddsa-jcs-2022` proof. Its bits are derived from the revocations on every change: a
//!   revoked certificate's own `credentialStatus` (in its signed, audited body) sets its
//!   bit, so the list has no state of its own.
use crate::error::{RegistryError, Result};
use crate::store::Store;
use ed25519_dalek::{SigningKey, VerifyingKey};
use exoskin_batch::date::Timestamp;
use exoskin_batch::status::{self as bsl, Bitstring, StatusEntry, StatusError};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Where lists are served: `<base>/api/v1/status/<n>`, n from 1.
pub const LIST_PATH: &str = "/api/v1/status/";
/// Where an issuer asks for an index.
pub const ALLOCATE_PATH: &str = "/api/v1/status/allocate";

/// An answer other than 200: its HTTP status and message.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
}

fn refuse(status: u16, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        message: message.into(),
    }
}

fn internal(e: RegistryError) -> Refusal {
    refuse(500, e.to_string())
}

/// The list number of a list URL or path ending in `/api/v1/status/<n>`.
pub fn list_number(url: &str) -> Option<i64> {
    let at = url.rfind(LIST_PATH)?;
    let n = &url[at + LIST_PATH.len()..];
    if n.is_empty() || n.len() > 9 || !n.bytes().all(|c| c.is_ascii_digit()) || n.starts_with('0') {
        return None;
    }
    n.parse().ok()
}

/// A signed list and what it was made from.
struct Cached {
    /// The audit log's head when it was made: any revocation appends an entry.
    head: i64,
    signed_at: Timestamp,
    doc: Value,
    bits: Bitstring,
}

/// The registry's status lists: their base URL, the key that signs them, the signed lists.
pub struct StatusLists {
    base: String,
    key: Option<SigningKey>,
    cache: Mutex<HashMap<i64, Cached>>,
}

/// Check `--public-url`: `http(s)://host[:port][/path]`, no query, fragment or trailing
/// slash.
pub fn check_public_url(url: &str) -> Result<String> {
    bsl::check_list_url(url, "--public-url").map_err(|e| RegistryError::invalid(e.to_string()))?;
    if url.contains('?') {
        return Err(RegistryError::invalid(format!(
            "--public-url {url}: give the registry's base URL, such as https://registry.example.com, without a query"
        )));
    }
    Ok(url.trim_end_matches('/').to_string())
}

impl StatusLists {
    /// Lists under `base` (the registry's public base URL), signed by `key` (none: no lists).
    pub fn new(base: &str, key: Option<SigningKey>) -> StatusLists {
        StatusLists {
            base: base.trim_end_matches('/').to_string(),
            key,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn list_url(&self, n: i64) -> String {
        format!("{}{LIST_PATH}{n}", self.base)
    }

    fn key(&self) -> std::result::Result<&SigningKey, Refusal> {
        self.key.as_ref().ok_or_else(|| {
            refuse(
                404,
                "status lists are off: start the registry with --registry-key (the key that signs them)",
            )
        })
    }

    /// `POST /api/v1/status/allocate` for the issuer `did`.
    pub fn allocate(&self, store: &dyn Store, did: &str) -> std::result::Result<Value, Refusal> {
        self.key()?;
        let (list, idx) = store
            .allocate_status(did, bsl::MIN_ENTRIES as i64)
            .map_err(internal)?;
        let url = self.list_url(list);
        Ok(json!({
            "statusListCredential": url,
            "statusListIndex": idx.to_string(),
            "statusPurpose": bsl::PURPOSE_REVOCATION,
            "issue": format!("exoskin batch issue RECORD --key KEY --out DIR --status-list {url} --status-index {idx}"),
        }))
    }

    /// At publication: the `(list, index)` a certificate of issuer `did` holds, after
    /// checking that it is this registry's, allocated to `did`; `None` without
    /// `credentialStatus`.
    pub fn check_publish(
        &self,
        store: &dyn Store,
        cert: &Value,
        did: &str,
    ) -> std::result::Result<Option<(i64, i64)>, Refusal> {
        let entry = match StatusEntry::of(cert) {
            Ok(Some(e)) => e,
            Ok(None) => return Ok(None),
            Err(e) => return Err(refuse(422, e.to_string())),
        };
        if self.key.is_none() {
            return Err(refuse(
                422,
                format!(
                    "credentialStatus names status list {}, but this registry serves no status lists (it runs without --registry-key)",
                    entry.list
                ),
            ));
        }
        let list = list_number(&entry.list)
            .filter(|n| entry.list == self.list_url(*n))
            .ok_or_else(|| {
                refuse(
                    422,
                    format!(
                        "credentialStatus.statusListCredential {} is not one of this registry's lists ({}): ask this registry for an index (POST {ALLOCATE_PATH}, exoskin batch allocate-status) and issue again",
                        entry.list,
                        self.list_url(1).replace("/1", "/<n>")
                    ),
                )
            })?;
        let idx = i64::try_from(entry.index)
            .ok()
            .filter(|i| (*i as u64) < bsl::MIN_ENTRIES)
            .ok_or_else(|| {
                refuse(
                    422,
                    format!(
                        "credentialStatus.statusListIndex {} is past the end of list {list} ({} entries)",
                        entry.index,
                        bsl::MIN_ENTRIES
                    ),
                )
            })?;
        match store.status_allocation(list, idx).map_err(internal)? {
            None => Err(refuse(
                422,
                format!(
                    "status list {list} index {idx} was never allocated: ask this registry for an index (exoskin batch allocate-status) and issue again"
                ),
            )),
            Some(owner) if owner != did => Err(refuse(
                403,
                format!("status list {list} index {idx} was allocated to another issuer"),
            )),
            Some(_) => Ok(Some((list, idx))),
        }
    }

    /// The signed list `n` as it stands (re-signed when a revocation changed the log, or
    /// half its validity has passed), with its bits.
    fn current(
        &self,
        store: &dyn Store,
        n: i64,
    ) -> std::result::Result<(Value, Bitstring), Refusal> {
        let key = self.key()?;
        let head = store.head().map_err(internal)?.map(|h| h.0).unwrap_or(0);
        let now = Timestamp::now();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.get(&n) {
            if c.head == head && now.0 < c.signed_at.0 + bsl::LIST_VALIDITY_S / 2 {
                return Ok((c.doc.clone(), c.bits.clone()));
            }
        }
        let bits = self.derive(store, n)?;
        let doc = bsl::list_credential(&self.list_url(n), key, &bits, now)
            .map_err(|e| refuse(500, e.to_string()))?;
        cache.insert(
            n,
            Cached {
                head,
                signed_at: now,
                doc: doc.clone(),
                bits: bits.clone(),
            },
        );
        Ok((doc, bits))
    }

    /// The bits of list `n`: 1 at the index of every revoked certificate whose
    /// `credentialStatus` names list n.
    fn derive(&self, store: &dyn Store, n: i64) -> std::result::Result<Bitstring, Refusal> {
        let mut bits = Bitstring::new(bsl::MIN_ENTRIES);
        for body in store.revoked_bodies().map_err(internal)? {
            let Ok(cert) = exoskin_batch::cert::parse_certificate(&body) else {
                continue;
            };
            // Stored certificates passed this check at publication; one that does not
            // (published before status lists) has no entry.
            if let Ok(Some(e)) = StatusEntry::of(&cert) {
                if list_number(&e.list) == Some(n) {
                    bits.set(e.index);
                }
            }
        }
        Ok(bits)
    }

    /// `GET /api/v1/status/<n>`: the list credential.
    pub fn list(&self, store: &dyn Store, path: &str) -> std::result::Result<Value, Refusal> {
        let n = list_number(path).ok_or_else(|| {
            refuse(
                404,
                format!("no status list at {path}: lists are {LIST_PATH}<n>, n = 1, 2, ..."),
            )
        })?;
        self.current(store, n).map(|(doc, _)| doc)
    }

    /// What the resolver says of a stored certificate's status list entry: `None` without
    /// one, or when it is not this registry's or lists are off.
    pub fn describe(&self, store: &dyn Store, cert: &Value) -> Option<Value> {
        let e = StatusEntry::of(cert).ok()??;
        let n = list_number(&e.list).filter(|n| e.list == self.list_url(*n))?;
        let (_, bits) = self.current(store, n).ok()?;
        let set = bits.get(e.index)?;
        Some(json!({
            "statusListCredential": e.list,
            "statusListIndex": e.index.to_string(),
            "bit": u8::from(set),
            "status": if set { format!("revoked (status list bit {})", e.index) } else { "not revoked".into() },
        }))
    }
}

/// GET a status list credential (STATUS_RETRIEVAL_ERROR when that fails): `ca_cert` (PEM)
/// replaces the built-in roots for a registry with a private CA.
pub fn fetch(
    url: &str,
    ca_cert: Option<&std::path::Path>,
) -> std::result::Result<String, StatusError> {
    let fail = |reason: String| StatusError::Retrieval {
        url: url.to_string(),
        reason,
    };
    let mut tls = ureq::tls::TlsConfig::builder();
    if let Some(p) = ca_cert {
        let pem = std::fs::read(p).map_err(|e| fail(format!("--ca-cert {}: {e}", p.display())))?;
        let certs: Vec<_> = ureq::tls::parse_pem(&pem)
            .filter_map(|i| match i {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            return Err(fail(format!(
                "--ca-cert {}: no CERTIFICATE block",
                p.display()
            )));
        }
        tls = tls.root_certs(ureq::tls::RootCerts::from(certs));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .tls_config(tls.build())
        .build()
        .into();
    let mut resp = agent
        .get(url)
        .header("Accept", "application/vc+ld+json, application/json")
        .call()
        .map_err(|e| fail(e.to_string()))?;
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .with_config()
        .limit(bsl::MAX_ENCODED_LEN as u64 + 64 * 1024)
        .read_to_string()
        .map_err(|e| fail(e.to_string()))?;
    if status != 200 {
        let shown: String = text.chars().take(300).collect();
        return Err(fail(format!("HTTP {status}: {}", shown.trim())));
    }
    Ok(text)
}

// What a verifier's status check finds; the check itself (with this crate's HTTP fetch)
// lives in exoskin-batch, so a build without the registry checks a list read from a file.
pub use exoskin_batch::status::Checked;

/// Check a certificate's revocation entry (section 3.2): the list credential from
/// `source` (a file, or a URL to fetch; default: the entry's own URL), verified (with
/// `trusted`, signed by that key) at `now`, and the certificate's bit in it. `Ok(None)` for
/// a certificate without `credentialStatus`.
pub fn check_certificate(
    cert: &Value,
    source: Option<&str>,
    trusted: Option<&VerifyingKey>,
    ca_cert: Option<&std::path::Path>,
    now: Timestamp,
) -> std::result::Result<Option<Checked>, StatusError> {
    bsl::check_certificate_with(cert, source, trusted, now, |url| fetch(url, ca_cert))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_numbers_are_read_from_the_end_of_the_url() {
        assert_eq!(list_number("https://r.example/api/v1/status/1"), Some(1));
        assert_eq!(list_number("/api/v1/status/42"), Some(42));
        for bad in [
            "/api/v1/status/",
            "/api/v1/status/0",
            "/api/v1/status/01",
            "/api/v1/status/1/x",
            "/api/v1/status/allocate",
            "/api/v1/status/1234567890",
        ] {
            assert_eq!(list_number(bad), None, "{bad}");
        }
    }
}
