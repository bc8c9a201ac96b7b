//! The registry and GS1 Digital Link resolver over HTTP/1.1: axum on hyper and tokio, with
//! rustls for TLS.
//!
//! | method | path | auth | what |
//! |---|---|---|---|
//! | GET | `/01/<gtin>/10/<lot>` | none | the certificate page (HTML), or JSON with `Accept: application/json` |
//! | GET | `/01/<gtin>[/10/<lot>[/21/<serial>]]?linkType=...` | none | the GS1 resolver: link types, linksets ([`resolver`]) |
//! | GET | `/.well-known/gs1resolver` | none | the GS1 resolver description |
//! | POST | `/api/v1/links` | issuer token | register a `gs1:leaflet` for a GTIN or lot |
//! | GET | `/01/<gtin>/10/<lot>/simulate` | none | the batch simulated from its certificate (JSON, as `exoskin simulate --certificate --json`) |
//! | GET | `/01/<gtin>/10/<lot>/untp` | none | the certificate as a UNTP Digital Conformity Credential (JSON, as `exoskin batch export --untp`) |
//! | POST | `/api/v1/certificates` | issuer token | publish a signed certificate (body: the certificate JSON) |
//! | POST | `/api/v1/revocations` | issuer token | revoke: `{"id": ..., "reason": ...}` or `{"gtin", "lot", "reason"}` |
//! | GET | `/api/v1/revocations` | none | the revocation list (what `exoskin batch verify --revocations` reads) |
//! | GET | `/api/v1/audit?after=N&limit=M` | none | the audit log, hash-chained |
//! | POST | `/api/v1/checkpoints` | admin token | sign a checkpoint of the audit log's head now |
//! | GET | `/api/v1/checkpoints/latest` | none | the latest signed checkpoint |
//! | GET | `/api/v1/log/checkpoint` | none | the Merkle log's signed C2SP checkpoint (text) |
//! | GET | `/api/v1/log/proof/inclusion?index=I&size=N` | none | an entry's inclusion proof (or `entry=SEQ`, `certificate=ID`) |
//! | GET | `/api/v1/log/proof/consistency?old=M&size=N` | none | a consistency proof between two tree sizes |
//! | POST | `/api/v1/status/allocate` | issuer token | a Bitstring Status List index for the issuer ([`crate::status`]) |
//! | GET | `/api/v1/status/<n>` | none | status list n, a signed `BitstringStatusListCredential` |
//! | POST | `/api/v1/import?format=&dilution=` | none | an instrument file in, the measured characterization out ([`crate::import`]) |
//! | GET | `/healthz` | none | liveness and row counts |
//!
//! Defences, outermost first: a global connection cap and a per-client connection cap at
//! accept (503 and close past either); hyper's strict HTTP/1.1 parser with a header-read
//! timeout and a 16 KiB head limit; a total request timeout (408); method and framing
//! checks (400); a per-client request rate (429) and a global limit on requests in
//! flight (503); bearer-token authentication from the headers alone, before any byte of the
//! body is read (so `100 Continue` is sent only to authenticated clients), with wrong
//! tokens rate-limited per client (429; a right token is never refused by this); then the body, refused by its declared length
//! (413) and read with the same limit. Store calls run on tokio's blocking pool.
use crate::checkpoint::{self, Checkpoint};
use crate::error::{RegistryError, Result};
use crate::html::{self, Status};
use crate::limits::{ClientLimitConfig, ClientLimits};
use crate::store::{self, NewCertificate, PublishOutcome, RevokeOutcome, Store};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use ed25519_dalek::SigningKey;
use exoskin_batch::cert::{check_status, verify_signature, Verified, VerifyError};
use exoskin_batch::date::Timestamp;
use exoskin_batch::gs1;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};

#[path = "resolver.rs"]
pub mod resolver;
#[path = "simulate.rs"]
pub mod simulate;
#[path = "untp_route.rs"]
pub mod untp_route;

/// An issuer allowed to publish: its registry name, `did:key`, the SHA-256 of its bearer
/// token, and the GTINs it may certify.
#[derive(Debug, Clone)]
pub struct Issuer {
    pub name: String,
    pub did: String,
    pub token_sha256: [u8; 32],
    pub authority: Authority,
}

/// The products an issuer may certify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authority {
    /// Any GTIN: only for the one issuer of `--issuer-pubkey`/`--token-file`.
    Any,
    /// GS1 company prefixes (4-12 digits, matched after the GTIN-14's indicator digit) and
    /// whole GTINs (normalized to 14 digits).
    Gtins {
        prefixes: Vec<String>,
        gtins: Vec<String>,
    },
}

impl Authority {
    /// Whether a normalized GTIN-14 falls under this authority.
    pub fn covers(&self, gtin14: &str) -> bool {
        match self {
            Authority::Any => true,
            Authority::Gtins { prefixes, gtins } => {
                gtins.iter().any(|g| g == gtin14)
                    || prefixes.iter().any(|p| {
                        gtin14
                            .get(1..)
                            .is_some_and(|rest| rest.starts_with(p.as_str()))
                    })
            }
        }
    }

    /// A GTIN or prefix both authorities cover, if any.
    fn overlap(&self, other: &Authority) -> Option<String> {
        let (
            Authority::Gtins {
                prefixes: p1,
                gtins: g1,
            },
            Authority::Gtins {
                prefixes: p2,
                gtins: g2,
            },
        ) = (self, other)
        else {
            return None;
        };
        for a in p1 {
            if let Some(b) = p2
                .iter()
                .find(|b| a.starts_with(b.as_str()) || b.starts_with(a.as_str()))
            {
                return Some(format!("prefixes {a} and {b}"));
            }
        }
        for g in g1 {
            if other.covers(g) {
                return Some(format!("GTIN {g}"));
            }
        }
        g2.iter()
            .find(|g| self.covers(g))
            .map(|g| format!("GTIN {g}"))
    }
}

