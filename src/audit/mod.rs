//! The audit trail: one encrypted, hash-chained, durable record per exchange, and the compliance
//! officer's operations on it (query, export, erase, purge, verify).
//!
//! Owns: [`AuditLog`] and everything under `dir/` that it writes:
//!
//! ```text
//! dir/audit/                    sled: records and tombstones, subject index, open intents (see `store`)
//! dir/audit-checkpoints.jsonl   signed checkpoints, append-only (see `chain`)
//! dir/keys/master.key           master key, 0600 (unless PRIVGATE_MASTER_KEY is given)
//! dir/keys/keyring.jsonl        data and payload keys wrapped by the master key, 0600 (see `crypto`)
//! dir/keys/checkpoint.ed25519   checkpoint signing key, 0600; checkpoint.pub its public half
//! ```
//!
//! Does not own: the request path (the proxy calls [`AuditLog::append_intent`] before contacting
//! the upstream and [`AuditLog::complete`] at the end, and answers 503 `audit_unavailable` on any
//! `Err`), metrics, the CLI and admin API wiring.
//!
//! # API
//!
//! ```text
//! AuditLog::open(dir, AuditOptions) -> Result<AuditLog>       reconciles open intents → incomplete
//! log.subject_ref(subject_id) -> SubjectRef                   keyed HMAC blind index
//! log.append_intent(AuditRecord).await -> Result<Seq>         durable (fsynced) when Ok
//! log.complete(intent_seq, Completion).await -> Result<Seq>   durable when Ok
//! log.append_final(AuditRecord).await -> Result<Seq>          one record, no completion follows
//! log.record_access(principal, action, &filter, n).await      admin reads are audited too
//! log.query(AuditFilter).await -> Result<Vec<AuditEntry>>     decrypted; erased, tombstoned and
//!                                                             expired-payload ones marked
//! log.export_subject(SubjectRef).await -> Result<Value>       Art. 15: every record of a subject
//! log.erase_subject(SubjectRef).await -> Result<ErasureReport> Art. 17: crypto-shredding
//! log.rotate_master_key().await -> Result<u64>                re-wrap every data key
//! log.purge_before(unix_ms).await -> Result<PurgeReport>      retention, at checkpoint granularity
//! log.enforce_retention(RetentionRules, now_ms).await         per-policy retention (see below)
//!     -> Result<RetentionReport>
//! log.checkpoint().await / log.stats().await / log.verify().await
//! log.export_public_key() -> String                            hex Ed25519 key for auditors
//! audit::verify(dir, &public_key) -> Result<VerifyReport>     offline, no secret needed
//! ```
//!
//! Writes go through one writer thread with group commit (see `writer`): `append_intent`
//! returns only after the `flush` covering its record returned Ok, or `Err` after
//! `write_timeout` (default 2 s). Reads run on tokio's blocking pool.
//!
//! Encryption (RELIABILITY D3–D5): each subject has its own data key, records without a subject
//! use an anonymous key per UTC day; AES-256-GCM with a fresh random 96-bit nonce and the record
//! header (seq, kind, time, key id, prev hash, nonce, policy id, payload key id) as associated
//! data; keys retire after
//! `max_encryptions_per_key` uses. Erasure destroys the subject's keys and the old master key
//! generation (see `crypto`). Errors never carry record content or subject ids.
//!
//! Retention per policy ([`AuditLog::enforce_retention`], RELIABILITY C2): each record's header
//! names its policy, so the sweep needs no key to judge it. A policy's [`Retention`] says how long
//! its audit metadata and its kept prompt/answer text (payload) live:
//! * **payload**: kept text is sealed inside the record under a payload key per (policy, UTC day);
//!   when the day is past the payload retention the key is destroyed like an erased subject's
//!   (master generation rotated), so the text is gone for good while the record stays readable
//!   (`payload: expired`) and its bytes, hence the chain, are unchanged. Granularity: one day.
//! * **audit**: an expired record is replaced by a tombstone keeping seq, kind, time, `prev` and
//!   its chain hash (nothing else); its subject index entry goes. `verify` links through
//!   tombstones and counts them. A prefix made only of tombstones is deleted up to a signed
//!   checkpoint, like [`AuditLog::purge_before`].
//! * **anonymous day keys**: when every rule limits metadata, the anonymous key of a day past the
//!   longest limit is destroyed too (all its records are tombstones by then).
//! * **legal hold** (`RetentionRules::legal_hold`): a held subject's records are neither
//!   tombstoned nor stripped of their text; the payload keys they use stay, for every record
//!   sealed under them (over-keeping others' text of that policy and day is the price).
//!
//! Every sweep step that changes something writes an event (`Tombstoned` with seq ranges,
//! `KeysExpired` with key ids, `Purged`), never a subject. Caveat: sled is log-structured, so
//! a tombstoned record's old bytes can stay in free segments until sled reuses them; those of a
//! subject's records stay sealed under the subject's key, which lives on (until erasure).

