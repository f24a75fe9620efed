//! Literal anchors: every place where one of the short literals that gate recognizers occurs in
//! the lower-cased text, found in one multi-literal SIMD pass per call.
//!
//! Owns: the set of gating literals in use (URL markers, secret keywords, passport, birth and
//! address cue anchors, self-introduction anchors; each list is kept beside the recognizer that
//! reads it) and the
//! search for them. Before, each literal had its own `memmem` pass: seventeen passes over the
//! whole text, about a sixth of the time on PII-free text. One Teddy search (the packed searcher
//! of `aho-corasick`) finds them all in about the time of three. Does not own: what a recognizer
//! does around an anchor.
//!
//! The result is every start position of every literal, in text order (literals of one position
//! in list order), exactly what one overlapping search per literal would report. The Teddy
//! search is leftmost (it reports the earliest position where any literal starts); the search
//! resumes one byte after that position and every literal is compared there, so literals that
//! overlap each other ("pas" inside "mot de passe") are all reported.

use aho_corasick::packed;
use aho_corasick::Span;

/// A recognizer that reads anchors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Group {
    /// URL markers (`patterns::URL_GATES`).
    Url,
    /// Secret keywords (`patterns::SECRET_ANCHORS`).
    Secret,
    /// Passport cue anchors (`context::PASSPORT_ANCHORS`).
    Passport,
    /// Self-introduction anchors (`names::INTRO_ANCHORS`).
    Intro,
    /// Birth cue anchors (`context::BIRTH_ANCHORS`).
    Birth,
    /// Address and ZIP cue anchors (`address::CUE_ANCHORS`; their own search, in the windows
    /// of the cue-led address capture).
    Address,
}

impl Group {
    /// The group's literals.
    fn literals(self) -> &'static [&'static str] {
        match self {
            Group::Url => super::patterns::URL_GATES,
            Group::Secret => super::patterns::SECRET_ANCHORS,
            Group::Passport => super::context::PASSPORT_ANCHORS,
            Group::Intro => super::names::INTRO_ANCHORS,
            Group::Birth => super::context::BIRTH_ANCHORS,
            Group::Address => super::address::CUE_ANCHORS,
        }
    }
}

/// One occurrence of a literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AnchorHit {
    /// Byte offset where the literal starts.
    pub pos: usize,
    /// Whose literal it is.
    pub group: Group,
    /// Which literal of the group's list.
    pub index: usize,
}

impl AnchorHit {
    /// The literal's length in bytes (tests that rebuild a recognizer's windows).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.group.literals()[self.index].len()
    }
}

/// The compiled search over the literals of some groups.
pub(crate) struct Anchors {
    /// `(literal, group, index in the group's list)`, in search order.
    lits: Vec<(&'static [u8], Group, usize)>,
    /// `lits` grouped by first byte (search order kept within each byte), and per first byte
    /// the range of those: at a hit only the literals starting with the byte there are compared
    /// (about 40 literals, of which one or two share any first byte).
    by_first: Vec<(&'static [u8], Group, usize)>,
    first_range: Box<[(u16, u16); 256]>,
    /// The multi-literal search; `None` when no literal is wanted or the CPU has no Teddy
    /// support (then one `memmem` search per literal is used: same result, slower).
    teddy: Option<packed::Searcher>,
    finders: Vec<memchr::memmem::Finder<'static>>,
}

impl std::fmt::Debug for Anchors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anchors")
            .field("literals", &self.lits.len())
            .field("teddy", &self.teddy.is_some())
            .finish()
    }
}

