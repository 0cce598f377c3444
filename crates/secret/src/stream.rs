//! Content encryption in chunks: A256GCM over a stream, with memory that
//! stays flat whatever the size.
//!
//! AES-GCM seals a message in one piece. A secret dispatch may be
//! gigabytes, so its plaintext is cut into chunks of `chunk_size` bytes (the
//! last may be shorter, and is never empty unless the whole is), each
//! sealed on its own under the same content key and additional data, with
//! its own nonce. As in age's STREAM construction, the nonce says where the
//! chunk is and whether it is the last:
//!
//! ```text
//! nonce(i) = iv XOR (0x00 * 7 || BE32(i) || (0x00 if last else 0x01))
//! ```
//!
//! So reordering, dropping or repeating chunks fails authentication, and so
//! does cutting the stream at a chunk boundary (the new last chunk was not
//! sealed as last). A stream of one chunk uses the iv itself: it is a
//! standard A256GCM JWE.

use std::io::{Read, Write};

use ring::aead::{Aad, LessSafeKey, Nonce, Tag, UnboundKey, AES_256_GCM};

use crate::Error;

/// Bytes of an authentication tag.
pub const TAG_LEN: usize = 16;
/// Bytes of plaintext per chunk that congvan writes: 1 MiB.
pub const CHUNK_SIZE: u64 = 1 << 20;
/// Largest chunk a reader accepts from a sealed container (memory per
/// chunk in flight).
pub const MAX_CHUNK_SIZE: u64 = 16 << 20;

/// How many chunks a stream of `size` bytes has: at least one.
pub fn chunk_count(size: u64, chunk_size: u64) -> u64 {
    if size == 0 || chunk_size == 0 {
        1
    } else {
        size.div_ceil(chunk_size)
    }
}

/// The nonce of chunk `index`.
fn nonce(iv: &[u8; 12], index: u64, last: bool) -> Result<Nonce, Error> {
    let index = u32::try_from(index)
        .map_err(|_| Error::Refused("the content has more chunks than a stream numbers".into()))?;
    let mut n = *iv;
    for (byte, mask) in n[7..11].iter_mut().zip(index.to_be_bytes()) {
        *byte ^= mask;
    }
    if !last {
        n[11] ^= 0x01;
    }
    Ok(Nonce::assume_unique_for_key(n))
}

fn key(cek: &[u8; 32]) -> Result<LessSafeKey, Error> {
    UnboundKey::new(&AES_256_GCM, cek)
        .map(LessSafeKey::new)
        .map_err(|_| Error::Refused("the content key is not an AES-256 key".into()))
}

/// Encrypts exactly `size` bytes of `input` into `out`; returns the tags.
pub(crate) fn encrypt(
    input: &mut dyn Read,
    size: u64,
    chunk_size: u64,
    cek: &[u8; 32],
    iv: &[u8; 12],
    aad: &[u8],
    out: &mut dyn Write,
) -> std::io::Result<Vec<[u8; TAG_LEN]>> {
    let key = key(cek).map_err(std::io::Error::other)?;
    let count = chunk_count(size, chunk_size);
    let mut tags = Vec::with_capacity(count as usize);
    let mut buffer = vec![0u8; chunk_size.min(size.max(1)) as usize];
    let mut left = size;
    for index in 0..count {
        let len = left.min(chunk_size) as usize;
        let chunk = &mut buffer[..len];
        input.read_exact(chunk).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("the dispatch ended early or changed while it was encrypted: {e}"),
            )
        })?;
        left -= len as u64;
        let nonce = nonce(iv, index, index + 1 == count).map_err(std::io::Error::other)?;
        let tag = key
            .seal_in_place_separate_tag(nonce, Aad::from(aad), chunk)
            .map_err(|_| std::io::Error::other("a chunk could not be encrypted"))?;
        out.write_all(chunk)?;
        let mut t = [0u8; TAG_LEN];
        t.copy_from_slice(tag.as_ref());
        tags.push(t);
    }
    let mut probe = [0u8; 1];
    if input.read(&mut probe)? != 0 {
        return Err(std::io::Error::other(
            "the dispatch grew while it was encrypted",
        ));
    }
    Ok(tags)
}

