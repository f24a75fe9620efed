//! OpenAI chat completions, legacy completions and embeddings: the request's text slots.
//!
//! Chat: every message's `content` (a string or text/refusal parts), tool-call `arguments`
//! (walked as JSON), legacy `function_call.arguments`, and tool results. Completions: `prompt`
//! and `suffix`. Embeddings: `input` (string or array of strings; token arrays carry no text).

use serde_json::{Map, Value};

use super::{retain_parts, unreadable_part, visit_json_text, visit_str_field, SlotVisitor};
use crate::error::ProxyError;
use crate::policy::Unreadable;

/// `POST /v1/chat/completions`
pub fn visit_chat(
    obj: &mut Map<String, Value>,
    unreadable: Unreadable,
    visit: &mut SlotVisitor<'_>,
) -> Result<(), ProxyError> {
    let messages = match obj.get_mut("messages") {
        Some(Value::Array(m)) => m,
        _ => {
            return Err(ProxyError::UnsupportedShape(
                "`messages` must be an array".into(),
            ))
        }
    };
    for msg in messages.iter_mut() {
        let msg = msg
            .as_object_mut()
            .ok_or_else(|| ProxyError::UnsupportedShape("each message must be an object".into()))?;
        visit_content(msg, "content", unreadable, visit)?;
        visit_str_field(msg, "refusal", visit)?;
        if let Some(calls) = msg.get_mut("tool_calls") {
            visit_tool_calls(calls, visit)?;
        }
        if let Some(Value::Object(fc)) = msg.get_mut("function_call") {
            if let Some(Value::String(args)) = fc.get_mut("arguments") {
                visit_json_text(args, visit)?;
            }
        }
    }
    Ok(())
}

/// A message's `content`: null, a string, or an array of parts.
fn visit_content(
    msg: &mut Map<String, Value>,
    key: &str,
    unreadable: Unreadable,
    visit: &mut SlotVisitor<'_>,
) -> Result<(), ProxyError> {
    match msg.get_mut(key) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) => visit(s),
        Some(Value::Array(parts)) => retain_parts(parts, |p| visit_part(p, unreadable, visit)),
        Some(_) => Err(ProxyError::UnsupportedShape(format!(
            "message `{key}` must be a string or an array of parts"
        ))),
    }
}

/// One content part; `Ok(false)` = strip it.
fn visit_part(
    part: &mut Value,
    unreadable: Unreadable,
    visit: &mut SlotVisitor<'_>,
) -> Result<bool, ProxyError> {
    let (part, kind) = super::typed_part(part, "content parts")?;
    match kind.as_str() {
        "text" => {
            visit_str_field(part, "text", visit)?;
            Ok(true)
        }
        "refusal" => {
            visit_str_field(part, "refusal", visit)?;
            Ok(true)
        }
        "image_url" | "input_audio" | "file" => unreadable_part(&kind, unreadable),
        _ => Err(ProxyError::UnsupportedShape(format!(
            "unknown content part type {:?}",
            truncate_label(&kind)
        ))),
    }
}

fn visit_tool_calls(calls: &mut Value, visit: &mut SlotVisitor<'_>) -> Result<(), ProxyError> {
    let Value::Array(calls) = calls else {
        return Err(ProxyError::UnsupportedShape(
            "`tool_calls` must be an array".into(),
        ));
    };
    for call in calls {
        let Some(call) = call.as_object_mut() else {
            return Err(ProxyError::UnsupportedShape(
                "each tool call must be an object".into(),
            ));
        };
        if let Some(Value::Object(f)) = call.get_mut("function") {
            if let Some(Value::String(args)) = f.get_mut("arguments") {
                visit_json_text(args, visit)?;
            }
        }
        if let Some(Value::Object(c)) = call.get_mut("custom") {
            visit_str_field(c, "input", visit)?;
        }
    }
    Ok(())
}

/// `POST /v1/completions`
pub fn visit_completions(
    obj: &mut Map<String, Value>,
    visit: &mut SlotVisitor<'_>,
) -> Result<(), ProxyError> {
    visit_text_or_tokens(obj, "prompt", visit)?;
    visit_str_field(obj, "suffix", visit)
}

/// `POST /v1/embeddings`
pub fn visit_embeddings(
    obj: &mut Map<String, Value>,
    visit: &mut SlotVisitor<'_>,
) -> Result<(), ProxyError> {
    visit_text_or_tokens(obj, "input", visit)
}

