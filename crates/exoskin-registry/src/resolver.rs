//! The GS1-Conformant resolver over the registry (GS1-Conformant Resolver Standard, Release
//! 1.2.0, GS1, ratified January 2026; GS1 Digital Link URI Syntax 1.4): GTIN, GTIN + lot and
//! GTIN + lot + serial paths, link types, RFC 9264 linksets, RFC 8288 `Link` headers and the
//! resolver description at `/.well-known/gs1resolver`.
//!
//! | link type | at | what |
//! |---|---|---|
//! | `gs1:certificationInfo` | lot (default), serial | the lot's certificate page (HTML) or JSON |
//! | `gs1:recallStatus` | lot, serial | whether the lot is recalled (its certificate revoked) |
//! | `gs1:pip` | GTIN (default) | the product's lots with their certificates and status |
//! | `gs1:leaflet` | GTIN or lot, when an issuer registered one | 307 to the registered URL |
//!
//! Redirects: a target this server serves at the requested path is answered directly (200)
//! so existing QR codes and clients keep getting the page or JSON they got; a target at
//! another URL gets a `307 Temporary Redirect` to it, as GS1 resolvers answer (a lot's
//! `gs1:pip` to the GTIN's product page, a registered leaflet to the issuer's URL). A serial
//! path has no serial-level data here: it answers with the lot's, and says so.
//!
//! This module is a child of [`crate::server`]: it answers with the server's replies and
//! reads the store, the certificate check and the issuers' names through `App`.
use super::{error, html_reply, json_reply, percent_decode, App, Reply, Req};
use crate::html;
use crate::store::{links, LinkOutcome, LinkRow, LotSummary, NewLink};
use axum::http::{header, HeaderMap, Method};
use exoskin_batch::date::Timestamp;
use exoskin_batch::gs1::{self, KeyPath};
use maud::{html as page_html, PreEscaped};
use serde_json::{json, Map, Value};

// The link types and `?linkType=` values live with the other GS1 Digital Link syntax in
// exoskin-batch (`exoskin batch uri --link-type` checks them without the server).
pub use exoskin_batch::gs1::{parse_link_type, LinkType, Wanted, VOC};

/// The media type of an RFC 9264 linkset in JSON.
pub const LINKSET_JSON: &str = "application/linkset+json";

/// How many lots the product page lists (assumption: a product page longer than this is of
/// no use on a phone; the JSON says when the list is cut).
const PIP_MAX_LOTS: i64 = 1000;

/// Where this resolver says it lives: `--resolver-root`, or the scheme and the request's
/// `Host` (when it is a plain host[:port]), or the address it listens on.
#[derive(Debug, Clone)]
pub struct Root {
    fixed: Option<String>,
    scheme: &'static str,
    fallback: String,
}

impl Root {
    /// `fixed`: an http(s) URL with no path, query or fragment (checked here).
    pub fn new(
        fixed: Option<&str>,
        tls: bool,
        addr: std::net::SocketAddr,
    ) -> crate::error::Result<Root> {
        let scheme = if tls { "https" } else { "http" };
        let fixed = match fixed {
            Some(r) => {
                let r = r.trim().trim_end_matches('/');
                let host = r
                    .strip_prefix("https://")
                    .or_else(|| r.strip_prefix("http://"));
                match host {
                    Some(h) if is_host(h) => Some(r.to_string()),
                    _ => {
                        return Err(crate::RegistryError::invalid(format!(
                            "--resolver-root `{r}` must be an http(s) URL with a host and no path, such as https://id.example.com"
                        )))
                    }
                }
            }
            None => None,
        };
        Ok(Root {
            fixed,
            scheme,
            fallback: format!("{scheme}://{addr}"),
        })
    }

    /// The root URL for a request.
    pub fn url(&self, headers: &HeaderMap) -> String {
        if let Some(f) = &self.fixed {
            return f.clone();
        }
        match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
            Some(h) if is_host(h) => format!("{}://{h}", self.scheme),
            _ => self.fallback.clone(),
        }
    }
}

/// A host name or address with an optional port: letters, digits, `.-:[]`, at most 255.
fn is_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
}

