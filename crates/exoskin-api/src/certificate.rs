//! `simulate --certificate`: a signed batch certificate as the product of a scenario.
//!
//! The certificate is verified first, with the checks `exoskin batch verify` makes
//! ([`exoskin_batch::cert::verify_signature`] and [`exoskin_batch::cert::check_status`]);
//! then the product is built from its QC record ([`exoskin_batch::record::QcRecord`]):
//!
//! - particles per mL: `characterization.particle_concentration_per_ml`;
//! - size: a log-normal with the measured mode (`size_mode_nm`, what the model's
//!   `mode_nm` means) and the geometric SD fitted from the percentiles ([`fit_lognormal`]);
//! - formulation: `storage.form` `liquid` or `lyophilised`; `frozen` is simulated as liquid
//!   (a frozen product is thawed before it is applied);
//! - storage temperature: the warmest temperature the stored range allows
//!   (`storage.temperature_max_c`), an assumption that does not understate loss in storage;
//! - storage age: the days from `batch.manufactured` to the day of use (today, or `on`).
//!
//! The rest (dose, skin, procedure, regimen) comes from the scenario. The measured
//! concentration and size mode also enter an ensemble as sampled inputs
//! ([`BatchInput::measurements`]) with their standard uncertainty `u = U / k`, from the
//! certificate's `characterization.uncertainty` or, where it has none, the defaults below.

use crate::uncertainty::{self, Ensemble, Space, Uncertain};
use crate::ApiError;
use exoskin_batch::cert::{self, RevocationList, VerifyError};
use exoskin_batch::date::{self, Date, Timestamp};
use exoskin_batch::keys;
use exoskin_batch::record::QcRecord;
use exoskin_model::scenario::{Formulation, ProductValues};
use exoskin_model::{Prior, Product, Scenario};
use serde_json::{json, Value};

/// Default relative expanded uncertainty of a measured size when the certificate gives none:
/// the NTA size budget of `exoskin batch import` (Kestens et al. 2017, J Nanopart Res 19:
/// U = 10-12 % at k = 2 for mode, median and mean by particle tracking analysis, the method
/// of ISO 19430:2016; the upper end), one source for both.
pub const DEFAULT_SIZE_REL_U: f64 =
    exoskin_batch::import::budget::NTA_SIZE_U_B * exoskin_batch::import::budget::K;
/// Default relative expanded uncertainty of a particle concentration when the certificate
/// gives none: the NTA concentration budget of `exoskin batch import` (Vestad et al. 2017,
/// J Extracell Vesicles 6:1344087: day-to-day CV up to 25 %, taken as the standard
/// uncertainty), U = 50 % at k = 2. Between laboratories the spread is larger still.
pub const DEFAULT_CONCENTRATION_REL_U: f64 =
    exoskin_batch::import::budget::NTA_CONC_U_B * exoskin_batch::import::budget::K;
/// Coverage factor of the defaults above (k = 2, about 95 %, as the import's budget).
pub const DEFAULT_COVERAGE_FACTOR: f64 = exoskin_batch::import::budget::K;
/// Where the defaults come from, as the JSON reports it.
pub const DEFAULT_UNCERTAINTY_SOURCE: &str = "default (the certificate states none): the NTA budget of exoskin batch import: size +/-12 % (Kestens et al. 2017, J Nanopart Res 19, doi:10.1007/s11051-017-3966-8: U = 10-12 % at k = 2 by particle tracking analysis, ISO 19430:2016; the upper end), concentration +/-50 % (Vestad et al. 2017, J Extracell Vesicles 6:1344087: day-to-day CV up to 25 %), k = 2";

/// Ensemble members when a certificate is simulated without `--uncertainty`.
pub const DEFAULT_CERTIFICATE_MEMBERS: usize = 64;

/// Largest log-space skewness of the deciles a log-normal fit accepts (see
/// [`fit_lognormal`]). Assumption: 1/3 lets the two half-spans ln(D50/D10) and
/// ln(D90/D50) differ by up to a factor of 2; beyond it one log-normal misstates a tail.
pub const MAX_LOG_SKEWNESS: f64 = 1.0 / 3.0;

/// A log-normal size distribution fitted to a certificate's size figures.
#[derive(Debug, Clone, PartialEq)]
pub struct LogNormalFit {
    /// The measured mode (the model's `mode_nm`).
    pub mode_nm: f64,
    /// Geometric standard deviation, `exp(sigma)`.
    pub gsd: f64,
    /// `sigma = ln(D90 / D10) / (2 z90)`.
    pub sigma_ln: f64,
    /// The fit's median, `sqrt(D10 D90)`.
    pub median_nm: f64,
    /// The fit's own mode, `median exp(-sigma^2)`, beside the measured one.
    pub lognormal_mode_nm: f64,
    /// `(ln D90 + ln D10 - 2 ln D50) / ln(D90 / D10)`: 0 for an exact log-normal.
    pub log_skewness: f64,
}

