//! Many concurrent streams (RELIABILITY E4): 1,000 streamed answers of 100 KiB each, with
//! placeholders throughout, through the real binary at once. Every client gets its full answer
//! restored, and the proxy's peak memory stays within a stated bound per stream.

use futures_util::StreamExt;
use serde_json::json;

use crate::common::{BinaryServer, FakeUpstream};

/// Peak resident memory of a process, KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// The bound this test holds privgate to: peak memory growth per concurrent 100 KiB stream,
/// counting both of its connections (client TLS and upstream). Measured: ~190 KiB, debug build.
const MAX_KIB_PER_STREAM: u64 = 256;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_streams_stay_within_a_memory_bound() {
    const STREAMS: usize = 1000;
    const ANSWER_KIB: usize = 100;
    let up = FakeUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Generous upstream timeouts: this test loads a 2-core machine on purpose.
    let config = dir.path().join("privgate.toml");
    std::fs::write(
        &config,
        "[limits]\nupstream_connect_timeout_ms = 30000\nupstream_timeout_ms = 60000\n",
    )
    .unwrap();
    let mut bin = BinaryServer::spawn(
        &up,
        dir.path(),
        &["--config", config.to_str().unwrap()],
        "warn",
    )
    .await;
    let pid = bin.child.id().unwrap();
    let pem = std::fs::read(&bin.ca).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .resolve("localhost", bin.addr)
        .http1_only()
        .pool_max_idle_per_host(STREAMS)
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/v1/chat/completions", bin.addr.port());
    let prompt = "Please write to dana.kowal@example.com about the order.";
    let before = peak_rss_kib(pid);
    let tasks = (0..STREAMS).map(|i| {
        let client = client.clone();
        let url = url.clone();
        async move {
            // Connections open in waves of 50, 25 ms apart (loopback accept backlogs are finite);
            // each answer takes over 1 s (100 events, 10 ms apart), so all 1,000 are open at once.
            tokio::time::sleep(std::time::Duration::from_millis((i / 50) as u64 * 25)).await;
            let resp = client
                .post(&url)
                .header("x-fake-mode", format!("sse-big:{ANSWER_KIB}"))
                .json(&json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": prompt}]}))
                .send()
                .await
                .unwrap();
            let status = resp.status();
            if status != 200 {
                let err = resp.text().await.unwrap_or_default();
                panic!("stream {i}: {status} {err}");
            }
            let mut body = resp.bytes_stream();
            let mut n = 0usize;
            let mut tail = Vec::new();
            while let Some(chunk) = body.next().await {
                let chunk = chunk.unwrap();
                n += chunk.len();
                tail = chunk.to_vec();
            }
            assert!(String::from_utf8_lossy(&tail).ends_with("data: [DONE]\n\n"));
            n
        }
    });
    let sizes = futures_util::future::join_all(tasks).await;
    let after = peak_rss_kib(pid);
    bin.kill().await;
    assert!(
        sizes.iter().all(|&n| n > ANSWER_KIB * 1024),
        "every answer arrived whole"
    );
    let per_stream = after.saturating_sub(before) / STREAMS as u64;
    eprintln!(
        "E4: {STREAMS} streams x {ANSWER_KIB} KiB: peak RSS {before} -> {after} KiB, {per_stream} KiB per stream"
    );
    assert!(
        per_stream <= MAX_KIB_PER_STREAM,
        "peak memory grew {per_stream} KiB per stream (bound {MAX_KIB_PER_STREAM})"
    );
}
