//! Writing a file beside its destination and renaming it into place, so
//! that a reader never sees half a file and a failure leaves nothing.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::{Durability, Error};

/// A temporary file beside the destination, renamed into place on commit
/// and removed if dropped uncommitted.
pub struct PartialFile {
    path: PathBuf,
    target: PathBuf,
    /// The file at `path` was made by [`PartialFile::create`].
    created: bool,
    committed: bool,
}

impl PartialFile {
    /// Where the file is being written, for reading it back before commit.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A temporary name beside `target`: `.<name>.<random>.partial`. It
    /// must sit in the target's folder so that the rename is atomic.
    pub fn new(target: &Path) -> Result<PartialFile, Error> {
        let file_name = target
            .file_name()
            .ok_or_else(|| Error::io(target, std::io::Error::other("not a file path")))?;
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(file_name);
        temp_name.push(format!(".{}.partial", uuid::Uuid::new_v4().simple()));
        Ok(PartialFile {
            path: target.with_file_name(temp_name),
            target: target.to_path_buf(),
            created: false,
            committed: false,
        })
    }

    /// Creates the temporary file, which must not exist: never a file or a
    /// symbolic link someone planted at that name (`O_CREAT | O_EXCL`).
    pub fn create(&mut self) -> Result<File, Error> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&self.path)
            .map_err(|e| Error::io(&self.path, e))?;
        self.created = true;
        Ok(file)
    }

    /// Renames the file into place; with [`Durability::Synced`] the file
    /// and the rename are fsynced first and after.
    pub fn commit(mut self, file: File, durability: Durability) -> Result<(), Error> {
        if durability == Durability::Synced {
            file.sync_all().map_err(|e| Error::io(&self.path, e))?;
        }
        drop(file);
        std::fs::rename(&self.path, &self.target).map_err(|e| Error::io(&self.target, e))?;
        self.committed = true;
        if durability == Durability::Unsynced {
            return Ok(());
        }
        if let Some(dir) = self.target.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Make the rename itself durable.
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| Error::io(dir, e))?;
        }
        Ok(())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        // Only a file this value created: never one that was in the way.
        if self.created && !self.committed {
            // Best effort: the partial file is garbage either way, and the
            // error that got us here is what the user needs to see.
            if let Err(e) = std::fs::remove_file(&self.path) {
                eprintln!("warning: could not remove {}: {e}", self.path.display());
            }
        }
    }
}