pub mod chain;
pub mod cli;
pub mod crypto;
pub mod record;
mod store;
pub mod verify;
mod writer;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use tokio::sync::oneshot;

pub use chain::{parse_public_key, read_public_key, Checkpoint};
pub use crypto::{MasterKeySource, Secret32};
pub use record::{
    rfc3339, AuditEntry, AuditRecord, Completion, Decision, EntityCount, EntryContent, LogEvent,
    PayloadState, RecordKind, Seq, SubjectRef,
};
pub use verify::{Problem, VerifyReport};

use crypto::KeyRing;
use record::{BodyOwned, PayloadText, SealedPayload, Stored, StoredRecord};
use store::{parse_seq, seq_key, Trees};
use writer::{Append, Cmd, SweepStep, Writer};

/// Audit failures. Messages never contain record content, subject ids or key material.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file or the store could not be read or written (ENOSPC, EIO, read-only, lock…).
    #[error("audit store I/O error: {0}")]
    Io(#[from] io::Error),
    /// The store reported an error.
    #[error("audit store error: {0}")]
    Store(&'static str),
    /// The record was not durable within `write_timeout`.
    #[error("audit write timed out")]
    Timeout,
    /// The writer has stopped.
    #[error("audit writer is closed")]
    Closed,
    /// Sealing or opening failed (wrong key, or altered bytes).
    #[error("audit record could not be sealed or opened")]
    Crypto,
    /// A key file is missing, malformed or does not match.
    #[error("audit key error: {0}")]
    Key(&'static str),
    /// Stored data does not parse.
    #[error("audit data is corrupt: {0}")]
    Corrupt(&'static str),
    /// An argument is malformed.
    #[error("invalid {0}")]
    InvalidInput(&'static str),
    /// `complete` named an intent that does not exist (or was purged).
    #[error("no such intent")]
    NotFound,
    /// `complete` named an intent that already has a completion.
    #[error("intent already completed")]
    AlreadyCompleted,
}

impl AuditError {
    /// A copy of this error for every waiter of a failed group commit.
    fn clone_kind(&self) -> AuditError {
        match self {
            AuditError::Io(e) => AuditError::Io(io::Error::from(e.kind())),
            AuditError::Store(s) => AuditError::Store(s),
            AuditError::Timeout => AuditError::Timeout,
            AuditError::Closed => AuditError::Closed,
            AuditError::Crypto => AuditError::Crypto,
            AuditError::Key(s) => AuditError::Key(s),
            AuditError::Corrupt(s) => AuditError::Corrupt(s),
            AuditError::InvalidInput(s) => AuditError::InvalidInput(s),
            AuditError::NotFound => AuditError::NotFound,
            AuditError::AlreadyCompleted => AuditError::AlreadyCompleted,
        }
    }
}

/// How the audit log behaves.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// How long an append may wait for durability before returning `Err(Timeout)` (default 2 s).
    pub write_timeout: Duration,
    /// Sign a checkpoint every this many records (default 1000).
    pub checkpoint_every: u64,
    /// … or after this long with new records (default 60 s).
    pub checkpoint_interval: Duration,
    /// Retire a data key after this many encryptions (default 2^30; the random-nonce limit is 2^32).
    pub max_encryptions_per_key: u64,
    /// The most commands one group commit takes (default 4096).
    pub max_batch: usize,
    /// Where the master key comes from (default: `dir/keys/master.key`).
    pub master_key: MasterKeySource,
    /// Failpoint (RELIABILITY G2): sleep this long before every flush, to test write timeouts.
    #[cfg(any(test, feature = "failpoints"))]
    pub failpoint_flush_delay: Option<Duration>,
}

impl Default for AuditOptions {
    fn default() -> AuditOptions {
        AuditOptions {
            write_timeout: Duration::from_secs(2),
            checkpoint_every: 1000,
            checkpoint_interval: Duration::from_secs(60),
            max_encryptions_per_key: 1 << 30,
            max_batch: 4096,
            master_key: MasterKeySource::File,
            #[cfg(any(test, feature = "failpoints"))]
            failpoint_flush_delay: None,
        }
    }
}

/// Which records [`AuditLog::query`] returns. Every set field must match.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this subject's records (uses the subject index, no scan).
    pub subject: Option<SubjectRef>,
    /// Stored at or after this unix ms.
    pub since_ms: Option<u64>,
    /// Stored before this unix ms.
    pub until_ms: Option<u64>,
    /// Route template.
    pub route: Option<String>,
    /// Policy id.
    pub policy: Option<String>,
    /// At least one detection of this entity type.
    pub entity: Option<String>,
    /// Final decision name (`forwarded`, `blocked`, `error`, `incomplete`).
    pub decision: Option<String>,
    /// At most this many entries (oldest first).
    pub limit: Option<usize>,
}

impl AuditFilter {
    /// SHA-256 of the filter's fields, hex: identifies a query in access events without storing
    /// the subject it may name.
    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"privgate/filter/v1\0");
        h.update(format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
            self.subject.map(|s| s.to_hex()),
            self.since_ms,
            self.until_ms,
            self.route,
            self.policy,
            self.entity,
            self.decision,
            self.limit
        ));
        hex::encode(h.finalize())
    }

    fn has_content_filter(&self) -> bool {
        self.route.is_some()
            || self.policy.is_some()
            || self.entity.is_some()
            || self.decision.is_some()
    }

    fn matches(&self, e: &AuditEntry) -> bool {
        if self.since_ms.is_some_and(|t| e.time_ms < t)
            || self.until_ms.is_some_and(|t| e.time_ms >= t)
        {
            return false;
        }
        match &e.content {
            EntryContent::Record { record, completion } => {
                self.route.as_ref().is_none_or(|r| &record.route == r)
                    && self.policy.as_ref().is_none_or(|p| &record.policy_id == p)
                    && self.entity.as_ref().is_none_or(|x| {
                        record
                            .entities
                            .iter()
                            .chain(completion.iter().flat_map(|c| c.entities.iter()))
                            .any(|c| c.entity.eq_ignore_ascii_case(x) && c.count > 0)
                    })
                    && self
                        .decision
                        .as_ref()
                        .is_none_or(|d| e.decision().is_some_and(|x| x.name() == d))
            }
            EntryContent::Event { .. } => !self.has_content_filter() && self.subject.is_none(),
            EntryContent::Erased | EntryContent::Unreadable => !self.has_content_filter(),
            EntryContent::Tombstone => !self.has_content_filter() && self.subject.is_none(),
        }
    }
}

