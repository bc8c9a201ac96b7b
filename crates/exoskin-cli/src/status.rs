//! The CLI side of Bitstring Status Lists: `batch issue --status-list URL --status-index N`,
//! the status check of `batch verify`, `batch allocate-status` and `batch status-list`.
//! The format and the checks are `exoskin_batch::status`; fetching and the registry's side
//! are `exoskin_registry::status`. A build without the `registry` feature checks lists read
//! from files only, and says so for a list it would have to fetch.
use exoskin_batch::date::Timestamp;
use exoskin_batch::keys;
use exoskin_batch::status::{self as bsl, Bitstring, Checked, StatusEntry, StatusError};
#[cfg(feature = "registry")]
use exoskin_registry::{client, server, status as reg_status};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The entry of `batch issue --status-list URL --status-index N` (clap makes them come
/// together).
pub fn entry_from_flags(
    list: Option<&str>,
    index: Option<u64>,
) -> anyhow::Result<Option<StatusEntry>> {
    match (list, index) {
        (Some(url), Some(i)) => {
            let e = StatusEntry::new(url, i)
                .map_err(|e| crate::bad_input(format!("--status-list: {e}")))?;
            if i >= bsl::MIN_ENTRIES {
                return Err(crate::bad_input(format!(
                    "--status-index {i}: the registry's lists have {} entries (0 to {}); use the index `exoskin batch allocate-status` gave",
                    bsl::MIN_ENTRIES,
                    bsl::MIN_ENTRIES - 1
                )));
            }
            Ok(Some(e))
        }
        (None, None) => Ok(None),
        _ => Err(crate::bad_input(
            "give --status-list URL and --status-index N together (from `exoskin batch allocate-status`)",
        )),
    }
}

/// `--registry-pubkey`: the key the list must be signed by.
macro_rules! registry_key {
    ($p:expr) => {
        match $p {
            Some(p) => Some(keys::read_public_key(p).map_err(|e| crate::bad_input(e.to_string()))?),
            None => None,
        }
    };
}

/// The status list part of `batch verify`, on the verification document `doc` (already
/// checked for signature, dates and the revocation list): for a certificate with a
/// `credentialStatus`, fetch or read its list, check it and its bit; a set bit, or a list
/// that cannot be fetched or does not verify, makes the certificate not valid. Adds
/// `status_list` to `doc`.
pub fn verify(
    cert_text: &str,
    source: Option<&str>,
    registry_pubkey: Option<&Path>,
    ca_cert: Option<&Path>,
    json_out: bool,
    doc: &mut Value,
) -> anyhow::Result<()> {
    let trusted = registry_key!(registry_pubkey);
    if doc["valid"] != true {
        return Ok(());
    }
    let Ok(cert) = exoskin_batch::cert::parse_certificate(cert_text) else {
        return Ok(());
    };
    match check_status(&cert, source, trusted.as_ref(), ca_cert)? {
        Ok(None) => {
            if source.is_some() || registry_pubkey.is_some() {
                eprintln!("note: the certificate has no credentialStatus, so --status-list and --registry-pubkey are not used; it is checked against --revocations as before");
            }
        }
        Ok(Some(c)) => {
            doc["status_list"] = json!({
                "url": c.entry.list,
                "index": c.entry.index,
                "bit": u8::from(c.revoked),
                "signed_by": c.signer,
                "list_valid_until": c.list_valid_until.map(|t| t.to_string()),
            });
            if c.revoked {
                doc["valid"] = json!(false);
                doc["error"] = json!(exoskin_batch::cert::VerifyError::RevokedInList {
                    index: c.entry.index,
                    list: c.entry.list.clone(),
                }
                .to_string());
            }
            if !json_out {
                println!(
                    "status list: {} bit {} = {} ({}); list signed by {}{}",
                    c.entry.list,
                    c.entry.index,
                    u8::from(c.revoked),
                    if c.revoked { "revoked" } else { "not revoked" },
                    c.signer,
                    if trusted.is_some() {
                        " (the --registry-pubkey)"
                    } else {
                        "; pin the registry's key with --registry-pubkey"
                    }
                );
            }
        }
        Err(e) => {
            doc["valid"] = json!(false);
            doc["error"] = json!(format!("status could not be established: {e}"));
        }
    }
    Ok(())
}

/// The status check of `batch verify`: the list read from a file, or fetched with the
/// registry's HTTP client.
#[cfg(feature = "registry")]
fn check_status(
    cert: &Value,
    source: Option<&str>,
    trusted: Option<&ed25519_dalek::VerifyingKey>,
    ca_cert: Option<&Path>,
) -> anyhow::Result<Result<Option<Checked>, StatusError>> {
    Ok(reg_status::check_certificate(
        cert,
        source,
        trusted,
        ca_cert,
        Timestamp::now(),
    ))
}

/// The status check of `batch verify` in a build without the registry's HTTP client: a list
/// read from a file is checked as in any build; one that would be fetched (a URL, or no
/// `--status-list`) is refused with exit 2.
#[cfg(not(feature = "registry"))]
fn check_status(
    cert: &Value,
    source: Option<&str>,
    trusted: Option<&ed25519_dalek::VerifyingKey>,
    _ca_cert: Option<&Path>,
) -> anyhow::Result<Result<Option<Checked>, StatusError>> {
    if let Ok(Some(entry)) = StatusEntry::of(cert) {
        let url = source.filter(|s| bsl::is_url(s)).or(match source {
            None => Some(entry.list.as_str()),
            Some(_) => None,
        });
        if let Some(url) = url {
            return Err(crate::no_registry(
                &format!("batch verify: the certificate's status list {url} is fetched over HTTP"),
                "give the list credential as a file with --status-list FILE",
            ));
        }
    }
    Ok(bsl::check_certificate_with(
        cert,
        source,
        trusted,
        Timestamp::now(),
        |url| {
            Err(StatusError::Retrieval {
                url: url.to_string(),
                reason: "this build has no registry support; rebuild with --features registry"
                    .to_string(),
            })
        },
    ))
}

/// `exoskin batch allocate-status`: ask a registry for a status list index.
#[cfg(feature = "registry")]
pub fn allocate(registry: &str, token_file: &Path, ca_cert: Option<&Path>) -> anyhow::Result<u8> {
    let reg = |e: exoskin_registry::RegistryError| {
        if e.is_bad_input() {
            crate::bad_input(e.to_string())
        } else {
            anyhow::Error::new(e)
        }
    };
    client::check_registry_url(registry).map_err(reg)?;
    let token = server::read_token(token_file).map_err(reg)?;
    let resp = client::post_json(registry, reg_status::ALLOCATE_PATH, &token, b"{}", ca_cert)
        .map_err(reg)?;
    print!("{}", resp.text);
    if (200..300).contains(&resp.status) {
        if let Ok(v) = serde_json::from_str::<Value>(&resp.text) {
            eprintln!(
                "issue with: --status-list {} --status-index {}",
                v["statusListCredential"].as_str().unwrap_or(""),
                v["statusListIndex"].as_str().unwrap_or("")
            );
        }
        Ok(0)
    } else {
        eprintln!("error: registry answered HTTP {}", resp.status);
        Ok(if (400..500).contains(&resp.status) {
            2
        } else {
            1
        })
    }
}

/// `exoskin batch status-list`: decode a status list and print its length and set bits (JSON).
/// A list credential (a file or a URL) is verified first (signature, type, purpose, dates,
/// length; `--registry-pubkey` pins the signer); `--encoded` decodes a bare `encodedList`.
pub fn show(
    source: Option<&str>,
    encoded: Option<&str>,
    registry_pubkey: Option<&Path>,
    ca_cert: Option<&PathBuf>,
) -> anyhow::Result<u8> {
    let out = match (source, encoded) {
        (None, Some(enc)) => {
            let bits =
                Bitstring::decode(enc, "--encoded").map_err(|e| crate::bad_input(e.to_string()))?;
            json!({"entries": bits.len(), "ones": bits.ones()})
        }
        (Some(src), None) => {
            let trusted = registry_key!(registry_pubkey);
            let is_url = bsl::is_url(src);
            let text = if is_url {
                #[cfg(not(feature = "registry"))]
                {
                    let _ = ca_cert;
                    return Err(crate::no_registry(
                        &format!("batch status-list {src}: the list is fetched over HTTP"),
                        "give the list credential as a file",
                    ));
                }
                #[cfg(feature = "registry")]
                match reg_status::fetch(src, ca_cert.map(|p| p.as_path())) {
                    Ok(t) => t,
                    Err(e) => {
                        eprintln!("error: {e}");
                        return Ok(1);
                    }
                }
            } else {
                std::fs::read_to_string(src).map_err(|e| crate::bad_input(format!("{src}: {e}")))?
            };
            let doc = exoskin_batch::jcs::parse_strict(&text).map_err(|e| {
                crate::bad_input(format!("{src}:{}:{}: not JSON: {e}", e.line(), e.column()))
            })?;
            // The list's own id names it; fetched from a URL, that URL must be its id.
            let url = if is_url {
                src.to_string()
            } else {
                doc.get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        crate::bad_input(format!(
                            "{src}: the list credential has no `id` (its URL); give the URL instead"
                        ))
                    })?
                    .to_string()
            };
            match bsl::open_list_credential(&doc, &url, trusted.as_ref(), Timestamp::now()) {
                Ok(o) => json!({
                    "url": url,
                    "entries": o.bits.len(),
                    "ones": o.bits.ones(),
                    "signedBy": o.issuer,
                    "validUntil": o.valid_until.map(|t| t.to_string()),
                }),
                Err(e) => {
                    println!("BAD: {e}");
                    eprintln!("error: {src}: {e}");
                    return Ok(1);
                }
            }
        }
        _ => {
            return Err(crate::bad_input(
                "batch status-list: give a list credential (FILE or URL) or --encoded TEXT",
            ))
        }
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(0)
}
