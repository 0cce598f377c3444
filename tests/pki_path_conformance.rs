//! What path validation must refuse beyond what rustls-webpki checks, on
//! chains made by the real `openssl` binary (one case, a certificate with
//! an extension twice, which openssl refuses to write, is assembled from an
//! openssl certificate and signed again with openssl):
//!
//! - extended key usage constrains the whole path: an intermediate limited
//!   to emailProtection cannot issue officials or relays (openssl refuses
//!   the relay too, with `-purpose sslserver`);
//! - the CRL profile: an issuer without cRLSign, a CRL without crlNumber or
//!   with a critical one, and a CRL past its nextUpdate (TRY_LATER unless
//!   allowed);
//! - the trust anchor: expired, without basicConstraints, with an unknown
//!   critical extension;
//! - weak keys: RSA-1024, P-192 and DSA leaves, an RSA-1024 intermediate;
//! - an expired intermediate is named with its own dates, not the leaf's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use crate::support::openssl_pki::*;
use crate::support::process;

const P192: [&str; 4] = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-192"];
const RSA1024: [&str; 4] = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"];

/// `verify-cert` with the intermediate as `--chain` and `extra` arguments.
fn judge_with(h: &Hierarchy, chain: &str, extra: &[&str], leaf: &Path, expect: Expect<'_>) {
    let chain = h.path(chain);
    let mut args = vec!["--chain", s(&chain)];
    args.extend(extra);
    judge(h, &args, leaf, expect);
}

#[test]
fn an_intermediate_limited_to_email_protection_issues_no_official_or_relay() {
    let h = Hierarchy::new(KeyAlg::P256);
    h.sub_ca("email", "v3_ca_email_only");
    let official = h.leaf("email", "v3_official", "official-under-email", &LEAF_DATES);
    let relay = h.leaf("email", "v3_relay", "relay-under-email", &LEAF_DATES);
    for role in [&[][..], &["--role", "official"][..]] {
        judge_with(
            &h,
            "email/cert.pem",
            role,
            &official,
            Expect::Invalid {
                code: "purpose_not_allowed",
                words: "the CA certificate \"OpenSSL email\" is limited by its extended key usage, which does not include documentSigning",
            },
        );
    }
    let chain = h.path("email/cert.pem");
    let run = h.verify_cert(&["--chain", s(&chain), "--role", "relay"], &relay);
    run.assert_code(1);
    assert!(run.stdout.contains("does not include serverAuth"), "{run}");
    // openssl refuses the relay for TLS use as well.
    let out = h.openssl_fails(&[
        "verify",
        "-purpose",
        "sslserver",
        "-CAfile",
        "root/cert.pem",
        "-untrusted",
        "email/cert.pem",
        s(&relay),
    ]);
    assert!(out.contains("unsuitable certificate purpose"), "{out}");
    // The same leaves under a CA without an EKU are valid.
    let official = h.leaf("int", "v3_official", "official-under-int", &LEAF_DATES);
    judge_with(
        &h,
        "int/cert.pem",
        &["--role", "official"],
        &official,
        Expect::Valid,
    );
}

