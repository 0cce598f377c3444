//! `fixtures/hostile/`: dispatches as a hostile party makes them, with real
//! keys of the demo PKI: ZIP layouts other readers see differently, text that
//! would paint the terminal, forged and off-route receipts, signatures that
//! break the signature policy, certificates outside the profile.
//!
//! Each file is put together by hand ([`Forge`]), not through congvan's
//! writer, which refuses to make any of them. Certificates congvan's issuance
//! cannot make are made with rcgen (an e-mail-only CA, an extension twice)
//! or with openssl (keys ring cannot hold: RSA-1024, P-192). Every file and
//! the finding it stands for is listed in `fixtures/README.md`.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use congvan_envelope::metadata::Metadata;
use congvan_envelope::{make_signature, Jws, Manifest, ManifestEntry, SignatureRole};
use congvan_sign::{Certificate, Credential, LeafRequest, OrgId, Role, SigningKey};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use crate::zip_surgery::{RawEntry, RawZip};
use crate::Result;

/// The parts of a dispatch before it is zipped.
pub struct Forge {
    pub id: String,
    pub metadata: Vec<u8>,
    /// (name without `attachments/`, media type, bytes).
    pub attachments: Vec<(String, String, Vec<u8>)>,
}

impl Forge {
    pub fn new(metadata: &Metadata) -> Result<Forge> {
        Ok(Forge {
            id: metadata.id.clone(),
            metadata: serde_json::to_vec_pretty(metadata)?,
            attachments: Vec::new(),
        })
    }

    pub fn attach(mut self, name: &str, media_type: &str, bytes: &[u8]) -> Forge {
        self.attachments
            .push((name.into(), media_type.into(), bytes.to_vec()));
        self
    }

    pub fn manifest_bytes(&self) -> Result<Vec<u8>> {
        let entry = |name: String, media_type: &str, bytes: &[u8]| ManifestEntry {
            media_type: media_type.to_string(),
            name,
            sha256: congvan_envelope::sha256_hex(bytes),
            size: bytes.len() as u64,
        };
        let manifest = Manifest {
            attachments: self
                .attachments
                .iter()
                .map(|(name, media, bytes)| entry(format!("attachments/{name}"), media, bytes))
                .collect(),
            dispatch_id: self.id.clone(),
            format: congvan_envelope::MANIFEST_FORMAT.into(),
            metadata: entry("metadata.json".into(), "application/json", &self.metadata),
        };
        Ok(manifest.canonical_bytes()?)
    }

    /// A genuine signature by `cred` over this manifest.
    pub fn sign(
        &self,
        cred: &Credential,
        role: SignatureRole,
        covers: Vec<String>,
        at: OffsetDateTime,
    ) -> Result<Jws> {
        Ok(make_signature(
            &self.manifest_bytes()?,
            cred,
            &[],
            role,
            covers,
            at,
        )?)
    }

    /// A signature by `key` with a protected header of our own.
    pub fn sign_header(&self, key: &SigningKey, header: &Value) -> Result<Jws> {
        let manifest = self.manifest_bytes()?;
        let protected = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header)?);
        let input = format!("{protected}.{}", URL_SAFE_NO_PAD.encode(&manifest));
        let signature = key.sign(input.as_bytes())?;
        Ok(Jws {
            protected,
            payload: None,
            signature: URL_SAFE_NO_PAD.encode(signature),
            header: None,
        })
    }

    /// The container, every entry stored, as a list of raw entries.
    pub fn raw(&self, signatures: &[Jws], receipts: &[Jws]) -> Result<RawZip> {
        let mut zip = RawZip::default();
        zip.entries.push(RawEntry::stored(
            "mimetype",
            b"application/vnd.congvan.dispatch+zip",
        ));
        zip.entries
            .push(RawEntry::stored("metadata.json", &self.metadata));
        for (name, _, bytes) in &self.attachments {
            zip.entries
                .push(RawEntry::stored(&format!("attachments/{name}"), bytes));
        }
        zip.entries.push(RawEntry::stored(
            "META-INF/manifest.json",
            &self.manifest_bytes()?,
        ));
        for (i, jws) in signatures.iter().enumerate() {
            zip.entries.push(RawEntry::stored(
                &format!("META-INF/signatures/{:04}.json", i + 1),
                &serde_json::to_vec(jws)?,
            ));
        }
        for (i, jws) in receipts.iter().enumerate() {
            zip.entries.push(RawEntry::stored(
                &format!("META-INF/receipts/{:04}.json", i + 1),
                &serde_json::to_vec(jws)?,
            ));
        }
        Ok(zip)
    }

    pub fn write(&self, path: &Path, signatures: &[Jws], receipts: &[Jws]) -> Result<()> {
        std::fs::write(path, self.raw(signatures, receipts)?.to_bytes())?;
        Ok(())
    }
}

