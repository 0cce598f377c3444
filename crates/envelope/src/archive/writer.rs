//! Writing a container's ZIP structure: stored entries, back to back, then
//! the central directory and its end record. Exactly the layout the reader
//! (`directory.rs`) accepts and nothing more: no comments, no data
//! descriptors, no extra fields but ZIP64 where a value needs it.

use std::io::{self, Read, Seek, SeekFrom, Write};

use super::records::*;

/// Writes entries and, at [`ZipWriter::finish`], the directory.
pub(crate) struct ZipWriter<W: Write> {
    out: W,
    /// Bytes written so far (the next entry's offset).
    position: u64,
    /// The central directory records, in entry order.
    central: Vec<u8>,
    /// How many records `central` holds.
    count: u64,
}

impl<W: Write> ZipWriter<W> {
    /// A new, empty archive written to `out`.
    pub(crate) fn new(out: W) -> ZipWriter<W> {
        ZipWriter::continuing(out, 0, Vec::new(), 0)
    }

    /// An archive whose first entries, `prefix_len` bytes, are already in
    /// `out`, with their `count` central records `central` (copied from the
    /// archive they came from, byte for byte).
    pub(crate) fn continuing(
        out: W,
        prefix_len: u64,
        central: Vec<u8>,
        count: u64,
    ) -> ZipWriter<W> {
        ZipWriter {
            out,
            position: prefix_len,
            central,
            count,
        }
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.position += bytes.len() as u64;
        Ok(())
    }

    /// Adds a stored entry from bytes in memory.
    pub(crate) fn add_bytes(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        let crc = crc32fast::hash(data);
        let offset = self.position;
        let size = data.len() as u64;
        self.write(&local_header(name, crc, size))?;
        self.write(data)?;
        self.add_central(name, crc, size, offset);
        Ok(())
    }

    fn add_central(&mut self, name: &str, crc: u32, size: u64, offset: u64) {
        self.central
            .extend_from_slice(&central_record(name, crc, size, offset));
        self.count += 1;
    }

    /// Writes the central directory and the end record(s), and gives the
    /// output back.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        let central_offset = self.position;
        let central = std::mem::take(&mut self.central);
        self.write(&central)?;
        let central_size = central.len() as u64;
        let zip64 = self.count >= u64::from(SENTINEL_16)
            || central_size >= u64::from(SENTINEL_32)
            || central_offset >= u64::from(SENTINEL_32);
        if zip64 {
            let zip64_at = self.position;
            let mut record = Vec::with_capacity(ZIP64_END_LEN + ZIP64_LOCATOR_LEN);
            put32(&mut record, ZIP64_END_SIGNATURE);
            put64(&mut record, ZIP64_END_REST);
            put16(&mut record, written::MADE_BY);
            put16(&mut record, written::NEEDED_ZIP64);
            put32(&mut record, 0);
            put32(&mut record, 0);
            put64(&mut record, self.count);
            put64(&mut record, self.count);
            put64(&mut record, central_size);
            put64(&mut record, central_offset);
            put32(&mut record, ZIP64_LOCATOR_SIGNATURE);
            put32(&mut record, 0);
            put64(&mut record, zip64_at);
            put32(&mut record, 1);
            self.write(&record)?;
        }
        let count = u16::try_from(self.count)
            .ok()
            .filter(|&c| c < SENTINEL_16)
            .unwrap_or(SENTINEL_16);
        let mut end = Vec::with_capacity(END_LEN);
        put32(&mut end, END_SIGNATURE);
        put16(&mut end, 0);
        put16(&mut end, 0);
        put16(&mut end, count);
        put16(&mut end, count);
        put32(&mut end, fit32(central_size));
        put32(&mut end, fit32(central_offset));
        put16(&mut end, 0);
        self.write(&end)?;
        Ok(self.out)
    }
}

impl<W: Write + Seek> ZipWriter<W> {
    /// Adds a stored entry of `size` bytes streamed from `reader`, hashing
    /// it with SHA-256 on the way; returns the digest. The CRC-32 is known
    /// only at the end, so the local header is patched afterwards.
    pub(crate) fn add_streamed(
        &mut self,
        name: &str,
        size: u64,
        reader: &mut dyn Read,
        progress: &mut dyn FnMut(u64),
    ) -> io::Result<String> {
        let offset = self.position;
        self.write(&local_header(name, 0, size))?;
        let mut sink = CrcWriter {
            out: &mut self.out,
            crc: crc32fast::Hasher::new(),
        };
        let (copied, sha256) =
            crate::digest::copy_hashing(reader, &mut sink, Some(size), progress)?;
        let crc = sink.crc.finalize();
        self.position += copied;
        if copied != size {
            return Err(io::Error::other(format!(
                "the file was {size} bytes but {copied} were read: it changed while it was being \
                 attached"
            )));
        }
        self.out.seek(SeekFrom::Start(offset + 14))?;
        self.out.write_all(&crc.to_le_bytes())?;
        self.out.seek(SeekFrom::Start(self.position))?;
        self.add_central(name, crc, size, offset);
        Ok(sha256)
    }
}

