//! The policy model (`policies/*.toml`): which entity types to look for, what to do with each,
//! the company's own recognizers (`[[recognizer]]`), values never to redact, content privgate
//! cannot read, and the file's own regression tests.
//!
//! Owns: parsing and validation (every problem reported, each naming file, line and key),
//! compilation into a ready-to-run [`CompiledPolicy`], and the [`PolicySet`] of all loaded
//! policies. The default policy is compiled into the binary, so `serve` runs from any directory.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::detect::{
    custom, CustomRecognizer, CustomSpec, Detector, DetectorConfig, EntityType, Validator,
};
use crate::redact::{normalise_placeholders, Action, Applied, PseudonymKey, Redaction};

/// The default policy's source, compiled into the binary (the same file ships in `policies/`).
pub const DEFAULT_POLICY_TOML: &str = include_str!("../policies/gdpr-default.toml");
/// The default policy's id.
pub const DEFAULT_POLICY_ID: &str = "gdpr-default";

/// Which action set a request is redacted with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    /// The policy's `[actions]`.
    #[default]
    Normal,
    /// The policy's `[strict]` actions.
    Strict,
}

/// Enforce or only observe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Act on findings.
    Enforce,
    /// Detect and count, forward unchanged.
    Monitor,
}

impl Unreadable {
    /// The lower-case name (audit records, metric labels).
    pub fn as_str(self) -> &'static str {
        match self {
            Unreadable::Allow => "allow",
            Unreadable::Strip => "strip",
            Unreadable::Block => "block",
        }
    }
}

impl Mode {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Monitor => "monitor",
        }
    }
}

/// What to do with content parts privgate cannot read (images, audio, files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unreadable {
    /// Forward them as they are.
    Allow,
    /// Drop them before forwarding.
    Strip,
    /// Refuse the request (`unsupported_content`).
    Block,
}

/// The legal ground a policy processes personal data on (GDPR Art. 6(1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LawfulBasis {
    /// (a) the subject consented, for the purpose: checked against the consent registry.
    Consent,
    /// (b) needed for a contract with the subject.
    Contract,
    /// (c) a legal obligation of the controller.
    LegalObligation,
    /// (d) the vital interests of someone.
    VitalInterests,
    /// (e) a task in the public interest.
    PublicTask,
    /// (f) the controller's legitimate interests (the default).
    LegitimateInterests,
}

impl LawfulBasis {
    const NAMES: [(&'static str, LawfulBasis); 6] = [
        ("consent", LawfulBasis::Consent),
        ("contract", LawfulBasis::Contract),
        ("legal_obligation", LawfulBasis::LegalObligation),
        ("vital_interests", LawfulBasis::VitalInterests),
        ("public_task", LawfulBasis::PublicTask),
        ("legitimate_interests", LawfulBasis::LegitimateInterests),
    ];

    /// Parses the name used in policy files.
    pub fn parse(name: &str) -> Option<LawfulBasis> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| *b)
    }

    /// The name used in policy files and audit records.
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, b)| *b == self)
            .map(|(n, _)| *n)
            .unwrap_or("legitimate_interests")
    }
}

/// What a request gets when the policy's condition for normal processing is not met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Process it normally.
    Allow,
    /// Refuse it (403 `consent_required`).
    Block,
    /// Forward it with the policy's stricter `[strict]` actions.
    Strict,
}

impl Fallback {
    fn parse(name: &str) -> Option<Fallback> {
        match name {
            "allow" => Some(Fallback::Allow),
            "block" => Some(Fallback::Block),
            "strict" => Some(Fallback::Strict),
            _ => None,
        }
    }

    /// The name used in policy files.
    pub fn as_str(self) -> &'static str {
        match self {
            Fallback::Allow => "allow",
            Fallback::Block => "block",
            Fallback::Strict => "strict",
        }
    }
}

/// `[processing]`: the lawful basis, the purposes, and what happens without consent or subject.
#[derive(Debug, Clone)]
pub struct Processing {
    /// The legal ground.
    pub lawful_basis: LawfulBasis,
    /// Purposes a request may declare; empty = any.
    pub purposes: Vec<String>,
    /// The purpose of requests whose route and headers name none.
    pub default_purpose: Option<String>,
    /// With `consent`: a subject without active consent for the purpose (`block` or `strict`).
    pub on_missing: Fallback,
    /// Requests that name no data subject.
    pub anonymous: Fallback,
}

impl Processing {
    /// True if `purpose` is one this policy permits.
    pub fn permits_purpose(&self, purpose: &str) -> bool {
        self.purposes.is_empty() || self.purposes.iter().any(|p| p == purpose)
    }
}

/// `[retention]`: how long data about this policy's requests is kept. `None` = no limit here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionDays {
    /// Audit records (metadata).
    pub audit: Option<u32>,
    /// Redacted prompt and answer text kept in audit records.
    pub payload: Option<u32>,
    /// Consent history events (the latest state per purpose is always kept).
    pub consent: Option<u32>,
}

