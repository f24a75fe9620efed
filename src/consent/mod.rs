//! The consent registry (GDPR Art. 6(1)(a), 7, 18, 21): who granted or withdrew consent for which
//! purpose, which subjects restricted all processing, and the append-only history that
//! demonstrates it.
//!
//! Owns: [`ConsentRegistry`] and everything under `data_dir/` it writes:
//!
//! ```text
//! data_dir/consent/        sled: events (append-only history), meta (key check value)
//! data_dir/consent.key     the blind-index key, hex, 0600; created on first open
//! ```
//!
//! | tree | key | value |
//! |---|---|---|
//! | `events` | blind index (32 B) ‖ time_ms (u64 BE) ‖ seq (u64 BE) | [`ConsentEvent`] as JSON |
//! | `meta` | `key_check` | HMAC of a constant under the key (detects a wrong or replaced key) |
//!
//! The store is separate from the audit trail, so consent works with `[audit] enabled = false`.
//! Subjects are stored **only** as a keyed blind index, HMAC-SHA256 under `consent.key` (a
//! different key from the audit trail's, so the two indexes cannot be joined without both keys);
//! the raw subject id never reaches disk, logs or errors.
//!
//! Does not own: the request path's decision (the proxy calls [`ConsentRegistry::lookup`] on every
//! request and decides what a `Missing` or restricted subject means under its policy), the
//! `privgate_consent_checks_total` metric (defined in `metrics`), the admin routes and the CLI
//! (`admin`, `main.rs`; rendering in [`view`]).
//!
//! # API
//!
//! ```text
//! ConsentRegistry::open(data_dir) -> Result<ConsentRegistry>     loads the in-memory index
//! reg.lookup(subject_id, purpose) -> ConsentCheck                 state + restricted, one HMAC
//! reg.check(subject_id, purpose) -> ConsentState                  Granted / Withdrawn / Missing
//! reg.restricted(subject_id) -> bool                              Art. 18 restriction in force
//! reg.record(subject_id, ConsentEvent) -> Result<Seq>             durable (fsynced) when Ok
//! reg.record_batch(&[(subject_id, ConsentEvent)]) -> Result<Vec<Seq>>  one flush (imports)
//! reg.history(subject_id) -> Result<Vec<ConsentEvent>>            oldest first
//! reg.erase_subject(subject_id) -> Result<u64>                    Art. 17: every event deleted
//! reg.purge(keep, now_ms) -> Result<PurgeReport>                  retention; current state kept
//! ```
//!
//! Checks are served from an in-memory index (blind index → latest event per purpose and latest
//! restriction), loaded at open and updated by every write before it returns, so a withdrawal
//! takes effect on the very next request in the same process. A check costs one HMAC and one hash
//! lookup under a read lock (see `benches/consent.rs`).
//!
//! "Latest" means latest by event time, then by write order: the history is kept in that order
//! and the current state is the fold of it, in memory and on disk alike.
//!
//! Erasure (Art. 17) deletes the subject's whole consent history: once a subject is erased there
//! is no processing left to justify, and keeping "this person consented to X" would itself be
//! personal data kept without a purpose. A deployment that must keep evidence for legal claims
//! (Art. 17(3)(e)) exports it first (`privgate consent show --json`) and archives it under its
//! own basis. After erasure the subject is `Missing` everywhere. sled is log-structured: deleted
//! events can linger in old segments until sled rewrites them; they hold no subject id, only the
//! blind index, which nobody can link to a person without `consent.key`.

pub mod view;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, RwLock};
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::audit::Secret32;

/// The sled directory's name inside the data dir.
pub const STORE_DIR: &str = "consent";
/// The blind-index key file's name inside the data dir.
pub const KEY_FILE: &str = "consent.key";

/// Longest subject id accepted, bytes.
const MAX_SUBJECT: usize = 1024;
/// Longest `source`, characters.
const MAX_SOURCE: usize = 128;
/// Longest `evidence`, characters.
const MAX_EVIDENCE: usize = 512;

