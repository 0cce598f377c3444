use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use congvan_org::OrgId;
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use time::OffsetDateTime;
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, OwnedCertRevocationList,
    RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy,
};

use crate::parse_cache::{lock_or_reset, ParseCache};
use crate::path_eku::{self, PathEku};
use crate::profile::{self, certificate_name, Position};
use crate::revocation::rfc3339;
use crate::{pem_file, Certificate, Error, Role};

/// What a certificate must be good for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Purpose {
    /// The role it must have been issued for; `None` accepts any role.
    pub role: Option<Role>,
    /// The organization it must bind; `None` accepts any organization.
    pub org: Option<OrgId>,
}

/// A certificate revocation list, parsed once and checked for its issuer's
/// signature during validation.
///
/// Loading refuses a CRL outside the RFC 5280 profile that matters here: one
/// without a nextUpdate (no one could tell when it is stale) or without a
/// non-critical crlNumber (no one could tell a newer list from an older).
pub struct Crl {
    list: CertRevocationList<'static>,
    der: Vec<u8>,
    /// The issuer's distinguished name, as DER and as text.
    issuer_der: Vec<u8>,
    issuer: String,
    /// When it was issued.
    this_update: OffsetDateTime,
    /// When the issuer promises the next list.
    next_update: OffsetDateTime,
    /// Its crlNumber, big-endian without leading zero octets: what tells a
    /// newer list of the same CA from an older one (RFC 5280 §5.2.3).
    number: Vec<u8>,
}

impl Crl {
    /// Reads every CRL in a PEM (or DER) file.
    pub fn load_all(path: &Path) -> Result<Vec<Crl>, Error> {
        let mut crls = Vec::new();
        for block in pem_file::read_blocks(path)? {
            if !matches!(block.tag(), "X509 CRL" | "DER") {
                return Err(Error::malformed(
                    path,
                    format!("expected X509 CRL PEM blocks, found {:?}", block.tag()),
                ));
            }
            crls.push(Crl::from_der(block.contents(), path)?);
        }
        if crls.is_empty() {
            return Err(Error::malformed(path, "no CRL found"));
        }
        Ok(crls)
    }

    /// Parses one DER CRL; `origin` names it in errors.
    pub fn from_der(der: &[u8], origin: &Path) -> Result<Crl, Error> {
        let list = OwnedCertRevocationList::from_der(der)
            .map_err(|e| Error::malformed(origin, format!("not a valid CRL: {e:?}")))?;
        use x509_parser::prelude::FromDer;
        let (_, parsed) = x509_parser::revocation_list::CertificateRevocationList::from_der(der)
            .map_err(|e| Error::malformed(origin, format!("not a valid CRL: {e}")))?;
        let next_update = parsed
            .next_update()
            .map(|t| t.to_datetime())
            .ok_or_else(|| {
                Error::malformed(
                    origin,
                    "the CRL has no nextUpdate, so no one can tell when it is out of date \
                     (RFC 5280 §5.1.2.5 requires one)",
                )
            })?;
        let crl_number = parsed
            .extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == "2.5.29.20");
        let number = match crl_number {
            None => {
                return Err(Error::malformed(
                    origin,
                    "the CRL has no crlNumber, so a newer list cannot be told from an older one \
                     (RFC 5280 §5.2.3 requires one)",
                ))
            }
            Some(ext) if ext.critical => {
                return Err(Error::malformed(
                    origin,
                    "the CRL's crlNumber is marked critical; RFC 5280 §5.2.3 says it is not",
                ))
            }
            Some(_) => parsed
                .crl_number()
                .map(|n| n.to_bytes_be())
                .ok_or_else(|| {
                    Error::malformed(origin, "the CRL's crlNumber is not a non-negative integer")
                })?,
        };
        // A partitioned list (RFC 5280 §5.2.5) speaks only for the
        // certificates of its distribution point; webpki then treats the
        // others as of unknown status, which congvan allows (an issuer
        // without a CRL), so a partial list would pass a revoked certificate.
        if parsed
            .extensions()
            .iter()
            .any(|e| e.oid.to_id_string() == "2.5.29.28")
        {
            return Err(Error::malformed(
                origin,
                "the CRL has an issuingDistributionPoint: it covers only part of what its CA \
                 issued, and congvan needs the complete list (load the CA's full CRL)",
            ));
        }
        let mut serials = std::collections::HashSet::new();
        for revoked in parsed.iter_revoked_certificates() {
            if !serials.insert(revoked.raw_serial()) {
                return Err(Error::malformed(
                    origin,
                    format!(
                        "the CRL lists the serial number {} twice",
                        revoked.raw_serial_as_string()
                    ),
                ));
            }
        }
        Ok(Crl {
            list: CertRevocationList::Owned(list),
            der: der.to_vec(),
            issuer_der: parsed.issuer().as_raw().to_vec(),
            issuer: congvan_text::line(&parsed.issuer().to_string()).into_owned(),
            this_update: parsed.last_update().to_datetime(),
            next_update,
            number,
        })
    }

    /// Whether this list is newer than `other` of the same CA, by crlNumber.
    fn number_order(&self, other: &Crl) -> std::cmp::Ordering {
        (self.number.len(), &self.number).cmp(&(other.number.len(), &other.number))
    }

    /// True when this list is newer than `other` (a list of the same CA),
    /// by crlNumber: what a reload compares to never go back.
    pub fn is_newer_than(&self, other: &Crl) -> bool {
        self.number_order(other) == std::cmp::Ordering::Greater
    }

    /// Refuses a list that `issuer` did not sign: the check a relay makes
    /// before a reloaded list may replace the one in force, so a list with
    /// a forged signature and a high crlNumber cannot take a CA's place.
    pub fn check_signed_by(&self, issuer: &Certificate) -> Result<(), Error> {
        use x509_parser::prelude::FromDer;
        let refused = || {
            Error::malformed(
                &self.issuer,
                "this CRL's signature does not verify with its CA's key: it is not a list the CA \
                 issued, and is refused",
            )
        };
        let (_, list) =
            x509_parser::revocation_list::CertificateRevocationList::from_der(&self.der)
                .map_err(|_| refused())?;
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(issuer.der())
            .map_err(|_| refused())?;
        list.verify_signature(cert.public_key())
            .map_err(|_| refused())
    }

    /// The DER encoding, e.g. for a TLS stack that checks revocation itself.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// When the issuer promised the next list: past it, this one is stale.
    pub fn next_update(&self) -> OffsetDateTime {
        self.next_update
    }

    /// The issuer's name, for messages and metrics.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The issuer's distinguished name (DER): what a certificate's issuer
    /// field is compared with to find the list that covers it.
    pub fn issuer_der(&self) -> &[u8] {
        &self.issuer_der
    }

    /// When the list was issued (its thisUpdate).
    pub fn this_update(&self) -> OffsetDateTime {
        self.this_update
    }

    /// Refuses a list dated after `time` (beyond a few minutes of clock
    /// difference): a list from the future means a wrong clock, here or at
    /// the CA, and no answer can rest on it.
    fn issued_by(&self, time: OffsetDateTime) -> Result<(), Error> {
        // Near the end of time there is no "later" to be dated at.
        let from_the_future = time
            .checked_add(CRL_CLOCK_SKEW)
            .is_some_and(|latest| self.this_update > latest);
        if from_the_future {
            return Err(Error::CrlNotYetIssued {
                issuer: self.issuer.clone(),
                this_update: rfc3339(self.this_update),
                at: rfc3339(time),
            });
        }
        Ok(())
    }
}

