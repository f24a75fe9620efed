//! Tamper evidence: the hash chain over stored records and Ed25519-signed checkpoints.
//!
//! Owns: the chain hash ([`chain_hash`]), the checkpoint format and file
//! (`dir/audit-checkpoints.jsonl`, append-only, one signed JSON object per line), and the signing
//! key (`dir/keys/checkpoint.ed25519`, 0600, outside the sled directory; its public half in
//! `dir/keys/checkpoint.pub`). Does not own verification (see `verify`).
//!
//! `hash_i = SHA-256("privgate/chain/v1" ‖ hash_{i-1} ‖ seq_i (u64 BE) ‖ len(header_i) (u32 BE) ‖
//! header_i ‖ ciphertext_i)` with `hash_0` = 32 zero bytes. It covers only what is stored, so it
//! verifies without keys and after shredding. A checkpoint signs
//! `"privgate/checkpoint/v1\0" ‖ seq ‖ chain_head ‖ time_ms ‖ prev_sig`, chaining checkpoints too.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::crypto::{create_private_dir, write_atomic, Secret32};
use super::record::Seq;
use super::AuditError;

/// The chain hash before the first record.
pub const GENESIS: [u8; 32] = [0; 32];

/// `hash_i` from `hash_{i-1}` and the stored parts of record `i`.
pub fn chain_hash(prev: &[u8; 32], seq: Seq, header: &[u8], ciphertext: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"privgate/chain/v1");
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update((header.len() as u32).to_be_bytes());
    h.update(header);
    h.update(ciphertext);
    h.finalize().into()
}

/// One signed checkpoint line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The last record covered.
    pub seq: Seq,
    /// The chain hash at `seq`, hex.
    pub chain_head: String,
    /// When it was signed, unix ms.
    pub time_ms: u64,
    /// The previous checkpoint's signature, hex (zeros for the first).
    pub prev_sig: String,
    /// The Ed25519 signature, hex.
    pub sig: String,
}

impl Checkpoint {
    fn message(seq: Seq, head: &[u8; 32], time_ms: u64, prev_sig: &[u8; 64]) -> Vec<u8> {
        let mut m = b"privgate/checkpoint/v1\0".to_vec();
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(head);
        m.extend_from_slice(&time_ms.to_be_bytes());
        m.extend_from_slice(prev_sig);
        m
    }

    /// Signs a new checkpoint.
    pub(crate) fn sign(
        key: &SigningKey,
        seq: Seq,
        head: &[u8; 32],
        time_ms: u64,
        prev_sig: &[u8; 64],
    ) -> Checkpoint {
        let sig = key.sign(&Checkpoint::message(seq, head, time_ms, prev_sig));
        Checkpoint {
            seq,
            chain_head: hex::encode(head),
            time_ms,
            prev_sig: hex::encode(prev_sig),
            sig: hex::encode(sig.to_bytes()),
        }
    }

    /// The chain head as bytes, if well formed.
    pub fn head_bytes(&self) -> Option<[u8; 32]> {
        let mut b = [0u8; 32];
        hex::decode_to_slice(&self.chain_head, &mut b).ok()?;
        Some(b)
    }

    /// The signature as bytes, if well formed.
    pub fn sig_bytes(&self) -> Option<[u8; 64]> {
        let mut b = [0u8; 64];
        hex::decode_to_slice(&self.sig, &mut b).ok()?;
        Some(b)
    }

    /// Whether the signature is valid under `key` and binds exactly these fields.
    pub fn verify(&self, key: &VerifyingKey) -> bool {
        let (Some(head), Some(sig)) = (self.head_bytes(), self.sig_bytes()) else {
            return false;
        };
        let mut prev = [0u8; 64];
        if hex::decode_to_slice(&self.prev_sig, &mut prev).is_err() {
            return false;
        }
        let msg = Checkpoint::message(self.seq, &head, self.time_ms, &prev);
        key.verify(&msg, &Signature::from_bytes(&sig)).is_ok()
    }
}

/// The checkpoint file path under a data dir.
pub fn checkpoints_path(dir: &Path) -> PathBuf {
    dir.join("audit-checkpoints.jsonl")
}

/// Reads every checkpoint line. A line that does not parse is returned as `Err(line number)`; a
/// torn last line without its newline (a crash mid-append, never relied on) is skipped.
pub fn read_checkpoints(dir: &Path) -> Result<Vec<Result<Checkpoint, usize>>, AuditError> {
    let text = match fs::read_to_string(checkpoints_path(dir)) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            return Ok(vec![Err(1)]);
        }
        Err(e) => return Err(e.into()),
    };
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    let mut out = Vec::new();
    for (i, line) in complete.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(line).map_err(|_| i + 1));
    }
    Ok(out)
}

/// Appends a checkpoint line and fsyncs the file.
pub(crate) fn append_checkpoint(dir: &Path, cp: &Checkpoint) -> Result<(), AuditError> {
    let mut line = serde_json::to_vec(cp).map_err(|_| AuditError::Corrupt("checkpoint"))?;
    line.push(b'\n');
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o644)
        .open(checkpoints_path(dir))?;
    f.write_all(&line)?;
    f.sync_data()?;
    Ok(())
}

/// Loads the checkpoint signing key, creating it (0600) and its public half on first use.
pub(crate) fn load_signing_key(keys_dir: &Path) -> Result<SigningKey, AuditError> {
    create_private_dir(keys_dir)?;
    let path = keys_dir.join("checkpoint.ed25519");
    let seed = if path.exists() {
        super::crypto::read_secret_file(&path)?
    } else {
        let mut b = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut b);
        let s = Secret32::from_bytes(b);
        write_atomic(&path, hex::encode(s.expose()).as_bytes())?;
        s
    };
    let key = SigningKey::from_bytes(seed.expose());
    let pub_path = keys_dir.join("checkpoint.pub");
    if !pub_path.exists() {
        write_atomic(
            &pub_path,
            hex::encode(key.verifying_key().to_bytes()).as_bytes(),
        )?;
    }
    Ok(key)
}

/// Parses a hex Ed25519 public key (as exported).
pub fn parse_public_key(hex_key: &str) -> Result<VerifyingKey, AuditError> {
    let mut b = [0u8; 32];
    hex::decode_to_slice(hex_key.trim(), &mut b)
        .map_err(|_| AuditError::InvalidInput("public key"))?;
    VerifyingKey::from_bytes(&b).map_err(|_| AuditError::InvalidInput("public key"))
}

/// Reads the public key stored next to the signing key (`dir/keys/checkpoint.pub`).
pub fn read_public_key(dir: &Path) -> Result<VerifyingKey, AuditError> {
    parse_public_key(&fs::read_to_string(
        dir.join("keys").join("checkpoint.pub"),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_signature_binds_fields() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let cp = Checkpoint::sign(&key, 10, &[1; 32], 5, &[0; 64]);
        assert!(cp.verify(&key.verifying_key()));
        let mut forged = cp.clone();
        forged.seq = 11;
        assert!(!forged.verify(&key.verifying_key()));
        let other = SigningKey::from_bytes(&[8; 32]);
        assert!(!cp.verify(&other.verifying_key()));
    }

    #[test]
    fn chain_hash_depends_on_every_input() {
        let a = chain_hash(&GENESIS, 1, b"h", b"c");
        assert_ne!(a, chain_hash(&GENESIS, 2, b"h", b"c"));
        assert_ne!(a, chain_hash(&GENESIS, 1, b"hc", b""));
        assert_ne!(a, chain_hash(&[1; 32], 1, b"h", b"c"));
    }
}
