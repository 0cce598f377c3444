//! The progress bar for large attachments: drawn when a person watches a
//! terminal, never written into a pipe or a file, where it would garble
//! the output scripts read.
//!
//! The terminal is a real pseudo-terminal (`scripts/run_in_pty.py`, Python's
//! `pty` module), so the check that decides is the one users hit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::process::*;

/// Over the 32 MiB from which a bar is worth drawing.
const ATTACHMENT_BYTES: usize = 48 * 1024 * 1024;

fn large_signed_dispatch(dir: &Path) -> (PathBuf, PathBuf) {
    let pki = dir.join("pki");
    congvan(["pki", "demo", "--out", pki.to_str().unwrap()]).assert_ok();
    let attachment = dir.join("so-lieu.bin");
    std::fs::write(&attachment, vec![0x5a; ATTACHMENT_BYTES]).unwrap();
    let file = dir.join("large.cvd");
    cli_dispatch(
        &pki,
        &file,
        "H99.01.01",
        "09/UBND-VP",
        &[
            "--subject",
            "Về việc gửi số liệu",
            "--attach",
            attachment.to_str().unwrap(),
        ],
        &["signer"],
    );
    (file, pki.join("root/cert.pem"))
}

fn pty_script() -> PathBuf {
    script("run_in_pty.py")
}

#[test]
fn verify_draws_a_bar_on_a_terminal_and_nothing_in_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let (file, root) = large_signed_dispatch(dir.path());
    let args = [
        "dispatch",
        "verify",
        "--trust",
        root.to_str().unwrap(),
        file.to_str().unwrap(),
    ];

    // Piped: the report only, no bar and no terminal control sequences.
    let piped = congvan(args);
    piped.assert_ok();
    let output = piped.output();
    assert!(output.contains("PASSED"), "{piped}");
    assert!(!output.contains("verifying"), "a bar in a pipe:\n{piped}");
    assert!(
        !output.contains('\u{1b}'),
        "escape codes in a pipe:\n{piped}"
    );

    // On a terminal: the same report, and the bar drawn (then cleared)
    // while the 48 MiB attachment is hashed.
    let on_terminal = run(Command::new("python3")
        .arg(pty_script())
        .arg(congvan_bin())
        .args(args)
        .env_remove("CONGVAN_KEY_PASSWORD"));
    on_terminal.assert_ok();
    let screen = &on_terminal.stdout;
    assert!(screen.contains("PASSED"), "{on_terminal}");
    assert!(
        screen.contains("verifying ["),
        "no progress bar on a terminal:\n{on_terminal}"
    );
    assert!(screen.contains("MiB"), "{on_terminal}");
    assert!(
        screen.contains('\u{1b}'),
        "the bar is not redrawn or cleared:\n{on_terminal}"
    );
}
