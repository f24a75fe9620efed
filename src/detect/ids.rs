//! European national identifiers (German tax id and identity card, French NIR, Spanish DNI/NIE,
//! Italian fiscal code, Dutch BSN), MAC addresses and cryptocurrency wallet addresses.
//!
//! Owns: finding candidates for these types and scoring them (validator, then cue words of their
//! own kinds, then other identifier cues that argue against them). Every type but MAC addresses
//! holds a digit, so candidates are the ASCII-alphanumeric tokens around the scan's digit runs,
//! dispatched on length and shape: text without digits pays nothing, and a digit run costs a
//! few byte comparisons unless its token has an identifier's exact length. MAC addresses are
//! looked for only at their separators. Does not own: the checksums (see `validators`), overlap
//! resolution or filtering (see `mod.rs`).

use super::context::{Context, Ctx};
use super::patterns::{left_ok, right_ok};
use super::validators as v;
use super::{DetectError, EntityType, Finding, Scan};

/// Cue words count when they end at most this many bytes before a candidate.
const CUE_WINDOW: usize = 48;

/// The entity types this module reports.
const TYPES: [EntityType; 8] = [
    EntityType::DeTaxId,
    EntityType::DeIdCard,
    EntityType::FrNir,
    EntityType::EsDni,
    EntityType::ItFiscalCode,
    EntityType::NlBsn,
    EntityType::MacAddress,
    EntityType::Crypto,
];

/// The identifier recognizers, with their own cue automaton.
#[derive(Debug)]
pub struct Ids {
    cues: Context,
}

/// An ASCII-alphanumeric token `b[lo..hi]`.
#[derive(Clone, Copy)]
struct Token<'b> {
    lo: usize,
    hi: usize,
    t: &'b [u8],
}

impl Ids {
    /// Compiles the cue automaton.
    pub fn new() -> Result<Ids, DetectError> {
        let cues = Context::with_kinds(&[
            Ctx::DeTaxId,
            Ctx::DeIdCard,
            Ctx::FrNir,
            Ctx::EsDni,
            Ctx::ItFiscal,
            Ctx::NlBsn,
            Ctx::Mac,
            Ctx::Crypto,
        ])
        .map_err(|e| DetectError::Pattern {
            name: "id_cues".into(),
            reason: e.to_string(),
        })?;
        Ok(Ids { cues })
    }

    /// Runs every enabled recognizer of this module.
    pub fn run(&self, scan: &Scan<'_>, out: &mut Vec<Finding>) {
        if !TYPES.iter().any(|&e| scan.want(e)) {
            return;
        }
        if scan.digits > 0 {
            self.tokens(scan, out);
        }
        if scan.want(EntityType::MacAddress) {
            self.macs(scan, out);
        }
    }

    /// Whether a cue of `kind` ends within the window before `pos`.
    fn cue(&self, scan: &Scan<'_>, pos: usize, kind: Ctx) -> bool {
        self.cues
            .kind_before(&scan.lower, pos, CUE_WINDOW, &[kind])
            .is_some()
    }

    /// Where the nearest other identifier's cue (phone, card, bank, order, …) before `pos` ends.
    fn other_cue(scan: &Scan<'_>, pos: usize) -> Option<usize> {
        scan.cue_nearest_before(pos, 40)
            .filter(|h| h.kind != Ctx::Birth)
            .map(|h| h.end)
    }

    /// Scores a validated candidate: `cued` when its own cue is the nearest identifier cue,
    /// at most `0.3` when another identifier's cue is nearer, `bare` without either.
    fn score(&self, scan: &Scan<'_>, s: usize, kind: Ctx, cued: f32, bare: f32) -> f32 {
        let own = self
            .cues
            .kind_before(&scan.lower, s, CUE_WINDOW, &[kind])
            .map(|h| h.end);
        match (own, Self::other_cue(scan, s)) {
            (Some(o), Some(other)) if other > o => bare.min(0.3),
            (Some(_), _) => cued,
            (None, Some(_)) => bare.min(0.3),
            (None, None) => bare,
        }
    }

