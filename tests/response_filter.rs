//! Response-side actions: personal data the model writes itself is handled per the policy's
//! `[response]` actions (here: e-mail masked), in plain and streamed answers, while the caller's
//! own values (which come back as placeholders) are restored untouched.

use serde_json::{json, Value};

use crate::common::{start_proxy, FakeUpstream, TestProxy};

const POLICY: &str = r#"
id = "out"
version = "1"
[actions]
EMAIL = "allow"      # the request may carry e-mails (so the fake model repeats one)
PHONE = "pseudonymise"
[response]
default_action = "allow"
holdback_bytes = 96
[response.actions]
EMAIL = "mask"
"#;

async fn proxy(up: &FakeUpstream) -> (TestProxy, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("out.toml"), POLICY).unwrap();
    let pdir = dir.path().to_path_buf();
    let p = start_proxy(up, move |c| {
        c.server.policies_dir = Some(pdir);
        c.server.policy = "out".into();
    })
    .await;
    (p, dir)
}

const EMAIL: &str = "bob.jones@example.net";
const PHONE: &str = "+44 20 7946 0321";

#[tokio::test]
async fn model_written_pii_is_masked_and_the_callers_values_restored() {
    let up = FakeUpstream::start().await;
    let (proxy, _dir) = proxy(&up).await;
    let prompt = format!("write to {EMAIL} and call {PHONE} today");
    let resp = proxy
        .post(
            "/v1/chat/completions",
            &json!({"model": "m", "messages": [{"role": "user", "content": prompt}]}),
        )
        .await;
    let v: Value = resp.json().await.unwrap();
    let text = v["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(
        up.last().text().contains(EMAIL),
        "the request allowed the e-mail"
    );
    assert!(
        !text.contains(EMAIL),
        "the answer's e-mail is masked: {text}"
    );
    assert!(text.contains(&"*".repeat(EMAIL.len())), "{text}");
    assert!(
        text.contains(PHONE),
        "the caller's phone comes back restored: {text}"
    );
}

#[tokio::test]
async fn streamed_answers_get_the_same_treatment_within_the_holdback() {
    let up = FakeUpstream::start().await;
    let (proxy, _dir) = proxy(&up).await;
    let prompt = format!("write to {EMAIL} and call {PHONE} today, or {EMAIL} again");
    for path in ["/v1/chat/completions", "/v1/messages"] {
        let resp = proxy
            .client
            .post(proxy.url(path))
            .header("x-fake-mode", "sse")
            .json(&json!({"model": "m", "max_tokens": 50, "stream": true, "messages": [{"role": "user", "content": prompt}]}))
            .send()
            .await
            .unwrap();
        let raw = resp.text().await.unwrap();
        let text: String = raw
            .split("\n\n")
            .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
            .filter(|d| *d != "[DONE]")
            .map(|d| serde_json::from_str::<Value>(d).unwrap())
            .filter_map(|v| {
                v["choices"][0]["delta"]["content"]
                    .as_str()
                    .or(v["delta"]["text"].as_str())
                    .map(str::to_string)
            })
            .collect();
        let masked = "*".repeat(EMAIL.len());
        assert_eq!(
            text,
            format!("write to {masked} and call {PHONE} today, or {masked} again"),
            "{path}"
        );
    }
}
