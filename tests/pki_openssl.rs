//! `congvan pki` against OpenSSL, in both directions:
//!
//! - what `congvan pki demo` issues, OpenSSL verifies and shows with the
//!   extensions we intend;
//! - chains made by OpenSSL (RSA-2048 and P-256, root -> intermediate ->
//!   leaf) are judged correctly by `congvan pki verify-cert`, with the right
//!   reason for each kind of bad certificate;
//! - a provincial CA cannot produce a certificate that validates for another
//!   province, neither through `congvan pki issue` nor by using its key
//!   directly with OpenSSL.
//!
//! Needs the `openssl` command (3.x). Every test builds what it needs in its
//! own temporary directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use crate::support::openssl_pki::*;
use crate::support::process::{congvan, openssl, tempdir};
use serde_json::Value;

/// congvan's role OID arc; roles are `.1` office, `.2` official, `.3` relay.
const ROLE_ARC: &str = "2.25.171838327477816780108237510255657800027.1";
/// id-kp-documentSigning (RFC 9336); OpenSSL 3.0 prints it as a number, later
/// versions may print its name.
const DOCUMENT_SIGNING: [&str; 2] = ["1.3.6.1.5.5.7.3.36", "Document Signing"];

// ---------------------------------------------------------------------------
// The demo PKI, checked by OpenSSL.