    fn tokens(&self, scan: &Scan<'_>, out: &mut Vec<Finding>) {
        let b = scan.bytes;
        let mut done = 0;
        for &(rs, re) in &scan.digit_runs {
            if rs < done {
                continue;
            }
            let mut lo = rs;
            while lo > done && b[lo - 1].is_ascii_alphanumeric() {
                lo -= 1;
            }
            let mut hi = re;
            while hi < b.len() && b[hi].is_ascii_alphanumeric() {
                hi += 1;
            }
            done = hi;
            let tok = Token {
                lo,
                hi,
                t: &b[lo..hi],
            };
            // Forms written in groups span several tokens; when one matches, its tokens are done.
            if let Some(end) = self.grouped(scan, tok, out) {
                done = done.max(end);
                continue;
            }
            if standalone(b, lo, hi) {
                self.token(scan, tok, out);
            }
        }
    }

    /// One token, dispatched on its length and first bytes.
    fn token(&self, scan: &Scan<'_>, tok: Token<'_>, out: &mut Vec<Finding>) {
        use EntityType as E;
        let Token { lo, hi, t } = tok;
        let all_digits = t.iter().all(u8::is_ascii_digit);
        let found = match t.len() {
            // Any nine digits pass the 11-proof one time in eleven: a BSN needs its cue.
            9 if all_digits && scan.want(E::NlBsn) && v::nl_bsn(t) => {
                Some((E::NlBsn, self.score(scan, lo, Ctx::NlBsn, 0.95, 0.3)))
            }
            9 if !all_digits && scan.want(E::EsDni) => {
                self.es_dni(scan, lo, t).map(|score| (E::EsDni, score))
            }
            // One random token in ten passes a 7-3-1 check digit: the bare form needs a cue.
            10 if scan.want(E::DeIdCard) && v::de_id_card(t) => {
                Some((E::DeIdCard, self.score(scan, lo, Ctx::DeIdCard, 0.95, 0.4)))
            }
            11 if all_digits && scan.want(E::DeTaxId) && v::de_tax_id(t) => {
                Some((E::DeTaxId, self.score(scan, lo, Ctx::DeTaxId, 0.97, 0.55)))
            }
            15 if scan.want(E::FrNir) && v::fr_nir(&t.to_ascii_uppercase()) => {
                Some((E::FrNir, self.score(scan, lo, Ctx::FrNir, 0.98, 0.7)))
            }
            16 if scan.want(E::ItFiscalCode)
                && one_case(t)
                && v::it_fiscal_code(&t.to_ascii_uppercase()) =>
            {
                let cued = self.cue(scan, lo, Ctx::ItFiscal);
                Some((E::ItFiscalCode, if cued { 0.99 } else { 0.95 }))
            }
            26..=35 if matches!(t[0], b'1' | b'3') && scan.want(E::Crypto) && v::btc_base58(t) => {
                let cued = self.cue(scan, lo, Ctx::Crypto);
                Some((E::Crypto, if cued { 0.99 } else { 0.95 }))
            }
            42 if t.starts_with(b"0x") || t.starts_with(b"0X") => {
                let cued = scan.want(E::Crypto) && self.cue(scan, lo, Ctx::Crypto);
                match v::eth_address(t) {
                    _ if !scan.want(E::Crypto) => None,
                    Some(v::EthAddress::Checksummed) => Some((E::Crypto, 0.97)),
                    Some(v::EthAddress::Uncased) => {
                        Some((E::Crypto, if cued { 0.95 } else { 0.85 }))
                    }
                    None => None,
                }
            }
            14..=90
                if t[..3].eq_ignore_ascii_case(b"bc1")
                    && scan.want(E::Crypto)
                    // A token holds only ASCII bytes, so it is valid UTF-8.
                    && std::str::from_utf8(t).is_ok_and(v::btc_bech32) =>
            {
                let cued = self.cue(scan, lo, Ctx::Crypto);
                Some((E::Crypto, if cued { 0.99 } else { 0.97 }))
            }
            _ => None,
        };
        if let Some((entity, score)) = found {
            out.push(Finding {
                start: lo,
                end: hi,
                entity,
                score,
            });
        }
    }

