//! `POST /api/v1/simulate` with a batch certificate: the JSON body
//! `{"certificate": CERT, "scenario": TOML?, "pubkey": KEY?, "revocations": LIST?,
//! "on": "YYYY-MM-DD"?, "uncertainty": N?, "seed": S?, "allow_unverified": bool?,
//! "allow_expired": bool?}` answers as `exoskin simulate [SCENARIO] --certificate CERT
//! --json` does (`CERT` an object or its JSON text; without `scenario` the bundled one).

use crate::api::{direct_outcome, RunError};
use crate::Web;
use exoskin_api::certificate::{self, CertificateOptions, DEFAULT_CERTIFICATE_MEMBERS};
use exoskin_api::ApiError;
use serde_json::Value;
use std::net::IpAddr;
use std::sync::Arc;

/// The most ensemble members a request may ask for (a run answers within the request).
pub const MAX_MEMBERS: usize = 256;

/// Whether a JSON body asks for a certificate's batch (it has a `certificate` key).
pub fn is_certificate_request(v: &Value) -> bool {
    v.get("certificate").is_some()
}

fn field(name: &str, message: String) -> ApiError {
    ApiError::BadInput {
        field: Some(name.to_string()),
        message,
    }
}

fn opt_str(v: &Value, k: &str) -> Result<Option<String>, ApiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) if k == "certificate" || k == "revocations" => Ok(Some(other.to_string())),
        Some(_) => Err(field(k, format!("`{k}` must be a string"))),
    }
}

fn opt_bool(v: &Value, k: &str) -> Result<bool, ApiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(field(k, format!("`{k}` must be true or false"))),
    }
}

fn opt_u64(v: &Value, k: &str) -> Result<Option<u64>, ApiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x
            .as_u64()
            .map(Some)
            .ok_or_else(|| field(k, format!("`{k}` must be a whole number >= 0"))),
    }
}

/// Run the request's batch simulation on the job queue: the document, or why there is none.
pub async fn run(web: &Arc<Web>, client: Option<IpAddr>, body: Value) -> Result<Value, RunError> {
    let budget = web.cfg.direct_budget;
    let v = web
        .jobs
        .run(
            "simulate",
            client,
            Box::new(move |p| {
                const KEYS: [&str; 9] = [
                    "certificate",
                    "scenario",
                    "pubkey",
                    "revocations",
                    "on",
                    "uncertainty",
                    "seed",
                    "allow_unverified",
                    "allow_expired",
                ];
                if let Some(k) = body
                    .as_object()
                    .and_then(|m| m.keys().find(|k| !KEYS.contains(&k.as_str())))
                {
                    return Err(field(
                        k,
                        format!("unknown key `{k}`; the body takes {}", KEYS.join(", ")),
                    ));
                }
                let cert = opt_str(&body, "certificate")?.unwrap_or_default();
                let pubkey = opt_str(&body, "pubkey")?;
                let revs = opt_str(&body, "revocations")?;
                let on = opt_str(&body, "on")?;
                let members = match opt_u64(&body, "uncertainty")? {
                    None => DEFAULT_CERTIFICATE_MEMBERS,
                    Some(n) if n as usize <= MAX_MEMBERS => n as usize,
                    Some(n) => {
                        return Err(field(
                            "uncertainty",
                            format!("{n} members is more than a request may run ({MAX_MEMBERS})"),
                        ))
                    }
                };
                let opts = CertificateOptions {
                    pubkey: pubkey.as_deref().map(|k| (k, "pubkey")),
                    revocations: revs.as_deref().map(|r| (r, "revocations")),
                    on: on.as_deref(),
                    allow_unverified: opt_bool(&body, "allow_unverified")?,
                    allow_expired: opt_bool(&body, "allow_expired")?,
                };
                let batch = certificate::read_certificate(&cert, &opts)?;
                let (scenario, name) = match opt_str(&body, "scenario")? {
                    Some(t) => (
                        exoskin_api::simulate::parse(&t, "<request scenario>")?,
                        "<request scenario>".to_string(),
                    ),
                    None => (
                        exoskin_api::simulate::parse(
                            exoskin_api::simulate::DEFAULT_SCENARIO,
                            exoskin_api::simulate::DEFAULT_SCENARIO_NAME,
                        )?,
                        exoskin_api::simulate::DEFAULT_SCENARIO_NAME.to_string(),
                    ),
                };
                // The ensemble is `members` runs of this scenario: its estimated cost is checked
                // against what a request may take before any run starts.
                let unbounded = exoskin_transport::Budget {
                    seconds: f64::INFINITY,
                    ..budget
                };
                let one = exoskin_api::simulate::check_cost(
                    &scenario,
                    &name,
                    exoskin_model::TransportParams::defaults(),
                    exoskin_response::ResponseParams::defaults(),
                    &unbounded,
                )?;
                if let Some(c) = one.filter(|c| c.seconds * members as f64 > budget.seconds) {
                    return Err(field(
                        "uncertainty",
                        format!(
                            "{members} ensemble members of this scenario would need about {:.0} s \
                             of computing ({:.2} s each), more than the {:.0} s a request may \
                             take; ask for at most {} members, or a shorter scenario",
                            c.seconds * members as f64,
                            c.seconds,
                            budget.seconds,
                            (budget.seconds / c.seconds).floor() as usize
                        ),
                    ));
                }
                let seed = opt_u64(&body, "seed")?
                    .or(scenario.experiment().uncertainty.map(|u| u.seed))
                    .unwrap_or(exoskin_model::scenario::DEFAULT_ENSEMBLE_SEED);
                // The job's stop (its time limit, a cancel) stops the ensemble's runs.
                let e = certificate::simulate(scenario, &name, &batch, members, seed, p)?;
                Ok(e.doc)
            }),
        )
        .await;
    direct_outcome(v)
}
