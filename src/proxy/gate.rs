//! The policy gate (GDPR Art. 5, 6, 7, 18, 21): the purpose a request is processed for, whether
//! its data subject may be processed at all (restriction), on which legal ground (consent
//! checked against the registry), and what a request gets when a condition fails: refused, or
//! forwarded with the policy's stricter `[strict]` actions.
//!
//! Owns: [`purpose`], [`admit`] and [`Admission`]. Subject and purpose values never reach a log
//! line, a metric label or an error message from here; the audit record stores the subject only
//! as its blind index.

use http::HeaderValue;

use super::AppState;
use crate::error::ProxyError;
use crate::policy::{valid_purpose, CompiledPolicy, Fallback, LawfulBasis, Level, Mode};

/// The purpose of a request: the route's, else the purpose header's (checked against the
/// policy), else the policy's default. A header that contradicts the route's purpose, or names
/// one the policy does not list, is refused.
pub fn purpose(
    policy: &CompiledPolicy,
    route_purpose: Option<&str>,
    header: Option<&HeaderValue>,
) -> Result<Option<String>, ProxyError> {
    let declared = match header {
        None => None,
        Some(v) => {
            let v = v.to_str().map(str::trim).unwrap_or("");
            if !valid_purpose(v) {
                return Err(ProxyError::PurposeNotAllowed(policy.id.clone()));
            }
            Some(v)
        }
    };
    let chosen = match (route_purpose, declared) {
        (Some(r), Some(d)) if r != d => {
            return Err(ProxyError::PurposeNotAllowed(policy.id.clone()))
        }
        (Some(r), _) => Some(r),
        (None, Some(d)) => Some(d),
        (None, None) => policy.processing.default_purpose.as_deref(),
    };
    match chosen {
        Some(p) if !policy.processing.permits_purpose(p) => {
            Err(ProxyError::PurposeNotAllowed(policy.id.clone()))
        }
        Some(p) => Ok(Some(p.to_string())),
        None => Ok(None),
    }
}

/// What the gate found about a request's subject; recorded in the audit record's `consent` field
/// and counted in `privgate_consent_checks_total{result}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentOutcome {
    /// The lawful basis is not consent (and the subject is not restricted).
    NotRequired,
    /// Active consent for the purpose.
    Granted,
    /// Consent for the purpose was withdrawn.
    Withdrawn,
    /// No consent for the purpose was ever recorded.
    Missing,
    /// The subject restricted or objected to processing.
    Restricted,
    /// The request names no subject.
    NoSubject,
}

impl ConsentOutcome {
    /// The label value / audit text.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentOutcome::NotRequired => "not_required",
            ConsentOutcome::Granted => "granted",
            ConsentOutcome::Withdrawn => "withdrawn",
            ConsentOutcome::Missing => "missing",
            ConsentOutcome::Restricted => "restricted",
            ConsentOutcome::NoSubject => "no_subject",
        }
    }
}

/// The gate's verdict on one request.
#[derive(Debug)]
pub struct Admission {
    /// What was found.
    pub consent: ConsentOutcome,
    /// The action set to redact with when the request goes on.
    pub level: Level,
    /// Why the request must not go on, if it must not (ignored in monitor mode).
    pub refusal: Option<ProxyError>,
}

impl Admission {
    /// The level to redact with, or the refusal. A `monitor` policy never refuses here: it
    /// records what it would have done (the audit record's consent field) and forwards.
    pub fn into_level(self, policy: &CompiledPolicy) -> Result<Level, ProxyError> {
        match (self.refusal, policy.mode) {
            (Some(e), Mode::Enforce) => Err(e),
            (Some(_), Mode::Monitor) => Ok(Level::Normal),
            (None, Mode::Monitor) => Ok(Level::Normal),
            (None, Mode::Enforce) => Ok(self.level),
        }
    }
}

fn fallback(rule: Fallback, consent: ConsentOutcome, refusal: ProxyError) -> Admission {
    match rule {
        Fallback::Allow => Admission {
            consent,
            level: Level::Normal,
            refusal: None,
        },
        Fallback::Strict => Admission {
            consent,
            level: Level::Strict,
            refusal: None,
        },
        Fallback::Block => Admission {
            consent,
            level: Level::Normal,
            refusal: Some(refusal),
        },
    }
}

/// Decides whether a request about `subject`, for `purpose`, may be processed under `policy`:
/// a restricted subject is refused (`processing_restricted`) whatever the basis; with the
/// `consent` basis the registry is asked, and a subject without active consent gets the
/// policy's `on_missing` rule; a request with no subject gets the `anonymous` rule.
pub fn admit(
    state: &AppState,
    policy: &CompiledPolicy,
    subject: Option<&str>,
    purpose: Option<&str>,
) -> Admission {
    let p = &policy.processing;
    let outcome = match subject {
        None => {
            let refusal = if p.lawful_basis == LawfulBasis::Consent {
                ProxyError::ConsentRequired(policy.id.clone())
            } else {
                ProxyError::SubjectRequired(state.config.server.subject_header.clone())
            };
            fallback(p.anonymous, ConsentOutcome::NoSubject, refusal)
        }
        Some(subject) => {
            // One lookup (one HMAC, from memory) answers both restriction and consent.
            let purpose_for_lookup = purpose.unwrap_or("");
            let (restricted, found) = state.consent_lookup(subject, purpose_for_lookup);
            if restricted {
                Admission {
                    consent: ConsentOutcome::Restricted,
                    level: Level::Normal,
                    refusal: Some(ProxyError::ProcessingRestricted),
                }
            } else if p.lawful_basis != LawfulBasis::Consent {
                Admission {
                    consent: ConsentOutcome::NotRequired,
                    level: Level::Normal,
                    refusal: None,
                }
            } else if purpose.is_none() {
                Admission {
                    consent: ConsentOutcome::Missing,
                    level: Level::Normal,
                    refusal: Some(ProxyError::PurposeRequired(
                        state.config.server.purpose_header.clone(),
                    )),
                }
            } else if found == ConsentOutcome::Granted {
                Admission {
                    consent: found,
                    level: Level::Normal,
                    refusal: None,
                }
            } else {
                fallback(
                    p.on_missing,
                    found,
                    ProxyError::ConsentRequired(policy.id.clone()),
                )
            }
        }
    };
    state.count_consent_check(outcome.consent);
    outcome
}