    /// A Spanish DNI (`12345678Z`) or NIE (`X1234567L`) token. A lower-case control letter is
    /// accepted at a lower score.
    fn es_dni(&self, scan: &Scan<'_>, lo: usize, t: &[u8]) -> Option<f32> {
        let upper = t.to_ascii_uppercase();
        if !t[8].is_ascii_alphabetic() || !v::es_dni(&upper) {
            return None;
        }
        let bare = if t[8].is_ascii_uppercase() && !t[0].is_ascii_lowercase() {
            0.75
        } else {
            0.55
        };
        Some(self.score(scan, lo, Ctx::EsDni, 0.97, bare))
    }

    /// Grouped forms that span several tokens: NIR `1 85 05 78 006 084 91` and
    /// `1850578006084 91`, tax id `86 095 742 719`, DNI `12345678-Z`, NIE `X-1234567-L`.
    /// Returns the end of a match.
    fn grouped(&self, scan: &Scan<'_>, tok: Token<'_>, out: &mut Vec<Finding>) -> Option<usize> {
        let b = scan.bytes;
        let lo = tok.lo;
        let n = tok.t.len();
        let mut found = |s: usize, e: usize, entity: EntityType, score: f32| {
            out.push(Finding {
                start: s,
                end: e,
                entity,
                score,
            });
            Some(e)
        };
        if scan.want(EntityType::FrNir) && (n == 1 || n == 13) {
            let shapes: &[&[usize]] = if n == 1 {
                &[&[1, 2, 2, 2, 3, 3, 2]]
            } else {
                &[&[13, 2]]
            };
            for &shape in shapes {
                if let Some(e) = groups(b, lo, b" ", shape) {
                    if v::fr_nir(&compact(&b[lo..e])) {
                        let bare = if n == 1 { 0.9 } else { 0.7 };
                        let score = self.score(scan, lo, Ctx::FrNir, 0.98, bare);
                        return found(lo, e, EntityType::FrNir, score);
                    }
                }
            }
        }
        if scan.want(EntityType::DeTaxId) && n == 2 {
            if let Some(e) = groups(b, lo, b" ", &[2, 3, 3, 3]) {
                let d = compact(&b[lo..e]);
                if d.iter().all(u8::is_ascii_digit) && v::de_tax_id(&d) {
                    let score = self.score(scan, lo, Ctx::DeTaxId, 0.97, 0.65);
                    return found(lo, e, EntityType::DeTaxId, score);
                }
            }
        }
        if scan.want(EntityType::EsDni) {
            // `12345678-Z`, `X1234567-L`, and `X-1234567-L` (the token is then `1234567`).
            let nie_dash = n == 7
                && lo >= 2
                && b[lo - 1] == b'-'
                && b"XYZxyz".contains(&b[lo - 2])
                && left_ok(b, lo - 2);
            let attempt = if n == 8 {
                // Not a space: "on 20251229 I called" would pass one time in 23.
                groups(b, lo, b"-", &[8, 1]).map(|e| (lo, e))
            } else if nie_dash {
                groups(b, lo - 2, b"-", &[1, 7, 1]).map(|e| (lo - 2, e))
            } else {
                None
            };
            if let Some((s, e)) = attempt {
                let c = compact(&b[s..e]);
                if c[8].is_ascii_alphabetic() && standalone(b, s, e) && v::es_dni(&c) {
                    let score = self.score(scan, s, Ctx::EsDni, 0.97, 0.7);
                    return found(s, e, EntityType::EsDni, score);
                }
            }
        }
        None
    }