/// A string, an array of strings, or token arrays (numbers: no text to scan).
fn visit_text_or_tokens(
    obj: &mut Map<String, Value>,
    key: &str,
    visit: &mut SlotVisitor<'_>,
) -> Result<(), ProxyError> {
    let bad = || ProxyError::UnsupportedShape(format!("`{key}` must be text or token arrays"));
    match obj.get_mut(key) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) => visit(s),
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(s) => visit(s)?,
                    Value::Number(_) => {}
                    Value::Array(tokens) if tokens.iter().all(Value::is_number) => {}
                    _ => return Err(bad()),
                }
            }
            Ok(())
        }
        Some(_) => Err(bad()),
    }
}

/// Client-chosen labels are echoed in errors only when short and plain.
pub(crate) fn truncate_label(s: &str) -> String {
    if s.len() <= 32 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        s.to_string()
    } else {
        "(unprintable)".to_string()
    }
}

// === streamed answers ===

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use super::sse::{event_bytes, SseEvent, StreamTransform};
use crate::redact::stream::{Encoding, StreamRestorer};
use crate::redact::Restorer;

/// A text channel of a chat completion stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Channel {
    Content,
    Refusal,
    Tool(u64),
}

/// Restores placeholders in `chat.completion.chunk` streams: `delta.content`, `delta.refusal`
/// and `delta.tool_calls[].function.arguments`, per choice, split anywhere across chunks. Held
/// text is flushed into the choice's finishing chunk, or in a chunk of its own before `[DONE]`.
pub struct ChatStream {
    restorer: Arc<Restorer>,
    channels: BTreeMap<(u64, Channel), StreamRestorer>,
    /// `id`, `created`, `model` of the last chunk, for synthesised chunks.
    last: Option<Value>,
}

impl ChatStream {
    /// A transform for one streamed answer.
    pub fn new(restorer: Arc<Restorer>) -> ChatStream {
        ChatStream {
            restorer,
            channels: BTreeMap::new(),
            last: None,
        }
    }

    fn push(&mut self, choice: u64, ch: Channel, text: &str) -> String {
        let encoding = match ch {
            Channel::Tool(_) => Encoding::JsonString,
            _ => Encoding::Text,
        };
        let restorer = self.restorer.clone();
        self.channels
            .entry((choice, ch))
            .or_insert_with(|| StreamRestorer::new(restorer, encoding))
            .push(text)
    }

    /// Takes the held text of every channel of `choice` (or of all choices).
    fn drain(&mut self, choice: Option<u64>) -> Vec<((u64, Channel), String)> {
        let mut out = Vec::new();
        for (key, r) in self.channels.iter_mut() {
            if choice.is_none_or(|c| c == key.0) && r.has_held() {
                out.push((*key, r.finish()));
            }
        }
        out
    }

    fn put_held(delta: &mut Map<String, Value>, ch: Channel, text: String) {
        match ch {
            Channel::Content | Channel::Refusal => {
                let key = if ch == Channel::Content {
                    "content"
                } else {
                    "refusal"
                };
                let prev = delta.get(key).and_then(Value::as_str).unwrap_or("");
                let joined = format!("{prev}{text}");
                delta.insert(key.into(), Value::String(joined));
            }
            Channel::Tool(index) => {
                let calls = delta
                    .entry("tool_calls")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(calls) = calls {
                    calls
                        .push(serde_json::json!({"index": index, "function": {"arguments": text}}));
                }
            }
        }
    }
}

