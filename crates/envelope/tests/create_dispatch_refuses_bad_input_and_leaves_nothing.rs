//! `create_dispatch` refuses invalid metadata (naming the field) and
//! unusable attachments (duplicate names, `../x`, control characters, a
//! folder), and a failure leaves no file and no `.partial` temp file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use congvan_envelope::metadata::Metadata;
use congvan_envelope::{create_dispatch, AttachmentSource, Error};

/// The names in a folder, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs `create_dispatch` into an empty folder, expects an error, and
/// checks the folder is still empty.
fn create_fails(meta: &Metadata, attachments: &[AttachmentSource]) -> Error {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("new.cvd");
    let err = create_dispatch(meta, attachments, &out, &mut |_| {}).unwrap_err();
    assert!(!out.exists());
    assert_eq!(listing(out_dir.path()), Vec::<String>::new(), "{err}");
    err
}

fn file_in(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn named(path: &Path, name: &str) -> AttachmentSource {
    AttachmentSource {
        path: path.to_path_buf(),
        name: Some(name.to_string()),
        media_type: None,
    }
}

#[test]
fn invalid_metadata_is_refused_naming_the_field() {
    type Change = Box<dyn Fn(&mut Metadata)>;
    let cases: Vec<(&str, Change)> = vec![
        ("number", Box::new(|m| m.number = "15-UBND-VP".into())),
        ("subject", Box::new(|m| m.subject = "  ".into())),
        ("id", Box::new(|m| m.id = "CV-15".into())),
        ("to", Box::new(|m| m.to.clear())),
        ("to[0].id", Box::new(|m| m.to[0].id = m.from.id.clone())),
        (
            "signer.full_name",
            Box::new(|m| m.signer.full_name = "Le\u{202E}Van".into()),
        ),
        ("created_at", Box::new(|m| m.created_at = "hôm nay".into())),
    ];
    for (field, change) in cases {
        let mut meta = metadata();
        change(&mut meta);
        match create_fails(&meta, &[]) {
            Error::InvalidMetadata { field: f, problem } => {
                assert_eq!(f, field, "{problem}");
            }
            other => panic!("{field}: expected InvalidMetadata, got {other:?}"),
        }
    }
}

#[test]
fn duplicate_attachment_names_are_refused() {
    let src = tempfile::tempdir().unwrap();
    let a = file_in(src.path(), "a.pdf", b"a");
    let b = file_in(src.path(), "b.pdf", b"b");
    let err = create_fails(&metadata(), &[named(&a, "x.pdf"), named(&b, "x.pdf")]);
    assert!(matches!(err, Error::BadAttachment { .. }), "{err:?}");
    assert!(err.to_string().contains("already named \"x.pdf\""), "{err}");
    // The same file twice under its own name, too.
    let err = create_fails(
        &metadata(),
        &[AttachmentSource::file(&a), AttachmentSource::file(&a)],
    );
    assert!(err.to_string().contains("already named \"a.pdf\""), "{err}");
    // NFC and NFD spellings of one name are the same name.
    let nfc = "Quyết định.pdf";
    let nfd = "Quye\u{302}\u{301}t \u{111}i\u{323}nh.pdf";
    assert_ne!(nfc, nfd);
    let err = create_fails(&metadata(), &[named(&a, nfc), named(&b, nfd)]);
    assert!(err.to_string().contains("already named"), "{err}");
    // So are names that differ only in case: one file on Windows and macOS.
    let err = create_fails(
        &metadata(),
        &[named(&a, "Báo cáo.pdf"), named(&b, "BÁO CÁO.pdf")],
    );
    assert!(err.to_string().contains("differ only in case"), "{err}");
}

#[test]
fn unsafe_attachment_names_are_refused() {
    let src = tempfile::tempdir().unwrap();
    let a = file_in(src.path(), "a.pdf", b"a");
    for (name, why) in [
        ("../x", "path separator"),
        ("a/b.pdf", "path separator"),
        ("a\\b.pdf", "path separator"),
        ("..", "starts with a dot"),
        (".hidden", "starts with a dot"),
        (
            "bao\u{7}cao.pdf",
            "control, invisible or direction character",
        ),
        ("bao\ncao.pdf", "control, invisible or direction character"),
        (
            "x\u{202E}fdp.exe",
            "control, invisible or direction character",
        ),
        ("", "is empty"),
        ("C:x.pdf", "':'"),
        ("CON.pdf", "Windows device name"),
        ("a\u{2215}b.pdf", "looks like a slash"),
        ("trailing.", "ends with a space or dot"),
    ] {
        let err = create_fails(&metadata(), &[named(&a, name)]);
        assert!(
            matches!(err, Error::BadAttachment { .. }),
            "{name:?}: {err:?}"
        );
        assert!(err.to_string().contains(why), "{name:?}: {err}");
    }
    let long = format!("{}.pdf", "a".repeat(200));
    let err = create_fails(&metadata(), &[named(&a, &long)]);
    assert!(err.to_string().contains("longer than 200 bytes"), "{err}");
}

#[test]
fn a_folder_or_a_missing_file_is_refused() {
    let src = tempfile::tempdir().unwrap();
    let folder = src.path().join("folder");
    std::fs::create_dir(&folder).unwrap();
    let err = create_fails(&metadata(), &[AttachmentSource::file(&folder)]);
    assert!(matches!(err, Error::BadAttachment { .. }), "{err:?}");
    assert!(err.to_string().contains("is not a regular file"), "{err}");
    let err = create_fails(
        &metadata(),
        &[AttachmentSource::file(src.path().join("missing.pdf"))],
    );
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}

/// A read error in the middle of writing (here `/proc/self/mem`, a regular
/// file that cannot be read at offset 0) removes the half-written temp file,
/// and an existing file at the destination is left as it was.
#[cfg(target_os = "linux")]
#[test]
fn failure_while_writing_leaves_no_partial_file_and_keeps_the_old_one() {
    let out_dir = tempfile::tempdir().unwrap();
    let ok = file_in(out_dir.path(), "ok.pdf", b"%PDF-1.4\n");
    let out = out_dir.path().join("d.cvd");
    std::fs::write(&out, b"the previous file").unwrap();
    let before = listing(out_dir.path());
    let err = create_dispatch(
        &metadata(),
        &[
            AttachmentSource::file(&ok),
            AttachmentSource::file("/proc/self/mem"),
        ],
        &out,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("/proc/self/mem"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"the previous file");
    assert_eq!(listing(out_dir.path()), before);
}

#[test]
fn output_in_a_missing_folder_is_an_error_and_creates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("no-such-folder").join("d.cvd");
    let err = create_dispatch(&metadata(), &[], &out, &mut |_| {}).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert_eq!(listing(tmp.path()), Vec::<String>::new());
}
