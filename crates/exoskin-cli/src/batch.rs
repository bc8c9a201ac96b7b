//! `exoskin batch`: batch certificates (keygen, assess, issue, verify, export, uri, import,
//! status lists); the subcommands that talk to a registry are in [`crate::registry`].
//!
//! A thin layer over `exoskin_batch`: parse flags, read files, call the library, print.
use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};
use exoskin_batch::cert::{self, IssueOptions};
use exoskin_batch::date::Timestamp;
use exoskin_batch::profile::{Assessment, Profile};
use exoskin_batch::record::QcRecord;
use exoskin_batch::{gs1, keys, qr, BatchError};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum BatchCommand {
    /// Generate an Ed25519 key pair: the private key to PATH (mode 0600), the public to PATH.pub.
    Keygen {
        /// Where to write the private key (PKCS#8 PEM); never overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// Assess a QC record against an acceptance profile and print every check.
    Assess {
        /// QC record (TOML or JSON).
        record: PathBuf,
        /// Acceptance profile (TOML); default: the bundled data/batch/profiles/default.toml.
        #[arg(long)]
        profile: Option<PathBuf>,
    },
    /// Issue a signed certificate for a batch: writes certificate.json, qr.png and qr.svg.
    Issue(IssueArgs),
    /// Verify a certificate: signature, issuer, dates, revocation. Exit 0 valid, 1 not valid.
    Verify(VerifyArgs),
    /// Ask a registry for a status list index (POST /api/v1/status/allocate): prints the
    /// list URL and index to issue with (`batch issue --status-list URL --status-index N`).
    #[cfg(feature = "registry")]
    AllocateStatus {
        /// Registry base URL, e.g. http://127.0.0.1:8080
        #[arg(long)]
        registry: String,
        /// File holding the issuer's bearer token.
        #[arg(long)]
        token_file: PathBuf,
        /// PEM certificate(s) of the CA to trust for an https:// registry with a private CA.
        #[arg(long)]
        ca_cert: Option<PathBuf>,
    },
    /// Decode a Bitstring Status List: its length and the indices whose bit is 1 (JSON). A
    /// list credential (FILE or URL) is verified first; --encoded decodes a bare encodedList.
    StatusList {
        /// The list credential: a file, or a URL (GET /api/v1/status/<n>).
        source: Option<String>,
        /// A bare encodedList (multibase base64url of the GZIP bitstring) instead.
        #[arg(long, conflicts_with = "source")]
        encoded: Option<String>,
        /// The registry's public key (PEM) the list must be signed by.
        #[arg(long)]
        registry_pubkey: Option<PathBuf>,
        #[arg(long)]
        ca_cert: Option<PathBuf>,
    },
    /// Export a certificate for other systems: `--untp` writes it as a UN Transparency
    /// Protocol Digital Conformity Credential (derived and unsigned; it links to the signed
    /// certificate by its resolver link and SHA-256).
    Export {
        /// certificate.json (from `batch issue`).
        cert: PathBuf,
        /// Write a UNTP Digital Conformity Credential (JSON-LD), the one format so far.
        #[arg(long)]
        untp: bool,
        /// Write to this file (atomically) instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The acceptance profile the certificate was assessed against, for numeric limits
        /// in the criteria; default: the bundled default profile.
        #[arg(long)]
        profile: Option<PathBuf>,
    },
    /// Print the GS1 Digital Link URI of a GTIN, lot and expiry date (or, with --parse, what
    /// a Digital Link URI identifies, as JSON).
    Uri(UriArgs),
    /// Publish a certificate to a registry (POST /api/v1/certificates).
    #[cfg(feature = "registry")]
    Publish(crate::registry::PublishArgs),
    /// Read instrument files (NanoSight NTA 3.x Experiment Summary CSV, ZetaView text, FCS
    /// 3.1) into the measured characterization with its expanded uncertainty: print it as
    /// TOML (--json: everything), or merge it into a QC record (--into).
    Import(crate::batch_import::ImportArgs),
    /// Revoke a published certificate (POST /api/v1/revocations).
    #[cfg(feature = "registry")]
    Revoke(crate::registry::RevokeArgs),
}

/// `exoskin batch issue`.
#[derive(ClapArgs)]
pub struct IssueArgs {
    /// QC record (TOML or JSON).
    record: PathBuf,
    /// Issuer's private key (from `exoskin batch keygen`).
    #[arg(long)]
    key: PathBuf,
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Resolver host (https implied) or base URL that the QR code points to.
    #[arg(long, default_value = "id.gs1.org")]
    resolver: String,
    /// Acceptance profile (TOML); default: the bundled default profile.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Issue even if the batch fails the profile (the certificate says it failed).
    #[arg(long)]
    allow_failing: bool,
    /// Issuance time (validFrom), RFC 3339 UTC or YYYY-MM-DD; default: now.
    #[arg(long)]
    issued_at: Option<String>,
    /// The registry's status list the certificate's revocation is published in (W3C
    /// Bitstring Status List), from `batch allocate-status`; with --status-index.
    #[arg(long, requires = "status_index")]
    status_list: Option<String>,
    /// The certificate's index in --status-list, allocated by the registry.
    #[arg(long, requires = "status_list")]
    status_index: Option<u64>,
}

/// `exoskin batch verify`.
#[derive(ClapArgs)]
pub struct VerifyArgs {
    /// certificate.json
    cert: PathBuf,
    /// The issuer's public key you trust (PEM from keygen, or a file holding its did:key).
    #[arg(long)]
    pubkey: PathBuf,
    /// A revocation list (JSON from the registry's GET /api/v1/revocations).
    #[arg(long)]
    revocations: Option<PathBuf>,
    /// Verify as of this time (RFC 3339 UTC or YYYY-MM-DD) instead of now.
    #[arg(long)]
    at: Option<String>,
    /// Print one JSON document (valid, id, gtin, lot, issuer, dates) instead of the text.
    #[arg(long)]
    json: bool,
    /// For a certificate with a credentialStatus: its status list credential, a file or
    /// URL (default: fetched from the URL the certificate names).
    #[arg(long)]
    status_list: Option<String>,
    /// The registry's public key (PEM) the status list must be signed by.
    #[arg(long)]
    registry_pubkey: Option<PathBuf>,
    /// PEM certificate(s) of the CA to trust when fetching the status list over https.
    #[arg(long)]
    ca_cert: Option<PathBuf>,
}

/// `exoskin batch uri`.
#[derive(ClapArgs)]
pub struct UriArgs {
    #[arg(long, required_unless_present = "parse")]
    gtin: Option<String>,
    #[arg(long, required_unless_present = "parse")]
    lot: Option<String>,
    /// Expiry date YYYY-MM-DD.
    #[arg(long)]
    expiry: Option<String>,
    #[arg(long, default_value = "id.gs1.org")]
    resolver: String,
    /// Add `linkType=` to the URI: gs1:certificationInfo, gs1:recallStatus, gs1:pip,
    /// gs1:leaflet or all (the linkset).
    #[arg(long)]
    link_type: Option<String>,
    /// Parse this Digital Link URI (or path) instead: print its GTIN-14, variant, lot
    /// and serial as JSON; exit 2 naming what is wrong.
    #[arg(long, conflicts_with_all = ["gtin", "lot", "expiry", "link_type"])]
    parse: Option<String>,
}

/// Map library errors: bad input and unreadable files exit 2, the rest 1.
pub(crate) fn lib_err(e: BatchError) -> anyhow::Error {
    match e {
        e if e.is_bad_input() => crate::bad_input(e.to_string()),
        other => anyhow::Error::new(other),
    }
}

fn load_profile(p: &Option<PathBuf>) -> anyhow::Result<Profile> {
    match p {
        Some(p) => Profile::load(p).map_err(lib_err),
        None => Ok(Profile::default_profile()),
    }
}

fn parse_time(s: &Option<String>, flag: &str) -> anyhow::Result<Timestamp> {
    match s {
        Some(s) => Timestamp::parse(s).map_err(|e| crate::bad_input(format!("{flag}: {e}"))),
        None => Ok(Timestamp::now()),
    }
}

fn print_assessment(a: &Assessment) {
    println!("profile {} ({})", a.profile, a.profile_version);
    for c in &a.checks {
        println!(
            "  {} {:<34} {}  (limit {}; {})",
            if c.pass { "PASS" } else { "FAIL" },
            c.id,
            c.value,
            c.limit,
            c.source
        );
    }
    println!("result: {}", if a.pass { "PASS" } else { "FAIL" });
}

/// Read a file the user named; a missing or unreadable file is bad input (exit 2).
pub(crate) fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| crate::bad_input(format!("{}: {e}", path.display())))
}