/// Consent registry failures. Messages never contain a subject id, a purpose's evidence or key
/// material.
#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    /// A file or the store could not be read or written (ENOSPC, EIO, read-only…).
    #[error("consent store I/O error: {0}")]
    Io(#[from] io::Error),
    /// The store reported an error.
    #[error("consent store error: {0}")]
    Store(&'static str),
    /// Another process (usually a running server) holds the store.
    #[error("the consent store is locked by another process")]
    Locked,
    /// Stored data does not parse.
    #[error("consent data is corrupt: {0}")]
    Corrupt(&'static str),
    /// The key file is missing, malformed, too widely readable or does not match the store.
    #[error("consent key error: {0}")]
    Key(&'static str),
    /// A purpose name is not lowercase `[a-z0-9_-]{1,64}`.
    #[error("invalid purpose: expected 1 to 64 characters from a-z, 0-9, '_' and '-'")]
    InvalidPurpose,
    /// Another argument is malformed (the static text says which and why).
    #[error("invalid {0}")]
    InvalidInput(&'static str),
}

impl From<sled::Error> for ConsentError {
    fn from(e: sled::Error) -> ConsentError {
        match e {
            sled::Error::Io(io) => ConsentError::Io(io),
            sled::Error::Corruption { .. } => ConsentError::Corrupt("sled reports corruption"),
            _ => ConsentError::Store("sled error"),
        }
    }
}

// === events ===

/// What a consent event does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsentEventKind {
    /// Consent given for one purpose (Art. 6(1)(a), 7).
    Grant,
    /// Consent withdrawn for one purpose (Art. 7(3)), or objection to it (Art. 21).
    Withdraw,
    /// All processing of the subject restricted (Art. 18), whatever the purpose.
    Restrict,
    /// A restriction lifted (Art. 18(3)).
    Unrestrict,
}

impl ConsentEventKind {
    /// The lowercase name (`grant`, `withdraw`, `restrict`, `unrestrict`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentEventKind::Grant => "grant",
            ConsentEventKind::Withdraw => "withdraw",
            ConsentEventKind::Restrict => "restrict",
            ConsentEventKind::Unrestrict => "unrestrict",
        }
    }

    /// Parses a lowercase name.
    pub fn parse(s: &str) -> Option<ConsentEventKind> {
        Some(match s {
            "grant" => ConsentEventKind::Grant,
            "withdraw" => ConsentEventKind::Withdraw,
            "restrict" => ConsentEventKind::Restrict,
            "unrestrict" => ConsentEventKind::Unrestrict,
            _ => return None,
        })
    }

    /// Whether events of this kind name a purpose (grant, withdraw) or apply to all processing
    /// (restrict, unrestrict).
    pub fn has_purpose(self) -> bool {
        matches!(self, ConsentEventKind::Grant | ConsentEventKind::Withdraw)
    }
}

/// One entry of a subject's consent history. The subject is not part of it: it is the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentEvent {
    /// When it happened, unix ms.
    pub time_ms: u64,
    /// What happened.
    pub kind: ConsentEventKind,
    /// The purpose, for grant and withdraw; `None` for restrict and unrestrict, which apply to
    /// all processing.
    pub purpose: Option<String>,
    /// Who recorded it: `cli`, `admin:<token name>`, or what the recording app names itself.
    pub source: String,
    /// A reference to the evidence (form id, ticket, document hash), not the evidence itself.
    pub evidence: Option<String>,
}

impl ConsentEvent {
    /// An event of `kind` now, from `source`.
    pub fn new(kind: ConsentEventKind, purpose: Option<&str>, source: &str) -> ConsentEvent {
        ConsentEvent {
            time_ms: now_ms(),
            kind,
            purpose: purpose.map(str::to_string),
            source: source.to_string(),
            evidence: None,
        }
    }

    /// Checks the event's fields: a valid purpose exactly when the kind needs one, a short
    /// printable source and evidence.
    pub fn validate(&self) -> Result<(), ConsentError> {
        match (&self.purpose, self.kind.has_purpose()) {
            (Some(p), true) => validate_purpose(p)?,
            (None, true) => return Err(ConsentError::InvalidInput("event: purpose is required")),
            (Some(_), false) => {
                return Err(ConsentError::InvalidInput(
                    "event: restrict and unrestrict apply to all purposes and take none",
                ))
            }
            (None, false) => {}
        }
        if !printable(&self.source, MAX_SOURCE) {
            return Err(ConsentError::InvalidInput(
                "source: expected 1 to 128 printable characters",
            ));
        }
        if let Some(e) = &self.evidence {
            if !printable(e, MAX_EVIDENCE) {
                return Err(ConsentError::InvalidInput(
                    "evidence: expected 1 to 512 printable characters",
                ));
            }
        }
        Ok(())
    }
}

