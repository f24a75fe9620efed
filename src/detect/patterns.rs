//! Pattern recognizers: regex cores plus validators and context for the structured entities
//! (e-mail, URL, IP, payment card, IBAN, SSN, NINO, PRC ID, phones, passports, secrets).
//!
//! Owns: the compiled regexes (built once), the boundary checks done in code (the `regex` crate has
//! no look-around, and `\b` does not separate CJK from digits), and the per-candidate score.
//! Does not own: overlap resolution or filtering (see `mod.rs`), dates, addresses and names.

use regex::Regex;

use super::anchors::AnchorHit;
use super::anchors::Group;
use super::context::{Ctx, Hit};
use super::matchers::{
    assign_at, email_matches, iban_at, ipv4_at, keyword_token_at, matches_from, nino_at,
    passport_at, secret_at, social_at, url_at,
};
use super::validators as v;
use super::{EntityType, Finding, Scan};

/// Compiled pattern recognizers.
#[derive(Debug)]
pub struct Patterns {
    ipv6: Regex,
    /// [`SECRET_PATTERN`], for a CPU without Teddy (elsewhere `matchers::secret_at` is tried at
    /// the prefix hits).
    secret: Regex,
    /// One Teddy search for [`SECRET_PREFIXES`] (`None` on a CPU without Teddy: then the
    /// pattern searches the whole text).
    secret_gates: Option<aho_corasick::packed::Searcher>,
}

/// URL gates: every URL the patterns find has `://` or `www.` (the first two), every profile path
/// a known host ending in `.com/` or `t.me/` (the last two). Found by `anchors`.
pub(crate) const URL_GATES: &[&str] = &["://", "www.", ".com/", "t.me/"];

/// Vendor-format secrets (cloud, VCS, chat, payment and model-API keys, JWTs, PEM private keys).
const SECRET_PATTERN: &str = r"(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{20,255}|sk-(?:proj-|svcacct-|admin-|ant-[a-z]+[0-9]*-)?[A-Za-z0-9_\-]{20,}|xox[abposre]-[A-Za-z0-9\-]{10,}|AIza[0-9A-Za-z_\-]{30,}|(?:sk|pk|rk)_(?:live|test)_[0-9A-Za-z]{16,}|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}|-----BEGIN[A-Z ]*PRIVATE KEY-----[\s\S]*?-----END[A-Z ]*PRIVATE KEY-----|glpat-[A-Za-z0-9_\-]{20,}|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36}";

/// Every match of [`SECRET_PATTERN`] starts with one of these (case-sensitive).
const SECRET_PREFIXES: &[&str] = &[
    "AKIA",
    "ASIA",
    "AGPA",
    "AIDA",
    "AROA",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "sk-",
    "xox",
    "AIza",
    "sk_",
    "pk_",
    "rk_",
    "eyJ",
    "-----BEGIN",
    "glpat-",
    "hf_",
    "npm_",
];

/// Every secret keyword contains one of these. Found by `anchors`.
pub(crate) const SECRET_ANCHORS: &[&str] = &[
    "key",
    "token",
    "secret",
    "passw",
    "pwd",
    "bearer",
    "mot de passe",
];

/// The secret keywords, filed under the [`SECRET_ANCHORS`] literal each holds (by index), with
/// the literal's offset in the keyword. Every keyword holds exactly one anchor
/// (`secret_words_hold_their_anchor` checks it).
const SECRET_WORDS: [&[(&str, usize)]; 7] = [
    &[
        ("api_key", 4),
        ("api-key", 4),
        ("api key", 4),
        ("apikey", 3),
        ("access_key", 7),
        ("access-key", 7),
        ("access key", 7),
        ("key ", 0),
        ("key:", 0),
        ("key=", 0),
    ],
    &[
        ("access_token", 7),
        ("access-token", 7),
        ("access token", 7),
        ("auth_token", 5),
        ("auth-token", 5),
        ("token", 0),
    ],
    &[
        ("client_secret", 7),
        ("client-secret", 7),
        ("client secret", 7),
        ("secret", 0),
    ],
    &[("passw", 0)],
    &[("pwd", 0)],
    &[("bearer", 0)],
    &[("mot de passe", 0)],
];

/// Where the keyword-led secret patterns are tried: the starts of the [`SECRET_WORDS`] matches
/// that an Aho-Corasick search for them (standard semantics: the match that ends first, the
/// longest of those, then on from its end) reports in the windows around the secret anchors.
/// Every keyword occurrence holds its anchor at a fixed offset, so the occurrences are read off
/// the anchor hits (`anchors`: the call's hits in `lower`); each lies inside its anchor's window,
/// so the windowed searches report what one search over all occurrences reports. Replaces an
/// automaton search per window.
fn keyword_starts(lower: &[u8], anchors: &[AnchorHit]) -> Vec<usize> {
    // (end, start) of every occurrence: sorted, the first of each end is the longest.
    let mut occ: Vec<(usize, usize)> = Vec::new();
    for h in anchors.iter().filter(|h| h.group == Group::Secret) {
        for &(w, o) in SECRET_WORDS[h.index] {
            if let Some(s) = h.pos.checked_sub(o) {
                if lower[s..].starts_with(w.as_bytes()) {
                    occ.push((s + w.len(), s));
                }
            }
        }
    }
    occ.sort_unstable();
    let mut starts = Vec::with_capacity(occ.len());
    let mut from = 0;
    for (e, s) in occ {
        if s >= from {
            starts.push(s);
            from = e;
        }
    }
    starts
}

fn re(name: &str, pat: &str) -> Result<Regex, super::DetectError> {
    Regex::new(pat).map_err(|e| super::DetectError::Pattern {
        name: name.to_string(),
        reason: e.to_string(),
    })
}

/// The byte before `s` is not an ASCII letter or digit (CJK and punctuation are fine).
pub fn left_ok(b: &[u8], s: usize) -> bool {
    s == 0 || !b[s - 1].is_ascii_alphanumeric()
}

/// The byte at `e` is not an ASCII letter or digit.
pub fn right_ok(b: &[u8], e: usize) -> bool {
    e >= b.len() || !b[e].is_ascii_alphanumeric()
}

/// The ASCII digits of a hand-matched candidate, on the stack (no allocation per candidate).
/// Candidates hold at most 23 digits (a card match: a digit and 22 units), SSNs 9, mainland
/// mobiles 13.
struct Digits {
    d: [u8; 24],
    n: usize,
}

impl std::ops::Deref for Digits {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.d[..self.n]
    }
}

/// The ASCII digits of `s` (at most 24: see [`Digits`]).
fn digits_of(s: &str) -> Digits {
    let mut d = Digits { d: [0; 24], n: 0 };
    for c in s.bytes().filter(u8::is_ascii_digit) {
        d.d[d.n] = c;
        d.n += 1;
    }
    d
}

fn push(out: &mut Vec<Finding>, start: usize, end: usize, entity: EntityType, score: f32) {
    if start < end {
        out.push(Finding {
            start,
            end,
            entity,
            score: score.clamp(0.0, 1.0),
        });
    }
}

/// How close the nearest cue of `kinds` is (bytes between its end and `pos`), if any within
/// `window`, and whether a different kind of numeric cue sits nearer.
fn cue(scan: &Scan<'_>, pos: usize, window: usize, kinds: &[Ctx]) -> Option<Hit> {
    scan.cue_before(pos, window, kinds)
}

/// The nearest identifier-type cue before `pos` (one of the numeric kinds or `NotPii`).
fn nearest_numeric_cue(scan: &Scan<'_>, pos: usize, window: usize) -> Option<Ctx> {
    const NUMERIC: [Ctx; 9] = [
        Ctx::Ip,
        Ctx::Phone,
        Ctx::Card,
        Ctx::Ssn,
        Ctx::Passport,
        Ctx::Nino,
        Ctx::Bank,
        Ctx::NotPii,
        Ctx::Birth,
    ];
    cue(scan, pos, window, &NUMERIC).map(|h| h.kind)
}

impl Patterns {
    /// Compiles every pattern.
    pub fn new() -> Result<Patterns, super::DetectError> {
        Ok(Patterns {
            ipv6: re(
                "ipv6",
                r"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:]*(?:[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})?",
            )?,
            secret: re("secret", SECRET_PATTERN)?,
            secret_gates: aho_corasick::packed::Searcher::new(SECRET_PREFIXES.iter()),
        })
    }

    /// Runs every enabled pattern recognizer over the scan.
    /// `passport_windows`: the text right after passport cues (passports are searched only there).
    pub fn run(
        &self,
        scan: &Scan<'_>,
        passport_windows: &[(usize, usize)],
        out: &mut Vec<Finding>,
    ) {
        if scan.has_at && scan.want(EntityType::Email) {
            self.emails(scan, out);
        }
        if scan.want(EntityType::Url) {
            self.urls(scan, out);
        }
        if scan.want(EntityType::ApiKey) {
            self.secrets(scan, out);
        }
        // The numeric recognizers' windows all come from one walk over the numeric runs.
        let fewest = NUM_RUN_USERS
            .iter()
            .filter(|u| scan.want(u.0))
            .map(|u| u.1)
            .min();
        let nums = match fewest {
            Some(min) if scan.digits >= 4 => NumRuns::new(scan, min),
            _ => NumRuns::default(),
        };
        // One window list and one candidate list serve every numeric recognizer in turn (each
        // kind's own lists regrew about twice per kind on dense text).
        let mut wins: Vec<(usize, usize)> = Vec::with_capacity(nums.runs.len());
        let mut hits: Vec<super::Hit<'_>> = Vec::with_capacity(nums.runs.len());
        if scan.digits >= 4 && scan.want(EntityType::IpAddress) {
            self.ips(scan, &nums, &mut wins, &mut hits, out);
        }
        if scan.has_hex_colon && scan.want(EntityType::IpAddress) {
            self.ipv6s(scan, out);
        }
        if scan.digits < 6 {
            return;
        }
        if scan.want(EntityType::CreditCard) {
            self.cards(scan, &nums, &mut wins, &mut hits, out);
        }
        // IBANs and NINOs search the same runs (NINOs those with six digits or more).
        let upper =
            if scan.has_upper && (scan.want(EntityType::Iban) || scan.want(EntityType::UkNino)) {
                upper_runs(scan)
            } else {
                Vec::new()
            };
        if scan.has_upper && scan.want(EntityType::Iban) {
            self.ibans(scan, &upper, out);
        }
        if scan.want(EntityType::UsSsn) {
            self.ssns(scan, &nums, &mut wins, &mut hits, out);
        }
        if scan.has_upper && scan.want(EntityType::UkNino) {
            self.ninos(scan, &upper, out);
        }
        if scan.want(EntityType::CnResidentId) && scan.digits >= 17 {
            self.cn_ids(scan, &nums, &mut wins, &mut hits, out);
        }
        if scan.want(EntityType::CnPhone) && scan.digits >= 11 {
            self.cn_phones(scan, &nums, &mut wins, &mut hits, out);
        }
        if scan.want(EntityType::Phone) && scan.digits >= 7 {
            self.phones(scan, &nums, &mut wins, out);
        }
        if !passport_windows.is_empty() {
            self.passports(scan, passport_windows, out);
        }
    }

    fn emails(&self, scan: &Scan<'_>, out: &mut Vec<Finding>) {
        let b = scan.bytes;
        for (s, e) in email_matches(b) {
            if right_ok(b, e) || b[e] == b'.' {
                push(out, s, e, EntityType::Email, 0.97);
            }
        }
    }

