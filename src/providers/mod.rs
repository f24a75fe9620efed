//! Provider wire formats: which paths exist, which JSON slots of a request carry text a person
//! wrote, and how answers are restored.
//!
//! Owns: routing by path ([`Route`]), the request-slot walkers (one file per wire format), and
//! the JSON helpers they share. A body shape an adapter does not understand is refused
//! ([`ProxyError::UnsupportedShape`]), never forwarded unscanned.

pub mod anthropic;
pub mod gemini;
pub mod generic;
pub mod ollama;
pub mod openai_chat;
pub mod openai_responses;
pub mod sse;
#[cfg(test)]
mod stream_props;

use http::Method;
use serde_json::Value;

use crate::error::{ErrorFlavor, ProxyError};
use crate::policy::Unreadable;
use crate::redact::Restorer;

/// The upstream family a route belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// OpenAI and OpenAI-compatible backends.
    OpenAi,
    /// Anthropic.
    Anthropic,
    /// Google Gemini.
    Gemini,
    /// Ollama's native API.
    Ollama,
    /// A backend described in config (`[[generic]]`).
    Generic,
}

impl Provider {
    /// The metric label / display name.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
            Provider::Gemini => "gemini",
            Provider::Ollama => "ollama",
            Provider::Generic => "generic",
        }
    }

    /// The error shape its clients expect.
    pub fn flavor(self) -> ErrorFlavor {
        match self {
            Provider::OpenAi => ErrorFlavor::OpenAi,
            Provider::Anthropic => ErrorFlavor::Anthropic,
            Provider::Gemini => ErrorFlavor::Gemini,
            Provider::Ollama => ErrorFlavor::Ollama,
            Provider::Generic => ErrorFlavor::OpenAi,
        }
    }
}

/// The endpoint within a provider: decides which slots are scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /v1/chat/completions`
    ChatCompletions,
    /// `POST /v1/completions` (legacy)
    Completions,
    /// `POST /v1/embeddings`
    Embeddings,
    /// `POST /v1/responses`
    Responses,
    /// `GET /v1/models[/{id}]`: no body, passed through.
    Models,
    /// `POST /v1/messages` (Anthropic)
    Messages,
    /// `POST /v1/messages/count_tokens` (Anthropic)
    CountTokens,
    /// `POST /v1beta/models/{model}:generateContent` (Gemini)
    GeminiGenerate,
    /// `POST /v1beta/models/{model}:streamGenerateContent` (Gemini)
    GeminiStream,
    /// `POST /api/chat` (Ollama)
    OllamaChat,
    /// `POST /api/generate` (Ollama)
    OllamaGenerate,
    /// A `[[generic]]` route from config, by its index.
    Generic(u16),
}

/// A matched route: a bounded template (used as a metric label), provider and endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The path template, e.g. `/v1/chat/completions`.
    pub template: &'static str,
    /// Which upstream.
    pub provider: Provider,
    /// Which wire format.
    pub endpoint: Endpoint,
}

impl Route {
    /// True when the route has a JSON body to scan.
    pub fn inspects_body(&self) -> bool {
        self.endpoint != Endpoint::Models
    }
}

/// The error shape for a path, even when no route matches (Anthropic paths get Anthropic errors).
pub fn flavor_for_path(path: &str) -> ErrorFlavor {
    if path.starts_with("/v1/messages") {
        ErrorFlavor::Anthropic
    } else if path.starts_with("/v1beta/") || is_gemini_action(path) {
        ErrorFlavor::Gemini
    } else if path.starts_with("/api/") {
        ErrorFlavor::Ollama
    } else {
        ErrorFlavor::OpenAi
    }
}

/// `/v1[beta]/models/{model}:generateContent` or `:streamGenerateContent`.
fn gemini_action(path: &str) -> Option<Endpoint> {
    let rest = path
        .strip_prefix("/v1beta/models/")
        .or_else(|| path.strip_prefix("/v1/models/"))?;
    let (model, action) = rest.split_once(':')?;
    if model.is_empty() || model.contains('/') || model.contains("..") {
        return None;
    }
    match action {
        "generateContent" => Some(Endpoint::GeminiGenerate),
        "streamGenerateContent" => Some(Endpoint::GeminiStream),
        _ => None,
    }
}