/// What an erasure did.
#[derive(Debug, Clone, Serialize)]
pub struct ErasureReport {
    /// The seq of the erasure's own audit event.
    pub event_seq: Seq,
    /// How many data keys were destroyed.
    pub keys_destroyed: usize,
    /// How many records (index entries) the subject had.
    pub records: u64,
    /// The new master key generation (None: the master key is external and was not rotated).
    pub master_generation: Option<u64>,
}

/// What a retention purge did.
#[derive(Debug, Clone, Serialize)]
pub struct PurgeReport {
    /// Records up to this seq were deleted (None: no checkpoint old enough, nothing deleted).
    pub through_seq: Option<Seq>,
    /// How many records were deleted.
    pub records: u64,
}

/// How long one policy's records are kept. `None`: no limit from this policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Audit metadata: older records are replaced by tombstones.
    pub audit: Option<Duration>,
    /// Kept prompt/answer text: destroyed (its payload key is) once its UTC day is this old.
    /// Never longer than `audit`.
    pub payload: Option<Duration>,
}

impl Retention {
    /// A retention in whole days (as policy files and `[audit] retention_days` state it).
    pub fn days(audit: Option<u32>, payload: Option<u32>) -> Retention {
        let d = |n: u32| Duration::from_secs(u64::from(n) * 86_400);
        Retention {
            audit: audit.map(d),
            payload: payload.map(d),
        }
    }

    /// The payload limit that applies: the shorter of `payload` and `audit`.
    pub fn effective_payload(&self) -> Option<Duration> {
        match (self.payload, self.audit) {
            (Some(p), Some(a)) => Some(p.min(a)),
            (p, a) => p.or(a),
        }
    }
}

/// Retention per policy id, plus the rule for records whose policy is not listed, for events,
/// and for records written before retention per policy (their header names no policy).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionRules {
    /// Per policy id. A listed policy's rule replaces `default` entirely.
    pub by_policy: BTreeMap<String, Retention>,
    /// Everything else.
    pub default: Retention,
    /// Subjects under legal hold: their records are neither tombstoned nor stripped of their
    /// text (the payload keys they use are kept, for every record sealed under them).
    pub legal_hold: BTreeSet<SubjectRef>,
}

