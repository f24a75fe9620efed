//! An in-process fake upstream that speaks OpenAI's and Anthropic's real wire formats (JSON and
//! SSE), records every request it receives (method, path, headers, raw body), and fails on
//! demand. Behaviour is chosen per request with the `x-fake-mode` header, which privgate passes
//! through like any other header:
//!
//! - (none) / `echo`: answer in the provider's format with the text it received;
//! - `tool`: OpenAI answer with a tool call whose arguments carry the received text;
//! - `status:NNN`: that status with a provider-shaped error body echoing the received text;
//! - `sleep:MS`: wait before answering;
//! - `sse`: stream the echo as SSE, one word per event, from the recorded fixture shapes;
//! - `sse-gated`: send the first event, then wait until the test opens the gate;
//! - `reset`: close the connection without answering;
//! - `reset-midstream`: send one SSE event, then break the stream.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify};

type Body = BoxBody<Bytes, std::io::Error>;

/// One request as the upstream received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("upstream received JSON")
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A running fake upstream.
#[derive(Clone)]
pub struct FakeUpstream {
    pub addr: SocketAddr,
    pub url: String,
    /// The CA to trust when the upstream speaks TLS.
    pub ca: Option<PathBuf>,
    seen: Arc<Mutex<Vec<Recorded>>>,
    pub gate: Arc<Notify>,
    /// Streams whose reader went away before the end (privgate cancelled the request).
    pub cancelled: Arc<std::sync::atomic::AtomicUsize>,
}

impl FakeUpstream {
    /// Plain HTTP on loopback.
    pub async fn start() -> FakeUpstream {
        Self::start_inner(None).await
    }

    /// HTTPS on loopback with a certificate from a fresh CA in `dir`.
    pub async fn start_tls(dir: &std::path::Path) -> FakeUpstream {
        let paths = privgate::tls::CertPaths::in_dir(dir);
        privgate::tls::ensure_dev_certs(&paths).unwrap();
        let cfg = privgate::tls::server_config(&paths.cert, &paths.key).unwrap();
        let mut up = Self::start_inner(Some(tokio_rustls::TlsAcceptor::from(cfg))).await;
        up.ca = Some(paths.ca);
        up
    }

