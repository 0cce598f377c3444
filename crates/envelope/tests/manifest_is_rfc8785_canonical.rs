//! The manifest is exactly its RFC 8785 (JCS) canonical form: what is
//! written equals what an independent canonicalisation of the same JSON
//! gives, and any other serialisation of the same manifest is refused, by
//! `Manifest::parse` and by `Envelope::open`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use congvan_envelope::{Envelope, Error, Manifest, MANIFEST_FORMAT};
use serde_json::Value;

fn sample_manifest_bytes() -> (Demo, std::path::PathBuf, Vec<u8>) {
    let demo = Demo::new();
    let file = new_dispatch(
        demo.tmp.path(),
        "a.cvd",
        &metadata(),
        &[("Tờ trình.pdf", b"%PDF-1.7\n"), ("z.txt", b"")],
    );
    let bytes = Envelope::open(&file).unwrap().manifest_bytes().to_vec();
    (demo, file, bytes)
}

#[test]
fn written_manifest_is_canonical_and_parses() {
    let (_demo, _file, bytes) = sample_manifest_bytes();
    let value: Value = serde_json::from_slice(&bytes).unwrap();
    // Canonicalising the generic JSON value gives the same bytes back.
    assert_eq!(serde_json_canonicalizer::to_vec(&value).unwrap(), bytes);
    // Shape: sorted keys, no whitespace, raw UTF-8 (no \u escapes).
    let text = std::str::from_utf8(&bytes).unwrap();
    assert!(
        text.starts_with("{\"attachments\":[{\"media_type\":"),
        "{text}"
    );
    assert!(!text.contains('\n'));
    assert!(text.contains("attachments/Tờ trình.pdf"), "{text}");
    assert!(!text.contains("\\u"), "{text}");
    assert_eq!(value["format"], MANIFEST_FORMAT);
    let manifest = Manifest::parse(&bytes).unwrap();
    assert_eq!(manifest.canonical_bytes().unwrap(), bytes);
    assert_eq!(manifest.attachments.len(), 2);
    assert_eq!(manifest.attachments[1].size, 0);
    assert_eq!(
        manifest.digest().unwrap(),
        congvan_envelope::sha256_hex(&bytes)
    );
}

#[test]
fn non_canonical_serialisations_of_the_same_manifest_are_refused() {
    let (_demo, _file, bytes) = sample_manifest_bytes();
    let value: Value = serde_json::from_slice(&bytes).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let variants: Vec<(&str, Vec<u8>)> = vec![
        ("pretty-printed", serde_json::to_vec_pretty(&value).unwrap()),
        ("trailing newline", [bytes.as_slice(), b"\n"].concat()),
        (
            "leading space",
            [b" ".as_slice(), bytes.as_slice()].concat(),
        ),
        (
            "keys out of order",
            text.replacen(&format!("\"format\":\"{MANIFEST_FORMAT}\""), "", 1)
                .replacen('{', &format!("{{\"format\":\"{MANIFEST_FORMAT}\","), 1)
                .replace(",,", ",")
                .replace(",}", "}")
                .into_bytes(),
        ),
        (
            "escaped non-ASCII",
            text.replace("ờ", "\\u1edd").into_bytes(),
        ),
        ("escaped slash", text.replace('/', "\\/").into_bytes()),
        (
            "size as float",
            text.replacen("\"size\":9", "\"size\":9.0", 1).into_bytes(),
        ),
    ];
    for (what, variant) in variants {
        assert_ne!(variant, bytes, "{what}: variant is identical");
        // It is the same manifest as JSON...
        let same: Value =
            serde_json::from_slice(&variant).unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
        if what != "size as float" {
            assert_eq!(same, value, "{what}");
        }
        // ...but not the canonical bytes, so it is refused.
        match Manifest::parse(&variant) {
            Err(Error::Format(problem)) => assert!(
                problem.contains("RFC 8785") || what == "size as float",
                "{what}: {problem}"
            ),
            other => panic!("{what}: expected a format error, got {other:?}"),
        }
    }
}

#[test]
fn container_with_a_pretty_printed_manifest_is_refused() {
    let (demo, file, _) = sample_manifest_bytes();
    let pretty = demo.path("pretty.cvd");
    rewrite_container(&file, &pretty, |name, bytes| {
        if name == "META-INF/manifest.json" {
            let value: Value = serde_json::from_slice(&bytes).unwrap();
            return Some(serde_json::to_vec_pretty(&value).unwrap());
        }
        Some(bytes)
    });
    let err = Envelope::open(&pretty).err().expect("refused");
    assert!(err.to_string().contains("RFC 8785"), "{err}");
    // The untouched rewrite opens: it is the manifest that is refused.
    let same = demo.path("same.cvd");
    rewrite_container(&file, &same, |_, bytes| Some(bytes));
    Envelope::open(&same).unwrap();
}