    fn macs(&self, scan: &Scan<'_>, out: &mut Vec<Finding>) {
        let b = scan.bytes;
        for sep in [b':', b'-', b'.'] {
            // `aa:bb:…` sets the scan's hex-colon flag; the other forms hold a digit (almost
            // always: six hex octets without one are rare enough to miss).
            if (sep == b':' && !scan.has_hex_colon) || (sep != b':' && scan.digits == 0) {
                continue;
            }
            let (back, len) = if sep == b'.' { (4, 14) } else { (2, 17) };
            let mut done = 0;
            for i in memchr::memchr_iter(sep, b) {
                if i < done || i < back {
                    continue;
                }
                // The validator needs a hex digit before this separator and the next separator
                // in place: testing those two bytes first sets aside the full stops and hyphens of
                // prose (most hits) without slicing or parsing.
                let next_sep = if sep == b'.' { i + 5 } else { i + 3 };
                if b.get(next_sep) != Some(&sep) || !b[i - 1].is_ascii_hexdigit() {
                    continue;
                }
                let (s, e) = (i - back, i - back + len);
                if e > b.len() || !b[s..e].is_ascii() {
                    continue;
                }
                // A separator before or a seventh group after: part of something longer.
                if !left_ok(b, s)
                    || (s > 0 && b[s - 1] == sep)
                    || !right_ok(b, e)
                    || (e + 1 < b.len() && b[e] == sep && b[e + 1].is_ascii_hexdigit())
                {
                    continue;
                }
                if !v::mac_address(&scan.text[s..e]) {
                    continue;
                }
                let bare = if sep == b'.' { 0.8 } else { 0.9 };
                let score = if self.cue(scan, s, Ctx::Mac) {
                    0.97
                } else {
                    bare
                };
                out.push(Finding {
                    start: s,
                    end: e,
                    entity: EntityType::MacAddress,
                    score,
                });
                done = e;
            }
        }
    }
}

/// Letters all upper-case or all lower-case.
fn one_case(t: &[u8]) -> bool {
    !(t.iter().any(u8::is_ascii_uppercase) && t.iter().any(u8::is_ascii_lowercase))
}

/// The token `b[lo..hi]` is not glued to more letters or digits by `-`, `.`, `/` or `_` (a
/// file name, a version, a longer reference number).
fn standalone(b: &[u8], lo: usize, hi: usize) -> bool {
    let glue = |c: u8| matches!(c, b'-' | b'.' | b'/' | b'_' | b'+');
    let before = lo >= 2 && glue(b[lo - 1]) && b[lo - 2].is_ascii_alphanumeric();
    let after = hi + 1 < b.len() && glue(b[hi]) && b[hi + 1].is_ascii_alphanumeric();
    !before && !after
}

/// Groups of exactly `lens` ASCII letters or digits from `s`, separated by one byte of `seps`,
/// the last followed by a boundary. Returns the end.
fn groups(b: &[u8], s: usize, seps: &[u8], lens: &[usize]) -> Option<usize> {
    let mut p = s;
    for (k, &len) in lens.iter().enumerate() {
        if k > 0 {
            if !b.get(p).is_some_and(|c| seps.contains(c)) {
                return None;
            }
            p += 1;
        }
        let end = p + len;
        if end > b.len() || !b[p..end].iter().all(u8::is_ascii_alphanumeric) {
            return None;
        }
        p = end;
    }
    right_ok(b, p).then_some(p)
}

