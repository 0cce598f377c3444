//! Verifying a dispatch: every signature, attachment and receipt.

use congvan_sign::{verify_signature, Certificate, Purpose, TrustStore};
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::archive_check::check_archive_timestamps;
use crate::custody_chain::CustodyChain;
use crate::receipt::{parse_receipt, verify_receipt, Statement};
use crate::report::{
    AttachmentResult, Indication, ReceiptResult, SignatureResult, SubIndication, VerificationReport,
};
use crate::signature::{decode_x5c, parse_header_fields, ProtectedHeader};
use crate::{Envelope, Error, SignatureRole};

/// How far a claimed signing time may lie in the future (clock skew).
pub(crate) const MAX_CLOCK_SKEW: time::Duration = time::Duration::minutes(5);

/// Verifies an opened dispatch against trust anchors and CRLs at time `now`.
///
/// Each signature is checked cryptographically over the manifest, its
/// certificate is validated for its role and office at the claimed signing
/// time, and every attachment is streamed through SHA-256. Custody receipts
/// from trusted relays serve as proof of existence: they keep a signature
/// valid after its certificate expires, provided the receipt predates the
/// expiry. (They are not yet accepted as proof against a later revocation:
/// that stays INDETERMINATE/REVOKED_NO_POE.)
pub fn verify_dispatch(
    envelope: &mut Envelope,
    trust: &TrustStore,
    now: OffsetDateTime,
    progress: &mut dyn FnMut(u64),
) -> Result<VerificationReport, Error> {
    verify_with(envelope, trust, now, progress, Rules::Online)
}

/// Verifies a preserved dispatch with nothing but `anchors` and the
/// validation data it embeds, as of `at` (`dispatch verify --offline`):
/// what an auditor can still do when every certificate in it has expired
/// and its CAs are gone.
///
/// The long-term rules apply: every CA on a path must have an embedded CRL
/// issued after the moment the signature (or timestamp) is proven to have
/// existed; a list past its nextUpdate is used all the same, since that is
/// all there will ever be. Timestamps are judged at their genTime. The
/// latest archive timestamp has nothing later to vouch for its authority:
/// it stands on the trust anchor, and the report says so.
pub fn verify_dispatch_offline(
    envelope: &mut Envelope,
    anchors: Vec<Certificate>,
    at: OffsetDateTime,
    progress: &mut dyn FnMut(u64),
) -> Result<VerificationReport, Error> {
    let store = crate::preservation::offline_trust_store(envelope, anchors)?;
    verify_long_term(envelope, &store, at, progress, true)
}

/// [`verify_dispatch_offline`] with a store already made of the embedded
/// data. With `latest_vouched` false, even the latest archive timestamp
/// needs a CRL issued after it: what `preserve` checks before it adds
/// another one above it.
pub(crate) fn verify_long_term(
    envelope: &mut Envelope,
    store: &TrustStore,
    at: OffsetDateTime,
    progress: &mut dyn FnMut(u64),
    latest_vouched: bool,
) -> Result<VerificationReport, Error> {
    verify_with(
        envelope,
        store,
        at,
        progress,
        Rules::Offline { latest_vouched },
    )
}

/// Which validation rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rules {
    /// The trust store's current CRLs decide revocation.
    Online,
    /// Only embedded data: CRLs must be issued after each proof of
    /// existence ([`TrustStore::check_crls_issued_after`]).
    Offline {
        /// Whether the latest archive timestamp stands on the anchor alone.
        latest_vouched: bool,
    },
}

impl Rules {
    fn offline(self) -> bool {
        matches!(self, Rules::Offline { .. })
    }
}

fn verify_with(
    envelope: &mut Envelope,
    trust: &TrustStore,
    now: OffsetDateTime,
    progress: &mut dyn FnMut(u64),
    rules: Rules,
) -> Result<VerificationReport, Error> {
    let metadata = envelope.metadata();
    let mut report = VerificationReport {
        file: envelope.path().display().to_string(),
        dispatch_id: Some(metadata.id.clone()),
        number: Some(metadata.number.clone()),
        subject: Some(metadata.subject.clone()),
        from: Some(format!("{} ({})", metadata.from.name, metadata.from.id)),
        indication: Indication::Passed,
        sub_indication: None,
        summary: String::new(),
        metadata_problems: metadata.problems().iter().map(|e| e.to_string()).collect(),
        signatures: Vec::new(),
        attachments: Vec::new(),
        receipts: Vec::new(),
        archive_timestamps: Vec::new(),
        offline: rules.offline(),
        supersedes: metadata
            .details
            .supersedes
            .as_ref()
            .map(|s| format!("{} dispatch {}", s.kind.name(), s.id)),
        recall: None,
        superseded_by: None,
    };

    let parties = Parties {
        id: metadata.id.clone(),
        issuer: metadata.from.id.clone(),
        responsible: metadata.responsible_office().clone(),
        recipients: metadata.to.iter().map(|o| o.id.clone()).collect(),
    };

    // Signed data: the metadata and every attachment against the manifest.
    let mut hash_problem = envelope.check_metadata_digest();
    for check in envelope.check_attachments(progress)? {
        if hash_problem.is_none() {
            if let Some(problem) = &check.problem {
                hash_problem = Some(format!("attachment {:?}: {problem}", check.name));
            }
        }
        report.attachments.push(AttachmentResult {
            ok: check.problem.is_none(),
            name: check.name,
            size: check.size,
            sha256: check.sha256,
            problem: check.problem,
        });
    }

    let archive = check_archive_timestamps(envelope, trust, now, rules, &mut report);
    check_signed(
        envelope.signatures(),
        envelope.receipts(),
        envelope.manifest_bytes(),
        &parties,
        hash_problem.as_deref(),
        trust,
        now,
        &Evidence {
            archive_poe: &archive.poe,
            offline: rules.offline(),
        },
        &mut report,
    );

    let origin = envelope.metadata().details.origin.as_ref();
    conclude(
        &mut report,
        hash_problem.as_deref(),
        origin,
        archive.failure,
    );
    Ok(report)
}