fn is_gemini_action(path: &str) -> bool {
    gemini_action(path).is_some()
}

/// The path templates a provider serves (for matching `[[route]]` prefixes to upstreams).
pub fn path_templates(provider: Provider) -> &'static [&'static str] {
    match provider {
        Provider::OpenAi => &[
            "/v1/chat/completions",
            "/v1/completions",
            "/v1/embeddings",
            "/v1/responses",
            "/v1/models",
        ],
        Provider::Anthropic => &["/v1/messages", "/v1/messages/count_tokens"],
        Provider::Gemini => &["/v1beta/models/"],
        Provider::Ollama => &["/api/chat", "/api/generate", "/api/tags"],
        Provider::Generic => &[],
    }
}

/// Matches a request to a route.
pub fn route(method: &Method, path: &str) -> Result<Route, ProxyError> {
    let path = path.trim_end_matches('/');
    if let Some(endpoint) = gemini_action(path) {
        if method != Method::POST {
            return Err(ProxyError::MethodNotAllowed);
        }
        let template = match endpoint {
            Endpoint::GeminiStream => "/v1beta/models/{model}:streamGenerateContent",
            _ => "/v1beta/models/{model}:generateContent",
        };
        return Ok(Route {
            template,
            provider: Provider::Gemini,
            endpoint,
        });
    }
    let ollama = match path {
        "/api/chat" => Some(("/api/chat", Endpoint::OllamaChat)),
        "/api/generate" => Some(("/api/generate", Endpoint::OllamaGenerate)),
        "/api/tags" => Some(("/api/tags", Endpoint::Models)),
        _ => None,
    };
    if let Some((template, endpoint)) = ollama {
        let ok = if endpoint == Endpoint::Models {
            method == Method::GET || method == Method::HEAD
        } else {
            method == Method::POST
        };
        if !ok {
            return Err(ProxyError::MethodNotAllowed);
        }
        return Ok(Route {
            template,
            provider: Provider::Ollama,
            endpoint,
        });
    }
    let (template, provider, endpoint) = match path {
        "/v1/chat/completions" => (path, Provider::OpenAi, Endpoint::ChatCompletions),
        "/v1/completions" => (path, Provider::OpenAi, Endpoint::Completions),
        "/v1/embeddings" => (path, Provider::OpenAi, Endpoint::Embeddings),
        "/v1/responses" => (path, Provider::OpenAi, Endpoint::Responses),
        "/v1/messages" => (path, Provider::Anthropic, Endpoint::Messages),
        "/v1/messages/count_tokens" => (path, Provider::Anthropic, Endpoint::CountTokens),
        "/v1/models" => ("/v1/models", Provider::OpenAi, Endpoint::Models),
        p if p.starts_with("/v1/models/")
            && p.len() > "/v1/models/".len()
            && !p["/v1/models/".len()..].contains("..") =>
        {
            ("/v1/models/{id}", Provider::OpenAi, Endpoint::Models)
        }
        _ => return Err(ProxyError::NotFound),
    };
    let template: &'static str = match template {
        "/v1/chat/completions" => "/v1/chat/completions",
        "/v1/completions" => "/v1/completions",
        "/v1/embeddings" => "/v1/embeddings",
        "/v1/responses" => "/v1/responses",
        "/v1/messages" => "/v1/messages",
        "/v1/messages/count_tokens" => "/v1/messages/count_tokens",
        "/v1/models" => "/v1/models",
        _ => "/v1/models/{id}",
    };
    let allowed = if endpoint == Endpoint::Models {
        method == Method::GET || method == Method::HEAD
    } else {
        method == Method::POST
    };
    if !allowed {
        return Err(ProxyError::MethodNotAllowed);
    }
    Ok(Route {
        template,
        provider,
        endpoint,
    })
}

/// Receives each text slot of a request; may rewrite it in place.
pub type SlotVisitor<'a> = dyn FnMut(&mut String) -> Result<(), ProxyError> + 'a;