/// Runs `congvan pki demo --out DIR/demo` and returns the demo directory and
/// the number of leaf credentials the command says it wrote.
fn build_demo(dir: &Path) -> (PathBuf, usize) {
    let demo = dir.join("demo");
    let run = congvan(["pki", "demo", "--out", s(&demo)]);
    run.assert_ok();
    let count = run
        .stdout
        .lines()
        .find(|l| l.contains("office, official and relay credentials"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("demo did not say how many leaves it wrote\n{run}"));
    (demo, count)
}

/// Every `DEMO/*/{office,official,relay}/cert.pem`.
fn demo_leaves(demo: &Path) -> Vec<PathBuf> {
    let mut leaves = Vec::new();
    for entry in std::fs::read_dir(demo).unwrap() {
        let dir = entry.unwrap().path();
        for kind in ["office", "official", "relay", "encryption"] {
            let cert = dir.join(kind).join("cert.pem");
            if cert.is_file() {
                leaves.push(cert);
            }
        }
    }
    leaves.sort();
    leaves
}

fn x509_text(dir: &Path, cert: &Path) -> String {
    openssl(dir, ["x509", "-noout", "-text", "-in", s(cert)]).stdout
}

/// The value of an extension in `openssl x509 -text` output: the lines
/// indented below its header line, joined.
#[track_caller]
fn extension(text: &str, name: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let Some(at) = lines.iter().position(|l| l.trim_start().starts_with(name)) else {
        panic!("no {name} in\n{text}");
    };
    let header = indent(lines[at]);
    lines[at + 1..]
        .iter()
        .take_while(|l| indent(l) > header)
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The comma-separated items of an extension value.
fn items(value: &str) -> Vec<String> {
    value.split(", ").map(|v| v.trim().to_string()).collect()
}

#[test]
fn every_demo_leaf_verifies_with_openssl_under_root_and_provincial_ca() {
    let tmp = tempdir();
    let (demo, issued) = build_demo(tmp.path());
    let leaves = demo_leaves(&demo);
    assert_eq!(
        leaves.len(),
        issued,
        "found {leaves:?}, but the demo says it wrote {issued} leaves"
    );
    for kind in ["office", "official", "relay", "encryption"] {
        assert!(
            leaves.iter().any(|l| l.parent().unwrap().ends_with(kind)),
            "no {kind} leaf among {leaves:?}"
        );
    }
    let root = demo.join("root/cert.pem");
    let ca = demo.join("ca-h99/cert.pem");
    let mut args = vec!["verify", "-CAfile", s(&root), "-untrusted", s(&ca)];
    args.extend(leaves.iter().map(|l| s(l)));
    let run = openssl(tmp.path(), args);
    for leaf in &leaves {
        let ok = format!("{}: OK", leaf.display());
        assert!(
            run.stdout.lines().any(|l| l == ok),
            "openssl did not print {ok:?}\n{run}"
        );
    }
}

#[test]
fn demo_certificates_show_intended_extensions_in_openssl_text() {
    let tmp = tempdir();
    let (demo, _) = build_demo(tmp.path());
    let dir = tmp.path();
    let role_oid = |n: u8| format!("{ROLE_ARC}.{n}");
    let has_document_signing = |ekus: &[String]| {
        DOCUMENT_SIGNING
            .iter()
            .any(|d| ekus.contains(&d.to_string()))
    };

    // An office's encryption key: keyAgreement only, role .4 its only EKU.
    let encryption = x509_text(dir, &demo.join("H99.01/encryption/cert.pem"));
    assert_eq!(extension(&encryption, "X509v3 Key Usage"), "Key Agreement");
    assert_eq!(
        items(&extension(&encryption, "X509v3 Extended Key Usage")),
        vec![role_oid(4)]
    );

    // An office (the seal): documentSigning, clientAuth (to its relay), role .1.
    let office = x509_text(dir, &demo.join("H99.01/office/cert.pem"));
    assert!(
        items(&extension(&office, "X509v3 Subject Alternative Name"))
            .contains(&"URI:urn:congvan:org:H99.01".to_string())
    );
    assert_eq!(
        extension(&office, "X509v3 Key Usage"),
        "Digital Signature, Non Repudiation"
    );
    let ekus = items(&extension(&office, "X509v3 Extended Key Usage"));
    assert!(has_document_signing(&ekus), "office EKU {ekus:?}");
    assert!(ekus.contains(&role_oid(1)), "office EKU {ekus:?}");
    assert!(!ekus.contains(&role_oid(2)) && !ekus.contains(&role_oid(3)));
    assert_eq!(extension(&office, "X509v3 Basic Constraints"), "CA:FALSE");

    // An official: documentSigning and role .1.2, nothing for TLS.
    let official = x509_text(dir, &demo.join("H99.01.01/official/cert.pem"));
    assert!(
        items(&extension(&official, "X509v3 Subject Alternative Name"))
            .contains(&"URI:urn:congvan:org:H99.01.01".to_string())
    );
    assert_eq!(
        extension(&official, "X509v3 Key Usage"),
        "Digital Signature, Non Repudiation"
    );
    let ekus = items(&extension(&official, "X509v3 Extended Key Usage"));
    assert!(has_document_signing(&ekus), "official EKU {ekus:?}");
    assert!(ekus.contains(&role_oid(2)), "official EKU {ekus:?}");
    assert!(
        !ekus.iter().any(|e| e.starts_with("TLS Web")),
        "official EKU {ekus:?}"
    );
    assert_eq!(extension(&official, "X509v3 Basic Constraints"), "CA:FALSE");

    // A relay: digitalSignature only, TLS server and client, role .1.3.
    let relay = x509_text(dir, &demo.join("H99.02/relay/cert.pem"));
    assert!(items(&extension(&relay, "X509v3 Subject Alternative Name"))
        .contains(&"URI:urn:congvan:org:H99.02".to_string()));
    assert_eq!(extension(&relay, "X509v3 Key Usage"), "Digital Signature");
    let eku = extension(&relay, "X509v3 Extended Key Usage");
    assert!(
        eku.contains("TLS Web Server Authentication, TLS Web Client Authentication"),
        "relay EKU {eku:?}"
    );
    assert!(items(&eku).contains(&role_oid(3)), "relay EKU {eku:?}");
    assert!(
        !DOCUMENT_SIGNING.iter().any(|d| eku.contains(d)),
        "relay EKU {eku:?}"
    );

    // The provincial CA: one level of end entities below it, its subtree bound.
    let ca = x509_text(dir, &demo.join("ca-h99/cert.pem"));
    assert_eq!(
        extension(&ca, "X509v3 Basic Constraints"),
        "CA:TRUE, pathlen:0"
    );
    let ku = items(&extension(&ca, "X509v3 Key Usage"));
    assert!(ku.contains(&"Certificate Sign".to_string()) && ku.contains(&"CRL Sign".to_string()));
    assert!(items(&extension(&ca, "X509v3 Subject Alternative Name"))
        .contains(&"URI:urn:congvan:org:H99".to_string()));

    // The root: one level of CAs below it.
    let root = x509_text(dir, &demo.join("root/cert.pem"));
    assert_eq!(
        extension(&root, "X509v3 Basic Constraints"),
        "CA:TRUE, pathlen:1"
    );
}

#[cfg(unix)]
#[test]
fn demo_private_keys_are_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempdir();
    let (demo, issued) = build_demo(tmp.path());
    let mut keys: Vec<PathBuf> = demo_leaves(&demo)
        .iter()
        .map(|c| c.with_file_name("key.pem"))
        .collect();
    keys.push(demo.join("root/key.pem"));
    keys.push(demo.join("ca-h99/key.pem"));
    assert_eq!(keys.len(), issued + 2);
    for key in keys {
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} has mode {mode:o}", key.display());
    }
}