/// What to do with a CRL past its nextUpdate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StaleCrls {
    /// Refuse to decide: validation fails with [`Error::CrlStale`] (a
    /// verifier reports INDETERMINATE / TRY_LATER). The default: a stale
    /// list says nothing about what was revoked since.
    #[default]
    TryLater,
    /// Use it as if current (an operator's choice, e.g. while the CA's
    /// publication is down), and say so.
    Accept,
}

/// The moment a verification speaks for, besides the time each validation
/// is asked about: see [`TrustStore::set_verification_time`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VerificationTime {
    /// Only the time each validation names (a library caller that decides
    /// for itself).
    #[default]
    Unset,
    /// A fixed moment: `dispatch verify --at`, or the start of a command.
    At(OffsetDateTime),
    /// The clock at each validation: a relay, which runs for months.
    Now,
}

/// A chain that validated, from the end entity up to the trust anchor.
#[derive(Clone, Debug)]
pub struct ValidatedChain {
    /// The end entity first, then each CA, ending with the trust anchor.
    pub certificates: Vec<Certificate>,
    /// When the end entity was revoked, if it was, after the proof of
    /// existence that let it validate anyway
    /// ([`TrustStore::validate_with_proof_of_existence`]).
    pub revoked_after_proof: Option<OffsetDateTime>,
}

impl ValidatedChain {
    /// The end-entity certificate.
    pub fn end_entity(&self) -> &Certificate {
        &self.certificates[0]
    }
}

/// Trust anchors, known intermediate CAs and CRLs: everything needed to
/// decide whether a certificate is valid for a purpose at a time.
///
/// Chain building, signatures, validity periods, basic constraints and CRLs
/// are checked by rustls-webpki. keyUsage, the congvan role and the
/// organization subtree are checked here, since webpki does not look at them.
///
/// Successful validations are remembered (see [`TrustStore::validate`] for
/// why that is sound), so a store kept for the life of a relay or an audit
/// run verifies the same signers' chains once, not once per dispatch. The
/// store is `Send + Sync`: share one behind an `Arc`.
pub struct TrustStore {
    anchors: Vec<Certificate>,
    webpki_anchors: Vec<TrustAnchor<'static>>,
    intermediates: Vec<Certificate>,
    crls: Vec<Crl>,
    stale_crls: StaleCrls,
    /// The moment a verification speaks for, when later than the time a
    /// signature names: see [`TrustStore::set_verification_time`].
    verification_time: VerificationTime,
    cache: Mutex<HashMap<CacheKey, CachedChain>>,
    cache_hits: AtomicU64,
    parsed_x5c: ParseCache,
}

/// How far a CRL's thisUpdate may lie after the verification time: the
/// clocks of a CA and a verifier differ by a little.
const CRL_CLOCK_SKEW: time::Duration = time::Duration::minutes(5);

/// The most validations a store remembers; past it the cache starts over.
/// An entry is a few KB (the chain's certificates), so this bounds the cache
/// at a few tens of MB, and only chains that validated under this store's
/// anchors can get in.
const CACHE_CAPACITY: usize = 10_000;

/// SHA-256 of everything a validation's outcome depends on besides the time
/// and the store's own contents: see [`cache_key`].
type CacheKey = [u8; 32];

/// A remembered successful validation.
struct CachedChain {
    chain: ValidatedChain,
    /// The latest notBefore (Unix seconds) of the certificates whose
    /// validity rustls-webpki checked: the end entity and the intermediates.
    valid_from: i64,
    /// The earliest notAfter of the same certificates.
    valid_until: i64,
}

