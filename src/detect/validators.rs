//! Checksum and structure validators for the numeric recognizers.
//!
//! Owns: pure functions that say whether a candidate string is a plausible instance of an entity
//! (Luhn, IBAN mod-97 with per-country lengths, PRC resident ID ISO 7064 MOD 11-2 with a birth
//! date check, US SSN area/group/serial rules, UK NINO prefix rules, IP address parsing, the EU
//! national identifiers' check digits and letters, MAC address rules, Bitcoin base58check and
//! bech32/bech32m, Ethereum EIP-55 with a small keccak-256). Does not own: finding candidates in
//! text (see `patterns`, `ids`), nor scoring.

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
///
/// Checked byte by byte (no `str::split` searcher or `parse` per octet: dense text validates a
/// dotted number at every phone candidate with dots). An octet is what `u16::from_str` reads:
/// ASCII digits after an optional `+`.
pub fn ipv4(s: &str) -> bool {
    let mut n = 0;
    for part in s.as_bytes().split(|&c| c == b'.') {
        n += 1;
        if n > 4 || part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return false;
        }
        let digits = part.strip_prefix(b"+").unwrap_or(part);
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return false;
        }
        let v = digits
            .iter()
            .fold(0u16, |v, &c| v * 10 + u16::from(c - b'0'));
        if v > 255 {
            return false;
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

// === European national identifiers ===

/// ISO 7064 MOD 11,10 check digit over ASCII digits (the German tax id's scheme).
pub fn mod11_10_check(digits: &[u8]) -> u8 {
    let mut product = 10u32;
    for &c in digits {
        let mut sum = (u32::from(c - b'0') + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    // `product` is 1..=10 (sum * 2 is never a multiple of 11), so the check is 1..=10.
    let check = 11 - product;
    if check == 10 {
        0
    } else {
        check as u8
    }
}

/// German tax identification number (Steuerliche Identifikationsnummer): 11 digits, no leading
/// zero; among the first ten exactly one digit occurs twice or three times (three times never in
/// a row) and every other at most once; ISO 7064 MOD 11,10 check digit.
pub fn de_tax_id(d: &[u8]) -> bool {
    if d.len() != 11 || !d.iter().all(u8::is_ascii_digit) || d[0] == b'0' {
        return false;
    }
    let mut counts = [0u8; 10];
    for &c in &d[..10] {
        counts[usize::from(c - b'0')] += 1;
    }
    let mut repeated = counts.iter().filter(|&&n| n >= 2);
    let (Some(&n), None) = (repeated.next(), repeated.next()) else {
        return false;
    };
    if n > 3 || (n == 3 && d[..10].windows(3).any(|w| w[0] == w[1] && w[1] == w[2])) {
        return false;
    }
    mod11_10_check(&d[..10]) == d[10] - b'0'
}

/// The value of an ICAO 9303 machine-readable character: digits 0–9, letters A=10 … Z=35.
fn mrz_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        _ => None,
    }
}

/// ICAO 9303 check digit (weights 7, 3, 1 repeating, sum mod 10).
pub fn icao_check(chars: &[u8]) -> Option<u8> {
    let mut sum = 0u32;
    for (c, w) in chars.iter().zip([7u32, 3, 1].into_iter().cycle()) {
        sum += mrz_value(*c)? * w;
    }
    Some((sum % 10) as u8)
}

/// German identity card (Personalausweis, issued since November 2010) document number: an
/// authority letter (L M N P R T V W X Y), eight characters of the card alphabet (digits and
/// C F G H J K L M N P R T V W X Y Z, no vowels or look-alikes) and an ICAO 7-3-1 check digit.
/// Upper-case, 10 bytes.
pub fn de_id_card(s: &[u8]) -> bool {
    const ALPHABET: &[u8] = b"0123456789CFGHJKLMNPRTVWXYZ";
    s.len() == 10
        && b"LMNPRTVWXY".contains(&s[0])
        && s[1..9].iter().all(|c| ALPHABET.contains(c))
        && s[9].is_ascii_digit()
        && icao_check(&s[..9]) == Some(s[9] - b'0')
}

/// French social security number (NIR / numéro INSEE), compact and upper-case: sex (1, 2, or
/// 3, 4, 7, 8 for provisional numbers), year, month (01–12, or 20–42 and 50–99 when unknown),
/// department (two digits, `2A` or `2B` for Corsica), commune, order number, then the key
/// `97 - (n mod 97)` where `n` is the first 13 characters as a number (`2A` read as 19, `2B` as
/// 18).
pub fn fr_nir(s: &[u8]) -> bool {
    if s.len() != 15 || !b"123478".contains(&s[0]) {
        return false;
    }
    let digits_ok = |r: std::ops::Range<usize>| s[r].iter().all(u8::is_ascii_digit);
    if !digits_ok(1..5) || !digits_ok(7..15) {
        return false;
    }
    let month = u32::from(s[3] - b'0') * 10 + u32::from(s[4] - b'0');
    if !((1..=12).contains(&month) || (20..=42).contains(&month) || month >= 50) {
        return false;
    }
    let dept: u64 = match &s[5..7] {
        b"2A" => 19,
        b"2B" => 18,
        d if d.iter().all(u8::is_ascii_digit) => u64::from((d[0] - b'0') * 10 + (d[1] - b'0')),
        _ => return false,
    };
    if dept == 0 {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> u64 {
        s[r].iter().fold(0, |a, d| a * 10 + u64::from(d - b'0'))
    };
    let n = num(0..5) * 100_000_000 + dept * 1_000_000 + num(7..13);
    let key = num(13..15);
    (1..=97).contains(&key) && 97 - n % 97 == key
}

/// The control letters of Spanish DNI and NIE numbers, indexed by the number mod 23.
const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// Spanish DNI (eight digits and a control letter) or NIE (`X`, `Y` or `Z`, seven digits and a
/// control letter; the prefix counts as 0, 1, 2): the letter is `TRWAGMYFPDXBNJZSQVHLCKE`
/// indexed by the number mod 23. Compact and upper-case, 9 bytes; all-zero numbers are refused.
pub fn es_dni(s: &[u8]) -> bool {
    if s.len() != 9 {
        return false;
    }
    let (prefix, body) = match s[0] {
        b'X' => (0u8, &s[1..8]),
        b'Y' => (1u8, &s[1..8]),
        b'Z' => (2u8, &s[1..8]),
        _ => (0u8, &s[..8]),
    };
    if !body.iter().all(u8::is_ascii_digit) || body.iter().all(|&c| c == b'0') {
        return false;
    }
    let n = body
        .iter()
        .fold(u32::from(prefix), |a, d| a * 10 + u32::from(d - b'0'));
    DNI_LETTERS[(n % 23) as usize] == s[8]
}

/// Italian fiscal code (codice fiscale), 16 upper-case characters: six surname/name letters, the
/// birth year, a month letter (`ABCDEHLMPRST`), the day (41–71 for women), a municipality code
/// (letter + three digits) and a check letter from the odd/even position tables. Any digit may
/// be written as its omocodia letter (`LMNPQRSTUV` for 0–9), as the tax office does when two
/// people would get the same code.
pub fn it_fiscal_code(s: &[u8]) -> bool {
    const OMOCODIA: &[u8; 10] = b"LMNPQRSTUV";
    const ODD: [u32; 26] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23,
    ];
    if s.len() != 16 {
        return false;
    }
    let digit = |c: u8| -> Option<u32> {
        if c.is_ascii_digit() {
            Some(u32::from(c - b'0'))
        } else {
            OMOCODIA.iter().position(|&o| o == c).map(|p| p as u32)
        }
    };
    let letters = [0, 1, 2, 3, 4, 5, 8, 11, 15];
    if !letters.iter().all(|&i| s[i].is_ascii_uppercase()) || !b"ABCDEHLMPRST".contains(&s[8]) {
        return false;
    }
    let mut num = [0u32; 16];
    for i in [6, 7, 9, 10, 12, 13, 14] {
        match digit(s[i]) {
            Some(d) => num[i] = d,
            None => return false,
        }
    }
    let day = num[9] * 10 + num[10];
    if !((1..=31).contains(&day) || (41..=71).contains(&day)) {
        return false;
    }
    let mut sum = 0u32;
    for (i, &c) in s[..15].iter().enumerate() {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A'),
            _ => return false,
        };
        // Positions are counted from 1: odd positions use the odd table.
        sum += if i % 2 == 0 { ODD[v as usize] } else { v };
    }
    s[15] == b'A' + (sum % 26) as u8
}