    fn urls(&self, scan: &Scan<'_>, out: &mut Vec<Finding>) {
        let b = scan.bytes;
        // Gates (see [`URL_GATES`]): every URL here has "://" or "www.", every profile path a
        // "/" after a known host.
        let gate = |lits: std::ops::Range<usize>| {
            scan.anchors
                .iter()
                .any(|h| h.group == Group::Url && lits.contains(&h.index))
        };
        let schemeful = gate(0..2);
        let social = gate(2..4);
        let lower = scan.lower.as_bytes();
        let urls = if schemeful {
            url_matches(lower, &scan.anchors)
        } else {
            Vec::new()
        };
        for (ms, me) in urls {
            if !left_ok(b, ms) {
                continue;
            }
            let s = &scan.text[ms..me];
            let trimmed = trim_url(s);
            let end = ms + trimmed.len();
            let body = after_scheme(trimmed);
            let (host, rest) = body.split_once('/').unwrap_or((body, ""));
            if !host.contains('.') || host.len() < 4 {
                continue;
            }
            let has_query = rest.contains('?') || rest.contains('=');
            let has_ident = rest.bytes().any(|c| c.is_ascii_digit()) || rest.contains('@');
            let score = if trimmed.contains('@') {
                0.98
            } else if has_query {
                0.96
            } else if has_ident || rest.len() > 1 {
                0.9
            } else {
                0.75
            };
            push(out, ms, end, EntityType::Url, score);
        }
        let socials = if social {
            social_matches(lower, &scan.anchors)
        } else {
            Vec::new()
        };
        for (ms, me) in socials {
            if !left_ok(b, ms) || (ms > 0 && matches!(b[ms - 1], b'.' | b'/')) {
                continue;
            }
            let trimmed = trim_url(&scan.text[ms..me]);
            push(out, ms, ms + trimmed.len(), EntityType::Url, 0.88);
        }
    }

    fn secrets(&self, scan: &Scan<'_>, out: &mut Vec<Finding>) {
        let b = scan.bytes;
        for (s, e) in self.secret_matches(scan.text) {
            if left_ok(b, s) {
                push(out, s, e, EntityType::ApiKey, 0.98);
            }
        }
        // Keyword-led secrets: the keywords are read off the anchor hits (every keyword holds
        // one anchor at a fixed offset), and the anchored patterns run only there.
        let t = scan.text;
        let mut starts = keyword_starts(scan.lower.as_bytes(), &scan.anchors);
        starts.retain(|&s| left_ok(b, s));
        // The assignment and keyword-token patterns, hand-compiled (`matchers::assign_at`,
        // `keyword_token_at`): at most 400 and 340 bytes from the keyword.
        for &st in &starts {
            let hi = super::context::floor_boundary(t, (st + 400).min(t.len()));
            let h = &t[st..hi];
            let Some((k, v0, v1)) = assign_at(h) else {
                continue;
            };
            let val = (v0, v1);
            let val_start = st + val.0;
            // The keyword, lower-cased (the scan's lower-cased copy: no string per match).
            let key = &scan.lower[st..st + k];
            let is_password = key.starts_with("pass")
                || key == "pwd"
                || key.starts_with("mot")
                || key.starts_with("contra");
            let value = h[val.0..val.1].trim_end_matches(['.', ')', ']', '}']);
            let score = if v::looks_random(value) {
                0.95
            } else if is_password && value.len() >= 6 {
                0.9
            } else if value.len() >= 12 && value.bytes().any(|c| c.is_ascii_digit()) {
                0.7
            } else {
                continue;
            };
            push(
                out,
                val_start,
                val_start + value.len(),
                EntityType::ApiKey,
                score,
            );
        }
        for &st in &starts {
            let hi = super::context::floor_boundary(t, (st + 340).min(t.len()));
            let h = &t[st..hi];
            let Some(val) = keyword_token_at(h.as_bytes()) else {
                continue;
            };
            let value = h[val.0..val.1].trim_end_matches(['.', ')']);
            if v::looks_random(value) {
                let vs = st + val.0;
                push(out, vs, vs + value.len(), EntityType::ApiKey, 0.85);
            }
        }
    }

    /// The matches of [`SECRET_PATTERN`] in `t`, as its `find_iter` gives them. Every match starts
    /// with a [`SECRET_PREFIXES`] literal, so the anchored pattern is tried only where one starts
    /// (in order, from the end of the last match): no match can start in between, and at a
    /// given start the anchored and the unanchored search choose the same match. The
    /// unanchored search ran a forward and a reverse automaton from every prefilter hit, which
    /// on dense text made it the costliest pattern per byte.
    fn secret_matches(&self, t: &str) -> Vec<(usize, usize)> {
        let Some(gates) = &self.secret_gates else {
            return self
                .secret
                .find_iter(t)
                .map(|m| (m.start(), m.end()))
                .collect();
        };
        let mut out = Vec::new();
        let mut at = 0;
        while at < t.len() {
            let Some(g) = gates.find_in(t, aho_corasick::Span::from(at..t.len())) else {
                break;
            };
            let p = g.start();
            match secret_at(t.as_bytes(), p) {
                Some(e) => {
                    out.push((p, e));
                    at = e.max(p + 1);
                }
                None => at = p + 1,
            }
        }
        out
    }

