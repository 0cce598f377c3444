//! The container as a ZIP archive: one strict reading of its directory
//! (`directory.rs`), its entries' bytes (`entry_reader.rs`), and the writer
//! of new containers and appended ones (`writer.rs`).
//!
//! congvan reads every container, small or large, in memory or streamed,
//! through the same directory parser, so there is one answer to "what does
//! this file hold". Appending a signature or receipt copies the existing
//! entries byte for byte and rewrites only the directory.

mod directory;
mod entry_reader;
mod records;
mod source;
mod writer;

use std::io::{self, Write};
use std::path::Path;

pub(crate) use directory::{Entry, Method};
pub(crate) use entry_reader::EntryReader;
pub(crate) use writer::ZipWriter;

use directory::{read_directory, Directory, DirectoryError};
use source::Source;

use crate::Error;

/// An opened container: its bytes and its checked directory.
pub(crate) struct Archive {
    source: Source,
    directory: Directory,
    /// Read from bytes handed over, not from a file: there is no file to
    /// rewrite in place.
    in_memory: bool,
}

impl Archive {
    /// Reads the file and its directory, refusing more than `max_entries`.
    pub(crate) fn open(path: &Path, max_entries: usize) -> Result<Archive, Error> {
        let source = Source::open(path).map_err(|e| Error::io(path, e))?;
        Archive::read(source, path, max_entries, false)
    }

    /// Reads a container held in memory; `label` names it in errors.
    pub(crate) fn from_bytes(
        bytes: Vec<u8>,
        label: &Path,
        max_entries: usize,
    ) -> Result<Archive, Error> {
        Archive::read(Source::from_bytes(bytes), label, max_entries, true)
    }

    fn read(
        mut source: Source,
        path: &Path,
        max_entries: usize,
        in_memory: bool,
    ) -> Result<Archive, Error> {
        let directory = read_directory(&mut source, max_entries).map_err(|e| match e {
            DirectoryError::Io(e) => Error::io(path, e),
            DirectoryError::Structure(problem) => Error::NotAContainer {
                path: path.to_path_buf(),
                problem,
            },
        })?;
        Ok(Archive {
            source,
            directory,
            in_memory,
        })
    }

    /// True when read from bytes handed over rather than from its file.
    pub(crate) fn in_memory(&self) -> bool {
        self.in_memory
    }

    /// The entries, in file order.
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.directory.entries
    }

    /// A reader over one entry's uncompressed bytes, checked against its
    /// declared size and CRC-32.
    pub(crate) fn entry(&mut self, index: usize) -> io::Result<EntryReader<'_>> {
        let entry = self
            .directory
            .entries
            .get(index)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such entry"))?;
        let raw = self
            .source
            .reader(entry.data_offset, entry.compressed_size)?;
        Ok(EntryReader::new(entry, raw))
    }

    /// Writes this container to `out` with `additions` appended as new
    /// stored entries: every existing entry and directory record is copied
    /// byte for byte, so nothing already signed changes.
    pub(crate) fn write_appended<W: Write>(
        &mut self,
        mut out: W,
        additions: &[(String, Vec<u8>)],
    ) -> io::Result<W> {
        let (prefix_len, tail) = self.appended_tail(additions)?;
        self.source.copy_to(0, prefix_len, &mut out)?;
        out.write_all(&tail)?;
        Ok(out)
    }

    /// What appending `additions` puts in place of this container's
    /// central directory and end records: the offset where that starts
    /// (everything before it stays as it is) and the bytes from there on,
    /// the new entries and a directory listing old and new.
    pub(crate) fn appended_tail(
        &mut self,
        additions: &[(String, Vec<u8>)],
    ) -> io::Result<(u64, Vec<u8>)> {
        let prefix_len = self.directory.central_offset;
        let central = self.source.read_at(
            self.directory.central_offset,
            self.directory.central_size as usize,
        )?;
        let count = self.directory.entries.len() as u64;
        let mut zip = ZipWriter::continuing(Vec::new(), prefix_len, central, count);
        for (name, bytes) in additions {
            zip.add_bytes(name, bytes)?;
        }
        Ok((prefix_len, zip.finish()?))
    }

    /// Feeds this container's first `len` bytes to `out`, in large reads.
    pub(crate) fn copy_prefix(&mut self, len: u64, out: &mut dyn Write) -> io::Result<()> {
        self.source.copy_to(0, len, out)
    }
}

#[cfg(test)]
mod tests;