/// One link of a linkset.
#[derive(Debug, Clone)]
struct Link {
    rel: LinkType,
    href: String,
    title: String,
    /// Media type of the target, when known.
    media: Option<&'static str>,
    /// Served by this resolver (not a registered URL elsewhere).
    local: bool,
}

/// What the registry holds for a key: the lot's certificate (when the path names a lot),
/// the GTIN's lots and its current links.
struct Holdings {
    key: KeyPath,
    lot_found: bool,
    lots: Vec<LotSummary>,
    links: Vec<LinkRow>,
}

/// Why a resolver request's query is refused (400): `linkType` is the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum QueryError {
    #[error("`linkType` is given twice")]
    LinkTypeTwice,
    #[error("`linkType`: a bad percent escape (`%` must be followed by two hex digits)")]
    BadEscape,
}

/// The query of a resolver request: `linkType` (at most once); every other parameter is a
/// GS1 data attribute (`17` is checked by the certificate answer) or unknown, and ignored.
fn read_query(query: &str) -> Result<Wanted, QueryError> {
    let mut wanted = Wanted::Default;
    let mut seen = false;
    for kv in query.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        if k != "linkType" {
            continue;
        }
        if seen {
            return Err(QueryError::LinkTypeTwice);
        }
        seen = true;
        let v = percent_decode(v).ok_or(QueryError::BadEscape)?;
        wanted = parse_link_type(&v);
    }
    Ok(wanted)
}

/// Whether the client asked for a linkset by `Accept`.
fn accepts_linkset(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.to_ascii_lowercase().contains(LINKSET_JSON))
}

fn linkset_reply(status: u16, v: Value) -> Reply {
    let mut r = json_reply(status, v);
    r.content_type = LINKSET_JSON;
    r
}

fn redirect(to: &str, linkset: &str) -> Reply {
    let mut r = json_reply(307, json!({ "location": to }));
    r.extra.push(("Location", to.to_string()));
    r.extra.push(("Link", linkset_header(linkset)));
    r
}

/// An RFC 8288 `Link` header naming the linkset.
fn linkset_header(linkset_url: &str) -> String {
    format!("<{linkset_url}>; rel=\"linkset\"; type=\"{LINKSET_JSON}\"")
}

impl App {
    /// `GET /01/...`: the key's default link, the one `?linkType=` names, or its linkset.
    pub(super) fn resolve_gs1(&self, req: &Req) -> Reply {
        let json = req.json;
        let fail = |status: u16, title: &str, msg: String| {
            if json || accepts_linkset(&req.headers) {
                error(status, msg)
            } else {
                html_reply(status, html::message_page(title, &msg))
            }
        };
        let key = match gs1::parse_key_path(&req.path) {
            Ok(Some(k)) => k,
            Ok(None) => {
                return fail(
                    404,
                    "Not found",
                    "expected /01/<GTIN>[/10/<lot>[/21/<serial>]]".into(),
                )
            }
            Err(e) => return fail(400, "Bad link", e.to_string()),
        };
        let wanted = match read_query(&req.query) {
            Ok(w) => w,
            Err(e) => return fail(400, "Bad link", e.to_string()),
        };
        let root = self.resolver_root.url(&req.headers);
        let anchor = format!("{root}{}", key.path());
        let linkset_url = format!("{anchor}?linkType=all");
        // The default link of a lot path is its certificate, answered as before links
        // existed (the QR codes on bottles carry this path).
        if wanted == Wanted::Default && key.lot.is_some() && !accepts_linkset(&req.headers) {
            let mut r = self.certificate_answer(req, &key);
            r.extra.push(("Link", linkset_header(&linkset_url)));
            return r;
        }
        let held = match self.holdings(key) {
            Ok(h) => h,
            Err(e) => return fail(500, "Registry error", e.to_string()),
        };
        let links = available(&held, &root);
        let wanted = if accepts_linkset(&req.headers) && wanted == Wanted::Default {
            Wanted::Linkset
        } else {
            wanted
        };
        let target = match &wanted {
            Wanted::Linkset => {
                if links.is_empty() {
                    return fail(404, "Not found", nothing_here(&held.key));
                }
                return linkset_reply(200, linkset(&anchor, &links, default_of(&held.key)));
            }
            Wanted::Default => default_of(&held.key),
            Wanted::Named(l) => *l,
            Wanted::Unknown(_) => {
                return self.unavailable(req, &held, &anchor, &links, &wanted);
            }
        };
        let Some(link) = links.iter().find(|l| l.rel == target).cloned() else {
            return self.unavailable(req, &held, &anchor, &links, &wanted);
        };
        let here = key_level_path(&held.key, target);
        let mut r = if !link.local {
            return redirect(&link.href, &linkset_url);
        } else if here.as_deref() != Some(&*held.key.path())
            && !(held.key.serial.is_some() && here == held.key.lot_path())
        {
            // Served by this resolver, at another path (a lot's product page).
            return redirect(&link.href, &linkset_url);
        } else {
            match target {
                LinkType::CertificationInfo => self.certificate_answer(req, &held.key),
                LinkType::RecallStatus => self.recall_answer(req, &held.key),
                LinkType::Pip => self.product_answer(req, &held, &links, &anchor),
                LinkType::Leaflet => return redirect(&link.href, &linkset_url),
            }
        };
        r.extra.push(("Link", linkset_header(&linkset_url)));
        r
    }

