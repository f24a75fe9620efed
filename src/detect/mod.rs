//! PII detection: recognizers (regex + validators, context words, dictionaries) that turn a text
//! into [`Finding`]s with byte ranges, entity type and score.
//!
//! Owns: the entity catalogue ([`EntityType`]), the recognizers and their validators, and the
//! overlap resolution. Does not own: what happens to a finding (see `redact`), nor which entities
//! a deployment cares about (the policy builds a [`DetectorConfig`]). Pure: no I/O; per call it
//! fills an ASCII-lower-cased copy of the text and small window lists (the larger buffers are
//! kept per thread for the next call, see [`ScanBuffers`]).
//!
//! One call to [`Detector::find`]:
//! 1. folds full-width forms (`１３８`, `＠`) when present, keeping an offset map (`normalize`);
//! 2. computes cheap flags and digit windows in one pass (`Scan`), so recognizers skip texts
//!    and regions that cannot hold their entity;
//! 3. runs the recognizers: `patterns` (regex core + code boundary checks + validators + cue
//!    words), `dates` (dates of birth need a birth cue), `address` (street grammars and cue-led
//!    capture), `names` (name lists, cues, layout; Chinese surnames), `ids` (EU national
//!    identifiers, MAC and wallet addresses: tokens around digit runs) and the policy's
//!    `custom` recognizers;
//! 4. drops findings under `min_score` or on the allow list, resolves overlaps (highest score,
//!    then longest) and maps offsets back to the original text.
//!
//! Scores: validator-confirmed values score ~0.95+ (more with a cue), pattern-only values lower;
//! values that need a cue (national phone numbers, bare 9-digit SSNs, passports) score under the
//! default `min_score` of 0.5 without one.

use std::collections::BTreeSet;
use std::fmt;

mod address;
mod anchors;
mod boost;
mod context;
pub mod custom;
mod dates;
mod ids;
mod matchers;
mod names;
mod normalize;
mod patterns;
pub mod validators;

use serde::{Deserialize, Serialize};

pub use boost::{ContextBoost, BOOST_WINDOW};
pub use custom::{CustomRecognizer, CustomSpec, Validator};

/// A kind of personal data (or secret) the detector can find. The names of the first fifteen match
/// the labelled corpus; the national identifiers, `MAC_ADDRESS` and `CRYPTO` are not labelled there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntityType {
    /// A person's name.
    Person,
    /// An e-mail address.
    Email,
    /// A phone number in international or national format.
    Phone,
    /// A payment card number (Luhn-valid).
    CreditCard,
    /// An IBAN (mod-97 valid).
    Iban,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// A US social security number.
    UsSsn,
    /// A date of birth.
    DateOfBirth,
    /// A street address.
    StreetAddress,
    /// A personal URL or one carrying identifiers or tokens.
    Url,
    /// A PRC resident identity card number (ISO 7064 checksum).
    CnResidentId,
    /// A mainland China mobile number.
    CnPhone,
    /// A secret: API key, access token, JWT, private key.
    ApiKey,
    /// A UK national insurance number.
    UkNino,
    /// A passport number.
    Passport,
    /// A German tax identification number (Steuer-IdNr, MOD 11,10 check digit).
    DeTaxId,
    /// A German identity card (Personalausweis) document number (7-3-1 check digit).
    DeIdCard,
    /// A French social security number (NIR / INSEE, mod-97 key).
    FrNir,
    /// A Spanish DNI or NIE (control letter).
    EsDni,
    /// An Italian fiscal code (codice fiscale, check letter).
    ItFiscalCode,
    /// A Dutch citizen service number (BSN, 11-proof).
    NlBsn,
    /// A network interface's MAC address.
    MacAddress,
    /// A cryptocurrency wallet address (Bitcoin, Ethereum).
    Crypto,
    /// A value found by a policy's own `[[recognizer]]` ([`Detector::custom_recognizer_of`] tells
    /// which one).
    Custom,
}

impl EntityType {
    /// Every entity type, in a stable order.
    pub const ALL: [EntityType; 24] = [
        EntityType::Person,
        EntityType::Email,
        EntityType::Phone,
        EntityType::CreditCard,
        EntityType::Iban,
        EntityType::IpAddress,
        EntityType::UsSsn,
        EntityType::DateOfBirth,
        EntityType::StreetAddress,
        EntityType::Url,
        EntityType::CnResidentId,
        EntityType::CnPhone,
        EntityType::ApiKey,
        EntityType::UkNino,
        EntityType::Passport,
        EntityType::DeTaxId,
        EntityType::DeIdCard,
        EntityType::FrNir,
        EntityType::EsDni,
        EntityType::ItFiscalCode,
        EntityType::NlBsn,
        EntityType::MacAddress,
        EntityType::Crypto,
        EntityType::Custom,
    ];

    /// The canonical upper-case name, as used in policies, placeholders and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::Person => "PERSON",
            EntityType::Email => "EMAIL",
            EntityType::Phone => "PHONE",
            EntityType::CreditCard => "CREDIT_CARD",
            EntityType::Iban => "IBAN",
            EntityType::IpAddress => "IP_ADDRESS",
            EntityType::UsSsn => "US_SSN",
            EntityType::DateOfBirth => "DATE_OF_BIRTH",
            EntityType::StreetAddress => "STREET_ADDRESS",
            EntityType::Url => "URL",
            EntityType::CnResidentId => "CN_RESIDENT_ID",
            EntityType::CnPhone => "CN_PHONE",
            EntityType::ApiKey => "API_KEY",
            EntityType::UkNino => "UK_NINO",
            EntityType::Passport => "PASSPORT",
            EntityType::DeTaxId => "DE_TAX_ID",
            EntityType::DeIdCard => "DE_ID_CARD",
            EntityType::FrNir => "FR_NIR",
            EntityType::EsDni => "ES_DNI",
            EntityType::ItFiscalCode => "IT_FISCAL_CODE",
            EntityType::NlBsn => "NL_BSN",
            EntityType::MacAddress => "MAC_ADDRESS",
            EntityType::Crypto => "CRYPTO",
            EntityType::Custom => "CUSTOM",
        }
    }

    /// Parses a canonical name (case-insensitive).
    pub fn parse(name: &str) -> Option<EntityType> {
        EntityType::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(name))
    }

    /// Secrets are one-way: never restored into answers.
    pub fn is_secret(self) -> bool {
        matches!(self, EntityType::ApiKey)
    }
}