impl RetentionRules {
    /// The rule for records of `policy` (None: an event or an old record).
    pub fn for_policy(&self, policy: Option<&str>) -> Retention {
        policy
            .and_then(|p| self.by_policy.get(p))
            .copied()
            .unwrap_or(self.default)
    }

    /// True when no rule limits anything (a sweep has nothing to do).
    pub fn is_unlimited(&self) -> bool {
        self.shortest().is_none()
    }

    /// The longest metadata limit, if every rule has one (else some records live forever).
    pub(crate) fn longest_audit(&self) -> Option<Duration> {
        let mut longest = Duration::ZERO;
        for r in self
            .by_policy
            .values()
            .chain(std::iter::once(&self.default))
        {
            longest = longest.max(r.audit?);
        }
        Some(longest)
    }

    /// The shortest limit of any rule: records younger than that are never touched.
    pub(crate) fn shortest(&self) -> Option<Duration> {
        self.by_policy
            .values()
            .chain(std::iter::once(&self.default))
            .flat_map(|r| [r.audit, r.effective_payload()])
            .flatten()
            .min()
    }
}

/// What [`AuditLog::enforce_retention`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    /// Retained records whose kept text was destroyed (their payload key is gone).
    pub payloads_shredded: u64,
    /// Day keys destroyed: payload keys, and anonymous keys whose records are all tombstones.
    pub keys_destroyed: u64,
    /// Records replaced by tombstones.
    pub records_tombstoned: u64,
    /// Records past their retention but kept because their subject is under legal hold.
    pub records_held: u64,
    /// Tombstones deleted with the prefix up to a signed checkpoint.
    pub prefix_purged: u64,
    /// The prefix deleted ends at this seq (a signed checkpoint), if any was.
    pub purged_through_seq: Option<Seq>,
}

/// Counts and sizes.
#[derive(Debug, Clone, Serialize)]
pub struct AuditStats {
    /// Records stored (intents, completions, events).
    pub records: u64,
    /// Intents without a completion.
    pub open_intents: u64,
    /// The oldest retained seq.
    pub first_seq: Option<Seq>,
    /// The newest seq.
    pub last_seq: Option<Seq>,
    /// Bytes the sled directory uses on disk.
    pub bytes_on_disk: u64,
    /// Checkpoints in the checkpoint file.
    pub checkpoints: u64,
    /// The newest checkpoint's seq.
    pub last_checkpoint_seq: Option<Seq>,
    /// The master key generation.
    pub master_generation: u64,
    /// Group-commit flushes since open (records per flush = batching efficiency).
    pub flushes: u64,
}

/// The audit log of one data dir. Cheap to clone; the writer stops when the last clone drops.
///
/// Dropping the last clone blocks briefly: the writer finishes its queue, signs a last checkpoint
/// and exits, so sled's lock is free for the next open.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    trees: Trees,
    keys: Arc<Mutex<KeyRing>>,
    verifying_key: VerifyingKey,
    index_key: Secret32,
    tx: Mutex<Option<mpsc::Sender<Cmd>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    write_timeout: Duration,
    flushes: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").finish_non_exhaustive()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel lets the writer finish its queue, sign a last checkpoint and exit;
        // joining releases sled's lock before a reopen in the same process.
        self.tx.lock().map(|mut t| t.take()).ok();
        if let Some(h) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = h.join();
        }
    }
}

// === impl AuditLog ===

