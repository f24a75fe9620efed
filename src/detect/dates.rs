//! Dates of birth: a date in one of many formats, reported only with a birth cue next to it.
//!
//! Owns: the date grammar (numeric `Y-M-D`, `D/M/Y`, `M/D/Y`, dotted, `年月日`, and month names
//! in English, German, French and Spanish) and the rule that a bare date or timestamp is not a
//! date of birth. The span is the date alone, never the cue. Does not own: cue words (see
//! `context`).

use regex::Regex;

use super::context::Ctx;
use super::patterns::{digit_at, digit_led_matches, left_ok, right_ok};
use super::validators::valid_ymd;
use super::{EntityType, Finding, Scan};

const MONTHS: &str = "january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|januar|februar|märz|maerz|mai|juni|juli|oktober|dezember|janvier|février|fevrier|mars|avril|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre";

/// The compiled date grammar.
#[derive(Debug)]
pub struct Dates {
    named: Regex,
    /// Every month name (overlapping search): the named pattern runs only around them.
    months: aho_corasick::AhoCorasick,
}

/// The numeric date pattern, compiled by hand (see [`numeric_at`]).
#[cfg(test)]
const NUMERIC_PATTERN: &str = r"[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}|[0-9]{1,2}[-/.][0-9]{1,2}[-/.](?:[0-9]{4}|[0-9]{2})|[0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日|[0-9]{4}[0-9]{2}[0-9]{2}";

/// `[0-9]{1,2}` then a separator (`sep(w, i)` is its length there, if one is there) at `q`: the
/// position after the separator. Two digits are tried first; one digit then a separator is the
/// only other reading (a separator is never a digit), so this is the regex's backtracking.
fn digits12_then(w: &[u8], q: usize, sep: impl Fn(&[u8], usize) -> Option<usize>) -> Option<usize> {
    if !digit_at(w, q) {
        return None;
    }
    if digit_at(w, q + 1) {
        sep(w, q + 2).map(|n| q + 2 + n)
    } else {
        sep(w, q + 1).map(|n| q + 1 + n)
    }
}

/// `[-/.]` at `i`.
fn date_sep(w: &[u8], i: usize) -> Option<usize> {
    matches!(w.get(i), Some(b'-' | b'/' | b'.')).then_some(1)
}

/// The bytes of `lit` at `i`.
fn lit_at(w: &[u8], i: usize, lit: &str) -> Option<usize> {
    w.get(i..)
        .is_some_and(|r| r.starts_with(lit.as_bytes()))
        .then_some(lit.len())
}

/// The end of the leftmost-first match of [`NUMERIC_PATTERN`] starting at `p` in `w`, if any:
/// the four alternatives in the regex's order (`Y-M-D`, `D-M-Y`, `年月日`, eight digits), each
/// greedy (tested against the regex).
fn numeric_at(w: &[u8], p: usize) -> Option<usize> {
    if !digit_at(w, p) {
        return None;
    }
    let four = |q: usize| (0..4).all(|k| digit_at(w, q + k));
    // [0-9]{1,2} at the end of an alternative: two digits when there are.
    let last12 = |q: usize| digit_at(w, q).then(|| if digit_at(w, q + 1) { q + 2 } else { q + 1 });
    if four(p) {
        if let Some(q) = date_sep(w, p + 4).and_then(|_| digits12_then(w, p + 5, date_sep)) {
            if let Some(e) = last12(q) {
                return Some(e);
            }
        }
    }
    if let Some(q) = digits12_then(w, p, date_sep).and_then(|q| digits12_then(w, q, date_sep)) {
        if four(q) {
            return Some(q + 4);
        }
        if digit_at(w, q) && digit_at(w, q + 1) {
            return Some(q + 2);
        }
    }
    if four(p) {
        if let Some(q) = lit_at(w, p + 4, "年")
            .and_then(|n| digits12_then(w, p + 4 + n, |w, i| lit_at(w, i, "月")))
            .and_then(|q| digits12_then(w, q, |w, i| lit_at(w, i, "日")))
        {
            return Some(q);
        }
    }
    (0..8).all(|k| digit_at(w, p + k)).then_some(p + 8)
}