impl fmt::Display for EntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One detected value: a byte range into the scanned text, its type and a confidence score.
///
/// `Debug` prints only the range, type and score: a finding never carries the value itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Finding {
    /// Byte offset of the first byte (on a char boundary).
    pub start: usize,
    /// Byte offset one past the last byte (on a char boundary).
    pub end: usize,
    /// What was found.
    pub entity: EntityType,
    /// Confidence in `0.0..=1.0`.
    pub score: f32,
}

/// What the detector looks for; built from a policy.
#[derive(Debug, Clone)]
pub struct DetectorConfig {
    /// Entity types to report; others are not searched.
    pub entities: BTreeSet<EntityType>,
    /// Findings scoring below this are dropped.
    pub min_score: f32,
    /// Exact strings never reported (e.g. a company's own support address). Compared against the
    /// matched text, case-insensitively.
    pub allow_list: Vec<String>,
    /// A policy's own recognizers (`[[recognizer]]`), run beside the built-in ones; their
    /// findings are filtered and resolved like any other.
    pub custom: Vec<CustomRecognizer>,
    /// A policy's context boosts (`[[context_boost]]`): words that raise the score of findings
    /// of a type right after them.
    pub boosts: Vec<ContextBoost>,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            entities: EntityType::ALL.into_iter().collect(),
            min_score: 0.5,
            allow_list: Vec::new(),
            custom: Vec::new(),
            boosts: Vec::new(),
        }
    }
}

/// Errors building a detector.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// A pattern failed to compile.
    #[error("recognizer {name}: invalid pattern: {reason}")]
    Pattern {
        /// Recognizer name.
        name: String,
        /// Why it failed.
        reason: String,
    },
}

/// What one call to [`Detector::find`] knows about the text, computed in one byte pass so that
/// recognizers can skip cheaply (no `@` → no e-mail search, few digits → no numeric search), plus
/// the digit runs from which numeric recognizers derive the only regions they search
/// ([`Scan::class_runs`]).
/// The buffers a [`Scan`] fills, kept per thread between calls (see [`Scan::new`] and its `Drop`):
/// a call then does not allocate and free its lower-cased copy and run lists. A 1 KB copy is a
/// "large" request for glibc's allocator, which consolidates its free lists on each one; on
/// short texts that cost about as much as filling the copy.
#[derive(Debug, Default)]
struct ScanBuffers {
    lower: String,
    digit_runs: Vec<(usize, usize)>,
    numeric_digits: Vec<u32>,
    anchors: Vec<anchors::AnchorHit>,
}

/// Buffers larger than this (bytes of capacity) are freed rather than kept for the next call: a
/// thread that once saw a huge text does not hold its copy for ever.
const KEEP_BUFFER_BYTES: usize = 1 << 20;

thread_local! {
    /// This thread's spare [`ScanBuffers`] (empty while a `Scan` holds them).
    static SCAN_BUFFERS: std::cell::Cell<ScanBuffers> = std::cell::Cell::new(ScanBuffers::default());
}

pub(crate) struct Scan<'a> {
    /// The (normalised) text.
    pub text: &'a str,
    /// The same text with ASCII letters lower-cased (same byte offsets), for cue look-ups.
    pub lower: String,
    /// Its bytes.
    pub bytes: &'a [u8],
    /// Number of ASCII digits.
    pub digits: usize,
    /// Contains `@`.
    pub has_at: bool,
    /// Contains an ASCII upper-case letter.
    pub has_upper: bool,
    /// Contains a `:` next to a hex digit (possible IPv6).
    pub has_hex_colon: bool,
    /// Contains non-ASCII text.
    pub has_non_ascii: bool,
    /// Contains CJK text (lead bytes of U+3000..U+9FFF).
    pub has_cjk: bool,
    /// Every run of ASCII digits, `(start, end)`.
    pub digit_runs: Vec<(usize, usize)>,
    /// Per digit run, the digits of the maximal run of [`numeric_byte`]s holding it: no number
    /// made of such bytes through that digit run can have more (see
    /// [`Scan::digit_class_runs`]).
    numeric_digits: Vec<u32>,
    /// Cue automaton.
    pub ctx: &'a context::Context,
    /// Every occurrence of the gating literals in `lower` (see `anchors`), in text order.
    pub anchors: Vec<anchors::AnchorHit>,
    /// Memo of `ctx`'s cue occurrences in `lower` (see [`Scan::cue_before`]), when enough
    /// recognizers that look cues up are wanted for it to pay.
    cues: Option<context::CueCache>,
    /// The wanted entity types, one bit each (see [`entity_mask`]).
    wanted: u64,
}

/// A regex match with absolute offsets (from a windowed search).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit<'t> {
    s: usize,
    e: usize,
    text: &'t str,
}

impl<'t> Hit<'t> {
    /// Absolute start.
    pub fn start(&self) -> usize {
        self.s
    }
    /// Absolute end.
    pub fn end(&self) -> usize {
        self.e
    }
    /// The matched text.
    pub fn as_str(&self) -> &'t str {
        &self.text[self.s..self.e]
    }
}

/// The bit of `e` in an entity mask: a set of entity types tested with one AND, where the
/// detector asks "is this type wanted?" per recognizer and per finding (a `BTreeSet` look-up
/// each time cost more than small texts' scanning).
fn entity_bit(e: EntityType) -> u64 {
    1 << (e as u32)
}

