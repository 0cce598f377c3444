//! Keeping a relay process's memory in ordinary 4 KiB pages.
//!
//! The congvan binary's allocator (mimalloc) asks the kernel for
//! transparent huge pages on its segments, so every segment a thread
//! touches becomes 2 MiB of resident memory at once. A relay has many
//! threads (the async workers, the blocking pool that verifies and hashes,
//! the store's writer), each with its own segments, and what they hold at
//! any moment is small: a 1 GiB upload streams through a few hundred KiB.
//! Measured on one relay process ingesting a 1 GiB dispatch
//! (BENCHMARKS.md): peak RSS 50 MB with huge pages, 22-27 MB without, no
//! slower. Servers that care about their footprint do the same (Redis turns
//! huge pages off for itself on start).

/// Turns transparent huge pages off for this whole process (the setting
/// belongs to the address space, not the calling thread, and children
/// inherit it). Call it once, first thing, in a process that will run a
/// relay; memory already backed by huge pages stays as it is.
///
/// An error means the kernel refused (a seccomp filter, say): the relay
/// works as before, only with the larger footprint, so callers log it
/// and go on.
#[cfg(target_os = "linux")]
pub fn use_small_pages() -> std::io::Result<()> {
    rustix::thread::disable_transparent_huge_pages(true).map_err(std::io::Error::from)
}

/// Other systems have no such switch; nothing to do.
#[cfg(not(target_os = "linux"))]
pub fn use_small_pages() -> std::io::Result<()> {
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn the_setting_reaches_the_kernel() {
        super::use_small_pages().expect("prctl(PR_SET_THP_DISABLE)");
        let disabled = rustix::thread::transparent_huge_pages_are_disabled()
            .expect("prctl(PR_GET_THP_DISABLE)");
        assert!(
            disabled,
            "the kernel still allows huge pages for this process"
        );
    }
}