/// How far a named-date match can reach before (after) the month name in it: `[0-9]{1,2}`, an
/// ordinal suffix, `.`, `\s` (up to three bytes), `de\s` before; `.`, `,`, `\s`, `de\s` and a
/// year, or `.`, `\s`, day, suffix, `,`, `\s` and a year after (13 and 16 bytes), with slack.
const MONTH_REACH: (usize, usize) = (16, 24);

impl Dates {
    /// Compiles the date grammar.
    pub fn new() -> Result<Dates, super::DetectError> {
        let named = format!(
            r"[0-9]{{1,2}}(?:st|nd|rd|th|er)?\.?\s(?:de\s)?(?:{MONTHS})\.?,?\s(?:de\s)?[0-9]{{4}}|(?:{MONTHS})\.?\s[0-9]{{1,2}}(?:st|nd|rd|th)?,?\s[0-9]{{4}}"
        );
        let mk = |name: &str, p: &str| {
            Regex::new(p).map_err(|e| super::DetectError::Pattern {
                name: name.into(),
                reason: e.to_string(),
            })
        };
        Ok(Dates {
            named: mk("date_named", &named)?,
            // A full DFA (the month names are few): faster per byte than the default NFA.
            months: aho_corasick::AhoCorasickBuilder::new()
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .build(MONTHS.split('|'))
                .map_err(|e| super::DetectError::Pattern {
                    name: "months".into(),
                    reason: e.to_string(),
                })?,
        })
    }

    /// Finds dates with a birth cue within a short window before (or just after) them.
    /// `windows`: the text around birth cues (dates elsewhere cannot be dates of birth).
    pub fn run(&self, scan: &Scan<'_>, windows: &[(usize, usize)], out: &mut Vec<Finding>) {
        if scan.digits < 4 {
            return;
        }
        let b = scan.bytes;
        // 1. Every plausible date that is not part of a timestamp or a longer number.
        let mut dates: Vec<(usize, usize)> = Vec::new();
        let mut consider = |s: usize, e: usize, plausible: bool| {
            if !plausible || !left_ok(b, s) || !right_ok(b, e) {
                return;
            }
            // Timestamps: a time follows the date ("2025-01-02 10:20", "2025-01-02T10:20").
            if e + 2 < b.len()
                && (b[e] == b'T' || b[e] == b' ')
                && b[e + 1].is_ascii_digit()
                && b[e + 2..].iter().take(3).any(|&c| c == b':')
            {
                return;
            }
            if e + 1 < b.len()
                && matches!(b[e], b'.' | b'-' | b'/' | b':')
                && b[e + 1].is_ascii_digit()
            {
                return;
            }
            dates.push((s, e));
        };
        for m in digit_led_matches(scan, windows.iter().copied(), numeric_at) {
            consider(m.start(), m.end(), plausible_numeric(m.as_str()));
        }
        // Month names are matched on the lower-cased copy (same offsets): a case-sensitive
        // pattern keeps its literal prefilter. Every match holds a month name, so the pattern
        // runs only around them.
        let month_windows = self.month_windows(scan, windows);
        for m in scan.find_in_lower(&self.named, &month_windows) {
            let year = m
                .as_str()
                .rsplit(|c: char| !c.is_ascii_digit())
                .find(|g| g.len() == 4);
            let ok = year
                .and_then(|y| y.parse::<u32>().ok())
                .is_some_and(|y| (1880..=2030).contains(&y));
            consider(m.start(), m.end(), ok);
        }
        dates.sort_unstable();
        dates.dedup_by(|a, b| a.0 < b.1); // drop a date overlapping the previous one
                                          // 2. A date of birth has a birth cue before it with no other date in between (or one
                                          //    just after it): "DOB 1975-06-30, admitted 2024-01-02" reports only the first.
        for (i, &(s, e)) in dates.iter().enumerate() {
            let prev_end = if i > 0 { dates[i - 1].1 } else { 0 };
            let next_start = dates.get(i + 1).map_or(usize::MAX, |d| d.0);
            let before = scan
                .cue_before(s, 44, &[Ctx::Birth])
                .filter(|h| h.start >= prev_end);
            let after = scan
                .cue_after(e, 24, &[Ctx::Birth])
                .filter(|h| h.end <= next_start && h.start - e <= 12);
            let score = match (before, after) {
                (Some(_), _) => 0.95,
                (_, Some(_)) => 0.85,
                _ => continue,
            };
            out.push(Finding {
                start: s,
                end: e,
                entity: EntityType::DateOfBirth,
                score,
            });
        }
    }
}