/// The mask of every type in `entities`.
fn entity_mask(entities: &BTreeSet<EntityType>) -> u64 {
    entities.iter().fold(0, |m, &e| m | entity_bit(e))
}

/// The bytes numbers are written with: digits, `X`/`x` (PRC ID check digit) and the separators
/// `( ) + - . /` and space. Every class of [`Scan::digit_class_runs`] is a subset.
fn numeric_byte(c: u8) -> bool {
    c.is_ascii_digit()
        || matches!(
            c,
            b'(' | b')' | b'+' | b' ' | b'-' | b'.' | b'/' | b'X' | b'x'
        )
}
/// The entity types whose recognizers look up the numeric cues ([`Scan::cue_before`] and its
/// siblings).
const CUE_USERS: [EntityType; 17] = [
    EntityType::Phone,
    EntityType::CreditCard,
    EntityType::Iban,
    EntityType::IpAddress,
    EntityType::UsSsn,
    EntityType::DateOfBirth,
    EntityType::CnPhone,
    EntityType::UkNino,
    EntityType::Passport,
    EntityType::DeTaxId,
    EntityType::DeIdCard,
    EntityType::FrNir,
    EntityType::EsDni,
    EntityType::ItFiscalCode,
    EntityType::NlBsn,
    EntityType::MacAddress,
    EntityType::Crypto,
];

/// [`CUE_USERS`] as a mask of [`entity_bit`]s: a call counts its wanted cue users with one AND.
const CUE_USER_MASK: u64 = {
    let mut m = 0u64;
    let mut i = 0;
    while i < CUE_USERS.len() {
        m |= 1 << (CUE_USERS[i] as u32);
        i += 1;
    }
    m
};

/// With this many of [`CUE_USERS`] wanted, cue look-ups go through a per-call memo
/// ([`context::CueCache`]): its block searches cost about one pass over the text, which one or
/// two recognizers' look-ups alone do not repay, while the default set of every type looks up
/// the cues before nearly every number several times.
const CUE_MEMO_MIN_USERS: usize = 4;

/// Bit `k` set when byte `k` of the little-endian word `w` is an ASCII digit: eight bytes tested
/// at once, with no branch per byte (`w ^ '0'` leaves digits as 0..=9; a byte is above 9 when
/// adding 0x76 to its low seven bits sets its top bit, or its own top bit is set; the adds never
/// carry into the next byte).
fn digit_byte_mask(w: u64) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let t = w ^ 0x3030_3030_3030_3030;
    let other = ((t & LOW7).wrapping_add(0x7676_7676_7676_7676) | t) & HIGH;
    // One bit per byte (bit 8k), gathered into bits 56..64 by one multiplication.
    ((!other & HIGH) >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// Block size of [`find_digit_runs`] (at most 64; 32 measured slower on clean and dense text).
const DIGIT_BLOCK: usize = 64;

/// Appends every maximal run of ASCII digits in `bytes` to `runs` (`(start, end)`, in order) and
/// returns the number of digits. Blocks of [`DIGIT_BLOCK`] bytes without a digit are skipped in
/// one test; in the others, the runs' starts and ends are read off a bit mask of the digits with
/// bit scans: a few instructions per run and per eight bytes instead of per byte (dense text has
/// a digit run every ~15 bytes).
fn find_digit_runs(bytes: &[u8], runs: &mut Vec<(usize, usize)>) -> usize {
    let n = bytes.len();
    let mut digits = 0;
    // The start of a run still going at the end of the last block.
    let mut open: Option<usize> = None;
    for base in (0..n).step_by(DIGIT_BLOCK) {
        let width = (n - base).min(DIGIT_BLOCK);
        // Blocks without a digit (most of them in prose) in one vectorised test.
        if open.is_none()
            && bytes[base..base + width]
                .iter()
                .fold(0u8, |a, c| a | u8::from(c.is_ascii_digit()))
                == 0
        {
            continue;
        }
        let mut m = 0u64;
        for q in (0..width).step_by(8) {
            let at = base + q;
            let w = match bytes.get(at..at + 8) {
                Some(w) => u64::from_le_bytes(w.try_into().expect("eight bytes")),
                None => {
                    // The text's last bytes, padded with NULs (not digits).
                    let mut t = [0u8; 8];
                    t[..n - at].copy_from_slice(&bytes[at..]);
                    u64::from_le_bytes(t)
                }
            };
            m |= digit_byte_mask(w) << q;
        }
        digits += m.count_ones() as usize;
        // A run starts at a digit after a non-digit and ends at a non-digit after a digit (the
        // byte before the block is a digit when a run is open). Past a short last block the
        // mask is clear, so a run there ends at the text's end; a run reaching the end of a
        // full block goes on in the next.
        let before = m << 1 | u64::from(open.is_some());
        let mut starts = m & !before;
        let mut ends = !m & before;
        if let Some(rs) = open.take() {
            if ends == 0 {
                open = Some(rs);
                continue;
            }
            runs.push((rs, base + ends.trailing_zeros() as usize));
            ends &= ends - 1;
        }
        while starts != 0 {
            let rs = base + starts.trailing_zeros() as usize;
            starts &= starts - 1;
            if ends == 0 {
                open = Some(rs);
                break;
            }
            runs.push((rs, base + ends.trailing_zeros() as usize));
            ends &= ends - 1;
        }
    }
    if let Some(rs) = open {
        runs.push((rs, n));
    }
    digits
}

/// Adds `(lo, hi)` to sorted, merged `windows`.
pub(crate) fn push_window(windows: &mut Vec<(usize, usize)>, lo: usize, hi: usize) {
    match windows.last_mut() {
        Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
        _ => windows.push((lo, hi)),
    }
}

impl Drop for Scan<'_> {
    /// Hands the buffers back to this thread for its next call (see [`ScanBuffers`]).
    fn drop(&mut self) {
        let keep = |cap: usize| cap <= KEEP_BUFFER_BYTES;
        let b = ScanBuffers {
            lower: std::mem::take(&mut self.lower),
            digit_runs: std::mem::take(&mut self.digit_runs),
            numeric_digits: std::mem::take(&mut self.numeric_digits),
            anchors: std::mem::take(&mut self.anchors),
        };
        if keep(b.lower.capacity())
            && keep(b.digit_runs.capacity() * std::mem::size_of::<(usize, usize)>())
            && keep(b.anchors.capacity() * std::mem::size_of::<anchors::AnchorHit>())
        {
            // Fails only while the thread is being torn down: then the buffers are just freed.
            let _ = SCAN_BUFFERS.try_with(|slot| slot.set(b));
        }
    }
}

