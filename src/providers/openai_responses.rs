//! OpenAI Responses API: the request's text slots.
//!
//! `instructions`; `input` as a string or a list of items: messages (string content or
//! `input_text` / `output_text` / `refusal` parts), function and custom tool calls (arguments
//! walked as JSON) and their outputs, reasoning summaries. Item types that carry no text a person
//! wrote (`item_reference`) pass; unknown item types are refused.

use serde_json::{Map, Value};

use super::openai_chat::truncate_label;
use super::{
    retain_parts, unreadable_part, visit_all_strings, visit_json_text, visit_str_field, SlotVisitor,
};
use crate::error::ProxyError;
use crate::policy::Unreadable;

/// `POST /v1/responses`
pub fn visit_responses(
    obj: &mut Map<String, Value>,
    unreadable: Unreadable,
    visit: &mut SlotVisitor<'_>,
) -> Result<(), ProxyError> {
    visit_str_field(obj, "instructions", visit)?;
    match obj.get_mut("input") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) => visit(s),
        Some(Value::Array(items)) => {
            for item in items.iter_mut() {
                visit_item(item, unreadable, visit)?;
            }
            Ok(())
        }
        Some(_) => Err(ProxyError::UnsupportedShape(
            "`input` must be a string or an array of items".into(),
        )),
    }
}

fn visit_item(
    item: &mut Value,
    unreadable: Unreadable,
    visit: &mut SlotVisitor<'_>,
) -> Result<(), ProxyError> {
    let item = item
        .as_object_mut()
        .ok_or_else(|| ProxyError::UnsupportedShape("input items must be objects".into()))?;
    let kind = item
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or(if item.contains_key("role") {
            "message"
        } else {
            ""
        })
        .to_string();
    match kind.as_str() {
        "message" => visit_message_content(item, unreadable, visit),
        "function_call" => match item.get_mut("arguments") {
            Some(Value::String(a)) => visit_json_text(a, visit),
            _ => Ok(()),
        },
        "custom_tool_call" => visit_str_field(item, "input", visit),
        "function_call_output" | "custom_tool_call_output" => match item.get_mut("output") {
            Some(Value::String(s)) => visit_json_text(s, visit),
            Some(Value::Array(parts)) => retain_parts(parts, |p| visit_part(p, unreadable, visit)),
            _ => Ok(()),
        },
        "reasoning" => {
            if let Some(summary) = item.get_mut("summary") {
                visit_all_strings(summary, visit)?;
            }
            Ok(())
        }
        "item_reference" => Ok(()),
        _ => Err(ProxyError::UnsupportedShape(format!(
            "unknown input item type {:?}",
            truncate_label(&kind)
        ))),
    }
}

fn visit_message_content(
    item: &mut Map<String, Value>,
    unreadable: Unreadable,
    visit: &mut SlotVisitor<'_>,
) -> Result<(), ProxyError> {
    match item.get_mut("content") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) => visit(s),
        Some(Value::Array(parts)) => retain_parts(parts, |p| visit_part(p, unreadable, visit)),
        Some(_) => Err(ProxyError::UnsupportedShape(
            "message `content` must be a string or an array of parts".into(),
        )),
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
        "input_text" | "output_text" | "text" | "summary_text" => {
            visit_str_field(part, "text", visit)?;
            Ok(true)
        }
        "refusal" => {
            visit_str_field(part, "refusal", visit)?;
            Ok(true)
        }
        "input_image" | "input_file" | "input_audio" => unreadable_part(&kind, unreadable),
        _ => Err(ProxyError::UnsupportedShape(format!(
            "unknown content part type {:?}",
            truncate_label(&kind)
        ))),
    }
}

// === streamed answers ===

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use super::sse::{event_bytes, restore_whole_event, SseEvent, StreamTransform};
use crate::redact::stream::{Encoding, StreamRestorer};
use crate::redact::Restorer;

