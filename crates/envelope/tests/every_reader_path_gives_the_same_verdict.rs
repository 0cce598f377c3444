//! Every container goes through one directory reader, over the file read
//! whole (up to 256 KiB) or read where needed (larger); its JSON entries may
//! be stored or deflated. The verdict must not depend on which, and a layout
//! that other ZIP readers could read differently is refused on every path.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use congvan_envelope::{Envelope, Error, Indication, SignatureRole, SubIndication};
use zip::CompressionMethod;

/// A signed and sealed dispatch with one attachment of `attachment_len` bytes.
fn signed(demo: &Demo, file: &str, attachment_len: usize) -> std::path::PathBuf {
    let content: Vec<u8> = (0..attachment_len).map(|i| (i % 251) as u8).collect();
    let path = new_dispatch(
        demo.tmp.path(),
        file,
        &metadata(),
        &[("so-lieu.bin", content.as_slice())],
    );
    demo.sign(&path, "H99.01/official", SignatureRole::Signer);
    demo.sign(&path, "H99.01/office", SignatureRole::Seal);
    path
}

/// The JSON entries deflated, as other writers (and older congvan) make them.
fn deflated_copy(demo: &Demo, src: &std::path::Path, name: &str) -> std::path::PathBuf {
    let dst = demo.path(name);
    rewrite_container_with(
        src,
        &dst,
        |_, bytes| Some(bytes),
        |entry, method| {
            if entry.ends_with(".json") {
                CompressionMethod::Deflated
            } else {
                method
            }
        },
    );
    dst
}

/// Flips one byte of the attachment's data in place (a CRC-32 mismatch).
fn flip_attachment_byte(path: &std::path::Path, marker: &[u8]) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("attachment bytes present");
    bytes[at + marker.len()] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn stored_deflated_and_large_containers_verify_alike() {
    let demo = Demo::new();
    let trust = demo.trust();
    let small = signed(&demo, "small.cvd", 2_000);
    let small_deflated = deflated_copy(&demo, &small, "small-deflated.cvd");
    let large = signed(&demo, "large.cvd", 300 * 1024);
    let large_deflated = deflated_copy(&demo, &large, "large-deflated.cvd");
    assert!(std::fs::metadata(&large).unwrap().len() > 256 * 1024);

    for file in [&small, &small_deflated, &large, &large_deflated] {
        let report = verify(file, &trust);
        assert_eq!(
            overall(&report),
            (Indication::Passed, None),
            "{}: {}",
            file.display(),
            report.summary
        );
        assert_eq!(report.signatures.len(), 2);
        assert_eq!(Envelope::open(file).unwrap().attachments().len(), 1);
    }
    // A deflated copy reads as the same dispatch: the same signed manifest.
    for (original, copy) in [(&small, &small_deflated), (&large, &large_deflated)] {
        let a = Envelope::open(original).unwrap();
        let b = Envelope::open(copy).unwrap();
        assert_eq!(a.manifest_bytes(), b.manifest_bytes());
        assert_eq!(a.metadata_bytes(), b.metadata_bytes());
    }
}

#[test]
fn an_altered_attachment_is_a_hash_failure_on_every_path() {
    let demo = Demo::new();
    let trust = demo.trust();
    // The attachment's bytes start 0, 1, 2, ...: flip the byte after 0..16.
    let marker: Vec<u8> = (0..16).collect();
    let small = signed(&demo, "small.cvd", 2_000);
    let small_deflated = deflated_copy(&demo, &small, "small-deflated.cvd");
    let large = signed(&demo, "large.cvd", 300 * 1024);
    for file in [&small, &small_deflated, &large] {
        flip_attachment_byte(file, &marker);
        let report = verify(file, &trust);
        assert_eq!(
            overall(&report),
            (Indication::Failed, Some(SubIndication::HashFailure)),
            "{}: {}",
            file.display(),
            report.summary
        );
        let problem = report.attachments[0].problem.as_deref().unwrap_or("");
        assert!(problem.contains("altered or damaged"), "{problem}");
    }
}

