//! Dispatch signatures: JWS over the detached manifest with JAdES-style headers.

use std::fmt;
use std::str::FromStr;

use congvan_sign::{Algorithm, Certificate, Credential, Role, TrustStore};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::jws::{b64_std, b64url, Jws};
use crate::layout::signature_entry;
use crate::{Envelope, Error};

/// Why a signature was made: its role in the dispatch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureRole {
    /// The official who signs the dispatch ("người ký").
    Signer,
    /// The issuing organization's seal, applied after the signer; it covers
    /// every signature present when it is applied.
    Seal,
    /// A further official's signature alongside the signer.
    Countersign,
    /// An authenticated electronic copy (SAO Y, SAO LỤC, TRÍCH SAO) by an
    /// office; it covers every signature present when it is applied.
    Copy,
}

impl SignatureRole {
    /// Every role.
    pub const ALL: [SignatureRole; 4] = [
        SignatureRole::Signer,
        SignatureRole::Seal,
        SignatureRole::Countersign,
        SignatureRole::Copy,
    ];

    /// The role's name in headers and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            SignatureRole::Signer => "signer",
            SignatureRole::Seal => "seal",
            SignatureRole::Countersign => "countersign",
            SignatureRole::Copy => "copy",
        }
    }

    /// The certificate role a signature in this role needs.
    pub fn certificate_role(self) -> Role {
        match self {
            SignatureRole::Signer | SignatureRole::Countersign => Role::Official,
            SignatureRole::Seal | SignatureRole::Copy => Role::Office,
        }
    }

    /// True when the certificate must belong to the issuing office itself.
    pub fn must_be_issuer(self) -> bool {
        matches!(self, SignatureRole::Signer | SignatureRole::Seal)
    }

    /// True when the signature covers the signatures made before it.
    pub fn covers_earlier(self) -> bool {
        matches!(self, SignatureRole::Seal | SignatureRole::Copy)
    }
}

impl fmt::Display for SignatureRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SignatureRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        SignatureRole::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                format!("unknown signature role {s:?}; use signer, seal, countersign or copy")
            })
    }
}

/// congvan's own protected header parameters, kept under one name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CongvanHeader {
    /// The signature's role.
    pub role: SignatureRole,
    /// SHA-256 (hex) of each earlier signature value this one covers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub covers: Vec<String>,
}

/// The protected header of a dispatch signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedHeader {
    /// JWS algorithm (`ES256`, `EdDSA`, `RS256`, `ES384`).
    pub alg: String,
    /// Content type of the detached payload.
    pub cty: String,
    /// The signing certificate first, then its CA chain (standard base64 DER).
    /// Read as empty when absent, so that a verifier can report a missing
    /// signing certificate as such rather than as unreadable JSON.
    #[serde(default)]
    pub x5c: Vec<String>,
    /// Claimed signing time (JAdES `sigT`), UTC, RFC 3339.
    #[serde(rename = "sigT")]
    pub sig_t: String,
    /// congvan parameters: role and covered signatures.
    pub congvan: CongvanHeader,
    /// JWS `crit` (RFC 7515 §4.1.11): extensions the verifier must
    /// understand. congvan understands none, so a header naming any is
    /// refused; it is read only to be refused, never written. Present with
    /// any value, `null` included, is `Some`.
    #[serde(default, skip_serializing, deserialize_with = "member_present")]
    pub crit: Option<serde_json::Value>,
}

impl ProtectedHeader {
    /// Decodes the `x5c` chain: the signing certificate first.
    pub fn certificates(&self, entry: &str) -> Result<Vec<Certificate>, Error> {
        decode_x5c(&self.x5c, 0, entry, None)
    }
}

/// Decodes `x5c` entries into certificates, the first being `x5c[first]`;
/// `entry` names the JWS in errors. With a trust store, certificates it has
/// parsed before are taken from its cache ([`TrustStore::parse_x5c`]), which
/// gives the same result.
///
/// Verifiers decode `x5c[0]` alone, check the signature with it, and only
/// then the rest of the chain: a forged signature costs them one
/// certificate parse, whatever chain it carries.
pub(crate) fn decode_x5c(
    x5c: &[String],
    first: usize,
    entry: &str,
    trust: Option<&TrustStore>,
) -> Result<Vec<Certificate>, Error> {
    let origin = std::path::Path::new(entry);
    let mut certs = Vec::with_capacity(x5c.len());
    for (i, encoded) in (first..).zip(x5c) {
        let parsed = match trust {
            Some(trust) => trust.parse_x5c(encoded, origin),
            None => {
                let der = crate::jws::b64_std_decode(encoded, entry, "x5c")?;
                Certificate::from_der(&der, origin)
            }
        };
        let cert = parsed.map_err(|e| Error::MalformedJws {
            entry: entry.to_string(),
            problem: format!("x5c[{i}] is not a readable certificate: {e}"),
        })?;
        certs.push(cert);
    }
    Ok(certs)
}

/// Media type of the manifest, the detached payload of every signature.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.congvan.manifest+json";

