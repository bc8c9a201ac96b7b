//! exoskin-registry: the registry and GS1 Digital Link resolver for the batch certificates
//! of [`exoskin_batch`].
//!
//! - [`store`]: SQLite or PostgreSQL, with an append-only, hash-chained audit log;
//! - [`log`], [`merkle`], [`tlog`]: the audit log as a Merkle transparency log (RFC 9162
//!   trees; C2SP signed-note checkpoints, inclusion and consistency proofs);
//! - [`server`]: the registry and resolver over HTTP; [`server::resolver`]: GS1-Conformant
//!   resolution (link types, RFC 9264 linksets, the resolver description);
//! - [`html`]: the pages a phone sees after scanning a batch QR code;
//! - [`status`]: revocation as W3C Bitstring Status Lists (indices, signed lists);
//! - [`client`]: the client the CLI, the tests and the load benchmark use.
//!
//! The certificate domain (records, profiles, credentials, GS1, QR) stays in
//! `exoskin-batch`, which links no server or database code.

pub mod checkpoint;
pub mod client;
pub mod error;
pub mod html;
pub mod import;
pub mod limits;
pub mod log;
pub mod merkle;
pub mod server;
pub mod status;
pub mod store;
pub mod tlog;

pub use error::RegistryError;
