//! Forwarding: headers, streaming pass-through, model listing, HTTPS upstreams, HTTP/2.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;

use crate::common::{fixture_events, start_proxy, FakeUpstream};

#[tokio::test]
async fn credentials_and_other_headers_pass_hop_by_hop_do_not() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let resp = proxy
        .client
        .post(proxy.url("/v1/messages?beta=true"))
        .header("x-api-key", "sk-ant-abc")
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "tools-2024-04-04")
        .header("x-eval-id", "rec-1")
        .header("connection", "x-drop-me")
        .header("x-drop-me", "1")
        .header("x-privgate-subject", "subject-1")
        .json(&json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("x-request-id"));
    let r = up.last();
    assert_eq!(r.path, "/v1/messages?beta=true");
    assert_eq!(r.headers["x-api-key"], "sk-ant-abc");
    assert_eq!(r.headers["anthropic-version"], "2023-06-01");
    assert_eq!(r.headers["anthropic-beta"], "tools-2024-04-04");
    assert_eq!(r.headers["x-eval-id"], "rec-1");
    assert!(!r.headers.contains_key("x-drop-me"), "named in Connection");
    assert!(
        !r.headers.contains_key("x-privgate-subject"),
        "privgate's own headers stay"
    );
    assert_eq!(r.headers["host"], format!("localhost:{}", up.addr.port()));
    assert_eq!(
        r.headers["content-length"].to_str().unwrap(),
        r.body.len().to_string()
    );
}

#[tokio::test]
async fn openai_sse_is_passed_through_event_by_event() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let resp = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("x-fake-mode", "sse-gated")
        .json(
            &json!({"model": "m", "stream": true, "stream_options": {"include_usage": true},
            "messages": [{"role": "user", "content": "one two three"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut stream = resp.bytes_stream();
    // The upstream holds everything after the first event until the gate opens: if privgate
    // buffered the answer, this first read would hang.
    let first = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("the first event arrives before the upstream finishes")
        .unwrap()
        .unwrap();
    let fixture = fixture_events("openai_chat_stream.jsonl");
    assert_eq!(first, format!("data: {}\n\n", fixture[0]));
    up.gate.notify_one();
    let mut rest = Vec::new();
    while let Some(chunk) = stream.next().await {
        rest.extend_from_slice(&chunk.unwrap());
    }
    let rest = String::from_utf8(rest).unwrap();
    assert!(rest.contains(": keep-alive comment\n\n"), "comments pass");
    assert!(rest.ends_with("data: [DONE]\n\n"));
    let text: String = rest
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str::<serde_json::Value>(d).unwrap())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(text, "one two three");
    let m = proxy.metrics().await;
    assert!(
        m.contains("privgate_active_streams 0"),
        "the stream gauge returns to zero"
    );
}

#[tokio::test]
async fn anthropic_sse_framing_is_intact() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let resp = proxy
        .client
        .post(proxy.url("/v1/messages"))
        .header("x-fake-mode", "sse")
        .json(&json!({"model": "m", "max_tokens": 5, "stream": true, "messages": [{"role": "user", "content": "hello there"}]}))
        .send()
        .await
        .unwrap();
    let body = resp.text().await.unwrap();
    let names: Vec<&str> = body
        .split("\n\n")
        .filter_map(|e| e.lines().next()?.strip_prefix("event: "))
        .collect();
    let deltas = names
        .iter()
        .filter(|n| **n == "content_block_delta")
        .count();
    assert_eq!(
        deltas,
        "hello there".len().div_ceil(3),
        "one event per upstream delta"
    );
    let other: Vec<&str> = names
        .into_iter()
        .filter(|n| *n != "content_block_delta")
        .collect();
    assert_eq!(
        other,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
}

#[tokio::test]
async fn a_midstream_upstream_reset_gives_a_visibly_incomplete_stream() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    for (path, body, error_marker) in [
        (
            "/v1/chat/completions",
            json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "a b c"}]}),
            "data: {\"error\":",
        ),
        (
            "/v1/messages",
            json!({"model": "m", "max_tokens": 5, "stream": true, "messages": [{"role": "user", "content": "a b c"}]}),
            "event: error\ndata: {\"type\":\"error\"",
        ),
    ] {
        let resp = proxy
            .client
            .post(proxy.url(path))
            .header("x-fake-mode", "reset-midstream")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let (got, failed) = crate::common::read_stream(resp).await;
        assert!(
            failed,
            "{path}: never a clean end of stream after an upstream failure"
        );
        let got = String::from_utf8_lossy(&got);
        assert!(
            got.contains(error_marker),
            "{path}: the provider's error event first: {got}"
        );
        assert!(got.contains("upstream_stream_interrupted"));
    }
    let m = proxy.metrics().await;
    assert!(
        m.contains(r#"privgate_streams_aborted_total{side="upstream"} 2"#),
        "{m}"
    );
}

