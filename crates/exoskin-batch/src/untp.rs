//! A certificate as a UN Transparency Protocol (UNTP) Digital Conformity Credential.
//!
//! [`export`] maps a signed exoskin certificate onto the DCC's structure: the issuer, one
//! `ConformityAttestation` whose id is the certificate's id, and in it one
//! `ConformityAssessment` for the batch's acceptance under its profile followed by one per
//! check of the assessment, each with its criterion, its result (`conformance`), the assessed
//! product (GTIN, lot, Digital Link) and the measured values as metrics with UNECE
//! Recommendation 20 unit codes. The export is derived and unsigned: the signed certificate
//! stays the authority, and the DCC points to it (`conformityCertificate`: the resolver link
//! and the SHA-256 of the certificate's RFC 8785 canonical form).
//!
//! What exoskin does not know is never made up. Parties known only by name (the manufacturer,
//! its site) and criteria with no published URI get name-based UUIDs (version 8 of RFC 9562,
//! SHA-256 of a fixed namespace and the name), so the same name gives the same id in every
//! export; quantities with no Rec 20 unit (endotoxin in EU/mL, particles per microgram of
//! protein) and categorical results stay in the assessment's text, not in a metric.
use crate::cert;
use crate::date;
use crate::error::{BatchError, Result};
use crate::jcs::canonicalize;
use crate::profile::{Assessment, Check, Profile};
use crate::record::QcRecord;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The W3C Verifiable Credentials 2.0 context, first in every DCC.
pub const VC_CONTEXT: &str = cert::VC_CONTEXT;
/// The DCC context of the UNTP version the export follows (the schema fixes both entries).
pub const DCC_CONTEXT: &str = "https://test.uncefact.org/vocabulary/untp/dcc/working/";
/// GS1's identifier scheme of GTINs.
pub const GTIN_SCHEME: &str = "https://id.gs1.org/01/";
/// GS1 Web Vocabulary link type of a resolver's certification information: what an exoskin
/// resolver serves at a batch's Digital Link.
pub const LINK_TYPE_CERTIFICATION_INFO: &str = "https://gs1.org/voc/certificationInfo";

/// UNECE Recommendation 20 codes of the units the export uses.
pub mod rec20 {
    /// nanometre.
    pub const NANOMETRE: &str = "C45";
    /// reciprocal cubic centimetre: a count per millilitre.
    pub const PER_CUBIC_CENTIMETRE: &str = "H50";
    /// microgram per litre, which equals nanogram per millilitre.
    pub const MICROGRAM_PER_LITRE: &str = "H29";
    /// one: a dimensionless number (fractions are given as fractions, 0.82, not 82 %).
    pub const ONE: &str = "C62";
    /// month.
    pub const MONTH: &str = "MON";
}

/// Namespace of the name-based UUIDs of this export (a fixed random UUID).
const ID_NAMESPACE: [u8; 16] = [
    0x4b, 0x6f, 0x87, 0x9d, 0x5c, 0x28, 0x48, 0x9c, 0x9c, 0x1d, 0x3c, 0x8a, 0x02, 0x80, 0x4c, 0xe2,
];

/// A name-based UUID URN: version 8 (RFC 9562, 5.8) over the first 16 bytes of
/// SHA-256(namespace || name), as in RFC 9562's appendix B.2.
pub fn name_uuid(name: &str) -> String {
    let mut h = Sha256::new();
    h.update(ID_NAMESPACE);
    h.update(name.as_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .urn()
        .to_string()
}

/// Whether `s` is an absolute URI as RFC 3986 writes one: a scheme, a colon, and only
/// characters a URI may hold (`%` followed by two hex digits).
pub fn is_absolute_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut sc = scheme.chars();
    if !sc.next().is_some_and(|c| c.is_ascii_alphabetic())
        || !sc.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return false;
    }
    let b = rest.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            if i + 2 >= b.len() || !(b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit()) {
                return false;
            }
            i += 3;
            continue;
        }
        if !(c.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&c)) {
            return false;
        }
        i += 1;
    }
    true
}

