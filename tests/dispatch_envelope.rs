//! The `.cvd` envelope through the command line: the committed fixtures,
//! independent JOSE verification, and hostile containers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::support::process::{self, cli_dispatch, congvan, repo, run, script};

fn fixture(name: &str) -> String {
    repo().join("fixtures").join(name).display().to_string()
}

fn verify_json(file: &str) -> (Option<i32>, serde_json::Value) {
    let root = repo().join("certs/root/cert.pem");
    let crl = repo().join("fixtures/pki/ca-h99.crl.pem");
    let out = congvan([
        "dispatch".as_ref(),
        "verify".as_ref(),
        file.as_ref(),
        "--trust".as_ref(),
        root.as_os_str(),
        "--crl".as_ref(),
        crl.as_os_str(),
        "--json".as_ref(),
    ]);
    assert!(!out.stderr.contains("panicked"), "{out}");
    let report: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"));
    (out.code, report)
}

/// Every fixture gives the indication and sub-indication fixtures/README.md promises.
#[test]
fn every_fixture_verifies_as_documented() {
    let expected: &[(&str, i32, &str, Option<&str>, &str)] = &[
        (
            "valid-cong-van-pdf.cvd",
            0,
            "PASSED",
            None,
            "2 valid signatures",
        ),
        (
            "valid-quyet-dinh-signed-sealed.cvd",
            0,
            "PASSED",
            None,
            "2 valid signatures",
        ),
        (
            "valid-hoa-toc-thong-bao.cvd",
            0,
            "PASSED",
            None,
            "2 valid signatures",
        ),
        (
            "tampered-attachment.cvd",
            1,
            "FAILED",
            Some("HASH_FAILURE"),
            "ke-hoach.pdf",
        ),
        (
            "tampered-metadata.cvd",
            1,
            "FAILED",
            Some("HASH_FAILURE"),
            "metadata.json",
        ),
        (
            "removed-signature.cvd",
            1,
            "FAILED",
            Some("HASH_FAILURE"),
            "a signature was removed or altered",
        ),
        (
            "revoked-signer.cvd",
            1,
            "FAILED",
            Some("REVOKED"),
            "revoked",
        ),
        (
            "other-office-signer.cvd",
            3,
            "INDETERMINATE",
            Some("SIG_CONSTRAINTS_FAILURE"),
            "H99.02",
        ),
        (
            "expired-at-signing.cvd",
            1,
            "FAILED",
            Some("EXPIRED"),
            "expired",
        ),
        (
            "missing-attachment.cvd",
            1,
            "FAILED",
            Some("FORMAT_FAILURE"),
            "missing from the container",
        ),
        (
            "extra-unlisted-file.cvd",
            1,
            "FAILED",
            Some("FORMAT_FAILURE"),
            "not listed in the manifest",
        ),
        (
            "path-traversal.cvd",
            1,
            "FAILED",
            Some("FORMAT_FAILURE"),
            "../evil",
        ),
        (
            "zip-bomb.cvd",
            1,
            "FAILED",
            Some("FORMAT_FAILURE"),
            "larger than",
        ),
    ];
    let listed: Vec<String> = std::fs::read_dir(repo().join("fixtures"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".cvd"))
        .collect();
    assert_eq!(
        listed.len(),
        expected.len(),
        "a fixture is not covered: {listed:?}"
    );
    let readme = std::fs::read_to_string(repo().join("fixtures/README.md")).unwrap();
    for (name, code, indication, sub, phrase) in expected {
        assert!(
            readme.contains(name),
            "fixtures/README.md does not explain {name}"
        );
        let (exit, report) = verify_json(&fixture(name));
        assert_eq!(exit, Some(*code), "{name}: {report:#}");
        assert_eq!(report["indication"], *indication, "{name}: {report:#}");
        assert_eq!(
            report["sub_indication"].as_str(),
            *sub,
            "{name}: {report:#}"
        );
        assert!(
            report["summary"].as_str().unwrap().contains(phrase),
            "{name}: {report:#}"
        );
    }
}