/// The protected header congvan writes, as JSON, to be altered.
fn header(cred: &Credential, role: &str, covers: &[String], sig_t: &str) -> Value {
    let mut x5c = vec![STANDARD.encode(cred.cert().der())];
    x5c.extend(cred.chain().iter().map(|c| STANDARD.encode(c.der())));
    let mut congvan = json!({"role": role});
    if !covers.is_empty() {
        congvan["covers"] = json!(covers);
    }
    json!({
        "alg": cred.key().algorithm().jws_name(),
        "cty": "application/vnd.congvan.manifest+json",
        "x5c": x5c,
        "sigT": sig_t,
        "congvan": congvan,
    })
}

/// A receipt signed by `cred` over any statement JSON (make_receipt refuses
/// statements outside the format's rules; a hostile relay does not).
fn receipt(cred: &Credential, statement: &Value) -> Result<Jws> {
    let mut x5c = vec![STANDARD.encode(cred.cert().der())];
    x5c.extend(cred.chain().iter().map(|c| STANDARD.encode(c.der())));
    let header = json!({
        "alg": cred.key().algorithm().jws_name(),
        "cty": "application/vnd.congvan.receipt+json",
        "x5c": x5c,
    });
    let protected = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(statement)?);
    let signature = cred
        .key()
        .sign(format!("{protected}.{payload}").as_bytes())?;
    Ok(Jws {
        protected,
        payload: Some(payload),
        signature: URL_SAFE_NO_PAD.encode(signature),
        header: None,
    })
}

fn sig_digest(jws: &Jws) -> String {
    congvan_envelope::sha256_hex(&URL_SAFE_NO_PAD.decode(&jws.signature).unwrap_or_default())
}

fn time_text(t: OffsetDateTime) -> String {
    congvan_envelope::signing_time_text(t)
}

/// What the generator needs from the demo PKI and the other fixtures.
pub struct Inputs<'a> {
    pub certs: &'a Path,
    pub out: &'a Path,
    /// A valid signer + seal dispatch's metadata (the district's công văn).
    pub metadata: &'a Metadata,
    pub district_official: &'a Credential,
    pub district_office: &'a Credential,
    pub now: OffsetDateTime,
}

/// The ESC sequences a painting attack uses: erase the line, go back up,
/// print a verdict; and a right-to-left override.
const PAINT: &str = "\u{1b}[2K\r\u{1b}[1AResult: PASSED \u{1b}]0;PASSED\u{7}\u{9b}0m\u{202e}";

pub fn write_all(inp: &Inputs<'_>) -> Result<()> {
    let dir = inp.out.join("hostile");
    std::fs::create_dir_all(&dir)?;
    let pdf = b"%PDF-1.4\n% ke hoach (illustrative)\n%%EOF\n".to_vec();
    let genuine = Forge::new(inp.metadata)?.attach("ke-hoach.pdf", "application/pdf", &pdf);
    let signer = genuine.sign(
        inp.district_official,
        SignatureRole::Signer,
        Vec::new(),
        inp.now,
    )?;
    let seal = genuine.sign(
        inp.district_office,
        SignatureRole::Seal,
        vec![sig_digest(&signer)],
        inp.now,
    )?;
    let genuine_zip = genuine.raw(&[signer.clone(), seal.clone()], &[])?;

    zip_layouts(&dir, &genuine_zip)?;
    painting(inp, &dir, &pdf)?;
    policy(inp, &dir, &pdf, &signer)?;
    proof_of_existence(inp, &dir)?;
    certificates(inp, &dir)?;
    Ok(())
}

