//! Offline evaluation of the detector on a labelled JSONL corpus (the `pii-dev.jsonl` format).
//!
//! Owns: loading the corpus, redacting each record with `<TYPE>` placeholders and scoring exactly
//! as the corpus README describes: a gold entity is caught when at least 90% of its characters are
//! replaced and its exact value no longer appears in the redacted text; precision is the share of
//! replaced ranges that touch a gold entity (ranges touching only `ignore_spans` count neither
//! way); leak rate is the share of gold values still present verbatim; over-redaction is the share
//! of hard-negative records altered outside gold entities. Does not own: detection itself.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::detect::{Detector, EntityType, Finding};

/// A labelled span in a record (offsets in both code points and UTF-8 bytes).
#[derive(Clone, Deserialize)]
pub struct GoldSpan {
    /// Code-point start.
    #[serde(default)]
    pub start: usize,
    /// Code-point end.
    #[serde(default)]
    pub end: usize,
    /// UTF-8 byte start.
    pub bstart: usize,
    /// UTF-8 byte end.
    pub bend: usize,
    /// Entity type name (or, for ignore spans, a free-form label).
    #[serde(rename = "type")]
    pub kind: String,
    /// The labelled text.
    #[serde(default)]
    pub value: String,
}

impl std::fmt::Debug for GoldSpan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The value is personal data: never printed.
        f.debug_struct("GoldSpan")
            .field("bstart", &self.bstart)
            .field("bend", &self.bend)
            .field("kind", &self.kind)
            .finish()
    }
}

/// One labelled record.
#[derive(Clone, Deserialize)]
pub struct EvalRecord {
    /// Record id.
    pub id: String,
    /// Language code (`en`, `de`, `fr`, `zh`, …).
    #[serde(default)]
    pub lang: String,
    /// Where the record came from.
    #[serde(default)]
    pub source: String,
    /// A text full of look-alikes that are not PII.
    #[serde(default)]
    pub hard_negative: bool,
    /// The text.
    pub text: String,
    /// Gold PII spans.
    #[serde(default)]
    pub spans: Vec<GoldSpan>,
    /// Spans whose redaction is neither rewarded nor penalised.
    #[serde(default)]
    pub ignore_spans: Vec<GoldSpan>,
}

impl std::fmt::Debug for EvalRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvalRecord")
            .field("id", &self.id)
            .field("lang", &self.lang)
            .field("spans", &self.spans.len())
            .finish()
    }
}

/// Errors loading a corpus. Messages name the line, never its content.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The file could not be read.
    #[error("reading corpus: {0}")]
    Io(#[from] std::io::Error),
    /// A line is not a valid record.
    #[error("corpus line {line}: invalid record ({reason})")]
    Parse {
        /// 1-based line number.
        line: usize,
        /// What was wrong (serde's category and column, no content).
        reason: String,
    },
    /// A span's byte offsets do not fit the record's text.
    #[error("corpus line {line}: span offsets out of range or not on char boundaries")]
    Offsets {
        /// 1-based line number.
        line: usize,
    },
}

/// Loads a JSONL corpus (blank lines skipped) and checks every span's offsets.
pub fn load_corpus(path: &Path) -> Result<Vec<EvalRecord>, EvalError> {
    let data = std::fs::read_to_string(path)?;
    let mut out = Vec::new();
    for (i, line) in data.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let rec: EvalRecord = serde_json::from_str(line).map_err(|e| EvalError::Parse {
            line: i + 1,
            reason: format!("{:?} at column {}", e.classify(), e.column()),
        })?;
        let ok = |s: &GoldSpan| {
            s.bstart <= s.bend
                && s.bend <= rec.text.len()
                && rec.text.is_char_boundary(s.bstart)
                && rec.text.is_char_boundary(s.bend)
        };
        if !rec.spans.iter().chain(&rec.ignore_spans).all(ok) {
            return Err(EvalError::Offsets { line: i + 1 });
        }
        out.push(rec);
    }
    Ok(out)
}

