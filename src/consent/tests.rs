//! Unit tests of the registry: state per purpose, restriction, history order, persistence, purge,
//! erasure and the blind index on disk.

use std::time::Duration;

use super::*;

fn ev(kind: ConsentEventKind, purpose: Option<&str>, time_ms: u64) -> ConsentEvent {
    ConsentEvent {
        time_ms,
        kind,
        purpose: purpose.map(str::to_string),
        source: "test".into(),
        evidence: Some("form-17".into()),
    }
}

use ConsentEventKind::{Grant, Restrict, Unrestrict, Withdraw};

#[test]
fn grant_then_withdraw_per_purpose() {
    let dir = tempfile::tempdir().unwrap();
    let reg = ConsentRegistry::open(dir.path()).unwrap();
    assert_eq!(reg.check("alice", "marketing"), ConsentState::Missing);
    reg.record("alice", ev(Grant, Some("marketing"), 1_000))
        .unwrap();
    assert_eq!(reg.check("alice", "marketing"), ConsentState::Granted);
    reg.record("alice", ev(Withdraw, Some("marketing"), 2_000))
        .unwrap();
    assert_eq!(reg.check("alice", "marketing"), ConsentState::Withdrawn);
    reg.record("alice", ev(Grant, Some("marketing"), 3_000))
        .unwrap();
    assert_eq!(reg.check("alice", "marketing"), ConsentState::Granted);
}

#[test]
fn purposes_and_subjects_are_independent() {
    let dir = tempfile::tempdir().unwrap();
    let reg = ConsentRegistry::open(dir.path()).unwrap();
    reg.record("alice", ev(Grant, Some("support"), 1_000))
        .unwrap();
    reg.record("alice", ev(Withdraw, Some("training"), 1_000))
        .unwrap();
    assert_eq!(reg.check("alice", "support"), ConsentState::Granted);
    assert_eq!(reg.check("alice", "training"), ConsentState::Withdrawn);
    assert_eq!(reg.check("alice", "analytics"), ConsentState::Missing);
    assert_eq!(reg.check("bob", "support"), ConsentState::Missing);
    assert_eq!(reg.subjects(), 1);
}

#[test]
fn restriction_applies_to_every_purpose_until_lifted() {
    let dir = tempfile::tempdir().unwrap();
    let reg = ConsentRegistry::open(dir.path()).unwrap();
    reg.record("alice", ev(Grant, Some("support"), 1_000))
        .unwrap();
    assert!(!reg.restricted("alice"));
    reg.record("alice", ev(Restrict, None, 2_000)).unwrap();
    assert!(reg.restricted("alice"));
    let c = reg.lookup("alice", "support");
    assert_eq!(
        (c.state, c.restricted, c.result()),
        (ConsentState::Granted, true, "restricted")
    );
    reg.record("alice", ev(Unrestrict, None, 3_000)).unwrap();
    assert!(!reg.restricted("alice"));
    assert_eq!(reg.lookup("alice", "support").result(), "granted");
    assert!(!reg.restricted("bob"));
}

#[test]
fn history_is_ordered_by_time_then_write_order() {
    let dir = tempfile::tempdir().unwrap();
    let reg = ConsentRegistry::open(dir.path()).unwrap();
    reg.record("alice", ev(Grant, Some("a"), 5_000)).unwrap();
    reg.record("alice", ev(Withdraw, Some("a"), 5_000)).unwrap();
    // Recorded later but happened earlier (a back-dated import): sorts first, does not win.
    reg.record("alice", ev(Grant, Some("b"), 1_000)).unwrap();
    reg.record("alice", ev(Withdraw, Some("b"), 500)).unwrap();
    let h = reg.history("alice").unwrap();
    let got: Vec<_> = h
        .iter()
        .map(|e| (e.time_ms, e.kind, e.purpose.clone().unwrap()))
        .collect();
    assert_eq!(
        got,
        vec![
            (500, Withdraw, "b".to_string()),
            (1_000, Grant, "b".to_string()),
            (5_000, Grant, "a".to_string()),
            (5_000, Withdraw, "a".to_string()),
        ]
    );
    assert_eq!(
        reg.check("alice", "a"),
        ConsentState::Withdrawn,
        "same ms: later write wins"
    );
    assert_eq!(
        reg.check("alice", "b"),
        ConsentState::Granted,
        "later time wins"
    );
    let view = reg.show("alice").unwrap();
    assert_eq!(view.purposes.len(), 2);
    assert_eq!(view.purposes[0].state, ConsentState::Withdrawn);
    assert_eq!(view.purposes[1].state, ConsentState::Granted);
    assert!(reg.history("bob").unwrap().is_empty());
}

