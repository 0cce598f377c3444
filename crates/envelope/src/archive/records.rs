//! The ZIP records a container is made of, as PKWARE's APPNOTE lays them
//! out: one place that knows the offsets, so the reader and the writer
//! cannot disagree about a field.

/// Local file header signature.
pub(crate) const LOCAL_SIGNATURE: u32 = 0x0403_4b50;
/// Central directory record signature.
pub(crate) const CENTRAL_SIGNATURE: u32 = 0x0201_4b50;
/// End of central directory record signature.
pub(crate) const END_SIGNATURE: u32 = 0x0605_4b50;
/// ZIP64 end of central directory record signature.
pub(crate) const ZIP64_END_SIGNATURE: u32 = 0x0606_4b50;
/// ZIP64 end of central directory locator signature.
pub(crate) const ZIP64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;

/// Fixed part of a local file header.
pub(crate) const LOCAL_LEN: usize = 30;
/// Fixed part of a central directory record.
pub(crate) const CENTRAL_LEN: usize = 46;
/// The end of central directory record, without a comment.
pub(crate) const END_LEN: usize = 22;
/// The ZIP64 end record without extensible data.
pub(crate) const ZIP64_END_LEN: usize = 56;
/// The ZIP64 "size of the rest of the record" field for [`ZIP64_END_LEN`].
pub(crate) const ZIP64_END_REST: u64 = 44;
/// The ZIP64 end of central directory locator.
pub(crate) const ZIP64_LOCATOR_LEN: usize = 20;
/// Header id of the ZIP64 extended information extra field.
pub(crate) const ZIP64_EXTRA_ID: u16 = 0x0001;

/// A 32-bit field that says "the value is in the ZIP64 record".
pub(crate) const SENTINEL_32: u32 = u32::MAX;
/// A 16-bit count that says "the value is in the ZIP64 record".
pub(crate) const SENTINEL_16: u16 = u16::MAX;

/// General-purpose flag bit 0: the entry is encrypted.
pub(crate) const FLAG_ENCRYPTED: u16 = 1;
/// Flag bits 1 and 2: the deflate compression level used (information only).
pub(crate) const FLAG_DEFLATE_LEVEL: u16 = 0b110;
/// Flag bit 3: sizes and CRC follow the data in a data descriptor.
pub(crate) const FLAG_DATA_DESCRIPTOR: u16 = 1 << 3;
/// Flag bit 11: the name is UTF-8.
pub(crate) const FLAG_UTF8: u16 = 1 << 11;

/// Compression method 0.
pub(crate) const METHOD_STORED: u16 = 0;
/// Compression method 8.
pub(crate) const METHOD_DEFLATED: u16 = 8;

/// "Version made by" host systems whose external attributes hold a Unix mode.
pub(crate) const HOST_UNIX: u8 = 3;
/// macOS writers use this host number with a Unix mode too.
pub(crate) const HOST_OSX: u8 = 19;
/// The Unix file-type bits of a mode.
pub(crate) const UNIX_TYPE_MASK: u32 = 0o170_000;
/// A regular file.
pub(crate) const UNIX_REGULAR: u32 = 0o100_000;
/// setuid, setgid and sticky.
pub(crate) const UNIX_SPECIAL_BITS: u32 = 0o7000;
/// MS-DOS attributes: volume label and directory.
pub(crate) const DOS_NOT_A_FILE: u32 = 0x08 | 0x10;

/// A little-endian field of a record.
pub(crate) fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

/// A little-endian field of a record.
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// A little-endian field of a record.
pub(crate) fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

/// What congvan writes into every entry it makes.
pub(crate) mod written {
    /// Made by Unix (3), APPNOTE 4.5: the external attributes hold a Unix mode.
    pub(crate) const MADE_BY: u16 = (3 << 8) | 45;
    /// Version needed for a stored entry.
    pub(crate) const NEEDED: u16 = 20;
    /// Version needed when ZIP64 fields are used.
    pub(crate) const NEEDED_ZIP64: u16 = 45;
    /// A regular file, rw-r--r--.
    pub(crate) const EXTERNAL_ATTRIBUTES: u32 = 0o100_644 << 16;
    /// MS-DOS time 00:00:00. Entry times are not signed and say nothing a
    /// reader may rely on, so every entry carries the same one and a
    /// container's bytes depend only on its content.
    pub(crate) const DOS_TIME: u16 = 0;
    /// MS-DOS date 1980-01-01, the earliest the format can hold.
    pub(crate) const DOS_DATE: u16 = (1 << 5) | 1;
}