    /// `GET /.well-known/gs1resolver`: the resolver description (GS1-Conformant Resolver
    /// Standard 1.2.0, the resolver description file and its JSON schema
    /// `description-file-schema` 1.2.0).
    pub(super) fn resolver_description(&self, req: &Req) -> Reply {
        let root = self.resolver_root.url(&req.headers);
        json_reply(
            200,
            json!({
                "name": "exoskin batch certificate registry",
                "resolverRoot": root,
                "supportedPrimaryKeys": ["01"],
                "supportedLinkType": [{"namespace": VOC, "prefix": "gs1:"}],
                "linkTypeDefaultCanBeLinkset": false,
                "supportedContextValuesEnumerated": [],
                "supportedContextValuesExternal": [],
            }),
        )
    }

    /// `POST /api/v1/links` (issuer token): register a `gs1:leaflet` for a GTIN the issuer
    /// may certify, or for one of its own lots. 201 registered, 200 the same link again.
    pub(super) fn register_link(&self, req: &Req) -> Reply {
        let Some(issuer) = Self::issuer(req) else {
            return error(401, "an issuer token is required");
        };
        let (_, body) = match Self::read_json(req) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let l = match read_link_request(&body) {
            Ok(l) => l,
            Err(e) => return error(400, e.to_string()),
        };
        if !issuer.authority.covers(&l.gtin) {
            return error(
                403,
                format!(
                    "GTIN {} is not among the GTINs this issuer may certify",
                    l.gtin
                ),
            );
        }
        let new = NewLink {
            gtin: l.gtin.clone(),
            lot: l.lot.clone(),
            link_type: l.link_type.uri(),
            href: l.href.clone(),
            title: l.title.clone(),
            issuer: issuer.did.clone(),
        };
        let path = if l.lot.is_empty() {
            format!("/01/{}", l.gtin)
        } else {
            format!("/01/{}/10/{}", l.gtin, gs1::percent_encode(&l.lot))
        };
        let at = format!("{path}?linkType={}", l.link_type.curie());
        match self.store.register_link(&new, &issuer.name) {
            Ok(LinkOutcome::Registered { seq }) => json_reply(
                201,
                json!({"linkType": l.link_type.curie(), "path": at, "href": l.href, "auditSeq": seq}),
            ),
            Ok(LinkOutcome::Unchanged) => json_reply(
                200,
                json!({"linkType": l.link_type.curie(), "path": at, "href": l.href, "unchanged": true}),
            ),
            Ok(LinkOutcome::NoCertificate) => error(
                404,
                format!("no certificate for GTIN {} lot {}: publish it first, or register the link for the GTIN (no `lot`)", l.gtin, l.lot),
            ),
            Ok(LinkOutcome::NotIssuer) => error(
                403,
                format!("the certificate of GTIN {} lot {} belongs to another issuer", l.gtin, l.lot),
            ),
            Err(e) => error(500, e.to_string()),
        }
    }

