//! Request-side privacy and answer restoring, per wire format: no canary reaches the upstream,
//! the app gets its values back, secrets never come back.

use serde_json::json;

use crate::common::{assert_no_leak, start_proxy, Canaries, FakeUpstream};

#[tokio::test]
async fn openai_chat_every_slot_is_redacted_and_the_answer_restored() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let c = Canaries::new();
    let body = json!({
        "model": "gpt-4o",
        "user": "eval-42",
        "messages": [
            {"role": "system", "content": format!("The customer's e-mail is {}.", c.email)},
            {"role": "developer", "content": [{"type": "text", "text": c.secrets()}]},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "lookup", "arguments": json!({"iban": c.iban, "ip": c.ipv4}).to_string()}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": format!("found card {}", c.card)},
            {"role": "user", "content": [{"type": "text", "text": c.sentence()}, {"type": "text", "text": c.chinese()}]}
        ]
    });
    let resp = proxy.post("/v1/chat/completions", &body).await;
    assert_eq!(resp.status(), 200);
    let answer: serde_json::Value = resp.json().await.unwrap();

    let upstream = up.last();
    assert_no_leak(&upstream.text(), &c, "upstream body");
    let sent = upstream.json();
    assert_eq!(sent["user"], "eval-42", "the subject field is not content");
    let text = upstream.text();
    for tag in [
        "<EMAIL_",
        "<CREDIT_CARD_",
        "<IBAN_",
        "<IP_ADDRESS_",
        "<CN_PHONE_",
        "<CN_RESIDENT_ID_",
    ] {
        assert!(
            text.contains(tag),
            "upstream should see a {tag}…> placeholder"
        );
    }
    // Tool-call arguments stay valid JSON after redaction.
    let args = sent["messages"][2]["tool_calls"][0]["function"]["arguments"]
        .as_str()
        .unwrap();
    let args: serde_json::Value = serde_json::from_str(args).unwrap();
    assert!(args["iban"].as_str().unwrap().starts_with("<IBAN_"));

    let content = answer["choices"][0]["message"]["content"].as_str().unwrap();
    for v in c.restorable() {
        assert!(
            content.contains(v),
            "answer should have {v:?} restored: {content}"
        );
    }
}

#[tokio::test]
async fn one_mapping_per_request_same_value_same_placeholder() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let c = Canaries::new();
    let body = json!({"model": "m", "messages": [
        {"role": "user", "content": format!("write to {}", c.email)},
        {"role": "assistant", "content": format!("I will write to {}", c.email)},
        {"role": "user", "content": format!("and cc {} please", "olek.nowak.x2@example.net")}
    ]});
    assert_eq!(
        proxy.post("/v1/chat/completions", &body).await.status(),
        200
    );
    let sent = up.last().json();
    let p0 = sent["messages"][0]["content"]
        .as_str()
        .unwrap()
        .replace("write to ", "");
    let p1 = sent["messages"][1]["content"]
        .as_str()
        .unwrap()
        .replace("I will write to ", "");
    let p2 = sent["messages"][2]["content"]
        .as_str()
        .unwrap()
        .replace("and cc ", "")
        .replace(" please", "");
    assert_eq!(p0, p1, "same value, same placeholder across messages");
    assert_ne!(p0, p2, "two values never share a placeholder");
    assert!(p0.starts_with("<EMAIL_") && p2.starts_with("<EMAIL_"));
    // Stable across requests of the same caller (multi-turn histories stay consistent).
    assert_eq!(
        proxy.post("/v1/chat/completions", &body).await.status(),
        200
    );
    assert_eq!(up.last().json(), sent);
}

#[tokio::test]
async fn secrets_are_removed_and_never_restored() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let c = Canaries::new();
    let body = json!({"model": "m", "messages": [{"role": "user", "content": c.secrets()}]});
    let resp = proxy.post("/v1/chat/completions", &body).await;
    assert_eq!(resp.status(), 200);
    let answer = resp.text().await.unwrap();
    assert_no_leak(&up.last().text(), &c, "upstream body");
    for secret in [&c.openai_key, &c.aws_key, &c.github_token] {
        assert!(!answer.contains(secret.as_str()), "secrets are one-way");
    }
    assert!(up.last().text().contains("[API_KEY]"));
}

#[tokio::test]
async fn tool_call_arguments_in_answers_are_restored_as_valid_json() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let c = Canaries::new();
    let resp = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("x-fake-mode", "tool")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": format!("mail {}", c.email)}]}))
        .send()
        .await
        .unwrap();
    let answer: serde_json::Value = resp.json().await.unwrap();
    let args = answer["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
        .as_str()
        .unwrap();
    let args: serde_json::Value = serde_json::from_str(args).unwrap();
    assert_eq!(args["text"], format!("mail {}", c.email));
}

#[tokio::test]
async fn anthropic_messages_every_slot_is_redacted_and_restored() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let c = Canaries::new();
    let body = json!({
        "model": "claude-sonnet-4-5", "max_tokens": 100,
        "metadata": {"user_id": "subject-7"},
        "system": [{"type": "text", "text": format!("Customer phone {}", c.phone)}],
        "messages": [
            {"role": "user", "content": "look me up"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "crm",
                "input": {"email": c.email, "nested": {"ssn": c.ssn}}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": format!("card {}", c.card)}]},
                {"type": "text", "text": c.sentence()}
            ]}
        ]
    });
    let resp = proxy
        .client
        .post(proxy.url("/v1/messages"))
        .header("x-api-key", "sk-ant-test")
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer: serde_json::Value = resp.json().await.unwrap();
    let upstream = up.last();
    assert_no_leak(&upstream.text(), &c, "upstream body");
    assert_eq!(upstream.json()["metadata"]["user_id"], "subject-7");
    let text = answer["content"][0]["text"].as_str().unwrap();
    for v in [&c.email, &c.card, &c.iban, &c.ssn] {
        assert!(text.contains(v.as_str()), "restored {v:?} in {text}");
    }
}

