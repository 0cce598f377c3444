//! The container as a ZIP archive: its entries by index, and their bytes.
//!
//! A small container laid out as congvan writes it is read by hand from
//! memory ([`StoredZip`]); anything else goes through the `zip` crate, which
//! reads every ZIP feature (compressed JSON from other writers, ZIP64 for
//! attachments past 4 GB) and names what is wrong with a broken file.

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use zip::read::{ArchiveOffset, Config, ZipFile};
use zip::result::ZipError;
use zip::{CompressionMethod, ZipArchive};

use crate::central_directory::declared_entries;
use crate::stored_zip::{CrcCheckedReader, StoredZip};
use crate::Error;

/// The container file as the `zip` crate reads it.
///
/// Reading a ZIP means seeking: to the end-of-central-directory record, the
/// central directory, each entry's local header. Through a `BufReader` each
/// seek throws the buffer away and the next read refills it, so a small
/// dispatch cost dozens of `lseek`/`read` calls per open. A file no larger
/// than the streaming buffer (which a `BufReader` would allocate anyway) is
/// therefore read whole, once, and served from memory; a larger one goes
/// through a buffer of that size, so memory stays flat.
pub(crate) enum ContainerReader {
    /// The whole file, read at open.
    Memory(Cursor<Vec<u8>>),
    /// A file larger than [`crate::digest::STREAM_BUFFER`].
    File(BufReader<File>),
}

/// The first read's buffer: a signed and sealed dispatch with a page or two
/// of attachments fits, so most containers are read in one go.
const SMALL_CONTAINER: usize = 16 * 1024;

impl ContainerReader {
    fn open(path: &Path) -> io::Result<ContainerReader> {
        let mut file = File::open(path)?;
        if let Some(bytes) = read_small(&mut file, crate::digest::STREAM_BUFFER)? {
            return Ok(ContainerReader::Memory(Cursor::new(bytes)));
        }
        file.seek(SeekFrom::Start(0))?;
        // The buffer matches the streaming buffer: hashing reads bypass it
        // (their requests are as large), and the zip crate's raw copy when a
        // signature or receipt is appended (8 KB requests) is served from it
        // instead of costing one read(2) per 8 KB.
        Ok(ContainerReader::File(BufReader::with_capacity(
            crate::digest::STREAM_BUFFER,
            file,
        )))
    }
}

/// The whole of `file` if it holds at most `limit` bytes, else `None`.
///
/// Reads straight into a buffer that a small dispatch fits, with no stat
/// first (the standard library's `read_to_end` adds a stat and a seek, then
/// reads in 8 KB steps), so the common case costs two reads.
fn read_small(file: &mut File, limit: usize) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = vec![0u8; SMALL_CONTAINER.min(limit + 1)];
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

impl Read for ContainerReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ContainerReader::Memory(cursor) => cursor.read(buf),
            ContainerReader::File(reader) => reader.read(buf),
        }
    }
}

impl Seek for ContainerReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            ContainerReader::Memory(cursor) => cursor.seek(pos),
            ContainerReader::File(reader) => reader.seek(pos),
        }
    }
}

/// What the structure checks need to know of an entry.
pub(crate) struct EntryInfo {
    /// The name, if it is UTF-8.
    pub(crate) name: Option<String>,
    /// How the entry is compressed.
    pub(crate) method: CompressionMethod,
    /// Its size once read.
    pub(crate) size: u64,
    /// Its size in the file.
    pub(crate) compressed_size: u64,
}

/// The entries of an opened container.
pub(crate) enum Archive {
    /// Small, in memory, every entry stored: read by hand.
    Stored(StoredZip),
    /// Anything else: read by the `zip` crate.
    Zip(ZipArchive<ContainerReader>),
}

impl Archive {
    /// Reads the file and its ZIP directory.
    pub(crate) fn open(path: &Path) -> Result<Archive, Error> {
        let reader = ContainerReader::open(path).map_err(|e| Error::io(path, e))?;
        let reader = match reader {
            ContainerReader::Memory(cursor) => match StoredZip::parse(cursor.into_inner()) {
                Ok(stored) => return Ok(Archive::Stored(stored)),
                Err(bytes) => ContainerReader::Memory(Cursor::new(bytes)),
            },
            file => file,
        };
        open_zip(reader).map(Archive::Zip).map_err(|e| match e {
            OpenError::Io(e) => Error::io(path, e),
            OpenError::Zip(e) => Error::NotAContainer {
                path: path.to_path_buf(),
                problem: e.to_string(),
            },
            OpenError::Collapsed { declared, distinct } => Error::DuplicateEntry(format!(
                "the central directory lists {declared} entries but only {distinct} distinct names"
            )),
        })
    }

