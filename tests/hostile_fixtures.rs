//! `fixtures/hostile/`: every file a hostile party made with real keys is
//! refused with its reason, `docs/verify-by-hand.sh` refuses it too, and
//! nothing in it reaches a terminal as a control: not through `verify`,
//! `show`, `extract`, `render`, a folder run, or a relay's answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_macros)] // test progress output

use std::path::PathBuf;
use std::process::Command;

use crate::support::process;
use crate::support::relays::*;
use serde_json::Value;

/// Each file: (name, indication, sub-indication, words of the summary).
#[rustfmt::skip]
const EXPECTED: &[(&str, &str, &str, &str)] = &[
    ("zip-uncounted-record.cvd", "FAILED", "FORMAT_FAILURE", "after the 6 records the end record declares"),
    ("zip-hidden-local-entry.cvd", "FAILED", "FORMAT_FAILURE", "belong to no entry"),
    ("zip-bytes-before.cvd", "FAILED", "FORMAT_FAILURE", "does not start at byte 0"),
    ("zip-bytes-after.cvd", "FAILED", "FORMAT_FAILURE", "does not end with a ZIP end-of-central-directory record"),
    ("zip-bytes-before-directory.cvd", "FAILED", "FORMAT_FAILURE", "between the last entry and the central directory"),
    ("zip-directory-size.cvd", "FAILED", "FORMAT_FAILURE", "does not end where the end record begins"),
    ("zip-local-header-mismatch.cvd", "FAILED", "FORMAT_FAILURE", "differs from its central directory record (name)"),
    ("zip-archive-comment.cvd", "FAILED", "FORMAT_FAILURE", "archive comment"),
    ("zip-entry-comment.cvd", "FAILED", "FORMAT_FAILURE", "has a comment"),
    ("zip-extra-field.cvd", "FAILED", "FORMAT_FAILURE", "extra field (header 0x5455)"),
    ("zip-data-descriptor.cvd", "FAILED", "FORMAT_FAILURE", "data descriptor"),
    ("zip-zip64-small.cvd", "FAILED", "FORMAT_FAILURE", "uses ZIP64 for a value that fits in 32 bits"),
    ("zip-symlink.cvd", "FAILED", "FORMAT_FAILURE", "symbolic link"),
    ("paint-metadata.cvd", "FAILED", "FORMAT_FAILURE", "the metadata breaks the rules"),
    ("paint-signing-time.cvd", "FAILED", "FORMAT_FAILURE", "is not an RFC 3339 time"),
    ("paint-certificate-name.cvd", "INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND", "unknown issuer"),
    ("paint-media-type.cvd", "FAILED", "FORMAT_FAILURE", "is not of the form type/subtype"),
    ("paint-attachment-name.cvd", "FAILED", "FORMAT_FAILURE", "direction character"),
    ("paint-receipt.cvd", "FAILED", "HASH_FAILURE", "no longer matches the content"),
    ("render-forged-signer.cvd", "INDETERMINATE", "CERTIFICATE_CHAIN_GENERAL_FAILURE", "not signed by the CA it names"),
    ("poe-off-route-receipt.cvd", "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE", "no timestamp or relay receipt proves"),
    ("policy-seal-covers-nothing.cvd", "FAILED", "HASH_FAILURE", "does not cover META-INF/signatures/0001.json"),
    ("policy-crit-header.cvd", "FAILED", "FORMAT_FAILURE", "`crit`"),
    ("policy-windows-device-name.cvd", "FAILED", "FORMAT_FAILURE", "Windows device name"),
    ("policy-case-twins.cvd", "FAILED", "FORMAT_FAILURE", "differ only in case"),
    ("policy-lookalike-slash.cvd", "FAILED", "FORMAT_FAILURE", "looks like a slash"),
    ("cert-email-only-ca.cvd", "INDETERMINATE", "CHAIN_CONSTRAINTS_FAILURE", "does not include documentSigning"),
    ("cert-expired-intermediate.cvd", "FAILED", "EXPIRED", "the CA certificate \"CA tỉnh cũ (minh họa)\" expired"),
    ("cert-duplicate-extension.cvd", "INDETERMINATE", "NO_SIGNING_CERTIFICATE_FOUND", "includes an extension twice"),
    ("cert-rsa1024-signer.cvd", "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE", "its RSA key has 1024 bits"),
    ("cert-p192-signer.cvd", "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE", "P-192"),
];

fn hostile_dir() -> PathBuf {
    repo().join("fixtures/hostile")
}

fn crl() -> PathBuf {
    repo().join("fixtures/pki/ca-h99.crl.pem")
}

