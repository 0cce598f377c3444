//! Verifies one small signed+sealed dispatch many times with one trust
//! store, for profiling the warm verification path, then times it against
//! two raw ring verifications of the same signatures in alternating batches:
//! `cargo run --release -p congvan-envelope --example verify_loop -- [N]`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

/// The congvan binary's allocator (crates/cli/src/main.rs), so that these
/// figures are the binary's; `--features system-allocator` measures with
/// the system allocator instead.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use congvan_envelope::metadata::Draft;
use std::hint::black_box;
use std::time::Instant;

use congvan_envelope::{
    issue_dispatch, parse_header, verify_dispatch, AttachmentSource, Envelope, Indication,
};
use congvan_sign::{Algorithm, Certificate, Credential, TrustStore};
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
use time::OffsetDateTime;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(20_000, |a| a.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    congvan_sign::build_demo(&pki, Algorithm::EcdsaP256).unwrap();
    let official = Credential::load(&pki.join("H99.01/official"), None).unwrap();
    let office = Credential::load(&pki.join("H99.01/office"), None).unwrap();
    let now = OffsetDateTime::now_utc();
    let metadata = Draft::demo(official.cert()).metadata();
    let file = dir.path().join("d.cvd");
    // One 2 KB attachment, as in `benches/envelope.rs`.
    let attachment = dir.path().join("ke-hoach.txt");
    std::fs::write(&attachment, "Kế hoạch phòng chống thiên tai. ".repeat(64)).unwrap();
    let attachments = [AttachmentSource::file(&attachment)];
    issue_dispatch(
        &metadata,
        &attachments,
        &file,
        &official,
        Some(&office),
        now,
    )
    .unwrap();
    let trust =
        TrustStore::new(vec![Certificate::load(&pki.join("root/cert.pem")).unwrap()]).unwrap();
    let start = Instant::now();
    for _ in 0..n {
        let mut envelope = Envelope::open(&file).unwrap();
        let report = verify_dispatch(&mut envelope, &trust, now, &mut |_| {}).unwrap();
        assert_eq!(report.indication, Indication::Passed);
    }
    let per = start.elapsed().as_secs_f64() / n as f64;
    println!("{n} verifications, {:.1} µs each", per * 1e6);

    // The same signatures checked by ring alone, over the same signing inputs.
    let envelope = Envelope::open(&file).unwrap();
    let raw: Vec<_> = envelope
        .signatures()
        .iter()
        .map(|s| {
            let (header, _) = parse_header(&s.jws, &s.entry).unwrap();
            let key = header.certificates(&s.entry).unwrap()[0]
                .public_key()
                .to_vec();
            (
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key),
                s.jws.signing_input(envelope.manifest_bytes()),
                s.jws.signature_bytes(&s.entry).unwrap(),
            )
        })
        .collect();
    let (mut library, mut ring) = (Vec::new(), Vec::new());
    let batch = 100;
    for _ in 0..(n / batch).max(10) {
        let t = Instant::now();
        for _ in 0..batch {
            let mut envelope = Envelope::open(&file).unwrap();
            black_box(verify_dispatch(&mut envelope, &trust, now, &mut |_| {}).unwrap());
        }
        library.push(t.elapsed().as_secs_f64() / batch as f64);
        let t = Instant::now();
        for _ in 0..batch {
            for (key, input, signature) in &raw {
                key.verify(black_box(input), signature).unwrap();
            }
        }
        ring.push(t.elapsed().as_secs_f64() / batch as f64);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (l, r) = (median(&mut library), median(&mut ring));
    println!(
        "paired: open+verify {:.1} µs, ring verify x2 {:.1} µs, ratio {:.3}x",
        l * 1e6,
        r * 1e6,
        l / r
    );
}