// ---------------------------------------------------------------------------
// Hierarchies made by OpenSSL (see openssl_pki/mod.rs), judged by congvan.

fn openssl_chain_is_valid(alg: KeyAlg) {
    let h = Hierarchy::new(alg);
    let leaf = h.leaf("int", "v3_official", "valid", &LEAF_DATES);
    // The root really is what we meant (an RSA root signs with
    // sha256WithRSAEncryption), and OpenSSL accepts the chain.
    let root_text = x509_text(h.dir(), &h.path("root/cert.pem"));
    assert!(root_text.contains(alg.signature_name()), "{root_text}");
    h.openssl(&h.openssl_verify_args("int/cert.pem", &leaf));

    judge(
        &h,
        &["--chain", "int/cert.pem", "--role", "official"],
        &leaf,
        Expect::Valid,
    );
    // The same with the CAs given as DER, as `openssl x509 -outform DER` writes.
    h.openssl(&[
        "x509",
        "-in",
        "root/cert.pem",
        "-outform",
        "DER",
        "-out",
        "root.der",
    ]);
    h.openssl(&[
        "x509",
        "-in",
        "int/cert.pem",
        "-outform",
        "DER",
        "-out",
        "int.der",
    ]);
    let (root_der, int_der) = (h.path("root.der"), h.path("int.der"));
    congvan([
        "pki",
        "verify-cert",
        "--trust",
        s(&root_der),
        "--chain",
        s(&int_der),
        "--role",
        "official",
        s(&leaf),
    ])
    .assert_ok();
}

fn openssl_expired_leaf_is_expired_unless_at_inside_validity(alg: KeyAlg) {
    let h = Hierarchy::new(alg);
    let leaf = h.leaf("int", "v3_official", "expired", &EXPIRED_DATES);
    let said = h.openssl_fails(&h.openssl_verify_args("int/cert.pem", &leaf));
    assert!(said.contains("certificate has expired"), "{said}");

    let chain = ["--chain", "int/cert.pem", "--role", "official"];
    judge(
        &h,
        &chain,
        &leaf,
        Expect::Invalid {
            code: "expired",
            words: "expired",
        },
    );
    let inside = [&chain[..], &["--at", "2020-06-01T00:00:00Z"]].concat();
    judge(&h, &inside, &leaf, Expect::Valid);
    let inside_local = [&chain[..], &["--at", "2020-12-31T23:00:00+07:00"]].concat();
    judge(&h, &inside_local, &leaf, Expect::Valid);
    let after = [&chain[..], &["--at", "2021-01-01T00:00:01Z"]].concat();
    judge(
        &h,
        &after,
        &leaf,
        Expect::Invalid {
            code: "expired",
            words: "expired",
        },
    );
    let before = [&chain[..], &["--at", "2019-06-01T00:00:00Z"]].concat();
    judge(
        &h,
        &before,
        &leaf,
        Expect::Invalid {
            code: "not_yet_valid",
            words: "not yet valid",
        },
    );
}

