//! exoskin-registry: the registry and GS1 Digital Link resolver for the batch certificates
//! of [`exoskin_batch`].
//!
//! - [`store`]: SQLite or PostgreSQL, with an append-only, hash-chained audit log;
//! - [`log`], [`merkle`], [`tlog`]: the audit log as a Merkle transparency log (RFC 9162
//!   trees; C2SP signed-note checkpoints, inclusion and consistency proofs);
//! - [`server`]: the registry and resolver over HTTP;
//! - [`html`]: the pages a phone sees after scanning a batch QR code;
//! - [`client`]: the client the CLI, the tests and the load benchmark use.
//!
//! The certificate domain (records, profiles, credentials, GS1, QR) stays in
//! `exoskin-batch`, which links no server or database code.

pub mod checkpoint;
pub mod client;
pub mod error;
pub mod html;
pub mod limits;
pub mod log;
pub mod merkle;
pub mod server;
pub mod store;
pub mod tlog;

pub use error::RegistryError;