/// The ASCII letters and digits of `b`, upper-cased.
fn compact(b: &[u8]) -> Vec<u8> {
    b.iter()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(u8::to_ascii_uppercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::detect::EntityType;

    fn types(text: &str) -> Vec<(EntityType, String)> {
        crate::detect::test_detector()
            .find(text)
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
    fn de_tax_id() {
        let e = EntityType::DeTaxId;
        assert!(has("Steuer-ID: 86095742719.", e, "86095742719"));
        assert!(has("Meine IdNr. 86 095 742 719", e, "86 095 742 719"));
        assert!(has("税号86095742719谢谢", e, "86095742719"));
        // Full-width digits are folded (a valid id written full-width).
        assert!(has(
            "Steuer-ID ８６０９５７４２７１９",
            e,
            "８６０９５７４２７１９"
        ));
        assert!(none_of("Steuer-ID: 86095742718", e), "check digit");
        assert!(none_of("Steuer-ID: 860957427190", e), "12 digits");
        assert!(none_of("file 86095742719-2.pdf", e), "glued to more digits");
        assert!(none_of("order 86095742719", e), "order cue");
    }

    #[test]
    fn de_id_card() {
        let e = EntityType::DeIdCard;
        assert!(has("Personalausweis-Nr. T220001293", e, "T220001293"));
        assert!(has("Ausweisnummer: L01X00T471,", e, "L01X00T471"));
        assert!(none_of("code T220001293", e), "the bare form needs a cue");
        assert!(none_of("Personalausweis T220001294", e), "check digit");
    }

    #[test]
    fn fr_nir() {
        let e = EntityType::FrNir;
        assert!(has(
            "N° de sécurité sociale : 1 85 05 78 006 084 91",
            e,
            "1 85 05 78 006 084 91"
        ));
        assert!(has("NIR 185057800608491", e, "185057800608491"));
        assert!(has("NIR 1850578006084 91.", e, "1850578006084 91"));
        assert!(has(
            "Corse : 1 85 05 2A 006 084 35",
            e,
            "1 85 05 2A 006 084 35"
        ));
        assert!(has("社保1850578006084 91号", e, "1850578006084 91"));
        assert!(none_of("NIR 1 85 05 78 006 084 36", e), "wrong key");
        assert!(none_of("Corse 1 85 05 2A 006 084 62", e), "2B key on 2A");
    }

    #[test]
    fn es_dni() {
        let e = EntityType::EsDni;
        assert!(has("DNI 12345678Z", e, "12345678Z"));
        assert!(has("mi NIE es X1234567L.", e, "X1234567L"));
        assert!(has("DNI: 12345678-Z", e, "12345678-Z"));
        assert!(has("NIE X-1234567-L", e, "X-1234567-L"));
        assert!(has("身份证号12345678Z。", e, "12345678Z"));
        assert!(
            none_of("on 20251229 I called", e),
            "a space before the letter is no DNI"
        );
        assert!(none_of("DNI 12345678A", e), "control letter");
        assert!(none_of("DNI X1234567Z", e), "NIE control letter");
        assert!(none_of("sku A12345678Z", e), "glued to a letter");
    }

    #[test]
    fn it_fiscal_code() {
        let e = EntityType::ItFiscalCode;
        assert!(has(
            "codice fiscale: RSSMRA85T10A562S",
            e,
            "RSSMRA85T10A562S"
        ));
        assert!(has("CF RSSMRA85T10A56NH (omocodia)", e, "RSSMRA85T10A56NH"));
        assert!(has("rssmra85t10a562s", e, "rssmra85t10a562s"));
        assert!(has("税号RSSMRA85T10A562S。", e, "RSSMRA85T10A562S"));
        assert!(
            none_of("codice fiscale RSSMRA85T10A562T", e),
            "check letter"
        );
        assert!(none_of("RssMRA85T10A562S", e), "mixed case");
    }

    #[test]
    fn nl_bsn() {
        let e = EntityType::NlBsn;
        assert!(has("BSN: 111222333", e, "111222333"));
        assert!(has("mijn burgerservicenummer is 123456782", e, "123456782"));
        assert!(none_of("number 111222333", e), "needs a cue");
        assert!(none_of("BSN 123456789", e), "fails the 11-proof");
    }

    #[test]
    fn mac_addresses() {
        let e = EntityType::MacAddress;
        assert!(has("MAC 00:1A:2B:3C:4D:5E.", e, "00:1A:2B:3C:4D:5E"));
        assert!(has("device 3c-22-fb-01-02-03 seen", e, "3c-22-fb-01-02-03"));
        assert!(has("switch port 001a.2b3c.4d5e up", e, "001a.2b3c.4d5e"));
        assert!(has("设备00:1A:2B:3C:4D:5E在线", e, "00:1A:2B:3C:4D:5E"));
        assert!(none_of("to ff:ff:ff:ff:ff:ff", e), "broadcast");
        assert!(none_of("mac 00:00:00:00:00:00", e), "all zero");
        assert!(none_of("id 00:1A:2B:3C:4D:5E:6F", e), "seven groups");
        assert!(none_of("at 12:30:45 today", e));
        assert!(none_of(
            "Correlation id 08cf51f6-ea41-4bb0-a8a2-83e28fb510c4",
            e
        ));
    }

    #[test]
    fn crypto_wallets() {
        let e = EntityType::Crypto;
        assert!(has(
            "send to 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa now",
            e,
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
        ));
        assert!(has(
            "BTC: bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
            e,
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
        ));
        assert!(has(
            "wallet 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed.",
            e,
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
        ));
        assert!(has(
            "eth 0xde709f2102306220921060314715629080e2fb77",
            e,
            "0xde709f2102306220921060314715629080e2fb77"
        ));
        assert!(has(
            "钱包0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed谢谢",
            e,
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
        ));
        assert!(none_of("send to 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", e));
        assert!(none_of("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", e));
        // A 32-byte hash is not an address.
        assert!(none_of(
            "tx 0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b",
            e
        ));
        assert!(none_of(
            "git sha 7bfa630226cd49c7e9ca88c7f026ff843fa2ceae",
            e
        ));
    }

    #[test]
    fn hard_negatives_stay_clean() {
        for t in [
            "Your order 217-1650462-8134450 has shipped via 912842844732.",
            "Total due ¥868,235 by 2025-12-29 23:51:00.",
            "Please update to 3.17.21-rc.1.",
            "Your order #3404531 has shipped via 9400002291494103832689.",
            "Number 3714408300718391 is our internal customer id.",
        ] {
            let found: Vec<_> = types(t)
                .into_iter()
                .filter(|(e, _)| super::TYPES.contains(e))
                .collect();
            assert!(found.is_empty(), "{t}: {found:?}");
        }
    }

    /// Full-width forms of ASCII (letters, digits, punctuation; a space becomes U+3000).
    fn full_width(s: &str) -> String {
        s.chars()
            .map(|c| match c {
                ' ' => '\u{3000}',
                '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
                _ => c,
            })
            .collect()
    }

    /// Every type, with a cue it accepts: found as written, full-width next to CJK text, and not
    /// when glued to a letter or digit on either side.
    #[test]
    fn every_type_cjk_full_width_and_boundaries() {
        let table = [
            ("Steuer-ID", "86095742719", EntityType::DeTaxId),
            ("Steuer-ID", "86 095 742 719", EntityType::DeTaxId),
            ("Personalausweis", "T220001293", EntityType::DeIdCard),
            ("NIR", "1 85 05 78 006 084 91", EntityType::FrNir),
            ("NIR", "185052B00608462", EntityType::FrNir),
            ("DNI", "12345678Z", EntityType::EsDni),
            ("NIE", "Y7654321G", EntityType::EsDni),
            ("CF", "MRTMTT25D09F205Z", EntityType::ItFiscalCode),
            ("BSN", "123456782", EntityType::NlBsn),
            ("MAC", "3c-22-fb-01-02-03", EntityType::MacAddress),
            (
                "BTC",
                "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
                EntityType::Crypto,
            ),
            (
                "BTC",
                "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
                EntityType::Crypto,
            ),
            (
                "ETH",
                "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                EntityType::Crypto,
            ),
        ];
        for (cue, value, e) in table {
            let plain = format!("{cue}: {value}.");
            assert!(has(&plain, e, value), "{plain}: {:?}", types(&plain));
            let fw = full_width(value);
            let cjk = format!("{cue}：{fw}谢谢");
            assert!(has(&cjk, e, &fw), "{cjk}: {:?}", types(&cjk));
            for glued in [format!("{cue}: A{value}"), format!("{cue}: {value}7")] {
                assert!(none_of(&glued, e), "{glued}: {:?}", types(&glued));
            }
        }
    }
}