    fn holdings(&self, key: KeyPath) -> crate::error::Result<Holdings> {
        let lots = self.store.lots(&key.gtin, PIP_MAX_LOTS)?;
        let lot_found = match &key.lot {
            Some(l) => self.store.find(&key.gtin, l)?.is_some(),
            None => false,
        };
        let links = links::current(self.store.links_for(&key.gtin)?);
        Ok(Holdings {
            key,
            lot_found,
            lots,
            links,
        })
    }

    /// 404 for a link type that is unknown or not available here, with the linkset of what
    /// is: as a linkset (`Accept: application/linkset+json`), JSON or a page.
    fn unavailable(
        &self,
        req: &Req,
        held: &Holdings,
        anchor: &str,
        links: &[Link],
        wanted: &Wanted,
    ) -> Reply {
        let asked = match wanted {
            Wanted::Named(l) => l.curie(),
            Wanted::Unknown(v) => v.chars().take(80).collect(),
            _ => "the default link".into(),
        };
        let known = matches!(wanted, Wanted::Named(_));
        let msg = if links.is_empty() {
            nothing_here(&held.key)
        } else if known {
            format!(
                "no {asked} link for {}; available: {}",
                held.key.path(),
                links
                    .iter()
                    .map(|l| l.rel.curie())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            format!(
                "unknown link type `{asked}` (this resolver answers gs1:certificationInfo, gs1:pip, gs1:recallStatus, gs1:leaflet and linkType=all); available for {}: {}",
                held.key.path(),
                links.iter().map(|l| l.rel.curie()).collect::<Vec<_>>().join(", ")
            )
        };
        let set = linkset(anchor, links, default_of(&held.key));
        if accepts_linkset(&req.headers) {
            return linkset_reply(404, set);
        }
        if req.json {
            let mut v = set;
            if let Some(o) = v.as_object_mut() {
                o.insert("error".into(), Value::String(msg));
            }
            return json_reply(404, v);
        }
        let body = page_html! {
            h1 { "Not available" }
            p { (T(&msg)) }
            @if !links.is_empty() {
                h2 { "Available for this code" }
                ul {
                    @for l in links {
                        li { a href=(l.href) { (T(&l.title)) } " (" (l.rel.curie()) ")" }
                    }
                }
            }
        };
        html_reply(404, html::page("Not available", body))
    }

    /// The lot's certificate (page or JSON) as `resolve` answers it; at a serial path, with
    /// a note that it is the lot's.
    fn certificate_answer(&self, req: &Req, key: &KeyPath) -> Reply {
        let lot_path = key.lot_path().unwrap_or_default();
        let mut r = self.resolve(req, &lot_path);
        let Some(serial) = &key.serial else {
            return r;
        };
        let note = format!(
            "Serial {serial}: this registry certifies lots, not single items; this is the certificate of lot {}, which covers every item of the lot.",
            key.lot.as_deref().unwrap_or("")
        );
        if r.content_type.starts_with("application/json") {
            if let Ok(Value::Object(mut o)) = serde_json::from_slice::<Value>(&r.body) {
                o.insert("serial".into(), Value::String(serial.clone()));
                o.insert("resolvedAt".into(), Value::String("lot".into()));
                o.insert("note".into(), Value::String(note));
                let status = r.status;
                let extra = std::mem::take(&mut r.extra);
                r = json_reply(status, Value::Object(o));
                r.extra = extra;
            }
        } else if let Ok(text) = String::from_utf8(r.body.clone()) {
            let banner = page_html! { p class="status warn" { (T(&note)) } }.into_string();
            r.body = text
                .replacen("<body>", &format!("<body>{banner}"), 1)
                .into_bytes();
        }
        r
    }

    /// `gs1:recallStatus`: the lot's revocation in the registry, and the certificate's
    /// status as the certificate answer gives it.
    fn recall_answer(&self, req: &Req, key: &KeyPath) -> Reply {
        let lot_path = key.lot_path().unwrap_or_default();
        let probe = Req {
            method: Method::GET,
            path: lot_path.clone(),
            query: req.query.clone(),
            json: true,
            caller: None,
            body: Vec::new(),
            headers: HeaderMap::new(),
        };
        let r = self.resolve(&probe, &lot_path);
        let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        if r.status != 200 {
            return if req.json {
                r
            } else {
                let msg = v["error"].as_str().unwrap_or("not found").to_string();
                html_reply(r.status, html::message_page("Recall status", &msg))
            };
        }
        let revocation = v.get("revocation").cloned().unwrap_or(Value::Null);
        let recalled = !revocation.is_null();
        let lot = key.lot.clone().unwrap_or_default();
        if req.json {
            let mut o = json!({
                "gtin": key.gtin, "lot": lot, "recalled": recalled,
                "revocation": revocation,
                "certificateStatus": v["status"],
                "certificate": v["certificate"]["id"],
            });
            if let Some(s) = &key.serial {
                o["serial"] = Value::String(s.clone());
                o["resolvedAt"] = Value::String("lot".into());
            }
            return json_reply(200, o);
        }
        let reason = revocation["reason"].as_str().unwrap_or("").to_string();
        let at = revocation["revokedAt"].as_str().unwrap_or("").to_string();
        let status = v["status"].as_str().unwrap_or("").to_string();
        let cert_href = lot_path.clone();
        let body = page_html! {
            @if recalled {
                div class="status bad" { "RECALLED: lot " (T(&lot)) " of GTIN " (T(&key.gtin)) }
                p { "Reason: " (T(&reason)) }
                p { "Revoked at: " (T(&at)) }
            } @else {
                div class="status valid" { "Not recalled: lot " (T(&lot)) " of GTIN " (T(&key.gtin)) }
                p { "The lot's certificate is not revoked (certificate status: " (T(&status)) ")." }
            }
            @if let Some(s) = &key.serial {
                p { "Serial " (T(s)) ": the recall status is the lot's." }
            }
            p { a href=(cert_href) { "The batch certificate" } }
        };
        html_reply(200, html::page("Recall status", body))
    }

    /// `gs1:pip` at a GTIN: its lots with their certificates and status, and its links.
    fn product_answer(&self, req: &Req, held: &Holdings, links: &[Link], anchor: &str) -> Reply {
        let now = Timestamp::now();
        let lots: Vec<Value> = held
            .lots
            .iter()
            .map(|l| {
                let expired = Timestamp::parse(&l.valid_until)
                    .map(|t| t < now)
                    .unwrap_or(false);
                let status = if l.revoked.is_some() {
                    "revoked"
                } else if expired {
                    "expired"
                } else {
                    "published"
                };
                let path = format!("/01/{}/10/{}", held.key.gtin, gs1::percent_encode(&l.lot));
                json!({
                    "lot": l.lot, "certificate": l.id, "status": status,
                    "issuer": {"id": l.issuer, "name": self.issuer_label(&l.issuer)},
                    "validUntil": l.valid_until, "publishedAt": l.published_at,
                    "revocation": l.revoked,
                    "href": format!("{}{path}", anchor.split("/01/").next().unwrap_or("")),
                })
            })
            .collect();
        let cut = held.lots.len() as i64 >= PIP_MAX_LOTS;
        if req.json {
            let mut o = json!({
                "gtin": held.key.gtin, "lots": lots, "lotsListed": lots.len(),
                "links": links.iter().map(|l| json!({"linkType": l.rel.curie(), "href": l.href, "title": l.title})).collect::<Vec<_>>(),
            });
            if cut {
                o["note"] = Value::String(format!("only the first {PIP_MAX_LOTS} lots are listed"));
            }
            return json_reply(200, o);
        }
        let body = page_html! {
            h1 { "Product " (T(&held.key.gtin)) }
            @if lots.is_empty() {
                p { "No lot of this product has a certificate in this registry." }
            } @else {
                h2 { "Certified lots" }
                table {
                    tr { th { "Lot" } th { "Status" } th { "Valid until" } }
                    @for l in &lots {
                        tr {
                            td { a href=(l["href"].as_str().unwrap_or("")) { (T(l["lot"].as_str().unwrap_or(""))) } }
                            td { (T(l["status"].as_str().unwrap_or(""))) }
                            td { (T(l["validUntil"].as_str().unwrap_or(""))) }
                        }
                    }
                }
                @if cut { p { "Only the first " (PIP_MAX_LOTS) " lots are listed." } }
            }
            @for l in links.iter().filter(|l| l.rel == LinkType::Leaflet) {
                p { a href=(l.href) { (T(&l.title)) } }
            }
        };
        html_reply(200, html::page(&format!("Product {}", held.key.gtin), body))
    }
}

/// Page text, escaped with control characters dropped ([`html::escape`]).
struct T<'a>(&'a str);

