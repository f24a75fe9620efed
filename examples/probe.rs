//! Prints the findings for each argument (developer aid): `cargo run --example probe -- "text"`.

use privgate::detect::{Detector, DetectorConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let d = Detector::new(DetectorConfig {
        min_score: 0.0,
        ..Default::default()
    })?;
    for t in std::env::args().skip(1) {
        println!("{t}");
        for f in d.find(&t) {
            println!(
                "  {:<15} {:.2} {:?}",
                f.entity.as_str(),
                f.score,
                &t[f.start..f.end]
            );
        }
    }
    Ok(())
}
