//! Progress bars for large attachments: on a terminal only, never in pipes.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Smallest total worth a progress bar.
const MIN_BYTES_FOR_BAR: u64 = 32 * 1024 * 1024;

/// A byte-count progress bar on stderr, or nothing when stderr is not a
/// terminal or the work is small.
pub struct ByteProgress {
    bar: Option<ProgressBar>,
}

impl ByteProgress {
    /// Starts a bar for `total` bytes labelled `what`.
    pub fn start(what: &str, total: u64) -> ByteProgress {
        if total < MIN_BYTES_FOR_BAR || !std::io::stderr().is_terminal() {
            return ByteProgress { bar: None };
        }
        let bar = ProgressBar::new(total);
        let style = ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(what.to_string());
        ByteProgress { bar: Some(bar) }
    }

    /// Records `n` more bytes.
    pub fn advance(&mut self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    /// Removes the bar.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
