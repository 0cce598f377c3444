//! Content-addressed dispatch files.
//!
//! Small files live inside SQLite, so they become durable with the batch
//! commit that records them. Large files are written under `blobs/` by
//! their SHA-256 and fsynced before the commit that refers to them. Either
//! way a dispatch sent to 500 offices is stored once.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Error;

/// Files up to this size are stored inside the database.
pub const INLINE_BLOB_LIMIT: u64 = 512 * 1024;

/// A blob ready to be recorded: inline bytes, or a file already on disk.
#[derive(Clone, Debug)]
pub enum BlobRef {
    /// Stored in the database row.
    Inline(Vec<u8>),
    /// Already written and synced at its content address.
    File,
}

/// The folder of large blobs.
#[derive(Clone, Debug)]
pub struct Blobs {
    dir: PathBuf,
}

impl Blobs {
    /// Opens (creating) the folder.
    pub fn open(dir: &Path) -> Result<Blobs, Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        Ok(Blobs {
            dir: dir.to_path_buf(),
        })
    }

    /// Where the blob with this digest lives.
    pub fn path(&self, sha256: &str) -> PathBuf {
        let shard = sha256.get(..2).unwrap_or("00");
        self.dir.join(shard).join(sha256)
    }

    /// Moves a finished temporary file to its content address and makes it
    /// durable. An existing blob with the same digest is kept.
    pub fn adopt(&self, temp: &Path, sha256: &str) -> Result<(), Error> {
        let target = self.path(sha256);
        let shard = target.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(shard).map_err(|e| Error::io(shard, e))?;
        if target.exists() {
            std::fs::remove_file(temp).map_err(|e| Error::io(temp, e))?;
            return Ok(());
        }
        std::fs::File::open(temp)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io(temp, e))?;
        std::fs::rename(temp, &target).map_err(|e| Error::io(&target, e))?;
        sync_dir(shard)
    }

    /// The digests of the blob files on disk (the `tmp` folder aside).
    pub fn files(&self) -> Result<Vec<String>, Error> {
        let mut found = Vec::new();
        for shard in std::fs::read_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))? {
            let shard = shard.map_err(|e| Error::io(&self.dir, e))?;
            let name = shard.file_name();
            let is_shard = name.len() == 2
                && name
                    .to_str()
                    .is_some_and(|n| n.bytes().all(|b| b.is_ascii_hexdigit()));
            if !is_shard || !shard.path().is_dir() {
                continue;
            }
            for file in std::fs::read_dir(shard.path()).map_err(|e| Error::io(shard.path(), e))? {
                let file = file.map_err(|e| Error::io(shard.path(), e))?;
                if let Some(sha256) = file.file_name().to_str() {
                    found.push(sha256.to_string());
                }
            }
        }
        Ok(found)
    }

    /// Writes bytes to a fresh temporary file in the blob folder.
    pub fn temp_file(&self) -> Result<(PathBuf, std::fs::File), Error> {
        let tmp = self.dir.join("tmp");
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        for _ in 0..16 {
            let path = tmp.join(format!("{:016x}.part", random_u64()));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => return Ok((path, file)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        Err(Error::io(
            &tmp,
            std::io::Error::other("cannot create a temporary file"),
        ))
    }

    /// Removes temporary files left by a crash; they were never acknowledged.
    pub fn clean_temp(&self) -> Result<usize, Error> {
        let tmp = self.dir.join("tmp");
        let Ok(entries) = std::fs::read_dir(&tmp) else {
            return Ok(0);
        };
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&tmp, e))?;
            let path = entry.path();
            // Scratch folders too (an edXML import stopped half-way).
            let is_dir = entry.file_type().map_err(|e| Error::io(&path, e))?.is_dir();
            if is_dir {
                std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
            } else {
                std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            }
            removed += 1;
        }
        Ok(removed)
    }

    /// Writes `bytes` to a temp file, then adopts it (used for tests and pulls).
    pub fn put_bytes(&self, bytes: &[u8], sha256: &str) -> Result<(), Error> {
        let (path, mut file) = self.temp_file()?;
        file.write_all(bytes).map_err(|e| Error::io(&path, e))?;
        drop(file);
        self.adopt(&path, sha256)
    }
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// A random number for temporary names.
pub(crate) fn random_u64() -> u64 {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 8];
    // Falling back to the clock only makes a name collision (retried) likelier.
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        return nanos;
    }
    u64::from_le_bytes(bytes)
}

/// A random number in [0, 1), for backoff jitter.
pub(crate) fn random_fraction() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}
