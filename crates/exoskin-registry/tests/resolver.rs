//! The GS1-Conformant resolver: GTIN, lot and serial paths, link types, 400 against 404,
//! RFC 9264 linksets and the `Link` header, the resolver description, recall status from
//! revocations, registered leaflets (with their audit entries) on SQLite and PostgreSQL, and
//! a registry made before links that opens and keeps working.
mod common;
use common::*;
use exoskin_registry::client;
use exoskin_registry::store;
use serde_json::Value;

const GTIN: &str = "09506000134352";

fn get(addr: &str, path: &str, accept: &str) -> client::HttpResponse {
    client::request(addr, "GET", path, &[("Accept", accept)], b"").expect("request")
}

fn publish(addr: &str, lot: &str) -> exoskin_batch::cert::Issued {
    let i = cert_for_lot(lot, &key(1));
    let r = post(addr, "/api/v1/certificates", Some(TOKEN), i.text.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    i
}

fn register(addr: &str, token: &str, body: Value) -> client::HttpResponse {
    post(
        addr,
        "/api/v1/links",
        Some(token),
        body.to_string().as_bytes(),
    )
}

/// The targets of one link type in a linkset's single context object.
fn targets<'a>(set: &'a Value, lt: &str) -> Vec<&'a Value> {
    set["linkset"][0][format!("https://gs1.org/voc/{lt}")]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// Every resolver behaviour, against a fresh registry at `db`.
