//! Custom recognizers: a policy's own `[[recognizer]]` tables (a regex, an optional named
//! checksum, optional context words), compiled once at policy load and run by the detector
//! beside the built-in recognizers.
//!
//! Owns: the fixed list of validators a policy may name ([`Validator`]), compiling a
//! [`CustomSpec`] into a [`CustomRecognizer`] (size-limited regex, context automaton) and running
//! it over a scan. Does not own: parsing or reporting policy problems (see `policy`), nor
//! filtering and overlap resolution (the detector treats these findings like any other).

use aho_corasick::{AhoCorasick, MatchKind};
use regex::{Regex, RegexBuilder};

use super::patterns::{left_ok, right_ok};
use super::validators as v;
use super::{DetectError, EntityType, Finding, Scan};

/// Compiled program size limit for one custom pattern: a policy cannot make privgate allocate
/// more than this (plus the lazy DFA cache below) per recognizer.
pub const PATTERN_SIZE_LIMIT: usize = 1 << 20;
/// Lazy DFA cache limit for one custom pattern.
const DFA_SIZE_LIMIT: usize = 2 << 20;
/// Context words count when they end at most this many bytes before a match.
pub const CONTEXT_WINDOW: usize = 48;
/// Score of a match without a context word, unless the policy says otherwise.
pub const DEFAULT_SCORE: f32 = 0.6;
/// Score added when a context word precedes the match, unless the policy says otherwise.
pub const DEFAULT_CONTEXT_BOOST: f32 = 0.3;

/// A checksum or structure check a custom recognizer can require of its matches: the same
/// functions the built-in recognizers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    /// Luhn (payment cards, many customer and device numbers).
    Luhn,
    /// IBAN: country, length, MOD 97-10.
    Iban,
    /// PRC resident identity card, MOD 11-2 and birth date.
    CnResidentId,
    /// US SSN area, group and serial rules.
    UsSsn,
    /// UK national insurance number prefix and suffix rules.
    UkNino,
    /// German tax id, MOD 11,10 and digit repetition.
    DeTaxId,
    /// German identity card number, 7-3-1 check digit.
    DeIdCard,
    /// French NIR, mod-97 key.
    FrNir,
    /// Spanish DNI / NIE control letter.
    EsDni,
    /// Italian fiscal code check letter.
    ItFiscalCode,
    /// Dutch BSN 11-proof.
    NlBsn,
    /// A unicast, non-zero MAC address.
    MacAddress,
    /// A Bitcoin address (base58check or bech32/bech32m).
    Bitcoin,
    /// An Ethereum address (EIP-55 checksum when mixed case).
    Ethereum,
}

