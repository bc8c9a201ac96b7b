//! `exoskin batch` and `exoskin serve`: batch certificates and the registry.
//!
//! A thin layer over `exoskin_batch` and `exoskin_registry`: parse flags, read files, call the library, print.
use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};
use exoskin_batch::cert::{self, IssueOptions};
use exoskin_batch::date::Timestamp;
use exoskin_batch::profile::{Assessment, Profile};
use exoskin_batch::record::QcRecord;
use exoskin_batch::{gs1, keys, qr, BatchError};
use exoskin_registry::checkpoint::Checkpoint;
use exoskin_registry::{client, server, store, RegistryError};
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
    Issue {
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
    },
    /// Verify a certificate: signature, issuer, dates, revocation. Exit 0 valid, 1 not valid.
    Verify {
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
    },
    /// Ask a registry for a status list index (POST /api/v1/status/allocate): prints the
    /// list URL and index to issue with (`batch issue --status-list URL --status-index N`).
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
    Uri {
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
    },
    /// Publish a certificate to a registry (POST /api/v1/certificates).
    Publish {
        cert: PathBuf,
        /// Registry base URL, e.g. http://127.0.0.1:8080
        #[arg(long)]
        registry: String,
        /// File holding the issuer's bearer token.
        #[arg(long)]
        token_file: PathBuf,
        /// PEM certificate(s) of the CA to trust for an https:// registry with a private CA.
        #[arg(long)]
        ca_cert: Option<PathBuf>,
        /// Register this leaflet URL (gs1:leaflet, POST /api/v1/links) for the certificate's
        /// GTIN after publishing (for its lot with --leaflet-for-lot).
        #[arg(long)]
        leaflet: Option<String>,
        /// The leaflet link's title.
        #[arg(long, requires = "leaflet")]
        leaflet_title: Option<String>,
        /// Register the leaflet for the certificate's lot rather than its GTIN.
        #[arg(long, requires = "leaflet")]
        leaflet_for_lot: bool,
    },
    /// Read instrument files (NanoSight NTA 3.x Experiment Summary CSV, ZetaView text, FCS
    /// 3.1) into the measured characterization with its expanded uncertainty: print it as
    /// TOML (--json: everything), or merge it into a QC record (--into).
    Import(crate::batch_import::ImportArgs),
    /// Revoke a published certificate (POST /api/v1/revocations).
    Revoke {
        #[arg(long)]
        registry: String,
        #[arg(long)]
        token_file: PathBuf,
        /// Certificate id (urn:uuid:...); or give --gtin and --lot.
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        gtin: Option<String>,
        #[arg(long)]
        lot: Option<String>,
        #[arg(long)]
        reason: String,
        /// PEM certificate(s) of the CA to trust for an https:// registry with a private CA.
        #[arg(long)]
        ca_cert: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum RegistryCommand {
    /// Check the whole audit log: every hash, every link, no gaps; with --checkpoint, that
    /// the log still holds the signed head; with --log-checkpoint, that the Merkle log's
    /// root at the checkpoint's size is the signed one and the log now is consistent with
    /// it. Exit 0 intact, 1 naming what failed, 2 on bad input.
    VerifyLog {
        /// SQLite database file, or a postgres:// URL.
        #[arg(long)]
        db: String,
        /// A signed checkpoint (JSON from GET /api/v1/checkpoints/latest), kept elsewhere.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// The registry's public key (PEM from `batch keygen`) the checkpoints must be
        /// signed by (for --log-checkpoint, under the checkpoint's origin as key name).
        #[arg(long)]
        registry_pubkey: Option<PathBuf>,
        /// A signed Merkle log checkpoint (C2SP tlog-checkpoint, the text of
        /// GET /api/v1/log/checkpoint), kept elsewhere.
        #[arg(long)]
        log_checkpoint: Option<PathBuf>,
        /// The log's verifier key, `<origin>+<key ID>+<base64 key>` (what `exoskin serve`
        /// prints), or a file holding it; instead of --registry-pubkey.
        #[arg(long)]
        log_key: Option<String>,
        /// A witness that must have cosigned the log checkpoint (C2SP tlog-cosignature):
        /// its verifier key or a file holding it. Repeat for several.
        #[arg(long)]
        witness: Vec<String>,
    },
    /// Print the Merkle inclusion proof of an audit entry (JSON, hashes in base64), or with
    /// --old a consistency proof between two tree sizes.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["index", "certificate", "old"])))]
    Prove {
        /// SQLite database file, or a postgres:// URL.
        #[arg(long)]
        db: String,
        /// The leaf: audit entry INDEX+1.
        #[arg(long)]
        index: Option<u64>,
        /// The entry that published this certificate (its id, urn:uuid:...).
        #[arg(long)]
        certificate: Option<String>,
        /// A consistency proof from the tree of this size.
        #[arg(long)]
        old: Option<u64>,
        /// The tree size the proof is for (default: the whole log).
        #[arg(long)]
        size: Option<u64>,
    },
}

#[derive(ClapArgs)]
pub struct ServeArgs {
    /// SQLite database file, or a postgres:// URL.
    #[arg(long, default_value = "exoskin-registry.sqlite3")]
    db: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Issuers file (TOML: [[issuer]] name, did, token_sha256).
    #[arg(long)]
    issuers: Option<PathBuf>,
    /// One issuer's public key (from `batch keygen`): the quick way to run a registry.
    #[arg(long)]
    issuer_pubkey: Option<PathBuf>,
    /// File holding that issuer's bearer token. Without it, the token is kept beside the
    /// key (`lab.key.pub` -> `lab.token`), made (random, mode 0600) when it does not exist.
    #[arg(long, requires = "issuer_pubkey")]
    token_file: Option<PathBuf>,
    /// The name pages give that issuer ("Certified by"); default: the key file's name
    /// (`lab.key.pub` -> `lab`).
    #[arg(long, requires = "issuer_pubkey")]
    issuer_name: Option<String>,
    /// Database connections: how many requests may use the database at once (each
    /// connection to the server has its own thread).
    #[arg(long, default_value_t = 8)]
    threads: usize,
    /// Largest request body accepted, in KiB.
    #[arg(long, default_value_t = 256)]
    max_body_kib: usize,
    /// Serve HTTPS: PEM certificate chain (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Open connections one client address may hold (0: no limit).
    #[arg(long, default_value_t = 64)]
    max_conns_per_client: usize,
    /// Requests per second one client address may make, sustained; bursts of twice that
    /// (0: no limit).
    #[arg(long, default_value_t = 100.0)]
    rate_per_client: f64,
    /// The registry's own private key (from `batch keygen`): signs checkpoints of the audit log.
    #[arg(long)]
    registry_key: Option<PathBuf>,
    /// File holding the admin token that may POST /api/v1/checkpoints.
    #[arg(long, requires = "registry_key")]
    admin_token_file: Option<PathBuf>,
    /// The Merkle log's origin: a schema-less URL naming this log in its checkpoints and
    /// verifier key, e.g. registry.example.com/exoskin (default: <listen address>/exoskin-registry).
    #[arg(long)]
    log_origin: Option<String>,
    /// The registry's public base URL (https://registry.example.com): status list URLs in
    /// certificates start with it, so it must not change (default: http(s)://<listen address>).
    #[arg(long)]
    public_url: Option<String>,
    /// Seconds between automatic checkpoints (signed only when the log grew).
    #[arg(long, default_value_t = 3600)]
    checkpoint_interval_s: u64,
    /// Web app: simulations, trials and photo reads queued or running at once; past it
    /// requests get 429.
    #[arg(long, default_value_t = 16)]
    max_jobs: usize,
    /// Web app: jobs running at once (default: the cores less one, 1 to 8).
    #[arg(long)]
    job_workers: Option<usize>,
    /// Web app: jobs one client address may have queued or running at once, simulations
    /// and photo reads included (0: no limit); past it that client gets 429.
    #[arg(long, default_value_t = 4)]
    max_jobs_per_client: usize,
    /// Web app: a job's time limit in seconds (trial, power, claims); simulations and photo
    /// reads answered in the request stop at 25 s, or at this limit if lower.
    #[arg(long, default_value_t = 600)]
    job_timeout: u64,
    /// Web app: the directory holding trials/ (the bundled trial files).
    #[arg(long, default_value = ".")]
    data_dir: PathBuf,
    /// Serve the registry and resolver only, without the web app.
    #[arg(long)]
    no_web: bool,
}

/// Map library errors: bad input and unreadable files exit 2, the rest 1.
fn lib_err(e: BatchError) -> anyhow::Error {
    match e {
        e if e.is_bad_input() => crate::bad_input(e.to_string()),
        other => anyhow::Error::new(other),
    }
}

/// The same for registry errors.
fn reg_err(e: RegistryError) -> anyhow::Error {
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
fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| crate::bad_input(format!("{}: {e}", path.display())))
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    String::from_utf8(read_file(path)?)
        .map_err(|_| crate::bad_input(format!("{}: not UTF-8 text", path.display())))
}

