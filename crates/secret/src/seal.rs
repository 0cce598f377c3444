//! Sealing a signed dispatch for its recipients, and opening it again.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use congvan_envelope::{
    create_sealed, make_signature, Durability, Envelope, PartialFile, Routing, SealedEnvelope,
    SignatureRole,
};
use congvan_org::OrgId;
use congvan_sign::Credential;
use time::OffsetDateTime;

use crate::jwe::{Jwe, ProtectedHeader, StreamParams, CONTENT_ENCRYPTION, CONTENT_TYPE};
use crate::key_wrap::{key_management, KeyManagement};
use crate::keys::{DecryptionKey, Recipient};
use crate::stream::{CHUNK_SIZE, MAX_CHUNK_SIZE};
use crate::Error;

/// What [`seal_dispatch`] made.
#[derive(Clone, Debug)]
pub struct Sealed {
    /// The dispatch id.
    pub id: String,
    /// The offices that can decrypt it, in entry order.
    pub readers: Vec<OrgId>,
    /// Bytes of the inner dispatch (and of the ciphertext).
    pub size: u64,
}

/// Encrypts the signed dispatch at `inner` for `readers` (every recipient
/// office, and the sender office for its own archive: nobody else) and
/// writes a sealed container at `out`, sealed by `sender` (the issuing
/// office's seal credential) at `at`.
///
/// Refused: a dispatch without signatures, a reader list that leaves out
/// one of the dispatch's recipients or adds an office that is neither a
/// recipient nor the sender, and a seal credential of another office.
pub fn seal_dispatch(
    inner: &Path,
    readers: &[Recipient],
    sender: &Credential,
    expires_at: Option<OffsetDateTime>,
    at: OffsetDateTime,
    out: &Path,
) -> Result<Sealed, Error> {
    let envelope = Envelope::open(inner)?;
    if envelope.signatures().is_empty() {
        return Err(Error::Refused(
            "the dispatch is not signed: sign it before encrypting it (a recipient verifies \
             the dispatch inside)"
                .into(),
        ));
    }
    let metadata = envelope.metadata().clone();
    drop(envelope);
    let routing = Routing::of(&metadata, expires_at)?;
    if sender.cert().org() != Some(&routing.from) {
        return Err(Error::Refused(format!(
            "the outer container is sealed by the sending office {}, but this credential \
             belongs to {}",
            routing.from,
            sender
                .cert()
                .org()
                .map_or("no office".to_string(), |o| o.to_string())
        )));
    }
    for office in &routing.to {
        if !readers.iter().any(|r| r.org() == office) {
            return Err(Error::Refused(format!(
                "no encryption certificate was given for recipient {office}: it could not \
                 read the dispatch"
            )));
        }
    }
    for reader in readers {
        if reader.org() != &routing.from && !routing.to.contains(reader.org()) {
            return Err(Error::Refused(format!(
                "{} is neither a recipient nor the sender of this dispatch: only they may be \
                 able to read it",
                reader.org()
            )));
        }
    }

    let size = std::fs::metadata(inner)
        .map_err(|e| Error::io(inner, e))?
        .len();
    let cek: [u8; 32] = crate::random::bytes()?;
    let iv: [u8; 12] = crate::random::bytes()?;
    let algorithm: &dyn KeyManagement = &crate::key_wrap::EcdhEsA256Kw;
    let mut entries = Vec::with_capacity(readers.len());
    for reader in readers {
        entries.push(algorithm.wrap(&cek, reader)?);
    }
    let protected = ProtectedHeader {
        recipients_digest: Some(crate::jwe::recipients_digest(&entries)?),
        enc: CONTENT_ENCRYPTION.into(),
        cty: Some(CONTENT_TYPE.into()),
        stream: Some(StreamParams {
            chunk_size: CHUNK_SIZE,
            size,
        }),
        zip: None,
        crit: None,
    };
    let protected_b64 = crate::jwe::protected_b64(&protected)?;
    let routing_bytes = routing.to_bytes()?;
    let additional = format!("{protected_b64}.{}", crate::jwe::aad_b64(&routing_bytes));

    let mut input = BufReader::new(File::open(inner).map_err(|e| Error::io(inner, e))?);
    create_sealed(
        &routing,
        size,
        |w: &mut dyn std::io::Write| {
            let tags = crate::stream::encrypt(
                &mut input,
                size,
                CHUNK_SIZE,
                &cek,
                &iv,
                additional.as_bytes(),
                w,
            )?;
            crate::jwe::to_json(&protected_b64, entries, &routing_bytes, &iv, &tags)
                .map_err(std::io::Error::other)
        },
        |manifest: &[u8]| {
            make_signature(manifest, sender, &[], SignatureRole::Seal, Vec::new(), at)
        },
        out,
    )?;
    Ok(Sealed {
        id: routing.id,
        readers: readers.iter().map(|r| r.org().clone()).collect(),
        size,
    })
}