/// The purpose name rule: lower-case letters, digits, `-` and `_`, 1 to 64 characters.
pub fn valid_purpose(p: &str) -> bool {
    (1..=64).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    id: String,
    version: String,
    #[serde(default)]
    description: String,
    #[serde(default = "default_mode")]
    mode: Mode,
    #[serde(default = "default_min_score")]
    min_score: f32,
    #[serde(default = "default_action")]
    default_action: String,
    #[serde(default)]
    actions: BTreeMap<String, String>,
    #[serde(default)]
    allow_values: Vec<String>,
    #[serde(default)]
    content: RawContent,
    #[serde(default)]
    response: RawResponse,
    #[serde(default)]
    minimise: RawMinimise,
    #[serde(default)]
    transfers: RawTransfers,
    #[serde(default)]
    audit: RawAudit,
    #[serde(default)]
    thresholds: BTreeMap<String, f32>,
    #[serde(default)]
    deny: Vec<RawDeny>,
    #[serde(default)]
    processing: RawProcessing,
    #[serde(default)]
    strict: RawStrict,
    #[serde(default)]
    retention: RawRetention,
    #[serde(default, rename = "recognizer")]
    recognizers: Vec<RawRecognizer>,
    #[serde(default, rename = "context_boost")]
    context_boosts: Vec<RawContextBoost>,
    #[serde(default, rename = "test")]
    tests: Vec<RawTest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContextBoost {
    entity: String,
    words: Vec<String>,
    #[serde(default = "default_boost")]
    boost: f32,
}

fn default_boost() -> f32 {
    0.3
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcessing {
    #[serde(default = "default_basis")]
    lawful_basis: String,
    #[serde(default)]
    purposes: Vec<String>,
    #[serde(default)]
    default_purpose: Option<String>,
    #[serde(default = "default_on_missing")]
    on_missing: String,
    #[serde(default = "default_anonymous")]
    anonymous: String,
}

impl Default for RawProcessing {
    fn default() -> Self {
        RawProcessing {
            lawful_basis: default_basis(),
            purposes: Vec::new(),
            default_purpose: None,
            on_missing: default_on_missing(),
            anonymous: default_anonymous(),
        }
    }
}

fn default_basis() -> String {
    "legitimate_interests".into()
}
fn default_on_missing() -> String {
    "block".into()
}
fn default_anonymous() -> String {
    "allow".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStrict {
    #[serde(default = "default_strict_action")]
    default_action: String,
    #[serde(default)]
    actions: BTreeMap<String, String>,
}

impl Default for RawStrict {
    fn default() -> Self {
        RawStrict {
            default_action: default_strict_action(),
            actions: BTreeMap::new(),
        }
    }
}

fn default_strict_action() -> String {
    "remove".into()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    #[serde(default)]
    audit_days: Option<u32>,
    #[serde(default)]
    payload_days: Option<u32>,
    #[serde(default)]
    consent_days: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContent {
    #[serde(default = "default_unreadable")]
    unreadable: Unreadable,
}

impl Default for RawContent {
    fn default() -> Self {
        RawContent {
            unreadable: Unreadable::Allow,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMinimise {
    #[serde(default)]
    drop_fields: Vec<String>,
    #[serde(default)]
    overwrite_fields: BTreeMap<String, String>,
    #[serde(default)]
    strip_headers: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeny {
    entity: String,
    values: Vec<String>,
}

/// One `[[recognizer]]` table: the policy's own pattern for an identifier privgate does not know.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecognizer {
    name: String,
    #[serde(default = "default_recognizer_entity")]
    entity: String,
    pattern: String,
    #[serde(default)]
    validator: Option<String>,
    #[serde(default)]
    context: Vec<String>,
    #[serde(default)]
    score: Option<f32>,
    #[serde(default)]
    context_boost: Option<f32>,
    #[serde(default)]
    action: Option<String>,
}

fn default_recognizer_entity() -> String {
    EntityType::Custom.as_str().into()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    #[serde(default)]
    record_redacted_text: bool,
    #[serde(default)]
    dangerous_audit_fail_open: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransfers {
    #[serde(default)]
    allowed_regions: Vec<String>,
    #[serde(default)]
    accepted_bases: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResponse {
    #[serde(default = "default_response_action")]
    default_action: String,
    #[serde(default)]
    actions: BTreeMap<String, String>,
    #[serde(default = "default_holdback")]
    holdback_bytes: usize,
}

impl Default for RawResponse {
    fn default() -> Self {
        RawResponse {
            default_action: default_response_action(),
            actions: BTreeMap::new(),
            holdback_bytes: default_holdback(),
        }
    }
}

fn default_response_action() -> String {
    "allow".into()
}
fn default_holdback() -> usize {
    128
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTest {
    #[serde(default)]
    name: String,
    input: String,
    #[serde(default)]
    expect: Option<String>,
    #[serde(default)]
    expect_decision: Option<String>,
    #[serde(default)]
    level: Option<String>,
}

fn default_mode() -> Mode {
    Mode::Enforce
}
fn default_min_score() -> f32 {
    0.5
}
fn default_action() -> String {
    "pseudonymise".into()
}
fn default_unreadable() -> Unreadable {
    Unreadable::Allow
}

/// One problem in a policy file: where, which key, what was expected.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyProblem {
    /// The file (or `<embedded>`).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The key path, e.g. `actions.EMIAL`.
    pub key: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}: {}", self.file, line, self.key, self.message),
            None => write!(f, "{}: {}: {}", self.file, self.key, self.message),
        }
    }
}

/// Every problem found while loading policies.
#[derive(Debug, thiserror::Error)]
#[error("{}", .problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct PolicyError {
    /// All problems, in file order.
    pub problems: Vec<PolicyProblem>,
}

/// A policy test case, run by `privgate check`.
#[derive(Debug, Clone)]
pub struct PolicyTest {
    /// A name for reports.
    pub name: String,
    /// Text to redact.
    pub input: String,
    /// Expected redacted text (pseudonyms written `<TYPE>`).
    pub expect: Option<String>,
    /// Expected decision: `forward` or `block`.
    pub expect_decision: Option<String>,
    /// The action set: `normal` (default) or `strict` (as for a request without consent).
    pub level: Level,
}

/// A validated, compiled policy, ready for the request path.
#[derive(Debug)]
pub struct CompiledPolicy {
    /// Stable id.
    pub id: String,
    /// The author's version label.
    pub version: String,
    /// First 12 hex chars of SHA-256 of the source: identifies the exact rules.
    pub version_hash: String,
    /// Human description.
    pub description: String,
    /// Enforce or monitor.
    pub mode: Mode,
    /// The compiled detector.
    pub detector: Detector,
    actions: BTreeMap<EntityType, Action>,
    default_action: Action,
    allow_values: BTreeSet<String>,
    /// What to do with unreadable content.
    pub unreadable: Unreadable,
    response_actions: BTreeMap<EntityType, Action>,
    response_default: Action,
    /// Streamed answers hold back at most this many bytes while response actions apply.
    pub response_holdback: usize,
    /// Data minimisation: JSON fields (dotted paths) removed before forwarding.
    pub drop_fields: Vec<Vec<String>>,
    /// Data minimisation: JSON fields (dotted paths) whose value, when present, is replaced by a
    /// fixed string before forwarding (e.g. `user` = `"anonymous"` for APIs that require it).
    pub overwrite_fields: Vec<(Vec<String>, String)>,
    /// Data minimisation: request headers never forwarded (lower-case).
    pub strip_headers: Vec<String>,
    /// International transfers: upstream regions this policy permits (empty = any).
    pub allowed_regions: Vec<String>,
    /// International transfers: transfer bases this policy accepts (empty = any).
    pub accepted_bases: Vec<String>,
    /// Per-entity minimum scores (above the detector's `min_score`).
    pub thresholds: BTreeMap<EntityType, f32>,
    /// Values always treated as an entity type: one automaton (ASCII case-insensitive, leftmost
    /// longest) built at policy load, with the entity of each pattern. Matched as whole words.
    deny: Option<(aho_corasick::AhoCorasick, Vec<EntityType>)>,
    /// Keep the redacted request body (what went upstream) in the encrypted audit record.
    pub record_redacted_text: bool,
    /// Forward requests even when their audit record cannot be written (counted and logged).
    pub dangerous_audit_fail_open: bool,
    /// Lawful basis, purposes, consent and anonymous rules.
    pub processing: Processing,
    strict_actions: BTreeMap<EntityType, Action>,
    strict_default: Action,
    /// How long this policy's data is kept.
    pub retention: RetentionDays,
    /// The file's own regression cases.
    pub tests: Vec<PolicyTest>,
    /// Where it came from.
    pub source: String,
}

impl CompiledPolicy {
    /// The action for an entity type.
    pub fn action_for(&self, entity: EntityType) -> Action {
        self.actions
            .get(&entity)
            .copied()
            .unwrap_or(self.default_action)
    }

    /// The action for an entity type when the request falls back to `strict` (no consent or no
    /// subject): the `[strict]` action, or the normal one if that is stricter.
    pub fn strict_action_for(&self, entity: EntityType) -> Action {
        let s = self
            .strict_actions
            .get(&entity)
            .copied()
            .unwrap_or(self.strict_default);
        let n = self.action_for(entity);
        if n.strictness() >= s.strictness() {
            n
        } else {
            s
        }
    }

    /// The action for personal data the model itself writes in an answer.
    pub fn response_action_for(&self, entity: EntityType) -> Action {
        self.response_actions
            .get(&entity)
            .copied()
            .unwrap_or(self.response_default)
    }

    /// True if any response action is not `allow` (and so answers are scanned).
    pub fn filters_responses(&self) -> bool {
        self.response_default != Action::Allow
            || self.response_actions.values().any(|a| *a != Action::Allow)
    }

    /// Why this policy forbids sending data to an upstream in `region` under `basis`, if it does.
    pub fn transfer_refusal(&self, region: Option<&str>, basis: Option<&str>) -> Option<String> {
        if !self.allowed_regions.is_empty() {
            match region {
                Some(r)
                    if self
                        .allowed_regions
                        .iter()
                        .any(|a| a.eq_ignore_ascii_case(r)) => {}
                Some(r) => return Some(format!("region {r:?} is not among the permitted regions")),
                None => return Some("the upstream declares no region".into()),
            }
        }
        if !self.accepted_bases.is_empty() {
            match basis {
                Some(b)
                    if self
                        .accepted_bases
                        .iter()
                        .any(|a| a.eq_ignore_ascii_case(b)) => {}
                Some(b) => return Some(format!("transfer basis {b:?} is not accepted")),
                None => return Some("the upstream declares no transfer basis".into()),
            }
        }
        None
    }

    /// Removes the policy's `drop_fields` from a request body and overwrites its
    /// `overwrite_fields` (only where present); returns true if anything changed.
    pub fn minimise_body(&self, body: &mut serde_json::Value) -> bool {
        fn parent<'v>(
            body: &'v mut serde_json::Value,
            path: &'v [String],
        ) -> Option<(
            &'v mut serde_json::Map<String, serde_json::Value>,
            &'v String,
        )> {
            let (last, parents) = path.split_last()?;
            let target = parents
                .iter()
                .try_fold(&mut *body, |cur, key| cur.get_mut(key))?;
            Some((target.as_object_mut()?, last))
        }
        let mut changed = false;
        for path in &self.drop_fields {
            if let Some((obj, last)) = parent(body, path) {
                changed |= obj.shift_remove(last).is_some();
            }
        }
        for (path, value) in &self.overwrite_fields {
            if let Some((obj, last)) = parent(body, path) {
                if let Some(v) = obj.get_mut(last) {
                    if v.as_str() != Some(value.as_str()) {
                        *v = serde_json::Value::String(value.clone());
                        changed = true;
                    }
                }
            }
        }
        changed
    }

    /// True if `value` is on the allow-list.
    pub fn is_allowed_value(&self, value: &str) -> bool {
        !self.allow_values.is_empty() && self.allow_values.contains(&value.to_lowercase())
    }

    /// Detects and applies this policy to one text within `redaction`. Allow-listed values are
    /// left alone. In monitor mode nothing is changed, but everything is counted.
    pub fn redact<'a>(&self, text: &'a str, redaction: &mut Redaction) -> Applied<'a> {
        self.redact_at(text, redaction, Level::Normal)
    }

    /// Like [`CompiledPolicy::redact`], at a chosen level: `Strict` applies the `[strict]`
    /// actions (requests without consent under `on_missing = "strict"`).
    pub fn redact_at<'a>(
        &self,
        text: &'a str,
        redaction: &mut Redaction,
        level: Level,
    ) -> Applied<'a> {
        self.redact_with_extra(text, redaction, level, &[])
    }

    /// Like [`CompiledPolicy::redact_at`], with `extra` findings from another recognizer (an
    /// external analyzer) on the same `text` merged in: see
    /// [`CompiledPolicy::findings_with_extra`].
    pub fn redact_with_extra<'a>(
        &self,
        text: &'a str,
        redaction: &mut Redaction,
        level: Level,
        extra: &[crate::detect::Finding],
    ) -> Applied<'a> {
        let findings = self.findings_with_extra(text, extra);
        let monitor = self.mode == Mode::Monitor;
        let action = |e| match level {
            Level::Normal => self.action_for(e),
            Level::Strict => self.strict_action_for(e),
        };
        match redaction.apply(text, &findings, action, monitor) {
            Applied::Blocked(_) if monitor => Applied::Text(std::borrow::Cow::Borrowed(text)),
            other => other,
        }
    }

    /// The detector's findings with this policy's tuning applied: per-entity thresholds, the
    /// allow-list removed, deny-list values added (they win over overlapping findings).
    pub fn findings(&self, text: &str) -> Vec<crate::detect::Finding> {
        self.findings_with_extra(text, &[])
    }

    /// [`CompiledPolicy::findings`] with `extra` findings on the same `text` (byte ranges, e.g.
    /// from an external analyzer) merged in. An extra finding counts only if its range is on
    /// char boundaries inside `text`, its entity type is one this policy looks for, it passes
    /// the policy's per-entity threshold and neither allow-list holds its value; survivors and
    /// the detector's findings are resolved as the detector resolves its own (highest score,
    /// then longest), and deny-list values still win over both.
    pub fn findings_with_extra(
        &self,
        text: &str,
        extra: &[crate::detect::Finding],
    ) -> Vec<crate::detect::Finding> {
        let mut findings = self.detector.find(text);
        if !extra.is_empty() {
            let config = self.detector.config();
            let before = findings.len();
            findings.extend(extra.iter().copied().filter(|f| {
                let Some(value) = (f.start < f.end)
                    .then(|| text.get(f.start..f.end))
                    .flatten()
                else {
                    return false;
                };
                let lower = value.to_lowercase();
                config.entities.contains(&f.entity)
                    && self.thresholds.get(&f.entity).is_none_or(|t| f.score >= *t)
                    && !config.allow_list.iter().any(|a| a.to_lowercase() == lower)
            }));
            if findings.len() > before {
                findings = crate::detect::resolve_overlaps(findings);
            }
        }
        if !self.thresholds.is_empty() {
            findings.retain(|f| self.thresholds.get(&f.entity).is_none_or(|t| f.score >= *t));
        }
        if !self.allow_values.is_empty() {
            findings.retain(|f| !self.is_allowed_value(&text[f.start..f.end]));
        }
        let Some((automaton, entities)) = &self.deny else {
            return findings;
        };
        let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        let mut denied: Vec<crate::detect::Finding> = automaton
            .find_iter(text)
            .filter(|m| {
                !word(text[..m.start()].chars().next_back())
                    && !word(text[m.end()..].chars().next())
            })
            .map(|m| crate::detect::Finding {
                start: m.start(),
                end: m.end(),
                entity: entities[m.pattern().as_usize()],
                score: 1.0,
            })
            .collect();
        if denied.is_empty() {
            return findings;
        }
        // Deny-list matches win; detector findings that overlap one are dropped.
        findings.retain(|f| !denied.iter().any(|d| f.start < d.end && d.start < f.end));
        findings.append(&mut denied);
        findings.sort_by_key(|f| f.start);
        findings
    }

    /// Runs the policy's `[[test]]` cases; returns the failures as problems.
    pub fn run_tests(&self) -> Vec<PolicyProblem> {
        let mut problems = Vec::new();
        for (i, t) in self.tests.iter().enumerate() {
            let mut redaction = Redaction::new(PseudonymKey::from_bytes([0; 32]));
            let outcome = self.redact_at(&t.input, &mut redaction, t.level);
            let key = if t.name.is_empty() {
                format!("test[{i}]")
            } else {
                format!("test[{i}] \"{}\"", t.name)
            };
            let mut fail = |message: String| {
                problems.push(PolicyProblem {
                    file: self.source.clone(),
                    line: None,
                    key: key.clone(),
                    message,
                })
            };
            match (&outcome, t.expect_decision.as_deref()) {
                (Applied::Blocked(e), Some("forward")) => {
                    fail(format!("expected forward, but the policy blocks it ({e})"))
                }
                (Applied::Text(_), Some("block")) => {
                    fail("expected block, but the policy forwards it".into())
                }
                _ => {}
            }
            if let (Some(expect), Applied::Text(got)) = (&t.expect, &outcome) {
                let got = normalise_placeholders(got);
                if got != expect.as_str() {
                    fail(format!("expected {expect:?}, got {got:?}"));
                }
            }
            if let (Some(_), Applied::Blocked(e)) = (&t.expect, &outcome) {
                fail(format!(
                    "expected redacted text, but the policy blocks it ({e})"
                ));
            }
        }
        problems
    }
}

