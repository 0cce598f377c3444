//! Receipts: signed statements appended to a dispatch after it is signed.
//!
//! A relay appends a custody receipt at every hop; a recipient office
//! appends status messages (edXML codes). Receipts carry their own payload,
//! so they never change what the dispatch signatures cover.

use std::fmt;
use std::str::FromStr;

use congvan_org::OrgId;
use congvan_sign::{
    verify_signature, Algorithm, Certificate, Credential, Purpose, Role, TrustStore,
};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::hashing_writer::FileDigest;
use crate::jws::{b64_std, b64url, Jws};
use crate::layout::receipt_entry;
use crate::signature::{decode_x5c, signing_time_text};
use crate::{Envelope, Error};

/// Media type of a receipt payload.
pub const RECEIPT_MEDIA_TYPE: &str = "application/vnd.congvan.receipt+json";

/// Longest status note or non-delivery reason, in characters.
pub const MAX_RECEIPT_TEXT_CHARS: usize = 2_000;

/// An edXML status code sent back by a recipient (QCVN 102:2016).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StatusCode {
    /// 01: arrived ("đã đến").
    #[serde(rename = "01")]
    Arrived,
    /// 02: rejected ("từ chối tiếp nhận").
    #[serde(rename = "02")]
    Rejected,
    /// 03: accepted and registered ("đã tiếp nhận").
    #[serde(rename = "03")]
    Accepted,
    /// 04: assigned for handling ("phân công").
    #[serde(rename = "04")]
    Assigned,
    /// 05: being processed ("đang xử lý").
    #[serde(rename = "05")]
    Processing,
    /// 06: completed ("hoàn thành").
    #[serde(rename = "06")]
    Completed,
    /// 13: recall requested ("yêu cầu thu hồi").
    #[serde(rename = "13")]
    RecallRequested,
    /// 15: recall or update agreed ("đồng ý thu hồi/cập nhật").
    #[serde(rename = "15")]
    RecallAgreed,
    /// 16: recall or update refused ("từ chối thu hồi/cập nhật").
    #[serde(rename = "16")]
    RecallRefused,
}

impl StatusCode {
    /// Every code.
    pub const ALL: [StatusCode; 9] = [
        StatusCode::Arrived,
        StatusCode::Rejected,
        StatusCode::Accepted,
        StatusCode::Assigned,
        StatusCode::Processing,
        StatusCode::Completed,
        StatusCode::RecallRequested,
        StatusCode::RecallAgreed,
        StatusCode::RecallRefused,
    ];

    /// The two-digit edXML code.
    pub fn code(self) -> &'static str {
        match self {
            StatusCode::Arrived => "01",
            StatusCode::Rejected => "02",
            StatusCode::Accepted => "03",
            StatusCode::Assigned => "04",
            StatusCode::Processing => "05",
            StatusCode::Completed => "06",
            StatusCode::RecallRequested => "13",
            StatusCode::RecallAgreed => "15",
            StatusCode::RecallRefused => "16",
        }
    }

    /// Who may state this code about a dispatch: the one rule relays and
    /// verifiers share. 13 (recall requested) is the issuing office's
    /// request to its recipients; every other code is a recipient's answer
    /// to the issuer.
    pub fn said_by(self) -> Speaker {
        match self {
            StatusCode::RecallRequested => Speaker::Issuer,
            _ => Speaker::Recipient,
        }
    }

    /// True for 15 and 16, which answer a recall request (13) and so may
    /// only follow one.
    pub fn answers_recall(self) -> bool {
        matches!(self, StatusCode::RecallAgreed | StatusCode::RecallRefused)
    }

    /// The Vietnamese description.
    pub fn description(self) -> &'static str {
        match self {
            StatusCode::Arrived => "Đã đến",
            StatusCode::Rejected => "Từ chối tiếp nhận",
            StatusCode::Accepted => "Đã tiếp nhận",
            StatusCode::Assigned => "Phân công xử lý",
            StatusCode::Processing => "Đang xử lý",
            StatusCode::Completed => "Hoàn thành",
            StatusCode::RecallRequested => "Yêu cầu thu hồi",
            StatusCode::RecallAgreed => "Đồng ý thu hồi/cập nhật",
            StatusCode::RecallRefused => "Từ chối thu hồi/cập nhật",
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.description())
    }
}

