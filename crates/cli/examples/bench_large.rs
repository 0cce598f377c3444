//! A dispatch with a large attachment: time and peak memory of every step,
//! next to `sha256sum` of the same attachment.
//!
//! ```text
//! cargo run --release -p congvan --example bench_large -- --size-mb 1024 --dir /tmp/cvd-large
//! ```
//!
//! It builds the release `congvan` binary, writes an attachment of
//! pseudo-random bytes (`--size-mb` MiB), times `sha256sum` of it with the
//! page cache warm (run twice, the second counts), and `openssl dgst -sha256`
//! the same way when OpenSSL is installed (shown, not checked), then runs `congvan pki
//! demo`, `dispatch new --attach`, `dispatch sign` (signer), `dispatch sign`
//! (seal) and `dispatch verify` (twice; the second counts) each under
//! `/usr/bin/time -v`, and prints wall time, CPU time, the ratio to
//! `sha256sum` and peak RSS per step.
//!
//! Requirements checked (exit status 1 when one fails):
//! - `dispatch verify` takes at most 1.3x the wall time of `sha256sum`;
//! - every step's peak RSS stays under 64 MB.
//!
//! The big files are deleted at the end unless `--keep` is given. Needs
//! `/usr/bin/time` (Debian package `time`).
#![allow(clippy::disallowed_macros)] // a measurement or test program prints its own output
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

#[path = "support/binary.rs"]
mod binary;
#[path = "support/measure.rs"]
mod measure;

use measure::{measure, path_str, which, write_random_file, Cleanup, Role};

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

/// Largest accepted verify / sha256sum wall-time ratio.
const MAX_VERIFY_RATIO: f64 = 1.3;
/// Peak RSS every step must stay under, in MB (10^6 bytes).
const MAX_RSS_MB: f64 = 64.0;

struct Options {
    size_mb: u64,
    dir: PathBuf,
    keep: bool,
}

fn parse_args() -> Result<Options> {
    let mut options = Options {
        size_mb: 1024,
        dir: std::env::temp_dir().join("congvan-bench-large"),
        keep: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--size-mb" => {
                let value = args.next().context("--size-mb needs a number")?;
                options.size_mb = value
                    .parse()
                    .with_context(|| format!("--size-mb {value:?} is not a number"))?;
            }
            "--dir" => options.dir = PathBuf::from(args.next().context("--dir needs a path")?),
            "--keep" => options.keep = true,
            "-h" | "--help" => {
                println!("usage: bench_large [--size-mb N] [--dir DIR] [--keep]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}; see --help"),
        }
    }
    Ok(options)
}

