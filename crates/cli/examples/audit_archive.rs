//! An auditor verifying an archive: many small dispatches checked with one
//! `congvan dispatch verify` process, against one process per dispatch and
//! against the raw ring verifications they contain.
//!
//! ```text
//! cargo run --release -p congvan --example audit_archive -- [--dispatches N] [--dir DIR] [--keep]
//! ```
//!
//! It builds the release binary, makes the demo PKI, and writes N dispatches
//! (default 1,000) with the CLI (`dispatch new` with a small attachment,
//! signed by the official and sealed by the office of H99.01; not timed).
//! Then, timed:
//! - (a) `congvan dispatch verify --trust ROOT FILE...` over all N, three
//!   times (the median counts);
//! - (b) `congvan dispatch verify --trust ROOT FILE` once per file;
//! - the limit: 2N raw ring P-256 verifications at the rate measured in
//!   this run, one thread (each dispatch carries two signatures).
//!
//! Both runs must find every dispatch PASSED, or the example exits 1.
#![allow(clippy::disallowed_macros)] // a measurement or test program prints its own output

#[path = "support/binary.rs"]
mod binary;
#[path = "support/probes.rs"]
mod probes;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

struct Options {
    dispatches: usize,
    dir: PathBuf,
    keep: bool,
}

fn parse_args() -> Result<Options> {
    let mut options = Options {
        dispatches: 1_000,
        dir: std::env::temp_dir().join(format!("congvan-audit-{}", std::process::id())),
        keep: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dispatches" => {
                options.dispatches = args
                    .next()
                    .context("--dispatches needs a number")?
                    .parse()
                    .context("--dispatches needs a number")?
            }
            "--dir" => options.dir = PathBuf::from(args.next().context("--dir needs a path")?),
            "--keep" => options.keep = true,
            other => {
                bail!("unknown argument {other:?}; see the comment at the top of audit_archive.rs")
            }
        }
    }
    if options.dispatches < 2 {
        bail!("--dispatches must be at least 2");
    }
    Ok(options)
}

