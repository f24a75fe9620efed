//! Policy context boosts: words that, shortly before a finding of a given entity type, raise its
//! score (a policy's `[[context_boost]]`, e.g. `Patient` before a name, `Kundennummer` before a
//! number). A boost can lift a finding that needs a cue over `min_score`; it never creates one.
//!
//! Owns: [`ContextBoost`] (the policy's declaration) and `Boosts` (one case-insensitive automaton
//! for all of them, built once per policy). Costs nothing when a policy declares none.

use aho_corasick::AhoCorasick;

use super::{DetectError, EntityType, Finding};

/// How far before a finding (bytes) a boost word counts.
pub const BOOST_WINDOW: usize = 48;

/// One `[[context_boost]]`: words that raise the score of `entity` findings right after them.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextBoost {
    /// The entity type boosted.
    pub entity: EntityType,
    /// The words (any language; matched case-insensitively for ASCII, as whole words).
    pub words: Vec<String>,
    /// Added to the score (capped at 1.0).
    pub boost: f32,
}

/// Every boost of a policy, compiled.
#[derive(Debug, Clone)]
pub(crate) struct Boosts {
    automaton: AhoCorasick,
    /// Per automaton pattern: the entity and the boost.
    targets: Vec<(EntityType, f32)>,
}

impl Boosts {
    /// Compiles `list`; `None` when it holds no word.
    pub(crate) fn new(list: &[ContextBoost]) -> Result<Option<Boosts>, DetectError> {
        let mut words = Vec::new();
        let mut targets = Vec::new();
        for b in list {
            for w in b.words.iter().filter(|w| !w.trim().is_empty()) {
                words.push(w.trim().to_string());
                targets.push((b.entity, b.boost));
            }
        }
        if words.is_empty() {
            return Ok(None);
        }
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&words)
            .map_err(|e| DetectError::Pattern {
                name: "context_boost".into(),
                reason: e.to_string(),
            })?;
        Ok(Some(Boosts { automaton, targets }))
    }

    /// Raises the score of every candidate with a boost word of its type ending at most
    /// [`BOOST_WINDOW`] bytes before it (the largest boost applies once).
    pub(crate) fn apply(&self, text: &str, cands: &mut [Finding]) {
        let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        let hits: Vec<(usize, EntityType, f32)> = self
            .automaton
            .find_overlapping_iter(text)
            .filter(|m| {
                !word(text[..m.start()].chars().next_back())
                    && !word(text[m.end()..].chars().next())
            })
            .map(|m| {
                let (e, b) = self.targets[m.pattern().as_usize()];
                (m.end(), e, b)
            })
            .collect();
        if hits.is_empty() {
            return;
        }
        for f in cands.iter_mut() {
            let best = hits
                .iter()
                .filter(|(end, e, _)| {
                    *e == f.entity && *end <= f.start && f.start - *end <= BOOST_WINDOW
                })
                .map(|(_, _, b)| *b)
                .fold(0.0f32, f32::max);
            if best > 0.0 {
                f.score = (f.score + best).min(1.0);
            }
        }
    }
}
