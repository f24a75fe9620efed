//! Dates of birth: a date in one of many formats, reported only with a birth cue next to it.
//!
//! Owns: the date grammar (numeric `Y-M-D`, `D/M/Y`, `M/D/Y`, dotted, `年月日`, and month names
//! in English, German, French and Spanish) and the rule that a bare date or timestamp is not a
//! date of birth. The span is the date alone, never the cue. Does not own: cue words (see
//! `context`).

use super::context::Ctx;
use super::patterns::{digit_at, digit_led_matches, left_ok, right_ok};
use super::validators::valid_ymd;
use super::{EntityType, Finding, Scan};

/// The month names of the named-date grammar, in the order of its alternation (leftmost-first:
/// at one position the first name for which the rest of the grammar matches wins).
const MONTHS: [&str; 60] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "januar",
    "februar",
    "märz",
    "maerz",
    "mai",
    "juni",
    "juli",
    "oktober",
    "dezember",
    "janvier",
    "février",
    "fevrier",
    "mars",
    "avril",
    "juin",
    "juillet",
    "août",
    "aout",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
    "decembre",
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "setiembre",
    "octubre",
    "noviembre",
    "diciembre",
];

/// The named-date grammar as a regex (the reference [`Dates::named_at`] is tested against):
/// `14 March 1979`, `3. Mai 1980`, `5 de marzo de 1970`, `Nov 17, 1981`.
#[cfg(test)]
fn named_pattern() -> String {
    let months = MONTHS.join("|");
    format!(
        r"[0-9]{{1,2}}(?:st|nd|rd|th|er)?\.?\s(?:de\s)?(?:{months})\.?,?\s(?:de\s)?[0-9]{{4}}|(?:{months})\.?\s[0-9]{{1,2}}(?:st|nd|rd|th)?,?\s[0-9]{{4}}"
    )
}

/// The longest month name, in bytes.
#[cfg(test)]
const MONTH_MAX: usize = {
    let mut i = 0;
    let mut m = 0;
    while i < MONTHS.len() {
        if MONTHS[i].len() > m {
            m = MONTHS[i].len();
        }
        i += 1;
    }
    m
};

/// How far before the year a named date's month name can end: `.`, `\s` (up to 3 bytes), a day
/// (2), a suffix (2), `,`, `\s` (the other form: `.`, `,`, `\s`, `de\s`, 10 bytes).
const MONTH_TO_YEAR: usize = 1 + 3 + 2 + 2 + 1 + 3;

/// How far before its month name a named date can start: a day (2), a suffix (2), `.`, `\s`,
/// `de\s` (5).
const DAY_TO_MONTH: usize = 2 + 2 + 1 + 3 + 5;

