//! `exoskin serve`, `exoskin registry` and the `exoskin batch` subcommands that talk to a
//! registry (publish, revoke): the registry's server, client and audit log. Only in a build
//! with the `registry` feature (the default).
//!
//! A thin layer over `exoskin_registry`: parse flags, read files, call the library, print.
use crate::batch::{lib_err, read_file, read_text};
use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};
use exoskin_batch::keys;
use exoskin_registry::checkpoint::Checkpoint;
use exoskin_registry::{client, server, store, RegistryError};
use std::path::{Path, PathBuf};

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
    #[cfg(feature = "web")]
    #[arg(long, default_value_t = 16)]
    max_jobs: usize,
    /// Web app: jobs running at once (default: the cores less one, 1 to 8).
    #[cfg(feature = "web")]
    #[arg(long)]
    job_workers: Option<usize>,
    /// Web app: jobs one client address may have queued or running at once, simulations
    /// and photo reads included (0: no limit); past it that client gets 429.
    #[cfg(feature = "web")]
    #[arg(long, default_value_t = 4)]
    max_jobs_per_client: usize,
    /// Web app: a job's time limit in seconds (trial, power, claims); simulations and photo
    /// reads answered in the request stop at 25 s, or at this limit if lower.
    #[cfg(feature = "web")]
    #[arg(long, default_value_t = 600)]
    job_timeout: u64,
    /// Web app: the directory holding trials/ (the bundled trial files).
    #[cfg(feature = "web")]
    #[arg(long, default_value = ".")]
    data_dir: PathBuf,
    /// Serve the registry and resolver only, without the web app (a build without the `web`
    /// feature never serves it).
    #[arg(long)]
    no_web: bool,
}

/// The same for registry errors.
fn reg_err(e: RegistryError) -> anyhow::Error {
    match e {
        e if e.is_bad_input() => crate::bad_input(e.to_string()),
        other => anyhow::Error::new(other),
    }
}

/// `exoskin batch publish`.
#[derive(ClapArgs)]
pub struct PublishArgs {
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
}

/// `exoskin batch revoke`.
#[derive(ClapArgs)]
pub struct RevokeArgs {
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
}

/// `exoskin batch publish`: POST the certificate, then its leaflet link when one is given.
pub fn publish(a: PublishArgs) -> anyhow::Result<u8> {
    let PublishArgs {
        cert,
        registry,
        token_file,
        ca_cert,
        leaflet,
        leaflet_title,
        leaflet_for_lot,
    } = a;
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

/// `exoskin batch revoke`: POST a revocation by id, or by GTIN and lot.
pub fn revoke(a: RevokeArgs) -> anyhow::Result<u8> {
    let RevokeArgs {
        registry,
        token_file,
        id,
        gtin,
        lot,
        reason,
        ca_cert,
    } = a;
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
    if let (Some(cert), Some(key)) = (&a.tls_cert, &a.tls_key) {
        cfg.tls = Some(server::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        });
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
    #[cfg(feature = "web")]
    if !a.no_web {
        mount_web(&a, &mut cfg)?;
    }
    #[cfg(not(feature = "web"))]
    let _ = a.no_web; // this build has no web app to leave out
    server::serve_forever(cfg).map_err(reg_err)?;
    Ok(0)
}

/// The web app of `serve` (without `--no-web`), mounted beside the registry.
#[cfg(feature = "web")]
fn mount_web(a: &ServeArgs, cfg: &mut server::ServerConfig) -> anyhow::Result<()> {
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
    Ok(())
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
