//! Attachments that arrive as a ZIP of files (often under a name ending in
//! `.pdf` or `.doc`): unpacked on import, within bounds that defeat ZIP
//! bombs, and packed again on export.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::{Error, Limits};

/// Whether a file starts like a ZIP archive.
pub(crate) fn is_zip(path: &Path) -> Result<bool, Error> {
    let mut magic = [0u8; 4];
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut filled = 0;
    while filled < 4 {
        let n = file
            .read(&mut magic[filled..])
            .map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Ok(false);
        }
        filled += n;
    }
    Ok(magic == *b"PK\x03\x04")
}

/// Whether a ZIP file is itself a document (Office Open XML such as .docx,
/// or OpenDocument), which is a ZIP by design and must stay whole.
pub(crate) fn is_packaged_document(path: &Path) -> Result<bool, Error> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let Ok(mut archive) = zip::ZipArchive::new(file) else {
        return Ok(false);
    };
    let marked =
        archive.by_name("[Content_Types].xml").is_ok() || archive.by_name("mimetype").is_ok();
    Ok(marked)
}

/// One file unpacked from a ZIP attachment.
#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) name: String,
    pub(crate) path: PathBuf,
}

/// Unpacks `zip_path` (the attachment `name`) into `dir`. What is written is
/// bounded whatever the archive's headers claim (sizes are counted while
/// inflating): by the ratio to the ZIP's own size, by the size of one
/// attachment, and by what is left of the message's total (`spent` counts
/// what all unpacking of the message has written).
pub(crate) fn unpack(
    name: &str,
    zip_path: &Path,
    dir: &Path,
    limits: &Limits,
    spent: &mut u64,
) -> Result<Vec<Member>, Error> {
    let bad = |problem: String| Error::Packed {
        name: name.to_string(),
        problem,
    };
    let packed_size = std::fs::metadata(zip_path)
        .map_err(|e| Error::io(zip_path, e))?
        .len();
    let budget = packed_size
        .saturating_mul(limits.max_unpack_ratio)
        .saturating_add(1024 * 1024)
        .min(limits.max_attachment_bytes)
        .min(limits.max_total_bytes.saturating_sub(*spent));
    let file = File::open(zip_path).map_err(|e| Error::io(zip_path, e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| {
        bad(format!(
            "it starts like a ZIP but cannot be read as one: {e}"
        ))
    })?;
    if archive.len() > limits.max_packed_entries {
        return Err(bad(format!(
            "the ZIP holds {} files; at most {} are accepted",
            archive.len(),
            limits.max_packed_entries
        )));
    }
    let mut members = Vec::new();
    let mut written = 0u64;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| bad(format!("file {} of the ZIP cannot be read: {e}", i + 1)))?;
        if entry.is_dir() {
            continue;
        }
        if entry.encrypted() {
            return Err(bad(
                "the ZIP is encrypted; ask the sender for an open copy".into()
            ));
        }
        let inner = entry.name().to_string();
        let base = inner
            .rsplit(['/', '\\'])
            .next()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| bad(format!("the ZIP holds a file with no name ({inner:?})")))?
            .to_string();
        let path = dir.join(format!("member-{}-{i}", members.len() + 1));
        let out = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut out = BufWriter::new(out);
        let left = budget - written;
        let copied = std::io::copy(&mut (&mut entry).take(left + 1), &mut out)
            .map_err(|e| bad(format!("{base:?} inside the ZIP cannot be inflated: {e}")))?;
        written += copied;
        *spent += copied;
        if written > budget {
            return Err(bad(format!(
                "the ZIP unpacks to more than {budget} bytes ({}x its own size at most): \
                 refused as a ZIP bomb",
                limits.max_unpack_ratio
            )));
        }
        out.flush().map_err(|e| Error::io(&path, e))?;
        members.push(Member { name: base, path });
    }
    if members.is_empty() {
        return Err(bad("the ZIP holds no file".into()));
    }
    Ok(members)
}

/// Packs `members` (name, file) into a new ZIP at `out`.
pub(crate) fn pack(members: &[(String, PathBuf)], out: &Path) -> Result<(), Error> {
    let file = File::create(out).map_err(|e| Error::io(out, e))?;
    let mut zip = zip::ZipWriter::new(BufWriter::new(file));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let zip_err = |e: zip::result::ZipError| Error::io(out, std::io::Error::other(e.to_string()));
    for (name, path) in members {
        zip.start_file(name.as_str(), options).map_err(zip_err)?;
        let mut source = File::open(path).map_err(|e| Error::io(path, e))?;
        std::io::copy(&mut source, &mut zip).map_err(|e| Error::io(out, e))?;
    }
    let mut inner = zip.finish().map_err(zip_err)?;
    inner.flush().map_err(|e| Error::io(out, e))?;
    Ok(())
}