fn line_of(source: &str, needle: &str) -> Option<usize> {
    source
        .lines()
        .position(|l| {
            let l = l.trim_start();
            l.starts_with(needle)
                && l[needle.len()..]
                    .trim_start()
                    .starts_with(['=', '"', ']', '.'])
        })
        .map(|i| i + 1)
        .or_else(|| {
            source
                .lines()
                .position(|l| l.trim_start().starts_with(needle))
                .map(|i| i + 1)
        })
}

fn did_you_mean(name: &str) -> String {
    let upper = name.to_uppercase();
    let best = EntityType::ALL
        .iter()
        .map(|e| (strsim_distance(&upper, e.as_str()), e))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((d, e)) if d <= 3 => format!(" (did you mean {e}?)"),
        _ => String::new(),
    }
}

/// Levenshtein distance, small and enough for suggestions.
fn strsim_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Parses, validates and compiles one policy source. `file` names it in problems.
pub fn compile(file: &str, source: &str) -> Result<CompiledPolicy, PolicyError> {
    let problem = |line, key: &str, message: String| PolicyProblem {
        file: file.to_string(),
        line,
        key: key.to_string(),
        message,
    };
    let raw: RawPolicy = match serde_path_to_error::deserialize(toml::Deserializer::new(source)) {
        Ok(raw) => raw,
        Err(e) => {
            let key = e.path().to_string();
            let e = e.into_inner();
            let line = e
                .span()
                .map(|s| source[..s.start.min(source.len())].matches('\n').count() + 1);
            let key = if key == "." {
                "(file)".to_string()
            } else {
                key
            };
            return Err(PolicyError {
                problems: vec![problem(line, &key, e.message().to_string())],
            });
        }
    };
    let mut problems = Vec::new();
    if raw.id.trim().is_empty()
        || !raw
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        problems.push(problem(
            line_of(source, "id"),
            "id",
            "expected a non-empty id of letters, digits, '-' or '_'".into(),
        ));
    }
    if !(0.0..=1.0).contains(&raw.min_score) {
        problems.push(problem(
            line_of(source, "min_score"),
            "min_score",
            format!("expected a number from 0.0 to 1.0, got {}", raw.min_score),
        ));
    }
    let (default_action, mut actions) = compile_actions(
        source,
        &problem,
        &mut problems,
        "",
        (&raw.default_action, Action::Pseudonymise),
        &raw.actions,
    );
    let (response_default, response_actions) = compile_actions(
        source,
        &problem,
        &mut problems,
        "response.",
        (&raw.response.default_action, Action::Allow),
        &raw.response.actions,
    );
    if !(16..=4096).contains(&raw.response.holdback_bytes) {
        problems.push(problem(
            line_of(source, "holdback_bytes"),
            "response.holdback_bytes",
            format!(
                "expected 16 to 4096 bytes, got {}",
                raw.response.holdback_bytes
            ),
        ));
    }
    const BASES: [&str; 3] = ["adequacy", "scc", "none"];
    for (i, b) in raw.transfers.accepted_bases.iter().enumerate() {
        if !BASES.contains(&b.as_str()) {
            problems.push(problem(
                line_of(source, "accepted_bases"),
                &format!("transfers.accepted_bases[{i}]"),
                format!("unknown transfer basis {b:?}: expected adequacy, scc or none"),
            ));
        }
    }
    for f in raw.minimise.overwrite_fields.keys() {
        if f.is_empty() || f.split('.').any(str::is_empty) {
            problems.push(problem(
                line_of(source, f),
                &format!("minimise.overwrite_fields.{f}"),
                "expected a field name or dotted path like metadata.user_id".into(),
            ));
        }
    }
    for (i, f) in raw.minimise.drop_fields.iter().enumerate() {
        if f.is_empty() || f.split('.').any(str::is_empty) {
            problems.push(problem(
                line_of(source, "drop_fields"),
                &format!("minimise.drop_fields[{i}]"),
                format!("expected a field name or dotted path like metadata.user_id, got {f:?}"),
            ));
        }
    }
    let mut thresholds = BTreeMap::new();
    for (name, t) in &raw.thresholds {
        let key = format!("thresholds.{name}");
        match EntityType::parse(name) {
            Some(e) if (0.0..=1.0).contains(t) => {
                thresholds.insert(e, *t);
            }
            Some(_) => problems.push(problem(
                line_of(source, name),
                &key,
                format!("expected a number from 0.0 to 1.0, got {t}"),
            )),
            None => problems.push(problem(
                line_of(source, name),
                &key,
                format!("unknown entity type{}", did_you_mean(name)),
            )),
        }
    }
    let mut deny_values = Vec::new();
    for (i, d) in raw.deny.iter().enumerate() {
        match EntityType::parse(&d.entity) {
            Some(e) => deny_values.extend(
                d.values
                    .iter()
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (e, v.clone())),
            ),
            None => problems.push(problem(
                line_of(source, "entity"),
                &format!("deny[{i}].entity"),
                format!("unknown entity type{}", did_you_mean(&d.entity)),
            )),
        }
    }
    let lawful_basis = LawfulBasis::parse(&raw.processing.lawful_basis).unwrap_or_else(|| {
        problems.push(problem(
            line_of(source, "lawful_basis"),
            "processing.lawful_basis",
            format!(
                "unknown lawful basis {:?}: expected consent, contract, legal_obligation, \
                 vital_interests, public_task or legitimate_interests",
                raw.processing.lawful_basis
            ),
        ));
        LawfulBasis::LegitimateInterests
    });
    let mut fallback = |key: &str, value: &str, allowed: &[Fallback]| match Fallback::parse(value)
        .filter(|f| allowed.contains(f))
    {
        Some(f) => f,
        None => {
            let names: Vec<&str> = allowed.iter().map(|f| f.as_str()).collect();
            problems.push(problem(
                line_of(source, key),
                &format!("processing.{key}"),
                format!("expected {}, got {value:?}", names.join(" or ")),
            ));
            Fallback::Block
        }
    };
    let on_missing = fallback(
        "on_missing",
        &raw.processing.on_missing,
        &[Fallback::Block, Fallback::Strict],
    );
    let anonymous = fallback(
        "anonymous",
        &raw.processing.anonymous,
        &[Fallback::Allow, Fallback::Block, Fallback::Strict],
    );
    for (i, p) in raw.processing.purposes.iter().enumerate() {
        if !valid_purpose(p) {
            problems.push(problem(
                line_of(source, "purposes"),
                &format!("processing.purposes[{i}]"),
                format!("expected lower-case letters, digits, '-' or '_' (1 to 64), got {p:?}"),
            ));
        }
    }
    if let Some(d) = &raw.processing.default_purpose {
        if !raw.processing.purposes.is_empty() && !raw.processing.purposes.contains(d) {
            problems.push(problem(
                line_of(source, "default_purpose"),
                "processing.default_purpose",
                format!("{d:?} is not among processing.purposes"),
            ));
        } else if !valid_purpose(d) {
            problems.push(problem(
                line_of(source, "default_purpose"),
                "processing.default_purpose",
                format!("expected lower-case letters, digits, '-' or '_' (1 to 64), got {d:?}"),
            ));
        }
    }
    if lawful_basis == LawfulBasis::Consent && raw.processing.purposes.is_empty() {
        problems.push(problem(
            line_of(source, "lawful_basis"),
            "processing.purposes",
            "consent is given for a purpose: list the purposes this policy serves".into(),
        ));
    }
    let (strict_default, strict_actions) = compile_actions(
        source,
        &problem,
        &mut problems,
        "strict.",
        (&raw.strict.default_action, Action::Remove),
        &raw.strict.actions,
    );
    for (key, days) in [
        ("audit_days", raw.retention.audit_days),
        ("payload_days", raw.retention.payload_days),
        ("consent_days", raw.retention.consent_days),
    ] {
        if days == Some(0) {
            problems.push(problem(
                line_of(source, key),
                &format!("retention.{key}"),
                "expected at least 1 day (leave it out to set no limit)".into(),
            ));
        }
    }
    if let (Some(p), Some(a)) = (raw.retention.payload_days, raw.retention.audit_days) {
        if p > a {
            problems.push(problem(
                line_of(source, "payload_days"),
                "retention.payload_days",
                format!("payloads cannot outlive their records ({p} > audit_days {a})"),
            ));
        }
    }
    let (custom_recognizers, recognizer_actions) =
        compile_recognizers(&raw, &actions, source, &problem, &mut problems);
    for (e, (a, _)) in recognizer_actions {
        actions.insert(e, a);
    }
    let mut boosts = Vec::new();
    for (i, b) in raw.context_boosts.iter().enumerate() {
        let entity = EntityType::parse(&b.entity);
        if entity.is_none() {
            problems.push(problem(
                line_of(source, "entity"),
                &format!("context_boost[{i}].entity"),
                format!("unknown entity type{}", did_you_mean(&b.entity)),
            ));
        }
        if !(b.boost > 0.0 && b.boost <= 1.0) {
            problems.push(problem(
                line_of(source, "boost"),
                &format!("context_boost[{i}].boost"),
                format!("expected a number above 0.0, at most 1.0, got {}", b.boost),
            ));
        }
        if b.words.iter().all(|w| w.trim().is_empty()) {
            problems.push(problem(
                line_of(source, "words"),
                &format!("context_boost[{i}].words"),
                "expected at least one word".into(),
            ));
        }
        if let Some(entity) = entity {
            boosts.push(crate::detect::ContextBoost {
                entity,
                words: b.words.clone(),
                boost: b.boost,
            });
        }
    }
    let mut tests = Vec::new();
    for (i, t) in raw.tests.iter().enumerate() {
        if t.expect.is_none() && t.expect_decision.is_none() {
            problems.push(problem(
                None,
                &format!("test[{i}]"),
                "expected `expect` or `expect_decision`".into(),
            ));
        }
        if let Some(d) = &t.expect_decision {
            if d != "forward" && d != "block" {
                problems.push(problem(
                    None,
                    &format!("test[{i}].expect_decision"),
                    format!("expected \"forward\" or \"block\", got {d:?}"),
                ));
            }
        }
        let level = match t.level.as_deref() {
            None | Some("normal") => Level::Normal,
            Some("strict") => Level::Strict,
            Some(other) => {
                problems.push(problem(
                    None,
                    &format!("test[{i}].level"),
                    format!("expected \"normal\" or \"strict\", got {other:?}"),
                ));
                Level::Normal
            }
        };
        tests.push(PolicyTest {
            name: t.name.clone(),
            input: t.input.clone(),
            expect: t.expect.clone(),
            expect_decision: t.expect_decision.clone(),
            level,
        });
    }
    if !problems.is_empty() {
        return Err(PolicyError { problems });
    }
    // The `[strict]` actions matter only when a request can fall back to them.
    let uses_strict = anonymous == Fallback::Strict
        || (lawful_basis == LawfulBasis::Consent && on_missing == Fallback::Strict)
        || tests.iter().any(|t| t.level == Level::Strict);
    // Entity types allowed both ways are not searched at all.
    let entities: BTreeSet<EntityType> = EntityType::ALL
        .into_iter()
        .filter(|e| {
            actions.get(e).copied().unwrap_or(default_action) != Action::Allow
                || response_actions.get(e).copied().unwrap_or(response_default) != Action::Allow
                || (uses_strict
                    && strict_actions.get(e).copied().unwrap_or(strict_default) != Action::Allow)
        })
        .collect();
    // The detector config grows with the detector; the update keeps new fields at defaults.
    #[allow(clippy::needless_update)]
    let detector_config = DetectorConfig {
        entities,
        min_score: raw.min_score,
        custom: custom_recognizers,
        boosts,
        ..DetectorConfig::default()
    };
    let detector = Detector::new(detector_config).map_err(|e| PolicyError {
        problems: vec![problem(None, "(detector)", e.to_string())],
    })?;
    let hash = Sha256::digest(source.as_bytes());
    Ok(CompiledPolicy {
        id: raw.id,
        version: raw.version,
        version_hash: hex::encode(&hash[..6]),
        description: raw.description,
        mode: raw.mode,
        detector,
        actions,
        default_action,
        allow_values: raw.allow_values.iter().map(|v| v.to_lowercase()).collect(),
        unreadable: raw.content.unreadable,
        response_actions,
        response_default,
        response_holdback: raw.response.holdback_bytes,
        overwrite_fields: raw
            .minimise
            .overwrite_fields
            .iter()
            .map(|(f, v)| (f.split('.').map(str::to_string).collect(), v.clone()))
            .collect(),
        drop_fields: raw
            .minimise
            .drop_fields
            .iter()
            .map(|f| f.split('.').map(str::to_string).collect())
            .collect(),
        strip_headers: raw
            .minimise
            .strip_headers
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        allowed_regions: raw.transfers.allowed_regions.clone(),
        record_redacted_text: raw.audit.record_redacted_text,
        thresholds,
        deny: deny_automaton(&deny_values).map_err(|reason| PolicyError {
            problems: vec![problem(None, "deny", reason)],
        })?,
        dangerous_audit_fail_open: raw.audit.dangerous_audit_fail_open,
        accepted_bases: raw.transfers.accepted_bases.clone(),
        processing: Processing {
            lawful_basis,
            purposes: raw.processing.purposes.clone(),
            default_purpose: raw.processing.default_purpose.clone(),
            on_missing,
            anonymous,
        },
        strict_actions,
        strict_default,
        retention: RetentionDays {
            audit: raw.retention.audit_days,
            payload: raw.retention.payload_days,
            consent: raw.retention.consent_days,
        },
        tests,
        source: file.to_string(),
    })
}

