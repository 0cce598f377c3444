//! The certificate and CRL profile rules congvan adds on top of
//! rustls-webpki, each on a chain or list made by the real `openssl` binary
//! (the x509-limbo suite holds validators to the same rules):
//!
//! - name constraints only in CAs, marked critical, with no dNSName
//!   constraint written with a leading period; policy constraints critical;
//! - an end entity names its purposes: an extended key usage, without
//!   anyExtendedKeyUsage, and serverAuth not joined with codeSigning;
//! - an RSA modulus is a whole number of octets;
//! - a self-issued root's authority key identifier has a keyIdentifier, and
//!   it is its own subject key identifier;
//! - a partitioned CRL (issuingDistributionPoint) is refused at load: it
//!   would leave the certificates outside its part of unknown status;
//! - a CRL dated after the time verified for is no answer;
//! - of two lists from one CA the one with the higher crlNumber is the one
//!   consulted, in whatever order they are given.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::openssl_pki::*;
use crate::support::process;

#[test]
fn name_and_policy_constraints_follow_rfc_5280() {
    let h = Hierarchy::new(KeyAlg::P256);
    for (ca, ext, words) in [
        (
            "ncsoft",
            "v3_ca_nc_noncritical",
            "its nameConstraints is not marked critical",
        ),
        ("ncdot", "v3_ca_nc_leading_period", "with a leading period"),
        (
            "pcsoft",
            "v3_ca_pc_noncritical",
            "its policyConstraints is not marked critical",
        ),
    ] {
        let ca_cert = h.sub_ca(ca, ext);
        let leaf = h.leaf(ca, "v3_official", &format!("under-{ca}"), &LEAF_DATES);
        judge(
            &h,
            &["--chain", s(&ca_cert)],
            &leaf,
            Expect::Invalid {
                code: "certificate_profile",
                words,
            },
        );
    }
    let int = h.path("int/cert.pem");
    let leaf = h.leaf(
        "int",
        "v3_official_with_nc",
        "official-with-nc",
        &LEAF_DATES,
    );
    judge(
        &h,
        &["--chain", s(&int)],
        &leaf,
        Expect::Invalid {
            code: "certificate_profile",
            words: "it has name constraints, which only a CA certificate may carry",
        },
    );
}

#[test]
fn an_end_entity_names_purposes_that_belong_together() {
    let h = Hierarchy::new(KeyAlg::P256);
    let int = h.path("int/cert.pem");
    for (ext, words) in [
        ("v3_official_no_eku", "it has no extended key usage"),
        ("v3_official_any_eku", "includes anyExtendedKeyUsage"),
        (
            "v3_relay_code_signing",
            "combines serverAuth with codeSigning",
        ),
    ] {
        let leaf = h.leaf("int", ext, ext, &LEAF_DATES);
        judge(
            &h,
            &["--chain", s(&int)],
            &leaf,
            Expect::Invalid {
                code: "certificate_profile",
                words,
            },
        );
    }
    // The genuine official of the same hierarchy is valid.
    let leaf = h.leaf("int", "v3_official", "official", &LEAF_DATES);
    judge(&h, &["--chain", s(&int)], &leaf, Expect::Valid);
}

#[test]
fn an_rsa_key_of_a_partial_octet_is_refused() {
    let h = Hierarchy::new(KeyAlg::P256);
    let int = h.path("int/cert.pem");
    let leaf = h.leaf_with_key(
        "int",
        "v3_official",
        "rsa2052",
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2052"],
    );
    judge(
        &h,
        &["--chain", s(&int)],
        &leaf,
        Expect::Invalid {
            code: "weak_key",
            words: "its RSA key has 2052 bits, not a multiple of 8",
        },
    );
}

#[test]
fn a_self_issued_root_names_its_own_key() {
    // openssl always writes a root's authority key identifier from its own
    // key, so the root is issued again by Python's cryptography, with the
    // same name, key and dates and the identifier under test.
    for (aki, words) in [
        ("none", "its authority key identifier has no keyIdentifier"),
        (
            "0102030405060708090a0b0c0d0e0f1011121314",
            "differs from its subject key identifier",
        ),
    ] {
        let h = Hierarchy::new(KeyAlg::P256);
        reissue_root_with_aki(&h, aki);
        let int = h.path("int/cert.pem");
        let leaf = h.leaf("int", "v3_official", "official", &LEAF_DATES);
        judge(
            &h,
            &["--chain", s(&int)],
            &leaf,
            Expect::Invalid {
                code: "certificate_profile",
                words,
            },
        );
    }
}

