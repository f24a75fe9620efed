//! Gemini (`generateContent`, `streamGenerateContent?alt=sse`) and Ollama (`/api/chat`,
//! `/api/generate`, NDJSON streams): slots redacted, answers restored, streams restored when
//! placeholders are split across events or lines, errors in each provider's shape.

use serde_json::{json, Value};

use crate::common::{assert_no_leak, start_proxy, Canaries, FakeUpstream};

#[tokio::test]
async fn gemini_generate_and_stream() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let c = Canaries::new();
    let body = json!({
        "systemInstruction": {"parts": [{"text": format!("customer {}", c.email)}]},
        "contents": [{"role": "user", "parts": [{"text": c.sentence()}]}]
    });
    let resp = proxy
        .client
        .post(proxy.url("/v1beta/models/gemini-2.0-flash:generateContent?key=AIzaSyTestKey0123456789abcdefghijklmno"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_no_leak(&up.last().text(), &c, "upstream body");
    assert!(
        up.last().path.contains("key=AIzaSy"),
        "the API key in the query passes"
    );
    let text = answer["candidates"][0]["content"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert_eq!(text, format!("You said: {}", c.sentence()));

    let resp = proxy
        .client
        .post(proxy.url("/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"))
        .header("x-goog-api-key", "AIzaSyTestKey0123456789abcdefghijklmno")
        .json(&body)
        .send()
        .await
        .unwrap();
    let raw = resp.text().await.unwrap();
    assert_no_leak(&up.last().text(), &c, "upstream body");
    let streamed: String = raw
        .replace("\r\n", "\n")
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .filter_map(|v| {
            v["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(streamed, c.sentence());
}

#[tokio::test]
async fn gemini_errors_are_google_shaped() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let resp = proxy
        .client
        .post(proxy.url("/v1beta/models/gemini-2.0-flash:generateContent"))
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(v["error"]["details"][0]["reason"], "invalid_json");
}

#[tokio::test]
async fn ollama_chat_and_generate_stream_by_default() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let c = Canaries::new();
    for (path, body, field) in [
        (
            "/api/chat",
            json!({"model": "llama3", "messages": [{"role": "user", "content": c.sentence()}]}),
            "message",
        ),
        (
            "/api/generate",
            json!({"model": "llama3", "prompt": c.sentence()}),
            "response",
        ),
    ] {
        let resp = proxy.post(path, &body).await;
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/x-ndjson"));
        let raw = resp.text().await.unwrap();
        assert_no_leak(&up.last().text(), &c, path);
        let lines: Vec<Value> = raw
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let text: String = lines
            .iter()
            .filter_map(|v| match field {
                "message" => v["message"]["content"].as_str(),
                _ => v["response"].as_str(),
            })
            .collect();
        assert_eq!(text, c.sentence(), "{path}");
        assert_eq!(lines.last().unwrap()["done"], true);
    }
    let resp = proxy
        .post("/api/chat", &json!({"model": "llama3", "stream": false, "messages": [{"role": "user", "content": c.sentence()}]}))
        .await;
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        v["message"]["content"],
        format!("You said: {}", c.sentence())
    );
}

#[tokio::test]
async fn a_generic_backend_described_by_selectors() {
    let up = FakeUpstream::start().await;
    let url = up.url.clone();
    let proxy = start_proxy(&up, move |c| {
        c.generic.push(privgate::config::GenericSection {
            name: "acme".into(),
            path: "/acme/v1/generate".into(),
            upstream: privgate::config::Upstream::new(&url),
            request_slots: vec!["$.prompt".into(), "$.history[*].text".into()],
        });
    })
    .await;
    let c = Canaries::new();
    let resp = proxy
        .post(
            "/acme/v1/generate",
            &json!({"prompt": c.sentence(), "history": [{"who": "user", "text": format!("iban {}", c.iban)}], "temperature": 0.2}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let answer = resp.text().await.unwrap();
    let sent = up.last();
    assert_eq!(sent.path, "/acme/v1/generate");
    assert_no_leak(&sent.text(), &c, "upstream body");
    assert_eq!(sent.json()["temperature"], 0.2);
    assert!(answer.contains(&c.email), "the answer is restored");
    let m = proxy.metrics().await;
    assert!(
        m.contains(r#"provider="generic",route="/acme/v1/generate""#),
        "{m}"
    );
}