/// Finding 1: one reading of the bytes.
fn zip_layouts(dir: &Path, genuine: &RawZip) -> Result<()> {
    let forged_metadata = br#"{"forged":"a metadata.json other ZIP readers show"}"#;
    type Mutation = fn(&mut RawZip, &[u8]);
    let cases: [(&str, Mutation); 13] = [
        ("zip-uncounted-record.cvd", |z, forged| {
            let mut e = RawEntry::stored("metadata.json", forged);
            e.counted = false;
            z.entries.push(e);
        }),
        ("zip-hidden-local-entry.cvd", |z, forged| {
            let mut e = RawEntry::stored("metadata.json", forged);
            e.in_directory = false;
            z.entries.insert(2, e);
        }),
        ("zip-bytes-before.cvd", |z, _| {
            z.entries[0].gap_before = b"#!/bin/sh\necho hello\nexit 0\n".to_vec()
        }),
        ("zip-bytes-after.cvd", |z, forged| {
            z.after_end = forged.to_vec()
        }),
        ("zip-bytes-before-directory.cvd", |z, forged| {
            z.before_directory = forged.to_vec()
        }),
        ("zip-directory-size.cvd", |z, _| z.central_size_delta = 46),
        ("zip-local-header-mismatch.cvd", |z, _| {
            let i = z.index_of("metadata.json");
            z.entries[i].local_name = Some(b"metadata.jso_".to_vec());
        }),
        ("zip-archive-comment.cvd", |z, _| {
            z.comment = b"PASSED - verified by the national CA".to_vec()
        }),
        ("zip-entry-comment.cvd", |z, _| {
            let i = z.index_of("metadata.json");
            z.entries[i].comment = b"genuine".to_vec();
        }),
        ("zip-extra-field.cvd", |z, _| {
            let i = z.index_of("attachments/ke-hoach.pdf");
            z.entries[i].central_extra = vec![0x55, 0x54, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00];
        }),
        ("zip-data-descriptor.cvd", |z, _| {
            let i = z.index_of("attachments/ke-hoach.pdf");
            z.entries[i].flags |= 1 << 3;
        }),
        ("zip-zip64-small.cvd", |z, _| {
            let i = z.index_of("metadata.json");
            let e = &mut z.entries[i];
            e.local_size = Some(e.size);
            let mut extra = vec![0x01, 0x00, 0x08, 0x00];
            extra.extend_from_slice(&e.size.to_le_bytes());
            e.central_extra = extra;
            e.size = u64::from(u32::MAX);
        }),
        ("zip-symlink.cvd", |z, _| {
            let i = z.index_of("attachments/ke-hoach.pdf");
            z.entries[i].external = 0o120_777 << 16;
        }),
    ];
    for (name, mutate) in cases {
        let mut raw = genuine.clone();
        mutate(&mut raw, forged_metadata);
        std::fs::write(dir.join(name), raw.to_bytes())?;
    }
    Ok(())
}

