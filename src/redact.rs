//! Applying findings: [`Action`]s, keyed deterministic pseudonyms, and the [`Restorer`] that puts
//! original values back into answers.
//!
//! Owns: the placeholder format (`<EMAIL_1a2b3c>`), the per-request mapping ([`Redaction`]) and
//! the pseudonym key type. Pure: no I/O. One [`Redaction`] spans every text slot of a request, so
//! the same value gets the same placeholder in every message, part and tool call, and two
//! different values never share one.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::OnceLock;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::detect::{EntityType, Finding};

pub mod stream;

type HmacSha256 = Hmac<Sha256>;

/// What to do with a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Replace with a keyed placeholder; restored in the answer (except secrets).
    #[serde(alias = "pseudonymize")]
    Pseudonymise,
    /// Replace every character with `*`.
    Mask,
    /// Replace with a keyed hash: stable, never restored.
    Hash,
    /// Replace with `[TYPE]`.
    Remove,
    /// Refuse the whole request.
    Block,
    /// Leave the value as it is.
    Allow,
}

impl Action {
    /// How much of the value reaches the upstream, least first: `block` (nothing, request
    /// refused) is strictest, `allow` the least strict. Mask, hash and remove all hide the value.
    pub fn strictness(self) -> u8 {
        match self {
            Action::Allow => 0,
            Action::Pseudonymise => 1,
            Action::Hash => 2,
            Action::Mask => 3,
            Action::Remove => 4,
            Action::Block => 5,
        }
    }

    /// The lower-case name, as used in policies and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pseudonymise => "pseudonymise",
            Action::Mask => "mask",
            Action::Hash => "hash",
            Action::Remove => "remove",
            Action::Block => "block",
            Action::Allow => "allow",
        }
    }

    /// Parses a policy action name.
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "pseudonymise" | "pseudonymize" => Some(Action::Pseudonymise),
            "mask" => Some(Action::Mask),
            "hash" => Some(Action::Hash),
            "remove" => Some(Action::Remove),
            "block" => Some(Action::Block),
            "allow" => Some(Action::Allow),
            _ => None,
        }
    }
}

/// The secret behind pseudonyms and hashes. `Debug` prints `*****`.
#[derive(Clone)]
pub struct PseudonymKey([u8; 32]);

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PseudonymKey(*****)")
    }
}

impl PseudonymKey {
    /// Wraps 32 secret bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> PseudonymKey {
        PseudonymKey(bytes)
    }

    /// A fresh random key.
    pub fn generate() -> PseudonymKey {
        use rand::RngCore;
        let mut b = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut b);
        PseudonymKey(b)
    }

    /// The key for one conversation scope (e.g. one caller): placeholders are stable within a
    /// scope and unlinkable across scopes.
    pub fn scoped(&self, scope: &[u8]) -> PseudonymKey {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC accepts any key length");
        mac.update(b"privgate/scope/v1\0");
        mac.update(scope);
        PseudonymKey(mac.finalize().into_bytes().into())
    }

    fn tag(&self, domain: &[u8], entity: EntityType, value: &str) -> [u8; 32] {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC accepts any key length");
        mac.update(domain);
        mac.update(entity.as_str().as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// Counts of what a redaction did, per entity type and action (no values).
pub type ActionCounts = BTreeMap<(EntityType, Action), u32>;

/// The outcome of redacting one text: either the (possibly unchanged) text or a block.
#[derive(Debug)]
pub enum Applied<'a> {
    /// The text to forward (borrowed when nothing changed).
    Text(Cow<'a, str>),
    /// The policy blocks this entity type.
    Blocked(EntityType),
}

/// One request's redaction state: the placeholder mapping shared by all its text slots.
pub struct Redaction {
    key: PseudonymKey,
    /// placeholder → (entity, original)
    by_placeholder: HashMap<String, (EntityType, String)>,
    /// (entity, original) → placeholder
    by_value: HashMap<(EntityType, String), String>,
    counts: ActionCounts,
}

impl fmt::Debug for Redaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redaction")
            .field("placeholders", &self.by_placeholder.len())
            .field("counts", &self.counts)
            .finish()
    }
}