/// The standard normal quantile at 0.9 (D90 of a log-normal sits `z90` log-SDs above
/// its median, D10 as far below).
pub fn z90() -> f64 {
    exoskin_model::prior::inverse_normal_cdf(0.9)
}

fn bad(field: &str, message: String) -> ApiError {
    ApiError::BadInput {
        field: Some(field.to_string()),
        message,
    }
}

/// Fit a log-normal to a measured mode and D10/D50/D90 (nm).
///
/// For a log-normal, `ln D_p = mu + sigma z_p` with `z_p` the standard normal quantile, so
/// `ln(D90 / D10) = 2 z90 sigma` exactly and `sigma = ln(D90 / D10) / (2 z90)`, gsd
/// `= exp(sigma)`; both tails are used, not the median. The mode is the measured one.
/// Refused (no log-normal fits them): figures that are not positive and finite, percentiles
/// not strictly increasing, deciles whose log-space skewness exceeds [`MAX_LOG_SKEWNESS`]
/// (a log-normal's D50 is the geometric mean of D10 and D90), a gsd above 3 (the model's
/// limit), and a mode outside D10..D90 (a log-normal's mode lies between its D10 and its
/// median for gsd up to 3).
pub fn fit_lognormal(mode: f64, d10: f64, d50: f64, d90: f64) -> Result<LogNormalFit, ApiError> {
    let f = "characterization";
    for (name, v) in [
        ("size_mode_nm", mode),
        ("size_d10_nm", d10),
        ("size_d50_nm", d50),
        ("size_d90_nm", d90),
    ] {
        if !(v.is_finite() && v > 0.0) {
            return Err(bad(
                &format!("{f}.{name}"),
                format!("{f}.{name} is {v}; a log-normal size needs a positive diameter (nm)"),
            ));
        }
    }
    if !(d10 < d50 && d50 < d90) {
        return Err(bad(
            &format!("{f}.size_d50_nm"),
            format!("D10 {d10} / D50 {d50} / D90 {d90} nm: a log-normal needs D10 < D50 < D90 (a spread of sizes); these percentiles fit none"),
        ));
    }
    let span = (d90 / d10).ln();
    let skew = ((d90.ln() + d10.ln()) - 2.0 * d50.ln()) / span;
    if skew.abs() > MAX_LOG_SKEWNESS {
        return Err(bad(
            &format!("{f}.size_d50_nm"),
            format!(
                "D10 {d10} / D50 {d50} / D90 {d90} nm: in log size the distribution is skewed {skew:+.2} (a log-normal has 0: its D50 is sqrt(D10 x D90) = {:.1} nm); beyond +/-{:.2} no log-normal fits these percentiles; check the figures or give a histogram scenario",
                (d10 * d90).sqrt(),
                MAX_LOG_SKEWNESS
            ),
        ));
    }
    let sigma = span / (2.0 * z90());
    let gsd = sigma.exp();
    if gsd > 3.0 {
        return Err(bad(
            &format!("{f}.size_d90_nm"),
            format!(
                "D10 {d10} / D90 {d90} nm give a geometric SD of {gsd:.2}; the model takes up to 3"
            ),
        ));
    }
    if !(d10 < mode && mode < d90) {
        return Err(bad(
            &format!("{f}.size_mode_nm"),
            format!("the mode {mode} nm lies outside D10..D90 ({d10}..{d90} nm); a log-normal's mode lies between its D10 and its median, so no log-normal fits"),
        ));
    }
    let median = (d10 * d90).sqrt();
    Ok(LogNormalFit {
        mode_nm: mode,
        gsd,
        sigma_ln: sigma,
        median_nm: median,
        lognormal_mode_nm: median * (-sigma * sigma).exp(),
        log_skewness: skew,
    })
}

/// Whole days from `from` to `to` (negative when `to` is earlier).
pub fn days_between(from: Date, to: Date) -> i64 {
    (Timestamp::start_of(to).0 - Timestamp::start_of(from).0) / 86_400
}