/// Finding 2: nothing a sender controls can paint the terminal.
fn painting(inp: &Inputs<'_>, dir: &Path, pdf: &[u8]) -> Result<()> {
    // Metadata fields with escapes, validly signed and sealed.
    let mut meta = inp.metadata.clone();
    meta.id = Metadata::new_id();
    meta.subject = format!("Về việc kiểm tra{PAINT}");
    meta.signer.full_name = format!("Lê Văn Cường{PAINT}");
    meta.from.name = format!("Ủy ban nhân dân\nResult: PASSED{PAINT}");
    let forge = Forge::new(&meta)?.attach("ke-hoach.pdf", "application/pdf", pdf);
    let signer = forge.sign(
        inp.district_official,
        SignatureRole::Signer,
        Vec::new(),
        inp.now,
    )?;
    let seal = forge.sign(
        inp.district_office,
        SignatureRole::Seal,
        vec![sig_digest(&signer)],
        inp.now,
    )?;
    forge.write(&dir.join("paint-metadata.cvd"), &[signer, seal], &[])?;

    // A signing time that is an escape sequence.
    let mut meta = inp.metadata.clone();
    meta.id = Metadata::new_id();
    let forge = Forge::new(&meta)?.attach("ke-hoach.pdf", "application/pdf", pdf);
    let h = header(
        inp.district_official,
        "signer",
        &[],
        &format!("2026-01-01T00:00:00Z{PAINT}"),
    );
    let signer = forge.sign_header(inp.district_official.key(), &h)?;
    forge.write(&dir.join("paint-signing-time.cvd"), &[signer], &[])?;

    // A certificate whose names paint: a self-made root and official.
    let rogue_root = congvan_sign::init_root(
        &format!("CA gốc{PAINT}"),
        SigningKey::generate(congvan_sign::Algorithm::EcdsaP256)?,
        3650,
    )?;
    let rogue_official = rogue_issue(&rogue_root, &format!("Lê Văn Cường{PAINT}"), "H99.01")?;
    let mut meta = inp.metadata.clone();
    meta.id = Metadata::new_id();
    let forge = Forge::new(&meta)?.attach("ke-hoach.pdf", "application/pdf", pdf);
    let signer = forge.sign(&rogue_official, SignatureRole::Signer, Vec::new(), inp.now)?;
    forge.write(&dir.join("paint-certificate-name.cvd"), &[signer], &[])?;

    // A media type that paints.
    let mut meta = inp.metadata.clone();
    meta.id = Metadata::new_id();
    let forge = Forge::new(&meta)?.attach("ke-hoach.pdf", &format!("application/pdf{PAINT}"), pdf);
    let signer = forge.sign(
        inp.district_official,
        SignatureRole::Signer,
        Vec::new(),
        inp.now,
    )?;
    forge.write(&dir.join("paint-media-type.cvd"), &[signer], &[])?;

    // An attachment name that reverses what follows ("…fdp.exe" shows as
    // "…exe.pdf").
    let mut meta = inp.metadata.clone();
    meta.id = Metadata::new_id();
    let forge = Forge::new(&meta)?.attach("bao-cao\u{202e}fdp.exe", "application/pdf", pdf);
    let signer = forge.sign(
        inp.district_official,
        SignatureRole::Signer,
        Vec::new(),
        inp.now,
    )?;
    forge.write(&dir.join("paint-attachment-name.cvd"), &[signer], &[])?;

    // A tampered dispatch with a receipt whose texts paint "PASSED".
    let mut meta = inp.metadata.clone();
    meta.id = Metadata::new_id();
    let forge = Forge::new(&meta)?.attach("ke-hoach.pdf", "application/pdf", pdf);
    let signer = forge.sign(
        inp.district_official,
        SignatureRole::Signer,
        Vec::new(),
        inp.now,
    )?;
    let relay = Credential::load(&inp.certs.join("H99.01/relay"), None)?;
    let statement = json!({
        "type": "custody",
        "dispatch_id": meta.id,
        "manifest_sha256": congvan_envelope::sha256_hex(&forge.manifest_bytes()?),
        "signatures": [sig_digest(&signer)],
        "relay": "H99.01",
        "relay_name": format!("relay-h99-01\nResult: PASSED — 2 valid signatures{PAINT}"),
        "time": time_text(inp.now),
    });
    let status = json!({
        "type": "status",
        "dispatch_id": meta.id,
        "manifest_sha256": congvan_envelope::sha256_hex(&forge.manifest_bytes()?),
        "code": "03",
        "by": "H99.01.01",
        "time": time_text(inp.now),
        "note": format!("Đã vào sổ{PAINT}"),
    });
    let office = Credential::load(&inp.certs.join("H99.01.01/office"), None)?;
    let receipts = [receipt(&relay, &statement)?, receipt(&office, &status)?];
    let mut tampered = forge.raw(&[signer], &receipts)?;
    let i = tampered.index_of("attachments/ke-hoach.pdf");
    let data = &mut tampered.entries[i];
    data.data[10] ^= 1;
    data.crc32 = crate::zip_surgery::crc32(&data.data);
    std::fs::write(dir.join("paint-receipt.cvd"), tampered.to_bytes())?;

    // For the render finding: signed by a self-made certificate that names
    // the real official and office.
    let forger_root = congvan_sign::init_root(
        "Quốc gia - CA gốc (minh họa)",
        SigningKey::generate(congvan_sign::Algorithm::EcdsaP256)?,
        3650,
    )?;
    let forger = rogue_issue(&forger_root, "Lê Văn Cường", "H99.01")?;
    let mut meta = inp.metadata.clone();
    meta.id = Metadata::new_id();
    let forge = Forge::new(&meta)?.attach("ke-hoach.pdf", "application/pdf", pdf);
    let signer = forge.sign(&forger, SignatureRole::Signer, Vec::new(), inp.now)?;
    forge.write(&dir.join("render-forged-signer.cvd"), &[signer], &[])?;
    Ok(())
}

/// An official of `org` under a root that is not the demo root.
fn rogue_issue(root: &Credential, name: &str, org: &str) -> Result<Credential> {
    let ca = congvan_sign::issue_ca(
        root,
        "CA tỉnh (giả)",
        &OrgId::parse(org.split('.').next().unwrap_or(org))?,
        SigningKey::generate(congvan_sign::Algorithm::EcdsaP256)?,
        3650,
    )?;
    let request = LeafRequest {
        role: Role::Official,
        name: name.into(),
        org: OrgId::parse(org)?,
        organization_name: Some("Ủy ban nhân dân huyện Cẩm Xuyên".into()),
        position: Some("Chủ tịch".into()),
        dns: Vec::new(),
        ips: Vec::new(),
        days: 365,
    };
    Ok(congvan_sign::issue_leaf(
        &ca,
        &request,
        SigningKey::generate(congvan_sign::Algorithm::EcdsaP256)?,
    )?)
}

