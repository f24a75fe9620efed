//! Policies reload without a restart: a valid change is picked up, an invalid one is refused
//! and the previous policy stays in force.

use std::time::Duration;

use serde_json::json;

use crate::common::{start_proxy, FakeUpstream, TestProxy};

const V1: &str = "id = \"support\"\nversion = \"1\"\n[actions]\nEMAIL = \"pseudonymise\"\n";
const V2: &str = "id = \"support\"\nversion = \"2\"\n[actions]\nEMAIL = \"mask\"\n";
const BROKEN: &str = "id = \"support\"\nversion = \"3\"\n[actions]\nEMAIL = \"vaporise\"\n";

async fn wait_for_metric(proxy: &TestProxy, needle: &str) {
    for _ in 0..100 {
        if proxy.metrics().await.contains(needle) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("metric {needle} never appeared");
}

async fn forwarded_text(proxy: &TestProxy, up: &FakeUpstream) -> String {
    let resp = proxy
        .post("/v1/chat/completions", &json!({"model": "m", "messages": [{"role": "user", "content": "to kim.lee@example.com"}]}))
        .await;
    assert_eq!(resp.status(), 200);
    up.last().json()["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn policy_files_reload_and_invalid_changes_are_refused() {
    let up = FakeUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("support.toml");
    std::fs::write(&file, V1).unwrap();
    let pdir = dir.path().to_path_buf();
    let proxy = start_proxy(&up, move |c| {
        c.server.policies_dir = Some(pdir);
        c.server.policy = "support".into();
    })
    .await;
    assert!(forwarded_text(&proxy, &up).await.starts_with("to <EMAIL_"));

    std::fs::write(&file, V2).unwrap();
    wait_for_metric(&proxy, r#"privgate_policy_reloads_total{result="ok"} 2"#).await;
    assert_eq!(
        forwarded_text(&proxy, &up).await,
        format!("to {}", "*".repeat("kim.lee@example.com".len()))
    );

    std::fs::write(&file, BROKEN).unwrap();
    wait_for_metric(&proxy, r#"privgate_policy_reloads_total{result="error"} 1"#).await;
    assert_eq!(
        forwarded_text(&proxy, &up).await,
        format!("to {}", "*".repeat("kim.lee@example.com".len())),
        "the last good policy stays in force"
    );
}

/// RELIABILITY C1: policies swap while requests are in flight. Every request is answered, and
/// each one was handled whole by the old or by the new policy: its two e-mail addresses (in two
/// messages, scanned separately) are either both pseudonymised or both masked, never one of each
/// and never sent in clear.
#[tokio::test]
async fn a_reload_under_load_loses_no_request_and_never_mixes_policies() {
    let up = FakeUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("support.toml");
    std::fs::write(&file, V1).unwrap();
    let pdir = dir.path().to_path_buf();
    let proxy = std::sync::Arc::new(
        start_proxy(&up, move |c| {
            c.server.policies_dir = Some(pdir);
            c.server.policy = "support".into();
        })
        .await,
    );
    const CLIENTS: usize = 12;
    // Clients keep sending until the flipping is over, so traffic spans every version.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let proxy = proxy.clone();
        let done = done.clone();
        clients.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            let mut i = 0;
            while i < 5 || !done.load(std::sync::atomic::Ordering::SeqCst) {
                i += 1;
                let body = json!({"model": "m", "user": format!("c{c}-{i}"), "messages": [
                    {"role": "user", "content": "first ann.lee@example.com"},
                    {"role": "user", "content": "second bo.chan@example.com"}]});
                statuses.push(
                    proxy
                        .post("/v1/chat/completions", &body)
                        .await
                        .status()
                        .as_u16(),
                );
            }
            statuses
        }));
    }
    // Meanwhile: the file flips between the two versions (atomically, by rename), with a broken
    // version in between, and explicit reloads are asked for as well (as SIGHUP or
    // POST /admin/reload would).
    let state = proxy.server.state.clone();
    let done_flag = done.clone();
    let flipper = tokio::spawn(async move {
        for round in 0..12 {
            let text = match round % 3 {
                0 => V2,
                1 => BROKEN,
                _ => V1,
            };
            let tmp = file.with_extension("tmp");
            std::fs::write(&tmp, text).unwrap();
            std::fs::rename(&tmp, &file).unwrap();
            let _ = state.reload_policies();
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        done_flag.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let mut answered = 0;
    for c in clients {
        let statuses = c.await.unwrap();
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        answered += statuses.len();
    }
    flipper.await.unwrap();
    let seen = up.requests();
    assert_eq!(
        seen.len(),
        answered,
        "every request reached the upstream once"
    );
    let masked =
        |s: &str, v: &str| s == format!("{} {}", v, "*".repeat("ann.lee@example.com".len()));
    let (mut old, mut new) = (0, 0);
    for r in &seen {
        let body = r.json();
        let a = body["messages"][0]["content"].as_str().unwrap().to_string();
        let b = body["messages"][1]["content"].as_str().unwrap().to_string();
        assert!(
            !a.contains("ann.lee") && !b.contains("bo.chan"),
            "{a} / {b}"
        );
        if a.starts_with("first <EMAIL_") && b.starts_with("second <EMAIL_") {
            old += 1;
        } else if masked(&a, "first") && masked(&b, "second") {
            new += 1;
        } else {
            panic!("one request saw two policies, or neither: {a:?} / {b:?}");
        }
    }
    assert!(
        old > 0 && new > 0,
        "both versions served traffic: {old} old, {new} new"
    );
    eprintln!(
        "C1 reload under load: {answered} answered, 0 lost, {old} under v1, {new} under v2, 0 mixed"
    );
    let metrics = proxy.metrics().await;
    assert!(
        metrics.contains("privgate_policy_reloads_total{result=\"error\"}"),
        "{metrics}"
    );
}
