//! The registry server alone, without the rest of the `exoskin` CLI (tests and benchmarks
//! use it; `exoskin serve` is the same server).
//!
//! Usage: exoskin-registry [--db PATH|postgres://...] [--listen ADDR] [--issuers FILE]
//!                         [--issuer-pubkey PUB --token-file FILE] [--threads N]
use exoskin_registry::server::{load_issuers, serve_forever, ServerConfig};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut db = "exoskin-registry.sqlite3".to_string();
    let mut listen = "127.0.0.1:8080".to_string();
    let mut issuers: Option<PathBuf> = None;
    let mut pubkey: Option<PathBuf> = None;
    let mut token: Option<PathBuf> = None;
    let mut threads = 8usize;
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_default();
        match a.as_str() {
            "--db" => db = val(),
            "--listen" => listen = val(),
            "--issuers" => issuers = Some(val().into()),
            "--issuer-pubkey" => pubkey = Some(val().into()),
            "--token-file" => token = Some(val().into()),
            "--threads" => threads = val().parse().unwrap_or(0),
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
    let run = load_issuers(issuers.as_deref(), single).and_then(|iss| {
        let mut cfg = ServerConfig::new(&listen, &db, iss);
        cfg.threads = threads;
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