#[test]
fn bytes_before_the_archive_are_refused_on_every_path() {
    let demo = Demo::new();
    let small = signed(&demo, "small.cvd", 2_000);
    let large = signed(&demo, "large.cvd", 300 * 1024);
    for file in [&small, &large] {
        let prefixed = demo.path("prefixed.cvd");
        let bytes = std::fs::read(file).unwrap();
        std::fs::write(
            &prefixed,
            [b"#!/bin/sh\nexit 0\n".as_slice(), &bytes].concat(),
        )
        .unwrap();
        match Envelope::open(&prefixed) {
            Err(Error::NotAContainer { problem, .. }) => {
                assert!(!problem.is_empty(), "{}", file.display())
            }
            Err(other) => panic!("{}: unexpected error {other}", file.display()),
            Ok(_) => panic!("{}: a prefixed container was accepted", file.display()),
        }
    }
}

/// A relay addresses the file it keeps by its SHA-256, taken while the
/// custody receipt is appended: it must be the digest of the file written,
/// whichever path read the original.
#[test]
fn a_receipt_appended_with_its_digest_gives_the_digest_of_the_file_written() {
    let demo = Demo::new();
    let trust = demo.trust();
    let small = signed(&demo, "small.cvd", 2_000);
    let small_deflated = deflated_copy(&demo, &small, "small-deflated.cvd");
    let large = signed(&demo, "large.cvd", 300 * 1024);
    for file in [&small, &small_deflated, &large] {
        let relay = demo.cred("H99", "relay");
        let receipt = custody_receipt(
            file,
            &relay,
            "H99",
            signature_digests(file),
            time::OffsetDateTime::now_utc(),
        );
        // The same append in memory, from the bytes as a relay received
        // them: the very bytes the file append writes, and their digest.
        let in_memory = match congvan_envelope::Opened::from_bytes(
            std::fs::read(file).unwrap(),
            std::path::Path::new("the upload"),
        )
        .unwrap()
        {
            congvan_envelope::Opened::Dispatch(mut envelope) => {
                congvan_envelope::receipt_appended_bytes(&mut envelope, &receipt).unwrap()
            }
            congvan_envelope::Opened::Sealed(_) => panic!("read as a sealed dispatch"),
        };
        // In place, as a relay appends to its upload: hashed as it
        // arrived, hashed by one pass after a partial arrival digest (which
        // cannot answer for the file), and with no arrival digest at all.
        // Each gives the bytes and the digest of the copying append below.
        let original = std::fs::read(file).unwrap();
        let mut in_place = Vec::new();
        for (how, fed) in [("arrival", original.len()), ("partial", 10), ("none", 0)] {
            let copy = file.with_extension(format!("{how}.cvd"));
            std::fs::write(&copy, &original).unwrap();
            let mut arrival = congvan_envelope::ArrivalDigest::new();
            for piece in original[..fed].chunks(16 * 1024) {
                arrival.update(piece);
            }
            let mut envelope = Envelope::open(&copy).unwrap();
            let (entry, digest) = congvan_envelope::append_receipt_in_place(
                &mut envelope,
                &receipt,
                (fed > 0).then_some(&arrival),
            )
            .unwrap();
            assert_eq!(entry, "META-INF/receipts/0001.json");
            assert_eq!(
                envelope.receipts().len(),
                1,
                "{how}: read again after the append"
            );
            let (size, sha256) = congvan_envelope::sha256_file(&copy).unwrap();
            assert_eq!(
                (digest.size, &digest.sha256),
                (size, &sha256),
                "{how} {}",
                file.display()
            );
            in_place.push((how, std::fs::read(&copy).unwrap()));
        }
        let mut envelope = Envelope::open(file).unwrap();
        let (entry, digest) = congvan_envelope::append_receipt_digested(
            &mut envelope,
            &receipt,
            congvan_envelope::Durability::Unsynced,
        )
        .unwrap();
        assert_eq!(entry, "META-INF/receipts/0001.json");
        let (size, sha256) = congvan_envelope::sha256_file(file).unwrap();
        assert_eq!(
            (digest.size, digest.sha256),
            (size, sha256.clone()),
            "{}",
            file.display()
        );
        assert_eq!(in_memory.0, entry, "{}", file.display());
        assert_eq!(
            in_memory.1,
            std::fs::read(file).unwrap(),
            "{}",
            file.display()
        );
        assert_eq!(
            (in_memory.2.size, &in_memory.2.sha256),
            (size, &sha256),
            "{}",
            file.display()
        );
        for (how, bytes) in &in_place {
            assert!(
                *bytes == std::fs::read(file).unwrap(),
                "{how} {}: the in-place append wrote other bytes than the copying one",
                file.display()
            );
        }
        let report = verify(file, &trust);
        assert_eq!(
            overall(&report),
            (Indication::Passed, None),
            "{}",
            report.summary
        );
        assert!(report.receipts[0].valid, "{:?}", report.receipts[0]);
    }
}

