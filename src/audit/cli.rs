//! The compliance officer's commands as library functions: each returns printable text (and, for
//! queries, a count so the binary can exit 0 found / 1 none / 2 error). `main.rs` parses the
//! arguments and prints; nothing here touches stdout.
//!
//! Owns: output formats (`json` = one record per line, `csv`, `table`), time arguments, and
//! subject arguments (a raw subject id is turned into its blind index here, never stored).

use std::fmt::Write as _;
use std::path::Path;

use super::{
    parse_public_key, read_public_key, rfc3339, AuditEntry, AuditError, AuditFilter, AuditLog,
    EntryContent, SubjectRef,
};

/// An output format for query results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// One JSON object per line.
    #[default]
    Json,
    /// Comma-separated, with a header row.
    Csv,
    /// Aligned columns for a terminal.
    Table,
}

impl Format {
    /// Parses `json`, `csv` or `table`.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "table" => Some(Format::Table),
            _ => None,
        }
    }
}

/// A subject argument: `ref:<64 hex>` is a blind index as shown in records; anything else is a
/// raw subject id, turned into its blind index with the log's key.
pub fn subject_arg(log: &AuditLog, s: &str) -> Result<SubjectRef, AuditError> {
    match s.strip_prefix("ref:") {
        Some(h) => SubjectRef::from_hex(h),
        None => Ok(log.subject_ref(s)),
    }
}

