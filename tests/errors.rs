//! Bad input and upstream failures: each gets its status and stable code, in the client's
//! provider shape, and is counted.

use serde_json::{json, Value};

use crate::common::{start_proxy, FakeUpstream};

async fn expect_error(resp: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status(), status, "status for {code}");
    assert_eq!(resp.headers()["content-type"], "application/json");
    let v: Value = resp.json().await.unwrap();
    let got = v["error"]["code"].as_str().unwrap_or_default();
    assert_eq!(got, code, "{v}");
    v
}

#[tokio::test]
async fn bad_requests_get_their_codes_and_nothing_goes_upstream() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |c| c.limits.max_body_bytes = 64 * 1024).await;
    let post_raw = |path: &'static str, body: Vec<u8>| {
        proxy
            .client
            .post(proxy.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let v = expect_error(
        post_raw("/v1/chat/completions", b"{not json".to_vec())
            .await
            .unwrap(),
        400,
        "invalid_json",
    )
    .await;
    assert_eq!(v["error"]["type"], "invalid_request_error");
    expect_error(
        post_raw("/v1/chat/completions", b"{\"a\":\"\xff\xfe\"}".to_vec())
            .await
            .unwrap(),
        400,
        "invalid_utf8",
    )
    .await;
    expect_error(
        post_raw("/v1/chat/completions", vec![b' '; 65 * 1024])
            .await
            .unwrap(),
        413,
        "body_too_large",
    )
    .await;
    expect_error(
        post_raw("/v1/chat/completions", b"[1,2]".to_vec())
            .await
            .unwrap(),
        400,
        "unsupported_shape",
    )
    .await;
    expect_error(
        post_raw(
            "/v1/chat/completions",
            br#"{"messages":[{"role":"user","content":[{"type":"hologram"}]}]}"#.to_vec(),
        )
        .await
        .unwrap(),
        400,
        "unsupported_shape",
    )
    .await;
    let deep = format!(
        "{{\"messages\":[],\"x\":{}{}}}",
        "[".repeat(100),
        "]".repeat(100)
    );
    expect_error(
        post_raw("/v1/chat/completions", deep.into_bytes())
            .await
            .unwrap(),
        400,
        "json_too_deep",
    )
    .await;
    expect_error(
        post_raw("/v1/nope", b"{}".to_vec()).await.unwrap(),
        404,
        "not_found",
    )
    .await;
    let resp = proxy
        .client
        .get(proxy.url("/v1/chat/completions"))
        .send()
        .await
        .unwrap();
    expect_error(resp, 405, "method_not_allowed").await;
    let resp = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("content-encoding", "gzip")
        .body(vec![0x1f, 0x8b, 0, 0])
        .send()
        .await
        .unwrap();
    expect_error(resp, 415, "unsupported_encoding").await;
    assert!(
        up.requests().is_empty(),
        "no rejected request reached the upstream"
    );

    let m = proxy.metrics().await;
    assert!(m.contains(r#"privgate_blocked_requests_total{reason="invalid_json"} 1"#));
    assert!(m.contains(r#"privgate_blocked_requests_total{reason="body_too_large"} 1"#));
}

#[tokio::test]
async fn anthropic_paths_get_anthropic_errors() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let resp = proxy
        .client
        .post(proxy.url("/v1/messages"))
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(v["error"]["code"], "invalid_json");
}

#[tokio::test]
async fn upstream_unreachable_is_502() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut up = FakeUpstream::start().await;
    up.url = format!("http://127.0.0.1:{port}");
    let proxy = start_proxy(&up, |_| {}).await;
    let resp = proxy
        .post(
            "/v1/chat/completions",
            &json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    expect_error(resp, 502, "upstream_unavailable").await;
    let resp = proxy
        .client
        .post(proxy.url("/v1/messages"))
        .json(&json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["code"], "upstream_unavailable");
}

#[tokio::test]
async fn upstream_reset_before_answering_is_502() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let resp = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("x-fake-mode", "reset")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    expect_error(resp, 502, "upstream_unavailable").await;
    assert_eq!(up.requests().len(), 1, "a POST is never retried once sent");
}

#[tokio::test]
async fn upstream_too_slow_is_504() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |c| c.limits.upstream_timeout_ms = 300).await;
    let resp = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("x-fake-mode", "sleep:3000")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    expect_error(resp, 504, "upstream_timeout").await;
}

#[tokio::test]
async fn a_detector_over_its_time_budget_fails_closed() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |c| {
        c.limits.scan_budget_ms = 1;
        c.limits.max_body_bytes = 8 * 1024 * 1024;
    })
    .await;
    let c = crate::common::Canaries::new();
    // Many slots of PII-dense text: far more than 1 ms of detection, scanned off the workers.
    let messages: Vec<Value> = (0..2000)
        .map(|_| json!({"role": "user", "content": c.sentence()}))
        .collect();
    let resp = proxy
        .post(
            "/v1/chat/completions",
            &json!({"model": "m", "messages": messages}),
        )
        .await;
    assert_eq!(resp.headers()["retry-after"], "1");
    expect_error(resp, 503, "redaction_unavailable").await;
    assert!(up.requests().is_empty(), "nothing went upstream unscanned");
    let m = proxy.metrics().await;
    assert!(
        m.contains(r#"privgate_redaction_failures_total{stage="request"} 1"#),
        "{m}"
    );
}
