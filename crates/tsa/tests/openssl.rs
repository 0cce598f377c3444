//! congvan's timestamps against the reference implementation: tokens
//! congvan issues are checked by `openssl ts -verify`, and tokens that
//! `openssl ts -reply` issues are checked by congvan.

mod support;

use congvan_tsa::{check_reply, check_token, Authority, Error, Imprint, TimestampRequest};
use support::{openssl, Pki};
use time::OffsetDateTime;

/// The TSA policy of the stories (the example OID of the openssl manual).
const POLICY: &str = "1.2.3.4.1";

const DOCUMENT: &[u8] = b"Cong van so 12/UBND-VP ngay 01/12/2026";

/// `openssl ts -verify` of `r.tsr` against `what` (`-data F` or
/// `-queryfile Q`), trusting the root, with the TSA chain as untrusted.
fn ts_verify(pki: &Pki, what: &[&str]) -> (bool, String) {
    let mut args = vec!["ts", "-verify", "-in", "r.tsr", "-CAfile", "root/cert.pem"];
    args.extend(["-untrusted", "untrusted.pem"]);
    args.extend(what);
    openssl(pki.dir.path(), &args)
}

#[test]
fn openssl_ts_verify_accepts_a_congvan_token_for_an_openssl_query() {
    let pki = Pki::new();
    std::fs::write(pki.path("data.txt"), DOCUMENT).unwrap();
    // openssl makes the query (with its own nonce), congvan answers it.
    let (ok, text) = openssl(
        pki.dir.path(),
        &[
            "ts", "-query", "-data", "data.txt", "-sha256", "-cert", "-out", "q.tsq",
        ],
    );
    assert!(ok, "{text}");
    let authority = Authority::new(pki.tsa_credential(), POLICY).unwrap();
    let query = std::fs::read(pki.path("q.tsq")).unwrap();
    std::fs::write(
        pki.path("r.tsr"),
        authority.respond(&query, OffsetDateTime::now_utc()),
    )
    .unwrap();

    let (ok, text) = ts_verify(&pki, &["-queryfile", "q.tsq"]);
    assert!(ok && text.contains("Verification: OK"), "{text}");
    let (ok, text) = ts_verify(&pki, &["-data", "data.txt"]);
    assert!(ok && text.contains("Verification: OK"), "{text}");

    // The same reply for other data: openssl refuses it too.
    std::fs::write(pki.path("other.txt"), b"another document").unwrap();
    let (ok, text) = ts_verify(&pki, &["-data", "other.txt"]);
    assert!(!ok, "openssl accepted a token for other data: {text}");
}

#[test]
fn congvan_accepts_a_token_from_openssl_ts_reply_and_refuses_it_for_other_data() {
    let pki = Pki::new();
    let config = "\
[tsa]
default_tsa = tsa_config
[tsa_config]
dir = .
serial = ./serial
crypto_device = builtin
signer_cert = ./tsa/cert.pem
signer_key = ./tsa/key.pem
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
";
    std::fs::write(pki.path("tsa.cnf"), config).unwrap();
    std::fs::write(pki.path("serial"), "01\n").unwrap();
    let request = TimestampRequest::new(&Imprint::sha256_of(DOCUMENT)).unwrap();
    std::fs::write(pki.path("q.tsq"), &request.der).unwrap();
    let (ok, text) = openssl(
        pki.dir.path(),
        &[
            "ts",
            "-reply",
            "-config",
            "tsa.cnf",
            "-queryfile",
            "q.tsq",
            "-out",
            "r.tsr",
        ],
    );
    assert!(ok, "{text}");
    let reply = std::fs::read(pki.path("r.tsr")).unwrap();

    let (token, checked) = check_reply(&reply, &request, &pki.trust()).unwrap();
    assert_eq!(checked.policy, "1.2.3.4.1");
    assert_eq!(checked.tsa(), pki.tsa.cert());
    let age = OffsetDateTime::now_utc() - checked.gen_time;
    assert!(
        age.whole_seconds().abs() < 120,
        "genTime {}",
        checked.gen_time
    );

    let other = Imprint::sha256_of(b"another document");
    assert!(matches!(
        check_token(&token, &other, &pki.trust(), &[]),
        Err(Error::WrongImprint)
    ));
}

#[test]
fn a_token_under_another_root_is_refused_as_untrusted() {
    let pki = Pki::new();
    let stranger = Pki::new();
    let authority = Authority::new(stranger.tsa_credential(), POLICY).unwrap();
    let request = TimestampRequest::new(&Imprint::sha256_of(DOCUMENT)).unwrap();
    let reply = authority.respond(&request.der, OffsetDateTime::now_utc());
    let refusal = check_reply(&reply, &request, &pki.trust()).unwrap_err();
    assert!(matches!(refusal, Error::Untrusted(_)), "{refusal}");
    assert!(refusal.to_string().contains("not trusted"), "{refusal}");
    // Under its own root the same reply passes.
    check_reply(&reply, &request, &stranger.trust()).unwrap();
}

#[test]
fn a_tsa_certified_by_a_provincial_ca_is_not_trusted_for_time() {
    // A province could otherwise certify a TSA of its own and back-date
    // timestamps for its officials' revoked keys.
    let pki = Pki::new();
    let provincial_tsa = pki.leaf(congvan_sign::Role::Tsa, "TSA of the province (test)");
    let authority = Authority::new(provincial_tsa, POLICY).unwrap();
    let request = TimestampRequest::new(&Imprint::sha256_of(DOCUMENT)).unwrap();
    let reply = authority.respond(&request.der, OffsetDateTime::now_utc());
    let refusal = check_reply(&reply, &request, &pki.trust()).unwrap_err();
    assert!(
        matches!(&refusal, Error::NotTimestampCertificate(text) if text.contains("subordinate CA")),
        "{refusal}"
    );
}