fn resolver_scenario(db: &str) {
    let s = start_server(db, 256 * 1024);
    let addr = s.addr.to_string();
    let root = format!("http://{addr}");
    let cert = publish(&addr, "EXO2604-12");
    publish(&addr, "AB/12");

    // The lot path keeps answering as before (HTML page, JSON), with a Link header naming
    // the linkset.
    let lot = format!("/01/{GTIN}/10/EXO2604-12");
    let r = get(&addr, &lot, "application/json");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json().unwrap()["certificate"], cert.certificate);
    assert_eq!(
        r.header("Link").unwrap(),
        format!("<{root}{lot}?linkType=all>; rel=\"linkset\"; type=\"application/linkset+json\"")
    );
    let r = get(&addr, &lot, "text/html");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("EXO2604-12"));
    // Explicit certificationInfo, in both spellings, is the same answer.
    for lt in [
        "gs1:certificationInfo",
        "https://gs1.org/voc/certificationInfo",
        "https%3A%2F%2Fgs1.org%2Fvoc%2FcertificationInfo",
    ] {
        let r = get(&addr, &format!("{lot}?linkType={lt}"), "application/json");
        assert_eq!(r.status, 200, "{lt}: {}", r.text());
        assert_eq!(
            r.json().unwrap()["certificate"]["id"],
            cert.certificate["id"]
        );
    }
    // GTIN-8/12/13 forms normalise to GTIN-14; data attributes in the query are ignored.
    let r = get(
        &addr,
        "/01/9506000134352/10/EXO2604-12?3103=000189&foo=bar",
        "application/json",
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // Serial level: the lot's certificate, saying so.
    let serial = format!("{lot}/21/SN%2F0001");
    let r = get(&addr, &serial, "application/json");
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json().unwrap();
    assert_eq!(j["serial"], "SN/0001");
    assert_eq!(j["resolvedAt"], "lot");
    assert!(j["note"].as_str().unwrap().contains("certifies lots"));
    assert_eq!(j["certificate"]["id"], cert.certificate["id"]);
    let page = get(&addr, &serial, "text/html").text();
    assert!(
        page.contains("Serial SN/0001") && page.contains("not single items"),
        "{page}"
    );

    // GTIN only: the product information page is the default, listing the lots.
    let gtin_path = format!("/01/{GTIN}");
    for path in [
        gtin_path.clone(),
        "/01/9506000134352".into(),
        format!("{gtin_path}?linkType=gs1:pip"),
    ] {
        let r = get(&addr, &path, "application/json");
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let j = r.json().unwrap();
        let lots: Vec<&str> = j["lots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["lot"].as_str().unwrap())
            .collect();
        assert_eq!(lots, ["AB/12", "EXO2604-12"]);
        assert!(j["lots"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["status"] == "published"));
        assert!(r
            .header("Link")
            .unwrap()
            .contains(&format!("{root}{gtin_path}?linkType=all")));
    }
    let page = get(&addr, &gtin_path, "text/html");
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("/01/09506000134352/10/AB%2F12"),
        "{}",
        page.text()
    );
    // A lot's pip is the product's page, elsewhere: 307 there.
    let r = get(&addr, &format!("{lot}?linkType=gs1:pip"), "text/html");
    assert_eq!(r.status, 307);
    assert_eq!(
        r.header("Location").unwrap(),
        format!("{root}{gtin_path}?linkType=gs1:pip")
    );

    // A GTIN nobody registered: 404; another company's valid GTIN too.
    assert_eq!(
        get(&addr, "/01/00000096385074", "application/json").status,
        404
    );
    assert_eq!(
        get(&addr, &format!("/01/{GTIN}/10/NOPE"), "application/json").status,
        404
    );

    // Malformed paths are 400 with the reason; unknown routes stay 404.
    for (path, says) in [
        ("/01/09506000134353", "check digit"),
        ("/01/09506000134353/10/EXO2604-12", "check digit"),
        ("/01/0950600013435x", "8, 12, 13 or 14 digits"),
        ("/01/09506000134352/99/X", "`99` is not a key qualifier"),
        (
            "/01/09506000134352/10/EXO2604-12/junk",
            "`junk` is not a key qualifier",
        ),
        ("/01/09506000134352/21/S/10/L", "out of order"),
        ("/01/09506000134352/10/EXO2604-12/21/", "has no value"),
        ("/01/09506000134352/10/A%20B", "lot `A B`"),
    ] {
        let r = get(&addr, path, "application/json");
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        let e = r.json().unwrap()["error"].as_str().unwrap().to_string();
        assert!(e.contains(says), "{path}: {e}");
        assert_eq!(get(&addr, path, "text/html").status, 400);
    }
    assert_eq!(
        get(&addr, "/02/09506000134352", "application/json").status,
        404
    );
    assert_eq!(
        get(
            &addr,
            &format!("{lot}?linkType=all&linkType=gs1:pip"),
            "application/json"
        )
        .status,
        400
    );

    // The linkset: by linkType=all and by Accept, RFC 9264 shape, every link resolves.
    let set_url = format!("{lot}?linkType=all");
    let a = get(&addr, &set_url, "text/html");
    let b = get(&addr, &lot, "application/linkset+json");
    for r in [&a, &b] {
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("Content-Type"), Some("application/linkset+json"));
    }
    let set = a.json().unwrap();
    assert_eq!(set, b.json().unwrap());
    assert_eq!(set["linkset"].as_array().unwrap().len(), 1);
    assert_eq!(set["linkset"][0]["anchor"], format!("{root}{lot}"));
    for lt in ["certificationInfo", "recallStatus", "pip", "defaultLink"] {
        let t = targets(&set, lt);
        assert_eq!(t.len(), 1, "{lt}: {set}");
        let href = t[0]["href"].as_str().unwrap();
        assert!(
            t[0]["title"].is_string() && t[0]["type"] == "text/html",
            "{lt}"
        );
        let path = href.strip_prefix(&root).expect("a link on this resolver");
        let r = get(&addr, path, "application/json");
        assert_eq!(r.status, 200, "{lt} -> {href}: {}", r.text());
    }
    assert!(targets(&set, "leaflet").is_empty());
    assert_eq!(
        targets(&set, "defaultLink")[0],
        targets(&set, "certificationInfo")[0]
    );
    let gset = get(
        &addr,
        &format!("{gtin_path}?linkType=all"),
        "application/json",
    )
    .json()
    .unwrap();
    assert_eq!(targets(&gset, "defaultLink")[0], targets(&gset, "pip")[0]);
    assert!(targets(&gset, "certificationInfo").is_empty());

    // Unknown or unavailable link types: 404 with the linkset of what is available.
    for lt in ["gs1:nutritionalInfo", "gs1:leaflet", "nonsense"] {
        let r = get(&addr, &format!("{lot}?linkType={lt}"), "application/json");
        assert_eq!(r.status, 404, "{lt}: {}", r.text());
        let j = r.json().unwrap();
        assert!(j["error"].as_str().unwrap().contains("available"), "{j}");
        assert_eq!(targets(&j, "certificationInfo").len(), 1);
        let r = get(
            &addr,
            &format!("{lot}?linkType={lt}"),
            "application/linkset+json",
        );
        assert_eq!(
            (r.status, r.header("Content-Type")),
            (404, Some("application/linkset+json"))
        );
        let r = get(&addr, &format!("{lot}?linkType={lt}"), "text/html");
        assert_eq!(r.status, 404);
        assert!(r.text().contains("Available for this code"));
    }

    // Recall status follows revocation.
    let recall = format!("{lot}?linkType=gs1:recallStatus");
    let j = get(&addr, &recall, "application/json").json().unwrap();
    assert_eq!(
        (j["recalled"].clone(), j["certificateStatus"].clone()),
        (Value::Bool(false), Value::from("valid"))
    );
    assert!(get(&addr, &recall, "text/html")
        .text()
        .contains("Not recalled"));
    let r = post(
        &addr,
        "/api/v1/revocations",
        Some(TOKEN),
        br#"{"gtin": "09506000134352", "lot": "EXO2604-12", "reason": "contamination found"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let j = get(&addr, &recall, "application/json").json().unwrap();
    assert_eq!(j["recalled"], true);
    assert_eq!(j["certificateStatus"], "revoked");
    assert_eq!(j["revocation"]["reason"], "contamination found");
    let page = get(
        &addr,
        &format!("{serial}?linkType=gs1:recallStatus"),
        "text/html",
    )
    .text();
    assert!(
        page.contains("RECALLED") && page.contains("contamination found"),
        "{page}"
    );
    let j = get(&addr, &gtin_path, "application/json").json().unwrap();
    let st: Vec<&str> = j["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    assert_eq!(st, ["published", "revoked"]);

    // Leaflets: registered by the issuer, served as 307 redirects; refused for others.
    let leaflet = "https://brand.example/leaflets/serum.pdf";
    let r = register(
        &addr,
        TOKEN,
        serde_json::json!({"gtin": GTIN, "href": leaflet, "title": "Package leaflet"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = register(
        &addr,
        TOKEN,
        serde_json::json!({"gtin": GTIN, "href": leaflet, "title": "Package leaflet"}),
    );
    assert_eq!(r.status, 200, "a retry is unchanged: {}", r.text());
    for (body, token, want) in [
        (
            serde_json::json!({"gtin": "09506000994352", "href": leaflet}),
            TOKEN,
            403,
        ),
        (
            serde_json::json!({"gtin": GTIN, "href": leaflet}),
            OTHER_TOKEN,
            403,
        ),
        (
            serde_json::json!({"gtin": GTIN, "lot": "NOPE", "href": leaflet}),
            TOKEN,
            404,
        ),
        (
            serde_json::json!({"gtin": GTIN, "href": "ftp://x.example/"}),
            TOKEN,
            400,
        ),
        (
            serde_json::json!({"gtin": GTIN, "href": leaflet, "linkType": "gs1:pip"}),
            TOKEN,
            400,
        ),
    ] {
        let r = register(&addr, token, body.clone());
        assert_eq!(r.status, want, "{body}: {}", r.text());
    }
    assert_eq!(post(&addr, "/api/v1/links", None, b"{}").status, 401);
    let r = get(&addr, &format!("{lot}?linkType=gs1:leaflet"), "text/html");
    assert_eq!((r.status, r.header("Location")), (307, Some(leaflet)));
    assert!(r.header("Link").unwrap().contains("rel=\"linkset\""));
    let r = get(
        &addr,
        &format!("{gtin_path}?linkType=https://gs1.org/voc/leaflet"),
        "text/html",
    );
    assert_eq!((r.status, r.header("Location")), (307, Some(leaflet)));
    // A lot's own leaflet overrides the product's at that lot only.
    let lot_leaflet = "https://brand.example/leaflets/ab12.pdf";
    let r = register(
        &addr,
        TOKEN,
        serde_json::json!({"gtin": GTIN, "lot": "AB/12", "href": lot_leaflet}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = get(
        &addr,
        &format!("/01/{GTIN}/10/AB%2F12?linkType=gs1:leaflet"),
        "text/html",
    );
    assert_eq!(r.header("Location"), Some(lot_leaflet));
    let r = get(&addr, &format!("{lot}?linkType=gs1:leaflet"), "text/html");
    assert_eq!(r.header("Location"), Some(leaflet));
    let set = get(&addr, &set_url, "application/linkset+json")
        .json()
        .unwrap();
    assert_eq!(targets(&set, "leaflet")[0]["href"], leaflet);
    assert_eq!(targets(&set, "leaflet")[0]["title"], "Package leaflet");
    // A re-registration replaces the link.
    let newer = "https://brand.example/leaflets/serum-v2.pdf";
    assert_eq!(
        register(
            &addr,
            TOKEN,
            serde_json::json!({"gtin": GTIN, "href": newer})
        )
        .status,
        201
    );
    let r = get(&addr, &format!("{lot}?linkType=gs1:leaflet"), "text/html");
    assert_eq!(r.header("Location"), Some(newer));

    // The resolver description.
    let r = get(&addr, "/.well-known/gs1resolver", "application/json");
    assert_eq!(r.status, 200);
    let d = r.json().unwrap();
    assert_eq!(d["resolverRoot"], root);
    assert_eq!(d["supportedPrimaryKeys"], serde_json::json!(["01"]));
    assert_eq!(d["supportedLinkType"][0]["prefix"], "gs1:");
    assert_eq!(d["linkTypeDefaultCanBeLinkset"], false);
    assert_eq!(
        post(&addr, "/.well-known/gs1resolver", None, b"").status,
        405
    );

    // The links are in the audit log and the log verifies against the tables.
    s.shutdown();
    let st = store::open(db, 1).unwrap();
    let entries = st.audit(0, 100).unwrap();
    assert_eq!(entries.iter().filter(|e| e.action == "link").count(), 3);
    store::verify_log(st.as_ref(), None).expect("the log verifies with links");
    assert_eq!(st.link_rows().unwrap().len(), 3);
}

#[test]
fn sqlite_resolver() {
    let dir = TempDir::new("resolver");
    let db = dir.path().join("reg.sqlite3").to_str().unwrap().to_string();
    resolver_scenario(&db);
    // A link row changed or removed behind the registry's back fails verify-log.
    let c = rusqlite::Connection::open(&db).unwrap();
    assert!(c
        .execute("UPDATE links SET href = 'https://evil.example/'", [])
        .is_err());
    assert!(c.execute("DELETE FROM links", []).is_err());
    c.execute_batch("DROP TRIGGER links_no_update; UPDATE links SET href = 'https://evil.example/' WHERE seq = (SELECT MIN(seq) FROM links);").unwrap();
    let st = store::open(&db, 1).unwrap();
    let e = store::verify_log(st.as_ref(), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("links row") && e.contains("altered"), "{e}");
}

#[test]
fn postgres_resolver() {
    let Some(pg) = PgCluster::start() else { return };
    resolver_scenario(&pg.database("resolver"));
    let db = pg.database("oldreg");
    old_registry_scenario(&db, &|| {
        let mut c = postgres::Client::connect(&db, postgres::NoTls).unwrap();
        c.batch_execute("DROP TABLE links;").unwrap();
    });
    let mut c = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    assert!(
        c.batch_execute("DELETE FROM links").is_err(),
        "the new table is append-only"
    );
}

/// A registry made before links (no `links` table) opens, gets the table, keeps resolving
/// and verifying, and takes links. `drop_links` takes the database back to what the
/// previous version's schema left.
fn old_registry_scenario(db: &str, drop_links: &dyn Fn()) {
    {
        let s = start_server(db, 256 * 1024);
        publish(&s.addr.to_string(), "OLD-1");
        s.shutdown();
    }
    drop_links();
    let s = start_server(db, 256 * 1024);
    let addr = s.addr.to_string();
    let r = get(&addr, &format!("/01/{GTIN}/10/OLD-1"), "application/json");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json().unwrap()["status"], "valid");
    let r = register(
        &addr,
        TOKEN,
        serde_json::json!({"gtin": GTIN, "lot": "OLD-1", "href": "https://brand.example/l.pdf"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        get(
            &addr,
            &format!("/01/{GTIN}/10/OLD-1?linkType=gs1:leaflet"),
            "text/html"
        )
        .status,
        307
    );
    s.shutdown();
    let st = store::open(db, 1).unwrap();
    store::verify_log(st.as_ref(), None).expect("the upgraded log verifies");
    assert_eq!(st.link_rows().unwrap().len(), 1);
}

#[test]
fn a_sqlite_registry_made_before_links_opens_and_keeps_working() {
    let dir = TempDir::new("oldreg");
    let db = dir.path().join("reg.sqlite3").to_str().unwrap().to_string();
    old_registry_scenario(&db, &|| {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch("DROP TABLE links;").unwrap();
    });
    let c = rusqlite::Connection::open(&db).unwrap();
    assert!(
        c.execute("DELETE FROM links", []).is_err(),
        "the new table is append-only"
    );
}
