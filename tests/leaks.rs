//! No PII in privgate's own output: the real binary runs with trace logging; canaries go through
//! every path (forwarded, blocked, invalid, upstream error); its stdout, stderr, the metrics page
//! and every response body are then scanned for them.

use serde_json::json;

use crate::common::{assert_no_leak, client_for, BinaryServer, Canaries, FakeUpstream};

#[tokio::test]
async fn logs_metrics_and_errors_never_contain_detected_values() {
    let up = FakeUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(
        policies.join("strict-cards.toml"),
        "id = \"gdpr-default\"\nversion = \"t\"\n[actions]\nUS_SSN = \"block\"\n",
    )
    .unwrap();
    let mut bin = BinaryServer::spawn(
        &up,
        dir.path(),
        &["--policies", policies.to_str().unwrap()],
        "trace",
    )
    .await;
    let (ca, addr, listen, admin) = (bin.ca.clone(), bin.addr, bin.addr.port(), bin.admin.port());
    let client = client_for(&ca, addr);
    let base = format!("https://localhost:{listen}");
    let c = Canaries::new();
    let mut own_errors = 0;
    let without_ssn =
        format!("{} {}", c.secrets(), c.chinese()) + &format!(" mail {} card {}", c.email, c.card);
    for (path, mode, body) in [
        (
            "/v1/chat/completions",
            "echo",
            json!({"model": "m", "messages": [{"role": "user", "content": without_ssn}]}),
        ),
        (
            "/v1/chat/completions",
            "status:500",
            json!({"model": "m", "messages": [{"role": "user", "content": without_ssn}]}),
        ),
        (
            "/v1/chat/completions",
            "sse",
            json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": without_ssn}]}),
        ),
        (
            "/v1/chat/completions",
            "echo",
            json!({"model": "m", "messages": [{"role": "user", "content": c.sentence()}]}),
        ),
        (
            "/v1/messages",
            "echo",
            json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "mystery", "text": c.sentence()}]}]}),
        ),
    ] {
        let resp = client
            .post(format!("{base}{path}"))
            .header("x-fake-mode", mode)
            .header("x-request-id", c.email.as_str())
            .json(&body)
            .send()
            .await
            .unwrap();
        let own_error = resp.headers().contains_key("x-privgate-error");
        assert_no_leak(&format!("{:?}", resp.headers()), &c, "response headers");
        let text = resp.text().await.unwrap_or_default();
        // privgate's own error bodies must be clean; upstream answers carry the caller's own
        // values back, restored, by design.
        if own_error {
            own_errors += 1;
            assert_no_leak(&text, &c, "a privgate error body");
        }
    }
    assert_eq!(own_errors, 2, "the blocked SSN and the unknown block type");
    // Invalid JSON that carries PII: the error must not quote it.
    let resp = client
        .post(format!("{base}/v1/chat/completions"))
        .body(format!("{{\"messages\": [\"{}\" oops", c.email))
        .send()
        .await
        .unwrap();
    assert_no_leak(
        &resp.text().await.unwrap(),
        &c,
        "the invalid-JSON error body",
    );
    let metrics = reqwest::get(format!("http://127.0.0.1:{admin}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("privgate_pii_detections_total"));
    assert_no_leak(&metrics, &c, "/metrics");
    assert_no_leak(&up.all_bytes(), &c, "everything the upstream received");

    #[cfg(target_os = "linux")]
    {
        let limits =
            std::fs::read_to_string(format!("/proc/{}/limits", bin.child.id().unwrap())).unwrap();
        let core = limits
            .lines()
            .find(|l| l.starts_with("Max core file size"))
            .unwrap();
        assert!(
            core.split_whitespace().nth(4) == Some("0"),
            "core dumps are off: {core}"
        );
    }
    bin.kill().await;
    let stdout = std::fs::read_to_string(dir.path().join("stdout.log")).unwrap();
    let stderr = String::from_utf8_lossy(&std::fs::read(dir.path().join("stderr.log")).unwrap())
        .into_owned();
    assert!(
        stderr.contains("exchange"),
        "trace logging was on: {stderr}"
    );
    assert_no_leak(&stdout, &c, "stdout");
    assert_no_leak(&stderr, &c, "stderr at trace level");
}