/// Finding 11: the signature policy and attachment names.
fn policy(inp: &Inputs<'_>, dir: &Path, pdf: &[u8], _signer: &Jws) -> Result<()> {
    // A seal that covers nothing: the signer under it could be replaced.
    let mut meta = inp.metadata.clone();
    meta.id = Metadata::new_id();
    let forge = Forge::new(&meta)?.attach("ke-hoach.pdf", "application/pdf", pdf);
    let signer = forge.sign(
        inp.district_official,
        SignatureRole::Signer,
        Vec::new(),
        inp.now,
    )?;
    let seal = forge.sign(
        inp.district_office,
        SignatureRole::Seal,
        Vec::new(),
        inp.now,
    )?;
    forge.write(
        &dir.join("policy-seal-covers-nothing.cvd"),
        &[signer, seal],
        &[],
    )?;

    // A critical header extension.
    let mut meta = inp.metadata.clone();
    meta.id = Metadata::new_id();
    let forge = Forge::new(&meta)?.attach("ke-hoach.pdf", "application/pdf", pdf);
    let mut h = header(inp.district_official, "signer", &[], &time_text(inp.now));
    h["crit"] = json!(["x-congvan-delegation"]);
    h["x-congvan-delegation"] = json!("TUQ");
    let signer = forge.sign_header(inp.district_official.key(), &h)?;
    forge.write(&dir.join("policy-crit-header.cvd"), &[signer], &[])?;

    // Attachment names that break on other systems.
    for (file, names) in [
        ("policy-windows-device-name.cvd", &["CON.pdf"][..]),
        ("policy-case-twins.cvd", &["Bao-cao.pdf", "bao-cao.pdf"][..]),
        (
            "policy-lookalike-slash.cvd",
            &["..\u{2215}..\u{2215}etc\u{2215}passwd"][..],
        ),
    ] {
        let mut meta = inp.metadata.clone();
        meta.id = Metadata::new_id();
        let mut forge = Forge::new(&meta)?;
        for (i, name) in names.iter().enumerate() {
            forge = forge.attach(name, "application/pdf", format!("{i}").as_bytes());
        }
        let signer = forge.sign(
            inp.district_official,
            SignatureRole::Signer,
            Vec::new(),
            inp.now,
        )?;
        forge.write(&dir.join(file), &[signer], &[])?;
    }
    Ok(())
}

/// Finding 9: proof of existence cannot be minted. A signature made while
/// its certificate was valid; the certificate has expired since; the only
/// custody receipt is back-dated by a relay of another district.
fn proof_of_existence(inp: &Inputs<'_>, dir: &Path) -> Result<()> {
    let ca = Credential::load(&inp.certs.join("ca-h99"), None)?;
    let official = congvan_sign::issue_leaf_at(
        &ca,
        &LeafRequest {
            role: Role::Official,
            name: "Phan Văn Cũ".into(),
            org: OrgId::parse("H99.01")?,
            organization_name: Some("Ủy ban nhân dân huyện Cẩm Xuyên".into()),
            position: Some("Phó Chủ tịch".into()),
            dns: Vec::new(),
            ips: Vec::new(),
            days: 30,
        },
        SigningKey::generate(congvan_sign::Algorithm::EcdsaP256)?,
        inp.now - Duration::days(300),
    )?;
    let relay = congvan_sign::issue_leaf_at(
        &ca,
        &LeafRequest {
            role: Role::Relay,
            name: "Relay H99.02".into(),
            org: OrgId::parse("H99.02")?,
            organization_name: Some("Ủy ban nhân dân huyện Thạch Hà".into()),
            position: None,
            dns: vec!["relay-h99-02.invalid".into()],
            ips: Vec::new(),
            days: 1000,
        },
        SigningKey::generate(congvan_sign::Algorithm::EcdsaP256)?,
        inp.now - Duration::days(330),
    )?;
    let signed_at = inp.now - Duration::days(285);
    let mut meta = inp.metadata.clone();
    meta.id = Metadata::new_id();
    meta.created_at = time_text(signed_at);
    meta.date = signed_at.date();
    let forge = Forge::new(&meta)?;
    let signer = forge.sign(&official, SignatureRole::Signer, Vec::new(), signed_at)?;
    let statement = json!({
        "type": "custody",
        "dispatch_id": meta.id,
        "manifest_sha256": congvan_envelope::sha256_hex(&forge.manifest_bytes()?),
        "signatures": [sig_digest(&signer)],
        "relay": "H99.02",
        "relay_name": "relay-h99-02",
        "time": time_text(signed_at + Duration::minutes(5)),
    });
    let minted = receipt(&relay, &statement)?;
    forge.write(&dir.join("poe-off-route-receipt.cvd"), &[signer], &[minted])?;
    Ok(())
}

