//! The README's commands, extracted from README.md and run as written.
//!
//! A section to run lies between `<!-- NAME:begin -->` and
//! `<!-- NAME:end -->`; its ```sh blocks are joined into one bash script
//! (under `set -euo pipefail`, so any failing command fails the test). It
//! runs in a fresh folder holding copies of what the commands read from the
//! repository (`certs/`, `fixtures/pki/ke-hoach.pdf`), never in the
//! repository itself, with the `congvan` built for these tests first on the
//! PATH, in a process group of its own that is killed afterwards, so a relay
//! started in the background never outlives the test.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::process::{congvan_bin, Run};
use super::relays::repo;

/// The shell commands of README section `name`, in order.
pub fn section(name: &str) -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let begin = format!("<!-- {name}:begin -->");
    let end = format!("<!-- {name}:end -->");
    let start = readme
        .find(&begin)
        .unwrap_or_else(|| panic!("README.md has no {begin}"));
    let stop = readme[start..]
        .find(&end)
        .unwrap_or_else(|| panic!("README.md has no {end} after {begin}"));
    let mut script = String::new();
    let mut in_block = false;
    for line in readme[start..start + stop].lines() {
        match (in_block, line.trim_end()) {
            (false, "```sh") => in_block = true,
            (true, "```") => in_block = false,
            (true, text) => {
                script.push_str(text);
                script.push('\n');
            }
            _ => {}
        }
    }
    assert!(
        !in_block,
        "README section {name} has an unclosed ```sh block"
    );
    assert!(
        !script.is_empty(),
        "README section {name} has no ```sh block"
    );
    script
}

/// A folder under `dir` with what the README's commands read from the
/// repository: a copy of `certs/`, the sample attachment and the edXML
/// fixtures.
pub fn fresh_checkout(dir: &Path) -> PathBuf {
    let work = dir.join("work");
    copy_dir(&repo().join("certs"), &work.join("certs"));
    copy_dir(&repo().join("fixtures/edxml"), &work.join("fixtures/edxml"));
    let pdf = Path::new("fixtures/pki/ke-hoach.pdf");
    std::fs::create_dir_all(work.join(pdf.parent().unwrap())).unwrap();
    std::fs::copy(repo().join(pdf), work.join(pdf)).unwrap();
    work
}

/// Runs README section `name` in `work` and returns what it did; panics if
/// it runs longer than `timeout`.
pub fn run_section(name: &str, work: &Path, timeout: Duration) -> Run {
    let script = work.join(format!("{name}.sh"));
    std::fs::write(&script, format!("set -euo pipefail\n{}", section(name))).unwrap();
    // Files, not pipes: a background job keeps a pipe open after the
    // script ends, files do not make anyone wait.
    let (out, err) = (
        work.join(format!("{name}.out")),
        work.join(format!("{name}.err")),
    );
    let bin_dir = congvan_bin().parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.arg(&script)
        .current_dir(work)
        .env("PATH", path)
        .env_remove("CONGVAN_REGISTRY")
        .env_remove("CONGVAN_KEY_PASSWORD")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .process_group(0);
    let command = format!("bash {} (README section {name})", script.display());
    let mut child = cmd.spawn().expect("start bash");
    let group = child.id();
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Whatever it left running (relays started with `&`) goes too.
    let killed = Command::new("kill")
        .args(["-KILL", "--", &format!("-{group}")])
        .stderr(Stdio::null())
        .status()
        .expect("run kill");
    if status.is_none() {
        assert!(killed.success(), "could not stop {command}");
        child.wait().unwrap();
    }
    let run = Run {
        command,
        code: status.and_then(|s| s.code()),
        stdout: std::fs::read_to_string(&out).unwrap(),
        stderr: std::fs::read_to_string(&err).unwrap(),
    };
    assert!(status.is_some(), "still running after {timeout:?}\n{run}");
    run
}

/// Copies a folder tree (files and folders only).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