impl TrustStore {
    /// A store trusting these root certificates.
    pub fn new(anchors: Vec<Certificate>) -> Result<TrustStore, Error> {
        let mut webpki_anchors = Vec::with_capacity(anchors.len());
        for anchor in &anchors {
            let der = CertificateDer::from(anchor.der());
            let ta = webpki::anchor_from_trusted_cert(&der).map_err(|e| {
                Error::malformed(
                    anchor.display_name(),
                    format!("cannot be used as a trust anchor: {e:?}"),
                )
            })?;
            webpki_anchors.push(ta.to_owned());
        }
        Ok(TrustStore {
            anchors,
            webpki_anchors,
            intermediates: Vec::new(),
            crls: Vec::new(),
            stale_crls: StaleCrls::default(),
            verification_time: VerificationTime::default(),
            cache: Mutex::new(HashMap::new()),
            cache_hits: AtomicU64::new(0),
            parsed_x5c: ParseCache::new(),
        })
    }

    /// Adds CA certificates that may be used to build chains (not trusted by themselves).
    ///
    /// Forgets every remembered validation: with more candidate issuers,
    /// path building may take another route.
    pub fn add_intermediates(&mut self, certs: impl IntoIterator<Item = Certificate>) {
        for cert in certs {
            if !self.intermediates.contains(&cert) && !self.anchors.contains(&cert) {
                self.intermediates.push(cert);
            }
        }
        self.clear_cache();
    }

    /// Adds revocation lists.
    ///
    /// The store keeps one list per CA: of two lists with the same issuer
    /// name the one with the higher crlNumber, whatever order they come in.
    /// Why: rustls-webpki consults the first list whose issuer matches, and
    /// the freshness rules judge a list too; with one list per issuer both
    /// read the same one, and webpki checks its signature. Kept together,
    /// an older list loaded first would hide a newer one that revokes a
    /// certificate, and a forged "newer" list (any signature) could stand
    /// for freshness while the old genuine one decided revocation. Two
    /// different lists with the same number are refused: one of them is
    /// not what the CA issued.
    ///
    /// Refuses a list issued by a trust anchor whose keyUsage lacks cRLSign
    /// (webpki checks that for CAs below the anchors, not for the anchors).
    /// Forgets every remembered validation, so that a certificate the new
    /// lists revoke is refused from now on even if it validated before.
    pub fn add_crls(&mut self, crls: impl IntoIterator<Item = Crl>) -> Result<(), Error> {
        for crl in crls {
            let issuer = self
                .anchors
                .iter()
                .find(|a| a.subject_der() == crl.issuer_der.as_slice());
            if let Some(anchor) = issuer {
                if anchor.key_usage().is_some_and(|ku| !ku.crl_sign) {
                    return Err(Error::malformed(
                        anchor.display_name(),
                        "this trust anchor issued a CRL, but its keyUsage lacks cRLSign: it may \
                         not sign CRLs, so the list is refused",
                    ));
                }
            }
            match self
                .crls
                .iter()
                .position(|c| c.issuer_der == crl.issuer_der)
            {
                None => self.crls.push(crl),
                Some(i) => {
                    match crl.number_order(&self.crls[i]) {
                        std::cmp::Ordering::Greater => self.crls[i] = crl,
                        std::cmp::Ordering::Less => {}
                        std::cmp::Ordering::Equal if crl.der == self.crls[i].der => {}
                        std::cmp::Ordering::Equal => return Err(Error::malformed(
                            &crl.issuer,
                            "two different CRLs of this CA carry the same crlNumber; one of them \
                             is not what the CA issued (load only the CA's published list)",
                        )),
                    }
                }
            }
        }
        self.clear_cache();
        Ok(())
    }

    /// What to do with CRLs past their nextUpdate ([`StaleCrls::TryLater`]
    /// unless told otherwise). Forgets every remembered validation.
    pub fn set_stale_crls(&mut self, policy: StaleCrls) {
        self.stale_crls = policy;
        self.clear_cache();
    }

    /// The moment the verification speaks for (`dispatch verify --at`, or
    /// now): under [`StaleCrls::TryLater`] the CRLs a path consults must be
    /// current then too, not only at the time a validation is asked about.
    ///
    /// Why: a signature is validated at the signing time it names, and a
    /// list that was current then may have been superseded since. A key
    /// revoked last month signs with a signing time of last year; the list
    /// of last year says nothing of the revocation. Only a list still
    /// current when the verifier looks can say the certificate is not
    /// revoked. A relay validates at the present moment and needs no
    /// setting. The remembered validations stay valid: this check is made
    /// on every call, after them.
    pub fn set_verification_time(&mut self, time: VerificationTime) {
        self.verification_time = time;
    }

    /// The lists the store keeps, one per CA (see [`add_crls`](Self::add_crls)):
    /// what the TLS layer must be given too, so that a connection's peer is
    /// judged by the same list as a dispatch (an older list given first
    /// would otherwise hide a newer one from webpki there).
    pub fn crls(&self) -> &[Crl] {
        &self.crls
    }

    /// The CRLs past their nextUpdate at `at`: what a relay warns about.
    pub fn stale_crls_at(&self, at: OffsetDateTime) -> Vec<&Crl> {
        self.crls.iter().filter(|c| c.next_update < at).collect()
    }

    /// How many successful validations the store currently remembers.
    pub fn cached_validations(&self) -> usize {
        self.lock_cache().len()
    }

    /// Parses one entry of a JWS `x5c` header (standard base64 of the DER,
    /// RFC 7515 §4.1.6) exactly as base64 decoding and
    /// [`Certificate::from_der`] do, remembering the certificates parsed
    /// before: the same signers' x5c chains come back in dispatch after
    /// dispatch, and a certificate seen before then costs neither the base64
    /// decoding nor the x509-parser run.
    ///
    /// Sound because parsing is a pure function of the text (`origin` only
    /// names the source in an error): a remembered certificate is returned
    /// only for the very same text, compared byte for byte, and failures are
    /// never remembered. Anchors, intermediates and CRLs play no part, so
    /// adding them keeps this cache. It holds at most 10,000 certificates
    /// (it is emptied when full).
    pub fn parse_x5c(&self, base64_der: &str, origin: &Path) -> Result<Certificate, Error> {
        self.parsed_x5c.get_or_parse(base64_der.as_bytes(), || {
            let der = STANDARD.decode(base64_der).map_err(|e| {
                Error::malformed(origin, format!("the x5c entry is not valid base64: {e}"))
            })?;
            Certificate::from_der(&der, origin)
        })
    }

