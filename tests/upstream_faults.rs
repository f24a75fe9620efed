//! RELIABILITY F: upstream failures a fake vendor cannot express in clean HTTP (a raw TCP peer
//! writes them): a blackhole, a JSON body cut short, a chunked stream without its last chunk,
//! malformed headers, a stream that goes silent, and an answer over the size limit. Each gets
//! its status or a visibly failed stream, never a hang and never a clean end.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{start_proxy, FakeUpstream, TestProxy};

/// A raw upstream: reads the request head, writes `response`, then closes (or holds the
/// connection open for `hold`).
async fn raw_upstream(response: &'static [u8], hold: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let _ = tokio::time::timeout(Duration::from_millis(200), tcp.read(&mut buf)).await;
                let _ = tcp.write_all(response).await;
                tokio::time::sleep(hold).await;
            });
        }
    });
    format!("http://{addr}")
}

async fn proxy_to(url: &str, tweak: impl FnOnce(&mut privgate::config::Config)) -> TestProxy {
    let mut up = FakeUpstream::start().await;
    up.url = url.to_string();
    start_proxy(&up, tweak).await
}

fn chat(stream: bool) -> serde_json::Value {
    json!({"model": "m", "stream": stream, "messages": [{"role": "user", "content": "mail x.y@example.com"}]})
}

async fn code_of(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let v: serde_json::Value = resp.json().await.unwrap();
    (
        status,
        v["error"]["code"].as_str().unwrap_or("").to_string(),
    )
}

#[tokio::test]
async fn f2_a_blackhole_times_out_with_504() {
    // Listening, never accepting: the kernel completes the handshake, nobody answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let proxy = proxy_to(&url, |c| c.limits.upstream_timeout_ms = 300).await;
    let resp = proxy.post("/v1/chat/completions", &chat(false)).await;
    assert_eq!(code_of(resp).await, (504, "upstream_timeout".into()));
    drop(listener);
}

#[tokio::test]
async fn f7_a_json_body_cut_short_is_502() {
    let url = raw_upstream(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"id\":\"x\",",
        Duration::ZERO,
    )
    .await;
    let proxy = proxy_to(&url, |_| {}).await;
    let resp = proxy.post("/v1/chat/completions", &chat(false)).await;
    assert_eq!(code_of(resp).await, (502, "upstream_unavailable".into()));
}

#[tokio::test]
async fn f9_a_chunked_stream_without_its_last_chunk_fails_visibly() {
    let url = raw_upstream(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n\
          2a\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n\r\n",
        Duration::ZERO,
    )
    .await;
    let proxy = proxy_to(&url, |_| {}).await;
    let resp = proxy.post("/v1/chat/completions", &chat(true)).await;
    assert_eq!(resp.status(), 200);
    let result = tokio::time::timeout(Duration::from_secs(5), resp.bytes())
        .await
        .expect("no hang");
    assert!(result.is_err(), "never a clean end");
}

#[tokio::test]
async fn f10_malformed_response_headers_are_502() {
    let url = raw_upstream(
        b"HTTP/1.1 200 OK\r\nthis is not a header\r\n\r\n{}",
        Duration::ZERO,
    )
    .await;
    let proxy = proxy_to(&url, |_| {}).await;
    let resp = proxy.post("/v1/chat/completions", &chat(false)).await;
    assert_eq!(code_of(resp).await, (502, "upstream_unavailable".into()));
}

#[tokio::test]
async fn f11_a_silent_stream_is_ended_as_failed_with_the_providers_error_event() {
    let url = raw_upstream(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n\
          2a\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n\r\n",
        Duration::from_secs(30),
    )
    .await;
    let proxy = proxy_to(&url, |c| c.limits.stream_idle_timeout_ms = 300).await;
    let resp = proxy.post("/v1/chat/completions", &chat(true)).await;
    let (got, failed) = crate::common::read_stream(resp).await;
    assert!(failed, "a failed end, by the idle timeout");
    assert!(String::from_utf8_lossy(&got).contains("upstream_stream_interrupted"));
    let m = proxy.metrics().await;
    assert!(
        m.contains(r#"privgate_streams_aborted_total{side="upstream"} 1"#),
        "{m}"
    );
}

#[tokio::test]
async fn f12_an_answer_over_the_limit_is_refused() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |c| c.limits.max_response_bytes = 64).await;
    let resp = proxy.post("/v1/chat/completions", &chat(false)).await;
    assert_eq!(code_of(resp).await, (502, "response_too_large".into()));
}