/// Options of [`export`].
#[derive(Default)]
pub struct ExportOptions<'a> {
    /// The acceptance profile the certificate was assessed against. The certificate carries
    /// each limit as text; with the profile (same id and version, and assessing the
    /// certificate's record with it gives the certificate's assessment) the criteria also
    /// carry the limits as numbers (`thresholdValue`).
    pub profile: Option<&'a Profile>,
}

/// What [`export`] produces.
#[derive(Debug, Clone)]
pub struct Export {
    /// The Digital Conformity Credential.
    pub document: Value,
    /// Its pretty JSON text, with a final newline.
    pub text: String,
    /// Whether the criteria carry numeric thresholds from the profile.
    pub thresholds: bool,
    /// What the export left out and why (for the user; the document says it too).
    pub notes: Vec<String>,
}

/// A measured value or a limit: a Rec 20 unit code always.
struct Metric {
    name: String,
    value: Value,
    unit: &'static str,
}

impl Metric {
    fn new(name: impl Into<String>, value: impl Into<Value>, unit: &'static str) -> Metric {
        Metric {
            name: name.into(),
            value: value.into(),
            unit,
        }
    }

    fn json(&self) -> Value {
        json!({
            "metricName": self.name,
            "metricValue": { "value": self.value, "unit": self.unit },
        })
    }
}

/// UNTP conformity topics. The DCC's list names sustainability topics and none for product
/// quality: safety checks go under `social.safety` (health and safety), the others under
/// `governance.compliance` (conformance to the acceptance profile and the rules it cites).
pub fn conformity_topic(check_id: &str) -> &'static str {
    if check_id.starts_with("safety.") || check_id == "source.donor_screening" {
        "social.safety"
    } else {
        "governance.compliance"
    }
}

fn bad(msg: impl Into<String>) -> BatchError {
    BatchError::invalid(msg)
}

fn eq_ci(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// The measured values behind a check, with Rec 20 units; empty where the check's value is
/// categorical or has no Rec 20 unit.
fn declared_values(check: &Check, r: &QcRecord) -> Result<Vec<Metric>> {
    let c = &r.characterization;
    let s = &r.safety;
    use rec20::*;
    Ok(match check.id.as_str() {
        "size.mode" => vec![
            Metric::new("Modal particle diameter", c.size_mode_nm, NANOMETRE),
            Metric::new("Particle diameter D10", c.size_d10_nm, NANOMETRE),
            Metric::new("Particle diameter D50 (median)", c.size_d50_nm, NANOMETRE),
            Metric::new("Particle diameter D90", c.size_d90_nm, NANOMETRE),
        ],
        "size.fraction_30_150_nm" => vec![Metric::new(
            "Fraction of particles within 30-150 nm",
            c.fraction_30_150_nm,
            ONE,
        )],
        "concentration" => vec![Metric::new(
            format!(
                "Particle concentration per millilitre ({})",
                c.concentration_method
            ),
            c.particle_concentration_per_ml,
            PER_CUBIC_CENTIMETRE,
        )],
        "safety.viable_cells" => vec![Metric::new(
            "Viable cells per millilitre",
            s.viable_cells_per_ml,
            PER_CUBIC_CENTIMETRE,
        )],
        "safety.residual_dna" => vec![Metric::new(
            "Residual host-cell DNA (ng/mL = µg/L)",
            s.residual_dna_ng_per_ml,
            MICROGRAM_PER_LITRE,
        )],
        "stability.shelf_life" => vec![Metric::new(
            "Shelf life claimed, manufacture to expiry",
            date::months_until(r.manufactured()?, r.expires()?),
            MONTH,
        )],
        "stability.particle_retention" => vec![Metric::new(
            "Fraction of particles retained at the end of the stability study",
            r.stability.particle_retention_fraction,
            ONE,
        )],
        _ => Vec::new(),
    })
}

/// A check's limits as numbers: `(suffix, metric)` pairs, one per limit (two for a range).
/// The shelf life's limit is the record's own stability study; the others are the profile's,
/// known only when `profile` reproduced the certificate's assessment.
fn thresholds(
    check: &Check,
    r: &QcRecord,
    profile: Option<&Profile>,
) -> Vec<(&'static str, Metric)> {
    use rec20::*;
    if check.id == "stability.shelf_life" {
        return vec![(
            "",
            Metric::new(
                "Shelf life covered by the stability study, maximum",
                r.stability.supported_months,
                MONTH,
            ),
        )];
    }
    let Some(p) = profile else {
        return Vec::new();
    };
    match check.id.as_str() {
        "size.mode" => vec![
            (
                "min",
                Metric::new(
                    "Modal particle diameter, minimum",
                    p.size.mode_nm_min,
                    NANOMETRE,
                ),
            ),
            (
                "max",
                Metric::new(
                    "Modal particle diameter, maximum",
                    p.size.mode_nm_max,
                    NANOMETRE,
                ),
            ),
        ],
        "size.fraction_30_150_nm" => vec![(
            "",
            Metric::new(
                "Fraction of particles within 30-150 nm, minimum",
                p.size.fraction_30_150_nm_min,
                ONE,
            ),
        )],
        "concentration" => vec![(
            "",
            Metric::new(
                "Particle concentration per millilitre, minimum",
                p.concentration.min_per_ml,
                PER_CUBIC_CENTIMETRE,
            ),
        )],
        "safety.viable_cells" => vec![(
            "",
            Metric::new(
                "Viable cells per millilitre, maximum",
                p.safety.viable_cells_per_ml_max,
                PER_CUBIC_CENTIMETRE,
            ),
        )],
        "safety.residual_dna" => vec![(
            "",
            Metric::new(
                "Residual host-cell DNA (ng/mL = µg/L), maximum",
                p.safety.residual_dna_ng_per_ml_max,
                MICROGRAM_PER_LITRE,
            ),
        )],
        "stability.particle_retention" => vec![(
            "",
            Metric::new(
                "Fraction of particles retained at the end of the stability study, minimum",
                p.stability.particle_retention_min,
                ONE,
            ),
        )],
        _ => Vec::new(),
    }
}

/// Everything the assessments share.
struct Ctx<'a> {
    cert_id: &'a str,
    assessment: &'a Assessment,
    record: &'a QcRecord,
    profile: Option<&'a Profile>,
    date: String,
    product: Value,
    facility: Value,
}

