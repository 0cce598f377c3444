//! ZIP archives built byte by byte, including the ambiguous and malformed
//! ones a hostile sender makes: an entry the end record does not count, data
//! hidden between entries, a local header that says something else than
//! its directory record, a symbolic link.
//!
//! Used by the container reader's unit tests, the envelope's integration
//! tests and `crates/cli/examples/make_fixtures.rs` (which writes
//! `fixtures/hostile/`), so all three build hostile files the same way.
#![allow(dead_code)]

/// One entry as it will be written: every field a hostile writer controls.
#[derive(Clone, Debug)]
pub struct RawEntry {
    /// The name in the central directory.
    pub name: Vec<u8>,
    /// The name in the local header, when it differs.
    pub local_name: Option<Vec<u8>>,
    /// The bytes as stored (compressed when `method` is 8).
    pub data: Vec<u8>,
    /// Compression method.
    pub method: u16,
    /// General-purpose flags in the central directory.
    pub flags: u16,
    /// Flags in the local header, when they differ.
    pub local_flags: Option<u16>,
    /// CRC-32 of the uncompressed bytes.
    pub crc32: u32,
    /// CRC-32 in the local header, when it differs.
    pub local_crc32: Option<u32>,
    /// Uncompressed size.
    pub size: u64,
    /// Uncompressed size in the local header, when it differs.
    pub local_size: Option<u64>,
    /// "Version made by".
    pub made_by: u16,
    /// External attributes (a Unix mode in the high 16 bits for Unix hosts).
    pub external: u32,
    /// The central record's extra field.
    pub central_extra: Vec<u8>,
    /// The local header's extra field.
    pub local_extra: Vec<u8>,
    /// The entry comment.
    pub comment: Vec<u8>,
    /// Bytes written right after the data (a data descriptor).
    pub after_data: Vec<u8>,
    /// Bytes written before the local header.
    pub gap_before: Vec<u8>,
    /// False: a local entry with no central record.
    pub in_directory: bool,
    /// False: in the central directory but not in the end record's count.
    pub counted: bool,
}

impl RawEntry {
    /// A plain stored entry.
    pub fn stored(name: &str, data: &[u8]) -> RawEntry {
        RawEntry {
            name: name.as_bytes().to_vec(),
            local_name: None,
            data: data.to_vec(),
            method: 0,
            flags: if name.is_ascii() { 0 } else { 1 << 11 },
            local_flags: None,
            crc32: crc32(data),
            local_crc32: None,
            size: data.len() as u64,
            local_size: None,
            made_by: (3 << 8) | 45,
            external: 0o100_644 << 16,
            central_extra: Vec::new(),
            local_extra: Vec::new(),
            comment: Vec::new(),
            after_data: Vec::new(),
            gap_before: Vec::new(),
            in_directory: true,
            counted: true,
        }
    }