fn openssl_leaf_from_intermediate_not_in_chain_is_unknown_issuer(alg: KeyAlg) {
    let h = Hierarchy::new(alg);
    h.sub_ca("other", "v3_ca");
    let leaf = h.leaf("other", "v3_official", "from-other", &LEAF_DATES);
    let said = h.openssl_fails(&h.openssl_verify_args("int/cert.pem", &leaf));
    assert!(
        said.contains("unable to get local issuer certificate"),
        "{said}"
    );

    judge(
        &h,
        &["--chain", "int/cert.pem", "--role", "official"],
        &leaf,
        Expect::Invalid {
            code: "unknown_issuer",
            words: "unknown issuer",
        },
    );
    // Given its real issuer, the same leaf is fine: the reason was the issuer.
    judge(
        &h,
        &["--chain", "other/cert.pem", "--role", "official"],
        &leaf,
        Expect::Valid,
    );
}

fn openssl_leaf_without_digital_signature_is_wrong_key_usage(alg: KeyAlg) {
    let h = Hierarchy::new(alg);
    let leaf = h.leaf(
        "int",
        "v3_official_no_digital_signature",
        "no-digsig",
        &LEAF_DATES,
    );
    // OpenSSL, asked for no particular purpose, accepts it: only congvan's
    // own keyUsage check catches it.
    h.openssl(&h.openssl_verify_args("int/cert.pem", &leaf));
    let words = "lacks digitalSignature";
    let code = "wrong_key_usage";
    judge(
        &h,
        &["--chain", "int/cert.pem", "--role", "official"],
        &leaf,
        Expect::Invalid { code, words },
    );
    judge(
        &h,
        &["--chain", "int/cert.pem"],
        &leaf,
        Expect::Invalid { code, words },
    );
}

fn openssl_revoked_leaf_is_revoked_with_the_crl_only(alg: KeyAlg) {
    let h = Hierarchy::new(alg);
    let revoked = h.leaf("int", "v3_official", "revoked", &LEAF_DATES);
    let kept = h.leaf("int", "v3_official", "kept", &LEAF_DATES);
    h.openssl(&[
        "ca",
        "-batch",
        "-config",
        "int/ca.cnf",
        "-revoke",
        "revoked.pem",
        "-crl_reason",
        "keyCompromise",
    ]);
    h.openssl(&[
        "ca",
        "-batch",
        "-config",
        "int/ca.cnf",
        "-gencrl",
        "-out",
        "int.crl",
    ]);
    let said = h.openssl_fails(&[
        "verify",
        "-crl_check",
        "-CRLfile",
        "int.crl",
        "-CAfile",
        "root/cert.pem",
        "-untrusted",
        "int/cert.pem",
        s(&revoked),
    ]);
    assert!(said.contains("certificate revoked"), "{said}");

    let crl = [
        "--chain",
        "int/cert.pem",
        "--crl",
        "int.crl",
        "--role",
        "official",
    ];
    judge(
        &h,
        &crl,
        &revoked,
        Expect::Invalid {
            code: "revoked",
            words: "revoked",
        },
    );
    let text = h.verify_cert(&crl, &revoked).stdout;
    assert!(
        text.contains("KeyCompromise") || text.contains("keyCompromise"),
        "{text}"
    );
    // The CRL does not condemn the CA's other certificates...
    judge(&h, &crl, &kept, Expect::Valid);
    // ...and without the CRL nothing is known against the revoked one.
    judge(
        &h,
        &["--chain", "int/cert.pem", "--role", "official"],
        &revoked,
        Expect::Valid,
    );
    // A CRL in DER works the same.
    h.openssl(&[
        "crl",
        "-in",
        "int.crl",
        "-outform",
        "DER",
        "-out",
        "int-crl.der",
    ]);
    let der = ["--chain", "int/cert.pem", "--crl", "int-crl.der"];
    h.verify_cert(&der, &revoked).assert_code(1);
}