/// `[[issuer]]` entries of an issuers file (TOML).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuersFile {
    issuer: Vec<IssuerEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuerEntry {
    /// The name the registry shows as "Certified by".
    name: String,
    /// `did:key:z6Mk...` (what `exoskin batch keygen` prints).
    did: String,
    /// Hex SHA-256 of the token: `printf %s "$TOKEN" | sha256sum`.
    token_sha256: String,
    /// GS1 company prefixes this issuer may certify.
    #[serde(default)]
    gtin_prefixes: Vec<String>,
    /// Single GTINs this issuer may certify.
    #[serde(default)]
    gtins: Vec<String>,
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 32 bytes from 64 hex digits.
pub fn parse_hex32(h: &str) -> Option<[u8; 32]> {
    let h = h.trim();
    if h.len() != 64 || !h.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let mut t = [0u8; 32];
    for (i, b) in t.iter_mut().enumerate() {
        *b = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(t)
}

/// Parse an issuers file: names, keys, token digests and authority (at least one
/// `gtin_prefixes` or `gtins` entry each; no GTIN may fall under two issuers).
pub fn parse_issuers(text: &str, what: &str) -> Result<Vec<Issuer>> {
    let f: IssuersFile =
        toml::from_str(text).map_err(|e| RegistryError::invalid(format!("{what}: {e}")))?;
    let mut out: Vec<Issuer> = Vec::new();
    for e in f.issuer {
        let bad = |m: String| RegistryError::invalid(format!("{what}: issuer `{}`: {m}", e.name));
        let name = crate::html::clean_text(e.name.trim());
        if name.is_empty() || name.chars().count() > 100 {
            return Err(bad("name must be 1-100 characters".into()));
        }
        exoskin_batch::keys::did_key_to_public(&e.did).map_err(|err| bad(err.to_string()))?;
        let token_sha256 = parse_hex32(&e.token_sha256)
            .ok_or_else(|| bad("token_sha256 must be 64 hex digits".into()))?;
        for p in &e.gtin_prefixes {
            if !(4..=12).contains(&p.len()) || !p.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad(format!(
                    "gtin_prefixes: `{p}` is not a GS1 company prefix (4-12 digits)"
                )));
            }
        }
        let gtins = e
            .gtins
            .iter()
            .map(|g| gs1::normalize_gtin(g).map_err(|err| bad(format!("gtins: {err}"))))
            .collect::<Result<Vec<_>>>()?;
        if e.gtin_prefixes.is_empty() && gtins.is_empty() {
            return Err(bad(
                "give the GTINs it may certify: gtin_prefixes = [\"950600013\"] and/or gtins = [\"09506000134352\"]".into(),
            ));
        }
        let authority = Authority::Gtins {
            prefixes: e.gtin_prefixes.clone(),
            gtins,
        };
        for o in &out {
            if o.did == e.did {
                return Err(bad(format!("its did is also issuer `{}`'s", o.name)));
            }
            if let Some(x) = o.authority.overlap(&authority) {
                return Err(bad(format!(
                    "{x} fall under issuer `{}` too; each GTIN may have one issuer",
                    o.name
                )));
            }
        }
        out.push(Issuer {
            name,
            did: e.did,
            token_sha256,
            authority,
        });
    }
    Ok(out)
}

/// TLS: a PEM certificate chain and its PEM private key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `127.0.0.1:8080`.
    pub listen: String,
    /// SQLite path or `postgres://` URL.
    pub db: String,
    pub issuers: Vec<Issuer>,
    /// Size of the database connection pool: how many requests use the database at once.
    pub threads: usize,
    pub max_body_bytes: usize,
    pub tls: Option<TlsFiles>,
    /// Time a client has to send a request head.
    pub header_read_timeout: Duration,
    /// Time a whole request may take, body and answer included.
    pub request_timeout: Duration,
    /// Connections open at once, all clients together.
    pub max_connections: usize,
    /// Requests being answered at once, all clients together.
    pub max_in_flight: usize,
    pub client_limits: ClientLimitConfig,
    /// The registry's own key, for signed checkpoints of the audit log.
    pub registry_key: Option<SigningKey>,
    /// SHA-256 of the admin token that may ask for a checkpoint.
    pub admin_token_sha256: Option<[u8; 32]>,
    /// How often a checkpoint is signed when the log has grown.
    pub checkpoint_interval: Duration,
    /// The Merkle log's origin (the first line of its checkpoints, and the key name it
    /// signs them under); `None`: [`crate::log::default_origin`] of the bound address.
    pub log_origin: Option<String>,
    /// Routes served beside the registry's on the same port (the web app), behind the same
    /// connection caps, timeouts and per-client limits; the registry answers the rest.
    pub extra: Option<Router>,
    /// The registry's public base URL (`https://registry.example.com`), which status list
    /// URLs start with; `None`: `http(s)://<bound address>`.
    pub public_url: Option<String>,
}

impl ServerConfig {
    pub fn new(listen: &str, db: &str, issuers: Vec<Issuer>) -> ServerConfig {
        ServerConfig {
            listen: listen.into(),
            db: db.into(),
            issuers,
            threads: 8,
            max_body_bytes: 256 * 1024,
            tls: None,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 20_000,
            max_in_flight: 1024,
            client_limits: ClientLimitConfig::default(),
            registry_key: None,
            admin_token_sha256: None,
            checkpoint_interval: Duration::from_secs(3600),
            log_origin: None,
            extra: None,
            public_url: None,
        }
    }
}

/// The peer address of a request's connection.
#[derive(Debug, Clone, Copy)]
struct Peer(SocketAddr);

/// The issuer a request authenticated as.
#[derive(Debug, Clone)]
enum Caller {
    Issuer(Issuer),
    Admin,
}

struct App {
    store: Box<dyn Store>,
    issuers: Vec<Issuer>,
    max_body_bytes: usize,
    limits: Arc<ClientLimits>,
    in_flight: Arc<Semaphore>,
    /// Verified certificates by the SHA-256 of their stored bytes: a certificate never
    /// changes, so its signature check holds for those bytes forever. Revocation and dates
    /// are checked on every request.
    verified: Mutex<HashMap<[u8; 32], Verified>>,
    registry_key: Option<SigningKey>,
    admin_token_sha256: Option<[u8; 32]>,
    /// Serializes checkpoint signing.
    checkpoint_lock: Mutex<()>,
    /// The audit log's Merkle tree, extended from the store on each use.
    log_tree: Mutex<crate::merkle::Tree>,
    /// The Merkle log's origin.
    origin: String,
    /// Bitstring Status Lists ([`crate::status`]).
    status: crate::status::StatusLists,
    /// The GS1 resolver's root URL ([`resolver::Root`]).
    resolver_root: resolver::Root,
}

/// Entries the verification cache holds before it starts over.
const VERIFIED_CACHE: usize = 100_000;

/// A running server.
pub struct RunningServer {
    pub addr: SocketAddr,
    /// The Merkle log's origin.
    pub log_origin: String,
    /// The verifier key of the Merkle log's checkpoints (with a registry key).
    pub log_vkey: Option<String>,
    stop: watch::Sender<bool>,
    thread: std::thread::JoinHandle<()>,
}

impl RunningServer {
    /// Block until the server stops (on [`RunningServer::shutdown`], or SIGTERM/Ctrl-C when
    /// started by [`serve_forever`]).
    pub fn wait(self) {
        let _ = self.thread.join();
    }

    /// Stop accepting, let requests in flight finish (at most 10 s), and return.
    pub fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.thread.join();
    }
}

struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    extra: Vec<(&'static str, String)>,
}

fn json_reply(status: u16, v: Value) -> Reply {
    let mut body = serde_json::to_vec_pretty(&v).unwrap_or_default();
    body.push(b'\n');
    Reply {
        status,
        content_type: "application/json",
        body,
        extra: Vec::new(),
    }
}

fn error(status: u16, msg: impl Into<String>) -> Reply {
    json_reply(status, json!({ "error": msg.into() }))
}

fn html_reply(status: u16, body: String) -> Reply {
    Reply {
        status,
        content_type: "text/html; charset=utf-8",
        body: body.into_bytes(),
        extra: Vec::new(),
    }
}