impl maud::Render for T<'_> {
    fn render_to(&self, buffer: &mut String) {
        PreEscaped(html::escape(self.0)).render_to(buffer);
    }
}

fn nothing_here(key: &KeyPath) -> String {
    match &key.lot {
        Some(l) => format!(
            "No certificate is registered for GTIN {} lot {l}, and nothing for the product. Ask the brand for a batch report.",
            key.gtin
        ),
        None => format!("Nothing is registered for GTIN {}: no certified lot and no link.", key.gtin),
    }
}

/// The default link type of a key: a lot's certificate, a product's information page.
fn default_of(key: &KeyPath) -> LinkType {
    if key.lot.is_some() {
        LinkType::CertificationInfo
    } else {
        LinkType::Pip
    }
}

/// The path at which this resolver serves `lt` for `key`: lot-level types at the lot,
/// `gs1:pip` at the GTIN.
fn key_level_path(key: &KeyPath, lt: LinkType) -> Option<String> {
    match lt {
        LinkType::Pip => Some(format!("/01/{}", key.gtin)),
        LinkType::CertificationInfo | LinkType::RecallStatus => key.lot_path(),
        LinkType::Leaflet => None,
    }
}

/// The links available for a key, lot-level before GTIN-level (a lot's own leaflet
/// replaces the product's).
fn available(held: &Holdings, root: &str) -> Vec<Link> {
    let key = &held.key;
    let mut out = Vec::new();
    let lot_path = key.lot_path();
    if let (Some(lp), true) = (&lot_path, held.lot_found) {
        let lot = key.lot.as_deref().unwrap_or("");
        out.push(Link {
            rel: LinkType::CertificationInfo,
            href: format!("{root}{lp}?linkType=gs1:certificationInfo"),
            title: format!("Batch certificate of lot {lot}"),
            media: Some("text/html"),
            local: true,
        });
        out.push(Link {
            rel: LinkType::RecallStatus,
            href: format!("{root}{lp}?linkType=gs1:recallStatus"),
            title: format!("Recall status of lot {lot}"),
            media: Some("text/html"),
            local: true,
        });
    }
    if !held.lots.is_empty() {
        out.push(Link {
            rel: LinkType::Pip,
            href: format!("{root}/01/{}?linkType=gs1:pip", key.gtin),
            title: format!("Product {}: certified lots", key.gtin),
            media: Some("text/html"),
            local: true,
        });
    }
    let lot = key.lot.clone().unwrap_or_default();
    let leaflet = held
        .links
        .iter()
        .filter(|l| l.link_type == LinkType::Leaflet.uri())
        .find(|l| !lot.is_empty() && l.lot == lot && held.lot_found)
        .or_else(|| {
            held.links
                .iter()
                .find(|l| l.link_type == LinkType::Leaflet.uri() && l.lot.is_empty())
        });
    if let Some(l) = leaflet {
        out.push(Link {
            rel: LinkType::Leaflet,
            href: l.href.clone(),
            title: if l.title.is_empty() {
                "Leaflet".into()
            } else {
                l.title.clone()
            },
            media: None,
            local: false,
        });
    }
    out
}

