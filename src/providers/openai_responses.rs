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
    let part = part
        .as_object_mut()
        .ok_or_else(|| ProxyError::UnsupportedShape("content parts must be objects".into()))?;
    let kind = part
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
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
