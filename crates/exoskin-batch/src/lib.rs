//! exoskin-batch: signed, scannable batch quality certificates for extracellular-vesicle
//! (exosome) products.
//!
//! The pieces, in the order a batch goes through them:
//!
//! 1. [`record`]: the QC record of one batch (product, GTIN, lot, dates, source and donor
//!    screening, manufacturing, MISEV-style characterization, safety, storage, stability).
//! 2. [`profile`]: acceptance profiles (data files with sources) and the assessment of a
//!    record against one: every check with its value, limit and pass/fail.
//! 3. [`cert`]: a W3C Verifiable Credential 2.0-style certificate over the record and the
//!    assessment, secured with an `eddsa-jcs-2022` Data Integrity proof ([`jcs`] canonical
//!    JSON, [`keys`] Ed25519 keys in PKCS#8/SPKI PEM and `did:key` identifiers).
//! 4. [`gs1`]: GTIN check digits and GS1 Digital Link URIs; [`qr`] renders them to PNG/SVG.
//! 5. [`status`]: revocation as a W3C Bitstring Status List (the certificate's
//!    `credentialStatus`, the list credential the registry signs, the check).
//! 6. [`untp`]: a certificate exported as a UN Transparency Protocol Digital Conformity
//!    Credential (derived and unsigned; the signed certificate stays the authority).
//!
//! [`import`] reads NanoSight/ZetaView NTA exports and FCS 3.1 files into the measured
//! characterization fields of a record, with their uncertainty budget.
//!
//! The registry that stores and resolves certificates is the `exoskin-registry` crate; this
//! crate links no server, client or database code.

pub mod cert;
pub mod date;
pub mod error;
pub mod gs1;
pub mod import;
pub mod jcs;
pub mod keys;
pub mod profile;
pub mod qr;
pub mod record;
pub mod status;
pub mod untp;

pub use error::BatchError;
pub use record::Uncertainty;
