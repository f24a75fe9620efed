//! The single writer: assigns seqs, seals, chains, stores, and acknowledges with group commit.
//!
//! Owns: the chain head, the checkpoint cadence, and every mutation of the log (appends, erasure,
//! master key rotation, retention purge, retention sweep steps), so they are serialised without
//! locks on the hot path.
//!
//! Runs on its own OS thread (sled's calls block). Loop: wait for one command, drain whatever else
//! is queued (up to `max_batch`), stage every append (seal, hash, insert), persist new key ring
//! entries, then **one** `sled::Db::flush` (fsync) for the whole group; only after it returned Ok
//! is any waiter in the group released with `Ok(seq)`. If the flush fails every waiter in the group
//! gets `Err`. Records staged but not flushed may still reach disk later; they were never
//! acknowledged, and they stay correctly chained.
//!
//! Checkpoints are signed after a successful flush, every `checkpoint_every` records or
//! `checkpoint_interval`, and once more when the writer stops.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use tokio::sync::oneshot;

use super::chain::{self, chain_hash, Checkpoint, GENESIS};
use super::crypto::{payload_aad, random_nonce, seal, KeyRing};
use super::record::{
    now_ms, AuditRecord, Body, Completion, Decision, Header, LogEvent, PayloadText, RecordKind,
    SealedPayload, Seq, Stored, StoredRecord, SubjectRef, Tombstone,
};
use super::store::{parse_seq, seq_key, subject_key, Trees};
use super::{AuditError, ErasureReport, PurgeReport, RetentionRules};

/// The most records one retention sweep step looks at: appends wait while a step runs, so a
/// large sweep is cut into steps with appends in between.
pub(crate) const SWEEP_STEP: usize = if cfg!(test) { 64 } else { 4096 };

type Reply<T> = oneshot::Sender<Result<T, AuditError>>;

/// What can be appended.
pub(crate) enum Append {
    Intent(Box<AuditRecord>),
    /// An exchange recorded in one go (already decided: blocked, refused…): no completion follows.
    Final(Box<AuditRecord>),
    Complete {
        intent: Seq,
        completion: Completion,
    },
    Event(LogEvent),
}

/// A request to the writer.
pub(crate) enum Cmd {
    Append(Append, Reply<Seq>),
    Erase(SubjectRef, Reply<ErasureReport>),
    RotateMaster(Reply<u64>),
    Checkpoint(Reply<Option<Checkpoint>>),
    Purge(u64, Reply<PurgeReport>),
    Sweep(SweepStep, Reply<SweepOut>),
    /// Destroys these day keys; the count of retained records whose payload is sealed under
    /// them goes into the event.
    ExpireKeys(Vec<String>, u64, Reply<u64>),
    PurgeTombstones(Reply<PurgeReport>),
}

/// One step of a retention sweep over seqs `from..=until`.
pub(crate) struct SweepStep {
    pub rules: Arc<RetentionRules>,
    pub now_ms: u64,
    /// The first seq to look at.
    pub from: Seq,
    /// The last seq to look at (None: the head when the step runs). Fixed by the first step, so
    /// a sweep never touches what was written after it started (its own events included).
    pub until: Option<Seq>,
    /// Payload keys about to be destroyed: retained records sealed under them are counted.
    pub expiring: Arc<HashSet<String>>,
}

/// What one sweep step did.
pub(crate) struct SweepOut {
    /// Where the next step starts (None: the sweep is done).
    pub next: Option<Seq>,
    /// The sweep's last seq.
    pub until: Seq,
    /// Records replaced by tombstones.
    pub tombstoned: u64,
    /// Per expiring payload key: how many retained records have their payload sealed under it.
    pub payloads: HashMap<String, u64>,
    /// Expiring payload keys that a record under legal hold uses: they must stay.
    pub held_keys: HashSet<String>,
    /// Expired records kept because their subject is under legal hold.
    pub held: u64,
}

/// The writer's state.
pub(crate) struct Writer {
    pub dir: PathBuf,
    pub trees: Trees,
    pub keys: Arc<Mutex<KeyRing>>,
    pub signer: SigningKey,
    pub head: (Seq, [u8; 32]),
    pub durable: (Seq, [u8; 32]),
    pub last_cp_seq: Seq,
    pub last_cp_sig: [u8; 64],
    pub last_cp_at: Instant,
    pub checkpoint_every: u64,
    pub checkpoint_interval: Duration,
    pub max_batch: usize,
    /// Successful group-commit flushes so far (for stats and tests).
    pub flushes: Arc<AtomicU64>,
    #[cfg(any(test, feature = "failpoints"))]
    pub failpoint_flush_delay: Option<Duration>,
}