impl Redaction {
    /// A new mapping under a scoped key.
    pub fn new(key: PseudonymKey) -> Redaction {
        Redaction {
            key,
            by_placeholder: HashMap::new(),
            by_value: HashMap::new(),
            counts: BTreeMap::new(),
        }
    }

    /// What this redaction did so far.
    pub fn counts(&self) -> &ActionCounts {
        &self.counts
    }

    /// Total findings acted on (any action, including `allow`).
    pub fn total_findings(&self) -> u32 {
        self.counts.values().sum()
    }

    /// Applies `findings` (sorted, non-overlapping, as the detector returns them) to `text`,
    /// choosing each finding's action with `action_for`. Returns the blocked entity type if any
    /// finding's action is `block`. With `dry_run`, counts what would happen and changes nothing.
    pub fn apply<'a>(
        &mut self,
        text: &'a str,
        findings: &[Finding],
        action_for: impl Fn(EntityType) -> Action,
        dry_run: bool,
    ) -> Applied<'a> {
        if findings.is_empty() {
            return Applied::Text(Cow::Borrowed(text));
        }
        let mut out = String::with_capacity(text.len() + 16 * findings.len());
        let mut last = 0;
        let mut blocked = None;
        for f in findings {
            // The detector guarantees order and char boundaries; stay safe if it did not.
            if f.start < last || f.end > text.len() || f.start >= f.end {
                continue;
            }
            let (Some(before), Some(value)) = (text.get(last..f.start), text.get(f.start..f.end))
            else {
                continue;
            };
            let action = action_for(f.entity);
            *self.counts.entry((f.entity, action)).or_insert(0) += 1;
            if action == Action::Block && blocked.is_none() {
                blocked = Some(f.entity);
            }
            out.push_str(before);
            match action {
                Action::Allow | Action::Block => out.push_str(value),
                Action::Pseudonymise => out.push_str(&self.placeholder(f.entity, value)),
                Action::Mask => out.extend(std::iter::repeat_n('*', value.chars().count())),
                Action::Hash => {
                    let tag = self.key.tag(b"privgate/hash/v1\0", f.entity, value);
                    out.push('<');
                    out.push_str(f.entity.as_str());
                    out.push('#');
                    out.push_str(&hex::encode(&tag[..6]));
                    out.push('>');
                }
                Action::Remove => {
                    out.push('[');
                    out.push_str(f.entity.as_str());
                    out.push(']');
                }
            }
            last = f.end;
        }
        if let Some(entity) = blocked {
            return Applied::Blocked(entity);
        }
        if dry_run {
            return Applied::Text(Cow::Borrowed(text));
        }
        out.push_str(&text[last..]);
        Applied::Text(Cow::Owned(out))
    }

    /// The placeholder for a value: the same value always gets the same one within this
    /// redaction; a hash-prefix collision with a different value gets a longer placeholder.
    fn placeholder(&mut self, entity: EntityType, value: &str) -> String {
        if let Some(p) = self.by_value.get(&(entity, value.to_string())) {
            return p.clone();
        }
        let tag = self.key.tag(b"privgate/pseudonym/v1\0", entity, value);
        let hex = hex::encode(tag);
        let mut len = 6;
        let placeholder = loop {
            let candidate = format!("<{}_{}>", entity.as_str(), &hex[..len]);
            match self.by_placeholder.get(&candidate) {
                Some((e, v)) if *e != entity || v != value => len += 2,
                _ => break candidate,
            }
        };
        self.by_placeholder
            .insert(placeholder.clone(), (entity, value.to_string()));
        self.by_value
            .insert((entity, value.to_string()), placeholder.clone());
        placeholder
    }

    /// A restorer for answers to this request: maps placeholders back to their originals,
    /// except secrets, which are never restored.
    pub fn restorer(&self) -> Restorer {
        Restorer {
            map: self
                .by_placeholder
                .iter()
                .filter(|(_, (e, _))| !e.is_secret())
                .map(|(p, (_, v))| (p.clone(), v.clone()))
                .collect(),
            filter: None,
        }
    }
}

/// Puts original values back where the answer repeats a placeholder of its request, after the
/// policy's response actions have been applied to personal data the model wrote itself.
#[derive(Default, Clone)]
pub struct Restorer {
    map: HashMap<String, String>,
    filter: Option<ResponseFilter>,
}