/// The human report names each signature, its result and the overall result.
#[test]
fn human_report_is_readable() {
    let root = repo().join("certs/root/cert.pem");
    let out = congvan([
        "dispatch".as_ref(),
        "verify".as_ref(),
        fixture("valid-quyet-dinh-signed-sealed.cvd").as_ref(),
        "--trust".as_ref(),
        root.as_os_str(),
    ]);
    out.assert_ok();
    for text in [
        "15/QĐ-UBND",
        "PASSED",
        "signer",
        "seal",
        "Lê Văn Cường",
        "Result: PASSED",
    ] {
        assert!(out.stdout.contains(text), "missing {text:?}:\n{out}");
    }
}

fn signed_dispatch(dir: &Path, pki: &Path) -> PathBuf {
    let file = dir.join("d.cvd");
    let body = dir.join("body.txt");
    std::fs::write(&body, "Đề nghị các xã báo cáo.\r\nTrân trọng.\n").unwrap();
    let attachment = dir.join("bao-cao.pdf");
    std::fs::write(&attachment, vec![7u8; 100_000]).unwrap();
    cli_dispatch(
        pki,
        &file,
        "H99.01.01,H99.01.02",
        "07/UBND-VP",
        &[
            "--subject",
            "Về việc báo cáo số liệu",
            "--body",
            body.to_str().unwrap(),
            "--attach",
            attachment.to_str().unwrap(),
        ],
        &["signer", "seal"],
    );
    file
}

fn extract_with_unzip(file: &Path, dir: &Path) {
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])",
        ])
        .arg(file)
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
}