#[tokio::test]
async fn a_client_that_goes_away_cancels_the_upstream_request() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let resp = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("x-fake-mode", "sse-gated")
        .json(&json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "a b c"}]}))
        .send()
        .await
        .unwrap();
    let mut stream = resp.bytes_stream();
    stream.next().await.unwrap().unwrap();
    drop(stream);
    let started = std::time::Instant::now();
    while up.cancelled.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the upstream request is cancelled within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let m = proxy.metrics().await;
    assert!(
        m.contains(r#"privgate_streams_aborted_total{side="client"} 1"#),
        "{m}"
    );
    assert!(m.contains("privgate_active_streams 0"));
}

#[tokio::test]
async fn models_listing_is_forwarded() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let resp = proxy
        .client
        .get(proxy.url("/v1/models"))
        .header("authorization", "Bearer sk-x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["data"][0]["id"], "fake-model");
    assert_eq!(up.last().headers["authorization"], "Bearer sk-x");
    assert_eq!(up.last().method, "GET");
}

#[tokio::test]
async fn https_upstream_with_an_extra_ca() {
    let dir = tempfile::tempdir().unwrap();
    let up = FakeUpstream::start_tls(dir.path()).await;
    let proxy = start_proxy(&up, |_| {}).await;
    let resp = proxy
        .post(
            "/v1/chat/completions",
            &json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(up.requests().len(), 1);
}

#[tokio::test]
async fn https_upstream_with_an_untrusted_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut up = FakeUpstream::start_tls(dir.path()).await;
    up.ca = None; // privgate trusts only the public roots now
    let proxy = start_proxy(&up, |_| {}).await;
    let resp = proxy
        .post(
            "/v1/chat/completions",
            &json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(resp.status(), 502);
    assert!(up.requests().is_empty());
}

#[tokio::test]
async fn http2_by_alpn() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let resp = proxy
        .post(
            "/v1/chat/completions",
            &json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
    let h1 = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&proxy.ca).unwrap()).unwrap(),
        )
        .resolve("localhost", proxy.server.addr)
        .http1_only()
        .build()
        .unwrap();
    let resp = h1
        .post(proxy.url("/v1/chat/completions"))
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn admin_endpoints() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let health = reqwest::get(format!("{}/healthz", proxy.admin))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready: serde_json::Value = reqwest::get(format!("{}/readyz", proxy.admin))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["policy"], "gdpr-default");
    proxy
        .post("/v1/chat/completions", &json!({"model": "m", "messages": [{"role": "user", "content": "mail a.b@example.com"}]}))
        .await;
    let m = proxy.metrics().await;
    assert!(m.contains(r#"privgate_requests_total{provider="openai",route="/v1/chat/completions",status="2xx"} 1"#), "{m}");
    assert!(
        m.contains(r#"privgate_pii_detections_total{action="pseudonymise",entity="EMAIL",mode="enforce",policy="gdpr-default"} 1"#),
        "{m}"
    );
    assert!(m.contains("privgate_overhead_duration_seconds_bucket"));
}