#[test]
fn state_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let reg = ConsentRegistry::open(dir.path()).unwrap();
        reg.record("alice", ev(Grant, Some("support"), 1_000))
            .unwrap();
        reg.record("alice", ev(Restrict, None, 2_000)).unwrap();
        reg.record("bob", ev(Withdraw, Some("support"), 1_000))
            .unwrap();
    }
    let reg = ConsentRegistry::open(dir.path()).unwrap();
    assert_eq!(reg.check("alice", "support"), ConsentState::Granted);
    assert!(reg.restricted("alice"));
    assert_eq!(reg.check("bob", "support"), ConsentState::Withdrawn);
    assert_eq!(reg.history("alice").unwrap().len(), 2);
    // New writes after a reopen still sort after old ones at the same time.
    reg.record("bob", ev(Grant, Some("support"), 1_000))
        .unwrap();
    assert_eq!(reg.check("bob", "support"), ConsentState::Granted);
}

#[test]
fn a_missing_or_wrong_key_is_refused_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    {
        let reg = ConsentRegistry::open(dir.path()).unwrap();
        reg.record("alice", ev(Grant, Some("support"), 1_000))
            .unwrap();
    }
    let key = dir.path().join(KEY_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let original = std::fs::read(&key).unwrap();
    std::fs::remove_file(&key).unwrap();
    let err = ConsentRegistry::open(dir.path()).unwrap_err();
    assert!(matches!(err, ConsentError::Key(_)), "{err}");
    crate::audit::crypto::write_atomic(&key, "ab".repeat(32).as_bytes()).unwrap();
    let err = ConsentRegistry::open(dir.path()).unwrap_err();
    assert!(matches!(err, ConsentError::Key(_)), "{err}");
    crate::audit::crypto::write_atomic(&key, &original).unwrap();
    let reg = ConsentRegistry::open(dir.path()).unwrap();
    assert_eq!(reg.check("alice", "support"), ConsentState::Granted);
}

#[test]
fn invalid_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let reg = ConsentRegistry::open(dir.path()).unwrap();
    for p in ["", "Marketing", "has space", "ümlaut", &"x".repeat(65)] {
        assert!(
            matches!(
                reg.record("alice", ev(Grant, Some(p), 1)),
                Err(ConsentError::InvalidPurpose)
            ),
            "{p:?}"
        );
    }
    assert!(validate_purpose("support_v2-eu").is_ok());
    assert!(reg.record("alice", ev(Grant, None, 1)).is_err());
    assert!(reg.record("alice", ev(Restrict, Some("x"), 1)).is_err());
    assert!(reg.record("", ev(Grant, Some("x"), 1)).is_err());
    let mut e = ev(Grant, Some("x"), 1);
    e.source = "a\nb".into();
    assert!(reg.record("alice", e).is_err());
    assert_eq!(reg.subjects(), 0);
}

#[test]
fn purge_keeps_the_current_state_of_every_slot() {
    let dir = tempfile::tempdir().unwrap();
    let reg = ConsentRegistry::open(dir.path()).unwrap();
    let day = 86_400_000;
    let now = 100 * day;
    // Old history: grant, withdraw, grant for support; restrict, unrestrict.
    reg.record("alice", ev(Grant, Some("support"), day))
        .unwrap();
    reg.record("alice", ev(Withdraw, Some("support"), 2 * day))
        .unwrap();
    reg.record("alice", ev(Grant, Some("support"), 3 * day))
        .unwrap();
    reg.record("alice", ev(Restrict, None, 4 * day)).unwrap();
    reg.record("alice", ev(Unrestrict, None, 5 * day)).unwrap();
    // One old event that is also current, one recent history.
    reg.record("alice", ev(Withdraw, Some("training"), day))
        .unwrap();
    reg.record("bob", ev(Grant, Some("support"), 10 * day))
        .unwrap();
    reg.record("bob", ev(Withdraw, Some("support"), 95 * day))
        .unwrap();
    let report = reg.purge(Duration::from_millis(30 * day), now).unwrap();
    assert_eq!(
        report,
        PurgeReport {
            deleted: 4,
            kept_current: 3,
            remaining: 4
        }
    );
    assert_eq!(reg.check("alice", "support"), ConsentState::Granted);
    assert_eq!(reg.check("alice", "training"), ConsentState::Withdrawn);
    assert!(!reg.restricted("alice"));
    assert_eq!(reg.check("bob", "support"), ConsentState::Withdrawn);
    let kinds: Vec<_> = reg
        .history("alice")
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, vec![Withdraw, Grant, Unrestrict]);
    // The same after a reopen: what was kept still folds to the same state.
    drop(reg);
    let reg = ConsentRegistry::open(dir.path()).unwrap();
    assert_eq!(reg.check("alice", "support"), ConsentState::Granted);
    assert_eq!(reg.check("bob", "support"), ConsentState::Withdrawn);
    assert_eq!(
        reg.purge(Duration::from_millis(30 * day), now)
            .unwrap()
            .deleted,
        0
    );
}

