//! Helpers shared by the CLI integration tests: run the built `congvan`
//! binary (or any other program) and capture what it did.
//!
//! Nothing here holds state between tests: every test makes its own
//! temporary directory, so tests run in parallel.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsStr;
use std::fmt;
use std::path::Path;
use std::process::Command;

/// What a finished command did.
pub struct Run {
    /// The command line, for failure messages.
    pub command: String,
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

impl Run {
    /// Panics, showing everything, unless the command exited with `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(self.code, Some(code), "unexpected exit code\n{self}");
        self
    }

    /// Panics unless the command exited with 0.
    #[track_caller]
    pub fn assert_ok(&self) -> &Run {
        self.assert_code(0)
    }

    /// stdout and stderr together.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "$ {}\nexit: {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }
}

/// Runs a command to completion and captures its exit code and output.
pub fn run(cmd: &mut Command) -> Run {
    let command = format!("{cmd:?}");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot start {command}: {e}"));
    Run {
        command,
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The repository root (the stories are test targets of `crates/cli`).
pub fn repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A script of the stories' own, in `tests/scripts/`.
pub fn script(name: &str) -> std::path::PathBuf {
    repo().join("tests/scripts").join(name)
}

/// The `congvan` binary cargo built for these tests.
pub fn congvan_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_congvan"))
}

/// Runs `congvan ARGS...` without any key password from the environment.
pub fn congvan<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(Command::new(congvan_bin())
        .args(args)
        .env_remove("CONGVAN_KEY_PASSWORD"))
}

/// Runs `openssl ARGS...` in `dir` and panics unless it succeeds.
#[track_caller]
pub fn openssl<I, S>(dir: &Path, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let done = run(Command::new("openssl").current_dir(dir).args(args));
    assert_eq!(done.code, Some(0), "openssl failed\n{done}");
    done
}

/// A fresh temporary directory, removed when dropped.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("congvan-test-")
        .tempdir()
        .expect("cannot create a temporary directory")
}

/// Writes `out` with `congvan dispatch new`: a công văn numbered `number`
/// from office H99.01 of the demo PKI in `pki` to `to` (ids, comma-separated),
/// plus `extra` arguments (`--subject` is required; `--attach`, `--body`...),
/// then signs it with `congvan dispatch sign` in each of `roles` in turn:
/// `signer` by H99.01's official, `seal` by its office.
pub fn cli_dispatch(
    pki: &Path,
    out: &Path,
    to: &str,
    number: &str,
    extra: &[&str],
    roles: &[&str],
) {
    let p = |s: &str| pki.join(s).display().to_string();
    let out_text = out.to_str().unwrap();
    let mut args = vec![
        "dispatch".to_string(),
        "new".into(),
        "--registry".into(),
        p("registry.toml"),
        "--from".into(),
        "H99.01".into(),
        "--to".into(),
        to.into(),
        "--type".into(),
        "cong-van".into(),
        "--number".into(),
        number.into(),
        "--signer-cert".into(),
        p("H99.01/official/cert.pem"),
        "--out".into(),
        out_text.into(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    congvan(&args).assert_ok();
    for role in roles {
        let holder = match *role {
            "signer" | "countersign" => "H99.01/official",
            _ => "H99.01/office",
        };
        congvan([
            "dispatch",
            "sign",
            out_text,
            "--key",
            &p(&format!("{holder}/key.pem")),
            "--cert",
            &p(&format!("{holder}/cert.pem")),
            "--role",
            role,
        ])
        .assert_ok();
    }
}

/// Runs `cmd` to completion and returns what it did with its peak resident
/// memory in bytes (`VmHWM`, read from /proc every few milliseconds while it
/// runs: the high-water mark only grows, so the last reading is the peak up
/// to a few milliseconds before exit).
pub fn run_measuring_peak_rss(cmd: &mut Command) -> (Run, u64) {
    use std::io::Read;
    let command = format!("{cmd:?}");
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command}: {e}"));
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            if let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak_kb = peak_kb.max(kb);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let run = Run {
        command,
        code: status.code(),
        stdout,
        stderr,
    };
    (run, peak_kb * 1024)
}

/// The text of a PDF as pdftotext reads it, in Unicode NFC.
pub fn pdftotext(pdf: &Path) -> String {
    use unicode_normalization::UnicodeNormalization;
    let out = run(Command::new("pdftotext").arg(pdf).arg("-"));
    out.assert_ok();
    out.stdout.nfc().collect()
}

/// Renders `cvd` to `pdf` with `congvan dispatch render`, verified against
/// the demo PKI's root.
pub fn render_verified(cvd: &Path, pdf: &Path) {
    congvan([
        "dispatch".as_ref(),
        "render".as_ref(),
        cvd.as_os_str(),
        "--out".as_ref(),
        pdf.as_os_str(),
        "--trust".as_ref(),
        repo().join("certs/root/cert.pem").as_os_str(),
    ])
    .assert_ok();
}