    fn ips<'s>(
        &self,
        scan: &'s Scan<'_>,
        nums: &NumRuns,
        wins: &mut Vec<(usize, usize)>,
        hits: &mut Vec<super::Hit<'s>>,
        out: &mut Vec<Finding>,
    ) {
        let b = scan.bytes;
        // An address has three dots: windows with fewer (most: "2024", "1.5") are not searched.
        nums.class_runs_into(scan, SEP_DOT, 4, SEP_DOT, 3, wins);
        let windows = wins
            .iter()
            .copied()
            .filter(|&(lo, hi)| b[lo..hi].iter().filter(|&&c| c == b'.').count() >= 3);
        digit_led_matches_into(scan, windows, ipv4_at, ipv4_next, hits);
        for &m in hits.iter() {
            let (s, e) = (m.start(), m.end());
            if !left_ok(b, s) || (s > 0 && matches!(b[s - 1], b'.' | b'-' | b'/')) {
                continue;
            }
            if !right_ok(b, e)
                || (e + 1 < b.len() && matches!(b[e], b'.' | b'-') && b[e + 1].is_ascii_digit())
            {
                continue;
            }
            if !v::ipv4(m.as_str()) {
                continue;
            }
            // A CIDR block ("10.0.0.0/8") names a network, not a host.
            let cidr = e + 1 < b.len() && b[e] == b'/' && b[e + 1].is_ascii_digit();
            // Both look-ups filter the same cue hits of the same window, last first: when the
            // nearest numeric cue is an IP cue, or there is none, the nearest IP cue is that cue,
            // or none.
            let score = if cidr {
                0.3
            } else {
                match nearest_numeric_cue(scan, s, 40) {
                    Some(Ctx::NotPii) => 0.3,
                    Some(Ctx::Ip) => 0.97,
                    Some(_) if cue(scan, s, 40, &[Ctx::Ip]).is_some() => 0.97,
                    _ => 0.85,
                }
            };
            debug_assert!(
                cidr || score == 0.3 || (score == 0.97) == cue(scan, s, 40, &[Ctx::Ip]).is_some()
            );
            push(out, s, e, EntityType::IpAddress, score);
        }
    }

    fn ipv6s(&self, scan: &Scan<'_>, out: &mut Vec<Finding>) {
        let b = scan.bytes;
        // The pattern's bytes are hex digits, `:` and `.`, with at least two colons: only the
        // maximal runs of those bytes holding two colons can match (the same matches as a
        // whole-text search; "tokio::sync" leaves just "::").
        let class = |c: u8| c.is_ascii_hexdigit() || c == b':' || c == b'.';
        let mut windows = Vec::new();
        let mut done = 0;
        for i in memchr::memchr_iter(b':', b) {
            if i < done {
                continue;
            }
            let mut lo = i;
            while lo > 0 && class(b[lo - 1]) {
                lo -= 1;
            }
            let mut hi = i + 1;
            while hi < b.len() && class(b[hi]) {
                hi += 1;
            }
            done = hi;
            // A valid address has two groups and "::" at least ("a::b"): shorter runs such as
            // the "::" of a code path ("tokio::sync") cannot hold one.
            if hi - lo >= 4 && memchr::memchr_iter(b':', &b[lo..hi]).nth(1).is_some() {
                windows.push((lo, hi));
            }
        }
        for m in scan.find_in(&self.ipv6, &windows) {
            let (s, mut e) = (m.start(), m.end());
            // A trailing single ':' is punctuation ("addr: ...").
            while e > s && b[e - 1] == b':' && !(e >= 2 && b[e - 2] == b':') {
                e -= 1;
            }
            if !left_ok(b, s) || (s > 0 && b[s - 1] == b':') || !right_ok(b, e) {
                continue;
            }
            let cand = &scan.text[s..e];
            if v::ipv6(cand) {
                push(out, s, e, EntityType::IpAddress, 0.93);
            }
        }
    }

    fn cards<'s>(
        &self,
        scan: &'s Scan<'_>,
        nums: &NumRuns,
        wins: &mut Vec<(usize, usize)>,
        hits: &mut Vec<super::Hit<'s>>,
        out: &mut Vec<Finding>,
    ) {
        let b = scan.bytes;
        nums.class_runs_into(scan, CARD_SEPS, 12, 0, 0, wins);
        digit_led_matches_into(scan, wins.iter().copied(), card_at, |q, _| q, hits);
        for &m in hits.iter() {
            let s = m.start();
            if !left_ok(b, s) || (s > 0 && matches!(b[s - 1], b'+' | b'.' | b',' | b'-' | b'/')) {
                continue;
            }
            // Try the whole run, then shorter runs ending at a separator (a card followed by
            // another number).
            let text = m.as_str();
            let seps_from_right = text
                .bytes()
                .enumerate()
                .rev()
                .filter(|&(_, c)| c == b' ' || c == b'-')
                .map(|(i, _)| i);
            for end_rel in std::iter::once(text.len()).chain(seps_from_right) {
                let e = s + end_rel;
                if !right_ok(b, e) && end_rel == text.len() {
                    break;
                }
                if end_rel == text.len()
                    && e + 1 < b.len()
                    && matches!(b[e], b'.' | b',' | b'-')
                    && b[e + 1].is_ascii_digit()
                {
                    break;
                }
                let part = &text[..end_rel];
                let mut seps = part.bytes().filter(|c| !c.is_ascii_digit());
                let first = seps.next();
                if !seps.all(|c| Some(c) == first) {
                    continue;
                }
                let d = digits_of(part);
                if !(12..=19).contains(&d.len()) || !v::luhn(&d) || !card_grouping_ok(part) {
                    continue;
                }
                let issuer = v::card_issuer_plausible(&d);
                let near = nearest_numeric_cue(scan, s, 48);
                let score = match near {
                    Some(Ctx::Card) if issuer => 0.99,
                    Some(Ctx::Card) => 0.8,
                    Some(Ctx::NotPii) | Some(Ctx::Phone) | Some(Ctx::Bank)
                    | Some(Ctx::Passport) => {
                        if issuer && d.len() >= 15 {
                            0.45
                        } else {
                            0.3
                        }
                    }
                    _ if issuer && d.len() >= 13 => 0.9,
                    _ => 0.35,
                };
                push(out, s, e, EntityType::CreditCard, score);
                break;
            }
        }
    }

    fn ibans(&self, scan: &Scan<'_>, upper: &[(usize, usize, usize)], out: &mut Vec<Finding>) {
        let b = scan.bytes;
        let runs = upper.iter().map(|r| (r.0, r.1));
        for m in hand_matches(scan, runs, iban_at) {
            let s = m.start();
            if !left_ok(b, s) {
                continue;
            }
            let Some(len) = v::iban_length(&b[s..s + 2]) else {
                continue;
            };
            // Walk `len` alphanumerics (spaces allowed between) and require a boundary after.
            // (On the stack: no country's IBAN is longer than 32.)
            let mut buf = [0u8; 34];
            let mut n = 0;
            let mut e = s;
            let text_end = m.end();
            while e < text_end && n < len.min(buf.len()) {
                if b[e] != b' ' {
                    buf[n] = b[e];
                    n += 1;
                }
                e += 1;
            }
            if n != len || !right_ok(b, e) {
                continue;
            }
            if v::iban(&buf[..n]) {
                let score = if cue(scan, s, 48, &[Ctx::Bank]).is_some() {
                    0.99
                } else {
                    0.96
                };
                push(out, s, e, EntityType::Iban, score);
            }
        }
    }

    fn ssns<'s>(
        &self,
        scan: &'s Scan<'_>,
        nums: &NumRuns,
        wins: &mut Vec<(usize, usize)>,
        hits: &mut Vec<super::Hit<'s>>,
        out: &mut Vec<Finding>,
    ) {
        let b = scan.bytes;
        nums.class_runs_into(scan, CARD_SEPS, 9, 0, 0, wins);
        digit_led_matches_into(scan, wins.iter().copied(), ssn_at, ssn_next, hits);
        for &m in hits.iter() {
            let (s, e) = (m.start(), m.end());
            if !left_ok(b, s) || !right_ok(b, e) {
                continue;
            }
            if s > 0 && matches!(b[s - 1], b'-' | b'+' | b'.' | b'/' | b'(' | b')') {
                continue;
            }
            if e + 1 < b.len() && matches!(b[e], b'-' | b'.' | b'/') && b[e + 1].is_ascii_digit() {
                continue;
            }
            if e + 1 < b.len() && b[e] == b' ' && b[e + 1].is_ascii_digit() {
                continue;
            }
            let t = m.as_str();
            let d = digits_of(t);
            if !v::us_ssn(&d) {
                continue;
            }
            // No separators, or two (`ssn_at`): the same two.
            let mut seps = t.bytes().filter(|c| !c.is_ascii_digit());
            let first = seps.next();
            if seps.next().is_some_and(|c| Some(c) != first) {
                continue;
            }
            let near = nearest_numeric_cue(scan, s, 40);
            let score = match (near, first.as_ref()) {
                (Some(Ctx::Ssn), _) => 0.97,
                (Some(Ctx::Phone | Ctx::NotPii | Ctx::Passport | Ctx::Card), _) => 0.2,
                (_, Some(b'-')) => 0.8,
                (_, Some(_)) => 0.45,
                (_, None) => 0.3,
            };
            push(out, s, e, EntityType::UsSsn, score);
        }
    }

    fn ninos(&self, scan: &Scan<'_>, upper: &[(usize, usize, usize)], out: &mut Vec<Finding>) {
        let b = scan.bytes;
        let runs = upper.iter().filter(|r| r.2 >= 6).map(|r| (r.0, r.1));
        for m in hand_matches(scan, runs, nino_at) {
            let (s, e) = (m.start(), m.end());
            if !left_ok(b, s) || !right_ok(b, e) {
                continue;
            }
            let t = m.as_str();
            let spaces = t.bytes().filter(|&c| c == b' ').count();
            if spaces != 0 && spaces != 4 {
                continue;
            }
            // Nine letters and digits (`nino_at`).
            let mut compact = [0u8; 9];
            for (k, c) in t.bytes().filter(|&c| c != b' ').enumerate() {
                compact[k] = c;
            }
            if !v::uk_nino(&compact) {
                continue;
            }
            let score = if cue(scan, s, 48, &[Ctx::Nino]).is_some() {
                0.98
            } else {
                0.88
            };
            push(out, s, e, EntityType::UkNino, score);
        }
    }

    fn cn_ids<'s>(
        &self,
        scan: &'s Scan<'_>,
        nums: &NumRuns,
        wins: &mut Vec<(usize, usize)>,
        hits: &mut Vec<super::Hit<'s>>,
        out: &mut Vec<Finding>,
    ) {
        let b = scan.bytes;
        nums.class_runs_into(scan, SEP_X, 17, 0, 0, wins);
        digit_led_matches_into(scan, wins.iter().copied(), cn_id_at, cn_id_next, hits);
        for &m in hits.iter() {
            let (s, e) = (m.start(), m.end());
            if left_ok(b, s) && right_ok(b, e) && v::cn_resident_id(m.as_str().as_bytes()) {
                push(out, s, e, EntityType::CnResidentId, 0.98);
            }
        }
    }

    fn cn_phones<'s>(
        &self,
        scan: &'s Scan<'_>,
        nums: &NumRuns,
        wins: &mut Vec<(usize, usize)>,
        hits: &mut Vec<super::Hit<'s>>,
        out: &mut Vec<Finding>,
    ) {
        let b = scan.bytes;
        nums.class_runs_into(scan, CN_PHONE_SEPS, 11, 0, 0, wins);
        cn_phone_matches(scan, wins, hits);
        for &m in hits.iter() {
            let (mut s, e) = (m.start(), m.end());
            while s < e && matches!(b[s], b' ' | b'-') {
                s += 1;
            }
            if !left_ok(b, s) || !right_ok(b, e) {
                continue;
            }
            if s > 0 && matches!(b[s - 1], b'+' | b'-' | b'.' | b'/' | b'#') {
                continue;
            }
            // Part of a longer number ("+49 170 4749…"): digits just before a single space.
            if s >= 2 && b[s - 1] == b' ' && b[s - 2].is_ascii_digit() {
                continue;
            }
            if e + 1 < b.len() && matches!(b[e], b'-' | b'.' | b'/') && b[e + 1].is_ascii_digit() {
                continue;
            }
            let t = &scan.text[s..e];
            // The 11-digit core is written 3-4-4 or unbroken, never half-grouped.
            let mut core_groups = t
                .rsplit(|c: char| !c.is_ascii_digit())
                .take_while(|g| !g.is_empty())
                .map(str::len);
            let last3 = [core_groups.next(), core_groups.next(), core_groups.next()];
            if !(last3 == [Some(4), Some(4), Some(3)] || last3[0].is_some_and(|l| l >= 11)) {
                continue;
            }
            let prefixed = t.contains("86")
                && (t.starts_with('+') || t.starts_with('(') || t.starts_with("86"));
            let d = digits_of(t);
            let core = if prefixed { &d[2..] } else { &d[..] };
            if core.len() != 11 {
                continue;
            }
            // Separators in the core must be consistent (3-4-4 or none).
            let near = nearest_numeric_cue(scan, s, 40);
            let score = match near {
                Some(Ctx::Phone) => 0.97,
                Some(Ctx::NotPii | Ctx::Card | Ctx::Bank | Ctx::Passport) if !prefixed => 0.4,
                _ if prefixed => 0.95,
                _ => 0.9,
            };
            push(out, s, e, EntityType::CnPhone, score);
        }
    }

    fn phones(
        &self,
        scan: &Scan<'_>,
        nums: &NumRuns,
        wins: &mut Vec<(usize, usize)>,
        out: &mut Vec<Finding>,
    ) {
        let b = scan.bytes;
        nums.class_runs_into(scan, PHONE_SEPS, 7, 0, 0, wins);
        for m in hand_matches(scan, wins.iter().copied(), phone_at) {
            let (s, mut e) = (m.start(), m.end());
            if !left_ok(b, s)
                || (s > 0 && matches!(b[s - 1], b'.' | b'-' | b'/' | b'#' | b'+' | b','))
            {
                continue;
            }
            let mut t = &scan.text[s..e];
            // Balance parentheses by trimming an unmatched tail (both counted in one pass: a
            // `memchr2` call first cost more on these few bytes).
            let (open, close) = t.bytes().fold((0usize, 0usize), |(o, c), x| {
                (o + usize::from(x == b'('), c + usize::from(x == b')'))
            });
            if open != close {
                if let Some(p) = t.rfind(['(', ')']) {
                    if t[..p].matches('(').count() == t[..p].matches(')').count() {
                        t = t[..p].trim_end_matches([' ', '-', '.', '/']);
                        e = s + t.len();
                    } else {
                        continue;
                    }
                }
            }
            if !right_ok(b, e)
                || (e + 1 < b.len()
                    && matches!(b[e], b'.' | b'-' | b',' | b'/' | b':')
                    && b[e + 1].is_ascii_digit())
            {
                continue;
            }
            if let Some(score) = phone_score(scan, s, t) {
                push(out, s, e, EntityType::Phone, score);
            }
        }
    }

    fn passports(&self, scan: &Scan<'_>, windows: &[(usize, usize)], out: &mut Vec<Finding>) {
        let b = scan.bytes;
        for m in passport_matches(scan, windows) {
            let (s, e) = (m.start(), m.end());
            if !left_ok(b, s) || !right_ok(b, e) {
                continue;
            }
            if e + 1 < b.len() && matches!(b[e], b'-' | b'.' | b'/') && b[e + 1].is_ascii_digit() {
                continue;
            }
            // Passport numbers are 6-10 letters and digits, mostly digits.
            let digits = b[s..e].iter().filter(|c| c.is_ascii_digit()).count();
            if digits < 5 || digits * 3 < (e - s) * 2 {
                continue;
            }
            let Some(h) = scan.cue_nearest_before(s, 48) else {
                continue;
            };
            if h.kind == Ctx::Passport {
                push(out, s, e, EntityType::Passport, 0.93);
            }
        }
    }
}

/// The phone pattern, compiled by hand (see [`phone_at`]).
#[cfg(test)]
const PHONE_PATTERN: &str = r"(?:\+|00)?\(?[0-9][0-9()\-. /]{5,22}[0-9]";

/// The end of the leftmost-first match of [`PHONE_PATTERN`] starting at `p` in `w`, if any:
/// an optional `+` or `00`, an optional `(`, a digit, then 5 to 22 bytes of `[0-9()\-. /]` ending
/// in a digit, as many as possible. Alternatives are tried in the regex's priority order, so the
/// result is the regex's (tested against it); no automaton start-up per candidate.
fn phone_at(w: &[u8], p: usize) -> Option<usize> {
    let body = |c: u8| c.is_ascii_digit() || matches!(c, b'(' | b')' | b'-' | b'.' | b' ' | b'/');
    // Every alternative starts with `+`, `(` or a digit (`00` too).
    let rest = &w[p..];
    let first = match rest.first() {
        Some(b'+') => 1,
        Some(b'0') if rest.get(1) == Some(&b'0') => 2,
        Some(b'(' | b'0'..=b'9') => 0,
        _ => return None,
    };
    // The prefix alternatives in the regex's order (`+` and `00` exclude each other), then none.
    let prefixes = [Some(first), (first != 0).then_some(0)];
    for pre in prefixes.into_iter().flatten() {
        let q0 = p + pre;
        for paren in [true, false] {
            let q = if paren {
                if w.get(q0) != Some(&b'(') {
                    continue;
                }
                q0 + 1
            } else {
                q0
            };
            if !w.get(q).is_some_and(u8::is_ascii_digit) {
                continue;
            }
            let r = q + 1;
            // The body is `w[r..r + k]` and the final digit `w[r + k]`: the largest k wins, so
            // the last digit of the first 23 body bytes ends the match if it is at 5 or later
            // (one pass; the body class holds the digits).
            let mut last = 0;
            for (l, &c) in w[r.min(w.len())..].iter().take(23).enumerate() {
                if c.is_ascii_digit() {
                    last = l;
                } else if !body(c) {
                    break;
                }
            }
            if last >= 5 {
                return Some(r + last + 1);
            }
        }
    }
    None
}

/// Hand-compiled patterns (the regexes they replace, for the tests that compare them).
#[cfg(test)]
const CARD_PATTERN: &str = r"[0-9](?:[0-9]|[ \-][0-9]){11,22}";
#[cfg(test)]
const SSN_PATTERN: &str = r"[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}|[0-9]{9}";
#[cfg(test)]
const CN_ID_PATTERN: &str = r"[1-9][0-9]{16}[0-9Xx]";
#[cfg(test)]
const CN_PHONE_PATTERN: &str = r"(?:\(\+?86\)|\+?86)?[ \-]?1[3-9][0-9](?:[ \-]?[0-9]{4}){2}";

pub(super) fn digit_at(w: &[u8], i: usize) -> bool {
    w.get(i).is_some_and(u8::is_ascii_digit)
}

/// [`SSN_PATTERN`] at `p`: `ddd-dd-dddd` (either separator `-` or space) first, then nine digits.
fn ssn_at(w: &[u8], p: usize) -> Option<usize> {
    let sep = |i: usize| matches!(w.get(i), Some(b'-' | b' '));
    if (0..3).all(|k| digit_at(w, p + k))
        && sep(p + 3)
        && digit_at(w, p + 4)
        && digit_at(w, p + 5)
        && sep(p + 6)
        && (7..11).all(|k| digit_at(w, p + k))
    {
        return Some(p + 11);
    }
    (0..9).all(|k| digit_at(w, p + k)).then_some(p + 9)
}

/// [`CARD_PATTERN`] at `p`: a digit, then 11 to 22 units (a digit, or a space or `-` and a digit),
/// as many as there are (each byte allows one reading, so greedy is simply longest).
fn card_at(w: &[u8], p: usize) -> Option<usize> {
    if !digit_at(w, p) {
        return None;
    }
    let (mut e, mut units) = (p + 1, 0);
    while units < 22 {
        if digit_at(w, e) {
            e += 1;
        } else if matches!(w.get(e), Some(b' ' | b'-')) && digit_at(w, e + 1) {
            e += 2;
        } else {
            break;
        }
        units += 1;
    }
    (units >= 11).then_some(e)
}

