//! Google Gemini `generateContent` / `streamGenerateContent` (`?alt=sse`): the request's text
//! slots and the streamed answer's.
//!
//! Request: `systemInstruction.parts[].text`, every `contents[].parts[]`: `text`,
//! `functionCall.args` and `functionResponse.response` (every string inside); `inlineData` and
//! `fileData` are unreadable content (policy decides); unknown part kinds are refused.
//! Streamed answer: `candidates[i].content.parts[j].text` per candidate, split anywhere across
//! events; held text is flushed into the candidate's finishing event or an event of its own.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value};

use super::openai_chat::truncate_label;
use super::sse::{event_bytes, SseEvent, StreamTransform};
use super::{retain_parts, unreadable_part, visit_all_strings, visit_str_field, SlotVisitor};
use crate::error::ProxyError;
use crate::policy::Unreadable;
use crate::redact::stream::{Encoding, StreamRestorer};
use crate::redact::Restorer;

/// `POST /v1beta/models/{model}:generateContent` and `:streamGenerateContent`.
pub fn visit_generate(
    obj: &mut Map<String, Value>,
    unreadable: Unreadable,
    visit: &mut SlotVisitor<'_>,
) -> Result<(), ProxyError> {
    for key in ["systemInstruction", "system_instruction"] {
        if let Some(Value::Object(sys)) = obj.get_mut(key) {
            visit_parts(sys, unreadable, visit)?;
        }
    }
    match obj.get_mut("contents") {
        Some(Value::Array(contents)) => {
            for c in contents {
                let c = c.as_object_mut().ok_or_else(|| {
                    ProxyError::UnsupportedShape("each content must be an object".into())
                })?;
                visit_parts(c, unreadable, visit)?;
            }
            Ok(())
        }
        _ => Err(ProxyError::UnsupportedShape(
            "`contents` must be an array".into(),
        )),
    }
}

fn visit_parts(
    content: &mut Map<String, Value>,
    unreadable: Unreadable,
    visit: &mut SlotVisitor<'_>,
) -> Result<(), ProxyError> {
    match content.get_mut("parts") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(parts)) => retain_parts(parts, |p| visit_part(p, unreadable, visit)),
        Some(_) => Err(ProxyError::UnsupportedShape(
            "`parts` must be an array".into(),
        )),
    }
}

fn visit_part(
    part: &mut Value,
    unreadable: Unreadable,
    visit: &mut SlotVisitor<'_>,
) -> Result<bool, ProxyError> {
    let part = part
        .as_object_mut()
        .ok_or_else(|| ProxyError::UnsupportedShape("parts must be objects".into()))?;
    if part.contains_key("text") {
        visit_str_field(part, "text", visit)?;
        return Ok(true);
    }
    for key in [
        "functionCall",
        "function_call",
        "functionResponse",
        "function_response",
    ] {
        if let Some(v) = part.get_mut(key) {
            visit_all_strings(v, visit)?;
            return Ok(true);
        }
    }
    for key in ["inlineData", "inline_data", "fileData", "file_data"] {
        if part.contains_key(key) {
            return unreadable_part(key, unreadable);
        }
    }
    if part.contains_key("thought") || part.contains_key("thoughtSignature") {
        return Ok(true);
    }
    let kind = part.keys().next().cloned().unwrap_or_default();
    Err(ProxyError::UnsupportedShape(format!(
        "unknown part kind {:?}",
        truncate_label(&kind)
    )))
}

/// Restores placeholders in `streamGenerateContent?alt=sse` streams.
pub struct GenerateStream {
    restorer: Arc<Restorer>,
    candidates: BTreeMap<u64, StreamRestorer>,
    last: Option<Value>,
}

impl GenerateStream {
    /// A transform for one streamed answer.
    pub fn new(restorer: Arc<Restorer>) -> GenerateStream {
        GenerateStream {
            restorer,
            candidates: BTreeMap::new(),
            last: None,
        }
    }
}

/// The text of a candidate's first text part, mutably (inserted when missing).
fn first_text(candidate: &mut Value) -> Option<&mut Value> {
    let parts = candidate
        .get_mut("content")?
        .get_mut("parts")?
        .as_array_mut()?;
    parts.iter_mut().find_map(|p| p.get_mut("text"))
}

impl StreamTransform for GenerateStream {
    fn event(&mut self, event: SseEvent) -> Vec<Bytes> {
        let Some(mut v) = event.json() else {
            return vec![event.raw];
        };
        let mut changed = false;
        if let Some(Value::Array(cands)) = v.get_mut("candidates") {
            for (pos, cand) in cands.iter_mut().enumerate() {
                let index = cand
                    .get("index")
                    .and_then(Value::as_u64)
                    .unwrap_or(pos as u64);
                let finishing = cand.get("finishReason").is_some_and(|f| !f.is_null());
                let restorer = self.restorer.clone();
                let r = self
                    .candidates
                    .entry(index)
                    .or_insert_with(|| StreamRestorer::new(restorer, Encoding::Text));
                if let Some(parts) = cand
                    .get_mut("content")
                    .and_then(|c| c.get_mut("parts"))
                    .and_then(Value::as_array_mut)
                {
                    for p in parts.iter_mut() {
                        if let Some(Value::String(t)) = p.get_mut("text") {
                            let released = r.push(t);
                            changed |= released != *t;
                            *t = released;
                        } else if let Some(call) = p.get_mut("functionCall") {
                            changed |= super::restore_json(call, &self.restorer);
                        }
                    }
                }
                if finishing && r.has_held() {
                    let held = r.finish();
                    match first_text(cand) {
                        Some(Value::String(t)) => t.push_str(&held),
                        _ => {
                            cand["content"] =
                                serde_json::json!({"role": "model", "parts": [{"text": held}]});
                        }
                    }
                    changed = true;
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
        let mut out = Vec::new();
        for (index, r) in self.candidates.iter_mut() {
            if !r.has_held() {
                continue;
            }
            let mut ev = serde_json::json!({"candidates": [{"index": index,
                "content": {"role": "model", "parts": [{"text": r.finish()}]}}]});
            if let Some(model) = self.last.as_ref().and_then(|l| l.get("modelVersion")) {
                ev["modelVersion"] = model.clone();
            }
            out.push(event_bytes(None, &ev));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_gemini_slot_is_visited() {
        let mut body = json!({
            "systemInstruction": {"parts": [{"text": "sys"}]},
            "contents": [
                {"role": "user", "parts": [{"text": "hello"}, {"inlineData": {"mimeType": "image/png", "data": "AA"}}]},
                {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"q": "arg"}}}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"r": "res"}}}]}
            ]
        });
        let mut seen = Vec::new();
        visit_generate(
            body.as_object_mut().unwrap(),
            Unreadable::Allow,
            &mut |s: &mut String| {
                seen.push(s.clone());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, ["sys", "hello", "f", "arg", "f", "res"]);
        let mut bad = json!({"contents": [{"parts": [{"hologram": {}}]}]});
        assert!(visit_generate(
            bad.as_object_mut().unwrap(),
            Unreadable::Allow,
            &mut |_: &mut String| Ok(())
        )
        .is_err());
    }
}
