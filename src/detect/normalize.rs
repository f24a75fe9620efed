//! Full-width normalisation with an offset map back to the original text.
//!
//! Owns: folding full-width ASCII forms (U+FF01–U+FF5E) and the ideographic space (U+3000) to
//! their ASCII equivalents so one set of ASCII patterns finds `１３８…` and `＠`. Each folded char
//! is 3 bytes in the original and 1 byte after folding, so the map only records where folds
//! happened. Does not own: any other Unicode folding (case, compatibility forms).

use std::borrow::Cow;

/// A text ready for matching, plus how to map its byte offsets back to the original.
pub struct Normalized<'a> {
    /// The text to match against (borrowed when nothing needed folding).
    pub text: Cow<'a, str>,
    /// Normalised byte offsets of folded chars, ascending (empty when nothing was folded).
    folds: Vec<usize>,
}

impl Normalized<'_> {
    /// Maps a byte offset in the normalised text (on a char boundary) to the original text.
    pub fn original(&self, pos: usize) -> usize {
        // Every folded char before `pos` was two bytes longer in the original.
        pos + 2 * self.folds.partition_point(|&f| f < pos)
    }
}

fn fold(c: char) -> Option<char> {
    match c as u32 {
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0),
        0x3000 => Some(' '),
        _ => None,
    }
}

/// Folds full-width forms; borrows when the text has none (the common case: one memchr scan).
pub fn normalize(text: &str) -> Normalized<'_> {
    // Full-width forms are U+FF01..U+FF5E (UTF-8 lead byte 0xEF) and U+3000 (lead 0xE3).
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut folds = Vec::new();
    let mut copied = 0;
    for i in memchr::memchr2_iter(0xEF, 0xE3, bytes) {
        if !text.is_char_boundary(i) {
            continue;
        }
        let Some(c) = text[i..].chars().next() else {
            continue;
        };
        let Some(n) = fold(c) else { continue };
        let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
        o.push_str(&text[copied..i]);
        folds.push(o.len());
        o.push(n);
        copied = i + c.len_utf8();
    }
    match out {
        None => Normalized {
            text: Cow::Borrowed(text),
            folds,
        },
        Some(mut o) => {
            o.push_str(&text[copied..]);
            Normalized {
                text: Cow::Owned(o),
                folds,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_when_plain() {
        let n = normalize("hello 电话 123");
        assert!(matches!(n.text, Cow::Borrowed(_)));
        assert_eq!(n.original(3), 3);
    }

    #[test]
    fn folds_and_maps() {
        let s = "电话１３８，a＠b";
        let n = normalize(s);
        assert_eq!(n.text, "电话138,a@b");
        // '1' in the normalised text starts at byte 6, same as in the original.
        assert_eq!(n.original(6), 6);
        // '3' at normalised 7 maps to the second full-width digit at original 9.
        assert_eq!(n.original(7), 9);
        assert_eq!(n.original(n.text.len()), s.len());
    }

    #[test]
    fn every_boundary_maps_to_a_boundary() {
        let s = "ａ　b＠电话（１）";
        let n = normalize(s);
        for (i, _) in n.text.char_indices() {
            assert!(s.is_char_boundary(n.original(i)));
        }
        assert_eq!(n.original(n.text.len()), s.len());
    }
}