impl Ctx<'_> {
    fn profile_tag(&self) -> String {
        format!(
            "{}@{}",
            self.assessment.profile, self.assessment.profile_version
        )
    }

    fn criterion_id(&self, what: &str) -> String {
        name_uuid(&format!(
            "criterion\n{}\n{}\n{what}",
            self.assessment.profile, self.assessment.profile_version
        ))
    }

    fn criterion(&self, check: &Check) -> Value {
        let mut tags = vec![check.id.clone(), self.profile_tag()];
        tags.extend(
            check
                .source
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        );
        let mut c = json!({
            "type": ["Criterion"],
            "id": self.criterion_id(&check.id),
            "name": check.description,
            "description": format!(
                "{}; required: {}. Acceptance profile {} version {}; sources: {}.",
                check.description,
                check.limit,
                self.assessment.profile,
                self.assessment.profile_version,
                check.source
            ),
            "conformityTopic": conformity_topic(&check.id),
            "status": "active",
            "tag": tags,
        });
        let limits = thresholds(check, self.record, self.profile);
        match limits.as_slice() {
            [] => {}
            [("", m)] => c["thresholdValue"] = m.json(),
            many => {
                let subs: Vec<Value> = many
                    .iter()
                    .map(|(suffix, m)| {
                        let id = format!("{}.{suffix}", check.id);
                        json!({
                            "type": ["Criterion"],
                            "id": self.criterion_id(&id),
                            "name": m.name,
                            "description": format!(
                                "{}: the {} end of the limit {} (the number is in thresholdValue).",
                                m.name,
                                if *suffix == "min" { "lower" } else { "upper" },
                                check.limit
                            ),
                            "conformityTopic": conformity_topic(&check.id),
                            "status": "active",
                            "thresholdValue": m.json(),
                            "tag": [id, self.profile_tag()],
                        })
                    })
                    .collect();
                c["subCriterion"] = Value::Array(subs);
            }
        }
        c
    }

    fn check_assessment(&self, check: &Check) -> Result<Value> {
        let mut a = json!({
            "type": ["ConformityAssessment", "Declaration"],
            "id": format!("{}#{}", self.cert_id, check.id),
            "name": check.description,
            "description": format!(
                "{}: {} (required: {}): {}.",
                check.description,
                check.value,
                check.limit,
                if check.pass { "pass" } else { "FAIL" }
            ),
            "assessmentDate": self.date,
            "assessmentCriteria": [self.criterion(check)],
            "conformityTopic": conformity_topic(&check.id),
            "conformance": check.pass,
            "assessedProduct": [self.product.clone()],
        });
        let declared = declared_values(check, self.record)?;
        if !declared.is_empty() {
            a["declaredValue"] = Value::Array(declared.iter().map(Metric::json).collect());
        }
        if check.id == "manufacturing.gmp" {
            a["assessedFacility"] = json!([self.facility.clone()]);
        }
        Ok(a)
    }

    fn acceptance(&self) -> Value {
        let a = self.assessment;
        let r = self.record;
        let n = a.checks.len();
        let passed = a.checks.iter().filter(|c| c.pass).count();
        let failed: Vec<&str> = a.failures().map(|c| c.id.as_str()).collect();
        let ids: Vec<&str> = a.checks.iter().map(|c| c.id.as_str()).collect();
        let verdict = if a.pass {
            "the batch passes".to_string()
        } else {
            format!("the batch fails ({})", failed.join(", "))
        };
        json!({
            "type": ["ConformityAssessment", "Declaration"],
            "id": format!("{}#acceptance", self.cert_id),
            "name": format!(
                "Batch acceptance under profile {} version {}",
                a.profile, a.profile_version
            ),
            "description": format!(
                "{passed} of {n} checks of acceptance profile {} version {} pass: {verdict}. \
                 Source: {} ({}); isolation: {}; particle counts by {}; storage {}-{} °C, {}.",
                a.profile,
                a.profile_version,
                r.source.kind,
                r.source.cell_type,
                r.manufacturing.isolation_method,
                r.characterization.concentration_method,
                r.storage.temperature_min_c,
                r.storage.temperature_max_c,
                r.storage.form,
            ),
            "assessmentDate": self.date,
            "assessmentCriteria": [{
                "type": ["Criterion"],
                "id": self.criterion_id("*"),
                "name": format!("Acceptance profile {} version {}", a.profile, a.profile_version),
                "description": format!(
                    "The batch passes every check of the profile: {}.",
                    ids.join(", ")
                ),
                "conformityTopic": "governance.compliance",
                "status": "active",
                "tag": [self.profile_tag()],
            }],
            "conformityTopic": "governance.compliance",
            "conformance": a.pass,
            "assessedProduct": [self.product.clone()],
            "assessedFacility": [self.facility.clone()],
        })
    }
}

