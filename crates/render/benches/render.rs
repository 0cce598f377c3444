//! Rendering speed: a typical one-page dispatch (the hot path when a relay or clerk prints
//! many documents) and the one-page verification report.
//!
//! `cargo bench -p congvan-render`. The requirement is under 1 s of CPU per 100 dispatches,
//! i.e. under 10 ms per document.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

fn bench_render(c: &mut Criterion) {
    let decision = common::decision();
    let size = congvan_render::render_dispatch(&decision)
        .expect("render")
        .len();
    println!("one-page decision: {size} bytes");
    c.bench_function("render_dispatch/one_page_decision", |b| {
        b.iter(|| congvan_render::render_dispatch(black_box(&decision)).expect("render"))
    });

    let cong_van = common::cong_van();
    c.bench_function("render_dispatch/one_page_cong_van", |b| {
        b.iter(|| congvan_render::render_dispatch(black_box(&cong_van)).expect("render"))
    });

    let report = common::report();
    c.bench_function("render_verification_report/typical", |b| {
        b.iter(|| congvan_render::render_verification_report(black_box(&report)).expect("render"))
    });
}

criterion_group!(benches, bench_render);
criterion_main!(benches);