/// Response-side redaction: the policy's detector and response actions, applied to answer text
/// before placeholders are restored (so the caller's own values, which come back as placeholders,
/// are never touched).
#[derive(Clone)]
pub struct ResponseFilter {
    policy: std::sync::Arc<crate::policy::CompiledPolicy>,
    key: PseudonymKey,
}

impl fmt::Debug for ResponseFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFilter")
            .field("policy", &self.policy.id)
            .finish()
    }
}

impl ResponseFilter {
    /// A filter for `policy`'s response actions, or `None` if they all allow.
    pub fn for_policy(
        policy: std::sync::Arc<crate::policy::CompiledPolicy>,
        key: PseudonymKey,
    ) -> Option<ResponseFilter> {
        policy
            .filters_responses()
            .then_some(ResponseFilter { policy, key })
    }

    /// The most bytes a stream holds back while response actions apply.
    pub fn holdback(&self) -> usize {
        self.policy.response_holdback
    }

    /// The findings in `text` the response actions act on.
    pub fn findings(&self, text: &str) -> Vec<Finding> {
        let mut f = self.policy.findings(text);
        f.retain(|f| self.policy.response_action_for(f.entity) != Action::Allow);
        f
    }

    /// Applies the response actions to findings inside `text`.
    pub fn apply<'a>(&self, text: &'a str, findings: &[Finding]) -> Cow<'a, str> {
        if findings.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut r = Redaction::new(self.key.clone());
        // A pseudonym in an answer would mean nothing to the reader: it is masked instead; a
        // block cannot un-send what is already streaming, so it masks too.
        let action = |e| match self.policy.response_action_for(e) {
            Action::Pseudonymise | Action::Block => Action::Mask,
            a => a,
        };
        match r.apply(text, findings, action, false) {
            Applied::Text(t) => Cow::Owned(t.into_owned()),
            Applied::Blocked(_) => Cow::Borrowed(text),
        }
    }
}

impl fmt::Debug for Restorer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Restorer")
            .field("placeholders", &self.map.len())
            .finish()
    }
}

fn placeholder_regex() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"<[A-Z][A-Z_]*_[0-9a-f]{6,64}>").expect("static regex compiles")
    })
}

impl Restorer {
    /// Adds response-side redaction.
    pub fn with_filter(mut self, filter: Option<ResponseFilter>) -> Restorer {
        self.filter = filter;
        self
    }

    /// The response filter, if the policy has one.
    pub fn filter(&self) -> Option<&ResponseFilter> {
        self.filter.as_ref()
    }

    /// Response actions, then restoring: what a complete piece of answer text becomes.
    pub fn process<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Some(filter) = &self.filter else {
            return self.restore(text);
        };
        let findings = filter.findings(text);
        match filter.apply(text, &findings) {
            Cow::Borrowed(t) => self.restore(t),
            Cow::Owned(t) => Cow::Owned(self.restore(&t).into_owned()),
        }
    }

    /// The longest placeholder this restorer knows (bytes): the most a stream ever holds back.
    pub fn max_placeholder_len(&self) -> usize {
        self.map.keys().map(String::len).max().unwrap_or(0)
    }

    /// True if `s` is a proper prefix of a known placeholder (so more text could complete it).
    pub fn is_placeholder_prefix(&self, s: &str) -> bool {
        self.map
            .keys()
            .any(|p| p.len() > s.len() && p.starts_with(s))
    }

    /// True when there is nothing to restore and no response filter: answers pass unchanged.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty() && self.filter.is_none()
    }

    /// Like [`Restorer::restore`], but writes each value JSON-escaped (for text inside a JSON
    /// string literal, such as streamed tool-call arguments).
    pub fn restore_escaped<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.map.is_empty() || !text.contains('<') {
            return Cow::Borrowed(text);
        }
        placeholder_regex().replace_all(text, |caps: &regex::Captures<'_>| {
            let p = &caps[0];
            match self.map.get(p) {
                Some(v) => {
                    let quoted = serde_json::to_string(v).unwrap_or_default();
                    quoted[1..quoted.len().saturating_sub(1).max(1)].to_string()
                }
                None => p.to_string(),
            }
        })
    }

    /// Replaces every known placeholder in `text` by its original value.
    pub fn restore<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.map.is_empty() || !text.contains('<') {
            return Cow::Borrowed(text);
        }
        placeholder_regex().replace_all(text, |caps: &regex::Captures<'_>| {
            let p = &caps[0];
            self.map.get(p).cloned().unwrap_or_else(|| p.to_string())
        })
    }
}