    async fn start_inner(tls: Option<tokio_rustls::TlsAcceptor>) -> FakeUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let up = FakeUpstream {
            addr,
            url: format!("{scheme}://localhost:{}", addr.port()),
            ca: None,
            seen: Arc::new(Mutex::new(Vec::new())),
            gate: Arc::new(Notify::new()),
            cancelled: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        };
        let shared = up.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let up = shared.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let up = up.clone();
                        async move { up.answer(req).await }
                    });
                    let builder =
                        hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    match tls {
                        Some(acc) => {
                            if let Ok(s) = acc.accept(tcp).await {
                                let _ = builder.serve_connection(TokioIo::new(s), svc).await;
                            }
                        }
                        None => {
                            let _ = builder.serve_connection(TokioIo::new(tcp), svc).await;
                        }
                    }
                });
            }
        });
        up
    }

    /// Everything received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.seen.lock().unwrap().clone()
    }

    /// The last request received.
    pub fn last(&self) -> Recorded {
        self.requests()
            .pop()
            .expect("the upstream received a request")
    }

    /// All raw bytes received (headers and bodies), for leak scans.
    pub fn all_bytes(&self) -> String {
        let mut s = String::new();
        for r in self.requests() {
            s.push_str(&r.path);
            for (k, v) in &r.headers {
                s.push_str(k.as_str());
                s.push_str(&String::from_utf8_lossy(v.as_bytes()));
            }
            s.push_str(&r.text());
        }
        s
    }

    async fn answer(&self, req: Request<Incoming>) -> Result<Response<Body>, std::io::Error> {
        let (parts, body) = req.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let rec = Recorded {
            method: parts.method.to_string(),
            path: parts
                .uri
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            headers: parts.headers.clone(),
            body,
        };
        self.seen.lock().unwrap().push(rec.clone());
        let mode = parts
            .headers
            .get("x-fake-mode")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("echo")
            .to_string();
        let path = parts.uri.path().to_string();
        let anthropic = path.starts_with("/v1/messages");
        let received = received_text(&rec);

        if let Some(ms) = mode.strip_prefix("sleep:") {
            tokio::time::sleep(Duration::from_millis(ms.parse().unwrap())).await;
        }
        if mode == "reset" {
            return Err(std::io::Error::other("fake reset"));
        }
        if let Some(code) = mode.strip_prefix("status:") {
            let status = StatusCode::from_u16(code.parse().unwrap()).unwrap();
            let body = if anthropic {
                json!({"type":"error","error":{"type":"rate_limit_error","message":format!("cannot process: {received}")}})
            } else {
                json!({"error":{"message":format!("cannot process: {received}"),"type":"rate_limit_error","param":null,"code":"rate_limited"}})
            };
            let mut r = json_response(body);
            *r.status_mut() = status;
            r.headers_mut().insert("retry-after", "7".parse().unwrap());
            return Ok(r);
        }
        let gemini_stream = path.contains(":streamGenerateContent");
        let ollama = path == "/api/chat" || path == "/api/generate";
        let ollama_stream = ollama
            && serde_json::from_slice::<Value>(&rec.body)
                .ok()
                .and_then(|v| v.get("stream").and_then(Value::as_bool))
                .unwrap_or(true);
        if gemini_stream || ollama_stream {
            let (events, ctype) = if gemini_stream {
                (gemini_events(&received), "text/event-stream")
            } else {
                (
                    ollama_lines(&received, path == "/api/chat"),
                    "application/x-ndjson",
                )
            };
            let mut r = self.stream(events, &mode);
            r.headers_mut()
                .insert("content-type", ctype.parse().unwrap());
            return Ok(r);
        }
        if let Some(kb) = mode.strip_prefix("sse-big:") {
            // A long answer: the received text repeated to `kb` KiB, in 1 KiB deltas.
            let size: usize = kb.parse::<usize>().unwrap() * 1024;
            let mut text = String::with_capacity(size + received.len());
            while text.len() < size {
                text.push_str(&received);
                text.push(' ');
            }
            let chars: Vec<char> = text.chars().collect();
            let mut events = Vec::new();
            for piece in chars.chunks(1024) {
                let piece: String = piece.iter().collect();
                let v = json!({"id":"c","object":"chat.completion.chunk","created":1,"model":"fake",
                    "choices":[{"index":0,"delta":{"content":piece},"finish_reason":null}]});
                events.push(format!("data: {v}\n\n"));
            }
            events.push("data: [DONE]\n\n".to_string());
            return Ok(self.stream_paced(events, Duration::from_millis(10)));
        }
        if mode.starts_with("sse") || mode == "reset-midstream" {
            let events = if anthropic {
                anthropic_events(&received)
            } else if path == "/v1/responses" {
                responses_events(&received)
            } else {
                openai_events(&received)
            };
            return Ok(self.stream(events, &mode));
        }
        let body = match path.as_str() {
            "/v1/models" => {
                json!({"object":"list","data":[{"id":"fake-model","object":"model","created":1,"owned_by":"fake"}]})
            }
            "/v1/messages" => json!({
                "id":"msg_01","type":"message","role":"assistant","model":"claude-fake",
                "content":[{"type":"text","text":format!("You said: {received}")}],
                "stop_reason":"end_turn","stop_sequence":null,
                "usage":{"input_tokens":10,"output_tokens":5}}),
            "/v1/responses" => json!({
                "id":"resp_01","object":"response","created_at":1,"status":"completed","model":"fake",
                "output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant",
                    "content":[{"type":"output_text","text":format!("You said: {received}"),"annotations":[]}]}],
                "usage":{"input_tokens":1,"output_tokens":1,"total_tokens":2}}),
            p if p.contains(":generateContent") => json!({
                "candidates":[{"content":{"parts":[{"text":format!("You said: {received}")}],"role":"model"},
                    "finishReason":"STOP","index":0}],
                "usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1,"totalTokenCount":2},
                "modelVersion":"gemini-fake"}),
            "/api/chat" => json!({"model":"llama-fake","created_at":"2026-11-24T00:00:00Z",
                "message":{"role":"assistant","content":format!("You said: {received}")},
                "done":true,"done_reason":"stop"}),
            "/api/generate" => json!({"model":"llama-fake","created_at":"2026-11-24T00:00:00Z",
                "response":format!("You said: {received}"),"done":true,"done_reason":"stop"}),
            "/v1/embeddings" => {
                json!({"object":"list","model":"fake","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"usage":{"prompt_tokens":1,"total_tokens":1}})
            }
            "/v1/completions" => {
                json!({"id":"cmpl-1","object":"text_completion","created":1,"model":"fake",
                "choices":[{"index":0,"text":format!("You said: {received}"),"logprobs":null,"finish_reason":"stop"}]})
            }
            _ if mode == "tool" => json!({
                "id":"chatcmpl-1","object":"chat.completion","created":1,"model":"fake",
                "choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,
                    "tool_calls":[{"id":"call_1","type":"function","function":{"name":"send",
                        "arguments":serde_json::to_string(&json!({"text":received})).unwrap()}}]},
                    "logprobs":null,"finish_reason":"tool_calls"}],
                "usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}),
            _ => json!({
                "id":"chatcmpl-1","object":"chat.completion","created":1,"model":"fake",
                "choices":[{"index":0,"message":{"role":"assistant","content":format!("You said: {received}"),"refusal":null},
                    "logprobs":null,"finish_reason":"stop"}],
                "usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}),
        };
        Ok(json_response(body))
    }

    /// Streams `events` with `gap` between them.
    fn stream_paced(&self, events: Vec<String>, gap: Duration) -> Response<Body> {
        let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(4);
        tokio::spawn(async move {
            for ev in events {
                if tx.send(Ok(Frame::data(Bytes::from(ev)))).await.is_err() {
                    return;
                }
                tokio::time::sleep(gap).await;
            }
        });
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        let mut r = Response::new(StreamBody::new(stream).boxed());
        r.headers_mut().insert(
            "content-type",
            "text/event-stream; charset=utf-8".parse().unwrap(),
        );
        r
    }

    fn stream(&self, events: Vec<String>, mode: &str) -> Response<Body> {
        let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(16);
        let gate = self.gate.clone();
        let cancelled = self.cancelled.clone();
        let mode = mode.to_string();
        tokio::spawn(async move {
            for (i, ev) in events.into_iter().enumerate() {
                if i == 1 && mode == "sse-gated" {
                    tokio::select! {
                        _ = gate.notified() => {}
                        _ = tx.closed() => {
                            cancelled.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            return;
                        }
                    }
                }
                if i == 1 && mode == "reset-midstream" {
                    let _ = tx
                        .send(Err(std::io::Error::other("fake mid-stream reset")))
                        .await;
                    return;
                }
                if tx.send(Ok(Frame::data(Bytes::from(ev)))).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        });
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        let mut r = Response::new(StreamBody::new(stream).boxed());
        r.headers_mut().insert(
            "content-type",
            "text/event-stream; charset=utf-8".parse().unwrap(),
        );
        r.headers_mut()
            .insert("cache-control", "no-cache".parse().unwrap());
        r
    }
}

fn json_response(v: Value) -> Response<Body> {
    let mut r = Response::new(
        Full::new(Bytes::from(v.to_string()))
            .map_err(|never: Infallible| match never {})
            .boxed(),
    );
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    r
}

/// The text of the last message (or `input`/`prompt`), joined across parts.
fn received_text(rec: &Recorded) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(&rec.body) else {
        return String::new();
    };
    let content = v
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|m| m.last())
        .and_then(|m| m.get("content"))
        .or_else(|| v.get("input"))
        .or_else(|| v.get("prompt"))
        .or_else(|| v.get("contents")?.as_array()?.last()?.get("parts"));
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .flat_map(|p| {
                let nested = p
                    .get("content")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let mut texts: Vec<&str> = Vec::new();
                if let Some(t) = p.get("text").and_then(Value::as_str).or_else(|| p.as_str()) {
                    texts.push(t);
                }
                if let Some(t) = p.get("content").and_then(Value::as_str) {
                    texts.push(t);
                }
                let nested: Vec<String> = nested
                    .iter()
                    .filter_map(|q| q.get("text").and_then(Value::as_str).map(str::to_string))
                    .collect();
                texts
                    .into_iter()
                    .map(str::to_string)
                    .chain(nested)
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// The text in pieces of three characters, so every placeholder is split across events.
fn pieces(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(3).map(|c| c.iter().collect()).collect()
}

/// Gemini `streamGenerateContent?alt=sse` events (CRLF framing, as Google sends it).
fn gemini_events(text: &str) -> Vec<String> {
    let mut out: Vec<String> = pieces(text)
        .into_iter()
        .map(|p| {
            let v = json!({"candidates":[{"content":{"parts":[{"text":p}],"role":"model"},"index":0}],"modelVersion":"gemini-fake"});
            format!("data: {v}\r\n\r\n")
        })
        .collect();
    let last = json!({"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP","index":0}],
        "usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1,"totalTokenCount":2},"modelVersion":"gemini-fake"});
    out.push(format!("data: {last}\r\n\r\n"));
    out
}

/// Ollama NDJSON lines for `/api/chat` (`message.content`) or `/api/generate` (`response`).
fn ollama_lines(text: &str, chat: bool) -> Vec<String> {
    let line = |piece: &str, done: bool| {
        let mut v = if chat {
            json!({"model":"llama-fake","created_at":"2026-11-24T00:00:00Z","message":{"role":"assistant","content":piece},"done":done})
        } else {
            json!({"model":"llama-fake","created_at":"2026-11-24T00:00:00Z","response":piece,"done":done})
        };
        if done {
            v["done_reason"] = json!("stop");
            v["eval_count"] = json!(3);
        }
        format!("{v}\n")
    };
    let mut out: Vec<String> = pieces(text).iter().map(|p| line(p, false)).collect();
    out.push(line("", true));
    out
}

/// Responses API events, in the documented order.
fn responses_events(text: &str) -> Vec<String> {
    let ev = |v: Value| format!("event: {}\ndata: {v}\n\n", v["type"].as_str().unwrap());
    let mut seq = 0;
    let mut next = || {
        seq += 1;
        seq
    };
    let item = json!({"id":"msg_1","type":"message","status":"in_progress","role":"assistant","content":[]});
    let mut out = vec![
        ev(
            json!({"type":"response.created","sequence_number":next(),"response":{"id":"resp_1","object":"response","created_at":1,"status":"in_progress","model":"fake","output":[]}}),
        ),
        ev(
            json!({"type":"response.output_item.added","sequence_number":next(),"output_index":0,"item":item}),
        ),
        ev(
            json!({"type":"response.content_part.added","sequence_number":next(),"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}}),
        ),
    ];
    for p in pieces(text) {
        out.push(ev(json!({"type":"response.output_text.delta","sequence_number":next(),"item_id":"msg_1","output_index":0,"content_index":0,"delta":p,"logprobs":[]})));
    }
    let done_item = json!({"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":text,"annotations":[]}]});
    out.push(ev(json!({"type":"response.output_text.done","sequence_number":next(),"item_id":"msg_1","output_index":0,"content_index":0,"text":text,"logprobs":[]})));
    out.push(ev(json!({"type":"response.content_part.done","sequence_number":next(),"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":text,"annotations":[]}})));
    out.push(ev(json!({"type":"response.output_item.done","sequence_number":next(),"output_index":0,"item":done_item})));
    out.push(ev(json!({"type":"response.completed","sequence_number":next(),"response":{"id":"resp_1","object":"response","created_at":1,"status":"completed","model":"fake","output":[done_item],"usage":{"input_tokens":1,"output_tokens":1,"total_tokens":2}}})));
    out
}

/// OpenAI chat completion chunks, in the shape of `tests/fixtures/openai_chat_stream.jsonl`.
fn openai_events(text: &str) -> Vec<String> {
    let fixture = super::fixture_events("openai_chat_stream.jsonl");
    let (first, delta, last) = (&fixture[0], &fixture[1], &fixture[fixture.len() - 2]);
    let mut out = vec![format!("data: {first}\n\n")];
    for word in pieces(text) {
        let mut d: Value = serde_json::from_str(delta).unwrap();
        d["choices"][0]["delta"]["content"] = Value::String(word);
        out.push(format!("data: {d}\n\n"));
    }
    out.push(format!("data: {last}\n\n"));
    out.push(": keep-alive comment\n\n".to_string());
    out.push("data: [DONE]\n\n".to_string());
    out
}

/// Anthropic message events, in the shape of `tests/fixtures/anthropic_stream.jsonl`.
fn anthropic_events(text: &str) -> Vec<String> {
    let fixture = super::fixture_events("anthropic_stream.jsonl");
    let ev = |v: &Value| format!("event: {}\ndata: {v}\n\n", v["type"].as_str().unwrap());
    let parsed: Vec<Value> = fixture
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut out = Vec::new();
    for v in &parsed {
        if v["type"] == "content_block_delta" {
            for word in pieces(text) {
                let mut d = v.clone();
                d["delta"]["text"] = Value::String(word);
                out.push(ev(&d));
            }
        } else {
            out.push(ev(v));
        }
    }
    out
}