/// Decrypts `size` bytes of `input` chunk by chunk into `out`, each chunk
/// authenticated before it is written. On error the caller discards `out`:
/// a stream cut short is only detected at its end.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decrypt(
    input: &mut dyn Read,
    size: u64,
    chunk_size: u64,
    cek: &[u8; 32],
    iv: &[u8; 12],
    aad: &[u8],
    tags: &[[u8; TAG_LEN]],
    out: &mut dyn Write,
) -> Result<(), Error> {
    // The chunk buffer is at most the whole content, which an inline JWE
    // already holds in memory; a sealed container's chunk size is bounded
    // by `check_structure` (MAX_CHUNK_SIZE) before any byte is read.
    if chunk_size == 0 {
        return Err(Error::Malformed("chunk_size is 0".into()));
    }
    let key = key(cek)?;
    let count = chunk_count(size, chunk_size);
    if tags.len() as u64 != count {
        return Err(Error::Malformed(format!(
            "{} tags for {count} chunks",
            tags.len()
        )));
    }
    let mut buffer = vec![0u8; chunk_size.min(size.max(1)) as usize];
    let mut left = size;
    for (index, tag) in tags.iter().enumerate() {
        let index = index as u64;
        let len = left.min(chunk_size) as usize;
        let chunk = &mut buffer[..len];
        input.read_exact(chunk).map_err(|e| {
            Error::Decryption(format!("the ciphertext is shorter than declared: {e}"))
        })?;
        left -= len as u64;
        let nonce = nonce(iv, index, index + 1 == count)?;
        let plain = key
            .open_in_place_separate_tag(nonce, Aad::from(aad), Tag::from(*tag), chunk, 0..)
            .map_err(|_| {
                Error::Decryption(format!(
                    "chunk {} of {count} does not authenticate: the ciphertext, its tags, the \
                     routing header or the protected header was altered, or chunks were \
                     reordered or cut",
                    index + 1
                ))
            })?;
        out.write_all(plain)
            .map_err(|e| Error::Decryption(format!("cannot write the decrypted dispatch: {e}")))?;
    }
    let mut probe = [0u8; 1];
    let extra = input
        .read(&mut probe)
        .map_err(|e| Error::Decryption(format!("cannot read the ciphertext: {e}")))?;
    if extra != 0 {
        return Err(Error::Decryption(
            "the ciphertext is longer than declared".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn roundtrip(size: usize, chunk: u64) -> (Vec<u8>, Vec<[u8; TAG_LEN]>) {
        let plain: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let mut ct = Vec::new();
        let tags = encrypt(
            &mut plain.as_slice(),
            size as u64,
            chunk,
            &[7; 32],
            &[9; 12],
            b"a",
            &mut ct,
        )
        .unwrap();
        assert_eq!(ct.len(), size);
        let mut back = Vec::new();
        decrypt(
            &mut ct.as_slice(),
            size as u64,
            chunk,
            &[7; 32],
            &[9; 12],
            b"a",
            &tags,
            &mut back,
        )
        .unwrap();
        assert_eq!(back, plain);
        (ct, tags)
    }

    #[test]
    fn sizes_around_chunk_boundaries_round_trip() {
        for size in [0, 1, 15, 16, 17, 32, 33, 100] {
            let (_, tags) = roundtrip(size, 16);
            assert_eq!(tags.len() as u64, chunk_count(size as u64, 16));
        }
    }

    #[test]
    fn a_stream_cut_at_a_chunk_boundary_is_refused() {
        let (ct, tags) = roundtrip(48, 16);
        let mut out = Vec::new();
        let cut = decrypt(
            &mut &ct[..32],
            32,
            16,
            &[7; 32],
            &[9; 12],
            b"a",
            &tags[..2],
            &mut out,
        );
        assert!(matches!(cut, Err(Error::Decryption(_))), "{cut:?}");
    }

    #[test]
    fn swapped_chunks_are_refused() {
        let (ct, tags) = roundtrip(32, 16);
        let swapped = [&ct[16..], &ct[..16]].concat();
        let swapped_tags = [tags[1], tags[0]];
        let mut out = Vec::new();
        let result = decrypt(
            &mut swapped.as_slice(),
            32,
            16,
            &[7; 32],
            &[9; 12],
            b"a",
            &swapped_tags,
            &mut out,
        );
        assert!(matches!(result, Err(Error::Decryption(_))));
    }

    #[test]
    fn other_additional_data_is_refused() {
        let (ct, tags) = roundtrip(20, 16);
        let mut out = Vec::new();
        let result = decrypt(
            &mut ct.as_slice(),
            20,
            16,
            &[7; 32],
            &[9; 12],
            b"b",
            &tags,
            &mut out,
        );
        assert!(matches!(result, Err(Error::Decryption(_))));
    }
}
