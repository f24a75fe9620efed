//! Anthropic Messages API: the request's text slots.
//!
//! `system` (a string or text blocks) and every message's `content` (a string or blocks): `text`,
//! `tool_use` / `server_tool_use` input (every string inside), `tool_result` content (string or
//! blocks), `thinking`, and `document` with a plain-text source. Images and binary documents are
//! unreadable content (policy decides); unknown block types are refused.

use serde_json::{Map, Value};

use super::openai_chat::truncate_label;
use super::{retain_parts, unreadable_part, visit_all_strings, visit_str_field, SlotVisitor};
use crate::error::ProxyError;
use crate::policy::Unreadable;

/// `POST /v1/messages` and `/v1/messages/count_tokens`
pub fn visit_messages(
    obj: &mut Map<String, Value>,
    unreadable: Unreadable,
    visit: &mut SlotVisitor<'_>,
) -> Result<(), ProxyError> {
    match obj.get_mut("system") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => visit(s)?,
        Some(Value::Array(blocks)) => visit_blocks(blocks, unreadable, visit)?,
        Some(_) => {
            return Err(ProxyError::UnsupportedShape(
                "`system` must be a string or an array of blocks".into(),
            ))
        }
    }
    let messages = match obj.get_mut("messages") {
        Some(Value::Array(m)) => m,
        _ => {
            return Err(ProxyError::UnsupportedShape(
                "`messages` must be an array".into(),
            ))
        }
    };
    for msg in messages {
        let msg = msg
            .as_object_mut()
            .ok_or_else(|| ProxyError::UnsupportedShape("each message must be an object".into()))?;
        visit_content(msg, unreadable, visit)?;
    }
    Ok(())
}

fn visit_content(
    obj: &mut Map<String, Value>,
    unreadable: Unreadable,
    visit: &mut SlotVisitor<'_>,
) -> Result<(), ProxyError> {
    match obj.get_mut("content") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) => visit(s),
        Some(Value::Array(blocks)) => visit_blocks(blocks, unreadable, visit),
        Some(_) => Err(ProxyError::UnsupportedShape(
            "`content` must be a string or an array of blocks".into(),
        )),
    }
}

fn visit_blocks(
    blocks: &mut Vec<Value>,
    unreadable: Unreadable,
    visit: &mut SlotVisitor<'_>,
) -> Result<(), ProxyError> {
    retain_parts(blocks, |b| visit_block(b, unreadable, visit))
}

/// One content block; `Ok(false)` = strip it.
fn visit_block(
    block: &mut Value,
    unreadable: Unreadable,
    visit: &mut SlotVisitor<'_>,
) -> Result<bool, ProxyError> {
    let (block, kind) = super::typed_part(block, "content blocks")?;
    match kind.as_str() {
        "text" => visit_str_field(block, "text", visit)?,
        "thinking" => visit_str_field(block, "thinking", visit)?,
        "redacted_thinking" => {}
        "tool_use" | "server_tool_use" => {
            if let Some(input) = block.get_mut("input") {
                visit_all_strings(input, visit)?;
            }
        }
        "tool_result" => visit_content(block, unreadable, visit)?,
        "search_result" | "web_search_tool_result" => {
            for key in ["title", "content"] {
                if let Some(v) = block.get_mut(key) {
                    visit_all_strings(v, visit)?;
                }
            }
        }
        "document" => {
            let is_text = block
                .get("source")
                .and_then(|s| s.get("type"))
                .and_then(Value::as_str)
                == Some("text");
            if is_text {
                if let Some(Value::Object(src)) = block.get_mut("source") {
                    visit_str_field(src, "data", visit)?;
                }
                for key in ["title", "context"] {
                    visit_str_field(block, key, visit)?;
                }
            } else {
                return unreadable_part(&kind, unreadable);
            }
        }
        "image" => return unreadable_part(&kind, unreadable),
        _ => {
            return Err(ProxyError::UnsupportedShape(format!(
                "unknown content block type {:?}",
                truncate_label(&kind)
            )))
        }
    }
    Ok(true)
}

// === streamed answers ===

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use super::sse::{event_bytes, restore_whole_event, SseEvent, StreamTransform};
use crate::redact::stream::{Encoding, StreamRestorer};
use crate::redact::Restorer;