fn uri_field(s: &str, field: &str) -> Result<String> {
    if is_absolute_uri(s) {
        Ok(s.to_string())
    } else {
        Err(bad(format!(
            "{field} `{}` is not an absolute URI",
            crate::gs1::truncate_for_message(s)
        )))
    }
}

/// The certificate verified against its own issuer, with its record and assessment.
fn read_certificate(certificate: &Value) -> Result<(cert::Verified, QcRecord, Assessment)> {
    let v = cert::verify_signature(certificate, None)
        .map_err(|e| bad(format!("not a valid exoskin certificate: {e}")))?;
    let subj = &certificate["credentialSubject"];
    let record: QcRecord = serde_json::from_value(subj["qcRecord"].clone())
        .map_err(|e| bad(format!("credentialSubject.qcRecord: {e}")))?;
    let assessment: Assessment = serde_json::from_value(subj["assessment"].clone())
        .map_err(|e| bad(format!("credentialSubject.assessment: {e}")))?;
    Ok((v, record, assessment))
}

/// Lowercase hex SHA-256 of the certificate's RFC 8785 canonical form.
fn certificate_digest(certificate: &Value) -> Result<String> {
    let canonical = canonicalize(certificate)?;
    Ok(Sha256::digest(canonical.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The given profile if it reproduces the certificate's assessment; otherwise a note why not.
fn matching_profile<'a>(
    opts: &ExportOptions<'a>,
    record: &QcRecord,
    assessment: &Assessment,
    notes: &mut Vec<String>,
) -> Option<&'a Profile> {
    match opts.profile {
        Some(p) if p.id == assessment.profile && p.version == assessment.profile_version => {
            if p.assess(record) == *assessment {
                Some(p)
            } else {
                notes.push(format!(
                    "profile {} version {} does not reproduce the certificate's assessment of its record; \
                     criteria carry their limits as text only",
                    p.id, p.version
                ));
                None
            }
        }
        Some(p) => {
            notes.push(format!(
                "the certificate was assessed against profile {} version {}, not {} version {}; \
                 criteria carry their limits as text only (give that profile for numeric thresholds)",
                assessment.profile, assessment.profile_version, p.id, p.version
            ));
            None
        }
        None => None,
    }
}

/// The assessed product: the batch's GTIN and lot at its Digital Link.
fn assessed_product(link: &str, record: &QcRecord, v: &cert::Verified) -> Value {
    json!({
        "product": {
            "id": link,
            "name": format!("{} ({})", record.product.name, record.product.brand),
            "registeredId": &v.gtin,
            "idScheme": {
                "type": ["IdentifierScheme"],
                "id": GTIN_SCHEME,
                "name": "Global Trade Item Number (GTIN)",
            },
            "batchNumber": v.lot,
        },
    })
}

/// The assessed facility: the manufacturer's site, with a name-based id.
fn assessed_facility(m: &crate::record::Manufacturing) -> Value {
    json!({
        "facility": {
            "id": name_uuid(&format!("facility\n{}\n{}", m.manufacturer, m.site)),
            "name": format!("{}, {}", m.manufacturer, m.site),
        },
    })
}

/// The issuer's accreditation as the record states it, when it states one.
fn stated_accreditation(record: &QcRecord) -> Option<&str> {
    record
        .issuer
        .accreditation
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
}

/// The DCC's `CredentialIssuer`: the certificate's issuer, also known by its URL if any.
fn credential_issuer(v: &cert::Verified, record: &QcRecord) -> Result<Value> {
    let mut issuer = json!({
        "type": ["CredentialIssuer"],
        "id": uri_field(&v.issuer_did, "issuer.id")?,
        "name": v.issuer_name,
    });
    if let Some(url) = record.issuer.url.as_deref().filter(|u| is_absolute_uri(u)) {
        issuer["issuerAlsoKnownAs"] = json!([{ "id": url, "name": record.issuer.name }]);
    }
    Ok(issuer)
}

/// The attestation's description: the batch, its verdict, and the signed certificate behind it.
fn attestation_description(
    v: &cert::Verified,
    record: &QcRecord,
    assessment: &Assessment,
    cert_id: &str,
    accreditation: Option<&str>,
) -> String {
    let m = &record.manufacturing;
    format!(
        "Batch quality attestation for {} ({}, GTIN {}), lot {}, manufactured {} by {}, {}, \
         expiring {}: acceptance profile {} version {}, {}. {}This document is an unsigned UNTP \
         rendering derived by exoskin from the signed exoskin batch certificate {cert_id} \
         (eddsa-jcs-2022, issuer {}), which is the authority: conformityCertificate links to it \
         (GS1 Digital Link) with the SHA-256 of its RFC 8785 canonical JSON.",
        record.product.name,
        record.product.brand,
        v.gtin,
        v.lot,
        record.batch.manufactured,
        m.manufacturer,
        m.site,
        record.batch.expires,
        assessment.profile,
        assessment.profile_version,
        if assessment.pass { "pass" } else { "FAIL" },
        accreditation
            .map(|a| format!("Issuer's accreditation, as it states it: {a}. "))
            .unwrap_or_default(),
        v.issuer_did,
    )
}

/// The certificate as a UNTP Digital Conformity Credential. The certificate must verify
/// against its own issuer's `did:key` (any change since signing is refused); dates and
/// revocation are not checked, so an expired certificate exports with its dates.
pub fn export(certificate: &Value, opts: &ExportOptions) -> Result<Export> {
    let (v, record, assessment) = read_certificate(certificate)?;
    let cert_id = uri_field(&v.id, "id")?;
    let link = uri_field(&v.subject_uri, "credentialSubject.id")?;
    let digest = certificate_digest(certificate)?;

    let mut notes = Vec::new();
    let profile = matching_profile(opts, &record, &assessment, &mut notes);

    let m = &record.manufacturing;
    let ctx = Ctx {
        cert_id: &cert_id,
        assessment: &assessment,
        record: &record,
        profile,
        date: v.valid_from.date().to_string(),
        product: assessed_product(&link, &record, &v),
        facility: assessed_facility(m),
    };
    let mut assessments = vec![ctx.acceptance()];
    for c in &assessment.checks {
        assessments.push(ctx.check_assessment(c)?);
    }

    let is_self = eq_ci(&record.issuer.name, &m.manufacturer)
        || eq_ci(&record.issuer.name, &record.product.brand);
    let accreditation = stated_accreditation(&record);
    let issuer = credential_issuer(&v, &record)?;
    let description = attestation_description(&v, &record, &assessment, &cert_id, accreditation);
    let doc = json!({
        "@context": [VC_CONTEXT, DCC_CONTEXT],
        "type": ["DigitalConformityCredential", "VerifiableCredential"],
        "id": name_uuid(&format!("untp-dcc\n{cert_id}")),
        "issuer": issuer,
        "validFrom": v.valid_from.to_string(),
        "validUntil": v.valid_until.to_string(),
        "credentialSubject": {
            "type": ["ConformityAttestation", "Attestation"],
            "id": cert_id,
            "name": format!(
                "Batch quality certificate: {} ({}), lot {}",
                record.product.name, record.product.brand, v.lot
            ),
            "assessorLevel": if is_self { "Self" } else { "Unspecified" },
            "assessmentLevel": if accreditation.is_some() { "Accredited" } else { "Unspecified" },
            "attestationType": if is_self { "declaration" } else { "testing" },
            "description": description,
            "issuedToParty": {
                "id": name_uuid(&format!("party\n{}", m.manufacturer)),
                "name": m.manufacturer,
                "description": format!(
                    "Manufacturer of the batch, for the brand {}; site {}. Known to exoskin by \
                     name only: the id is a name-based UUID of the name, not a registry identifier.",
                    record.product.brand, m.site
                ),
            },
            "conformityCertificate": {
                "linkURL": link,
                "linkName": format!("Signed exoskin batch certificate {cert_id}"),
                "linkType": LINK_TYPE_CERTIFICATION_INFO,
                "hashDigest": digest,
                "hashMethod": "SHA-256",
            },
            "assessment": assessments,
        },
    });
    let text = serde_json::to_string_pretty(&doc).expect("a Value serializes") + "\n";
    Ok(Export {
        document: doc,
        text,
        thresholds: profile.is_some(),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_uris_only() {
        for ok in [
            "urn:uuid:4b6f879d-5c28-489c-9c1d-3c8a02804ce2#safety.endotoxin",
            "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "https://id.example.com/01/09506000134352/10/EXO%2F1?17=280411",
        ] {
            assert!(is_absolute_uri(ok), "{ok}");
        }
        for bad in [
            "",
            "/01/09506000134352/10/EXO",
            "1http://x",
            "https://x y",
            "https://x/%2",
            "https://x/%G1",
            "https://x/\"",
            "https://x/é",
        ] {
            assert!(!is_absolute_uri(bad), "{bad}");
        }
    }

    #[test]
    fn name_uuids_are_stable_version_8_urns() {
        let a = name_uuid("party\nNordlys Biologics AS");
        assert_eq!(a, name_uuid("party\nNordlys Biologics AS"));
        assert_ne!(a, name_uuid("party\nNordlys Biologics ASA"));
        let u = uuid::Uuid::parse_str(a.strip_prefix("urn:uuid:").unwrap()).unwrap();
        assert_eq!(u.get_version_num(), 8);
        assert_eq!(u.get_variant(), uuid::Variant::RFC4122);
    }
}
