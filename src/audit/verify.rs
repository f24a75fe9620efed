//! The verifier: checks the hash chain and every checkpoint with only the public key.
//!
//! Owns: [`VerifyReport`] and the checking rules. Needs no secret: it reads stored headers,
//! ciphertexts and hashes, never plaintext, so it works after shredding.
//!
//! Every link is checked (immudb's GHSA-672p lesson): for each record, its key is the next seq
//! (a gap names the missing seq), its header's seq equals its position (a swap names the first
//! swapped seq), its header's `prev` equals the previous record's hash, and its stored hash equals
//! the recomputed one (a flipped byte names that record). For each checkpoint: its signature, its
//! link to the previous checkpoint's signature, increasing seqs, and, where the record is retained,
//! the chain head at its seq. A checkpoint beyond the last record means truncation. After a
//! retention purge the chain must start right after a signed checkpoint (reported as
//! `anchored_at`). A tombstone (a record removed by retention) keeps its seq, its `prev` and its
//! chain hash: its position and its link to the previous record are checked, and the next record
//! (or a checkpoint) binds its hash; only the recomputation of its own hash is impossible, so it
//! is counted in `tombstones`, not reported as a problem. Detection limits: records appended after the newest checkpoint can be cut off
//! or rewritten (with recomputed hashes) undetected; that window is `checkpoint_every` records or
//! `checkpoint_interval`. Someone with write access to the store can replace a record by a
//! tombstone (keeping its hash) without breaking a link: verify counts it as a tombstone; the
//! `Tombstoned` events (encrypted) name every seq retention removed, for a check with keys.

use std::collections::BTreeMap;
use std::path::Path;

use ed25519_dalek::VerifyingKey;
use serde::Serialize;

use super::chain::{chain_hash, read_checkpoints, GENESIS};
use super::record::{Seq, Stored};
use super::store::parse_seq;
use super::AuditError;

/// One problem found, named by seq.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The seq of the bad record or checkpoint.
    pub seq: Seq,
    /// What is wrong (no record content).
    pub what: &'static str,
}

/// What [`verify()`](super::verify()) found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// True when no problem was found.
    pub ok: bool,
    /// Records checked (tombstones included).
    pub records: u64,
    /// Of those, tombstones: records removed by retention, whose hash stays in the chain.
    pub tombstones: u64,
    /// The first retained seq.
    pub first_seq: Option<Seq>,
    /// The last seq.
    pub last_seq: Option<Seq>,
    /// When older records were purged: the checkpoint seq the chain was verified from.
    pub anchored_at: Option<Seq>,
    /// Checkpoints whose signature was checked.
    pub checkpoints: u64,
    /// Checkpoints whose chain head was also matched against retained records.
    pub checkpoints_matched: u64,
    /// The newest valid checkpoint's seq: records after it are not yet covered by a signature.
    pub last_checkpoint_seq: Option<Seq>,
    /// The first (lowest) bad seq, if any.
    pub first_bad_seq: Option<Seq>,
    /// Every problem found, in the order found.
    pub problems: Vec<Problem>,
}