/// Walks every text slot of a request body for the route's wire format.
pub fn visit_request(
    endpoint: Endpoint,
    body: &mut Value,
    unreadable: Unreadable,
    visit: &mut SlotVisitor<'_>,
) -> Result<(), ProxyError> {
    let obj = body.as_object_mut().ok_or_else(|| {
        ProxyError::UnsupportedShape("the request body must be a JSON object".into())
    })?;
    match endpoint {
        Endpoint::ChatCompletions => openai_chat::visit_chat(obj, unreadable, visit),
        Endpoint::Completions => openai_chat::visit_completions(obj, visit),
        Endpoint::Embeddings => openai_chat::visit_embeddings(obj, visit),
        Endpoint::Responses => openai_responses::visit_responses(obj, unreadable, visit),
        Endpoint::Messages | Endpoint::CountTokens => {
            anthropic::visit_messages(obj, unreadable, visit)
        }
        Endpoint::GeminiGenerate | Endpoint::GeminiStream => {
            gemini::visit_generate(obj, unreadable, visit)
        }
        Endpoint::OllamaChat => ollama::visit_chat(obj, unreadable, visit),
        Endpoint::OllamaGenerate => ollama::visit_generate(obj, unreadable, visit),
        // Generic routes are walked with their configured selectors by the caller.
        Endpoint::Models | Endpoint::Generic(_) => Ok(()),
    }
}

/// True when the request asks for a streamed answer (SSE, or NDJSON for Ollama).
pub fn wants_stream(endpoint: Endpoint, body: &Value) -> bool {
    match endpoint {
        Endpoint::GeminiStream => true,
        Endpoint::OllamaChat | Endpoint::OllamaGenerate => ollama::wants_stream(body),
        _ => body.get("stream").and_then(Value::as_bool).unwrap_or(false),
    }
}

/// The deepest nesting of a JSON value (a scalar is depth 0).
pub fn json_depth(v: &Value) -> usize {
    // Iterative, so a hostile document cannot overflow the stack here.
    let mut max = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        max = max.max(d);
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
            Value::Object(o) => stack.extend(o.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    max
}

/// Visits every string value (not keys) inside `v`, recursively.
pub fn visit_all_strings(v: &mut Value, visit: &mut SlotVisitor<'_>) -> Result<(), ProxyError> {
    match v {
        Value::String(s) => visit(s),
        Value::Array(a) => a.iter_mut().try_for_each(|x| visit_all_strings(x, visit)),
        Value::Object(o) => o.values_mut().try_for_each(|x| visit_all_strings(x, visit)),
        _ => Ok(()),
    }
}

/// Visits a string that holds JSON (tool-call arguments): when it parses, every string inside it
/// is visited and the JSON re-serialised if anything changed (so escapes like `\u0040` cannot
/// hide a value); otherwise the raw text is visited.
pub fn visit_json_text(s: &mut String, visit: &mut SlotVisitor<'_>) -> Result<(), ProxyError> {
    match serde_json::from_str::<Value>(s) {
        Ok(mut inner) if inner.is_object() || inner.is_array() => {
            let mut changed = false;
            visit_all_strings(&mut inner, &mut |t: &mut String| {
                let old = t.clone();
                visit(t)?;
                changed |= *t != old;
                Ok(())
            })?;
            if changed {
                *s = serde_json::to_string(&inner).map_err(|_| ProxyError::Internal)?;
            }
            Ok(())
        }
        _ => visit(s),
    }
}

/// Visits an optional string field.
pub fn visit_str_field(
    obj: &mut serde_json::Map<String, Value>,
    key: &str,
    visit: &mut SlotVisitor<'_>,
) -> Result<(), ProxyError> {
    match obj.get_mut(key) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) => visit(s),
        Some(_) => Err(ProxyError::UnsupportedShape(format!(
            "`{key}` must be a string"
        ))),
    }
}

/// A content part or block as an object, with its `type` (empty when absent). `what` names the
/// element in the error ("content parts", "content blocks").
pub fn typed_part<'a>(
    part: &'a mut Value,
    what: &str,
) -> Result<(&'a mut serde_json::Map<String, Value>, String), ProxyError> {
    let obj = part
        .as_object_mut()
        .ok_or_else(|| ProxyError::UnsupportedShape(format!("{what} must be objects")))?;
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    Ok((obj, kind))
}