/// A time argument: unix milliseconds, `YYYY-MM-DD` (UTC midnight) or
/// `YYYY-MM-DDTHH:MM:SS[.mmm]Z`.
pub fn parse_time(s: &str) -> Result<u64, AuditError> {
    let bad = AuditError::InvalidInput("time (use unix ms, YYYY-MM-DD or RFC 3339 UTC)");
    let s = s.trim();
    if let Ok(ms) = s.parse::<u64>() {
        return Ok(ms);
    }
    let num = |a: usize, b: usize| -> Option<i64> { s.get(a..b)?.parse().ok() };
    let (Some(y), Some(m), Some(d)) = (num(0, 4), num(5, 7), num(8, 10)) else {
        return Err(bad);
    };
    if s.get(4..5) != Some("-")
        || s.get(7..8) != Some("-")
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
    {
        return Err(bad);
    }
    let mut ms: i64 = 0;
    if s.len() > 10 {
        let rest = s[10..].trim_end_matches('Z');
        let (Some(hh), Some(mm), Some(ss)) = (num(11, 13), num(14, 16), num(17, 19)) else {
            return Err(bad);
        };
        if !rest.starts_with('T') || hh > 23 || mm > 59 || ss > 60 {
            return Err(bad);
        }
        let frac = rest.get(9..).and_then(|f| f.strip_prefix('.'));
        let milli = match frac {
            Some(f) => f.get(..3).and_then(|f| f.parse::<i64>().ok()).ok_or(bad)?,
            None => 0,
        };
        ms = ((hh * 60 + mm) * 60 + ss) * 1000 + milli;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400_000 + ms).map_err(|_| AuditError::InvalidInput("time before 1970"))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The flat columns of one entry (for csv and table).
fn columns(e: &AuditEntry) -> [String; 9] {
    let (state, route, provider, policy, subject, entities) = match &e.content {
        EntryContent::Record { record, completion } => (
            match e.payload {
                Some(super::PayloadState::Expired) => "payload_expired",
                _ => "ok",
            }
            .to_string(),
            record.route.clone(),
            record.provider.clone(),
            record.policy_id.clone(),
            record
                .subject
                .map(|s| s.to_hex()[..16].to_string())
                .unwrap_or_default(),
            record
                .entities
                .iter()
                .chain(completion.iter().flat_map(|c| c.entities.iter()))
                .map(|c| format!("{}:{}:{}", c.entity, c.action, c.count))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        EntryContent::Event { event } => (
            "event".to_string(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            serde_json::to_value(event)
                .ok()
                .and_then(|v| v.get("event").and_then(|x| x.as_str()).map(str::to_string))
                .unwrap_or_default(),
        ),
        EntryContent::Erased => (
            "erased".into(),
            "".into(),
            "".into(),
            "".into(),
            "".into(),
            "".into(),
        ),
        EntryContent::Tombstone => (
            "tombstone".into(),
            "".into(),
            "".into(),
            "".into(),
            "".into(),
            "".into(),
        ),
        EntryContent::Unreadable => (
            "unreadable".into(),
            "".into(),
            "".into(),
            "".into(),
            "".into(),
            "".into(),
        ),
    };
    [
        e.seq.to_string(),
        e.time.clone(),
        state,
        e.decision()
            .map(|d| d.name().to_string())
            .unwrap_or_default(),
        route,
        provider,
        policy,
        subject,
        entities,
    ]
}

const HEADER: [&str; 9] = [
    "seq", "time", "state", "decision", "route", "provider", "policy", "subject", "entities",
];

/// Renders entries in a format.
pub fn render(entries: &[AuditEntry], format: Format) -> String {
    let mut out = String::new();
    match format {
        Format::Json => {
            for e in entries {
                out.push_str(&serde_json::to_string(e).unwrap_or_default());
                out.push('\n');
            }
        }
        Format::Csv => {
            out.push_str(&HEADER.join(","));
            out.push('\n');
            for e in entries {
                let row: Vec<String> = columns(e).iter().map(|c| csv_field(c)).collect();
                out.push_str(&row.join(","));
                out.push('\n');
            }
        }
        Format::Table => {
            let rows: Vec<[String; 9]> = entries.iter().map(columns).collect();
            let mut width = HEADER.map(str::len);
            for r in &rows {
                for (w, c) in width.iter_mut().zip(r) {
                    *w = (*w).max(c.chars().count());
                }
            }
            let mut line = |cells: &[&str]| {
                for (i, c) in cells.iter().enumerate() {
                    let _ = write!(out, "{c:<w$}", w = width[i]);
                    out.push_str(if i + 1 < cells.len() { "  " } else { "\n" });
                }
            };
            line(&HEADER);
            for r in &rows {
                line(&r.each_ref().map(String::as_str));
            }
        }
    }
    out
}

/// `privgate audit query`: the rendered entries and how many there are.
pub async fn query(
    log: &AuditLog,
    filter: AuditFilter,
    format: Format,
) -> Result<(String, usize), AuditError> {
    let entries = log.query(filter).await?;
    Ok((render(&entries, format), entries.len()))
}

/// `privgate audit export --subject S`: one pretty JSON document.
pub async fn export(log: &AuditLog, subject: SubjectRef) -> Result<String, AuditError> {
    let v = log.export_subject(subject).await?;
    Ok(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n")
}

/// `privgate audit erase --subject S`: a one-line JSON report.
pub async fn erase(log: &AuditLog, subject: SubjectRef) -> Result<String, AuditError> {
    let r = log.erase_subject(subject).await?;
    Ok(serde_json::to_string(&r).unwrap_or_default() + "\n")
}

/// `privgate audit purge --before T`: a one-line JSON report.
pub async fn purge(log: &AuditLog, before_ms: u64) -> Result<String, AuditError> {
    let r = log.purge_before(before_ms).await?;
    Ok(serde_json::to_string(&r).unwrap_or_default() + "\n")
}

/// `privgate audit purge --retention`: applies retention rules as of `now_ms`; a one-line JSON
/// report.
pub async fn apply_retention(
    log: &AuditLog,
    rules: super::RetentionRules,
    now_ms: u64,
) -> Result<String, AuditError> {
    let r = log.enforce_retention(rules, now_ms).await?;
    Ok(serde_json::to_string(&r).unwrap_or_default() + "\n")
}

/// `privgate audit stats`: a one-line JSON object.
pub async fn stats(log: &AuditLog) -> Result<String, AuditError> {
    let s = log.stats().await?;
    Ok(serde_json::to_string(&s).unwrap_or_default() + "\n")
}

/// `privgate audit verify` on a stopped server's data dir, with the given public key (hex) or the
/// one stored in `dir/keys/checkpoint.pub`. Returns the report as JSON and whether it passed.
pub fn verify(dir: &Path, public_key_hex: Option<&str>) -> Result<(String, bool), AuditError> {
    let key = match public_key_hex {
        Some(h) => parse_public_key(h)?,
        None => read_public_key(dir)?,
    };
    Ok(render_verify(&super::verify(dir, &key)?))
}

/// `privgate audit verify` through a running server (the admin API): the open log checked with
/// the given public key (hex) or its own.
pub async fn verify_open(
    log: &AuditLog,
    public_key_hex: Option<&str>,
) -> Result<(String, bool), AuditError> {
    let key = public_key_hex.map(parse_public_key).transpose()?;
    Ok(render_verify(&log.verify_with(key).await?))
}

/// A verification report as printed: one JSON line, then the first bad record and the signed
/// range in words. Returns the text and whether the log verified.
pub fn render_verify(r: &super::VerifyReport) -> (String, bool) {
    let mut s = serde_json::to_string(r).unwrap_or_default();
    s.push('\n');
    if let Some(bad) = r.first_bad_seq {
        let _ = writeln!(s, "first bad record: seq {bad}");
    }
    if let Some(t) = r.last_checkpoint_seq {
        let _ = writeln!(
            s,
            "signed through seq {t}; checked at {}",
            rfc3339(super::record::now_ms())
        );
    }
    (s, r.ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditOptions, AuditRecord};

    #[test]
    fn times_parse() {
        assert_eq!(parse_time("0").unwrap(), 0);
        assert_eq!(parse_time("1970-01-02").unwrap(), 86_400_000);
        assert_eq!(
            parse_time("2024-02-29T12:34:56.789Z").unwrap(),
            1_709_210_096_789
        );
        assert_eq!(
            parse_time("2024-02-29T12:34:56Z").unwrap(),
            1_709_210_096_000
        );
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("2024-13-01").is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn commands_render() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path(), AuditOptions::default()).unwrap();
        let s = subject_arg(&log, "alice").unwrap();
        assert_eq!(
            subject_arg(&log, &format!("ref:{}", s.to_hex())).unwrap(),
            s
        );
        log.append_intent(AuditRecord {
            route: "/v1/messages".into(),
            subject: Some(s),
            ..AuditRecord::default()
        })
        .await
        .unwrap();
        for f in [Format::Json, Format::Csv, Format::Table] {
            let (out, n) = query(&log, AuditFilter::default(), f).await.unwrap();
            assert_eq!(n, 1);
            assert!(out.contains("/v1/messages"), "{out}");
        }
        assert!(export(&log, s).await.unwrap().contains("/v1/messages"));
        assert!(stats(&log).await.unwrap().contains("\"records\":1"));
        assert!(erase(&log, s)
            .await
            .unwrap()
            .contains("\"keys_destroyed\":1"));
        let (out, _) = query(&log, AuditFilter::default(), Format::Csv)
            .await
            .unwrap();
        assert!(out.contains(",erased,"), "{out}");
        drop(log);
        let (report, ok) = verify(dir.path(), None).unwrap();
        assert!(ok, "{report}");
    }
}
