//! `GET /01/<gtin>/10/<lot>/simulate`: the registered certificate's batch simulated, as
//! `exoskin simulate --certificate CERT --json` answers it (the bundled scenario, the
//! default ensemble and seed, today's date), verified against the issuer the registry holds
//! it under and the registry's revocations.

use super::{error, json_reply, App, Reply};
use exoskin_api::certificate::{self, CertificateOptions, DEFAULT_CERTIFICATE_MEMBERS};
use exoskin_model::Stop;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Batch simulations running at once; one more is answered 503 before any work starts (each
/// is an ensemble of [`DEFAULT_CERTIFICATE_MEMBERS`] runs, seconds of CPU).
pub const MAX_CONCURRENT: usize = 2;
/// Longest a batch simulation may run: past it the ensemble stops at its next run and the
/// request is answered 408, so no work outlives its request (the server's own request
/// timeout is 30 s).
pub const DEADLINE: Duration = Duration::from_secs(25);

static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// A held simulation slot, given back when dropped.
struct Slot;

impl Slot {
    fn take() -> Option<Slot> {
        RUNNING
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < MAX_CONCURRENT).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The path suffix of the simulation of a certificate's batch.
pub const SUFFIX: &str = "/simulate";

/// Whether `path` asks for a batch simulation (`/01/<gtin>/10/<lot>/simulate`; a lot's own
/// slashes are percent-encoded, so the suffix is unambiguous).
pub fn is_simulate_path(path: &str) -> bool {
    path.starts_with("/01/") && path.ends_with(SUFFIX)
}

impl App {
    /// The simulation of the batch the certificate at `path` (less [`SUFFIX`]) certifies.
    pub(super) fn simulate_batch(&self, path: &str) -> Reply {
        let stored = match self.registered(path, SUFFIX) {
            Ok(s) => s,
            Err(reply) => return reply,
        };
        let revocations =
            json!({ "revoked": stored.revocation.iter().collect::<Vec<_>>() }).to_string();
        // The key the registry holds the certificate under: the issuer who published it.
        let opts = CertificateOptions {
            pubkey: Some((stored.issuer.as_str(), "the registered issuer")),
            revocations: Some((revocations.as_str(), "the registry's revocations")),
            on: None,
            allow_unverified: false,
            allow_expired: false,
        };
        let batch = match certificate::read_certificate(&stored.body, &opts) {
            Ok(b) => b,
            Err(e) => return error(e.kind().http_status(), e.to_string()),
        };
        let Some(_slot) = Slot::take() else {
            return error(
                503,
                format!(
                    "{MAX_CONCURRENT} batch simulations are running; try again in a few seconds"
                ),
            );
        };
        let scenario = match exoskin_api::simulate::parse(
            exoskin_api::simulate::DEFAULT_SCENARIO,
            exoskin_api::simulate::DEFAULT_SCENARIO_NAME,
        ) {
            Ok(s) => s,
            Err(e) => return error(500, e.to_string()),
        };
        // Past the deadline the ensemble's runs stop at their next step.
        let stop = Stop::after(DEADLINE);
        match certificate::simulate(
            scenario,
            exoskin_api::simulate::DEFAULT_SCENARIO_NAME,
            &batch,
            DEFAULT_CERTIFICATE_MEMBERS,
            exoskin_model::scenario::DEFAULT_ENSEMBLE_SEED,
            &stop,
        ) {
            Ok(e) => json_reply(200, e.doc),
            Err(e) => error(e.kind().http_status(), e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_and_given_back() {
        let held: Vec<Slot> = (0..MAX_CONCURRENT).map_while(|_| Slot::take()).collect();
        assert_eq!(held.len(), MAX_CONCURRENT);
        assert!(Slot::take().is_none(), "one past the bound must be refused");
        drop(held);
        assert!(
            Slot::take().is_some(),
            "slots come back when their requests end"
        );
    }
}