#[test]
fn erasure_deletes_the_subjects_history_only() {
    let dir = tempfile::tempdir().unwrap();
    let reg = ConsentRegistry::open(dir.path()).unwrap();
    reg.record("alice", ev(Grant, Some("support"), 1)).unwrap();
    reg.record("alice", ev(Restrict, None, 2)).unwrap();
    reg.record("bob", ev(Grant, Some("support"), 1)).unwrap();
    assert_eq!(reg.erase_subject("alice").unwrap(), 2);
    assert_eq!(reg.check("alice", "support"), ConsentState::Missing);
    assert!(!reg.restricted("alice"));
    assert!(reg.history("alice").unwrap().is_empty());
    assert_eq!(reg.check("bob", "support"), ConsentState::Granted);
    drop(reg);
    let reg = ConsentRegistry::open(dir.path()).unwrap();
    assert_eq!(reg.check("alice", "support"), ConsentState::Missing);
    assert_eq!(reg.erase_subject("alice").unwrap(), 0);
}

/// The blind index on disk: the subject id is in no file of the store, while the evidence text
/// (stored in clear) is, which shows the scan reads what sled wrote.
#[test]
fn raw_subject_ids_never_reach_the_store_files() {
    let dir = tempfile::tempdir().unwrap();
    let subject = "subject-canary-5c1f9e@example.org";
    {
        let reg = ConsentRegistry::open(dir.path()).unwrap();
        for i in 0..20 {
            let mut e = ev(Grant, Some("support"), i);
            e.evidence = Some("evidence-marker-77".into());
            reg.record(subject, e).unwrap();
        }
        reg.record(subject, ev(Restrict, None, 100)).unwrap();
    }
    let mut evidence_seen = false;
    let mut files = 0;
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        files += 1;
        let bytes = std::fs::read(&p).unwrap();
        let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(
            !has(subject.as_bytes()),
            "{} holds the subject id",
            p.display()
        );
        evidence_seen |= has(b"evidence-marker-77");
    }
    assert!(files >= 2 && evidence_seen, "the scan saw the store's data");
}

#[test]
fn record_view_reports_the_state_after_the_write() {
    let dir = tempfile::tempdir().unwrap();
    let reg = ConsentRegistry::open(dir.path()).unwrap();
    let v = reg
        .record_view("alice", ev(Grant, Some("support"), 1))
        .unwrap();
    assert_eq!(v.state, Some(ConsentState::Granted));
    assert!(
        v.to_line().contains("consent is now granted"),
        "{}",
        v.to_line()
    );
    let v = reg.record_view("alice", ev(Restrict, None, 2)).unwrap();
    assert_eq!((v.state, v.restricted), (None, true));
    let table = reg.show("alice").unwrap().to_table();
    assert!(table.contains("restricted (Art. 18): yes"), "{table}");
    assert!(
        table.contains("support") && table.contains("form-17"),
        "{table}"
    );
}

#[test]
fn a_batch_is_validated_whole_then_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let reg = ConsentRegistry::open(dir.path()).unwrap();
    let bad = [
        ("alice", ev(Grant, Some("support"), 1)),
        ("bob", ev(Grant, Some("NOT OK"), 1)),
    ];
    assert!(reg.record_batch(&bad).is_err());
    assert_eq!(
        reg.subjects(),
        0,
        "nothing written when one event is invalid"
    );
    let items: Vec<(String, ConsentEvent)> = (0..100)
        .map(|i| (format!("user-{i}"), ev(Grant, Some("support"), i)))
        .collect();
    let refs: Vec<(&str, ConsentEvent)> =
        items.iter().map(|(s, e)| (s.as_str(), e.clone())).collect();
    assert_eq!(reg.record_batch(&refs).unwrap().len(), 100);
    assert_eq!(reg.subjects(), 100);
    drop(reg);
    let reg = ConsentRegistry::open(dir.path()).unwrap();
    assert_eq!(reg.check("user-42", "support"), ConsentState::Granted);
}

/// Checks run while writes happen on other threads; once `record` returns, every check
/// everywhere sees it (RELIABILITY C1: consent withdrawn between two requests).
#[test]
fn a_withdrawal_is_seen_by_the_next_check_on_any_thread() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let reg = Arc::new(ConsentRegistry::open(dir.path()).unwrap());
    reg.record("alice", ev(Grant, Some("support"), 1)).unwrap();
    let withdrawn = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (reg, withdrawn) = (reg.clone(), withdrawn.clone());
            std::thread::spawn(move || {
                let mut checks = 0u64;
                loop {
                    // Read the flag first: if it was set, the withdrawal had returned.
                    let after = withdrawn.load(Ordering::SeqCst);
                    let state = reg.check("alice", "support");
                    if after {
                        assert_eq!(state, ConsentState::Withdrawn);
                        return checks;
                    }
                    checks += 1;
                }
            })
        })
        .collect();
    for i in 0..20 {
        reg.record(&format!("other-{i}"), ev(Grant, Some("support"), 2))
            .unwrap();
    }
    reg.record("alice", ev(Withdraw, Some("support"), 3))
        .unwrap();
    withdrawn.store(true, Ordering::SeqCst);
    let checks: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    println!("{checks} checks ran during 21 durable writes");
}