impl Validator {
    /// Every validator, with the name a policy uses for it.
    pub const ALL: [(&'static str, Validator); 14] = [
        ("luhn", Validator::Luhn),
        ("iban", Validator::Iban),
        ("cn_resident_id", Validator::CnResidentId),
        ("us_ssn", Validator::UsSsn),
        ("uk_nino", Validator::UkNino),
        ("de_tax_id", Validator::DeTaxId),
        ("de_id_card", Validator::DeIdCard),
        ("fr_nir", Validator::FrNir),
        ("es_dni", Validator::EsDni),
        ("it_fiscal_code", Validator::ItFiscalCode),
        ("nl_bsn", Validator::NlBsn),
        ("mac_address", Validator::MacAddress),
        ("bitcoin", Validator::Bitcoin),
        ("ethereum", Validator::Ethereum),
    ];

    /// Parses a validator name (case-insensitive; `it_codice_fiscale` is accepted for
    /// `it_fiscal_code`).
    pub fn parse(name: &str) -> Option<Validator> {
        if name.eq_ignore_ascii_case("it_codice_fiscale") {
            return Some(Validator::ItFiscalCode);
        }
        Validator::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The names, comma-separated, for error messages.
    pub fn names() -> String {
        Validator::ALL
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether `matched` passes. Digit checks (`luhn`, `us_ssn`, `de_tax_id`, `nl_bsn`) see its
    /// ASCII digits only (so `DEV-1234-5674` is checked as `12345674`); other identifier checks
    /// see its ASCII letters and digits, upper-cased (`gb82 west …` as `GB82WEST…`); address
    /// checks see the value as it is.
    pub fn check(self, matched: &str) -> bool {
        let compact = || -> Vec<u8> {
            matched
                .bytes()
                .filter(u8::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_uppercase())
                .collect()
        };
        let digits = || -> Vec<u8> { matched.bytes().filter(u8::is_ascii_digit).collect() };
        match self {
            Validator::Luhn => v::luhn(&digits()),
            Validator::Iban => v::iban(&compact()),
            Validator::CnResidentId => v::cn_resident_id(&compact()),
            Validator::UsSsn => v::us_ssn(&digits()),
            Validator::UkNino => v::uk_nino(&compact()),
            Validator::DeTaxId => v::de_tax_id(&digits()),
            Validator::DeIdCard => v::de_id_card(&compact()),
            Validator::FrNir => v::fr_nir(&compact()),
            Validator::EsDni => v::es_dni(&compact()),
            Validator::ItFiscalCode => v::it_fiscal_code(&compact()),
            Validator::NlBsn => v::nl_bsn(&digits()),
            Validator::MacAddress => v::mac_address(matched.trim()),
            Validator::Bitcoin => {
                let t = matched.trim();
                v::btc_base58(t.as_bytes()) || v::btc_bech32(t)
            }
            Validator::Ethereum => v::eth_address(matched.trim().as_bytes()).is_some(),
        }
    }
}

/// What a policy declares for one custom recognizer (already checked for names and ranges).
#[derive(Debug, Clone)]
pub struct CustomSpec {
    /// Short id, unique within the policy (reports and tests name it).
    pub name: String,
    /// The entity type its findings carry.
    pub entity: EntityType,
    /// The regex (regex crate syntax). When it has a group named `value`, only that group is
    /// reported and validated (the rest of the match is context, e.g. a label before the value).
    pub pattern: String,
    /// A checksum every match must pass.
    pub validator: Option<Validator>,
    /// Words that raise the score when one ends within [`CONTEXT_WINDOW`] bytes before a match
    /// (ASCII case-insensitive, whole words where they begin or end with an ASCII letter or
    /// digit).
    pub context: Vec<String>,
    /// Score without a context word.
    pub score: f32,
    /// Added with a context word (the sum is capped at 1.0).
    pub context_boost: f32,
}

/// A compiled custom recognizer, ready to run.
#[derive(Debug, Clone)]
pub struct CustomRecognizer {
    name: String,
    entity: EntityType,
    re: Regex,
    /// Index of the capture group named `value`, if the pattern has one.
    value_group: Option<usize>,
    validator: Option<Validator>,
    cues: Option<AhoCorasick>,
    score: f32,
    boost: f32,
}

impl CustomRecognizer {
    /// Compiles a spec: the regex is size-limited ([`PATTERN_SIZE_LIMIT`]) and must not match
    /// the empty string.
    pub fn new(spec: CustomSpec) -> Result<CustomRecognizer, DetectError> {
        let err = |reason: String| DetectError::Pattern {
            name: spec.name.clone(),
            reason,
        };
        let re = RegexBuilder::new(&spec.pattern)
            .size_limit(PATTERN_SIZE_LIMIT)
            .dfa_size_limit(DFA_SIZE_LIMIT)
            .build()
            .map_err(|e| err(e.to_string()))?;
        if re.is_match("") {
            return Err(err(
                "the pattern matches the empty string (it would match everywhere)".into(),
            ));
        }
        let words: Vec<&str> = spec
            .context
            .iter()
            .map(|w| w.trim())
            .filter(|w| !w.is_empty())
            .collect();
        let cues = if words.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(&words)
                    .map_err(|e| err(format!("context words: {e}")))?,
            )
        };
        let value_group = re.capture_names().position(|n| n == Some("value"));
        Ok(CustomRecognizer {
            name: spec.name,
            entity: spec.entity,
            value_group,
            re,
            validator: spec.validator,
            cues,
            score: spec.score,
            boost: spec.context_boost,
        })
    }

    /// The recognizer's short id.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The entity type its findings carry.
    pub fn entity(&self) -> EntityType {
        self.entity
    }

    /// Whether a context word ends within the window before `pos`.
    fn has_cue(&self, scan: &Scan<'_>, pos: usize) -> bool {
        let Some(cues) = &self.cues else {
            return false;
        };
        let t = scan.text;
        let b = scan.bytes;
        let lo = super::context::floor_boundary(t, pos.saturating_sub(CONTEXT_WINDOW));
        let word = |c: u8| c.is_ascii_alphanumeric();
        cues.find_iter(&t[lo..pos]).any(|m| {
            let (s, e) = (lo + m.start(), lo + m.end());
            let glued_left = word(b[s]) && s > 0 && word(b[s - 1]);
            let glued_right = word(b[e - 1]) && e < b.len() && word(b[e]);
            !glued_left && !glued_right
        })
    }

    /// Adds this recognizer's findings in `scan`.
    pub(crate) fn run(&self, scan: &Scan<'_>, out: &mut Vec<Finding>) {
        if !scan.want(self.entity) {
            return;
        }
        let b = scan.bytes;
        // The plain search unless a `value` group asks for the (slower) capturing one.
        let values: Box<dyn Iterator<Item = regex::Match<'_>>> = match self.value_group {
            None => Box::new(self.re.find_iter(scan.text)),
            Some(g) => Box::new(
                self.re
                    .captures_iter(scan.text)
                    .filter_map(move |c| c.get(g)),
            ),
        };
        for m in values {
            let (s, e) = (m.start(), m.end());
            if s == e {
                continue;
            }
            // The detector's boundary rule: an ASCII letter or digit at the edge of a match must
            // not continue into one outside it (CJK and punctuation are boundaries).
            if (b[s].is_ascii_alphanumeric() && !left_ok(b, s))
                || (b[e - 1].is_ascii_alphanumeric() && !right_ok(b, e))
            {
                continue;
            }
            if self.validator.is_some_and(|v| !v.check(m.as_str())) {
                continue;
            }
            let score = if self.has_cue(scan, s) {
                self.score + self.boost
            } else {
                self.score
            };
            out.push(Finding {
                start: s,
                end: e,
                entity: self.entity,
                score: score.clamp(0.0, 1.0),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Detector, DetectorConfig};

    fn spec(pattern: &str) -> CustomSpec {
        CustomSpec {
            name: "t".into(),
            entity: EntityType::Custom,
            pattern: pattern.into(),
            validator: None,
            context: Vec::new(),
            score: DEFAULT_SCORE,
            context_boost: DEFAULT_CONTEXT_BOOST,
        }
    }

    fn detector(specs: Vec<CustomSpec>) -> Detector {
        Detector::new(DetectorConfig {
            custom: specs
                .into_iter()
                .map(|s| CustomRecognizer::new(s).unwrap())
                .collect(),
            ..Default::default()
        })
        .unwrap()
    }

    fn found(d: &Detector, text: &str) -> Vec<(EntityType, String, f32)> {
        d.find(text)
            .into_iter()
            .map(|f| (f.entity, text[f.start..f.end].to_string(), f.score))
            .collect()
    }

    #[test]
    fn pattern_boundaries_and_cjk() {
        let d = detector(vec![spec("CUST-[0-9]{8}")]);
        let f = found(
            &d,
            "ref CUST-12345678, and XCUST-12345678 or CUST-123456789",
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].0, EntityType::Custom);
        assert_eq!(f[0].1, "CUST-12345678");
        // CJK next to the value is a boundary; full-width forms are folded first.
        let t = "客户CUST－１２３４５６７８谢谢";
        let f = found(&d, t);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].1, "CUST－１２３４５６７８");
    }

