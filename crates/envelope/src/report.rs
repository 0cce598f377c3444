//! The verification report: ETSI EN 319 102-1 style indications, per
//! signature and overall, for people (text) and programs (JSON).

use std::fmt;

use congvan_text::Line;
use serde::Serialize;

use crate::SignatureRole;

/// The main status of a validation (ETSI EN 319 102-1 §5.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Indication {
    /// Every check passed.
    Passed,
    /// A check failed: the signature or dispatch must not be trusted.
    Failed,
    /// The checks could not conclude either way (e.g. no proof of existence).
    Indeterminate,
}

impl Indication {
    /// The upper-case name used in text and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Indication::Passed => "PASSED",
            Indication::Failed => "FAILED",
            Indication::Indeterminate => "INDETERMINATE",
        }
    }
}

/// Why a validation did not pass (ETSI EN 319 102-1 §5.1.3, Table 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubIndication {
    /// The container or signature does not follow the format.
    FormatFailure,
    /// Signed data (metadata, an attachment, a covered signature) does not match its digest.
    HashFailure,
    /// The signature value does not verify with the signing certificate's key.
    SigCryptoFailure,
    /// The signing certificate was revoked before the signing time.
    Revoked,
    /// The signing time is after the signing certificate expired.
    Expired,
    /// The signing time is before the signing certificate became valid.
    NotYetValid,
    /// The signature does not meet the signature policy (role, office).
    SigConstraintsFailure,
    /// The certificate chain does not meet the constraints (key usage,
    /// subtree, extended key usage of a CA, the certificate profile).
    ChainConstraintsFailure,
    /// A key or algorithm is below what is accepted (RSA under 2048 bits,
    /// P-192, DSA).
    CryptoConstraintsFailure,
    /// Revocation cannot be decided now (a CRL is past its nextUpdate): try
    /// again with a current CRL.
    TryLater,
    /// The certificate chain is invalid for another reason.
    CertificateChainGeneralFailure,
    /// The certificate has expired and nothing proves the signature existed before.
    OutOfBoundsNoPoe,
    /// The certificate was revoked after the claimed signing time, and nothing
    /// proves the signature existed before the revocation.
    RevokedNoPoe,
    /// A CA in the chain was revoked, and nothing proves the signature existed before.
    RevokedCaNoPoe,
    /// No chain from the signing certificate to a trust anchor.
    NoCertificateChainFound,
    /// The signing certificate is missing or unreadable.
    NoSigningCertificateFound,
}

impl SubIndication {
    /// The upper-case name used in text and JSON.
    pub fn name(self) -> &'static str {
        match self {
            SubIndication::FormatFailure => "FORMAT_FAILURE",
            SubIndication::HashFailure => "HASH_FAILURE",
            SubIndication::SigCryptoFailure => "SIG_CRYPTO_FAILURE",
            SubIndication::Revoked => "REVOKED",
            SubIndication::Expired => "EXPIRED",
            SubIndication::NotYetValid => "NOT_YET_VALID",
            SubIndication::SigConstraintsFailure => "SIG_CONSTRAINTS_FAILURE",
            SubIndication::ChainConstraintsFailure => "CHAIN_CONSTRAINTS_FAILURE",
            SubIndication::CryptoConstraintsFailure => "CRYPTO_CONSTRAINTS_FAILURE",
            SubIndication::TryLater => "TRY_LATER",
            SubIndication::CertificateChainGeneralFailure => "CERTIFICATE_CHAIN_GENERAL_FAILURE",
            SubIndication::OutOfBoundsNoPoe => "OUT_OF_BOUNDS_NO_POE",
            SubIndication::RevokedNoPoe => "REVOKED_NO_POE",
            SubIndication::RevokedCaNoPoe => "REVOKED_CA_NO_POE",
            SubIndication::NoCertificateChainFound => "NO_CERTIFICATE_CHAIN_FOUND",
            SubIndication::NoSigningCertificateFound => "NO_SIGNING_CERTIFICATE_FOUND",
        }
    }
}

/// The result for one signature.
#[derive(Clone, Debug, Serialize)]
pub struct SignatureResult {
    /// The container entry holding it.
    pub entry: String,
    /// Its role, when the header could be read.
    pub role: Option<SignatureRole>,
    /// The signer's name (certificate CN).
    pub signer: Option<String>,
    /// The official's position, for officials.
    pub position: Option<String>,
    /// The organization the certificate binds.
    pub org: Option<String>,
    /// The claimed signing time (JAdES `sigT`).
    pub signing_time: Option<String>,
    /// The JWS algorithm.
    pub algorithm: Option<String>,
    /// The validated chain's names, signer first (or the presented one if validation failed).
    pub chain: Vec<String>,
    /// How many earlier signatures it covers.
    pub covers: usize,
    /// The signature timestamp that served as proof of existence: its
    /// genTime (RFC 3339) and the TSA's name.
    pub timestamp: Option<String>,
    /// The result.
    pub indication: Indication,
    /// Why, when not PASSED.
    pub sub_indication: Option<SubIndication>,
    /// A sentence for people: what was found, and what to do.
    pub detail: String,
}

