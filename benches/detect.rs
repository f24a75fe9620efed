//! Detector throughput: MB/s on PII-free chat text vs PII-dense text, at 1 KB, 16 KB and 128 KB.
//!
//! Inputs are built by repeating `benches/data/clean.txt` (hand-written chat with numbers,
//! versions, times and capitalised words but no PII) and `benches/data/dense.txt` (synthetic PII in
//! five languages) up to the target size, cut on a char boundary.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use privgate::detect::{Detector, DetectorConfig};

const CLEAN: &str = include_str!("data/clean.txt");
const DENSE: &str = include_str!("data/dense.txt");

fn sized(src: &str, n: usize) -> String {
    let mut s = String::with_capacity(n + src.len());
    while s.len() < n {
        s.push_str(src);
        s.push('\n');
    }
    let mut cut = n;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s
}

fn bench(c: &mut Criterion) {
    let d = Detector::new(DetectorConfig::default()).expect("default detector compiles");
    let mut g = c.benchmark_group("detect");
    for (name, src) in [("clean", CLEAN), ("dense", DENSE)] {
        for size in [1024usize, 16 * 1024, 128 * 1024] {
            let text = sized(src, size);
            g.throughput(Throughput::Bytes(text.len() as u64));
            g.bench_with_input(BenchmarkId::new(name, size), &text, |b, t| {
                b.iter(|| black_box(d.find(black_box(t))))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
