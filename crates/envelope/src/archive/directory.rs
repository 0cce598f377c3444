//! Reading a container's ZIP directory, strictly: the one reading of the
//! bytes that every congvan path uses.
//!
//! ZIP lets one file be read several ways. Readers that start from the
//! central directory (`unzip`, Python's `zipfile`) and readers that walk the
//! local headers, readers that trust the end record's entry count and
//! readers that trust the directory's size, can all be shown different
//! entries by the same bytes; a signed container must show everyone the
//! same thing. So this reader accepts only the plain layout, in which every
//! reading agrees:
//!
//! - the end-of-central-directory record ends the file (no comment, nothing
//!   after it), with the ZIP64 end record and locator right before it when
//!   and only when a value needs them;
//! - the central directory ends where the end record (or the ZIP64 end
//!   record) begins, and holds exactly the number of records the end record
//!   declares, filling its declared size;
//! - the entries lie back to back from byte 0 to the central directory, in
//!   directory order: nothing before the first, between two or after the
//!   last;
//! - each local header repeats its directory record (flags, method, time,
//!   date, CRC-32, sizes, name);
//! - no comments, no encryption, no data descriptors, no extra fields but
//!   the ZIP64 one, and that one only for a value that does not fit in 32
//!   bits; only stored and deflate; single disk;
//! - names are UTF-8 (flagged as such when not ASCII), unique and non-empty;
//! - entries are regular files (a Unix mode of a link, device or folder, or
//!   an MS-DOS folder attribute, is refused: `unzip` would create one).
//!
//! Anything else is refused with the reason; the container is not a
//! dispatch. `docs/FORMAT.md` §1.5 states the same rules for other readers.

use std::collections::HashSet;

use super::records::*;
use super::source::Source;

/// Largest central directory read, in bytes. The format's 20,000 entries
/// with 200-byte names take about 6 MB.
const MAX_CENTRAL_DIRECTORY: u64 = 16 * 1024 * 1024;

/// How an entry's bytes are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    /// As they are.
    Stored,
    /// Deflate (RFC 1951).
    Deflated,
}

/// One entry of the directory, checked against its local header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The name, UTF-8.
    pub(crate) name: String,
    /// How the data is stored.
    pub(crate) method: Method,
    /// The CRC-32 of the uncompressed bytes.
    pub(crate) crc32: u32,
    /// Bytes in the file.
    pub(crate) compressed_size: u64,
    /// Bytes once read.
    pub(crate) size: u64,
    /// Where the data starts in the file.
    pub(crate) data_offset: u64,
}

/// The whole directory of a container.
#[derive(Clone, Debug)]
pub(crate) struct Directory {
    /// The entries, in directory order, which is also file order.
    pub(crate) entries: Vec<Entry>,
    /// Where the central directory starts: everything before it is entries.
    pub(crate) central_offset: u64,
    /// The central directory's size in bytes.
    pub(crate) central_size: u64,
}

/// Why a directory could not be read.
#[derive(Debug)]
pub(crate) enum DirectoryError {
    /// The file could not be read.
    Io(std::io::Error),
    /// The bytes are not a ZIP archive within the rules above.
    Structure(String),
}

impl From<std::io::Error> for DirectoryError {
    fn from(e: std::io::Error) -> DirectoryError {
        DirectoryError::Io(e)
    }
}

fn refuse<T>(problem: impl Into<String>) -> Result<T, DirectoryError> {
    Err(DirectoryError::Structure(problem.into()))
}

/// The values of the end record, ZIP64 ones resolved.
struct End {
    count: u64,
    central_size: u64,
    central_offset: u64,
    /// Where the central directory must end: the ZIP64 end record or the end record.
    central_end: u64,
}