fn openssl_leaf_signed_by_non_ca_is_not_a_ca(alg: KeyAlg) {
    let h = Hierarchy::new(alg);
    h.sub_ca("notca", "v3_not_ca");
    let leaf = h.leaf("notca", "v3_official", "by-not-ca", &LEAF_DATES);
    let said = h.openssl_fails(&h.openssl_verify_args("notca/cert.pem", &leaf));
    assert!(said.contains("invalid CA certificate"), "{said}");

    judge(
        &h,
        &["--chain", "notca/cert.pem", "--role", "official"],
        &leaf,
        Expect::Invalid {
            code: "not_a_ca",
            words: "not a CA",
        },
    );
}

#[test]
fn rsa2048_openssl_chain_is_valid() {
    openssl_chain_is_valid(KeyAlg::Rsa2048);
}

#[test]
fn p256_openssl_chain_is_valid() {
    openssl_chain_is_valid(KeyAlg::P256);
}

#[test]
fn rsa2048_openssl_expired_leaf_is_expired_unless_at_inside_validity() {
    openssl_expired_leaf_is_expired_unless_at_inside_validity(KeyAlg::Rsa2048);
}

#[test]
fn p256_openssl_expired_leaf_is_expired_unless_at_inside_validity() {
    openssl_expired_leaf_is_expired_unless_at_inside_validity(KeyAlg::P256);
}

#[test]
fn rsa2048_openssl_leaf_from_intermediate_not_in_chain_is_unknown_issuer() {
    openssl_leaf_from_intermediate_not_in_chain_is_unknown_issuer(KeyAlg::Rsa2048);
}

#[test]
fn p256_openssl_leaf_from_intermediate_not_in_chain_is_unknown_issuer() {
    openssl_leaf_from_intermediate_not_in_chain_is_unknown_issuer(KeyAlg::P256);
}

#[test]
fn rsa2048_openssl_leaf_without_digital_signature_is_wrong_key_usage() {
    openssl_leaf_without_digital_signature_is_wrong_key_usage(KeyAlg::Rsa2048);
}

#[test]
fn p256_openssl_leaf_without_digital_signature_is_wrong_key_usage() {
    openssl_leaf_without_digital_signature_is_wrong_key_usage(KeyAlg::P256);
}

#[test]
fn rsa2048_openssl_revoked_leaf_is_revoked_with_the_crl_only() {
    openssl_revoked_leaf_is_revoked_with_the_crl_only(KeyAlg::Rsa2048);
}

#[test]
fn p256_openssl_revoked_leaf_is_revoked_with_the_crl_only() {
    openssl_revoked_leaf_is_revoked_with_the_crl_only(KeyAlg::P256);
}

#[test]
fn rsa2048_openssl_leaf_signed_by_non_ca_is_not_a_ca() {
    openssl_leaf_signed_by_non_ca_is_not_a_ca(KeyAlg::Rsa2048);
}

#[test]
fn p256_openssl_leaf_signed_by_non_ca_is_not_a_ca() {
    openssl_leaf_signed_by_non_ca_is_not_a_ca(KeyAlg::P256);
}

// ---------------------------------------------------------------------------
// A provincial CA stays inside its province.

#[test]
fn h99_ca_refuses_to_issue_for_another_province() {
    let tmp = tempdir();
    let (demo, _) = build_demo(tmp.path());
    let ca = demo.join("ca-h99");
    let out = tmp.path().join("h98-official");
    let run = congvan([
        "pki",
        "issue",
        "--issuer",
        s(&ca),
        "--role",
        "official",
        "--name",
        "Nguyễn Văn Giả",
        "--position",
        "Chủ tịch",
        "--org",
        "H98.01",
        "--out",
        s(&out),
    ]);
    run.assert_code(1);
    for words in ["H98.01", "H99", "subtree"] {
        assert!(
            run.stderr.contains(words),
            "stderr should name {words:?}\n{run}"
        );
    }
    assert!(!out.join("cert.pem").exists() && !out.join("key.pem").exists());

    let run = congvan([
        "pki",
        "issue-ca",
        "--issuer",
        s(&ca),
        "--name",
        "CA H98",
        "--org",
        "H98",
        "--out",
        s(&tmp.path().join("ca-h98")),
    ]);
    run.assert_code(1);
    assert!(run.stderr.contains("subtree"), "{run}");

    // Inside its own subtree the same command works.
    let inside = tmp.path().join("h99-commune-official");
    congvan([
        "pki",
        "issue",
        "--issuer",
        s(&ca),
        "--role",
        "official",
        "--name",
        "Nguyễn Văn Thật",
        "--position",
        "Chủ tịch",
        "--org",
        "H99.01.01",
        "--out",
        s(&inside),
    ])
    .assert_ok();
}