impl<'a> Scan<'a> {
    fn new(text: &'a str, ctx: &'a context::Context, wanted: u64) -> Self {
        let bytes = text.as_bytes();
        let ScanBuffers {
            mut lower,
            mut digit_runs,
            mut numeric_digits,
            mut anchors,
        } = SCAN_BUFFERS.try_with(|b| b.take()).unwrap_or_default();
        lower.clear();
        lower.push_str(text);
        lower.make_ascii_lowercase();
        digit_runs.clear();
        anchors.clear();
        // Cheap whole-text flags first (each a vectorised scan), windows only where digits are.
        let has_at = memchr::memchr(b'@', bytes).is_some();
        let has_upper = bytes.iter().any(u8::is_ascii_uppercase);
        let has_non_ascii = !text.is_ascii();
        // OR-folding fixed blocks (not `any` per byte) lets these loops vectorise.
        let has_cjk = has_non_ascii
            && bytes.chunks(64).any(|ch| {
                ch.iter()
                    .fold(0u8, |a, &c| a | u8::from(c.wrapping_sub(0xE3) < 7))
                    != 0
            });
        // Possible IPv6: "::" or two colons separated by 1-4 hex digits ("fe80:570a:…"), not a
        // clock time followed by words ("10:30 in").
        let has_hex_colon = memchr::memchr_iter(b':', bytes).any(|i| {
            let rest = &bytes[i + 1..];
            if rest.first() == Some(&b':') {
                return true;
            }
            let n = rest
                .iter()
                .take(5)
                .take_while(|c| c.is_ascii_hexdigit())
                .count();
            i > 0
                && bytes[i - 1].is_ascii_hexdigit()
                && (1..=4).contains(&n)
                && rest.get(n) == Some(&b':')
        });
        let digits = find_digit_runs(bytes, &mut digit_runs);
        // Digit runs joined by numeric bytes form one cluster; each run gets its cluster's digits.
        numeric_digits.clear();
        numeric_digits.resize(digit_runs.len(), 0);
        let mut k = 0;
        while k < digit_runs.len() {
            let mut j = k;
            let mut n = (digit_runs[k].1 - digit_runs[k].0) as u32;
            while j + 1 < digit_runs.len()
                && bytes[digit_runs[j].1..digit_runs[j + 1].0]
                    .iter()
                    .all(|&c| numeric_byte(c))
            {
                j += 1;
                n += (digit_runs[j].1 - digit_runs[j].0) as u32;
            }
            numeric_digits[k..=j].fill(n);
            k = j + 1;
        }
        Scan {
            text,
            lower,
            bytes,
            digits,
            has_at,
            has_upper,
            has_hex_colon,
            has_non_ascii,
            has_cjk,
            digit_runs,
            numeric_digits,
            ctx,
            anchors,
            cues: ((wanted & CUE_USER_MASK).count_ones() as usize >= CUE_MEMO_MIN_USERS)
                .then(context::CueCache::default),
            wanted,
        }
    }

    /// The nearest cue of `kinds` ending before `pos` within `window` bytes
    /// ([`context::Context::kind_before`] of `ctx` on `lower`, answered from a per-call memo when
    /// there is one).
    pub fn cue_before(
        &self,
        pos: usize,
        window: usize,
        kinds: &[context::Ctx],
    ) -> Option<context::Hit> {
        match &self.cues {
            Some(c) => c.kind_before(self.ctx, &self.lower, pos, window, kinds),
            None => self.ctx.kind_before(&self.lower, pos, window, kinds),
        }
    }

    /// The nearest cue of any kind ending before `pos` within `window` bytes
    /// ([`context::Context::nearest_before`], from the memo when there is one).
    pub fn cue_nearest_before(&self, pos: usize, window: usize) -> Option<context::Hit> {
        match &self.cues {
            Some(c) => c.nearest_before(self.ctx, &self.lower, pos, window),
            None => self.ctx.nearest_before(&self.lower, pos, window),
        }
    }

    /// The first cue of `kinds` starting after `pos` within `window` bytes
    /// ([`context::Context::kind_after`], from the memo when there is one).
    pub fn cue_after(
        &self,
        pos: usize,
        window: usize,
        kinds: &[context::Ctx],
    ) -> Option<context::Hit> {
        match &self.cues {
            Some(c) => c.kind_after(self.ctx, &self.lower, pos, window, kinds),
            None => self.ctx.kind_after(&self.lower, pos, window, kinds),
        }
    }

    /// Whether the config asks for `e`.
    pub fn want(&self, e: EntityType) -> bool {
        self.wanted & entity_bit(e) != 0
    }

    /// The maximal runs of bytes in `class` that hold at least `min_digits` ASCII digits, taken
    /// around the digit runs for which `start(rs, re)` holds (others only join a run).
    ///
    /// `class` must accept every ASCII digit and only ASCII bytes. A pattern whose matches consist
    /// of `class` bytes only, and always contain a digit from a qualifying digit run, can match
    /// only inside these runs, and never across two of them: a search of the runs finds exactly
    /// what a search of the whole text finds, at a fraction of the cost on dense text. Runs
    /// start and end next to ASCII bytes, so they are on char boundaries.
    pub fn class_runs(
        &self,
        class: impl Fn(u8) -> bool,
        min_digits: usize,
        start: impl Fn(&[u8], usize, usize) -> bool,
    ) -> Vec<(usize, usize)> {
        self.runs_of(class, min_digits, start, false)
    }