/// Reads and checks the directory of `source`, refusing more than
/// `max_entries` entries before reading them.
pub(crate) fn read_directory(
    source: &mut Source,
    max_entries: usize,
) -> Result<Directory, DirectoryError> {
    let end = read_end(source)?;
    if end.count > max_entries as u64 {
        return refuse(format!(
            "the archive has {} entries; at most {max_entries} are accepted",
            end.count
        ));
    }
    if end.central_offset.checked_add(end.central_size) != Some(end.central_end) {
        return refuse(format!(
            "the central directory (at byte {}, {} bytes) does not end where the end record \
             begins (byte {}): the archive holds bytes no entry accounts for, or a wrong size",
            end.central_offset, end.central_size, end.central_end
        ));
    }
    if end.central_size > MAX_CENTRAL_DIRECTORY {
        return refuse(format!(
            "the central directory is {} bytes; at most {MAX_CENTRAL_DIRECTORY} are accepted",
            end.central_size
        ));
    }
    let central = source.read_at(end.central_offset, end.central_size as usize)?;
    let mut records = Vec::with_capacity(end.count as usize);
    let mut at = 0usize;
    for index in 0..end.count {
        let (record, next) = parse_central(&central, at, index)?;
        records.push(record);
        at = next;
    }
    if at != central.len() {
        return refuse(format!(
            "the central directory holds {} bytes after the {} records the end record declares \
             (an uncounted record, or a wrong size)",
            central.len() - at,
            end.count
        ));
    }

    let mut names = HashSet::with_capacity(records.len());
    let mut entries = Vec::with_capacity(records.len());
    let mut expected = 0u64;
    for record in records {
        if !names.insert(record.name.clone()) {
            return refuse(format!("the entry name {:?} appears twice", record.name));
        }
        if record.local_offset != expected {
            return refuse(if record.local_offset > expected {
                let place = if entries.is_empty() {
                    "at byte 0".to_string()
                } else {
                    format!("where the previous entry ends (byte {expected})")
                };
                format!(
                    "entry {:?} does not start {place}: {} bytes there belong to no entry \
                     (hidden data), or the entries are not in directory order",
                    record.name,
                    record.local_offset - expected,
                )
            } else {
                format!(
                    "entry {:?} overlaps the entry before it, or the entries are not in \
                     directory order",
                    record.name
                )
            });
        }
        let entry = check_local(source, &record)?;
        expected = entry
            .data_offset
            .checked_add(entry.compressed_size)
            .ok_or_else(|| DirectoryError::Structure("an entry's size overflows".into()))?;
        entries.push(entry);
    }
    if expected != end.central_offset {
        return refuse(if expected < end.central_offset {
            format!(
                "{} bytes between the last entry and the central directory belong to no entry",
                end.central_offset - expected
            )
        } else {
            "the last entry's data runs into the central directory".to_string()
        });
    }
    Ok(Directory {
        entries,
        central_offset: end.central_offset,
        central_size: end.central_size,
    })
}

/// The end record, which must end the file, and the ZIP64 records before it
/// when its values need them.
fn read_end(source: &mut Source) -> Result<End, DirectoryError> {
    let len = source.len();
    if len < END_LEN as u64 {
        return refuse("the file is too short to be a ZIP archive");
    }
    let end_at = len - END_LEN as u64;
    let record = source.read_at(end_at, END_LEN)?;
    if u32_at(&record, 0) != END_SIGNATURE {
        return refuse(
            "the file does not end with a ZIP end-of-central-directory record: it is not a ZIP \
             archive, or it has an archive comment or bytes after the archive, which are not \
             allowed",
        );
    }
    let (disk, central_disk) = (u16_at(&record, 4), u16_at(&record, 6));
    let (count_here, count) = (u16_at(&record, 8), u16_at(&record, 10));
    let central_size = u32_at(&record, 12);
    let central_offset = u32_at(&record, 16);
    if u16_at(&record, 20) != 0 {
        return refuse("the archive has a comment; containers carry none");
    }
    if disk != 0 || central_disk != 0 || count_here != count {
        return refuse("multi-disk (spanned) archives are not supported");
    }
    let zip64 =
        count == SENTINEL_16 || central_size == SENTINEL_32 || central_offset == SENTINEL_32;
    if !zip64 {
        return Ok(End {
            count: u64::from(count),
            central_size: u64::from(central_size),
            central_offset: u64::from(central_offset),
            central_end: end_at,
        });
    }

    // The ZIP64 locator sits right before the end record, and the ZIP64 end
    // record, which it points to, right before the locator.
    let records_len = (ZIP64_LOCATOR_LEN + ZIP64_END_LEN) as u64;
    if end_at < records_len {
        return refuse("the end record points to ZIP64 records that are not there");
    }
    let locator_at = end_at - ZIP64_LOCATOR_LEN as u64;
    let locator = source.read_at(locator_at, ZIP64_LOCATOR_LEN)?;
    let zip64_at = locator_at - ZIP64_END_LEN as u64;
    if u32_at(&locator, 0) != ZIP64_LOCATOR_SIGNATURE
        || u32_at(&locator, 4) != 0
        || u64_at(&locator, 8) != zip64_at
        || u32_at(&locator, 16) != 1
    {
        return refuse(
            "the ZIP64 end-of-central-directory locator is missing, misplaced or multi-disk",
        );
    }
    let zip64_end = source.read_at(zip64_at, ZIP64_END_LEN)?;
    if u32_at(&zip64_end, 0) != ZIP64_END_SIGNATURE
        || u64_at(&zip64_end, 4) != ZIP64_END_REST
        || u32_at(&zip64_end, 16) != 0
        || u32_at(&zip64_end, 20) != 0
        || u64_at(&zip64_end, 24) != u64_at(&zip64_end, 32)
    {
        return refuse(
            "the ZIP64 end-of-central-directory record is missing, multi-disk or carries \
             extensible data",
        );
    }
    let end = End {
        count: u64_at(&zip64_end, 32),
        central_size: u64_at(&zip64_end, 40),
        central_offset: u64_at(&zip64_end, 48),
        central_end: zip64_at,
    };
    // Each classic field holds its value, or the sentinel exactly when the
    // value does not fit: one value, one spelling.
    let consistent = sentinel_or_value(u64::from(count), SENTINEL_16.into(), end.count)
        && sentinel_or_value(
            u64::from(central_size),
            SENTINEL_32.into(),
            end.central_size,
        )
        && sentinel_or_value(
            u64::from(central_offset),
            SENTINEL_32.into(),
            end.central_offset,
        );
    if !consistent {
        return refuse(
            "the end record and the ZIP64 end record disagree, or ZIP64 is used for values \
             that fit in the classic record",
        );
    }
    Ok(end)
}

