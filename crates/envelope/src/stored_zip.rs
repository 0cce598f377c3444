//! A reader for the common case: a small container, already in memory,
//! laid out exactly as congvan writes one.
//!
//! For a small dispatch, parsing the ZIP directory with the `zip` crate cost
//! more than everything else in opening it but the file system. This reader
//! accepts only a strict subset of ZIP: every entry stored (not compressed),
//! not encrypted, without extra fields, comments, data descriptors or ZIP64
//! records; local headers that repeat the directory; entries that neither
//! overlap nor reach into the directory; unique UTF-8 names. That is what
//! `create_dispatch` and every append write.
//!
//! It never judges a container. For anything outside the subset it declines,
//! and the container is read by the `zip` crate as before, which either reads
//! it or names what is wrong. So the two readers cannot disagree about a file
//! this one accepts: such a file is plain, unambiguous ZIP.

use std::collections::HashSet;
use std::io::{self, Read};

const EOCD_SIGNATURE: u32 = 0x0605_4b50;
const CENTRAL_SIGNATURE: u32 = 0x0201_4b50;
const LOCAL_SIGNATURE: u32 = 0x0403_4b50;
const EOCD_LEN: usize = 22;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: usize = 30;
/// General-purpose flag bit 11: the name is UTF-8. The only flag accepted.
const FLAG_UTF8: u16 = 1 << 11;

/// One entry: its name, where its bytes are and their CRC-32.
#[derive(Debug)]
pub(crate) struct StoredEntry {
    /// The entry name, as stored (UTF-8).
    pub(crate) name: String,
    /// Offset of the entry's data in the container.
    start: usize,
    /// Its length in bytes (stored: the same compressed and not).
    pub(crate) size: u64,
    /// The CRC-32 the directory declares, checked when the data is read.
    crc32: u32,
}

/// A container in memory whose entries are all stored.
pub(crate) struct StoredZip {
    bytes: Vec<u8>,
    entries: Vec<StoredEntry>,
}

impl StoredZip {
    /// Reads the directory of `bytes`, or gives them back when the container
    /// is outside the subset this reader accepts.
    pub(crate) fn parse(bytes: Vec<u8>) -> Result<StoredZip, Vec<u8>> {
        match list(&bytes) {
            Some(entries) => Ok(StoredZip { bytes, entries }),
            None => Err(bytes),
        }
    }

    /// The entries, in directory order.
    pub(crate) fn entries(&self) -> &[StoredEntry] {
        &self.entries
    }

    /// A reader over one entry's data that fails with `InvalidData` at the
    /// end if the bytes do not match the declared CRC-32, as the `zip` crate
    /// does.
    pub(crate) fn reader(&self, index: usize) -> Option<CrcCheckedReader<'_>> {
        let entry = self.entries.get(index)?;
        let end = entry.start + usize::try_from(entry.size).ok()?;
        Some(CrcCheckedReader {
            size: entry.size,
            rest: self.bytes.get(entry.start..end)?,
            hasher: crc32fast::Hasher::new(),
            expected: entry.crc32,
        })
    }

    /// The container's bytes, e.g. to hand them to the `zip` crate for a
    /// rewrite.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Reads a stored entry, checking its CRC-32 when the end is reached.
pub(crate) struct CrcCheckedReader<'a> {
    size: u64,
    rest: &'a [u8],
    hasher: crc32fast::Hasher,
    expected: u32,
}

impl CrcCheckedReader<'_> {
    /// The entry's size.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }
}

impl Read for CrcCheckedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.rest.is_empty() {
            if !buf.is_empty() && self.hasher.clone().finalize() != self.expected {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "invalid checksum: the bytes do not match the CRC-32 in the ZIP directory",
                ));
            }
            return Ok(0);
        }
        let n = self.rest.len().min(buf.len());
        buf[..n].copy_from_slice(&self.rest[..n]);
        self.hasher.update(&self.rest[..n]);
        self.rest = &self.rest[n..];
        Ok(n)
    }
}