/// Restores placeholders in Responses API streams: `response.output_text.delta`,
/// `response.refusal.delta` and `response.function_call_arguments.delta` per output item and
/// content part, split anywhere; held text is sent as one more delta before the matching
/// `.done` event. Complete objects (`.done` events, `response.completed`, items) are restored
/// in place.
pub struct ResponsesStream {
    restorer: Arc<Restorer>,
    /// Key: (event type of the delta, item id, content index).
    channels: BTreeMap<(String, String, u64), (Value, StreamRestorer)>,
}

impl ResponsesStream {
    /// A transform for one streamed answer.
    pub fn new(restorer: Arc<Restorer>) -> ResponsesStream {
        ResponsesStream {
            restorer,
            channels: BTreeMap::new(),
        }
    }

    fn key(kind: &str, v: &Value) -> (String, String, u64) {
        (
            kind.to_string(),
            v.get("item_id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            v.get("content_index").and_then(Value::as_u64).unwrap_or(0),
        )
    }

    fn flush(&mut self, key: &(String, String, u64)) -> Option<Bytes> {
        let (template, r) = self.channels.get_mut(key)?;
        if !r.has_held() {
            return None;
        }
        let mut ev = template.clone();
        ev["delta"] = Value::String(r.finish());
        Some(event_bytes(Some(&key.0), &ev))
    }
}

impl StreamTransform for ResponsesStream {
    fn event(&mut self, event: SseEvent) -> Vec<Bytes> {
        let Some(mut v) = event.json() else {
            return vec![event.raw];
        };
        let kind = v
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let encoding = match kind.as_str() {
            "response.output_text.delta" | "response.refusal.delta" => Some(Encoding::Text),
            "response.function_call_arguments.delta" => Some(Encoding::JsonString),
            _ => None,
        };
        if let Some(encoding) = encoding {
            let key = Self::key(&kind, &v);
            let Some(Value::String(delta)) = v.get("delta").cloned() else {
                return vec![event.raw];
            };
            let restorer = self.restorer.clone();
            let entry = self
                .channels
                .entry(key)
                .or_insert_with(|| (v.clone(), StreamRestorer::new(restorer, encoding)));
            let released = entry.1.push(&delta);
            if released == delta {
                return vec![event.raw];
            }
            v["delta"] = Value::String(released);
            return vec![event.with_data(&v)];
        }
        let mut out = Vec::new();
        if let Some(delta_kind) = kind.strip_suffix(".done") {
            let key = Self::key(&format!("{delta_kind}.delta"), &v);
            out.extend(self.flush(&key));
        }
        out.extend(restore_whole_event(&self.restorer, event));
        out
    }

    fn finish(&mut self) -> Vec<Bytes> {
        let keys: Vec<_> = self.channels.keys().cloned().collect();
        keys.iter().filter_map(|k| self.flush(k)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_responses_slot_is_visited() {
        let mut body = json!({"model":"m","instructions":"ins","input":[
            {"role":"user","content":"plain"},
            {"type":"message","role":"user","content":[{"type":"input_text","text":"part"},{"type":"input_image","image_url":"x"}]},
            {"type":"function_call","call_id":"c","name":"f","arguments":"{\"a\":\"arg\"}"},
            {"type":"function_call_output","call_id":"c","output":"out"},
            {"type":"item_reference","id":"r"}
        ]});
        let mut seen = Vec::new();
        visit_responses(
            body.as_object_mut().unwrap(),
            Unreadable::Allow,
            &mut |s: &mut String| {
                seen.push(s.clone());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, ["ins", "plain", "part", "arg", "out"]);
        let mut s = json!({"input":"just text"});
        let mut n = 0;
        visit_responses(
            s.as_object_mut().unwrap(),
            Unreadable::Allow,
            &mut |_: &mut String| {
                n += 1;
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn unknown_items_are_refused() {
        let mut body = json!({"input":[{"type":"mystery","x":"y"}]});
        assert!(visit_responses(
            body.as_object_mut().unwrap(),
            Unreadable::Allow,
            &mut |_: &mut String| Ok(())
        )
        .is_err());
    }
}
