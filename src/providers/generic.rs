//! The generic provider: any JSON backend, described in config by a route path, an upstream URL
//! and JSON selectors naming the request's text slots. Answers are restored in every string (a
//! placeholder is unambiguous wherever it appears); streamed SSE answers are restored event by
//! event.
//!
//! Selectors are a small JSONPath subset: `$` then `.key`, `["key"]`, `[N]` or `[*]`, e.g.
//! `$.prompt`, `$.history[*].text`, `$.input["user text"]`. A selector that reaches an object or
//! an array covers every string inside it. A selector that matches nothing is not an error
//! (optional fields); fields no selector names are forwarded unscanned, so name them all.

use serde_json::Value;

use super::{visit_all_strings, SlotVisitor};
use crate::error::ProxyError;

/// One step of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
    All,
}

/// A parsed selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    source: String,
    steps: Vec<Step>,
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

impl Selector {
    /// Parses `$.a.b[*].c`, `$["a b"][0]`…; the error says what was expected.
    pub fn parse(s: &str) -> Result<Selector, String> {
        let rest = s
            .strip_prefix('$')
            .ok_or_else(|| format!("selector {s:?} must start with `$`"))?;
        let b = rest.as_bytes();
        let mut i = 0;
        let mut steps = Vec::new();
        while i < b.len() {
            match b[i] {
                b'.' => {
                    let start = i + 1;
                    let mut j = start;
                    while j < b.len() && b[j] != b'.' && b[j] != b'[' {
                        j += 1;
                    }
                    if j == start {
                        return Err(format!("selector {s:?}: empty key after `.`"));
                    }
                    steps.push(Step::Key(rest[start..j].to_string()));
                    i = j;
                }
                b'[' => {
                    let end = rest[i..]
                        .find(']')
                        .map(|k| i + k)
                        .ok_or_else(|| format!("selector {s:?}: `[` without `]`"))?;
                    let inner = &rest[i + 1..end];
                    let step = if inner == "*" {
                        Step::All
                    } else if let Some(q) =
                        inner.strip_prefix('"').and_then(|x| x.strip_suffix('"'))
                    {
                        Step::Key(q.to_string())
                    } else {
                        Step::Index(inner.parse().map_err(|_| {
                            format!("selector {s:?}: expected a number, `*` or a quoted key in []")
                        })?)
                    };
                    steps.push(step);
                    i = end + 1;
                }
                _ => {
                    return Err(format!(
                        "selector {s:?}: expected `.` or `[` at byte {}",
                        i + 1
                    ))
                }
            }
        }
        Ok(Selector {
            source: s.to_string(),
            steps,
        })
    }

    /// Visits every string the selector reaches in `v`.
    pub fn visit(&self, v: &mut Value, visit: &mut SlotVisitor<'_>) -> Result<(), ProxyError> {
        walk(v, &self.steps, visit)
    }
}

fn walk(v: &mut Value, steps: &[Step], visit: &mut SlotVisitor<'_>) -> Result<(), ProxyError> {
    let Some((step, rest)) = steps.split_first() else {
        return visit_all_strings(v, visit);
    };
    match (step, v) {
        (Step::Key(k), Value::Object(o)) => match o.get_mut(k) {
            Some(x) => walk(x, rest, visit),
            None => Ok(()),
        },
        (Step::Index(n), Value::Array(a)) => match a.get_mut(*n) {
            Some(x) => walk(x, rest, visit),
            None => Ok(()),
        },
        (Step::All, Value::Array(a)) => a.iter_mut().try_for_each(|x| walk(x, rest, visit)),
        (Step::All, Value::Object(o)) => o.values_mut().try_for_each(|x| walk(x, rest, visit)),
        _ => Ok(()),
    }
}

/// Visits every slot the selectors name.
pub fn visit_selected(
    selectors: &[Selector],
    body: &mut Value,
    visit: &mut SlotVisitor<'_>,
) -> Result<(), ProxyError> {
    selectors.iter().try_for_each(|s| s.visit(body, visit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_parse_and_reach_their_slots() {
        let sels: Vec<Selector> = ["$.prompt", "$.history[*].text", "$[\"odd key\"][1]"]
            .iter()
            .map(|s| Selector::parse(s).unwrap())
            .collect();
        let mut body = json!({"prompt": "p", "history": [{"text": "h1", "n": 1}, {"text": "h2"}],
            "odd key": ["x", {"deep": ["y"]}], "other": "not scanned"});
        let mut seen = Vec::new();
        visit_selected(&sels, &mut body, &mut |s: &mut String| {
            seen.push(s.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, ["p", "h1", "h2", "y"]);
        for bad in ["prompt", "$.", "$[x]", "$[1", "$a"] {
            assert!(Selector::parse(bad).is_err(), "{bad}");
        }
    }
}