/// Validates and compiles the `[[recognizer]]` tables, reporting every problem. Returns the
/// compiled recognizers and the actions they set (each with the recognizer's name).
///
/// A recognizer's `action` is shorthand for `actions.<its entity>`: actions, placeholders,
/// metrics and restoring all work per entity type, so it may not contradict `[actions]` or
/// another recognizer reporting the same type.
fn compile_recognizers(
    policy: &RawPolicy,
    actions: &BTreeMap<EntityType, Action>,
    source: &str,
    problem: &dyn Fn(Option<usize>, &str, String) -> PolicyProblem,
    problems: &mut Vec<PolicyProblem>,
) -> (
    Vec<CustomRecognizer>,
    BTreeMap<EntityType, (Action, String)>,
) {
    let raw = &policy.recognizers;
    let mut compiled = Vec::new();
    let mut set: BTreeMap<EntityType, (Action, String)> = BTreeMap::new();
    let mut names = BTreeSet::new();
    // Each recognizer is a regex search per scanned text (and up to a few MiB of automaton).
    if raw.len() > MAX_RECOGNIZERS {
        problems.push(problem(
            line_in_table(source, "[[recognizer]]", MAX_RECOGNIZERS, "name"),
            &format!("recognizer[{MAX_RECOGNIZERS}]"),
            format!(
                "at most {MAX_RECOGNIZERS} recognizers per policy, got {}",
                raw.len()
            ),
        ));
    }
    for (i, r) in raw.iter().enumerate() {
        let line = |k: &str| line_in_table(source, "[[recognizer]]", i, k);
        let key = |k: &str| format!("recognizer[{i}].{k}");
        let before = problems.len();
        let name_ok = !r.name.is_empty()
            && r.name.len() <= 32
            && r.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            problems.push(problem(
                line("name"),
                &key("name"),
                format!(
                    "expected a short id (at most 32 letters, digits, '-' or '_'), got {:?}",
                    r.name
                ),
            ));
        } else if !names.insert(r.name.to_ascii_lowercase()) {
            problems.push(problem(
                line("name"),
                &key("name"),
                format!("duplicate recognizer name {:?}", r.name),
            ));
        }
        let entity = EntityType::parse(&r.entity);
        if entity.is_none() {
            problems.push(problem(
                line("entity"),
                &key("entity"),
                format!(
                    "unknown entity type{}: expected a catalogue name, or CUSTOM for a type of your own",
                    did_you_mean(&r.entity)
                ),
            ));
        }
        let validator = r.validator.as_deref().and_then(|v| {
            let parsed = Validator::parse(v);
            if parsed.is_none() {
                problems.push(problem(
                    line("validator"),
                    &key("validator"),
                    format!(
                        "unknown validator {v:?}{}: expected one of {}",
                        did_you_mean_validator(v),
                        Validator::names()
                    ),
                ));
            }
            parsed
        });
        let mut unit = |k: &str, value: Option<f32>, default: f32| {
            let v = value.unwrap_or(default);
            if !(0.0..=1.0).contains(&v) {
                problems.push(problem(
                    line(k),
                    &key(k),
                    format!("expected a number from 0.0 to 1.0, got {v}"),
                ));
            }
            v
        };
        let score = unit("score", r.score, custom::DEFAULT_SCORE);
        let context_boost = unit(
            "context_boost",
            r.context_boost,
            custom::DEFAULT_CONTEXT_BOOST,
        );
        // A recognizer that can never reach min_score is a mistake, not a rule.
        let best = if r.context.is_empty() {
            score
        } else {
            score + context_boost
        };
        if best < policy.min_score {
            let why = if r.context.is_empty() {
                format!("score {best} without context words")
            } else {
                format!("score + context_boost ({best})")
            };
            problems.push(problem(
                line("score"),
                &key("score"),
                format!(
                    "{why} is under min_score {}: this recognizer would never report",
                    policy.min_score
                ),
            ));
        }
        if r.context.iter().any(|w| w.trim().is_empty()) {
            problems.push(problem(
                line("context"),
                &key("context"),
                "expected non-empty words or phrases".into(),
            ));
        }
        if let Some(a) = &r.action {
            match (Action::parse(a), entity) {
                (None, _) => problems.push(problem(
                    line("action"),
                    &key("action"),
                    format!("unknown action {a:?}: expected {ACTIONS}"),
                )),
                (Some(act), Some(e)) => {
                    if let Some(other) = actions.get(&e).filter(|o| **o != act) {
                        problems.push(problem(
                            line("action"),
                            &key("action"),
                            format!(
                                "{:?} contradicts actions.{e} = {:?} (actions apply per entity type; report under another type, e.g. CUSTOM)",
                                a,
                                other.as_str()
                            ),
                        ));
                    } else if let Some((other, by)) = set.get(&e).filter(|(o, _)| *o != act) {
                        problems.push(problem(
                            line("action"),
                            &key("action"),
                            format!(
                                "{:?} contradicts recognizer {by:?}, which sets {:?} for {e} (actions apply per entity type)",
                                a,
                                other.as_str()
                            ),
                        ));
                    } else {
                        set.insert(e, (act, r.name.clone()));
                    }
                }
                (Some(_), None) => {}
            }
        }
        let (Some(entity), true) = (entity, problems.len() == before) else {
            continue;
        };
        let spec = CustomSpec {
            name: r.name.clone(),
            entity,
            pattern: r.pattern.clone(),
            validator,
            context: r.context.clone(),
            score,
            context_boost,
        };
        match CustomRecognizer::new(spec) {
            Ok(c) => compiled.push(c),
            Err(crate::detect::DetectError::Pattern { reason, .. }) => problems.push(problem(
                line("pattern"),
                &key("pattern"),
                format!("invalid pattern: {}", regex_reason(&reason)),
            )),
        }
    }
    (compiled, set)
}