/// True when a classic field is the sentinel and the real value needs it,
/// or holds the real value, which fits.
fn sentinel_or_value(classic: u64, sentinel: u64, value: u64) -> bool {
    if value >= sentinel {
        classic == sentinel
    } else {
        classic == value
    }
}

/// A central directory record, its ZIP64 values resolved.
struct CentralRecord {
    name: String,
    name_bytes: Vec<u8>,
    flags: u16,
    method: u16,
    time: u16,
    date: u16,
    crc32: u32,
    compressed_size: u64,
    size: u64,
    local_offset: u64,
    /// The sizes are in a ZIP64 field (so they must be in the local one too).
    zip64_sizes: bool,
}

fn parse_central(
    central: &[u8],
    at: usize,
    index: u64,
) -> Result<(CentralRecord, usize), DirectoryError> {
    let number = index + 1;
    let Some(fixed) = central.get(at..at + CENTRAL_LEN) else {
        return refuse(format!(
            "the central directory ends inside record {number} (a wrong size or entry count)"
        ));
    };
    if u32_at(fixed, 0) != CENTRAL_SIGNATURE {
        return refuse(format!(
            "central directory record {number} is not a central directory record"
        ));
    }
    let made_by = u16_at(fixed, 4);
    let flags = u16_at(fixed, 8);
    let method = u16_at(fixed, 10);
    let time = u16_at(fixed, 12);
    let date = u16_at(fixed, 14);
    let crc32 = u32_at(fixed, 16);
    let compressed32 = u32_at(fixed, 20);
    let size32 = u32_at(fixed, 24);
    let name_len = usize::from(u16_at(fixed, 28));
    let extra_len = usize::from(u16_at(fixed, 30));
    let comment_len = u16_at(fixed, 32);
    let disk = u16_at(fixed, 34);
    let internal = u16_at(fixed, 36);
    let external = u32_at(fixed, 38);
    let offset32 = u32_at(fixed, 42);

    let name_at = at + CENTRAL_LEN;
    let extra_at = name_at + name_len;
    let next = extra_at + extra_len + usize::from(comment_len);
    let (Some(name_bytes), Some(extra)) = (
        central.get(name_at..extra_at),
        central.get(extra_at..extra_at + extra_len),
    ) else {
        return refuse(format!(
            "central directory record {number} runs past the end of the directory"
        ));
    };
    let Ok(name) = std::str::from_utf8(name_bytes) else {
        return refuse(format!("the name of entry {number} is not valid UTF-8"));
    };
    let name = name.to_string();
    let entry = |what: &str| format!("entry {name:?} {what}");
    if name.is_empty() {
        return refuse(format!("entry {number} has an empty name"));
    }
    if !name.is_ascii() && flags & FLAG_UTF8 == 0 {
        return refuse(entry(
            "has a non-ASCII name without the UTF-8 flag (other readers would decode it as \
             code page 437)",
        ));
    }
    if flags & FLAG_ENCRYPTED != 0 {
        return refuse(entry("is encrypted"));
    }
    if flags & FLAG_DATA_DESCRIPTOR != 0 {
        return refuse(entry(
            "uses a data descriptor (sizes after the data); containers give sizes in the header",
        ));
    }
    let allowed_flags = FLAG_UTF8
        | if method == METHOD_DEFLATED {
            FLAG_DEFLATE_LEVEL
        } else {
            0
        };
    if flags & !allowed_flags != 0 {
        return refuse(entry(&format!(
            "has general-purpose flags 0x{flags:04x}, which containers do not use"
        )));
    }
    if method != METHOD_STORED && method != METHOD_DEFLATED {
        return refuse(entry(&format!(
            "uses compression method {method}; only stored (0) and deflate (8) are read"
        )));
    }
    if comment_len != 0 {
        return refuse(entry("has a comment; containers carry none"));
    }
    if disk != 0 {
        return refuse(entry(
            "is on another disk; spanned archives are not supported",
        ));
    }
    if internal & !1 != 0 {
        return refuse(entry("has unknown internal attributes"));
    }
    check_file_type(&name, made_by, external)?;

    // The ZIP64 field holds, in this order, exactly the values whose 32-bit
    // field is the sentinel; each must really need 64 bits.
    let mut wanted = Vec::new();
    if size32 == SENTINEL_32 {
        wanted.push("size");
    }
    if compressed32 == SENTINEL_32 {
        wanted.push("compressed size");
    }
    if offset32 == SENTINEL_32 {
        wanted.push("offset");
    }
    let zip64 = zip64_values(extra, wanted.len()).map_err(|why| {
        DirectoryError::Structure(entry(&format!("in the central directory {why}")))
    })?;
    let mut values = zip64.into_iter();
    let mut resolve = |field32: u32| -> Result<u64, DirectoryError> {
        if field32 != SENTINEL_32 {
            return Ok(u64::from(field32));
        }
        match values.next() {
            Some(v) if v >= u64::from(SENTINEL_32) => Ok(v),
            _ => refuse(entry("uses ZIP64 for a value that fits in 32 bits")),
        }
    };
    let size = resolve(size32)?;
    let compressed_size = resolve(compressed32)?;
    let local_offset = resolve(offset32)?;
    if method == METHOD_STORED && compressed_size != size {
        return refuse(entry(
            "is stored but declares different compressed and uncompressed sizes",
        ));
    }
    Ok((
        CentralRecord {
            name,
            name_bytes: name_bytes.to_vec(),
            flags,
            method,
            time,
            date,
            crc32,
            compressed_size,
            size,
            local_offset,
            zip64_sizes: size32 == SENTINEL_32 || compressed32 == SENTINEL_32,
        },
        next,
    ))
}

