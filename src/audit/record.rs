//! The audit record model and the stored record format.
//!
//! Owns: what one exchange's record says ([`AuditRecord`], [`Completion`], [`Decision`]), the
//! subject blind index type ([`SubjectRef`]), what a reader gets back ([`AuditEntry`]), and the
//! byte layout of a stored record ([`Header`], [`StoredRecord`]). Does not own encryption (see
//! `crypto`) or hashing (see `chain`).
//!
//! A stored record is `hash[32] ‖ header_len (u32 BE) ‖ header ‖ ciphertext`. The header is JSON,
//! stays readable without keys and after shredding, and is the AEAD associated data, so the
//! ciphertext cannot be moved to another position or key id.
//!
//! A record removed by retention is replaced by a [`Tombstone`]: `hash[32] ‖ 0xFFFF_FFFF ‖ JSON`
//! keeping the record's chain hash, seq, kind, time and previous hash (nothing else), so the chain
//! still links through it ([`Stored`] reads either form).
//!
//! Kept payload text (`prompt_text`, `answer_text`) is sealed a second time, inside the record's
//! ciphertext, under a payload key of the record's policy and UTC day (`Header::payload_key`), so
//! retention can destroy it alone (see `crypto`).

use std::fmt;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::AuditError;

/// A record's position in the log: 1, 2, 3, … with no gaps.
pub type Seq = u64;

/// The keyed blind index of a data subject: `HMAC-SHA256(index key, subject id)`, shown as hex.
///
/// Never the raw subject id. Computed with `AuditLog::subject_ref`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectRef(pub [u8; 32]);

impl SubjectRef {
    /// The blind index of `subject_id` under `index_key`.
    pub(crate) fn compute(index_key: &[u8; 32], subject_id: &str) -> SubjectRef {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(index_key).expect("HMAC accepts any key length");
        mac.update(b"privgate/subject/v1\0");
        mac.update(subject_id.as_bytes());
        SubjectRef(mac.finalize().into_bytes().into())
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Result<SubjectRef, AuditError> {
        let mut b = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut b)
            .map_err(|_| AuditError::InvalidInput("subject ref"))?;
        Ok(SubjectRef(b))
    }
}

impl fmt::Debug for SubjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubjectRef({})", &self.to_hex()[..12])
    }
}

impl fmt::Display for SubjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for SubjectRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for SubjectRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SubjectRef::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// What privgate did with an exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Decision {
    /// Sent upstream (after redaction).
    Forwarded,
    /// Refused by privgate itself, with the stable error code (`pii_blocked`, `consent_required`…).
    Blocked {
        /// The privgate error code.
        code: String,
    },
    /// Failed (upstream error, timeout…), with the stable error code.
    Error {
        /// The privgate error code.
        code: String,
    },
    /// The intent was written but no completion followed (crash or restart); set on reopen.
    Incomplete,
}

impl Decision {
    /// The decision's name: `forwarded`, `blocked`, `error` or `incomplete`.
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Forwarded => "forwarded",
            Decision::Blocked { .. } => "blocked",
            Decision::Error { .. } => "error",
            Decision::Incomplete => "incomplete",
        }
    }
}

/// How many values of one entity type were found, and what was done with them. No values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityCount {
    /// The entity type (`EMAIL`, `PHONE`…).
    pub entity: String,
    /// The action taken (`pseudonymise`, `mask`…).
    pub action: String,
    /// How many values.
    pub count: u32,
}

