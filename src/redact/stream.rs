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
        if self.encoding == Encoding::Text {
            if let Some(filter) = self.restorer.filter().cloned() {
                return self.push_filtered(delta, &filter);
            }
        }
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

    /// With response actions: everything but the last `holdback` bytes is released, the cut moved
    /// back so that no finding and no placeholder is split by it; findings wholly in the released
    /// part get their response action, then placeholders are restored. Detection sees the held
    /// window ahead of the cut, so an entity is judged whole as long as it fits in the window.
    fn push_filtered(&mut self, delta: &str, filter: &super::ResponseFilter) -> String {
        let mut buf = std::mem::take(&mut self.held);
        buf.push_str(delta);
        let window = filter_holdback(filter);
        let mut cut = buf.len().saturating_sub(window);
        while !buf.is_char_boundary(cut) {
            cut -= 1;
        }
        if let Some(pos) = buf.rfind('<') {
            if self.restorer.is_placeholder_prefix(&buf[pos..]) {
                cut = cut.min(pos);
            }
        }
        for m in super::placeholder_spans(&buf) {
            if m.0 < cut && m.1 > cut {
                cut = m.0;
            }
        }
        let findings = filter.findings(&buf);
        // Findings are sorted and disjoint: one pass from the end settles every crossing.
        for f in findings.iter().rev() {
            if f.start < cut && f.end > cut {
                cut = f.start;
            }
        }
        let released: Vec<_> = findings.iter().copied().filter(|f| f.end <= cut).collect();
        self.held = buf.split_off(cut);
        self.max_held = self.max_held.max(self.held.len());
        let filtered = filter.apply(&buf, &released);
        self.restore(&filtered)
    }

    /// Ends the channel: releases whatever is held (an incomplete placeholder stays as it is).
    pub fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.held);
        if self.encoding == Encoding::Text && self.restorer.filter().is_some() {
            return self.restorer.process(&rest).into_owned();
        }
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

fn filter_holdback(filter: &super::ResponseFilter) -> usize {
    filter.holdback()
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

    #[test]
    fn with_response_actions_every_split_point_gives_the_whole_text_result() {
        let policy = crate::policy::compile(
            "t.toml",
            "id = \"t\"\nversion = \"1\"\n[response.actions]\nEMAIL = \"mask\"\n",
        )
        .unwrap();
        let filter = crate::redact::ResponseFilter::for_policy(
            Arc::new(policy),
            PseudonymKey::from_bytes([3; 32]),
        );
        let (restorer, redacted, _) = setup();
        let restorer = Arc::new((*restorer).clone().with_filter(filter));
        let text = format!("{redacted} and the model adds eve.ng@example.org, ok?");
        let whole = restorer.process(&text).into_owned();
        assert!(!whole.contains("eve.ng@example.org") && whole.contains("ana.silva@example.com"));
        for i in 0..=text.len() {
            if !text.is_char_boundary(i) {
                continue;
            }
            let mut s = StreamRestorer::new(restorer.clone(), Encoding::Text);
            let out = s.push(&text[..i]) + &s.push(&text[i..]) + &s.finish();
            assert_eq!(out, whole, "split at {i}");
        }
    }
}
