//! Counting the entries of a ZIP's central directory ourselves.
//!
//! The `zip` crate indexes entries by name, so two entries with the same
//! name silently collapse into one. A signed container must never be
//! ambiguous, so the reader compares the crate's count with the count the
//! end-of-central-directory record declares. It reads two fixed records and
//! nothing else. (Small containers in congvan's own layout skip the crate
//! altogether: see `stored_zip.rs`, which refuses duplicates itself.)

use std::io::{self, Read, Seek, SeekFrom};

const EOCD_SIGNATURE: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
const ZIP64_LOCATOR_SIGNATURE: [u8; 4] = [0x50, 0x4b, 0x06, 0x07];
const ZIP64_EOCD_SIGNATURE: [u8; 4] = [0x50, 0x4b, 0x06, 0x06];
const EOCD_LEN: u64 = 22;
const MAX_COMMENT: u64 = 0xffff;

/// The number of entries the central directory declares, or `None` when no
/// end-of-central-directory record is found.
pub(crate) fn declared_entries<R: Read + Seek>(reader: &mut R) -> io::Result<Option<u64>> {
    let len = reader.seek(SeekFrom::End(0))?;
    if len < EOCD_LEN {
        return Ok(None);
    }
    let window = len.min(EOCD_LEN + MAX_COMMENT);
    reader.seek(SeekFrom::Start(len - window))?;
    let mut tail = vec![0u8; window as usize];
    reader.read_exact(&mut tail)?;
    let Some(pos) = (0..=tail.len() - EOCD_LEN as usize)
        .rev()
        .find(|&i| tail[i..i + 4] == EOCD_SIGNATURE)
    else {
        return Ok(None);
    };
    let count = u16::from_le_bytes([tail[pos + 10], tail[pos + 11]]);
    if count != 0xffff {
        return Ok(Some(u64::from(count)));
    }
    // ZIP64: the locator sits just before the classic record.
    let eocd_offset = len - window + pos as u64;
    if eocd_offset < 20 {
        return Ok(None);
    }
    reader.seek(SeekFrom::Start(eocd_offset - 20))?;
    let mut locator = [0u8; 20];
    reader.read_exact(&mut locator)?;
    if locator[..4] != ZIP64_LOCATOR_SIGNATURE {
        return Ok(None);
    }
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&locator[8..16]);
    reader.seek(SeekFrom::Start(u64::from_le_bytes(offset)))?;
    let mut record = [0u8; 40];
    reader.read_exact(&mut record)?;
    if record[..4] != ZIP64_EOCD_SIGNATURE {
        return Ok(None);
    }
    let mut total = [0u8; 8];
    total.copy_from_slice(&record[32..40]);
    Ok(Some(u64::from_le_bytes(total)))
}