impl Writer {
    /// Builds the writer from what is on disk.
    pub(crate) fn new(
        dir: PathBuf,
        trees: Trees,
        keys: Arc<Mutex<KeyRing>>,
        signer: SigningKey,
        opts: &super::AuditOptions,
    ) -> Result<Writer, AuditError> {
        super::crypto::repair_torn_tail(&chain::checkpoints_path(&dir))?;
        let cps: Vec<Checkpoint> = chain::read_checkpoints(&dir)?
            .into_iter()
            .filter_map(Result::ok)
            .collect();
        let last_cp = cps.last();
        let head = match trees.head()? {
            Some(h) => h,
            None => match last_cp.and_then(|c| Some((c.seq, c.head_bytes()?))) {
                Some(h) => h,
                None => (0, GENESIS),
            },
        };
        Ok(Writer {
            dir,
            trees,
            keys,
            signer,
            head,
            durable: head,
            last_cp_seq: last_cp.map_or(0, |c| c.seq),
            last_cp_sig: last_cp.and_then(Checkpoint::sig_bytes).unwrap_or([0; 64]),
            last_cp_at: Instant::now(),
            checkpoint_every: opts.checkpoint_every.max(1),
            checkpoint_interval: opts.checkpoint_interval,
            max_batch: opts.max_batch.max(1),
            flushes: Arc::new(AtomicU64::new(0)),
            #[cfg(any(test, feature = "failpoints"))]
            failpoint_flush_delay: opts.failpoint_flush_delay,
        })
    }

    /// The thread body: runs until every sender is gone, then signs a last checkpoint.
    pub(crate) fn run(mut self, rx: Receiver<Cmd>) {
        loop {
            let wait = self
                .checkpoint_interval
                .saturating_sub(self.last_cp_at.elapsed())
                .max(Duration::from_millis(10));
            let first = match rx.recv_timeout(wait) {
                Ok(c) => c,
                Err(RecvTimeoutError::Timeout) => {
                    if self.head.0 > self.last_cp_seq
                        && self.last_cp_at.elapsed() >= self.checkpoint_interval
                    {
                        let _ = self.force_checkpoint();
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut batch = vec![first];
            while batch.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(c) => batch.push(c),
                    Err(_) => break,
                }
            }
            self.process(batch);
        }
        if self.head.0 > self.last_cp_seq {
            if let Err(e) = self.force_checkpoint() {
                tracing::warn!(error = %e, "final audit checkpoint failed");
            }
        }
    }

    /// Stages a group of commands and commits appends with one flush.
    pub(crate) fn process(&mut self, batch: Vec<Cmd>) {
        let mut acks: Vec<(Reply<Seq>, Result<Seq, AuditError>)> = Vec::new();
        for cmd in batch {
            match cmd {
                Cmd::Append(a, reply) => {
                    let r = self.stage(a);
                    acks.push((reply, r));
                }
                other => {
                    self.commit(&mut acks);
                    self.special(other);
                }
            }
        }
        self.commit(&mut acks);
    }

    fn special(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Append(..) => unreachable!("appends are staged in process()"),
            Cmd::Erase(subject, reply) => {
                let _ = reply.send(self.erase(subject));
            }
            Cmd::RotateMaster(reply) => {
                let r = (|| {
                    let generation = {
                        let mut k = self.keys.lock().map_err(|_| AuditError::Closed)?;
                        if !k.managed() {
                            return Err(AuditError::Key(
                                "the master key is given from outside; rotate it there",
                            ));
                        }
                        k.rotate_master()?;
                        k.generation()
                    };
                    self.append_now(Append::Event(LogEvent::MasterKeyRotated { generation }))?;
                    Ok(generation)
                })();
                let _ = reply.send(r);
            }
            Cmd::Checkpoint(reply) => {
                let _ = reply.send(self.force_checkpoint());
            }
            Cmd::Purge(before_ms, reply) => {
                let _ = reply.send(self.purge(before_ms));
            }
            Cmd::Sweep(step, reply) => {
                let _ = reply.send(self.sweep(step));
            }
            Cmd::ExpireKeys(ids, records, reply) => {
                let _ = reply.send(self.expire_keys(ids, records));
            }
            Cmd::PurgeTombstones(reply) => {
                let _ = reply.send(self.purge_tombstones());
            }
        }
    }

