//! The sled layout of the audit log (`dir/audit/`).
//!
//! Owns: the trees and their key encodings. Does not own keys (they live in `dir/keys/`, outside
//! sled, see `crypto`) or checkpoints (`dir/audit-checkpoints.jsonl`, see `chain`).
//!
//! | tree | key | value |
//! |---|---|---|
//! | `records` | seq (u64 BE) | `hash ‖ header_len ‖ header ‖ ciphertext`, or a tombstone `hash ‖ FFFFFFFF ‖ JSON` |
//! | `by_subject` | subject ref (32 B) ‖ seq | empty: one subject's records without a scan |
//! | `open` | intent seq | subject ref or empty: intents without a completion yet |
//! | `completed` | intent seq | completion seq |

use std::path::Path;

use super::record::{Seq, Stored, SubjectRef};
use super::AuditError;

impl From<sled::Error> for AuditError {
    fn from(e: sled::Error) -> AuditError {
        match e {
            sled::Error::Io(io) => AuditError::Io(io),
            sled::Error::Corruption { .. } => AuditError::Corrupt("sled reports corruption"),
            _ => AuditError::Store("sled error"),
        }
    }
}

/// The big-endian key of a seq.
pub(crate) fn seq_key(seq: Seq) -> [u8; 8] {
    seq.to_be_bytes()
}

/// Parses a big-endian seq key.
pub(crate) fn parse_seq(k: &[u8]) -> Option<Seq> {
    Some(Seq::from_be_bytes(k.get(..8)?.try_into().ok()?))
}

/// The `by_subject` key.
pub(crate) fn subject_key(s: &SubjectRef, seq: Seq) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(&s.0);
    k[32..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// Handles on every tree (cheap to clone).
#[derive(Clone)]
pub(crate) struct Trees {
    pub db: sled::Db,
    pub records: sled::Tree,
    pub by_subject: sled::Tree,
    pub open: sled::Tree,
    pub completed: sled::Tree,
}

impl Trees {
    /// Opens (or creates) the sled database at `path`.
    ///
    /// sled releases its file lock from background threads shortly after the last handle drops,
    /// so a reopen in the same process retries a lock conflict for up to 2 s before failing.
    pub(crate) fn open(path: &Path) -> Result<Trees, AuditError> {
        let mut tries = 0;
        let db = loop {
            match sled::Config::new().path(path).open() {
                Err(sled::Error::Io(e))
                    if e.kind() == std::io::ErrorKind::Other
                        && e.to_string().contains("could not acquire lock")
                        && tries < 200 =>
                {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                    return Err(AuditError::Store("the store is locked by another process"))
                }
                r => break r?,
            }
        };
        Ok(Trees {
            records: db.open_tree("records")?,
            by_subject: db.open_tree("by_subject")?,
            open: db.open_tree("open")?,
            completed: db.open_tree("completed")?,
            db,
        })
    }

    /// The last stored record's seq and chain hash.
    pub(crate) fn head(&self) -> Result<Option<(Seq, [u8; 32])>, AuditError> {
        let Some((k, v)) = self.records.last()? else {
            return Ok(None);
        };
        let seq = parse_seq(&k).ok_or(AuditError::Corrupt("record key"))?;
        Ok(Some((seq, Stored::decode(&v)?.hash())))
    }

    /// One stored record or tombstone.
    pub(crate) fn get(&self, seq: Seq) -> Result<Option<Stored>, AuditError> {
        match self.records.get(seq_key(seq))? {
            Some(v) => Ok(Some(Stored::decode(&v)?)),
            None => Ok(None),
        }
    }
}