/// Reads a sealed container's JWE and checks that it is the one congvan
/// writes for this container: A256GCM in chunks, the routing header as
/// its additional data, a ciphertext of the declared size. A relay runs
/// this at ingress (it can check no more without a key).
pub fn check_structure(sealed: &SealedEnvelope) -> Result<Jwe, Error> {
    let jwe = Jwe::parse(sealed.jwe_bytes())?;
    if jwe.inline_ciphertext().is_some() {
        return Err(Error::Malformed(
            "jwe.json carries its ciphertext inline; in a sealed container it is ciphertext.bin"
                .into(),
        ));
    }
    let stream = jwe.protected().stream.ok_or_else(|| {
        Error::Malformed("the protected header has no congvan_stream parameters".into())
    })?;
    if stream.chunk_size == 0 || stream.chunk_size > MAX_CHUNK_SIZE {
        return Err(Error::Malformed(format!(
            "chunk_size {} is outside 1..={MAX_CHUNK_SIZE}",
            stream.chunk_size
        )));
    }
    if stream.size != sealed.ciphertext_size() {
        return Err(Error::Malformed(format!(
            "the JWE declares {} bytes of ciphertext, and ciphertext.bin holds {}",
            stream.size,
            sealed.ciphertext_size()
        )));
    }
    if jwe.protected().cty.as_deref() != Some(CONTENT_TYPE) {
        return Err(Error::Malformed(format!(
            "the content type is not {CONTENT_TYPE}"
        )));
    }
    if jwe.aad()?.as_deref() != Some(sealed.routing_bytes()) {
        return Err(Error::Malformed(
            "the JWE's additional data is not the routing header: the routing header was \
             changed after encryption"
                .into(),
        ));
    }
    if jwe.protected().recipients_digest.as_deref()
        != Some(crate::jwe::recipients_digest(jwe.recipients())?.as_str())
    {
        return Err(Error::Decryption(
            "the recipient list is not the one the sender encrypted for: an entry was \
             dropped, added or changed"
                .into(),
        ));
    }
    for entry in jwe.recipients() {
        if entry.header.x5t_s256.is_none() {
            return Err(Error::Malformed(
                "a recipient entry does not name its certificate (x5t#S256)".into(),
            ));
        }
        if key_management(&entry.header.alg).is_none() {
            return Err(Error::Unsupported(entry.header.alg.clone()));
        }
    }
    Ok(jwe)
}

/// Decrypts a sealed container with a reader's `key` into the dispatch
/// at `out` (written beside it first and renamed once complete, so a
/// failure leaves nothing), and checks that the dispatch inside is the
/// one the routing header routed. Returns the inner dispatch's id.
///
/// The inner dispatch is not verified here: the caller verifies it as it
/// would any dispatch.
pub fn open_sealed(
    sealed: &mut SealedEnvelope,
    key: &DecryptionKey,
    out: &Path,
) -> Result<String, Error> {
    let jwe = check_structure(sealed)?;
    let cek = jwe.content_key(key)?;
    let additional = jwe.additional_data();
    let size = jwe.size_hint();
    let chunk_size = jwe.chunk_size();
    let mut temp = PartialFile::new(out)?;
    let file = temp.create()?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    let mut reader = sealed.ciphertext()?;
    crate::stream::decrypt(
        &mut reader,
        size,
        chunk_size,
        &cek,
        jwe.iv(),
        &additional,
        jwe.tags(),
        &mut writer,
    )?;
    drop(reader);
    let file = writer
        .into_inner()
        .map_err(|e| Error::io(temp.path(), e.into_error()))?;
    // Checked before it takes its name: a failure leaves nothing at `out`.
    let inner = Envelope::open(temp.path())
        .map_err(|e| Error::Refused(format!("the decrypted content is not a dispatch: {e}")))?;
    sealed.routing().check_matches(inner.metadata())?;
    let id = inner.metadata().id.clone();
    drop(inner);
    temp.commit(file, Durability::Synced)?;
    Ok(id)
}

/// Decrypts a standard JWE file (general or flattened JSON, ciphertext
/// inline, A256GCM, ECDH-ES+A256KW), as another JWE library writes it,
/// into `out`. Returns the bytes written.
pub fn decrypt_jwe_file(path: &Path, key: &DecryptionKey, out: &Path) -> Result<u64, Error> {
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if len > crate::jwe::MAX_INLINE_JWE {
        return Err(Error::Malformed(format!(
            "{} is {len} bytes; a JWE file is read up to {} bytes (a sealed container has no \
             such limit)",
            path.display(),
            crate::jwe::MAX_INLINE_JWE
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let jwe = Jwe::parse(&bytes)?;
    let ciphertext = jwe
        .inline_ciphertext()
        .ok_or_else(|| Error::Malformed("the JWE has no ciphertext".into()))?;
    let cek = jwe.content_key(key)?;
    let mut temp = PartialFile::new(out)?;
    let file = temp.create()?;
    let mut writer = BufWriter::new(file);
    crate::stream::decrypt(
        &mut &ciphertext[..],
        ciphertext.len() as u64,
        jwe.chunk_size(),
        &cek,
        jwe.iv(),
        &jwe.additional_data(),
        jwe.tags(),
        &mut writer,
    )?;
    let file = writer
        .into_inner()
        .map_err(|e| Error::io(temp.path(), e.into_error()))?;
    temp.commit(file, Durability::Synced)?;
    Ok(ciphertext.len() as u64)
}
