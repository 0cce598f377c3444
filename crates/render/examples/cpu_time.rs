//! Prints the CPU time taken to render 1,000 typical one-page dispatches, to check the
//! requirement "under 1 s of CPU per 100 documents":
//! `cargo run --release -p congvan-render --example cpu_time`.
//!
//! CPU time is read from `/proc/thread-self/schedstat` (nanoseconds this thread spent on a
//! CPU); rendering is single-threaded, so that is the whole cost. Elsewhere it falls back to
//! wall-clock time and says so.

#![allow(missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

/// Nanoseconds of CPU used by this thread so far, if the kernel tells us.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn main() -> Result<(), congvan_render::Error> {
    const COUNT: u32 = 1_000;
    let view = common::decision();
    // Warm up: the first render parses the fonts once per process.
    let size = congvan_render::render_dispatch(&view)?.len();

    let cpu_start = thread_cpu();
    let wall_start = Instant::now();
    let mut bytes = 0usize;
    for _ in 0..COUNT {
        bytes += congvan_render::render_dispatch(&view)?.len();
    }
    let wall = wall_start.elapsed();
    let (label, total) = match (cpu_start, thread_cpu()) {
        (Some(a), Some(b)) => ("CPU", b.saturating_sub(a)),
        _ => ("wall-clock (no CPU clock available)", wall),
    };
    println!("rendered {COUNT} one-page dispatches ({size} bytes each, {bytes} bytes in all)");
    println!("{label} time: {:.3} s in all", total.as_secs_f64());
    println!(
        "per 100 documents: {:.3} s",
        total.as_secs_f64() / f64::from(COUNT) * 100.0
    );
    println!(
        "per document: {:.3} ms",
        total.as_secs_f64() * 1000.0 / f64::from(COUNT)
    );
    println!("wall time: {:.3} s", wall.as_secs_f64());
    Ok(())
}