fn too_many(msg: &str, wait: Duration) -> Reply {
    let mut r = error(429, msg);
    r.extra
        .push(("Retry-After", wait.as_secs().max(1).to_string()));
    r
}

/// The content security policy of every page: nothing but inline styles, never framed.
pub const PAGE_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

impl Reply {
    fn into_response(self) -> Response {
        let mut resp = Response::new(Body::from(self.body));
        *resp.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        if self.content_type.starts_with("text/html") {
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_CSP),
            );
        }
        for (k, v) in self.extra {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.insert(k, v);
            }
        }
        resp
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| {
            let a = a.to_ascii_lowercase();
            (a.contains("application/json") || a.contains("application/ld+json"))
                && !a.starts_with("text/html")
        })
}

/// Constant-time equality of two digests.
fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a handler running on the blocking pool sees of a request.
struct Req {
    method: Method,
    path: String,
    query: String,
    json: bool,
    caller: Option<Caller>,
    body: Vec<u8>,
    /// The request's headers (the resolver reads `Accept` and `Host`).
    headers: HeaderMap,
}

/// Routes whose POST needs a token, and which token.
fn post_auth(path: &str) -> Option<bool> {
    match path {
        "/api/v1/certificates" | "/api/v1/revocations" => Some(false),
        "/api/v1/checkpoints" => Some(true),
        "/api/v1/links" => Some(false),
        crate::status::ALLOCATE_PATH => Some(false),
        _ => None,
    }
}

/// Open the store, bind and start serving on a thread of its own.
pub fn start(cfg: ServerConfig) -> Result<RunningServer> {
    start_with(cfg, false)
}

/// The `issuers` audit entry's detail: who may publish what, sorted by `did:key`, as
/// canonical JSON (token digests stay out of the log).
pub fn issuers_detail(issuers: &[Issuer]) -> String {
    let mut list: Vec<Value> = issuers
        .iter()
        .map(|i| match &i.authority {
            Authority::Any => json!({"did": i.did, "name": i.name, "any": true}),
            Authority::Gtins { prefixes, gtins } => json!({
                "did": i.did, "name": i.name, "gtinPrefixes": prefixes, "gtins": gtins,
            }),
        })
        .collect();
    list.sort_by(|a, b| a["did"].as_str().cmp(&b["did"].as_str()));
    exoskin_batch::jcs::canonicalize(&Value::Array(list)).unwrap_or_default()
}