/// The scenario source of a certificate's `source.kind` and `cell_type`, where one fits:
/// human cell culture by the cell type named (umbilical cord, adipose, bone marrow MSCs),
/// platelets, plants, bacteria, synthetic mimetics. `None`: the scenario's source is kept.
pub fn scenario_source(kind: &str, cell_type: &str) -> Option<&'static str> {
    let c = cell_type.to_ascii_lowercase();
    match kind {
        "human_cell_culture" if c.contains("umbilical") => Some("human_msc_umbilical_cord"),
        "human_cell_culture" if c.contains("adipose") => Some("human_msc_adipose"),
        "human_cell_culture" if c.contains("bone marrow") || c.contains("bone-marrow") => {
            Some("human_msc_bone_marrow")
        }
        "human_platelet" => Some("platelet"),
        "plant" => Some("plant"),
        "bacterial" => Some("bacterial"),
        "synthetic" => Some("synthetic_mimetic"),
        _ => None,
    }
}

/// How to read a certificate.
#[derive(Debug, Clone, Default)]
pub struct CertificateOptions<'a> {
    /// The issuer key to trust (PEM or `did:key`), with its name for messages. Without it the
    /// signature is checked against the issuer's own `did:key` (who signed is then not
    /// pinned; the JSON says so).
    pub pubkey: Option<(&'a str, &'a str)>,
    /// A revocation list (JSON, as `GET /api/v1/revocations` serves it), with its name.
    pub revocations: Option<(&'a str, &'a str)>,
    /// The day of use `YYYY-MM-DD` (storage age and validity); `None` is today (UTC).
    pub on: Option<&'a str>,
    /// Simulate a certificate that does not verify (with a warning) instead of refusing it.
    pub allow_unverified: bool,
    /// Simulate a batch past its expiry instead of refusing it.
    pub allow_expired: bool,
}

/// How the certificate verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    /// Signature, dates and revocation all hold.
    pub verified: bool,
    /// The issuer was checked against a trusted key (`--pubkey`), not only its own did:key.
    pub issuer_pinned: bool,
    /// Why it did not verify (when it did not).
    pub error: Option<String>,
    pub checked_at: Timestamp,
}

/// The measurement uncertainty a simulation of a batch samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Relative expanded uncertainties and their coverage factor.
    pub concentration_rel_u: f64,
    pub size_rel_u: f64,
    pub coverage_factor: f64,
    pub source: String,
    /// Whether the figures are the defaults (the certificate gives none).
    pub default: bool,
}

impl Measurement {
    /// Relative standard uncertainty `u = U / k` of the concentration.
    pub fn concentration_u(&self) -> f64 {
        self.concentration_rel_u / self.coverage_factor
    }
    /// Relative standard uncertainty `u = U / k` of the size mode.
    pub fn size_u(&self) -> f64 {
        self.size_rel_u / self.coverage_factor
    }
}

/// The log-space SD of a log-normal multiplicative error whose relative SD (coefficient of
/// variation) is `u`: `sqrt(ln(1 + u^2))`.
pub fn log_sigma(u: f64) -> f64 {
    (1.0 + u * u).ln().sqrt()
}

/// A verified certificate, read as a product.
#[derive(Debug, Clone)]
pub struct BatchInput {
    pub id: String,
    pub gtin: String,
    pub lot: String,
    pub issuer_name: String,
    pub issuer_did: String,
    pub record: QcRecord,
    pub verification: Verification,
    /// The day of use and the storage age on it.
    pub on: Date,
    pub age_days: i64,
    pub expires: Date,
    pub expired: bool,
    pub size: LogNormalFit,
    pub formulation: Formulation,
    pub storage_temperature_c: f64,
    /// The scenario source the certificate names, if one fits ([`scenario_source`]).
    pub source: Option<&'static str>,
    pub measurement: Measurement,
    /// Warnings to show (an unverified or expired certificate simulated anyway).
    pub warnings: Vec<String>,
}