/// Refuses an entry that is not a plain file: extracting it would make a
/// symbolic link, a device, a folder or a setuid file.
fn check_file_type(name: &str, made_by: u16, external: u32) -> Result<(), DirectoryError> {
    let host = (made_by >> 8) as u8;
    if host == HOST_UNIX || host == HOST_OSX {
        let mode = external >> 16;
        let kind = mode & UNIX_TYPE_MASK;
        if kind != 0 && kind != UNIX_REGULAR {
            let what = match kind {
                0o120_000 => "a symbolic link",
                0o040_000 => "a folder",
                0o020_000 | 0o060_000 => "a device",
                0o010_000 => "a named pipe",
                0o140_000 => "a socket",
                _ => "not a regular file",
            };
            return refuse(format!(
                "entry {name:?} is marked as {what} (Unix mode 0o{mode:o}); containers hold \
                 regular files only"
            ));
        }
        if mode & UNIX_SPECIAL_BITS != 0 {
            return refuse(format!(
                "entry {name:?} has setuid, setgid or sticky bits (Unix mode 0o{mode:o})"
            ));
        }
    }
    if external & DOS_NOT_A_FILE != 0 {
        return refuse(format!(
            "entry {name:?} is marked as a folder or volume label"
        ));
    }
    Ok(())
}