impl AuditLog {
    /// Opens (or creates) the audit log under `dir`, loads or creates the keys, marks intents
    /// left open by a previous run as `incomplete`, and starts the writer thread.
    pub fn open(dir: &Path, opts: AuditOptions) -> Result<AuditLog, AuditError> {
        crypto::create_private_dir(dir)?;
        // sled's lock first: a second process (a CLI next to a running server) must fail here,
        // before it touches the key files.
        let trees = Trees::open(&dir.join("audit"))?;
        let keys_dir = dir.join("keys");
        let ring = KeyRing::open(&keys_dir, &opts.master_key, opts.max_encryptions_per_key)?;
        let index_key = Secret32::from_bytes(*ring.index_key());
        let keys = Arc::new(Mutex::new(ring));
        let signer = chain::load_signing_key(&keys_dir)?;
        let verifying_key = signer.verifying_key();
        let mut writer = Writer::new(
            dir.to_path_buf(),
            trees.clone(),
            keys.clone(),
            signer,
            &opts,
        )?;
        let reconciled = writer.reconcile()?;
        let flushes = writer.flushes.clone();
        if reconciled > 0 {
            tracing::warn!(
                intents = reconciled,
                "audit: intents left open marked incomplete"
            );
        }
        let (tx, rx) = mpsc::channel();
        // The writer thread exits when every sender is gone (Inner::drop or shutdown) and is
        // joined in Inner::drop.
        let thread = std::thread::Builder::new()
            .name("privgate-audit-writer".into())
            .spawn(move || writer.run(rx))?;
        Ok(AuditLog {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                trees,
                keys,
                verifying_key,
                index_key,
                tx: Mutex::new(Some(tx)),
                thread: Mutex::new(Some(thread)),
                write_timeout: opts.write_timeout,
                flushes,
            }),
        })
    }

    /// The blind index of a subject id (HMAC-SHA256 under this log's index key).
    pub fn subject_ref(&self, subject_id: &str) -> SubjectRef {
        SubjectRef::compute(self.inner.index_key.expose(), subject_id)
    }

    fn send<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, AuditError>>) -> Cmd,
    ) -> Result<oneshot::Receiver<Result<T, AuditError>>, AuditError> {
        let (tx, rx) = oneshot::channel();
        let guard = self.inner.tx.lock().map_err(|_| AuditError::Closed)?;
        guard
            .as_ref()
            .ok_or(AuditError::Closed)?
            .send(make(tx))
            .map_err(|_| AuditError::Closed)?;
        Ok(rx)
    }

    async fn append(&self, a: Append) -> Result<Seq, AuditError> {
        let rx = self.send(|tx| Cmd::Append(a, tx))?;
        match tokio::time::timeout(self.inner.write_timeout, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(AuditError::Closed),
            Err(_) => Err(AuditError::Timeout),
        }
    }

    async fn admin<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, AuditError>>) -> Cmd,
    ) -> Result<T, AuditError> {
        self.send(make)?.await.map_err(|_| AuditError::Closed)?
    }

    /// Writes an exchange's intent record. Returns its seq once it is durable (fsynced); `Err`
    /// if the write fails or takes longer than `write_timeout`: the caller must then not contact
    /// the upstream. After a timeout the record may still be stored later, unacknowledged; it
    /// stays open until the next start marks it `incomplete`.
    pub async fn append_intent(&self, record: AuditRecord) -> Result<Seq, AuditError> {
        self.append(Append::Intent(Box::new(record))).await
    }

    /// Writes an exchange that is already over (blocked, refused, failed before the upstream) as
    /// one record with its decision set: one fsync instead of intent + completion. Durable when
    /// `Ok`.
    pub async fn append_final(&self, record: AuditRecord) -> Result<Seq, AuditError> {
        self.append(Append::Final(Box::new(record))).await
    }

    /// Writes the completion of intent `intent` (its own chained record, sealed under the same
    /// subject's key). Durable when `Ok`.
    pub async fn complete(&self, intent: Seq, completion: Completion) -> Result<Seq, AuditError> {
        self.append(Append::Complete { intent, completion }).await
    }

    /// Crypto-shreds a subject: destroys its data keys and the old master key generation,
    /// removes its index entries, and records the erasure as an audit event.
    pub async fn erase_subject(&self, subject: SubjectRef) -> Result<ErasureReport, AuditError> {
        self.admin(|tx| Cmd::Erase(subject, tx)).await
    }

    /// Re-wraps every data key under a new master key generation (`privgate keys rotate`) and
    /// records it; returns the new generation. `Err(Key)` when the master key is given from
    /// outside (environment): privgate cannot replace it.
    pub async fn rotate_master_key(&self) -> Result<u64, AuditError> {
        self.admin(Cmd::RotateMaster).await
    }

    /// Signs a checkpoint at the current head now (None if nothing new since the last one).
    pub async fn checkpoint(&self) -> Result<Option<Checkpoint>, AuditError> {
        self.admin(Cmd::Checkpoint).await
    }

    /// Retention: deletes records stored before `before_ms`, up to the newest checkpoint older
    /// than it (so verification can start from that checkpoint), and their index entries.
    pub async fn purge_before(&self, before_ms: u64) -> Result<PurgeReport, AuditError> {
        self.admin(|tx| Cmd::Purge(before_ms, tx)).await
    }

    /// Applies per-policy retention as of `now_ms` (see the module doc): destroys the payload
    /// keys whose day is past their policy's payload retention, replaces records past their
    /// policy's audit retention by tombstones, and deletes a prefix of tombstones up to a signed
    /// checkpoint. Runs in steps of at most `SWEEP_STEP` records, so appends proceed between
    /// them. Each step that changes something is itself audited (seqs and key ids, no subject).
    pub async fn enforce_retention(
        &self,
        rules: RetentionRules,
        now_ms: u64,
    ) -> Result<RetentionReport, AuditError> {
        let mut report = RetentionReport::default();
        if rules.is_unlimited() {
            return Ok(report);
        }
        let rules = Arc::new(rules);
        // A day key expires once its whole UTC day is older than the limit.
        let day_past = |day: u64, limit: Duration| {
            (day + 1).saturating_mul(86_400_000) <= now_ms.saturating_sub(writer::ms(limit))
        };
        let longest_audit = rules.longest_audit();
        // The writer seals today's anonymous records (this sweep's own events included) under
        // today's key: never that one, whatever clock `now_ms` is.
        let today = record::now_ms() / 86_400_000;
        let expiring = {
            let keys = self.inner.keys.lock().map_err(|_| AuditError::Closed)?;
            keys.expired_day_keys(
                |policy, day| {
                    rules
                        .for_policy(Some(policy))
                        .effective_payload()
                        .is_some_and(|d| day_past(day, d))
                },
                |day| day < today && longest_audit.is_some_and(|d| day_past(day, d)),
            )
        };
        let expiring_set = Arc::new(expiring.iter().cloned().collect::<HashSet<String>>());
        let mut payloads: HashMap<String, u64> = HashMap::new();
        let mut held_keys: HashSet<String> = HashSet::new();
        let (mut from, mut until) = (0, None);
        loop {
            let step = SweepStep {
                rules: rules.clone(),
                now_ms,
                from,
                until,
                expiring: expiring_set.clone(),
            };
            let out = self.admin(|tx| Cmd::Sweep(step, tx)).await?;
            report.records_tombstoned += out.tombstoned;
            report.records_held += out.held;
            for (k, n) in out.payloads {
                *payloads.entry(k).or_default() += n;
            }
            held_keys.extend(out.held_keys);
            until = Some(out.until);
            match out.next {
                Some(n) => from = n,
                None => break,
            }
        }
        let doomed: Vec<String> = expiring
            .into_iter()
            .filter(|k| !held_keys.contains(k))
            .collect();
        if !doomed.is_empty() {
            let records: u64 = doomed.iter().filter_map(|k| payloads.get(k)).sum();
            report.payloads_shredded = records;
            report.keys_destroyed = self
                .admin(|tx| Cmd::ExpireKeys(doomed, records, tx))
                .await?;
        }
        loop {
            let purged = self.admin(Cmd::PurgeTombstones).await?;
            if purged.records == 0 {
                break;
            }
            report.prefix_purged += purged.records;
            report.purged_through_seq = purged.through_seq;
        }
        Ok(report)
    }

    /// Records that someone read the log (query, export, verify…): a chained, durable event.
    pub async fn record_access(
        &self,
        principal: &str,
        action: &str,
        filter: &AuditFilter,
        count: u64,
    ) -> Result<Seq, AuditError> {
        self.append(Append::Event(LogEvent::Access {
            principal: principal.to_string(),
            action: action.to_string(),
            filter_hash: filter.hash(),
            count,
        }))
        .await
    }

    /// Stops the writer: queued commands finish, later writes return `Err(Closed)`.
    pub fn shutdown(&self) {
        self.inner.tx.lock().map(|mut t| t.take()).ok();
    }

    /// The checkpoint public key, hex, for auditors.
    pub fn export_public_key(&self) -> String {
        hex::encode(self.inner.verifying_key.to_bytes())
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, AuditError> + Send + 'static,
    ) -> Result<T, AuditError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|_| AuditError::Closed)?
    }

    /// Decrypted records matching `filter`, oldest first. Erased records appear as
    /// [`EntryContent::Erased`] (unless a content filter is set). Needs the master key.
    pub async fn query(&self, filter: AuditFilter) -> Result<Vec<AuditEntry>, AuditError> {
        self.blocking(move |i| i.query(&filter)).await
    }

    /// Every record of a subject, as one JSON document (Art. 15/20).
    pub async fn export_subject(
        &self,
        subject: SubjectRef,
    ) -> Result<serde_json::Value, AuditError> {
        let entries = self
            .query(AuditFilter {
                subject: Some(subject),
                ..AuditFilter::default()
            })
            .await?;
        Ok(serde_json::json!({
            "subject": subject,
            "exported_at": rfc3339(record::now_ms()),
            "records": entries,
        }))
    }

    /// Counts and sizes.
    pub async fn stats(&self) -> Result<AuditStats, AuditError> {
        self.blocking(|i| i.stats()).await
    }

    /// Verifies the chain and checkpoints of this (open) log with its public key.
    pub async fn verify(&self) -> Result<VerifyReport, AuditError> {
        self.verify_with(None).await
    }

    /// Verifies the chain and checkpoints of this (open) log with `public_key`, or with its own
    /// key when `None` (an auditor may bring the key they trust).
    pub async fn verify_with(
        &self,
        public_key: Option<VerifyingKey>,
    ) -> Result<VerifyReport, AuditError> {
        self.blocking(move |i| {
            let key = public_key.unwrap_or(i.verifying_key);
            let iter = i.trees.records.iter().map(|r| {
                r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(AuditError::from)
            });
            verify::run(iter, &i.dir, &key)
        })
        .await
    }

    #[cfg(test)]
    fn keys(&self) -> std::sync::MutexGuard<'_, KeyRing> {
        self.inner.keys.lock().unwrap()
    }
}

