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