#[cfg(test)]
const IPV4_PATTERN: &str = r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}";
#[cfg(test)]
const IBAN_PATTERN: &str = r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,34}";
#[cfg(test)]
const NINO_PATTERN: &str = r"[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]";
#[cfg(test)]
const PASSPORT_PATTERN: &str = r"[A-Z0-9]{6,10}";

/// [`CN_ID_PATTERN`] at `p`: a non-zero digit, 16 digits, then a digit or `X`.
fn cn_id_at(w: &[u8], p: usize) -> Option<usize> {
    (matches!(w.get(p), Some(b'1'..=b'9'))
        && (1..17).all(|k| digit_at(w, p + k))
        && matches!(w.get(p + 17), Some(b'0'..=b'9' | b'X' | b'x')))
    .then_some(p + 18)
}

/// [`CN_PHONE_PATTERN`] at `p`: the `86` prefixes in the regex's priority order, then an
/// optional separator, `1[3-9][0-9]` and two groups of four digits, each after an optional
/// separator (optional separators are taken when present: without them the next byte, a
/// separator, could never be the digit required).
fn cn_phone_at(w: &[u8], p: usize) -> Option<usize> {
    // Every alternative starts with `(`, `+`, `8`, a separator or the `1` of the number.
    if !matches!(w.get(p), Some(b'(' | b'+' | b'8' | b' ' | b'-' | b'1')) {
        return None;
    }
    let rest = &w[p..];
    // The `86` prefixes in the regex's order; their first two bytes tell them apart, so at most
    // one is there, and it is tried before none.
    let first = match rest[0] {
        b'(' if rest.starts_with(b"(+86)") => 5,
        b'(' if rest.starts_with(b"(86)") => 4,
        b'+' if rest.starts_with(b"+86") => 3,
        b'8' if rest.starts_with(b"86") => 2,
        _ => 0,
    };
    let prefixes = [Some(first), (first != 0).then_some(0)];
    let sep = |i: usize| matches!(w.get(i), Some(b' ' | b'-'));
    'prefix: for pre in prefixes.into_iter().flatten() {
        let mut q = p + pre;
        if sep(q) {
            q += 1;
        }
        if !(w.get(q) == Some(&b'1')
            && matches!(w.get(q + 1), Some(b'3'..=b'9'))
            && digit_at(w, q + 2))
        {
            continue;
        }
        q += 3;
        for _ in 0..2 {
            if sep(q) {
                q += 1;
            }
            if !(0..4).all(|k| digit_at(w, q + k)) {
                continue 'prefix;
            }
            q += 4;
        }
        return Some(q);
    }
    None
}

/// [`hand_matches`] of `cn_phone_at` in `windows`, into `out` (cleared first). Every match has
/// its number's `1[3-9]` at most six bytes after its start (after `(+86)` and a separator), so
/// only the positions up to six bytes before such a pair are tried: a byte test per position
/// finds the pairs, where `cn_phone_at` was called at every byte of every window.
fn cn_phone_matches<'s>(
    scan: &'s Scan<'_>,
    windows: &[(usize, usize)],
    out: &mut Vec<super::Hit<'s>>,
) {
    let (b, text) = (scan.bytes, scan.text);
    out.clear();
    for &(lo, hi) in windows {
        let w = &b[..hi];
        // Next position to try, and where the search for the next pair resumes.
        let (mut p, mut core) = (lo, lo);
        loop {
            core = core.max(p);
            while core + 1 < hi && !(w[core] == b'1' && matches!(w[core + 1], b'3'..=b'9')) {
                core += 1;
            }
            if core + 1 >= hi {
                break;
            }
            // No position before `core - 6` (and from `p` on) has a pair within six bytes.
            let mut q = p.max(core.saturating_sub(6));
            p = core + 1;
            while q <= core {
                if let Some(e) = cn_phone_at(w, q) {
                    out.push(super::Hit { s: q, e, text });
                    p = e;
                    break;
                }
                q += 1;
            }
        }
    }
}

/// Successive matches of a hand-compiled pattern inside `windows` (absolute offsets), as the
/// regex's `find_iter` over each window would give them. `at(w, p)` is the end of the
/// leftmost-first match starting at `p`, with `w` ending at the window's end.
pub(super) fn hand_matches<'s, F: Fn(&[u8], usize) -> Option<usize> + Copy + 's>(
    scan: &'s Scan<'_>,
    windows: impl IntoIterator<Item = (usize, usize)> + 's,
    at: F,
) -> impl Iterator<Item = super::Hit<'s>> + 's {
    let (b, text) = (scan.bytes, scan.text);
    windows.into_iter().flat_map(move |(lo, hi)| {
        all_matches(&b[..hi], lo, at).map(move |(s, e)| super::Hit { s, e, text })
    })
}

/// [`hand_matches`] for a pattern whose every match starts with an ASCII digit (`at` gives
/// `None` elsewhere): only the digit positions are tried, from the scan's digit runs inside each
/// window, so the same matches come out without a call per letter or separator (a birth window
/// is mostly words).
pub(super) fn digit_led_matches<'s>(
    scan: &'s Scan<'_>,
    windows: impl IntoIterator<Item = (usize, usize)>,
    at: impl Fn(&[u8], usize) -> Option<usize>,
) -> Vec<super::Hit<'s>> {
    digit_led_matches_skipping(scan, windows, at, |q, _| q)
}

/// [`digit_led_matches`], trying only the positions `next` gives: `next(q, end)` is the first
/// position from `q` on, inside a digit run that ends at `end` (or the window's end, if that
/// comes first), where `at` can match (`end`: none). A pattern that needs so many digits in a
/// row, or a separator within so many digits, rules out most positions of a long digit run by
/// one comparison ([`ssn_next`], [`cn_id_next`], [`ipv4_next`]).
fn digit_led_matches_skipping<'s>(
    scan: &'s Scan<'_>,
    windows: impl IntoIterator<Item = (usize, usize)>,
    at: impl Fn(&[u8], usize) -> Option<usize>,
    next: impl Fn(usize, usize) -> usize,
) -> Vec<super::Hit<'s>> {
    let mut out = Vec::new();
    digit_led_matches_into(scan, windows, at, next, &mut out);
    out
}

/// [`digit_led_matches_skipping`] into `out` (cleared first: a list the numeric recognizers
/// share).
fn digit_led_matches_into<'s>(
    scan: &'s Scan<'_>,
    windows: impl IntoIterator<Item = (usize, usize)>,
    at: impl Fn(&[u8], usize) -> Option<usize>,
    next: impl Fn(usize, usize) -> usize,
    out: &mut Vec<super::Hit<'s>>,
) {
    let (b, text, runs) = (scan.bytes, scan.text, &scan.digit_runs);
    out.clear();
    for (lo, hi) in windows {
        let w = &b[..hi];
        // Next position to try (past the last match).
        let mut p = lo;
        let mut k = runs.partition_point(|r| r.1 <= lo);
        while k < runs.len() && runs[k].0 < hi {
            let (rs, re) = runs[k];
            let end = re.min(hi);
            let mut q = next(p.max(rs), end);
            while q < end {
                match at(w, q) {
                    Some(e) => {
                        out.push(super::Hit { s: q, e, text });
                        q = e;
                        if q < end {
                            q = next(q, end);
                        }
                    }
                    None => q = next(q + 1, end),
                }
            }
            p = p.max(q);
            k += 1;
        }
    }
}

/// `ssn_at` at a digit of a run ending at `end`: `ddd-` only three digits before the run's end,
/// nine digits only where nine remain.
fn ssn_next(q: usize, end: usize) -> usize {
    if q + 9 <= end {
        q
    } else if q + 3 <= end {
        end - 3
    } else {
        end
    }
}

/// `cn_id_at` needs 17 digits in a row.
fn cn_id_next(q: usize, end: usize) -> usize {
    if q + 17 <= end {
        q
    } else {
        end
    }
}

/// `ipv4_at` needs a `.` after at most three digits.
fn ipv4_next(q: usize, end: usize) -> usize {
    q.max(end.saturating_sub(3))
}

/// Successive matches of `at` in `w[p..]`, skipping past each match. Generic over `at` (not a
/// function pointer) so that each matcher is inlined into its position loop: dense text calls
/// them at every byte of every candidate run.
pub(super) fn all_matches<'w, F: Fn(&[u8], usize) -> Option<usize> + 'w>(
    w: &'w [u8],
    mut p: usize,
    at: F,
) -> impl Iterator<Item = (usize, usize)> + 'w {
    std::iter::from_fn(move || {
        while p < w.len() {
            let s = p;
            if let Some(e) = at(w, s) {
                p = e;
                return Some((s, e));
            }
            p += 1;
        }
        None
    })
}

/// The entity types whose recognizers search [`NumRuns`], with the digits their runs need.
const NUM_RUN_USERS: [(EntityType, usize); 6] = [
    (EntityType::IpAddress, 4),
    (EntityType::CreditCard, 12),
    (EntityType::UsSsn, 9),
    (EntityType::CnResidentId, 17),
    (EntityType::CnPhone, 11),
    (EntityType::Phone, 7),
];

/// Separator kinds of the numeric bytes (`numeric_byte` in `mod.rs`), one bit each, in
/// [`NUM_KIND`]; a class of numeric bytes is the digits plus some of these kinds.
const SEP_DOT: u8 = 1;
const SEP_SPACE: u8 = 2;
const SEP_DASH: u8 = 4;
const SEP_PAREN: u8 = 8;
const SEP_PLUS: u8 = 16;
const SEP_SLASH: u8 = 32;
const SEP_X: u8 = 64;
/// Not a numeric byte.
const NOT_NUMERIC: u8 = 128;

/// The separators of card and SSN numbers (`[0-9 -]`).
const CARD_SEPS: u8 = SEP_SPACE | SEP_DASH;
/// The separators of mainland China mobiles (`[0-9()+ -]`).
const CN_PHONE_SEPS: u8 = SEP_PAREN | SEP_PLUS | SEP_SPACE | SEP_DASH;
/// The separators of phone numbers (`[0-9()+ ./-]`).
const PHONE_SEPS: u8 = CN_PHONE_SEPS | SEP_DOT | SEP_SLASH;

/// Per byte: `0` for a digit, its separator kind for another numeric byte, [`NOT_NUMERIC`] for
/// the rest.
const NUM_KIND: [u8; 256] = {
    let mut t = [NOT_NUMERIC; 256];
    let mut c = b'0';
    while c <= b'9' {
        t[c as usize] = 0;
        c += 1;
    }
    t[b'.' as usize] = SEP_DOT;
    t[b' ' as usize] = SEP_SPACE;
    t[b'-' as usize] = SEP_DASH;
    t[b'(' as usize] = SEP_PAREN;
    t[b')' as usize] = SEP_PAREN;
    t[b'+' as usize] = SEP_PLUS;
    t[b'/' as usize] = SEP_SLASH;
    t[b'X' as usize] = SEP_X;
    t[b'x' as usize] = SEP_X;
    t
};

/// One maximal run of numeric bytes holding a digit.
#[derive(Debug, Clone, Copy)]
struct NumRun {
    lo: usize,
    hi: usize,
    /// Digits in it.
    digits: usize,
    /// The separator kinds in it (OR of [`NUM_KIND`]).
    kinds: u8,
    /// The scan's digit runs in it: `digit_runs[k0..k1]`.
    k0: usize,
    k1: usize,
}

/// The maximal runs of numeric bytes that hold a digit, found once per call for every numeric
/// recognizer (each used to walk the digit runs and extend its own class's runs byte by byte).
///
/// Every class the numeric recognizers search is the digits plus some separator kinds, so each of
/// its runs lies inside one of these. A run whose separators all belong to the class is one whole
/// class run (the common case: digits and spaces); others are split at the bytes outside the
/// class. A run with fewer digits than a recognizer needs holds no class run that has enough.
#[derive(Debug, Default)]
struct NumRuns {
    runs: Vec<NumRun>,
}

