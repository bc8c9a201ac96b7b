//! `GET /01/<gtin>/10/<lot>/untp`: the registered certificate as a UN Transparency Protocol
//! Digital Conformity Credential, as `exoskin batch export CERT --untp` writes it (against the
//! bundled acceptance profile, so the criteria carry their numeric thresholds where the
//! certificate was assessed with it).

use super::{error, json_reply, App, Reply};
use exoskin_batch::{cert, profile::Profile, untp};

/// The path suffix of a certificate's UNTP export.
pub const SUFFIX: &str = "/untp";

/// Whether `path` asks for a UNTP export (`/01/<gtin>/10/<lot>/untp`; a lot's own slashes
/// are percent-encoded, so the suffix is unambiguous).
pub fn is_untp_path(path: &str) -> bool {
    path.starts_with("/01/") && path.ends_with(SUFFIX)
}

impl App {
    /// The UNTP Digital Conformity Credential of the certificate at `path` (less [`SUFFIX`]).
    pub(super) fn untp_export(&self, path: &str) -> Reply {
        let stored = match self.registered(path, SUFFIX) {
            Ok(s) => s,
            Err(reply) => return reply,
        };
        let doc = match cert::parse_certificate(&stored.body) {
            Ok(d) => d,
            // The registry checked the body when it was published: not the client's fault.
            Err(e) => return error(500, format!("the stored certificate does not read: {e}")),
        };
        let profile = Profile::default_profile();
        let opts = untp::ExportOptions {
            profile: Some(&profile),
        };
        match untp::export(&doc, &opts) {
            Ok(x) => json_reply(200, x.document),
            Err(e) if e.is_bad_input() => error(422, e.to_string()),
            Err(e) => error(500, e.to_string()),
        }
    }
}