    /// The name as text.
    pub fn name_text(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// A whole archive as it will be written.
#[derive(Clone, Debug, Default)]
pub struct RawZip {
    /// The entries, in file order.
    pub entries: Vec<RawEntry>,
    /// Bytes between the last entry and the central directory.
    pub before_directory: Vec<u8>,
    /// The archive comment.
    pub comment: Vec<u8>,
    /// Bytes after the end record.
    pub after_end: Vec<u8>,
    /// Added to the central directory size the end record declares.
    pub central_size_delta: i64,
    /// Overrides the end record's entry count.
    pub count_override: Option<u16>,
    /// The order of the central directory records (indexes into
    /// `entries`), when it is not the file order.
    pub central_order: Option<Vec<usize>>,
}

impl RawZip {
    /// Reads a plain archive (as congvan writes one: stored, no ZIP64) into
    /// its parts, to be altered and written again.
    pub fn parse(bytes: &[u8]) -> RawZip {
        let end = bytes.len() - 22;
        assert_eq!(u32_at(bytes, end), 0x0605_4b50, "not a plain archive");
        let count = u16_at(bytes, end + 10) as usize;
        let mut at = u32_at(bytes, end + 16) as usize;
        let mut entries = Vec::new();
        for _ in 0..count {
            assert_eq!(u32_at(bytes, at), 0x0201_4b50);
            let name_len = u16_at(bytes, at + 28) as usize;
            let extra_len = u16_at(bytes, at + 30) as usize;
            let comment_len = u16_at(bytes, at + 32) as usize;
            let local = u32_at(bytes, at + 42) as usize;
            let local_name_len = u16_at(bytes, local + 26) as usize;
            let local_extra_len = u16_at(bytes, local + 28) as usize;
            let compressed = u32_at(bytes, at + 20) as usize;
            let data_at = local + 30 + local_name_len + local_extra_len;
            let name_at = at + 46;
            entries.push(RawEntry {
                name: bytes[name_at..name_at + name_len].to_vec(),
                local_name: None,
                data: bytes[data_at..data_at + compressed].to_vec(),
                method: u16_at(bytes, at + 10),
                flags: u16_at(bytes, at + 8),
                local_flags: None,
                crc32: u32_at(bytes, at + 16),
                local_crc32: None,
                size: u64::from(u32_at(bytes, at + 24)),
                local_size: None,
                made_by: u16_at(bytes, at + 4),
                external: u32_at(bytes, at + 38),
                central_extra: bytes[name_at + name_len..name_at + name_len + extra_len].to_vec(),
                local_extra: bytes[local + 30 + local_name_len..data_at].to_vec(),
                comment: bytes
                    [name_at + name_len + extra_len..name_at + name_len + extra_len + comment_len]
                    .to_vec(),
                after_data: Vec::new(),
                gap_before: Vec::new(),
                in_directory: true,
                counted: true,
            });
            at = name_at + name_len + extra_len + comment_len;
        }
        RawZip {
            entries,
            ..RawZip::default()
        }
    }

    /// The index of the entry named `name`.
    pub fn index_of(&self, name: &str) -> usize {
        self.entries
            .iter()
            .position(|e| e.name == name.as_bytes())
            .unwrap_or_else(|| panic!("no entry {name}"))
    }

    /// The entry named `name`.
    pub fn entry_mut(&mut self, name: &str) -> &mut RawEntry {
        let i = self.index_of(name);
        &mut self.entries[i]
    }

    /// The archive's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut offsets = Vec::new();
        for e in &self.entries {
            out.extend_from_slice(&e.gap_before);
            offsets.push(out.len() as u32);
            let name = e.local_name.as_ref().unwrap_or(&e.name);
            put32(&mut out, 0x0403_4b50);
            put16(&mut out, 20);
            put16(&mut out, e.local_flags.unwrap_or(e.flags));
            put16(&mut out, e.method);
            put16(&mut out, 0);
            put16(&mut out, (1 << 5) | 1);
            put32(&mut out, e.local_crc32.unwrap_or(e.crc32));
            put32(&mut out, e.data.len() as u32);
            put32(&mut out, e.local_size.unwrap_or(e.size) as u32);
            put16(&mut out, name.len() as u16);
            put16(&mut out, e.local_extra.len() as u16);
            out.extend_from_slice(name);
            out.extend_from_slice(&e.local_extra);
            out.extend_from_slice(&e.data);
            out.extend_from_slice(&e.after_data);
        }
        out.extend_from_slice(&self.before_directory);
        let central_at = out.len();
        let mut count = 0u16;
        let order: Vec<usize> = match &self.central_order {
            Some(order) => order.clone(),
            None => (0..self.entries.len()).collect(),
        };
        for i in order {
            let (e, offset) = (&self.entries[i], &offsets[i]);
            if !e.in_directory {
                continue;
            }
            if e.counted {
                count += 1;
            }
            put32(&mut out, 0x0201_4b50);
            put16(&mut out, e.made_by);
            put16(&mut out, 20);
            put16(&mut out, e.flags);
            put16(&mut out, e.method);
            put16(&mut out, 0);
            put16(&mut out, (1 << 5) | 1);
            put32(&mut out, e.crc32);
            put32(&mut out, e.data.len() as u32);
            put32(&mut out, e.size as u32);
            put16(&mut out, e.name.len() as u16);
            put16(&mut out, e.central_extra.len() as u16);
            put16(&mut out, e.comment.len() as u16);
            put16(&mut out, 0);
            put16(&mut out, 0);
            put32(&mut out, e.external);
            put32(&mut out, *offset);
            out.extend_from_slice(&e.name);
            out.extend_from_slice(&e.central_extra);
            out.extend_from_slice(&e.comment);
        }
        let central_size = (out.len() - central_at) as i64 + self.central_size_delta;
        let count = self.count_override.unwrap_or(count);
        put32(&mut out, 0x0605_4b50);
        put16(&mut out, 0);
        put16(&mut out, 0);
        put16(&mut out, count);
        put16(&mut out, count);
        put32(&mut out, central_size as u32);
        put32(&mut out, central_at as u32);
        put16(&mut out, self.comment.len() as u16);
        out.extend_from_slice(&self.comment);
        out.extend_from_slice(&self.after_end);
        out
    }
}

/// CRC-32 (IEEE), bit by bit: slow and obviously right, for test data.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