/// Makes, with OpenSSL and the H99 CA's own key (so without congvan's
/// issuance check), an official's certificate binding `org`.
fn forge_official_with_h99_key(dir: &Path, demo: &Path, org: &str) -> PathBuf {
    let name = format!("forged-{org}");
    let config = format!(
        "[ req ]\ndistinguished_name = dn\nprompt = no\n[ dn ]\nCN = unused\n\
         [ v3_forged ]\n\
         basicConstraints = critical, CA:FALSE\n\
         keyUsage = critical, digitalSignature, nonRepudiation\n\
         extendedKeyUsage = 1.3.6.1.5.5.7.3.36, {ROLE_ARC}.2\n\
         subjectAltName = URI:urn:congvan:org:{org}\n\
         subjectKeyIdentifier = hash\n\
         authorityKeyIdentifier = keyid:always\n"
    );
    let cnf = dir.join(format!("{name}.cnf"));
    std::fs::write(&cnf, config).unwrap();
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    let cert = dir.join(format!("{name}.pem"));
    openssl(
        dir,
        [
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &key,
        ],
    );
    openssl(
        dir,
        [
            "req",
            "-new",
            "-config",
            s(&cnf),
            "-key",
            &key,
            "-subj",
            "/C=VN/CN=Forged official",
            "-out",
            &csr,
        ],
    );
    openssl(
        dir,
        [
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            s(&demo.join("ca-h99/cert.pem")),
            "-CAkey",
            s(&demo.join("ca-h99/key.pem")),
            "-extfile",
            s(&cnf),
            "-extensions",
            "v3_forged",
            "-days",
            "30",
            "-sha256",
            "-set_serial",
            "0x4242",
            "-out",
            s(&cert),
        ],
    );
    cert
}

#[test]
fn certificate_forged_with_h99_ca_key_for_h98_is_org_outside_subtree() {
    let tmp = tempdir();
    let (demo, _) = build_demo(tmp.path());
    let root = demo.join("root/cert.pem");
    let ca = demo.join("ca-h99/cert.pem");
    let forged = forge_official_with_h99_key(tmp.path(), &demo, "H98.01");
    // Cryptographically the chain holds: OpenSSL accepts it.
    openssl(
        tmp.path(),
        [
            "verify",
            "-CAfile",
            s(&root),
            "-untrusted",
            s(&ca),
            s(&forged),
        ],
    );

    let verify = |cert: &Path, json: bool| {
        let mut args = vec![
            "pki",
            "verify-cert",
            "--trust",
            s(&root),
            "--chain",
            s(&ca),
            "--role",
            "official",
        ];
        if json {
            args.push("--json");
        }
        args.push(s(cert));
        congvan(args)
    };
    let run = verify(&forged, true);
    run.assert_code(1);
    let json: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(json["reason"], "org_outside_subtree", "{run}");
    let run = verify(&forged, false);
    run.assert_code(1);
    for words in ["H98.01", "H99", "outside the subtree"] {
        assert!(run.stdout.contains(words), "{run}");
    }

    // Made the same way for an office inside H99, it is valid: the
    // organization, not the forging, is what fails above.
    let inside = forge_official_with_h99_key(tmp.path(), &demo, "H99.01.02");
    verify(&inside, false).assert_ok();
}