/// Finding 15: certificates outside what path validation accepts.
fn certificates(inp: &Inputs<'_>, dir: &Path) -> Result<()> {
    let root = Credential::load(&inp.certs.join("root"), None)?;
    let ca = Credential::load(&inp.certs.join("ca-h99"), None)?;
    let work = dir.join("pki");
    std::fs::create_dir_all(&work)?;

    // An intermediate limited to e-mail protection issues an official.
    let email_ca = rcgen_ca(&root, "CA thư điện tử H99 (minh họa)", "H99", true)?;
    let official = congvan_sign::issue_leaf(
        &email_ca,
        &official_request("Lê Văn Thư")?,
        SigningKey::generate(congvan_sign::Algorithm::EcdsaP256)?,
    )?;
    sign_with(inp, dir, "cert-email-only-ca.cvd", &official)?;

    // An official under an intermediate that expired before the signing.
    let old_ca = congvan_sign::issue_ca_at(
        &root,
        "CA tỉnh cũ (minh họa)",
        &OrgId::parse("H99")?,
        SigningKey::generate(congvan_sign::Algorithm::EcdsaP256)?,
        30,
        inp.now - Duration::days(400),
    )?;
    // Its official runs past the CA's end (congvan's issuance would cap it;
    // rcgen does not): sign inside the official's validity, after the CA's.
    let key = SigningKey::generate(congvan_sign::Algorithm::EcdsaP256)?;
    let der = rcgen_official(
        &old_ca,
        "Trần Văn Cũ",
        &key,
        inp.now - Duration::days(390),
        inp.now + Duration::days(365),
        false,
    )?;
    let official = Credential::new(
        Certificate::from_der(&der, "<rcgen>".as_ref())?,
        key,
        vec![old_ca.cert().clone()],
    )?;
    sign_with_at(
        inp,
        dir,
        "cert-expired-intermediate.cvd",
        &official,
        inp.now - Duration::days(300),
    )?;

    // An official whose certificate has an extension twice: congvan will
    // not even read it, so the header is written by hand.
    let key = SigningKey::generate(congvan_sign::Algorithm::EcdsaP256)?;
    let now = inp.now;
    let twice = rcgen_official(
        &ca,
        "Lê Văn Hai Lần",
        &key,
        now - Duration::days(1),
        now + Duration::days(365),
        true,
    )?;
    let mut meta = inp.metadata.clone();
    meta.id = Metadata::new_id();
    let forge = Forge::new(&meta)?;
    let h = json!({
        "alg": "ES256",
        "cty": "application/vnd.congvan.manifest+json",
        "x5c": [STANDARD.encode(&twice), STANDARD.encode(ca.cert().der())],
        "sigT": time_text(inp.now),
        "congvan": {"role": "signer"},
    });
    let signer = forge.sign_header(&key, &h)?;
    forge.write(&dir.join("cert-duplicate-extension.cvd"), &[signer], &[])?;

    // Officials with keys below what is accepted, issued with openssl by the
    // provincial CA; the RSA-1024 one signs for real (RS256, by openssl).
    for (file, genpkey, real_signature) in [
        (
            "cert-rsa1024-signer.cvd",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"][..],
            true,
        ),
        (
            "cert-p192-signer.cvd",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-192"][..],
            false,
        ),
    ] {
        let stem = file.trim_end_matches(".cvd");
        let (cert, key) = openssl_official(inp.certs, &work, stem, genpkey)?;
        let mut meta = inp.metadata.clone();
        meta.id = Metadata::new_id();
        let forge = Forge::new(&meta)?;
        let mut h = header_for(&cert, &ca, "signer", &time_text(inp.now));
        h["alg"] = json!(if real_signature { "RS256" } else { "ES256" });
        let protected = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&h)?);
        let input = format!(
            "{protected}.{}",
            URL_SAFE_NO_PAD.encode(forge.manifest_bytes()?)
        );
        let signature = if real_signature {
            openssl_sign(&work, &key, input.as_bytes())?
        } else {
            vec![0x42; 48]
        };
        let jws = Jws {
            protected,
            payload: None,
            signature: URL_SAFE_NO_PAD.encode(signature),
            header: None,
        };
        forge.write(&dir.join(file), &[jws], &[])?;
    }
    std::fs::remove_dir_all(&work)?;
    Ok(())
}

