//! What the signing library costs over ring, and how fast chains validate.
//!
//! `cargo bench -p congvan-sign --bench sign`
//!
//! - `sign/<alg>`: `SigningKey::sign` next to ring signing the same message
//!   with the same key; `verify/<alg>`: `verify_signature` next to ring's
//!   `UnparsedPublicKey::verify`. Read the ratio off each group: the library
//!   may add at most 10% over ring.
//! - `validate`: `TrustStore::validate` of a demo official's certificate
//!   through the provincial CA to the root, without and with a CRL, cold
//!   (a fresh store: every signature checked) and warm (validation cache hit).
//!
//! ring cannot generate RSA keys, so the RSA-2048 key is made once per run
//! by `openssl genpkey` in a temporary directory (RSA is skipped, with a
//! note, when `openssl` is not installed).

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use congvan_sign::{
    build_demo, init_root, verify_signature, Algorithm, Certificate, Credential, Crl, Purpose,
    RevocationReason, RevocationRecord, Role, SigningKey, TrustStore,
};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ring::rand::SystemRandom;
use ring::signature::{self as rs, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair, UnparsedPublicKey};
use time::OffsetDateTime;

/// About the size of a JWS signing input over a dispatch manifest.
const MESSAGE: [u8; 1024] = [0x5a; 1024];

/// The same private key as congvan holds it and as ring holds it.
enum RingKey {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

impl RingKey {
    fn from_pkcs8(alg: Algorithm, der: &[u8], rng: &SystemRandom) -> RingKey {
        match alg {
            Algorithm::EcdsaP256 => RingKey::Ecdsa(
                EcdsaKeyPair::from_pkcs8(&rs::ECDSA_P256_SHA256_FIXED_SIGNING, der, rng).unwrap(),
            ),
            Algorithm::Ed25519 => {
                RingKey::Ed25519(Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).unwrap())
            }
            Algorithm::RsaPkcs1Sha256 => RingKey::Rsa(RsaKeyPair::from_pkcs8(der).unwrap()),
            other => panic!("not benchmarked: {other}"),
        }
    }
}

fn verification(alg: Algorithm) -> &'static dyn rs::VerificationAlgorithm {
    match alg {
        Algorithm::EcdsaP256 => &rs::ECDSA_P256_SHA256_FIXED,
        Algorithm::Ed25519 => &rs::ED25519,
        Algorithm::RsaPkcs1Sha256 => &rs::RSA_PKCS1_2048_8192_SHA256,
        other => panic!("not benchmarked: {other}"),
    }
}

/// An RSA-2048 PKCS#8 key from `openssl genpkey`, or `None` without openssl.
fn openssl_rsa_key(dir: &Path) -> Option<SigningKey> {
    let path = dir.join("rsa2048.pem");
    let made = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&path)
        .output();
    match made {
        Ok(out) if out.status.success() => Some(SigningKey::from_pem_file(&path, None).unwrap()),
        _ => {
            eprintln!("note: `openssl genpkey` failed or is missing; RSA-2048 is not benchmarked");
            None
        }
    }
}

/// A self-signed credential per algorithm: the key signs, the certificate verifies.
fn credentials(dir: &Path) -> Vec<(&'static str, Credential)> {
    let mut keys = vec![
        ("p256", SigningKey::generate(Algorithm::EcdsaP256).unwrap()),
        ("ed25519", SigningKey::generate(Algorithm::Ed25519).unwrap()),
    ];
    if let Some(rsa) = openssl_rsa_key(dir) {
        keys.push(("rsa2048", rsa));
    }
    keys.into_iter()
        .map(|(name, key)| (name, init_root(name, key, 30).unwrap()))
        .collect()
}