/// Verifies the log under `dir` offline (the server must be stopped: sled admits one process),
/// with only the checkpoint public key. Opens no key file.
pub fn verify(dir: &Path, public_key: &VerifyingKey) -> Result<VerifyReport, AuditError> {
    let trees = Trees::open(&dir.join("audit"))?;
    let iter = trees.records.iter().map(|r| {
        r.map(|(k, v)| (k.to_vec(), v.to_vec()))
            .map_err(AuditError::from)
    });
    verify::run(iter, dir, public_key)
}

// === impl Inner (reads) ===

impl Inner {
    fn entry(&self, seq: Seq, rec: &StoredRecord) -> Result<AuditEntry, AuditError> {
        let h = &rec.header;
        let plain = self.decrypt(rec);
        let mut completion_seq = None;
        let mut payload = None;
        let content = match (h.kind, plain) {
            (_, Decrypted::Erased) => EntryContent::Erased,
            (_, Decrypted::Unreadable) => EntryContent::Unreadable,
            (RecordKind::Event, Decrypted::Plain(p)) => match serde_json::from_slice(&p) {
                Ok(event) => EntryContent::Event { event },
                Err(_) => EntryContent::Unreadable,
            },
            (_, Decrypted::Plain(p)) => {
                match serde_json::from_slice::<BodyOwned<AuditRecord>>(&p) {
                    Ok(body) => {
                        let mut record = body.record;
                        if let Some(sealed) = &body.sealed_payload {
                            let (text, state) = self.open_payload(rec, sealed);
                            record.prompt_text = text.prompt_text;
                            record.answer_text = text.answer_text;
                            payload = Some(state);
                        }
                        let mut completion = None;
                        if let Some(cseq) = self
                            .trees
                            .completed
                            .get(seq_key(seq))?
                            .and_then(|v| parse_seq(&v))
                        {
                            completion_seq = Some(cseq);
                            if let Some(Stored::Record(crec)) = self.trees.get(cseq)? {
                                if let Decrypted::Plain(cp) = self.decrypt(&crec) {
                                    let body =
                                        serde_json::from_slice::<BodyOwned<Completion>>(&cp).ok();
                                    completion = body.map(|b| {
                                        let mut c = b.record;
                                        if let Some(sealed) = &b.sealed_payload {
                                            let (text, state) = self.open_payload(&crec, sealed);
                                            c.answer_text = text.answer_text;
                                            payload = Some(match payload {
                                                Some(PayloadState::Kept) | None => state,
                                                Some(worse) => worse,
                                            });
                                        }
                                        c
                                    });
                                }
                            }
                        }
                        EntryContent::Record {
                            record: Box::new(record),
                            completion,
                        }
                    }
                    Err(_) => EntryContent::Unreadable,
                }
            }
        };
        Ok(AuditEntry {
            seq,
            time_ms: h.time_ms,
            time: rfc3339(h.time_ms),
            kind: h.kind,
            key_id: h.key_id.clone(),
            completion_seq,
            payload,
            content,
        })
    }

