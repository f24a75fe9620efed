//! Envelope encryption for the audit log: the master key, the data keys it wraps, and sealing.
//!
//! Owns: [`Secret32`] (a key whose `Debug` prints `*****` and which is zeroed on drop), the master
//! key file and its generations, and the key ring file `keys/keyring.jsonl` holding every data key
//! (DEK) wrapped under the current master key generation. Does not own the records themselves.
//!
//! Layout of `dir/keys/` (directory 0700, files 0600):
//! * `master.key`: the master key (KEK), hex; created on first start unless the key comes from
//!   the environment (`PRIVGATE_MASTER_KEY`).
//! * `keyring.jsonl`: a head line (generation, a check value for the master key, the wrapped
//!   subject index key) then one line per DEK (wrapped with AES-256-GCM under the master key, AAD =
//!   key id and generation), plus appended usage reservations. Kept **outside sled**: sled is
//!   log-structured and would keep stale copies of deleted keys in its segments.
//!
//! Crypto-shredding (RELIABILITY D5): erasing a subject drops its DEKs from memory, then, when the
//! master key is file-managed, generates master generation n+1, rewrites the key ring with every
//! surviving DEK re-wrapped under it (temp file, fsync, rename, fsync dir), and replaces the master
//! key file. Old copies of the key ring (a backup, freed disk blocks) are wrapped under generation
//! n, which no longer exists anywhere. With an environment master key privgate cannot destroy the
//! old generation: the ring is still rewritten without the erased keys, and the event says so.
//!
//! Payload keys (retention per policy): prompt/answer text a policy asks to keep is sealed under a
//! payload key of that policy and UTC day (`p-YYYY-MM-DD-…`, its policy in the key ring line).
//! [`KeyRing::destroy_day_keys`] drops the keys whose day is past the policy's payload
//! retention and destroys the old master generation exactly like an erasure, so the text is gone
//! while the records around it stay readable and chained. It also drops anonymous day keys once
//! every rule limits metadata and their day is past the longest limit: every record sealed under
//! them is a tombstone by then, and sled's stale copies of those records become unreadable.
//!
//! Nonce budget (D4): 96-bit random nonces; each DEK counts its encryptions, reserves counts in
//! blocks persisted before use (so the count survives restarts), and is retired at
//! `max_encryptions_per_key` (default 2^30, far below 2^32); a fresh DEK replaces it.

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroize;

use super::record::SubjectRef;
use super::AuditError;

/// Encryptions reserved (and persisted) per block, for the usage counter.
const RESERVE_STEP: u64 = 4096;

/// 32 secret bytes. `Debug` prints `*****`; zeroed on drop.
#[derive(Clone)]
pub struct Secret32([u8; 32]);

impl Secret32 {
    /// Wraps 32 secret bytes.
    pub fn from_bytes(b: [u8; 32]) -> Secret32 {
        Secret32(b)
    }

    /// Fresh random bytes from the OS.
    pub fn random() -> Secret32 {
        let mut b = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut b);
        Secret32(b)
    }

    /// Parses 64 hex digits (surrounding whitespace allowed).
    pub fn from_hex(s: &str) -> Result<Secret32, AuditError> {
        let mut b = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut b).map_err(|_| AuditError::Key("not 64 hex digits"))?;
        Ok(Secret32(b))
    }

    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Secret32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret32(*****)")
    }
}

impl Drop for Secret32 {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Where the master key comes from.
#[derive(Clone, Debug, Default)]
pub enum MasterKeySource {
    /// `dir/keys/master.key`, generated (0600) on first start; rotated on erasure.
    #[default]
    File,
    /// Given by the operator (e.g. `PRIVGATE_MASTER_KEY`); privgate never writes it to disk.
    Given(Secret32),
}

impl MasterKeySource {
    /// `Given` from `PRIVGATE_MASTER_KEY` (64 hex digits) if set, else `File`.
    pub fn from_env() -> Result<MasterKeySource, AuditError> {
        match std::env::var("PRIVGATE_MASTER_KEY") {
            Ok(v) => Ok(MasterKeySource::Given(Secret32::from_hex(&v)?)),
            Err(_) => Ok(MasterKeySource::File),
        }
    }
}

// === sealing ===

/// Seals `plaintext` under `cipher` with a fresh random 96-bit nonce and `aad`.
pub(crate) fn seal(
    cipher: &Aes256Gcm,
    aad: &[u8],
    plaintext: &[u8],
    nonce: &[u8; 12],
) -> Result<Vec<u8>, AuditError> {
    cipher
        .encrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| AuditError::Crypto)
}