/// The attacks that made other readers show forged entries while congvan
/// showed the genuine ones: refused, whichever way the file is read.
#[test]
fn ambiguous_layouts_are_refused_on_every_path() {
    use common::zip_surgery::{RawEntry, RawZip};
    let demo = Demo::new();
    let small = signed(&demo, "small.cvd", 2_000);
    let large = signed(&demo, "large.cvd", 300 * 1024);
    type Attack = fn(&mut RawZip);
    let attacks: [(&str, Attack, &str); 4] = [
        (
            "an uncounted directory record with a forged metadata.json",
            |z| {
                let mut forged = RawEntry::stored("metadata.json", b"{}");
                forged.counted = false;
                z.entries.push(forged);
            },
            "after the",
        ),
        (
            "a forged local entry between two entries",
            |z| {
                let mut forged = RawEntry::stored("metadata.json", b"{}");
                forged.in_directory = false;
                let at = z.index_of("metadata.json") + 1;
                z.entries.insert(at, forged);
            },
            "belong to no entry",
        ),
        (
            "a local header naming another file",
            |z| {
                let i = z.index_of("metadata.json");
                z.entries[i].local_name = Some(b"metadata.jsoN".to_vec());
            },
            "differs from its central directory record",
        ),
        (
            "an attachment marked as a symbolic link",
            |z| {
                let i = z.index_of("attachments/so-lieu.bin");
                z.entries[i].external = 0o120_777 << 16;
            },
            "symbolic link",
        ),
    ];
    for file in [&small, &large] {
        let genuine = RawZip::parse(&std::fs::read(file).unwrap());
        for (what, attack, reason) in attacks {
            let mut raw = genuine.clone();
            attack(&mut raw);
            let hostile = demo.path("hostile.cvd");
            std::fs::write(&hostile, raw.to_bytes()).unwrap();
            match Envelope::open(&hostile) {
                Err(Error::NotAContainer { problem, .. }) => {
                    assert!(problem.contains(reason), "{what}: {problem}")
                }
                Err(other) => panic!("{what}: unexpected error {other}"),
                Ok(_) => panic!("{what} ({}): accepted", file.display()),
            }
            // A relay reads a small upload from memory: the same refusal.
            let label = std::path::Path::new("the upload");
            match congvan_envelope::Opened::from_bytes(raw.to_bytes(), label) {
                Err(Error::NotAContainer { problem, .. }) => {
                    assert!(problem.contains(reason), "{what} in memory: {problem}")
                }
                Err(other) => panic!("{what} in memory: unexpected error {other}"),
                Ok(_) => panic!("{what} in memory ({}): accepted", file.display()),
            }
        }
    }
}