/// Checks the receipts, then every signature over the manifest in entry
/// order (with the receipts' proof of existence), into `report`: what a
/// dispatch and a sealed dispatch share.
#[allow(clippy::too_many_arguments)]
fn check_signed(
    signatures: &[crate::StoredJws],
    receipts: &[crate::StoredJws],
    manifest_bytes: &[u8],
    parties: &Parties,
    hash_problem: Option<&str>,
    trust: &TrustStore,
    now: OffsetDateTime,
    evidence: &Evidence<'_>,
    report: &mut VerificationReport,
) {
    let manifest_digest = crate::digest::sha256_hex(manifest_bytes);
    let signature_digests: Vec<Option<String>> = signatures
        .iter()
        .map(|s| s.jws.signature_digest(&s.entry).ok())
        .collect();
    let ReceiptEvidence { poe, stamped } =
        check_receipts(receipts, parties, trust, &manifest_digest, now, report);
    report.recall = report
        .receipts
        .iter()
        .find(|r| r.valid && r.code.as_deref() == Some("13"))
        .map(|r| r.description.clone());
    report.superseded_by = report
        .receipts
        .iter()
        .find(|r| r.valid && r.kind == "superseded")
        .map(|r| r.description.clone());
    let issuer = &parties.issuer;
    // Every signature's payload: the manifest, BASE64URL-encoded once.
    let payload = crate::jws::b64url(manifest_bytes);
    for (index, stored) in signatures.iter().enumerate() {
        let mut result = SignatureResult {
            entry: stored.entry.clone(),
            role: None,
            signer: None,
            position: None,
            org: None,
            signing_time: None,
            algorithm: None,
            chain: Vec::new(),
            covers: 0,
            timestamp: None,
            indication: Indication::Passed,
            sub_indication: None,
            detail: String::new(),
        };
        let own_digest = signature_digests[index].clone();
        // Offline, a receipt's relay has no list issued after it to show
        // its key was sound then: receipts prove nothing there.
        let by_receipt = own_digest
            .as_ref()
            .and_then(|d| poe.get(d))
            .filter(|_| !evidence.offline)
            .map(|t| (*t, Proof::Receipt));
        let receipt_stamp = own_digest
            .as_ref()
            .and_then(|d| stamped.get(d))
            .filter(|_| !evidence.offline)
            .cloned();
        let by_archive = evidence
            .archive_poe
            .get(&stored.entry)
            .map(|t| (*t, Proof::ArchiveTimestamp));
        let earliest_poe = match (by_receipt, by_archive) {
            (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
            (a, b) => a.or(b),
        };
        // Signatures are in entry order: those before this one are what a
        // seal or copy must cover.
        let earlier: Vec<(&str, Option<&String>)> = signatures[..index]
            .iter()
            .zip(&signature_digests)
            .map(|(s, d)| (s.entry.as_str(), d.as_ref()))
            .collect();
        let outcome = check_signature(
            &stored.jws,
            &stored.entry,
            &payload,
            issuer,
            hash_problem,
            &earlier,
            trust,
            now,
            earliest_poe,
            receipt_stamp,
            evidence.offline,
            &mut result,
        );
        match outcome {
            Ok(detail) => result.detail = detail,
            Err((indication, sub, detail)) => {
                result.indication = indication;
                result.sub_indication = Some(sub);
                result.detail = detail;
            }
        }
        report.signatures.push(result);
    }
}

/// Verifies the outer layer of a sealed (encrypted) dispatch, as a relay
/// does at ingress and `dispatch verify` does before decrypting: the
/// routing header and `jwe.json` against the manifest, the sender office's
/// seal over the manifest, and the receipts. The dispatch inside is
/// verified on its own once a recipient has decrypted it.
///
/// PASSED means: an office of the routing header's sender sealed exactly
/// this routing header and these recipient entries, with a certificate
/// valid when it sealed. Number, subject and signers stay unknown.
pub fn verify_sealed(
    sealed: &crate::SealedEnvelope,
    trust: &TrustStore,
    now: OffsetDateTime,
) -> Result<VerificationReport, Error> {
    let routing = sealed.routing();
    let mut report = VerificationReport {
        file: sealed.path().display().to_string(),
        dispatch_id: Some(routing.id.clone()),
        number: None,
        subject: None,
        from: Some(routing.from.to_string()),
        indication: Indication::Passed,
        sub_indication: None,
        summary: String::new(),
        metadata_problems: Vec::new(),
        signatures: Vec::new(),
        attachments: Vec::new(),
        receipts: Vec::new(),
        archive_timestamps: Vec::new(),
        offline: false,
        supersedes: None,
        recall: None,
        superseded_by: None,
    };
    let parties = Parties {
        id: routing.id.clone(),
        issuer: routing.from.clone(),
        responsible: routing.from.clone(),
        recipients: routing.to.clone(),
    };
    let hash_problem = sealed.check_digests();
    check_signed(
        sealed.signatures(),
        sealed.receipts(),
        sealed.manifest_bytes(),
        &parties,
        hash_problem.as_deref(),
        trust,
        now,
        &Evidence {
            archive_poe: &HashMap::new(),
            offline: false,
        },
        &mut report,
    );
    conclude_sealed(&mut report, hash_problem.as_deref(), routing);
    Ok(report)
}

/// The overall result of a sealed container's outer layer.
fn conclude_sealed(
    report: &mut VerificationReport,
    hash_problem: Option<&str>,
    routing: &crate::Routing,
) {
    let set = |report: &mut VerificationReport, ind, sub, summary: String| {
        report.indication = ind;
        report.sub_indication = sub;
        report.summary = summary;
    };
    if report.signatures.is_empty() {
        let summary = match hash_problem {
            Some(problem) => format!("the sealed dispatch carries no seal, and {problem}"),
            None => "the sealed dispatch carries no seal of its sending office".into(),
        };
        return set(
            report,
            Indication::Failed,
            Some(SubIndication::FormatFailure),
            summary,
        );
    }
    if let Some(other) = report
        .signatures
        .iter()
        .find(|s| s.role.is_some_and(|r| r != SignatureRole::Seal))
    {
        let summary = format!(
            "{} is a {} signature: a sealed dispatch carries only the seal of its sending \
             office (the officials' signatures are inside, encrypted)",
            other.entry,
            other.role.map_or("?", |r| r.name())
        );
        return set(
            report,
            Indication::Failed,
            Some(SubIndication::FormatFailure),
            summary,
        );
    }
    for wanted in [Indication::Failed, Indication::Indeterminate] {
        if let Some(sig) = report.signatures.iter().find(|s| s.indication == wanted) {
            let summary = format!("the seal of the sending office: {}", sig.detail);
            let sub = sig.sub_indication;
            return set(report, wanted, sub, summary);
        }
    }
    let summary = format!(
        "sealed by the sending office {}; the dispatch inside is encrypted for {} recipient \
         office(s) and is verified when a recipient decrypts it",
        routing.from,
        routing.to.len()
    );
    set(report, Indication::Passed, None, summary);
}

pub(crate) type Verdict = (Indication, SubIndication, String);

/// What besides the signatures themselves bears on them.
struct Evidence<'a> {
    /// Entry name → the earliest valid archive timestamp covering it.
    archive_poe: &'a HashMap<String, OffsetDateTime>,
    /// Whether the long-term (offline) rules for revocation data apply.
    offline: bool,
}