/// The compiled date grammar.
#[derive(Debug)]
pub struct Dates {
    /// [`MONTHS`] ordered by first byte (stably: each first byte's names keep the grammar's
    /// order).
    months: Vec<&'static [u8]>,
    /// Per first byte, the range of `months` starting with it.
    by_first: [(u8, u8); 256],
    /// [`MONTHS`] ordered by last byte, each with its last three bytes (see [`tail3`]).
    months_by_last: Vec<(u32, &'static [u8])>,
    /// Per last byte, the range of `months_by_last` ending with it.
    by_last: [(u8, u8); 256],
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

impl Dates {
    /// Compiles the date grammar.
    pub fn new() -> Result<Dates, super::DetectError> {
        // The names sorted (stably) by one byte, and the range of each byte's names.
        let index = |byte: fn(&[u8]) -> u8| {
            let mut v: Vec<&'static [u8]> = MONTHS.iter().map(|m| m.as_bytes()).collect();
            v.sort_by_key(|m| byte(m));
            let mut ranges = [(0u8, 0u8); 256];
            for (i, m) in v.iter().enumerate() {
                let r = &mut ranges[usize::from(byte(m))];
                if r.0 == r.1 {
                    r.0 = i as u8;
                }
                r.1 = i as u8 + 1;
            }
            (v, ranges)
        };
        let (months, by_first) = index(|m| m[0]);
        let (months_by_last, by_last) = index(|m| m[m.len() - 1]);
        let months_by_last = months_by_last
            .into_iter()
            .map(|m| (tail3(m, m.len()), m))
            .collect();
        Ok(Dates {
            months,
            by_first,
            months_by_last,
            by_last,
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
        let numeric = digit_led_matches(scan, windows.iter().copied(), numeric_at);
        let mut dates: Vec<(usize, usize)> = Vec::with_capacity(numeric.len() + 8);
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
        for m in numeric {
            consider(m.start(), m.end(), plausible_numeric(m.as_str()));
        }
        // Month names are matched on the lower-cased copy (same offsets).
        self.named_matches(scan, windows, |s, e| {
            // A named date ends with its four-digit year, after a space.
            let lower = scan.lower.as_bytes();
            let y = lower[e - 4..e]
                .iter()
                .fold(0u32, |y, &c| y * 10 + u32::from(c - b'0'));
            consider(s, e, (1880..=2030).contains(&y));
        });
        dates.sort_unstable();
        dates.dedup_by(|a, b| a.0 < b.1); // drop a date overlapping the previous one
                                          // 2. A date of birth has a birth cue before it with no other date in between (or one
                                          //    just after it): "DOB 1975-06-30, admitted 2024-01-02" reports only the first.
        for (i, &(s, e)) in dates.iter().enumerate() {
            let prev_end = if i > 0 { dates[i - 1].1 } else { 0 };
            let next_start = dates.get(i + 1).map_or(usize::MAX, |d| d.0);
            // The cue after is looked up only when there is none before (it would not change
            // the score).
            let before = || {
                scan.cue_before(s, 44, &[Ctx::Birth])
                    .filter(|h| h.start >= prev_end)
            };
            let after = || {
                scan.cue_after(e, 24, &[Ctx::Birth])
                    .filter(|h| h.end <= next_start && h.start - e <= 12)
            };
            let score = if before().is_some() {
                0.95
            } else if after().is_some() {
                0.85
            } else {
                continue;
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
    /// Every match of the named-date grammar ([`named_pattern`]) in each of `windows` of the
    /// lower-cased text, as the regex's `find_iter` over each window gives them, passed to `f`.
    ///
    /// Every match ends with a four-digit year after a `\s`, so the year starts a digit run of
    /// four digits or more; the match's month name ends at a word's end at most
    /// [`MONTH_TO_YEAR`] bytes before it, and the match starts at the month name or, after a
    /// day, at a digit at most [`DAY_TO_MONTH`] bytes before it (then after a `\s`). The
    /// grammar is tried, anchored ([`Dates::named_at`]), only at those starts, in order, from
    /// the end of the last match on: the first start where it matches is where `find_iter`
    /// finds its next match (no match starts elsewhere), and at one start both choose the same
    /// match.
    fn named_matches(
        &self,
        scan: &Scan<'_>,
        windows: &[(usize, usize)],
        mut f: impl FnMut(usize, usize),
    ) {
        let lower = scan.lower.as_bytes();
        let runs = &scan.digit_runs;
        let mut starts: Vec<usize> = Vec::with_capacity(32);
        for &(lo, hi) in windows {
            let w = &lower[..hi];
            starts.clear();
            let mut k = runs.partition_point(|r| r.0 <= lo);
            while k < runs.len() && runs[k].0 + 4 <= hi {
                let (rs, re) = runs[k];
                k += 1;
                if re - rs < 4 || !space_before(w, rs) {
                    continue;
                }
                // Before an ASCII space before the year: a month's last letter, `.`, `,`, the
                // `e` of `de`, a suffix's last letter, or a day of one or two digits (after a
                // space). Anything else (a longer number: "3704 0044") rules the year out.
                if w[rs - 1] < 0x80 && rs >= lo + 2 {
                    let c = w[rs - 2];
                    let ok = c.is_ascii_lowercase()
                        || c == b'.'
                        || c == b','
                        || c.is_ascii_digit() && runs[k - 2].0 + 2 >= rs - 1;
                    if !ok {
                        continue;
                    }
                }
                for e in (lo + 1).max(rs.saturating_sub(MONTH_TO_YEAR))..rs {
                    // Month names end with an ASCII letter, and a `.`, `,` or `\s` follows.
                    if !w[e - 1].is_ascii_lowercase() || w[e].is_ascii_lowercase() {
                        continue;
                    }
                    // Month names have three bytes at least.
                    if e - lo < 3 {
                        continue;
                    }
                    let (a, b) = self.by_last[usize::from(w[e - 1])];
                    let key = tail3(w, e);
                    for &(tail, m) in &self.months_by_last[usize::from(a)..usize::from(b)] {
                        if tail != key {
                            continue;
                        }
                        if m.len() > e - lo || !w[e - m.len()..e].iter().rev().eq(m.iter().rev()) {
                            continue;
                        }
                        let ms = e - m.len();
                        starts.push(ms);
                        if ms > lo && space_before(w, ms) {
                            let from = lo.max(ms.saturating_sub(DAY_TO_MONTH));
                            starts.extend((from..ms).filter(|&d| w[d].is_ascii_digit()));
                        }
                    }
                }
            }
            starts.sort_unstable();
            starts.dedup();
            let mut p = lo;
            for &q in &starts {
                if q < p {
                    continue;
                }
                if let Some(e) = self.named_at(w, q) {
                    f(q, e);
                    p = e;
                }
            }
        }
    }

    /// The end of the leftmost-first match of [`named_pattern`] starting at `p` in `w` (the
    /// lower-cased text up to the window's end), if any: each optional part and each choice
    /// tried in the regex's order (greedy: with it first), backtracking as the regex does.
    fn named_at(&self, w: &[u8], p: usize) -> Option<usize> {
        let c = *w.get(p)?;
        if c.is_ascii_digit() {
            // [0-9]{1,2}(?:st|nd|rd|th|er)?\.?\s(?:de\s)?(?:MONTHS)\.?,?\s(?:de\s)?[0-9]{4}
            for q in digits12(w, p) {
                for q in opt(q, suffix_at(w, q, true)) {
                    for q in opt(q, lit(w, q, b".")) {
                        let Some(q) = ws_at(w, q) else { continue };
                        for q in opt(q, de_at(w, q)) {
                            let e = self.month_then(w, q, |q| {
                                for q in opt(q, lit(w, q, b".")) {
                                    for q in opt(q, lit(w, q, b",")) {
                                        let Some(q) = ws_at(w, q) else { continue };
                                        for q in opt(q, de_at(w, q)) {
                                            if let Some(e) = year_at(w, q) {
                                                return Some(e);
                                            }
                                        }
                                    }
                                }
                                None
                            });
                            if e.is_some() {
                                return e;
                            }
                        }
                    }
                }
            }
            return None;
        }
        // (?:MONTHS)\.?\s[0-9]{1,2}(?:st|nd|rd|th)?,?\s[0-9]{4}
        self.month_then(w, p, |q| {
            for q in opt(q, lit(w, q, b".")) {
                let Some(q) = ws_at(w, q) else { continue };
                for q in digits12(w, q) {
                    for q in opt(q, suffix_at(w, q, false)) {
                        for q in opt(q, lit(w, q, b",")) {
                            let Some(q) = ws_at(w, q) else { continue };
                            if let Some(e) = year_at(w, q) {
                                return Some(e);
                            }
                        }
                    }
                }
            }
            None
        })
    }

    /// The first month name at `q`, in the grammar's order, after which `rest` matches: its
    /// end (the alternation's leftmost-first choice with backtracking).
    fn month_then(
        &self,
        w: &[u8],
        q: usize,
        rest: impl Fn(usize) -> Option<usize>,
    ) -> Option<usize> {
        let (a, b) = self.by_first[usize::from(*w.get(q)?)];
        let tail = &w[q..];
        // Compared in line (a `memcmp` call per name cost more than the comparison).
        self.months[usize::from(a)..usize::from(b)]
            .iter()
            .filter(|m| tail.len() >= m.len() && tail.iter().zip(m.iter()).all(|(x, y)| x == y))
            .find_map(|m| rest(q + m.len()))
    }
}

/// The positions after an optional part at `q` (its length there, if present), in the
/// regex's greedy order: with it, then without.
fn opt(q: usize, len: Option<usize>) -> impl Iterator<Item = usize> {
    len.map(|n| q + n).into_iter().chain(std::iter::once(q))
}

/// `lit` at `q`: its length.
fn lit(w: &[u8], q: usize, lit: &[u8]) -> Option<usize> {
    w.get(q..)
        .is_some_and(|r| r.starts_with(lit))
        .then_some(lit.len())
}

/// `[0-9]{1,2}` at `q`: the ends, greedy first (two digits, then one).
fn digits12(w: &[u8], q: usize) -> impl Iterator<Item = usize> {
    let one = digit_at(w, q);
    let two = one && digit_at(w, q + 1);
    two.then_some(q + 2).into_iter().chain(one.then_some(q + 1))
}

/// An ordinal suffix at `q` (`st|nd|rd|th`, and `er` when `er` is set): its length.
fn suffix_at(w: &[u8], q: usize, er: bool) -> Option<usize> {
    match w.get(q..q + 2)? {
        b"st" | b"nd" | b"rd" | b"th" => Some(2),
        b"er" if er => Some(2),
        _ => None,
    }
}

/// `de\s` at `q`: its length.
fn de_at(w: &[u8], q: usize) -> Option<usize> {
    lit(w, q, b"de").and_then(|n| ws_at(w, q + n).map(|e| e - q))
}

/// `[0-9]{4}` at `q`: its end.
fn year_at(w: &[u8], q: usize) -> Option<usize> {
    (0..4).all(|k| digit_at(w, q + k)).then_some(q + 4)
}

/// The three bytes before `e` in `w`, packed.
fn tail3(w: &[u8], e: usize) -> u32 {
    u32::from(w[e - 3]) | u32::from(w[e - 2]) << 8 | u32::from(w[e - 1]) << 16
}

/// Whether the byte before `i` ends a `\s` (an ASCII white space, or the last byte of a
/// non-ASCII character, which may be one): a cheap necessary test.
fn space_before(w: &[u8], i: usize) -> bool {
    i > 0 && (char::from(w[i - 1]).is_whitespace() || w[i - 1] >= 0x80)
}

/// A `\s` (Unicode `White_Space`, as the regex's `\s`) at `q` in `w` (valid UTF-8 from `q`):
/// the position after it. Only `C2`, `E1`, `E2` and `E3` lead a non-ASCII white space.
fn ws_at(w: &[u8], q: usize) -> Option<usize> {
    let c = *w.get(q)?;
    if c < 0x80 {
        return char::from(c).is_whitespace().then_some(q + 1);
    }
    let n = match c {
        0xC2 => 2,
        0xE1..=0xE3 => 3,
        _ => return None,
    };
    let t = w.get(q..q + n)?;
    let v = if n == 2 {
        u32::from(c & 0x1F) << 6 | u32::from(t[1] & 0x3F)
    } else {
        u32::from(c & 0x0F) << 12 | u32::from(t[1] & 0x3F) << 6 | u32::from(t[2] & 0x3F)
    };
    char::from_u32(v)
        .is_some_and(char::is_whitespace)
        .then_some(q + n)
}

/// Whether the text can hold a date at all: a run of four digits or more (a year, `Y-M-D`,
/// `年月日`, eight digits, and every named date), or three digit runs joined by single
/// separators, the middle one of one or two digits and the last of two or more (`D-M-Y`).
/// Without one, the birth cue search is skipped (PII-free text rarely has one).
pub fn may_hold_date(scan: &Scan<'_>) -> bool {
    let (b, runs) = (scan.bytes, &scan.digit_runs);
    let joined = |x: (usize, usize), y: (usize, usize)| {
        x.1 + 1 == y.0 && matches!(b[x.1], b'-' | b'/' | b'.')
    };
    runs.iter().any(|r| r.1 - r.0 >= 4)
        || runs.windows(3).any(|w| {
            joined(w[0], w[1]) && joined(w[1], w[2]) && w[1].1 - w[1].0 <= 2 && w[2].1 - w[2].0 >= 2
        })
}

/// Whether a numeric date names a real day in some common order (Y-M-D, D-M-Y, M-D-Y).
/// Reads its (up to three) digit groups on the stack: a `Vec` per candidate cost a
/// `malloc` and `free` each (tested equal to [`plausible_numeric_vec`]).
fn plausible_numeric(s: &str) -> bool {
    let mut parts = [0u32; 3];
    let mut n = 0;
    // The current group's value (`None` once it overflows: the group is then left out, as a
    // failed parse is), and whether a group is open.
    let mut cur: Option<u32> = Some(0);
    let mut open = false;
    let close = |cur: Option<u32>, n: &mut usize, parts: &mut [u32; 3]| -> bool {
        if let Some(v) = cur {
            if *n == 3 {
                return false;
            }
            parts[*n] = v;
            *n += 1;
        }
        true
    };
    for c in s.bytes() {
        if c.is_ascii_digit() {
            cur = cur
                .and_then(|v| v.checked_mul(10))
                .and_then(|v| v.checked_add(u32::from(c - b'0')));
            open = true;
        } else if open {
            if !close(cur, &mut n, &mut parts) {
                return false;
            }
            cur = Some(0);
            open = false;
        }
    }
    if open && !close(cur, &mut n, &mut parts) {
        return false;
    }
    if n == 1 && s.len() == 8 {
        let v = parts[0];
        parts = [v / 10000, (v / 100) % 100, v % 100];
        n = 3;
    }
    n == 3 && plausible_parts(parts)
}

/// Whether three date parts name a real day in some common order (Y-M-D, D-M-Y, M-D-Y).
fn plausible_parts([a, b, c]: [u32; 3]) -> bool {
    let year_ok = |y: u32| (1880..=2030).contains(&y);
    if a >= 1000 {
        return year_ok(a) && valid_ymd(a, b, c);
    }
    let y = if c < 100 { 1900 + c } else { c };
    year_ok(y) && (valid_ymd(y, b, a) || valid_ymd(y, a, b))
}

/// [`plausible_numeric`]'s reading of the groups as it was written first (the reference it is
/// tested against).
#[cfg(test)]
fn plausible_numeric_vec(s: &str) -> bool {
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
    plausible_parts([a, b, c])
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

        #[test]
        fn birth_cues_are_the_automaton_ones(
            s in "(born|dob|d\\.o\\.b|\\.|birth| date|date of|day|geb|oren|urtstag|né|née| le|naiss|ance|date de|fecha|nac|ido|imiento|í|ió|cumple|años|f\\. |生|于|出|日期|年月|[a-z0-9 ]){0,30}"
        ) {
            birth_cues_check(&s)?;
        }

        /// Text that `may_hold_date` rules out holds no date of either grammar.
        #[test]
        fn no_date_where_ruled_out(s in "(([0-9]{1,5}[-/.]){0,3}[0-9]{1,5}|年|月|日| |de|mar|march|x|,){0,8}") {
            let d = crate::detect::test_detector();
            let scan = crate::detect::Scan::new(&s, &d.ctx, d.wanted);
            if !super::may_hold_date(&scan) {
                let numeric = crate::detect::patterns::all_matches(s.as_bytes(), 0, super::numeric_at);
                proptest::prop_assert_eq!(numeric.count(), 0);
                let mut named = 0;
                d.dates.named_matches(&scan, &[(0, s.len())], |_, _| named += 1);
                proptest::prop_assert_eq!(named, 0);
            }
        }

        /// The same, on month-first dates and numbers before years.
        #[test]
        fn named_matcher_is_the_regex_month_first(
            s in "((may|mar|sept|x|[0-9]{1,3})[.,]?[ \u{a0}]?[0-9]{1,3}(st|th)?[ ,]{0,2}[0-9]{3,5} ?){1,4}",
            cut in 0usize..8,
        ) {
            named_check(&s, cut)?;
        }

        /// The stack version reads the groups as the `Vec` one did.
        #[test]
        fn plausible_numeric_is_the_vec_version(s in "([0-9]{1,12}|[-/.]|年|月|日|a){0,7}") {
            proptest::prop_assert_eq!(super::plausible_numeric(&s), super::plausible_numeric_vec(&s), "{:?}", s);
        }

        /// The same, on strings built of near-dates (each part optional or slightly off).
        #[test]
        fn named_matcher_is_the_regex_near_dates(
            parts in proptest::collection::vec(NEAR_DATE, 1..4),
            cut in 0usize..8,
        ) {
            named_check(&parts.concat(), cut)?;
        }

        /// The hand matcher finds what the regex's `find_iter` finds in each window.
        #[test]
        fn named_matcher_is_the_regex(
            s in "([0-9]{1,5}|st|nd|rd|th|er|de|d|[ .,\u{a0}\u{3000}\u{2003}\u{85}\u{b}\u{1680}\n]|Mar|march|mars|marzo|may|mayo|mai|sept|september|septiembre|décembre|dec|märz|jun|juin|janu|january|januar|août|x|é|s){0,24}",
            cut in 0usize..8,
        ) {
            named_check(&s, cut)?;
        }
    }

    /// A near-date: a named date whose every part may be missing or slightly off.
    const NEAR_DATE: &str = "[0-9x ]?([0-9]{1,3}(st|nd|rd|th|er|xx)?\\.?)?[ \u{a0}\u{3000}\u{2003}\u{85}\u{b}\u{1680}\u{2028}x]?(de[ \u{3000}x])?(january|jan|januar|janvier|mar|march|mars|marzo|märz|may|mayo|mai|sep|sept|september|septiembre|dec|décembre|decembre|août|aout|ma|x)\\.?,?[ \u{a0}\u{3000}\u{2003}\u{85}\u{b}\u{1680}\u{2028}x](de[ \u{3000}x])?([0-9]{1,3}(st|nd|rd|th|er)?,?[ \u{3000}\u{a0}x])?[0-9]{3,5}[ ,.x]?";

    /// The named matcher's matches in `s` (whole, and a window `cut` bytes in from each end)
    /// are the regex's.
    fn named_check(s: &str, cut: usize) -> Result<(), proptest::test_runner::TestCaseError> {
        let d = crate::detect::test_detector();
        static RE: once_cell::sync::Lazy<regex::Regex> =
            once_cell::sync::Lazy::new(|| regex::Regex::new(&super::named_pattern()).unwrap());
        let scan = crate::detect::Scan::new(s, &d.ctx, d.wanted);
        let lo = crate::detect::context::ceil_boundary(s, cut);
        let hi = crate::detect::context::floor_boundary(s, s.len().saturating_sub(cut));
        for w in [vec![(0, s.len())], vec![(lo, hi.max(lo))]] {
            let want: Vec<(usize, usize)> = scan
                .find_in_lower(&RE, &w)
                .map(|m| (m.start(), m.end()))
                .collect();
            let mut got = Vec::new();
            d.dates.named_matches(&scan, &w, |s, e| got.push((s, e)));
            proptest::prop_assert_eq!(got, want, "{:?} {:?}", s, w);
        }
        Ok(())
    }

    #[test]
    fn month_names_end_with_an_ascii_letter_and_reach_is_enough() {
        for m in super::MONTHS {
            assert!(m.as_bytes()[m.len() - 1].is_ascii_lowercase(), "{m}");
            assert!(m.len() >= 3, "{m}");
            assert!(m.len() <= super::MONTH_MAX);
        }
        // The longest gap between a month and its year, and between a day and its month, with
        // three-byte spaces: each form's regex matches it, and it uses the whole reach.
        let d = crate::detect::test_detector();
        let re = regex::Regex::new(&super::named_pattern()).unwrap();
        for s in [
            "may.\u{3000}12th,\u{3000}1990",
            "12th.\u{3000}de\u{3000}may 1990",
        ] {
            assert_eq!(re.find(s).map(|m| m.range()), Some(0..s.len()));
            let mut got = Vec::new();
            let scan = crate::detect::Scan::new(s, &d.ctx, d.wanted);
            d.dates
                .named_matches(&scan, &[(0, s.len())], |s, e| got.push((s, e)));
            assert_eq!(got, [(0, s.len())]);
        }
        assert_eq!("may.\u{3000}12th,\u{3000}".len() - 3, super::MONTH_TO_YEAR);
        assert_eq!("12th.\u{3000}de\u{3000}".len(), super::DAY_TO_MONTH);
    }

    /// The birth cues found at the anchors are the automaton's whole-text ones.
    fn birth_cues_check(s: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        use crate::detect::context::{Context, Ctx};
        static CTX: once_cell::sync::Lazy<Context> =
            once_cell::sync::Lazy::new(|| Context::with_kinds(&[Ctx::Birth]).unwrap());
        let lower = s.to_ascii_lowercase();
        let want: Vec<(usize, usize)> = CTX
            .all_of(&lower, &[Ctx::Birth])
            .iter()
            .map(|h| (h.start, h.end))
            .collect();
        let anchors = crate::detect::anchors::Anchors::new(&[crate::detect::anchors::Group::Birth])
            .find(lower.as_bytes());
        let got = crate::detect::context::AnchoredCues::new(
            &[Ctx::Birth],
            crate::detect::context::BIRTH_ANCHORS,
        )
        .find(lower.as_bytes(), &anchors)
        .iter()
        .map(|h| (h.start, h.end))
        .collect::<Vec<_>>();
        proptest::prop_assert_eq!(got, want, "{:?}", s);
        Ok(())
    }

    #[test]
    fn birth_cue_examples() {
        for s in [
            "DOB: 14/02/1983, date of birth date, birthdate",
            "née le 3 mars, né, nee, unborn, d.o.b. 1, d.o.b.x",
            "fecha de nacimiento: fecha nac. f. nac. nacidos nació naci nacio",
            "出生于1980 出生日期 生日 出生年月 生于",
            "date de naissance date de naiss. naissances cumpleaños geb. geboren",
        ] {
            birth_cues_check(s).unwrap();
        }
    }

    #[test]
    fn plausible_numeric_examples() {
        for s in [
            "1983-02-14",
            "14/02/1983",
            "02/14/1983",
            "1/2/83",
            "19830214",
            "1980年5月3日",
            "2025-13-45",
            "1879-01-01",
            "31/02/1990",
            "99999999999/1/1983",
            "1.2",
            "1.2.3.4",
            "12345678",
            "1/2/3",
            "",
        ] {
            assert_eq!(
                super::plausible_numeric(s),
                super::plausible_numeric_vec(s),
                "{s}"
            );
        }
    }

    #[test]
    fn dates_are_not_ruled_out() {
        let d = crate::detect::test_detector();
        let may = |s: &str| super::may_hold_date(&crate::detect::Scan::new(s, &d.ctx, d.wanted));
        for s in [
            "1990-1-1",
            "12 march 1990",
            "1990年1月2日",
            "19900101",
            "1/12/90",
            "1.2.1990",
        ] {
            assert!(may(s), "{s}");
        }
        for s in ["2.4.1", "v1.2.3", "123-45", "12 march 199", "1/123/45"] {
            assert!(!may(s), "{s}");
        }
    }

    #[test]
    fn named_matcher_examples() {
        let d = crate::detect::test_detector();
        let re = regex::Regex::new(&super::named_pattern()).unwrap();
        for s in [
            "14 march 1979",
            "3. mai 1980",
            "5 de marzo de 1970",
            "nov 17, 1981",
            "2nd. de dec. 1999",
            "januar 1990",
            "12 januar 1990",
            "12 janu 1990",
            "summar 12th, 19901",
            "123 march 1990 x",
            "1 2 mars\u{3000}1990",
            "1er août, 2001",
            "sept. 3rd, 1970 and 4 dec 1971",
            "12 de de 1990",
            "may 12 1990, may 1 1990, may 123 1990, iban de89 3704 0044",
            "x 12 1990 may. 12 1990 12. may, 1990 3 de may de 1990",
        ] {
            let scan = crate::detect::Scan::new(s, &d.ctx, d.wanted);
            let w = [(0, s.len())];
            let want: Vec<(usize, usize)> = scan
                .find_in_lower(&re, &w)
                .map(|m| (m.start(), m.end()))
                .collect();
            let mut got = Vec::new();
            d.dates.named_matches(&scan, &w, |s, e| got.push((s, e)));
            assert_eq!(got, want, "{s}");
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