impl FromStr for StatusCode {
    type Err = String;
    fn from_str(s: &str) -> Result<StatusCode, String> {
        StatusCode::ALL
            .into_iter()
            .find(|c| c.code() == s)
            .ok_or_else(|| {
                format!("unknown status code {s:?}; use 01, 02, 03, 04, 05, 06, 13, 15 or 16")
            })
    }
}

/// Who may state a status code ([`StatusCode::said_by`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speaker {
    /// The dispatch's issuing office.
    Issuer,
    /// One of its recipient offices.
    Recipient,
}

/// What a receipt states.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Statement {
    /// A relay took custody of the dispatch.
    Custody {
        /// The dispatch.
        dispatch_id: String,
        /// SHA-256 of its manifest.
        manifest_sha256: String,
        /// SHA-256 of each signature value present when custody was taken:
        /// the receipt is proof that those signatures existed by `time`.
        signatures: Vec<String>,
        /// The relay's organization.
        relay: OrgId,
        /// The relay's name.
        relay_name: String,
        /// When custody was taken (RFC 3339, UTC).
        time: String,
    },
    /// A recipient office reports a status.
    Status {
        /// The dispatch.
        dispatch_id: String,
        /// SHA-256 of its manifest.
        manifest_sha256: String,
        /// The edXML status code.
        code: StatusCode,
        /// The reporting office.
        by: OrgId,
        /// When (RFC 3339, UTC).
        time: String,
        /// A free-text note ("Lý do", "Ghi chú").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A relay gave up delivering the dispatch to some recipients.
    NonDelivery {
        /// The dispatch.
        dispatch_id: String,
        /// SHA-256 of its manifest.
        manifest_sha256: String,
        /// The relay that gave up.
        relay: OrgId,
        /// The recipients not reached.
        undelivered: Vec<OrgId>,
        /// Why.
        reason: String,
        /// When (RFC 3339, UTC).
        time: String,
    },
    /// The issuer tells the recipients that a later dispatch of its own
    /// replaces or updates this one (`details.supersedes` of the later).
    Superseded {
        /// The earlier dispatch.
        dispatch_id: String,
        /// SHA-256 of its manifest.
        manifest_sha256: String,
        /// The issuing office (its responsible office).
        by: OrgId,
        /// Replaces or updates.
        how: crate::metadata::SupersedeKind,
        /// The later dispatch.
        superseded_by: String,
        /// When (RFC 3339, UTC).
        time: String,
    },
}

impl Statement {
    /// The dispatch the statement is about.
    pub fn dispatch_id(&self) -> &str {
        match self {
            Statement::Custody { dispatch_id, .. }
            | Statement::Status { dispatch_id, .. }
            | Statement::NonDelivery { dispatch_id, .. }
            | Statement::Superseded { dispatch_id, .. } => dispatch_id,
        }
    }

    /// The manifest digest the statement names.
    pub fn manifest_sha256(&self) -> &str {
        match self {
            Statement::Custody {
                manifest_sha256, ..
            }
            | Statement::Status {
                manifest_sha256, ..
            }
            | Statement::NonDelivery {
                manifest_sha256, ..
            }
            | Statement::Superseded {
                manifest_sha256, ..
            } => manifest_sha256,
        }
    }

    /// When the statement was made.
    pub fn time(&self) -> &str {
        match self {
            Statement::Custody { time, .. }
            | Statement::Status { time, .. }
            | Statement::NonDelivery { time, .. }
            | Statement::Superseded { time, .. } => time,
        }
    }