/// The most `[[recognizer]]` tables one policy may have.
const MAX_RECOGNIZERS: usize = 64;

/// " (did you mean luhn?)" for a validator name one or two edits away from a known one.
fn did_you_mean_validator(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    Validator::ALL
        .iter()
        .map(|(n, _)| (strsim_distance(&lower, n), *n))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, _)| *d <= 2)
        .map(|(_, n)| format!(" (did you mean {n}?)"))
        .unwrap_or_default()
}

/// A regex error in one line: the regex crate's `error: …` line without its caret diagram.
fn regex_reason(reason: &str) -> String {
    reason
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::to_string)
        .unwrap_or_else(|| reason.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The line of `key` inside the `index`-th `header` table (the second `[[recognizer]]`, …), or
/// of the table's header when the key is not written there.
fn line_in_table(source: &str, header: &str, index: usize, key: &str) -> Option<usize> {
    let lines: Vec<&str> = source.lines().collect();
    let (start, _) = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim() == header)
        .nth(index)?;
    for (i, l) in lines.iter().enumerate().skip(start + 1) {
        let t = l.trim_start();
        if t.starts_with('[') {
            break;
        }
        if t.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
        {
            return Some(i + 1);
        }
    }
    Some(start + 1)
}

/// The names an action may have, for problems.
const ACTIONS: &str = "pseudonymise, mask, hash, remove, block or allow";