/// Read and verify a certificate (JSON text) as a batch to simulate. Refused: text that is
/// not a certificate, a revoked certificate (always), one that does not verify (unless
/// `allow_unverified`), a batch past its expiry on the day of use (unless `allow_expired`),
/// a day of use before manufacture, and size figures no log-normal fits.
pub fn read_certificate(text: &str, opts: &CertificateOptions) -> Result<BatchInput, ApiError> {
    let doc = cert::parse_certificate(text)
        .map_err(|e| bad("certificate", format!("the certificate does not read: {e}")))?;
    let trusted = match opts.pubkey {
        Some((t, name)) => {
            Some(keys::parse_public_key(t, name).map_err(|e| bad("pubkey", e.to_string()))?)
        }
        None => None,
    };
    let revs = read_revocations(opts)?;
    let (on, now) = day_of_use(opts)?;
    let id = doc["id"].as_str().unwrap_or("").to_string();
    refuse_revoked(&revs, &id)?;
    let mut warnings = Vec::new();
    let checked = cert::verify_signature(&doc, trusted.as_ref()).and_then(|v| {
        match cert::check_status(&v, now, &revs) {
            // Expiry is the batch's, handled below with --allow-expired.
            Ok(()) | Err(VerifyError::Expired { .. }) => Ok(v),
            Err(e) => Err(e),
        }
    });
    let (verification, issuer_did, issuer_name) = verification(
        &doc,
        &id,
        checked,
        trusted.is_some(),
        now,
        opts,
        &mut warnings,
    )?;
    let subj = &doc["credentialSubject"];
    let record = read_record(subj)?;
    let (age_days, expires, expired) = check_dates(&record, on, opts, &mut warnings)?;
    let c = &record.characterization;
    let size = fit_lognormal(c.size_mode_nm, c.size_d10_nm, c.size_d50_nm, c.size_d90_nm)?;
    let formulation = formulation(&record.storage.form)?;
    let measurement = measurement(c.uncertainty.as_ref());
    Ok(BatchInput {
        id,
        gtin: subj["gtin"]
            .as_str()
            .unwrap_or(&record.product.gtin)
            .to_string(),
        lot: record.batch.lot.clone(),
        issuer_name,
        issuer_did,
        source: scenario_source(&record.source.kind, &record.source.cell_type),
        storage_temperature_c: record.storage.temperature_max_c,
        record,
        verification,
        on,
        age_days,
        expires,
        expired,
        size,
        formulation,
        measurement,
        warnings,
    })
}

/// The revoked entries of `--revocations` (none without it).
fn read_revocations(opts: &CertificateOptions) -> Result<Vec<cert::Revocation>, ApiError> {
    Ok(match opts.revocations {
        Some((t, name)) => {
            RevocationList::parse(t, name)
                .map_err(|e| bad("revocations", e.to_string()))?
                .revoked
        }
        None => Vec::new(),
    })
}

/// The day of use and the moment checked against: the end of `--on`, or now.
fn day_of_use(opts: &CertificateOptions) -> Result<(Date, Timestamp), ApiError> {
    Ok(match opts.on {
        Some(s) => {
            let d = date::parse(s).map_err(|e| bad("on", format!("--on: {e}")))?;
            (d, Timestamp::end_of(d))
        }
        None => {
            let now = Timestamp::now();
            (now.date(), now)
        }
    })
}

/// Refuse a revoked id, whatever else holds (checked on the id even if the signature fails).
fn refuse_revoked(revs: &[cert::Revocation], id: &str) -> Result<(), ApiError> {
    if let Some(r) = revs.iter().find(|r| r.id == id) {
        return Err(bad(
            "certificate",
            format!(
                "certificate {id} was REVOKED on {} ({}); a revoked batch is not simulated",
                r.revoked_at, r.reason
            ),
        ));
    }
    Ok(())
}

/// The verification and the issuer's did and name, refusing what may not be simulated.
fn verification(
    doc: &Value,
    id: &str,
    checked: Result<cert::Verified, VerifyError>,
    pinned: bool,
    now: Timestamp,
    opts: &CertificateOptions,
    warnings: &mut Vec<String>,
) -> Result<(Verification, String, String), ApiError> {
    Ok(match &checked {
        Ok(v) => (
            Verification {
                verified: true,
                issuer_pinned: pinned,
                error: None,
                checked_at: now,
            },
            v.issuer_did.clone(),
            v.issuer_name.clone(),
        ),
        Err(e) => {
            if matches!(e, VerifyError::Revoked { .. }) {
                return Err(bad("certificate", format!("certificate {id}: {e}")));
            }
            if !opts.allow_unverified {
                return Err(bad(
                    "certificate",
                    format!("the certificate does not verify: {e}; it is not simulated (check it with `exoskin batch verify`, or pass --allow-unverified to simulate it anyway, marked unverified)"),
                ));
            }
            warnings.push(format!(
                "WARNING: the certificate does NOT verify ({e}); simulating it anyway because of --allow-unverified: nothing below is vouched for by its issuer"
            ));
            (
                Verification {
                    verified: false,
                    issuer_pinned: false,
                    error: Some(e.to_string()),
                    checked_at: now,
                },
                doc["issuer"]["id"]
                    .as_str()
                    .or(doc["issuer"].as_str())
                    .unwrap_or("")
                    .to_string(),
                doc["issuer"]["name"].as_str().unwrap_or("").to_string(),
            )
        }
    })
}