/// The median, over `rounds`, of the time of `batch` calls of `library`
/// divided by the time of `batch` calls of `ring`, run back to back in
/// alternating order. On a shared machine whose load drifts this ratio is
/// steadier than two criterion estimates taken seconds apart.
fn interleaved_ratio(
    rounds: usize,
    batch: usize,
    mut library: impl FnMut(),
    mut ring: impl FnMut(),
) -> f64 {
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..batch {
            f();
        }
        start.elapsed().as_secs_f64()
    };
    let mut ratios: Vec<f64> = (0..rounds)
        .map(|round| {
            let (lib, ring) = if round % 2 == 0 {
                let lib = time(&mut library);
                (lib, time(&mut ring))
            } else {
                let ring = time(&mut ring);
                (time(&mut library), ring)
            };
            lib / ring
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

fn signatures(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let rng = SystemRandom::new();
    for (name, cred) in credentials(dir.path()) {
        let key = cred.key();
        let alg = key.algorithm();
        let ring_key = RingKey::from_pkcs8(alg, key.pkcs8_der(), &rng);
        let message = &MESSAGE[..];

        let ring_sign: Box<dyn Fn()> = match &ring_key {
            RingKey::Ecdsa(pair) => Box::new(|| {
                black_box(pair.sign(&rng, black_box(message)).unwrap());
            }),
            RingKey::Ed25519(pair) => Box::new(|| {
                black_box(pair.sign(black_box(message)));
            }),
            RingKey::Rsa(pair) => Box::new(|| {
                let mut sig = [0u8; 512];
                let sig = &mut sig[..pair.public().modulus_len()];
                pair.sign(&rs::RSA_PKCS1_SHA256, &rng, black_box(message), sig)
                    .unwrap();
                black_box(sig);
            }),
        };
        let batch = if alg == Algorithm::RsaPkcs1Sha256 {
            20
        } else {
            400
        };
        let sign_ratio = interleaved_ratio(
            21,
            batch,
            || {
                black_box(key.sign(black_box(message)).unwrap());
            },
            &ring_sign,
        );

        let mut group = c.benchmark_group(format!("sign/{name}"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("congvan SigningKey::sign", |b| {
            b.iter(|| key.sign(black_box(message)).unwrap())
        });
        match &ring_key {
            RingKey::Ecdsa(pair) => group.bench_function("ring EcdsaKeyPair::sign", |b| {
                b.iter(|| pair.sign(&rng, black_box(message)).unwrap())
            }),
            RingKey::Ed25519(pair) => group.bench_function("ring Ed25519KeyPair::sign", |b| {
                b.iter(|| pair.sign(black_box(message)))
            }),
            RingKey::Rsa(pair) => group.bench_function("ring RsaKeyPair::sign", |b| {
                let mut sig = vec![0u8; pair.public().modulus_len()];
                b.iter(|| {
                    pair.sign(&rs::RSA_PKCS1_SHA256, &rng, black_box(message), &mut sig)
                        .unwrap()
                })
            }),
        };
        group.finish();

        let cert: &Certificate = cred.cert();
        let signature = key.sign(message).unwrap();
        let mut group = c.benchmark_group(format!("verify/{name}"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("congvan verify_signature", |b| {
            b.iter(|| verify_signature(alg, cert, black_box(message), &signature).unwrap())
        });
        let public = UnparsedPublicKey::new(verification(alg), cert.public_key());
        group.bench_function("ring UnparsedPublicKey::verify", |b| {
            b.iter(|| public.verify(black_box(message), &signature).unwrap())
        });
        group.finish();

        let verify_ratio = interleaved_ratio(
            21,
            400,
            || verify_signature(alg, cert, black_box(message), &signature).unwrap(),
            || public.verify(black_box(message), &signature).unwrap(),
        );
        println!(
            "RATIO {name}: library/ring sign {sign_ratio:.3}, verify {verify_ratio:.3} \
             (median of 21 interleaved rounds; the requirement is at most 1.10)\n"
        );
    }
}

fn validation(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let demo = build_demo(dir.path(), Algorithm::EcdsaP256).unwrap();
    let root = Certificate::load(&demo.root.join("cert.pem")).unwrap();
    let ca_dir = &demo.province_ca;
    let ca = Credential::load(ca_dir, None).unwrap();
    let official_dir = dir.path().join("H99.01/official");
    let leaf = Certificate::load(&official_dir.join("cert.pem")).unwrap();

    // A CRL listing every other demo leaf.
    let mut record = RevocationRecord::default();
    let now = OffsetDateTime::now_utc();
    for other in demo.leaves.iter().filter(|d| **d != official_dir) {
        let cert = Certificate::load(&other.join("cert.pem")).unwrap();
        record
            .revoke(&ca, &cert, RevocationReason::KeyCompromise, now)
            .unwrap();
    }
    let crl_path = dir.path().join("h99.crl");
    std::fs::write(&crl_path, record.issue_crl(&ca, now, 7).unwrap()).unwrap();

    let purpose = Purpose {
        role: Some(Role::Official),
        org: None,
    };
    let mut plain = TrustStore::new(vec![root.clone()]).unwrap();
    plain.add_intermediates([ca.cert().clone()]);
    let mut with_crl = TrustStore::new(vec![root]).unwrap();
    with_crl.add_intermediates([ca.cert().clone()]);
    with_crl
        .add_crls(Crl::load_all(&crl_path).unwrap())
        .unwrap();
    // Both must accept the leaf, or the benchmark measures a failure path.
    plain.validate(&leaf, &[], &purpose, now).unwrap();
    with_crl.validate(&leaf, &[], &purpose, now).unwrap();

    let mut group = c.benchmark_group("validate");
    group.throughput(Throughput::Elements(1));
    // Cold: a fresh store each time (built outside the timing), so every
    // certificate signature in the chain is checked: the real cost of a
    // chain seen for the first time.
    let fresh = |crl: bool| {
        let mut store = TrustStore::new(vec![plain.anchors()[0].clone()]).unwrap();
        store.add_intermediates([ca.cert().clone()]);
        if crl {
            store.add_crls(Crl::load_all(&crl_path).unwrap()).unwrap();
        }
        store
    };
    group.bench_function("cold: official via provincial CA to root", |b| {
        b.iter_batched(
            || fresh(false),
            |store| {
                store
                    .validate(black_box(&leaf), &[], &purpose, now)
                    .unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function(
        format!(
            "cold: official via provincial CA to root, CRL of {} entries",
            record.revoked.len()
        ),
        |b| {
            b.iter_batched(
                || fresh(true),
                |store| {
                    store
                        .validate(black_box(&leaf), &[], &purpose, now)
                        .unwrap()
                },
                BatchSize::SmallInput,
            )
        },
    );
    // Warm: the same store again, as a relay or auditor verifying many
    // dispatches from the same offices sees it (the validation cache hits).
    group.bench_function("warm: official via provincial CA to root", |b| {
        b.iter(|| {
            plain
                .validate(black_box(&leaf), &[], &purpose, now)
                .unwrap()
        })
    });
    group.bench_function(
        format!(
            "warm: official via provincial CA to root, CRL of {} entries",
            record.revoked.len()
        ),
        |b| {
            b.iter(|| {
                with_crl
                    .validate(black_box(&leaf), &[], &purpose, now)
                    .unwrap()
            })
        },
    );
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = signatures, validation
}
criterion_main!(benches);
