//! Developer aid: throughput per entity type on the bench inputs (`--release`).

use std::time::Instant;

use privgate::detect::{Detector, DetectorConfig, EntityType};

fn main() {
    // REPEAT=1 measures per-call costs (short texts); the default is ~128 KB.
    let repeat: Option<usize> = std::env::var("REPEAT").ok().and_then(|v| v.parse().ok());
    let clean = include_str!("../benches/data/clean.txt").repeat(repeat.unwrap_or(43));
    let dense = include_str!("../benches/data/dense.txt").repeat(repeat.unwrap_or(140));
    let which = std::env::var("TEXT").ok();
    for (name, text) in [("clean", &clean), ("dense", &dense)] {
        if which.as_deref().is_some_and(|w| w != name) {
            continue;
        }
        let mut all: Vec<Option<EntityType>> = vec![None];
        all.extend(EntityType::ALL.into_iter().map(Some));
        let only = std::env::var("ONLY").ok();
        for e in all {
            if only
                .as_deref()
                .is_some_and(|o| e.map_or("ALL", |e| e.as_str()) != o)
            {
                continue;
            }
            let cfg = match e {
                Some(e) => DetectorConfig {
                    entities: [e].into_iter().collect(),
                    ..Default::default()
                },
                None => DetectorConfig::default(),
            };
            let d = Detector::new(cfg).unwrap();
            let t0 = Instant::now();
            let mut n = 0;
            let iters: usize = std::env::var("ITERS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(if only.is_some() { 400 } else { 20 });
            for _ in 0..iters {
                n += d.find(text).len();
            }
            let secs = t0.elapsed().as_secs_f64();
            let mbs = (text.len() * iters) as f64 / secs / 1e6;
            println!(
                "{name:6} {:<16} {mbs:9.1} MB/s  findings {}",
                e.map_or("ALL", |e| e.as_str()),
                n / iters
            );
        }
    }
}