/// An RFC 9264 linkset (JSON, section 4.2) for one anchor: a member per link type, its
/// value an array of target objects (`href`, `title`, `type`), and the default link as
/// `https://gs1.org/voc/defaultLink`.
fn linkset(anchor: &str, links: &[Link], default: LinkType) -> Value {
    let mut ctx = Map::new();
    ctx.insert("anchor".into(), Value::String(anchor.to_string()));
    let target = |l: &Link| {
        let mut t = json!({ "href": l.href, "title": l.title, "hreflang": ["en"] });
        if let Some(m) = l.media {
            t["type"] = Value::String(m.into());
        }
        t
    };
    for l in links {
        ctx.insert(l.rel.uri(), json!([target(l)]));
    }
    if let Some(d) = links.iter().find(|l| l.rel == default) {
        ctx.insert(format!("{VOC}defaultLink"), json!([target(d)]));
    }
    json!({ "linkset": [Value::Object(ctx)] })
}

/// A link an issuer asks to register (`POST /api/v1/links`): the body's fields, checked.
pub(super) struct LinkRequest {
    pub gtin: String,
    pub lot: String,
    pub link_type: LinkType,
    pub href: String,
    pub title: String,
}

/// The longest `href` accepted (assumption: URLs past 2,000 characters fail in common
/// browsers and QR workflows; a leaflet's address is far shorter).
const HREF_MAX: usize = 2000;

