//! One relay per data folder.
//!
//! Two relays writing one store would each believe it owns the queue: both
//! would forward the same items and race on leases and retention. A running
//! relay therefore holds an exclusive lock on `DATA/relay.lock` for as long
//! as it runs. The operating system releases it when the process ends, even
//! by `kill -9`, so a crash never leaves a stale lock behind. Read-only tools
//! such as `congvan stats` open the store without taking it.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::Error;

/// The held lock; dropping it releases the folder.
#[derive(Debug)]
pub struct DataLock {
    _file: File,
}

impl DataLock {
    /// The lock file's name inside the data folder.
    pub const FILE_NAME: &'static str = "relay.lock";

    /// Takes the folder's lock, creating the folder if needed, or says that
    /// another relay holds it.
    pub fn acquire(data: &Path) -> Result<DataLock, Error> {
        std::fs::create_dir_all(data).map_err(|e| Error::io(data, e))?;
        let path: PathBuf = data.join(Self::FILE_NAME);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(DataLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(Error::DataFolderInUse {
                data: data.to_path_buf(),
            }),
            Err(TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }
}