fn main() -> ExitCode {
    match parse_args().and_then(|options| {
        let outcome = run(&options);
        if !options.keep {
            // Best effort: a leftover temporary folder is not a failed run.
            if let Err(e) = std::fs::remove_dir_all(&options.dir) {
                eprintln!("could not remove {}: {e}", options.dir.display());
            }
        }
        outcome
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("audit_archive: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: &Options) -> Result<()> {
    let congvan = binary::build_congvan()?;
    std::fs::create_dir_all(&options.dir)
        .with_context(|| format!("cannot create {}", options.dir.display()))?;
    let pki = options.dir.join("pki");
    cli(&congvan, &["pki", "demo", "--out", text(&pki)?])?;
    let root = pki.join("root/cert.pem");

    eprintln!(
        "writing {} signed and sealed dispatches (not timed)…",
        options.dispatches
    );
    let started = Instant::now();
    let files = write_archive(&congvan, &options.dir, &pki, options.dispatches)?;
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()))
        .sum::<std::io::Result<u64>>()?;
    eprintln!(
        "    done in {:.1} s; {:.0} bytes per .cvd on average",
        started.elapsed().as_secs_f64(),
        bytes as f64 / files.len() as f64
    );

    let rate_before = probes::verify_rate(Duration::from_secs(2))?;

    // (a) One process, one trust store, every file; three times (the first
    // right after the files were written), the median counts.
    let mut args = vec!["dispatch", "verify", "--trust", text(&root)?];
    for file in &files {
        args.push(text(file)?);
    }
    let expected = format!(
        "{n} passed, 0 failed, 0 indeterminate, 0 unreadable.",
        n = files.len()
    );
    let mut one_process_runs = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let output = Command::new(&congvan).args(&args).output()?;
        one_process_runs.push(started.elapsed().as_secs_f64());
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() || !stdout.contains(&expected) {
            bail!(
                "the archive run did not pass every dispatch:\n{}{}",
                stdout,
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    let runs_text: Vec<String> = one_process_runs
        .iter()
        .map(|t| format!("{t:.3} s"))
        .collect();
    one_process_runs.sort_by(f64::total_cmp);
    let one_process = one_process_runs[1];

    // (b) One process per file, as a shell loop over `dispatch verify` does.
    let started = Instant::now();
    for file in &files {
        let status = Command::new(&congvan)
            .args(["dispatch", "verify", "--trust", text(&root)?, text(file)?])
            .stdout(std::process::Stdio::null())
            .status()?;
        if !status.success() {
            bail!("{} did not verify on its own", file.display());
        }
    }
    let per_process = started.elapsed().as_secs_f64();

    let rate_after = probes::verify_rate(Duration::from_secs(2))?;
    let rate = rate_before.max(rate_after);
    let n = files.len() as f64;
    let limit = 2.0 * n / rate;
    println!(
        "raw ring P-256 verify: {rate_before:.0}/s before, {rate_after:.0}/s after (one thread; the better is used)"
    );
    println!();
    println!("| measure | time | per dispatch | ratio to 2 raw ring verifications per dispatch |");
    println!("|---|---:|---:|---:|");
    println!(
        "| 2 × {} raw ring verifications (limit) | {limit:.3} s | {:.1} µs | 1.00x |",
        files.len(),
        limit / n * 1e6
    );
    println!(
        "| (a) one `dispatch verify` over {} files | {one_process:.3} s | {:.1} µs | {:.2}x |",
        files.len(),
        one_process / n * 1e6,
        one_process / limit
    );
    println!(
        "| (b) one `dispatch verify` process per file | {per_process:.3} s | {:.1} µs | {:.2}x |",
        per_process / n * 1e6,
        per_process / limit
    );
    println!();
    println!(
        "(a) runs: {}; the median is shown. (b) / (a): {:.1}x. (a) includes starting one \
         process, reading the trust store and validating each signer's chain once.",
        runs_text.join(", "),
        per_process / one_process
    );
    Ok(())
}

/// Writes `count` signed and sealed dispatches with the CLI, each with its
/// own number, subject and a small attachment.
fn write_archive(congvan: &Path, dir: &Path, pki: &Path, count: usize) -> Result<Vec<PathBuf>> {
    let archive = dir.join("archive");
    std::fs::create_dir_all(&archive)?;
    let registry = pki.join("registry.toml");
    let official = pki.join("H99.01/official");
    let office = pki.join("H99.01/office");
    let mut files = Vec::with_capacity(count);
    for i in 1..=count {
        let attachment = dir.join("bao-cao.txt");
        std::fs::write(&attachment, format!("Báo cáo số liệu kỳ {i}.\n").repeat(40))?;
        let file = archive.join(format!("{i:05}.cvd"));
        cli(
            congvan,
            &[
                "dispatch",
                "new",
                "--registry",
                text(&registry)?,
                "--from",
                "H99.01",
                "--to",
                "H99.01.01,H99.01.02",
                "--type",
                "cong-van",
                "--number",
                &format!("{i}/UBND-VP"),
                "--subject",
                &format!("Về việc báo cáo số liệu kỳ {i}"),
                "--attach",
                text(&attachment)?,
                "--signer-cert",
                text(&official.join("cert.pem"))?,
                "--out",
                text(&file)?,
            ],
        )?;
        for (who, role) in [(&official, "signer"), (&office, "seal")] {
            cli(
                congvan,
                &[
                    "dispatch",
                    "sign",
                    text(&file)?,
                    "--key",
                    text(&who.join("key.pem"))?,
                    "--cert",
                    text(&who.join("cert.pem"))?,
                    "--role",
                    role,
                ],
            )?;
        }
        files.push(file);
    }
    Ok(files)
}

/// Runs `congvan ARGS`, failing with its output when it fails.
fn cli(congvan: &Path, args: &[&str]) -> Result<()> {
    let output = Command::new(congvan).args(args).output()?;
    if !output.status.success() {
        bail!(
            "congvan {} failed:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

fn text(path: &Path) -> Result<&str> {
    path.to_str()
        .with_context(|| format!("{} is not valid UTF-8", path.display()))
}
