//! Tests of the audit log as a whole: round trip, group commit, reconciliation, tamper detection
//! (RELIABILITY G4), crypto-shredding (G7), nonces and rotation (G6), fail-closed writes (G2).

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use super::*;

fn opts() -> AuditOptions {
    AuditOptions {
        checkpoint_every: 10,
        ..AuditOptions::default()
    }
}

fn rec(i: u64, subject: Option<SubjectRef>) -> AuditRecord {
    AuditRecord {
        time_ms: record::now_ms(),
        request_id: format!("req-{i}"),
        route: if i % 2 == 0 {
            "/v1/chat/completions"
        } else {
            "/v1/messages"
        }
        .into(),
        provider: "openai".into(),
        model: Some("gpt-test".into()),
        upstream_host: "api.example.test".into(),
        subject,
        policy_id: "default".into(),
        policy_version: "abc123".into(),
        entities: vec![EntityCount {
            entity: "EMAIL".into(),
            action: "pseudonymise".into(),
            count: (i % 3) as u32,
        }],
        decision: Some(Decision::Forwarded),
        request_bytes: 100 + i,
        prompt_text: Some(format!("hello <EMAIL_{i}>")),
        ..AuditRecord::default()
    }
}

fn record_of(e: &AuditEntry) -> Option<&AuditRecord> {
    match &e.content {
        EntryContent::Record { record, .. } => Some(record),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_query_export_stats() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    let alice = log.subject_ref("alice@example.test");
    assert_eq!(alice, log.subject_ref("alice@example.test"));
    assert_ne!(alice, log.subject_ref("bob@example.test"));

    let s1 = log.append_intent(rec(1, Some(alice))).await.unwrap();
    let s2 = log.append_intent(rec(2, None)).await.unwrap();
    let mut done = Completion::new(Decision::Blocked {
        code: "pii_blocked".into(),
    });
    done.client_status = Some(403);
    let c1 = log.complete(s1, done.clone()).await.unwrap();
    assert_eq!((s1, s2, c1), (1, 2, 3));
    assert!(matches!(
        log.complete(s1, done.clone()).await,
        Err(AuditError::AlreadyCompleted)
    ));
    assert!(matches!(
        log.complete(99, done).await,
        Err(AuditError::NotFound)
    ));

    let all = log.query(AuditFilter::default()).await.unwrap();
    assert_eq!(all.len(), 2, "completions are merged into their intents");
    assert_eq!(
        record_of(&all[0]).unwrap(),
        &rec(1, Some(alice)).with_time(record_of(&all[0]).unwrap().time_ms)
    );
    assert_eq!(all[0].completion_seq, Some(3));
    assert_eq!(all[0].decision().unwrap().name(), "blocked");

    let mine = log
        .query(AuditFilter {
            subject: Some(alice),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].seq, s1);
    let blocked = log
        .query(AuditFilter {
            decision: Some("blocked".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(blocked.len(), 1);
    let route = log
        .query(AuditFilter {
            route: Some("/v1/chat/completions".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(route.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![s2]);

    let export = log.export_subject(alice).await.unwrap();
    assert_eq!(export["subject"], alice.to_hex());
    assert_eq!(export["records"].as_array().unwrap().len(), 1);
    assert_eq!(
        export["records"][0]["content"]["record"]["request_id"],
        "req-1"
    );

    let stats = log.stats().await.unwrap();
    assert_eq!(
        (stats.records, stats.first_seq, stats.last_seq),
        (3, Some(1), Some(3))
    );
    assert_eq!(stats.open_intents, 1);

    // Nothing readable in the raw store.
    drop(log);
    assert_eq!(scan_dir(dir.path(), b"req-1"), 0);
    assert_eq!(scan_dir(dir.path(), b"gpt-test"), 0);
    assert_eq!(scan_dir(dir.path(), b"EMAIL_1"), 0);
}

impl AuditRecord {
    fn with_time(mut self, t: u64) -> AuditRecord {
        self.time_ms = t;
        self
    }
}

/// Counts occurrences of `needle` in every file under `dir`.
fn scan_dir(dir: &Path, needle: &[u8]) -> usize {
    let mut n = 0;
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            n += scan_dir(&p, needle);
        } else {
            let b = fs::read(&p).unwrap();
            n += b.windows(needle.len()).filter(|w| *w == needle).count();
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_64_writers_all_acknowledged_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    let mut tasks = Vec::new();
    for w in 0..64u64 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..10 {
                let s = log.subject_ref(&format!("user{}", w % 8));
                seqs.push(log.append_intent(rec(w * 100 + i, Some(s))).await.unwrap());
            }
            seqs
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    let stats = log.stats().await.unwrap();
    assert_eq!(acked.len(), 640);
    assert!(
        stats.flushes < 640,
        "group commit shares flushes: {} flushes for 640 records",
        stats.flushes
    );
    drop(log);

    let log = AuditLog::open(dir.path(), opts()).unwrap();
    let all = log.query(AuditFilter::default()).await.unwrap();
    let present: HashSet<Seq> = all
        .iter()
        .filter(|e| record_of(e).is_some())
        .map(|e| e.seq)
        .collect();
    for s in &acked {
        assert!(present.contains(s), "acknowledged seq {s} lost");
    }
    let rep = log.verify().await.unwrap();
    assert!(rep.ok, "{rep:?}");
    assert_eq!(
        rep.records,
        640 * 2,
        "every intent got an `incomplete` completion on reopen"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_marks_open_intents_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let (open_seq, done_seq);
    {
        let log = AuditLog::open(dir.path(), opts()).unwrap();
        open_seq = log.append_intent(rec(1, None)).await.unwrap();
        done_seq = log.append_intent(rec(2, None)).await.unwrap();
        log.complete(done_seq, Completion::new(Decision::Forwarded))
            .await
            .unwrap();
    }
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    let all = log.query(AuditFilter::default()).await.unwrap();
    let by_seq = |s| all.iter().find(|e| e.seq == s).unwrap();
    assert_eq!(by_seq(open_seq).decision(), Some(&Decision::Incomplete));
    assert_eq!(by_seq(done_seq).decision(), Some(&Decision::Forwarded));
    assert_eq!(log.stats().await.unwrap().open_intents, 0);
    assert!(log.verify().await.unwrap().ok);
}

// === tamper detection (G4) ===

/// A closed log of 30 intents (checkpoints at 10, 20, 30) and its public key.
async fn sealed_log(dir: &Path) -> VerifyingKey {
    let log = AuditLog::open(dir, opts()).unwrap();
    for i in 0..30 {
        log.append_intent(rec(i, None)).await.unwrap();
    }
    let pk = parse_public_key(&log.export_public_key()).unwrap();
    drop(log);
    let rep = verify(dir, &pk).unwrap();
    assert!(rep.ok, "{rep:?}");
    assert_eq!((rep.records, rep.checkpoints), (30, 3));
    pk
}

fn tamper(dir: &Path, f: impl FnOnce(&sled::Tree)) {
    let t = Trees::open(&dir.join("audit")).unwrap();
    f(&t.records);
    t.db.flush().unwrap();
}

fn first_bad(dir: &Path, pk: &VerifyingKey) -> Option<Seq> {
    let rep = verify(dir, pk).unwrap();
    assert_eq!(rep.ok, rep.first_bad_seq.is_none());
    rep.first_bad_seq
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tamper_flipped_ciphertext_byte_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let pk = sealed_log(dir.path()).await;
    tamper(dir.path(), |t| {
        let mut v = t.get(seq_key(12)).unwrap().unwrap().to_vec();
        let last = v.len() - 1;
        v[last] ^= 1;
        t.insert(seq_key(12), v).unwrap();
    });
    assert_eq!(first_bad(dir.path(), &pk), Some(12));
    // The reader sees the altered record as unreadable, never as content.
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    let e = log.query(AuditFilter::default()).await.unwrap();
    assert!(matches!(e[11].content, EntryContent::Unreadable));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tamper_flipped_header_byte_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let pk = sealed_log(dir.path()).await;
    tamper(dir.path(), |t| {
        let v = t.get(seq_key(7)).unwrap().unwrap().to_vec();
        let s = String::from_utf8_lossy(&v[36..]).to_string();
        // Change the stored time by one digit, keeping valid JSON.
        let pos = s.find("\"time_ms\":").unwrap() + 11;
        let mut v2 = v.clone();
        v2[36 + pos] = if v2[36 + pos] == b'1' { b'2' } else { b'1' };
        t.insert(seq_key(7), v2).unwrap();
    });
    assert_eq!(first_bad(dir.path(), &pk), Some(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tamper_deleted_record_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let pk = sealed_log(dir.path()).await;
    tamper(dir.path(), |t| {
        t.remove(seq_key(15)).unwrap();
    });
    assert_eq!(first_bad(dir.path(), &pk), Some(15));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tamper_swapped_records_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let pk = sealed_log(dir.path()).await;
    tamper(dir.path(), |t| {
        let a = t.get(seq_key(4)).unwrap().unwrap();
        let b = t.get(seq_key(5)).unwrap().unwrap();
        t.insert(seq_key(4), b).unwrap();
        t.insert(seq_key(5), a).unwrap();
    });
    assert_eq!(first_bad(dir.path(), &pk), Some(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tamper_truncated_tail_is_detected_by_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let pk = sealed_log(dir.path()).await;
    tamper(dir.path(), |t| {
        for s in 26..=30 {
            t.remove(seq_key(s)).unwrap();
        }
    });
    assert_eq!(first_bad(dir.path(), &pk), Some(26));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tamper_rewrite_with_recomputed_hashes_is_caught_by_checkpoints() {
    // An attacker with write access but no signing key re-chains from record 12 onwards.
    let dir = tempfile::tempdir().unwrap();
    let pk = sealed_log(dir.path()).await;
    tamper(dir.path(), |t| {
        let mut prev = StoredRecord::decode(&t.get(seq_key(11)).unwrap().unwrap())
            .unwrap()
            .hash;
        for s in 12..=30 {
            let r = StoredRecord::decode(&t.get(seq_key(s)).unwrap().unwrap()).unwrap();
            let mut h = r.header.clone();
            h.prev = hex::encode(prev);
            let mut ct = r.ciphertext.clone();
            if s == 12 {
                ct[0] ^= 0xff;
            }
            let hb = serde_json::to_vec(&h).unwrap();
            let hash = chain::chain_hash(&prev, s, &hb, &ct);
            t.insert(seq_key(s), StoredRecord::encode(&hash, &hb, &ct))
                .unwrap();
            prev = hash;
        }
    });
    assert_eq!(
        first_bad(dir.path(), &pk),
        Some(20),
        "the checkpoint at 20 no longer matches"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tamper_forged_checkpoint_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let pk = sealed_log(dir.path()).await;
    let path = chain::checkpoints_path(dir.path());
    let original = fs::read_to_string(&path).unwrap();
    let mut lines: Vec<Checkpoint> = original
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // (a) a changed chain head under the old signature;
    lines[1].chain_head = hex::encode([7u8; 32]);
    let write = |cps: &[Checkpoint]| {
        let s: String = cps
            .iter()
            .map(|c| serde_json::to_string(c).unwrap() + "\n")
            .collect();
        fs::write(&path, s).unwrap();
    };
    write(&lines);
    assert_eq!(first_bad(dir.path(), &pk), Some(20));
    // (b) a checkpoint re-signed with another key.
    let other = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
    let mut lines: Vec<Checkpoint> = original
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let prev = lines[0].sig_bytes().unwrap();
    lines[1] = Checkpoint::sign(&other, 20, &lines[1].head_bytes().unwrap(), 1, &prev);
    write(&lines);
    assert_eq!(first_bad(dir.path(), &pk), Some(20));
    // (c) a dropped checkpoint breaks the checkpoint chain.
    let lines: Vec<Checkpoint> = original
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    write(&[lines[0].clone(), lines[2].clone()]);
    assert_eq!(first_bad(dir.path(), &pk), Some(30));
    // The untouched file verifies again.
    fs::write(&path, original).unwrap();
    assert_eq!(first_bad(dir.path(), &pk), None);
}

// === crypto-shredding (G7) ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_shreds_one_subject_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    let alice = log.subject_ref("alice");
    let bob = log.subject_ref("bob");
    let mut alice_seqs = Vec::new();
    for i in 0..10 {
        alice_seqs.push(log.append_intent(rec(i, Some(alice))).await.unwrap());
        log.append_intent(rec(100 + i, Some(bob))).await.unwrap();
        log.append_intent(rec(200 + i, None)).await.unwrap();
    }
    let alice_intent = alice_seqs[0];
    log.complete(alice_intent, Completion::new(Decision::Forwarded))
        .await
        .unwrap();
    // Capture alice's data key and the key material on disk before the erasure.
    let alice_key_id = log
        .query(AuditFilter {
            subject: Some(alice),
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .key_id
        .clone();
    let alice_dek = log.keys().raw_key(&alice_key_id).unwrap();
    let old_master = log.keys().master_for_tests();
    let old_ring = fs::read_to_string(keys_dir.join("keyring.jsonl")).unwrap();
    let old_master_file = fs::read(keys_dir.join("master.key")).unwrap();

    let report = log.erase_subject(alice).await.unwrap();
    assert_eq!(report.keys_destroyed, 1);
    assert_eq!(report.records, 11, "10 intents and 1 completion");
    assert_eq!(report.master_generation, Some(2));

    // (a) the reader shows `erased`, never plaintext; the subject index is gone.
    let all = log.query(AuditFilter::default()).await.unwrap();
    for e in &all {
        if alice_seqs.contains(&e.seq) {
            assert!(matches!(e.content, EntryContent::Erased), "seq {}", e.seq);
            assert_eq!(e.key_id, alice_key_id, "the header stays visible");
        }
    }
    let readable = all.iter().filter(|e| record_of(e).is_some()).count();
    assert_eq!(
        readable, 20,
        "bob's and the anonymous records stay readable"
    );
    assert!(all.iter().any(|e| matches!(
        &e.content,
        EntryContent::Event { event: LogEvent::SubjectErased { subject, .. } } if *subject == alice
    )));
    assert!(log
        .query(AuditFilter {
            subject: Some(alice),
            ..Default::default()
        })
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        log.query(AuditFilter {
            subject: Some(bob),
            ..Default::default()
        })
        .await
        .unwrap()
        .len(),
        10
    );
    // (e) the chain still verifies.
    let pk = parse_public_key(&log.export_public_key()).unwrap();
    assert!(log.verify().await.unwrap().ok);
    drop(log);
    assert!(verify(dir.path(), &pk).unwrap().ok);

    // (b) the old wrapped key cannot be opened with any key material left on disk.
    assert_ne!(
        fs::read(keys_dir.join("master.key")).unwrap(),
        old_master_file
    );
    assert!(!keys_dir.join("master.key.next").exists());
    let new_master =
        Secret32::from_hex(&fs::read_to_string(keys_dir.join("master.key")).unwrap()).unwrap();
    let old_alice_line = old_ring
        .lines()
        .find(|l| l.contains(&alice_key_id))
        .unwrap();
    let wrapped = serde_json::from_str::<serde_json::Value>(old_alice_line).unwrap()["wrapped"]
        .as_str()
        .unwrap()
        .to_string();
    for generation in 1..=3 {
        assert!(crypto::unwrap(&new_master, generation, &alice_key_id, &wrapped).is_err());
    }
    // (d) with the old master key (only in this test's memory now) the backup would open:
    // destroying that generation is what makes the pre-erasure copy useless.
    assert!(crypto::unwrap(&old_master, 1, &alice_key_id, &wrapped).is_ok());
    // (c) no copy of the data key, raw or hex, anywhere in the data dir.
    assert_eq!(scan_dir(dir.path(), &alice_dek), 0);
    assert_eq!(scan_dir(dir.path(), hex::encode(alice_dek).as_bytes()), 0);
    assert_eq!(
        scan_dir(dir.path(), wrapped.as_bytes()),
        0,
        "no old wrapped copy"
    );
    assert!(!fs::read_to_string(keys_dir.join("keyring.jsonl"))
        .unwrap()
        .contains(&alice_key_id));

    // (f) after a reopen: alice still erased, bob still readable.
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    let all = log.query(AuditFilter::default()).await.unwrap();
    assert!(all
        .iter()
        .filter(|e| alice_seqs.contains(&e.seq))
        .all(|e| matches!(e.content, EntryContent::Erased)));
    assert_eq!(all.iter().filter(|e| record_of(e).is_some()).count(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_key_rotation_keeps_records_readable() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    let s = log.subject_ref("carol");
    log.append_intent(rec(1, Some(s))).await.unwrap();
    assert_eq!(log.rotate_master_key().await.unwrap(), 2);
    log.append_intent(rec(2, Some(s))).await.unwrap();
    drop(log);
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    let all = log.query(AuditFilter::default()).await.unwrap();
    assert_eq!(all.iter().filter(|e| record_of(e).is_some()).count(), 2);
    assert_eq!(log.stats().await.unwrap().master_generation, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn given_master_key_is_required_to_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let k = Secret32::random();
    let with = |k: &Secret32| AuditOptions {
        master_key: MasterKeySource::Given(k.clone()),
        ..opts()
    };
    {
        let log = AuditLog::open(dir.path(), with(&k)).unwrap();
        log.append_intent(rec(1, None)).await.unwrap();
    }
    assert!(!dir.path().join("keys/master.key").exists());
    {
        let log = AuditLog::open(dir.path(), with(&k)).unwrap();
        assert!(matches!(
            log.rotate_master_key().await,
            Err(AuditError::Key(_))
        ));
        // Erasure still rewrites the key ring without the subject's key; no generation to destroy.
        let s = log.subject_ref("heidi");
        log.append_intent(rec(2, Some(s))).await.unwrap();
        let r = log.erase_subject(s).await.unwrap();
        assert_eq!((r.keys_destroyed, r.master_generation), (1, None));
    }
    assert!(matches!(
        AuditLog::open(dir.path(), with(&Secret32::random())),
        Err(AuditError::Key(_))
    ));
    let log = AuditLog::open(dir.path(), with(&k)).unwrap();
    let all = log.query(AuditFilter::default()).await.unwrap();
    let states: Vec<&str> = all
        .iter()
        .map(|e| match e.content {
            EntryContent::Record { .. } => "record",
            EntryContent::Erased => "erased",
            EntryContent::Event { .. } => "event",
            EntryContent::Unreadable => "unreadable",
            EntryContent::Tombstone => "tombstone",
        })
        .collect();
    assert_eq!(states, ["record", "erased", "event"]);
}

// === nonces and rotation (G6) ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonces_unique_and_keys_rotate_below_their_limit() {
    let dir = tempfile::tempdir().unwrap();
    let o = AuditOptions {
        max_encryptions_per_key: 50,
        checkpoint_every: 500,
        ..AuditOptions::default()
    };
    let log = AuditLog::open(dir.path(), o.clone()).unwrap();
    let s = log.subject_ref("dave");
    let mut tasks = Vec::new();
    for w in 0..8u64 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..250 {
                let subject = if i % 2 == 0 { Some(s) } else { None };
                log.append_intent(rec(w * 1000 + i, subject)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    drop(log);
    let t = Trees::open(&dir.path().join("audit")).unwrap();
    let mut nonces = HashSet::new();
    let mut per_key: std::collections::HashMap<String, u64> = Default::default();
    for item in t.records.iter() {
        let (_, v) = item.unwrap();
        let r = StoredRecord::decode(&v).unwrap();
        assert!(nonces.insert(r.header.nonce.clone()), "duplicate nonce");
        *per_key.entry(r.header.key_id).or_default() += 1;
    }
    drop(t);
    assert_eq!(nonces.len(), 2000);
    assert!(per_key.values().all(|&n| n <= 50), "{per_key:?}");
    assert!(per_key.len() >= 40);
    let log = AuditLog::open(dir.path(), o).unwrap();
    let all = log.query(AuditFilter::default()).await.unwrap();
    assert_eq!(all.iter().filter(|e| record_of(e).is_some()).count(), 2000);
}

// === fail closed (G2) ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_failures_surface_as_errors() {
    let dir = tempfile::tempdir().unwrap();
    // A flush slower than the write timeout (failpoint).
    let log = AuditLog::open(
        dir.path(),
        AuditOptions {
            write_timeout: Duration::from_millis(50),
            failpoint_flush_delay: Some(Duration::from_millis(300)),
            ..opts()
        },
    )
    .unwrap();
    assert!(matches!(
        log.append_intent(rec(1, None)).await,
        Err(AuditError::Timeout)
    ));
    drop(log);

    // A key ring that cannot be written (a directory in its place) fails the group commit.
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    let ring = dir.path().join("keys/keyring.jsonl");
    let aside = dir.path().join("keys/keyring.aside");
    fs::rename(&ring, &aside).unwrap();
    fs::create_dir(&ring).unwrap();
    let s = log.subject_ref("eve");
    assert!(matches!(
        log.append_intent(rec(2, Some(s))).await,
        Err(AuditError::Io(_))
    ));
    // Service resumes by itself once the fault is gone.
    fs::remove_dir(&ring).unwrap();
    fs::rename(&aside, &ring).unwrap();
    log.append_intent(rec(3, Some(s))).await.unwrap();

    // A closed writer refuses.
    log.shutdown();
    assert!(matches!(
        log.append_intent(rec(4, None)).await,
        Err(AuditError::Closed)
    ));
    drop(log);
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    assert!(log.verify().await.unwrap().ok);
}

// === retention ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_keeps_the_chain_verifiable_from_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    let s = log.subject_ref("frank");
    for i in 0..25 {
        log.append_intent(rec(i, Some(s))).await.unwrap();
    }
    let cutoff = record::now_ms() + 1;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let report = log.purge_before(cutoff).await.unwrap();
    assert_eq!((report.through_seq, report.records), (Some(20), 20));
    let rep = log.verify().await.unwrap();
    assert!(rep.ok, "{rep:?}");
    assert_eq!((rep.anchored_at, rep.first_seq), (Some(20), Some(21)));
    let mine = log
        .query(AuditFilter {
            subject: Some(s),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(mine.len(), 5);
    let pk = parse_public_key(&log.export_public_key()).unwrap();
    drop(log);
    assert!(verify(dir.path(), &pk).unwrap().ok);
    // Without the anchoring checkpoint, the cut start is reported.
    let path = chain::checkpoints_path(dir.path());
    let kept: String = fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("\"seq\":20,"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&path, kept).unwrap();
    assert_eq!(first_bad(dir.path(), &pk), Some(21));
}

const DAY_MS: u64 = 86_400_000;

/// The rules of the C2 test: `strict` keeps metadata 30 days and text 7, `gdpr-default` keeps
/// metadata 365 days and text 90, `text-7` keeps metadata forever and text 7 days; unlisted
/// policies and events: metadata 400 days.
fn c2_rules() -> RetentionRules {
    RetentionRules {
        by_policy: [
            ("strict".to_string(), Retention::days(Some(30), Some(7))),
            (
                "gdpr-default".to_string(),
                Retention::days(Some(365), Some(90)),
            ),
            ("text-7".to_string(), Retention::days(None, Some(7))),
        ]
        .into_iter()
        .collect(),
        default: Retention::days(Some(400), None),
        ..RetentionRules::default()
    }
}

/// An exchange under `policy` with kept prompt and answer: intent + completion.
async fn exchange(log: &AuditLog, i: u64, subject: Option<SubjectRef>, policy: &str) -> Seq {
    let mut r = rec(i, subject);
    r.policy_id = policy.into();
    let s = log.append_intent(r).await.unwrap();
    let mut c = Completion::new(Decision::Forwarded);
    c.answer_text = Some(format!("answer <EMAIL_{i}>"));
    log.complete(s, c).await.unwrap();
    s
}

fn by_seq(all: &[AuditEntry], seq: Seq) -> Option<&AuditEntry> {
    all.iter().find(|e| e.seq == seq)
}

/// The payload key a stored record's text is sealed under.
fn payload_key_of(log: &AuditLog, seq: Seq) -> String {
    match log.inner.trees.get(seq).unwrap().unwrap() {
        Stored::Record(r) => r.header.payload_key.unwrap(),
        Stored::Tombstone { .. } => panic!("seq {seq} is a tombstone"),
    }
}

/// RELIABILITY C2 with an injected clock: two policies with different retentions (plus a
/// text-only one and an unlisted one). Figure: "expired N / kept N / chain verifies".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_per_policy_expires_short_and_keeps_long() {
    let n: u64 = std::env::var("PRIVGATE_TEST_RETENTION_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    let alice = log.subject_ref("alice");
    let bob = log.subject_ref("bob");
    // A prefix of strict exchanges (so a tombstone prefix can be purged), then all mixed.
    let mut strict = Vec::new();
    let mut kept = Vec::new();
    let mut text7 = Vec::new();
    for i in 0..12 {
        strict.push(exchange(&log, i, Some(alice), "strict").await);
    }
    let mut tasks = Vec::new();
    for w in 0..4u64 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for i in (w..n).step_by(4) {
                let subject = [Some(alice), Some(bob), None][(i % 3) as usize];
                mine.0
                    .push(exchange(&log, 1000 + i, subject, "strict").await);
                mine.1
                    .push(exchange(&log, 2000 + i, subject, "gdpr-default").await);
                mine.2
                    .push(exchange(&log, 3000 + i, subject, "text-7").await);
                mine.3
                    .push(exchange(&log, 4000 + i, subject, "unlisted").await);
            }
            mine
        }));
    }
    let mut unlisted = Vec::new();
    for t in tasks {
        let (a, b, c, d) = t.await.unwrap();
        strict.extend(a);
        kept.extend(b);
        text7.extend(c);
        unlisted.extend(d);
    }
    let strict_key = payload_key_of(&log, strict[0]);
    let strict_dek = log.keys().raw_key(&strict_key).unwrap();
    let kept_key = payload_key_of(&log, kept[0]);
    assert_ne!(strict_key, kept_key, "one payload key per policy and day");
    let now = record::now_ms();

    // Nothing is due yet.
    let r0 = log.enforce_retention(c2_rules(), now).await.unwrap();
    assert_eq!(r0, RetentionReport::default());

    // +10 days: the text of `strict` and `text-7` is past 7 days; all metadata stays.
    let r1 = log
        .enforce_retention(c2_rules(), now + 10 * DAY_MS)
        .await
        .unwrap();
    let shredded = 2 * (strict.len() + text7.len()) as u64;
    assert_eq!(r1.payloads_shredded, shredded, "intents and completions");
    assert_eq!(r1.records_tombstoned, 0);
    assert!(r1.keys_destroyed >= 2);
    assert!(
        log.keys().raw_key(&strict_key).is_none(),
        "payload key gone"
    );
    assert!(log.keys().raw_key(&kept_key).is_some());
    let all = log.query(AuditFilter::default()).await.unwrap();
    for &s in strict.iter().chain(&text7) {
        let e = by_seq(&all, s).unwrap();
        assert_eq!(e.payload, Some(PayloadState::Expired), "seq {s}");
        let EntryContent::Record { record, completion } = &e.content else {
            panic!("metadata stays readable: seq {s}")
        };
        assert!(record.prompt_text.is_none() && record.request_id.starts_with("req-"));
        assert!(completion.as_ref().unwrap().answer_text.is_none());
    }
    for &s in kept.iter().chain(&unlisted) {
        let e = by_seq(&all, s).unwrap();
        assert_eq!(e.payload, Some(PayloadState::Kept), "seq {s}");
        let EntryContent::Record { record, completion } = &e.content else {
            panic!("seq {s}")
        };
        assert!(record
            .prompt_text
            .as_deref()
            .unwrap()
            .starts_with("hello <EMAIL_"));
        assert!(completion.as_ref().unwrap().answer_text.is_some());
    }
    assert!(log.verify().await.unwrap().ok);

    // +40 days: `strict` metadata (30 days) is past too; the others stay.
    let r2 = log
        .enforce_retention(c2_rules(), now + 40 * DAY_MS)
        .await
        .unwrap();
    let expired = 2 * strict.len() as u64;
    assert_eq!(r2.records_tombstoned, expired, "intents and completions");
    assert_eq!(r2.payloads_shredded, 0, "already counted");
    assert!(
        r2.prefix_purged >= 20 && r2.purged_through_seq.is_some(),
        "the all-strict prefix goes up to a checkpoint: {r2:?}"
    );
    let rep = log.verify().await.unwrap();
    assert!(rep.ok, "{rep:?}");
    assert_eq!(rep.tombstones, expired - r2.prefix_purged);
    assert_eq!(rep.anchored_at, r2.purged_through_seq);

    let all = log.query(AuditFilter::default()).await.unwrap();
    for &s in &strict {
        if let Some(e) = by_seq(&all, s) {
            assert!(matches!(e.content, EntryContent::Tombstone), "seq {s}");
            assert!(e.key_id.is_empty() && e.payload.is_none());
        }
    }
    let csv = cli::render(&all, cli::Format::Csv);
    assert!(csv.contains(",tombstone,") && csv.contains(",payload_expired,"));
    let readable = all.iter().filter(|e| record_of(e).is_some()).count();
    let kept_n = kept.len() + text7.len() + unlisted.len();
    assert_eq!(readable, kept_n);
    for &s in &kept {
        assert_eq!(by_seq(&all, s).unwrap().payload, Some(PayloadState::Kept));
    }
    // The deletions are audited, with seqs and key ids but no subject.
    let events: Vec<&LogEvent> = all
        .iter()
        .filter_map(|e| match &e.content {
            EntryContent::Event { event } => Some(event),
            _ => None,
        })
        .collect();
    assert!(events
        .iter()
        .any(|e| matches!(e, LogEvent::KeysExpired { payload_records, .. } if *payload_records == shredded)));
    let tombstoned: u64 = events
        .iter()
        .map(|e| match e {
            LogEvent::Tombstoned { records, .. } => *records,
            _ => 0,
        })
        .sum();
    assert_eq!(tombstoned, expired);
    assert!(events.iter().any(|e| matches!(e, LogEvent::Purged { .. })));
    let events_json = serde_json::to_string(&events).unwrap();
    assert!(!events_json.contains(&alice.to_hex()) && !events_json.contains(&bob.to_hex()));

    // The subject export holds alice's kept records only.
    let export = log.export_subject(alice).await.unwrap();
    let seqs: HashSet<u64> = export["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert!(strict.iter().all(|s| !seqs.contains(s)));
    assert!(kept
        .iter()
        .chain(&text7)
        .chain(&unlisted)
        .any(|s| seqs.contains(s)));
    assert!(export.to_string().contains("\"payload\":\"expired\""));
    assert!(export.to_string().contains("\"payload\":\"kept\""));

    let pk = parse_public_key(&log.export_public_key()).unwrap();
    drop(log);
    let offline = verify(dir.path(), &pk).unwrap();
    assert!(offline.ok, "{offline:?}");
    assert_eq!(offline.tombstones, expired - r2.prefix_purged);
    // The strict payload key is nowhere on disk, raw or hex, so its text can never be opened.
    assert_eq!(scan_dir(dir.path(), &strict_dek), 0);
    assert_eq!(scan_dir(dir.path(), hex::encode(strict_dek).as_bytes()), 0);
    assert!(!fs::read_to_string(dir.path().join("keys/keyring.jsonl"))
        .unwrap()
        .contains(&strict_key));
    assert_eq!(scan_dir(dir.path(), b"EMAIL_1000"), 0, "never plaintext");

    // After a reopen: same state.
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    let all = log.query(AuditFilter::default()).await.unwrap();
    assert_eq!(
        all.iter().filter(|e| record_of(e).is_some()).count(),
        kept_n
    );
    assert_eq!(
        by_seq(&all, text7[0]).unwrap().payload,
        Some(PayloadState::Expired)
    );
    assert_eq!(
        by_seq(&all, kept[0]).unwrap().payload,
        Some(PayloadState::Kept),
        "payload keys come back from the key ring"
    );
    assert!(log.verify().await.unwrap().ok);
    println!(
        "retention C2: expired {expired} records + {shredded} payloads / kept {} records / chain verifies ({} tombstones, prefix purged {})",
        2 * kept_n,
        offline.tombstones,
        r2.prefix_purged
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tamper_altered_tombstone_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    // 25 intents of `strict`, then 5 of a policy kept forever: 1..=25 become tombstones.
    for i in 0..30 {
        let mut r = rec(i, None);
        r.policy_id = if i < 25 { "strict" } else { "forever" }.into();
        log.append_intent(r).await.unwrap();
    }
    let rules = RetentionRules {
        by_policy: [("strict".to_string(), Retention::days(Some(1), None))].into(),
        ..RetentionRules::default()
    };
    let r = log
        .enforce_retention(rules, record::now_ms() + 2 * DAY_MS)
        .await
        .unwrap();
    assert_eq!((r.records_tombstoned, r.prefix_purged), (25, 20));
    let pk = parse_public_key(&log.export_public_key()).unwrap();
    drop(log);
    let rep = verify(dir.path(), &pk).unwrap();
    assert!(rep.ok && rep.tombstones == 5, "{rep:?}");
    let original = Trees::open(&dir.path().join("audit"))
        .unwrap()
        .records
        .get(seq_key(23))
        .unwrap()
        .unwrap()
        .to_vec();
    // A changed hash breaks the next link; a changed `prev` breaks its own.
    tamper(dir.path(), |t| {
        let mut v = original.clone();
        v[0] ^= 1;
        t.insert(seq_key(23), v).unwrap();
    });
    assert_eq!(first_bad(dir.path(), &pk), Some(24));
    tamper(dir.path(), |t| {
        let s = String::from_utf8(original[36..].to_vec()).unwrap();
        let pos = s.find("\"prev\":\"").unwrap() + 8;
        let mut v = original.clone();
        v[36 + pos] = if v[36 + pos] == b'a' { b'b' } else { b'a' };
        t.insert(seq_key(23), v).unwrap();
    });
    assert_eq!(first_bad(dir.path(), &pk), Some(23));
    // The untouched tombstone verifies again.
    tamper(dir.path(), |t| {
        t.insert(seq_key(23), original.clone()).unwrap();
    });
    assert_eq!(first_bad(dir.path(), &pk), None);
}

/// Anonymous day keys go once every rule limits metadata and their day is past the longest
/// limit; never today's, never a subject's, never while a rule keeps metadata forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_destroys_old_anonymous_day_keys() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    let now = record::now_ms();
    let s = log.subject_ref("ivan");
    log.append_intent(rec(1, Some(s))).await.unwrap();
    log.append_intent(rec(2, None)).await.unwrap();
    let today_key = log.query(AuditFilter::default()).await.unwrap()[1]
        .key_id
        .clone();
    // A key of ten days ago, as a server running then would have left it.
    let old_key = log.keys().key_for(None, now - 10 * DAY_MS).0;
    log.keys().persist().unwrap();
    let old_dek = log.keys().raw_key(&old_key).unwrap();
    assert_ne!(old_key, today_key);

    let forever = RetentionRules {
        by_policy: [("default".to_string(), Retention::days(Some(5), None))].into(),
        ..RetentionRules::default()
    };
    let r = log.enforce_retention(forever, now).await.unwrap();
    assert_eq!(r.keys_destroyed, 0, "events are kept forever: {r:?}");
    assert!(log.keys().raw_key(&old_key).is_some());

    let limited = RetentionRules {
        by_policy: [("default".to_string(), Retention::days(Some(5), None))].into(),
        default: Retention::days(Some(7), None),
        ..RetentionRules::default()
    };
    let r = log.enforce_retention(limited, now).await.unwrap();
    assert_eq!((r.keys_destroyed, r.records_tombstoned), (1, 0), "{r:?}");
    assert!(log.keys().raw_key(&old_key).is_none());
    assert!(
        log.keys().raw_key(&today_key).is_some(),
        "today's key stays"
    );
    assert_eq!(log.query(AuditFilter::default()).await.unwrap().len(), 3);
    assert!(log.verify().await.unwrap().ok);
    drop(log);
    assert_eq!(scan_dir(dir.path(), &old_dek), 0);
    assert_eq!(scan_dir(dir.path(), hex::encode(old_dek).as_bytes()), 0);
}

/// RELIABILITY C2: records under legal hold are not purged, and the text they keep stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_spares_records_under_legal_hold() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    let alice = log.subject_ref("alice");
    let bob = log.subject_ref("bob");
    let mut alices = Vec::new();
    for i in 0..3 {
        alices.push(exchange(&log, i, Some(alice), "strict").await);
        exchange(&log, 10 + i, Some(bob), "strict").await;
    }
    let key = payload_key_of(&log, alices[0]);
    let now = record::now_ms();
    let held = |hold: bool| RetentionRules {
        legal_hold: if hold {
            [alice].into()
        } else {
            Default::default()
        },
        ..c2_rules()
    };

    // Text past 7 days: the strict key of the day seals alice's text too, so it stays.
    let r = log
        .enforce_retention(held(true), now + 10 * DAY_MS)
        .await
        .unwrap();
    assert_eq!((r.keys_destroyed, r.payloads_shredded), (0, 0), "{r:?}");
    assert!(log.keys().raw_key(&key).is_some());

    // Metadata past 30 days: bob's exchanges go, alice's stay whole.
    let r = log
        .enforce_retention(held(true), now + 40 * DAY_MS)
        .await
        .unwrap();
    assert_eq!((r.records_tombstoned, r.records_held), (6, 6), "{r:?}");
    let mine = log
        .query(AuditFilter {
            subject: Some(alice),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(mine.len(), 3);
    assert!(mine.iter().all(|e| e.payload == Some(PayloadState::Kept)));
    assert!(log
        .query(AuditFilter {
            subject: Some(bob),
            ..Default::default()
        })
        .await
        .unwrap()
        .is_empty());
    assert!(log.verify().await.unwrap().ok);

    // The hold lifted: alice's records and the key go too.
    let r = log
        .enforce_retention(held(false), now + 40 * DAY_MS)
        .await
        .unwrap();
    assert_eq!(
        (r.records_tombstoned, r.records_held, r.keys_destroyed),
        (6, 0, 1),
        "{r:?}"
    );
    assert!(log.keys().raw_key(&key).is_none());
    let rep = log.verify().await.unwrap();
    assert!(rep.ok, "{rep:?}");
}

/// A long expired prefix (more than one sweep step and one purge step) is tombstoned and
/// deleted in bounded steps; the chain then starts at the last checkpoint of that prefix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_works_through_a_long_prefix_in_steps() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    let n = 20 * writer::SWEEP_STEP as u64;
    let mut tasks = Vec::new();
    for w in 0..8 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..n).step_by(8) {
                let mut r = rec(i, None);
                r.policy_id = "strict".into();
                log.append_intent(r).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut r = rec(n, None);
    r.policy_id = "gdpr-default".into();
    let last = log.append_intent(r).await.unwrap();
    let r = log
        .enforce_retention(c2_rules(), record::now_ms() + 40 * DAY_MS)
        .await
        .unwrap();
    assert_eq!(r.records_tombstoned, n);
    let through = r.purged_through_seq.unwrap();
    assert!(
        through > 16 * writer::SWEEP_STEP as u64 && through < last,
        "{r:?}"
    );
    assert_eq!(r.prefix_purged, through);
    let rep = log.verify().await.unwrap();
    assert!(rep.ok, "{rep:?}");
    assert_eq!(
        (rep.anchored_at, rep.tombstones),
        (Some(through), n - through)
    );
}

#[test]
fn retention_rules_pick_the_policy_then_the_default() {
    let r = c2_rules();
    assert_eq!(
        r.for_policy(Some("strict")),
        Retention::days(Some(30), Some(7))
    );
    assert_eq!(r.for_policy(Some("nope")), r.default);
    assert_eq!(r.for_policy(None), r.default);
    // Text never outlives its metadata.
    assert_eq!(
        Retention::days(Some(5), Some(30)).effective_payload(),
        Some(Duration::from_secs(5 * 86_400))
    );
    assert_eq!(
        Retention::days(Some(5), None).effective_payload(),
        Retention::days(Some(5), None).audit
    );
    assert_eq!(r.shortest(), Some(Duration::from_secs(7 * 86_400)));
    assert!(RetentionRules::default().is_unlimited());
}

#[test]
fn a_second_open_of_a_locked_store_fails_before_touching_keys() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    let ring = fs::read(dir.path().join("keys/keyring.jsonl")).unwrap();
    let r = AuditLog::open(dir.path(), opts());
    assert!(matches!(r, Err(AuditError::Store(_))), "{r:?}");
    assert_eq!(
        fs::read(dir.path().join("keys/keyring.jsonl")).unwrap(),
        ring
    );
    drop(log);
}

#[test]
fn key_files_wider_than_0600_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    drop(AuditLog::open(dir.path(), opts()).unwrap());
    for f in ["master.key", "checkpoint.ed25519"] {
        let p = dir.path().join("keys").join(f);
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        let r = AuditLog::open(dir.path(), opts());
        assert!(matches!(r, Err(AuditError::Key(_))), "{f}: {r:?}");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
    }
    drop(AuditLog::open(dir.path(), opts()).unwrap());
}

#[test]
fn key_types_debug_hides_secrets() {
    let k = Secret32::from_bytes([0xab; 32]);
    assert!(!format!("{k:?}").contains("ab"));
    assert!(format!("{:?}", MasterKeySource::Given(k)).contains("*****"));
}

// === crash leftovers ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_key_ring_and_checkpoint_lines_are_repaired_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let pk = sealed_log(dir.path()).await;
    let append = |p: &Path, b: &[u8]| {
        use std::io::Write;
        fs::OpenOptions::new()
            .append(true)
            .open(p)
            .unwrap()
            .write_all(b)
            .unwrap();
    };
    append(
        &chain::checkpoints_path(dir.path()),
        b"{\"seq\":31,\"chain_",
    );
    append(
        &dir.path().join("keys/keyring.jsonl"),
        b"{\"t\":\"dek\",\"id\":\"s-",
    );
    // The verifier ignores a torn last checkpoint line.
    assert!(verify(dir.path(), &pk).unwrap().ok);
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    let s = log.subject_ref("grace");
    let seq = log.append_intent(rec(1, Some(s))).await.unwrap();
    drop(log);
    // The new key ring line landed on its own line: the subject's key is found after reopen.
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    let mine = log
        .query(AuditFilter {
            subject: Some(s),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].seq, seq);
    assert!(record_of(&mine[0]).is_some());
    assert!(log.verify().await.unwrap().ok);
}

// === verifier adversarial property test (G5) ===

mod adversarial {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    struct Fixture {
        _dir: tempfile::TempDir,
        path: std::path::PathBuf,
        pk: VerifyingKey,
        records: Vec<(Vec<u8>, Vec<u8>)>,
    }

    /// One valid log (30 records, checkpoints at 10, 20, 30), built once.
    fn fixture() -> &'static Fixture {
        static F: OnceLock<Fixture> = OnceLock::new();
        F.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let rt = tokio::runtime::Runtime::new().unwrap();
            let pk = rt.block_on(sealed_log(dir.path()));
            let t = Trees::open(&dir.path().join("audit")).unwrap();
            let records = t
                .records
                .iter()
                .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap())
                .collect();
            drop(t);
            Fixture {
                path: dir.path().to_path_buf(),
                _dir: dir,
                pk,
                records,
            }
        })
    }

    fn check(records: Vec<(Vec<u8>, Vec<u8>)>) -> VerifyReport {
        let f = fixture();
        verify::run(records.into_iter().map(Ok), &f.path, &f.pk).unwrap()
    }

    #[derive(Debug, Clone)]
    enum Mutation {
        FlipBit { rec: usize, byte: usize, bit: u8 },
        Delete { rec: usize },
        Swap { a: usize, b: usize },
        Replay { from: usize, to: usize },
        Truncate { keep: usize },
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (0..30usize, any::<usize>(), 0..8u8).prop_map(|(rec, byte, bit)| Mutation::FlipBit {
                rec,
                byte,
                bit
            }),
            (0..30usize).prop_map(|rec| Mutation::Delete { rec }),
            (0..30usize, 0..30usize)
                .prop_filter("distinct", |(a, b)| a != b)
                .prop_map(|(a, b)| Mutation::Swap { a, b }),
            (0..30usize, 0..30usize)
                .prop_filter("distinct", |(a, b)| a != b)
                .prop_map(|(from, to)| Mutation::Replay { from, to }),
            (0..29usize).prop_map(|keep| Mutation::Truncate { keep }),
        ]
    }

    #[test]
    fn the_untouched_log_verifies() {
        assert!(check(fixture().records.clone()).ok);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn every_mutation_is_rejected(m in mutation()) {
            let mut r = fixture().records.clone();
            match m {
                Mutation::FlipBit { rec, byte, bit } => {
                    let v = &mut r[rec].1;
                    let i = byte % v.len();
                    v[i] ^= 1 << bit;
                }
                Mutation::Delete { rec } => {
                    r.remove(rec);
                }
                Mutation::Swap { a, b } => {
                    let va = r[a].1.clone();
                    r[a].1 = r[b].1.clone();
                    r[b].1 = va;
                }
                Mutation::Replay { from, to } => {
                    r[to].1 = r[from].1.clone();
                }
                Mutation::Truncate { keep } => r.truncate(keep),
            }
            let rep = check(r);
            prop_assert!(!rep.ok, "mutation {:?} accepted", m);
            prop_assert!(rep.first_bad_seq.is_some());
        }
    }
}

// === kill -9 during writes (G1, reduced) ===

/// The child half of `kill9_loses_no_acknowledged_record`: writes at full speed and prints the
/// seq of every acknowledged record. Does nothing unless the parent set the env variable.
#[test]
#[ignore = "run as a child process by kill9_loses_no_acknowledged_record"]
fn crash_child() {
    let Ok(dir) = std::env::var("PRIVGATE_AUDIT_CRASH_DIR") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let log = AuditLog::open(Path::new(&dir), opts()).unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Seq>();
        for w in 0..16u64 {
            let log = log.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                for i in 0.. {
                    let s = log.subject_ref(&format!("user{}", (w + i) % 5));
                    let seq = log.append_intent(rec(i, Some(s))).await.unwrap();
                    let _ = tx.send(seq);
                    let c = log
                        .complete(seq, Completion::new(Decision::Forwarded))
                        .await
                        .unwrap();
                    let _ = tx.send(c);
                }
            });
        }
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        while let Some(seq) = rx.recv().await {
            writeln!(out, "ACK {seq}").unwrap();
            out.flush().unwrap();
        }
    });
}

#[test]
fn kill9_loses_no_acknowledged_record() {
    use rand::Rng;
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    for trial in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "audit::tests::crash_child",
                "--ignored",
                "--nocapture",
            ])
            .env("PRIVGATE_AUDIT_CRASH_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| l.strip_prefix("ACK ").and_then(|s| s.parse::<Seq>().ok()))
                .collect::<Vec<Seq>>()
        });
        let wait = if trial == 0 {
            50
        } else {
            rand::thread_rng().gen_range(300..1500)
        };
        std::thread::sleep(Duration::from_millis(wait));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let acked = reader.join().unwrap();
        rt.block_on(async {
            let log = AuditLog::open(dir.path(), opts()).unwrap();
            let rep = log.verify().await.unwrap();
            assert!(rep.ok, "trial {trial}: {rep:?}");
            let stats = log.stats().await.unwrap();
            let t = &log.inner.trees;
            for s in &acked {
                let r = t.get(*s).unwrap();
                assert!(r.is_some(), "trial {trial}: acknowledged seq {s} lost");
            }
            let all = log.query(AuditFilter::default()).await.unwrap();
            let readable: HashSet<Seq> = all
                .iter()
                .filter(|e| record_of(e).is_some())
                .flat_map(|e| [Some(e.seq), e.completion_seq])
                .flatten()
                .collect();
            for s in &acked {
                assert!(readable.contains(s), "trial {trial}: seq {s} not decryptable");
            }
            eprintln!(
                "crash trial {trial}: killed after {wait} ms, {} acknowledged, {} records after recovery, 0 lost",
                acked.len(),
                stats.records
            );
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn final_records_need_no_completion() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = AuditLog::open(dir.path(), opts()).unwrap();
        let mut r = rec(1, None);
        r.decision = Some(Decision::Blocked {
            code: "pii_blocked".into(),
        });
        let s = log.append_final(r).await.unwrap();
        assert!(matches!(
            log.complete(s, Completion::new(Decision::Forwarded)).await,
            Err(AuditError::NotFound)
        ));
        assert_eq!(log.stats().await.unwrap().open_intents, 0);
    }
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    let all = log.query(AuditFilter::default()).await.unwrap();
    assert_eq!(all.len(), 1, "no `incomplete` completion added on reopen");
    assert_eq!(all[0].decision().unwrap().name(), "blocked");
}

/// RELIABILITY I3: no waiter is released before the flush covering its record returned, and
/// concurrent waiters share flushes. The failpoint makes every flush take 150 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_waiter_is_released_before_its_flush() {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(
        dir.path(),
        AuditOptions {
            failpoint_flush_delay: Some(Duration::from_millis(150)),
            ..opts()
        },
    )
    .unwrap();
    let before = log.stats().await.unwrap().flushes;
    let start = std::time::Instant::now();
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move {
                let seq = log.append_intent(rec(i, None)).await.unwrap();
                (seq, start.elapsed(), log.stats().await.unwrap().flushes)
            })
        })
        .collect();
    for t in tasks {
        let (_, took, flushes) = t.await.unwrap();
        assert!(
            took >= Duration::from_millis(150),
            "released before the flush: {took:?}"
        );
        assert!(flushes > before, "released with no completed flush");
    }
    let used = log.stats().await.unwrap().flushes - before;
    assert!(used <= 4, "32 concurrent appends took {used} flushes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_key_ring_and_master_key_rename_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let old_master;
    {
        let log = AuditLog::open(dir.path(), opts()).unwrap();
        let s = log.subject_ref("ivan");
        let t = log.subject_ref("judy");
        log.append_intent(rec(1, Some(s))).await.unwrap();
        log.append_intent(rec(2, Some(t))).await.unwrap();
        old_master = fs::read(keys.join("master.key")).unwrap();
        log.erase_subject(s).await.unwrap();
    }
    // Recreate the state of a crash after the key ring was renamed into place but before
    // `master.key.next` replaced `master.key`.
    let new_master = fs::read(keys.join("master.key")).unwrap();
    crypto::write_atomic(&keys.join("master.key.next"), &new_master).unwrap();
    crypto::write_atomic(&keys.join("master.key"), &old_master).unwrap();
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    assert_eq!(fs::read(keys.join("master.key")).unwrap(), new_master);
    assert!(!keys.join("master.key.next").exists());
    let all = log.query(AuditFilter::default()).await.unwrap();
    assert_eq!(all.iter().filter(|e| record_of(e).is_some()).count(), 1);
    // And a leftover `next` from a crash before the key ring was replaced is discarded.
    drop(log);
    crypto::write_atomic(
        &keys.join("master.key.next"),
        hex::encode([1u8; 32]).as_bytes(),
    )
    .unwrap();
    let log = AuditLog::open(dir.path(), opts()).unwrap();
    assert!(!keys.join("master.key.next").exists());
    assert_eq!(fs::read(keys.join("master.key")).unwrap(), new_master);
    drop(log);
}