    /// [`Scan::class_runs`]; with `numeric`, `class` holds only [`numeric_byte`]s, so a digit
    /// run whose numeric cluster has fewer than `min_digits` digits starts no run (any run
    /// through it has fewer): in prose, where numbers are short, nearly every run is set aside
    /// by one comparison.
    fn runs_of(
        &self,
        class: impl Fn(u8) -> bool,
        min_digits: usize,
        start: impl Fn(&[u8], usize, usize) -> bool,
        numeric: bool,
    ) -> Vec<(usize, usize)> {
        let b = self.bytes;
        let mut out = Vec::new();
        // Current run: start, end, digits seen.
        let mut cur: Option<(usize, usize, usize)> = None;
        for (k, &(rs, re)) in self.digit_runs.iter().enumerate() {
            if let Some((_, hi, n)) = cur.as_mut() {
                if rs < *hi {
                    *n += re - rs;
                    continue;
                }
            }
            if numeric && (self.numeric_digits[k] as usize) < min_digits {
                continue;
            }
            if !start(b, rs, re) {
                continue;
            }
            if let Some((lo, hi, n)) = cur.take() {
                if n >= min_digits {
                    out.push((lo, hi));
                }
            }
            let mut lo = rs;
            while lo > 0 && class(b[lo - 1]) {
                lo -= 1;
            }
            let mut hi = re;
            while hi < b.len() && class(b[hi]) {
                hi += 1;
            }
            // Digits of earlier runs swallowed by the left extension count too.
            let before = b[lo..rs].iter().filter(|c| c.is_ascii_digit()).count();
            cur = Some((lo, hi, re - rs + before));
        }
        if let Some((lo, hi, n)) = cur {
            if n >= min_digits {
                out.push((lo, hi));
            }
        }
        out
    }

    /// [`Scan::class_runs`] started from every digit run, for a `class` of [`numeric_byte`]s
    /// only (digits, `X`/`x` and the separators of written numbers).
    pub fn digit_class_runs(
        &self,
        class: impl Fn(u8) -> bool,
        min_digits: usize,
    ) -> Vec<(usize, usize)> {
        debug_assert!(
            (0..=255u8).all(|c| !class(c) || numeric_byte(c)),
            "digit_class_runs needs a class of numeric bytes"
        );
        self.runs_of(class, min_digits, |_, _, _| true, true)
    }

    /// Like [`Scan::find_in`], over the lower-cased copy (same offsets).
    #[cfg(test)]
    pub fn find_in_lower<'s>(
        &'s self,
        re: &'s regex::Regex,
        windows: &'s [(usize, usize)],
    ) -> impl Iterator<Item = Hit<'s>> + 's {
        windows.iter().flat_map(move |&(lo, hi)| {
            re.find_iter(&self.lower[lo..hi]).map(move |m| Hit {
                s: lo + m.start(),
                e: lo + m.end(),
                text: self.lower.as_str(),
            })
        })
    }

    /// Matches of `re` inside `windows` (absolute offsets, no duplicates: windows are disjoint).
    pub fn find_in<'s>(
        &'s self,
        re: &'s regex::Regex,
        windows: &'s [(usize, usize)],
    ) -> impl Iterator<Item = Hit<'s>> + 's {
        windows.iter().flat_map(move |&(lo, hi)| {
            re.find_iter(&self.text[lo..hi]).map(move |m| Hit {
                s: lo + m.start(),
                e: lo + m.end(),
                text: self.text,
            })
        })
    }
}

/// A compiled detector: build once per policy, share behind an `Arc`, call [`Detector::find`]
/// from any thread.
#[derive(Debug)]
pub struct Detector {
    config: DetectorConfig,
    /// `config.entities` as a mask (see [`entity_mask`]).
    wanted: u64,
    allow: Vec<String>,
    ctx: context::Context,
    patterns: patterns::Patterns,
    dates: dates::Dates,
    /// The birth cues, found at their anchors.
    birth_cues: context::AnchoredCues,
    /// The search for [`context::BIRTH_ANCHORS`].
    birth_anchors: anchors::Anchors,
    /// The passport cues, found at their anchors (passports are searched only after one).
    passport_cues: context::AnchoredCues,
    /// The literals that gate the URL, secret, passport and self-introduction searches, for
    /// the wanted entity types: one search per call (see `anchors`).
    anchors: anchors::Anchors,
    addresses: address::Addresses,
    names: names::Names,
    /// National identifiers, MAC and wallet addresses.
    ids: ids::Ids,
    /// The policy's context boosts, if it declares any.
    boosts: Option<boost::Boosts>,
}

impl Detector {
    /// Compiles every recognizer the config enables.
    pub fn new(config: DetectorConfig) -> Result<Detector, DetectError> {
        // The cues numeric recognizers and dates consult (a smaller automaton is a faster one).
        use context::Ctx as C;
        let numeric_kinds = [
            C::Ip,
            C::Phone,
            C::Card,
            C::Ssn,
            C::Passport,
            C::Nino,
            C::Bank,
            C::NotPii,
            C::Birth,
        ];
        let ctx =
            context::Context::with_kinds(&numeric_kinds).map_err(|e| DetectError::Pattern {
                name: "context".into(),
                reason: e.to_string(),
            })?;
        Ok(Detector {
            birth_cues: context::AnchoredCues::new(&[C::Birth], context::BIRTH_ANCHORS),
            birth_anchors: anchors::Anchors::new(&[anchors::Group::Birth]),
            passport_cues: context::AnchoredCues::new(&[C::Passport], context::PASSPORT_ANCHORS),
            anchors: {
                use anchors::Group as G;
                let wanted = |e: &EntityType| config.entities.contains(e);
                let groups: Vec<G> = [
                    (EntityType::Url, G::Url),
                    (EntityType::ApiKey, G::Secret),
                    (EntityType::Passport, G::Passport),
                    (EntityType::Person, G::Intro),
                ]
                .iter()
                .filter(|(e, _)| wanted(e))
                .map(|&(_, g)| g)
                .collect();
                anchors::Anchors::new(&groups)
            },
            allow: config.allow_list.iter().map(|s| s.to_lowercase()).collect(),
            wanted: entity_mask(&config.entities),
            ctx,
            patterns: patterns::Patterns::new()?,
            dates: dates::Dates::new()?,
            addresses: address::Addresses::new()?,
            names: names::Names::new()?,
            ids: ids::Ids::new()?,
            boosts: boost::Boosts::new(&config.boosts)?,
            config,
        })
    }

