//! Resolver load benchmark: starts the registry on loopback (SQLite in a temp dir, or
//! `EXOSKIN_BENCH_DB=postgres://...`), publishes 100 certificates, then drives
//! `GET /01/<gtin>/10/<lot>` from keep-alive clients and reports requests/s and latency
//! percentiles, for JSON and for the HTML page.
//!
//! `cargo bench -p exoskin-registry --bench resolver_load` (bounded: EXOSKIN_BENCH_REQUESTS,
//! default 20000 per run, and at most 30 s per run; EXOSKIN_BENCH_CLIENTS, default 8).
//! Under `cargo test` (no `--bench` argument) it runs a 200-request smoke pass.
use exoskin_batch::cert::{self, IssueOptions};
use exoskin_batch::date::Timestamp;
use exoskin_batch::profile::Profile;
use exoskin_batch::record::QcRecord;
use exoskin_registry::client::{self, Conn};
use exoskin_registry::server::{self, Issuer, ServerConfig};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-token-0123456789abcdef";
const LOTS: usize = 100;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&v| v > 0)
        .unwrap_or(default)
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let requests = if bench {
        env_usize("EXOSKIN_BENCH_REQUESTS", 20_000)
    } else {
        200
    };
    let clients = env_usize("EXOSKIN_BENCH_CLIENTS", 8);
    let time_limit = Duration::from_secs(30);

    let dir = std::env::temp_dir().join(format!("exoskin-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = std::env::var("EXOSKIN_BENCH_DB")
        .unwrap_or_else(|_| dir.join("bench.sqlite3").to_str().unwrap().to_string());
    let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let issuers = vec![Issuer {
        name: "Bench Lab".into(),
        did: exoskin_batch::keys::did_key(&key.verifying_key()),
        token_sha256: server::sha256(TOKEN.as_bytes()),
        authority: server::Authority::Any,
    }];
    let mut cfg = ServerConfig::new("127.0.0.1:0", &db, issuers);
    cfg.threads = env_usize("EXOSKIN_BENCH_THREADS", 8);
    // One load generator on one address: the per-client limits would measure themselves.
    cfg.client_limits.max_connections = 0;
    cfg.client_limits.requests_per_second = 0.0;
    let srv = server::start(cfg).expect("server starts");
    let addr = srv.addr.to_string();

    let record = QcRecord::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/qc/pass_msc_serum.toml"),
    )
    .unwrap();
    let profile = Profile::default_profile();
    let mut paths = Vec::new();
    let auth = format!("Bearer {TOKEN}");
    for i in 0..LOTS {
        let mut r = record.clone();
        r.batch.lot = format!("BENCH-{i:04}");
        let opts = IssueOptions {
            profile: &profile,
            resolver: "id.example.com",
            issued_at: Timestamp::now(),
            allow_failing: false,
        };
        let c = cert::issue(&r, &key, &opts).unwrap();
        let resp = client::request(
            &addr,
            "POST",
            "/api/v1/certificates",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            c.text.as_bytes(),
        )
        .unwrap();
        assert!(
            resp.status == 201 || resp.status == 200,
            "publish: {}",
            resp.text()
        );
        paths.push(c.link.path());
    }
    let paths = Arc::new(paths);

    println!("resolver load: {clients} keep-alive clients, {requests} requests per run (max {}s), {} server threads, db {}",
        time_limit.as_secs(), env_usize("EXOSKIN_BENCH_THREADS", 8), if db.starts_with("postgres") { "PostgreSQL" } else { "SQLite" });
    for (label, accept) in [("JSON", "application/json"), ("HTML", "text/html")] {
        let start = Instant::now();
        let per_client = requests.div_ceil(clients);
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let (paths, addr) = (Arc::clone(&paths), addr.clone());
                std::thread::spawn(move || {
                    let mut conn = Conn::connect(&addr).unwrap();
                    let mut lat = Vec::with_capacity(per_client);
                    for i in 0..per_client {
                        if start.elapsed() > time_limit {
                            break;
                        }
                        let p = &paths[(c * 7919 + i * 31) % paths.len()];
                        let t = Instant::now();
                        let r = conn.request("GET", p, &[("Accept", accept)], b"").unwrap();
                        lat.push(t.elapsed());
                        assert_eq!(r.status, 200);
                    }
                    lat
                })
            })
            .collect();
        let mut lat: Vec<Duration> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let wall = start.elapsed();
        lat.sort();
        let pct = |q: f64| lat[((lat.len() as f64 * q).ceil() as usize).clamp(1, lat.len()) - 1];
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{label:>4}: {} requests in {:.2} s = {:.0} req/s; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            lat.len(),
            wall.as_secs_f64(),
            lat.len() as f64 / wall.as_secs_f64(),
            ms(pct(0.50)),
            ms(pct(0.90)),
            ms(pct(0.99)),
            ms(*lat.last().unwrap())
        );
    }
    srv.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
