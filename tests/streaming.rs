//! Streamed answers with placeholders split across events: the client's reassembled text is the
//! original, for OpenAI chat, the Responses API and Anthropic Messages; the upstream never sees a
//! value.

use serde_json::{json, Value};

use crate::common::{assert_no_leak, start_proxy, Canaries, FakeUpstream};

fn data_events(body: &str) -> Vec<Value> {
    body.split("\n\n")
        .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

#[tokio::test]
async fn openai_chat_stream_restores_split_placeholders() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let c = Canaries::new();
    let text = c.sentence() + " " + &c.chinese();
    let resp = proxy
        .client
        .post(proxy.url("/v1/chat/completions"))
        .header("x-fake-mode", "sse")
        .json(
            &json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": text}]}),
        )
        .send()
        .await
        .unwrap();
    let body = resp.text().await.unwrap();
    assert_no_leak(&up.last().text(), &c, "upstream body");
    assert!(body.ends_with("data: [DONE]\n\n"));
    assert!(body.contains(": keep-alive comment\n\n"));
    let events = data_events(&body);
    let got: String = events
        .iter()
        .filter_map(|v| v["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(got, text);
    assert_eq!(
        events.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
}

#[tokio::test]
async fn responses_stream_restores_deltas_and_final_objects() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let c = Canaries::new();
    let text = c.sentence();
    let resp = proxy
        .client
        .post(proxy.url("/v1/responses"))
        .header("x-fake-mode", "sse")
        .json(&json!({"model": "m", "stream": true, "input": text}))
        .send()
        .await
        .unwrap();
    let body = resp.text().await.unwrap();
    assert_no_leak(&up.last().text(), &c, "upstream body");
    let events = data_events(&body);
    let deltas: String = events
        .iter()
        .filter(|v| v["type"] == "response.output_text.delta")
        .filter_map(|v| v["delta"].as_str())
        .collect();
    assert_eq!(deltas, text);
    let done = events
        .iter()
        .find(|v| v["type"] == "response.completed")
        .unwrap();
    assert_eq!(
        done["response"]["output"][0]["content"][0]["text"],
        text.as_str()
    );
}

#[tokio::test]
async fn anthropic_stream_restores_split_placeholders() {
    let up = FakeUpstream::start().await;
    let proxy = start_proxy(&up, |_| {}).await;
    let c = Canaries::new();
    let text = c.chinese() + " " + &c.sentence();
    let resp = proxy
        .client
        .post(proxy.url("/v1/messages"))
        .header("x-fake-mode", "sse")
        .json(&json!({"model": "m", "max_tokens": 100, "stream": true, "messages": [{"role": "user", "content": text}]}))
        .send()
        .await
        .unwrap();
    let body = resp.text().await.unwrap();
    assert_no_leak(&up.last().text(), &c, "upstream body");
    let events = data_events(&body);
    let got: String = events
        .iter()
        .filter(|v| v["type"] == "content_block_delta")
        .filter_map(|v| v["delta"]["text"].as_str())
        .collect();
    assert_eq!(got, text);
    assert_eq!(events.last().unwrap()["type"], "message_stop");
}
