//! The container's ZIP layer: what the writer makes reads back, what other
//! writers make within the rules reads too, and every ambiguous or
//! unsupported layout is refused with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Cursor, Read, Seek, SeekFrom, Write};

use super::directory::{read_directory, Directory, DirectoryError};
use super::source::Source;
use super::writer::ZipWriter;

#[path = "../../tests/common/zip_surgery.rs"]
mod zip_surgery;
use zip_surgery::{RawEntry, RawZip};

fn directory(bytes: Vec<u8>) -> Result<Directory, String> {
    read_directory(&mut Source::from_bytes(bytes), 20_000).map_err(|e| match e {
        DirectoryError::Structure(problem) => problem,
        DirectoryError::Io(e) => panic!("io error on a memory source: {e}"),
    })
}

fn read_entry(bytes: &[u8], index: usize) -> std::io::Result<Vec<u8>> {
    let mut archive = super::Archive {
        directory: directory(bytes.to_vec()).unwrap(),
        source: Source::from_bytes(bytes.to_vec()),
        in_memory: true,
    };
    let mut out = Vec::new();
    archive.entry(index)?.read_to_end(&mut out)?;
    Ok(out)
}

/// A small container as congvan writes one.
fn written() -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    zip.add_bytes("mimetype", b"application/vnd.congvan.dispatch+zip")
        .unwrap();
    zip.add_bytes("metadata.json", b"{\"genuine\":true}")
        .unwrap();
    let data = b"%PDF-1.7 genuine".to_vec();
    zip.add_streamed(
        "attachments/Kế hoạch.pdf",
        data.len() as u64,
        &mut data.as_slice(),
        &mut |_| {},
    )
    .unwrap();
    zip.finish().unwrap().into_inner()
}

#[test]
fn what_the_writer_makes_reads_back_and_is_the_plain_layout() {
    let bytes = written();
    let dir = directory(bytes.clone()).unwrap();
    let names: Vec<&str> = dir.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["mimetype", "metadata.json", "attachments/Kế hoạch.pdf"]
    );
    assert_eq!(read_entry(&bytes, 2).unwrap(), b"%PDF-1.7 genuine");
    // The test builder reproduces the writer's bytes exactly, so hostile
    // variants made with it differ from a genuine file only where intended.
    assert_eq!(RawZip::parse(&bytes).to_bytes(), bytes);
}

#[test]
fn appending_keeps_every_earlier_byte() {
    let bytes = written();
    let mut archive = super::Archive {
        directory: directory(bytes.clone()).unwrap(),
        source: Source::from_bytes(bytes.clone()),
        in_memory: true,
    };
    let out = archive
        .write_appended(
            Vec::new(),
            &[("META-INF/receipts/0001.json".into(), b"{}".to_vec())],
        )
        .unwrap();
    let central = archive.directory.central_offset as usize;
    assert_eq!(out[..central], bytes[..central]);
    let dir = directory(out.clone()).unwrap();
    assert_eq!(dir.entries.len(), 4);
    assert_eq!(read_entry(&out, 3).unwrap(), b"{}");
}

#[test]
fn deflated_entries_from_other_writers_are_read_and_checked() {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("metadata.json", deflated).unwrap();
    zip.write_all(&b"{\"a\":1}".repeat(100)).unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    assert_eq!(read_entry(&bytes, 0).unwrap(), b"{\"a\":1}".repeat(100));

    // A wrong CRC-32 shows when the entry is read to its end.
    let mut raw = RawZip::parse(&bytes);
    raw.entries[0].crc32 ^= 1;
    let bad = raw.to_bytes();
    let err = read_entry(&bad, 0).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    // So does a declared size the data does not have.
    let mut raw = RawZip::parse(&bytes);
    raw.entries[0].size += 1;
    let err = read_entry(&raw.to_bytes(), 0).unwrap_err();
    assert!(err.to_string().contains("shorter"), "{err}");
    let mut raw = RawZip::parse(&bytes);
    raw.entries[0].size -= 1;
    let err = read_entry(&raw.to_bytes(), 0).unwrap_err();
    assert!(err.to_string().contains("longer"), "{err}");
    // Bytes hidden after the end of the deflate stream, inside the entry's
    // compressed size, belong to no one: refused, although the inflated
    // bytes, their size and CRC-32 are genuine.
    let mut raw = RawZip::parse(&bytes);
    raw.entries[0]
        .data
        .extend_from_slice(b"hidden after the stream");
    let err = read_entry(&raw.to_bytes(), 0).unwrap_err();
    assert!(
        err.to_string()
            .contains("after the end of its compressed data"),
        "{err}"
    );
}