impl NumRuns {
    /// Walks the scan's digit runs, extending each to its numeric run, except in numeric runs
    /// with fewer than `min_digits` digits (the scan counted each digit run's numeric-run digits:
    /// in prose nearly every digit run is set aside by one comparison).
    fn new(scan: &Scan<'_>, min_digits: usize) -> NumRuns {
        let b = scan.bytes;
        let kind = |c: u8| NUM_KIND[c as usize];
        let mut runs: Vec<NumRun> = Vec::with_capacity(scan.digit_runs.len());
        let mut done = 0;
        for (k, &(rs, re)) in scan.digit_runs.iter().enumerate() {
            if rs < done {
                // Inside the last run (its right extension passed this digit run).
                if let Some(last) = runs.last_mut() {
                    last.digits += re - rs;
                    last.k1 = k + 1;
                }
                continue;
            }
            if (scan.numeric_digits[k] as usize) < min_digits {
                continue;
            }
            let mut kinds = 0;
            let mut lo = rs;
            while lo > done && kind(b[lo - 1]) & NOT_NUMERIC == 0 {
                lo -= 1;
                kinds |= kind(b[lo]);
            }
            let mut hi = re;
            while hi < b.len() && kind(b[hi]) & NOT_NUMERIC == 0 {
                kinds |= kind(b[hi]);
                hi += 1;
            }
            done = hi;
            runs.push(NumRun {
                lo,
                hi,
                digits: re - rs,
                kinds,
                k0: k,
                k1: k + 1,
            });
        }
        NumRuns { runs }
    }

    /// `Scan::digit_class_runs` for the class of the digits and the separator kinds `seps`:
    /// its maximal runs holding `min_digits` digits or more (`min_digits` at least 1).
    #[cfg(test)]
    fn class_runs(&self, scan: &Scan<'_>, seps: u8, min_digits: usize) -> Vec<(usize, usize)> {
        self.class_runs_having(scan, seps, min_digits, 0, 0)
    }

    /// [`NumRuns::class_runs_into`] as a new list (tests).
    #[cfg(test)]
    fn class_runs_having(
        &self,
        scan: &Scan<'_>,
        seps: u8,
        min_digits: usize,
        need: u8,
        need_n: usize,
    ) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        self.class_runs_into(scan, seps, min_digits, need, need_n, &mut out);
        out
    }

    /// Into `out` (cleared first: the numeric recognizers share one list), the class runs of the
    /// digits and the separator kinds `seps` holding `min_digits` digits or more, cut from only
    /// the numeric runs holding `need_n` bytes or more of the kinds in `need` (`0`: all runs):
    /// every class run holding that many is among them (it lies inside a numeric run that holds
    /// them), and the other numeric runs are not split at all (an IPv4 address has three dots;
    /// on dense text most numeric runs have spaces and at most the dot that ends a sentence).
    /// Other class runs may be among them too (from a numeric run whose `need` bytes lie partly
    /// outside the class run).
    fn class_runs_into(
        &self,
        scan: &Scan<'_>,
        seps: u8,
        min_digits: usize,
        need: u8,
        need_n: usize,
        out: &mut Vec<(usize, usize)>,
    ) {
        let b = scan.bytes;
        let needed = |lo: usize, hi: usize| {
            b[lo..hi]
                .iter()
                .filter(|&&c| NUM_KIND[c as usize] & need != 0)
                .count()
                >= need_n
        };
        out.clear();
        for r in &self.runs {
            if r.digits < min_digits || (need != 0 && (r.kinds & need == 0 || !needed(r.lo, r.hi)))
            {
                continue;
            }
            if r.kinds & !seps == 0 {
                out.push((r.lo, r.hi));
                continue;
            }
            // Split at the bytes outside the class, digit run by digit run: a class run goes on
            // across a gap (a few separators) only when every byte of the gap is in the class.
            let outside = |c: u8| NUM_KIND[c as usize] & !seps != 0;
            let runs = &scan.digit_runs[r.k0..r.k1];
            let (rs0, mut last_end) = runs[0];
            let mut s = rs0;
            while s > r.lo && !outside(b[s - 1]) {
                s -= 1;
            }
            let mut n = last_end - rs0;
            for &(rs, re) in &runs[1..] {
                let gap = &b[last_end..rs];
                if let Some(first) = gap.iter().position(|&c| outside(c)) {
                    if n >= min_digits {
                        out.push((s, last_end + first));
                    }
                    let last = gap.iter().rposition(|&c| outside(c)).unwrap_or(first);
                    s = last_end + last + 1;
                    n = 0;
                }
                n += re - rs;
                last_end = re;
            }
            let mut e = last_end;
            while e < r.hi && !outside(b[e]) {
                e += 1;
            }
            if n >= min_digits {
                out.push((s, e));
            }
        }
        // Debug builds check every call against the walk it replaces.
        if cfg!(debug_assertions) {
            let has = |&(lo, hi): &(usize, usize)| need == 0 || needed(lo, hi);
            let all = scan.digit_class_runs(|c| NUM_KIND[c as usize] & !seps == 0, min_digits);
            debug_assert_eq!(
                out.iter().copied().filter(has).collect::<Vec<_>>(),
                all.iter().copied().filter(has).collect::<Vec<_>>()
            );
            debug_assert!(out.iter().all(|r| all.contains(r)));
        }
    }
}

/// [`hand_matches`] of `passport_at` in `windows`: where the run of capitals and digits at a
/// position is too short to match, the positions inside it hold shorter runs and the byte after
/// it none, so the search goes on after that byte (`passport_at` was called at every byte).
fn passport_matches<'s>(scan: &'s Scan<'_>, windows: &[(usize, usize)]) -> Vec<super::Hit<'s>> {
    let (b, text) = (scan.bytes, scan.text);
    let mut out = Vec::new();
    for &(lo, hi) in windows {
        let w = &b[..hi];
        let mut p = lo;
        while p < hi {
            let n = w[p..]
                .iter()
                .take(10)
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                .count();
            if n >= 6 {
                debug_assert_eq!(passport_at(w, p), Some(p + n));
                out.push(super::Hit {
                    s: p,
                    e: p + n,
                    text,
                });
                p += n;
            } else {
                p += n + 1;
            }
        }
    }
    out
}

/// The bytes IBAN and NINO patterns consist of.
fn upper_digit_space(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || c == b' '
}

/// `Scan::class_runs(upper_digit_space, 4, upper_pair_before)`, each run with its digits: the
/// IBAN windows, and (those with six digits or more) the NINO windows, from one walk.
fn upper_runs(scan: &Scan<'_>) -> Vec<(usize, usize, usize)> {
    let b = scan.bytes;
    let mut out = Vec::new();
    // Current run: start, end, digits seen.
    let mut cur: Option<(usize, usize, usize)> = None;
    for &(rs, re) in &scan.digit_runs {
        if let Some((_, hi, n)) = cur.as_mut() {
            if rs < *hi {
                *n += re - rs;
                continue;
            }
        }
        if !upper_pair_before(b, rs, re) {
            continue;
        }
        if let Some(c) = cur.take() {
            if c.2 >= 4 {
                out.push(c);
            }
        }
        let mut lo = rs;
        while lo > 0 && upper_digit_space(b[lo - 1]) {
            lo -= 1;
        }
        let mut hi = re;
        while hi < b.len() && upper_digit_space(b[hi]) {
            hi += 1;
        }
        // Digits of earlier runs swallowed by the left extension count too.
        let before = b[lo..rs].iter().filter(|c| c.is_ascii_digit()).count();
        cur = Some((lo, hi, re - rs + before));
    }
    if let Some(c) = cur {
        if c.2 >= 4 {
            out.push(c);
        }
    }
    // Debug builds check every call against the walk it replaces.
    debug_assert_eq!(
        out.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(),
        scan.class_runs(upper_digit_space, 4, upper_pair_before)
    );
    out
}

/// The digit run at `rs` follows two capitals, directly or after one space (IBAN and NINO
/// digits start so).
fn upper_pair_before(b: &[u8], rs: usize, _re: usize) -> bool {
    let p = if rs >= 1 && b[rs - 1] == b' ' {
        rs - 1
    } else {
        rs
    };
    p >= 2 && b[p - 1].is_ascii_uppercase() && b[p - 2].is_ascii_uppercase()
}

/// Card numbers are written ungrouped or in the issuers' groupings (4-4-4-4[-3], Amex 4-6-5,
/// Diners 4-6-4); anything else (3-7-7 order numbers) is not a card.
fn card_grouping_ok(part: &str) -> bool {
    // At most 23 groups (a card match has at most 22 separators).
    let mut buf = [0usize; 23];
    let mut n = 0;
    for g in part.split([' ', '-']) {
        buf[n] = g.len();
        n += 1;
    }
    match &buf[..n] {
        [_] => true,
        [4, 6, 5] | [4, 6, 4] => true,
        l => {
            l.len() >= 3
                && l[..l.len() - 1].iter().all(|&x| x == 4)
                && (1..=4).contains(&l[l.len() - 1])
        }
    }
}

/// The keyword-led assignment pattern (hand-compiled: `matchers::assign_at`): a secret keyword,
/// `:`, `=`, `=>` or `:=`, and the value (group 2).
#[cfg(test)]
const ASSIGN_PATTERN: &str = r#"^(?i-u:(api[_\- ]?key|apikey|access[_\- ]?key(?:[_\- ]?id)?|secret(?:[_\- ]?key)?|client[_\- ]?secret|auth[_\- ]?token|access[_\- ]?token|bearer|token|password|passwd|pwd|passwort|mot de passe)["']?[ \t]*(?::|=|=>|:=)[ \t]*["']?)([^\s"'`,;<>]{6,300})"#;

/// A keyword and a long token after it (hand-compiled: `matchers::keyword_token_at`).
#[cfg(test)]
const KEYWORD_TOKEN_PATTERN: &str =
    r"^(?i-u:api key|token|secret|bearer|key)[ \t]+([A-Za-z0-9_\-.+/=]{20,300})";

/// The e-mail pattern (hand-compiled: `matchers::email_matches`).
#[cfg(test)]
const EMAIL_PATTERN: &str = r"[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}";

/// The URL pattern, matched on the lower-cased copy (hand-compiled: `matchers::url_at`). Every
/// class holds both cases, so the spans are those a case-insensitive search of the text finds.
#[cfg(test)]
const URL_PATTERN: &str = r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&*+,;=%]+";

/// The profile-URL pattern, on the lower-cased copy (hand-compiled: `matchers::social_at`).
#[cfg(test)]
const SOCIAL_PATTERN: &str = r"(?:linkedin\.com/in|github\.com|twitter\.com|x\.com|facebook\.com|instagram\.com|t\.me|tiktok\.com/@|medium\.com/@|gitlab\.com)/[A-Za-z0-9_\-.@%]+";

/// The matches of [`URL_PATTERN`] in `lower`, as its `find_iter` gives them: every match starts
/// with `http://` or `https://` (four or five bytes before a `://` gate) or `www.` (a gate), so
/// only those starts are tried (`anchors`: the call's gate hits in `lower`).
fn url_matches(lower: &[u8], anchors: &[AnchorHit]) -> Vec<(usize, usize)> {
    let mut starts = Vec::new();
    for h in anchors.iter().filter(|h| h.group == Group::Url) {
        match h.index {
            0 => starts.extend(
                [h.pos.checked_sub(5), h.pos.checked_sub(4)]
                    .into_iter()
                    .flatten(),
            ),
            1 => starts.push(h.pos),
            _ => {}
        }
    }
    starts.sort_unstable();
    starts.dedup();
    matches_from(lower, &starts, url_at)
}

/// The matches of [`SOCIAL_PATTERN`] in `lower`, as its `find_iter` gives them: every match is a
/// host and `/`, which holds a `.com/` or `t.me/` gate at a fixed offset from the match's start,
/// so only the starts those offsets give are tried.
fn social_matches(lower: &[u8], anchors: &[AnchorHit]) -> Vec<(usize, usize)> {
    let mut starts = Vec::new();
    for h in anchors
        .iter()
        .filter(|h| h.group == Group::Url && h.index >= 2)
    {
        for &o in SOCIAL_GATE_OFFSETS[h.index - 2] {
            if let Some(p) = h.pos.checked_sub(o) {
                starts.push(p);
            }
        }
    }
    starts.sort_unstable();
    starts.dedup();
    matches_from(lower, &starts, social_at)
}

/// The offsets of the `.com/` and `t.me/` gates in the `host/` of `matchers::SOCIAL_HOSTS` (first
/// occurrence in each host that holds the gate, deduplicated): a gate hit at `g` can only belong
/// to a profile match starting at `g` minus one of these. Computing them per hit and host
/// compared slices with `memcmp`, 150 calls per gate hit (a quarter of URL's cost on dense 1 KB);
/// `social_gate_offsets_are_the_hosts` checks the table.
const SOCIAL_GATE_OFFSETS: [&[usize]; 2] = [&[1, 6, 7, 8, 9], &[0]];