/// Checks `records` (in key order, as stored) against the checkpoints in `dir`.
pub(crate) fn run<I>(records: I, dir: &Path, key: &VerifyingKey) -> Result<VerifyReport, AuditError>
where
    I: Iterator<Item = Result<(Vec<u8>, Vec<u8>), AuditError>>,
{
    let mut rep = VerifyReport::default();
    let problem = |rep: &mut VerifyReport, seq: Seq, what: &'static str| {
        rep.problems.push(Problem { seq, what });
    };

    // Checkpoints first: signature, link, order.
    let mut heads: BTreeMap<Seq, [u8; 32]> = BTreeMap::new();
    let mut prev_sig = [0u8; 64];
    let mut prev_seq: Option<Seq> = None;
    for line in read_checkpoints(dir)? {
        let Ok(cp) = line else {
            problem(
                &mut rep,
                prev_seq.map_or(0, |s| s + 1),
                "checkpoint line unreadable",
            );
            continue;
        };
        rep.checkpoints += 1;
        let sig_ok = cp.verify(key);
        if !sig_ok {
            problem(&mut rep, cp.seq, "checkpoint signature invalid");
        } else if cp.prev_sig != hex::encode(prev_sig) {
            problem(
                &mut rep,
                cp.seq,
                "checkpoint does not follow the previous one",
            );
        }
        if prev_seq.is_some_and(|p| cp.seq <= p) {
            problem(&mut rep, cp.seq, "checkpoint seq not increasing");
        }
        if sig_ok {
            if let (Some(h), Some(s)) = (cp.head_bytes(), cp.sig_bytes()) {
                heads.insert(cp.seq, h);
                prev_sig = s;
                prev_seq = Some(cp.seq);
                rep.last_checkpoint_seq = Some(cp.seq);
            }
        }
    }

    // The chain.
    let mut running = GENESIS;
    let mut expected: Option<Seq> = None;
    for item in records {
        let (k, v) = item?;
        let Some(seq) = parse_seq(&k) else {
            problem(&mut rep, expected.unwrap_or(0), "malformed record key");
            continue;
        };
        rep.records += 1;
        match expected {
            None => {
                rep.first_seq = Some(seq);
                if seq != 1 {
                    match heads.get(&(seq - 1)) {
                        Some(h) => {
                            running = *h;
                            rep.anchored_at = Some(seq - 1);
                        }
                        None => problem(&mut rep, seq, "chain start not anchored by a checkpoint"),
                    }
                }
            }
            Some(e) if seq != e => problem(&mut rep, e, "record missing"),
            Some(_) => {}
        }
        expected = Some(seq + 1);
        rep.last_seq = Some(seq);
        let rec = match Stored::decode(&v) {
            Ok(Stored::Record(r)) => r,
            Ok(Stored::Tombstone { hash, tombstone }) => {
                rep.tombstones += 1;
                if tombstone.seq != seq {
                    problem(&mut rep, seq, "header seq does not match position");
                }
                if tombstone.prev != hex::encode(running) {
                    problem(&mut rep, seq, "previous hash does not match");
                }
                running = hash;
                if let Some(cp_head) = heads.get(&seq) {
                    rep.checkpoints_matched += 1;
                    if *cp_head != hash {
                        problem(
                            &mut rep,
                            seq,
                            "chain head differs from the signed checkpoint",
                        );
                    }
                }
                continue;
            }
            Err(_) => {
                problem(&mut rep, seq, "malformed record");
                continue;
            }
        };
        if rec.header.seq != seq {
            problem(&mut rep, seq, "header seq does not match position");
        }
        if rec.header.prev != hex::encode(running) {
            problem(&mut rep, seq, "previous hash does not match");
        }
        let h = chain_hash(&running, seq, &rec.header_bytes, &rec.ciphertext);
        if h != rec.hash {
            problem(&mut rep, seq, "record hash does not match (altered)");
        }
        // Continue from what is stored, so one bad record is reported once, not at every later
        // link; every link is still checked.
        running = rec.hash;
        if let Some(cp_head) = heads.get(&seq) {
            rep.checkpoints_matched += 1;
            if *cp_head != rec.hash || h != rec.hash {
                problem(
                    &mut rep,
                    seq,
                    "chain head differs from the signed checkpoint",
                );
            }
        }
    }
    let last = rep.last_seq.unwrap_or(0);
    if let Some((&cp_seq, _)) = heads.iter().next_back() {
        if cp_seq > last {
            problem(
                &mut rep,
                last + 1,
                "records missing after a checkpoint (truncated)",
            );
        }
    }
    rep.first_bad_seq = rep.problems.iter().map(|p| p.seq).min();
    rep.ok = rep.problems.is_empty();
    Ok(rep)
}