/// The values of an extra field that must be empty or one ZIP64 field of
/// exactly `count` values.
fn zip64_values(extra: &[u8], count: usize) -> Result<Vec<u64>, String> {
    if extra.is_empty() {
        if count > 0 {
            return Err("declares ZIP64 values but has no ZIP64 field".into());
        }
        return Ok(Vec::new());
    }
    if extra.len() < 4 {
        return Err("has a truncated extra field".into());
    }
    let id = u16_at(extra, 0);
    let len = usize::from(u16_at(extra, 2));
    if id != ZIP64_EXTRA_ID {
        return Err(format!(
            "has an extra field (header 0x{id:04x}); only a ZIP64 field is allowed, and only \
             where a size needs it"
        ));
    }
    if 4 + len != extra.len() {
        return Err("has more than one extra field, or a truncated one".into());
    }
    if count == 0 {
        return Err("has a ZIP64 field but no value that needs it".into());
    }
    if len != 8 * count {
        return Err(format!(
            "has a ZIP64 field of {len} bytes where its {count} value(s) take {}",
            8 * count
        ));
    }
    Ok((0..count).map(|i| u64_at(extra, 4 + 8 * i)).collect())
}

/// Reads `record`'s local header, which must repeat it, and gives the entry.
fn check_local(source: &mut Source, record: &CentralRecord) -> Result<Entry, DirectoryError> {
    let name = &record.name;
    let header = source
        .read_at(record.local_offset, LOCAL_LEN)
        .map_err(|_| {
            DirectoryError::Structure(format!(
                "the local header of entry {name:?} lies outside the file"
            ))
        })?;
    if u32_at(&header, 0) != LOCAL_SIGNATURE {
        return refuse(format!(
            "entry {name:?} points to bytes that are not a local header"
        ));
    }
    let name_len = usize::from(u16_at(&header, 26));
    let extra_len = usize::from(u16_at(&header, 28));
    let differs = |field: &str| {
        DirectoryError::Structure(format!(
            "the local header of entry {name:?} differs from its central directory record \
             ({field}): readers would not agree on the entry"
        ))
    };
    if u16_at(&header, 6) != record.flags {
        return Err(differs("flags"));
    }
    if u16_at(&header, 8) != record.method {
        return Err(differs("compression method"));
    }
    if u16_at(&header, 10) != record.time || u16_at(&header, 12) != record.date {
        return Err(differs("time"));
    }
    if u32_at(&header, 14) != record.crc32 {
        return Err(differs("CRC-32"));
    }
    if name_len != record.name_bytes.len() {
        return Err(differs("name"));
    }
    let variable = source
        .read_at(record.local_offset + LOCAL_LEN as u64, name_len + extra_len)
        .map_err(|_| {
            DirectoryError::Structure(format!(
                "the local header of entry {name:?} runs past the end of the file"
            ))
        })?;
    if variable[..name_len] != record.name_bytes[..] {
        return Err(differs("name"));
    }
    let extra = &variable[name_len..];
    let (compressed32, size32) = (u32_at(&header, 18), u32_at(&header, 22));
    if record.zip64_sizes {
        // A local ZIP64 field carries both sizes (APPNOTE 4.5.3).
        let values = zip64_values(extra, 2).map_err(|why| {
            DirectoryError::Structure(format!("entry {name:?} in its local header {why}"))
        })?;
        if compressed32 != SENTINEL_32
            || size32 != SENTINEL_32
            || values != [record.size, record.compressed_size]
        {
            return Err(differs("sizes"));
        }
    } else {
        if !extra.is_empty() {
            return refuse(format!(
                "entry {name:?} has an extra field in its local header; only a ZIP64 field is \
                 allowed, and only where a size needs it"
            ));
        }
        if u64::from(compressed32) != record.compressed_size || u64::from(size32) != record.size {
            return Err(differs("sizes"));
        }
    }
    let method = if record.method == METHOD_STORED {
        Method::Stored
    } else {
        Method::Deflated
    };
    Ok(Entry {
        name: record.name.clone(),
        method,
        crc32: record.crc32,
        compressed_size: record.compressed_size,
        size: record.size,
        data_offset: record.local_offset + (LOCAL_LEN + name_len + extra_len) as u64,
    })
}