    #[test]
    fn context_words_raise_the_score() {
        let d = detector(vec![CustomSpec {
            context: vec!["Kundennummer".into(), "customer number".into()],
            score: 0.3,
            context_boost: 0.5,
            ..spec("K[0-9]{6}")
        }]);
        assert!(
            found(&d, "see K123456").is_empty(),
            "0.3 is under min_score"
        );
        let f = found(&d, "KUNDENNUMMER: K123456");
        assert_eq!(f.len(), 1);
        assert!((f[0].2 - 0.8).abs() < 1e-6);
        assert_eq!(found(&d, "your Customer Number is K123456").len(), 1);
        // Whole words only, and only within the window before the match.
        assert!(found(&d, "xkundennummer K123456").is_empty());
        let far = format!("Kundennummer {} K123456", "x".repeat(60));
        assert!(found(&d, &far).is_empty());
    }

    #[test]
    fn validators_filter_matches() {
        let d = detector(vec![CustomSpec {
            validator: Some(Validator::Luhn),
            entity: EntityType::ApiKey,
            ..spec("DEV-[0-9]{4}-[0-9]{4}")
        }]);
        let f = found(&d, "device DEV-4111-1111 and DEV-4111-1112");
        assert_eq!(f.len(), 0, "8-digit 41111111 fails Luhn: {f:?}");
        let f = found(&d, "device DEV-1234-5674");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].0, EntityType::ApiKey);
    }

    #[test]
    fn findings_name_their_recognizer_on_request() {
        let d = detector(vec![
            CustomSpec {
                name: "cust".into(),
                ..spec("CUST-[0-9]{8}")
            },
            CustomSpec {
                name: "emp".into(),
                ..spec("EMP[0-9]{5}")
            },
        ]);
        let t = "ｍａｉｌ a@b.com about EMP12345 and CUST－12345678";
        let f = d.find(t);
        let names: Vec<Option<&str>> = f.iter().map(|x| d.custom_recognizer_of(t, x)).collect();
        assert_eq!(names, vec![None, Some("emp"), Some("cust")], "{f:?}");
    }

    #[test]
    fn a_value_group_is_what_is_reported_and_validated() {
        let d = detector(vec![CustomSpec {
            validator: Some(Validator::DeTaxId),
            ..spec(r"(?i:tax number)[: ]+(?P<value>[0-9]{11})")
        }]);
        let t = "Tax number: 86095742719, tax number 86095742718";
        let f = found(&d, t);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].1, "86095742719");
    }

    #[test]
    fn findings_go_through_overlap_resolution_and_allow_list() {
        // A custom recognizer that also matches e-mail addresses loses to the 0.97 e-mail
        // finding unless it scores higher.
        let low = detector(vec![spec("[a-z]+@example[.]com")]);
        let f = found(&low, "mail jane@example.com");
        assert_eq!(f[0].0, EntityType::Email);
        let high = detector(vec![CustomSpec {
            score: 1.0,
            ..spec("[a-z]+@example[.]com")
        }]);
        let f = found(&high, "mail jane@example.com");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].0, EntityType::Custom);
        let allowed = Detector::new(DetectorConfig {
            custom: vec![CustomRecognizer::new(spec("CUST-[0-9]{8}")).unwrap()],
            allow_list: vec!["cust-00000000".into()],
            ..Default::default()
        })
        .unwrap();
        assert!(found(&allowed, "CUST-00000000").is_empty());
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(CustomRecognizer::new(spec("CUST-[0-9")).is_err());
        assert!(CustomRecognizer::new(spec("x*")).is_err());
        // Far beyond the size limit: refused, not compiled.
        let err = CustomRecognizer::new(spec("[a-z]{1000}{1000}")).unwrap_err();
        assert!(err.to_string().contains("invalid pattern"), "{err}");
    }

    #[test]
    fn validator_names() {
        for (name, v) in Validator::ALL {
            assert_eq!(Validator::parse(name), Some(v));
        }
        assert_eq!(
            Validator::parse("IT_CODICE_FISCALE"),
            Some(Validator::ItFiscalCode)
        );
        assert_eq!(Validator::parse("mod97"), None);
        assert!(Validator::UsSsn.check("123-45-6789"));
        assert!(Validator::Iban.check("gb82 west 1234 5698 7654 32"));
        assert!(!Validator::Luhn.check("4111-1111-1111-111x"));
        assert!(Validator::Ethereum.check("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"));
        assert!(Validator::Bitcoin.check("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"));
    }
}
