//! The audit trail on the request path: every routed exchange leaves an encrypted record (the
//! intent durable before anything goes upstream, completed when the exchange ends); a store that
//! cannot write in time means 503 and nothing forwarded; the store holds no values in clear.

use std::time::Duration;

use privgate::audit::{AuditFilter, Decision, EntryContent};
use serde_json::json;

use crate::common::{assert_no_leak, start_proxy, Canaries, FakeUpstream, TestProxy};

async fn entries_for(
    proxy: &TestProxy,
    subject: &str,
    want: usize,
) -> Vec<privgate::audit::AuditEntry> {
    let audit = proxy
        .server
        .state
        .audit
        .clone()
        .expect("audit is on by default");
    let filter = AuditFilter {
        subject: Some(audit.subject_ref(subject)),
        ..AuditFilter::default()
    };
    // Completions are written after the response: wait for them.
    for _ in 0..100 {
        let entries = audit.query(filter.clone()).await.unwrap();
        let done = |e: &privgate::audit::AuditEntry| {
            e.completion_seq.is_some() || matches!(e.decision(), Some(Decision::Blocked { .. }))
        };
        if entries.len() >= want && entries.iter().all(done) {
            return entries;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("audit records for the subject never completed");
}

#[tokio::test]
async fn every_exchange_leaves_an_encrypted_record() {
    let up = FakeUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        "id = \"p\"\nversion = \"1\"\n[actions]\nUS_SSN = \"block\"\n",
    )
    .unwrap();
    let pdir = dir.path().to_path_buf();
    let proxy = start_proxy(&up, move |c| {
        c.server.policies_dir = Some(pdir);
        c.server.policy = "p".into();
    })
    .await;
    let c = Canaries::new();
    let resp = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("x-privgate-subject", "customer-4711")
        .json(&json!({"model": "gpt-4o", "messages": [{"role": "user", "content": format!("mail {} card {}", c.email, c.card)}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        !up.last().headers.contains_key("x-privgate-subject"),
        "the subject header stays with privgate"
    );
    let resp = proxy
        .post(
            "/v1/chat/completions",
            &json!({"model": "gpt-4o", "user": "customer-4711",
            "messages": [{"role": "user", "content": format!("ssn {}", c.ssn)}]}),
        )
        .await;
    assert_eq!(resp.status(), 400);

    let entries = entries_for(&proxy, "customer-4711", 2).await;
    assert_eq!(
        entries.len(),
        2,
        "one record per exchange, found by the subject's blind index"
    );
    let EntryContent::Record { record, completion } = &entries[0].content else {
        panic!("a readable record")
    };
    assert_eq!(record.route, "/v1/chat/completions");
    assert_eq!(record.model.as_deref(), Some("gpt-4o"));
    assert_eq!(record.policy_id, "p");
    let mut types: Vec<&str> = record.entities.iter().map(|e| e.entity.as_str()).collect();
    types.sort_unstable();
    assert_eq!(types, ["CREDIT_CARD", "EMAIL"]);
    assert_eq!(completion.as_ref().unwrap().decision, Decision::Forwarded);
    assert_eq!(completion.as_ref().unwrap().client_status, Some(200));
    assert_eq!(
        entries[1].decision(),
        Some(&Decision::Blocked {
            code: "pii_blocked".into()
        })
    );

    // The store on disk holds ciphertext only: no value and no subject id in clear.
    let mut raw = Vec::new();
    for entry in walk(&proxy.dir.path().join("data")) {
        raw.extend(std::fs::read(entry).unwrap_or_default());
    }
    let raw = String::from_utf8_lossy(&raw);
    assert_no_leak(&raw, &c, "the data directory");
    assert!(
        !raw.contains("customer-4711"),
        "subject ids are stored as blind indexes"
    );
    assert!(!raw.contains("gpt-4o"), "record payloads are encrypted");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test]
async fn an_audit_store_that_cannot_write_fails_closed_and_recovers_by_itself() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    // A real fault: the key ring cannot be written (a directory in its place), so a new
    // subject's data key cannot be made durable.
    let keys = proxy.dir.path().join("data/keys");
    let ring = keys.join("keyring.jsonl");
    let aside = keys.join("keyring.aside");
    std::fs::rename(&ring, &aside).unwrap();
    std::fs::create_dir(&ring).unwrap();
    let ask = |subject: &'static str| {
        proxy
            .client
            .post(proxy.url("/v1/chat/completions"))
            .header("x-privgate-subject", subject)
            .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
    };
    let resp = ask("new-subject-1").await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "1");
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "audit_unavailable");
    assert!(up.requests().is_empty(), "nothing goes upstream unrecorded");
    let m = proxy.metrics().await;
    assert!(
        m.contains("privgate_audit_write_failures_total{reason=\"io\"}"),
        "{m}"
    );
    let ready = reqwest::get(format!("{}/readyz", proxy.admin))
        .await
        .unwrap();
    assert_eq!(
        ready.status(),
        503,
        "readiness fails while the audit store cannot write"
    );

    // Service resumes without a restart once the fault is gone.
    std::fs::remove_dir(&ring).unwrap();
    std::fs::rename(&aside, &ring).unwrap();
    assert_eq!(ask("new-subject-2").await.unwrap().status(), 200);
    assert_eq!(up.requests().len(), 1);
    let ready = reqwest::get(format!("{}/readyz", proxy.admin))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200, "and readiness with it");
}

#[tokio::test]
async fn a_fail_open_policy_forwards_unrecorded_and_says_so() {
    let up = FakeUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("open.toml"),
        "id = \"open\"\nversion = \"1\"\n[audit]\ndangerous_audit_fail_open = true\nrecord_redacted_text = true\n",
    )
    .unwrap();
    let pdir = dir.path().to_path_buf();
    let proxy = start_proxy(&up, move |c| {
        c.server.policies_dir = Some(pdir);
        c.server.policy = "open".into();
    })
    .await;
    // The redacted prompt is kept (encrypted) when the policy asks for it.
    let resp = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("x-privgate-subject", "kept-text")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "mail lea.moser@example.com"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let entries = entries_for(&proxy, "kept-text", 1).await;
    let EntryContent::Record { record, .. } = &entries[0].content else {
        panic!("a readable record")
    };
    let kept = record.prompt_text.as_deref().expect("redacted prompt kept");
    assert!(kept.contains("<EMAIL_") && !kept.contains("lea.moser@example.com"));

    let keys = proxy.dir.path().join("data/keys");
    std::fs::rename(keys.join("keyring.jsonl"), keys.join("aside")).unwrap();
    std::fs::create_dir(keys.join("keyring.jsonl")).unwrap();
    let resp = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("x-privgate-subject", "another-new-subject")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "fail-open forwards");
    let m = proxy.metrics().await;
    assert!(m.contains("reason=\"fail_open_forwarded\"} 1"), "{m}");
}

#[tokio::test]
async fn content_privgate_cannot_read_is_noted_in_the_record() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let resp = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("x-privgate-subject", "img-user")
        .json(
            &json!({"model": "m", "messages": [{"role": "user", "content": [
                {"type": "text", "text": "what is in this picture?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
            ]}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let entries = entries_for(&proxy, "img-user", 1).await;
    let EntryContent::Record { record, .. } = &entries[0].content else {
        panic!("a readable record")
    };
    let note = record
        .entities
        .iter()
        .find(|e| e.entity == "UNREADABLE_CONTENT")
        .expect("the record notes the image");
    assert_eq!((note.action.as_str(), note.count), ("allow", 1));
}
