//! The registry and GS1 Digital Link resolver over HTTP ([`crate::http`]: a thread per
//! connection, keep-alive, body limits).
//!
//! | method | path | auth | what |
//! |---|---|---|---|
//! | GET | `/01/<gtin>/10/<lot>` | none | the certificate page (HTML), or JSON with `Accept: application/json` |
//! | POST | `/api/v1/certificates` | issuer token | publish a signed certificate (body: the certificate JSON) |
//! | POST | `/api/v1/revocations` | issuer token | revoke: `{"id": ..., "reason": ...}` or `{"gtin", "lot", "reason"}` |
//! | GET | `/api/v1/revocations` | none | the revocation list (what `exoskin batch verify --revocations` reads) |
//! | GET | `/api/v1/audit?after=N&limit=M` | none | the audit log, hash-chained |
//! | GET | `/healthz` | none | liveness and row counts |
use crate::error::{RegistryError, Result};
use crate::html::{self, Status};
use crate::http::{HttpServer, Limits, Request, Response};
use crate::store::{self, NewCertificate, PublishOutcome, RevokeOutcome, Store};
use exoskin_batch::cert::{check_status, verify_signature, VerifyError};
use exoskin_batch::date::Timestamp;
use exoskin_batch::gs1;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::Arc;

/// An issuer allowed to publish: its `did:key` and the SHA-256 of its bearer token.
#[derive(Debug, Clone)]
pub struct Issuer {
    pub name: String,
    pub did: String,
    pub token_sha256: [u8; 32],
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
    name: String,
    /// `did:key:z6Mk...` (what `exoskin batch keygen` prints).
    did: String,
    /// Hex SHA-256 of the token: `printf %s "$TOKEN" | sha256sum`.
    token_sha256: String,
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Parse an issuers file.
pub fn parse_issuers(text: &str, what: &str) -> Result<Vec<Issuer>> {
    let f: IssuersFile =
        toml::from_str(text).map_err(|e| RegistryError::invalid(format!("{what}: {e}")))?;
    f.issuer
        .into_iter()
        .map(|e| {
            exoskin_batch::keys::did_key_to_public(&e.did).map_err(|err| {
                RegistryError::invalid(format!("{what}: issuer {}: {err}", e.name))
            })?;
            let h = e.token_sha256.trim();
            if h.len() != 64 || !h.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(RegistryError::invalid(format!(
                    "{what}: issuer {}: token_sha256 must be 64 hex digits",
                    e.name
                )));
            }
            let mut t = [0u8; 32];
            for (i, b) in t.iter_mut().enumerate() {
                *b = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).expect("hex checked");
            }
            Ok(Issuer {
                name: e.name,
                did: e.did,
                token_sha256: t,
            })
        })
        .collect()
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
}

impl ServerConfig {
    pub fn new(listen: &str, db: &str, issuers: Vec<Issuer>) -> ServerConfig {
        ServerConfig {
            listen: listen.into(),
            db: db.into(),
            issuers,
            threads: 8,
            max_body_bytes: 256 * 1024,
        }
    }
}

struct App {
    store: Box<dyn Store>,
    issuers: Vec<Issuer>,
}

/// A running server.
pub struct RunningServer {
    pub addr: SocketAddr,
    http: HttpServer,
}

impl RunningServer {
    /// Block until the server stops (it stops only on [`RunningServer::shutdown`] or exit).
    pub fn wait(self) {
        self.http.wait()
    }

    pub fn shutdown(self) {
        self.http.shutdown()
    }
}

/// Open the store, bind and start serving.
pub fn start(cfg: ServerConfig) -> Result<RunningServer> {
    let store = store::open(&cfg.db, cfg.threads)?;
    let listener = std::net::TcpListener::bind(&cfg.listen)
        .map_err(|e| RegistryError::invalid(format!("cannot listen on {}: {e}", cfg.listen)))?;
    let app = Arc::new(App {
        store,
        issuers: cfg.issuers,
    });
    let limits = Limits {
        max_body_bytes: cfg.max_body_bytes,
        ..Limits::default()
    };
    let http = HttpServer::start(
        listener,
        limits,
        Arc::new(move |req: &Request| app.handle(req)),
    )
    .map_err(|e| RegistryError::invalid(format!("cannot listen on {}: {e}", cfg.listen)))?;
    Ok(RunningServer {
        addr: http.addr,
        http,
    })
}

struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    extra: Option<(&'static str, String)>,
}

fn json_reply(status: u16, v: Value) -> Reply {
    let mut body = serde_json::to_vec_pretty(&v).expect("a Value serializes");
    body.push(b'\n');
    Reply {
        status,
        content_type: "application/json",
        body,
        extra: None,
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
        extra: None,
    }
}

fn wants_json(req: &Request) -> bool {
    req.header("Accept").is_some_and(|a| {
        let a = a.to_ascii_lowercase();
        (a.contains("application/json") || a.contains("application/ld+json"))
            && !a.starts_with("text/html")
    })
}

/// Constant-time equality of two digests.
fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl App {
    fn handle(&self, req: &Request) -> Response {
        let reply = self.route(req);
        if reply.status >= 500 {
            eprintln!("{} {} -> {}", req.method, req.target, reply.status);
        }
        let mut resp = Response::new(reply.status, reply.content_type, reply.body);
        resp.headers
            .push(("X-Content-Type-Options", "nosniff".into()));
        resp.headers.push(("Cache-Control", "no-store".into()));
        if reply.content_type.starts_with("text/html") {
            resp.headers.push((
                "Content-Security-Policy",
                "default-src 'none'; style-src 'unsafe-inline'".into(),
            ));
        }
        if let Some(extra) = reply.extra {
            resp.headers.push(extra);
        }
        resp
    }

    fn route(&self, req: &Request) -> Reply {
        let (path, query) = req.target.split_once('?').unwrap_or((&req.target, ""));
        let method = req.method.as_str();
        let get = method == "GET" || method == "HEAD";
        match path {
            "/healthz" if get => match self.store.counts() {
                Ok(c) => json_reply(
                    200,
                    json!({"status": "ok", "backend": self.store.kind(), "counts": c}),
                ),
                Err(e) => error(503, e.to_string()),
            },
            "/api/v1/certificates" if method == "POST" => self.publish(req),
            "/api/v1/revocations" if method == "POST" => self.revoke(req),
            "/api/v1/revocations" if get => match self.store.revocations() {
                Ok(r) => json_reply(200, json!({ "revoked": r })),
                Err(e) => error(500, e.to_string()),
            },
            "/api/v1/audit" if get => self.audit(query),
            "/api/v1/certificates" | "/api/v1/revocations" | "/api/v1/audit" | "/healthz" => {
                error(405, format!("method {method} not allowed on {path}"))
            }
            p if p.starts_with("/01/") => {
                if get {
                    self.resolve(req, p)
                } else {
                    error(405, "the resolver answers GET only")
                }
            }
            _ => {
                if wants_json(req) {
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

    /// Authenticate the bearer token; the matching issuer, or an error reply.
    fn auth(&self, req: &Request) -> std::result::Result<&Issuer, Reply> {
        let unauthorized = |m: &str| {
            let mut r = error(401, m);
            r.extra = Some(("WWW-Authenticate", "Bearer".into()));
            r
        };
        let h = req
            .header("Authorization")
            .ok_or_else(|| unauthorized("missing Authorization: Bearer <token>"))?;
        let token = h
            .strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthorized("Authorization must be `Bearer <token>`"))?;
        let digest = sha256(token.as_bytes());
        let mut found = None;
        for i in &self.issuers {
            if ct_eq(&digest, &i.token_sha256) && found.is_none() {
                found = Some(i);
            }
        }
        found.ok_or_else(|| unauthorized("invalid token"))
    }

    fn read_json(&self, req: &Request) -> std::result::Result<(String, Value), Reply> {
        if let Some(ct) = req.header("Content-Type") {
            if !ct.to_ascii_lowercase().starts_with("application/json") {
                return Err(error(
                    415,
                    format!("Content-Type must be application/json, not {ct}"),
                ));
            }
        }
        // The HTTP layer refused bodies over the limit before reading them.
        let buf = req.body.clone();
        let text = String::from_utf8(buf).map_err(|_| error(400, "body is not UTF-8"))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| {
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

    /// Authenticate, then read the JSON body: (issuer, body text, parsed body).
    fn authed_json(&self, req: &Request) -> std::result::Result<(Issuer, String, Value), Reply> {
        let issuer = self.auth(req)?.clone();
        let (text, v) = self.read_json(req)?;
        Ok((issuer, text, v))
    }

    fn publish(&self, req: &Request) -> Reply {
        let (issuer, text, cert) = match self.authed_json(req) {
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
        match self.store.publish(&new, &issuer.name) {
            Ok(PublishOutcome::Created { seq }) => {
                let mut r = json_reply(
                    201,
                    json!({"id": v.id, "path": link.path(), "auditSeq": seq}),
                );
                r.extra = Some(("Location", link.path()));
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

    fn revoke(&self, req: &Request) -> Reply {
        let (issuer, _, body) = match self.authed_json(req) {
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

    fn resolve(&self, req: &Request, path: &str) -> Reply {
        let json = wants_json(req);
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
        let cert: Value = match serde_json::from_str(&stored.body) {
            Ok(v) => v,
            Err(e) => {
                return fail(
                    500,
                    "Registry error",
                    format!("stored certificate is not JSON: {e}"),
                )
            }
        };
        let revs: Vec<_> = stored.revocation.iter().cloned().collect();
        let checked = verify_signature(&cert, None).and_then(|v| {
            if v.gtin != gtin || v.lot != lot || v.id != stored.id {
                return Err(VerifyError::Malformed(
                    "stored row does not match the certificate".into(),
                ));
            }
            Ok(v)
        });
        let (v, status) = match checked {
            Ok(v) => {
                let st = match check_status(&v, Timestamp::now(), &revs) {
                    Ok(()) => Status::Valid,
                    Err(VerifyError::Revoked { .. }) => {
                        let r = stored
                            .revocation
                            .as_ref()
                            .expect("revoked implies a revocation");
                        Status::Revoked {
                            reason: &r.reason,
                            at: &r.revoked_at,
                        }
                    }
                    Err(VerifyError::Expired { .. }) => Status::Expired,
                    Err(VerifyError::NotYetValid { .. }) => Status::NotYetValid,
                    Err(e) => Status::Invalid(e.to_string()),
                };
                (v, st)
            }
            Err(e) => {
                return fail(
                    500,
                    "Certificate invalid",
                    format!("the stored certificate does not verify: {e}"),
                )
            }
        };
        if json {
            json_reply(
                200,
                json!({
                    "status": status.code(),
                    "gtin": v.gtin, "lot": v.lot,
                    "issuer": {"id": v.issuer_did, "name": v.issuer_name},
                    "validUntil": v.valid_until.to_string(),
                    "assessmentPass": v.assessment_pass,
                    "revocation": stored.revocation,
                    "publishedAt": stored.published_at,
                    "certificate": cert,
                }),
            )
        } else {
            html_reply(200, html::certificate_page(&cert, &v, &status))
        }
    }
}

/// Issuers from an issuers file and/or one `(public key file, token file)` pair.
pub fn load_issuers(
    issuers_file: Option<&std::path::Path>,
    single: Option<(&std::path::Path, &std::path::Path)>,
) -> Result<Vec<Issuer>> {
    let mut out = Vec::new();
    if let Some(p) = issuers_file {
        let text = std::fs::read_to_string(p).map_err(|e| RegistryError::io(p, e))?;
        out.extend(parse_issuers(&text, &p.display().to_string())?);
    }
    if let Some((pubkey, token_file)) = single {
        let key = exoskin_batch::keys::read_public_key(pubkey)?;
        let token = read_token(token_file)?;
        out.push(Issuer {
            name: pubkey
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            did: exoskin_batch::keys::did_key(&key),
            token_sha256: sha256(token.as_bytes()),
        });
    }
    Ok(out)
}

/// A bearer token from a file (first line, trimmed; at least 16 characters).
pub fn read_token(path: &std::path::Path) -> Result<String> {
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

/// Start the server, print where it listens, and serve until the process ends.
pub fn serve_forever(cfg: ServerConfig) -> Result<()> {
    let issuers = cfg.issuers.len();
    let db = if cfg.db.starts_with("postgres") {
        "PostgreSQL".to_string()
    } else {
        format!("SQLite {}", cfg.db)
    };
    let s = start(cfg)?;
    println!(
        "exoskin registry listening on http://{} ({db}, {issuers} issuer(s))",
        s.addr
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();
    s.wait();
    Ok(())
}