#[test]
fn crls_outside_the_profile_are_refused() {
    let h = Hierarchy::new(KeyAlg::P256);
    let leaf = h.leaf("int", "v3_official", "official", &LEAF_DATES);
    let chain = h.path("int/cert.pem");
    let run_with_crl = |crl: &Path| h.verify_cert(&["--chain", s(&chain), "--crl", s(crl)], &leaf);

    // A current CRL of the intermediate: valid.
    let good = h.crl("int", "good", &[]);
    run_with_crl(&good).assert_ok();

    // Without a crlNumber (a configuration without a crlnumber file).
    let config = std::fs::read_to_string(h.path("int/ca.cnf")).unwrap();
    std::fs::write(
        h.path("int/ca-nonumber.cnf"),
        config.replace("crlnumber = $dir/crlnumber\n", ""),
    )
    .unwrap();
    h.openssl(&[
        "ca",
        "-gencrl",
        "-config",
        "int/ca-nonumber.cnf",
        "-out",
        "nonumber.crl.pem",
    ]);
    let run = run_with_crl(&h.path("nonumber.crl.pem"));
    run.assert_code(2);
    assert!(run.stderr.contains("no crlNumber"), "{run}");

    // With a critical crlNumber (openssl cannot mark it; Python's
    // cryptography can, signing with the intermediate's key).
    let critical = h.python_crl("int", "critical", 7, true, Signer::Ca);
    let run = run_with_crl(&critical);
    run.assert_code(2);
    assert!(run.stderr.contains("crlNumber is marked critical"), "{run}");

    // Past its nextUpdate: TRY_LATER (exit 1, reason crl_stale) unless allowed.
    let stale = h.crl(
        "int",
        "stale",
        &[
            "-crl_lastupdate",
            "20200101000000Z",
            "-crl_nextupdate",
            "20200201000000Z",
        ],
    );
    let run = run_with_crl(&stale);
    run.assert_code(1);
    assert!(
        run.stdout.contains("was due to be replaced at 2020-02-01"),
        "{run}"
    );
    let json = h.verify_cert(&["--chain", s(&chain), "--crl", s(&stale), "--json"], &leaf);
    assert!(json.stdout.contains("\"crl_stale\""), "{json}");
    h.verify_cert(
        &[
            "--chain",
            s(&chain),
            "--crl",
            s(&stale),
            "--allow-stale-crl",
        ],
        &leaf,
    )
    .assert_ok();

    // Issued by a CA whose keyUsage lacks cRLSign.
    h.sub_ca("nocrlsign", "v3_ca_no_crlsign");
    let under = h.leaf("nocrlsign", "v3_official", "under-nocrlsign", &LEAF_DATES);
    let crl = h.crl("nocrlsign", "nocrlsign", &[]);
    let ca = h.path("nocrlsign/cert.pem");
    let run = h.verify_cert(&["--chain", s(&ca), "--crl", s(&crl)], &under);
    run.assert_code(1);
    assert!(run.stdout.contains("lacks cRLSign"), "{run}");
}

#[test]
fn a_root_without_crl_sign_cannot_publish_a_crl() {
    let h = Hierarchy::with_root(
        KeyAlg::P256,
        "v3_root_no_crlsign",
        ["20190101000000Z", "20450101000000Z"],
    );
    let leaf = h.leaf("int", "v3_official", "official", &LEAF_DATES);
    let crl = h.crl("root", "root", &[]);
    let chain = h.path("int/cert.pem");
    let run = h.verify_cert(&["--chain", s(&chain), "--crl", s(&crl)], &leaf);
    run.assert_code(2);
    assert!(run.stderr.contains("lacks cRLSign"), "{run}");
}

#[test]
fn trust_anchors_must_be_current_v3_cas_without_unknown_critical_extensions() {
    let cases: [(&str, [&str; 2], &str, &str); 3] = [
        (
            "v3_root",
            ["20190101000000Z", "20210101000000Z"],
            "expired",
            "the trust anchor \"OpenSSL Root\" expired: it was valid until 2021-01-01",
        ),
        (
            "v3_root_no_bc",
            ["20190101000000Z", "20450101000000Z"],
            "certificate_profile",
            "the trust anchor \"OpenSSL Root\" breaks the certificate profile: its basicConstraints does not say it is a CA",
        ),
        (
            "v3_root_unknown_critical",
            ["20190101000000Z", "20450101000000Z"],
            "certificate_profile",
            "the critical extension 1.2.3.4.5",
        ),
    ];
    for (root_ext, dates, code, words) in cases {
        let h = Hierarchy::with_root(KeyAlg::P256, root_ext, dates);
        let leaf = h.leaf("int", "v3_official", "official", &LEAF_DATES);
        judge_with(
            &h,
            "int/cert.pem",
            &[],
            &leaf,
            Expect::Invalid { code, words },
        );
    }
}

#[test]
fn weak_keys_are_refused_wherever_they_are() {
    let h = Hierarchy::new(KeyAlg::P256);
    h.openssl(&[
        "genpkey",
        "-genparam",
        "-algorithm",
        "DSA",
        "-pkeyopt",
        "dsa_paramgen_bits:2048",
        "-out",
        "dsa.param",
    ]);
    let dsa: [&str; 2] = ["-paramfile", "dsa.param"];
    for (name, key, words) in [
        (
            "rsa1024",
            &RSA1024[..],
            "its RSA key has 1024 bits; at least 2048 are required",
        ),
        ("p192", &P192[..], "its EC key is on the curve P-192"),
        ("dsa", &dsa[..], "it has a DSA key"),
    ] {
        let leaf = h.leaf_with_key("int", "v3_official", name, key);
        judge_with(
            &h,
            "int/cert.pem",
            &[],
            &leaf,
            Expect::Invalid {
                code: "weak_key",
                words,
            },
        );
        // openssl at 112 bits of security refuses the RSA and P-192 keys too.
        if name != "dsa" {
            h.openssl_fails(&[
                "verify",
                "-auth_level",
                "2",
                "-CAfile",
                "root/cert.pem",
                "-untrusted",
                "int/cert.pem",
                s(&leaf),
            ]);
        }
    }
    // A P-256 leaf under an RSA-1024 intermediate: the intermediate is named.
    h.sub_ca_with("weakca", "v3_ca", &CA_DATES, Some(&RSA1024));
    let leaf = h.leaf("weakca", "v3_official", "under-weak-ca", &LEAF_DATES);
    judge_with(
        &h,
        "weakca/cert.pem",
        &[],
        &leaf,
        Expect::Invalid {
            code: "weak_key",
            words: "the CA certificate \"OpenSSL weakca\" has a key congvan does not accept: its RSA key has 1024 bits",
        },
    );
}

