//! Ollama's native API: `/api/chat` and `/api/generate`, answered by default as a stream of
//! newline-delimited JSON objects.
//!
//! Request: `messages[].content` (and tool-call arguments), or `prompt`, `system` and `suffix`;
//! `images` are unreadable content (policy decides). Streamed answer: `message.content` /
//! `message.thinking` or `response`, split anywhere across lines; held text goes into the final
//! `"done": true` line.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value};

use super::sse::{SseEvent, StreamTransform};
use super::{unreadable_part, visit_all_strings, visit_str_field, SlotVisitor};
use crate::error::ProxyError;
use crate::policy::Unreadable;
use crate::redact::stream::{Encoding, StreamRestorer};
use crate::redact::Restorer;

fn images(obj: &mut Map<String, Value>, unreadable: Unreadable) -> Result<(), ProxyError> {
    if obj.get("images").is_some_and(|v| !v.is_null()) && !unreadable_part("images", unreadable)? {
        obj.remove("images");
    }
    Ok(())
}

/// `POST /api/chat`
pub fn visit_chat(
    obj: &mut Map<String, Value>,
    unreadable: Unreadable,
    visit: &mut SlotVisitor<'_>,
) -> Result<(), ProxyError> {
    let Some(Value::Array(messages)) = obj.get_mut("messages") else {
        return Err(ProxyError::UnsupportedShape(
            "`messages` must be an array".into(),
        ));
    };
    for m in messages {
        let m = m
            .as_object_mut()
            .ok_or_else(|| ProxyError::UnsupportedShape("each message must be an object".into()))?;
        visit_str_field(m, "content", visit)?;
        visit_str_field(m, "thinking", visit)?;
        if let Some(calls) = m.get_mut("tool_calls") {
            visit_all_strings(calls, visit)?;
        }
        images(m, unreadable)?;
    }
    Ok(())
}

/// `POST /api/generate`
pub fn visit_generate(
    obj: &mut Map<String, Value>,
    unreadable: Unreadable,
    visit: &mut SlotVisitor<'_>,
) -> Result<(), ProxyError> {
    for key in ["prompt", "system", "suffix"] {
        visit_str_field(obj, key, visit)?;
    }
    images(obj, unreadable)
}

/// Ollama streams unless the request says `"stream": false`.
pub fn wants_stream(body: &Value) -> bool {
    body.get("stream").and_then(Value::as_bool).unwrap_or(true)
}

/// Restores placeholders in Ollama's NDJSON streams (each "event" is one line).
pub struct NdjsonStream {
    content: StreamRestorer,
    thinking: StreamRestorer,
}

impl NdjsonStream {
    /// A transform for one streamed answer.
    pub fn new(restorer: Arc<Restorer>) -> NdjsonStream {
        NdjsonStream {
            content: StreamRestorer::new(restorer.clone(), Encoding::Text),
            thinking: StreamRestorer::new(restorer, Encoding::Text),
        }
    }
}

fn line(v: &Value) -> Bytes {
    Bytes::from(format!("{v}\n"))
}

impl StreamTransform for NdjsonStream {
    fn event(&mut self, event: SseEvent) -> Vec<Bytes> {
        let Some(mut v) = serde_json::from_slice::<Value>(&event.raw).ok() else {
            return vec![event.raw];
        };
        let done = v.get("done").and_then(Value::as_bool).unwrap_or(false);
        let mut changed = false;
        let slots: [(&str, Option<&str>, bool); 3] = [
            ("message", Some("content"), false),
            ("message", Some("thinking"), true),
            ("response", None, false),
        ];
        for (outer, inner, is_thinking) in slots {
            let target = match inner {
                Some(k) => v.get_mut(outer).and_then(|m| m.get_mut(k)),
                None => v.get_mut(outer),
            };
            let Some(Value::String(s)) = target else {
                continue;
            };
            let r = if is_thinking {
                &mut self.thinking
            } else {
                &mut self.content
            };
            let mut released = r.push(s);
            if done {
                released.push_str(&r.finish());
            }
            changed |= released != *s;
            *s = released;
        }
        if changed {
            vec![line(&v)]
        } else {
            vec![event.raw]
        }
    }

    fn finish(&mut self) -> Vec<Bytes> {
        let mut out = Vec::new();
        if self.content.has_held() {
            out.push(line(&serde_json::json!({"message": {"role": "assistant", "content": self.content.finish()}, "done": false})));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn chat_and_generate_slots() {
        let mut chat = json!({"model": "llama3", "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "hi", "images": ["AAAA"]}
        ]});
        let mut seen = Vec::new();
        visit_chat(
            chat.as_object_mut().unwrap(),
            Unreadable::Strip,
            &mut |s: &mut String| {
                seen.push(s.clone());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, ["sys", "hi"]);
        assert!(
            chat["messages"][1].get("images").is_none(),
            "stripped by policy"
        );
        let mut gen = json!({"model": "m", "prompt": "p", "system": "s"});
        let mut n = 0;
        visit_generate(
            gen.as_object_mut().unwrap(),
            Unreadable::Allow,
            &mut |_: &mut String| {
                n += 1;
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(n, 2);
        assert!(wants_stream(&json!({})));
        assert!(!wants_stream(&json!({"stream": false})));
    }
}