/// What follows the first `://` of `s`, or all of `s`: `s.split_once("://")`'s right part, by a
/// byte loop (building the substring searcher cost more than searching these few bytes).
fn after_scheme(s: &str) -> &str {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(2))
        .find(|&i| b[i] == b':' && b[i + 1] == b'/' && b[i + 2] == b'/')
        .map_or(s, |i| &s[i + 3..])
}

fn trim_url(s: &str) -> &str {
    let mut t = s.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'', '*']);
    while t.ends_with(')') && t.matches('(').count() < t.matches(')').count() {
        t = &t[..t.len() - 1];
    }
    while t.ends_with(']') && t.matches('[').count() < t.matches(']').count() {
        t = &t[..t.len() - 1];
    }
    t.trim_end_matches(['.', ',', ';', ':', '!', '?'])
}

/// Scores a phone candidate, or `None` when its shape is not a phone number.
fn phone_score(scan: &Scan<'_>, s: usize, t: &str) -> Option<f32> {
    let base = phone_base(t)?;
    let near = nearest_numeric_cue(scan, s, 56);
    let phone_cue = near == Some(Ctx::Phone);
    let other_cue = matches!(
        near,
        Some(Ctx::NotPii | Ctx::Card | Ctx::Ssn | Ctx::Passport | Ctx::Bank | Ctx::Birth)
    );
    Some(if phone_cue {
        (base + 0.3).clamp(0.85, 0.95)
    } else if other_cue {
        base - 0.3
    } else {
        base
    })
}

/// The score of a phone candidate before its cues, or `None` when its shape is not a phone
/// number. One pass over the bytes reads the digits, the group lengths, which separators occur
/// and whether two separators (or `()`) are adjacent: a `windows(2)` pass and `contains`
/// searches (`memchr` calls on a few bytes) cost more (`phone_base_is_the_old_checks`).
fn phone_base(t: &str) -> Option<f32> {
    let bytes = t.as_bytes();
    let sep = |c: u8| matches!(c, b' ' | b'-' | b'.' | b'/');
    // Digits and group lengths on the stack (at most 15 digits, 8 groups).
    let mut d = [0u8; 15];
    let mut n = 0;
    let mut lens_buf = [0usize; 8];
    let mut groups = 0;
    // The length of the group being read (stored when it ends).
    let mut cur = 0;
    let (mut dots, mut spaces, mut dashes, mut opens) = (false, false, false, false);
    let mut prev = 0u8;
    for &c in bytes {
        if c.is_ascii_digit() {
            if n == d.len() {
                return None;
            }
            d[n] = c;
            n += 1;
            if cur == 0 {
                if groups == lens_buf.len() {
                    return None;
                }
                groups += 1;
            }
            cur += 1;
        } else {
            if cur > 0 {
                lens_buf[groups - 1] = cur;
                cur = 0;
            }
            // No doubled separators other than ") " / ")-", and no empty parentheses (a digit
            // completes neither pair).
            if (sep(prev) && sep(c)) || (prev == b'(' && c == b')') {
                return None;
            }
            match c {
                b'.' => dots = true,
                b' ' => spaces = true,
                b'-' => dashes = true,
                b'(' => opens = true,
                _ => {}
            }
        }
        prev = c;
    }
    if cur > 0 {
        lens_buf[groups - 1] = cur;
    }
    if n < 7 {
        return None;
    }
    let d = &d[..n];
    let lens = &lens_buf[..groups];
    let plus = t.starts_with('+') || t.starts_with("00");
    // Dates, times, decimals, SSNs and version strings are not phones.
    if !plus {
        let date_like = matches!(
            lens,
            [4, 1..=2, 1..=2] | [1..=2, 1..=2, 4] | [1..=2, 1..=2, 2]
        ) && !spaces
            && !opens;
        let ssn_like = lens == [3, 2, 4];
        // (An address needs dots: without one the validator's split is not worth running.)
        if date_like || ssn_like || (dots && v::ipv4(t)) {
            return None;
        }
        if dots && lens.len() == 2 {
            return None; // a decimal amount
        }
        if dots && lens.len() > 2 && !lens.iter().all(|&l| (2..=4).contains(&l)) {
            return None; // a version string
        }
    }
    // Mainland China mobiles belong to CN_PHONE.
    let cn_shape = matches!(lens, [11] | [3, 4, 4] | [2, 11] | [2, 3, 4, 4]);
    let cn = if d.starts_with(b"86") && n == 13 {
        &d[2..]
    } else {
        d
    };
    if cn_shape
        && cn.len() == 11
        && cn[0] == b'1'
        && (b'3'..=b'9').contains(&cn[1])
        && (n == 13 || !plus)
    {
        return None;
    }
    let nanp = matches!(lens, [3, 3, 4] | [1, 3, 3, 4])
        && (opens || dashes || dots || spaces)
        && (lens.len() == 3 || d[0] == b'1');
    let grouped = lens.len() >= 2;
    Some(if plus && (8..=15).contains(&n) {
        0.8
    } else if nanp {
        0.7
    } else if d[0] == b'0' && grouped && (9..=12).contains(&n) {
        0.55
    } else if (9..=12).contains(&n) {
        0.35
    } else {
        0.25
    })
}

#[cfg(test)]
mod tests {
    use super::Group;
    use crate::detect::EntityType;

    fn types(text: &str) -> Vec<(EntityType, String)> {
        let d = crate::detect::test_detector();
        d.find(text)
            .into_iter()
            .map(|f| (f.entity, text[f.start..f.end].to_string()))
            .collect()
    }

    fn has(text: &str, e: EntityType, v: &str) -> bool {
        types(text).iter().any(|(t, s)| *t == e && s == v)
    }

    fn none_of(text: &str, e: EntityType) -> bool {
        !types(text).iter().any(|(t, _)| *t == e)
    }

    #[test]
    fn emails() {
        assert!(has(
            "mail me: a.b-c+x@mail.example.co.uk.",
            EntityType::Email,
            "a.b-c+x@mail.example.co.uk"
        ));
        assert!(has(
            "邮箱lisa_h@gmx.de谢谢",
            EntityType::Email,
            "lisa_h@gmx.de"
        ));
        assert!(none_of("user@localhost is not routable", EntityType::Email));
    }

    #[test]
    fn cards_positive_and_negative() {
        assert!(has(
            "card: 4111 1111 1111 1111 thanks",
            EntityType::CreditCard,
            "4111 1111 1111 1111"
        ));
        assert!(has(
            "card 4111-1111-1111-1111",
            EntityType::CreditCard,
            "4111-1111-1111-1111"
        ));
        assert!(has(
            "amex 378282246310005.",
            EntityType::CreditCard,
            "378282246310005"
        ));
        // Luhn failure, and a Luhn-valid digit run embedded in a longer run.
        assert!(none_of(
            "Number 4111111111111112 is an id",
            EntityType::CreditCard
        ));
        assert!(none_of("via 941111111111111111123", EntityType::CreditCard));
        assert!(none_of("sku A4111111111111111", EntityType::CreditCard));
    }

    #[test]
    fn iban() {
        assert!(has(
            "IBAN: GB82 WEST 1234 5698 7654 32 ok",
            EntityType::Iban,
            "GB82 WEST 1234 5698 7654 32"
        ));
        assert!(has(
            "pay DE89370400440532013000.",
            EntityType::Iban,
            "DE89370400440532013000"
        ));
        assert!(none_of(
            "Code GB82 WEST 1234 5698 7654 33 is a sample",
            EntityType::Iban
        ));
    }

    #[test]
    fn cn_ids_and_phones() {
        assert!(has(
            "身份证11010519491231002X通过",
            EntityType::CnResidentId,
            "11010519491231002X"
        ));
        assert!(none_of(
            "身份证110105194912310021通过",
            EntityType::CnResidentId
        ));
        assert!(has(
            "电话13812345678谢谢",
            EntityType::CnPhone,
            "13812345678"
        ));
        assert!(has(
            "电话+86 138 1234 5678，",
            EntityType::CnPhone,
            "+86 138 1234 5678"
        ));
        assert!(has(
            "电话(+86)13812345678，",
            EntityType::CnPhone,
            "(+86)13812345678"
        ));
        assert!(none_of("订单号A13812345678", EntityType::CnPhone));
    }

    #[test]
    fn full_width_digits() {
        let t = "电话１３８１２３４５６７８谢谢";
        let f = types(t);
        assert!(
            f.iter()
                .any(|(e, v)| *e == EntityType::CnPhone && v == "１３８１２３４５６７８"),
            "{f:?}"
        );
        assert!(has("mail：ａ@ｂｃ.com", EntityType::Email, "ａ@ｂｃ.com"));
    }

    #[test]
    fn ssn_nino_passport() {
        assert!(has(
            "My SSN is 123-45-6789.",
            EntityType::UsSsn,
            "123-45-6789"
        ));
        assert!(none_of("SSN 666-45-6789", EntityType::UsSsn));
        assert!(has(
            "NI number: AB 12 34 56 C",
            EntityType::UkNino,
            "AB 12 34 56 C"
        ));
        assert!(none_of("ref QQ123456C", EntityType::UkNino));
        assert!(has(
            "passport no. X12345678, thanks",
            EntityType::Passport,
            "X12345678"
        ));
        assert!(none_of("order X12345678", EntityType::Passport));
        assert!(has(
            "Reisepass Nr. C01X00T47",
            EntityType::Passport,
            "C01X00T47"
        ));
    }

    #[test]
    fn ips() {
        assert!(has("my IP is 10.0.0.1.", EntityType::IpAddress, "10.0.0.1"));
        assert!(none_of(
            "Please update to 10.2.65.19524.",
            EntityType::IpAddress
        ));
        assert!(none_of("value 256.1.1.1", EntityType::IpAddress));
        assert!(has(
            "from 2001:db8::8a2e:370:7334 today",
            EntityType::IpAddress,
            "2001:db8::8a2e:370:7334"
        ));
        assert!(none_of("at 12:30:45 today", EntityType::IpAddress));
    }

    #[test]
    fn phones() {
        assert!(has(
            "Phone: +1-290-836-3303\n",
            EntityType::Phone,
            "+1-290-836-3303"
        ));
        assert!(has(
            "call (930) 521-1854.",
            EntityType::Phone,
            "(930) 521-1854"
        ));
        assert!(has(
            "Phone: +44 (0)7873 835290",
            EntityType::Phone,
            "+44 (0)7873 835290"
        ));
        assert!(has(
            "joignable au 07 46 24 49 54.",
            EntityType::Phone,
            "07 46 24 49 54"
        ));
        assert!(none_of(
            "Total due £256854.91 by 1771885768.",
            EntityType::Phone
        ));
        assert!(none_of(
            "Order 276-6589081-6875881 shipped",
            EntityType::Phone
        ));
        assert!(none_of("by 2026-01-07 18:49:56.", EntityType::Phone));
    }

    fn same_as_regex(pattern: &str, at: fn(&[u8], usize) -> Option<usize>, s: &str) {
        let re = regex::Regex::new(pattern).unwrap();
        let want: Vec<(usize, usize)> = re.find_iter(s).map(|m| (m.start(), m.end())).collect();
        let got: Vec<(usize, usize)> = super::all_matches(s.as_bytes(), 0, at).collect();
        assert_eq!(got, want, "{pattern} on {s:?}");
    }