#[test]
fn every_hostile_file_is_refused_with_its_reason_by_congvan_and_by_hand() {
    let listed: Vec<String> = std::fs::read_dir(hostile_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".cvd"))
        .collect();
    assert_eq!(
        listed.len(),
        EXPECTED.len(),
        "a hostile file is not covered: {listed:?}"
    );
    let readme = std::fs::read_to_string(repo().join("fixtures/README.md")).unwrap();
    let script = repo().join("docs/verify-by-hand.sh");
    for (name, indication, sub, words) in EXPECTED {
        assert!(
            readme.contains(name),
            "fixtures/README.md does not explain {name}"
        );
        let file = hostile_dir().join(name);
        let run = process::congvan([
            "dispatch".as_ref(),
            "verify".as_ref(),
            file.as_os_str(),
            "--trust".as_ref(),
            root_pem().as_os_str(),
            "--crl".as_ref(),
            crl().as_os_str(),
            "--json".as_ref(),
        ]);
        let report: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{name}: no JSON report ({e})\n{run}"));
        assert_eq!(report["indication"], *indication, "{name}: {run}");
        assert_eq!(report["sub_indication"], *sub, "{name}: {run}");
        let summary = report["summary"].as_str().unwrap();
        assert!(summary.contains(words), "{name}: {summary}");
        let expected_exit = if *indication == "FAILED" { 1 } else { 3 };
        run.assert_code(expected_exit);

        // The by-hand procedure, with only openssl and python, refuses it too.
        let by_hand = process::run(Command::new("bash").arg(&script).arg(&file).arg(root_pem()));
        assert_ne!(
            by_hand.code,
            Some(0),
            "{name}: verify-by-hand.sh accepted it\n{by_hand}"
        );
        assert!(
            !by_hand.stderr.contains("Traceback"),
            "{name}: verify-by-hand.sh broke instead of refusing\n{by_hand}"
        );
    }
}

/// No character that acts on a terminal (C0 but line feed and tab, DEL,
/// C1, bidi and other format characters, line separators).
#[track_caller]
fn assert_inert(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Some((at, c)) = text
        .char_indices()
        .find(|&(_, c)| congvan_text::is_unsafe(c) && c != '\n' && c != '\t')
    {
        let from = text[..at]
            .char_indices()
            .rev()
            .nth(40)
            .map_or(0, |(i, _)| i);
        panic!(
            "{what}: U+{:04X} reached the output near {:?}",
            u32::from(c),
            &text[from..(at + c.len_utf8()).min(text.len())]
        );
    }
}

fn congvan_raw(args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let out = Command::new(process::congvan_bin())
        .args(args)
        .output()
        .unwrap();
    let mut bytes = out.stdout;
    bytes.extend(out.stderr);
    bytes
}

#[test]
fn nothing_a_hostile_file_carries_reaches_the_terminal() {
    let tmp = process::tempdir();
    // A file name that paints too.
    let painted_name = tmp.path().join("x\u{1b}[2K\u{202e}fdp.cvd");
    std::fs::copy(hostile_dir().join("paint-metadata.cvd"), &painted_name).unwrap();
    let mut files: Vec<PathBuf> = EXPECTED
        .iter()
        .map(|(n, ..)| hostile_dir().join(n))
        .collect();
    files.push(painted_name);
    let root = root_pem();
    for (i, file) in files.iter().enumerate() {
        let f = file.as_os_str();
        let out_dir = tmp.path().join(format!("extract-{i}"));
        let pdf = tmp.path().join(format!("render-{i}.pdf"));
        let runs: Vec<Vec<&std::ffi::OsStr>> = vec![
            vec![
                "dispatch".as_ref(),
                "verify".as_ref(),
                f,
                "--trust".as_ref(),
                root.as_os_str(),
            ],
            vec![
                "dispatch".as_ref(),
                "verify".as_ref(),
                f,
                "--trust".as_ref(),
                root.as_os_str(),
                "--json".as_ref(),
            ],
            vec!["dispatch".as_ref(), "show".as_ref(), f],
            vec!["dispatch".as_ref(), "show".as_ref(), f, "--json".as_ref()],
            vec![
                "dispatch".as_ref(),
                "extract".as_ref(),
                f,
                "--out".as_ref(),
                out_dir.as_os_str(),
            ],
            vec![
                "dispatch".as_ref(),
                "render".as_ref(),
                f,
                "--out".as_ref(),
                pdf.as_os_str(),
            ],
        ];
        for args in runs {
            let what = format!("{:?} on {}", args.get(1), file.display());
            assert_inert(&what, &congvan_raw(&args));
        }
    }
    // A whole folder at once, as an auditor runs it.
    assert_inert(
        "verify of the folder",
        &congvan_raw(&[
            "dispatch".as_ref(),
            "verify".as_ref(),
            hostile_dir().as_os_str(),
            "--trust".as_ref(),
            root.as_os_str(),
        ]),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_refuses_every_hostile_file_and_its_answers_stay_inert() {
    let dir = process::tempdir();
    let relay = congvan_relay::start(relay_config(dir.path(), "H99.01"))
        .await
        .unwrap();
    let relay_url = url(relay.addr);
    for (name, ..) in EXPECTED {
        let file = hostile_dir().join(name);
        // Through the clerk's command: refused locally or by the relay.
        let run = clerk("send", &relay_url, "H99.01", &[file.as_os_str()]).await;
        assert_ne!(run.code, Some(0), "{name}: sent\n{run}");
        assert_inert(&format!("send {name}"), run.output().as_bytes());
        // Straight to the relay (no local check), as a hostile client would.
        let answer = client(&relay_url, "H99.01").send_file(&file).await;
        match answer {
            Err(congvan_relay::Error::Refused { status, reason, .. }) => {
                assert!((400..500).contains(&status), "{name}: {status} {reason}");
                assert_inert(&format!("the relay's answer to {name}"), reason.as_bytes());
            }
            other => panic!("{name}: the relay answered {other:?}"),
        }
    }
    let listing = clerk("inbox", &relay_url, "H99.01", &[] as &[&str]).await;
    listing.assert_ok();
    assert_inert("inbox", listing.output().as_bytes());
    assert!(relay.state.store.inbox("H99.01.01").unwrap().is_empty());
}