/// A forged `metadata.json`, as an attacker adds it.
fn forged() -> RawEntry {
    RawEntry::stored("metadata.json", b"{\"forged\":true}")
}

fn zip64_field(values: &[u64]) -> Vec<u8> {
    let mut extra = vec![0x01, 0x00];
    extra.extend_from_slice(&((values.len() * 8) as u16).to_le_bytes());
    for v in values {
        extra.extend_from_slice(&v.to_le_bytes());
    }
    extra
}

#[test]
fn every_ambiguous_or_unsupported_layout_is_refused_with_its_reason() {
    type Mutation = fn(&mut RawZip);
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "a directory record the end record does not count",
            |z| {
                let mut f = forged();
                f.name = b"metadata2.json".to_vec();
                f.counted = false;
                z.entries.push(f);
            },
            "after the 3 records the end record declares",
        ),
        (
            "the end record counts fewer and declares a shorter directory",
            |z| {
                z.count_override = Some(2);
                z.central_size_delta = -(46 + "attachments/Kế hoạch.pdf".len() as i64);
            },
            "does not end where the end record begins",
        ),
        (
            "a local entry hidden between two entries",
            |z| {
                let mut f = forged();
                f.in_directory = false;
                z.entries.insert(2, f);
            },
            "belong to no entry",
        ),
        (
            "bytes before the first entry",
            |z| z.entries[0].gap_before = b"MZ\x90\x00".to_vec(),
            "does not start at byte 0",
        ),
        (
            "bytes after the end record",
            |z| z.after_end = b"\n".to_vec(),
            "does not end with a ZIP end-of-central-directory record",
        ),
        (
            "an archive comment",
            |z| z.comment = b"hello".to_vec(),
            "archive comment",
        ),
        (
            "bytes between the last entry and the directory",
            |z| z.before_directory = b"PK\x03\x04 hidden".to_vec(),
            "between the last entry and the central directory",
        ),
        (
            "entries out of directory order",
            |z| z.central_order = Some(vec![0, 2, 1]),
            "not in directory order",
        ),
        (
            "a local header with another name",
            |z| z.entries[1].local_name = Some(b"metadata.jsom".to_vec()),
            "differs from its central directory record (name)",
        ),
        (
            "a local header with other flags",
            |z| z.entries[1].local_flags = Some(1 << 11),
            "(flags)",
        ),
        (
            "a local header with another CRC-32",
            |z| z.entries[1].local_crc32 = Some(7),
            "(CRC-32)",
        ),
        (
            "a local header with another size",
            |z| z.entries[1].local_size = Some(3),
            "(sizes)",
        ),
        (
            "an entry comment",
            |z| z.entries[1].comment = b"note".to_vec(),
            "has a comment",
        ),
        (
            "an extended-timestamp extra field",
            |z| z.entries[1].central_extra = vec![0x55, 0x54, 0x01, 0x00, 0x00],
            "extra field (header 0x5455)",
        ),
        (
            "a local extra field",
            |z| z.entries[1].local_extra = vec![0x55, 0x54, 0x01, 0x00, 0x00],
            "extra field in its local header",
        ),
        (
            "a ZIP64 field with nothing that needs it",
            |z| z.entries[1].central_extra = zip64_field(&[16]),
            "no value that needs it",
        ),
        (
            "ZIP64 for a size that fits in 32 bits",
            |z| {
                let e = &mut z.entries[1];
                e.local_size = Some(e.size);
                e.central_extra = zip64_field(&[e.size]);
                e.size = u64::from(u32::MAX);
            },
            "uses ZIP64 for a value that fits in 32 bits",
        ),
        (
            "a data descriptor",
            |z| z.entries[1].flags |= 1 << 3,
            "data descriptor",
        ),
        (
            "an encrypted entry",
            |z| z.entries[1].flags |= 1,
            "is encrypted",
        ),
        (
            "deflate level flags on a stored entry",
            |z| z.entries[1].flags |= 2,
            "general-purpose flags",
        ),
        (
            "a symbolic link",
            |z| z.entries[2].external = 0o120_777 << 16,
            "symbolic link",
        ),
        (
            "a folder (Unix mode)",
            |z| z.entries[2].external = 0o040_755 << 16,
            "a folder",
        ),
        (
            "a folder (MS-DOS attribute)",
            |z| {
                z.entries[2].made_by = 20;
                z.entries[2].external = 0x10;
            },
            "marked as a folder",
        ),
        (
            "a setuid file",
            |z| z.entries[2].external = 0o104_755 << 16,
            "setuid",
        ),
        (
            "bzip2 compression",
            |z| z.entries[1].method = 12,
            "compression method 12",
        ),
        (
            "a stored entry with two sizes",
            |z| {
                z.entries[1].size += 1;
                z.entries[1].local_size = Some(z.entries[1].size);
            },
            "different compressed and uncompressed sizes",
        ),
        (
            "two entries with one name",
            |z| z.entries[2].name = b"metadata.json".to_vec(),
            "appears twice",
        ),
        (
            "a name that is not UTF-8",
            |z| z.entries[1].name = vec![b'm', 0xff],
            "not valid UTF-8",
        ),
        (
            "a non-ASCII name without the UTF-8 flag",
            |z| {
                z.entries[2].flags = 0;
                z.entries[2].local_flags = Some(0);
            },
            "code page 437",
        ),
        ("an empty name", |z| z.entries[1].name.clear(), "empty name"),
    ];
    let genuine = RawZip::parse(&written());
    for (what, mutate, expected) in cases {
        let mut raw = genuine.clone();
        mutate(&mut raw);
        match directory(raw.to_bytes()) {
            Ok(_) => panic!("{what}: accepted"),
            Err(problem) => assert!(
                problem.contains(expected),
                "{what}: refused with {problem:?}, expected it to say {expected:?}"
            ),
        }
    }
    assert!(directory(genuine.to_bytes()).is_ok());
}

