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