/// One action table (`[actions]`, `[response]`, `[strict]`): its default (or `fallback` when
/// the name is unknown) and its per-entity actions. Every unknown entity type and action is a
/// problem named `{prefix}default_action` / `{prefix}actions.NAME`.
fn compile_actions(
    source: &str,
    problem: &dyn Fn(Option<usize>, &str, String) -> PolicyProblem,
    problems: &mut Vec<PolicyProblem>,
    prefix: &str,
    (default, fallback): (&str, Action),
    table: &BTreeMap<String, String>,
) -> (Action, BTreeMap<EntityType, Action>) {
    let default_action = Action::parse(default).unwrap_or_else(|| {
        problems.push(problem(
            line_of(source, "default_action"),
            &format!("{prefix}default_action"),
            format!("unknown action {default:?}: expected {ACTIONS}"),
        ));
        fallback
    });
    let mut actions = BTreeMap::new();
    for (name, action) in table {
        let key = format!("{prefix}actions.{name}");
        let entity = EntityType::parse(name);
        if entity.is_none() {
            problems.push(problem(
                line_of(source, name),
                &key,
                format!("unknown entity type{}", did_you_mean(name)),
            ));
        }
        let act = Action::parse(action);
        if act.is_none() {
            problems.push(problem(
                line_of(source, name),
                &key,
                format!("unknown action {action:?}: expected {ACTIONS}"),
            ));
        }
        if let (Some(e), Some(a)) = (entity, act) {
            actions.insert(e, a);
        }
    }
    (default_action, actions)
}

/// The deny-list automaton, built once per policy load.
fn deny_automaton(
    values: &[(EntityType, String)],
) -> Result<Option<(aho_corasick::AhoCorasick, Vec<EntityType>)>, String> {
    if values.is_empty() {
        return Ok(None);
    }
    let automaton = aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(aho_corasick::MatchKind::LeftmostLongest)
        .build(values.iter().map(|(_, v)| v))
        .map_err(|e| format!("deny-list cannot be compiled: {e}"))?;
    Ok(Some((automaton, values.iter().map(|(e, _)| *e).collect())))
}