    /// The configuration this detector was built from.
    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// Finds PII in `text`: sorted by `start`, non-overlapping, every range on char boundaries.
    pub fn find(&self, text: &str) -> Vec<Finding> {
        if text.is_empty() || self.config.entities.is_empty() {
            return Vec::new();
        }
        let norm = normalize::normalize(text);
        let t: &str = &norm.text;
        let mut scan = Scan::new(t, &self.ctx, self.wanted);
        self.anchors
            .find_into(scan.lower.as_bytes(), &mut scan.anchors);
        // Candidates come mostly with numbers: on number-dense text (a candidate every ~30
        // bytes) room up front, so the list does not grow and copy itself several times a call.
        let room = if scan.digits < 256 {
            32
        } else {
            (scan.digits / 4).min(4096)
        };
        let mut cands = Vec::with_capacity(room);
        // Passports and dates of birth are only reported near their cues, so they are searched
        // only in windows after (or around) a cue. Every passport cue contains "pas" or 护照 (the
        // call's literal search found those), and the cues are compared at them.
        let mut passport_windows = Vec::new();
        if scan.want(EntityType::Passport) && scan.digits >= 5 {
            let anchors = scan
                .anchors
                .iter()
                .filter(|h| h.group == anchors::Group::Passport);
            for h in self.passport_cues.find(scan.lower.as_bytes(), anchors) {
                let hi = context::ceil_boundary(t, h.end + 64);
                push_window(&mut passport_windows, h.end, hi);
            }
        }
        self.patterns.run(&scan, &passport_windows, &mut cands);
        self.ids.run(&scan, &mut cands);
        for c in &self.config.custom {
            c.run(&scan, &mut cands);
        }
        if scan.want(EntityType::DateOfBirth) && scan.digits >= 4 && dates::may_hold_date(&scan) {
            // Every birth cue holds an anchor: one search for those, and the cues are compared
            // at them (the same cues as a whole-text search, see `context::AnchoredCues`). Kept apart
            // from the call's literal search, which slows down with more literals, and run only
            // here.
            let lower = scan.lower.as_bytes();
            let anchors = self.birth_anchors.find(lower);
            let cues = self.birth_cues.find(lower, &anchors);
            let mut birth_windows = Vec::with_capacity(cues.len());
            for h in cues {
                let lo = context::floor_boundary(t, h.start.saturating_sub(48));
                let hi = context::ceil_boundary(t, h.end + 64);
                push_window(&mut birth_windows, lo, hi);
            }
            if !birth_windows.is_empty() {
                self.dates.run(&scan, &birth_windows, &mut cands);
            }
        }
        if scan.want(EntityType::StreetAddress) {
            self.addresses.run(&scan, &mut cands);
        }
        if scan.want(EntityType::Person) {
            let before = cands.len();
            self.names.run_after(&scan, &mut cands, before);
        }
        if let Some(b) = &self.boosts {
            b.apply(t, &mut cands);
        }
        cands.retain(|f| {
            f.score >= self.config.min_score
                && self.wanted & entity_bit(f.entity) != 0
                && f.start < f.end
                && f.end <= t.len()
                && t.is_char_boundary(f.start)
                && t.is_char_boundary(f.end)
        });
        if !self.allow.is_empty() {
            cands.retain(|f| !self.allow.contains(&t[f.start..f.end].to_lowercase()));
        }
        let mut out = resolve(cands);
        for f in &mut out {
            f.start = norm.original(f.start);
            f.end = norm.original(f.end);
        }
        out
    }
}

impl Detector {
    /// Which of the policy's custom recognizers produced `finding` (from [`Detector::find`] on
    /// the same `text`), if one did: for reports such as `privgate scan --json`. Not for the
    /// request path: it runs the custom recognizers again.
    pub fn custom_recognizer_of(&self, text: &str, finding: &Finding) -> Option<&str> {
        if self.config.custom.is_empty() {
            return None;
        }
        let norm = normalize::normalize(text);
        let scan = Scan::new(&norm.text, &self.ctx, self.wanted);
        let mut out = Vec::new();
        self.config.custom.iter().find_map(|c| {
            out.clear();
            c.run(&scan, &mut out);
            out.iter()
                .any(|f| {
                    f.entity == finding.entity
                        && norm.original(f.start) == finding.start
                        && norm.original(f.end) == finding.end
                })
                .then(|| c.name())
        })
    }
}

/// One default detector shared by the unit tests (building one compiles every recognizer).
#[cfg(test)]
pub(crate) fn test_detector() -> &'static Detector {
    static D: once_cell::sync::Lazy<Detector> =
        once_cell::sync::Lazy::new(|| Detector::new(DetectorConfig::default()).expect("compiles"));
    &D
}

/// The detector's overlap resolution, for findings from several sources (the built-in
/// detector and an external analyzer): keep the highest score, then the longest, then the
/// earliest, then the first in `findings`; result sorted by start and non-overlapping.
pub fn resolve_overlaps(findings: Vec<Finding>) -> Vec<Finding> {
    resolve(findings)
}