/// One exchange, as written in the intent record (before the request goes upstream, or when
/// privgate answers itself). Only ever stored encrypted.
///
/// `Debug` hides the model and any stored text.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AuditRecord {
    /// When the exchange started, unix milliseconds.
    pub time_ms: u64,
    /// The request id privgate gave the exchange.
    pub request_id: String,
    /// The route template (never the raw path).
    pub route: String,
    /// The provider (`openai`, `anthropic`).
    pub provider: String,
    /// The model the client asked for (free text, so only ever stored encrypted).
    pub model: Option<String>,
    /// The upstream host.
    pub upstream_host: String,
    /// The subject's blind index, if the request named a subject.
    pub subject: Option<SubjectRef>,
    /// Processing purpose, if declared.
    pub purpose: Option<String>,
    /// Lawful basis, if declared.
    pub lawful_basis: Option<String>,
    /// Consent state at the time, if checked.
    pub consent: Option<String>,
    /// The policy id.
    pub policy_id: String,
    /// The policy's version hash.
    pub policy_version: String,
    /// Per entity type: count and action, for the request.
    pub entities: Vec<EntityCount>,
    /// The decision known when the intent is written.
    pub decision: Option<Decision>,
    /// Status sent to the client, when already known.
    pub client_status: Option<u16>,
    /// Status from the upstream, when already known.
    pub upstream_status: Option<u16>,
    /// Total latency in ms, when already known.
    pub latency_total_ms: Option<u64>,
    /// Upstream latency in ms, when already known.
    pub latency_upstream_ms: Option<u64>,
    /// Request body size in bytes.
    pub request_bytes: u64,
    /// Response body size in bytes, when already known.
    pub response_bytes: Option<u64>,
    /// The redacted prompt, when the policy asks to keep it (default: not kept).
    pub prompt_text: Option<String>,
    /// The redacted answer, when the policy asks to keep it (default: not kept).
    pub answer_text: Option<String>,
}

impl fmt::Debug for AuditRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditRecord")
            .field("time_ms", &self.time_ms)
            .field("request_id", &self.request_id)
            .field("route", &self.route)
            .field("provider", &self.provider)
            .field("model", &self.model.as_ref().map(|_| "[REDACTED]"))
            .field("subject", &self.subject)
            .field("policy_id", &self.policy_id)
            .field("entities", &self.entities)
            .field("decision", &self.decision)
            .field(
                "prompt_text",
                &self.prompt_text.as_ref().map(|_| "[REDACTED]"),
            )
            .field(
                "answer_text",
                &self.answer_text.as_ref().map(|_| "[REDACTED]"),
            )
            .finish_non_exhaustive()
    }
}

/// The end of an exchange, written as its own chained record by `AuditLog::complete`.
///
/// `Debug` hides any stored text.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    /// The final decision.
    pub decision: Decision,
    /// Status sent to the client.
    pub client_status: Option<u16>,
    /// Status from the upstream.
    pub upstream_status: Option<u16>,
    /// Total latency in ms.
    pub latency_total_ms: Option<u64>,
    /// Upstream latency in ms.
    pub latency_upstream_ms: Option<u64>,
    /// Response body size in bytes.
    pub response_bytes: Option<u64>,
    /// Per entity type: count and action, for the answer.
    pub entities: Vec<EntityCount>,
    /// The redacted answer, when the policy asks to keep it.
    pub answer_text: Option<String>,
}

impl Completion {
    /// A completion with only a decision.
    pub fn new(decision: Decision) -> Completion {
        Completion {
            decision,
            client_status: None,
            upstream_status: None,
            latency_total_ms: None,
            latency_upstream_ms: None,
            response_bytes: None,
            entities: Vec::new(),
            answer_text: None,
        }
    }
}

impl fmt::Debug for Completion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completion")
            .field("decision", &self.decision)
            .field("client_status", &self.client_status)
            .field("upstream_status", &self.upstream_status)
            .field(
                "answer_text",
                &self.answer_text.as_ref().map(|_| "[REDACTED]"),
            )
            .finish_non_exhaustive()
    }
}