impl Dates {
    /// The parts of `windows` within [`MONTH_REACH`] of a month name, merged: every match of the
    /// named pattern holds a month name and lies in its part, so a search of the parts finds what
    /// a search of the windows finds (no match crosses a part's edge, none starts between parts).
    fn month_windows(&self, scan: &Scan<'_>, windows: &[(usize, usize)]) -> Vec<(usize, usize)> {
        let lower = scan.lower.as_str();
        let mut out = Vec::new();
        let mut spots = Vec::new();
        for &(lo, hi) in windows {
            spots.clear();
            for m in self.months.find_overlapping_iter(&lower[lo..hi]) {
                let s = (lo + m.start()).saturating_sub(MONTH_REACH.0).max(lo);
                let e = (lo + m.end() + MONTH_REACH.1).min(hi);
                spots.push((
                    super::context::floor_boundary(lower, s),
                    super::context::ceil_boundary(lower, e),
                ));
            }
            spots.sort_unstable();
            for &(s, e) in &spots {
                super::push_window(&mut out, s, e);
            }
        }
        out
    }
}

/// Whether a numeric date names a real day in some common order (Y-M-D, D-M-Y, M-D-Y).
fn plausible_numeric(s: &str) -> bool {
    let parts: Vec<u32> = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect();
    let parts = if parts.len() == 1 && s.len() == 8 {
        let n = parts[0];
        vec![n / 10000, (n / 100) % 100, n % 100]
    } else {
        parts
    };
    let [a, b, c] = parts[..] else { return false };
    let year_ok = |y: u32| (1880..=2030).contains(&y);
    if a >= 1000 {
        return year_ok(a) && valid_ymd(a, b, c);
    }
    let y = if c < 100 { 1900 + c } else { c };
    year_ok(y) && (valid_ymd(y, b, a) || valid_ymd(y, a, b))
}

#[cfg(test)]
mod tests {
    use crate::detect::EntityType;

    fn dob(text: &str) -> Vec<String> {
        let d = crate::detect::test_detector();
        d.find(text)
            .into_iter()
            .filter(|f| f.entity == EntityType::DateOfBirth)
            .map(|f| text[f.start..f.end].to_string())
            .collect()
    }

