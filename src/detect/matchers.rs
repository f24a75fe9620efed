//! Hand-compiled matchers for the small fixed patterns of `patterns.rs` (IPv4, IBAN, NINO,
//! passport): each gives the end of the regex's leftmost-first match at a position, property-
//! tested against the regex it replaces (see the tests in `patterns.rs`).

use super::patterns::digit_at;

/// The number of bytes from `i` on (at most `max`) that satisfy `f`.
fn run_len(w: &[u8], i: usize, max: usize, f: impl Fn(u8) -> bool) -> usize {
    w.get(i..)
        .map_or(0, |r| r.iter().take(max).take_while(|&&c| f(c)).count())
}

/// `IPV4_PATTERN` (`patterns.rs`) at `p`: three groups of one to three digits each followed
/// by `.`, then one to three digits. A group takes every digit there is (at most three); fewer could never be
/// followed by the `.` the next byte, a digit, is not.
pub(super) fn ipv4_at(w: &[u8], p: usize) -> Option<usize> {
    let mut q = p;
    for _ in 0..3 {
        let n = run_len(w, q, 3, |c| c.is_ascii_digit());
        if n == 0 || w.get(q + n) != Some(&b'.') {
            return None;
        }
        q += n + 1;
    }
    let n = run_len(w, q, 3, |c| c.is_ascii_digit());
    (n > 0).then_some(q + n)
}

/// `IBAN_PATTERN` at `p`: two capitals, two digits, then 11 to 34 units (an optional space
/// and a capital or digit), as many as there are (a space not followed by one ends the units).
pub(super) fn iban_at(w: &[u8], p: usize) -> Option<usize> {
    let alnum = |i: usize| {
        w.get(i)
            .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    };
    let upper = |i: usize| w.get(i).is_some_and(u8::is_ascii_uppercase);
    if !(upper(p) && upper(p + 1) && digit_at(w, p + 2) && digit_at(w, p + 3)) {
        return None;
    }
    let (mut e, mut units) = (p + 4, 0);
    while units < 34 {
        if alnum(e) {
            e += 1;
        } else if w.get(e) == Some(&b' ') && alnum(e + 1) {
            e += 2;
        } else {
            break;
        }
        units += 1;
    }
    (units >= 11).then_some(e)
}

/// `NINO_PATTERN` at `p`: two capitals, three pairs of digits and a letter `A`-`D`, each after
/// an optional space (taken when there: without it the next byte, a space, would have to be the
/// digit or letter required).
pub(super) fn nino_at(w: &[u8], p: usize) -> Option<usize> {
    if !(w.get(p).is_some_and(u8::is_ascii_uppercase)
        && w.get(p + 1).is_some_and(u8::is_ascii_uppercase))
    {
        return None;
    }
    let mut q = p + 2;
    let space = |q: usize| if w.get(q) == Some(&b' ') { q + 1 } else { q };
    for _ in 0..3 {
        q = space(q);
        if !(digit_at(w, q) && digit_at(w, q + 1)) {
            return None;
        }
        q += 2;
    }
    q = space(q);
    matches!(w.get(q), Some(b'A'..=b'D')).then_some(q + 1)
}

/// `PASSPORT_PATTERN` at `p`: six to ten capitals and digits, as many as there are.
pub(super) fn passport_at(w: &[u8], p: usize) -> Option<usize> {
    let n = run_len(w, p, 10, |c| c.is_ascii_uppercase() || c.is_ascii_digit());
    (n >= 6).then_some(p + n)
}

/// A byte of an e-mail address's local part (`EMAIL_PATTERN`, `patterns.rs`).
fn local_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}

/// The matches of `EMAIL_PATTERN` in `b`, as the regex's `find_iter` gives them.
///
/// Every match holds exactly one `@` (the local part and the domain hold none), so matches are
/// looked for only at each `@`, in order. The domain after an `@` does not depend on where the
/// local part starts, so a match through that `@` exists iff [`email_domain_end`] finds one, and
/// the regex's leftmost match starts at the first letter or digit of the local-part bytes that
/// run back from the `@` (not before the end of the previous match).
pub(super) fn email_matches(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    for a in memchr::memchr_iter(b'@', b) {
        if a < at {
            continue;
        }
        let mut l = a;
        while l > at && local_byte(b[l - 1]) {
            l -= 1;
        }
        let Some(s) = (l..a).find(|&i| b[i].is_ascii_alphanumeric()) else {
            continue;
        };
        let Some(e) = email_domain_end(b, a + 1) else {
            continue;
        };
        out.push((s, e));
        at = e;
    }
    out
}

