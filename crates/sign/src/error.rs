use std::path::PathBuf;

/// Everything that can go wrong in the signing library.
///
/// Variants fall in two groups, told apart by [`Error::is_rejection`]: the
/// input could not be read or used (a missing file, malformed PEM, a wrong
/// password), or it was read and found not to be trustworthy (an expired or
/// revoked certificate, a bad signature, a wrong role). Command-line tools
/// map the first group to exit code 2 and the second to exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is not the PEM (or DER) it should be.
    #[error("{path}: {problem}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong, in words a user can act on.
        problem: String,
    },
    /// A certificate that parses but breaks a rule every reader relies on
    /// (an extension twice, an extension that cannot be read): not a
    /// certificate anyone may trust.
    #[error("{path}: the certificate is invalid: {problem}")]
    InvalidCertificate {
        /// Where it came from.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// An encrypted private key was given but no password.
    #[error("{path}: the private key is encrypted; give its password with --password-file FILE or the CONGVAN_KEY_PASSWORD environment variable")]
    PasswordRequired {
        /// The key file.
        path: PathBuf,
    },
    /// The password does not decrypt the private key.
    #[error("{path}: wrong password for the encrypted private key (or an unsupported encryption scheme; congvan reads PBES2 with PBKDF2 or scrypt and AES)")]
    WrongPassword {
        /// The key file.
        path: PathBuf,
    },
    /// The key's algorithm is not one congvan signs with.
    #[error("{path}: unsupported private key: {problem}")]
    UnsupportedKey {
        /// The key file (or `<generated>`).
        path: PathBuf,
        /// What kind of key it is and what is supported instead.
        problem: String,
    },
    /// An organization id given for issuance does not parse.
    #[error(transparent)]
    OrgId(#[from] congvan_org::Error),
    /// Certificate or CRL issuance failed.
    #[error("cannot issue: {0}")]
    Issuance(String),
    /// A request that makes no sense, such as a CA issuing outside its own subtree.
    #[error("{0}")]
    Refused(String),

    /// The signature does not verify under the certificate's public key.
    #[error("the signature does not match the signed data and the signer's public key")]
    BadSignature,
    /// An ECDSA signature in its high-s form: a copy of a valid signature
    /// anyone can make without the key (see `low_s.rs`).
    #[error("the ECDSA signature is in its high-s form, which anyone can derive from a valid signature without the key; congvan writes and accepts only low-s signatures")]
    HighS,
    /// A certificate's validity period ended before the validation time.
    #[error("{certificate} expired: it was valid until {not_after}, and validation time is {at}")]
    Expired {
        /// Which certificate of the path ("the CA certificate \"...\"").
        certificate: String,
        /// End of validity (RFC 3339).
        not_after: String,
        /// The time validated at (RFC 3339).
        at: String,
    },
    /// A certificate's validity period starts after the validation time.
    #[error("{certificate} is not yet valid: it is valid from {not_before}, and validation time is {at}")]
    NotYetValid {
        /// Which certificate of the path.
        certificate: String,
        /// Start of validity (RFC 3339).
        not_before: String,
        /// The time validated at (RFC 3339).
        at: String,
    },
    /// No chain leads from the certificate to a trust anchor.
    #[error("unknown issuer: no chain leads from this certificate to the given trust anchors (give the intermediate CA with --chain, or check it was issued by this PKI)")]
    UnknownIssuer,
    /// A certificate in the chain carries a signature its issuer did not make.
    #[error("bad certificate signature: the certificate was not signed by the CA it names")]
    BadCertificateSignature,
    /// The certificate (or, when `ca` is set, a CA above it) is on a CRL.
    #[error("{}", revoked_message(*.ca, .serial, .certificate.as_deref(), .revoked_at.as_deref(), .reason.as_deref()))]
    Revoked {
        /// True when a CA certificate in the chain, not the certificate itself, is revoked.
        ca: bool,
        /// The revoked serial number (hex).
        serial: String,
        /// The revoked CA certificate, named, when `ca` is set and the CA
        /// of the path could be identified.
        certificate: Option<String>,
        /// When it was revoked (RFC 3339), if the CRL says.
        revoked_at: Option<String>,
        /// The CRL reason code, if any.
        reason: Option<String>,
    },
    /// A certificate used as an issuer is not a CA, or a CA is used as an end entity.
    #[error("not a CA: {0}")]
    NotACa(String),
    /// The chain is longer than a CA's pathLenConstraint allows.
    #[error(
        "path length constraint violated: a CA issued more levels of CAs below it than it may"
    )]
    PathLenExceeded,
    /// The certificate lacks a keyUsage bit its role needs.
    #[error("wrong key usage: the certificate lacks {missing} in its keyUsage extension")]
    MissingKeyUsage {
        /// The missing bit, e.g. `digitalSignature`.
        missing: &'static str,
    },
    /// The certificate was issued for another role.
    #[error("wrong role: the certificate is for {found}, not {expected}")]
    WrongRole {
        /// The role asked for.
        expected: String,
        /// What the certificate says it is for.
        found: String,
    },
    /// The certificate's organization lies outside the subtree its CA may issue for.
    #[error("organization {org} is outside the subtree of CA \"{ca}\" ({ca_org}): a CA may only issue for its own organization and those below it")]
    OrgOutsideSubtree {
        /// The certificate's organization.
        org: String,
        /// The CA's subject.
        ca: String,
        /// The CA's organization.
        ca_org: String,
    },
    /// The certificate binds another organization than the one asked for.
    #[error("wrong organization: the certificate is for {found}, not {expected}")]
    WrongOrg {
        /// The organization asked for.
        expected: String,
        /// The organization the certificate binds (or "none").
        found: String,
    },
    /// A certificate of the path breaks the certificate profile
    /// (`profile.rs`): a missing key identifier, a trust anchor without
    /// basicConstraints, a zero serial number, ...
    #[error("{certificate} breaks the certificate profile: {problem}")]
    CertificateProfile {
        /// Which certificate.
        certificate: String,
        /// What it lacks or has wrongly.
        problem: String,
    },
    /// A certificate of the path has a key congvan does not accept.
    #[error("{certificate} has a key congvan does not accept: {problem}")]
    WeakKey {
        /// Which certificate.
        certificate: String,
        /// The key and what is required.
        problem: String,
    },
    /// A CA's extended key usage does not include a purpose the validation
    /// is for: it cannot vouch for the certificate in that role.
    #[error("{certificate} is limited by its extended key usage, which does not include {purpose}: it cannot vouch for a certificate used for that")]
    PurposeNotAllowed {
        /// Which CA certificate.
        certificate: String,
        /// The purpose it lacks, e.g. `serverAuth`.
        purpose: String,
    },
    /// A CRL needed for the validation is past its nextUpdate: revocation
    /// cannot be decided until a current one is loaded.
    #[error("the CRL of \"{issuer}\" was due to be replaced at {next_update}, before {at}, the time this validation speaks for: load a current CRL (or allow stale CRLs) to decide revocation")]
    CrlStale {
        /// The CRL issuer.
        issuer: String,
        /// Its nextUpdate (RFC 3339).
        next_update: String,
        /// The validation time (RFC 3339).
        at: String,
    },
    /// A CRL the path needs is dated after the time the validation speaks
    /// for: a clock is wrong (here or at the CA), so revocation cannot be
    /// decided.
    #[error("the CRL of \"{issuer}\" is dated {this_update}, after {at}, the time this validation speaks for: check this machine's clock, or, to verify as of an earlier time (--at), give the CRL that was current then")]
    CrlNotYetIssued {
        /// The CRL issuer.
        issuer: String,
        /// Its thisUpdate (RFC 3339).
        this_update: String,
        /// The verification time (RFC 3339).
        at: String,
    },
    /// Long-term validation needs a CA's revocation list and none was
    /// given (or embedded): nothing says the certificate was not revoked.
    #[error("no CRL of \"{issuer}\" is available, so nothing says {certificate} was not revoked: give the CA's list (dispatch preserve --crl) before preserving")]
    CrlMissing {
        /// The CA whose list is missing.
        issuer: String,
        /// The certificate it would vouch for.
        certificate: String,
    },
    /// Long-term validation needs a list issued after the moment a
    /// signature is proven to have existed; the one available is older, so
    /// it cannot say the certificate was not revoked by then.
    #[error("the CRL of \"{issuer}\" was issued at {this_update}, before {needed}, when {certificate} had to be shown unrevoked: a list issued after that moment is needed (wait for the CA's next list, then preserve again)")]
    CrlTooOld {
        /// The CA whose list is too old.
        issuer: String,
        /// The certificate it would vouch for.
        certificate: String,
        /// Its thisUpdate (RFC 3339).
        this_update: String,
        /// The moment the list must be issued after (RFC 3339).
        needed: String,
    },
    /// Any other reason the chain was refused, as the path validator words it.
    #[error("certificate chain rejected: {0}")]
    ChainRejected(String),
}

