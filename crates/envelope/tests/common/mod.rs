//! Shared helpers for the envelope integration tests: a demo PKI in a temp
//! dir, back-dated hierarchies for time travel, dispatch building, and a
//! container rewriter for tampering.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod zip_surgery;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use congvan_envelope::metadata::{Draft, Metadata, Organization, SignerBlock};
use congvan_envelope::{
    create_dispatch, make_receipt, sign_dispatch, verify_dispatch, AttachmentSource, Envelope,
    Indication, Jws, Statement, SubIndication, VerificationReport,
};
use congvan_sign::{
    build_demo, init_root_at, issue_ca_at, issue_leaf_at, Algorithm, Certificate, Credential,
    LeafRequest, OrgId, Role, SigningKey, TrustStore,
};
use time::{Duration, OffsetDateTime};

/// The demo PKI of `congvan pki demo`, built in a fresh temp dir, with room
/// beside it for dispatches.
pub struct Demo {
    pub tmp: tempfile::TempDir,
    pub pki: PathBuf,
}

impl Demo {
    pub fn new() -> Demo {
        let tmp = tempfile::tempdir().unwrap();
        let pki = tmp.path().join("pki");
        build_demo(&pki, Algorithm::EcdsaP256).unwrap();
        Demo { tmp, pki }
    }

    /// A credential of the demo tree: `cred("H99.01", "official")`.
    pub fn cred(&self, office: &str, kind: &str) -> Credential {
        Credential::load(&self.pki.join(office).join(kind), None).unwrap()
    }

    /// The provincial CA (it issued every leaf).
    pub fn ca(&self) -> Credential {
        Credential::load(&self.pki.join("ca-h99"), None).unwrap()
    }

    /// The national root CA.
    pub fn root(&self) -> Credential {
        Credential::load(&self.pki.join("root"), None).unwrap()
    }

    /// A trust store with only the root as anchor (chains come from x5c).
    pub fn trust(&self) -> TrustStore {
        TrustStore::new(vec![self.root().cert().clone()]).unwrap()
    }

    /// Signs `file` now with the credential at `holder` ("H99.01/official")
    /// in `role`, and panics if signing is refused.
    pub fn sign(&self, file: &Path, holder: &str, role: congvan_envelope::SignatureRole) {
        sign(file, &self.held(holder), role);
    }

    /// The credential at `holder` ("H99.01/office") of the demo tree.
    pub fn held(&self, holder: &str) -> Credential {
        Credential::load(&self.pki.join(holder), None).unwrap()
    }

    /// A path in the temp dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }
}

/// A back-dated hierarchy: root and provincial CA (H99) valid from `start`.
pub struct Hierarchy {
    pub root: Credential,
    pub ca: Credential,
}

impl Hierarchy {
    pub fn from(start: OffsetDateTime) -> Hierarchy {
        Hierarchy::lasting(start, 20 * 365, 10 * 365)
    }

    /// A root valid `root_days` and a provincial CA valid `ca_days`, both
    /// from `start`.
    pub fn lasting(start: OffsetDateTime, root_days: u32, ca_days: u32) -> Hierarchy {
        let root = init_root_at(
            "Gốc thử nghiệm (minh họa)",
            SigningKey::generate(Algorithm::EcdsaP256).unwrap(),
            root_days,
            start,
        )
        .unwrap();
        let ca = issue_ca_at(
            &root,
            "CA thử nghiệm H99 (minh họa)",
            &OrgId::parse("H99").unwrap(),
            SigningKey::generate(Algorithm::EcdsaP256).unwrap(),
            ca_days,
            start,
        )
        .unwrap();
        Hierarchy { root, ca }
    }

    /// A CRL of `issuer` issued at `issued`, valid 365 days, revoking
    /// each of `revoked` at its time (key compromise).
    pub fn crl(
        &self,
        issuer: &Credential,
        revoked: &[(&Credential, OffsetDateTime)],
        issued: OffsetDateTime,
    ) -> congvan_sign::Crl {
        // Numbered by the time of issue, so that a later list is a newer one.
        let mut record = congvan_sign::RevocationRecord {
            crl_number: issued.unix_timestamp().unsigned_abs(),
            ..Default::default()
        };
        for (cert, at) in revoked {
            let reason = congvan_sign::RevocationReason::KeyCompromise;
            record.revoke(issuer, cert.cert(), reason, *at).unwrap();
        }
        let pem = record.issue_crl(issuer, issued, 365).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crl.pem");
        std::fs::write(&path, pem).unwrap();
        congvan_sign::Crl::load_all(&path).unwrap().remove(0)
    }