/// The result for one attachment.
#[derive(Clone, Debug, Serialize)]
pub struct AttachmentResult {
    /// The attachment name.
    pub name: String,
    /// Its size in the manifest.
    pub size: u64,
    /// Its SHA-256 in the manifest.
    pub sha256: String,
    /// True when the bytes match the manifest.
    pub ok: bool,
    /// What differs, when not ok.
    pub problem: Option<String>,
}

/// The result for one receipt.
#[derive(Clone, Debug, Serialize)]
pub struct ReceiptResult {
    /// The container entry holding it.
    pub entry: String,
    /// `custody`, `status` or `non_delivery`.
    pub kind: String,
    /// The status code, for status receipts.
    pub code: Option<String>,
    /// When it was made.
    pub time: Option<String>,
    /// Who signed it (certificate CN).
    pub signed_by: Option<String>,
    /// What it states.
    pub description: String,
    /// True when the receipt's signature and certificate check out.
    pub valid: bool,
    /// Why not, when not valid.
    pub problem: Option<String>,
}

/// The result for one archive timestamp (a preservation record and the
/// RFC 3161 token over it).
#[derive(Clone, Debug, Serialize)]
pub struct ArchiveTimestampResult {
    /// The token's entry, `META-INF/preservation/NNNN.tst`.
    pub entry: String,
    /// Its genTime (RFC 3339), when the token could be read.
    pub time: Option<String>,
    /// The timestamp authority's name.
    pub tsa: Option<String>,
    /// How many entries the record covers.
    pub covers: usize,
    /// How many certificates the record embeds.
    pub certificates: usize,
    /// How many CRLs the record embeds.
    pub crls: usize,
    /// True when it serves as proof of existence for what it covers.
    pub used: bool,
    /// True for the latest archive timestamp of an offline verification:
    /// nothing later vouches for its authority, so it stands on the trust
    /// anchor alone (the anchor certified the authority, and the token was
    /// made while the authority's certificate was valid).
    pub anchor_of_proof: bool,
    /// Why it was not used, when not used.
    pub problem: Option<String>,
}

/// The whole verification result of one dispatch.
#[derive(Clone, Debug, Serialize)]
pub struct VerificationReport {
    /// The file verified.
    pub file: String,
    /// The dispatch id, when the metadata could be read.
    pub dispatch_id: Option<String>,
    /// Number and notation.
    pub number: Option<String>,
    /// Subject excerpt.
    pub subject: Option<String>,
    /// Issuing office, "name (id)".
    pub from: Option<String>,
    /// The overall result.
    pub indication: Indication,
    /// Why, when not PASSED.
    pub sub_indication: Option<SubIndication>,
    /// One sentence: the overall finding.
    pub summary: String,
    /// Decree 30 problems in the metadata.
    pub metadata_problems: Vec<String>,
    /// Per signature.
    pub signatures: Vec<SignatureResult>,
    /// Per attachment.
    pub attachments: Vec<AttachmentResult>,
    /// Per receipt, in order.
    pub receipts: Vec<ReceiptResult>,
    /// Per archive timestamp, in order (a preserved dispatch).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub archive_timestamps: Vec<ArchiveTimestampResult>,
    /// True when only the validation data embedded in the dispatch was
    /// used (`dispatch verify --offline`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub offline: bool,
    /// "replaces ID" or "updates ID" when the dispatch supersedes an
    /// earlier one of its issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
    /// The issuer's recall request, when the dispatch carries a valid one
    /// (status 13): who asked, when and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recall: Option<String>,
    /// The issuer's notice that a later dispatch replaces or updates this
    /// one, when the dispatch carries a valid one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
}

impl VerificationReport {
    /// A report for a container that could not be read at all.
    pub fn unreadable(file: &str, problem: &str) -> VerificationReport {
        VerificationReport {
            file: file.to_string(),
            dispatch_id: None,
            number: None,
            subject: None,
            from: None,
            indication: Indication::Failed,
            sub_indication: Some(SubIndication::FormatFailure),
            summary: problem.to_string(),
            metadata_problems: Vec::new(),
            signatures: Vec::new(),
            attachments: Vec::new(),
            receipts: Vec::new(),
            archive_timestamps: Vec::new(),
            offline: false,
            supersedes: None,
            recall: None,
            superseded_by: None,
        }
    }

    /// The report as text for people, in the style of `sq verify`.
    pub fn to_text(&self) -> String {
        self.to_string()
    }
}

