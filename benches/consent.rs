//! Consent check cost: `ConsentRegistry::lookup` (one HMAC-SHA256 of the subject id, one hash
//! lookup under a read lock) with 100,000 subjects in the registry, for a subject with consent,
//! one without any, and one with several purposes; plus the load time of that registry (open =
//! scan every event into the in-memory index). Every request pays one lookup.
//!
//! Size with `PRIVGATE_BENCH_CONSENT_SUBJECTS` (default 100,000).

use std::time::Instant;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use privgate::consent::{ConsentEvent, ConsentEventKind, ConsentRegistry, ConsentState};

fn subjects() -> usize {
    std::env::var("PRIVGATE_BENCH_CONSENT_SUBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn event(kind: ConsentEventKind, purpose: &str, time_ms: u64) -> ConsentEvent {
    ConsentEvent {
        time_ms,
        kind,
        purpose: Some(purpose.into()),
        source: "bench".into(),
        evidence: Some("form-1".into()),
    }
}

fn checks(c: &mut Criterion) {
    let n = subjects();
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let reg = ConsentRegistry::open(dir.path()).expect("open");
        let ids: Vec<String> = (0..n).map(|i| format!("user-{i:08}@example.org")).collect();
        let started = Instant::now();
        for chunk in ids.chunks(10_000) {
            let items: Vec<(&str, ConsentEvent)> = chunk
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let kind = if i % 4 == 0 {
                        ConsentEventKind::Withdraw
                    } else {
                        ConsentEventKind::Grant
                    };
                    (s.as_str(), event(kind, "support", 1_700_000_000_000))
                })
                .collect();
            reg.record_batch(&items).expect("batch");
        }
        // One subject with several purposes and a long history.
        for (i, p) in ["support", "training", "analytics", "marketing", "research"]
            .iter()
            .enumerate()
        {
            for t in 0..4 {
                let kind = if (i + t) % 2 == 0 {
                    ConsentEventKind::Grant
                } else {
                    ConsentEventKind::Withdraw
                };
                reg.record("busy-subject", event(kind, p, t as u64))
                    .expect("record");
            }
        }
        println!(
            "setup: {n} subjects written in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let started = Instant::now();
    let reg = ConsentRegistry::open(dir.path()).expect("reopen");
    println!(
        "open (load the index of {} subjects): {:.0} ms",
        reg.subjects(),
        started.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(
        reg.check("user-00000001@example.org", "support"),
        ConsentState::Granted
    );

    let mut g = c.benchmark_group(format!("consent_check_{n}_subjects"));
    g.bench_function("granted", |b| {
        b.iter(|| reg.lookup(black_box("user-00000001@example.org"), black_box("support")))
    });
    g.bench_function("unknown_subject", |b| {
        b.iter(|| reg.lookup(black_box("nobody-at-all@example.org"), black_box("support")))
    });
    g.bench_function("five_purposes_last", |b| {
        b.iter(|| reg.lookup(black_box("busy-subject"), black_box("research")))
    });
    let mut i = 0usize;
    let ids: Vec<String> = (0..1024)
        .map(|k| format!("user-{:08}@example.org", (k * 97) % n))
        .collect();
    g.bench_function("rotating_subjects", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            reg.lookup(black_box(&ids[i]), black_box("support"))
        })
    });
    g.finish();
}

criterion_group!(benches, checks);
criterion_main!(benches);
