//! Dates of birth: a date in one of many formats, reported only with a birth cue next to it.
//!
//! Owns: the date grammar (numeric `Y-M-D`, `D/M/Y`, `M/D/Y`, dotted, `年月日`, and month names
//! in English, German, French and Spanish) and the rule that a bare date or timestamp is not a
//! date of birth. The span is the date alone, never the cue. Does not own: cue words (see
//! `context`).

use regex::Regex;

use super::context::Ctx;
use super::patterns::{left_ok, right_ok};
use super::validators::valid_ymd;
use super::{EntityType, Finding, Scan};

const MONTHS: &str = "january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|januar|februar|märz|maerz|mai|juni|juli|oktober|dezember|janvier|février|fevrier|mars|avril|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre";

/// The compiled date grammar.
#[derive(Debug)]
pub struct Dates {
    numeric: Regex,
    named: Regex,
}

impl Dates {
    /// Compiles the date grammar.
    pub fn new() -> Result<Dates, super::DetectError> {
        let numeric = r"[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}|[0-9]{1,2}[-/.][0-9]{1,2}[-/.](?:[0-9]{4}|[0-9]{2})|[0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日|[0-9]{4}[0-9]{2}[0-9]{2}";
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
            numeric: mk("date_numeric", numeric)?,
            named: mk("date_named", &named)?,
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
        for m in scan.find_in(&self.numeric, windows) {
            consider(m.start(), m.end(), plausible_numeric(m.as_str()));
        }
        // Month names are matched on the lower-cased copy (same offsets): a case-sensitive
        // pattern keeps its literal prefilter.
        for m in scan.find_in_lower(&self.named, windows) {
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
                .ctx
                .kind_before(&scan.lower, s, 44, &[Ctx::Birth])
                .filter(|h| h.start >= prev_end);
            let after = scan
                .ctx
                .kind_after(&scan.lower, e, 24, &[Ctx::Birth])
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