impl<W: Write + Seek> ZipWriter<W> {
    /// Adds a stored entry of exactly `size` bytes that `write` produces
    /// (a sealed dispatch's ciphertext, encrypted as it is written), and
    /// returns what `write` returned.
    pub(crate) fn add_written<T>(
        &mut self,
        name: &str,
        size: u64,
        write: impl FnOnce(&mut dyn Write) -> io::Result<T>,
    ) -> io::Result<T> {
        let offset = self.position;
        self.write(&local_header(name, 0, size))?;
        let mut sink = CountingCrcWriter {
            inner: CrcWriter {
                out: &mut self.out,
                crc: crc32fast::Hasher::new(),
            },
            count: 0,
        };
        let result = write(&mut sink)?;
        let (crc, copied) = (sink.inner.crc.finalize(), sink.count);
        self.position += copied;
        if copied != size {
            return Err(io::Error::other(format!(
                "{name}: {copied} bytes were written where {size} were announced"
            )));
        }
        self.out.seek(SeekFrom::Start(offset + 14))?;
        self.out.write_all(&crc.to_le_bytes())?;
        self.out.seek(SeekFrom::Start(self.position))?;
        self.add_central(name, crc, size, offset);
        Ok(result)
    }
}

/// A [`CrcWriter`] that also counts.
struct CountingCrcWriter<'a, W: Write> {
    inner: CrcWriter<'a, W>,
    count: u64,
}

impl<W: Write> Write for CountingCrcWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Computes the CRC-32 of what passes through.
struct CrcWriter<'a, W: Write> {
    out: &'a mut W,
    crc: crc32fast::Hasher,
}

impl<W: Write> Write for CrcWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn flags(name: &str) -> u16 {
    if name.is_ascii() {
        0
    } else {
        FLAG_UTF8
    }
}

fn fit32(value: u64) -> u32 {
    u32::try_from(value)
        .ok()
        .filter(|&v| v < SENTINEL_32)
        .unwrap_or(SENTINEL_32)
}

fn needs64(value: u64) -> bool {
    value >= u64::from(SENTINEL_32)
}

pub(super) fn local_header(name: &str, crc: u32, size: u64) -> Vec<u8> {
    let zip64 = needs64(size);
    let mut header = Vec::with_capacity(LOCAL_LEN + name.len() + 20);
    put32(&mut header, LOCAL_SIGNATURE);
    put16(
        &mut header,
        if zip64 {
            written::NEEDED_ZIP64
        } else {
            written::NEEDED
        },
    );
    put16(&mut header, flags(name));
    put16(&mut header, METHOD_STORED);
    put16(&mut header, written::DOS_TIME);
    put16(&mut header, written::DOS_DATE);
    put32(&mut header, crc);
    put32(&mut header, fit32(size));
    put32(&mut header, fit32(size));
    put16(&mut header, name.len() as u16);
    put16(&mut header, if zip64 { 20 } else { 0 });
    header.extend_from_slice(name.as_bytes());
    if zip64 {
        put16(&mut header, ZIP64_EXTRA_ID);
        put16(&mut header, 16);
        put64(&mut header, size);
        put64(&mut header, size);
    }
    header
}

pub(super) fn central_record(name: &str, crc: u32, size: u64, offset: u64) -> Vec<u8> {
    let mut zip64 = Vec::new();
    if needs64(size) {
        put64(&mut zip64, size);
        put64(&mut zip64, size);
    }
    if needs64(offset) {
        put64(&mut zip64, offset);
    }
    let extra_len = if zip64.is_empty() { 0 } else { 4 + zip64.len() };
    let mut record = Vec::with_capacity(CENTRAL_LEN + name.len() + extra_len);
    put32(&mut record, CENTRAL_SIGNATURE);
    put16(&mut record, written::MADE_BY);
    put16(
        &mut record,
        if zip64.is_empty() {
            written::NEEDED
        } else {
            written::NEEDED_ZIP64
        },
    );
    put16(&mut record, flags(name));
    put16(&mut record, METHOD_STORED);
    put16(&mut record, written::DOS_TIME);
    put16(&mut record, written::DOS_DATE);
    put32(&mut record, crc);
    put32(&mut record, fit32(size));
    put32(&mut record, fit32(size));
    put16(&mut record, name.len() as u16);
    put16(&mut record, extra_len as u16);
    put16(&mut record, 0); // comment
    put16(&mut record, 0); // disk
    put16(&mut record, 0); // internal attributes
    put32(&mut record, written::EXTERNAL_ATTRIBUTES);
    put32(&mut record, fit32(offset));
    record.extend_from_slice(name.as_bytes());
    if !zip64.is_empty() {
        put16(&mut record, ZIP64_EXTRA_ID);
        put16(&mut record, zip64.len() as u16);
        record.extend_from_slice(&zip64);
    }
    record
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}