fn run(options: &Options) -> Result<bool> {
    measure::require_time()?;
    let congvan = binary::build_congvan()?;
    let dir = &options.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let pki = dir.join("pki");
    let attachment = dir.join("attachment.bin");
    let cvd = dir.join("large.cvd");
    for old in [&attachment, &cvd] {
        if old.exists() {
            std::fs::remove_file(old)?;
        }
    }
    if pki.exists() {
        std::fs::remove_dir_all(&pki)?;
    }
    // Removes the big files however this function ends.
    let _cleanup = Cleanup {
        dir: dir.clone(),
        files: vec![attachment.clone(), cvd.clone()],
        pki: pki.clone(),
        keep: options.keep,
    };

    println!(
        "writing {} MiB of pseudo-random bytes to {}",
        options.size_mb,
        attachment.display()
    );
    write_random_file(&attachment, options.size_mb)?;

    let sha256sum = which("sha256sum")?;
    let (a, c) = (path_str(&attachment)?, path_str(&cvd)?);
    let pki_s = path_str(&pki)?.to_string();
    let at = |rel: &str| format!("{pki_s}/{rel}");

    let mut results = Vec::new();
    println!("sha256sum, twice (the second, with the page cache warm, is the baseline):");
    measure("sha256sum (1st)", Role::Info, &sha256sum, &[a])?;
    results.push(measure("sha256sum", Role::Baseline, &sha256sum, &[a])?);
    // coreutils' sha256sum may not use the CPU's SHA extensions; OpenSSL
    // does, so it is the stricter yardstick (shown, not checked).
    if let Ok(openssl) = which("openssl") {
        let args = ["dgst", "-sha256", a];
        measure("openssl dgst -sha256 (1st)", Role::Info, &openssl, &args)?;
        results.push(measure(
            "openssl dgst -sha256",
            Role::Info,
            &openssl,
            &args,
        )?);
    }

    println!("congvan:");
    results.push(measure(
        "pki demo",
        Role::Info,
        &congvan,
        &["pki", "demo", "--out", &pki_s],
    )?);
    results.push(measure(
        "dispatch new --attach",
        Role::Info,
        &congvan,
        &[
            "dispatch",
            "new",
            "--registry",
            &at("registry.toml"),
            "--from",
            "H99.01",
            "--to",
            "H99.01.01",
            "--type",
            "cong-van",
            "--number",
            "05/UBND-VP",
            "--subject",
            "Về việc gửi hồ sơ dung lượng lớn (đo hiệu năng)",
            "--signer-cert",
            &at("H99.01/official/cert.pem"),
            "--attach",
            a,
            "--out",
            c,
        ],
    )?);
    for (role, who) in [("signer", "official"), ("seal", "office")] {
        results.push(measure(
            &format!("dispatch sign --role {role}"),
            Role::Info,
            &congvan,
            &[
                "dispatch",
                "sign",
                c,
                "--key",
                &at(&format!("H99.01/{who}/key.pem")),
                "--cert",
                &at(&format!("H99.01/{who}/cert.pem")),
                "--role",
                role,
            ],
        )?);
    }
    let verify_args = ["dispatch", "verify", c, "--trust", &at("root/cert.pem")];
    results.push(measure(
        "dispatch verify (1st)",
        Role::Info,
        &congvan,
        &verify_args,
    )?);
    results.push(measure(
        "dispatch verify",
        Role::Checked,
        &congvan,
        &verify_args,
    )?);

    let cvd_len = std::fs::metadata(&cvd)?.len();

    let baseline = results
        .iter()
        .find(|m| m.role == Role::Baseline)
        .map(|m| (m.wall_s, m.cpu_s))
        .context("no baseline")?;
    println!();
    println!(
        "{} MiB attachment, {} bytes .cvd; ratios are to sha256sum (warm cache) in this run",
        options.size_mb, cvd_len
    );
    println!(
        "| {:<28} | {:>8} | {:>8} | {:>10} | {:>9} | {:>13} |",
        "step", "wall s", "CPU s", "wall ratio", "CPU ratio", "peak RSS MB"
    );
    println!(
        "|{:-<30}|{:->10}|{:->10}|{:->12}|{:->11}|{:->15}|",
        "", "", "", "", "", ""
    );
    let mut ok = true;
    for m in &results {
        let ratio = m.wall_s / baseline.0;
        let cpu_ratio = m.cpu_s / baseline.1;
        println!(
            "| {:<28} | {:>8.2} | {:>8.2} | {:>9.2}x | {:>8.2}x | {:>13.1} |",
            m.step, m.wall_s, m.cpu_s, ratio, cpu_ratio, m.rss_mb
        );
        if m.role == Role::Checked && ratio > MAX_VERIFY_RATIO {
            println!(
                "FAIL: {} takes {ratio:.2}x sha256sum (limit {MAX_VERIFY_RATIO}x)",
                m.step
            );
            ok = false;
        }
        if m.role != Role::Baseline && m.rss_mb >= MAX_RSS_MB {
            println!(
                "FAIL: {} peaks at {:.1} MB RSS (limit {MAX_RSS_MB} MB)",
                m.step, m.rss_mb
            );
            ok = false;
        }
    }
    let wall_of = |step: &str| results.iter().find(|m| m.step == step).map(|m| m.wall_s);
    if let (Some(verify), Some(openssl)) =
        (wall_of("dispatch verify"), wall_of("openssl dgst -sha256"))
    {
        println!(
            "dispatch verify / openssl dgst -sha256 (wall): {:.2}x (informational)",
            verify / openssl
        );
    }
    if ok {
        println!(
            "PASS: verify ≤ {MAX_VERIFY_RATIO}x sha256sum and every step under {MAX_RSS_MB} MB RSS"
        );
    }
    Ok(ok)
}

fn main() -> ExitCode {
    let result = parse_args().and_then(|options| run(&options));
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("bench_large: {e:#}");
            ExitCode::from(2)
        }
    }
}