fn printable(s: &str, max: usize) -> bool {
    !s.trim().is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
}

/// Checks a purpose name: lowercase `[a-z0-9_-]{1,64}`.
pub fn validate_purpose(purpose: &str) -> Result<(), ConsentError> {
    let ok = (1..=64).contains(&purpose.len())
        && purpose
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ConsentError::InvalidPurpose)
    }
}

/// The current unix time in ms.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

// === state ===

/// A subject's consent for one purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsentState {
    /// The latest event for the purpose is a grant.
    Granted,
    /// The latest event for the purpose is a withdrawal.
    Withdrawn,
    /// No event for the purpose (or the subject was erased).
    Missing,
}

impl ConsentState {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentState::Granted => "granted",
            ConsentState::Withdrawn => "withdrawn",
            ConsentState::Missing => "missing",
        }
    }
}

/// The answer of [`ConsentRegistry::lookup`]: consent for the purpose, and whether the subject
/// restricted all processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentCheck {
    /// Consent for the purpose asked about.
    pub state: ConsentState,
    /// An Art. 18 restriction is in force: no processing, whatever the consent.
    pub restricted: bool,
}

impl ConsentCheck {
    /// The `result` label of `privgate_consent_checks_total`: `restricted` wins, then the state.
    pub fn result(self) -> &'static str {
        if self.restricted {
            "restricted"
        } else {
            self.state.as_str()
        }
    }
}

/// What [`ConsentRegistry::purge`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    /// Events older than the retention that were deleted.
    pub deleted: u64,
    /// Events older than the retention kept because they are a subject's current state.
    pub kept_current: u64,
    /// Events left in the store.
    pub remaining: u64,
}

/// A write's sequence number (unique in the store, increasing across restarts).
pub type Seq = u64;

/// The blind index of a subject.
type Blind = [u8; 32];

/// Where an event sorts in a subject's history: `(time_ms, seq)`.
type Order = (u64, Seq);

/// The latest event of one slot (a purpose, or the restriction).
#[derive(Debug, Clone, Copy)]
struct Latest {
    order: Order,
    kind: ConsentEventKind,
}

/// One subject's current state.
#[derive(Debug, Default)]
struct SubjectState {
    /// Latest grant/withdraw per purpose. Few purposes per subject: a Vec beats a map.
    purposes: Vec<(Box<str>, Latest)>,
    /// Latest restrict/unrestrict.
    restriction: Option<Latest>,
}

impl SubjectState {
    /// Folds one event in; keeps whichever is later.
    fn apply(&mut self, order: Order, kind: ConsentEventKind, purpose: Option<&str>) {
        let new = Latest { order, kind };
        let slot = match purpose {
            Some(p) => match self.purposes.iter().position(|(q, _)| &**q == p) {
                Some(i) => &mut self.purposes[i].1,
                None => {
                    self.purposes.push((p.into(), new));
                    return;
                }
            },
            None => match &mut self.restriction {
                Some(l) => l,
                None => {
                    self.restriction = Some(new);
                    return;
                }
            },
        };
        if order >= slot.order {
            *slot = new;
        }
    }

    fn state(&self, purpose: &str) -> ConsentState {
        match self.purposes.iter().find(|(q, _)| &**q == purpose) {
            Some((_, l)) if l.kind == ConsentEventKind::Grant => ConsentState::Granted,
            Some(_) => ConsentState::Withdrawn,
            None => ConsentState::Missing,
        }
    }

    fn restricted(&self) -> bool {
        self.restriction
            .is_some_and(|l| l.kind == ConsentEventKind::Restrict)
    }

    /// Whether the event at `order` is the latest of its slot (and so must survive a purge).
    fn is_current(&self, order: Order, purpose: Option<&str>) -> bool {
        let latest = match purpose {
            Some(p) => self
                .purposes
                .iter()
                .find(|(q, _)| &**q == p)
                .map(|(_, l)| l),
            None => self.restriction.as_ref(),
        };
        latest.is_some_and(|l| l.order == order)
    }
}

