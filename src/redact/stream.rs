//! Restoring placeholders in text that arrives in pieces (streamed answers).
//!
//! Owns: [`StreamRestorer`], one per streamed text channel (an OpenAI choice, an Anthropic
//! content block, a tool call's arguments). Text is released as soon as no placeholder could
//! still span it, never later: only a trailing fragment that is a proper prefix of one of this
//! request's placeholders (`<EMA`, `<EMAIL_1a`) is held back, so the holdback is bounded by the
//! longest placeholder (about 30 bytes) and costs nothing when the answer holds no `<`.

use std::sync::Arc;

use super::Restorer;

/// How restored values are written into the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Plain text (`delta.content`, `text_delta`).
    Text,
    /// Inside a JSON string literal (a fragment of tool-call arguments): restored values are
    /// JSON-escaped so the arguments stay valid JSON once reassembled.
    JsonString,
}

/// Restores placeholders in one stream of text deltas.
#[derive(Debug)]
pub struct StreamRestorer {
    restorer: Arc<Restorer>,
    encoding: Encoding,
    held: String,
    /// The most bytes ever held back (for tests and metrics).
    pub max_held: usize,
}

impl StreamRestorer {
    /// A restorer for one channel.
    pub fn new(restorer: Arc<Restorer>, encoding: Encoding) -> StreamRestorer {
        StreamRestorer {
            restorer,
            encoding,
            held: String::new(),
            max_held: 0,
        }
    }

    /// Takes the next delta; returns the text that can be released now (possibly empty).
    pub fn push(&mut self, delta: &str) -> String {
        if self.held.is_empty() && !delta.contains('<') {
            return delta.to_string();
        }
        let mut buf = std::mem::take(&mut self.held);
        buf.push_str(delta);
        // Only the last '<' can start an incomplete placeholder: placeholders hold one '<'.
        let cut = match buf.rfind('<') {
            Some(pos) if self.restorer.is_placeholder_prefix(&buf[pos..]) => pos,
            _ => buf.len(),
        };
        self.held = buf.split_off(cut);
        self.max_held = self.max_held.max(self.held.len());
        self.restore(&buf)
    }

    /// Ends the channel: releases whatever is held (an incomplete placeholder stays as it is).
    pub fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.held);
        self.restore(&rest)
    }

    /// True if text is being held back.
    pub fn has_held(&self) -> bool {
        !self.held.is_empty()
    }

    fn restore(&self, text: &str) -> String {
        match self.encoding {
            Encoding::Text => self.restorer.restore(text).into_owned(),
            Encoding::JsonString => self.restorer.restore_escaped(text).into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{EntityType, Finding};
    use crate::redact::{Action, Applied, PseudonymKey, Redaction};

    fn setup() -> (Arc<Restorer>, String, String) {
        let original = "Mail ana.silva@example.com or \"q\"@x.io now <b>bold</b> <EM";
        let findings = [
            Finding {
                start: 5,
                end: 26,
                entity: EntityType::Email,
                score: 1.0,
            },
            Finding {
                start: 30,
                end: 38,
                entity: EntityType::Email,
                score: 1.0,
            },
        ];
        let mut r = Redaction::new(PseudonymKey::from_bytes([9; 32]));
        let Applied::Text(redacted) = r.apply(original, &findings, |_| Action::Pseudonymise, false)
        else {
            panic!()
        };
        (
            Arc::new(r.restorer()),
            redacted.into_owned(),
            original.to_string(),
        )
    }

    #[test]
    fn every_split_point_gives_the_same_restored_text() {
        let (restorer, redacted, original) = setup();
        let bytes = redacted.as_bytes();
        for i in 0..=bytes.len() {
            for j in i..=bytes.len() {
                if !redacted.is_char_boundary(i) || !redacted.is_char_boundary(j) {
                    continue;
                }
                let mut s = StreamRestorer::new(restorer.clone(), Encoding::Text);
                let mut out = s.push(&redacted[..i]);
                out += &s.push(&redacted[i..j]);
                out += &s.push(&redacted[j..]);
                out += &s.finish();
                assert_eq!(out, original, "split at {i},{j}");
                assert!(s.max_held <= restorer.max_placeholder_len());
            }
        }
    }

    #[test]
    fn one_byte_deltas_and_release_timing() {
        let (restorer, redacted, original) = setup();
        let mut s = StreamRestorer::new(restorer, Encoding::Text);
        let mut out = String::new();
        for ch in redacted.chars() {
            let released = s.push(&ch.to_string());
            // Text that cannot start a placeholder is released at once.
            if ch != '<' && !s.has_held() {
                assert!(out.len() + released.len() > 0);
            }
            out += &released;
        }
        out += &s.finish();
        assert_eq!(out, original);
    }

    #[test]
    fn json_fragments_get_escaped_values() {
        let (restorer, redacted, _) = setup();
        let placeholder = redacted.split(' ').nth(3).unwrap().to_string(); // "q"@x.io's
        let fragment = format!("{{\"to\":\"{placeholder}\"}}");
        let mut s = StreamRestorer::new(restorer, Encoding::JsonString);
        let out = s.push(&fragment[..7]) + &s.push(&fragment[7..]) + &s.finish();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["to"], "\"q\"@x.io");
    }
}
