//! Reading one entry's bytes: inflated if need be, and checked against the
//! size and CRC-32 its directory record declares.

use std::io::{self, Read};

use flate2::read::DeflateDecoder;

use super::directory::{Entry, Method};

/// A reader over an entry's uncompressed bytes. It fails with
/// `InvalidData` when the bytes turn out longer or shorter than declared, or
/// do not match the declared CRC-32 at the end: an entry altered in place.
pub(crate) struct EntryReader<'a> {
    inner: Inner<'a>,
    size: u64,
    produced: u64,
    crc: crc32fast::Hasher,
    expected_crc: u32,
}

/// The entry's bytes as stored, or inflated from them.
enum Inner<'a> {
    Stored(Box<dyn Read + 'a>),
    /// With the compressed size, which the deflate stream must use up: bytes
    /// after its end would belong to no one.
    Deflated(DeflateDecoder<Box<dyn Read + 'a>>, u64),
}

impl Inner<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Inner::Stored(raw) => raw.read(buf),
            Inner::Deflated(decoder, _) => decoder.read(buf),
        }
    }

    /// At the end of the data: is every compressed byte part of it?
    fn used_up(&self) -> bool {
        match self {
            Inner::Stored(_) => true,
            Inner::Deflated(decoder, compressed) => decoder.total_in() == *compressed,
        }
    }
}

impl<'a> EntryReader<'a> {
    /// Reads `entry` from `raw`, its `compressed_size` bytes in the file.
    pub(crate) fn new(entry: &Entry, raw: Box<dyn Read + 'a>) -> EntryReader<'a> {
        let inner = match entry.method {
            Method::Stored => Inner::Stored(raw),
            Method::Deflated => Inner::Deflated(DeflateDecoder::new(raw), entry.compressed_size),
        };
        EntryReader {
            inner,
            size: entry.size,
            produced: 0,
            crc: crc32fast::Hasher::new(),
            expected_crc: entry.crc32,
        }
    }

    /// The size the directory declares.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }
}

fn invalid(problem: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, problem.to_string())
}

impl Read for EntryReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Never hand out more than the declared size: one byte past it is
        // asked for only to find out whether there is more.
        let room = self.size - self.produced;
        let want = if room == 0 {
            1
        } else {
            buf.len().min(usize::try_from(room).unwrap_or(usize::MAX))
        };
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            if self.produced != self.size {
                return Err(invalid(
                    "the entry's data is shorter than its declared size",
                ));
            }
            if !self.inner.used_up() {
                return Err(invalid(
                    "the entry has bytes after the end of its compressed data",
                ));
            }
            if self.crc.clone().finalize() != self.expected_crc {
                return Err(invalid(
                    "invalid checksum: the bytes do not match the CRC-32 in the ZIP directory",
                ));
            }
            return Ok(0);
        }
        if room == 0 {
            return Err(invalid("the entry's data is longer than its declared size"));
        }
        self.crc.update(&buf[..n]);
        self.produced += n as u64;
        Ok(n)
    }
}