fn revoked_message(
    ca: bool,
    serial: &str,
    certificate: Option<&str>,
    at: Option<&str>,
    reason: Option<&str>,
) -> String {
    let who = match (ca, certificate) {
        (true, Some(name)) => format!("{name} (serial {serial}) in the chain"),
        (true, None) => "a CA certificate in the chain".to_string(),
        (false, _) => format!("certificate (serial {serial})"),
    };
    let mut text = format!("revoked: {who} is listed on the CRL");
    if let Some(at) = at {
        text.push_str(&format!(" since {at}"));
    }
    if let Some(reason) = reason {
        text.push_str(&format!(", reason {reason}"));
    }
    text
}

impl Error {
    /// True when the input was read and judged untrustworthy (exit 1),
    /// false when it could not be read or used at all (exit 2).
    pub fn is_rejection(&self) -> bool {
        !matches!(
            self,
            Error::Io { .. }
                | Error::Malformed { .. }
                | Error::PasswordRequired { .. }
                | Error::WrongPassword { .. }
                | Error::UnsupportedKey { .. }
                | Error::OrgId(_)
                | Error::Issuance(_)
        )
    }

    /// A stable, machine-readable name for the failure, used in `--json` output.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io { .. } => "io",
            Error::InvalidCertificate { .. } => "invalid_certificate",
            Error::CertificateProfile { .. } => "certificate_profile",
            Error::WeakKey { .. } => "weak_key",
            Error::PurposeNotAllowed { .. } => "purpose_not_allowed",
            Error::CrlStale { .. } => "crl_stale",
            Error::CrlNotYetIssued { .. } => "crl_not_yet_issued",
            Error::CrlMissing { .. } => "crl_missing",
            Error::CrlTooOld { .. } => "crl_too_old",
            Error::Malformed { .. } => "malformed",
            Error::PasswordRequired { .. } => "password_required",
            Error::WrongPassword { .. } => "wrong_password",
            Error::UnsupportedKey { .. } => "unsupported_key",
            Error::OrgId(_) => "invalid_org_id",
            Error::Issuance(_) => "issuance_failed",
            Error::Refused(_) => "refused",
            Error::BadSignature => "bad_signature",
            Error::HighS => "high_s_signature",
            Error::Expired { .. } => "expired",
            Error::NotYetValid { .. } => "not_yet_valid",
            Error::UnknownIssuer => "unknown_issuer",
            Error::BadCertificateSignature => "bad_certificate_signature",
            Error::Revoked { ca: false, .. } => "revoked",
            Error::Revoked { ca: true, .. } => "ca_revoked",
            Error::NotACa(_) => "not_a_ca",
            Error::PathLenExceeded => "path_length_exceeded",
            Error::MissingKeyUsage { .. } => "wrong_key_usage",
            Error::WrongRole { .. } => "wrong_role",
            Error::OrgOutsideSubtree { .. } => "org_outside_subtree",
            Error::WrongOrg { .. } => "wrong_org",
            Error::ChainRejected(_) => "chain_rejected",
        }
    }

    pub(crate) fn malformed(path: impl Into<PathBuf>, problem: impl Into<String>) -> Error {
        Error::Malformed {
            path: path.into(),
            problem: problem.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