    /// `custody`, `status`, `non_delivery` or `superseded`.
    pub fn kind(&self) -> &'static str {
        match self {
            Statement::Custody { .. } => "custody",
            Statement::Status { .. } => "status",
            Statement::NonDelivery { .. } => "non_delivery",
            Statement::Superseded { .. } => "superseded",
        }
    }

    /// True for what only the dispatch's issuer states and what travels
    /// from it to the recipients: its recall request (13) and its notice
    /// that a later dispatch supersedes this one.
    pub fn is_issuer_notice(&self) -> bool {
        match self {
            Statement::Status { code, .. } => code.said_by() == Speaker::Issuer,
            Statement::Superseded { .. } => true,
            Statement::Custody { .. } | Statement::NonDelivery { .. } => false,
        }
    }

    /// The role and organization whose certificate must sign this statement:
    /// a relay for custody and non-delivery, the reporting office for status.
    pub fn required_signer(&self) -> (Role, OrgId) {
        match self {
            Statement::Custody { relay, .. } | Statement::NonDelivery { relay, .. } => {
                (Role::Relay, relay.clone())
            }
            Statement::Status { by, .. } | Statement::Superseded { by, .. } => {
                (Role::Office, by.clone())
            }
        }
    }

    /// The first field that breaks the format's rules, named, or `None`.
    ///
    /// Receipts travel from offices and relays to other offices and are
    /// shown to people (`track`, verification reports, e-mail), so their
    /// text follows the metadata's text rules (NFC, no controls, no
    /// invisible or direction characters, bounded length) and their ids
    /// and digests have their one canonical form. Checked when a receipt
    /// is made and when one is read: a receipt that breaks them is invalid.
    pub fn problem(&self) -> Option<String> {
        use crate::metadata::text::{check, Lines, TextRule};
        let named = |field: &str, problem: String| Some(format!("{field} {problem}"));
        if let Some(problem) = crate::metadata::uuid_problem(self.dispatch_id()) {
            return named("dispatch_id", problem);
        }
        if !crate::manifest::is_sha256_hex(self.manifest_sha256()) {
            return named("manifest_sha256", "is not 64 lowercase hex digits".into());
        }
        if OffsetDateTime::parse(self.time(), &Rfc3339).is_err() {
            return named("time", "is not an RFC 3339 time".into());
        }
        let free_text = |required| TextRule {
            required,
            max_chars: MAX_RECEIPT_TEXT_CHARS,
            lines: Lines::Multi,
        };
        match self {
            Statement::Custody {
                signatures,
                relay_name,
                ..
            } => {
                if let Some(i) = signatures
                    .iter()
                    .position(|d| !crate::manifest::is_sha256_hex(d))
                {
                    return named(
                        &format!("signatures[{i}]"),
                        "is not 64 lowercase hex digits".into(),
                    );
                }
                check(relay_name, TextRule::name()).and_then(|p| named("relay_name", p))
            }
            Statement::Status { note, .. } => note
                .as_deref()
                .and_then(|note| check(note, free_text(false)))
                .and_then(|p| named("note", p)),
            Statement::NonDelivery {
                undelivered,
                reason,
                ..
            } => {
                if undelivered.is_empty() {
                    return named("undelivered", "is empty".into());
                }
                check(reason, free_text(true)).and_then(|p| named("reason", p))
            }
            Statement::Superseded {
                dispatch_id,
                superseded_by,
                ..
            } => {
                if let Some(problem) = crate::metadata::uuid_problem(superseded_by) {
                    return named("superseded_by", problem);
                }
                (superseded_by == dispatch_id)
                    .then(|| "is the dispatch itself".to_string())
                    .and_then(|p| named("superseded_by", p))
            }
        }
    }

    /// A one-line description for people.
    pub fn describe(&self) -> String {
        match self {
            Statement::Custody {
                relay, relay_name, ..
            } => {
                format!("custody taken by relay {relay_name} ({relay})")
            }
            Statement::Status { code, by, note, .. } => match note {
                Some(note) => format!("status {code} from {by}: {note}"),
                None => format!("status {code} from {by}"),
            },
            Statement::Superseded {
                by,
                how,
                superseded_by,
                ..
            } => format!(
                "{} dispatch {superseded_by} (notice from {by})",
                match how {
                    crate::metadata::SupersedeKind::Replaces => "replaced by",
                    crate::metadata::SupersedeKind::Updates => "updated by",
                }
            ),
            Statement::NonDelivery {
                relay,
                undelivered,
                reason,
                ..
            } => {
                let list: Vec<String> = undelivered.iter().map(|o| o.to_string()).collect();
                format!(
                    "non-delivery to {} reported by {relay}: {reason}",
                    list.join(", ")
                )
            }
        }
    }
}

/// The protected header of a receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptHeader {
    /// JWS algorithm.
    pub alg: String,
    /// Always [`RECEIPT_MEDIA_TYPE`].
    pub cty: String,
    /// The signer's certificate first, then its CA chain.
    pub x5c: Vec<String>,
    /// JWS `crit`: read only to refuse it (see [`crate::ProtectedHeader::crit`]).
    #[serde(
        default,
        skip_serializing,
        deserialize_with = "crate::signature::member_present"
    )]
    pub crit: Option<serde_json::Value>,
}