/// The QC record of `credentialSubject`, read and validated.
fn read_record(subj: &Value) -> Result<QcRecord, ApiError> {
    let rec_value = subj.get("qcRecord").cloned().ok_or_else(|| {
        bad(
            "certificate",
            "credentialSubject.qcRecord is missing: not a batch certificate".into(),
        )
    })?;
    let record: QcRecord = serde_json::from_value(rec_value).map_err(|e| {
        bad(
            "certificate",
            format!("credentialSubject.qcRecord does not read as a QC record: {e}"),
        )
    })?;
    record
        .validate()
        .map_err(|e| bad("certificate", format!("credentialSubject.qcRecord: {e}")))?;
    Ok(record)
}

/// Storage age, expiry date and whether expired on the day of use, refusing a day before
/// manufacture and an expired batch (unless `allow_expired`).
fn check_dates(
    record: &QcRecord,
    on: Date,
    opts: &CertificateOptions,
    warnings: &mut Vec<String>,
) -> Result<(i64, Date, bool), ApiError> {
    let made = record
        .manufactured()
        .map_err(|e| bad("certificate", e.to_string()))?;
    let expires = record
        .expires()
        .map_err(|e| bad("certificate", e.to_string()))?;
    let age_days = days_between(made, on);
    if age_days < 0 {
        return Err(bad(
            "on",
            format!("the day of use {on} is before the batch was manufactured ({made}); give --on on or after {made}"),
        ));
    }
    let expired = on > expires;
    if expired {
        if !opts.allow_expired {
            return Err(bad(
                "certificate",
                format!("batch {} expired on {expires} ({} days before {on}); it is not simulated (pass --allow-expired to simulate it anyway)", record.batch.lot, days_between(expires, on)),
            ));
        }
        warnings.push(format!(
            "WARNING: batch {} expired on {expires}; simulating it anyway because of --allow-expired",
            record.batch.lot
        ));
    }
    Ok((age_days, expires, expired))
}

/// The simulated formulation of `storage.form` (frozen is thawed: liquid).
fn formulation(form: &str) -> Result<Formulation, ApiError> {
    match form {
        "liquid" | "frozen" => Ok(Formulation::Liquid),
        "lyophilised" | "lyophilized" => Ok(Formulation::Lyophilized),
        other => Err(bad(
            "storage.form",
            format!("storage.form is `{other}`; a simulation knows liquid, frozen (thawed: liquid) and lyophilised"),
        )),
    }
}

/// The measurement uncertainty: the certificate's, or the defaults where it has none.
fn measurement(u: Option<&exoskin_batch::record::Uncertainty>) -> Measurement {
    match u {
        Some(u) => Measurement {
            concentration_rel_u: u.concentration_rel,
            size_rel_u: u.size_rel,
            coverage_factor: u.coverage_factor,
            source: format!(
                "the certificate (characterization.uncertainty): {}",
                u.source
            ),
            default: false,
        },
        None => Measurement {
            concentration_rel_u: DEFAULT_CONCENTRATION_REL_U,
            size_rel_u: DEFAULT_SIZE_REL_U,
            coverage_factor: DEFAULT_COVERAGE_FACTOR,
            source: DEFAULT_UNCERTAINTY_SOURCE.into(),
            default: true,
        },
    }
}

impl BatchInput {
    /// The product name the simulation reports.
    pub fn product_name(&self) -> String {
        let p = &self.record.product;
        format!("{} ({}), lot {}", p.name, p.brand, self.lot)
    }

    /// `scenario` with its product replaced by this batch's (dose and size classes from the
    /// scenario's product). Only in-vivo scenarios have a product.
    pub fn apply(&self, scenario: Scenario, name: &str) -> Result<Scenario, ApiError> {
        let mut scenario = scenario;
        let Scenario::InVivo(v) = &mut scenario else {
            return Err(bad(
                "experiment.kind",
                format!("{name}: a certificate gives the product of an in_vivo scenario; this scenario has no [product]"),
            ));
        };
        let values = ProductValues {
            name: self.product_name(),
            source: self.source.unwrap_or(&v.product.source).to_string(),
            particles_per_ml: self.record.characterization.particle_concentration_per_ml,
            dose_ul_per_cm2: v.product.dose_ul_per_cm2,
            formulation: self.formulation,
            storage_temperature_c: self.storage_temperature_c,
            storage_age_days: self.age_days as f64,
            mode_nm: self.size.mode_nm,
            gsd: self.size.gsd,
            classes: v.product.size_classes,
        };
        v.product = Product::checked(&values).map_err(|e| {
            bad(
                &e.key,
                format!(
                    "the product built from certificate {} ({}): {}",
                    self.id, e.key, e.message
                ),
            )
        })?;
        Ok(scenario)
    }