/// Byte ranges of every placeholder-shaped run in `text`.
pub fn placeholder_spans(text: &str) -> Vec<(usize, usize)> {
    placeholder_regex()
        .find_iter(text)
        .map(|m| (m.start(), m.end()))
        .collect()
}

/// Replaces `<TYPE_hex>` placeholders by `<TYPE>`: how policy test cases write pseudonyms.
pub fn normalise_placeholders(text: &str) -> Cow<'_, str> {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"<([A-Z][A-Z_]*)_[0-9a-f]{6,64}>").expect("static regex compiles")
    });
    re.replace_all(text, "<$1>")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(start: usize, end: usize, entity: EntityType) -> Finding {
        Finding {
            start,
            end,
            entity,
            score: 1.0,
        }
    }

    #[test]
    fn same_value_same_placeholder_and_restores() {
        let text = "a@x.io and a@x.io and b@x.io";
        let findings = [
            f(0, 6, EntityType::Email),
            f(11, 17, EntityType::Email),
            f(22, 28, EntityType::Email),
        ];
        let mut r = Redaction::new(PseudonymKey::from_bytes([7; 32]));
        let Applied::Text(out) = r.apply(text, &findings, |_| Action::Pseudonymise, false) else {
            panic!("not blocked")
        };
        assert!(!out.contains("a@x.io") && !out.contains("b@x.io"));
        let parts: Vec<&str> = out.split(" and ").collect();
        assert_eq!(parts[0], parts[1]);
        assert_ne!(parts[0], parts[2]);
        assert_eq!(r.restorer().restore(&out), text);
        assert_eq!(
            normalise_placeholders(&out),
            "<EMAIL> and <EMAIL> and <EMAIL>"
        );
    }

    #[test]
    fn secrets_are_never_restored() {
        let text = "key AKIAABCDEFGHIJKLMNOP";
        let mut r = Redaction::new(PseudonymKey::from_bytes([1; 32]));
        let Applied::Text(out) = r.apply(
            text,
            &[f(4, 24, EntityType::ApiKey)],
            |_| Action::Pseudonymise,
            false,
        ) else {
            panic!("not blocked")
        };
        assert_eq!(r.restorer().restore(&out), out);
    }

    #[test]
    fn block_mask_hash_remove() {
        let text = "card 4111111111111111";
        let fs = [f(5, 21, EntityType::CreditCard)];
        let key = PseudonymKey::from_bytes([2; 32]);
        let mut r = Redaction::new(key.clone());
        assert!(matches!(
            r.apply(text, &fs, |_| Action::Block, false),
            Applied::Blocked(EntityType::CreditCard)
        ));
        let out = |a| match Redaction::new(key.clone()).apply(text, &fs, |_| a, false) {
            Applied::Text(t) => t.into_owned(),
            Applied::Blocked(_) => panic!(),
        };
        assert_eq!(out(Action::Mask), "card ****************");
        assert_eq!(out(Action::Remove), "card [CREDIT_CARD]");
        assert!(out(Action::Hash).starts_with("card <CREDIT_CARD#"));
        assert_eq!(out(Action::Allow), text);
    }

    #[test]
    fn scopes_are_unlinkable() {
        let key = PseudonymKey::from_bytes([3; 32]);
        let run = |k: PseudonymKey| match Redaction::new(k).apply(
            "x@y.z",
            &[f(0, 5, EntityType::Email)],
            |_| Action::Pseudonymise,
            false,
        ) {
            Applied::Text(t) => t.into_owned(),
            Applied::Blocked(_) => panic!(),
        };
        assert_eq!(run(key.scoped(b"a")), run(key.scoped(b"a")));
        assert_ne!(run(key.scoped(b"a")), run(key.scoped(b"b")));
    }
}