impl Anchors {
    /// The search over the literals of `groups`.
    pub fn new(groups: &[Group]) -> Anchors {
        let lits: Vec<(&'static [u8], Group, usize)> = groups
            .iter()
            .flat_map(|&g| {
                g.literals()
                    .iter()
                    .enumerate()
                    .map(move |(i, l)| (l.as_bytes(), g, i))
            })
            .collect();
        let teddy = if lits.is_empty() {
            None
        } else {
            packed::Searcher::new(lits.iter().map(|l| l.0))
        };
        let mut by_first = lits.clone();
        by_first.sort_by_key(|l| l.0[0]);
        let mut first_range = Box::new([(0u16, 0u16); 256]);
        for (n, l) in by_first.iter().enumerate() {
            let r = &mut first_range[usize::from(l.0[0])];
            if r.0 == r.1 {
                r.0 = n as u16;
            }
            r.1 = n as u16 + 1;
        }
        Anchors {
            by_first,
            first_range,
            finders: lits
                .iter()
                .map(|l| memchr::memmem::Finder::new(l.0))
                .collect(),
            lits,
            teddy,
        }
    }

    /// Every occurrence of every literal in `lower` (an ASCII-lower-cased text), by position.
    pub fn find(&self, lower: &[u8]) -> Vec<AnchorHit> {
        let mut out = Vec::new();
        self.find_into(lower, &mut out);
        out
    }

    /// [`Anchors::find`], appending to `out` (a buffer kept between calls).
    pub fn find_into(&self, lower: &[u8], out: &mut Vec<AnchorHit>) {
        if self.lits.is_empty() {
            return;
        }
        match &self.teddy {
            Some(t) => {
                let mut at = 0;
                while at < lower.len() {
                    let Some(m) = t.find_in(lower, Span::from(at..lower.len())) else {
                        break;
                    };
                    self.all_at(lower, m.start(), out);
                    at = m.start() + 1;
                }
            }
            None => self.find_each(lower, out),
        }
    }

    /// Pushes every literal that starts at `p`, in list order.
    fn all_at(&self, lower: &[u8], p: usize, out: &mut Vec<AnchorHit>) {
        let rest = &lower[p..];
        let (a, z) = self.first_range[usize::from(rest[0])];
        for &(lit, group, index) in &self.by_first[usize::from(a)..usize::from(z)] {
            // Compared in line, first byte first: a `memcmp` call per literal per hit was 1.5%
            // of the detector on dense text.
            if rest.len() >= lit.len() && rest.iter().zip(lit).all(|(a, b)| a == b) {
                out.push(AnchorHit {
                    pos: p,
                    group,
                    index,
                });
            }
        }
    }

    /// The same result from one `memmem` search per literal (no Teddy on this CPU).
    fn find_each(&self, lower: &[u8], out: &mut Vec<AnchorHit>) {
        let mut starts: Vec<usize> = Vec::new();
        for f in &self.finders {
            let mut at = 0;
            while let Some(p) = f.find(&lower[at..]) {
                starts.push(at + p);
                at += p + 1;
            }
        }
        starts.sort_unstable();
        starts.dedup();
        for p in starts {
            self.all_at(lower, p, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ALL: [Group; 6] = [
        Group::Url,
        Group::Secret,
        Group::Passport,
        Group::Intro,
        Group::Birth,
        Group::Address,
    ];

    /// Every start of every literal, the slow way: every literal of the list compared at every
    /// position, in list order.
    fn naive(lower: &[u8]) -> Vec<AnchorHit> {
        let a = Anchors::new(&ALL);
        let mut out = Vec::new();
        for p in 0..lower.len() {
            for &(lit, group, index) in &a.lits {
                if lower[p..].starts_with(lit) {
                    out.push(AnchorHit {
                        pos: p,
                        group,
                        index,
                    });
                }
            }
        }
        out
    }

    #[test]
    fn finds_overlapping_literals_of_every_group() {
        let a = Anchors::new(&ALL);
        let text = "my name is x; mot de passe: y; see https://www.example.com/ and 护照";
        let hits = a.find(text.as_bytes());
        assert_eq!(hits, naive(text.as_bytes()));
        let has = |g: Group, lit: &str| {
            hits.iter().any(|h| {
                h.group == g && g.literals()[h.index] == lit && text[h.pos..].starts_with(lit)
            })
        };
        assert!(has(Group::Intro, "name"));
        assert!(has(Group::Secret, "mot de passe"));
        // "pas" inside "mot de passe" is reported too.
        assert!(has(Group::Passport, "pas"));
        assert!(has(Group::Passport, "护照"));
        assert!(has(Group::Url, "://"));
        assert!(has(Group::Url, "www."));
        assert!(has(Group::Url, ".com/"));
    }

    #[test]
    fn only_the_wanted_groups() {
        let a = Anchors::new(&[Group::Url]);
        let hits = a.find(b"my name is bob, see www.x.org");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].group, Group::Url);
        assert!(Anchors::new(&[]).find(b"name").is_empty());
    }

    #[test]
    fn memmem_fallback_gives_the_same_hits() {
        let a = Anchors::new(&ALL);
        let text = b"passw pwd pas name name://www.www.key token secret bearer t.me/ x.com/";
        let mut slow = Vec::new();
        a.find_each(text, &mut slow);
        assert_eq!(a.find(text), slow);
        assert_eq!(slow, naive(text));
    }

    proptest! {
        #[test]
        fn teddy_search_is_every_start(s in "(name|nam|pas|passw|key|token|secret|www\\.|://|\\.com/|t\\.me/|mot de passe|llamo |ich hei|appelle |nombre es |pwd|bearer|护照|[a-z .:/]){0,40}") {
            let a = Anchors::new(&ALL);
            let mut slow = Vec::new();
            a.find_each(s.as_bytes(), &mut slow);
            prop_assert_eq!(a.find(s.as_bytes()), naive(s.as_bytes()));
            prop_assert_eq!(slow, naive(s.as_bytes()));
        }
    }
}