/// All loaded policies, by id. Always holds the embedded default unless a file replaces it.
#[derive(Debug, Clone)]
pub struct PolicySet {
    policies: BTreeMap<String, Arc<CompiledPolicy>>,
}

impl PolicySet {
    /// Only the embedded default policy.
    pub fn embedded() -> PolicySet {
        let default = compile("<embedded gdpr-default.toml>", DEFAULT_POLICY_TOML)
            .expect("the embedded default policy is valid (tested)");
        let mut policies = BTreeMap::new();
        policies.insert(default.id.clone(), Arc::new(default));
        PolicySet { policies }
    }

    /// The embedded default plus every `*.toml` in `dir` (a file may replace the default by
    /// using its id). Every problem in every file is reported.
    pub fn load_dir(dir: &Path) -> Result<PolicySet, PolicyError> {
        let (set, problems) = PolicySet::load_dir_partial(dir);
        if problems.is_empty() {
            Ok(set)
        } else {
            Err(PolicyError { problems })
        }
    }

    /// Like [`PolicySet::load_dir`], but keeps every valid policy beside the problems of the
    /// invalid ones, so `check` can still run the valid policies' tests.
    pub fn load_dir_partial(dir: &Path) -> (PolicySet, Vec<PolicyProblem>) {
        let mut set = PolicySet::embedded();
        let mut problems = Vec::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                let problem = PolicyProblem {
                    file: dir.display().to_string(),
                    line: None,
                    key: "(directory)".into(),
                    message: format!("cannot read policies directory: {e}"),
                };
                return (set, vec![problem]);
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for path in files {
            let name = path.display().to_string();
            let source = match std::fs::read_to_string(&path) {
                Ok(s) => s,
                Err(e) => {
                    problems.push(PolicyProblem {
                        file: name,
                        line: None,
                        key: "(file)".into(),
                        message: format!("cannot read: {e}"),
                    });
                    continue;
                }
            };
            match compile(&name, &source) {
                Ok(p) => {
                    if let Some(other) = seen.insert(p.id.clone(), name.clone()) {
                        problems.push(PolicyProblem {
                            file: name,
                            line: line_of(&source, "id"),
                            key: "id".into(),
                            message: format!("duplicate id {:?}, also used by {other}", p.id),
                        });
                        continue;
                    }
                    set.policies.insert(p.id.clone(), Arc::new(p));
                }
                Err(e) => problems.extend(e.problems),
            }
        }
        (set, problems)
    }

    /// Adds or replaces a policy (by its id).
    pub fn insert(&mut self, policy: CompiledPolicy) {
        self.policies.insert(policy.id.clone(), Arc::new(policy));
    }

    /// A policy by id.
    pub fn get(&self, id: &str) -> Option<Arc<CompiledPolicy>> {
        self.policies.get(id).cloned()
    }