    /// The measured inputs an ensemble samples: the concentration and the size mode, each
    /// log-normal about the measured value with relative SD `u = U / k` (log-space SD
    /// [`log_sigma`]), truncated at 1.96 SD as every prior of the ensemble.
    pub fn measurements(&self) -> Vec<Uncertain> {
        let m = &self.measurement;
        let c = &self.record.characterization;
        vec![
            Uncertain::measured(
                "particles_per_ml",
                Prior::log_normal_sd(c.particle_concentration_per_ml, log_sigma(m.concentration_u())),
                format!(
                    "measured {} per mL ({}), relative standard uncertainty {:.3} (U {} at k {}); {}",
                    c.particle_concentration_per_ml,
                    c.concentration_method,
                    m.concentration_u(),
                    m.concentration_rel_u,
                    m.coverage_factor,
                    m.source
                ),
            ),
            Uncertain::measured(
                "size.mode_nm",
                Prior::log_normal_sd(self.size.mode_nm, log_sigma(m.size_u())),
                format!(
                    "measured mode {} nm, relative standard uncertainty {:.3} (U {} at k {}); {}",
                    self.size.mode_nm,
                    m.size_u(),
                    m.size_rel_u,
                    m.coverage_factor,
                    m.source
                ),
            ),
        ]
    }

    /// The `batch` block of the JSON.
    pub fn json(&self, scenario: &Scenario) -> Value {
        let c = &self.record.characterization;
        let product = match scenario {
            Scenario::InVivo(v) => json!({
                "name": v.product.name,
                "source": v.product.source,
                "source_from": if self.source.is_some() { "certificate (source.kind, source.cell_type)" } else { "scenario (the certificate's source names no scenario source)" },
                "particles_per_ml": v.product.particles_per_ml,
                "dose_ul_per_cm2": v.product.dose_ul_per_cm2,
                "formulation": match v.product.formulation { Formulation::Liquid => "liquid", Formulation::Lyophilized => "lyophilized" },
                "formulation_from": format!("storage.form `{}`{}", self.record.storage.form, if self.record.storage.form == "frozen" { " (thawed before use: liquid)" } else { "" }),
                "storage_temperature_c": v.product.storage.temperature_c,
                "storage_temperature_from": format!("the warmest of the stored range {} to {} °C (assumption: loss in storage not understated)", self.record.storage.temperature_min_c, self.record.storage.temperature_max_c),
                "storage_age_days": v.product.storage.age_days,
                "size": {
                    "distribution": "log-normal",
                    "mode_nm": self.size.mode_nm,
                    "gsd": self.size.gsd,
                    "sigma_ln": self.size.sigma_ln,
                    "median_nm": self.size.median_nm,
                    "lognormal_mode_nm": self.size.lognormal_mode_nm,
                    "log_skewness": self.size.log_skewness,
                    "measured": {"mode_nm": c.size_mode_nm, "d10_nm": c.size_d10_nm, "d50_nm": c.size_d50_nm, "d90_nm": c.size_d90_nm},
                    "fit": "mode as measured; gsd = exp(ln(D90/D10) / (2 z90)), z90 = 1.2816 the standard normal 90th percentile",
                },
            }),
            _ => Value::Null,
        };
        let m = &self.measurement;
        json!({
            "id": self.id,
            "gtin": self.gtin,
            "lot": self.lot,
            "issuer": {"name": self.issuer_name, "id": self.issuer_did},
            "verified": self.verification.verified,
            "verification": {
                "verified": self.verification.verified,
                "issuer_pinned": self.verification.issuer_pinned,
                "issuer_key": if self.verification.issuer_pinned { "the trusted key given (--pubkey)" } else { "the issuer's own did:key in the certificate (not pinned: give --pubkey)" },
                "error": self.verification.error,
                "checked_at": self.verification.checked_at.to_string(),
            },
            "manufactured": self.record.batch.manufactured,
            "expires": self.expires.to_string(),
            "expired": self.expired,
            "on": self.on.to_string(),
            "age_days": self.age_days,
            "product": product,
            "uncertainty": {
                "concentration_rel_expanded": m.concentration_rel_u,
                "size_rel_expanded": m.size_rel_u,
                "coverage_factor": m.coverage_factor,
                "concentration_rel_standard": m.concentration_u(),
                "size_rel_standard": m.size_u(),
                "default": m.default,
                "source": m.source,
                "sampled": ["product.particles_per_ml", "product.size.mode_nm"],
                "sampling": "log-normal multiplicative error about the measured value, relative SD u = U/k (log-space SD sqrt(ln(1 + u^2))), truncated at 1.96 SD",
            },
            "warnings": self.warnings,
        })
    }

