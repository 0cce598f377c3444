//! Where a container's bytes come from: memory for a small file, the file
//! itself for a large one.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Files up to this size are read whole at open, in one or two reads, and
/// served from memory: a signed and sealed dispatch with a page or two of
/// attachments. Larger files are read where needed, so memory stays flat.
pub(crate) const IN_MEMORY: usize = crate::digest::STREAM_BUFFER;

/// The first read's buffer: most containers fit, so most opens cost one read.
const FIRST_READ: usize = 16 * 1024;

/// The bytes of an opened container.
pub(crate) enum Source {
    /// The whole file, read at open.
    Memory(Vec<u8>),
    /// A file larger than [`IN_MEMORY`], with its length at open.
    File {
        /// The open file.
        file: File,
        /// Its length when opened.
        len: u64,
    },
}

impl Source {
    /// Opens `path`, reading it whole if it is small.
    pub(crate) fn open(path: &Path) -> io::Result<Source> {
        let mut file = File::open(path)?;
        if let Some(bytes) = read_small(&mut file, IN_MEMORY)? {
            return Ok(Source::Memory(bytes));
        }
        let len = file.seek(SeekFrom::End(0))?;
        Ok(Source::File { file, len })
    }

    /// A container already in memory: an upload a relay received, tests.
    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Source {
        Source::Memory(bytes)
    }

    /// The length in bytes.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Source::Memory(bytes) => bytes.len() as u64,
            Source::File { len, .. } => *len,
        }
    }

    /// `len` bytes at `offset`; an error if they are not all there.
    pub(crate) fn read_at(&mut self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let end = offset
            .checked_add(len as u64)
            .filter(|&end| end <= self.len());
        let Some(end) = end else {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end of the container",
            ));
        };
        match self {
            Source::Memory(bytes) => Ok(bytes[offset as usize..end as usize].to_vec()),
            Source::File { file, .. } => {
                let mut buf = vec![0u8; len];
                file.seek(SeekFrom::Start(offset))?;
                file.read_exact(&mut buf)?;
                Ok(buf)
            }
        }
    }

    /// A reader over `len` bytes at `offset`.
    pub(crate) fn reader(&mut self, offset: u64, len: u64) -> io::Result<Box<dyn Read + '_>> {
        let end = offset.checked_add(len).filter(|&end| end <= self.len());
        if end.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "an entry reaches past the end of the container",
            ));
        }
        match self {
            Source::Memory(bytes) => Ok(Box::new(&bytes[offset as usize..(offset + len) as usize])),
            Source::File { file, .. } => {
                file.seek(SeekFrom::Start(offset))?;
                Ok(Box::new(Read::take(file, len)))
            }
        }
    }
}

impl Source {
    /// Copies `len` bytes at `offset` into `out`, in large reads.
    pub(crate) fn copy_to(&mut self, offset: u64, len: u64, out: &mut dyn Write) -> io::Result<()> {
        match self {
            Source::Memory(bytes) => {
                let range = usize::try_from(offset)
                    .ok()
                    .zip(usize::try_from(offset.saturating_add(len)).ok())
                    .filter(|&(_, end)| end <= bytes.len())
                    .ok_or_else(|| {
                        io::Error::new(io::ErrorKind::UnexpectedEof, "copy past the end")
                    })?;
                out.write_all(&bytes[range.0..range.1])
            }
            Source::File { .. } => {
                let reader = self.reader(offset, len)?;
                let mut buffered = BufReader::with_capacity(IN_MEMORY, reader);
                let copied = io::copy(&mut buffered, out)?;
                if copied != len {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the container changed while it was being copied",
                    ));
                }
                Ok(())
            }
        }
    }
}

/// The whole of `file` if it holds at most `limit` bytes, else `None`.
///
/// Reads straight into a buffer that a small dispatch fits, with no stat
/// first (the standard library's `read_to_end` adds a stat and a seek, then
/// reads in 8 KB steps), so the common case costs two reads.
fn read_small(file: &mut File, limit: usize) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = vec![0u8; FIRST_READ.min(limit + 1)];
    let mut len = 0;
    loop {
        if len == bytes.len() {
            if len > limit {
                return Ok(None);
            }
            bytes.resize(len.saturating_mul(2).min(limit + 1), 0);
        }
        match file.read(&mut bytes[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    bytes.truncate(len);
    Ok(Some(bytes))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn read_small_returns_files_up_to_the_limit_and_none_past_it() {
        let dir = tempfile::tempdir().unwrap();
        for len in [
            0,
            1,
            100,
            FIRST_READ - 1,
            FIRST_READ,
            FIRST_READ + 1,
            70_000,
        ] {
            let path = dir.path().join(format!("f{len}"));
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            File::create(&path).unwrap().write_all(&data).unwrap();
            let mut file = File::open(&path).unwrap();
            assert_eq!(
                read_small(&mut file, 70_000).unwrap(),
                Some(data.clone()),
                "{len}"
            );
            let mut file = File::open(&path).unwrap();
            let expected = (len <= 40_000).then_some(data);
            assert_eq!(read_small(&mut file, 40_000).unwrap(), expected, "{len}");
        }
    }

    #[test]
    fn reads_outside_the_source_fail() {
        let mut source = Source::from_bytes(b"abc".to_vec());
        assert_eq!(source.read_at(1, 2).unwrap(), b"bc");
        assert!(source.read_at(2, 2).is_err());
        assert!(source.read_at(u64::MAX, 1).is_err());
        assert!(source.reader(0, 4).is_err());
    }
}