/// Dutch citizen service number (BSN): nine digits passing the "11-proof"
/// (9·d1 + 8·d2 + … + 2·d8 − d9 is a positive multiple of 11).
pub fn nl_bsn(d: &[u8]) -> bool {
    if d.len() != 9 || !d.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: i32 = d[..8]
        .iter()
        .zip((2..=9).rev())
        .map(|(c, w)| i32::from(c - b'0') * w)
        .sum::<i32>()
        - i32::from(d[8] - b'0');
    sum > 0 && sum % 11 == 0
}

// === Network and wallet addresses ===

/// A MAC address written `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff` (one separator kind) or
/// `aabb.ccdd.eeff`, naming one device: the all-zero address and group addresses (the I/G bit
/// of the first octet set: broadcast `ff:ff:…` and multicast) are refused.
pub fn mac_address(s: &str) -> bool {
    let b = s.as_bytes();
    let hex: Vec<u8> = match b.len() {
        17 => {
            let sep = b[2];
            if !matches!(sep, b':' | b'-') || (2..17).step_by(3).any(|i| b[i] != sep) {
                return false;
            }
            b.chunks(3).flat_map(|c| c[..2].iter().copied()).collect()
        }
        14 if b[4] == b'.' && b[9] == b'.' => b
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != 4 && i != 9)
            .map(|(_, &c)| c)
            .collect(),
        _ => return false,
    };
    if hex.len() != 12 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return false;
    }
    let nibble = |c: u8| (c as char).to_digit(16).unwrap_or(0);
    let first_octet = nibble(hex[0]) * 16 + nibble(hex[1]);
    first_octet & 1 == 0 && hex.iter().any(|&c| c != b'0')
}