    /// The shape checks and base score of `phone_score` as they were written before
    /// `phone_base` (a byte pass, a `windows(2)` pass and `contains` searches).
    fn phone_base_ref(t: &str) -> Option<f32> {
        let bytes = t.as_bytes();
        // Digits and group lengths on the stack (at most 15 digits, 8 groups).
        let mut d = [0u8; 15];
        let mut n = 0;
        let mut lens_buf = [0usize; 8];
        let mut groups = 0;
        // The length of the group being read (stored when it ends).
        let mut cur = 0;
        for &c in bytes {
            if c.is_ascii_digit() {
                if n == d.len() {
                    return None;
                }
                d[n] = c;
                n += 1;
                if cur == 0 {
                    if groups == lens_buf.len() {
                        return None;
                    }
                    groups += 1;
                }
                cur += 1;
            } else if cur > 0 {
                lens_buf[groups - 1] = cur;
                cur = 0;
            }
        }
        if cur > 0 {
            lens_buf[groups - 1] = cur;
        }
        if n < 7 {
            return None;
        }
        let d = &d[..n];
        let lens = &lens_buf[..groups];
        // No doubled separators other than ") " / ")-", and no empty parentheses (one pass).
        let sep = |c: u8| matches!(c, b' ' | b'-' | b'.' | b'/');
        if bytes
            .windows(2)
            .any(|w| (sep(w[0]) && sep(w[1])) || w == b"()")
        {
            return None;
        }
        let plus = t.starts_with('+') || t.starts_with("00");
        let dots = bytes.contains(&b'.');
        // Dates, times, decimals, SSNs and version strings are not phones.
        if !plus {
            let date_like = matches!(
                lens,
                [4, 1..=2, 1..=2] | [1..=2, 1..=2, 4] | [1..=2, 1..=2, 2]
            ) && !bytes.contains(&b' ')
                && !bytes.contains(&b'(');
            let ssn_like = lens == [3, 2, 4];
            // (An address needs dots: without one the validator's split is not worth running.)
            if date_like || ssn_like || (dots && super::v::ipv4(t)) {
                return None;
            }
            if dots && lens.len() == 2 {
                return None; // a decimal amount
            }
            if dots && lens.len() > 2 && !lens.iter().all(|&l| (2..=4).contains(&l)) {
                return None; // a version string
            }
        }
        // Mainland China mobiles belong to CN_PHONE.
        let cn_shape = matches!(lens, [11] | [3, 4, 4] | [2, 11] | [2, 3, 4, 4]);
        let cn = if d.starts_with(b"86") && n == 13 {
            &d[2..]
        } else {
            d
        };
        if cn_shape
            && cn.len() == 11
            && cn[0] == b'1'
            && (b'3'..=b'9').contains(&cn[1])
            && (n == 13 || !plus)
        {
            return None;
        }
        let nanp = matches!(lens, [3, 3, 4] | [1, 3, 3, 4])
            && bytes.iter().any(|c| matches!(c, b'(' | b'-' | b'.' | b' '))
            && (lens.len() == 3 || d[0] == b'1');
        let grouped = lens.len() >= 2;
        let base: f32 = if plus && (8..=15).contains(&n) {
            0.8
        } else if nanp {
            0.7
        } else if d[0] == b'0' && grouped && (9..=12).contains(&n) {
            0.55
        } else if (9..=12).contains(&n) {
            0.35
        } else {
            0.25
        };
        Some(base)
    }