    /// All policies.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<CompiledPolicy>> {
        self.policies.values()
    }

    /// The ids, sorted.
    pub fn ids(&self) -> Vec<String> {
        self.policies.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_compiles() {
        let set = PolicySet::embedded();
        let p = set.get(DEFAULT_POLICY_ID).unwrap();
        assert_eq!(p.action_for(EntityType::ApiKey), Action::Remove);
        assert_eq!(p.action_for(EntityType::Email), Action::Pseudonymise);
        assert_eq!(p.version_hash.len(), 12);
    }

    #[test]
    fn every_problem_is_reported_with_file_line_and_key() {
        let src = "id = \"x\"\nversion = \"1\"\ndefault_action = \"nuke\"\n[actions]\nEMIAL = \"mask\"\nPHONE = \"explode\"\n";
        let err = compile("policies/x.toml", src).unwrap_err();
        let text = err.to_string();
        assert_eq!(err.problems.len(), 3, "{text}");
        assert!(text.contains("policies/x.toml:3: default_action: unknown action \"nuke\""));
        assert!(text.contains(
            "policies/x.toml:5: actions.EMIAL: unknown entity type (did you mean EMAIL?)"
        ));
        assert!(text.contains("policies/x.toml:6: actions.PHONE: unknown action \"explode\""));
    }

    #[test]
    fn unknown_keys_are_refused_with_a_line() {
        let err = compile(
            "p.toml",
            "id = \"x\"\nversion = \"1\"\nmoed = \"monitor\"\n",
        )
        .unwrap_err();
        assert_eq!(err.problems[0].line, Some(3));
        assert!(err.problems[0].message.contains("moed"));
    }

    fn extra(start: usize, end: usize, entity: EntityType, score: f32) -> crate::detect::Finding {
        crate::detect::Finding {
            start,
            end,
            entity,
            score,
        }
    }

    #[test]
    fn extra_findings_are_merged_and_acted_on() {
        let set = PolicySet::embedded();
        let p = set.get(DEFAULT_POLICY_ID).unwrap();
        let text = "ask ana about it, mail a.b@example.com";
        assert!(p
            .findings(text)
            .iter()
            .all(|f| f.entity != EntityType::Person));
        let ana = extra(4, 7, EntityType::Person, 0.85);
        let found = p.findings_with_extra(text, &[ana]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0], ana);
        assert_eq!(found[1].entity, EntityType::Email);
        let mut r = Redaction::new(PseudonymKey::from_bytes([7; 32]));
        let Applied::Text(out) = p.redact_with_extra(text, &mut r, Level::Normal, &[ana]) else {
            panic!("not blocked");
        };
        assert!(out.starts_with("ask <PERSON_") && !out.contains("ana ") && !out.contains("a.b@"));
        assert_eq!(r.restorer().process(&out), text);
    }

    #[test]
    fn extra_findings_are_resolved_like_the_detectors_own() {
        let set = PolicySet::embedded();
        let p = set.get(DEFAULT_POLICY_ID).unwrap();
        let text = "mail a.b@example.com now";
        let email = p.findings(text)[0];
        // A weaker overlapping extra loses; a stronger, longer one wins (score, then length).
        let weak = extra(5, 8, EntityType::Person, 0.1);
        assert_eq!(p.findings_with_extra(text, &[weak]), vec![email]);
        let strong = extra(0, 20, EntityType::Person, 1.0);
        assert_eq!(p.findings_with_extra(text, &[strong]), vec![strong]);
    }

    #[test]
    fn extra_findings_obey_the_policy() {
        let src = "id = \"t\"\nversion = \"1\"\nallow_values = [\"Ana\"]\n[thresholds]\nPHONE = 0.9\n[actions]\nURL = \"allow\"\n[response]\ndefault_action = \"allow\"\n";
        let p = compile("t.toml", src).unwrap();
        let text = "ana, 12345, x.io, é";
        let found = p.findings_with_extra(
            text,
            &[
                // Allow-listed value.
                extra(0, 3, EntityType::Person, 0.9),
                // Under the policy's threshold.
                extra(5, 10, EntityType::Phone, 0.8),
                // A type the policy does not look for.
                extra(12, 16, EntityType::Url, 0.9),
                // Not on a char boundary, and past the end: ignored, never a panic.
                extra(19, 20, EntityType::Person, 0.9),
                extra(18, 99, EntityType::Person, 0.9),
            ],
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn deny_list_values_win_over_extra_findings() {
        let src = "id = \"t\"\nversion = \"1\"\n[[deny]]\nentity = \"PERSON\"\nvalues = [\"Project Falcon\"]\n";
        let p = compile("t.toml", src).unwrap();
        let text = "about project falcon today";
        let found = p.findings_with_extra(text, &[extra(0, 20, EntityType::Email, 1.0)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].entity, EntityType::Person);
    }

    #[test]
    fn context_boosts_lift_findings_after_their_words_only() {
        // A bare 9-digit number scores under min_score without a cue (it could be anything);
        // a policy whose users write "Sozialversicherung" before SSNs can boost it.
        let plain = "id = \"p\"\nversion = \"1\"\n";
        let boosted = format!(
            "{plain}[[context_boost]]\nentity = \"US_SSN\"\nwords = [\"Sozialversicherung\", \"SV-Nummer\"]\nboost = 0.4\n"
        );
        let text = "Meine Sozialversicherung: 536229175. Vielen Dank für die schnelle Hilfe, und die Bestellung 536229175 ist unterwegs.";
        let p = compile("p.toml", plain).unwrap();
        assert!(
            p.findings(text)
                .iter()
                .all(|f| f.entity != EntityType::UsSsn),
            "{:?}",
            p.findings(text)
        );
        let b = compile("b.toml", &boosted).unwrap();
        let found: Vec<_> = b
            .findings(text)
            .into_iter()
            .filter(|f| f.entity == EntityType::UsSsn)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "only the number right after the word: {found:?}"
        );
        assert_eq!(&text[found[0].start..found[0].end], "536229175");
        assert!(found[0].start < 40);
        let bad =
            format!("{plain}[[context_boost]]\nentity = \"USSSN\"\nwords = []\nboost = 2.0\n");
        let err = compile("x.toml", &bad).unwrap_err().to_string();
        for key in [
            "context_boost[0].entity",
            "context_boost[0].boost",
            "context_boost[0].words",
        ] {
            assert!(err.contains(key), "{key}: {err}");
        }
    }

    #[test]
    fn thresholds_and_deny_lists_tune_detection() {
        let src = "id = \"t\"\nversion = \"1\"\n[thresholds]\nEMAIL = 1.0\n[[deny]]\nentity = \"PERSON\"\nvalues = [\"Project Falcon\"]\n";
        let p = compile("t.toml", src).unwrap();
        let text = "Ask about project falcon at a.b@example.com, not project falconry.";
        let found = p.findings(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].entity, EntityType::Person);
        assert_eq!(&text[found[0].start..found[0].end], "project falcon");
        let bad = "id = \"t\"\nversion = \"1\"\n[thresholds]\nEMIAL = 0.5\nPHONE = 3.0\n[[deny]]\nentity = \"PERSN\"\nvalues = [\"x\"]\n";
        let err = compile("t.toml", bad).unwrap_err().to_string();
        assert!(
            err.contains("thresholds.EMIAL: unknown entity type (did you mean EMAIL?)"),
            "{err}"
        );
        assert!(
            err.contains("thresholds.PHONE: expected a number from 0.0 to 1.0"),
            "{err}"
        );
        assert!(
            err.contains("deny[0].entity: unknown entity type (did you mean PERSON?)"),
            "{err}"
        );
    }

    #[test]
    fn custom_recognizers_run_with_their_action_and_context() {
        let src = r#"id = "r"
version = "1"
[actions]
EMAIL = "mask"

[[recognizer]]
name = "customer-number"
pattern = "CUST-[0-9]{8}"
context = ["Kundennummer", "customer number"]
score = 0.4
context_boost = 0.5
action = "hash"

[[recognizer]]
name = "device-id"
entity = "API_KEY"
pattern = 'DEV-(?P<value>[0-9]{4}-[0-9]{4})'
validator = "luhn"
"#;
        let p = compile("r.toml", src).unwrap();
        assert_eq!(p.action_for(EntityType::Custom), Action::Hash);
        let text =
            "CUST-87654321 (no cue), Kundennummer CUST-12345678, DEV-1234-5674, DEV-1234-5675";
        let found: Vec<(EntityType, &str)> = p
            .findings(text)
            .iter()
            .map(|f| (f.entity, &text[f.start..f.end]))
            .collect();
        assert_eq!(
            found,
            vec![
                (EntityType::Custom, "CUST-12345678"),
                (EntityType::ApiKey, "1234-5674")
            ]
        );
    }

    #[test]
    fn recognizer_problems_name_file_line_and_key() {
        let src = r#"id = "r"
version = "1"
[actions]
CUSTOM = "mask"

[[recognizer]]
name = "ok"
pattern = "A[0-9]{6}"

[[recognizer]]
name = "bad regex"
entity = "API_KYE"
pattern = "CUST-[0-9"
validator = "mod97"
score = 1.5
action = "hash"

[[recognizer]]
name = "ok"
pattern = "x*"
action = "remove"
"#;
        let err = compile("policies/r.toml", src).unwrap_err();
        let text = err.to_string();
        for want in [
            "policies/r.toml:11: recognizer[1].name: expected a short id",
            "policies/r.toml:12: recognizer[1].entity: unknown entity type (did you mean API_KEY?)",
            "policies/r.toml:14: recognizer[1].validator: unknown validator \"mod97\": expected one of luhn,",
            "policies/r.toml:15: recognizer[1].score: expected a number from 0.0 to 1.0, got 1.5",
            "policies/r.toml:19: recognizer[2].name: duplicate recognizer name \"ok\"",
            "policies/r.toml:21: recognizer[2].action: \"remove\" contradicts actions.CUSTOM = \"mask\"",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
        // The pattern is only compiled when the rest of its table is valid.
        let bad_pattern = "id = \"r\"\nversion = \"1\"\n[[recognizer]]\nname = \"c\"\npattern = \"CUST-[0-9\"\n[[recognizer]]\nname = \"e\"\npattern = \"x*\"\n[[recognizer]]\nname = \"big\"\npattern = \"[a-z]{1000}{1000}\"\n";
        let err = compile("p.toml", bad_pattern).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(
                "p.toml:5: recognizer[0].pattern: invalid pattern: unclosed character class"
            ),
            "{text}"
        );
        assert!(
            text.contains("p.toml:8: recognizer[1].pattern: invalid pattern: the pattern matches the empty string"),
            "{text}"
        );
        assert!(
            text.contains("p.toml:11: recognizer[2].pattern: invalid pattern:")
                && text.contains("size limit"),
            "{text}"
        );
        assert_eq!(err.problems.len(), 3, "{text}");
        let typo = "id = \"r\"\nversion = \"1\"\n[[recognizer]]\nname = \"c\"\npattern = \"C[0-9]{8}\"\nvalidator = \"lunh\"\n";
        let text = compile("p.toml", typo).unwrap_err().to_string();
        let silent = "id = \"r\"\nversion = \"1\"\n[[recognizer]]\nname = \"c\"\npattern = \"C[0-9]{8}\"\nscore = 0.3\n";
        let silent = compile("p.toml", silent).unwrap_err().to_string();
        assert!(
            silent.contains("p.toml:6: recognizer[0].score: score 0.3 without context words is under min_score 0.5"),
            "{silent}"
        );
        assert!(
            text.contains("p.toml:6: recognizer[0].validator: unknown validator \"lunh\" (did you mean luhn?)"),
            "{text}"
        );
        let many: String = (0..=MAX_RECOGNIZERS)
            .map(|i| format!("[[recognizer]]\nname = \"r{i}\"\npattern = \"R{i}-[0-9]{{4}}\"\n"))
            .collect();
        let text = compile("p.toml", &format!("id = \"r\"\nversion = \"1\"\n{many}"))
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("at most 64 recognizers per policy, got 65"),
            "{text}"
        );
    }
}
