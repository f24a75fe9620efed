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
        // First byte first, in line: a `memcmp` call per host per start was most of the
        // profile search.
        if !(r.len() >= h.len()
            && r.iter().zip(h.as_bytes()).all(|(a, b)| a == b)
            && w.get(q) == Some(&b'/'))
        {
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

/// The number of bytes from `i` on (at most `max`) in `class`, and whether there are `min` or
/// more: the greedy `class{min,max}` of a regex, as a match end.
fn class_end(
    w: &[u8],
    i: usize,
    min: usize,
    max: usize,
    class: impl Fn(u8) -> bool,
) -> Option<usize> {
    let n = run_len(w, i, max, class);
    (n >= min).then_some(i + n)
}

/// `[A-Za-z0-9_\-]`, the key bytes of several vendor formats.
fn key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// The end of `[A-Z ]*PRIVATE KEY-----` at `i`. The star's bytes and `PRIVATE KEY` are all
/// `[A-Z ]`, and the `-` after them is not, so the literal must end where the maximal run of
/// `[A-Z ]` from `i` ends: the greedy star gives back exactly those eleven bytes or nothing fits.
fn pem_label_end(w: &[u8], i: usize) -> Option<usize> {
    let r = i + run_len(w, i, usize::MAX, |c| c.is_ascii_uppercase() || c == b' ');
    (r >= i + 11 && &w[r - 11..r] == b"PRIVATE KEY" && w[r..].starts_with(b"-----"))
        .then_some(r + 5)
}

/// `SECRET_PATTERN` (`patterns.rs`) anchored at `p`: the end of its leftmost-first match
/// starting there, if any.
///
/// The alternatives' literal heads tell them apart (at most one can start at `p`), and each
/// alternative has one reading: its repetitions are greedy and the byte after a repetition
/// cannot continue it. `sk-` is followed by an optional word (`proj-`, …) whose bytes all belong
/// to the key class after it, so every reading ends where the class run after `sk-` ends, and
/// one exists iff that run holds 20 bytes. The PEM body is lazy: the first `-----END` (from the
/// header's end) whose label completes ends the match.
pub(super) fn secret_at(w: &[u8], p: usize) -> Option<usize> {
    let r = &w[p..];
    let alnum = |c: u8| c.is_ascii_alphanumeric();
    match r.first()? {
        b'A' => {
            if [&b"AKIA"[..], b"ASIA", b"AGPA", b"AIDA", b"AROA"]
                .iter()
                .any(|h| r.starts_with(h))
            {
                let n = run_len(w, p + 4, 16, |c| {
                    c.is_ascii_uppercase() || c.is_ascii_digit()
                });
                (n == 16).then_some(p + 20)
            } else if r.starts_with(b"AIza") {
                class_end(w, p + 4, 30, usize::MAX, key_byte)
            } else {
                None
            }
        }
        b'g' => {
            if r.len() >= 4
                && r[1] == b'h'
                && matches!(r[2], b'p' | b'o' | b'u' | b's' | b'r')
                && r[3] == b'_'
            {
                class_end(w, p + 4, 30, 255, alnum)
            } else if r.starts_with(b"github_pat_") {
                class_end(w, p + 11, 20, 255, |c| alnum(c) || c == b'_')
            } else if r.starts_with(b"glpat-") {
                class_end(w, p + 6, 20, usize::MAX, key_byte)
            } else {
                None
            }
        }
        b's' | b'p' | b'r' => {
            if r.starts_with(b"sk-") {
                return class_end(w, p + 3, 20, usize::MAX, key_byte);
            }
            if r.len() >= 8
                && r[1] == b'k'
                && r[2] == b'_'
                && (r[3..].starts_with(b"live_") || r[3..].starts_with(b"test_"))
            {
                class_end(w, p + 8, 16, usize::MAX, alnum)
            } else {
                None
            }
        }
        b'x' => {
            if r.len() >= 4
                && r.starts_with(b"xox")
                && matches!(r[3], b'a' | b'b' | b'p' | b'o' | b's' | b'r' | b'e')
                && r.get(4) == Some(&b'-')
            {
                class_end(w, p + 5, 10, usize::MAX, |c| alnum(c) || c == b'-')
            } else {
                None
            }
        }
        b'e' => {
            if !r.starts_with(b"eyJ") {
                return None;
            }
            let mut e = p + 3;
            for k in 0..3 {
                if k > 0 {
                    if w.get(e) != Some(&b'.') {
                        return None;
                    }
                    e += 1;
                }
                e = class_end(w, e, 8, usize::MAX, key_byte)?;
            }
            Some(e)
        }
        b'-' => {
            if !r.starts_with(b"-----BEGIN") {
                return None;
            }
            let body = pem_label_end(w, p + 10)?;
            let mut y = body;
            while let Some(k) = memchr::memmem::find(&w[y..], b"-----END") {
                if let Some(e) = pem_label_end(w, y + k + 8) {
                    return Some(e);
                }
                y += k + 1;
            }
            None
        }
        b'h' => {
            if r.starts_with(b"hf_") {
                class_end(w, p + 3, 30, usize::MAX, alnum)
            } else {
                None
            }
        }
        b'n' => {
            if r.starts_with(b"npm_") && run_len(w, p + 4, 36, alnum) == 36 {
                Some(p + 40)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// `h` starts with `lit`, ASCII case-insensitively.
fn starts_ci(h: &[u8], lit: &[u8]) -> bool {
    h.len() >= lit.len() && h[..lit.len()].eq_ignore_ascii_case(lit)
}

/// The secret-assignment pattern (`patterns.rs`, `ASSIGN_PATTERN`) at the start of `h`: the
/// end of the keyword (group 1) and the value's span (group 2), as the regex's leftmost-first
/// match gives them.
///
/// The keyword's readings are tried in the regex's priority order (an optional part taken
/// before left out). After a keyword, the rest has one reading per operator: an optional quote
/// is taken when there (left out, the byte after would have to be the quote, which neither the
/// operator nor the value allows), `[ \t]*` takes every blank (the operator and the value
/// start with none), and the operators are tried in order (`:` before `:=`, `=` before `=>`).
/// The value is the greedy `[^\s"'`,;<>]{6,300}` (characters, not bytes) that ends the pattern.
pub(super) fn assign_at(h: &str) -> Option<(usize, usize, usize)> {
    let b = h.as_bytes();
    let sep = |i: usize| matches!(b.get(i), Some(b'_' | b'-' | b' '));
    // `stem [_\- ]? tail` ends, in the regex's order (with the separator, then without; at most
    // one fits, since a separator is not the tail's first letter).
    let joined = |at: usize, tail: &[u8]| -> Option<usize> {
        let q = if sep(at) { at + 1 } else { at };
        starts_ci(&b[q..], tail).then_some(q + tail.len())
    };
    let mut ends = [0usize; 4];
    let mut n = 0;
    let mut add = |e: Option<usize>| {
        if let Some(e) = e {
            ends[n] = e;
            n += 1;
        }
    };
    match b.first().map(u8::to_ascii_lowercase) {
        Some(b'a') => {
            if starts_ci(b, b"api") {
                add(joined(3, b"key"));
                add(starts_ci(b, b"apikey").then_some(6));
            } else if starts_ci(b, b"access") {
                if let Some(k) = joined(6, b"key") {
                    add(joined(k, b"id"));
                    add(Some(k));
                }
                add(joined(6, b"token"));
            } else if starts_ci(b, b"auth") {
                add(joined(4, b"token"));
            }
        }
        Some(b's') if starts_ci(b, b"secret") => {
            add(joined(6, b"key"));
            add(Some(6));
        }
        Some(b'c') if starts_ci(b, b"client") => add(joined(6, b"secret")),
        Some(b'b') => add(starts_ci(b, b"bearer").then_some(6)),
        Some(b't') => add(starts_ci(b, b"token").then_some(5)),
        Some(b'p') => {
            for lit in [&b"password"[..], b"passwd", b"pwd", b"passwort"] {
                add(starts_ci(b, lit).then_some(lit.len()));
            }
        }
        Some(b'm') => add(starts_ci(b, b"mot de passe").then_some(12)),
        _ => {}
    }
    let quote = |i: usize| {
        if matches!(b.get(i), Some(b'"' | b'\'')) {
            i + 1
        } else {
            i
        }
    };
    let blanks = |i: usize| i + run_len(b, i, usize::MAX, |c| c == b' ' || c == b'\t');
    for &k in &ends[..n] {
        let q = blanks(quote(k));
        let ops: &[usize] = match b.get(q) {
            Some(b':') if b.get(q + 1) == Some(&b'=') => &[1, 2],
            Some(b'=') if b.get(q + 1) == Some(&b'>') => &[1, 2],
            Some(b':' | b'=') => &[1],
            _ => &[],
        };
        for &op in ops {
            let v = quote(blanks(q + op));
            let mut e = v;
            let mut chars = 0;
            for c in h[v..].chars().take(300) {
                if c.is_whitespace() || matches!(c, '"' | '\'' | '`' | ',' | ';' | '<' | '>') {
                    break;
                }
                e += c.len_utf8();
                chars += 1;
            }
            if chars >= 6 {
                return Some((k, v, e));
            }
        }
    }
    None
}

/// The keyword-token pattern (`patterns.rs`, `KEYWORD_TOKEN_PATTERN`) at the start of `h`: the
/// value's span (group 1). Its keywords start with different letters, `[ \t]+` takes every
/// blank (the value starts with none), and the value is the greedy
/// `[A-Za-z0-9_\-.+/=]{20,300}` that ends the pattern.
pub(super) fn keyword_token_at(h: &[u8]) -> Option<(usize, usize)> {
    let k = match h.first().map(u8::to_ascii_lowercase)? {
        b'a' => 7 * usize::from(starts_ci(h, b"api key")),
        b't' => 5 * usize::from(starts_ci(h, b"token")),
        b's' => 6 * usize::from(starts_ci(h, b"secret")),
        b'b' => 6 * usize::from(starts_ci(h, b"bearer")),
        b'k' => 3 * usize::from(starts_ci(h, b"key")),
        _ => 0,
    };
    if k == 0 {
        return None;
    }
    let v = k + run_len(h, k, usize::MAX, |c| c == b' ' || c == b'\t');
    if v == k {
        return None;
    }
    let e = class_end(h, v, 20, 300, |c| {
        c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'+' | b'/' | b'=')
    })?;
    Some((v, e))
}