    proptest::proptest! {
        /// `phone_base` gives the old checks' result.
        #[test]
        fn phone_base_is_the_old_checks(s in "(\\+|00|[0-9]{1,5}|[()\\-. /]{1,2}|86){0,10}") {
            proptest::prop_assert_eq!(super::phone_base(&s), phone_base_ref(&s), "{:?}", s);
        }

        #[test]
        fn phone_matcher_is_the_regex(s in "[0-9()+\\-. /a]{0,48}") {
            same_as_regex(super::PHONE_PATTERN, super::phone_at, &s);
        }

        /// The gated, anchored secret search gives the whole-text search's matches.
        #[test]
        fn secret_matches_are_find_iter(s in "(AKIA|ASIA|gh|ghp_|github_pat_|sk-|sk-proj-|sk_live_|pk_test_|xoxb-|AIza|eyJ|-----BEGIN RSA PRIVATE KEY-----|-----END RSA PRIVATE KEY-----|glpat-|hf_|npm_|[A-Z0-9]{4,12}|[a-z0-9_\\-]{4,12}|\\.| |\n){0,24}") {
            let p = super::Patterns::new().unwrap();
            let want: Vec<(usize, usize)> = p.secret.find_iter(&s).map(|m| (m.start(), m.end())).collect();
            proptest::prop_assert_eq!(p.secret_matches(&s), want);
        }

        /// The keyword starts read off the anchor hits are those the keyword automaton found in
        /// the merged windows around the anchors.
        #[test]
        fn keyword_starts_are_the_windowed_automaton(s in "(api|key|apikey|access|secret|client|auth|token|bearer|passw|pwd|mot de passe|mot|passe|[_ -]|:|=|[a-zA-Z0-9]{1,6}|é|\u{3000}|\n){0,16}") {
            let lower = s.to_ascii_lowercase();
            let hits = super::super::anchors::Anchors::new(&[Group::Secret]).find(lower.as_bytes());
            let words = aho_corasick::AhoCorasick::new([
                "api_key", "api-key", "api key", "apikey", "access_key", "access-key", "access key",
                "access_token", "access-token", "access token", "auth_token", "auth-token",
                "client_secret", "client-secret", "client secret", "secret", "bearer", "token",
                "passw", "pwd", "mot de passe", "key ", "key:", "key=",
            ])
            .unwrap();
            let mut wins: Vec<(usize, usize)> = Vec::new();
            for h in &hits {
                let lo = crate::detect::context::floor_boundary(&lower, h.pos.saturating_sub(16));
                let hi = crate::detect::context::ceil_boundary(&lower, h.pos + h.len() + 16);
                wins.push((lo, hi));
            }
            wins.sort_unstable();
            let mut merged: Vec<(usize, usize)> = Vec::new();
            for (lo, hi) in wins {
                crate::detect::push_window(&mut merged, lo, hi);
            }
            let want: Vec<usize> = merged
                .iter()
                .flat_map(|&(lo, hi)| words.find_iter(&lower[lo..hi]).map(move |m| lo + m.start()))
                .collect();
            proptest::prop_assert_eq!(super::keyword_starts(lower.as_bytes(), &hits), want);
        }

        /// The hand-compiled vendor-secret matcher gives the anchored regex's match at every
        /// position.
        #[test]
        fn secret_matcher_is_the_anchored_regex(s in "(AKIA|ASIA|AGPA|AIDA|AROA|AIza|gh[pousrx]_|github_pat_|glpat-|sk-|sk-proj-|sk-ant-api03-|[spr]k_(live|test)_|xox[abz]-|eyJ|hf_|npm_|-----BEGIN|-----END| ?PRIVATE KEY-----|RSA|[A-Z0-9]{4,16}|[a-z0-9]{4,16}|[_.-]|é| |\n){0,24}") {
            let re = regex::Regex::new(&format!("^(?:{})", super::SECRET_PATTERN)).unwrap();
            for p in (0..=s.len()).filter(|&p| s.is_char_boundary(p)) {
                let want = re.find(&s[p..]).map(|m| p + m.end());
                proptest::prop_assert_eq!(super::secret_at(s.as_bytes(), p), want, "at {}", p);
            }
        }

        /// The hand-compiled keyword patterns give the regexes' captures at every position.
        #[test]
        fn keyword_matchers_are_the_regexes(s in "(api|API|Api|key|KEY|apikey|access|Access|secret|SECRET|client|auth|token|Token|bearer|password|passwd|pwd|PWD|passwort|mot de passe|Mot De Passe|id|ID|[_ -]|\"|'|:|=|>|:=|=>|\t|  |[a-zA-Z0-9+/.=]{1,12}|é|\u{a0}|\u{3000}|[,;<>`]|\n){0,14}") {
            let assign = regex::Regex::new(super::ASSIGN_PATTERN).unwrap();
            let token = regex::Regex::new(super::KEYWORD_TOKEN_PATTERN).unwrap();
            for p in (0..=s.len()).filter(|&p| s.is_char_boundary(p)) {
                let h = &s[p..];
                let want = assign.captures(h).map(|c| {
                    let (k, v) = (c.get(1).unwrap(), c.get(2).unwrap());
                    (k.end(), v.start(), v.end())
                });
                proptest::prop_assert_eq!(super::assign_at(h), want, "assign at {}", p);
                let want = token.captures(h).map(|c| {
                    let v = c.get(1).unwrap();
                    (v.start(), v.end())
                });
                proptest::prop_assert_eq!(super::keyword_token_at(h.as_bytes()), want, "token at {}", p);
            }
        }

        /// The `@`-led e-mail search gives the regex's matches.
        #[test]
        fn email_matches_are_find_iter(s in "([a-z]{1,4}|[A-Z0-9]{1,3}|[._%+@-]|@|\\.[a-z]{1,3}|\\.x|-|é| ){0,24}") {
            let re = regex::Regex::new(super::EMAIL_PATTERN).unwrap();
            let want: Vec<(usize, usize)> = re.find_iter(&s).map(|m| (m.start(), m.end())).collect();
            proptest::prop_assert_eq!(super::email_matches(s.as_bytes()), want);
        }

        /// The gate-led URL and profile searches give the regexes' matches on the lower-cased
        /// text.
        #[test]
        fn url_matches_are_find_iter(s in "(https?://|https?:/|www\\.|://|\\.com/|t\\.me/|linkedin\\.com/in/|(git(hub|lab)|twitter|facebook|instagram|tiktok|medium|x)\\.com/@?|[a-z0-9]{1,4}|[/?.@%_~-]|é| ){0,16}") {
            let lower = s.to_ascii_lowercase();
            let hits = super::super::anchors::Anchors::new(&[Group::Url]).find(lower.as_bytes());
            for (pattern, got) in [
                (super::URL_PATTERN, super::url_matches(lower.as_bytes(), &hits)),
                (super::SOCIAL_PATTERN, super::social_matches(lower.as_bytes(), &hits)),
            ] {
                let re = regex::Regex::new(pattern).unwrap();
                let want: Vec<(usize, usize)> = re.find_iter(&lower).map(|m| (m.start(), m.end())).collect();
                proptest::prop_assert_eq!(got, want, "{}", pattern);
            }
        }

        /// The class runs cut from the shared numeric runs are `Scan::digit_class_runs`'s.
        #[test]
        fn num_runs_are_the_digit_class_runs(s in "([0-9]{1,5}|[ ()+./xX-]{1,3}|[a-zA-Z]{1,3}|é){0,30}", min in 1usize..19) {
            let d = crate::detect::test_detector();
            let scan = crate::detect::Scan::new(&s, &d.ctx, d.wanted);
            let nums = super::NumRuns::new(&scan, min);
            for seps in [super::SEP_DOT, super::CARD_SEPS, super::SEP_X, super::CN_PHONE_SEPS, super::PHONE_SEPS] {
                let class = |c: u8| super::NUM_KIND[c as usize] & !seps == 0;
                proptest::prop_assert_eq!(
                    nums.class_runs(&scan, seps, min),
                    scan.digit_class_runs(class, min),
                    "seps {}", seps
                );
                // Only the runs holding `dots` dots or more (the IPv4 windows: three).
                for dots in 1..=3 {
                    let dotted = |&(lo, hi): &(usize, usize)| {
                        s.as_bytes()[lo..hi].iter().filter(|&&c| c == b'.').count() >= dots
                    };
                    let want: Vec<(usize, usize)> =
                        scan.digit_class_runs(class, min).into_iter().filter(dotted).collect();
                    if seps & super::SEP_DOT != 0 {
                        let got: Vec<(usize, usize)> = nums
                            .class_runs_having(&scan, seps, min, super::SEP_DOT, dots)
                            .into_iter()
                            .filter(dotted)
                            .collect();
                        proptest::prop_assert_eq!(got, want, "seps {} with {} dots", seps, dots);
                    }
                }
            }
        }

        /// One walk gives the IBAN and NINO windows `Scan::class_runs` gives.
        #[test]
        fn upper_runs_are_the_class_runs(s in "([0-9]{1,5}|[A-Z]{1,3}| {1,2}|[a-z]{1,3}|é){0,30}") {
            let d = crate::detect::test_detector();
            let scan = crate::detect::Scan::new(&s, &d.ctx, d.wanted);
            let runs = super::upper_runs(&scan);
            for min in [4, 6] {
                let got: Vec<(usize, usize)> = runs.iter().filter(|r| r.2 >= min).map(|r| (r.0, r.1)).collect();
                proptest::prop_assert_eq!(
                    got,
                    scan.class_runs(super::upper_digit_space, min, super::upper_pair_before)
                );
            }
        }

        /// Trying only digit positions (or skipping short passport runs) finds what trying every
        /// position finds.
        #[test]
        fn skipping_searches_find_every_match(s in "([0-9]{1,6}|[ .\\-]{1,2}|[A-Z]{1,4}|[a-z]{1,3}|X|é){0,30}", a in 0usize..200, n in 0usize..200) {
            let d = crate::detect::test_detector();
            let scan = crate::detect::Scan::new(&s, &d.ctx, d.wanted);
            let lo = crate::detect::context::floor_boundary(&s, a.min(s.len()));
            let hi = crate::detect::context::floor_boundary(&s, (lo + n).min(s.len())).max(lo);
            let spans = |v: Vec<crate::detect::Hit<'_>>| v.iter().map(|h| (h.start(), h.end())).collect::<Vec<_>>();
            let all = |at: fn(&[u8], usize) -> Option<usize>| spans(super::hand_matches(&scan, [(0, s.len()), (lo, hi)], at).collect());
            for at in [super::card_at, super::ssn_at, super::cn_id_at, super::ipv4_at] {
                proptest::prop_assert_eq!(spans(super::digit_led_matches(&scan, [(0, s.len()), (lo, hi)], at)), all(at));
            }
            for (at, next) in [(super::ssn_at as fn(&[u8], usize) -> Option<usize>, super::ssn_next as fn(usize, usize) -> usize), (super::cn_id_at, super::cn_id_next), (super::ipv4_at, super::ipv4_next)] {
                proptest::prop_assert_eq!(spans(super::digit_led_matches_skipping(&scan, [(0, s.len()), (lo, hi)], at, next)), all(at));
            }
            proptest::prop_assert_eq!(spans(super::passport_matches(&scan, &[(0, s.len()), (lo, hi)])), all(super::passport_at));
        }

        /// The pair-led CN mobile search finds what trying every position finds.
        #[test]
        fn cn_phone_search_finds_every_match(s in "(((\\(\\+86\\)|\\(86\\)|\\+86|86)?[ \\-]?1[3-9][0-9][ \\-]?[0-9]{4}[ \\-]?[0-9]{3,4})|[0-9]{1,4}|[ ()+\\-]|[a-z]|é){0,8}", a in 0usize..120, n in 0usize..120) {
            let d = crate::detect::test_detector();
            let scan = crate::detect::Scan::new(&s, &d.ctx, d.wanted);
            let lo = crate::detect::context::floor_boundary(&s, a.min(s.len()));
            let hi = crate::detect::context::floor_boundary(&s, (lo + n).min(s.len())).max(lo);
            let spans = |v: &[crate::detect::Hit<'_>]| v.iter().map(|h| (h.start(), h.end())).collect::<Vec<_>>();
            let windows = [(0, s.len()), (lo, hi)];
            let want: Vec<_> = super::hand_matches(&scan, windows, super::cn_phone_at).collect();
            let mut got = Vec::new();
            super::cn_phone_matches(&scan, &windows, &mut got);
            proptest::prop_assert_eq!(spans(&got), spans(&want));
        }

        #[test]
        fn card_and_ssn_matchers_are_the_regexes(s in "([0-9]{1,6}[ \\-a]{0,2}){0,8}") {
            same_as_regex(super::CARD_PATTERN, super::card_at, &s);
            same_as_regex(super::SSN_PATTERN, super::ssn_at, &s);
        }

        #[test]
        fn ipv4_matcher_is_the_regex(s in "([0-9]{1,5}[.a]{0,2}){0,8}") {
            same_as_regex(super::IPV4_PATTERN, super::ipv4_at, &s);
        }

        #[test]
        fn iban_nino_passport_matchers_are_the_regexes(s in "([A-Z]{1,3}|[0-9]{1,4}| |a|-){0,16}") {
            same_as_regex(super::IBAN_PATTERN, super::iban_at, &s);
            same_as_regex(super::NINO_PATTERN, super::nino_at, &s);
            same_as_regex(super::PASSPORT_PATTERN, super::passport_at, &s);
        }

        #[test]
        fn cn_matchers_are_the_regexes(s in "([0-9]{1,19}[Xx()+ \\-a]{0,2}|86|\\(\\+86\\)|1[3-9]){0,6}") {
            same_as_regex(super::CN_ID_PATTERN, super::cn_id_at, &s);
            same_as_regex(super::CN_PHONE_PATTERN, super::cn_phone_at, &s);
        }
    }

    #[test]
    fn hand_matcher_examples() {
        for s in [
            "+44 (0)7873 835290",
            "0044 20 7946 0958",
            "(930) 521-1854.",
            "00(1) 23456789",
            "+(12) 345 678 901 234 567 890 123 4",
            "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6",
            "++1234567",
            "((12345678))",
        ] {
            same_as_regex(super::PHONE_PATTERN, super::phone_at, s);
        }
        for s in [
            "4111 1111 1111 1111",
            "4111-1111-1111-1111 2",
            "536-22-1947",
            "536 22-1947 123456789",
        ] {
            same_as_regex(super::CARD_PATTERN, super::card_at, s);
            same_as_regex(super::SSN_PATTERN, super::ssn_at, s);
        }
        for s in ["10.0.0.1", "1234.5.6.7", "1.2.3.4567.8", "10..0.0.1 1.2.3."] {
            same_as_regex(super::IPV4_PATTERN, super::ipv4_at, s);
        }
        for s in [
            "GB82 WEST 1234 5698 7654 32",
            "DE89 3704 0044 0532 0130 00 X",
            "DE89370400440532013000DE89370400440532013000123456789012",
            "AB 12 34 56 C",
            "AB123456D QQ12 34 56  A",
            "K4821937 X12345678901 ABCDEF",
        ] {
            same_as_regex(super::IBAN_PATTERN, super::iban_at, s);
            same_as_regex(super::NINO_PATTERN, super::nino_at, s);
            same_as_regex(super::PASSPORT_PATTERN, super::passport_at, s);
        }
        for s in [
            "11010519491231002X",
            "(+86)13812345678",
            "+86 138 1234 5678",
            "86-139-1234-5678",
            " 13812345678",
            "8613812345678",
        ] {
            same_as_regex(super::CN_ID_PATTERN, super::cn_id_at, s);
            same_as_regex(super::CN_PHONE_PATTERN, super::cn_phone_at, s);
        }
    }

    #[test]
    fn secret_matcher_examples() {
        let vendor = regex::Regex::new(&format!("^(?:{})", super::SECRET_PATTERN)).unwrap();
        for s in [
            "sk-proj-Xk29fLq8Zr4mN7tV1cB5yH3wP6sD0gJ2 and",
            "sk-proj-short sk-ant-api03-abcdefghijklmnopqrst",
            "AKIAIOSFODNN7EXAMPLE1",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "eyJhbGciOiJI.eyJzdWIiOiIx.SflKxwRJSMeK",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY----- -----END RSA PRIVATE KEY-----",
            "-----BEGIN PRIVATE KEY----------END X PRIVATE KEY-----",
            "npm_abcdefghijklmnopqrstuvwxyz0123456789XYZ",
            "sk_live_0123456789abcdef xoxb-1234567890",
        ] {
            for p in (0..=s.len()).filter(|&p| s.is_char_boundary(p)) {
                let want = vendor.find(&s[p..]).map(|m| p + m.end());
                assert_eq!(super::secret_at(s.as_bytes(), p), want, "{s:?} at {p}");
            }
        }
        let assign = regex::Regex::new(super::ASSIGN_PATTERN).unwrap();
        let token = regex::Regex::new(super::KEYWORD_TOKEN_PATTERN).unwrap();
        for h in [
            "key:=abcdef",
            "key:=abcd",
            "token=>abcdefgh",
            "token=>abc",
            "Access_Key_ID = 'AKIAIOSFODNN7EXAMPLE'",
            "access-key: \"Zx8kP2mQ9vL4rT7wY1nB\"",
            "secret key\t:\t hunter22!",
            "SECRET_KEY=é\u{a0}abcdef",
            "mot de passe: motdepasse123",
            "password=hunter22!",
            "api key is sk-proj-Xk29fLq8Zr4mN7tV1cB5yH3wP6sD0gJ2",
            "key AKIAIOSFODNN7EXAMPLE here",
            "Bearer \t eyJhbGciOiJIUzI1NiJ9.e30.abc",
        ] {
            let want = assign.captures(h).map(|c| {
                let (k, v) = (c.get(1).unwrap(), c.get(2).unwrap());
                (k.end(), v.start(), v.end())
            });
            assert_eq!(super::assign_at(h), want, "{h:?}");
            let want = token
                .captures(h)
                .map(|c| (c.get(1).unwrap().start(), c.get(1).unwrap().end()));
            assert_eq!(super::keyword_token_at(h.as_bytes()), want, "{h:?}");
        }
    }

    #[test]
    fn secrets() {
        assert!(has(
            "key AKIAIOSFODNN7EXAMPLE here",
            EntityType::ApiKey,
            "AKIAIOSFODNN7EXAMPLE"
        ));
        assert!(has(
            "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 ok",
            EntityType::ApiKey,
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
        ));
        assert!(has("password=hunter22!", EntityType::ApiKey, "hunter22!"));
        assert!(has(
            "api_key: \"Zx8kP2mQ9vL4rT7wY1nB\"",
            EntityType::ApiKey,
            "Zx8kP2mQ9vL4rT7wY1nB"
        ));
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----";
        assert!(has(pem, EntityType::ApiKey, pem));
        assert!(none_of(
            "git sha 7bfa630226cd49c7e9ca88c7f026ff843fa2ceae",
            EntityType::ApiKey
        ));
    }

    proptest::proptest! {
        /// `after_scheme` is `split_once("://")`'s right part.
        #[test]
        fn after_scheme_is_split_once(s in "([:/a]|://|é){0,12}") {
            let want = s.split_once("://").map(|(_, r)| r).unwrap_or(&s);
            proptest::prop_assert_eq!(super::after_scheme(&s), want);
        }
    }

    /// Each secret keyword holds its anchor at the offset filed, and no other anchor.
    #[test]
    fn secret_words_hold_their_anchor() {
        for (a, words) in super::SECRET_WORDS.iter().enumerate() {
            for &(w, o) in *words {
                assert!(w[o..].starts_with(super::SECRET_ANCHORS[a]), "{w}");
                let held: Vec<usize> = super::SECRET_ANCHORS
                    .iter()
                    .flat_map(|x| w.match_indices(x).map(|m| m.0))
                    .collect();
                assert_eq!(held, vec![o], "{w}");
            }
        }
    }

    #[test]
    fn social_gate_offsets_are_the_hosts() {
        for (i, want) in super::SOCIAL_GATE_OFFSETS.iter().enumerate() {
            let gate = super::URL_GATES[i + 2].as_bytes();
            let mut got: Vec<usize> = super::super::matchers::SOCIAL_HOSTS
                .iter()
                .filter_map(|host| {
                    let full = format!("{host}/");
                    full.as_bytes().windows(gate.len()).position(|w| w == gate)
                })
                .collect();
            got.sort_unstable();
            got.dedup();
            assert_eq!(&got[..], *want);
        }
    }

    #[test]
    fn urls() {
        assert!(has(
            "see https://github.com/someone.",
            EntityType::Url,
            "https://github.com/someone"
        ));
        assert!(has(
            "(https://x.org/a?token=abc)",
            EntityType::Url,
            "https://x.org/a?token=abc"
        ));
        // Upper-case schemes and hosts (the patterns run on the lower-cased copy).
        assert!(has(
            "see HTTPS://Example.COM/Path?ID=7 now",
            EntityType::Url,
            "HTTPS://Example.COM/Path?ID=7"
        ));
        assert!(has(
            "me: GitHub.com/JaneDoe.",
            EntityType::Url,
            "GitHub.com/JaneDoe"
        ));
        assert!(has(
            "profile linkedin.com/in/jane-doe-123 ok",
            EntityType::Url,
            "linkedin.com/in/jane-doe-123"
        ));
    }

    #[test]
    fn hard_negatives() {
        for t in [
            "Correlation id 08cf51f6-ea41-4bb0-a8a2-83e28fb510c4",
            "git sha 7bfa630226cd49c7e9ca88c7f026ff843fa2ceae",
            "Please update to 3.17.21-rc.1.",
            "Your order 217-1650462-8134450 has shipped via 912842844732.",
            "Total due ¥868,235 by 2025-12-29 23:51:00.",
            "Your order #3404531 has shipped via 9400002291494103832689.",
        ] {
            assert!(types(t).is_empty(), "{t}: {:?}", types(t));
        }
    }
}