/// Visits each part of a content array with `f`; parts for which it returns `Ok(false)` are
/// removed (stripped unreadable content). The first error stops the walk.
pub fn retain_parts(
    parts: &mut Vec<Value>,
    mut f: impl FnMut(&mut Value) -> Result<bool, ProxyError>,
) -> Result<(), ProxyError> {
    let mut keep = Vec::with_capacity(parts.len());
    for p in parts.iter_mut() {
        keep.push(f(p)?);
    }
    let mut keep = keep.into_iter();
    parts.retain(|_| keep.next().unwrap_or(true));
    Ok(())
}

thread_local! {
    /// Unreadable parts seen by the walk running on this thread (walks are synchronous).
    static UNREADABLE_SEEN: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Runs a request walk and also returns how many unreadable parts (images, audio, files) it met,
/// so the audit record can note them.
pub fn counting_unreadable<T>(walk: impl FnOnce() -> T) -> (T, u32) {
    UNREADABLE_SEEN.with(|n| n.set(0));
    let out = walk();
    (out, UNREADABLE_SEEN.with(|n| n.replace(0)))
}

/// Applies the unreadable-content rule to one content part; `Ok(false)` means drop the part.
pub fn unreadable_part(kind: &str, rule: Unreadable) -> Result<bool, ProxyError> {
    UNREADABLE_SEEN.with(|n| n.set(n.get() + 1));
    match rule {
        Unreadable::Allow => Ok(true),
        Unreadable::Strip => Ok(false),
        Unreadable::Block => Err(ProxyError::UnsupportedContent(kind.to_string())),
    }
}

/// Restores placeholders in every string of a JSON answer. Strings that hold JSON (tool-call
/// arguments) are restored structurally, so restored values are escaped correctly. Returns true
/// if anything changed.
pub fn restore_json(v: &mut Value, restorer: &Restorer) -> bool {
    match v {
        Value::String(s) => {
            if restorer.filter().is_none() && !s.contains('<') {
                return false;
            }
            if s.starts_with('{') || s.starts_with('[') {
                if let Ok(mut inner) = serde_json::from_str::<Value>(s) {
                    if inner.is_object() || inner.is_array() {
                        if restore_json(&mut inner, restorer) {
                            if let Ok(text) = serde_json::to_string(&inner) {
                                *s = text;
                                return true;
                            }
                        }
                        return false;
                    }
                }
            }
            match restorer.process(s) {
                std::borrow::Cow::Owned(new) => {
                    *s = new;
                    true
                }
                std::borrow::Cow::Borrowed(_) => false,
            }
        }
        Value::Array(a) => a
            .iter_mut()
            .fold(false, |acc, x| restore_json(x, restorer) | acc),
        Value::Object(o) => o
            .values_mut()
            .fold(false, |acc, x| restore_json(x, restorer) | acc),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let r = route(&Method::POST, "/v1/chat/completions").unwrap();
        assert_eq!(r.provider, Provider::OpenAi);
        assert_eq!(
            route(&Method::POST, "/v1/messages").unwrap().provider,
            Provider::Anthropic
        );
        assert_eq!(
            route(&Method::GET, "/v1/models/gpt-4o").unwrap().template,
            "/v1/models/{id}"
        );
        assert!(matches!(
            route(&Method::POST, "/v1/unknown"),
            Err(ProxyError::NotFound)
        ));
        assert!(matches!(
            route(&Method::GET, "/v1/chat/completions"),
            Err(ProxyError::MethodNotAllowed)
        ));
    }

    #[test]
    fn depth_is_iterative() {
        let mut v = Value::Null;
        for _ in 0..10_000 {
            v = Value::Array(vec![v]);
        }
        assert_eq!(json_depth(&v), 10_000);
        // Dropping a deep value recursively is serde_json's business; keep this one shallow
        // enough for the default stack by unwinding it by hand.
        while let Value::Array(mut a) = v {
            v = a.pop().unwrap_or(Value::Null);
        }
    }

    #[test]
    fn json_text_is_walked_structurally() {
        let mut s = r#"{"to":"a\u0040b.c","n":1}"#.to_string();
        visit_json_text(&mut s, &mut |t: &mut String| {
            if t.contains('@') {
                *t = "<EMAIL_aaaaaa>".into();
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(s, r#"{"to":"<EMAIL_aaaaaa>","n":1}"#);
    }
}