/// Opens a sealed payload; `Err` on a wrong key, nonce, AAD or any altered byte.
pub(crate) fn open(
    cipher: &Aes256Gcm,
    aad: &[u8],
    ciphertext: &[u8],
    nonce: &[u8; 12],
) -> Result<Vec<u8>, AuditError> {
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| AuditError::Crypto)
}

/// The associated data of a sealed payload text: binds it to its record's seq and key id.
pub(crate) fn payload_aad(seq: u64, key_id: &str) -> Vec<u8> {
    let mut a = b"privgate/payload/v1\0".to_vec();
    a.extend_from_slice(&seq.to_be_bytes());
    a.extend_from_slice(key_id.as_bytes());
    a
}

/// A fresh random nonce.
pub(crate) fn random_nonce() -> [u8; 12] {
    let mut n = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut n);
    n
}

fn wrap_aad(id: &str, generation: u64) -> Vec<u8> {
    let mut a = b"privgate/wrap/v1\0".to_vec();
    a.extend_from_slice(id.as_bytes());
    a.push(0);
    a.extend_from_slice(&generation.to_be_bytes());
    a
}

/// Wraps a key under the master key: hex(nonce ‖ ciphertext).
pub(crate) fn wrap(master: &Secret32, generation: u64, id: &str, key: &Secret32) -> String {
    let cipher = Aes256Gcm::new(master.expose().into());
    let nonce = random_nonce();
    let ct = seal(&cipher, &wrap_aad(id, generation), key.expose(), &nonce)
        .expect("AES-GCM encryption of 32 bytes cannot fail");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    hex::encode(out)
}

/// Unwraps a key wrapped by [`wrap`].
pub(crate) fn unwrap(
    master: &Secret32,
    generation: u64,
    id: &str,
    wrapped: &str,
) -> Result<Secret32, AuditError> {
    let raw = hex::decode(wrapped).map_err(|_| AuditError::Key("malformed wrapped key"))?;
    if raw.len() != 12 + 32 + 16 {
        return Err(AuditError::Key("malformed wrapped key"));
    }
    let cipher = Aes256Gcm::new(master.expose().into());
    let nonce: [u8; 12] = raw[..12].try_into().expect("length checked above");
    let mut pt = open(&cipher, &wrap_aad(id, generation), &raw[12..], &nonce)?;
    let mut b = [0u8; 32];
    b.copy_from_slice(&pt);
    pt.zeroize();
    Ok(Secret32(b))
}

fn master_check(master: &Secret32) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(master.expose())
        .expect("HMAC accepts any key length");
    mac.update(b"privgate/master-check/v1");
    hex::encode(mac.finalize().into_bytes())
}

// === files ===

/// Writes `bytes` to `path` atomically: temp file (0600), fsync, rename, fsync the directory.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension("tmp");
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}

/// Cuts a torn last line (a crash mid-append, never acknowledged) off an append-only JSONL file,
/// so later appends start on a fresh line.
pub(crate) fn repair_torn_tail(path: &Path) -> io::Result<()> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return Ok(());
    }
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let f = OpenOptions::new().write(true).open(path)?;
    f.set_len(keep as u64)?;
    f.sync_all()
}

/// Reads a secret key file, refusing one that group or others can access (RELIABILITY H5).
pub(crate) fn read_secret_file(path: &Path) -> Result<Secret32, AuditError> {
    let mode = fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(AuditError::Key("key file permissions are wider than 0600"));
    }
    Secret32::from_hex(&fs::read_to_string(path)?)
}

/// Creates `dir` (and parents) with mode 0700.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

// === key ring ===

#[derive(Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Line {
    Head {
        generation: u64,
        check: String,
        index_key: String,
    },
    Dek {
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<SubjectRef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        day: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        policy: Option<String>,
        wrapped: String,
        reserved: u64,
        #[serde(default)]
        retired: bool,
    },
    Reserve {
        id: String,
        reserved: u64,
    },
    Retire {
        id: String,
    },
}

/// Whom a data key belongs to.
enum Owner {
    /// One subject's records.
    Subject(SubjectRef),
    /// Records without a subject, one key per UTC day.
    Anonymous,
    /// Kept prompt/answer text of one policy, one key per UTC day.
    Payload(String),
}