/// An audit event about the log itself (erasure, key rotation, retention purge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LogEvent {
    /// A subject's data keys were destroyed (Art. 17).
    SubjectErased {
        /// The subject's blind index.
        subject: SubjectRef,
        /// The destroyed data key ids.
        key_ids: Vec<String>,
        /// How many index entries were removed.
        index_entries: u64,
        /// The master key generation after the erasure (None: master key is external).
        master_generation: Option<u64>,
    },
    /// Every data key was re-wrapped under a new master key generation.
    MasterKeyRotated {
        /// The new generation.
        generation: u64,
    },
    /// Someone read the log (RELIABILITY H4: every admin read is itself audited).
    Access {
        /// Who (an admin token name or CLI user; never a subject id).
        principal: String,
        /// What (`query`, `export`, `verify`, …).
        action: String,
        /// SHA-256 of the filter, hex (the filter may name a subject, so it is not stored).
        filter_hash: String,
        /// How many records were returned.
        count: u64,
    },
    /// Records up to and including `through_seq` were deleted for retention.
    Purged {
        /// The last deleted seq (a signed checkpoint anchors the chain there).
        through_seq: Seq,
        /// How many records were deleted.
        records: u64,
    },
    /// Retention replaced records whose policy's audit retention had passed by tombstones.
    Tombstoned {
        /// The seq ranges `[first, last]` replaced (no subjects: seqs only).
        ranges: Vec<[Seq; 2]>,
        /// How many records.
        records: u64,
    },
    /// Retention destroyed day keys: payload keys (`p-…`: the prompt/answer text sealed under
    /// them is gone) and anonymous day keys (`a-…`: every record under them was a tombstone).
    KeysExpired {
        /// The destroyed key ids.
        key_ids: Vec<String>,
        /// How many retained records had their payload sealed under them.
        payload_records: u64,
        /// The master key generation after the destruction (None: the master key is external).
        master_generation: Option<u64>,
    },
}

/// The kind of a stored record, visible in its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// An exchange's [`AuditRecord`].
    Intent,
    /// An exchange's [`Completion`] (`refers_to` names the intent).
    Completion,
    /// A [`LogEvent`].
    Event,
}

/// The clear header of a stored record; also the AEAD associated data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Format version (1).
    pub v: u8,
    /// This record's seq.
    pub seq: Seq,
    /// What the payload is.
    pub kind: RecordKind,
    /// When the writer stored it, unix ms.
    pub time_ms: u64,
    /// The data key id (`s-…` a subject's key, `a-…` an anonymous daily key).
    pub key_id: String,
    /// For a completion, the intent's seq.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refers_to: Option<Seq>,
    /// The previous record's chain hash, hex.
    pub prev: String,
    /// The 96-bit AES-GCM nonce, hex.
    pub nonce: String,
    /// The policy the exchange ran under (a completion carries its intent's): retention reads it
    /// without decrypting. None for events and for records written before retention per policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The payload key (`p-…`) the record's kept prompt/answer text is sealed under, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_key: Option<String>,
}

/// A stored record split into its parts, as read from the store.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    /// The chain hash stored with the record.
    pub hash: [u8; 32],
    /// The header bytes exactly as stored (hashed and used as AAD).
    pub header_bytes: Vec<u8>,
    /// The parsed header.
    pub header: Header,
    /// The sealed payload.
    pub ciphertext: Vec<u8>,
}

impl StoredRecord {
    /// Encodes `hash ‖ header_len ‖ header ‖ ciphertext`.
    pub fn encode(hash: &[u8; 32], header_bytes: &[u8], ciphertext: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(36 + header_bytes.len() + ciphertext.len());
        v.extend_from_slice(hash);
        v.extend_from_slice(&(header_bytes.len() as u32).to_be_bytes());
        v.extend_from_slice(header_bytes);
        v.extend_from_slice(ciphertext);
        v
    }