fn start_with(cfg: ServerConfig, signals: bool) -> Result<RunningServer> {
    let store = store::open(&cfg.db, cfg.threads)?;
    // A registry written by an older version: its rows are sealed into the log once.
    if let Some(seq) = store.seal_legacy("registry")? {
        eprintln!("exoskin registry: existing rows sealed into the audit log (entry {seq})");
    }
    store.record_issuers(&issuers_detail(&cfg.issuers), "registry")?;
    let tls = match &cfg.tls {
        Some(t) => Some(tls_acceptor(t)?),
        None => None,
    };
    let listener = std::net::TcpListener::bind(&cfg.listen)
        .map_err(|e| RegistryError::invalid(format!("cannot listen on {}: {e}", cfg.listen)))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| RegistryError::invalid(format!("cannot listen on {}: {e}", cfg.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| RegistryError::invalid(format!("cannot listen on {}: {e}", cfg.listen)))?;
    let origin = cfg
        .log_origin
        .clone()
        .unwrap_or_else(|| crate::log::default_origin(&addr));
    crate::tlog::check_key_name(&origin, "--log-origin")
        .map_err(|e| RegistryError::invalid(e.to_string()))?;
    let log_vkey = match &cfg.registry_key {
        Some(k) => Some(
            crate::tlog::Verifier::log(&origin, k.verifying_key())
                .map_err(|e| RegistryError::invalid(e.to_string()))?
                .to_vkey(),
        ),
        None => None,
    };
    let log_tree = crate::log::load_tree(store.as_ref())?;
    let status_base = match &cfg.public_url {
        Some(u) => crate::status::check_public_url(u)?,
        None => format!("{}://{addr}", if tls.is_some() { "https" } else { "http" }),
    };
    let limits = ClientLimits::new(cfg.client_limits);
    let app = Arc::new(App {
        store,
        issuers: cfg.issuers.clone(),
        max_body_bytes: cfg.max_body_bytes,
        limits: limits.clone(),
        in_flight: Arc::new(Semaphore::new(cfg.max_in_flight.max(1))),
        verified: Mutex::new(HashMap::new()),
        registry_key: cfg.registry_key.clone(),
        admin_token_sha256: cfg.admin_token_sha256,
        checkpoint_lock: Mutex::new(()),
        log_tree: Mutex::new(log_tree),
        origin: origin.clone(),
        status: crate::status::StatusLists::new(&status_base, cfg.registry_key.clone()),
        resolver_root: resolver::Root::new(cfg.public_url.as_deref(), tls.is_some(), addr)?,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("registry")
        .build()
        .map_err(|e| RegistryError::invalid(format!("cannot start the runtime: {e}")))?;
    let (stop, stop_rx) = watch::channel(false);
    let stop_tx = stop.clone();
    let thread = std::thread::Builder::new()
        .name("registry-accept".into())
        .spawn(move || {
            // The store is dropped here, after the runtime: the synchronous PostgreSQL
            // client cannot close its connections from inside one (the checkpoint timer's
            // task may hold the last other reference when the runtime stops).
            let keep = app.clone();
            runtime.block_on(async move {
                if signals {
                    tokio::spawn(async move {
                        wait_for_signal().await;
                        eprintln!("exoskin registry: shutting down");
                        let _ = stop_tx.send(true);
                    });
                }
                if app.registry_key.is_some() {
                    tokio::spawn(checkpoint_timer(
                        app.clone(),
                        cfg.checkpoint_interval,
                        stop_rx.clone(),
                    ));
                }
                serve(listener, app, limits, tls, cfg, stop_rx).await;
            });
            drop(runtime);
            drop(keep);
        })
        .map_err(|e| RegistryError::invalid(format!("cannot start the server thread: {e}")))?;
    Ok(RunningServer {
        addr,
        log_origin: origin,
        log_vkey,
        stop,
        thread,
    })
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Sign a checkpoint whenever the log grew, every `every`.
async fn checkpoint_timer(app: Arc<App>, every: Duration, mut stop: watch::Receiver<bool>) {
    let mut last_seq = -1i64;
    loop {
        let a = app.clone();
        let made = tokio::task::spawn_blocking(move || a.checkpoint_if_grown(last_seq)).await;
        match made {
            Ok(Ok(Some(seq))) => last_seq = seq,
            Ok(Ok(None)) => {}
            Ok(Err(e)) => eprintln!("checkpoint: {e}"),
            Err(e) => eprintln!("checkpoint: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}

fn tls_acceptor(t: &TlsFiles) -> Result<tokio_rustls::TlsAcceptor> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&t.cert)
        .and_then(|i| i.collect())
        .map_err(|e| {
            RegistryError::invalid(format!(
                "--tls-cert {}: not a PEM certificate chain: {e}",
                t.cert.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(RegistryError::invalid(format!(
            "--tls-cert {}: no CERTIFICATE block",
            t.cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&t.key).map_err(|e| {
        RegistryError::invalid(format!(
            "--tls-key {}: not a PEM private key: {e}",
            t.key.display()
        ))
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| RegistryError::invalid(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            RegistryError::invalid(format!(
                "--tls-cert/--tls-key: the key does not fit the certificate: {e}"
            ))
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// The body of the 503 sent to connections past a cap, before closing them.
fn refuse_connection_bytes(why: &str) -> Vec<u8> {
    let body = format!("{{\"error\": \"{why}\"}}\n");
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn serve(
    std_listener: std::net::TcpListener,
    app: Arc<App>,
    limits: Arc<ClientLimits>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    cfg: ServerConfig,
    mut stop: watch::Receiver<bool>,
) {
    let listener = match tokio::net::TcpListener::from_std(std_listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen: {e}");
            return;
        }
    };
    let router = router(app.clone(), cfg.request_timeout, cfg.extra.clone());
    let connections = Arc::new(Semaphore::new(cfg.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors or a connection reset before accept: pause
                    // briefly rather than spin.
                    eprintln!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let permit = connections.clone().try_acquire_owned();
        let slot = limits.connect(peer.ip());
        let (permit, slot) = match (permit, slot) {
            (Ok(p), Some(s)) => (p, s),
            (p, s) => {
                let why = if p.is_err() {
                    "the registry is at its connection limit; try again"
                } else {
                    "too many connections from your address; close some and try again"
                };
                drop((p, s));
                tokio::spawn(refuse(stream, why));
                continue;
            }
        };
        let router = router.clone();
        let tls = tls.clone();
        let header_timeout = cfg.header_read_timeout;
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _held = (permit, slot);
            let svc = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(Peer(peer));
                    // The web app's per-client job quotas read the peer from here.
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    let r = router.clone();
                    async move {
                        use tower::ServiceExt;
                        r.oneshot(req.map(Body::new)).await
                    }
                },
            );
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_buf_size(16 * 1024)
                .keep_alive(true);
            match tls {
                None => {
                    let conn = http.serve_connection(TokioIo::new(stream), svc);
                    let _ = watcher.watch(conn).await;
                }
                Some(acceptor) => {
                    let Ok(Ok(s)) =
                        tokio::time::timeout(header_timeout, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let conn = http.serve_connection(TokioIo::new(s), svc);
                    let _ = watcher.watch(conn).await;
                }
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(10)) => {
            eprintln!("exoskin registry: connections still open after 10 s; closing them");
        }
    }
}

async fn refuse(mut stream: tokio::net::TcpStream, why: &'static str) {
    use tokio::io::AsyncWriteExt;
    let bytes = refuse_connection_bytes(why);
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(&bytes).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

fn router(app: Arc<App>, request_timeout: Duration, extra: Option<Router>) -> Router {
    let registry = Router::new()
        .route("/api/v1/import", axum::routing::post(crate::import::handle))
        .fallback(dispatch)
        .with_state(app.clone());
    let routes = match extra {
        Some(web) => web.fallback_service(registry),
        None => registry,
    };
    routes
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
}

fn peer_ip(req: &Request) -> IpAddr {
    req.extensions()
        .get::<Peer>()
        .map(|p| p.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// Checks that need only the request line and headers: method, target form, framing, the
/// client's request rate and the global limit on requests in flight.
async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let m = req.method();
    let known = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
    ];
    if !known.contains(m) {
        return error(
            400,
            format!(
                "unknown method `{}`: methods are upper-case (GET, HEAD, POST)",
                m.as_str().escape_debug()
            ),
        )
        .into_response();
    }
    if req.uri().scheme().is_none() && !req.uri().path().starts_with('/') {
        return error(400, "the request target must be a path starting with /").into_response();
    }
    // hyper drops Content-Length when Transfer-Encoding is present, so a smuggling-shaped
    // CL+TE request looks like a plain chunked one here: refuse every request that has
    // Transfer-Encoding, and close the connection so no byte after it is read as a request.
    if req.headers().contains_key(header::TRANSFER_ENCODING) {
        let mut r = error(
            400,
            "Transfer-Encoding is not accepted on requests (with Content-Length too it is request smuggling): send the body with Content-Length",
        );
        r.extra.push(("Connection", "close".into()));
        return r.into_response();
    }
    let ip = peer_ip(&req);
    if let Err(wait) = app.limits.request(ip, Instant::now()) {
        return too_many("too many requests from your address; slow down", wait).into_response();
    }
    let Ok(_permit) = app.in_flight.clone().try_acquire_owned() else {
        let mut r = error(503, "the registry is busy; try again");
        r.extra.push(("Retry-After", "1".into()));
        return r.into_response();
    };
    next.run(req).await
}

async fn dispatch(State(app): State<Arc<App>>, req: Request) -> Response {
    let ip = peer_ip(&req);
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let mut r = Req {
        method: parts.method.clone(),
        query: parts.uri.query().unwrap_or("").to_string(),
        json: wants_json(&parts.headers),
        caller: None,
        body: Vec::new(),
        headers: parts.headers.clone(),
        path,
    };
    if r.method == Method::POST {
        if let Some(admin) = post_auth(&r.path) {
            // Authenticate from the headers alone: the body is not touched (and no
            // `100 Continue` sent) unless the token is right.
            match app.authenticate(&parts.headers, ip, admin) {
                Ok(c) => r.caller = Some(c),
                Err(reply) => return reply.into_response(),
            }
            if let Some(ct) = parts.headers.get(header::CONTENT_TYPE) {
                let ct = String::from_utf8_lossy(ct.as_bytes());
                if !ct.to_ascii_lowercase().starts_with("application/json") {
                    return error(
                        415,
                        format!("Content-Type must be application/json, not {ct}"),
                    )
                    .into_response();
                }
            }
            let declared = parts
                .headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let Some(len) = declared else {
                return error(411, "a request body needs a Content-Length").into_response();
            };
            if len > app.max_body_bytes as u64 {
                let mut rep = error(
                    413,
                    format!(
                        "request body of {len} bytes is larger than the limit of {} bytes (--max-body-kib)",
                        app.max_body_bytes
                    ),
                );
                rep.extra.push(("Connection", "close".into()));
                return rep.into_response();
            }
            match axum::body::to_bytes(body, app.max_body_bytes).await {
                Ok(b) => r.body = b.to_vec(),
                Err(e) => {
                    return error(400, format!("could not read the request body: {e}"))
                        .into_response()
                }
            }
        }
    }
    let a = app.clone();
    let (method, target) = (r.method.clone(), r.path.clone());
    let reply = match tokio::task::spawn_blocking(move || a.route(&r)).await {
        Ok(rep) => rep,
        Err(e) => error(500, format!("internal error: {e}")),
    };
    if reply.status >= 500 {
        eprintln!("{method} {target} -> {}", reply.status);
    }
    reply.into_response()
}

impl App {
    /// The certificate registered for the lot of `path` less its `suffix`
    /// (`/01/<gtin>/10/<lot><suffix>`), or the reply saying why there is none: 400 for a
    /// malformed link, 404 for an unknown lot.
    pub(crate) fn registered(
        &self,
        path: &str,
        suffix: &str,
    ) -> Result<crate::store::StoredCertificate, Reply> {
        let link = &path[..path.len() - suffix.len()];
        let (gtin, lot) = match exoskin_batch::gs1::parse_path(link) {
            Ok(Some(x)) => x,
            Ok(None) => return Err(error(404, format!("expected /01/<GTIN>/10/<lot>{suffix}"))),
            Err(e) => return Err(error(400, e.to_string())),
        };
        match self.store.find(&gtin, &lot) {
            Ok(Some(s)) => Ok(s),
            Ok(None) => Err(error(
                404,
                format!("no certificate is registered for GTIN {gtin} lot {lot}"),
            )),
            Err(e) => Err(error(500, e.to_string())),
        }
    }

    /// The caller of a bearer token, or 401 (429 once a client sent too many wrong tokens).
    /// A right token is always accepted: the lockout stops only wrong tokens, so one issuer
    /// guessing (or mistyping) behind a shared address does not lock out the others there.
    fn authenticate(
        &self,
        headers: &HeaderMap,
        ip: IpAddr,
        admin: bool,
    ) -> std::result::Result<Caller, Reply> {
        let now = Instant::now();
        let unauthorized = |m: &str| {
            let mut r = error(401, m);
            r.extra.push(("WWW-Authenticate", "Bearer".into()));
            r
        };
        let h = headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("missing Authorization: Bearer <token>"))?;
        let h = h
            .to_str()
            .map_err(|_| unauthorized("Authorization must be `Bearer <token>`"))?;
        let token = h
            .strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("Authorization must be `Bearer <token>`"))?;
        let digest = sha256(token.as_bytes());
        let found = if admin {
            self.admin_token_sha256
                .filter(|d| ct_eq(&digest, d))
                .map(|_| Caller::Admin)
        } else {
            let mut found = None;
            for i in &self.issuers {
                if ct_eq(&digest, &i.token_sha256) && found.is_none() {
                    found = Some(Caller::Issuer(i.clone()));
                }
            }
            found
        };
        if let Some(c) = found {
            return Ok(c);
        }
        if let Err(wait) = self.limits.auth_allowed(ip, now) {
            return Err(too_many(
                "too many wrong tokens from your address; wait and try again",
                wait,
            ));
        }
        self.limits.auth_failed(ip, now);
        Err(unauthorized("invalid token"))
    }

    fn route(&self, req: &Req) -> Reply {
        let path = req.path.as_str();
        let get = req.method == Method::GET || req.method == Method::HEAD;
        let post = req.method == Method::POST;
        let method = req.method.as_str();
        match path {
            "/healthz" if get => match self.store.counts() {
                Ok(c) => json_reply(
                    200,
                    json!({"status": "ok", "backend": self.store.kind(), "counts": c}),
                ),
                Err(e) => error(503, e.to_string()),
            },
            "/api/v1/certificates" if post => self.publish(req),
            "/api/v1/revocations" if post => self.revoke(req),
            "/api/v1/revocations" if get => match self.store.revocations() {
                Ok(r) => json_reply(200, json!({ "revoked": r })),
                Err(e) => error(500, e.to_string()),
            },
            "/api/v1/audit" if get => self.audit(&req.query),
            "/api/v1/checkpoints" if post => self.checkpoint_now(),
            "/api/v1/checkpoints/latest" if get => self.latest_checkpoint(),
            "/api/v1/log/checkpoint" if get => self.log_checkpoint(),
            "/api/v1/log/proof/inclusion" if get => self.log_inclusion(&req.query),
            "/api/v1/log/proof/consistency" if get => self.log_consistency(&req.query),
            "/api/v1/links" if post => self.register_link(req),
            "/.well-known/gs1resolver" if get => self.resolver_description(req),
            crate::status::ALLOCATE_PATH if post => match Self::issuer(req) {
                Some(i) => refusal_or(self.status.allocate(self.store.as_ref(), &i.did), 201),
                None => error(401, "an issuer token is required"),
            },
            p if p.starts_with(crate::status::LIST_PATH) && get => {
                refusal_or(self.status.list(self.store.as_ref(), p), 200)
            }
            "/api/v1/certificates"
            | "/api/v1/revocations"
            | "/api/v1/audit"
            | "/api/v1/checkpoints"
            | "/api/v1/checkpoints/latest"
            | "/api/v1/log/checkpoint"
            | "/api/v1/log/proof/inclusion"
            | "/api/v1/log/proof/consistency"
            | "/api/v1/links"
            | "/.well-known/gs1resolver"
            | "/healthz" => error(405, format!("method {method} not allowed on {path}")),
            p if get && simulate::is_simulate_path(p) => self.simulate_batch(p),
            p if get && untp_route::is_untp_path(p) => self.untp_export(p),
            p if p.starts_with("/01/") => {
                if get {
                    self.resolve_gs1(req)
                } else {
                    error(405, "the resolver answers GET only")
                }
            }
            _ => {
                if req.json {
                    error(404, "not found: resolve /01/<GTIN>/10/<lot>")
                } else {
                    html_reply(
                        404,
                        html::message_page(
                            "Not found",
                            "Scan a batch QR code: /01/<GTIN>/10/<lot>",
                        ),
                    )
                }
            }
        }
    }

    fn issuer(req: &Req) -> Option<&Issuer> {
        match &req.caller {
            Some(Caller::Issuer(i)) => Some(i),
            _ => None,
        }
    }

    /// The body as JSON; duplicate keys anywhere are refused (the certificate reader's rule,
    /// [`exoskin_batch::jcs::parse_strict`], for certificates and revocations alike).
    fn read_json(req: &Req) -> std::result::Result<(String, Value), Reply> {
        let text =
            String::from_utf8(req.body.clone()).map_err(|_| error(400, "body is not UTF-8"))?;
        let v = exoskin_batch::jcs::parse_strict(&text).map_err(|e| {
            error(
                400,
                format!(
                    "malformed JSON at line {}, column {}: {e}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        Ok((text, v))
    }

    fn publish(&self, req: &Req) -> Reply {
        let Some(issuer) = Self::issuer(req) else {
            return error(401, "an issuer token is required");
        };
        let (text, cert) = match Self::read_json(req) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let v = match verify_signature(&cert, None) {
            Ok(v) => v,
            Err(e) => return error(422, e.to_string()),
        };
        if v.issuer_did != issuer.did {
            return error(
                403,
                format!(
                    "this token belongs to {} ({}); the certificate is issued by {}",
                    issuer.name, issuer.did, v.issuer_did
                ),
            );
        }
        if !issuer.authority.covers(&v.gtin) {
            return error(
                403,
                format!(
                    "{} may not certify GTIN {}: it is outside the GS1 company prefixes and GTINs the issuers file gives this issuer",
                    issuer.name, v.gtin
                ),
            );
        }
        // An expired certificate is refused; one not yet valid (the issuer's clock ahead of
        // ours) is stored, and the resolver says "not yet valid" until its time comes.
        if let Err(e @ VerifyError::Expired { .. }) = check_status(&v, Timestamp::now(), &[]) {
            return error(422, e.to_string());
        }
        let new = NewCertificate {
            id: v.id.clone(),
            gtin: v.gtin.clone(),
            lot: v.lot.clone(),
            issuer: v.issuer_did.clone(),
            valid_until: v.valid_until.to_string(),
            body: text,
        };
        let link = gs1::DigitalLink {
            gtin: v.gtin.clone(),
            lot: v.lot.clone(),
            expiry: None,
        };
        let status = match self
            .status
            .check_publish(self.store.as_ref(), &cert, &v.issuer_did)
        {
            Ok(s) => s,
            Err(r) => return error(r.status, r.message),
        };
        match self.store.publish_with_status(&new, status, &issuer.name) {
            Ok(PublishOutcome::Created { seq }) => {
                let mut r = json_reply(
                    201,
                    json!({"id": v.id, "path": link.path(), "auditSeq": seq}),
                );
                r.extra.push(("Location", link.path()));
                r
            }
            Ok(PublishOutcome::Unchanged) => json_reply(
                200,
                json!({"id": v.id, "path": link.path(), "unchanged": true}),
            ),
            Ok(PublishOutcome::Conflict(m)) => error(409, m),
            Err(e) => error(500, e.to_string()),
        }
    }

    fn revoke(&self, req: &Req) -> Reply {
        let Some(issuer) = Self::issuer(req) else {
            return error(401, "an issuer token is required");
        };
        let (_, body) = match Self::read_json(req) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
        let Some(reason) = field("reason").filter(|r| !r.trim().is_empty()) else {
            return error(400, "`reason` (a non-empty string) is required");
        };
        if reason.chars().count() > 500 {
            return error(400, "`reason` must be at most 500 characters");
        }
        let id = match (field("id"), field("gtin"), field("lot")) {
            (Some(id), _, _) => id,
            (None, Some(g), Some(l)) => {
                let gtin = match gs1::normalize_gtin(&g) {
                    Ok(x) => x,
                    Err(e) => return error(400, e.to_string()),
                };
                if let Err(e) = gs1::validate_lot(&l) {
                    return error(400, e.to_string());
                }
                match self.store.find(&gtin, &l) {
                    Ok(Some(c)) => c.id,
                    Ok(None) => {
                        return error(404, format!("no certificate for GTIN {gtin} lot {l}"))
                    }
                    Err(e) => return error(500, e.to_string()),
                }
            }
            _ => {
                return error(
                    400,
                    "give `id`, or `gtin` and `lot`, of the certificate to revoke",
                )
            }
        };
        if id.len() > 200 {
            return error(400, "`id` is too long");
        }
        match self.store.revoke(&id, &issuer.did, &reason, &issuer.name) {
            Ok(RevokeOutcome::Revoked { seq }) => {
                json_reply(200, json!({"id": id, "revoked": true, "auditSeq": seq}))
            }
            Ok(RevokeOutcome::AlreadyRevoked) => {
                json_reply(200, json!({"id": id, "revoked": true, "unchanged": true}))
            }
            Ok(RevokeOutcome::NotFound) => error(404, format!("no certificate with id {id}")),
            Ok(RevokeOutcome::NotIssuer) => {
                error(403, "only the certificate's issuer may revoke it")
            }
            Err(e) => error(500, e.to_string()),
        }
    }

    fn audit(&self, query: &str) -> Reply {
        let mut after = 0i64;
        let mut limit = 100i64;
        for kv in query.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let n: i64 = match v.parse() {
                Ok(n) if n >= 0 => n,
                _ => return error(400, format!("`{k}` must be a non-negative integer")),
            };
            match k {
                "after" => after = n,
                "limit" => limit = n.clamp(1, 1000),
                _ => return error(400, format!("unknown parameter `{k}` (use after, limit)")),
            }
        }
        match self.store.audit(after, limit) {
            Ok(e) => json_reply(200, json!({ "entries": e })),
            Err(e) => error(500, e.to_string()),
        }
    }

    /// Sign a checkpoint if the log grew past `last_seq`; the new head's sequence number.
    fn checkpoint_if_grown(&self, last_seq: i64) -> Result<Option<i64>> {
        let Some(head) = self.store.head()? else {
            return Ok(None);
        };
        if head.0 == last_seq {
            return Ok(None);
        }
        self.sign_checkpoint().map(|c| Some(c.seq))
    }

    fn sign_checkpoint(&self) -> Result<Checkpoint> {
        let key = self
            .registry_key
            .as_ref()
            .ok_or_else(|| RegistryError::invalid("the registry has no --registry-key"))?;
        let _one = self
            .checkpoint_lock
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // The log and the tables are checked first: a registry signs no state it cannot
        // account for.
        let report = store::verify_log(self.store.as_ref(), None)?;
        let (seq, hash) = report.head.unwrap_or((0, store::GENESIS_HASH.to_string()));
        // The tree proofs are served from (cached leaf hashes) must be the tree of the
        // entries themselves.
        {
            let mut tree = self.log_tree.lock().unwrap_or_else(|p| p.into_inner());
            crate::log::extend_tree(self.store.as_ref(), &mut tree)?;
            let n = (seq as u64).min(tree.size());
            if tree.root(n).ok() != report.tree.root(n).ok() {
                return Err(RegistryError::Tampered {
                    table: "log_leaves",
                    key: format!("up to {n}"),
                    problem: "do not give the tree of the audit entries: the Merkle log's cache was altered".into(),
                });
            }
        }
        let c = checkpoint::sign(key, seq, &hash, &report.state, Timestamp::now());
        self.store.save_checkpoint(&c)?;
        Ok(c)
    }

    fn checkpoint_now(&self) -> Reply {
        if self.registry_key.is_none() {
            return error(
                404,
                "checkpoints are off: start the registry with --registry-key and --admin-token-file",
            );
        }
        match self.sign_checkpoint() {
            Ok(c) => json_reply(201, serde_json::to_value(&c).unwrap_or(Value::Null)),
            Err(e) => error(500, e.to_string()),
        }
    }

    /// The Merkle tree, brought up to the end of the log.
    fn tree(&self) -> std::result::Result<std::sync::MutexGuard<'_, crate::merkle::Tree>, Reply> {
        let mut t = self.log_tree.lock().unwrap_or_else(|p| p.into_inner());
        crate::log::extend_tree(self.store.as_ref(), &mut t)
            .map_err(|e| error(500, e.to_string()))?;
        Ok(t)
    }

    fn log_checkpoint(&self) -> Reply {
        let Some(key) = &self.registry_key else {
            return error(
                404,
                "signed checkpoints are off: start the registry with --registry-key",
            );
        };
        let tree = match self.tree() {
            Ok(t) => t,
            Err(r) => return r,
        };
        let size = tree.size();
        let cp = crate::tlog::Checkpoint {
            origin: self.origin.clone(),
            size,
            root: tree.root(size).expect("own size"),
            extensions: Vec::new(),
        };
        drop(tree);
        match crate::tlog::sign_checkpoint(key, &self.origin, &cp) {
            Ok(note) => Reply {
                status: 200,
                content_type: "text/plain; charset=utf-8",
                body: note.into_bytes(),
                extra: Vec::new(),
            },
            Err(e) => error(500, e.to_string()),
        }
    }

    fn log_inclusion(&self, query: &str) -> Reply {
        let q = match LogQuery::parse(query, &["index", "entry", "certificate", "size"]) {
            Ok(q) => q,
            Err(r) => return r,
        };
        let tree = match self.tree() {
            Ok(t) => t,
            Err(r) => return r,
        };
        let n = tree.size();
        let size = match q.number("size") {
            Ok(Some(s)) if s > n => {
                return error(
                    404,
                    format!("the log has {n} entries: there is no tree of size {s} yet"),
                )
            }
            Ok(s) => s.unwrap_or(n),
            Err(r) => return r,
        };
        let given = ["index", "entry", "certificate"]
            .iter()
            .filter(|k| q.has(k))
            .count();
        if given != 1 {
            return error(
                400,
                "give one of index=I (the leaf, from 0), entry=SEQ (the audit entry, from 1) or certificate=ID",
            );
        }
        let index = if let Some(id) = q.text("certificate") {
            if id.is_empty() || id.len() > 200 {
                return error(
                    400,
                    "`certificate` must be a certificate id (1-200 characters)",
                );
            }
            match self.store.publish_seq(id) {
                Ok(Some(seq)) => seq as u64 - 1,
                Ok(None) => {
                    return error(404, format!("no audit entry publishes certificate {id}"))
                }
                Err(e) => return error(500, e.to_string()),
            }
        } else if q.has("entry") {
            match q.number("entry") {
                Ok(Some(0)) => return error(400, "audit entries are numbered from 1"),
                Ok(Some(seq)) => seq - 1,
                Ok(None) => unreachable!("present"),
                Err(r) => return r,
            }
        } else {
            match q.number("index") {
                Ok(Some(i)) => i,
                Ok(None) => unreachable!("present"),
                Err(r) => return r,
            }
        };
        if index >= n {
            return error(
                404,
                format!(
                    "no leaf {index}: the log has {n} entries (leaves 0 to {})",
                    n as i128 - 1
                ),
            );
        }
        if index >= size {
            return error(
                400,
                format!(
                    "leaf {index} is not in the tree of size {size}: give a size above {index}"
                ),
            );
        }
        let entry = match crate::log::entry_at(self.store.as_ref(), index) {
            Ok(Some(e)) => e,
            Ok(None) => return error(500, format!("audit entry {} is missing", index + 1)),
            Err(e) => return error(500, e.to_string()),
        };
        match crate::log::inclusion_json(&tree, index, size, &entry) {
            Ok(mut v) => {
                v["origin"] = json!(self.origin);
                json_reply(200, v)
            }
            Err(e) => error(500, e.to_string()),
        }
    }

    fn log_consistency(&self, query: &str) -> Reply {
        let q = match LogQuery::parse(query, &["old", "size"]) {
            Ok(q) => q,
            Err(r) => return r,
        };
        let tree = match self.tree() {
            Ok(t) => t,
            Err(r) => return r,
        };
        let n = tree.size();
        let (old, size) = match (q.number("old"), q.number("size")) {
            (Ok(Some(o)), Ok(s)) => (o, s.unwrap_or(n)),
            (Ok(None), _) => return error(400, "give old=M, the size of the earlier tree"),
            (Err(r), _) | (_, Err(r)) => return r,
        };
        if size > n {
            return error(
                404,
                format!("the log has {n} entries: there is no tree of size {size} yet"),
            );
        }
        if old > size {
            return error(
                400,
                format!("old={old} is larger than size={size}: the earlier tree comes first"),
            );
        }
        match crate::log::consistency_json(&tree, old, size) {
            Ok(mut v) => {
                v["origin"] = json!(self.origin);
                json_reply(200, v)
            }
            Err(e) => error(500, e.to_string()),
        }
    }

    fn latest_checkpoint(&self) -> Reply {
        match self.store.latest_checkpoint() {
            Ok(Some(c)) => json_reply(200, serde_json::to_value(&c).unwrap_or(Value::Null)),
            Ok(None) => error(404, "no checkpoint has been signed yet"),
            Err(e) => error(500, e.to_string()),
        }
    }

    /// Verify a stored certificate's signature, once per distinct stored bytes.
    fn verified(&self, body: &str, cert: &Value) -> std::result::Result<Verified, VerifyError> {
        let key = sha256(body.as_bytes());
        let mut cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = cache.get(&key) {
            return Ok(v.clone());
        }
        drop(cache);
        let v = verify_signature(cert, None)?;
        cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= VERIFIED_CACHE {
            cache.clear();
        }
        cache.insert(key, v.clone());
        Ok(v)
    }

    /// The registry's name for an issuer `did`, never the certificate's own claim.
    fn issuer_label(&self, did: &str) -> String {
        match self.issuers.iter().find(|i| i.did == did) {
            Some(i) => i.name.clone(),
            None => format!("an issuer this registry does not list ({did})"),
        }
    }

    fn resolve(&self, req: &Req, path: &str) -> Reply {
        let json = req.json;
        let fail = |status: u16, title: &str, msg: String| {
            if json {
                error(status, msg)
            } else {
                html_reply(status, html::message_page(title, &msg))
            }
        };
        let (gtin, lot) = match gs1::parse_path(path) {
            Ok(Some(x)) => x,
            Ok(None) => return fail(404, "Not found", "expected /01/<GTIN>/10/<lot>".into()),
            Err(e) => return fail(400, "Bad link", e.to_string()),
        };
        // The link's expiry (AI 17), if any.
        let mut link_expiry = None;
        for kv in req.query.split('&').filter(|s| !s.is_empty()) {
            if let Some(v) = kv.strip_prefix("17=") {
                match gs1::parse_yymmdd(v) {
                    Ok(d) => link_expiry = Some(d),
                    Err(e) => return fail(400, "Bad link", format!("AI 17 (expiry): {e}")),
                }
            }
        }
        let stored = match self.store.find(&gtin, &lot) {
            Ok(Some(s)) => s,
            Ok(None) => {
                return fail(
                    404,
                    "No certificate",
                    format!("No certificate is registered for GTIN {gtin} lot {lot}. Ask the brand for a batch report."),
                )
            }
            Err(e) => return fail(500, "Registry error", e.to_string()),
        };
        let cert: Value = match exoskin_batch::cert::parse_certificate(&stored.body) {
            Ok(v) => v,
            Err(e) => {
                return fail(
                    500,
                    "Registry error",
                    format!("the stored certificate does not read: {e}"),
                )
            }
        };
        let revs: Vec<_> = stored.revocation.iter().cloned().collect();
        let checked = self.verified(&stored.body, &cert).and_then(|v| {
            if v.gtin != gtin || v.lot != lot || v.id != stored.id {
                return Err(VerifyError::Malformed(
                    "stored row does not match the certificate".into(),
                ));
            }
            Ok(v)
        });
        let v = match checked {
            Ok(v) => v,
            Err(e) => {
                return fail(
                    500,
                    "Certificate invalid",
                    format!("the stored certificate does not verify: {e}"),
                )
            }
        };
        let cert_expiry = v.valid_until.date();
        let status = match check_status(&v, Timestamp::now(), &revs) {
            Ok(()) => match link_expiry {
                Some(d) if d != cert_expiry => Status::ExpiryMismatch {
                    link: d.to_string(),
                    certificate: cert_expiry.to_string(),
                },
                _ => Status::Valid,
            },
            Err(VerifyError::Revoked { .. }) => match stored.revocation.as_ref() {
                Some(r) => Status::Revoked {
                    reason: &r.reason,
                    at: &r.revoked_at,
                },
                None => Status::Invalid("revoked".into()),
            },
            Err(VerifyError::Expired { .. }) => Status::Expired,
            Err(VerifyError::NotYetValid { .. }) => Status::NotYetValid,
            Err(e) => Status::Invalid(e.to_string()),
        };
        let issuer_name = self.issuer_label(&v.issuer_did);
        if json {
            json_reply(
                200,
                json!({
                    "status": status.code(),
                    "gtin": v.gtin, "lot": v.lot,
                    "issuer": {"id": v.issuer_did, "name": issuer_name, "claimedName": v.issuer_name},
                    "validUntil": v.valid_until.to_string(),
                    "linkExpiry": link_expiry.map(|d| d.to_string()),
                    "assessmentPass": v.assessment_pass,
                    "revocation": stored.revocation,
                    "credentialStatus": self.status.describe(self.store.as_ref(), &cert),
                    "publishedAt": stored.published_at,
                    "certificate": cert,
                }),
            )
        } else {
            html_reply(
                200,
                html::certificate_page(&cert, &v, &status, &issuer_name),
            )
        }
    }
}

/// A JSON answer with `status`, or the refusal's status and message.
fn refusal_or(r: std::result::Result<Value, crate::status::Refusal>, status: u16) -> Reply {
    match r {
        Ok(v) => json_reply(status, v),
        Err(r) => error(r.status, r.message),
    }
}

/// The query of a log request: known keys only, each at most once; numbers are decimal.
struct LogQuery(Vec<(String, String)>);

impl LogQuery {
    fn parse(query: &str, allowed: &[&str]) -> std::result::Result<LogQuery, Reply> {
        let mut out: Vec<(String, String)> = Vec::new();
        for kv in query.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let v = percent_decode(v)
                .ok_or_else(|| error(400, format!("`{k}`: a bad percent escape")))?;
            if !allowed.contains(&k) {
                let k = k.chars().take(40).collect::<String>();
                return Err(error(
                    400,
                    format!("unknown parameter `{k}` (use {})", allowed.join(", ")),
                ));
            }
            if out.iter().any(|(x, _)| x == k) {
                return Err(error(400, format!("`{k}` is given twice")));
            }
            out.push((k.to_string(), v));
        }
        Ok(LogQuery(out))
    }

    fn has(&self, k: &str) -> bool {
        self.0.iter().any(|(x, _)| x == k)
    }

    fn text(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str())
    }

    /// A whole number 0 or more (at most 18 digits), if given.
    fn number(&self, k: &str) -> std::result::Result<Option<u64>, Reply> {
        let Some(v) = self.text(k) else {
            return Ok(None);
        };
        if v.is_empty() || v.len() > 18 || !v.bytes().all(|c| c.is_ascii_digit()) {
            let shown: String = v.chars().take(40).collect();
            return Err(error(
                400,
                format!(
                    "`{k}` must be a whole number, 0 or more; got `{}`",
                    shown.escape_debug()
                ),
            ));
        }
        Ok(v.parse().ok())
    }
}

/// Decode `%XX` escapes (and `+` as a space) of a query value; `None` for a bad escape or
/// bytes that are not UTF-8.
fn percent_decode(v: &str) -> Option<String> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                if !h.bytes().all(|c| c.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(u8::from_str_radix(h, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Issuers from an issuers file and/or one `(public key file, token file)` pair.
pub fn load_issuers(
    issuers_file: Option<&Path>,
    single: Option<(&Path, &Path)>,
) -> Result<Vec<Issuer>> {
    let mut out = Vec::new();
    if let Some(p) = issuers_file {
        let text = std::fs::read_to_string(p).map_err(|e| RegistryError::io(p, e))?;
        out.extend(parse_issuers(&text, &p.display().to_string())?);
    }
    if let Some((pubkey, token_file)) = single {
        if !out.is_empty() {
            return Err(RegistryError::invalid(
                "give --issuers, or --issuer-pubkey with --token-file, not both",
            ));
        }
        let key = exoskin_batch::keys::read_public_key(pubkey)?;
        let token = read_token(token_file)?;
        out.push(Issuer {
            // The key file's name without its extensions (`lab.key.pub` -> `lab`) until the
            // operator names the issuer.
            name: crate::html::clean_text(
                pubkey
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
                    .trim_end_matches(".key"),
            ),
            did: exoskin_batch::keys::did_key(&key),
            token_sha256: sha256(token.as_bytes()),
            authority: Authority::Any,
        });
    }
    Ok(out)
}

/// A bearer token from a file (first line, trimmed; at least 16 characters).
pub fn read_token(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| RegistryError::io(path, e))?;
    let t = text.lines().next().unwrap_or("").trim().to_string();
    if t.len() < 16 || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RegistryError::invalid(format!(
            "{}: a token must be one line of at least 16 non-space characters",
            path.display()
        )));
    }
    Ok(t)
}

/// Start the server, print where it listens, and serve until SIGTERM or Ctrl-C; then stop
/// accepting, finish the requests in flight and return.
pub fn serve_forever(cfg: ServerConfig) -> Result<()> {
    let issuers = cfg.issuers.len();
    let db = if cfg.db.starts_with("postgres") {
        "PostgreSQL".to_string()
    } else {
        format!("SQLite {}", cfg.db)
    };
    let scheme = if cfg.tls.is_some() { "https" } else { "http" };
    let s = start_with(cfg, true)?;
    println!(
        "exoskin registry listening on {scheme}://{} ({db}, {issuers} issuer(s))",
        s.addr
    );
    // The second line may find its reader gone (one that wanted only the address): that
    // is no reason to stop serving.
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = match &s.log_vkey {
        Some(v) => writeln!(
            out,
            "Merkle log {}: checkpoints verify with {v}",
            s.log_origin
        ),
        None => writeln!(
            out,
            "Merkle log {}: no --registry-key, so no signed checkpoints",
            s.log_origin
        ),
    };
    let _ = out.flush();
    s.wait();
    Ok(())
}