/// Signs a statement with a relay's or office's credential.
pub fn make_receipt(statement: &Statement, credential: &Credential) -> Result<Jws, Error> {
    if let Some(problem) = statement.problem() {
        return Err(Error::Refused(format!(
            "refusing to sign the receipt: {problem}"
        )));
    }
    let mut x5c = vec![b64_std(credential.cert().der())];
    x5c.extend(credential.chain().iter().map(|c| b64_std(c.der())));
    let header = ReceiptHeader {
        alg: credential.key().algorithm().jws_name().to_string(),
        cty: RECEIPT_MEDIA_TYPE.to_string(),
        x5c,
        crit: None,
    };
    let header_json = serde_json::to_vec(&header)
        .map_err(|e| Error::Format(format!("cannot encode the receipt header: {e}")))?;
    let payload = serde_json::to_vec(statement)
        .map_err(|e| Error::Format(format!("cannot encode the receipt: {e}")))?;
    let mut jws = Jws {
        protected: b64url(&header_json),
        payload: Some(b64url(&payload)),
        signature: String::new(),
        header: None,
    };
    let signature = credential.key().sign(&jws.signing_input(&payload))?;
    jws.signature = b64url(&signature);
    Ok(jws)
}

/// Appends a signed receipt to the dispatch file, durably. Returns the entry name.
pub fn append_receipt(envelope: &mut Envelope, jws: &Jws) -> Result<String, Error> {
    append_receipt_with(envelope, jws, crate::Durability::Synced)
}

/// [`append_receipt`] choosing whether the rewritten file is fsynced: a
/// relay that stores the result in its own durable store skips it.
pub fn append_receipt_with(
    envelope: &mut Envelope,
    jws: &Jws,
    durability: crate::Durability,
) -> Result<String, Error> {
    let (entry, bytes) = receipt_addition(envelope, jws)?;
    crate::builder::append_entries(envelope, &[(entry.clone(), bytes)], durability, false)?;
    Ok(entry)
}

/// [`append_receipt_with`], also giving the size and SHA-256 of the new
/// file, hashed as it is written: a relay addresses its blobs by that
/// digest, and a large dispatch need not be read once more to learn it.
pub fn append_receipt_digested(
    envelope: &mut Envelope,
    jws: &Jws,
    durability: crate::Durability,
) -> Result<(String, FileDigest), Error> {
    let (entry, bytes) = receipt_addition(envelope, jws)?;
    let digest =
        crate::builder::append_entries(envelope, &[(entry.clone(), bytes)], durability, true)?
            .ok_or_else(|| Error::Format("the rewritten container was not hashed".into()))?;
    Ok((entry, digest))
}

/// Appends a receipt to the dispatch's own file in place, unsynced, giving
/// the size and SHA-256 of the result: for a relay's upload, which only the
/// relay holds until it syncs and commits it. The bytes already there are
/// not read again when `arrival` hashed them as they came (see
/// [`crate::ArrivalDigest`]), nor copied: ingest of a large dispatch then
/// reads it once, to verify it.
pub fn append_receipt_in_place(
    envelope: &mut Envelope,
    jws: &Jws,
    arrival: Option<&crate::ArrivalDigest>,
) -> Result<(String, FileDigest), Error> {
    let (entry, bytes) = receipt_addition(envelope, jws)?;
    let digest =
        crate::builder::append_entries_in_place(envelope, &[(entry.clone(), bytes)], arrival)?;
    Ok((entry, digest))
}

/// `envelope` with a receipt appended, as new bytes in memory, with their
/// size and SHA-256; nothing is written. A relay keeps a small dispatch in
/// its database this way without writing and renaming a file per upload.
pub fn receipt_appended_bytes(
    envelope: &mut Envelope,
    jws: &Jws,
) -> Result<(String, Vec<u8>, FileDigest), Error> {
    let (entry, bytes) = receipt_addition(envelope, jws)?;
    let (bytes, digest) = crate::builder::appended_bytes(envelope, &[(entry.clone(), bytes)])?;
    Ok((entry, bytes, digest))
}