    /// The lines the readable summary starts with.
    pub fn summary(&self) -> String {
        use std::fmt::Write as _;
        let mut o = String::new();
        for w in &self.warnings {
            let _ = writeln!(o, "{w}");
        }
        let v = &self.verification;
        let _ = writeln!(
            o,
            "Batch {} of {} ({}): GTIN {}, certified by {} ({})",
            self.lot,
            self.record.product.name,
            self.record.product.brand,
            self.gtin,
            self.issuer_name,
            if v.verified && v.issuer_pinned {
                "verified against the trusted key"
            } else if v.verified {
                "signature verified against the issuer's own did:key; issuer not pinned"
            } else {
                "NOT VERIFIED"
            }
        );
        let c = &self.record.characterization;
        let m = &self.measurement;
        let _ = writeln!(
            o,
            "  {:.3e} particles/mL, mode {} nm (gsd {:.3} from D10/D90), {} stored at up to {} °C, {} days old on {}{}",
            c.particle_concentration_per_ml,
            self.size.mode_nm,
            self.size.gsd,
            self.record.storage.form,
            self.storage_temperature_c,
            self.age_days,
            self.on,
            if self.expired { " (EXPIRED)" } else { "" }
        );
        let _ = writeln!(
            o,
            "  measurement uncertainty sampled: concentration +/-{:.0} %, size +/-{:.0} % (k = {}; {})\n",
            m.concentration_rel_u * 100.0,
            m.size_rel_u * 100.0,
            m.coverage_factor,
            if m.default { "defaults" } else { "from the certificate" }
        );
        o
    }
}