pub(crate) fn read_text(path: &Path) -> anyhow::Result<String> {
    String::from_utf8(read_file(path)?)
        .map_err(|_| crate::bad_input(format!("{}: not UTF-8 text", path.display())))
}

fn write(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    exoskin_model::fsutil::write_atomic(path, data)
        .with_context(|| format!("writing {}", path.display()))
}

pub fn run(c: BatchCommand) -> anyhow::Result<u8> {
    match c {
        BatchCommand::Keygen { out } => keygen(&out),
        BatchCommand::Assess { record, profile } => assess(&record, &profile),
        BatchCommand::Issue(a) => issue(a),
        BatchCommand::Verify(a) => verify(a),
        BatchCommand::Export {
            cert,
            untp,
            out,
            profile,
        } => export(&cert, untp, out.as_deref(), &profile),
        BatchCommand::Uri(a) => uri(a),
        #[cfg(feature = "registry")]
        BatchCommand::Publish(a) => crate::registry::publish(a),
        #[cfg(feature = "registry")]
        BatchCommand::AllocateStatus {
            registry,
            token_file,
            ca_cert,
        } => crate::status::allocate(&registry, &token_file, ca_cert.as_deref()),
        BatchCommand::StatusList {
            source,
            encoded,
            registry_pubkey,
            ca_cert,
        } => crate::status::show(
            source.as_deref(),
            encoded.as_deref(),
            registry_pubkey.as_deref(),
            ca_cert.as_ref(),
        ),
        BatchCommand::Import(a) => crate::batch_import::run(a),
        #[cfg(feature = "registry")]
        BatchCommand::Revoke(a) => crate::registry::revoke(a),
    }
}