    /// Seals, chains and inserts one record (not yet durable).
    pub(crate) fn stage(&mut self, a: Append) -> Result<Seq, AuditError> {
        let now = now_ms();
        let mut opens = false;
        let seq = self.head.0 + 1;
        // An intent and a final record are stored alike; only an intent stays open.
        let a = match a {
            Append::Intent(r) => {
                opens = true;
                Append::Final(r)
            }
            other => other,
        };
        let (kind, subject, refers_to, policy, payload_key, payload) = match a {
            Append::Intent(_) => unreachable!("turned into Final above"),
            Append::Final(mut r) => {
                let text = PayloadText {
                    prompt_text: r.prompt_text.take(),
                    answer_text: r.answer_text.take(),
                };
                let (payload_key, sealed) = self.seal_payload(&r.policy_id, seq, now, &text)?;
                let body = serde_json::to_vec(&Body {
                    record: &*r,
                    sealed_payload: sealed,
                })
                .map_err(|_| AuditError::InvalidInput("record"))?;
                (
                    RecordKind::Intent,
                    r.subject,
                    None,
                    Some(r.policy_id.clone()),
                    payload_key,
                    body,
                )
            }
            Append::Complete {
                intent,
                mut completion,
            } => {
                let Some(v) = self.trees.open.get(seq_key(intent))? else {
                    return Err(if self.trees.completed.contains_key(seq_key(intent))? {
                        AuditError::AlreadyCompleted
                    } else {
                        AuditError::NotFound
                    });
                };
                let subject = <[u8; 32]>::try_from(&v[..]).ok().map(SubjectRef);
                // The completion follows its intent's policy (for retention and its payload key).
                let policy = match self.trees.get(intent)? {
                    Some(Stored::Record(r)) => r.header.policy,
                    _ => None,
                };
                let text = PayloadText {
                    prompt_text: None,
                    answer_text: completion.answer_text.take(),
                };
                let (payload_key, sealed) = match &policy {
                    Some(p) => self.seal_payload(p, seq, now, &text)?,
                    // An intent written before payload keys: keep the text as it was stored then.
                    None => {
                        completion.answer_text = text.answer_text;
                        (None, None)
                    }
                };
                let body = serde_json::to_vec(&Body {
                    record: &completion,
                    sealed_payload: sealed,
                })
                .map_err(|_| AuditError::InvalidInput("completion"))?;
                (
                    RecordKind::Completion,
                    subject,
                    Some(intent),
                    policy,
                    payload_key,
                    body,
                )
            }
            Append::Event(e) => (
                RecordKind::Event,
                None,
                None,
                None,
                None,
                serde_json::to_vec(&e).map_err(|_| AuditError::InvalidInput("event"))?,
            ),
        };
        let (key_id, cipher) = self
            .keys
            .lock()
            .map_err(|_| AuditError::Closed)?
            .key_for(subject, now);
        let nonce = random_nonce();
        let header = Header {
            v: 1,
            seq,
            kind,
            time_ms: now,
            key_id,
            refers_to,
            prev: hex::encode(self.head.1),
            nonce: hex::encode(nonce),
            policy,
            payload_key,
        };
        let hb = serde_json::to_vec(&header).map_err(|_| AuditError::Corrupt("header"))?;
        let ct = seal(&cipher, &hb, &payload, &nonce)?;
        let hash = chain_hash(&self.head.1, seq, &hb, &ct);
        self.trees
            .records
            .insert(seq_key(seq), StoredRecord::encode(&hash, &hb, &ct))?;
        // The record is in the tree: the chain continues from it whatever happens next.
        self.head = (seq, hash);
        if let Some(s) = &subject {
            self.trees.by_subject.insert(subject_key(s, seq), &[])?;
        }
        match kind {
            RecordKind::Intent if opens => {
                let v: &[u8] = subject.as_ref().map_or(&[], |s| &s.0[..]);
                self.trees.open.insert(seq_key(seq), v)?;
            }
            RecordKind::Completion => {
                let intent = refers_to.expect("completions refer to an intent");
                self.trees.open.remove(seq_key(intent))?;
                self.trees
                    .completed
                    .insert(seq_key(intent), &seq_key(seq))?;
            }
            RecordKind::Intent | RecordKind::Event => {}
        }
        Ok(seq)
    }