#[test]
fn nothing_shorter_than_an_end_record_or_past_the_entry_limit_is_read() {
    assert!(directory(Vec::new()).unwrap_err().contains("too short"));
    let bytes = written();
    let err = read_directory(&mut Source::from_bytes(bytes), 2).unwrap_err();
    let DirectoryError::Structure(problem) = err else {
        panic!("not a structure error")
    };
    assert!(problem.contains("at most 2"), "{problem}");
}

/// The CRC-32 of `len` zero bytes, without hashing them one by one.
fn crc_of_zeros(len: u64) -> u32 {
    let mut chunk = crc32fast::Hasher::new();
    chunk.update(&[0u8; 1 << 20]);
    let mut result = crc32fast::Hasher::new();
    let mut remaining = len;
    // Binary method: combine chunks of 2^k MiB.
    let mut power = chunk;
    let mut mib = remaining >> 20;
    while mib > 0 {
        if mib & 1 == 1 {
            result.combine(&power);
        }
        let copy = power.clone();
        power.combine(&copy);
        mib >>= 1;
    }
    remaining &= (1 << 20) - 1;
    result.update(&vec![0u8; remaining as usize]);
    result.finalize()
}

#[test]
fn entries_and_offsets_past_4_gib_use_zip64_and_read_back() {
    // A sparse file: a 4 GiB + 16 entry of zeros (a hole on disk), then a
    // small entry whose offset needs 64 bits. The directory is what counts.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.cvd");
    let size = (1u64 << 32) + 16;
    let crc = crc_of_zeros(size);
    let mut file = std::fs::File::create(&path).unwrap();
    let header = super::writer::local_header("attachments/big.bin", crc, size);
    // The first entry's header, then a hole as its data.
    file.write_all(&header).unwrap();
    let after = header.len() as u64 + size;
    file.seek(SeekFrom::Start(after)).unwrap();
    let central = super::writer::central_record("attachments/big.bin", crc, size, 0);
    let mut zip = ZipWriter::continuing(file, after, central, 1);
    zip.add_bytes("metadata.json", b"{}").unwrap();
    zip.finish().unwrap();

    let mut source = Source::open(&path).unwrap();
    let dir = read_directory(&mut source, 10)
        .map_err(|e| format!("{e:?}"))
        .unwrap();
    assert_eq!(dir.entries.len(), 2);
    assert_eq!(dir.entries[0].size, size);
    assert_eq!(dir.entries[1].data_offset, after + 30 + 13);
    assert!(dir.central_offset > u64::from(u32::MAX));
    let mut archive = super::Archive {
        directory: dir,
        source,
        in_memory: false,
    };
    let mut small = Vec::new();
    archive.entry(1).unwrap().read_to_end(&mut small).unwrap();
    assert_eq!(small, b"{}");
}