/// The longest link title accepted (assumption: a line on a phone screen).
const TITLE_MAX: usize = 200;

/// Why a link registration is refused (400): the field at fault and how to fix it.
#[derive(Debug, thiserror::Error)]
pub(super) enum LinkRequestError {
    #[error(
        "the body must be a JSON object {{\"gtin\", \"lot\", \"linkType\", \"href\", \"title\"}}"
    )]
    NotAnObject,
    /// A member the registration does not have (its name cut to 40 characters).
    #[error("unknown field `{field}` (allowed: gtin, lot, linkType, href, title)")]
    UnknownField { field: String },
    #[error("`{field}` must be a string")]
    NotAString { field: &'static str },
    #[error("`gtin` is required")]
    NoGtin,
    #[error("gtin: {0}")]
    Gtin(#[source] exoskin_batch::BatchError),
    #[error("lot: {0}")]
    Lot(#[source] exoskin_batch::BatchError),
    /// A link type other than `gs1:leaflet` (as given, cut to 80 characters).
    #[error("linkType `{given}` cannot be registered: only gs1:leaflet is (the registry serves certificationInfo, pip and recallStatus itself)")]
    NotRegistrable { given: String },
    #[error("`href` is required: the leaflet's https:// URL")]
    NoHref,
    /// `shown` is the first 80 characters, escaped.
    #[error("href `{shown}` must be an absolute http(s) URL with a host, at most {HREF_MAX} characters of printable ASCII (percent-encode spaces and the like)")]
    BadHref { shown: String },
    #[error("`title` is longer than {TITLE_MAX} characters")]
    TitleTooLong,
}

/// Read a link registration: `{"gtin", "lot"?, "linkType", "href", "title"?}`. Only
/// `gs1:leaflet` is registered (the other link types are the registry's own); `href` must
/// be an absolute http(s) URL of printable ASCII.
pub(super) fn read_link_request(v: &Value) -> Result<LinkRequest, LinkRequestError> {
    let obj = v.as_object().ok_or(LinkRequestError::NotAnObject)?;
    for k in obj.keys() {
        if !["gtin", "lot", "linkType", "href", "title"].contains(&k.as_str()) {
            return Err(LinkRequestError::UnknownField {
                field: k.chars().take(40).collect(),
            });
        }
    }
    let s = |k: &'static str| -> Result<Option<String>, LinkRequestError> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(LinkRequestError::NotAString { field: k }),
        }
    };
    let gtin = s("gtin")?.ok_or(LinkRequestError::NoGtin)?;
    let gtin = gs1::normalize_gtin(&gtin).map_err(LinkRequestError::Gtin)?;
    let lot = s("lot")?.unwrap_or_default();
    if !lot.is_empty() {
        gs1::validate_lot(&lot).map_err(LinkRequestError::Lot)?;
    }
    let lt = s("linkType")?.unwrap_or_else(|| "gs1:leaflet".into());
    let link_type = match parse_link_type(&lt) {
        Wanted::Named(LinkType::Leaflet) => LinkType::Leaflet,
        _ => {
            return Err(LinkRequestError::NotRegistrable {
                given: lt.chars().take(80).collect(),
            });
        }
    };
    let href = s("href")?.ok_or(LinkRequestError::NoHref)?;
    let rest = href
        .strip_prefix("https://")
        .or_else(|| href.strip_prefix("http://"));
    let host_ok = rest
        .map(|r| r.split(['/', '?', '#']).next().unwrap_or(""))
        .is_some_and(is_host);
    if href.len() > HREF_MAX
        || !host_ok
        || !href
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b))
    {
        let shown: String = href.chars().take(80).collect();
        return Err(LinkRequestError::BadHref {
            shown: shown.escape_debug().to_string(),
        });
    }
    let title = html::clean_text(s("title")?.unwrap_or_default().trim());
    if title.chars().count() > TITLE_MAX {
        return Err(LinkRequestError::TitleTooLong);
    }
    Ok(LinkRequest {
        gtin,
        lot,
        link_type,
        href,
        title,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_types_read_in_every_form() {
        for v in [
            "gs1:pip",
            "https://gs1.org/voc/pip",
            "http://gs1.org/voc/pip",
            "https://ref.gs1.org/voc/pip",
        ] {
            assert_eq!(parse_link_type(v), Wanted::Named(LinkType::Pip), "{v}");
        }
        assert_eq!(parse_link_type("all"), Wanted::Linkset);
        assert_eq!(parse_link_type("linkset"), Wanted::Linkset);
        assert_eq!(
            parse_link_type("gs1:nutritionalInfo"),
            Wanted::Unknown("gs1:nutritionalInfo".into())
        );
        assert_eq!(parse_link_type("pip"), Wanted::Unknown("pip".into()));
        assert_eq!(
            read_query("17=280411&linkType=gs1%3ArecallStatus&3103=000189"),
            Ok(Wanted::Named(LinkType::RecallStatus))
        );
        assert!(read_query("linkType=all&linkType=gs1:pip").is_err());
        assert!(read_query("linkType=%G1").is_err());
    }

    #[test]
    fn link_registrations_are_checked() {
        let ok = read_link_request(&json!({"gtin": "9506000134352", "href": "https://brand.example/leaflet.pdf", "title": "Leaflet"})).unwrap();
        assert_eq!(
            (ok.gtin.as_str(), ok.lot.as_str(), ok.link_type),
            ("09506000134352", "", LinkType::Leaflet)
        );
        for (bad, says) in [
            (
                json!({"gtin": "9506000134353", "href": "https://a.example/"}),
                "check digit",
            ),
            (
                json!({"gtin": "9506000134352", "href": "javascript:alert(1)"}),
                "absolute http(s) URL",
            ),
            (
                json!({"gtin": "9506000134352", "href": "https://a.example/a b"}),
                "printable ASCII",
            ),
            (
                json!({"gtin": "9506000134352", "href": "https:///x"}),
                "with a host",
            ),
            (
                json!({"gtin": "9506000134352", "href": "https://a.example/", "linkType": "gs1:pip"}),
                "only gs1:leaflet",
            ),
            (
                json!({"gtin": "9506000134352", "href": "https://a.example/", "lot": "a b"}),
                "lot:",
            ),
            (
                json!({"gtin": "9506000134352", "href": "https://a.example/", "extra": 1}),
                "unknown field `extra`",
            ),
            (json!({"href": "https://a.example/"}), "`gtin` is required"),
        ] {
            let e = read_link_request(&bad)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn roots() {
        let addr: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let r = Root::new(None, false, addr).unwrap();
        let mut h = HeaderMap::new();
        assert_eq!(r.url(&h), "http://127.0.0.1:8080");
        h.insert(header::HOST, "id.example.com".parse().unwrap());
        assert_eq!(r.url(&h), "http://id.example.com");
        h.insert(header::HOST, "evil.example/<script>".parse().unwrap());
        assert_eq!(r.url(&h), "http://127.0.0.1:8080");
        let f = Root::new(Some("https://id.example.com/"), false, addr).unwrap();
        assert_eq!(f.url(&h), "https://id.example.com");
        assert!(Root::new(Some("id.example.com"), false, addr).is_err());
        assert!(Root::new(Some("https://id.example.com/path"), false, addr).is_err());
    }
}
