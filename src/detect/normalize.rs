//! Full-width normalisation with an offset map back to the original text.
//!
//! Owns: folding full-width ASCII forms (U+FF01–U+FF5E) and the ideographic space (U+3000) to
//! their ASCII equivalents so one set of ASCII patterns finds `１３８…` and `＠`. Each normalised
//! char stands for exactly one original char, so every char boundary maps to a char boundary.
//! Does not own: any other Unicode folding (case, compatibility forms).

use std::borrow::Cow;

/// A text ready for matching, plus how to map its byte offsets back to the original.
pub struct Normalized<'a> {
    /// The text to match against (borrowed when nothing needed folding).
    pub text: Cow<'a, str>,
    /// `map[i]` = original byte offset of normalised byte offset `i` (only when folded);
    /// has `text.len() + 1` entries.
    map: Option<Vec<usize>>,
}

impl Normalized<'_> {
    /// Maps a byte offset in the normalised text to the original text.
    pub fn original(&self, pos: usize) -> usize {
        match &self.map {
            None => pos,
            Some(m) => m
                .get(pos)
                .copied()
                .unwrap_or_else(|| m.last().copied().unwrap_or(0)),
        }
    }
}

fn fold(c: char) -> Option<char> {
    match c as u32 {
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0),
        0x3000 => Some(' '),
        _ => None,
    }
}

/// Folds full-width forms; borrows when the text has none (the common case: one byte scan).
pub fn normalize(text: &str) -> Normalized<'_> {
    // Full-width forms are U+FF01..U+FF5E (UTF-8 lead byte 0xEF) and U+3000 (lead 0xE3).
    let needs = text.as_bytes().iter().any(|&b| b == 0xEF || b == 0xE3)
        && text.chars().any(|c| fold(c).is_some());
    if !needs {
        return Normalized {
            text: Cow::Borrowed(text),
            map: None,
        };
    }
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len() + 1);
    for (i, c) in text.char_indices() {
        let n = fold(c).unwrap_or(c);
        for _ in 0..n.len_utf8() {
            map.push(i);
        }
        out.push(n);
    }
    map.push(text.len());
    Normalized {
        text: Cow::Owned(out),
        map: Some(map),
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
}