    /// Decodes a stored value; `Err` (never a panic) on any malformed input.
    pub fn decode(bytes: &[u8]) -> Result<StoredRecord, AuditError> {
        let bad = || AuditError::Corrupt("malformed record");
        if bytes.len() < 36 {
            return Err(bad());
        }
        let hash: [u8; 32] = bytes[..32].try_into().map_err(|_| bad())?;
        let hlen = u32::from_be_bytes(bytes[32..36].try_into().map_err(|_| bad())?) as usize;
        let rest = &bytes[36..];
        if hlen > rest.len() {
            return Err(bad());
        }
        let header_bytes = rest[..hlen].to_vec();
        let header: Header = serde_json::from_slice(&header_bytes).map_err(|_| bad())?;
        Ok(StoredRecord {
            hash,
            header_bytes,
            header,
            ciphertext: rest[hlen..].to_vec(),
        })
    }
}

/// The text a policy asks to keep, sealed apart under a payload key (see the module doc). No
/// `Debug`: it is payload.
#[derive(Default, Serialize, Deserialize)]
pub(crate) struct PayloadText {
    /// The redacted prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_text: Option<String>,
    /// The redacted answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_text: Option<String>,
}

impl PayloadText {
    /// Whether there is any text to keep.
    pub(crate) fn is_empty(&self) -> bool {
        self.prompt_text.is_none() && self.answer_text.is_none()
    }
}

/// [`PayloadText`] sealed under the payload key named in the header.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SealedPayload {
    /// The 96-bit AES-GCM nonce, hex.
    pub nonce: String,
    /// The sealed text, hex.
    pub ct: String,
}

/// What a record's ciphertext holds: the record (or completion) with its text fields empty, and
/// the text sealed apart.
#[derive(Serialize)]
pub(crate) struct Body<'a, T> {
    /// The record or completion.
    #[serde(flatten)]
    pub record: &'a T,
    /// The kept text, sealed under the payload key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sealed_payload: Option<SealedPayload>,
}

/// [`Body`] as read back.
#[derive(Deserialize)]
pub(crate) struct BodyOwned<T> {
    /// The record or completion.
    #[serde(flatten)]
    pub record: T,
    /// The kept text, sealed under the payload key.
    #[serde(default)]
    pub sealed_payload: Option<SealedPayload>,
}

/// Marks a tombstone in place of the header length.
const TOMBSTONE_MARK: u32 = u32::MAX;

/// What is left of a record that retention removed: enough to keep the chain linked and to say
/// what was there, nothing of its content (no key id, no policy, no ciphertext).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    /// The removed record's seq.
    pub seq: Seq,
    /// Its kind.
    pub kind: RecordKind,
    /// When it was stored, unix ms.
    pub time_ms: u64,
    /// The previous record's chain hash, hex (as in the removed header).
    pub prev: String,
    /// When retention removed it, unix ms.
    pub removed_ms: u64,
}

/// A stored value: a record, or the tombstone that replaced it.
#[derive(Debug, Clone)]
pub enum Stored {
    /// A record as written.
    Record(StoredRecord),
    /// A record removed by retention; `hash` is its chain hash.
    Tombstone {
        /// The removed record's chain hash (the next record's `prev`).
        hash: [u8; 32],
        /// What is left of it.
        tombstone: Tombstone,
    },
}

impl Stored {
    /// Decodes a stored value of either form; `Err` (never a panic) on malformed input.
    pub fn decode(bytes: &[u8]) -> Result<Stored, AuditError> {
        let bad = || AuditError::Corrupt("malformed record");
        if bytes.len() >= 36 && bytes[32..36] == TOMBSTONE_MARK.to_be_bytes() {
            let hash: [u8; 32] = bytes[..32].try_into().map_err(|_| bad())?;
            let tombstone = serde_json::from_slice(&bytes[36..]).map_err(|_| bad())?;
            return Ok(Stored::Tombstone { hash, tombstone });
        }
        StoredRecord::decode(bytes).map(Stored::Record)
    }

    /// Encodes a tombstone.
    pub fn encode_tombstone(hash: &[u8; 32], t: &Tombstone) -> Result<Vec<u8>, AuditError> {
        let mut v = hash.to_vec();
        v.extend_from_slice(&TOMBSTONE_MARK.to_be_bytes());
        serde_json::to_writer(&mut v, t).map_err(|_| AuditError::Corrupt("tombstone"))?;
        Ok(v)
    }

