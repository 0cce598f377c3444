//! What the envelope costs over the raw signature primitives, for a small
//! dispatch (one 2 KB attachment).
//!
//! `cargo bench -p congvan-envelope --bench envelope`
//!
//! Requirement: sign+seal and verify of a small dispatch at most 1.25x the
//! cost of two raw ring signatures / verifications. Every benchmark of a
//! pair runs in the same group, so the ratios come from one run on one
//! (shared, noisy) machine; after the criterion group, each pair is timed
//! again interleaved (alternating short batches), which load from other
//! jobs affects less.
//!
//! - `sign_seal/library`: `make_signature` as signer, the digest of that
//!   signature, then `make_signature` as seal covering it, over the manifest
//!   held in memory (header JSON, x5c base64, JWS signing input, two ECDSA
//!   P-256 signatures). `sign_seal/ring_x2`: two `EcdsaKeyPair::sign` over
//!   the same signing inputs.
//! - `verify_sig/library_x2`: two `congvan_sign::verify_signature` over the
//!   JWS signing inputs (certificates already parsed);
//!   `verify_sig/ring_x2`: two `UnparsedPublicKey::verify` over the same.
//! - `verify_full/warm`: `Envelope::open` + `verify_dispatch` of the signed
//!   and sealed file with one `TrustStore` kept across iterations, as a relay
//!   or an audit tool verifying many dispatches keeps it: file open, ZIP
//!   directory, metadata and manifest parsing, hashing the attachment,
//!   decoding the x5c chains, both signature checks, and both certificate
//!   path validations, which the store answers from its validation cache
//!   (keyUsage, role and organization checks included in what is cached).
//! - `verify_full/cold`: the same with a new `TrustStore` each iteration,
//!   so both chains are validated in full by rustls-webpki (which verifies
//!   the certificate signatures of the chain: two more ECDSA verifications
//!   per signature), as a one-shot `congvan dispatch verify` does.
//! - `combined/library`: `sign_seal/library` then `verify_full/warm`;
//!   `combined/ring_x4`: two ring signatures then two ring verifications.
//! - `part/*` split the full verification: `open`, `verify_dispatch` on an
//!   already opened envelope (warm store), `decode_x5c_x2` (x509-parser) and
//!   `decode_x5c_x2_cached` (the store's parse cache keyed by the x5c
//!   text, as `verify_dispatch` uses it),
//!   `validate_chain_x2_warm` / `_cold`, `new_trust_store`.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

/// The congvan binary's allocator (crates/cli/src/main.rs), so that these
/// figures are the binary's; `--features system-allocator` measures with
/// the system allocator instead.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::time::{Duration, Instant};

use congvan_envelope::metadata::Draft;
use congvan_envelope::{
    append_signature, create_dispatch, make_signature, parse_header, verify_dispatch,
    AttachmentSource, Envelope, Indication, SignatureRole,
};
use congvan_sign::{
    build_demo, verify_signature, Algorithm, Certificate, Credential, Purpose, TrustStore,
};
use criterion::{criterion_group, criterion_main, Criterion};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
use ring::signature::{KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use time::OffsetDateTime;

fn ecdsa_pair(credential: &Credential, rng: &SystemRandom) -> EcdsaKeyPair {
    EcdsaKeyPair::from_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        credential.key().pkcs8_der(),
        rng,
    )
    .unwrap()
}

/// True when run by `cargo bench` (not `cargo test --benches` or `--profile-time`).
fn measuring() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--profile-time")
}

