//! Streaming throughput: MB/s of answer text through one `StreamRestorer`, and through the whole
//! SSE rewrite (event splitting + OpenAI chat chunk parsing + restoring + re-serialising), for a
//! 100 KB answer in 20-character deltas with placeholders split across events.
//!
//! Run: `cargo bench --bench stream`.

use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use privgate::detect::{EntityType, Finding};
use privgate::providers::openai_chat::ChatStream;
use privgate::providers::sse::{SseEvent, SseSplitter, StreamTransform};
use privgate::redact::stream::{Encoding, StreamRestorer};
use privgate::redact::{Action, Applied, PseudonymKey, Redaction, Restorer};

/// A 100 KB answer with a placeholder every ~500 bytes, and its restorer.
fn answer() -> (String, Arc<Restorer>) {
    let sentence = "Thanks for waiting. I have updated the address on your account and sent a \
                    confirmation to ana.silva@example.com so you can check it. ";
    let text = sentence.repeat(100 * 1024 / sentence.len());
    let mut findings = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("ana.silva@example.com") {
        let start = from + i;
        findings.push(Finding {
            start,
            end: start + 21,
            entity: EntityType::Email,
            score: 1.0,
        });
        from = start + 21;
    }
    let mut r = Redaction::new(PseudonymKey::from_bytes([1; 32]));
    let Applied::Text(redacted) = r.apply(&text, &findings, |_| Action::Pseudonymise, false) else {
        unreachable!()
    };
    (redacted.into_owned(), Arc::new(r.restorer()))
}

fn deltas(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(20).map(|c| c.iter().collect()).collect()
}

fn bench(c: &mut Criterion) {
    let (text, restorer) = answer();
    let pieces = deltas(&text);
    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("restorer_100KB_20B_deltas", |b| {
        b.iter(|| {
            let mut s = StreamRestorer::new(restorer.clone(), Encoding::Text);
            let mut n = 0;
            for p in &pieces {
                n += s.push(black_box(p)).len();
            }
            n + s.finish().len()
        })
    });
    let mut sse = Vec::new();
    for p in &pieces {
        let chunk = serde_json::json!({"id":"c","object":"chat.completion.chunk","created":1,
            "model":"m","choices":[{"index":0,"delta":{"content":p},"finish_reason":null}]});
        sse.extend_from_slice(format!("data: {chunk}\n\n").as_bytes());
    }
    sse.extend_from_slice(b"data: [DONE]\n\n");
    group.bench_function("sse_chat_rewrite_100KB", |b| {
        b.iter(|| {
            let mut splitter = SseSplitter::default();
            let mut t = ChatStream::new(restorer.clone());
            let mut n = 0;
            for chunk in sse.chunks(1400) {
                for raw in splitter.push(chunk) {
                    for out in t.event(SseEvent::parse(raw)) {
                        n += out.len();
                    }
                }
            }
            n
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