fn write(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    exoskin_model::fsutil::write_atomic(path, data)
        .with_context(|| format!("writing {}", path.display()))
}

pub fn run(c: BatchCommand) -> anyhow::Result<u8> {
    match c {
        BatchCommand::Keygen { out } => {
            let key = keys::generate().map_err(lib_err)?;
            let pub_path = keys::write_key_pair(&out, &key).map_err(lib_err)?;
            println!("private key: {} (mode 0600; keep it secret)", out.display());
            println!("public key:  {}", pub_path.display());
            println!("issuer id:   {}", keys::did_key(&key.verifying_key()));
            Ok(0)
        }
        BatchCommand::Assess { record, profile } => {
            let rec = QcRecord::load(&record).map_err(lib_err)?;
            let a = load_profile(&profile)?.assess(&rec);
            print_assessment(&a);
            Ok(if a.pass { 0 } else { 1 })
        }
        BatchCommand::Issue {
            record,
            key,
            out,
            resolver,
            profile,
            allow_failing,
            issued_at,
            status_list,
            status_index,
        } => {
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
            let issued =
                cert::issue_with_status(&rec, &key, &opts, status.as_ref()).map_err(lib_err)?;
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
        BatchCommand::Verify {
            cert,
            pubkey,
            revocations,
            at,
            json,
            status_list,
            registry_pubkey,
            ca_cert,
        } => {
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
        BatchCommand::Export {
            cert,
            untp,
            out,
            profile,
        } => {
            if !untp {
                return Err(crate::bad_input(
                    "batch export: name the format, --untp (a UNTP Digital Conformity Credential)",
                ));
            }
            let text = read_text(&cert)?;
            let doc = exoskin_batch::cert::parse_certificate(&text)
                .map_err(|e| crate::bad_input(format!("{}: {e}", cert.display())))?;
            let profile = load_profile(&profile)?;
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
            match &out {
                Some(path) => {
                    write(path, export.text.as_bytes())?;
                    eprintln!("UNTP Digital Conformity Credential: {}", path.display());
                }
                None => print!("{}", export.text),
            }
            Ok(0)
        }
        BatchCommand::Uri {
            gtin,
            lot,
            expiry,
            resolver,
            link_type,
            parse,
        } => {
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
                use exoskin_registry::server::resolver::{parse_link_type, Wanted};
                if let Wanted::Unknown(v) = parse_link_type(&lt) {
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
        BatchCommand::Publish {
            cert,
            registry,
            token_file,
            ca_cert,
            leaflet,
            leaflet_title,
            leaflet_for_lot,
        } => {
            let body = read_file(&cert)?;
            let code = post(
                &registry,
                "/api/v1/certificates",
                &token_file,
                &body,
                ca_cert.as_deref(),
            )?;
            match leaflet {
                Some(href) if code == 0 => {
                    let (gtin, lot) = cert_gtin_lot(&cert, &body)?;
                    let mut link =
                        serde_json::json!({"gtin": gtin, "linkType": "gs1:leaflet", "href": href});
                    if leaflet_for_lot {
                        link["lot"] = serde_json::Value::String(lot);
                    }
                    if let Some(t) = leaflet_title {
                        link["title"] = serde_json::Value::String(t);
                    }
                    post(
                        &registry,
                        "/api/v1/links",
                        &token_file,
                        link.to_string().as_bytes(),
                        ca_cert.as_deref(),
                    )
                }
                _ => Ok(code),
            }
        }
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
        BatchCommand::Revoke {
            registry,
            token_file,
            id,
            gtin,
            lot,
            reason,
            ca_cert,
        } => {
            let body = match (id, gtin, lot) {
                (Some(id), None, None) => serde_json::json!({"id": id, "reason": reason}),
                (None, Some(g), Some(l)) => {
                    serde_json::json!({"gtin": g, "lot": l, "reason": reason})
                }
                _ => return Err(crate::bad_input("give --id, or --gtin and --lot")),
            };
            post(
                &registry,
                "/api/v1/revocations",
                &token_file,
                body.to_string().as_bytes(),
                ca_cert.as_deref(),
            )
        }
    }
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

/// The GTIN and lot of a certificate file, for registering its leaflet.
fn cert_gtin_lot(path: &Path, body: &[u8]) -> anyhow::Result<(String, String)> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| crate::bad_input(format!("{}: {e}", path.display())))?;
    let subj = &v["credentialSubject"];
    match (subj["gtin"].as_str(), subj["lot"].as_str()) {
        (Some(g), Some(l)) => Ok((g.to_string(), l.to_string())),
        _ => Err(crate::bad_input(format!(
            "{}: credentialSubject has no gtin and lot",
            path.display()
        ))),
    }
}

fn post(
    registry: &str,
    path: &str,
    token_file: &Path,
    body: &[u8],
    ca_cert: Option<&Path>,
) -> anyhow::Result<u8> {
    client::check_registry_url(registry).map_err(reg_err)?;
    let token = server::read_token(token_file).map_err(reg_err)?;
    let resp = client::post_json(registry, path, &token, body, ca_cert).map_err(reg_err)?;
    print!("{}", resp.text);
    if (200..300).contains(&resp.status) {
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

/// The token file of `--issuer-pubkey` without `--token-file`: beside the key
/// (`lab.key.pub` -> `lab.token`), made with 32 random bytes (hex, mode 0600) when it does not
/// exist, and said where on stderr.
fn issuer_token(pubkey: &Path) -> anyhow::Result<PathBuf> {
    let name = pubkey
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".pub")
        .unwrap_or(&name)
        .trim_end_matches(".key")
        .trim_end_matches(".pem");
    let stem = if stem.is_empty() { "issuer" } else { stem };
    let path = pubkey.with_file_name(format!("{stem}.token"));
    if path.exists() {
        eprintln!(
            "issuer token: {} (publish with --token-file {})",
            path.display(),
            path.display()
        );
        return Ok(path);
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no random numbers: {e}"))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write as _;
    opts.open(&path)
        .and_then(|mut f| {
            f.write_all(format!("{token}\n").as_bytes())
                .and_then(|_| f.sync_all())
        })
        .with_context(|| format!("writing the issuer token {}", path.display()))?;
    eprintln!(
        "issuer token: wrote {} (mode 0600); the issuer publishes with `exoskin batch publish CERT --registry URL --token-file {}`",
        path.display(),
        path.display()
    );
    Ok(path)
}

pub fn serve(a: ServeArgs) -> anyhow::Result<u8> {
    if a.threads == 0 || a.threads > 256 {
        return Err(crate::bad_input("--threads must be 1..=256"));
    }
    if a.max_body_kib == 0 {
        return Err(crate::bad_input("--max-body-kib must be positive"));
    }
    let token_file = match (&a.issuer_pubkey, &a.token_file) {
        (Some(_), Some(t)) => Some(t.clone()),
        (Some(p), None) => Some(issuer_token(p)?),
        _ => None,
    };
    let single = match (&a.issuer_pubkey, &token_file) {
        (Some(p), Some(t)) => Some((p.as_path(), t.as_path())),
        _ => None,
    };
    let mut issuers = server::load_issuers(a.issuers.as_deref(), single).map_err(reg_err)?;
    if let (Some(name), Some(issuer)) = (&a.issuer_name, issuers.first_mut()) {
        let clean = exoskin_registry::html::clean_text(name);
        if clean.trim().is_empty() {
            return Err(crate::bad_input(
                "--issuer-name: give a name pages can show",
            ));
        }
        issuer.name = clean;
    }
    if single.is_some() {
        if let Some(i) = issuers.first() {
            eprintln!(
                "issuer: \"{}\" ({}){}",
                i.name,
                i.did,
                if a.issuer_name.is_none() {
                    "; name it as pages should show it with --issuer-name"
                } else {
                    ""
                }
            );
        }
    }
    if issuers.is_empty() {
        eprintln!("note: no issuers configured (--issuers or --issuer-pubkey/--token-file): the registry is read-only");
    }
    if !(a.rate_per_client >= 0.0 && a.rate_per_client.is_finite()) {
        return Err(crate::bad_input(
            "--rate-per-client must be a non-negative number of requests per second",
        ));
    }
    if a.checkpoint_interval_s == 0 {
        return Err(crate::bad_input("--checkpoint-interval-s must be positive"));
    }
    let mut cfg = server::ServerConfig::new(&a.listen, &a.db, issuers);
    cfg.threads = a.threads;
    cfg.max_body_bytes = a.max_body_kib * 1024;
    cfg.client_limits.max_connections = a.max_conns_per_client;
    cfg.client_limits.requests_per_second = a.rate_per_client;
    cfg.client_limits.burst = 2.0 * a.rate_per_client;
    if let (Some(cert), Some(key)) = (a.tls_cert, a.tls_key) {
        cfg.tls = Some(server::TlsFiles { cert, key });
    }
    if let Some(k) = &a.registry_key {
        cfg.registry_key = Some(keys::read_private_key(k).map_err(lib_err)?);
    }
    if let Some(t) = &a.admin_token_file {
        let token = server::read_token(t).map_err(reg_err)?;
        cfg.admin_token_sha256 = Some(server::sha256(token.as_bytes()));
    }
    cfg.checkpoint_interval = std::time::Duration::from_secs(a.checkpoint_interval_s);
    cfg.log_origin = a.log_origin.clone();
    cfg.public_url = a.public_url.clone();
    if !a.no_web {
        if !(1..=10_000).contains(&a.max_jobs) {
            return Err(crate::bad_input("--max-jobs must be 1..=10000"));
        }
        if !(1..=7 * 24 * 3600).contains(&a.job_timeout) {
            return Err(crate::bad_input(
                "--job-timeout must be 1..=604800 seconds (a week)",
            ));
        }
        let mut web = exoskin_web::WebConfig {
            max_jobs: a.max_jobs,
            max_jobs_per_client: a.max_jobs_per_client,
            job_timeout: std::time::Duration::from_secs(a.job_timeout),
            max_body_bytes: a.max_body_kib * 1024,
            data_dir: a.data_dir.clone(),
            ..Default::default()
        };
        // Direct runs answer before the server's request timeout cuts the request off.
        web.direct_timeout = web
            .direct_timeout
            .min(
                cfg.request_timeout
                    .saturating_sub(std::time::Duration::from_secs(2)),
            )
            .max(std::time::Duration::from_secs(1));
        if let Some(w) = a.job_workers {
            if !(1..=256).contains(&w) {
                return Err(crate::bad_input("--job-workers must be 1..=256"));
            }
            web.workers = w;
        }
        cfg.extra = Some(exoskin_web::router(web));
    }
    server::serve_forever(cfg).map_err(reg_err)?;
    Ok(0)
}

/// A verifier key given on the command line, or the file holding it (its first line).
fn vkey_arg(flag: &str, v: &str) -> anyhow::Result<exoskin_registry::tlog::Verifier> {
    let text = if Path::new(v).is_file() {
        read_text(Path::new(v))?
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .to_string()
    } else {
        v.to_string()
    };
    exoskin_registry::tlog::Verifier::parse(&text)
        .map_err(|e| crate::bad_input(format!("{flag}: {e}")))
}

/// Open a registry database that must exist.
fn open_existing(db: &str) -> anyhow::Result<Box<dyn store::Store>> {
    if !db.starts_with("postgres") && !Path::new(db).exists() {
        return Err(crate::bad_input(format!("--db {db}: no such file")));
    }
    store::open(db, 1).map_err(reg_err)
}

fn prove(
    db: &str,
    index: Option<u64>,
    certificate: Option<&str>,
    old: Option<u64>,
    size: Option<u64>,
) -> anyhow::Result<u8> {
    use exoskin_registry::log;
    let st = open_existing(db)?;
    let tree = log::load_tree(st.as_ref()).map_err(reg_err)?;
    let n = tree.size();
    let size = size.unwrap_or(n);
    if size > n {
        return Err(crate::bad_input(format!(
            "--size {size}: the log has {n} entries"
        )));
    }
    let out = if let Some(old) = old {
        if old > size {
            return Err(crate::bad_input(format!(
                "--old {old} is larger than the tree size {size}"
            )));
        }
        log::consistency_json(&tree, old, size).map_err(reg_err)?
    } else {
        let index = match (index, certificate) {
            (Some(i), _) => i,
            (None, Some(id)) => match st.publish_seq(id).map_err(reg_err)? {
                Some(seq) => seq as u64 - 1,
                None => {
                    println!("BAD: no audit entry publishes certificate {id}");
                    eprintln!("error: {db}: no audit entry publishes certificate {id}");
                    return Ok(1);
                }
            },
            (None, None) => unreachable!("clap requires one"),
        };
        if index >= size {
            return Err(crate::bad_input(format!(
                "leaf {index} is not in the tree of size {size} (leaves 0 to {})",
                size as i128 - 1
            )));
        }
        let entry = log::entry_at(st.as_ref(), index)
            .map_err(reg_err)?
            .ok_or_else(|| anyhow::anyhow!("audit entry {} is missing", index + 1))?;
        match log::inclusion_json(&tree, index, size, &entry) {
            Ok(v) => v,
            Err(e @ RegistryError::Tampered { .. }) => {
                println!("BAD: {e}");
                eprintln!("error: {db}: {e}");
                return Ok(1);
            }
            Err(e) => return Err(reg_err(e)),
        }
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(0)
}

pub fn registry(c: RegistryCommand) -> anyhow::Result<u8> {
    match c {
        RegistryCommand::Prove {
            db,
            index,
            certificate,
            old,
            size,
        } => prove(&db, index, certificate.as_deref(), old, size),
        RegistryCommand::VerifyLog {
            db,
            checkpoint,
            registry_pubkey,
            log_checkpoint,
            log_key,
            witness,
        } => {
            use exoskin_registry::tlog;
            let registry_key = match &registry_pubkey {
                Some(p) => Some(keys::read_public_key(p).map_err(lib_err)?),
                None => None,
            };
            let trusted = registry_key.as_ref().map(keys::did_key);
            if log_checkpoint.is_none() && (log_key.is_some() || !witness.is_empty()) {
                return Err(crate::bad_input(
                    "--log-key and --witness check a --log-checkpoint: give one",
                ));
            }
            let witnesses = witness
                .iter()
                .map(|w| vkey_arg("--witness", w))
                .collect::<anyhow::Result<Vec<_>>>()?;
            if let Some(w) = witnesses.iter().find(|w| w.kind != tlog::TYPE_COSIGNATURE) {
                return Err(crate::bad_input(format!(
                    "--witness {}: not a cosignature key (signature type 0x04)",
                    w.name
                )));
            }
            // The Merkle log checkpoint: read and its signatures checked before the log.
            let log_cp = match &log_checkpoint {
                Some(p) => {
                    let text = read_text(p)?;
                    let note = tlog::Note::parse(&text)
                        .and_then(|n| tlog::Checkpoint::parse_body(&n.text))
                        .map_err(|e| crate::bad_input(format!("{}: {e}", p.display())))?;
                    let log_verifier = match (&log_key, &registry_key) {
                        (Some(v), _) => vkey_arg("--log-key", v)?,
                        (None, Some(k)) => tlog::Verifier::log(&note.origin, *k)
                            .map_err(|e| crate::bad_input(format!("{}: {e}", p.display())))?,
                        (None, None) => {
                            return Err(crate::bad_input(
                                "--log-checkpoint needs the log's key: --log-key VKEY or --registry-pubkey PEM",
                            ))
                        }
                    };
                    match tlog::open_checkpoint(&text, &log_verifier, &witnesses) {
                        Ok(o) => Some(o),
                        Err(e @ tlog::NoteError::Signature(_)) => {
                            println!("BAD: {}: {e}", p.display());
                            eprintln!("error: {}: {e}", p.display());
                            return Ok(1);
                        }
                        Err(e) => return Err(crate::bad_input(format!("{}: {e}", p.display()))),
                    }
                }
                None => None,
            };
            let cp = match &checkpoint {
                Some(p) => {
                    let text = read_text(p)?;
                    let cp = Checkpoint::parse(&text, &p.display().to_string()).map_err(reg_err)?;
                    if let Err(e) = cp.verify(trusted.as_deref()) {
                        println!("BAD: {e}");
                        eprintln!("error: {}: {e}", p.display());
                        return Ok(1);
                    }
                    Some(cp)
                }
                None => None,
            };
            let st = open_existing(&db)?;
            let bad = |e: &dyn std::fmt::Display| -> anyhow::Result<u8> {
                println!("BAD: {e}");
                eprintln!("error: {db}: {e}");
                Ok(1)
            };
            match store::verify_log(st.as_ref(), cp.as_ref()) {
                Ok(r) => {
                    let log_match = match &log_cp {
                        Some(o) => {
                            match exoskin_registry::log::check_against_checkpoint(
                                &r.tree,
                                &o.checkpoint,
                            ) {
                                Ok(m) => Some(m),
                                Err(e) => return bad(&e),
                            }
                        }
                        None => None,
                    };
                    match &r.head {
                        Some((seq, hash)) => {
                            println!(
                                "OK: {} audit entries, chain intact; head {seq} {hash}; {} certificate and revocation rows match the log",
                                r.entries, r.rows
                            )
                        }
                        None => println!("OK: the audit log is empty"),
                    }
                    if let (Some(c), Some(seq)) = (&cp, r.checkpoint_seq) {
                        println!(
                            "checkpoint: entry {seq} matches the checkpoint signed {} by {}",
                            c.at, c.registry
                        );
                    }
                    let size = r.tree.size();
                    println!(
                        "Merkle log: {size} leaves, root {}; {} cached leaf hashes match their entries",
                        tlog::b64_encode(&r.tree.root(size).expect("own size")),
                        r.leaves_cached
                    );
                    if let (Some(o), Some(m)) = (&log_cp, &log_match) {
                        println!(
                            "log checkpoint: {} at size {} (root {}) is the log's root at that size; the log now ({} leaves) is consistent with it (consistency proof of {} hashes verified)",
                            o.checkpoint.origin,
                            m.size,
                            tlog::b64_encode(&m.root),
                            m.current_size,
                            m.proof_len
                        );
                        for (name, t) in &o.cosigned {
                            println!("  cosigned by {name} at {t} (POSIX time)");
                        }
                    }
                    Ok(0)
                }
                Err(e @ (RegistryError::AuditChain { .. } | RegistryError::Tampered { .. })) => {
                    bad(&e)
                }
                Err(e) => Err(reg_err(e)),
            }
        }
    }
}