/// Restores placeholders in Anthropic message streams: `text_delta.text`,
/// `thinking_delta.thinking` and `input_json_delta.partial_json`, per content block, split
/// anywhere across events. Held text goes out in one more delta just before the block's
/// `content_block_stop`. Whole-object events (`message_start`, `error`) are restored in place;
/// `ping` and the rest pass byte for byte.
pub struct MessagesStream {
    restorer: Arc<Restorer>,
    /// Per block index: the delta type and field, and its restorer.
    blocks: BTreeMap<u64, (String, &'static str, StreamRestorer)>,
}

impl MessagesStream {
    /// A transform for one streamed answer.
    pub fn new(restorer: Arc<Restorer>) -> MessagesStream {
        MessagesStream {
            restorer,
            blocks: BTreeMap::new(),
        }
    }

    fn flush_block(&mut self, index: u64) -> Option<Bytes> {
        let (kind, field, r) = self.blocks.get_mut(&index)?;
        if !r.has_held() {
            return None;
        }
        let text = r.finish();
        let delta = serde_json::json!({
            "type": "content_block_delta", "index": index,
            "delta": {"type": kind.clone(), *field: text},
        });
        Some(event_bytes(Some("content_block_delta"), &delta))
    }
}

impl StreamTransform for MessagesStream {
    fn event(&mut self, event: SseEvent) -> Vec<Bytes> {
        let kind = event
            .json()
            .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_string));
        match kind.as_deref() {
            Some("content_block_delta") => {
                let Some(mut v) = event.json() else {
                    return vec![event.raw];
                };
                let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
                let Some(Value::Object(delta)) = v.get_mut("delta") else {
                    return vec![event.raw];
                };
                let dtype = delta
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let (field, encoding) = match dtype.as_str() {
                    "text_delta" => ("text", Encoding::Text),
                    "thinking_delta" => ("thinking", Encoding::Text),
                    "input_json_delta" => ("partial_json", Encoding::JsonString),
                    _ => return restore_whole_event(&self.restorer, event),
                };
                let Some(Value::String(s)) = delta.get_mut(field) else {
                    return vec![event.raw];
                };
                let restorer = self.restorer.clone();
                let entry = self.blocks.entry(index).or_insert_with(|| {
                    (
                        dtype.clone(),
                        field,
                        StreamRestorer::new(restorer, encoding),
                    )
                });
                let released = entry.2.push(s);
                if released == *s {
                    return vec![event.raw];
                }
                *s = released;
                vec![event.with_data(&v)]
            }
            Some("content_block_stop") => {
                let index = event
                    .json()
                    .and_then(|v| v.get("index").and_then(Value::as_u64))
                    .unwrap_or(0);
                let mut out: Vec<Bytes> = self.flush_block(index).into_iter().collect();
                out.push(event.raw);
                out
            }
            Some("message_stop") => {
                let mut out = self.finish();
                out.push(event.raw);
                out
            }
            _ => restore_whole_event(&self.restorer, event),
        }
    }

    fn finish(&mut self) -> Vec<Bytes> {
        let indexes: Vec<u64> = self.blocks.keys().copied().collect();
        indexes
            .into_iter()
            .filter_map(|i| self.flush_block(i))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_anthropic_slot_is_visited() {
        let mut body = json!({"model":"m","max_tokens":10,
        "system":[{"type":"text","text":"sys"}],
        "messages":[
            {"role":"user","content":"plain"},
            {"role":"assistant","content":[{"type":"text","text":"t"},{"type":"tool_use","id":"t1","name":"f","input":{"q":"in","n":1}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"res"}]},
                                      {"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]}
        ]});
        let mut seen = Vec::new();
        visit_messages(
            body.as_object_mut().unwrap(),
            Unreadable::Allow,
            &mut |s: &mut String| {
                seen.push(s.clone());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, ["sys", "plain", "t", "in", "res"]);
    }

    #[test]
    fn unknown_blocks_are_refused_and_images_follow_policy() {
        let mut body = json!({"messages":[{"role":"user","content":[{"type":"mystery"}]}]});
        assert!(visit_messages(
            body.as_object_mut().unwrap(),
            Unreadable::Allow,
            &mut |_: &mut String| Ok(())
        )
        .is_err());
        let mut body =
            json!({"messages":[{"role":"user","content":[{"type":"image","source":{}}]}]});
        assert!(matches!(
            visit_messages(
                body.as_object_mut().unwrap(),
                Unreadable::Block,
                &mut |_: &mut String| Ok(())
            ),
            Err(ProxyError::UnsupportedContent(_))
        ));
    }
}