/// The next receipt entry's name and bytes.
pub(crate) fn receipt_addition(
    envelope: &dyn crate::container::Appendable,
    jws: &Jws,
) -> Result<(String, Vec<u8>), Error> {
    if envelope.receipt_room() == 0 {
        return Err(Error::Refused(format!(
            "the dispatch has no room for another receipt: it holds {} (at most {} are \
             accepted), the highest numbered {}",
            envelope.receipts().len(),
            envelope.limits().max_receipts,
            envelope
                .receipts()
                .iter()
                .map(|r| r.number)
                .max()
                .unwrap_or(0)
        )));
    }
    let number = envelope
        .receipts()
        .iter()
        .map(|r| r.number)
        .max()
        .unwrap_or(0)
        + 1;
    let bytes = serde_json::to_vec(jws)
        .map_err(|e| Error::Format(format!("cannot encode the receipt: {e}")))?;
    let limits = envelope.limits();
    let total: u64 = envelope.receipt_bytes() + bytes.len() as u64;
    if bytes.len() as u64 > limits.max_signature || total > limits.max_receipt_bytes {
        return Err(Error::Refused(format!(
            "the receipt would take the dispatch's receipts to {total} bytes; readers accept at \
             most {}",
            limits.max_receipt_bytes
        )));
    }
    Ok((receipt_entry(number), bytes))
}

/// Parses a receipt's header and statement.
pub fn parse_receipt(
    jws: &Jws,
    entry: &str,
) -> Result<(ReceiptHeader, Algorithm, Statement, Vec<u8>), Error> {
    let malformed = |problem: String| Error::MalformedJws {
        entry: entry.to_string(),
        problem,
    };
    // The one unsigned property a receipt may carry is a timestamp of its
    // signature, and only a custody receipt (checked below, once the
    // statement is read): a relay timestamps its custody at ingress.
    let timestamped = !crate::timestamp::signature_timestamps(jws, entry)?.is_empty();
    if jws.header.is_some() && !timestamped {
        return Err(malformed(
            "the receipt's unprotected header carries no timestamp; a receipt carries no other \
             unsigned data"
                .into(),
        ));
    }
    let header: ReceiptHeader = serde_json::from_slice(&jws.protected_bytes(entry)?)
        .map_err(|e| malformed(format!("bad receipt header: {e}")))?;
    if header.crit.is_some() {
        return Err(crate::signature::crit_refused(entry));
    }
    let alg = Algorithm::from_jws_name(&header.alg)
        .ok_or_else(|| malformed(format!("unsupported algorithm {:?}", header.alg)))?;
    let payload = jws.payload_bytes(entry)?;
    let statement: Statement = serde_json::from_slice(&payload)
        .map_err(|e| malformed(format!("bad receipt statement: {e}")))?;
    if let Some(problem) = statement.problem() {
        return Err(malformed(format!("bad receipt statement: {problem}")));
    }
    if header.x5c.is_empty() {
        return Err(malformed("x5c is empty".into()));
    }
    if timestamped && !matches!(statement, Statement::Custody { .. }) {
        return Err(malformed(format!(
            "a {} receipt carries a timestamp; only a relay's custody receipt does",
            statement.kind()
        )));
    }
    Ok((header, alg, statement, payload))
}

/// A receipt whose signature and certificate have been checked.
#[derive(Clone, Debug)]
pub struct VerifiedReceipt {
    /// What it states.
    pub statement: Statement,
    /// Who signed it.
    pub signer: Certificate,
    /// When it says it was made.
    pub time: OffsetDateTime,
    /// The earliest trusted timestamp over its signature, if it carries
    /// one: proof that it, and the signatures it lists, existed then.
    pub timestamp: Option<ReceiptTimestamp>,
}

/// A receipt's timestamp that passed its checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptTimestamp {
    /// The token's genTime.
    pub gen_time: OffsetDateTime,
    /// The authority's name.
    pub tsa: String,
}

/// Why [`verify_receipt`] did not accept a receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptRefusal {
    /// What is wrong, in words.
    pub reason: String,
    /// Not the receipt's fault: a CRL its certificate depends on is past
    /// its nextUpdate, so this verifier cannot decide now. A relay answers
    /// 503 and the sender tries again, instead of dropping the receipt.
    pub try_later: bool,
}

impl std::fmt::Display for ReceiptRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl From<String> for ReceiptRefusal {
    fn from(reason: String) -> ReceiptRefusal {
        ReceiptRefusal {
            reason,
            try_later: false,
        }
    }
}