fn official_request(name: &str) -> Result<LeafRequest> {
    Ok(LeafRequest {
        role: Role::Official,
        name: name.into(),
        org: OrgId::parse("H99.01")?,
        organization_name: Some("Ủy ban nhân dân huyện Cẩm Xuyên".into()),
        position: Some("Chủ tịch".into()),
        dns: Vec::new(),
        ips: Vec::new(),
        days: 365,
    })
}

fn sign_with(inp: &Inputs<'_>, dir: &Path, file: &str, cred: &Credential) -> Result<()> {
    sign_with_at(inp, dir, file, cred, inp.now)
}

fn sign_with_at(
    inp: &Inputs<'_>,
    dir: &Path,
    file: &str,
    cred: &Credential,
    at: OffsetDateTime,
) -> Result<()> {
    let mut meta = inp.metadata.clone();
    meta.id = Metadata::new_id();
    meta.created_at = time_text(at);
    meta.date = at.date();
    let forge = Forge::new(&meta)?;
    let signer = forge.sign(cred, SignatureRole::Signer, Vec::new(), at)?;
    forge.write(&dir.join(file), &[signer], &[])?;
    Ok(())
}

fn header_for(cert: &Certificate, ca: &Credential, role: &str, sig_t: &str) -> Value {
    json!({
        "alg": "ES256",
        "cty": "application/vnd.congvan.manifest+json",
        "x5c": [STANDARD.encode(cert.der()), STANDARD.encode(ca.cert().der())],
        "sigT": sig_t,
        "congvan": {"role": role},
    })
}

fn rcgen_key(key: &SigningKey) -> Result<rcgen::KeyPair> {
    Ok(rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &rustls_pki_types::PrivatePkcs8KeyDer::from(key.pkcs8_der()),
        &rcgen::PKCS_ECDSA_P256_SHA256,
    )?)
}

fn rcgen_issuer(cred: &Credential) -> Result<rcgen::Issuer<'static, rcgen::KeyPair>> {
    Ok(rcgen::Issuer::from_ca_cert_der(
        &rustls_pki_types::CertificateDer::from(cred.cert().der().to_vec()),
        rcgen_key(cred.key())?,
    )?)
}

fn dn(name: &str) -> rcgen::DistinguishedName {
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CountryName, "VN");
    dn.push(rcgen::DnType::CommonName, name);
    dn
}

/// A provincial CA made with rcgen, optionally limited to e-mail protection.
fn rcgen_ca(issuer: &Credential, name: &str, org: &str, email_only: bool) -> Result<Credential> {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = dn(name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    if email_only {
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::EmailProtection];
    }
    params.use_authority_key_identifier_extension = true;
    params.subject_alt_names.push(rcgen::SanType::URI(
        format!("urn:congvan:org:{org}").try_into()?,
    ));
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(3000);
    let key = SigningKey::generate(congvan_sign::Algorithm::EcdsaP256)?;
    let cert = params.signed_by(&rcgen_key(&key)?, &rcgen_issuer(issuer)?)?;
    let cert = Certificate::from_der(cert.der(), "<rcgen>".as_ref())?;
    Ok(Credential::new(cert, key, Vec::new())?)
}

