//! A writer that hashes what passes through it, so that a rewritten
//! container's digest (a relay's blob address) comes without reading the
//! file again.
//!
//! Appending an entry writes the new container front to back in one pass
//! (the old entries copied, the new ones, the directory), so every byte
//! written is a byte of the file, in order.

use std::fs::File;
use std::io::{self, Write};

use ring::digest::{Context, SHA256};

/// The size and SHA-256 of a file as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDigest {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
}

/// A file (or a buffer in memory) written front to back, hashed on the
/// way unless made with [`HashingWriter::plain`].
pub(crate) struct HashingWriter<W: Write = File> {
    file: W,
    ctx: Option<Context>,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Hashes everything written to `file`.
    pub(crate) fn new(file: W) -> HashingWriter<W> {
        HashingWriter {
            file,
            ctx: Some(Context::new(&SHA256)),
            size: 0,
        }
    }

    /// Hashes on from `context`, the state after the first `size` bytes
    /// of a file whose rest is written here.
    pub(crate) fn continuing(file: W, context: Context, size: u64) -> HashingWriter<W> {
        HashingWriter {
            file,
            ctx: Some(context),
            size,
        }
    }

    /// Only writes: for a caller that does not want the digest.
    pub(crate) fn plain(file: W) -> HashingWriter<W> {
        HashingWriter {
            file,
            ctx: None,
            size: 0,
        }
    }

    /// The file and, unless plain, the digest of what was written.
    pub(crate) fn finish(self) -> (W, Option<FileDigest>) {
        let size = self.size;
        let digest = self.ctx.map(|ctx| FileDigest {
            size,
            sha256: crate::digest::hex(ctx.finish().as_ref()),
        });
        (self.file, digest)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        if let Some(ctx) = &mut self.ctx {
            ctx.update(&buf[..n]);
        }
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_that_of_the_file_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut out = HashingWriter::new(File::create(&path).unwrap());
        out.write_all(&[1u8; 100_000]).unwrap();
        out.write_all(b"tail").unwrap();
        let (file, digest) = out.finish();
        drop(file);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            digest,
            Some(FileDigest {
                size: bytes.len() as u64,
                sha256: crate::digest::sha256_hex(&bytes),
            })
        );
        let mut plain = HashingWriter::plain(File::create(dir.path().join("g")).unwrap());
        plain.write_all(b"abc").unwrap();
        assert_eq!(plain.finish().1, None);
    }
}