/// The text report. Every value that came from the file (names, times,
/// numbers, descriptions, the file name itself) is shown through
/// [`congvan_text::Line`]: whatever a sender put in it, it cannot move the
/// cursor, reverse text or start a line of its own, so the last line is the
/// verifier's and no one else's.
impl fmt::Display for VerificationReport {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(out, "Dispatch {}", Line(&self.file))?;
        if let Some(number) = &self.number {
            writeln!(out, "  Number:   {}", Line(number))?;
        }
        if let Some(subject) = &self.subject {
            writeln!(out, "  Subject:  {}", Line(subject))?;
        }
        if let Some(from) = &self.from {
            writeln!(out, "  From:     {}", Line(from))?;
        }
        if let Some(id) = &self.dispatch_id {
            writeln!(out, "  Id:       {}", Line(id))?;
        }
        if let Some(supersedes) = &self.supersedes {
            writeln!(out, "  Supersedes: {}", Line(supersedes))?;
        }
        if let Some(later) = &self.superseded_by {
            writeln!(
                out,
                "  ĐÃ ĐƯỢC THAY THẾ/CẬP NHẬT (superseded): {}",
                Line(later)
            )?;
        }
        if let Some(recall) = &self.recall {
            writeln!(
                out,
                "  ĐỀ NGHỊ THU HỒI (recall requested): {}",
                Line(recall)
            )?;
        }
        for problem in &self.metadata_problems {
            writeln!(out, "  Metadata problem: {}", Line(problem))?;
        }
        if !self.signatures.is_empty() {
            writeln!(out, "\nSignatures")?;
        }
        for (i, sig) in self.signatures.iter().enumerate() {
            let role = sig.role.map_or("?", |r| r.name());
            let mut who = sig
                .signer
                .clone()
                .unwrap_or_else(|| "unknown signer".into());
            if let Some(position) = &sig.position {
                who.push_str(&format!(", {position}"));
            }
            if let Some(org) = &sig.org {
                who.push_str(&format!(" ({org})"));
            }
            writeln!(
                out,
                "  [{}] {:<13} {:<11} {}",
                i + 1,
                status(sig.indication, sig.sub_indication),
                role,
                Line(&who)
            )?;
            if let Some(t) = &sig.signing_time {
                writeln!(
                    out,
                    "      signed at {}{}",
                    Line(t),
                    covers_text(sig.covers)
                )?;
            }
            if let Some(t) = &sig.timestamp {
                writeln!(out, "      timestamp: {}", Line(t))?;
            }
            if !sig.chain.is_empty() {
                writeln!(out, "      chain: {}", Line(&sig.chain.join(" <- ")))?;
            }
            writeln!(out, "      {}", Line(&sig.detail))?;
        }
        if !self.attachments.is_empty() {
            writeln!(out, "\nAttachments")?;
        }
        for att in &self.attachments {
            let mark = if att.ok { "OK  " } else { "BAD " };
            writeln!(
                out,
                "  {mark} {} ({} bytes) sha256 {}",
                Line(&att.name),
                att.size,
                Line(&att.sha256)
            )?;
            if let Some(problem) = &att.problem {
                writeln!(out, "       {}", Line(problem))?;
            }
        }
        if !self.receipts.is_empty() {
            writeln!(out, "\nReceipts")?;
        }
        for r in &self.receipts {
            let mark = if r.valid { "valid  " } else { "INVALID" };
            let time = r.time.as_deref().unwrap_or("?");
            writeln!(out, "  {}  {mark}  {}", Line(time), Line(&r.description))?;
            if let Some(problem) = &r.problem {
                writeln!(out, "      {}", Line(problem))?;
            }
        }
        if !self.archive_timestamps.is_empty() {
            writeln!(out, "\nArchive timestamps")?;
        }
        for a in &self.archive_timestamps {
            let mark = if a.used { "valid  " } else { "NOT USED" };
            let time = a.time.as_deref().unwrap_or("?");
            writeln!(
                out,
                "  {}  {mark}  by {}, covering {} entries, embedding {} certificates and {} CRLs",
                Line(time),
                Line(a.tsa.as_deref().unwrap_or("an unknown authority")),
                a.covers,
                a.certificates,
                a.crls
            )?;
            if a.anchor_of_proof {
                writeln!(
                    out,
                    "      the latest archive timestamp: its authority stands on the trust anchor alone"
                )?;
            }
            if let Some(problem) = &a.problem {
                writeln!(out, "      {}", Line(problem))?;
            }
        }
        if self.offline {
            writeln!(
                out,
                "\nValidated offline: only the certificates and CRLs embedded in the dispatch were used"
            )?;
        }
        writeln!(
            out,
            "\nResult: {} — {}",
            status(self.indication, self.sub_indication),
            Line(&self.summary)
        )
    }
}

fn status(indication: Indication, sub: Option<SubIndication>) -> String {
    match sub {
        Some(sub) => format!("{}/{}", indication.name(), sub.name()),
        None => indication.name().to_string(),
    }
}

fn covers_text(n: usize) -> String {
    match n {
        0 => String::new(),
        1 => ", covering 1 earlier signature".into(),
        n => format!(", covering {n} earlier signatures"),
    }
}
