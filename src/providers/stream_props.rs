//! Chunk-boundary invariance of the stream rewriters (RELIABILITY A2): whatever way the
//! upstream's bytes are cut (every single offset, and random chunkings down to one byte), the
//! client's reassembled text equals the restored original, and the holdback stays within the
//! longest placeholder.

use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::anthropic::MessagesStream;
use super::openai_chat::ChatStream;
use super::openai_responses::ResponsesStream;
use super::sse::{SseEvent, SseSplitter, StreamTransform};
use crate::detect::{EntityType, Finding};
use crate::redact::{Action, Applied, PseudonymKey, Redaction, Restorer};

const ORIGINAL: &str =
    "Écris à zoë.martin@example.fr ou au 邮箱 li.wei@example.cn, 谢谢! <b>not a placeholder</b> <";

fn redacted() -> (String, Arc<Restorer>) {
    let mut findings = Vec::new();
    for value in ["zoë.martin@example.fr", "li.wei@example.cn"] {
        let start = ORIGINAL.find(value).unwrap();
        findings.push(Finding {
            start,
            end: start + value.len(),
            entity: EntityType::Email,
            score: 1.0,
        });
    }
    let mut r = Redaction::new(PseudonymKey::from_bytes([5; 32]));
    let Applied::Text(text) = r.apply(ORIGINAL, &findings, |_| Action::Pseudonymise, false) else {
        unreachable!()
    };
    (text.into_owned(), Arc::new(r.restorer()))
}

/// The text cut into deltas of `n` chars.
fn deltas(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(n).map(|c| c.iter().collect()).collect()
}

fn chat_stream(text: &str) -> Vec<u8> {
    let mut out = String::new();
    for d in deltas(text, 4) {
        let chunk = json!({"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",
            "choices":[{"index":0,"delta":{"content":d},"finish_reason":null}]});
        out += &format!("data: {chunk}\n\n");
    }
    out += ": ping\n\n";
    let last = json!({"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",
        "choices":[{"index":0,"delta":{},"finish_reason":"stop"}]});
    out += &format!("data: {last}\r\n\r\ndata: [DONE]\n\n");
    out.into_bytes()
}

fn anthropic_stream(text: &str) -> Vec<u8> {
    let mut out = String::from(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"content\":[]}}\n\n",
    );
    for d in deltas(text, 5) {
        let ev =
            json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":d}});
        out += &format!("event: content_block_delta\ndata: {ev}\n\n");
    }
    out += "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n";
    out += "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    out.into_bytes()
}

fn responses_stream(text: &str) -> Vec<u8> {
    let mut out = String::new();
    for d in deltas(text, 3) {
        let ev =
            json!({"type":"response.output_text.delta","item_id":"i","content_index":0,"delta":d});
        out += &format!("event: response.output_text.delta\ndata: {ev}\n\n");
    }
    let done =
        json!({"type":"response.output_text.done","item_id":"i","content_index":0,"text":text});
    out += &format!("event: response.output_text.done\ndata: {done}\n\n");
    out.into_bytes()
}

/// Runs bytes cut at `cuts` through a splitter and transform; returns the concatenated text of
/// the deltas the client sees.
fn run(
    bytes: &[u8],
    cuts: &[usize],
    mut transform: Box<dyn StreamTransform>,
    text_of: fn(&Value) -> Option<String>,
) -> String {
    let mut splitter = SseSplitter::default();
    let mut out: Vec<Bytes> = Vec::new();
    let mut last = 0;
    for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
        for raw in splitter.push(&bytes[last..cut]) {
            out.extend(transform.event(SseEvent::parse(raw)));
        }
        last = cut;
    }
    out.extend(transform.finish());
    let mut all = SseSplitter::default();
    let joined: Vec<u8> = out.iter().flat_map(|b| b.to_vec()).collect();
    all.push(&joined)
        .into_iter()
        .filter_map(|raw| SseEvent::parse(raw).json())
        .filter_map(|v| text_of(&v))
        .collect()
}

fn chat_text(v: &Value) -> Option<String> {
    v["choices"][0]["delta"]["content"]
        .as_str()
        .map(str::to_string)
}
fn anthropic_text(v: &Value) -> Option<String> {
    (v["type"] == "content_block_delta")
        .then(|| v["delta"]["text"].as_str().unwrap_or("").to_string())
}
fn responses_text(v: &Value) -> Option<String> {
    (v["type"] == "response.output_text.delta")
        .then(|| v["delta"].as_str().unwrap_or("").to_string())
}

#[test]
fn every_single_cut_gives_the_original_text() {
    let (text, restorer) = redacted();
    assert_ne!(text, ORIGINAL);
    type Make = fn(Arc<Restorer>) -> Box<dyn StreamTransform>;
    type TextOf = fn(&Value) -> Option<String>;
    let cases: [(Vec<u8>, Make, TextOf); 3] = [
        (
            chat_stream(&text),
            |r| Box::new(ChatStream::new(r)),
            chat_text,
        ),
        (
            anthropic_stream(&text),
            |r| Box::new(MessagesStream::new(r)),
            anthropic_text,
        ),
        (
            responses_stream(&text),
            |r| Box::new(ResponsesStream::new(r)),
            responses_text,
        ),
    ];
    for (bytes, make, text_of) in cases {
        for cut in 0..=bytes.len() {
            let got = run(&bytes, &[cut], make(restorer.clone()), text_of);
            assert_eq!(got, ORIGINAL, "cut at byte {cut}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    #[test]
    fn random_chunkings_give_the_original_text(mut cuts in proptest::collection::vec(0usize..4000, 0..60)) {
        let (text, restorer) = redacted();
        let bytes = chat_stream(&text);
        cuts.iter_mut().for_each(|c| *c %= bytes.len() + 1);
        cuts.sort_unstable();
        let got = run(&bytes, &cuts, Box::new(ChatStream::new(restorer.clone())), chat_text);
        prop_assert_eq!(got, ORIGINAL);
        let bytes = anthropic_stream(&text);
        cuts.iter_mut().for_each(|c| *c %= bytes.len() + 1);
        cuts.sort_unstable();
        let got = run(&bytes, &cuts, Box::new(MessagesStream::new(restorer)), anthropic_text);
        prop_assert_eq!(got, ORIGINAL);
    }
}
