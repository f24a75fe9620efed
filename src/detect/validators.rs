//! Checksum and structure validators for the numeric recognizers.
//!
//! Owns: pure functions that say whether a candidate string is a plausible instance of an entity
//! (Luhn, IBAN mod-97 with per-country lengths, PRC resident ID ISO 7064 MOD 11-2 with a birth
//! date check, US SSN area/group/serial rules, UK NINO prefix rules, IP address parsing). Does not
//! own: finding candidates in text (see `patterns`), nor scoring.

use std::net::Ipv6Addr;

/// Luhn check over ASCII digits (separators must already be removed).
pub fn luhn(digits: &[u8]) -> bool {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum % 10 == 0
}

/// Whether a digit string starts with an issuer prefix used by a payment network and has a length
/// that network issues (Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay, Maestro).
pub fn card_issuer_plausible(d: &[u8]) -> bool {
    let n = d.len();
    let p = |k: usize| -> u32 {
        d.iter()
            .take(k)
            .fold(0u32, |acc, c| acc * 10 + u32::from(c - b'0'))
    };
    match d.first() {
        Some(b'4') => matches!(n, 13 | 16 | 19),
        Some(b'5') => {
            let p2 = p(2);
            ((51..=55).contains(&p2) && n == 16)
                || (p2 == 50 || (56..=59).contains(&p2)) && (12..=19).contains(&n)
        }
        Some(b'2') => {
            let p4 = p(4);
            (2221..=2720).contains(&p4) && n == 16
        }
        Some(b'3') => {
            let p2 = p(2);
            ((p2 == 34 || p2 == 37) && n == 15)
                || (p2 == 35 && (16..=19).contains(&n))
                || ((p2 == 30 || p2 == 36 || p2 == 38 || p2 == 39) && (14..=19).contains(&n))
        }
        Some(b'6') => (12..=19).contains(&n),
        _ => false,
    }
}

/// IBAN length per ISO 3166 country code (SWIFT IBAN registry).
pub fn iban_length(country: &[u8]) -> Option<usize> {
    let c = std::str::from_utf8(country).ok()?;
    Some(match c {
        "AD" => 24,
        "AE" => 23,
        "AL" => 28,
        "AT" => 20,
        "AZ" => 28,
        "BA" => 20,
        "BE" => 16,
        "BG" => 22,
        "BH" => 22,
        "BR" => 29,
        "BY" => 28,
        "CH" => 21,
        "CR" => 22,
        "CY" => 28,
        "CZ" => 24,
        "DE" => 22,
        "DK" => 18,
        "DO" => 28,
        "EE" => 20,
        "EG" => 29,
        "ES" => 24,
        "FI" => 18,
        "FO" => 18,
        "FR" => 27,
        "GB" => 22,
        "GE" => 22,
        "GI" => 23,
        "GL" => 18,
        "GR" => 27,
        "GT" => 28,
        "HR" => 21,
        "HU" => 28,
        "IE" => 22,
        "IL" => 23,
        "IQ" => 23,
        "IS" => 26,
        "IT" => 27,
        "JO" => 30,
        "KW" => 30,
        "KZ" => 20,
        "LB" => 28,
        "LC" => 32,
        "LI" => 21,
        "LT" => 20,
        "LU" => 20,
        "LV" => 21,
        "LY" => 25,
        "MC" => 27,
        "MD" => 24,
        "ME" => 22,
        "MK" => 19,
        "MR" => 27,
        "MT" => 31,
        "MU" => 30,
        "NL" => 18,
        "NO" => 15,
        "PK" => 24,
        "PL" => 28,
        "PS" => 29,
        "PT" => 25,
        "QA" => 29,
        "RO" => 24,
        "RS" => 22,
        "SA" => 24,
        "SC" => 31,
        "SD" => 18,
        "SE" => 24,
        "SI" => 19,
        "SK" => 24,
        "SM" => 27,
        "ST" => 25,
        "SV" => 28,
        "TL" => 23,
        "TN" => 24,
        "TR" => 26,
        "UA" => 29,
        "VA" => 22,
        "VG" => 24,
        "XK" => 20,
        _ => return None,
    })
}