/// Interleaved A/B timing: alternating batches of `a` and `b` for about
/// `budget`, so that load from other jobs on the shared machine hits both
/// sides alike. Returns the ratio of the median batch times, a / b.
fn paired_ratio(label: &str, budget: Duration, mut a: impl FnMut(), mut b: impl FnMut()) -> f64 {
    // Batches of about 2 ms of `b`.
    let start = Instant::now();
    let mut calib = 0u32;
    while start.elapsed() < Duration::from_millis(20) {
        b();
        calib += 1;
    }
    let per_batch = (calib / 10).max(1);
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    let start = Instant::now();
    while start.elapsed() < budget {
        let t = Instant::now();
        for _ in 0..per_batch {
            a();
        }
        ta.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        for _ in 0..per_batch {
            b();
        }
        tb.push(t.elapsed().as_secs_f64());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (ma, mb) = (median(&mut ta), median(&mut tb));
    let n = f64::from(per_batch);
    let ratio = ma / mb;
    println!(
        "paired {label}: {:.1} µs vs {:.1} µs per iteration, ratio {ratio:.2}x ({} batch pairs of {per_batch})",
        ma / n * 1e6,
        mb / n * 1e6,
        ta.len()
    );
    ratio
}

fn bench_envelope(c: &mut Criterion) {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    build_demo(dir, Algorithm::EcdsaP256).unwrap();
    let official = Credential::load(&dir.join("H99.01/official"), None).unwrap();
    let office = Credential::load(&dir.join("H99.01/office"), None).unwrap();
    let anchors = Certificate::load_all(&dir.join("root/cert.pem")).unwrap();
    let trust = TrustStore::new(anchors.clone()).unwrap();

    // A small dispatch: one 2 KB attachment.
    let attachment = dir.join("ke-hoach.txt");
    std::fs::write(&attachment, "Kế hoạch phòng chống thiên tai. ".repeat(64)).unwrap();
    let file = dir.join("small.cvd");
    create_dispatch(
        &Draft::demo(official.cert()).metadata(),
        &[AttachmentSource::file(&attachment)],
        &file,
        &mut |_| {},
    )
    .unwrap();
    let manifest_bytes = Envelope::open(&file).unwrap().manifest_bytes().to_vec();
    let now = OffsetDateTime::now_utc();

    // Sign and seal the file once (the library path), for the verify benches.
    let sign_seal = || {
        let signer = make_signature(
            &manifest_bytes,
            &official,
            &[],
            SignatureRole::Signer,
            Vec::new(),
            now,
        )
        .unwrap();
        let digest = signer.signature_digest("signer").unwrap();
        let seal = make_signature(
            &manifest_bytes,
            &office,
            &[],
            SignatureRole::Seal,
            vec![digest],
            now,
        )
        .unwrap();
        (signer, seal)
    };
    let (signer_jws, seal_jws) = sign_seal();
    {
        let mut envelope = Envelope::open(&file).unwrap();
        append_signature(&mut envelope, &signer_jws).unwrap();
        let mut envelope = Envelope::open(&file).unwrap();
        append_signature(&mut envelope, &seal_jws).unwrap();
    }
    let report = verify_dispatch(
        &mut Envelope::open(&file).unwrap(),
        &trust,
        now,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(report.indication, Indication::Passed, "{}", report.summary);
    println!(
        "small dispatch: {} bytes on disk, manifest {} bytes, signature entries {} + {} bytes",
        std::fs::metadata(&file).unwrap().len(),
        manifest_bytes.len(),
        serde_json::to_vec(&signer_jws).unwrap().len(),
        serde_json::to_vec(&seal_jws).unwrap().len(),
    );

    let rng = SystemRandom::new();
    let official_pair = ecdsa_pair(&official, &rng);
    let office_pair = ecdsa_pair(&office, &rng);
    let signer_input = signer_jws.signing_input(&manifest_bytes);
    let seal_input = seal_jws.signing_input(&manifest_bytes);
    let signer_sig = signer_jws.signature_bytes("signer").unwrap();
    let seal_sig = seal_jws.signature_bytes("seal").unwrap();

    let official_cert = official.cert();
    let office_cert = office.cert();
    let official_pub = UnparsedPublicKey::new(
        &ECDSA_P256_SHA256_FIXED,
        official_pair.public_key().as_ref().to_vec(),
    );
    let office_pub = UnparsedPublicKey::new(
        &ECDSA_P256_SHA256_FIXED,
        office_pair.public_key().as_ref().to_vec(),
    );

    // (a) signing: the library path in memory vs two raw ring signatures.
    let mut sign_library = || {
        black_box(sign_seal());
    };
    let mut sign_ring = || {
        let s1 = official_pair.sign(&rng, black_box(&signer_input)).unwrap();
        let s2 = office_pair.sign(&rng, black_box(&seal_input)).unwrap();
        black_box((s1, s2));
    };
    // (b1) the signature checks alone vs two raw ring verifications.
    let mut verify_library = || {
        let alg = Algorithm::EcdsaP256;
        verify_signature(alg, official_cert, black_box(&signer_input), &signer_sig).unwrap();
        verify_signature(alg, office_cert, black_box(&seal_input), &seal_sig).unwrap();
    };
    let mut verify_ring = || {
        official_pub
            .verify(black_box(&signer_input), &signer_sig)
            .unwrap();
        office_pub
            .verify(black_box(&seal_input), &seal_sig)
            .unwrap();
    };
    // (b2) the whole verification of the file, with the store kept (warm)
    // and with a new store each time (cold).
    let verify_full_with = |trust: &TrustStore| {
        let mut envelope = Envelope::open(black_box(&file)).unwrap();
        let report = verify_dispatch(&mut envelope, trust, now, &mut |_| {}).unwrap();
        assert_eq!(report.indication, Indication::Passed);
    };
    let mut verify_full_warm = || verify_full_with(&trust);
    let mut verify_full_cold = || {
        let fresh = TrustStore::new(black_box(&anchors).clone()).unwrap();
        verify_full_with(&fresh);
    };
    // (c) everything: sign+seal then verify, against 2 signs + 2 verifies.
    let mut combined_library = || {
        black_box(sign_seal());
        verify_full_with(&trust);
    };
    let mut combined_ring = || {
        let s1 = official_pair.sign(&rng, black_box(&signer_input)).unwrap();
        let s2 = office_pair.sign(&rng, black_box(&seal_input)).unwrap();
        black_box((s1, s2));
        official_pub
            .verify(black_box(&signer_input), &signer_sig)
            .unwrap();
        office_pub
            .verify(black_box(&seal_input), &seal_sig)
            .unwrap();
    };

    let mut group = c.benchmark_group("envelope_small");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("sign_seal/library", |b| b.iter(&mut sign_library));
    group.bench_function("sign_seal/ring_x2", |b| b.iter(&mut sign_ring));
    group.bench_function("verify_sig/library_x2", |b| b.iter(&mut verify_library));
    group.bench_function("verify_sig/ring_x2", |b| b.iter(&mut verify_ring));
    group.bench_function("verify_full/warm", |b| b.iter(&mut verify_full_warm));
    group.bench_function("verify_full/cold", |b| b.iter(&mut verify_full_cold));
    group.bench_function("combined/library", |b| b.iter(&mut combined_library));
    group.bench_function("combined/ring_x4", |b| b.iter(&mut combined_ring));

    // The parts of the full verification, to see where its time goes.
    group.bench_function("part/open", |b| {
        b.iter(|| black_box(Envelope::open(black_box(&file)).unwrap()))
    });
    let mut opened = Envelope::open(&file).unwrap();
    group.bench_function("part/verify_dispatch", |b| {
        b.iter(|| {
            let report = verify_dispatch(&mut opened, &trust, now, &mut |_| {}).unwrap();
            assert_eq!(report.indication, Indication::Passed);
        })
    });
    let headers: Vec<_> = [&signer_jws, &seal_jws]
        .iter()
        .map(|jws| parse_header(jws, "bench").unwrap().0)
        .collect();
    group.bench_function("part/decode_x5c_x2", |b| {
        b.iter(|| {
            for header in &headers {
                black_box(header.certificates("bench").unwrap());
            }
        })
    });
    // What `verify_dispatch` does with a store: the store's parse cache,
    // keyed by the x5c text.
    group.bench_function("part/decode_x5c_x2_cached", |b| {
        b.iter(|| {
            for header in &headers {
                for encoded in &header.x5c {
                    black_box(
                        trust
                            .parse_x5c(black_box(encoded), "bench".as_ref())
                            .unwrap(),
                    );
                }
            }
        })
    });
    let chains: Vec<(Vec<Certificate>, Purpose)> = headers
        .iter()
        .map(|h| {
            let purpose = Purpose {
                role: Some(h.congvan.role.certificate_role()),
                org: None,
            };
            (h.certificates("bench").unwrap(), purpose)
        })
        .collect();
    let validate_x2 = |trust: &TrustStore| {
        for (certs, purpose) in &chains {
            black_box(
                trust
                    .validate(&certs[0], &certs[1..], purpose, now)
                    .unwrap(),
            );
        }
    };
    group.bench_function("part/validate_chain_x2_warm", |b| {
        b.iter(|| validate_x2(&trust))
    });
    group.bench_function("part/validate_chain_x2_cold", |b| {
        b.iter(|| validate_x2(&TrustStore::new(black_box(&anchors).clone()).unwrap()))
    });
    group.bench_function("part/new_trust_store", |b| {
        b.iter(|| black_box(TrustStore::new(black_box(&anchors).clone()).unwrap()))
    });
    group.finish();
    assert!(trust.cache_hits() > 0, "the warm store never hit its cache");

    // The same ratios again, interleaved so that load from other jobs on a
    // shared machine falls on both sides alike.
    if measuring() {
        let budget = Duration::from_secs(3);
        paired_ratio(
            "sign+seal library / ring sign x2",
            budget,
            &mut sign_library,
            &mut sign_ring,
        );
        paired_ratio(
            "verify signatures library x2 / ring verify x2",
            budget,
            &mut verify_library,
            &mut verify_ring,
        );
        paired_ratio(
            "open+verify_dispatch, warm store / ring verify x2",
            budget,
            &mut verify_full_warm,
            &mut verify_ring,
        );
        paired_ratio(
            "open+verify_dispatch, cold store / ring verify x2",
            budget,
            &mut verify_full_cold,
            &mut verify_ring,
        );
        paired_ratio(
            "sign+seal+verify (warm) / ring sign x2 + verify x2",
            budget,
            &mut combined_library,
            &mut combined_ring,
        );
    }
    drop(opened);
    drop(temp);
}

criterion_group!(benches, bench_envelope);
criterion_main!(benches);