/// What a new signature looks like, for reporting back to the signer.
#[derive(Clone, Debug)]
pub struct SignatureSummary {
    /// The entry it was stored in.
    pub entry: String,
    /// Its role.
    pub role: SignatureRole,
    /// The claimed signing time.
    pub signing_time: String,
    /// How many earlier signatures it covers.
    pub covers: usize,
    /// True when it carries a signature timestamp.
    pub timestamped: bool,
}

/// Signs an opened dispatch and appends the signature to its file.
///
/// Before signing, the attachments are checked against the manifest and the
/// certificate against the role: an official signs as `signer` or
/// `countersign`, the office as `seal` or `copy`, and signer and seal must
/// belong to the issuing office. A signature that would fail verification is
/// refused here rather than discovered by the recipient.
pub fn sign_dispatch(
    envelope: &mut Envelope,
    credential: &Credential,
    extra_chain: &[Certificate],
    role: SignatureRole,
    at: OffsetDateTime,
    progress: &mut dyn FnMut(u64),
) -> Result<SignatureSummary, Error> {
    sign_dispatch_with(envelope, credential, extra_chain, role, at, progress, None)
}

/// Asks a timestamp authority for a token over an imprint (the DER token,
/// already checked), as `dispatch sign --tsa` does over HTTP.
pub type Timestamper<'a> = &'a mut dyn FnMut(&congvan_tsa::Imprint) -> Result<Vec<u8>, Error>;

/// [`sign_dispatch`], and with a `timestamper` a signature timestamp
/// (JAdES B-T, `sigTst`) over the new signature value in its unprotected
/// header, before it is written: a signature is stored once, with its
/// timestamp or not at all.
pub fn sign_dispatch_with(
    envelope: &mut Envelope,
    credential: &Credential,
    extra_chain: &[Certificate],
    role: SignatureRole,
    at: OffsetDateTime,
    progress: &mut dyn FnMut(u64),
    timestamper: Option<Timestamper<'_>>,
) -> Result<SignatureSummary, Error> {
    if let Some(problem) = envelope.check_metadata_digest() {
        return Err(Error::Refused(format!("refusing to sign: {problem}")));
    }
    for check in envelope.check_attachments(progress)? {
        if let Some(problem) = check.problem {
            return Err(Error::Refused(format!(
                "refusing to sign: attachment {:?} {problem}",
                check.name
            )));
        }
    }
    check_signer_fits(envelope, credential.cert(), role, at)?;

    let mut covers = Vec::new();
    if role.covers_earlier() {
        for stored in envelope.signatures() {
            covers.push(stored.jws.signature_digest(&stored.entry)?);
        }
    }
    let covers_count = covers.len();
    let mut jws = make_signature(
        envelope.manifest_bytes(),
        credential,
        extra_chain,
        role,
        covers,
        at,
    )?;
    let timestamped = timestamper.is_some();
    if let Some(timestamper) = timestamper {
        let token = timestamper(&crate::timestamp::signature_timestamp_imprint(&jws))?;
        crate::timestamp::add_signature_timestamp(&mut jws, &token)?;
    }
    let sig_t = signing_time_text(at);
    let entry = append_signature(envelope, &jws)?;
    Ok(SignatureSummary {
        entry,
        role,
        signing_time: sig_t,
        covers: covers_count,
        timestamped,
    })
}

/// Issues a dispatch the usual way: writes it, signs it as the official
/// (`signer`) and, when given, seals it as the office (`seal`), all at `at`.
pub fn issue_dispatch(
    metadata: &crate::metadata::Metadata,
    attachments: &[crate::AttachmentSource],
    out: &std::path::Path,
    official: &Credential,
    office: Option<&Credential>,
    at: OffsetDateTime,
) -> Result<crate::Manifest, Error> {
    let manifest = crate::create_dispatch(metadata, attachments, out, &mut |_| {})?;
    let mut envelope = Envelope::open(out)?;
    sign_dispatch(
        &mut envelope,
        official,
        &[],
        SignatureRole::Signer,
        at,
        &mut |_| {},
    )?;
    if let Some(office) = office {
        sign_dispatch(
            &mut envelope,
            office,
            &[],
            SignatureRole::Seal,
            at,
            &mut |_| {},
        )?;
    }
    Ok(manifest)
}

/// Appends a ready-made signature to the dispatch file, without any check:
/// the primitive under [`sign_dispatch`]. Returns the entry name.
pub fn append_signature(envelope: &mut Envelope, jws: &Jws) -> Result<String, Error> {
    let max = envelope.limits().max_signatures;
    if envelope.signatures().len() >= max {
        return Err(Error::Refused(format!(
            "the dispatch already carries {} signatures, the most a reader accepts ({max})",
            envelope.signatures().len()
        )));
    }
    let number = envelope
        .signatures()
        .iter()
        .map(|s| s.number)
        .max()
        .unwrap_or(0)
        + 1;
    if number > crate::layout::MAX_SEQUENCE {
        return Err(Error::Refused(format!(
            "signature number {number} does not fit the four-digit entry names of the format"
        )));
    }
    let entry = signature_entry(number);
    let bytes = serde_json::to_vec(jws)
        .map_err(|e| Error::Format(format!("cannot encode the signature: {e}")))?;
    crate::builder::append_entries(
        envelope,
        &[(entry.clone(), bytes)],
        crate::Durability::Synced,
        false,
    )?;
    Ok(entry)
}