/// `batch keygen`: a new key pair, and the issuer id it gives.
fn keygen(out: &Path) -> anyhow::Result<u8> {
    let key = keys::generate().map_err(lib_err)?;
    let pub_path = keys::write_key_pair(out, &key).map_err(lib_err)?;
    println!("private key: {} (mode 0600; keep it secret)", out.display());
    println!("public key:  {}", pub_path.display());
    println!("issuer id:   {}", keys::did_key(&key.verifying_key()));
    Ok(0)
}

/// `batch assess`: every check of the profile on a QC record; exit 1 when one fails.
fn assess(record: &Path, profile: &Option<PathBuf>) -> anyhow::Result<u8> {
    let rec = QcRecord::load(record).map_err(lib_err)?;
    let a = load_profile(profile)?.assess(&rec);
    print_assessment(&a);
    Ok(if a.pass { 0 } else { 1 })
}

/// `batch issue`: sign the certificate and write it with its QR code.
fn issue(a: IssueArgs) -> anyhow::Result<u8> {
    let IssueArgs {
        record,
        key,
        out,
        resolver,
        profile,
        allow_failing,
        issued_at,
        status_list,
        status_index,
    } = a;
    let status = crate::status::entry_from_flags(status_list.as_deref(), status_index)?;
    gs1::validate_resolver(&resolver).map_err(lib_err)?;
    let rec = QcRecord::load(&record).map_err(lib_err)?;
    let key = keys::read_private_key(&key).map_err(lib_err)?;
    let profile = load_profile(&profile)?;
    let opts = IssueOptions {
        profile: &profile,
        resolver: &resolver,
        issued_at: parse_time(&issued_at, "--issued-at")?,
        allow_failing,
    };
    let issued = cert::issue_with_status(&rec, &key, &opts, status.as_ref()).map_err(lib_err)?;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let code = qr::encode(&issued.uri).map_err(lib_err)?;
    write(&out.join("certificate.json"), issued.text.as_bytes())?;
    write(&out.join("qr.png"), &code.to_png(8))?;
    write(&out.join("qr.svg"), code.to_svg(&issued.uri).as_bytes())?;
    print_assessment(&issued.assessment);
    println!("certificate: {}", out.join("certificate.json").display());
    println!("qr:          {} and qr.svg", out.join("qr.png").display());
    println!("uri:         {}", issued.uri);
    Ok(0)
}