impl StreamTransform for ChatStream {
    fn event(&mut self, event: SseEvent) -> Vec<Bytes> {
        if event.data.as_deref() == Some("[DONE]") {
            let mut out = self.finish();
            out.push(event.raw);
            return out;
        }
        let Some(mut v) = event.json() else {
            return vec![event.raw];
        };
        let mut changed = false;
        if let Some(Value::Array(choices)) = v.get_mut("choices") {
            for choice in choices.iter_mut() {
                let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0);
                let finishing = choice.get("finish_reason").is_some_and(|f| !f.is_null());
                let Some(Value::Object(delta)) = choice.get_mut("delta") else {
                    continue;
                };
                for (key, ch) in [("content", Channel::Content), ("refusal", Channel::Refusal)] {
                    if let Some(Value::String(s)) = delta.get_mut(key) {
                        let released = self.push(index, ch, s);
                        changed |= released != *s;
                        *s = released;
                    }
                }
                if let Some(Value::Array(calls)) = delta.get_mut("tool_calls") {
                    for call in calls.iter_mut() {
                        let t = call.get("index").and_then(Value::as_u64).unwrap_or(0);
                        if let Some(Value::String(args)) = call
                            .get_mut("function")
                            .and_then(|f| f.get_mut("arguments"))
                        {
                            let released = self.push(index, Channel::Tool(t), args);
                            changed |= released != *args;
                            *args = released;
                        }
                    }
                }
                if finishing {
                    for ((_, ch), held) in self.drain(Some(index)) {
                        Self::put_held(delta, ch, held);
                        changed = true;
                    }
                }
            }
        }
        self.last = Some(v.clone());
        if changed {
            vec![event.with_data(&v)]
        } else {
            vec![event.raw]
        }
    }

    fn finish(&mut self) -> Vec<Bytes> {
        let held = self.drain(None);
        let mut out = Vec::new();
        for ((choice, ch), text) in held {
            let mut delta = Map::new();
            Self::put_held(&mut delta, ch, text);
            let mut chunk = serde_json::json!({
                "id": "", "object": "chat.completion.chunk", "created": 0, "model": "",
            });
            if let Some(last) = &self.last {
                for key in ["id", "object", "created", "model", "system_fingerprint"] {
                    if let Some(v) = last.get(key) {
                        chunk[key] = v.clone();
                    }
                }
            }
            chunk["choices"] = serde_json::json!([
                {"index": choice, "delta": delta, "logprobs": null, "finish_reason": null}
            ]);
            out.push(event_bytes(None, &chunk));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn collect(body: &mut Value) -> Result<Vec<String>, ProxyError> {
        let mut seen = Vec::new();
        visit_chat(
            body.as_object_mut().unwrap(),
            Unreadable::Allow,
            &mut |s: &mut String| {
                seen.push(s.clone());
                *s = "X".into();
                Ok(())
            },
        )?;
        Ok(seen)
    }

    #[test]
    fn every_chat_slot_is_visited() {
        let mut body = json!({"model":"m","messages":[
            {"role":"system","content":"sys"},
            {"role":"developer","content":[{"type":"text","text":"dev"}]},
            {"role":"user","content":[{"type":"text","text":"u1"},{"type":"image_url","image_url":{"url":"data:"}}]},
            {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"email\":\"e\"}"}}]},
            {"role":"tool","tool_call_id":"c1","content":"result"}
        ]});
        let seen = collect(&mut body).unwrap();
        assert_eq!(seen, ["sys", "dev", "u1", "e", "result"]);
        assert_eq!(
            body["messages"][3]["tool_calls"][0]["function"]["arguments"],
            "{\"email\":\"X\"}"
        );
    }

    #[test]
    fn unknown_part_types_are_refused() {
        let mut body =
            json!({"messages":[{"role":"user","content":[{"type":"hologram","x":"y"}]}]});
        assert!(matches!(
            collect(&mut body),
            Err(ProxyError::UnsupportedShape(_))
        ));
        let mut body = json!({"messages":[{"role":"user","content":42}]});
        assert!(collect(&mut body).is_err());
        let mut body = json!({"messages":"hi"});
        assert!(collect(&mut body).is_err());
    }

    #[test]
    fn unreadable_parts_follow_the_policy() {
        let body = json!({"messages":[{"role":"user","content":[{"type":"text","text":"t"},{"type":"image_url","image_url":{"url":"u"}}]}]});
        let mut stripped = body.clone();
        visit_chat(
            stripped.as_object_mut().unwrap(),
            Unreadable::Strip,
            &mut |_: &mut String| Ok(()),
        )
        .unwrap();
        assert_eq!(
            stripped["messages"][0]["content"].as_array().unwrap().len(),
            1
        );
        let mut blocked = body.clone();
        assert!(matches!(
            visit_chat(
                blocked.as_object_mut().unwrap(),
                Unreadable::Block,
                &mut |_: &mut String| Ok(())
            ),
            Err(ProxyError::UnsupportedContent(_))
        ));
    }

    #[test]
    fn embeddings_and_completions() {
        let mut e = json!({"input":["a",[1,2],"b"]});
        let mut seen = Vec::new();
        visit_embeddings(e.as_object_mut().unwrap(), &mut |s: &mut String| {
            seen.push(s.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, ["a", "b"]);
        let mut c = json!({"prompt":{"x":1}});
        assert!(
            visit_completions(c.as_object_mut().unwrap(), &mut |_: &mut String| Ok(())).is_err()
        );
    }
}