    /// A tombstone as a reader sees it: seq, time and kind, nothing else.
    fn tombstone_entry(seq: Seq, t: &record::Tombstone) -> AuditEntry {
        AuditEntry {
            seq,
            time_ms: t.time_ms,
            time: rfc3339(t.time_ms),
            kind: t.kind,
            key_id: String::new(),
            completion_seq: None,
            payload: None,
            content: EntryContent::Tombstone,
        }
    }

    /// Opens a record's sealed text with the payload key its header names: `Expired` once
    /// retention destroyed that key.
    fn open_payload(
        &self,
        rec: &StoredRecord,
        sealed: &SealedPayload,
    ) -> (PayloadText, PayloadState) {
        let Some(id) = rec.header.payload_key.as_deref() else {
            return (PayloadText::default(), PayloadState::Unreadable);
        };
        let cipher = match self.keys.lock() {
            Ok(k) => k.cipher(id),
            Err(_) => None,
        };
        let Some(cipher) = cipher else {
            return (PayloadText::default(), PayloadState::Expired);
        };
        let mut nonce = [0u8; 12];
        let opened = hex::decode_to_slice(&sealed.nonce, &mut nonce)
            .ok()
            .and_then(|()| hex::decode(&sealed.ct).ok())
            .and_then(|ct| {
                crypto::open(
                    &cipher,
                    &crypto::payload_aad(rec.header.seq, id),
                    &ct,
                    &nonce,
                )
                .ok()
            })
            .and_then(|p| serde_json::from_slice::<PayloadText>(&p).ok());
        match opened {
            Some(text) => (text, PayloadState::Kept),
            None => (PayloadText::default(), PayloadState::Unreadable),
        }
    }