/// Hashes a blind index by its first 8 bytes. Blind indexes are HMAC outputs under a key no
/// client knows, so they are uniformly distributed and cannot be chosen to collide: SipHash's
/// flooding protection buys nothing here and costs a third of a check.
#[derive(Default)]
struct BlindHasher(u64);

impl Hasher for BlindHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // `[u8; 32]` hashes as its length, then its 32 bytes in one call: the first 8 of those
        // are as random as the whole.
        let mut b = [0u8; 8];
        let n = bytes.len().min(8);
        b[..n].copy_from_slice(&bytes[..n]);
        self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(b);
    }
}

type Index = HashMap<Blind, SubjectState, BuildHasherDefault<BlindHasher>>;

// === registry ===

/// The consent registry: a sled store at `<data_dir>/consent` with an in-memory index for checks.
/// Cheap to share behind an `Arc`; every method takes `&self`.
pub struct ConsentRegistry {
    db: sled::Db,
    events: sled::Tree,
    /// HMAC keyed with the blind-index key, domain label already absorbed; cloned per subject.
    mac: Hmac<Sha256>,
    index: RwLock<Index>,
    /// Serialises writes (record, erase, purge) so the store and the index change in the same
    /// order; checks never take it, so a write's fsync never delays a request.
    writer: Mutex<()>,
    dir: PathBuf,
}

impl std::fmt::Debug for ConsentRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentRegistry")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// The event key: blind ‖ time BE ‖ seq BE.
fn event_key(blind: &Blind, order: Order) -> [u8; 48] {
    let mut k = [0u8; 48];
    k[..32].copy_from_slice(blind);
    k[32..40].copy_from_slice(&order.0.to_be_bytes());
    k[40..].copy_from_slice(&order.1.to_be_bytes());
    k
}

fn parse_key(k: &[u8]) -> Option<(Blind, Order)> {
    if k.len() != 48 {
        return None;
    }
    let blind: Blind = k[..32].try_into().ok()?;
    let time = u64::from_be_bytes(k[32..40].try_into().ok()?);
    let seq = u64::from_be_bytes(k[40..].try_into().ok()?);
    Some((blind, (time, seq)))
}

fn key_check(key: &Secret32) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key.expose()).expect("HMAC accepts any key length");
    mac.update(b"privgate/consent-key-check/v1");
    mac.finalize().into_bytes().to_vec()
}

/// Opens sled at `path`, retrying a lock conflict briefly: sled releases its lock from background
/// threads shortly after the last handle drops, so a reopen in the same process can race it.
fn open_sled(path: &Path) -> Result<sled::Db, ConsentError> {
    let mut tries = 0;
    loop {
        match sled::Config::new().path(path).open() {
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                if tries >= 200 {
                    return Err(ConsentError::Locked);
                }
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            r => return Ok(r?),
        }
    }
}