/// Overlap resolution: keep the highest score, then the longest (then the earliest, then the first
/// reported); result sorted by start.
///
/// Greedy over the whole list, but computed per group of transitively overlapping findings: a
/// choice in one group never affects another, so each group is sorted by priority on its own
/// (small sorts instead of one large one).
fn resolve(cands: Vec<Finding>) -> Vec<Finding> {
    // Indexes by start, ties in report order. Sorting 8-byte keys (start, then index) costs
    // less than moving the 32-byte findings through a stable sort (dense 16 KB: ~500
    // candidates, 1.1% fewer instructions per call); the keys then become the indexes.
    let fits = |n: usize| u32::try_from(n).is_ok();
    let order: Vec<u64> = if fits(cands.len()) && cands.iter().all(|f| fits(f.start)) {
        let mut keys: Vec<u64> = cands
            .iter()
            .enumerate()
            .map(|(i, f)| (f.start as u64) << 32 | i as u64)
            .collect();
        keys.sort_unstable();
        for k in &mut keys {
            *k &= 0xFFFF_FFFF;
        }
        keys
    } else {
        let mut o: Vec<u64> = (0..cands.len() as u64).collect();
        o.sort_by_key(|&i| cands[i as usize].start);
        o
    };
    let at = |i: u64| cands[i as usize];
    let priority = |a: &u64, b: &u64| {
        let (x, y) = (at(*a), at(*b));
        y.score
            .total_cmp(&x.score)
            .then((y.end - y.start).cmp(&(x.end - x.start)))
            .then(x.start.cmp(&y.start))
            .then(a.cmp(b))
    };
    let mut order = order;
    let mut kept = Vec::with_capacity(order.len());
    // Bytes of the current group already claimed by a kept finding (groups are short: a bit
    // mask of their first 128 bytes, a list beyond).
    let mut taken_long: Vec<bool> = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let (lo, mut hi) = (at(order[i]).start, at(order[i]).end);
        let mut j = i + 1;
        while j < order.len() && at(order[j]).start < hi {
            hi = hi.max(at(order[j]).end);
            j += 1;
        }
        let group = &mut order[i..j];
        if let [only] = group {
            kept.push(at(*only));
        } else {
            group.sort_unstable_by(priority);
            let first = kept.len();
            if hi - lo <= 128 {
                let mut taken = 0u128;
                for &g in group.iter() {
                    let f = at(g);
                    let (a, z) = (f.start - lo, f.end - lo);
                    // The bits a..z (z - a is 1 to 128).
                    let span = (u128::MAX >> (128 - (z - a))) << a;
                    if taken & span == 0 {
                        taken |= span;
                        kept.push(f);
                    }
                }
            } else {
                taken_long.clear();
                taken_long.resize(hi - lo, false);
                for &g in group.iter() {
                    let f = at(g);
                    let span = &mut taken_long[f.start - lo..f.end - lo];
                    if !span.contains(&true) {
                        span.fill(true);
                        kept.push(f);
                    }
                }
            }
            kept[first..].sort_unstable_by_key(|f| f.start);
        }
        i = j;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn detector_is_send_sync() {
        assert_send_sync::<Detector>();
    }

    #[test]
    fn reused_buffers_carry_nothing_between_calls() {
        let d = test_detector();
        let long = "Card 4539 1488 0343 6467, SSN 536-22-1947, mail a.b@example.org, \
                    key sk-proj-Xk29fLq8Zr4mN7tV1cB5yH3wP6sD0gJ2, born 14/02/1983. "
            .repeat(40);
        let short = "Call +44 20 7946 0958 or mail c.d@example.net";
        // A fresh thread has no kept buffers: its answer is the reference.
        let fresh = std::thread::scope(|s| s.spawn(|| d.find(short)).join().unwrap());
        assert!(!d.find(&long).is_empty());
        assert_eq!(d.find(short), fresh);
        assert!(d.find("").is_empty());
        assert_eq!(d.find(short), fresh);
    }

    #[test]
    fn entity_names_are_the_serde_names_and_parse_back() {
        for e in EntityType::ALL {
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(json, format!("\"{}\"", e.as_str()));
            assert_eq!(EntityType::parse(&e.as_str().to_lowercase()), Some(e));
        }
        let distinct: BTreeSet<EntityType> = EntityType::ALL.into_iter().collect();
        assert_eq!(distinct.len(), EntityType::ALL.len());
    }

    #[test]
    fn cue_user_mask_is_the_list() {
        let want: u64 = CUE_USERS.iter().fold(0, |m, &e| m | entity_bit(e));
        assert_eq!(CUE_USER_MASK, want);
        assert_eq!(CUE_USER_MASK.count_ones() as usize, CUE_USERS.len());
    }

    #[test]
    fn entity_bits_are_distinct() {
        let mask = entity_mask(&EntityType::ALL.into_iter().collect());
        assert_eq!(mask.count_ones() as usize, EntityType::ALL.len());
    }

    #[test]
    fn config_struct_update_syntax() {
        let c = DetectorConfig {
            entities: [EntityType::Email].into_iter().collect(),
            min_score: 0.1,
            ..Default::default()
        };
        let d = Detector::new(c).unwrap();
        let f = d.find("write to a@b.com or call +1 415 555 0100");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].entity, EntityType::Email);
    }

    #[test]
    fn resolve_prefers_score_then_length() {
        let f = |s, e, score| Finding {
            start: s,
            end: e,
            entity: EntityType::Phone,
            score,
        };
        let r = resolve(vec![
            f(0, 10, 0.5),
            f(2, 5, 0.9),
            f(4, 12, 0.9),
            f(20, 25, 0.1),
        ]);
        assert_eq!(
            r.iter().map(|x| (x.start, x.end)).collect::<Vec<_>>(),
            vec![(4, 12), (20, 25)]
        );
    }

    #[test]
    fn allow_list() {
        let d = Detector::new(DetectorConfig {
            allow_list: vec!["Support@Example.com".into()],
            ..Default::default()
        })
        .unwrap();
        assert!(d.find("mail support@example.com").is_empty());
    }

    #[test]
    fn finding_debug_has_no_value() {
        let d = Detector::new(DetectorConfig::default()).unwrap();
        let f = d.find("mail jane.doe@example.com");
        let dbg = format!("{f:?}");
        assert!(!dbg.contains("jane"));
    }

    #[test]
    fn never_panics_on_odd_input() {
        let d = Detector::new(DetectorConfig::default()).unwrap();
        for t in [
            "",
            "\u{0}",
            "１",
            "＠",
            "电话",
            "a@",
            "+",
            "((((",
            "-----BEGIN PRIVATE KEY-----",
            "\u{10FFFF}1234567890123",
        ] {
            for f in d.find(t) {
                assert!(t.is_char_boundary(f.start) && t.is_char_boundary(f.end));
            }
        }
    }

    /// The plain greedy resolution the grouped one must equal.
    fn resolve_naive(mut cands: Vec<Finding>) -> Vec<Finding> {
        cands.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then((b.end - b.start).cmp(&(a.end - a.start)))
                .then(a.start.cmp(&b.start))
        });
        let mut kept: Vec<Finding> = Vec::new();
        for c in cands {
            if kept.iter().all(|k| k.end <= c.start || c.end <= k.start) {
                kept.push(c);
            }
        }
        kept.sort_by_key(|f| f.start);
        kept
    }

    proptest::proptest! {
        #[test]
        fn digit_runs_are_the_maximal_ones(s in "[0-9a /:é中]{0,300}") {
            let d = test_detector();
            let scan = Scan::new(&s, &d.ctx, d.wanted);
            let b = s.as_bytes();
            let mut want = Vec::new();
            let mut i = 0;
            while i < b.len() {
                let rs = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                if i > rs {
                    want.push((rs, i));
                } else {
                    i += 1;
                }
            }
            proptest::prop_assert_eq!(scan.digits, want.iter().map(|r| r.1 - r.0).sum::<usize>());
            proptest::prop_assert_eq!(&scan.digit_runs, &want);
        }

        /// The numeric-cluster gate of `digit_class_runs` drops only runs that could not hold
        /// enough digits: the runs are those of the ungated search.
        #[test]
        fn numeric_gate_keeps_every_run(s in "([0-9]{1,5}|[ ()+./xX-]{1,3}|[a-z]{1,3}){0,30}", min in 1usize..14) {
            let d = test_detector();
            let scan = Scan::new(&s, &d.ctx, d.wanted);
            let classes: [fn(u8) -> bool; 3] = [
                |c| c.is_ascii_digit() || c == b' ' || c == b'-',
                |c| c.is_ascii_digit() || matches!(c, b'(' | b')' | b'+' | b' ' | b'-' | b'.' | b'/'),
                |c| c.is_ascii_digit() || c == b'X' || c == b'x',
            ];
            for class in classes {
                proptest::prop_assert_eq!(
                    scan.digit_class_runs(class, min),
                    scan.runs_of(class, min, |_, _, _| true, false)
                );
            }
        }

        /// Short findings (groups within the 128-byte mask) and long ones (groups beyond it).
        #[test]
        fn grouped_resolution_is_the_greedy_one(
            v in proptest::collection::vec(
                (0usize..60, proptest::prop_oneof![1usize..12, 1usize..12, 60usize..140], 0u8..4, 0usize..3),
                0..40,
            )
        ) {
            let entities = [EntityType::Phone, EntityType::UsSsn, EntityType::CreditCard];
            let cands: Vec<Finding> = v
                .iter()
                .map(|&(s, l, sc, e)| Finding {
                    start: s,
                    end: s + l,
                    entity: entities[e],
                    score: f32::from(sc) / 4.0,
                })
                .collect();
            proptest::prop_assert_eq!(resolve(cands.clone()), resolve_naive(cands));
        }

        #[test]
        fn findings_are_sorted_disjoint_and_on_boundaries(s in "\\PC{0,80}") {
            let d = test_detector();
            let f = d.find(&s);
            for w in f.windows(2) {
                proptest::prop_assert!(w[0].end <= w[1].start);
            }
            for x in &f {
                proptest::prop_assert!(x.start < x.end && x.end <= s.len());
                proptest::prop_assert!(s.is_char_boundary(x.start) && s.is_char_boundary(x.end));
            }
        }

        #[test]
        fn any_slice_of_dense_text_is_handled(a in 0usize..1000, len in 0usize..400, fw in proptest::bool::ANY) {
            let src = include_str!("../../benches/data/dense.txt");
            let mut s: String = src.chars().skip(a % src.chars().count()).take(len).collect();
            if fw {
                // Full-width digits and '@' exercise the normalisation offset map.
                s = s.replace('1', "１").replace('@', "＠");
            }
            let f = test_detector().find(&s);
            for w in f.windows(2) {
                proptest::prop_assert!(w[0].end <= w[1].start);
            }
            for x in &f {
                proptest::prop_assert!(s.is_char_boundary(x.start) && s.is_char_boundary(x.end));
            }
        }

        #[test]
        fn piiish_strings_never_panic(s in "[0-9０-９a-zA-Z@.:+()\\- 电话姓名出生于，]{0,60}") {
            let _ = test_detector().find(&s);
        }

        /// Cue words, keywords and number shapes next to multi-byte characters: every recognizer
        /// that reads on from a cue meets a character boundary it must respect.
        #[test]
        fn cue_words_next_to_multibyte_text_never_panic(
            s in "(zip |plz|postcode|my address is|lives at|phone|tel:|dob|born|né le|iban|card|ssn|passport|my name is|ich heiße|je m'appelle|key=|token |https://|www\\.|@|电话|邮编|地址|我叫|出|é|ß|１|，|。| |:|-|/|\\.|12|2024|A|x){0,40}"
        ) {
            let _ = test_detector().find(&s);
        }
    }
}