    /// How many validations were answered from the cache so far (e.g. for
    /// metrics, or to see that a long-lived store is doing its job).
    pub fn cache_hits(&self) -> u64 {
        self.cache_hits.load(Ordering::Relaxed)
    }

    fn clear_cache(&mut self) {
        match self.cache.get_mut() {
            Ok(cache) => cache.clear(),
            Err(poisoned) => poisoned.into_inner().clear(),
        }
    }

    fn lock_cache(&self) -> MutexGuard<'_, HashMap<CacheKey, CachedChain>> {
        lock_or_reset(&self.cache)
    }

    /// The trusted roots.
    pub fn anchors(&self) -> &[Certificate] {
        &self.anchors
    }

    /// Decides whether `cert` is valid for `purpose` at time `at`, using
    /// `presented` (e.g. a signature's x5c) as extra intermediates.
    ///
    /// Every refusal names its reason in the returned error.
    ///
    /// # The validation cache, and why it is sound
    ///
    /// A success is remembered under a SHA-256 of (the end entity's
    /// fingerprint, the fingerprint of every presented certificate in order,
    /// the purpose's role and organization), together with the window
    /// `[latest notBefore, earliest notAfter]` of the end entity, the
    /// intermediates and the trust anchor of the path that validated (ended
    /// earlier by the earliest CRL nextUpdate when stale CRLs are refused). A later call with the same
    /// key and a time inside that window returns the remembered chain without
    /// validating again; any other call validates in full. Failures are never
    /// remembered, so every refusal is computed (and explained) afresh.
    ///
    /// This returns what a full validation would, because the outcome depends
    /// on the time only through validity periods:
    ///
    /// - Everything else is fixed by the key and the store: the anchors
    ///   never change, and [`add_intermediates`](Self::add_intermediates) and
    ///   [`add_crls`](Self::add_crls) empty the cache, so the candidate
    ///   issuers and the CRLs are the ones the remembered validation used.
    /// - rustls-webpki reads the time in exactly two places: each path
    ///   certificate's validity (`not_before <= t <= not_after`, whole Unix
    ///   seconds, end entity and intermediates) and a CRL's nextUpdate,
    ///   which it checks under `ExpirationPolicy::Enforce` (this store's
    ///   default, [`StaleCrls::TryLater`]): the window ends at the earliest
    ///   nextUpdate then. Signatures, basic constraints, path length, EKU
    ///   and the CRL look-ups (serial in the list, the list's signature and
    ///   its issuer's cRLSign) do not involve the time.
    /// - The checks made here on top read the time only for the trust
    ///   anchor's validity, which is in the window; the rest (profile, key
    ///   strength, keyUsage, role, organization subtree) reads only the
    ///   certificates, the purpose and the chain.
    ///
    /// So the remembered path, with its signatures, constraints and
    /// revocation status, is a valid path at every time in its window, and
    /// only there: outside it some certificate of that path is expired or
    /// not yet valid, and the call validates in full (failing with
    /// [`Error::Expired`] or [`Error::NotYetValid`] if no other path exists).
    /// The window is computed from the same DER dates webpki reads (parsed by
    /// x509-parser; both read RFC 5280 UTCTime/GeneralizedTime to the same
    /// second, and a date webpki cannot parse never validates, so never gets
    /// cached), and compared with the same whole-second time webpki is given.
    ///
    /// One difference is possible, and harmless: when several paths exist,
    /// webpki at another time might have found a different one first; the
    /// remembered one is still a valid path that passed every check.
    ///
    /// The key is a collision-resistant hash, so no other certificate or
    /// chain can pose as a remembered one. The cache holds at most
    /// 10,000 entries (it is emptied when full) and is locked
    /// only to look up or insert, never during a validation.
    pub fn validate(
        &self,
        cert: &Certificate,
        presented: &[Certificate],
        purpose: &Purpose,
        at: OffsetDateTime,
    ) -> Result<ValidatedChain, Error> {
        // The time exactly as webpki is given it: whole seconds, not before 1970.
        let chain = self.validate_at(cert, presented, purpose, at)?;
        self.check_crls_current(&chain)?;
        Ok(chain)
    }

    /// [`validate`](Self::validate) for a signature proven to have existed
    /// at `existed_at` (a trusted timestamp over it): a revocation of the
    /// end entity dated after that moment does not invalidate what was
    /// signed before it (ETSI EN 319 102-1 §5.6.2.4, the long-term
    /// validation of a revoked key). The chain is then returned with
    /// [`ValidatedChain::revoked_after_proof`] set.
    ///
    /// Everything else is checked as [`validate`](Self::validate) does,
    /// with the revocation of every CA above the end entity included: only
    /// the end entity's own list (the one its issuer signed, and whose
    /// signature the first validation checked before it reported the
    /// revocation) is set aside, and only when it dates the revocation
    /// after `existed_at`. A revocation at or before it stays a refusal.
    pub fn validate_with_proof_of_existence(
        &self,
        cert: &Certificate,
        presented: &[Certificate],
        purpose: &Purpose,
        at: OffsetDateTime,
        existed_at: OffsetDateTime,
    ) -> Result<ValidatedChain, Error> {
        let refusal = match self.validate(cert, presented, purpose, at) {
            Err(e @ Error::Revoked { ca: false, .. }) => e,
            other => return other,
        };
        let Some(revoked_at) = self.end_entity_revocation_time(cert) else {
            return Err(refusal);
        };
        if revoked_at <= existed_at {
            return Err(refusal);
        }
        let seconds = at.unix_timestamp().max(0);
        let (mut chain, _) = self.validate_uncached(
            cert,
            presented,
            purpose,
            seconds,
            at,
            Some(cert.issuer_der()),
        )?;
        self.check_crls_current(&chain)?;
        chain.revoked_after_proof = Some(revoked_at);
        Ok(chain)
    }

    /// The long-term validation rule for revocation data: every certificate
    /// of `chain` below the trust anchor must be covered by its issuer's
    /// list, issued at or after `existed_at` (the moment the signature or
    /// token is proven to have existed: only a list issued after it can say
    /// the certificate was not revoked by then), and not dated after `at`
    /// (the time the verification speaks for, beyond a few minutes of clock
    /// difference).
    ///
    /// Why a separate check: a verifier with current lists asks "is it
    /// revoked now?" ([`validate`](Self::validate) with
    /// [`VerificationTime`]), but one that has only the lists embedded in a
    /// preserved dispatch (all long past their nextUpdate) asks "was it
    /// unrevoked when it was proven to exist?", and a missing list means no
    /// one can say. `existed_at` is compared in whole seconds, as lists are
    /// dated.
    pub fn check_crls_issued_after(
        &self,
        chain: &ValidatedChain,
        existed_at: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<(), Error> {
        let needed = existed_at.replace_nanosecond(0).unwrap_or(existed_at);
        // Every certificate but the anchor, whether or not the chain names
        // the anchor at its end.
        for (i, cert) in chain.certificates.iter().enumerate() {
            if self.anchors.contains(cert) {
                continue;
            }
            let position = if i == 0 {
                Position::EndEntity
            } else {
                Position::Intermediate
            };
            let Some(list) = self
                .crls
                .iter()
                .find(|c| c.issuer_der.as_slice() == cert.issuer_der())
            else {
                let issuer = match chain.certificates.get(i + 1) {
                    Some(ca) => ca.display_name().to_string(),
                    None => cert.issuer().to_string(),
                };
                return Err(Error::CrlMissing {
                    issuer,
                    certificate: certificate_name(cert, position),
                });
            };
            if list.this_update < needed {
                return Err(Error::CrlTooOld {
                    issuer: list.issuer.clone(),
                    certificate: certificate_name(cert, position),
                    this_update: rfc3339(list.this_update),
                    needed: rfc3339(needed),
                });
            }
            list.issued_by(at)?;
        }
        Ok(())
    }

    /// When the list of `cert`'s issuer says it was revoked, if it does.
    fn end_entity_revocation_time(&self, cert: &Certificate) -> Option<OffsetDateTime> {
        let list = self
            .crls
            .iter()
            .find(|c| c.issuer_der.as_slice() == cert.issuer_der())?;
        let entry = list.list.find_serial(cert.serial()).ok()??;
        OffsetDateTime::from_unix_timestamp(i64::try_from(entry.revocation_date.as_secs()).ok()?)
            .ok()
    }

    /// [`validate`](Self::validate) at `at` alone, through the cache.
    fn validate_at(
        &self,
        cert: &Certificate,
        presented: &[Certificate],
        purpose: &Purpose,
        at: OffsetDateTime,
    ) -> Result<ValidatedChain, Error> {
        let seconds = at.unix_timestamp().max(0);
        let key = cache_key(cert, presented, purpose);
        if let Some(hit) = self.lock_cache().get(&key) {
            if hit.valid_from <= seconds && seconds <= hit.valid_until {
                self.cache_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(hit.chain.clone());
            }
        }
        let (chain, checked) =
            self.validate_uncached(cert, presented, purpose, seconds, at, None)?;
        let valid_from = checked
            .iter()
            .map(|c| c.not_before().unix_timestamp())
            .max();
        let crls_current_until = match self.stale_crls {
            // Past the earliest nextUpdate the same call fails (CrlStale).
            StaleCrls::TryLater => self
                .crls
                .iter()
                .map(|c| c.next_update.unix_timestamp())
                .min(),
            StaleCrls::Accept => None,
        };
        let valid_until = checked
            .iter()
            .map(|c| c.not_after().unix_timestamp())
            .chain(crls_current_until)
            .min();
        // Remember only a window that contains the time just validated: a
        // disagreement between the two date parsers keeps the result out.
        if let (Some(valid_from), Some(valid_until)) = (valid_from, valid_until) {
            if !(valid_from <= seconds && seconds <= valid_until) {
                return Ok(chain);
            }
            let mut cache = self.lock_cache();
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert(
                key,
                CachedChain {
                    chain: chain.clone(),
                    valid_from,
                    valid_until,
                },
            );
        }
        Ok(chain)
    }

    /// Under [`StaleCrls::TryLater`] with a verification time set: every
    /// CA of the path that has lists here must have one still current at
    /// that time (a newer list supersedes an older one from the same CA),
    /// and none of its lists may be dated after it (beyond a few minutes of
    /// clock difference): a list from the future means a wrong clock, here
    /// or at the CA, and no answer can rest on it.
    fn check_crls_current(&self, chain: &ValidatedChain) -> Result<(), Error> {
        let time = match self.verification_time {
            VerificationTime::Unset => return Ok(()),
            VerificationTime::At(time) => time,
            VerificationTime::Now => OffsetDateTime::now_utc(),
        };
        if self.stale_crls == StaleCrls::Accept {
            return Ok(());
        }
        // Every certificate but the anchor has its revocation checked, by
        // the list (one per CA, `add_crls`) of the next certificate up: the
        // list webpki consulted and checked the signature of.
        for issuer in chain.certificates.iter().skip(1) {
            let Some(list) = self
                .crls
                .iter()
                .find(|c| c.issuer_der.as_slice() == issuer.subject_der())
            else {
                continue;
            };
            list.issued_by(time)?;
            if list.next_update < time {
                return Err(Error::CrlStale {
                    issuer: list.issuer.clone(),
                    next_update: rfc3339(list.next_update),
                    at: rfc3339(time),
                });
            }
        }
        Ok(())
    }

    /// The full validation. Also returns the certificates whose validity
    /// was checked (the end entity, the path's intermediates and the trust
    /// anchor), or an empty list when they cannot all be named, which keeps
    /// the result out of the cache (an empty list has no window).
    ///
    /// In order: the end entity on its own (its key and profile: a weak key
    /// is the reason even if the chain has other problems), the path by
    /// rustls-webpki (signatures, validity, basicConstraints, pathLen, name
    /// constraints, CRLs, and extended key usage along the whole path), then
    /// what webpki leaves to congvan: every CA's and the anchor's profile,
    /// the anchor's validity, keyUsage, the role and the organization
    /// subtree.
    fn validate_uncached(
        &self,
        cert: &Certificate,
        presented: &[Certificate],
        purpose: &Purpose,
        seconds: i64,
        at: OffsetDateTime,
        set_aside_list_of: Option<&[u8]>,
    ) -> Result<(ValidatedChain, Vec<Certificate>), Error> {
        if let Some(problem) = cert.key_problem() {
            return Err(Error::WeakKey {
                certificate: certificate_name(cert, Position::EndEntity),
                problem: problem.to_string(),
            });
        }
        profile::check(cert, Position::EndEntity)?;
        let ee_der = CertificateDer::from(cert.der());
        let ee = EndEntityCert::try_from(&ee_der)
            .map_err(|e| Error::ChainRejected(format!("unusable certificate: {e:?}")))?;
        let candidates: Vec<&Certificate> = presented
            .iter()
            .filter(|c| *c != cert && !self.anchors.contains(c))
            .chain(self.intermediates.iter())
            .collect();
        let intermediate_ders: Vec<CertificateDer<'_>> = candidates
            .iter()
            .map(|c| CertificateDer::from(c.der()))
            .collect();
        let crl_refs: Vec<&CertRevocationList<'_>> = self
            .crls
            .iter()
            .filter(|c| Some(c.issuer_der.as_slice()) != set_aside_list_of)
            .map(|c| &c.list)
            .collect();
        let expiration = match self.stale_crls {
            StaleCrls::TryLater => ExpirationPolicy::Enforce,
            StaleCrls::Accept => ExpirationPolicy::Ignore,
        };
        let revocation = RevocationOptionsBuilder::new(&crl_refs)
            .ok()
            .map(|builder| {
                builder
                    .with_depth(RevocationCheckDepth::Chain)
                    .with_status_policy(UnknownStatusPolicy::Allow)
                    .with_expiration_policy(expiration)
                    .build()
            });
        let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(seconds).unwrap_or(0),
        ));
        let required = match purpose.role.or(cert.role()) {
            Some(role) => path_eku::role_purposes(role),
            None => cert
                .eku_oids()
                .map(path_eku::claimed_purposes)
                .unwrap_or_default(),
        };
        let eku = PathEku {
            required: required.clone(),
        };

        let path = ee
            .verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &self.webpki_anchors,
                &intermediate_ders,
                time,
                &eku,
                revocation,
                None,
            )
            .map_err(|e| self.explain(e, cert, &candidates, &required, at))?;

        let mut chain = vec![cert.clone()];
        let mut all_named = true;
        for inter in path.intermediate_certificates() {
            let der = inter.der();
            if let Some(found) = candidates.iter().find(|c| c.der() == der.as_ref()) {
                chain.push((*found).clone());
            } else {
                all_named = false;
            }
        }
        for ca in &chain[1..] {
            profile::check(ca, Position::Intermediate)?;
        }
        let anchor_spki = path.anchor().subject_public_key_info.as_ref();
        let anchor = self
            .anchors
            .iter()
            .zip(&self.webpki_anchors)
            .find(|(_, ta)| ta.subject_public_key_info.as_ref() == anchor_spki)
            .map(|(a, _)| a.clone());
        match &anchor {
            Some(anchor) => {
                profile::check(anchor, Position::Anchor)?;
                check_validity(anchor, Position::Anchor, at)?;
                chain.push(anchor.clone());
            }
            None => all_named = false,
        }
        // The certificates whose validity was checked, anchor included.
        let checked = if all_named { chain.clone() } else { Vec::new() };

        check_key_usage(cert, purpose)?;
        check_role(cert, purpose)?;
        check_org(&chain, purpose)?;
        Ok((
            ValidatedChain {
                certificates: chain,
                revoked_after_proof: None,
            },
            checked,
        ))
    }

    /// The issuers of `cert` by name, nearest first, among `candidates` and
    /// the anchors, up to an anchor: the path webpki would have tried, to
    /// say which certificate a failure is about.
    fn issuers_by_name<'a>(
        &'a self,
        cert: &'a Certificate,
        candidates: &[&'a Certificate],
    ) -> Vec<(&'a Certificate, Position)> {
        let mut found: Vec<(&Certificate, Position)> = Vec::new();
        let mut current = cert;
        for _ in 0..8 {
            if let Some(anchor) = self
                .anchors
                .iter()
                .find(|a| a.subject_der() == current.issuer_der())
            {
                found.push((anchor, Position::Anchor));
                break;
            }
            let next = candidates.iter().copied().find(|c| {
                c.subject_der() == current.issuer_der()
                    && *c != current
                    && !found.iter().any(|(f, _)| *f == *c)
            });
            match next {
                Some(next) => {
                    found.push((next, Position::Intermediate));
                    current = next;
                }
                None => break,
            }
        }
        found
    }

    /// Turns webpki's verdict into congvan's, naming the certificate it is
    /// about (an expired intermediate with its own dates, the CA whose
    /// extended key usage excludes the role, the CA with a weak key).
    fn explain(
        &self,
        e: webpki::Error,
        cert: &Certificate,
        candidates: &[&Certificate],
        required: &[&'static [u8]],
        at: OffsetDateTime,
    ) -> Error {
        use webpki::Error as W;
        let issuers = self.issuers_by_name(cert, candidates);
        let path = || {
            std::iter::once((cert, Position::EndEntity)).chain(
                issuers
                    .iter()
                    .copied()
                    .filter(|(_, p)| *p == Position::Intermediate),
            )
        };
        match e {
            W::CertExpired { .. } | W::CertNotValidYet { .. } => path()
                .find_map(|(c, p)| check_validity(c, p, at).err())
                .unwrap_or_else(|| {
                    Error::ChainRejected(
                        "a certificate of the chain is outside its validity period".into(),
                    )
                }),
            W::CrlExpired { .. } => {
                let stale = self.crls.iter().find(|c| c.next_update < at);
                Error::CrlStale {
                    issuer: stale.map_or_else(|| "a CA".to_string(), |c| c.issuer.clone()),
                    next_update: stale.map_or_else(String::new, |c| rfc3339(c.next_update)),
                    at: rfc3339(at),
                }
            }
            W::RequiredEkuNotFoundContext(_) => {
                for (c, position) in path() {
                    if let Some(missing) = path_eku::first_missing(c.eku_oids(), required) {
                        if position == Position::EndEntity {
                            return Error::WrongRole {
                                expected: format!(
                                    "a certificate for {}",
                                    path_eku::purpose_name(missing)
                                ),
                                found: "a certificate without it".into(),
                            };
                        }
                        return Error::PurposeNotAllowed {
                            certificate: certificate_name(c, position),
                            purpose: path_eku::purpose_name(missing),
                        };
                    }
                }
                Error::ChainRejected(
                    "a CA of the chain is limited by its extended key usage to other purposes"
                        .into(),
                )
            }
            W::InvalidSignatureForPublicKey
            | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
            | W::UnsupportedSignatureAlgorithmContext(_) => issuers
                .iter()
                .find_map(|(c, p)| {
                    c.key_problem().map(|problem| Error::WeakKey {
                        certificate: certificate_name(c, *p),
                        problem: problem.to_string(),
                    })
                })
                .unwrap_or(Error::BadCertificateSignature),
            W::UnknownIssuer => Error::UnknownIssuer,
            W::CertRevoked => self.revocation_details(cert, candidates),
            W::IssuerNotCrlSigner => Error::ChainRejected(
                "a CRL was issued by a CA whose keyUsage lacks cRLSign: it may not sign CRLs"
                    .into(),
            ),
            W::CaUsedAsEndEntity => Error::NotACa(
                "a CA certificate was given where an end-entity certificate is needed".into(),
            ),
            W::EndEntityUsedAsCa => Error::NotACa(
                "an issuing certificate in the chain is not a CA (its basicConstraints does not say cA)"
                    .into(),
            ),
            W::PathLenConstraintViolated => Error::PathLenExceeded,
            other => Error::ChainRejected(format!("{other:?}")),
        }
    }

    /// What webpki's "revoked" means for `cert`: the end entity itself when
    /// the list of its own issuer names its serial, otherwise the CA of its
    /// path whose issuer's list names it, so that the report says which CA.
    /// Only a certificate's own issuer's list counts: serial numbers are
    /// unique per CA, not across CAs, so another CA's list naming the same
    /// number (by chance, or placed there by a hostile CA with a chosen
    /// date) says nothing about this certificate.
    fn revocation_details(&self, cert: &Certificate, candidates: &[&Certificate]) -> Error {
        if let Some((revoked_at, reason)) = self.listed_by_own_issuer(cert) {
            return Error::Revoked {
                ca: false,
                serial: cert.serial_hex(),
                certificate: None,
                revoked_at,
                reason,
            };
        }
        let revoked_ca = self
            .issuers_by_name(cert, candidates)
            .into_iter()
            .filter(|(_, position)| *position == Position::Intermediate)
            .find_map(|(ca, _)| Some((ca, self.listed_by_own_issuer(ca)?)));
        match revoked_ca {
            Some((ca, (revoked_at, reason))) => Error::Revoked {
                ca: true,
                serial: ca.serial_hex(),
                certificate: Some(certificate_name(ca, Position::Intermediate)),
                revoked_at,
                reason,
            },
            None => Error::Revoked {
                ca: true,
                serial: cert.serial_hex(),
                certificate: None,
                revoked_at: None,
                reason: None,
            },
        }
    }

    /// When and why the list of `cert`'s own issuer revokes it, if it does.
    fn listed_by_own_issuer(&self, cert: &Certificate) -> Option<(Option<String>, Option<String>)> {
        self.crls
            .iter()
            .filter(|c| c.issuer_der.as_slice() == cert.issuer_der())
            .find_map(|crl| crl.list.find_serial(cert.serial()).ok().flatten())
            .map(|entry| {
                let secs = entry.revocation_date.as_secs();
                let revoked_at = i64::try_from(secs)
                    .ok()
                    .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
                    .map(rfc3339);
                (revoked_at, entry.reason_code.map(rfc5280_reason))
            })
    }
}