/// Replaces `root/cert.pem` by the same certificate whose authority key
/// identifier is `aki` (hex), or empty (`none`).
fn reissue_root_with_aki(h: &Hierarchy, aki: &str) {
    let root = h.path("root/cert.pem");
    process::run(std::process::Command::new("python3").args([
        "-c",
        "import sys\n\
from cryptography import x509\n\
from cryptography.hazmat.primitives import hashes, serialization\n\
old = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())\n\
key = serialization.load_pem_private_key(open(sys.argv[2], 'rb').read(), None)\n\
b = x509.CertificateBuilder().subject_name(old.subject).issuer_name(old.issuer)\n\
b = b.public_key(old.public_key()).serial_number(old.serial_number)\n\
b = b.not_valid_before(old.not_valid_before_utc).not_valid_after(old.not_valid_after_utc)\n\
exts = [e for e in old.extensions if e.oid != x509.ExtensionOID.AUTHORITY_KEY_IDENTIFIER]\n\
for e in exts: b = b.add_extension(e.value, e.critical)\n\
empty = x509.AuthorityKeyIdentifier(None, None, None)\n\
aki = empty if sys.argv[3] == 'none' else x509.AuthorityKeyIdentifier(bytes.fromhex(sys.argv[3]), None, None)\n\
b = b.add_extension(aki, False)\n\
new = b.sign(key, hashes.SHA256())\n\
open(sys.argv[1], 'wb').write(new.public_bytes(serialization.Encoding.PEM))\n",
        s(&root),
        s(&h.path("root/key.pem")),
        aki,
    ]))
    .assert_ok();
}

#[test]
fn a_partitioned_crl_is_refused_and_a_crl_from_the_future_is_no_answer() {
    let h = Hierarchy::new(KeyAlg::P256);
    let int = h.path("int/cert.pem");
    let leaf = h.leaf("int", "v3_official", "official", &LEAF_DATES);

    let partial = h.crl("int", "partial", &["-crlexts", "crl_ext_idp"]);
    let run = h.verify_cert(&["--chain", s(&int), "--crl", s(&partial)], &leaf);
    run.assert_code(2);
    assert!(run.stderr.contains("issuingDistributionPoint"), "{run}");

    // Issued in 2030, asked about 2025: a clock is wrong somewhere.
    let later = h.crl(
        "int",
        "later",
        &[
            "-crl_lastupdate",
            "20300101000000Z",
            "-crl_nextupdate",
            "20300201000000Z",
        ],
    );
    let args = [
        "--chain",
        s(&int),
        "--crl",
        s(&later),
        "--at",
        "2025-06-01T00:00:00Z",
    ];
    judge(
        &h,
        &args,
        &leaf,
        Expect::Invalid {
            code: "crl_not_yet_issued",
            words: "is dated 2030-01-01T00:00:00Z, after 2025-06-01T00:00:00Z",
        },
    );
    // Asked about a time the list covers, it answers.
    let mut inside = args;
    inside[5] = "2030-01-15T00:00:00Z";
    judge(&h, &inside, &leaf, Expect::Valid);
}

#[test]
fn of_two_lists_from_one_ca_the_newer_decides_whatever_the_order() {
    let h = Hierarchy::new(KeyAlg::P256);
    let int = h.path("int/cert.pem");
    let leaf = h.leaf("int", "v3_official", "official", &LEAF_DATES);
    let before = h.crl("int", "before", &[]);
    h.openssl(&["ca", "-config", "int/ca.cnf", "-revoke", s(&leaf)]);
    let after = h.crl("int", "after", &[]);
    let revoked = || Expect::Invalid {
        code: "revoked",
        words: "revoked",
    };
    for order in [[&before, &after], [&after, &before]] {
        let args = [
            "--chain",
            s(&int),
            "--crl",
            s(order[0]),
            "--crl",
            s(order[1]),
        ];
        judge(&h, &args, &leaf, revoked());
    }

    // A "newer" list with the CA's name but not its signature decides
    // nothing in the certificate's favour: it is the one consulted, and its
    // signature does not verify.
    let forged = h.python_crl("int", "forged", 99, false, Signer::Stranger);
    let run = h.verify_cert(
        &["--chain", s(&int), "--crl", s(&after), "--crl", s(&forged)],
        &leaf,
    );
    run.assert_code(1);
    assert!(run.stdout.starts_with("INVALID"), "{run}");

    // Two different lists under one number: refused as input.
    let number = std::fs::read(h.path("int/crlnumber")).unwrap();
    let one = h.crl("int", "one", &[]);
    std::fs::write(h.path("int/crlnumber"), number).unwrap();
    let twin = h.crl("int", "twin", &["-crl_nextupdate", "20450101000000Z"]);
    let run = h.verify_cert(
        &["--chain", s(&int), "--crl", s(&one), "--crl", s(&twin)],
        &leaf,
    );
    run.assert_code(2);
    assert!(run.stderr.contains("carry the same crlNumber"), "{run}");
}