/// Makes the JWS for a manifest without touching any file: the primitive
/// under [`sign_dispatch`], exposed for tools and benchmarks.
pub fn make_signature(
    manifest_bytes: &[u8],
    credential: &Credential,
    extra_chain: &[Certificate],
    role: SignatureRole,
    covers: Vec<String>,
    at: OffsetDateTime,
) -> Result<Jws, Error> {
    let alg = credential.key().algorithm();
    let mut x5c = vec![b64_std(credential.cert().der())];
    for ca in credential.chain().iter().chain(extra_chain) {
        let encoded = b64_std(ca.der());
        if !x5c.contains(&encoded) {
            x5c.push(encoded);
        }
    }
    let header = ProtectedHeader {
        alg: alg.jws_name().to_string(),
        cty: MANIFEST_MEDIA_TYPE.to_string(),
        x5c,
        sig_t: signing_time_text(at),
        congvan: CongvanHeader { role, covers },
        crit: None,
    };
    let header_json = serde_json::to_vec(&header)
        .map_err(|e| Error::Format(format!("cannot encode the header: {e}")))?;
    let mut jws = Jws {
        protected: b64url(&header_json),
        payload: None,
        signature: String::new(),
        header: None,
    };
    let signature = credential.key().sign(&jws.signing_input(manifest_bytes))?;
    jws.signature = b64url(&signature);
    Ok(jws)
}

/// Parses and checks the shape of a stored signature's protected header.
pub fn parse_header(jws: &Jws, entry: &str) -> Result<(ProtectedHeader, Algorithm), Error> {
    let (header, alg) = parse_header_fields(jws, entry)?;
    if header.x5c.is_empty() {
        return Err(Error::MalformedJws {
            entry: entry.to_string(),
            problem: "x5c is missing or empty; the signing certificate must be included".into(),
        });
    }
    Ok((header, alg))
}

/// [`parse_header`] without the `x5c` check, for the verifier, which
/// reports a missing signing certificate under its own sub-indication.
pub(crate) fn parse_header_fields(
    jws: &Jws,
    entry: &str,
) -> Result<(ProtectedHeader, Algorithm), Error> {
    let bytes = jws.protected_bytes(entry)?;
    let header: ProtectedHeader =
        serde_json::from_slice(&bytes).map_err(|e| Error::MalformedJws {
            entry: entry.to_string(),
            problem: format!("bad protected header: {e}"),
        })?;
    if header.crit.is_some() {
        return Err(crit_refused(entry));
    }
    let alg = Algorithm::from_jws_name(&header.alg).ok_or_else(|| Error::MalformedJws {
        entry: entry.to_string(),
        problem: format!("unsupported algorithm {:?}", header.alg),
    })?;
    Ok((header, alg))
}

/// Reads a member that counts as present whatever its value: serde would
/// read `null` as absent, and `"crit": null` is a `crit` member too (RFC
/// 7515 allows only a non-empty array, so it is refused like any other).
pub(crate) fn member_present<'de, D>(deserializer: D) -> Result<Option<serde_json::Value>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    <serde_json::Value as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// The refusal of a header with `crit`.
pub(crate) fn crit_refused(entry: &str) -> Error {
    Error::MalformedJws {
        entry: entry.to_string(),
        problem: "the protected header has `crit`: it requires JWS extensions congvan does \
                  not implement, so it cannot be verified (RFC 7515 §4.1.11)"
            .into(),
    }
}

/// JAdES `sigT` text: UTC, whole seconds.
pub fn signing_time_text(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    let utc = utc.replace_nanosecond(0).unwrap_or(utc);
    utc.format(&Rfc3339)
        .unwrap_or_else(|_| utc.unix_timestamp().to_string())
}

fn check_signer_fits(
    envelope: &Envelope,
    cert: &Certificate,
    role: SignatureRole,
    at: OffsetDateTime,
) -> Result<(), Error> {
    let needed = role.certificate_role();
    if cert.role() != Some(needed) {
        return Err(Error::Refused(format!(
            "a {role} signature needs a certificate of role {needed}, but \"{}\" is {}",
            cert.display_name(),
            cert.role()
                .map_or("not a congvan certificate".to_string(), |r| format!(
                    "a {r} certificate"
                ))
        )));
    }
    let from = &envelope.metadata().from.id;
    if role.must_be_issuer() && cert.org() != Some(from) {
        return Err(Error::Refused(format!(
            "a {role} signature must come from the issuing office {from}, but \"{}\" belongs to {}",
            cert.display_name(),
            cert.org()
                .map_or("no organization".to_string(), |o| o.to_string())
        )));
    }
    if at < cert.not_before() || at > cert.not_after() {
        return Err(Error::Refused(format!(
            "the certificate of \"{}\" is not valid at the signing time (valid {} to {})",
            cert.display_name(),
            signing_time_text(cert.not_before()),
            signing_time_text(cert.not_after())
        )));
    }
    Ok(())
}
