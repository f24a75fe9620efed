//! Server-sent events: a byte-exact event splitter, the [`StreamTransform`] each wire format
//! implements to restore placeholders inside its streamed answers, and helpers to re-emit an
//! event whose data changed.
//!
//! Events that need no change are re-emitted byte for byte (framing, comments, ids and
//! keep-alives intact). A chunk boundary is never an event boundary: the splitter holds an
//! incomplete event until its blank line arrives.

use bytes::{Bytes, BytesMut};
use serde_json::Value;

/// One complete event as received, with its parsed fields.
#[derive(Debug, Clone)]
pub struct SseEvent {
    /// The exact bytes, including the terminating blank line.
    pub raw: Bytes,
    /// The `event:` field, if any.
    pub name: Option<String>,
    /// The `data:` lines joined with `\n`, if any.
    pub data: Option<String>,
}

impl SseEvent {
    /// Parses the fields of one raw event.
    pub fn parse(raw: Bytes) -> SseEvent {
        let text = String::from_utf8_lossy(&raw);
        let mut name = None;
        let mut data: Option<String> = None;
        for line in text.split(['\n']) {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if let Some(v) = field(line, "event") {
                name = Some(v.to_string());
            } else if let Some(v) = field(line, "data") {
                match &mut data {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(v);
                    }
                    None => data = Some(v.to_string()),
                }
            }
        }
        SseEvent { raw, name, data }
    }

    /// The data parsed as JSON, when it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(self.data.as_deref()?).ok()
    }

    /// The event re-emitted with new JSON data; other lines (`event:`, `id:`) keep their place.
    pub fn with_data(&self, data: &Value) -> Bytes {
        let text = String::from_utf8_lossy(&self.raw);
        // Keep the sender's line endings (Google sends CRLF).
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let mut out = String::with_capacity(self.raw.len() + 64);
        let mut wrote_data = false;
        for line in text.split('\n') {
            let bare = line.strip_suffix('\r').unwrap_or(line);
            if bare.is_empty() {
                continue;
            }
            if field(bare, "data").is_some() {
                if !wrote_data {
                    out.push_str("data: ");
                    out.push_str(&data.to_string());
                    out.push_str(eol);
                    wrote_data = true;
                }
            } else {
                out.push_str(bare);
                out.push_str(eol);
            }
        }
        out.push_str(eol);
        Bytes::from(out)
    }
}

/// A new event from a name and JSON data.
pub fn event_bytes(name: Option<&str>, data: &Value) -> Bytes {
    match name {
        Some(n) => Bytes::from(format!("event: {n}\ndata: {data}\n\n")),
        None => Bytes::from(format!("data: {data}\n\n")),
    }
}

fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(name)?.strip_prefix(':')?;
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// Splits a byte stream into complete events (SSE), or into lines (NDJSON).
#[derive(Debug, Default)]
pub struct SseSplitter {
    buf: BytesMut,
    lines: bool,
}

impl SseSplitter {
    /// A splitter for newline-delimited JSON: every line is one event.
    pub fn lines() -> SseSplitter {
        SseSplitter {
            buf: BytesMut::new(),
            lines: true,
        }
    }

    /// Adds bytes; returns every event completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Bytes> {
        self.buf.extend_from_slice(bytes);
        let mut events = Vec::new();
        loop {
            let end = if self.lines {
                self.buf.iter().position(|&b| b == b'\n').map(|i| i + 1)
            } else {
                event_end(&self.buf)
            };
            let Some(end) = end else { break };
            events.push(self.buf.split_to(end).freeze());
        }
        events
    }

    /// Bytes of an event that never got its blank line (the stream ended mid-event).
    pub fn take_rest(&mut self) -> Bytes {
        self.buf.split().freeze()
    }
}

/// The end (exclusive) of the first complete event: after `\n\n`, `\r\n\r\n` or `\r\r`.
fn event_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        match buf[i] {
            b'\n' if buf.get(i + 1) == Some(&b'\n') => return Some(i + 2),
            b'\r' if buf.get(i + 1) == Some(&b'\n') => {
                if buf.get(i + 2) == Some(&b'\r') && buf.get(i + 3) == Some(&b'\n') {
                    return Some(i + 4);
                }
                if buf.get(i + 2) == Some(&b'\n') {
                    return Some(i + 3);
                }
                i += 2;
                continue;
            }
            b'\r' if buf.get(i + 1) == Some(&b'\r') => return Some(i + 2),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Rewrites a provider's stream event by event.
pub trait StreamTransform: Send + Sync {
    /// Rewrites one event; returns the bytes to send in its place (possibly preceded by
    /// synthesised events carrying held-back text).
    fn event(&mut self, event: SseEvent) -> Vec<Bytes>;
    /// The stream ended cleanly: returns events carrying any text still held back.
    fn finish(&mut self) -> Vec<Bytes>;
}

/// For streams of an unknown shape: restores complete placeholders inside each event's JSON,
/// with no holdback across events.
pub struct PerEventRestore {
    restorer: std::sync::Arc<crate::redact::Restorer>,
}

impl PerEventRestore {
    /// A transform over `restorer`.
    pub fn new(restorer: std::sync::Arc<crate::redact::Restorer>) -> PerEventRestore {
        PerEventRestore { restorer }
    }
}

impl StreamTransform for PerEventRestore {
    fn event(&mut self, event: SseEvent) -> Vec<Bytes> {
        restore_whole_event(&self.restorer, event)
    }

    fn finish(&mut self) -> Vec<Bytes> {
        Vec::new()
    }
}

/// Restores every complete placeholder in an event's JSON data; unchanged events pass as-is.
pub fn restore_whole_event(restorer: &crate::redact::Restorer, event: SseEvent) -> Vec<Bytes> {
    if !event.data.as_deref().is_some_and(|d| d.contains('<')) {
        return vec![event.raw];
    }
    let Some(mut v) = event.json() else {
        return vec![event.raw];
    };
    if super::restore_json(&mut v, restorer) {
        vec![event.with_data(&v)]
    } else {
        vec![event.raw]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_any_line_ending_and_keeps_bytes() {
        let input = b"data: a\n\n: comment\n\nevent: x\r\ndata: b\r\n\r\ndata: c\n";
        for cut in 0..input.len() {
            let mut s = SseSplitter::default();
            let mut events = s.push(&input[..cut]);
            events.extend(s.push(&input[cut..]));
            let joined: Vec<u8> = events.iter().flat_map(|b| b.to_vec()).collect();
            assert_eq!(events.len(), 3, "cut {cut}");
            assert_eq!(&joined[..], &input[..input.len() - 8]);
            assert_eq!(&s.take_rest()[..], b"data: c\n");
        }
    }

    #[test]
    fn parses_and_rewrites_fields() {
        let ev = SseEvent::parse(Bytes::from_static(
            b"event: content_block_delta\ndata: {\"a\":1}\n\n",
        ));
        assert_eq!(ev.name.as_deref(), Some("content_block_delta"));
        assert_eq!(ev.json().unwrap()["a"], 1);
        let out = ev.with_data(&serde_json::json!({"a": 2}));
        assert_eq!(&out[..], b"event: content_block_delta\ndata: {\"a\":2}\n\n");
    }
}