#[test]
fn an_expired_intermediate_is_reported_with_its_own_dates() {
    let h = Hierarchy::new(KeyAlg::P256);
    h.sub_ca_with(
        "old",
        "v3_ca",
        &[
            "-startdate",
            "20190101000000Z",
            "-enddate",
            "20220101000000Z",
        ],
        None,
    );
    let leaf = h.leaf("old", "v3_official", "under-old", &LEAF_DATES);
    judge_with(
        &h,
        "old/cert.pem",
        &[],
        &leaf,
        Expect::Invalid {
            code: "expired",
            words: "the CA certificate \"OpenSSL old\" expired: it was valid until 2022-01-01",
        },
    );
    // At a time inside both validities, the chain is valid.
    judge_with(
        &h,
        "old/cert.pem",
        &["--at", "2021-06-01T00:00:00Z"],
        &leaf,
        Expect::Valid,
    );
}

/// An openssl certificate with its last extension repeated, signed again by
/// its issuer with openssl: well-formed DER, a valid signature, an extension
/// twice.
fn with_duplicate_extension(h: &Hierarchy, cert: &Path, issuer_key: &Path) -> PathBuf {
    let out = h.path("duplicate.pem");
    let script = r#"
import base64, subprocess, sys
def head(b, i):
    n = b[i + 1]
    if n < 0x80:
        return 2, n
    k = n & 0x7f
    return 2 + k, int.from_bytes(b[i + 2:i + 2 + k], 'big')
def enc(tag, value):
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    nb = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([tag, 0x80 | len(nb)]) + nb + value
def value(raw):
    h, n = head(raw, 0)
    return raw[h:h + n]
def children(b):
    out, i = [], 0
    while i < len(b):
        h, n = head(b, i)
        out.append(b[i:i + h + n])
        i += h + n
    return out
pem = open(sys.argv[1]).read()
der = base64.b64decode(''.join(l for l in pem.splitlines() if not l.startswith('-----')))
tbs, alg, _ = children(value(der))
fields = children(value(tbs))
for k, f in enumerate(fields):
    if f[0] == 0xa3:
        exts = children(value(value(f)))
        exts.append(exts[-1])
        fields[k] = enc(0xa3, enc(0x30, b''.join(exts)))
tbs = enc(0x30, b''.join(fields))
sig = subprocess.run(['openssl', 'dgst', '-sha256', '-sign', sys.argv[2]], input=tbs,
                     capture_output=True, check=True).stdout
cert = enc(0x30, tbs + alg + enc(0x03, b'\x00' + sig))
b64 = base64.b64encode(cert).decode()
lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
open(sys.argv[3], 'w').write('-----BEGIN CERTIFICATE-----\n' + '\n'.join(lines) + '\n-----END CERTIFICATE-----\n')
"#;
    process::run(
        std::process::Command::new("python3")
            .args(["-c", script])
            .arg(cert)
            .arg(issuer_key)
            .arg(&out),
    )
    .assert_ok();
    out
}

#[test]
fn a_certificate_with_an_extension_twice_is_invalid_not_unreadable() {
    let h = Hierarchy::new(KeyAlg::P256);
    let leaf = h.leaf("int", "v3_official", "official", &LEAF_DATES);
    let twice = with_duplicate_extension(&h, &leaf, &h.path("int/key.pem"));
    // openssl reads it (the signature is good), and lists the extension twice.
    let text = h.openssl(&["x509", "-in", s(&twice), "-noout", "-text"]);
    assert_eq!(
        text.stdout
            .matches("X509v3 Authority Key Identifier")
            .count(),
        2,
        "{text}"
    );
    judge_with(
        &h,
        "int/cert.pem",
        &[],
        &twice,
        Expect::Invalid {
            code: "invalid_certificate",
            words: "includes an extension twice",
        },
    );
}