    /// The chain hash stored with the record or tombstone.
    pub fn hash(&self) -> [u8; 32] {
        match self {
            Stored::Record(r) => r.hash,
            Stored::Tombstone { hash, .. } => *hash,
        }
    }
}

/// What a reader gets for one stored intent or event record.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    /// The record's seq.
    pub seq: Seq,
    /// When it was stored, unix ms.
    pub time_ms: u64,
    /// When it was stored, RFC 3339 (UTC).
    pub time: String,
    /// Intent or event.
    pub kind: RecordKind,
    /// The data key id it is sealed under.
    pub key_id: String,
    /// The seq of the completion record, if any.
    pub completion_seq: Option<Seq>,
    /// Whether prompt/answer text was kept, and whether it is still readable (absent: none kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<PayloadState>,
    /// The decrypted content, or `erased`.
    pub content: EntryContent,
}

/// The state of an exchange's kept prompt/answer text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadState {
    /// Kept and readable: it is in the record's `prompt_text`/`answer_text`.
    Kept,
    /// Kept once, destroyed by retention (its payload key is gone): never readable again.
    Expired,
    /// The payload key exists but the sealed text does not open (altered bytes).
    Unreadable,
}

/// The readable part of an [`AuditEntry`].
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum EntryContent {
    /// An exchange and, if written, its completion.
    Record {
        /// The intent.
        record: Box<AuditRecord>,
        /// The completion, if any.
        completion: Option<Completion>,
    },
    /// A log event.
    Event {
        /// The event.
        event: LogEvent,
    },
    /// The data key was destroyed: the header is visible, the payload never again.
    Erased,
    /// The key exists but the payload does not authenticate (altered bytes) or parse.
    Unreadable,
    /// Removed by retention: only seq, time and kind are left (and the chain hash, so the chain
    /// still verifies).
    Tombstone,
}

impl AuditEntry {
    /// The final decision: the completion's if there is one, else the intent's.
    pub fn decision(&self) -> Option<&Decision> {
        match &self.content {
            EntryContent::Record { record, completion } => completion
                .as_ref()
                .map(|c| &c.decision)
                .or(record.decision.as_ref()),
            _ => None,
        }
    }
}

/// Formats unix milliseconds as RFC 3339 UTC (`2026-11-24T03:21:27.123Z`).
pub fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let sod = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60,
        ms % 1000
    )
}

/// Now, unix milliseconds.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_709_210_096_789), "2024-02-29T12:34:56.789Z");
    }

    #[test]
    fn decode_never_panics_on_garbage() {
        for len in 0..80 {
            let v: Vec<u8> = (0..len).map(|i| (i * 37) as u8).collect();
            let _ = StoredRecord::decode(&v);
            let _ = Stored::decode(&v);
        }
        let mut v = vec![0u8; 36];
        v[32..36].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(StoredRecord::decode(&v).is_err());
        assert!(
            Stored::decode(&v).is_err(),
            "a tombstone mark without a tombstone"
        );
        let t = Tombstone {
            seq: 3,
            kind: RecordKind::Intent,
            time_ms: 5,
            prev: "00".into(),
            removed_ms: 9,
        };
        let enc = Stored::encode_tombstone(&[7; 32], &t).unwrap();
        match Stored::decode(&enc).unwrap() {
            Stored::Tombstone { hash, tombstone } => assert_eq!((hash, tombstone), ([7; 32], t)),
            Stored::Record(_) => panic!("a tombstone"),
        }
    }

    #[test]
    fn debug_hides_text() {
        let r = AuditRecord {
            model: Some("secret-model".into()),
            prompt_text: Some("alice@example.test".into()),
            ..Default::default()
        };
        let s = format!("{r:?}");
        assert!(!s.contains("alice") && !s.contains("secret-model"));
    }
}