#[test]
fn unknown_fields_and_other_format_tags_are_refused() {
    let (_demo, _file, bytes) = sample_manifest_bytes();
    let mut value: Value = serde_json::from_slice(&bytes).unwrap();
    value["format"] = "congvan-dispatch/2".into();
    let err = Manifest::parse(&serde_json_canonicalizer::to_vec(&value).unwrap()).unwrap_err();
    assert!(err.to_string().contains("not supported"), "{err}");
    let mut value: Value = serde_json::from_slice(&bytes).unwrap();
    value["comment"] = "unsigned extra".into();
    let err = Manifest::parse(&serde_json_canonicalizer::to_vec(&value).unwrap()).unwrap_err();
    assert!(err.to_string().contains("unknown field"), "{err}");
}

/// `Manifest::canonical_bytes` writes JCS by field order and serde_json's
/// escaping; an independent JCS implementation must agree on every string
/// that can reach a manifest, including control characters, quotes,
/// backslashes, non-BMP characters, U+2028 and DEL, and on every size.
#[test]
fn canonical_bytes_agree_with_an_independent_jcs_implementation() {
    use congvan_envelope::{ManifestEntry, MAX_CANONICAL_INTEGER};
    const PIECES: &[&str] = &[
        "a",
        "Tờ trình",
        "\"",
        "\\",
        "/",
        "\u{0}",
        "\u{1}",
        "\u{8}",
        "\t",
        "\n",
        "\u{b}",
        "\u{c}",
        "\r",
        "\u{1f}",
        " ",
        "\u{7f}",
        "\u{80}",
        "\u{2028}",
        "\u{2029}",
        "\u{feff}",
        "😀",
        "€",
        "ệ",
        "e\u{302}\u{323}",
        "<>&'",
    ];
    const SIZES: &[u64] = &[
        0,
        1,
        9,
        10,
        1_000_000,
        u32::MAX as u64,
        MAX_CANONICAL_INTEGER,
    ];
    // A small deterministic generator, so that a failure reproduces.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let text = |next: &mut dyn FnMut(usize) -> usize| -> String {
        (0..next(6)).map(|_| PIECES[next(PIECES.len())]).collect()
    };
    for _ in 0..2_000 {
        let entry = |next: &mut dyn FnMut(usize) -> usize| ManifestEntry {
            media_type: text(next),
            name: format!("attachments/{}", text(next)),
            sha256: text(next),
            size: SIZES[next(SIZES.len())],
        };
        let manifest = Manifest {
            attachments: (0..next(3)).map(|_| entry(&mut next)).collect(),
            dispatch_id: text(&mut next),
            format: MANIFEST_FORMAT.to_string(),
            metadata: entry(&mut next),
        };
        let ours = manifest.canonical_bytes().unwrap();
        let theirs = serde_json_canonicalizer::to_vec(&manifest).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
        // Parsing gives the same manifest back once the fields a reader
        // checks (media types, digests) hold valid values.
        let mut valid = manifest.clone();
        for entry in std::iter::once(&mut valid.metadata).chain(&mut valid.attachments) {
            entry.media_type = "application/pdf".into();
            entry.sha256 = "0f".repeat(32);
        }
        let bytes = valid.canonical_bytes().unwrap();
        assert_eq!(Manifest::parse(&bytes).unwrap(), valid);
    }
}

#[test]
fn sizes_beyond_exact_json_numbers_are_refused() {
    let (_demo, _file, bytes) = sample_manifest_bytes();
    let mut manifest = Manifest::parse(&bytes).unwrap();
    manifest.attachments[0].size = congvan_envelope::MAX_CANONICAL_INTEGER + 1;
    let err = manifest.canonical_bytes().unwrap_err();
    assert!(err.to_string().contains("RFC 8785"), "{err}");
    // Parsing such a manifest fails the same way, naming the entry.
    let text = serde_json::to_vec(&manifest).unwrap();
    let err = Manifest::parse(&text).unwrap_err();
    assert!(err.to_string().contains("attachments/"), "{err}");
}