/// The entries of `bytes`, or `None` when it is outside the subset.
fn list(bytes: &[u8]) -> Option<Vec<StoredEntry>> {
    // The end record, with no comment, ends the file.
    let eocd_at = bytes.len().checked_sub(EOCD_LEN)?;
    let eocd = &bytes[eocd_at..];
    if u32_at(eocd, 0)? != EOCD_SIGNATURE
        || u16_at(eocd, 4)? != 0 // this disk
        || u16_at(eocd, 6)? != 0 // the directory's disk
        || u16_at(eocd, 20)? != 0
    // comment length
    {
        return None;
    }
    let count = u16_at(eocd, 8)?;
    if count != u16_at(eocd, 10)? || count == u16::MAX {
        return None;
    }
    let directory_size = usize::try_from(u32_at(eocd, 12)?).ok()?;
    let directory_at = usize::try_from(u32_at(eocd, 16)?).ok()?;
    // The directory sits right before the end record.
    if directory_at.checked_add(directory_size)? != eocd_at {
        return None;
    }

    let mut entries = Vec::with_capacity(usize::from(count));
    let mut names = HashSet::with_capacity(usize::from(count));
    let mut spans = Vec::with_capacity(usize::from(count));
    let mut at = directory_at;
    for _ in 0..count {
        let header = bytes.get(at..at.checked_add(CENTRAL_LEN)?)?;
        let flags = u16_at(header, 8)?;
        let method = u16_at(header, 10)?;
        let crc32 = u32_at(header, 16)?;
        let compressed = u32_at(header, 20)?;
        let size = u32_at(header, 24)?;
        let name_len = usize::from(u16_at(header, 28)?);
        let extra_len = u16_at(header, 30)?;
        let comment_len = u16_at(header, 32)?;
        let disk = u16_at(header, 34)?;
        let local_at = usize::try_from(u32_at(header, 42)?).ok()?;
        if u32_at(header, 0)? != CENTRAL_SIGNATURE
            || flags & !FLAG_UTF8 != 0
            || method != 0
            || compressed != size
            || size == u32::MAX
            || local_at == u32::MAX as usize
            || extra_len != 0
            || comment_len != 0
            || disk != 0
        {
            return None;
        }
        let name_at = at + CENTRAL_LEN;
        let raw_name = bytes.get(name_at..name_at.checked_add(name_len)?)?;
        let name = std::str::from_utf8(raw_name).ok()?;
        // Names that are not plain ASCII must be flagged as UTF-8, or other
        // readers would take them as code page 437.
        if !name.is_ascii() && flags & FLAG_UTF8 == 0 {
            return None;
        }
        if !names.insert(name) {
            return None;
        }
        at = name_at + name_len;

        // The local header repeats the directory entry, with no extras.
        let local = bytes.get(local_at..local_at.checked_add(LOCAL_LEN)?)?;
        if u32_at(local, 0)? != LOCAL_SIGNATURE
            || u16_at(local, 6)? != flags
            || u16_at(local, 8)? != method
            || u32_at(local, 14)? != crc32
            || u32_at(local, 18)? != compressed
            || u32_at(local, 22)? != size
            || usize::from(u16_at(local, 26)?) != name_len
            || u16_at(local, 28)? != 0
        {
            return None;
        }
        let local_name_at = local_at + LOCAL_LEN;
        if bytes.get(local_name_at..local_name_at + name_len)? != raw_name {
            return None;
        }
        let start = local_name_at + name_len;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        if end > directory_at {
            return None;
        }
        spans.push((local_at, end));
        entries.push(StoredEntry {
            name: name.to_string(),
            start,
            size: u64::from(size),
            crc32,
        });
    }
    if at != eocd_at {
        return None;
    }
    // No two entries share bytes.
    spans.sort_unstable();
    if spans.windows(2).any(|pair| pair[0].1 > pair[1].0) {
        return None;
    }
    Some(entries)
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at + 2)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::io::{Cursor, Write};

    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    use super::*;

    fn write_zip(entries: &[(&str, &[u8], CompressionMethod)]) -> Vec<u8> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data, method) in entries {
            let options = SimpleFileOptions::default().compression_method(*method);
            zip.start_file(*name, options).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn read_all(zip: &StoredZip, index: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        zip.reader(index).unwrap().read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn reads_what_the_zip_crate_writes_stored() {
        let stored = CompressionMethod::Stored;
        let bytes = write_zip(&[
            ("mimetype", b"application/vnd.congvan.dispatch+zip", stored),
            ("attachments/Tờ trình.pdf", b"%PDF-1.7\n", stored),
            ("empty", b"", stored),
        ]);
        let zip = StoredZip::parse(bytes).expect("accepted");
        let names: Vec<&str> = zip.entries().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["mimetype", "attachments/Tờ trình.pdf", "empty"]);
        assert_eq!(read_all(&zip, 1).unwrap(), b"%PDF-1.7\n");
        assert_eq!(read_all(&zip, 2).unwrap(), b"");
        assert!(zip.reader(3).is_none());
    }

    #[test]
    fn declines_compressed_entries_comments_and_prefixes() {
        let deflated = write_zip(&[("a", &[b'x'; 100], CompressionMethod::Deflated)]);
        assert!(StoredZip::parse(deflated).is_err());
        let stored = write_zip(&[("a", b"abc", CompressionMethod::Stored)]);
        let mut commented = stored.clone();
        let n = commented.len();
        commented[n - 2] = 1;
        commented.push(b'!');
        assert!(StoredZip::parse(commented).is_err());
        let prefixed = [b"junk".as_slice(), &stored].concat();
        assert!(StoredZip::parse(prefixed).is_err());
        assert!(StoredZip::parse(stored[..stored.len() - 1].to_vec()).is_err());
        assert!(StoredZip::parse(Vec::new()).is_err());
    }

    #[test]
    fn altered_data_fails_its_crc_at_the_end() {
        let mut bytes = write_zip(&[("a", b"hello world", CompressionMethod::Stored)]);
        let at = bytes
            .windows(5)
            .position(|w| w == b"hello")
            .expect("data present");
        bytes[at] = b'j';
        let zip = StoredZip::parse(bytes).expect("layout unchanged");
        let err = read_all(&zip, 0).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn declines_duplicate_names_and_mismatched_local_headers() {
        let stored = CompressionMethod::Stored;
        let original = write_zip(&[("ab", b"1", stored), ("ac", b"2", stored)]);
        // "ac" appears twice: in its local header, then in the directory.
        let positions: Vec<usize> = original
            .windows(2)
            .enumerate()
            .filter(|(_, w)| *w == b"ac")
            .map(|(i, _)| i)
            .collect();
        assert_eq!(positions.len(), 2);
        let mut duplicate = original.clone();
        for &p in &positions {
            duplicate[p + 1] = b'b';
        }
        assert!(StoredZip::parse(duplicate).is_err());
        let mut mismatched = original.clone();
        mismatched[positions[0] + 1] = b'd';
        assert!(StoredZip::parse(mismatched).is_err());
        assert!(StoredZip::parse(original).is_ok());
    }

    /// Wherever this reader accepts a container, the `zip` crate reads the
    /// same entries with the same bytes: checked on thousands of corrupted
    /// copies of a valid one.
    #[test]
    fn agrees_with_the_zip_crate_on_corrupted_containers() {
        let stored = CompressionMethod::Stored;
        let original = write_zip(&[
            ("mimetype", b"application/vnd.congvan.dispatch+zip", stored),
            ("metadata.json", b"{\"a\":1}", stored),
            ("attachments/b.txt", b"bbbbbbbbbbbbbbbb", stored),
        ]);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut accepted, mut declined) = (0, 0);
        for _ in 0..20_000 {
            let mut bytes = original.clone();
            for _ in 0..1 + next() % 3 {
                let at = (next() % bytes.len() as u64) as usize;
                bytes[at] = next() as u8;
            }
            let Ok(ours) = StoredZip::parse(bytes.clone()) else {
                declined += 1;
                continue;
            };
            accepted += 1;
            let mut theirs = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip crate reads it");
            assert_eq!(theirs.len(), ours.entries().len());
            for (index, entry) in ours.entries().iter().enumerate() {
                let mut file = theirs.by_index(index).unwrap();
                assert_eq!(file.name(), entry.name);
                let mut expected = Vec::new();
                let their_result = file.read_to_end(&mut expected);
                let our_result = read_all(&ours, index);
                match (their_result, our_result) {
                    (Ok(_), Ok(bytes)) => assert_eq!(bytes, expected),
                    (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind()),
                    (a, b) => panic!("entry {index}: zip crate {a:?}, this reader {b:?}"),
                }
            }
        }
        // Both outcomes were exercised.
        assert!(accepted > 100 && declined > 100, "{accepted} / {declined}");
    }
}