/// One data key. Only the 32 key bytes are kept (the AES key schedule is rebuilt per use, which
/// costs far less than the seal itself), so a million subjects cost ~100 MB, not ~1 GB.
struct Dek {
    key: Secret32,
    subject: Option<SubjectRef>,
    day: Option<u64>,
    /// For a payload key: its policy.
    policy: Option<String>,
    used: u64,
    reserved: u64,
    retired: bool,
}

/// Every data key, unwrapped in memory, and the files that hold them wrapped.
pub(crate) struct KeyRing {
    keys_dir: PathBuf,
    master: Secret32,
    managed: bool,
    generation: u64,
    index_key: Secret32,
    deks: HashMap<String, Dek>,
    subjects: HashMap<SubjectRef, Vec<String>>,
    anon_current: Option<String>,
    /// The payload key in use per policy.
    payload_current: HashMap<String, String>,
    pending: Vec<Line>,
    max_per_key: u64,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("generation", &self.generation)
            .field("deks", &self.deks.len())
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    fn ring_path(&self) -> PathBuf {
        self.keys_dir.join("keyring.jsonl")
    }

    /// Loads (or creates) the master key and key ring under `keys_dir`.
    pub(crate) fn open(
        keys_dir: &Path,
        source: &MasterKeySource,
        max_per_key: u64,
    ) -> Result<KeyRing, AuditError> {
        create_private_dir(keys_dir)?;
        let ring_path = keys_dir.join("keyring.jsonl");
        let master_path = keys_dir.join("master.key");
        let next_path = keys_dir.join("master.key.next");
        let ring_exists = ring_path.exists();
        let (mut master, managed) = match source {
            MasterKeySource::Given(k) => (k.clone(), false),
            MasterKeySource::File => {
                if master_path.exists() {
                    (read_secret_file(&master_path)?, true)
                } else if ring_exists {
                    return Err(AuditError::Key("master key file missing"));
                } else {
                    let k = Secret32::random();
                    write_atomic(&master_path, hex::encode(k.expose()).as_bytes())?;
                    (k, true)
                }
            }
        };
        let mut ring = KeyRing {
            keys_dir: keys_dir.to_path_buf(),
            master: master.clone(),
            managed,
            generation: 1,
            index_key: Secret32::random(),
            deks: HashMap::new(),
            subjects: HashMap::new(),
            anon_current: None,
            payload_current: HashMap::new(),
            pending: Vec::new(),
            max_per_key: max_per_key.max(1),
        };
        if !ring_exists {
            ring.compact()?;
            return Ok(ring);
        }
        repair_torn_tail(&ring_path)?;
        let file = io::BufReader::new(File::open(&ring_path)?);
        let mut lines = Vec::new();
        for line in file.lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            // A torn last line (crash mid-append) is ignored: it was never acknowledged.
            match serde_json::from_str::<Line>(&line) {
                Ok(l) => lines.push(l),
                Err(_) => break,
            }
        }
        let line_count = lines.len();
        let mut it = lines.into_iter();
        let Some(Line::Head {
            generation,
            check,
            index_key,
        }) = it.next()
        else {
            return Err(AuditError::Key("key ring has no head"));
        };
        if master_check(&master) != check {
            // A crash during rotation may leave the new generation in `master.key.next`.
            let next = if managed && next_path.exists() {
                Some(read_secret_file(&next_path)?)
            } else {
                None
            };
            match next {
                Some(n) if master_check(&n) == check => {
                    fs::rename(&next_path, &master_path)?;
                    File::open(keys_dir)?.sync_all()?;
                    master = n;
                }
                _ => return Err(AuditError::Key("master key does not match the key ring")),
            }
        } else if next_path.exists() {
            fs::remove_file(&next_path)?;
        }
        ring.master = master;
        ring.generation = generation;
        ring.index_key = unwrap(&ring.master, generation, "index", &index_key)?;
        for l in it {
            match l {
                Line::Dek {
                    id,
                    subject,
                    day,
                    policy,
                    wrapped,
                    reserved,
                    retired,
                } => {
                    let key = unwrap(&ring.master, generation, &id, &wrapped)?;
                    let owner = match (subject, policy) {
                        (Some(s), _) => Owner::Subject(s),
                        (None, Some(p)) => Owner::Payload(p),
                        (None, None) => Owner::Anonymous,
                    };
                    ring.insert_dek(id, key, owner, day, reserved, retired);
                }
                Line::Reserve { id, reserved } => {
                    if let Some(d) = ring.deks.get_mut(&id) {
                        d.reserved = d.reserved.max(reserved);
                        d.used = d.reserved;
                    }
                }
                Line::Retire { id } => {
                    if let Some(d) = ring.deks.get_mut(&id) {
                        d.retired = true;
                    }
                }
                Line::Head { .. } => return Err(AuditError::Key("key ring has two heads")),
            }
        }
        // Restart conservatively: every reserved count counts as used.
        for d in ring.deks.values_mut() {
            d.used = d.reserved;
            if d.used >= ring.max_per_key {
                d.retired = true;
            }
        }
        // Reservation lines accumulate; fold them in when they outnumber the keys.
        if line_count > 2 * ring.deks.len() + 64 {
            ring.compact()?;
        }
        Ok(ring)
    }

    fn insert_dek(
        &mut self,
        id: String,
        key: Secret32,
        owner: Owner,
        day: Option<u64>,
        reserved: u64,
        retired: bool,
    ) {
        let (subject, policy) = match owner {
            Owner::Subject(s) => {
                self.subjects.entry(s).or_default().push(id.clone());
                (Some(s), None)
            }
            Owner::Anonymous => {
                if !retired {
                    let newer = match self.anon_current.as_ref().and_then(|c| self.deks.get(c)) {
                        Some(cur) => cur.day <= day,
                        None => true,
                    };
                    if newer {
                        self.anon_current = Some(id.clone());
                    }
                }
                (None, None)
            }
            Owner::Payload(p) => {
                if !retired {
                    let newer = match self.payload_current.get(&p).and_then(|c| self.deks.get(c)) {
                        Some(cur) => cur.day <= day,
                        None => true,
                    };
                    if newer {
                        self.payload_current.insert(p.clone(), id.clone());
                    }
                }
                (None, Some(p))
            }
        };
        self.deks.insert(
            id,
            Dek {
                key,
                subject,
                day,
                policy,
                used: reserved,
                reserved,
                retired,
            },
        );
    }

    /// The key for subject blind indexes.
    pub(crate) fn index_key(&self) -> &[u8; 32] {
        self.index_key.expose()
    }

    /// The current master key generation.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether privgate manages (and can rotate) the master key.
    pub(crate) fn managed(&self) -> bool {
        self.managed
    }

    /// The cipher of a data key, if it still exists.
    pub(crate) fn cipher(&self, id: &str) -> Option<Aes256Gcm> {
        self.deks
            .get(id)
            .map(|d| Aes256Gcm::new(d.key.expose().into()))
    }

    /// The key to seal the next record with, counting the use; creates or rotates keys as
    /// needed. New keys and reservations are queued until [`KeyRing::persist`].
    pub(crate) fn key_for(
        &mut self,
        subject: Option<SubjectRef>,
        now_ms: u64,
    ) -> (String, Aes256Gcm) {
        match subject {
            Some(s) => self.use_key(Owner::Subject(s), now_ms),
            None => self.use_key(Owner::Anonymous, now_ms),
        }
    }

    /// The payload key of `policy` for the UTC day of `now_ms`, counting the use (see
    /// [`KeyRing::key_for`]).
    pub(crate) fn payload_key_for(&mut self, policy: &str, now_ms: u64) -> (String, Aes256Gcm) {
        self.use_key(Owner::Payload(policy.to_string()), now_ms)
    }

    fn use_key(&mut self, owner: Owner, now_ms: u64) -> (String, Aes256Gcm) {
        let day = now_ms / 86_400_000;
        let live_today = |id: &&String| {
            self.deks
                .get(*id)
                .is_some_and(|d| !d.retired && d.day == Some(day))
        };
        let current = match &owner {
            Owner::Subject(s) => self
                .subjects
                .get(s)
                .and_then(|ids| ids.last())
                .filter(|id| self.deks.get(*id).is_some_and(|d| !d.retired))
                .cloned(),
            Owner::Anonymous => self.anon_current.as_ref().filter(live_today).cloned(),
            Owner::Payload(p) => self.payload_current.get(p).filter(live_today).cloned(),
        };
        let id = match current {
            Some(id) => id,
            None => self.new_dek(owner, day),
        };
        let max = self.max_per_key;
        let d = self
            .deks
            .get_mut(&id)
            .expect("the key was found or created above");
        d.used += 1;
        if d.used > d.reserved {
            d.reserved += RESERVE_STEP;
            self.pending.push(Line::Reserve {
                id: id.clone(),
                reserved: d.reserved,
            });
        }
        if d.used >= max {
            d.retired = true;
            self.pending.push(Line::Retire { id: id.clone() });
        }
        let cipher = Aes256Gcm::new(d.key.expose().into());
        (id, cipher)
    }

    fn new_dek(&mut self, owner: Owner, day: u64) -> String {
        let mut rnd = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut rnd);
        let date = super::record::rfc3339(day * 86_400_000);
        let date = date.get(..10).unwrap_or("day");
        let (id, subject, policy, day) = match &owner {
            Owner::Subject(s) => (format!("s-{}", hex::encode(rnd)), Some(*s), None, None),
            Owner::Anonymous => (
                format!("a-{date}-{}", hex::encode(&rnd[..4])),
                None,
                None,
                Some(day),
            ),
            Owner::Payload(p) => (
                format!("p-{date}-{}", hex::encode(&rnd[..4])),
                None,
                Some(p.clone()),
                Some(day),
            ),
        };
        let key = Secret32::random();
        self.pending.push(Line::Dek {
            id: id.clone(),
            subject,
            day,
            policy,
            wrapped: wrap(&self.master, self.generation, &id, &key),
            reserved: RESERVE_STEP,
            retired: false,
        });
        let current = match &owner {
            Owner::Subject(_) => None,
            Owner::Anonymous => Some(None),
            Owner::Payload(p) => Some(Some(p.clone())),
        };
        self.insert_dek(id.clone(), key, owner, day, RESERVE_STEP, false);
        self.deks.get_mut(&id).expect("just inserted").used = 0;
        // The fresh key is the one in use from now on, even if the clock went back a day.
        match current {
            Some(None) => self.anon_current = Some(id.clone()),
            Some(Some(p)) => {
                self.payload_current.insert(p, id.clone());
            }
            None => {}
        }
        id
    }

    /// Appends queued lines to the key ring file and fsyncs it. Must return Ok before any record
    /// sealed with a new key is acknowledged.
    pub(crate) fn persist(&mut self) -> Result<(), AuditError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for l in &self.pending {
            serde_json::to_writer(&mut buf, l).map_err(|_| AuditError::Corrupt("key ring"))?;
            buf.push(b'\n');
        }
        let mut f = OpenOptions::new()
            .append(true)
            .mode(0o600)
            .open(self.ring_path())?;
        f.write_all(&buf)?;
        f.sync_data()?;
        self.pending.clear();
        Ok(())
    }

    /// Rewrites the key ring with only the live keys, under the current generation.
    fn compact(&mut self) -> Result<(), AuditError> {
        let mut buf = Vec::new();
        let mut push = |l: &Line| -> Result<(), AuditError> {
            serde_json::to_writer(&mut buf, l).map_err(|_| AuditError::Corrupt("key ring"))?;
            buf.push(b'\n');
            Ok(())
        };
        push(&Line::Head {
            generation: self.generation,
            check: master_check(&self.master),
            index_key: wrap(&self.master, self.generation, "index", &self.index_key),
        })?;
        let mut ids: Vec<&String> = self.deks.keys().collect();
        ids.sort();
        for id in ids {
            let d = &self.deks[id];
            push(&Line::Dek {
                id: id.clone(),
                subject: d.subject,
                day: d.day,
                policy: d.policy.clone(),
                wrapped: wrap(&self.master, self.generation, id, &d.key),
                reserved: d.reserved,
                retired: d.retired,
            })?;
        }
        write_atomic(&self.ring_path(), &buf)?;
        self.pending.clear();
        Ok(())
    }

    /// Replaces the master key with generation n+1 and re-wraps every data key under it; the
    /// old generation is destroyed. With a given (external) master key, only compacts.
    pub(crate) fn rotate_master(&mut self) -> Result<(), AuditError> {
        if !self.managed {
            return self.compact();
        }
        let next = Secret32::random();
        let next_path = self.keys_dir.join("master.key.next");
        write_atomic(&next_path, hex::encode(next.expose()).as_bytes())?;
        let old = std::mem::replace(&mut self.master, next);
        let old_gen = self.generation;
        self.generation += 1;
        if let Err(e) = self.compact() {
            self.master = old;
            self.generation = old_gen;
            let _ = fs::remove_file(&next_path);
            return Err(e);
        }
        fs::rename(&next_path, self.keys_dir.join("master.key"))?;
        File::open(&self.keys_dir)?.sync_all()?;
        Ok(())
    }

    /// Destroys every data key of `subject` (see the module doc). Returns the destroyed key ids.
    pub(crate) fn erase_subject(
        &mut self,
        subject: &SubjectRef,
    ) -> Result<Vec<String>, AuditError> {
        let ids = self.subjects.remove(subject).unwrap_or_default();
        for id in &ids {
            self.deks.remove(id);
        }
        self.persist()?;
        self.rotate_master()?;
        Ok(ids)
    }

    /// The subject a data key belongs to (None: anonymous or payload key, or no such key).
    pub(crate) fn subject_of(&self, id: &str) -> Option<SubjectRef> {
        self.deks.get(id).and_then(|d| d.subject)
    }

    /// The payload keys `payload(policy, day)` selects and the anonymous day keys `anonymous(day)`
    /// selects, sorted (nothing is destroyed yet).
    pub(crate) fn expired_day_keys(
        &self,
        payload: impl Fn(&str, u64) -> bool,
        anonymous: impl Fn(u64) -> bool,
    ) -> Vec<String> {
        let mut ids: Vec<String> = self
            .deks
            .iter()
            .filter(|(_, d)| match (&d.subject, &d.policy, d.day) {
                (None, Some(p), Some(day)) => payload(p, day),
                (None, None, Some(day)) => anonymous(day),
                _ => false,
            })
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Destroys payload and anonymous day keys (see the module doc; subject keys are left
    /// alone): drops them, then rotates the master key generation (file-managed) or rewrites the
    /// ring without them (given master key). Returns the ids that existed and were destroyed.
    pub(crate) fn destroy_day_keys(&mut self, ids: &[String]) -> Result<Vec<String>, AuditError> {
        let mut gone = Vec::new();
        for id in ids {
            let Some(d) = self.deks.get(id) else { continue };
            if d.subject.is_some() || d.day.is_none() {
                continue;
            }
            match &d.policy {
                Some(p) if self.payload_current.get(p) == Some(id) => {
                    self.payload_current.remove(p);
                }
                None if self.anon_current.as_ref() == Some(id) => self.anon_current = None,
                _ => {}
            }
            self.deks.remove(id);
            gone.push(id.clone());
        }
        if !gone.is_empty() {
            self.persist()?;
            self.rotate_master()?;
        }
        Ok(gone)
    }

    #[cfg(test)]
    pub(crate) fn raw_key(&self, id: &str) -> Option<[u8; 32]> {
        self.deks.get(id).map(|d| *d.key.expose())
    }

    #[cfg(test)]
    pub(crate) fn master_for_tests(&self) -> Secret32 {
        self.master.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_round_trip_and_wrong_key() {
        let m = Secret32::random();
        let k = Secret32::random();
        let w = wrap(&m, 3, "s-1", &k);
        assert_eq!(unwrap(&m, 3, "s-1", &w).unwrap().expose(), k.expose());
        assert!(unwrap(&m, 4, "s-1", &w).is_err());
        assert!(unwrap(&m, 3, "s-2", &w).is_err());
        assert!(unwrap(&Secret32::random(), 3, "s-1", &w).is_err());
        assert_eq!(format!("{k:?}"), "Secret32(*****)");
    }

    #[test]
    fn ring_survives_reopen_and_rotates_keys() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let s = SubjectRef([7; 32]);
        let (id1, id2);
        {
            let mut r = KeyRing::open(&keys, &MasterKeySource::File, 3).unwrap();
            id1 = r.key_for(Some(s), 0).0;
            assert_eq!(r.key_for(Some(s), 0).0, id1);
            assert_eq!(r.key_for(Some(s), 0).0, id1);
            id2 = r.key_for(Some(s), 0).0;
            assert_ne!(id1, id2, "retired after 3 uses");
            r.persist().unwrap();
        }
        let mode = fs::metadata(keys.join("master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let mut r = KeyRing::open(&keys, &MasterKeySource::File, 3).unwrap();
        assert!(r.cipher(&id1).is_some() && r.cipher(&id2).is_some());
        // The reserved count survives restart, so id2 is retired now and a third key is used.
        let id3 = r.key_for(Some(s), 0).0;
        assert!(id3 != id1 && id3 != id2);
    }
}