impl From<ReceiptRefusal> for String {
    fn from(refusal: ReceiptRefusal) -> String {
        refusal.reason
    }
}

/// Checks a receipt on its own: the JWS signature, and that the signer's
/// certificate was valid at the receipt's time for the role and office the
/// statement requires. Whether it is about a given dispatch is the caller's
/// check. The error says why a receipt is not to be trusted.
pub fn verify_receipt(
    jws: &Jws,
    entry: &str,
    trust: &TrustStore,
) -> Result<VerifiedReceipt, ReceiptRefusal> {
    let (header, alg, statement, payload) = parse_receipt(jws, entry).map_err(|e| e.to_string())?;
    // The signature first, with x5c[0] alone: a forged receipt costs one
    // certificate parse, however long a chain it carries.
    let signer = decode_x5c(&header.x5c[..1], 0, entry, Some(trust))
        .map_err(|e| e.to_string())?
        .remove(0);
    if signer.key_algorithm() != Some(alg) {
        return Err(format!(
            "the header says {} but the certificate's key is not for that algorithm",
            alg.jws_name()
        )
        .into());
    }
    let signature = jws.signature_bytes(entry).map_err(|e| e.to_string())?;
    verify_signature(alg, &signer, &jws.signing_input(&payload), &signature).map_err(
        |e| match e {
            congvan_sign::Error::HighS => format!("the receipt's signature is refused: {e}"),
            _ => "the receipt's signature does not verify".to_string(),
        },
    )?;
    let chain = decode_x5c(&header.x5c[1..], 1, entry, Some(trust)).map_err(|e| e.to_string())?;
    let time = OffsetDateTime::parse(statement.time(), &Rfc3339)
        .map_err(|e| format!("bad time {:?}: {e}", statement.time()))?;
    let (role, org) = statement.required_signer();
    let purpose = Purpose {
        role: Some(role),
        org: Some(org),
    };
    trust
        .validate(&signer, &chain, &purpose, time)
        .map_err(|e| ReceiptRefusal {
            try_later: matches!(
                e,
                congvan_sign::Error::CrlStale { .. } | congvan_sign::Error::CrlNotYetIssued { .. }
            ),
            reason: format!("the receipt's certificate is not valid: {e}"),
        })?;
    let timestamp = receipt_timestamp(jws, entry, trust, time)?;
    Ok(VerifiedReceipt {
        statement,
        signer,
        time,
        timestamp,
    })
}

/// The earliest timestamp over the receipt's signature that `trust`
/// accepts. One that is not over this receipt, or dated before the time
/// the receipt claims, makes the receipt invalid (someone changed what the
/// relay wrote); one from an authority `trust` does not know is set aside.
fn receipt_timestamp(
    jws: &Jws,
    entry: &str,
    trust: &TrustStore,
    claimed: OffsetDateTime,
) -> Result<Option<ReceiptTimestamp>, ReceiptRefusal> {
    use congvan_tsa::Error as T;
    let imprint = crate::timestamp::signature_timestamp_imprint(jws);
    let mut best: Option<ReceiptTimestamp> = None;
    for token in crate::timestamp::signature_timestamps(jws, entry).map_err(|e| e.to_string())? {
        match congvan_tsa::check_token(&token, &imprint, trust, &[]) {
            Ok(checked) if checked.gen_time + time::Duration::minutes(5) < claimed => {
                return Err(format!(
                    "the receipt's timestamp ({}) is earlier than the time it claims",
                    signing_time_text(checked.gen_time)
                )
                .into())
            }
            Ok(checked) => {
                if best.as_ref().is_none_or(|b| checked.gen_time < b.gen_time) {
                    best = Some(ReceiptTimestamp {
                        gen_time: checked.gen_time,
                        tsa: checked.tsa().display_name().to_string(),
                    });
                }
            }
            Err(T::Untrusted(_) | T::NotTimestampCertificate(_) | T::Unsupported(_)) => {}
            Err(e) => {
                return Err(format!("the receipt's timestamp does not belong to it: {e}").into())
            }
        }
    }
    Ok(best)
}

/// The current time as receipts write it.
pub fn receipt_time(at: OffsetDateTime) -> String {
    signing_time_text(at)
}
