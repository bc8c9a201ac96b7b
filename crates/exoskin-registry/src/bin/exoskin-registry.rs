//! The registry server alone, without the rest of the `exoskin` CLI (tests and benchmarks
//! use it; `exoskin serve` is the same server).
//!
//! Usage: exoskin-registry [--db PATH|postgres://...] [--listen ADDR] [--issuers FILE]
//!                         [--issuer-pubkey PUB --token-file FILE] [--threads N]
//!                         [--tls-cert PEM --tls-key PEM] [--max-conns-per-client N]
//!                         [--rate-per-client R] [--registry-key KEY --admin-token-file FILE]
//!                         [--log-origin NAME] [--public-url URL]
use exoskin_registry::server::{
    load_issuers, read_token, serve_forever, sha256, ServerConfig, TlsFiles,
};
use std::path::PathBuf;
use std::process::ExitCode;

fn bad(msg: &str) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut db = "exoskin-registry.sqlite3".to_string();
    let mut listen = "127.0.0.1:8080".to_string();
    let mut issuers: Option<PathBuf> = None;
    let mut pubkey: Option<PathBuf> = None;
    let mut token: Option<PathBuf> = None;
    let mut threads = 8usize;
    let mut tls_cert: Option<PathBuf> = None;
    let mut tls_key: Option<PathBuf> = None;
    let mut per_client: Option<usize> = None;
    let mut rate: Option<f64> = None;
    let mut registry_key: Option<PathBuf> = None;
    let mut admin_token: Option<PathBuf> = None;
    let mut log_origin: Option<String> = None;
    let mut public_url: Option<String> = None;
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_default();
        match a.as_str() {
            "--db" => db = val(),
            "--listen" => listen = val(),
            "--issuers" => issuers = Some(val().into()),
            "--issuer-pubkey" => pubkey = Some(val().into()),
            "--token-file" => token = Some(val().into()),
            "--threads" => threads = val().parse().unwrap_or(0),
            "--tls-cert" => tls_cert = Some(val().into()),
            "--tls-key" => tls_key = Some(val().into()),
            "--max-conns-per-client" => match val().parse() {
                Ok(n) => per_client = Some(n),
                Err(_) => return bad("--max-conns-per-client takes a non-negative integer"),
            },
            "--rate-per-client" => match val().parse::<f64>() {
                Ok(r) if r >= 0.0 && r.is_finite() => rate = Some(r),
                _ => return bad("--rate-per-client takes a non-negative number"),
            },
            "--registry-key" => registry_key = Some(val().into()),
            "--admin-token-file" => admin_token = Some(val().into()),
            "--log-origin" => log_origin = Some(val()),
            "--public-url" => public_url = Some(val()),
            _ => {
                eprintln!("error: unknown argument {a}");
                return ExitCode::from(2);
            }
        }
    }
    let single = match (&pubkey, &token) {
        (Some(p), Some(t)) => Some((p.as_path(), t.as_path())),
        (None, None) => None,
        _ => {
            eprintln!("error: --issuer-pubkey and --token-file go together");
            return ExitCode::from(2);
        }
    };
    if threads == 0 {
        eprintln!("error: --threads must be a positive integer");
        return ExitCode::from(2);
    }
    let tls = match (tls_cert, tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (None, None) => None,
        _ => return bad("--tls-cert and --tls-key go together"),
    };
    let run = load_issuers(issuers.as_deref(), single).and_then(|iss| {
        let mut cfg = ServerConfig::new(&listen, &db, iss);
        cfg.threads = threads;
        cfg.tls = tls;
        cfg.log_origin = log_origin;
        cfg.public_url = public_url;
        if let Some(n) = per_client {
            cfg.client_limits.max_connections = n;
        }
        if let Some(r) = rate {
            cfg.client_limits.requests_per_second = r;
            cfg.client_limits.burst = 2.0 * r;
        }
        if let Some(k) = &registry_key {
            cfg.registry_key = Some(exoskin_batch::keys::read_private_key(k)?);
        }
        if let Some(t) = &admin_token {
            cfg.admin_token_sha256 = Some(sha256(read_token(t)?.as_bytes()));
        }
        serve_forever(cfg)
    });
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