/// jwcrypto (Python), given only the manifest bytes as the detached
/// payload, verifies every JWS signature: P-256 and Ed25519.
#[test]
fn independent_jose_library_verifies_each_signature() {
    for alg in ["p256", "ed25519"] {
        let tmp = tempfile::tempdir().unwrap();
        let pki = tmp.path().join("pki");
        congvan(["pki", "demo", "--alg", alg, "--out", pki.to_str().unwrap()]).assert_ok();
        let file = signed_dispatch(tmp.path(), &pki);
        let unpacked = tmp.path().join("unpacked");
        extract_with_unzip(&file, &unpacked);
        let sigs: Vec<PathBuf> = std::fs::read_dir(unpacked.join("META-INF/signatures"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(sigs.len(), 2);
        let script = script("jose_verify.py");
        let out = run(std::process::Command::new("python3")
            .arg(&script)
            .arg(unpacked.join("META-INF/manifest.json"))
            .args(&sigs));
        out.assert_ok();
        assert_eq!(out.stdout.matches("verified").count(), 2, "{out}");

        // And it rejects a manifest that differs by one byte.
        let manifest = unpacked.join("META-INF/manifest.json");
        let mut bytes = std::fs::read(&manifest).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 0x01;
        std::fs::write(&manifest, bytes).unwrap();
        let out = run(std::process::Command::new("python3")
            .arg(&script)
            .arg(&manifest)
            .args(&sigs));
        out.assert_code(1);
    }
}

/// Hostile containers are refused with a named reason, and `extract`
/// writes nothing, inside or outside the target folder.
#[test]
fn hostile_containers_are_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let good = std::fs::read(repo().join("fixtures/valid-cong-van-pdf.cvd")).unwrap();

    let mut cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated.cvd",
            good[..good.len() / 2].to_vec(),
            "not a readable dispatch container",
        ),
        ("empty.cvd", Vec::new(), "not a readable dispatch container"),
        (
            "garbage.cvd",
            b"PK\x03\x04 this is not a zip at all".to_vec(),
            "not a readable dispatch container",
        ),
        ("duplicate.cvd", duplicate_entries(), "appears twice"),
    ];
    let big = format!("{{\"subject\": \"{}\"}}", "a".repeat(10 * 1024 * 1024));
    cases.push((
        "big-metadata.cvd",
        with_metadata(big.as_bytes()),
        "larger than the 4194304-byte limit",
    ));
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    cases.push((
        "deep-json.cvd",
        with_metadata(deep.as_bytes()),
        "metadata.json is not valid metadata",
    ));
    let deep_object = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    cases.push((
        "deep-object.cvd",
        with_metadata(deep_object.as_bytes()),
        "metadata.json is not valid metadata",
    ));
    cases.push((
        "bad-utf8.cvd",
        with_metadata(b"{\"format_version\": 1, \"id\": \"\xff\xfe\"}"),
        "metadata.json is not valid metadata",
    ));

    for (name, bytes, reason) in cases {
        let file = tmp.path().join(name);
        std::fs::write(&file, bytes).unwrap();
        let (code, report) = verify_json(file.to_str().unwrap());
        assert_eq!(code, Some(1), "{name}: {report:#}");
        assert_eq!(
            report["sub_indication"], "FORMAT_FAILURE",
            "{name}: {report:#}"
        );
        let summary = report["summary"].as_str().unwrap();
        assert!(summary.contains(reason), "{name}: {summary}");

        let out_dir = tmp.path().join(format!("{name}.out"));
        let out = congvan([
            "dispatch",
            "extract",
            file.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        out.assert_code(2);
        assert!(out.stderr.contains(reason), "{name}: {out}");
        assert!(!out_dir.exists(), "{name}: extract created {out_dir:?}");
    }

    for name in [
        "path-traversal.cvd",
        "zip-bomb.cvd",
        "extra-unlisted-file.cvd",
    ] {
        let out_dir = tmp.path().join("nested/out");
        let out = congvan([
            "dispatch",
            "extract",
            &fixture(name),
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        out.assert_code(2);
        assert!(!out.stderr.contains("panicked"), "{out}");
        assert!(
            !tmp.path().join("nested").exists(),
            "{name}: something was written"
        );
        assert!(!tmp.path().join("evil").exists() && !repo().join("fixtures/evil").exists());
    }

    // A tampered attachment extracts to nothing: the partial file is removed.
    let out_dir = tmp.path().join("tampered");
    let out = congvan([
        "dispatch",
        "extract",
        &fixture("tampered-attachment.cvd"),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    out.assert_code(2);
    assert!(out.stderr.contains("does not match the manifest"), "{out}");
    assert!(!out_dir.join("ke-hoach.pdf").exists());
}

/// A valid dispatch extracts to its attachment, byte for byte.
#[test]
fn extract_writes_verified_attachments() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("x");
    congvan([
        "dispatch",
        "extract",
        &fixture("valid-cong-van-pdf.cvd"),
        "--out",
        out_dir.to_str().unwrap(),
    ])
    .assert_ok();
    let extracted = std::fs::read(out_dir.join("ke-hoach.pdf")).unwrap();
    assert_eq!(
        extracted,
        std::fs::read(repo().join("fixtures/pki/ke-hoach.pdf")).unwrap()
    );
    assert!(out_dir.join("metadata.json").exists() && out_dir.join("manifest.json").exists());
    // Extracting again never overwrites.
    congvan([
        "dispatch",
        "extract",
        &fixture("valid-cong-van-pdf.cvd"),
        "--out",
        out_dir.to_str().unwrap(),
    ])
    .assert_code(2);
}

/// `dispatch show --json` gives the metadata with the dispatch id.
#[test]
fn show_json_has_the_id() {
    let out = congvan([
        "dispatch",
        "show",
        &fixture("valid-hoa-toc-thong-bao.cvd"),
        "--json",
    ]);
    out.assert_ok();
    let value: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(value["id"].as_str().unwrap().len(), 36);
    assert_eq!(value["urgency"], 3);
    assert_eq!(value["number"], "20/TB-UBND");
}

/// A zip whose central directory names one entry twice.
fn duplicate_entries() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("mimetype", stored).unwrap();
    zip.write_all(b"application/vnd.congvan.dispatch+zip")
        .unwrap();
    zip.start_file("attachments/a.pdf", stored).unwrap();
    zip.write_all(b"first").unwrap();
    zip.start_file("attachments/b.pdf", stored).unwrap();
    zip.write_all(b"second").unwrap();
    let mut bytes = zip.finish().unwrap().into_inner();
    // Rename b.pdf to a.pdf in the local header and the central directory.
    let needle = b"attachments/b.pdf";
    let positions: Vec<usize> = bytes
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(positions.len(), 2);
    for p in positions {
        bytes[p + 12] = b'a';
    }
    bytes
}

/// A container whose metadata.json holds `metadata` (deflated).
fn with_metadata(metadata: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("mimetype", stored).unwrap();
    zip.write_all(b"application/vnd.congvan.dispatch+zip")
        .unwrap();
    zip.start_file("metadata.json", deflated).unwrap();
    zip.write_all(metadata).unwrap();
    zip.finish().unwrap().into_inner()
}

/// docs/verify-by-hand.sh checks every signature with openssl alone, as the
/// auditor section of the README describes.
#[test]
fn signatures_verify_by_hand_with_openssl() {
    let script = repo().join("docs/verify-by-hand.sh");
    let root = repo().join("certs/root/cert.pem");
    let out = run(std::process::Command::new("bash")
        .arg(&script)
        .arg(fixture("valid-quyet-dinh-signed-sealed.cvd"))
        .arg(&root));
    out.assert_ok();
    assert_eq!(out.stdout.matches("Verified OK").count(), 2, "{out}");
    for broken in ["tampered-metadata.cvd", "removed-signature.cvd"] {
        let out = run(std::process::Command::new("bash")
            .arg(&script)
            .arg(fixture(broken))
            .arg(&root));
        out.assert_code(1);
    }
}

/// An auditor's run over many files: one line per file with the verdict the
/// fixture promises, the totals, and an exit code for the worst finding.
#[test]
fn verify_many_files_gives_one_line_each_and_the_worst_exit_code() {
    let root = repo().join("certs/root/cert.pem").display().to_string();
    let crl = repo()
        .join("fixtures/pki/ca-h99.crl.pem")
        .display()
        .to_string();
    let verify = |files: &[String], extra: &[&str]| {
        let mut args = vec!["dispatch", "verify", "--trust", &root, "--crl", &crl];
        args.extend(files.iter().map(String::as_str));
        args.extend(extra);
        congvan(args)
    };
    let valid: Vec<String> = [
        "valid-cong-van-pdf.cvd",
        "valid-quyet-dinh-signed-sealed.cvd",
        "valid-hoa-toc-thong-bao.cvd",
    ]
    .map(fixture)
    .to_vec();

    let all_valid = verify(&valid, &[]);
    all_valid.assert_ok();
    for file in &valid {
        assert!(
            all_valid
                .stdout
                .contains(&format!("PASSED         {file}: 2 valid signatures")),
            "{all_valid}"
        );
    }
    assert!(
        all_valid.stdout.contains("3 dispatches at ")
            && all_valid
                .stdout
                .contains(": 3 passed, 0 failed, 0 indeterminate, 0 unreadable."),
        "{all_valid}"
    );

    // The worst finding decides the exit code: FAILED 1, then unreadable 2,
    // then INDETERMINATE 3.
    let missing = repo().join("fixtures/no-such.cvd").display().to_string();
    let other_office = fixture("other-office-signer.cvd");
    let tampered = fixture("tampered-attachment.cvd");
    let with = |more: &[&String]| {
        let mut files = valid.clone();
        files.extend(more.iter().map(|f| (*f).clone()));
        files
    };
    let indeterminate = verify(&with(&[&other_office]), &[]);
    indeterminate.assert_code(3);
    assert!(
        indeterminate.stdout.contains(&format!(
            "INDETERMINATE/SIG_CONSTRAINTS_FAILURE  {other_office}: "
        )),
        "{indeterminate}"
    );
    let unreadable = verify(&with(&[&other_office, &missing]), &[]);
    unreadable.assert_code(2);
    assert!(
        unreadable
            .stdout
            .contains(&format!("UNREADABLE     {missing}: ")),
        "{unreadable}"
    );
    let failed = verify(&with(&[&other_office, &missing, &tampered]), &[]);
    failed.assert_code(1);
    assert!(
        failed
            .stdout
            .contains(&format!("FAILED/HASH_FAILURE  {tampered}: ")),
        "{failed}"
    );
    assert!(
        failed
            .stdout
            .contains(": 3 passed, 1 failed, 1 indeterminate, 1 unreadable."),
        "{failed}"
    );

    // --json: every report, the unreadable file, the totals.
    let json = verify(&with(&[&other_office, &missing, &tampered]), &["--json"]);
    json.assert_code(1);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["passed"], 3);
    assert_eq!(value["failed"], 1);
    assert_eq!(value["indeterminate"], 1);
    assert_eq!(value["reports"].as_array().unwrap().len(), 5);
    assert_eq!(value["reports"][4]["sub_indication"], "HASH_FAILURE");
    assert_eq!(value["unreadable"][0]["file"], missing.as_str());

    // A PDF report is for one dispatch.
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.pdf");
    let pdf = verify(&valid, &["--report-pdf", report.to_str().unwrap()]);
    pdf.assert_code(2);
    assert!(pdf.stderr.contains("--report-pdf"), "{pdf}");
    assert!(!report.exists());
}

/// A folder stands for every `*.cvd` below it, in name order; other files
/// are left alone, and a folder without any dispatch is an error.
#[test]
fn verify_a_folder_walks_it_for_dispatches() {
    let root = repo().join("certs/root/cert.pem").display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    std::fs::create_dir_all(archive.join("2026/11")).unwrap();
    for (name, to) in [
        ("valid-cong-van-pdf.cvd", "2026/11/b.cvd"),
        ("valid-quyet-dinh-signed-sealed.cvd", "2026/a.cvd"),
        ("valid-hoa-toc-thong-bao.cvd", "c.cvd"),
    ] {
        std::fs::copy(fixture(name), archive.join(to)).unwrap();
    }
    std::fs::write(archive.join("2026/notes.txt"), "not a dispatch").unwrap();
    let folder = archive.display().to_string();

    let run = congvan(["dispatch", "verify", "--trust", &root, &folder]);
    run.assert_ok();
    let order: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("PASSED"))
        .map(|l| l.split_whitespace().nth(1).unwrap().trim_end_matches(':'))
        .collect();
    let expected: Vec<String> = ["2026/11/b.cvd", "2026/a.cvd", "c.cvd"]
        .iter()
        .map(|f| archive.join(f).display().to_string())
        .collect();
    assert_eq!(order, expected, "{run}");
    assert!(!run.stdout.contains("notes.txt"), "{run}");
    assert!(run.stdout.contains(": 3 passed, 0 failed"), "{run}");

    // With a file besides the folder.
    let tampered = fixture("tampered-attachment.cvd");
    let mixed = congvan(["dispatch", "verify", "--trust", &root, &folder, &tampered]);
    mixed.assert_code(1);
    assert!(mixed.stdout.contains("4 dispatches at "), "{mixed}");

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let nothing = congvan([
        "dispatch",
        "verify",
        "--trust",
        &root,
        empty.to_str().unwrap(),
    ]);
    nothing.assert_code(2);
    assert!(nothing.stderr.contains("no .cvd file"), "{nothing}");
}

/// A CRL that was current when the dispatch was signed but is past its
/// nextUpdate at the time the verification speaks for (`--at`, or now)
/// cannot vouch for the signer: the key may have been revoked since and
/// the signing time set back. The verdict waits for a current list
/// (INDETERMINATE / TRY_LATER, exit 3) unless stale lists are allowed.
#[test]
fn a_crl_out_of_date_when_verifying_gives_try_later() {
    let dir = process::tempdir();
    let ca = dir.path().join("ca-h99");
    std::fs::create_dir(&ca).unwrap();
    for file in ["cert.pem", "chain.pem", "key.pem", "revoked.json"] {
        std::fs::copy(repo().join("certs/ca-h99").join(file), ca.join(file)).unwrap();
    }
    let crl = dir.path().join("one-day.crl.pem");
    congvan([
        "pki".as_ref(),
        "crl".as_ref(),
        "--issuer".as_ref(),
        ca.as_os_str(),
        "--out".as_ref(),
        crl.as_os_str(),
        "--days".as_ref(),
        "1".as_ref(),
    ])
    .assert_ok();
    let in_three_days = (time::OffsetDateTime::now_utc() + time::Duration::days(3))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let root = repo().join("certs/root/cert.pem");
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "dispatch".to_string(),
            "verify".into(),
            fixture("valid-quyet-dinh-signed-sealed.cvd"),
            "--trust".into(),
            root.display().to_string(),
            "--crl".into(),
            crl.display().to_string(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        congvan(args)
    };
    verify(&[]).assert_ok();
    let later = verify(&["--at", &in_three_days]);
    later.assert_code(3);
    assert!(later.stdout.contains("TRY_LATER"), "{later}");
    assert!(later.stdout.contains("load a current CRL"), "{later}");
    verify(&["--at", &in_three_days, "--allow-stale-crl"]).assert_ok();
}