    /// Seals kept text under the payload key of `policy` for today (nothing when there is none).
    fn seal_payload(
        &mut self,
        policy: &str,
        seq: Seq,
        now: u64,
        text: &PayloadText,
    ) -> Result<(Option<String>, Option<SealedPayload>), AuditError> {
        if text.is_empty() {
            return Ok((None, None));
        }
        let (id, cipher) = self
            .keys
            .lock()
            .map_err(|_| AuditError::Closed)?
            .payload_key_for(policy, now);
        let plain = serde_json::to_vec(text).map_err(|_| AuditError::InvalidInput("payload"))?;
        let nonce = random_nonce();
        let ct = seal(&cipher, &payload_aad(seq, &id), &plain, &nonce)?;
        Ok((
            Some(id),
            Some(SealedPayload {
                nonce: hex::encode(nonce),
                ct: hex::encode(ct),
            }),
        ))
    }

    /// Makes everything staged durable (key ring, then sled) and releases the waiters.
    pub(crate) fn commit(&mut self, acks: &mut Vec<(Reply<Seq>, Result<Seq, AuditError>)>) {
        if acks.is_empty() {
            return;
        }
        let flushed = self.flush();
        for (reply, r) in acks.drain(..) {
            let r = match (&flushed, r) {
                (Ok(()), r) => r,
                (Err(e), Ok(_)) => Err(e.clone_kind()),
                (Err(_), Err(e)) => Err(e),
            };
            // The waiter may have timed out and gone: nothing to do then.
            let _ = reply.send(r);
        }
        let due = self.head.0 >= self.last_cp_seq + self.checkpoint_every
            || (self.head.0 > self.last_cp_seq
                && self.last_cp_at.elapsed() >= self.checkpoint_interval);
        if flushed.is_ok() && due {
            if let Err(e) = self.force_checkpoint() {
                tracing::warn!(error = %e, "audit checkpoint failed");
            }
        }
    }

    fn flush(&mut self) -> Result<(), AuditError> {
        if self.durable.0 == self.head.0 {
            return Ok(());
        }
        #[cfg(any(test, feature = "failpoints"))]
        if let Some(d) = self.failpoint_flush_delay {
            std::thread::sleep(d);
        }
        self.keys
            .lock()
            .map_err(|_| AuditError::Closed)?
            .persist()?;
        self.trees.db.flush()?;
        self.flushes.fetch_add(1, Ordering::Relaxed);
        self.durable = self.head;
        Ok(())
    }

    /// Stages and commits one record right away (for events written by the writer itself).
    pub(crate) fn append_now(&mut self, a: Append) -> Result<Seq, AuditError> {
        let seq = self.stage(a)?;
        self.flush()?;
        Ok(seq)
    }

    /// Marks every intent left open (by a crash or restart) `incomplete`. Called on open.
    pub(crate) fn reconcile(&mut self) -> Result<u64, AuditError> {
        let open: Vec<Seq> = self
            .trees
            .open
            .iter()
            .keys()
            .filter_map(|k| k.ok().and_then(|k| parse_seq(&k)))
            .collect();
        for &intent in &open {
            self.stage(Append::Complete {
                intent,
                completion: Completion::new(Decision::Incomplete),
            })?;
        }
        self.flush()?;
        Ok(open.len() as u64)
    }

    /// Signs a checkpoint at the durable head (after flushing what is staged).
    pub(crate) fn force_checkpoint(&mut self) -> Result<Option<Checkpoint>, AuditError> {
        self.flush()?;
        self.last_cp_at = Instant::now();
        if self.durable.0 == 0 || self.durable.0 == self.last_cp_seq {
            return Ok(None);
        }
        let cp = Checkpoint::sign(
            &self.signer,
            self.durable.0,
            &self.durable.1,
            now_ms(),
            &self.last_cp_sig,
        );
        chain::append_checkpoint(&self.dir, &cp)?;
        self.last_cp_seq = cp.seq;
        self.last_cp_sig = cp.sig_bytes().expect("we just encoded it");
        Ok(Some(cp))
    }