    /// A leaf of `role` for `org`, valid `days` from `not_before`.
    pub fn leaf(&self, role: Role, org: &str, not_before: OffsetDateTime, days: u32) -> Credential {
        let request = LeafRequest {
            role,
            name: format!("{role} {org}"),
            org: OrgId::parse(org).unwrap(),
            organization_name: None,
            position: (role == Role::Official).then(|| "Chủ tịch".to_string()),
            dns: Vec::new(),
            ips: Vec::new(),
            days,
        };
        issue_leaf_at(
            &self.ca,
            &request,
            SigningKey::generate(Algorithm::EcdsaP256).unwrap(),
            not_before,
        )
        .unwrap()
    }

    pub fn trust(&self) -> TrustStore {
        TrustStore::new(vec![self.root.cert().clone()]).unwrap()
    }

    /// A timestamp authority certified by the root (as a TSA must be),
    /// valid `days` from `not_before`, under `policy` 1.2.3.4.1.
    pub fn tsa(&self, not_before: OffsetDateTime, days: u32) -> congvan_tsa::Authority {
        let request = LeafRequest {
            role: Role::Tsa,
            name: "tsa H99".into(),
            org: OrgId::parse("H99").unwrap(),
            organization_name: None,
            position: None,
            dns: Vec::new(),
            ips: Vec::new(),
            days,
        };
        let key = SigningKey::generate(Algorithm::EcdsaP256).unwrap();
        let credential = issue_leaf_at(&self.root, &request, key, not_before).unwrap();
        congvan_tsa::Authority::new(credential, "1.2.3.4.1").unwrap()
    }

    /// [`trust`](Self::trust) with a CRL (written into `dir`) in which
    /// `issuer` revokes `revoked` at `at`.
    pub fn trust_revoking(
        &self,
        issuer: &Credential,
        revoked: &Credential,
        at: OffsetDateTime,
        dir: &Path,
    ) -> TrustStore {
        let reason = congvan_sign::RevocationReason::KeyCompromise;
        self.trust_revoking_for(issuer, revoked, at, reason, dir)
    }

    /// [`trust_revoking`](Self::trust_revoking) for `reason`.
    pub fn trust_revoking_for(
        &self,
        issuer: &Credential,
        revoked: &Credential,
        at: OffsetDateTime,
        reason: congvan_sign::RevocationReason,
        dir: &Path,
    ) -> TrustStore {
        let mut record = congvan_sign::RevocationRecord::default();
        record.revoke(issuer, revoked.cert(), reason, at).unwrap();
        let pem = record
            .issue_crl(issuer, OffsetDateTime::now_utc(), 30)
            .unwrap();
        let path = dir.join("crl.pem");
        std::fs::write(&path, pem).unwrap();
        let mut trust = self.trust();
        trust
            .add_crls(congvan_sign::Crl::load_all(&path).unwrap())
            .unwrap();
        trust
    }
}

pub fn org(id: &str, name: &str) -> Organization {
    Organization {
        id: OrgId::parse(id).unwrap(),
        name: name.to_string(),
    }
}

/// RFC 3339 UTC with whole seconds, as `created_at` wants it.
pub fn utc_text(t: OffsetDateTime) -> String {
    congvan_envelope::signing_time_text(t)
}