/// IBAN check: known country, exact length, ISO 7064 MOD 97-10 over the compact form.
pub fn iban(compact: &[u8]) -> bool {
    if compact.len() < 15 || compact.len() > 34 {
        return false;
    }
    if iban_length(&compact[..2]) != Some(compact.len()) {
        return false;
    }
    if !compact[2..4].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut rem: u32 = 0;
    for &c in compact[4..].iter().chain(&compact[..4]) {
        match c {
            b'0'..=b'9' => rem = (rem * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => rem = (rem * 100 + u32::from(c - b'A' + 10)) % 97,
            _ => return false,
        }
    }
    rem == 1
}

/// PRC resident ID: 17 digits + check char (digit or `X`), ISO 7064 MOD 11-2, plausible region
/// and birth date (1900..=2030, real month and day).
pub fn cn_resident_id(id: &[u8]) -> bool {
    if id.len() != 18 || !id[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const C: &[u8; 11] = b"10X98765432";
    let sum: u32 = id[..17]
        .iter()
        .zip(W)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let check = C[(sum % 11) as usize];
    if id[17].to_ascii_uppercase() != check {
        return false;
    }
    if !(b'1'..=b'9').contains(&id[0]) {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> u32 {
        id[r].iter().fold(0, |a, d| a * 10 + u32::from(d - b'0'))
    };
    let (y, m, d) = (num(6..10), num(10..12), num(12..14));
    (1900..=2030).contains(&y) && valid_ymd(y, m, d)
}

/// Whether `y-m-d` is a real calendar date.
pub fn valid_ymd(y: u32, m: u32, d: u32) -> bool {
    let dim = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return false,
    };
    (1..=dim).contains(&d)
}

/// US SSN rules over 9 digits: area not 000, 666 or 900–999; group not 00; serial not 0000.
pub fn us_ssn(d: &[u8]) -> bool {
    if d.len() != 9 || !d.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let area = &d[..3];
    area != b"000" && area != b"666" && area[0] != b'9' && &d[3..5] != b"00" && &d[5..] != b"0000"
}

/// UK NINO prefix rules: first letter not D, F, I, Q, U, V; second not D, F, I, O, Q, U, V;
/// prefixes BG, GB, KN, NK, NT, TN, ZZ never issued; suffix A–D.
pub fn uk_nino(compact: &[u8]) -> bool {
    if compact.len() != 9 {
        return false;
    }
    let (a, b) = (compact[0], compact[1]);
    if !a.is_ascii_uppercase() || !b.is_ascii_uppercase() {
        return false;
    }
    if b"DFIQUV".contains(&a) || b"DFIOQUV".contains(&b) {
        return false;
    }
    if matches!(
        &compact[..2],
        b"BG" | b"GB" | b"KN" | b"NK" | b"NT" | b"TN" | b"ZZ"
    ) {
        return false;
    }
    compact[2..8].iter().all(u8::is_ascii_digit) && (b'A'..=b'D').contains(&compact[8])
}

/// Dotted-quad IPv4 with octets 0–255 and no leading zeros on multi-digit octets.
pub fn ipv4(s: &str) -> bool {
    let mut n = 0;
    for part in s.split('.') {
        n += 1;
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part.starts_with('0')) {
            return false;
        }
        match part.parse::<u16>() {
            Ok(v) if v <= 255 => {}
            _ => return false,
        }
    }
    n == 4
}

/// IPv6 via the standard parser, requiring enough structure not to be a clock time
/// (at least three non-empty groups, or `::` with a hex letter).
pub fn ipv6(s: &str) -> bool {
    if s.parse::<Ipv6Addr>().is_err() {
        return false;
    }
    let groups = s.split(':').filter(|g| !g.is_empty()).count();
    let has_hex_letter = s.bytes().any(|b| b.is_ascii_alphabetic());
    groups >= 5
        || (groups >= 3 && (s.contains("::") || has_hex_letter))
        || (groups >= 2 && has_hex_letter && s.contains("::"))
}

/// Shannon-style diversity check for secrets: long enough, mixes character classes.
pub fn looks_random(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 16 {
        return false;
    }
    let lower = b.iter().any(u8::is_ascii_lowercase);
    let upper = b.iter().any(u8::is_ascii_uppercase);
    let digit = b.iter().any(u8::is_ascii_digit);
    let classes = usize::from(lower) + usize::from(upper) + usize::from(digit);
    if classes < 2 {
        return false;
    }
    let mut seen = [false; 256];
    let mut distinct = 0;
    for &c in b {
        if !seen[c as usize] {
            seen[c as usize] = true;
            distinct += 1;
        }
    }
    distinct * 3 >= b.len().min(48) && (classes == 3 || b.len() >= 24)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_table() {
        for ok in [
            "4111111111111111",
            "6011705458150586",
            "376312628253663",
            "4319487574915",
        ] {
            assert!(luhn(ok.as_bytes()), "{ok}");
        }
        for bad in ["4111111111111112", "1234567812345678", "", "41a1"] {
            assert!(!luhn(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn issuer_table() {
        assert!(card_issuer_plausible(b"4111111111111111"));
        assert!(card_issuer_plausible(b"378282246310005"));
        assert!(card_issuer_plausible(b"2221000000000009"));
        assert!(!card_issuer_plausible(b"9111111111111111"));
        assert!(!card_issuer_plausible(b"1111111111111111"));
    }

    #[test]
    fn iban_table() {
        assert!(iban(b"GB82WEST12345698765432"));
        assert!(iban(b"DE89370400440532013000"));
        assert!(!iban(b"GB82WEST12345698765433"));
        assert!(!iban(b"DE8937040044053201300")); // wrong length
        assert!(!iban(b"XX82WEST12345698765432"));
    }

    #[test]
    fn cn_id_table() {
        assert!(cn_resident_id(b"11010519491231002X"));
        assert!(cn_resident_id(b"11010519491231002x"));
        assert!(!cn_resident_id(b"110105194912310021"));
        assert!(!cn_resident_id(b"110105194913310027")); // month 13
        assert!(!cn_resident_id(b"12345678901234567"));
    }

    #[test]
    fn ssn_table() {
        assert!(us_ssn(b"123456789"));
        for bad in [
            "000123456",
            "666123456",
            "912345678",
            "123004567",
            "123450000",
        ] {
            assert!(!us_ssn(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn nino_table() {
        assert!(uk_nino(b"AB123456C"));
        for bad in [
            "DA123456C",
            "AO123456C",
            "GB123456C",
            "AB123456E",
            "AB12345C",
        ] {
            assert!(!uk_nino(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn ip_table() {
        assert!(ipv4("192.168.1.1"));
        assert!(!ipv4("256.1.1.1"));
        assert!(!ipv4("1.2.3"));
        assert!(!ipv4("01.2.3.4"));
        assert!(ipv6("2001:db8::1:2"));
        assert!(ipv6("fe80:570a:410b:e1a:4d63:ee42:4ad7:f2de"));
        assert!(!ipv6("12:30:45"));
        assert!(!ipv6("not:an:ip"));
    }

    #[test]
    fn randomness() {
        assert!(looks_random("aJchCQir4ViwVVY2uWIKdNIy"));
        assert!(!looks_random("password"));
        assert!(!looks_random("aaaaaaaaaaaaaaaaaaaaaaaa"));
    }
}