#[tokio::test]
async fn responses_completions_and_embeddings_are_scanned() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let c = Canaries::new();
    let cases = [
        (
            "/v1/responses",
            json!({"model": "m", "instructions": format!("user ip {}", c.ipv4),
            "input": [{"role": "user", "content": [{"type": "input_text", "text": c.sentence()}]},
                      {"type": "function_call_output", "call_id": "c", "output": format!("iban {}", c.iban)}]}),
        ),
        (
            "/v1/responses",
            json!({"model": "m", "input": c.sentence()}),
        ),
        (
            "/v1/completions",
            json!({"model": "m", "prompt": [c.sentence(), c.chinese()]}),
        ),
        (
            "/v1/embeddings",
            json!({"model": "m", "input": c.sentence()}),
        ),
        (
            "/v1/embeddings",
            json!({"model": "m", "input": [c.sentence(), c.chinese()]}),
        ),
    ];
    for (path, body) in cases {
        let resp = proxy.post(path, &body).await;
        assert_eq!(resp.status(), 200, "{path}");
        let answer = resp.text().await.unwrap();
        assert_no_leak(&up.last().text(), &c, path);
        if path != "/v1/embeddings" {
            assert!(answer.contains(&c.email), "{path}: restored answer");
        }
    }
}

#[tokio::test]
async fn text_without_pii_is_forwarded_byte_for_byte() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let raw = r#"{"model":"m",  "messages":[{"role":"user","content":"What is the capital of France?"}]}"#;
    let resp = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        up.last().text(),
        raw,
        "nothing to redact: the body is not re-serialised"
    );
}

#[tokio::test]
async fn a_policy_that_blocks_refuses_without_contacting_the_upstream() {
    let up = FakeUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cards.toml"),
        "id = \"no-cards\"\nversion = \"1\"\n[actions]\nCREDIT_CARD = \"block\"\n",
    )
    .unwrap();
    let pdir = dir.path().to_path_buf();
    let proxy = start_proxy(&up, move |c| {
        c.server.policies_dir = Some(pdir);
        c.server.policy = "no-cards".into();
    })
    .await;
    let c = Canaries::new();
    let resp = proxy
        .post(
            "/v1/chat/completions",
            &json!({"model": "m", "messages": [{"role": "user", "content": c.sentence()}]}),
        )
        .await;
    assert_eq!(resp.status(), 400);
    let err: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["code"], "pii_blocked");
    let msg = err["error"]["message"].as_str().unwrap();
    assert!(msg.contains("CREDIT_CARD"), "names the type: {msg}");
    assert_no_leak(&err.to_string(), &c, "error body");
    assert!(up.requests().is_empty(), "nothing went upstream");

    let resp = proxy
        .client
        .post(proxy.url("/v1/messages"))
        .json(&json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": c.sentence()}]}))
        .send()
        .await
        .unwrap();
    let err: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        err["type"], "error",
        "Anthropic clients get Anthropic's error shape"
    );
    assert_eq!(err["error"]["code"], "pii_blocked");
}

#[tokio::test]
async fn upstream_error_bodies_are_restored_and_statuses_pass_through() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let c = Canaries::new();
    let resp = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("x-fake-mode", "status:429")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": format!("mail {}", c.email)}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");
    let err: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        err["error"]["message"],
        format!("cannot process: mail {}", c.email)
    );
    assert_no_leak(&up.last().text(), &c, "upstream body");
}

#[tokio::test]
async fn pii_in_headers_is_redacted_and_in_the_url_refused() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let c = Canaries::new();
    let resp = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("authorization", "Bearer sk-proj-abcdefghijklmnopqrstuvwxyz0123456789")
        .header("x-user-email", c.email.as_str())
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": format!("mail {}", c.email)}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let r = up.last();
    assert_eq!(
        r.headers["authorization"], "Bearer sk-proj-abcdefghijklmnopqrstuvwxyz0123456789",
        "credentials are not content"
    );
    let header = r.headers["x-user-email"].to_str().unwrap();
    assert!(header.starts_with("<EMAIL_"), "{header}");
    assert!(
        r.text().contains(header),
        "header and body share the request's mapping"
    );

    let resp = proxy
        .post(
            &format!("/v1/chat/completions?user={}", c.email.replace('@', "%40")),
            &json!({"model": "m", "messages": []}),
        )
        .await;
    assert_eq!(resp.status(), 400);
    let err: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["code"], "pii_in_url");
    assert_eq!(up.requests().len(), 1);
}

#[tokio::test]
async fn monitor_mode_forwards_unchanged_but_counts() {
    let up = FakeUpstream::start().await;
    let policies = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies");
    let proxy = start_proxy(&up, move |c| {
        c.server.policies_dir = Some(policies);
        c.server.policy = "monitor".into();
    })
    .await;
    let c = Canaries::new();
    let body = json!({"model": "m", "messages": [{"role": "user", "content": c.sentence()}]});
    let resp = proxy.post("/v1/chat/completions", &body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(up.last().json(), body, "forwarded unchanged");
    let m = proxy.metrics().await;
    assert!(
        m.contains(r#"privgate_pii_detections_total{action="pseudonymise",entity="EMAIL",mode="monitor",policy="monitor"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(r#"privgate_policy_info{mode="monitor",policy="monitor",version_hash=""#),
        "{m}"
    );
}