/// A valid công văn from `from` to `to`, made at `created`.
pub fn metadata_at(from: &str, to: &[&str], created: OffsetDateTime) -> Metadata {
    let to = to
        .iter()
        .map(|id| org(id, "Ủy ban nhân dân xã Cẩm Thạch"))
        .collect();
    let signer = SignerBlock {
        authority_prefix: None,
        authority: None,
        on_behalf_of: None,
        position: "CHỦ TỊCH".to_string(),
        full_name: "Lê Văn Cường".to_string(),
    };
    Draft {
        place: "Cẩm Xuyên".to_string(),
        subject: "Về việc thử nghiệm định dạng công văn điện tử".to_string(),
        content: "Đề nghị các xã báo cáo.\n".to_string(),
        ..Draft::cong_van(org(from, "Ủy ban nhân dân huyện Cẩm Xuyên"), to, signer)
    }
    .metadata_at(created)
}

/// A valid công văn from H99.01 to H99.01.01, made now.
pub fn metadata() -> Metadata {
    metadata_at("H99.01", &["H99.01.01"], OffsetDateTime::now_utc())
}

/// Writes each `(name, bytes)` as a file under `dir/src/` and creates a
/// dispatch at `dir/<file>` with them attached under those names.
pub fn new_dispatch(
    dir: &Path,
    file: &str,
    meta: &Metadata,
    attachments: &[(&str, &[u8])],
) -> PathBuf {
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let mut sources = Vec::new();
    for (i, (name, bytes)) in attachments.iter().enumerate() {
        let path = src.join(format!("{i}.bin"));
        std::fs::write(&path, bytes).unwrap();
        sources.push(AttachmentSource {
            path,
            name: Some(name.to_string()),
            media_type: None,
        });
    }
    let out = dir.join(file);
    create_dispatch(meta, &sources, &out, &mut |_| {}).unwrap();
    out
}

/// A dispatch from H99.01 to H99.01.01 with one PDF, made now.
pub fn simple_dispatch(dir: &Path, file: &str) -> PathBuf {
    new_dispatch(
        dir,
        file,
        &metadata(),
        &[("cong-van.pdf", b"%PDF-1.7 thu nghiem\n")],
    )
}

/// Signs the file with `sign_dispatch` at `at`, panicking on refusal.
pub fn sign_at(
    file: &Path,
    cred: &Credential,
    role: congvan_envelope::SignatureRole,
    at: OffsetDateTime,
) {
    let mut envelope = Envelope::open(file).unwrap();
    sign_in(&mut envelope, cred, role, at).unwrap();
}

/// Signs the file now.
pub fn sign(file: &Path, cred: &Credential, role: congvan_envelope::SignatureRole) {
    sign_at(file, cred, role, OffsetDateTime::now_utc());
}

/// Signs an open envelope in `role` at `at`, with no extra chain and no
/// progress: the signing step most tests take.
pub fn sign_in(
    envelope: &mut Envelope,
    cred: &Credential,
    role: congvan_envelope::SignatureRole,
    at: OffsetDateTime,
) -> Result<congvan_envelope::SignatureSummary, congvan_envelope::Error> {
    sign_dispatch(envelope, cred, &[], role, at, &mut |_| {})
}

/// Signs the file in `role` at `at` with a signature timestamp that the
/// authority `tsa` issues at `stamped_at` (a TSA answering then), its reply
/// checked under `trust` as the signer's tool checks it (or, with `None`,
/// taken unchecked, as a careless or hostile signer would).
pub fn sign_timestamped(
    file: &Path,
    cred: &Credential,
    role: congvan_envelope::SignatureRole,
    at: OffsetDateTime,
    tsa: &congvan_tsa::Authority,
    stamped_at: OffsetDateTime,
    trust: Option<&TrustStore>,
) {
    let mut envelope = Envelope::open(file).unwrap();
    let mut stamp = |imprint: &congvan_tsa::Imprint| {
        let request = congvan_tsa::TimestampRequest::new(imprint).unwrap();
        let reply = tsa.respond(&request.der, stamped_at);
        Ok(match trust {
            Some(trust) => congvan_tsa::check_reply(&reply, &request, trust).unwrap().0,
            None => congvan_tsa::granted_token(&reply).unwrap(),
        })
    };
    congvan_envelope::sign_dispatch_with(
        &mut envelope,
        cred,
        &[],
        role,
        at,
        &mut |_| {},
        Some(&mut stamp),
    )
    .unwrap();
}