    fn decrypt(&self, rec: &StoredRecord) -> Decrypted {
        let cipher = match self.keys.lock() {
            Ok(k) => k.cipher(&rec.header.key_id),
            Err(_) => None,
        };
        let Some(cipher) = cipher else {
            return Decrypted::Erased;
        };
        let mut nonce = [0u8; 12];
        if hex::decode_to_slice(&rec.header.nonce, &mut nonce).is_err() {
            return Decrypted::Unreadable;
        }
        match crypto::open(&cipher, &rec.header_bytes, &rec.ciphertext, &nonce) {
            Ok(p) => Decrypted::Plain(p),
            Err(_) => Decrypted::Unreadable,
        }
    }

    fn query(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>, AuditError> {
        let limit = f.limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        let consider = |seq: Seq,
                        stored: Stored,
                        out: &mut Vec<AuditEntry>|
         -> Result<bool, AuditError> {
            let (kind, time_ms) = match &stored {
                Stored::Record(r) => (r.header.kind, r.header.time_ms),
                Stored::Tombstone { tombstone: t, .. } => (t.kind, t.time_ms),
            };
            if kind == RecordKind::Completion {
                return Ok(true);
            }
            if f.since_ms.is_some_and(|t| time_ms < t) || f.until_ms.is_some_and(|t| time_ms >= t) {
                return Ok(true);
            }
            let e = match &stored {
                Stored::Record(rec) => self.entry(seq, rec)?,
                Stored::Tombstone { tombstone, .. } => Inner::tombstone_entry(seq, tombstone),
            };
            if f.matches(&e) {
                out.push(e);
            }
            Ok(out.len() < limit)
        };
        if let Some(s) = &f.subject {
            for k in self.trees.by_subject.scan_prefix(s.0).keys() {
                let k = k?;
                let Some(seq) = parse_seq(&k[32..]) else {
                    continue;
                };
                let Some(rec) = self.trees.get(seq)? else {
                    continue;
                };
                if !consider(seq, rec, &mut out)? {
                    break;
                }
            }
        } else {
            for item in self.trees.records.iter() {
                let (k, v) = item?;
                let Some(seq) = parse_seq(&k) else { continue };
                let rec = Stored::decode(&v)?;
                if !consider(seq, rec, &mut out)? {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn stats(&self) -> Result<AuditStats, AuditError> {
        let first_seq = self.trees.records.first()?.and_then(|(k, _)| parse_seq(&k));
        let last_seq = self.trees.records.last()?.and_then(|(k, _)| parse_seq(&k));
        let cps: Vec<Checkpoint> = chain::read_checkpoints(&self.dir)?
            .into_iter()
            .filter_map(Result::ok)
            .collect();
        Ok(AuditStats {
            records: self.trees.records.len() as u64,
            open_intents: self.trees.open.len() as u64,
            first_seq,
            last_seq,
            bytes_on_disk: self.trees.db.size_on_disk()?,
            checkpoints: cps.len() as u64,
            last_checkpoint_seq: cps.last().map(|c| c.seq),
            master_generation: self
                .keys
                .lock()
                .map_err(|_| AuditError::Closed)?
                .generation(),
            flushes: self.flushes.load(std::sync::atomic::Ordering::Relaxed),
        })
    }
}

enum Decrypted {
    Plain(Vec<u8>),
    Erased,
    Unreadable,
}

#[cfg(test)]
mod tests;