/// `batch verify`: signature, issuer, dates, revocation list and status list; exit 1 when
/// the certificate is not valid.
fn verify(a: VerifyArgs) -> anyhow::Result<u8> {
    let VerifyArgs {
        cert,
        pubkey,
        revocations,
        at,
        json,
        status_list,
        registry_pubkey,
        ca_cert,
    } = a;
    let text = read_text(&cert)?;
    let key = std::fs::read_to_string(&pubkey)
        .map_err(|e| crate::bad_input(format!("cannot read {}: {e}", pubkey.display())))?;
    let revs = match &revocations {
        Some(p) => Some(read_text(p)?),
        None => None,
    };
    let names = (
        pubkey.display().to_string(),
        revocations
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    let mut doc = exoskin_api::verify::verify(
        &text,
        &key,
        at.as_deref(),
        revs.as_deref(),
        (&names.0, &names.1),
    )
    .map_err(|e| crate::bad_input(e.to_string()))?;
    crate::status::verify(
        &text,
        status_list.as_deref(),
        registry_pubkey.as_deref(),
        ca_cert.as_deref(),
        json,
        &mut doc,
    )?;
    let valid = doc["valid"] == true;
    if json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else if valid {
        print_valid(&doc);
    } else {
        let e = doc["error"].as_str().unwrap_or("");
        println!("INVALID: {e}");
    }
    if !valid {
        eprintln!(
            "error: certificate {} is not valid: {}",
            cert.display(),
            doc["error"].as_str().unwrap_or("")
        );
        return Ok(1);
    }
    Ok(0)
}

/// The text `batch verify` prints for a valid certificate.
fn print_valid(doc: &serde_json::Value) {
    println!(
        "VALID: {} (GTIN {} lot {})",
        doc["id"].as_str().unwrap_or(""),
        doc["gtin"].as_str().unwrap_or(""),
        doc["lot"].as_str().unwrap_or("")
    );
    println!(
        "issuer: {} ({})",
        doc["issuer_name"].as_str().unwrap_or(""),
        doc["issuer_did"].as_str().unwrap_or("")
    );
    println!(
        "valid {} .. {}",
        doc["valid_from"].as_str().unwrap_or(""),
        doc["valid_until"].as_str().unwrap_or("")
    );
    println!(
        "batch acceptance: {}",
        if doc["assessment_pass"] == true {
            "PASS"
        } else {
            "FAIL (the certificate records a failing batch)"
        }
    );
}

/// `batch export --untp`: the certificate as a UNTP Digital Conformity Credential.
fn export(
    cert: &Path,
    untp: bool,
    out: Option<&Path>,
    profile: &Option<PathBuf>,
) -> anyhow::Result<u8> {
    if !untp {
        return Err(crate::bad_input(
            "batch export: name the format, --untp (a UNTP Digital Conformity Credential)",
        ));
    }
    let text = read_text(cert)?;
    let doc = exoskin_batch::cert::parse_certificate(&text)
        .map_err(|e| crate::bad_input(format!("{}: {e}", cert.display())))?;
    let profile = load_profile(profile)?;
    let opts = exoskin_batch::untp::ExportOptions {
        profile: Some(&profile),
    };
    let export = exoskin_batch::untp::export(&doc, &opts).map_err(|e| {
        if e.is_bad_input() {
            crate::bad_input(format!("{}: {e}", cert.display()))
        } else {
            anyhow::Error::new(e)
        }
    })?;
    for n in &export.notes {
        eprintln!("note: {n}");
    }
    match out {
        Some(path) => {
            write(path, export.text.as_bytes())?;
            eprintln!("UNTP Digital Conformity Credential: {}", path.display());
        }
        None => print!("{}", export.text),
    }
    Ok(0)
}

/// `batch uri`: the Digital Link URI of a GTIN, lot and expiry (with `--parse`, the reverse).
fn uri(a: UriArgs) -> anyhow::Result<u8> {
    let UriArgs {
        gtin,
        lot,
        expiry,
        resolver,
        link_type,
        parse,
    } = a;
    if let Some(uri) = parse {
        return parse_uri(&uri);
    }
    gs1::validate_resolver(&resolver).map_err(lib_err)?;
    let exp = match expiry {
        Some(e) => Some(exoskin_batch::date::parse(&e).map_err(lib_err)?),
        None => None,
    };
    let dl = gs1::DigitalLink::new(
        gtin.as_deref().unwrap_or_default(),
        lot.as_deref().unwrap_or_default(),
        exp,
    )
    .map_err(lib_err)?;
    let mut uri = dl.uri(&resolver);
    if let Some(lt) = link_type {
        if let gs1::Wanted::Unknown(v) = gs1::parse_link_type(&lt) {
            return Err(crate::bad_input(format!(
                "--link-type `{v}`: use gs1:certificationInfo, gs1:recallStatus, gs1:pip, gs1:leaflet or all"
            )));
        }
        uri.push(if uri.contains('?') { '&' } else { '?' });
        uri.push_str("linkType=");
        uri.push_str(&lt);
    }
    println!("{uri}");
    Ok(0)
}

/// `batch uri --parse`: what a Digital Link URI identifies, as JSON.
fn parse_uri(uri: &str) -> anyhow::Result<u8> {
    let rest = match uri.find("://") {
        Some(i) => {
            let after = &uri[i + 3..];
            &after[after.find('/').unwrap_or(after.len())..]
        }
        None => uri,
    };
    let path = rest.split(['?', '#']).next().unwrap_or("");
    let key = gs1::parse_key_path(path).map_err(lib_err)?.ok_or_else(|| {
        crate::bad_input(format!(
            "`{}` is not a GS1 Digital Link path: it must start with /01/<GTIN>",
            path.chars().take(60).collect::<String>()
        ))
    })?;
    let v = serde_json::json!({
        "gtin": key.gtin, "variant": key.variant, "lot": key.lot, "serial": key.serial,
        "path": key.path(),
    });
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(0)
}