/// Counts and rates for one entity type (or overall).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scores {
    /// Gold entities caught.
    pub tp: usize,
    /// Replaced ranges that touch no gold entity (nor an ignore span).
    pub fp: usize,
    /// Gold entities missed.
    pub fn_: usize,
    /// Replaced ranges that touch a gold entity.
    pub pred_tp: usize,
    /// Gold values still present verbatim after redaction.
    pub leaked: usize,
    /// Precision: `pred_tp / (pred_tp + fp)`.
    pub precision: f64,
    /// Recall: `tp / (tp + fn)`.
    pub recall: f64,
    /// F1.
    pub f1: f64,
    /// F2 (recall-weighted).
    pub f2: f64,
}

impl Scores {
    fn finish(&mut self) {
        let p_den = self.pred_tp + self.fp;
        self.precision = if p_den == 0 {
            1.0
        } else {
            self.pred_tp as f64 / p_den as f64
        };
        let r_den = self.tp + self.fn_;
        self.recall = if r_den == 0 {
            1.0
        } else {
            self.tp as f64 / r_den as f64
        };
        let f = |beta: f64| {
            let (p, r) = (self.precision, self.recall);
            let b2 = beta * beta;
            if p + r == 0.0 {
                0.0
            } else {
                (1.0 + b2) * p * r / (b2 * p + r)
            }
        };
        self.f1 = f(1.0);
        self.f2 = f(2.0);
    }

    fn add(&mut self, o: &Scores) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
        self.pred_tp += o.pred_tp;
        self.leaked += o.leaked;
    }
}

/// The result of an evaluation run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    /// Records evaluated.
    pub records: usize,
    /// Gold entities.
    pub gold: usize,
    /// All entity types together.
    pub overall: Scores,
    /// Share of gold values present verbatim in the redacted text.
    pub leak_rate: f64,
    /// Hard-negative records.
    pub hard_negatives: usize,
    /// Hard-negative records altered outside gold entities.
    pub hard_negatives_altered: usize,
    /// `hard_negatives_altered / hard_negatives`.
    pub over_redaction: f64,
    /// Per entity type (gold or predicted).
    pub per_entity: BTreeMap<String, Scores>,
    /// Per language.
    pub per_lang: BTreeMap<String, Scores>,
}

fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Replaces each finding's range with `<TYPE>`.
pub fn redact(text: &str, findings: &[Finding]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for f in findings {
        if f.start < last || f.end > text.len() {
            continue;
        }
        out.push_str(&text[last..f.start]);
        out.push('<');
        out.push_str(f.entity.as_str());
        out.push('>');
        last = f.end;
    }
    out.push_str(&text[last..]);
    out
}

/// Runs the detector over every record and scores the redacted output.
pub fn evaluate(detector: &Detector, records: &[EvalRecord]) -> EvalReport {
    let mut rep = EvalReport {
        records: records.len(),
        ..Default::default()
    };
    for rec in records {
        let findings = detector.find(&rec.text);
        let redacted = redact(&rec.text, &findings);
        let mut rec_scores: BTreeMap<String, Scores> = BTreeMap::new();
        // Gold side: caught / leaked.
        for g in &rec.spans {
            rep.gold += 1;
            let span = (g.bstart, g.bend);
            let total = rec.text[g.bstart..g.bend].chars().count().max(1);
            let covered = rec.text[g.bstart..g.bend]
                .char_indices()
                .filter(|(i, _)| {
                    let p = g.bstart + i;
                    findings.iter().any(|f| f.start <= p && p < f.end)
                })
                .count();
            let value = &rec.text[g.bstart..g.bend];
            let present = !value.is_empty() && redacted.contains(value);
            let caught = covered * 10 >= total * 9 && !present;
            let s = rec_scores.entry(g.kind.clone()).or_default();
            if caught {
                s.tp += 1;
            } else {
                s.fn_ += 1;
            }
            if present {
                s.leaked += 1;
            }
            let _ = span;
        }
        // Prediction side: each replaced range.
        let mut altered_outside = false;
        for f in &findings {
            let r = (f.start, f.end);
            let touches_gold = rec.spans.iter().any(|g| overlaps(r, (g.bstart, g.bend)));
            let touches_ignore = rec
                .ignore_spans
                .iter()
                .any(|g| overlaps(r, (g.bstart, g.bend)));
            let s = rec_scores.entry(f.entity.as_str().to_string()).or_default();
            if touches_gold {
                s.pred_tp += 1;
            } else if !touches_ignore {
                s.fp += 1;
            }
            // Altered outside gold: any replaced byte not inside a gold span.
            let inside_gold = rec
                .spans
                .iter()
                .any(|g| g.bstart <= f.start && f.end <= g.bend);
            if !inside_gold && !touches_ignore {
                altered_outside = true;
            }
        }
        if rec.hard_negative {
            rep.hard_negatives += 1;
            if altered_outside {
                rep.hard_negatives_altered += 1;
            }
        }
        let lang = rep.per_lang.entry(rec.lang.clone()).or_default();
        for s in rec_scores.values() {
            lang.add(s);
        }
        for (k, s) in rec_scores {
            rep.per_entity.entry(k).or_default().add(&s);
        }
    }
    let mut overall = Scores::default();
    for s in rep.per_entity.values_mut() {
        overall.add(s);
        s.finish();
    }
    for s in rep.per_lang.values_mut() {
        s.finish();
    }
    overall.finish();
    rep.leak_rate = if rep.gold == 0 {
        0.0
    } else {
        overall.leaked as f64 / rep.gold as f64
    };
    rep.over_redaction = if rep.hard_negatives == 0 {
        0.0
    } else {
        rep.hard_negatives_altered as f64 / rep.hard_negatives as f64
    };
    rep.overall = overall;
    rep
}