/// Bitcoin base58check address (P2PKH `1…`, P2SH `3…`): 25 bytes decoded, version 0x00 or 0x05,
/// and the first four bytes of the double SHA-256 of the payload as checksum.
pub fn btc_base58(s: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    if !(26..=35).contains(&s.len()) {
        return false;
    }
    let mut buf = [0u8; 25];
    for &c in s {
        let Some(mut carry) = ALPHABET.iter().position(|&a| a == c).map(|p| p as u32) else {
            return false;
        };
        for byte in buf.iter_mut().rev() {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        if carry != 0 {
            return false;
        }
    }
    // Each leading '1' encodes one leading zero byte, and only those do.
    let ones = s.iter().take_while(|&&c| c == b'1').count();
    let zeros = buf.iter().take_while(|&&c| c == 0).count();
    if ones != zeros || !matches!(buf[0], 0x00 | 0x05) {
        return false;
    }
    let hash = Sha256::digest(Sha256::digest(&buf[..21]));
    hash[..4] == buf[21..]
}

/// Which checksum constant a bech32 string satisfies.
fn bech32_polymod(hrp: &[u8], data: &[u8]) -> u32 {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk = 1u32;
    let values = hrp
        .iter()
        .map(|c| c >> 5)
        .chain(std::iter::once(0))
        .chain(hrp.iter().map(|c| c & 31))
        .chain(data.iter().copied());
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x1ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// Bitcoin segwit address (`bc1…`, BIP 173/350): one case throughout, bech32 checksum for witness
/// version 0 (20- or 32-byte program), bech32m for versions 1–16 (2–40 bytes).
pub fn btc_bech32(s: &str) -> bool {
    const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    if !(14..=90).contains(&s.len()) {
        return false;
    }
    let has_lower = s.bytes().any(|c| c.is_ascii_lowercase());
    let has_upper = s.bytes().any(|c| c.is_ascii_uppercase());
    if has_lower && has_upper {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("bc1") else {
        return false;
    };
    let mut data = Vec::with_capacity(rest.len());
    for c in rest.bytes() {
        match CHARSET.iter().position(|&x| x == c) {
            Some(p) => data.push(p as u8),
            None => return false,
        }
    }
    if data.len() < 7 {
        return false;
    }
    let version = data[0];
    let constant = match version {
        0 => 1,
        1..=16 => 0x2bc8_30a3,
        _ => return false,
    };
    if bech32_polymod(b"bc", &data) != constant {
        return false;
    }
    // The witness program: 5-bit groups regrouped into bytes, padding under 5 bits and zero.
    let groups = &data[1..data.len() - 6];
    let bits = groups.len() * 5;
    let len = bits / 8;
    let pad = bits % 8;
    if pad >= 5 || groups.last().is_some_and(|&g| g & ((1 << pad) - 1) != 0) {
        return false;
    }
    match version {
        0 => len == 20 || len == 32,
        _ => (2..=40).contains(&len),
    }
}

/// How an Ethereum address (`0x` + 40 hex digits) is cased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EthAddress {
    /// Mixed case matching its EIP-55 checksum.
    Checksummed,
    /// All hex letters in one case: carries no checksum.
    Uncased,
}

/// Ethereum address check: `0x` and 40 hex digits; mixed case must be the EIP-55 checksum (each
/// letter upper-case exactly when the matching nibble of keccak-256 of the lower-case hex is 8
/// or more). `None` when it is not an address or the checksum fails.
pub fn eth_address(s: &[u8]) -> Option<EthAddress> {
    if s.len() != 42 || !(s.starts_with(b"0x") || s.starts_with(b"0X")) {
        return None;
    }
    let hex = &s[2..];
    if !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let lower = hex.iter().any(u8::is_ascii_lowercase);
    let upper = hex.iter().any(u8::is_ascii_uppercase);
    if !(lower && upper) {
        return Some(EthAddress::Uncased);
    }
    let lowered = hex.to_ascii_lowercase();
    let hash = keccak256(&lowered);
    let ok = hex.iter().enumerate().all(|(i, &c)| {
        let nibble = if i % 2 == 0 {
            hash[i / 2] >> 4
        } else {
            hash[i / 2] & 0xf
        };
        !c.is_ascii_alphabetic() || c.is_ascii_uppercase() == (nibble >= 8)
    });
    ok.then_some(EthAddress::Checksummed)
}

/// Keccak-256 (the original Keccak padding Ethereum uses, not SHA3-256), for EIP-55 checksums.
/// No keccak crate is a dependency; this is the reference permutation, tested against known
/// digests.
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    const RATE: usize = 136;
    let mut st = [0u64; 25];
    let absorb = |st: &mut [u64; 25], block: &[u8]| {
        for (lane, chunk) in st.iter_mut().zip(block.chunks(8)) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            *lane ^= u64::from_le_bytes(w);
        }
        keccak_f(st);
    };
    let mut chunks = data.chunks_exact(RATE);
    for block in &mut chunks {
        absorb(&mut st, block);
    }
    let rest = chunks.remainder();
    let mut last = [0u8; RATE];
    last[..rest.len()].copy_from_slice(rest);
    last[rest.len()] ^= 0x01;
    last[RATE - 1] ^= 0x80;
    absorb(&mut st, &last);
    let mut out = [0u8; 32];
    for (o, lane) in out.chunks_mut(8).zip(st.iter()) {
        o.copy_from_slice(&lane.to_le_bytes());
    }
    out
}