    #[test]
    fn with_cues() {
        assert_eq!(dob("DOB: 03/14/1979."), ["03/14/1979"]);
        assert_eq!(
            dob("I was born on 14 March 1979 in Leeds"),
            ["14 March 1979"]
        );
        assert_eq!(dob("Geboren am 3. Mai 1980."), ["3. Mai 1980"]);
        assert_eq!(dob("née le 2 décembre 1992"), ["2 décembre 1992"]);
        assert_eq!(
            dob("fecha de nacimiento: 5 de marzo de 1970"),
            ["5 de marzo de 1970"]
        );
        assert_eq!(dob("王伟出生于1980年5月3日"), ["1980年5月3日"]);
        assert_eq!(dob("date of birth: Nov 17, 1981"), ["Nov 17, 1981"]);
        // Spanish first person and abbreviated cues; 生于 without 出.
        assert_eq!(
            dob("Soy Diego, nací el 2 de enero de 1975."),
            ["2 de enero de 1975"]
        );
        assert_eq!(dob("Mi hija nació el 8/8/2011."), ["8/8/2011"]);
        assert_eq!(dob("Fecha nac.: 12/05/1985"), ["12/05/1985"]);
        assert_eq!(dob("date de naiss. : 12/05/1985"), ["12/05/1985"]);
        assert_eq!(
            dob("Mi cumpleaños es el 12 de mayo de 1985"),
            ["12 de mayo de 1985"]
        );
        assert_eq!(dob("他生于1979年8月15日"), ["1979年8月15日"]);
        assert!(dob("Es de nacionalidad española desde 12/05/1985").is_empty());
    }

    proptest::proptest! {
        #[test]
        fn numeric_matcher_is_the_regex(s in "([0-9]{1,9}|[-/.]|年|月|日|a| ){0,16}") {
            let re = regex::Regex::new(super::NUMERIC_PATTERN).unwrap();
            let want: Vec<(usize, usize)> =
                re.find_iter(&s).map(|m| (m.start(), m.end())).collect();
            let got: Vec<(usize, usize)> =
                crate::detect::patterns::all_matches(s.as_bytes(), 0, super::numeric_at).collect();
            proptest::prop_assert_eq!(got, want);
        }

        /// Searching the named pattern around month names only finds what a search of the whole
        /// window finds.
        #[test]
        fn month_windows_find_every_named_date(
            s in "([0-9]{1,5}|st|nd|th|er|de|[ .,\u{a0}\u{3000}\n]|Mar|march|mars|marzo|may|mayo|mai|sept|september|décembre|märz|jun|juin|x|é){0,24}",
            cut in 0usize..8,
        ) {
            let d = crate::detect::test_detector();
            let scan = crate::detect::Scan::new(&s, &d.ctx, d.wanted);
            // The whole text, and a window starting and ending inside it.
            let lo = crate::detect::context::ceil_boundary(&s, cut);
            let hi = crate::detect::context::floor_boundary(&s, s.len().saturating_sub(cut));
            for w in [vec![(0, s.len())], vec![(lo, hi.max(lo))]] {
                let want: Vec<(usize, usize)> = scan
                    .find_in_lower(&d.dates.named, &w)
                    .map(|m| (m.start(), m.end()))
                    .collect();
                let parts = d.dates.month_windows(&scan, &w);
                let got: Vec<(usize, usize)> = scan
                    .find_in_lower(&d.dates.named, &parts)
                    .map(|m| (m.start(), m.end()))
                    .collect();
                proptest::prop_assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn numeric_matcher_examples() {
        let re = regex::Regex::new(super::NUMERIC_PATTERN).unwrap();
        for s in [
            "1983-02-14",
            "14/02/1983",
            "1/2/83",
            "12.05.19855",
            "1980年5月3日",
            "19800503",
            "123/4/5678",
            "2024-1-2-3",
            "1980年12月",
            "1980年5月3",
            "12/05/1",
        ] {
            let want: Vec<(usize, usize)> = re.find_iter(s).map(|m| (m.start(), m.end())).collect();
            let got: Vec<(usize, usize)> =
                crate::detect::patterns::all_matches(s.as_bytes(), 0, super::numeric_at).collect();
            assert_eq!(got, want, "{s}");
        }
    }

    #[test]
    fn bare_dates_and_timestamps_are_not_dob() {
        assert!(dob("Meeting on 2025-05-12.").is_empty());
        assert!(dob("Ticket created 2026-09-03T14:48:09Z.").is_empty());
        assert!(dob("born 2025-13-45").is_empty());
        assert_eq!(
            dob("Patient DOB 1975-06-30, admitted 2024-01-02."),
            ["1975-06-30"]
        );
    }
}