/// Verifies the file at `now`.
pub fn verify_at(file: &Path, trust: &TrustStore, now: OffsetDateTime) -> VerificationReport {
    let mut envelope = Envelope::open(file).unwrap();
    verify_dispatch(&mut envelope, trust, now, &mut |_| {}).unwrap()
}

/// Verifies the file now.
pub fn verify(file: &Path, trust: &TrustStore) -> VerificationReport {
    verify_at(file, trust, OffsetDateTime::now_utc())
}

/// Overall indication and sub-indication.
pub fn overall(report: &VerificationReport) -> (Indication, Option<SubIndication>) {
    (report.indication, report.sub_indication)
}

/// Indication and sub-indication of signature `i`.
pub fn of_signature(report: &VerificationReport, i: usize) -> (Indication, Option<SubIndication>) {
    let s = &report.signatures[i];
    (s.indication, s.sub_indication)
}

/// Asserts the dispatch and every one of its `n` signatures PASSED.
pub fn assert_all_passed(report: &VerificationReport, n: usize) {
    assert_eq!(report.signatures.len(), n, "{report}");
    for (i, sig) in report.signatures.iter().enumerate() {
        assert_eq!(
            (sig.indication, sig.sub_indication),
            (Indication::Passed, None),
            "signature {} ({:?}): {}\n{report}",
            i + 1,
            sig.role,
            sig.detail
        );
    }
    assert_eq!(overall(report), (Indication::Passed, None), "{report}");
}

/// The decoded signature digests of every signature in the file, in order.
pub fn signature_digests(file: &Path) -> Vec<String> {
    let envelope = Envelope::open(file).unwrap();
    envelope
        .signatures()
        .iter()
        .map(|s| s.jws.signature_digest(&s.entry).unwrap())
        .collect()
}

/// A custody receipt by `relay` (of organization `relay_org`) at `time`,
/// covering `signatures`, for the dispatch in `file`.
pub fn custody_receipt(
    file: &Path,
    relay: &Credential,
    relay_org: &str,
    signatures: Vec<String>,
    time: OffsetDateTime,
) -> Jws {
    let envelope = Envelope::open(file).unwrap();
    let statement = Statement::Custody {
        dispatch_id: envelope.metadata().id.clone(),
        manifest_sha256: envelope.manifest().digest().unwrap(),
        signatures,
        relay: OrgId::parse(relay_org).unwrap(),
        relay_name: format!("relay-{relay_org}"),
        time: utc_text(time),
    };
    make_receipt(&statement, relay).unwrap()
}

/// Appends a receipt to the file.
pub fn append(file: &Path, jws: &Jws) {
    let mut envelope = Envelope::open(file).unwrap();
    congvan_envelope::append_receipt(&mut envelope, jws).unwrap();
}

/// The certificate of a credential.
pub fn cert_of(cred: &Credential) -> Certificate {
    cred.cert().clone()
}

/// Copies `src` to `dst` entry by entry (same order, same compression),
/// passing each entry through `change`, which may replace its bytes or drop
/// it (`None`). The result is a well-formed ZIP with correct CRCs, as a
/// forger would make it.
pub fn rewrite_container(
    src: &Path,
    dst: &Path,
    change: impl FnMut(&str, Vec<u8>) -> Option<Vec<u8>>,
) {
    rewrite_container_with(src, dst, change, |_, method| method);
}

/// [`rewrite_container`], choosing each entry's compression from its name
/// and original method.
pub fn rewrite_container_with(
    src: &Path,
    dst: &Path,
    mut change: impl FnMut(&str, Vec<u8>) -> Option<Vec<u8>>,
    compression: impl Fn(&str, zip::CompressionMethod) -> zip::CompressionMethod,
) {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut writer = zip::ZipWriter::new(std::fs::File::create(dst).unwrap());
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().to_string();
        let method = compression(&name, entry.compression());
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if let Some(bytes) = change(&name, bytes) {
            writer
                .start_file(
                    name.as_str(),
                    zip::write::SimpleFileOptions::default().compression_method(method),
                )
                .unwrap();
            writer.write_all(&bytes).unwrap();
        }
    }
    writer.finish().unwrap();
}

/// Now, minus some days.
pub fn days_ago(days: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() - Duration::days(days)
}