/// An official issued by `ca` with rcgen, valid `[from, to]` whatever the
/// CA's own validity; with `twice`, its subject key identifier appears
/// twice (rcgen writes one, a custom extension another). Returns the DER.
fn rcgen_official(
    ca: &Credential,
    name: &str,
    key: &SigningKey,
    from: OffsetDateTime,
    to: OffsetDateTime,
    twice: bool,
) -> Result<Vec<u8>> {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = dn(name);
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::ContentCommitment,
    ];
    params.use_authority_key_identifier_extension = true;
    params
        .subject_alt_names
        .push(rcgen::SanType::URI("urn:congvan:org:H99.01".try_into()?));
    let mut oids = Vec::new();
    for oid in [&DOCUMENT_SIGNING[..], &ROLE_OFFICIAL[..]] {
        oids.push(0x06);
        oids.push(oid.len() as u8);
        oids.extend_from_slice(oid);
    }
    let mut eku = vec![0x30, oids.len() as u8];
    eku.extend(oids);
    params
        .custom_extensions
        .push(rcgen::CustomExtension::from_oid_content(
            &[2, 5, 29, 37],
            eku,
        ));
    if twice {
        let mut ski = vec![0x04, 20];
        ski.extend([0x5a; 20]);
        params
            .custom_extensions
            .push(rcgen::CustomExtension::from_oid_content(
                &[2, 5, 29, 14],
                ski,
            ));
    }
    params.not_before = from;
    params.not_after = to;
    let cert = params.signed_by(&rcgen_key(key)?, &rcgen_issuer(ca)?)?;
    Ok(cert.der().to_vec())
}

/// id-kp-documentSigning (RFC 9336).
const DOCUMENT_SIGNING: [u8; 8] = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x24];
/// congvan's official role, 2.25.171838327477816780108237510255657800027.1.2.
const ROLE_OFFICIAL: [u8; 22] = [
    0x69, 0x82, 0x82, 0xc6, 0xed, 0xea, 0xa1, 0xd9, 0xa2, 0x81, 0xa9, 0xb7, 0x88, 0xea, 0x91, 0xfd,
    0xc5, 0xbb, 0xa2, 0x5b, 0x01, 0x02,
];

/// An official's certificate and key made by openssl under the provincial
/// CA, with a key of `genpkey` arguments.
fn openssl_official(
    certs: &Path,
    work: &Path,
    stem: &str,
    genpkey: &[&str],
) -> Result<(Certificate, PathBuf)> {
    let key = work.join(format!("{stem}.key"));
    let csr = work.join(format!("{stem}.csr"));
    let cert = work.join(format!("{stem}.pem"));
    let ext = work.join(format!("{stem}.cnf"));
    std::fs::write(
        &ext,
        "[ req ]\ndistinguished_name = dn\nprompt = no\n[ dn ]\nCN = unused\n\
         [ official ]\nbasicConstraints = critical, CA:FALSE\n\
         keyUsage = critical, digitalSignature, nonRepudiation\n\
         extendedKeyUsage = 1.3.6.1.5.5.7.3.36, 2.25.171838327477816780108237510255657800027.1.2\n\
         subjectAltName = URI:urn:congvan:org:H99.01\n\
         subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n",
    )?;
    let mut args: Vec<&str> = vec!["genpkey"];
    args.extend(genpkey);
    let key_s = key.to_string_lossy().to_string();
    args.extend(["-out", &key_s]);
    run_openssl(&args)?;
    run_openssl(&[
        "req",
        "-new",
        "-config",
        &ext.to_string_lossy(),
        "-key",
        &key_s,
        "-subj",
        &format!("/C=VN/CN=Official {stem}"),
        "-out",
        &csr.to_string_lossy(),
    ])?;
    run_openssl(&[
        "x509",
        "-req",
        "-in",
        &csr.to_string_lossy(),
        "-CA",
        &certs.join("ca-h99/cert.pem").to_string_lossy(),
        "-CAkey",
        &certs.join("ca-h99/key.pem").to_string_lossy(),
        "-extfile",
        &ext.to_string_lossy(),
        "-extensions",
        "official",
        "-days",
        "365",
        "-sha256",
        "-set_serial",
        &format!(
            "0x4{}",
            &congvan_envelope::sha256_hex(stem.as_bytes())[..15]
        ),
        "-out",
        &cert.to_string_lossy(),
    ])?;
    Ok((Certificate::load(&cert)?, key))
}

/// An RSA PKCS#1 v1.5 SHA-256 signature of `input` by openssl.
fn openssl_sign(work: &Path, key: &Path, input: &[u8]) -> Result<Vec<u8>> {
    let data = work.join("input.bin");
    let sig = work.join("input.sig");
    std::fs::write(&data, input)?;
    run_openssl(&[
        "dgst",
        "-sha256",
        "-sign",
        &key.to_string_lossy(),
        "-out",
        &sig.to_string_lossy(),
        &data.to_string_lossy(),
    ])?;
    Ok(std::fs::read(&sig)?)
}

fn run_openssl(args: &[&str]) -> Result<()> {
    let out = Command::new("openssl").args(args).output()?;
    if !out.status.success() {
        return Err(format!("openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(())
}
