//! `serve --demo`: a built-in echo backend that answers in each provider's real wire format (JSON
//! and SSE) with what it received, clearly labelled as a demo. It lets anyone try privgate end to
//! end with no vendor account and no network: the console shows what the "vendor" saw
//! (placeholders), the client gets its own values back.
//!
//! Owns: the echo server only. It is never used unless `--demo` is given.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use tokio::net::TcpListener;

const LABEL: &str = "[privgate demo echo]";

/// Starts the echo backend on a free loopback port and returns its address. The task runs until
/// the process exits.
pub async fn start() -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // Lives as long as the process: the demo backend has no shutdown of its own.
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = tcp.set_nodelay(true);
            tokio::spawn(async move {
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), service_fn(answer))
                    .await;
            });
        }
    });
    Ok(addr)
}

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let stream = json.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let model = json
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("demo")
        .to_string();
    let seen = last_text(&json);
    if !seen.is_empty() {
        println!("{LABEL} the upstream received: {seen}");
    }
    let reply = format!("{LABEL} You said: {seen}");
    let resp = match (method, path.as_str()) {
        (Method::GET, "/v1/models") => json_resp(json!({"object":"list","data":[
            {"id":"demo-echo","object":"model","created":0,"owned_by":"privgate-demo"}]})),
        (Method::POST, "/v1/chat/completions") if stream => sse(openai_chat_stream(&model, &reply)),
        (Method::POST, "/v1/chat/completions") => json_resp(json!({
            "id":"chatcmpl-demo","object":"chat.completion","created":0,"model":model,
            "choices":[{"index":0,"message":{"role":"assistant","content":reply,"refusal":null},
                        "logprobs":null,"finish_reason":"stop"}],
            "usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})),
        (Method::POST, "/v1/completions") => json_resp(json!({
            "id":"cmpl-demo","object":"text_completion","created":0,"model":model,
            "choices":[{"index":0,"text":reply,"logprobs":null,"finish_reason":"stop"}]})),
        (Method::POST, "/v1/embeddings") => json_resp(json!({"object":"list","model":model,
            "data":[{"object":"embedding","index":0,"embedding":[0.0,0.0,0.0]}],
            "usage":{"prompt_tokens":1,"total_tokens":1}})),
        (Method::POST, "/v1/responses") => json_resp(json!({
            "id":"resp_demo","object":"response","created_at":0,"status":"completed","model":model,
            "output":[{"type":"message","id":"msg_demo","status":"completed","role":"assistant",
                "content":[{"type":"output_text","text":reply,"annotations":[]}]}]})),
        (Method::POST, "/v1/messages") if stream => sse(anthropic_stream(&model, &reply)),
        (Method::POST, "/v1/messages") => json_resp(json!({
            "id":"msg_demo","type":"message","role":"assistant","model":model,
            "content":[{"type":"text","text":reply}],"stop_reason":"end_turn","stop_sequence":null,
            "usage":{"input_tokens":1,"output_tokens":1}})),
        (Method::POST, "/v1/messages/count_tokens") => json_resp(json!({"input_tokens":1})),
        _ => {
            let mut r = json_resp(
                json!({"error":{"message":"demo: unknown path","type":"invalid_request_error"}}),
            );
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    };
    Ok(resp)
}

/// The last user-visible text of a request, whatever its format.
fn last_text(v: &Value) -> String {
    let content = v
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|m| m.last())
        .and_then(|m| m.get("content"))
        .or_else(|| v.get("input"))
        .or_else(|| v.get("prompt"));
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str).or(p.as_str()))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn json_resp(v: Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(v.to_string())));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

fn sse(events: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(events)));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/event-stream"),
    );
    r
}

/// Words of the reply, each with its following space, as stream deltas.
fn pieces(reply: &str) -> Vec<String> {
    reply.split_inclusive(' ').map(str::to_string).collect()
}

fn openai_chat_stream(model: &str, reply: &str) -> String {
    let mut out = String::new();
    let chunk = |delta: Value, finish: Value| {
        json!({"id":"chatcmpl-demo","object":"chat.completion.chunk","created":0,"model":model,
               "choices":[{"index":0,"delta":delta,"logprobs":null,"finish_reason":finish}]})
    };
    out += &format!(
        "data: {}\n\n",
        chunk(json!({"role":"assistant","content":""}), Value::Null)
    );
    for p in pieces(reply) {
        out += &format!("data: {}\n\n", chunk(json!({"content":p}), Value::Null));
    }
    out += &format!("data: {}\n\n", chunk(json!({}), json!("stop")));
    out += "data: [DONE]\n\n";
    out
}

fn anthropic_stream(model: &str, reply: &str) -> String {
    let mut out = String::new();
    let mut ev = |name: &str, data: Value| out += &format!("event: {name}\ndata: {data}\n\n");
    ev(
        "message_start",
        json!({"type":"message_start","message":{"id":"msg_demo","type":"message",
        "role":"assistant","model":model,"content":[],"stop_reason":null,"stop_sequence":null,
        "usage":{"input_tokens":1,"output_tokens":0}}}),
    );
    ev(
        "content_block_start",
        json!({"type":"content_block_start","index":0,
        "content_block":{"type":"text","text":""}}),
    );
    for p in pieces(reply) {
        ev(
            "content_block_delta",
            json!({"type":"content_block_delta","index":0,
            "delta":{"type":"text_delta","text":p}}),
        );
    }
    ev(
        "content_block_stop",
        json!({"type":"content_block_stop","index":0}),
    );
    ev(
        "message_delta",
        json!({"type":"message_delta","delta":{"stop_reason":"end_turn",
        "stop_sequence":null},"usage":{"output_tokens":1}}),
    );
    ev("message_stop", json!({"type":"message_stop"}));
    out
}
