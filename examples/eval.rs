//! Runs the detector over a labelled JSONL corpus and prints the score table (or JSON).
//!
//! `cargo run --example eval -- /work/shared/pii-dev.jsonl [--json] [--misses]`

use std::path::PathBuf;

use privgate::detect::{Detector, DetectorConfig};
use privgate::eval::{evaluate, load_corpus, redact};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = PathBuf::from(
        args.iter()
            .find(|a| !a.starts_with("--"))
            .ok_or("usage: eval FILE [--json] [--misses]")?,
    );
    let recs = load_corpus(&path)?;
    let d = Detector::new(DetectorConfig::default())?;
    let r = evaluate(&d, &recs);
    if args.iter().any(|a| a == "--misses") {
        // Developer aid on a local dev set: show what was missed or over-redacted.
        for rec in &recs {
            let f = d.find(&rec.text);
            let red = redact(&rec.text, &f);
            let missed: Vec<_> = rec
                .spans
                .iter()
                .filter(|g| {
                    let v = &rec.text[g.bstart..g.bend];
                    let total = v.chars().count();
                    let cov = v
                        .char_indices()
                        .filter(|(i, _)| {
                            f.iter()
                                .any(|x| x.start <= g.bstart + i && g.bstart + i < x.end)
                        })
                        .count();
                    red.contains(v) || cov * 10 < total * 9
                })
                .map(|g| format!("{}:{}", g.kind, &rec.text[g.bstart..g.bend]))
                .collect();
            let fps: Vec<_> = f
                .iter()
                .filter(|x| {
                    !rec.spans
                        .iter()
                        .chain(&rec.ignore_spans)
                        .any(|g| x.start < g.bend && g.bstart < x.end)
                })
                .map(|x| format!("{}:{}", x.entity, &rec.text[x.start..x.end]))
                .collect();
            if !missed.is_empty() || !fps.is_empty() {
                println!(
                    "{} MISS {:?} FP {:?}\n   {}",
                    rec.id,
                    missed,
                    fps,
                    red.replace('\n', "⏎")
                );
            }
        }
    }
    if args.iter().any(|a| a == "--json") {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print!("{}", r.to_table());
    }
    Ok(())
}
