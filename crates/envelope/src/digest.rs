//! Streaming SHA-256: attachments are hashed as they pass, never held whole.

use std::io::{self, Read, Write};

use ring::digest::{Context, SHA256};

/// Lowercase hex SHA-256 of a byte slice.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&SHA256, bytes).as_ref())
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// Size of the buffer attachments are streamed through.
pub(crate) const STREAM_BUFFER: usize = 256 * 1024;

/// The buffer [`copy_hashing`] starts with.
const SMALL_BUFFER: usize = 16 * 1024;

/// Copies `reader` to `writer` while hashing, reporting progress in bytes.
/// Returns the byte count and the hex SHA-256. `expected` is the size the
/// caller expects, if it knows one; it only sizes the first buffer.
pub(crate) fn copy_hashing(
    reader: &mut dyn Read,
    writer: &mut dyn Write,
    expected: Option<u64>,
    progress: &mut dyn FnMut(u64),
) -> io::Result<(u64, String)> {
    let mut ctx = Context::new(&SHA256);
    // Start small, so that hashing a 2 KB attachment does not zero a
    // 256 KiB buffer (which cost more than the hashing); grow to the full
    // buffer as soon as a read fills the small one. One byte more than
    // expected lets a single read take a small entry whole.
    let first = expected.map_or(SMALL_BUFFER, |n| {
        usize::try_from(n.saturating_add(1)).map_or(SMALL_BUFFER, |n| n.min(SMALL_BUFFER))
    });
    let mut buf = vec![0u8; first];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        ctx.update(&buf[..n]);
        writer.write_all(&buf[..n])?;
        total += n as u64;
        progress(n as u64);
        if n == buf.len() && buf.len() < STREAM_BUFFER {
            buf.resize(STREAM_BUFFER, 0);
        }
    }
    Ok((total, hex(ctx.finish().as_ref())))
}

/// Hashes `reader` to its end, reporting progress in bytes; `expected` as
/// for [`copy_hashing`].
pub(crate) fn hash_reader(
    reader: &mut dyn Read,
    expected: Option<u64>,
    progress: &mut dyn FnMut(u64),
) -> io::Result<(u64, String)> {
    copy_hashing(reader, &mut io::sink(), expected, progress)
}

/// Size and lowercase hex SHA-256 of a file, streamed.
pub fn sha256_file(path: &std::path::Path) -> io::Result<(u64, String)> {
    let mut file = std::fs::File::open(path)?;
    hash_reader(&mut file, None, &mut |_| {})
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let (n, h) = hash_reader(&mut &b"abc"[..], None, &mut |_| {}).unwrap();
        assert_eq!((n, h.as_str()), (3, sha256_hex(b"abc").as_str()));
        // A wrong expectation only sizes the buffer: the result is the same.
        let long = vec![7u8; 100_000];
        for expected in [None, Some(0), Some(10), Some(100_000), Some(u64::MAX)] {
            let (n, h) = hash_reader(&mut long.as_slice(), expected, &mut |_| {}).unwrap();
            assert_eq!((n, h), (100_000, sha256_hex(&long)));
        }
    }
}