    /// The number of entries.
    pub(crate) fn len(&self) -> usize {
        match self {
            Archive::Stored(stored) => stored.entries().len(),
            Archive::Zip(zip) => zip.len(),
        }
    }

    /// One entry's name, compression and sizes.
    pub(crate) fn info(&mut self, index: usize) -> Result<EntryInfo, ZipError> {
        match self {
            Archive::Stored(stored) => {
                let entry = stored.entries().get(index).ok_or(ZipError::FileNotFound)?;
                Ok(EntryInfo {
                    name: Some(entry.name.clone()),
                    method: CompressionMethod::Stored,
                    size: entry.size,
                    compressed_size: entry.size,
                })
            }
            Archive::Zip(zip) => {
                let entry = zip.by_index_raw(index)?;
                Ok(EntryInfo {
                    name: std::str::from_utf8(entry.name_raw())
                        .ok()
                        .map(str::to_string),
                    method: entry.compression(),
                    size: entry.size(),
                    compressed_size: entry.compressed_size(),
                })
            }
        }
    }

    /// A reader over one entry's content, decompressed, that fails with
    /// `InvalidData` at the end if the content does not match its CRC-32.
    pub(crate) fn entry(&mut self, index: usize) -> Result<EntryReader<'_>, ZipError> {
        match self {
            Archive::Stored(stored) => stored
                .reader(index)
                .map(EntryReader::Stored)
                .ok_or(ZipError::FileNotFound),
            Archive::Zip(zip) => zip.by_index(index).map(EntryReader::Zip),
        }
    }

    /// The archive as the `zip` crate reads it, for rewriting the container
    /// (which copies entries with the crate's raw copy). A container read
    /// by hand is handed over (a copy of at most
    /// [`crate::digest::STREAM_BUFFER`] bytes).
    pub(crate) fn zip_mut(&mut self) -> Result<&mut ZipArchive<ContainerReader>, ZipError> {
        if let Archive::Stored(stored) = self {
            let reader = ContainerReader::Memory(Cursor::new(stored.bytes().to_vec()));
            let zip = open_zip(reader).map_err(|e| match e {
                OpenError::Zip(e) => e,
                OpenError::Io(e) => ZipError::Io(e),
                OpenError::Collapsed { .. } => {
                    ZipError::InvalidArchive("duplicate entry names".into())
                }
            })?;
            *self = Archive::Zip(zip);
        }
        match self {
            Archive::Zip(zip) => Ok(zip),
            Archive::Stored(_) => Err(ZipError::InvalidArchive(
                "the container could not be handed to the ZIP writer".into(),
            )),
        }
    }
}

/// One entry's content being read.
pub(crate) enum EntryReader<'a> {
    /// From a container read by hand.
    Stored(CrcCheckedReader<'a>),
    /// Through the `zip` crate.
    Zip(ZipFile<'a, ContainerReader>),
}

impl EntryReader<'_> {
    /// The entry's size once read, as its headers declare it.
    pub(crate) fn size(&self) -> u64 {
        match self {
            EntryReader::Stored(reader) => reader.size(),
            EntryReader::Zip(reader) => reader.size(),
        }
    }
}

impl Read for EntryReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            EntryReader::Stored(reader) => reader.read(buf),
            EntryReader::Zip(reader) => reader.read(buf),
        }
    }
}

/// Why the `zip` crate could not open a container.
enum OpenError {
    Io(io::Error),
    Zip(ZipError),
    /// Entries with the same name, which the crate collapses into one.
    Collapsed {
        declared: u64,
        distinct: usize,
    },
}

fn open_zip(mut reader: ContainerReader) -> Result<ZipArchive<ContainerReader>, OpenError> {
    let declared = declared_entries(&mut reader).map_err(OpenError::Io)?;
    // A container starts with its mimetype entry at offset 0 (as in ASiC),
    // so the archive offset is known: nothing prepended is accepted, and
    // the reader need not search for one.
    let config = Config {
        archive_offset: ArchiveOffset::Known(0),
    };
    let zip = ZipArchive::with_config(config, reader).map_err(OpenError::Zip)?;
    // The crate indexes entries by name, so duplicates collapse into one:
    // the count the directory declares must match what it kept.
    match declared {
        Some(declared) if declared == zip.len() as u64 => Ok(zip),
        Some(declared) => Err(OpenError::Collapsed {
            declared,
            distinct: zip.len(),
        }),
        None => Err(OpenError::Zip(ZipError::InvalidArchive(
            "no end-of-central-directory record".into(),
        ))),
    }
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
            SMALL_CONTAINER - 1,
            SMALL_CONTAINER,
            SMALL_CONTAINER + 1,
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
}
