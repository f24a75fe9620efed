//! What `privgate consent …` and `/admin/consent/…` print: one JSON shape for a subject's consent
//! (current state per purpose, restriction, history) and for a recorded event, and a readable
//! table of the former. The admin API answers the JSON; the CLI renders the table from it, so a
//! command prints the same whether it ran on the data dir or through a running server.
//!
//! Owns: [`ConsentView`], [`RecordedView`]. Never includes the subject id: the caller knows it,
//! and an answer that echoes it is one more place it could leak to (logs, shell scrollback).

use serde::{Deserialize, Serialize};

use super::{ConsentEvent, ConsentEventKind, ConsentState};
use crate::audit::rfc3339;

/// One event as shown: its time in RFC 3339 beside the unix ms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    /// RFC 3339 UTC.
    pub time: String,
    /// Unix ms.
    pub time_ms: u64,
    /// `grant`, `withdraw`, `restrict`, `unrestrict`.
    pub kind: ConsentEventKind,
    /// The purpose (grant, withdraw).
    pub purpose: Option<String>,
    /// Who recorded it.
    pub source: String,
    /// The evidence reference.
    pub evidence: Option<String>,
}

impl From<&ConsentEvent> for EventView {
    fn from(e: &ConsentEvent) -> EventView {
        EventView {
            time: rfc3339(e.time_ms),
            time_ms: e.time_ms,
            kind: e.kind,
            purpose: e.purpose.clone(),
            source: e.source.clone(),
            evidence: e.evidence.clone(),
        }
    }
}

/// The current state for one purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurposeView {
    /// The purpose.
    pub purpose: String,
    /// `granted` or `withdrawn`.
    pub state: ConsentState,
    /// When the event that set it happened, RFC 3339 UTC.
    pub since: String,
}

/// A subject's consent: what `show` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentView {
    /// Whether an Art. 18 restriction is in force.
    pub restricted: bool,
    /// The current state per purpose, by purpose name.
    pub purposes: Vec<PurposeView>,
    /// Every event, oldest first.
    pub history: Vec<EventView>,
}

impl ConsentView {
    /// Folds a history (oldest first, as [`super::ConsentRegistry::history`] returns it).
    pub fn from_history(history: &[ConsentEvent]) -> ConsentView {
        let mut purposes: Vec<PurposeView> = Vec::new();
        let mut restricted = false;
        for e in history {
            match (e.kind, &e.purpose) {
                (ConsentEventKind::Restrict, _) => restricted = true,
                (ConsentEventKind::Unrestrict, _) => restricted = false,
                (kind, Some(p)) => {
                    let state = if kind == ConsentEventKind::Grant {
                        ConsentState::Granted
                    } else {
                        ConsentState::Withdrawn
                    };
                    let view = PurposeView {
                        purpose: p.clone(),
                        state,
                        since: rfc3339(e.time_ms),
                    };
                    match purposes.iter_mut().find(|v| &v.purpose == p) {
                        Some(v) => *v = view,
                        None => purposes.push(view),
                    }
                }
                (_, None) => {}
            }
        }
        purposes.sort_by(|a, b| a.purpose.cmp(&b.purpose));
        ConsentView {
            restricted,
            purposes,
            history: history.iter().map(EventView::from).collect(),
        }
    }

    /// A readable table: restriction, current state per purpose, then the history.
    pub fn to_table(&self) -> String {
        let mut out = format!(
            "restricted (Art. 18): {}\n\n",
            if self.restricted { "yes" } else { "no" }
        );
        if self.purposes.is_empty() {
            out.push_str("no consent recorded for any purpose\n");
        } else {
            out.push_str(&row(&["PURPOSE", "STATE", "SINCE"], &[24, 10, 0]));
            for p in &self.purposes {
                out.push_str(&row(
                    &[&p.purpose, p.state.as_str(), &p.since],
                    &[24, 10, 0],
                ));
            }
        }
        out.push_str(&format!(
            "\nhistory ({} events, oldest first)\n",
            self.history.len()
        ));
        if !self.history.is_empty() {
            let w = [24, 10, 24, 24, 0];
            out.push_str(&row(
                &["TIME", "EVENT", "PURPOSE", "SOURCE", "EVIDENCE"],
                &w,
            ));
            for e in &self.history {
                out.push_str(&row(
                    &[
                        &e.time,
                        e.kind.as_str(),
                        e.purpose.as_deref().unwrap_or("(all)"),
                        &e.source,
                        e.evidence.as_deref().unwrap_or("-"),
                    ],
                    &w,
                ));
            }
        }
        out
    }
}

/// One table row: each cell padded to its width (0: no padding), separated by two spaces.
fn row(cells: &[&str], widths: &[usize]) -> String {
    let mut line = String::new();
    for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        line.push_str(&format!("{c:<w$}"));
    }
    line.truncate(line.trim_end().len());
    line + "\n"
}

/// What a grant, withdraw, restrict or unrestrict answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedView {
    /// The event as stored.
    pub recorded: EventView,
    /// The purpose's state after the write (grant, withdraw), `None` for restrict/unrestrict.
    pub state: Option<ConsentState>,
    /// Whether a restriction is in force after the write.
    pub restricted: bool,
}

impl RecordedView {
    /// One line for people.
    pub fn to_line(&self) -> String {
        let e = &self.recorded;
        match (&e.purpose, self.state) {
            (Some(p), Some(state)) => format!(
                "recorded {} for purpose {p} at {}: consent is now {}\n",
                e.kind.as_str(),
                e.time,
                state.as_str()
            ),
            _ => format!(
                "recorded {} at {}: processing is {}\n",
                e.kind.as_str(),
                e.time,
                if self.restricted {
                    "restricted"
                } else {
                    "not restricted"
                }
            ),
        }
    }
}