/// Simulate a batch: `scenario` with the batch's product, as an ensemble of `members` over
/// the shipped space and the batch's measured inputs; the document gains the `batch` block.
pub fn simulate(
    scenario: Scenario,
    name: &str,
    batch: &BatchInput,
    members: usize,
    seed: u64,
    observer: &dyn exoskin_model::Observer,
) -> Result<Ensemble, ApiError> {
    let scenario = batch.apply(scenario, name)?;
    let space = Space::shipped(&scenario)?.with_measurements(batch.measurements());
    let mut e = uncertainty::ensemble(&scenario, name, &space, members, seed, observer)?;
    e.doc["batch"] = batch.json(&scenario);
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_lognormal_quantiles_round_trip() {
        // D_p = exp(mu + sigma z_p) with z_p from statrs' inverse normal CDF (independent
        // of the fit's constant-free formula); gsd and median come back to 1e-9.
        for &(median, gsd) in &[(100.0, 1.4), (80.0, 1.05), (150.0, 2.2), (60.0, 2.99)] {
            let s: f64 = f64::ln(gsd);
            let q = |p: f64| median * (s * exoskin_model::prior::inverse_normal_cdf(p)).exp();
            let mode = median * (-s * s).exp();
            let f = fit_lognormal(mode, q(0.1), q(0.5), q(0.9)).unwrap();
            assert!((f.gsd - gsd).abs() < 1e-9, "{gsd}: {}", f.gsd);
            assert!((f.median_nm - median).abs() < 1e-9 * median);
            assert!((f.lognormal_mode_nm - mode).abs() < 1e-9 * mode);
            assert!(f.log_skewness.abs() < 1e-12);
        }
        // The constant itself: Phi^-1(0.9) to 16 digits (Abramowitz and Stegun, table 26.5).
        assert!((z90() - 1.2815515655446004).abs() < 1e-12);
    }

    #[test]
    fn percentiles_no_lognormal_fits_are_refused() {
        let e = |m, a, b, c| fit_lognormal(m, a, b, c).unwrap_err().to_string();
        assert!(e(98.0, 104.0, 104.0, 168.0).contains("D10 < D50 < D90"));
        assert!(e(98.0, 0.0, 104.0, 168.0).contains("positive diameter"));
        // D50 far off the geometric mean of D10 and D90.
        assert!(e(70.0, 62.0, 75.0, 300.0).contains("skewed"));
        // A mode above D90.
        assert!(e(200.0, 62.0, 104.0, 168.0).contains("outside D10..D90"));
        // A spread beyond gsd 3.
        assert!(e(20.0, 10.0, 100.0, 1000.0).contains("geometric SD"));
        // The shipped example batch fits.
        let f = fit_lognormal(98.0, 62.0, 104.0, 168.0).unwrap();
        assert!((f.gsd - 1.475).abs() < 0.01, "{}", f.gsd);
    }

    #[test]
    fn storage_age_counts_calendar_days() {
        let d = |s| date::parse(s).unwrap();
        assert_eq!(days_between(d("2026-04-12"), d("2026-04-12")), 0);
        assert_eq!(days_between(d("2026-04-12"), d("2026-05-12")), 30);
        // 2028 is a leap year: 366 days from 2028-01-01 to 2029-01-01.
        assert_eq!(days_between(d("2028-01-01"), d("2029-01-01")), 366);
        assert_eq!(days_between(d("2027-01-01"), d("2028-01-01")), 365);
        assert_eq!(days_between(d("2026-05-12"), d("2026-04-12")), -30);
    }

    #[test]
    fn sources_map_by_kind_and_cell_type() {
        assert_eq!(
            scenario_source(
                "human_cell_culture",
                "umbilical-cord mesenchymal stromal cells"
            ),
            Some("human_msc_umbilical_cord")
        );
        assert_eq!(scenario_source("plant", "Centella callus"), Some("plant"));
        assert_eq!(scenario_source("animal", "bovine milk"), None);
    }

    /// A certificate of the example batch, issued on 2026-04-20 with a throwaway key.
    fn example_certificate() -> String {
        use exoskin_batch::cert::{issue, IssueOptions};
        use exoskin_batch::profile::{Profile, DEFAULT_PROFILE_TOML};
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/qc/pass_msc_serum.toml");
        let record = QcRecord::load(&path).unwrap();
        let profile = Profile::parse(DEFAULT_PROFILE_TOML, "default").unwrap();
        let key = keys::generate().unwrap();
        let opts = IssueOptions {
            profile: &profile,
            resolver: "id.example.com",
            issued_at: Timestamp::parse("2026-04-20T12:00:00Z").unwrap(),
            allow_failing: false,
        };
        issue(&record, &key, &opts).unwrap().text
    }

    #[test]
    fn measurement_uncertainty_alone_widens_the_bands_on_the_same_seed() {
        let text = example_certificate();
        let opts = CertificateOptions {
            on: Some("2026-05-12"),
            ..Default::default()
        };
        let batch = read_certificate(&text, &opts).unwrap();
        assert_eq!(batch.age_days, 30);
        assert!(batch.verification.verified && !batch.verification.issuer_pinned);
        let name = crate::simulate::DEFAULT_SCENARIO_NAME;
        let scenario = crate::simulate::parse(crate::simulate::DEFAULT_SCENARIO, name).unwrap();
        let scenario = batch.apply(scenario, name).unwrap();
        // Every prior and the posterior collapsed to their medians: only the measured
        // inputs move, so without them every member is the nominal run.
        let fixed = Space::shipped(&scenario).unwrap().scaled(0.0);
        let measured = fixed.clone().with_measurements(batch.measurements());
        let control = exoskin_model::Stop::never();
        let without = uncertainty::ensemble(&scenario, name, &fixed, 20, 7, &control).unwrap();
        let with = uncertainty::ensemble(&scenario, name, &measured, 20, 7, &control).unwrap();
        let width = |doc: &Value, k: &str| {
            let b = &doc["outcomes"]["bands"][k];
            let last = |q: &str| b[q].as_array().unwrap().last().unwrap().as_f64().unwrap();
            last("p95") - last("p05")
        };
        for k in ["collagen_pct", "elastin_pct", "elasticity_pct"] {
            let (w0, w1) = (width(&without.doc, k), width(&with.doc, k));
            assert!(w0.abs() < 1e-9, "{k}: {w0} without measurement uncertainty");
            assert!(w1 > 1e-6, "{k}: {w1} with measurement uncertainty");
        }
        // Size moves transport: the fraction reaching the dermis spreads too.
        let t = |doc: &Value, q: &str| {
            let b = &doc["transport"]["bands"]["reached_dermis_fraction"][q];
            b.as_array().unwrap().last().unwrap().as_f64().unwrap()
        };
        assert!((t(&without.doc, "p95") - t(&without.doc, "p05")).abs() < 1e-12);
        assert!(t(&with.doc, "p95") - t(&with.doc, "p05") > 1e-6);
        // The same nominal run: the measurements are sampled around it.
        assert_eq!(
            with.doc["outcomes"]["collagen_pct"],
            without.doc["outcomes"]["collagen_pct"]
        );
    }

    #[test]
    fn multiplicative_error_has_the_stated_relative_sd() {
        // A log-normal with log-SD sqrt(ln(1 + u^2)) has coefficient of variation u.
        for u in [0.05, 0.2, 0.5] {
            let s = log_sigma(u);
            let cv = ((s * s).exp() - 1.0).sqrt();
            assert!((cv - u).abs() < 1e-12);
        }
    }
}
