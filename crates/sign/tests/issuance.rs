//! Issuance rules that keep the hierarchy usable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use congvan_sign::{init_root, issue_ca, Algorithm, Error, OrgId, SigningKey};

fn key() -> SigningKey {
    SigningKey::generate(Algorithm::EcdsaP256).unwrap()
}

/// A provincial CA (pathLen 0) cannot issue a CA below it: every leaf of
/// such a CA would fail path validation, so it is refused up front.
#[test]
fn ca_with_path_len_zero_cannot_issue_a_ca() {
    let root = init_root("Root", key(), 3650).unwrap();
    assert_eq!(root.cert().path_len(), Some(1));
    let province = issue_ca(&root, "CA H99", &OrgId::parse("H99").unwrap(), key(), 3650).unwrap();
    assert_eq!(province.cert().path_len(), Some(0));
    let err = issue_ca(
        &province,
        "CA H99.01",
        &OrgId::parse("H99.01").unwrap(),
        key(),
        365,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Refused(_)), "{err}");
    assert!(err.to_string().contains("pathLenConstraint is 0"), "{err}");
}