    fn erase(&mut self, subject: SubjectRef) -> Result<ErasureReport, AuditError> {
        // Commit anything staged first, so no record sealed with the old keys is left unflushed.
        self.flush()?;
        let (key_ids, generation) = {
            let mut k = self.keys.lock().map_err(|_| AuditError::Closed)?;
            let ids = k.erase_subject(&subject)?;
            (ids, k.managed().then(|| k.generation()))
        };
        let mut removed = 0u64;
        for k in self.trees.by_subject.scan_prefix(subject.0).keys() {
            self.trees.by_subject.remove(k?)?;
            removed += 1;
        }
        let seq = self.append_now(Append::Event(LogEvent::SubjectErased {
            subject,
            key_ids: key_ids.clone(),
            index_entries: removed,
            master_generation: generation,
        }))?;
        Ok(ErasureReport {
            event_seq: seq,
            keys_destroyed: key_ids.len(),
            records: removed,
            master_generation: generation,
        })
    }

    fn purge(&mut self, before_ms: u64) -> Result<PurgeReport, AuditError> {
        self.flush()?;
        // The newest checkpoint older than the cutoff that leaves at least one record.
        let anchor = chain::read_checkpoints(&self.dir)?
            .into_iter()
            .filter_map(Result::ok)
            .filter(|c| c.time_ms < before_ms && c.seq < self.head.0)
            .map(|c| c.seq)
            .max();
        let Some(through) = anchor else {
            return Ok(PurgeReport {
                through_seq: None,
                records: 0,
            });
        };
        let records = self.delete_through(through, true)?;
        if records > 0 {
            self.append_now(Append::Event(LogEvent::Purged {
                through_seq: through,
                records,
            }))?;
        }
        Ok(PurgeReport {
            through_seq: Some(through),
            records,
        })
    }

    /// Deletes every record up to `through` and its `open`/`completed` entries; with
    /// `scan_index`, also its subject index entries (tombstones have none left).
    fn delete_through(&mut self, through: Seq, scan_index: bool) -> Result<u64, AuditError> {
        let mut records = 0u64;
        for k in self.trees.records.range(..=seq_key(through)).keys() {
            self.trees.records.remove(k?)?;
            records += 1;
        }
        for tree in [&self.trees.open, &self.trees.completed] {
            for k in tree.range(..=seq_key(through)).keys() {
                tree.remove(k?)?;
            }
        }
        if scan_index {
            for k in self.trees.by_subject.iter().keys() {
                let k = k?;
                if parse_seq(&k[32..]).is_some_and(|s| s <= through) {
                    self.trees.by_subject.remove(k)?;
                }
            }
        }
        Ok(records)
    }

    /// One retention sweep step: replaces records whose policy's audit retention has passed by
    /// tombstones (and drops their index entries) unless their subject is under legal hold,
    /// counts retained records per expiring payload key (noting the keys held records use), and
    /// records what it did as a `Tombstoned` event.
    ///
    /// Records are visited in seq order and the step stops at the first one too young for the
    /// shortest retention of any rule: times follow seqs, except across a clock step back, which
    /// only delays expiry by that step.
    fn sweep(&mut self, st: SweepStep) -> Result<SweepOut, AuditError> {
        self.flush()?;
        let until = st.until.unwrap_or(self.head.0);
        let mut out = SweepOut {
            next: None,
            until,
            tombstoned: 0,
            payloads: HashMap::new(),
            held_keys: HashSet::new(),
            held: 0,
        };
        let Some(shortest) = st.rules.shortest() else {
            return Ok(out);
        };
        let young = st.now_ms.saturating_sub(ms(shortest));
        let mut doomed: Vec<(Seq, StoredRecord)> = Vec::new();
        for (examined, item) in self
            .trees
            .records
            .range(seq_key(st.from.max(1))..=seq_key(until))
            .enumerate()
        {
            let (k, v) = item?;
            let seq = parse_seq(&k).ok_or(AuditError::Corrupt("record key"))?;
            if examined == SWEEP_STEP {
                out.next = Some(seq);
                break;
            }
            let Stored::Record(rec) = Stored::decode(&v)? else {
                continue;
            };
            if rec.header.time_ms >= young {
                break;
            }
            let rule = st.rules.for_policy(rec.header.policy.as_deref());
            let expired = |d: Option<Duration>| {
                d.is_some_and(|d| rec.header.time_ms < st.now_ms.saturating_sub(ms(d)))
            };
            let on_hold = !st.rules.legal_hold.is_empty()
                && self
                    .keys
                    .lock()
                    .map_err(|_| AuditError::Closed)?
                    .subject_of(&rec.header.key_id)
                    .is_some_and(|s| st.rules.legal_hold.contains(&s));
            if expired(rule.audit) && !on_hold {
                doomed.push((seq, rec));
                continue;
            }
            out.held += u64::from(expired(rule.audit));
            if let Some(k) = rec.header.payload_key.as_ref() {
                if st.expiring.contains(k) {
                    *out.payloads.entry(k.clone()).or_default() += 1;
                    if on_hold {
                        out.held_keys.insert(k.clone());
                    }
                }
            }
        }
        let mut ranges: Vec<[Seq; 2]> = Vec::new();
        for (seq, rec) in &doomed {
            self.tombstone(*seq, rec, st.now_ms)?;
            match ranges.last_mut() {
                Some(r) if r[1] + 1 == *seq => r[1] = *seq,
                _ => ranges.push([*seq, *seq]),
            }
        }
        out.tombstoned = doomed.len() as u64;
        if out.tombstoned > 0 {
            self.append_now(Append::Event(LogEvent::Tombstoned {
                ranges,
                records: out.tombstoned,
            }))?;
        }
        Ok(out)
    }

