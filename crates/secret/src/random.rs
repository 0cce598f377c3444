//! Random bytes from the operating system (through ring).

use ring::rand::{SecureRandom, SystemRandom};

use crate::Error;

/// `N` random bytes.
pub(crate) fn bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| Error::Refused("the system's random source failed".into()))?;
    Ok(out)
}
