//! A file that hashes what is written to it, so that a rewritten container's
//! digest (a relay's blob address) comes without reading it all again.
//!
//! A ZIP writer does not only append: after an entry's data it seeks back to
//! fill in that entry's header. So only the bytes written in one run from
//! offset 0, before [`FreezeSwitch::freeze`] is pressed, are hashed as they
//! pass; whatever follows is read back once the file is complete (for an
//! appended receipt, a few kilobytes). Should anything ever be written again
//! inside the hashed part, the whole file is read back instead: slower, never
//! wrong.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::rc::Rc;

use ring::digest::{Context, SHA256};

/// The size and SHA-256 of a file as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDigest {
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
}

/// Tells a [`HashingFile`] held deep inside a writer stack to stop hashing
/// writes as they pass.
#[derive(Clone, Default)]
pub(crate) struct FreezeSwitch(Rc<Cell<bool>>);

impl FreezeSwitch {
    /// From now on the file's tail is read back at the end instead.
    pub(crate) fn freeze(&self) {
        self.0.set(true);
    }

    fn frozen(&self) -> bool {
        self.0.get()
    }
}

/// A file opened for reading and writing that hashes its prefix as written
/// (or, made with [`HashingFile::plain`], only writes).
pub(crate) struct HashingFile {
    file: File,
    /// `None` for a plain file.
    ctx: Option<Context>,
    /// The bytes `[0, hashed)` went through `ctx`, in order.
    hashed: u64,
    position: u64,
    /// Something was written inside `[0, hashed)` after it was hashed.
    prefix_rewritten: bool,
    switch: FreezeSwitch,
}

impl HashingFile {
    /// Wraps `file` (opened for reading and writing, empty).
    pub(crate) fn new(file: File, switch: FreezeSwitch) -> HashingFile {
        HashingFile {
            file,
            ctx: Some(Context::new(&SHA256)),
            hashed: 0,
            position: 0,
            prefix_rewritten: false,
            switch,
        }
    }

    /// Wraps `file` without hashing anything: for a caller that does not
    /// want the digest.
    pub(crate) fn plain(file: File) -> HashingFile {
        HashingFile {
            file,
            ctx: None,
            hashed: 0,
            position: 0,
            prefix_rewritten: false,
            switch: FreezeSwitch::default(),
        }
    }

    /// The file and, unless it is plain, the digest of its whole content as
    /// it now is.
    pub(crate) fn finish(mut self) -> io::Result<(File, Option<FileDigest>)> {
        let Some(mut ctx) = self.ctx.take() else {
            return Ok((self.file, None));
        };
        if self.prefix_rewritten {
            ctx = Context::new(&SHA256);
            self.hashed = 0;
        }
        self.file.seek(SeekFrom::Start(self.hashed))?;
        let mut size = self.hashed;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match self.file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            ctx.update(&buf[..n]);
            size += n as u64;
        }
        let sha256 = crate::digest::hex(ctx.finish().as_ref());
        Ok((self.file, Some(FileDigest { size, sha256 })))
    }
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        let end = self.position + n as u64;
        if let Some(ctx) = &mut self.ctx {
            if self.position == self.hashed && !self.switch.frozen() {
                ctx.update(&buf[..n]);
                self.hashed = end;
            } else if self.position < self.hashed {
                self.prefix_rewritten = true;
            }
        }
        self.position = end;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Seek for HashingFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.position = self.file.seek(pos)?;
        Ok(self.position)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn open(dir: &std::path::Path) -> (std::path::PathBuf, File) {
        let path = dir.join("f");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        (path, file)
    }

    fn expected(path: &std::path::Path) -> FileDigest {
        let bytes = std::fs::read(path).unwrap();
        FileDigest {
            size: bytes.len() as u64,
            sha256: crate::digest::sha256_hex(&bytes),
        }
    }

    #[test]
    fn a_header_patched_after_the_freeze_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let (path, file) = open(dir.path());
        let switch = FreezeSwitch::default();
        let mut out = HashingFile::new(file, switch.clone());
        out.write_all(&[1u8; 100_000]).unwrap();
        switch.freeze();
        // A header with placeholders, data, then the header filled in.
        out.write_all(b"HEADER??").unwrap();
        out.write_all(b"data").unwrap();
        out.seek(SeekFrom::Start(100_006)).unwrap();
        out.write_all(b"OK").unwrap();
        out.seek(SeekFrom::End(0)).unwrap();
        out.write_all(b"directory").unwrap();
        let digest = out.finish().unwrap().1.unwrap();
        assert_eq!(digest, expected(&path));
        assert_eq!(digest.size, 100_000 + 8 + 4 + 9);
    }

    #[test]
    fn rewriting_the_hashed_part_falls_back_to_reading_everything() {
        let dir = tempfile::tempdir().unwrap();
        let (path, file) = open(dir.path());
        let mut out = HashingFile::new(file, FreezeSwitch::default());
        out.write_all(b"0123456789").unwrap();
        out.seek(SeekFrom::Start(2)).unwrap();
        out.write_all(b"ab").unwrap();
        out.seek(SeekFrom::End(0)).unwrap();
        out.write_all(b"tail").unwrap();
        let digest = out.finish().unwrap().1.unwrap();
        assert_eq!(digest, expected(&path));
        assert_eq!(std::fs::read(&path).unwrap(), b"01ab456789tail");
    }

    #[test]
    fn never_frozen_and_empty_files_hash_right() {
        let dir = tempfile::tempdir().unwrap();
        let (path, file) = open(dir.path());
        let mut out = HashingFile::new(file, FreezeSwitch::default());
        out.write_all(b"abc").unwrap();
        let digest = out.finish().unwrap().1.unwrap();
        assert_eq!(digest, expected(&path));
        let (path, file) = open(dir.path());
        let digest = HashingFile::new(file, FreezeSwitch::default())
            .finish()
            .unwrap()
            .1
            .unwrap();
        assert_eq!(digest, expected(&path));
        assert_eq!(digest.size, 0);
        let (_, file) = open(dir.path());
        let mut plain = HashingFile::plain(file);
        plain.write_all(b"abc").unwrap();
        assert_eq!(plain.finish().unwrap().1, None);
    }
}