    /// Replaces one record by its tombstone (same chain hash) and drops what points at it.
    fn tombstone(
        &mut self,
        seq: Seq,
        rec: &StoredRecord,
        removed_ms: u64,
    ) -> Result<(), AuditError> {
        let t = Tombstone {
            seq,
            kind: rec.header.kind,
            time_ms: rec.header.time_ms,
            prev: rec.header.prev.clone(),
            removed_ms,
        };
        self.trees
            .records
            .insert(seq_key(seq), Stored::encode_tombstone(&rec.hash, &t)?)?;
        let subject = self
            .keys
            .lock()
            .map_err(|_| AuditError::Closed)?
            .subject_of(&rec.header.key_id);
        if let Some(s) = subject {
            self.trees.by_subject.remove(subject_key(&s, seq))?;
        }
        if rec.header.kind == RecordKind::Intent {
            self.trees.open.remove(seq_key(seq))?;
            self.trees.completed.remove(seq_key(seq))?;
        }
        Ok(())
    }

    /// Destroys expired day keys (see `crypto`) and records it as a `KeysExpired` event.
    fn expire_keys(&mut self, ids: Vec<String>, payload_records: u64) -> Result<u64, AuditError> {
        // Everything sealed so far reaches disk before any key it may use is destroyed.
        self.flush()?;
        let (gone, master_generation) = {
            let mut k = self.keys.lock().map_err(|_| AuditError::Closed)?;
            let gone = k.destroy_day_keys(&ids)?;
            (gone, k.managed().then(|| k.generation()))
        };
        let n = gone.len() as u64;
        if n > 0 {
            self.append_now(Append::Event(LogEvent::KeysExpired {
                key_ids: gone,
                payload_records,
                master_generation,
            }))?;
        }
        Ok(n)
    }

    /// Deletes the longest prefix of tombstones (among the first `16 × SWEEP_STEP` records)
    /// that ends at a signed checkpoint (so the chain is anchored there), and records it as a
    /// `Purged` event. Bounded so appends are not held up; called again while it deletes.
    fn purge_tombstones(&mut self) -> Result<PurgeReport, AuditError> {
        self.flush()?;
        let mut first = None;
        let mut last_tombstone = None;
        for item in self.trees.records.iter().take(16 * SWEEP_STEP) {
            let (k, v) = item?;
            let seq = parse_seq(&k).ok_or(AuditError::Corrupt("record key"))?;
            first.get_or_insert(seq);
            match Stored::decode(&v)? {
                Stored::Tombstone { .. } => last_tombstone = Some(seq),
                Stored::Record(_) => break,
            }
        }
        let none = PurgeReport {
            through_seq: None,
            records: 0,
        };
        let (Some(first), Some(last)) = (first, last_tombstone) else {
            return Ok(none);
        };
        let anchor = chain::read_checkpoints(&self.dir)?
            .into_iter()
            .filter_map(Result::ok)
            .filter(|c| c.seq >= first && c.seq <= last && c.seq < self.head.0)
            .map(|c| c.seq)
            .max();
        let Some(through) = anchor else {
            return Ok(none);
        };
        let records = self.delete_through(through, false)?;
        if records > 0 {
            self.append_now(Append::Event(LogEvent::Purged {
                through_seq: through,
                records,
            }))?;
        }
        Ok(PurgeReport {
            through_seq: Some(through),
            records,
        })
    }
}

/// Whole milliseconds of a duration (saturating).
pub(crate) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
