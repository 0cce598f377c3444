//! Reading and writing PEM files with errors that name the file.

use std::io::Write;
use std::path::Path;

use crate::Error;

/// Largest PEM file read; certificates, keys and CRLs are far smaller.
const MAX_PEM_FILE: u64 = 16 * 1024 * 1024;

/// Reads every PEM block of a file. DER input is accepted too, as one block
/// tagged `DER`, so that `openssl ... -outform DER` files work.
pub(crate) fn read_blocks(path: &Path) -> Result<Vec<pem::Pem>, Error> {
    parse_blocks(read_bounded(path)?, path)
}

/// Parses PEM (or DER) bytes that came from `origin` (a file, or a peer's
/// answer named for the error messages).
pub(crate) fn parse_blocks(bytes: Vec<u8>, path: &Path) -> Result<Vec<pem::Pem>, Error> {
    if bytes.len() as u64 > MAX_PEM_FILE {
        return Err(Error::malformed(path, "is over 16 MiB: not certificates"));
    }
    if bytes.first() == Some(&0x30) {
        return Ok(vec![pem::Pem::new("DER", bytes)]);
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::malformed(path, "is neither PEM text nor DER"))?;
    if !text.contains("-----BEGIN ") {
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        return Err(Error::malformed(
            path,
            "no PEM block (-----BEGIN ...-----) found",
        ));
    }
    let blocks =
        pem::parse_many(text).map_err(|e| Error::malformed(path, format!("malformed PEM: {e}")))?;
    // The pem crate skips a block that has no END line, so a file cut short
    // would otherwise read as holding fewer blocks (or none) without a word.
    let begins = text.matches("-----BEGIN ").count();
    if blocks.len() < begins {
        return Err(Error::malformed(
            path,
            format!(
                "truncated PEM: {begins} BEGIN line(s) but only {} complete block(s); \
                 the file was cut short or damaged",
                blocks.len()
            ),
        ));
    }
    Ok(blocks)
}

pub(crate) fn read_bounded(path: &Path) -> Result<Vec<u8>, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::malformed(path, "is a directory, not a file"));
    }
    if meta.len() > MAX_PEM_FILE {
        return Err(Error::malformed(
            path,
            format!(
                "is {} bytes; a PEM file over 16 MiB is not a certificate, key or CRL",
                meta.len()
            ),
        ));
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Writes a secret file with mode 0600 from the moment it exists.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| Error::io(path, e))?;
    #[cfg(unix)]
    {
        // An existing file keeps its old mode on open; tighten it.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(path, e))?;
    }
    file.write_all(contents).map_err(|e| Error::io(path, e))?;
    file.sync_all().map_err(|e| Error::io(path, e))
}

/// Writes a public file (certificates, CRLs).
pub(crate) fn write_public(path: &Path, contents: &[u8]) -> Result<(), Error> {
    std::fs::write(path, contents).map_err(|e| Error::io(path, e))
}
