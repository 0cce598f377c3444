//! Writes sample PDFs (a decision, a công văn, a long decision, a verification report) to a
//! directory, for looking at the layout: `cargo run -p congvan-render --example render_samples
//! -- DIR`.

#![allow(missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "render-samples".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let samples = [
        (
            "decision.pdf",
            congvan_render::render_dispatch(&common::decision())?,
        ),
        (
            "cong-van.pdf",
            congvan_render::render_dispatch(&common::cong_van())?,
        ),
        (
            "long-decision.pdf",
            congvan_render::render_dispatch(&common::long_decision())?,
        ),
        (
            "report.pdf",
            congvan_render::render_verification_report(&common::report())?,
        ),
        (
            "huge-report.pdf",
            congvan_render::render_verification_report(&common::huge_report())?,
        ),
    ];
    for (name, bytes) in samples {
        let path = dir.join(name);
        std::fs::write(&path, &bytes)?;
        println!("{} ({} bytes)", path.display(), bytes.len());
    }
    Ok(())
}
