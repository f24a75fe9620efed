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