/// The end of the leftmost-first match of `EMAIL_PATTERN`'s domain part at `d`:
/// `label (\.label)* \.[A-Za-z]{2,24}`, a label being a letter or digit, or two with letters,
/// digits and `-` between.
///
/// A label can only be followed by `.` when it is a whole maximal run of `[A-Za-z0-9-]` ending
/// in a letter or digit (a shorter one is followed by another label byte). The greedy star takes
/// as many labels as it can and gives them back one by one until a top-level domain of two or
/// more letters follows the last dot taken; that domain takes up to 24 letters.
fn email_domain_end(b: &[u8], d: usize) -> Option<usize> {
    // The chain's dots in order; the last one followed by two letters or more is the one the
    // star gives back to.
    let mut best = None;
    let mut i = d;
    while b.get(i).is_some_and(u8::is_ascii_alphanumeric) {
        let mut j = i + 1;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'-') {
            j += 1;
        }
        if !b[j - 1].is_ascii_alphanumeric() || b.get(j) != Some(&b'.') {
            break;
        }
        let letters = run_len(b, j + 1, 24, |c| c.is_ascii_alphabetic());
        if letters >= 2 {
            best = Some(j + 1 + letters);
        }
        i = j + 1;
    }
    best
}

/// A byte of a URL after its scheme or `www.` (`URL_PATTERN`, `patterns.rs`).
fn url_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b':'
                | b'/'
                | b'?'
                | b'#'
                | b'['
                | b']'
                | b'@'
                | b'!'
                | b'$'
                | b'&'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b'%'
        )
}

/// `URL_PATTERN` at `p` (of the lower-cased text): `https://`, `http://` or `www.`, then as
/// many URL bytes as there are (one at least).
pub(super) fn url_at(w: &[u8], p: usize) -> Option<usize> {
    let r = &w[p..];
    let q = p + if r.starts_with(b"https://") {
        8
    } else if r.starts_with(b"http://") {
        7
    } else if r.starts_with(b"www.") {
        4
    } else {
        return None;
    };
    let n = run_len(w, q, usize::MAX, url_byte);
    (n > 0).then_some(q + n)
}

/// The hosts of `SOCIAL_PATTERN` (`patterns.rs`), in its order; a `/` follows each.
pub(super) const SOCIAL_HOSTS: [&str; 10] = [
    "linkedin.com/in",
    "github.com",
    "twitter.com",
    "x.com",
    "facebook.com",
    "instagram.com",
    "t.me",
    "tiktok.com/@",
    "medium.com/@",
    "gitlab.com",
];

/// `SOCIAL_PATTERN` at `p` (of the lower-cased text): the first host (in the pattern's order)
/// that starts there and is followed by `/` and one or more profile bytes, as many as there
/// are.
pub(super) fn social_at(w: &[u8], p: usize) -> Option<usize> {
    let r = &w[p..];
    SOCIAL_HOSTS.iter().find_map(|h| {
        let q = p + h.len();
        if !(r.starts_with(h.as_bytes()) && w.get(q) == Some(&b'/')) {
            return None;
        }
        let n = run_len(w, q + 1, usize::MAX, |c| {
            c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'@' | b'%')
        });
        (n > 0).then_some(q + 1 + n)
    })
}

/// Successive matches of `at` in `w`, trying only the sorted, deduplicated `starts` (which
/// must hold the start of every match): as a whole-text `find_iter` gives them, since no match
/// starts elsewhere and at a given start the anchored match is the leftmost-first one.
pub(super) fn matches_from(
    w: &[u8],
    starts: &[usize],
    at: fn(&[u8], usize) -> Option<usize>,
) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    for &p in starts {
        if p < from {
            continue;
        }
        if let Some(e) = at(w, p) {
            out.push((p, e));
            from = e;
        }
    }
    out
}