/// What proves a signature existed at some moment, besides its own timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proof {
    Receipt,
    ArchiveTimestamp,
}

#[allow(clippy::too_many_arguments)]
fn check_signature(
    jws: &crate::Jws,
    entry: &str,
    encoded_payload: &str,
    issuer: &congvan_org::OrgId,
    hash_problem: Option<&str>,
    earlier: &[(&str, Option<&String>)],
    trust: &TrustStore,
    now: OffsetDateTime,
    earliest_poe: Option<(OffsetDateTime, Proof)>,
    receipt_stamp: Option<crate::ReceiptTimestamp>,
    offline: bool,
    result: &mut SignatureResult,
) -> Result<String, Verdict> {
    let failed = |sub, detail: String| (Indication::Failed, sub, detail);
    let indeterminate = |sub, detail: String| (Indication::Indeterminate, sub, detail);

    let (header, alg) = parse_header_fields(jws, entry)
        .map_err(|e| failed(SubIndication::FormatFailure, e.to_string()))?;
    let ProtectedHeader {
        x5c,
        sig_t,
        congvan,
        ..
    } = header;
    result.role = Some(congvan.role);
    result.algorithm = Some(alg.jws_name().to_string());
    result.signing_time = Some(sig_t.clone());
    result.covers = congvan.covers.len();

    // x5c[0] is the only way a signature names its certificate, so a
    // missing, empty or unreadable x5c all mean the same thing (ETSI EN 319
    // 102-1 §5.2.3): the signing certificate cannot be identified.
    if x5c.is_empty() {
        return Err(indeterminate(
            SubIndication::NoSigningCertificateFound,
            format!("{entry}: the protected header has no x5c, so the signing certificate is missing and the signature cannot be checked"),
        ));
    }
    // x5c[0] alone first: the signature is checked before anything else in
    // the chain is parsed, so a forged one costs one certificate parse.
    let signer = decode_x5c(&x5c[..1], 0, entry, Some(trust))
        .map_err(|e| indeterminate(SubIndication::NoSigningCertificateFound, e.to_string()))?
        .remove(0);
    result.signer = Some(signer.display_name().to_string());
    result.position = signer.position().map(congvan_text::line).map(String::from);
    result.org = signer.org().map(|o| o.to_string());
    result.chain = vec![signer.display_name().to_string()];

    if let Some(problem) = signer.key_problem() {
        return Err(indeterminate(
            SubIndication::CryptoConstraintsFailure,
            format!("the signing certificate has a key congvan does not accept: {problem}"),
        ));
    }
    if signer.key_algorithm() != Some(alg) {
        return Err(failed(
            SubIndication::SigCryptoFailure,
            format!(
                "the header says {} but the certificate's key is not for that algorithm",
                alg.jws_name()
            ),
        ));
    }
    let signature = jws
        .signature_bytes(entry)
        .map_err(|e| failed(SubIndication::FormatFailure, e.to_string()))?;
    let signing_input = jws.signing_input_encoded(encoded_payload);
    verify_signature(alg, &signer, &signing_input, &signature).map_err(|e| {
        let detail = match e {
            congvan_sign::Error::HighS => format!("the signature value is refused: {e}"),
            _ => "the signature value does not verify over the manifest with the signer's key: the manifest or the signature was altered".into(),
        };
        failed(SubIndication::SigCryptoFailure, detail)
    })?;
    let chain_certs = decode_x5c(&x5c[1..], 1, entry, Some(trust))
        .map_err(|e| indeterminate(SubIndication::NoCertificateChainFound, e.to_string()))?;
    result
        .chain
        .extend(chain_certs.iter().map(|c| c.display_name().to_string()));

    if let Some(problem) = hash_problem {
        return Err(failed(
            SubIndication::HashFailure,
            format!("the signed manifest no longer matches the content: {problem}"),
        ));
    }
    check_covers(congvan.role, &congvan.covers, earlier)?;
    let (own_timestamp, unused_timestamps) = check_timestamps(jws, entry, trust, now, offline)?;
    // A relay's timestamped custody receipt listing this signature proves
    // it existed as well as the signature's own timestamp does.
    let timestamp = match (own_timestamp, receipt_stamp) {
        (Some(own), Some(r)) if r.gen_time < own.gen_time => Some(SignatureTimestamp {
            gen_time: r.gen_time,
            tsa: format!("{} (on a relay's custody receipt)", r.tsa),
        }),
        (Some(own), _) => Some(own),
        (None, Some(r)) => Some(SignatureTimestamp {
            gen_time: r.gen_time,
            tsa: format!("{} (on a relay's custody receipt)", r.tsa),
        }),
        (None, None) => None,
    };
    if let Some(stamp) = &timestamp {
        result.timestamp = Some(format!(
            "{} by {}",
            crate::signature::signing_time_text(stamp.gen_time),
            stamp.tsa
        ));
    }

    let signing_time = OffsetDateTime::parse(&sig_t, &Rfc3339).map_err(|e| {
        failed(
            SubIndication::FormatFailure,
            format!("sigT {sig_t:?} is not an RFC 3339 time: {e}"),
        )
    })?;
    if signing_time > now + MAX_CLOCK_SKEW {
        return Err(indeterminate(
            SubIndication::SigConstraintsFailure,
            format!("the claimed signing time {sig_t} is in the future"),
        ));
    }

    let role = congvan.role;
    let purpose = Purpose {
        role: Some(role.certificate_role()),
        org: None,
    };
    let stamped_at = timestamp.as_ref().map(|t| t.gen_time);
    if let Some(stamped_at) = stamped_at {
        if signing_time > stamped_at + MAX_CLOCK_SKEW {
            return Err(indeterminate(
                SubIndication::SigConstraintsFailure,
                format!(
                    "the claimed signing time {sig_t} is later than the signature's timestamp ({}): one of the two clocks is wrong",
                    crate::signature::signing_time_text(stamped_at)
                ),
            ));
        }
    }
    let validated = match stamped_at {
        Some(stamped_at) => trust.validate_with_proof_of_existence(
            &signer,
            &chain_certs,
            &purpose,
            signing_time,
            stamped_at,
        ),
        None => trust.validate(&signer, &chain_certs, &purpose, signing_time),
    };
    let chain = validated.map_err(|e| judge_chain_error(e, signing_time, stamped_at))?;
    if offline {
        // Only a list issued after the signature is proven to exist says
        // it was not revoked by then. The signing time is the signer's
        // claim: a stolen key back-dates it to before its revocation.
        let archived = match earliest_poe {
            Some((t, Proof::ArchiveTimestamp)) => Some(t),
            _ => None,
        };
        let Some(existed_at) = stamped_at.or(archived) else {
            return Err(indeterminate(
                SubIndication::OutOfBoundsNoPoe,
                format!(
                    "validated offline, nothing proves when the signature existed: its signing \
                     time is the signer's claim, and only a signature timestamp (dispatch sign \
                     --tsa) or an archive timestamp can show that the CAs' lists were issued \
                     after it{unused_timestamps}"
                ),
            ));
        };
        trust
            .check_crls_issued_after(&chain, existed_at, now)
            .map_err(|e| judge_chain_error(e, signing_time, stamped_at))?;
    }
    result.chain = chain
        .certificates
        .iter()
        .map(|c| c.display_name().to_string())
        .collect();

    if role.must_be_issuer() && signer.org() != Some(issuer) {
        return Err(indeterminate(
            SubIndication::SigConstraintsFailure,
            format!(
                "a {role} signature must come from the issuing office {issuer}, but this certificate belongs to {}",
                signer.org().map_or("no organization".to_string(), |o| o.to_string())
            ),
        ));
    }

    // A timestamp proves the signature existed before a later revocation.
    if let (Some(revoked), Some(stamp)) = (chain.revoked_after_proof, &timestamp) {
        return Ok(format!(
            "valid; the certificate was revoked at {}, but the timestamp of {} by {} proves the signature existed before{}",
            crate::signature::signing_time_text(revoked),
            crate::signature::signing_time_text(stamp.gen_time),
            stamp.tsa,
            unused_timestamps
        ));
    }
    // Valid at the claimed time. A claim is not proof: if the chain has
    // expired since, only a trusted receipt or timestamp from before the
    // expiry keeps it.
    let own_stamp = stamped_at.map(|t| (t, None));
    let earliest_poe = match (earliest_poe.map(|(t, p)| (t, Some(p))), own_stamp) {
        (Some(a), Some(b)) => Some(if a.0 < b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    let expiry = chain
        .certificates
        .iter()
        .map(Certificate::not_after)
        .min()
        .unwrap_or(signing_time);
    if expiry < now {
        match earliest_poe {
            Some((poe, proof)) if poe <= expiry => Ok(format!(
                "valid; the certificate has since expired, but {} proves the signature existed at {}{unused_timestamps}",
                match proof {
                    None => "a timestamp",
                    Some(Proof::Receipt) => "a relay receipt",
                    Some(Proof::ArchiveTimestamp) => "an archive timestamp",
                },
                crate::signature::signing_time_text(poe)
            )),
            _ => Err(indeterminate(
                SubIndication::OutOfBoundsNoPoe,
                format!(
                    "the certificate chain expired at {}, and no timestamp or relay receipt proves the signature existed before then{unused_timestamps}",
                    crate::signature::signing_time_text(expiry)
                ),
            )),
        }
    } else {
        Ok(format!(
            "{}{unused_timestamps}",
            describe_valid(role, &signer)
        ))
    }
}

/// The signature policy for `covers`: a seal or copy covers exactly the
/// signatures before it (in entry order), each once; a signer or
/// countersignature covers none. A seal that leaves an earlier signature out
/// does not vouch for it, and one that names a signature no longer there was
/// made over a different set: both fail.
fn check_covers(
    role: SignatureRole,
    covers: &[String],
    earlier: &[(&str, Option<&String>)],
) -> Result<(), Verdict> {
    let failed = |sub, detail: String| (Indication::Failed, sub, detail);
    if !role.covers_earlier() {
        if covers.is_empty() {
            return Ok(());
        }
        return Err(failed(
            SubIndication::FormatFailure,
            format!(
                "a {role} signature covers no other signature, but this one lists {}",
                covers.len()
            ),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for covered in covers {
        if !seen.insert(covered) {
            return Err(failed(
                SubIndication::FormatFailure,
                format!(
                    "this {role} lists the signature {} twice in covers",
                    congvan_text::line(covered)
                ),
            ));
        }
        if !earlier.iter().any(|(_, d)| *d == Some(covered)) {
            return Err(failed(
                SubIndication::HashFailure,
                format!("this {role} covers a signature (sha256 {}) that is not before it in the dispatch: a signature was removed or altered", congvan_text::line(covered)),
            ));
        }
    }
    if let Some((entry, _)) = earlier
        .iter()
        .find(|(_, d)| !d.is_some_and(|d| covers.contains(d)))
    {
        return Err(failed(
            SubIndication::HashFailure,
            format!("this {role} does not cover {entry}, which comes before it: a {role} covers every earlier signature, so {entry} was added under it or the {role} was made without it"),
        ));
    }
    Ok(())
}

fn describe_valid(role: SignatureRole, signer: &Certificate) -> String {
    match role {
        SignatureRole::Signer => "valid signature of the official of the issuing office".into(),
        SignatureRole::Seal => "valid seal of the issuing office".into(),
        SignatureRole::Countersign => format!(
            "valid countersignature of {}",
            signer
                .org()
                .map_or("an official".to_string(), |o| format!("an official of {o}"))
        ),
        SignatureRole::Copy => format!(
            "valid authenticated copy by {}",
            signer
                .org()
                .map_or("an office".to_string(), |o| o.to_string())
        ),
    }
}

/// A signature timestamp that passed its checks.
struct SignatureTimestamp {
    gen_time: OffsetDateTime,
    tsa: String,
}

/// Checks the signature timestamps of `jws` (its `sigTst` tokens) and
/// returns the earliest that passed, with a note (empty, or starting with
/// "; ") about any that could not be used.
///
/// A token that does not match this signature (another imprint, altered
/// content, a broken signature) fails the signature: someone changed what
/// the signer's dispatch carries. A token that is sound but from an
/// authority this verifier does not trust is only set aside, as is one
/// dated in the future.
fn check_timestamps(
    jws: &crate::Jws,
    entry: &str,
    trust: &TrustStore,
    now: OffsetDateTime,
    offline: bool,
) -> Result<(Option<SignatureTimestamp>, String), Verdict> {
    use congvan_tsa::Error as T;
    let tokens = crate::timestamp::signature_timestamps(jws, entry).map_err(|e| {
        (
            Indication::Failed,
            SubIndication::FormatFailure,
            e.to_string(),
        )
    })?;
    let imprint = crate::timestamp::signature_timestamp_imprint(jws);
    let mut best: Option<SignatureTimestamp> = None;
    let mut notes = String::new();
    for token in &tokens {
        match congvan_tsa::check_token(token, &imprint, trust, &[]) {
            Ok(checked) if checked.gen_time > now + MAX_CLOCK_SKEW => notes.push_str(&format!(
                "; a signature timestamp dated {} (in the future) was not used",
                crate::signature::signing_time_text(checked.gen_time)
            )),
            Ok(checked) if offline => {
                match trust.check_crls_issued_after(&checked.chain, checked.gen_time, now) {
                    Ok(()) => keep_earliest(&mut best, &checked),
                    Err(e) => notes.push_str(&format!("; a signature timestamp was not used: {e}")),
                }
            }
            Ok(checked) => keep_earliest(&mut best, &checked),
            Err(e @ (T::Untrusted(_) | T::NotTimestampCertificate(_) | T::Unsupported(_))) => {
                notes.push_str(&format!("; a signature timestamp was not used: {e}"))
            }
            Err(e) => {
                return Err((
                    Indication::Failed,
                    SubIndication::HashFailure,
                    format!(
                        "the signature timestamp in {entry} does not belong to this signature: {e}"
                    ),
                ))
            }
        }
    }
    Ok((best, notes))
}

/// Keeps the earlier of `best` and `checked`.
fn keep_earliest(best: &mut Option<SignatureTimestamp>, checked: &congvan_tsa::CheckedToken) {
    if best.as_ref().is_none_or(|b| checked.gen_time < b.gen_time) {
        *best = Some(SignatureTimestamp {
            gen_time: checked.gen_time,
            tsa: checked.tsa().display_name().to_string(),
        });
    }
}

fn judge_chain_error(
    e: congvan_sign::Error,
    signing_time: OffsetDateTime,
    stamped_at: Option<OffsetDateTime>,
) -> Verdict {
    use congvan_sign::Error as E;
    let text = e.to_string();
    match e {
        E::Expired { .. } => (
            Indication::Failed,
            SubIndication::Expired,
            format!("signed after the certificate expired: {text}"),
        ),
        E::NotYetValid { .. } => (
            Indication::Failed,
            SubIndication::NotYetValid,
            format!("signed before the certificate was valid: {text}"),
        ),
        E::UnknownIssuer => (
            Indication::Indeterminate,
            SubIndication::NoCertificateChainFound,
            text,
        ),
        E::Revoked { ca: true, .. } => (
            Indication::Indeterminate,
            SubIndication::RevokedCaNoPoe,
            text,
        ),
        E::Revoked { revoked_at, .. } => {
            let revoked = revoked_at
                .as_deref()
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
            match revoked {
                Some(at) if signing_time >= at => (
                    Indication::Failed,
                    SubIndication::Revoked,
                    format!("signed after the certificate was revoked: {text}"),
                ),
                Some(at) if stamped_at.is_some_and(|stamp| stamp >= at) => (
                    Indication::Failed,
                    SubIndication::Revoked,
                    format!("the certificate was revoked before the signature's timestamp: {text}"),
                ),
                _ => (
                    Indication::Indeterminate,
                    SubIndication::RevokedNoPoe,
                    format!("{text}; the claimed signing time is earlier, but nothing proves the signature existed before the revocation (a signature timestamp would, or a relay's timestamped custody receipt; a receipt's own time is not accepted as proof against a revocation)"),
                ),
            }
        }
        E::WeakKey { .. } => (
            Indication::Indeterminate,
            SubIndication::CryptoConstraintsFailure,
            text,
        ),
        E::CrlStale { .. }
        | E::CrlNotYetIssued { .. }
        | E::CrlMissing { .. }
        | E::CrlTooOld { .. } => (Indication::Indeterminate, SubIndication::TryLater, text),
        E::MissingKeyUsage { .. }
        | E::OrgOutsideSubtree { .. }
        | E::PathLenExceeded
        | E::NotACa(_)
        | E::CertificateProfile { .. }
        | E::PurposeNotAllowed { .. } => (
            Indication::Indeterminate,
            SubIndication::ChainConstraintsFailure,
            text,
        ),
        E::WrongRole { .. } | E::WrongOrg { .. } => (
            Indication::Indeterminate,
            SubIndication::SigConstraintsFailure,
            text,
        ),
        _ => (
            Indication::Indeterminate,
            SubIndication::CertificateChainGeneralFailure,
            text,
        ),
    }
}

/// Checks every receipt and returns, per signature digest, the earliest time
/// a custody receipt of the dispatch's custody chain proves it existed.
///
/// Besides its own validity (signature, certificate for its role, this
/// dispatch and manifest, not dated in the future), a receipt must come from
/// someone entitled to say it: a custody receipt from the next relay on the
/// dispatch's route (`custody_chain.rs`), a status from a recipient office,
/// a non-delivery notice from a relay on the route. Others are reported as
/// invalid and count for nothing.
/// Who a dispatch is from and for: what decides whose receipts count.
struct Parties {
    id: String,
    issuer: congvan_org::OrgId,
    /// Who answers for it: the issuer, or the gateway office of a copy.
    responsible: congvan_org::OrgId,
    recipients: Vec<congvan_org::OrgId>,
}

fn check_receipts(
    receipts: &[crate::StoredJws],
    parties: &Parties,
    trust: &TrustStore,
    manifest_digest: &str,
    now: OffsetDateTime,
    report: &mut VerificationReport,
) -> ReceiptEvidence {
    let recipients = &parties.recipients;
    let mut chain = CustodyChain::new(&parties.issuer, recipients);
    let mut poe: HashMap<String, OffsetDateTime> = HashMap::new();
    let mut stamped: HashMap<String, crate::ReceiptTimestamp> = HashMap::new();
    for stored in receipts {
        let mut result = ReceiptResult {
            entry: stored.entry.clone(),
            kind: "unknown".into(),
            code: None,
            time: None,
            signed_by: None,
            description: "unreadable receipt".into(),
            valid: false,
            problem: None,
        };
        let checked = check_receipt(stored, trust, manifest_digest, &parties.id, now, &mut result)
            .and_then(|(statement, time, timestamp)| {
                match &statement {
                    Statement::Custody { relay, .. } => chain.extend(relay, time)?,
                    Statement::Status { by, code, .. } => match code.said_by() {
                        crate::Speaker::Issuer if *by != parties.responsible => {
                            return Err(format!("{by} is not the issuer of this dispatch, so its status {code} is not evidence"));
                        }
                        crate::Speaker::Recipient if !recipients.contains(by) => {
                            return Err(format!("{by} is not a recipient of this dispatch, so its status is not evidence"));
                        }
                        _ => {}
                    },
                    Statement::Superseded { by, .. } if *by != parties.responsible => {
                        return Err(format!("{by} is not the issuer of this dispatch, so its notice is not evidence"));
                    }
                    Statement::NonDelivery { relay, .. } if !chain.contains(relay) => {
                        return Err(format!("relay {relay} is not on this dispatch's route, so its non-delivery notice is not evidence"));
                    }
                    _ => {}
                }
                Ok((statement, time, timestamp))
            });
        match checked {
            Ok((statement, time, timestamp)) => {
                result.valid = true;
                if let Statement::Custody { signatures, .. } = &statement {
                    for digest in signatures {
                        let entry = poe.entry(digest.clone()).or_insert(time);
                        if time < *entry {
                            *entry = time;
                        }
                        if let Some(stamp) = &timestamp {
                            let earlier = stamped
                                .get(digest)
                                .is_none_or(|s| stamp.gen_time < s.gen_time);
                            if earlier {
                                stamped.insert(digest.clone(), stamp.clone());
                            }
                        }
                    }
                }
            }
            Err(problem) => result.problem = Some(problem),
        }
        report.receipts.push(result);
    }
    ReceiptEvidence { poe, stamped }
}

/// What the receipts prove, per signature digest.
struct ReceiptEvidence {
    /// The earliest time a valid custody receipt says it held the signature.
    poe: HashMap<String, OffsetDateTime>,
    /// The earliest trusted timestamp on such a receipt: as good as the
    /// signature's own timestamp.
    stamped: HashMap<String, crate::ReceiptTimestamp>,
}

fn check_receipt(
    stored: &crate::StoredJws,
    trust: &TrustStore,
    manifest_digest: &str,
    dispatch_id: &str,
    now: OffsetDateTime,
    result: &mut ReceiptResult,
) -> Result<(Statement, OffsetDateTime, Option<crate::ReceiptTimestamp>), String> {
    // Describe what the receipt claims even when it turns out invalid.
    if let Ok((_, _, statement, _)) = parse_receipt(&stored.jws, &stored.entry) {
        result.kind = statement.kind().to_string();
        if let Statement::Status { code, .. } = &statement {
            result.code = Some(code.code().to_string());
        }
        result.time = Some(statement.time().to_string());
        result.description = statement.describe();
    }
    let verified = verify_receipt(&stored.jws, &stored.entry, trust)?;
    result.signed_by = Some(verified.signer.display_name().to_string());
    let statement = verified.statement;
    if statement.dispatch_id() != dispatch_id || statement.manifest_sha256() != manifest_digest {
        return Err("the receipt is about another dispatch or another version of it".into());
    }
    if verified.time > now + MAX_CLOCK_SKEW {
        return Err(format!(
            "the receipt is dated {}, in the future",
            statement.time()
        ));
    }
    Ok((statement, verified.time, verified.timestamp))
}

/// Derives the overall indication from the parts.
fn conclude(
    report: &mut VerificationReport,
    hash_problem: Option<&str>,
    origin: Option<&crate::metadata::Origin>,
    archive_failure: Option<Verdict>,
) {
    let set = |report: &mut VerificationReport, ind, sub, summary: String| {
        report.indication = ind;
        report.sub_indication = sub;
        report.summary = summary;
    };
    if let Some((indication, sub, detail)) = archive_failure {
        return set(report, indication, Some(sub), detail);
    }
    if let Some(first) = report.metadata_problems.first().cloned() {
        return set(
            report,
            Indication::Failed,
            Some(SubIndication::FormatFailure),
            format!("the metadata breaks the rules of Decree 30/2020: {first}"),
        );
    }
    if report.signatures.is_empty() {
        let summary = match hash_problem {
            Some(problem) => format!("the dispatch carries no signature, and {problem}"),
            None => {
                "the dispatch carries no signature; sign it with `congvan dispatch sign`".into()
            }
        };
        return set(
            report,
            Indication::Failed,
            Some(SubIndication::FormatFailure),
            summary,
        );
    }
    for wanted in [Indication::Failed, Indication::Indeterminate] {
        if let Some((i, sig)) = report
            .signatures
            .iter()
            .enumerate()
            .find(|(_, s)| s.indication == wanted)
        {
            let summary = format!(
                "signature {} ({}): {}",
                i + 1,
                sig.role.map_or("?", |r| r.name()),
                sig.detail
            );
            let sub = sig.sub_indication;
            return set(report, wanted, sub, summary);
        }
    }
    let signed_by_issuer = report
        .signatures
        .iter()
        .any(|s| s.role == Some(SignatureRole::Signer));
    if let (false, Some(origin)) = (signed_by_issuer, origin) {
        // A dispatch taken in from another system carries no congvan
        // signature of its issuer: what passes is the gateway office's
        // authenticated copy of what it received (Decree 30, art. 25).
        let gateway = origin.gateway.to_string();
        let copied = report.signatures.iter().any(|s| {
            s.role == Some(SignatureRole::Copy) && s.org.as_deref() == Some(gateway.as_str())
        });
        if copied {
            let summary = format!(
                "valid authenticated copy by the gateway office {gateway} of a dispatch \
                 received from {} on {}; the issuer's own signature is not in congvan's \
                 form and was not checked",
                origin.system.description(),
                origin.received_at
            );
            return set(report, Indication::Passed, None, summary);
        }
        return set(
            report,
            Indication::Indeterminate,
            Some(SubIndication::SigConstraintsFailure),
            format!(
                "the dispatch says it was received from {} through the gateway office \
                 {gateway}, but carries no copy signature of that office",
                origin.system.description()
            ),
        );
    }
    if !signed_by_issuer {
        return set(
            report,
            Indication::Indeterminate,
            Some(SubIndication::SigConstraintsFailure),
            "no signature by an official of the issuing office (role signer)".into(),
        );
    }
    let n = report.signatures.len();
    let invalid_receipts = report.receipts.iter().filter(|r| !r.valid).count();
    // The seal is reported, not required: an official of the issuing office
    // signing is what PASSED means (docs/FORMAT.md §8.6).
    let sealed = report
        .signatures
        .iter()
        .any(|s| s.role == Some(SignatureRole::Seal));
    let mut summary = format!(
        "{n} valid signature{}, {}, all attachments intact",
        if n == 1 { "" } else { "s" },
        if sealed {
            "sealed by the issuing office"
        } else {
            "not sealed by the issuing office (a seal is not required to pass)"
        }
    );
    if invalid_receipts > 0 {
        summary.push_str(&format!(
            "; {invalid_receipts} receipt(s) could not be verified (see above)"
        ));
    }
    if report.offline {
        match report.archive_timestamps.iter().find(|a| a.anchor_of_proof) {
            Some(latest) => summary.push_str(&format!(
                "; validated offline with the embedded data, preserved under the archive \
                 timestamp of {} by {}, which stands on the trust anchor",
                latest.time.as_deref().unwrap_or("?"),
                latest.tsa.as_deref().unwrap_or("?")
            )),
            None => summary.push_str("; validated offline with the embedded data"),
        }
    }
    set(report, Indication::Passed, None, summary);
}