/// The Keccak-f\[1600\] permutation (24 rounds).
fn keccak_f(st: &mut [u64; 25]) {
    const RC: [u64; 24] = [
        0x0000_0000_0000_0001,
        0x0000_0000_0000_8082,
        0x8000_0000_0000_808A,
        0x8000_0000_8000_8000,
        0x0000_0000_0000_808B,
        0x0000_0000_8000_0001,
        0x8000_0000_8000_8081,
        0x8000_0000_0000_8009,
        0x0000_0000_0000_008A,
        0x0000_0000_0000_0088,
        0x0000_0000_8000_8009,
        0x0000_0000_8000_000A,
        0x0000_0000_8000_808B,
        0x8000_0000_0000_008B,
        0x8000_0000_0000_8089,
        0x8000_0000_0000_8003,
        0x8000_0000_0000_8002,
        0x8000_0000_0000_0080,
        0x0000_0000_0000_800A,
        0x8000_0000_8000_000A,
        0x8000_0000_8000_8081,
        0x8000_0000_0000_8080,
        0x0000_0000_8000_0001,
        0x8000_0000_8000_8008,
    ];
    const ROT: [u32; 24] = [
        1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44,
    ];
    const PI: [usize; 24] = [
        10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1,
    ];
    for rc in RC {
        let mut c = [0u64; 5];
        for (x, cx) in c.iter_mut().enumerate() {
            *cx = st[x] ^ st[x + 5] ^ st[x + 10] ^ st[x + 15] ^ st[x + 20];
        }
        for x in 0..5 {
            let d = c[(x + 4) % 5] ^ c[(x + 1) % 5].rotate_left(1);
            for y in (0..25).step_by(5) {
                st[y + x] ^= d;
            }
        }
        let mut t = st[1];
        for (&j, &r) in PI.iter().zip(ROT.iter()) {
            let next = st[j];
            st[j] = t.rotate_left(r);
            t = next;
        }
        for y in (0..25).step_by(5) {
            let row = [st[y], st[y + 1], st[y + 2], st[y + 3], st[y + 4]];
            for x in 0..5 {
                st[y + x] = row[x] ^ (!row[(x + 1) % 5] & row[(x + 2) % 5]);
            }
        }
        st[0] ^= rc;
    }
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

    #[test]
    fn de_tax_id_table() {
        for ok in ["86095742719", "65929970489", "26954371827"] {
            assert!(de_tax_id(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "86095742718", // check digit
            "06095742719", // leading zero
            "12345678903", // no repeated digit (the check digit itself is right)
            "11112345678", // a digit four times
            "8609574271",  // too short
            "8609574271a",
        ] {
            assert!(!de_tax_id(bad.as_bytes()), "{bad}");
        }
        assert_eq!(mod11_10_check(b"1234567890"), 3);
    }

    #[test]
    fn de_id_card_table() {
        for ok in ["T220001293", "L01X00T471", "LZ6311T475", "M7CFGH1233"] {
            assert!(de_id_card(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "T220001294", // check digit
            "A220001293", // not an authority letter
            "T2200E1293", // vowel outside the card alphabet
            "T22000129",  // too short
            "t220001293", // lower case
        ] {
            assert!(!de_id_card(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn fr_nir_table() {
        for ok in [
            "185057800608491",
            "269029934173285",
            "185052A00608435", // Corsica, 2A read as 19
            "185052B00608462", // Corsica, 2B read as 18
        ] {
            assert!(fr_nir(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "185057800608436", // wrong key
            "185052A00608462", // 2A with the 2B key
            "585057800608491", // sex digit
            "185137800608491", // month 13
            "18505780060849",
            "185052C00608435",
        ] {
            assert!(!fr_nir(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn es_dni_table() {
        for ok in [
            "12345678Z",
            "00000001R",
            "X1234567L",
            "Y7654321G",
            "Z0000001Y",
        ] {
            assert!(es_dni(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "12345678A",
            "X1234567Z",
            "00000000T", // all zeros
            "1234567Z",
            "W1234567L",
            "12345678z",
        ] {
            assert!(!es_dni(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn it_fiscal_code_table() {
        for ok in [
            "RSSMRA85T10A562S",
            "MRTMTT25D09F205Z",
            "BNCGNN80A41H501X", // a woman: day + 40
            "RSSMRA85T10A56NH", // omocodia: the last digit written as a letter
            "RSSMRAURTMLARSNL", // every digit written as a letter
        ] {
            assert!(it_fiscal_code(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "RSSMRA85T10A562T", // check letter
            "RSSMRA85Z10A562S", // month letter
            "RSSMRA85T32A562S", // day 32
            "RSSMRA85T10A562",
            "R5SMRA85T10A562S",
        ] {
            assert!(!it_fiscal_code(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn nl_bsn_table() {
        assert!(nl_bsn(b"111222333"));
        assert!(nl_bsn(b"123456782"));
        assert!(!nl_bsn(b"123456789"));
        assert!(!nl_bsn(b"000000000"));
        assert!(!nl_bsn(b"12345678"));
    }

    #[test]
    fn mac_table() {
        for ok in [
            "00:1A:2B:3C:4D:5E",
            "00-1a-2b-3c-4d-5e",
            "001a.2b3c.4d5e",
            "3c:22:fb:01:02:03",
        ] {
            assert!(mac_address(ok), "{ok}");
        }
        for bad in [
            "00:00:00:00:00:00", // all zero
            "ff:ff:ff:ff:ff:ff", // broadcast
            "01:00:5e:00:00:fb", // multicast
            "00:1A-2B:3C:4D:5E", // mixed separators
            "00:1A:2B:3C:4D:5G",
            "001a.2b3c.4d5",
        ] {
            assert!(!mac_address(bad), "{bad}");
        }
    }

    #[test]
    fn bitcoin_table() {
        for ok in [
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", // the genesis block's address
            "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
            "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
        ] {
            assert!(btc_base58(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", // checksum
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7Divf0a", // '0' is not base58
            "11A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
        ] {
            assert!(!btc_base58(bad.as_bytes()), "{bad}");
        }
        for ok in [
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
            "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
            "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        ] {
            assert!(btc_bech32(ok), "{ok}");
        }
        for bad in [
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", // checksum
            "bc1Qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", // mixed case
            // Witness v1 with a bech32 (not bech32m) checksum (BIP 350 invalid vector).
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
            "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
        ] {
            assert!(!btc_bech32(bad), "{bad}");
        }
    }

    #[test]
    fn keccak_and_eip55() {
        assert_eq!(
            hex::encode(keccak256(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
        assert_eq!(
            hex::encode(keccak256(b"abc")),
            "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
        );
        // Longer than one 136-byte block.
        assert_eq!(keccak256(&[b'a'; 200]).len(), 32);
        for ok in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        ] {
            assert_eq!(
                eth_address(ok.as_bytes()),
                Some(EthAddress::Checksummed),
                "{ok}"
            );
        }
        for uncased in [
            "0x52908400098527886E0F7030069857D2E4169EE7",
            "0xde709f2102306220921060314715629080e2fb77",
        ] {
            assert_eq!(eth_address(uncased.as_bytes()), Some(EthAddress::Uncased));
        }
        // One letter's case flipped breaks the checksum.
        assert_eq!(
            eth_address(b"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"),
            None
        );
        assert_eq!(
            eth_address(b"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA"),
            None
        );
        assert_eq!(
            eth_address(b"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg"),
            None
        );
    }

    /// The dotted-quad check as it was written with `split` and `u16::from_str` (the test
    /// oracle for the byte-wise [`ipv4`]).
    fn ipv4_by_parse(s: &str) -> bool {
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

    #[test]
    fn ipv4_examples() {
        for s in [
            "10.24.7.19",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "0.0.0.0",
            "+1.2.3.4",
            "+.1.2.3",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "",
            "1.2.3.4.",
            "+25.1.1.1",
            "++1.2.3.4",
            "1.2.3.-4",
            "1.2.3.٣",
            "999.1.1.1",
        ] {
            assert_eq!(ipv4(s), ipv4_by_parse(s), "{s:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn ipv4_is_the_parse_check(s in "([0-9]{0,4}|\\+|-|a|٣|\\.){0,10}") {
            proptest::prop_assert_eq!(ipv4(&s), ipv4_by_parse(&s));
        }
    }
}