impl ConsentRegistry {
    /// Opens (or creates) the registry in `data_dir`: the sled store `data_dir/consent` and the
    /// key `data_dir/consent.key` (generated, 0600, on first open). Loads every subject's current
    /// state into memory. Refuses a store whose key is missing or does not match (a new key would
    /// silently orphan every recorded consent).
    pub fn open(data_dir: &Path) -> Result<ConsentRegistry, ConsentError> {
        std::fs::create_dir_all(data_dir)?;
        let db = open_sled(&data_dir.join(STORE_DIR))?;
        let events = db.open_tree("events")?;
        let meta = db.open_tree("meta")?;
        let key_path = data_dir.join(KEY_FILE);
        let key = if key_path.exists() {
            let key = crate::audit::crypto::read_secret_file(&key_path).map_err(|e| match e {
                crate::audit::AuditError::Io(io) => ConsentError::Io(io),
                crate::audit::AuditError::Key(why) => ConsentError::Key(why),
                _ => ConsentError::Key("consent.key: expected 64 hex characters"),
            })?;
            match meta.get("key_check")? {
                Some(check) if check.as_ref() != key_check(&key).as_slice() => {
                    return Err(ConsentError::Key(
                        "consent.key does not match the consent store",
                    ))
                }
                Some(_) => {}
                None => {
                    meta.insert("key_check", key_check(&key))?;
                    db.flush()?;
                }
            }
            key
        } else {
            if meta.get("key_check")?.is_some() || !events.is_empty() {
                return Err(ConsentError::Key(
                    "consent.key is missing but the consent store holds events (restore the key)",
                ));
            }
            let key = Secret32::random();
            let text = zeroize::Zeroizing::new(hex::encode(key.expose()));
            crate::audit::crypto::write_atomic(&key_path, text.as_bytes())?;
            meta.insert("key_check", key_check(&key))?;
            db.flush()?;
            key
        };
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.expose())
            .expect("HMAC accepts any key length");
        mac.update(b"privgate/consent-subject/v1\0");
        let mut index = Index::default();
        for kv in events.iter() {
            let (k, v) = kv?;
            let (blind, order) = parse_key(&k).ok_or(ConsentError::Corrupt("event key"))?;
            let e: ConsentEvent =
                serde_json::from_slice(&v).map_err(|_| ConsentError::Corrupt("event"))?;
            index
                .entry(blind)
                .or_default()
                .apply(order, e.kind, e.purpose.as_deref());
        }
        Ok(ConsentRegistry {
            db,
            events,
            mac,
            index: RwLock::new(index),
            writer: Mutex::new(()),
            dir: data_dir.to_path_buf(),
        })
    }

    /// The blind index of a subject id: HMAC-SHA256 under `consent.key`.
    fn blind(&self, subject_id: &str) -> Blind {
        let mut mac = self.mac.clone();
        mac.update(subject_id.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn read_index(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        // A panic while holding the lock cannot leave the map half-updated (every write is a
        // single `apply`), so a poisoned lock is still consistent.
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_index(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|p| p.into_inner())
    }

    fn writer(&self) -> MutexGuard<'_, ()> {
        // Guards no data, only ordering: a poisoned lock is as good as a clean one.
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Consent for `purpose` and the restriction flag in one call (one HMAC, one lookup): what
    /// the request path asks on every request. From memory, no I/O.
    pub fn lookup(&self, subject_id: &str, purpose: &str) -> ConsentCheck {
        let blind = self.blind(subject_id);
        match self.read_index().get(&blind) {
            Some(s) => ConsentCheck {
                state: s.state(purpose),
                restricted: s.restricted(),
            },
            None => ConsentCheck {
                state: ConsentState::Missing,
                restricted: false,
            },
        }
    }

    /// Consent of `subject_id` for `purpose`. From memory, no I/O.
    pub fn check(&self, subject_id: &str, purpose: &str) -> ConsentState {
        self.lookup(subject_id, purpose).state
    }

    /// Whether an Art. 18 restriction of `subject_id` is in force. From memory, no I/O.
    pub fn restricted(&self, subject_id: &str) -> bool {
        let blind = self.blind(subject_id);
        self.read_index()
            .get(&blind)
            .is_some_and(SubjectState::restricted)
    }

    /// Appends `event` to the subject's history; returns once it is durable (flushed to disk),
    /// with the in-memory state already updated, so the next check sees it.
    pub fn record(&self, subject_id: &str, event: ConsentEvent) -> Result<Seq, ConsentError> {
        validate_subject(subject_id)?;
        event.validate()?;
        let blind = self.blind(subject_id);
        let _writer = self.writer();
        let seq = self.db.generate_id()?;
        let order = (event.time_ms, seq);
        let value = serde_json::to_vec(&event).map_err(|_| ConsentError::Store("encode"))?;
        self.events.insert(event_key(&blind, order), value)?;
        self.db.flush()?;
        self.write_index().entry(blind).or_default().apply(
            order,
            event.kind,
            event.purpose.as_deref(),
        );
        Ok(seq)
    }

    /// Appends many events with one flush (an import from another system, a test fixture): all
    /// are validated first, then written in one atomic batch; durable and visible when `Ok`.
    pub fn record_batch(&self, items: &[(&str, ConsentEvent)]) -> Result<Vec<Seq>, ConsentError> {
        for (subject, event) in items {
            validate_subject(subject)?;
            event.validate()?;
        }
        let _writer = self.writer();
        let mut batch = sled::Batch::default();
        let mut done = Vec::with_capacity(items.len());
        for (subject, event) in items {
            let blind = self.blind(subject);
            let order = (event.time_ms, self.db.generate_id()?);
            let value = serde_json::to_vec(event).map_err(|_| ConsentError::Store("encode"))?;
            batch.insert(&event_key(&blind, order)[..], value);
            done.push((blind, order));
        }
        self.events.apply_batch(batch)?;
        self.db.flush()?;
        let mut index = self.write_index();
        for ((blind, order), (_, event)) in done.iter().zip(items) {
            index
                .entry(*blind)
                .or_default()
                .apply(*order, event.kind, event.purpose.as_deref());
        }
        Ok(done.iter().map(|(_, o)| o.1).collect())
    }

    /// The subject's history, oldest first (by event time, then write order).
    pub fn history(&self, subject_id: &str) -> Result<Vec<ConsentEvent>, ConsentError> {
        let blind = self.blind(subject_id);
        self.events
            .scan_prefix(blind)
            .values()
            .map(|v| serde_json::from_slice(&v?).map_err(|_| ConsentError::Corrupt("event")))
            .collect()
    }

    /// Art. 17: deletes every consent event of the subject (see the module doc for why nothing
    /// is kept); durable when `Ok`. Returns the number of events deleted.
    pub fn erase_subject(&self, subject_id: &str) -> Result<u64, ConsentError> {
        let blind = self.blind(subject_id);
        // A concurrent `record` for the same subject lands wholly before (and is erased) or
        // wholly after.
        let _writer = self.writer();
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for k in self.events.scan_prefix(blind).keys() {
            batch.remove(k?);
            n += 1;
        }
        self.events.apply_batch(batch)?;
        self.db.flush()?;
        self.write_index().remove(&blind);
        Ok(n)
    }

    /// Retention: deletes events older than `keep` before `now_ms`, except each subject's latest
    /// event per purpose and latest restriction event, so the current state stays demonstrable.
    /// Durable when `Ok`. Parameterised so a caller can apply a per-policy retention.
    pub fn purge(&self, keep: Duration, now_ms: u64) -> Result<PurgeReport, ConsentError> {
        let cutoff = now_ms.saturating_sub(keep.as_millis().min(u128::from(u64::MAX)) as u64);
        let mut report = PurgeReport::default();
        let mut batch = sled::Batch::default();
        let _writer = self.writer();
        {
            let index = self.read_index();
            for kv in self.events.iter() {
                let (k, v) = kv?;
                let (blind, order) = parse_key(&k).ok_or(ConsentError::Corrupt("event key"))?;
                if order.0 >= cutoff {
                    report.remaining += 1;
                    continue;
                }
                let e: ConsentEvent =
                    serde_json::from_slice(&v).map_err(|_| ConsentError::Corrupt("event"))?;
                let current = index
                    .get(&blind)
                    .is_some_and(|s| s.is_current(order, e.purpose.as_deref()));
                if current {
                    report.kept_current += 1;
                    report.remaining += 1;
                } else {
                    batch.remove(k);
                    report.deleted += 1;
                }
            }
        }
        if report.deleted > 0 {
            self.events.apply_batch(batch)?;
            self.db.flush()?;
        }
        Ok(report)
    }

    /// The subject's history and the state it amounts to, as `show` prints it.
    pub fn show(&self, subject_id: &str) -> Result<view::ConsentView, ConsentError> {
        Ok(view::ConsentView::from_history(&self.history(subject_id)?))
    }

    /// [`ConsentRegistry::record`], answering the event and the state after it, as the admin API
    /// and the CLI print it.
    pub fn record_view(
        &self,
        subject_id: &str,
        event: ConsentEvent,
    ) -> Result<view::RecordedView, ConsentError> {
        let recorded = view::EventView::from(&event);
        let purpose = event.purpose.clone();
        self.record(subject_id, event)?;
        let check = self.lookup(subject_id, purpose.as_deref().unwrap_or(""));
        Ok(view::RecordedView {
            recorded,
            state: purpose.map(|_| check.state),
            restricted: check.restricted,
        })
    }

    /// How many subjects have any consent state.
    pub fn subjects(&self) -> usize {
        self.read_index().len()
    }

    /// The data dir this registry lives in.
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }
}

/// Checks a subject id: 1 to 1024 bytes, not blank.
pub fn validate_subject(subject_id: &str) -> Result<(), ConsentError> {
    if subject_id.trim().is_empty() || subject_id.len() > MAX_SUBJECT {
        return Err(ConsentError::InvalidInput(
            "subject: expected 1 to 1024 bytes",
        ));
    }
    Ok(())
}