impl EvalReport {
    /// A fixed-width table: per entity, overall, per language, then the corpus-level rates.
    pub fn to_table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<16} {:>5} {:>5} {:>5} {:>6} {:>6} {:>6} {:>6}",
            "entity", "TP", "FP", "FN", "prec", "recall", "F1", "F2"
        );
        let row = |s: &mut String, name: &str, x: &Scores| {
            let _ = writeln!(
                s,
                "{:<16} {:>5} {:>5} {:>5} {:>6.3} {:>6.3} {:>6.3} {:>6.3}",
                name, x.tp, x.fp, x.fn_, x.precision, x.recall, x.f1, x.f2
            );
        };
        for (k, v) in &self.per_entity {
            row(&mut s, k, v);
        }
        row(&mut s, "OVERALL", &self.overall);
        s.push('\n');
        for (k, v) in &self.per_lang {
            row(&mut s, &format!("lang={k}"), v);
        }
        let _ = writeln!(
            s,
            "\nrecords {}  gold {}  leak rate {:.3}  over-redaction {:.3} ({}/{} hard negatives)",
            self.records,
            self.gold,
            self.leak_rate,
            self.over_redaction,
            self.hard_negatives_altered,
            self.hard_negatives
        );
        s
    }
}

/// Whether `name` is a known entity type (helper for callers filtering reports).
pub fn is_entity_name(name: &str) -> bool {
    EntityType::parse(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::DetectorConfig;

    fn rec(text: &str, spans: &[(&str, &str)], hard: bool) -> EvalRecord {
        EvalRecord {
            id: "t".into(),
            lang: "en".into(),
            source: String::new(),
            hard_negative: hard,
            text: text.into(),
            spans: spans
                .iter()
                .map(|(k, v)| {
                    let b = text.find(v).unwrap();
                    GoldSpan {
                        start: 0,
                        end: 0,
                        bstart: b,
                        bend: b + v.len(),
                        kind: k.to_string(),
                        value: v.to_string(),
                    }
                })
                .collect(),
            ignore_spans: vec![],
        }
    }

    #[test]
    fn scoring_rules() {
        let d = Detector::new(DetectorConfig::default()).unwrap();
        let recs = vec![
            rec(
                "mail jane@example.com now",
                &[("EMAIL", "jane@example.com")],
                false,
            ),
            rec("Number 4111111111111112 is an id", &[], true),
            rec("call me maybe", &[("PERSON", "maybe")], false),
        ];
        let r = evaluate(&d, &recs);
        let e = &r.per_entity["EMAIL"];
        assert_eq!((e.tp, e.fp, e.fn_), (1, 0, 0));
        assert_eq!(r.per_entity["PERSON"].fn_, 1);
        assert_eq!(r.hard_negatives, 1);
        assert_eq!(r.hard_negatives_altered, 0);
        assert!(r.to_table().contains("OVERALL"));
        assert!(is_entity_name("EMAIL"));
    }

    #[test]
    fn redact_replaces_ranges() {
        let f = [Finding {
            start: 5,
            end: 21,
            entity: EntityType::Email,
            score: 1.0,
        }];
        assert_eq!(redact("mail jane@example.com now", &f), "mail <EMAIL> now");
    }

    /// Quality floor on the hand-written challenge set (`tests/fixtures/detect-challenge.jsonl`,
    /// built by `scripts/gen-detect-challenge.py`): templates, languages (Spanish too) and hard
    /// negatives the dev set does not have, so tuning to the dev set's phrasing shows up here.
    #[test]
    fn challenge_set_floors() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/detect-challenge.jsonl"
        ));
        let recs = load_corpus(path).unwrap();
        assert!(
            recs.len() >= 200,
            "challenge set has {} records",
            recs.len()
        );
        let d = Detector::new(DetectorConfig::default()).unwrap();
        let r = evaluate(&d, &recs);
        eprintln!("{}", r.to_table());
        for lang in ["en", "de", "fr", "es", "zh"] {
            let got = r.per_lang.get(lang).map_or(0.0, |s| s.recall);
            assert!(got >= 0.95, "{lang} recall {got:.3} < 0.95");
        }
        for (k, min) in [
            ("PERSON", 0.93),
            ("STREET_ADDRESS", 0.95),
            ("DATE_OF_BIRTH", 0.95),
            ("PHONE", 0.95),
        ] {
            let got = r.per_entity.get(k).map_or(0.0, |s| s.recall);
            assert!(got >= min, "{k} recall {got:.3} < {min}");
        }
        assert!(
            r.overall.precision >= 0.98,
            "precision {:.3}",
            r.overall.precision
        );
        assert!(
            r.over_redaction <= 0.05,
            "over-redaction {:.3} ({}/{})",
            r.over_redaction,
            r.hard_negatives_altered,
            r.hard_negatives
        );
    }

    /// Quality floor on the labelled dev set (present in CI next to the repo).
    #[test]
    fn dev_set_floors() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/pii-dev.jsonl"
        ));
        if !path.exists() {
            eprintln!("dev set not found; skipping");
            return;
        }
        let recs = load_corpus(path).unwrap();
        let d = Detector::new(DetectorConfig::default()).unwrap();
        let r = evaluate(&d, &recs);
        eprintln!("{}", r.to_table());
        // Floors a little below what the detector achieves, so quality cannot silently regress.
        let floors: &[(&str, f64)] = &[
            ("CREDIT_CARD", 0.99),
            ("IBAN", 0.99),
            ("CN_RESIDENT_ID", 0.99),
            ("EMAIL", 0.99),
            ("API_KEY", 0.99),
            ("PHONE", 0.97),
            ("CN_PHONE", 0.97),
            ("IP_ADDRESS", 0.97),
            ("US_SSN", 0.97),
            ("UK_NINO", 0.97),
            ("URL", 0.97),
            ("PASSPORT", 0.97),
            ("PERSON", 0.92),
            ("DATE_OF_BIRTH", 0.95),
            ("STREET_ADDRESS", 0.91),
        ];
        for (k, min) in floors {
            let got = r.per_entity.get(*k).map_or(0.0, |s| s.recall);
            assert!(got >= *min, "{k} recall {got:.3} < {min}");
        }
        assert!(
            r.overall.precision >= 0.97,
            "precision {:.3}",
            r.overall.precision
        );
        assert!(
            r.over_redaction <= 0.02,
            "over-redaction {:.3}",
            r.over_redaction
        );
        assert!(r.leak_rate <= 0.03, "leak rate {:.3}", r.leak_rate);
        let recall = |l: &str| r.per_lang.get(l).map_or(0.0, |s| s.recall);
        assert!(
            recall("zh") >= recall("en") - 0.01,
            "Chinese worse than English"
        );
    }
}