/// The cache key of a validation: SHA-256 over the end entity's
/// fingerprint (the SHA-256 of its DER), the presented certificates'
/// fingerprints in order and the purpose, each part length-prefixed (or
/// tagged) so that no two different inputs share an encoding. A hash of
/// collision-resistant hashes is as collision-resistant as one over the DER.
fn cache_key(cert: &Certificate, presented: &[Certificate], purpose: &Purpose) -> CacheKey {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut put = |bytes: &[u8]| {
        ctx.update(&(bytes.len() as u64).to_be_bytes());
        ctx.update(bytes);
    };
    put(b"congvan validation cache v2");
    put(cert.fingerprint());
    put(&(presented.len() as u64).to_be_bytes());
    for c in presented {
        put(c.fingerprint());
    }
    put(purpose.role.map_or("", Role::name).as_bytes());
    match &purpose.org {
        Some(org) => put(format!("org:{org}").as_bytes()),
        None => put(b"any org"),
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(ctx.finish().as_ref());
    key
}

/// `cert` is within its validity period at `at`; else the error names it
/// with its own dates.
fn check_validity(cert: &Certificate, position: Position, at: OffsetDateTime) -> Result<(), Error> {
    if at > cert.not_after() {
        return Err(Error::Expired {
            certificate: certificate_name(cert, position),
            not_after: rfc3339(cert.not_after()),
            at: rfc3339(at),
        });
    }
    if at < cert.not_before() {
        return Err(Error::NotYetValid {
            certificate: certificate_name(cert, position),
            not_before: rfc3339(cert.not_before()),
            at: rfc3339(at),
        });
    }
    Ok(())
}

fn check_key_usage(cert: &Certificate, purpose: &Purpose) -> Result<(), Error> {
    // No keyUsage extension at all grants no signing bit here: congvan
    // certificates always carry one, and a signing key must say so.
    let bits = cert.key_usage().unwrap_or_default();
    let role = purpose.role.or(cert.role());
    // An encryption key agrees keys and nothing else: a certificate that
    // would also let it sign is refused, so that one key never serves both.
    if role == Some(Role::Encryption) {
        if !bits.key_agreement {
            return Err(Error::MissingKeyUsage {
                missing: "keyAgreement",
            });
        }
        if bits.digital_signature || bits.content_commitment {
            return Err(Error::WrongRole {
                expected: "encryption (keyUsage keyAgreement only, never a signing bit)".into(),
                found: "an encryption certificate whose key may also sign".into(),
            });
        }
        return Ok(());
    }
    if !bits.digital_signature {
        return Err(Error::MissingKeyUsage {
            missing: "digitalSignature",
        });
    }
    let signs = purpose
        .role
        .or(cert.role())
        .is_some_and(Role::signs_documents);
    if signs && !bits.content_commitment {
        return Err(Error::MissingKeyUsage {
            missing: "contentCommitment (nonRepudiation)",
        });
    }
    Ok(())
}

fn check_role(cert: &Certificate, purpose: &Purpose) -> Result<(), Error> {
    let Some(expected) = purpose.role else {
        return Ok(());
    };
    let found = cert.role();
    if found != Some(expected) {
        return Err(Error::WrongRole {
            expected: expected.to_string(),
            found: found.map_or_else(|| "no congvan role".to_string(), |r| r.to_string()),
        });
    }
    let ekus = cert.extended_key_usages();
    let needed: &[&str] = match expected {
        Role::Office | Role::Official => &["documentSigning"],
        Role::Relay => &["serverAuth", "clientAuth"],
        Role::Encryption => &[],
        Role::Tsa => &["timeStamping"],
    };
    for eku in needed {
        if !ekus.iter().any(|e| e == eku) {
            return Err(Error::WrongRole {
                expected: format!("{expected} (which needs extended key usage {eku})"),
                found: format!("a certificate without {eku}"),
            });
        }
    }
    if expected.eku_critical() && !cert.eku_critical() {
        return Err(Error::WrongRole {
            expected: format!(
                "{expected} (whose extended key usage is marked critical, RFC 3161 §2.3)"
            ),
            found: "a certificate whose extended key usage is not critical".into(),
        });
    }
    Ok(())
}

fn check_org(chain: &[Certificate], purpose: &Purpose) -> Result<(), Error> {
    let leaf_org = chain[0].org();
    if let Some(expected) = &purpose.org {
        if leaf_org != Some(expected) {
            return Err(Error::WrongOrg {
                expected: expected.to_string(),
                found: leaf_org.map_or_else(|| "no organization".to_string(), |o| o.to_string()),
            });
        }
    }
    // Each certificate must lie inside the subtree of every CA above it.
    for (i, cert) in chain.iter().enumerate() {
        let Some(org) = cert.org() else { continue };
        for ca in &chain[i + 1..] {
            if let Some(ca_org) = ca.org() {
                if !org.is_within(ca_org) {
                    return Err(Error::OrgOutsideSubtree {
                        org: org.to_string(),
                        ca: ca.display_name().to_string(),
                        ca_org: ca_org.to_string(),
                    });
                }
            }
        }
    }
    // A CA limited to a subtree cannot vouch for a certificate that binds no
    // organization at all when a role is asked for.
    if purpose.role.is_some() && leaf_org.is_none() {
        return Err(Error::WrongOrg {
            expected: purpose
                .org
                .as_ref()
                .map_or_else(|| "an organization".to_string(), |o| o.to_string()),
            found: "no organization".into(),
        });
    }
    Ok(())
}

/// The RFC 5280 name of a CRL reason code, as operators know it.
fn rfc5280_reason(reason: webpki::RevocationReason) -> String {
    use webpki::RevocationReason as R;
    match reason {
        R::Unspecified => "unspecified",
        R::KeyCompromise => "keyCompromise",
        R::CaCompromise => "cACompromise",
        R::AffiliationChanged => "affiliationChanged",
        R::Superseded => "superseded",
        R::CessationOfOperation => "cessationOfOperation",
        R::CertificateHold => "certificateHold",
        R::RemoveFromCrl => "removeFromCRL",
        R::PrivilegeWithdrawn => "privilegeWithdrawn",
        R::AaCompromise => "aACompromise",
    }
    .to_string()
}
