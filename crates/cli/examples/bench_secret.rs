//! A secret dispatch with a large attachment: `dispatch encrypt` and
//! `dispatch decrypt` against ring's AES-256-GCM doing the same file work,
//! measured in the same run.
//!
//! ```text
//! cargo run --release -p congvan --example bench_secret -- --size-mb 1024 --dir /tmp/cvd-secret
//! ```
//!
//! It builds the release `congvan` binary, makes a demo PKI and a signed
//! and sealed Mật dispatch with an attachment of `--size-mb` MiB of
//! pseudo-random bytes, then, in nine rounds, times under
//! `/usr/bin/time -v`:
//!
//! - the limit: this program's `--raw-aes-encrypt IN OUT` and
//!   `--raw-aes-decrypt IN OUT`, which do what the two commands must do with
//!   nothing but ring's AES-256-GCM: read the dispatch in 1 MiB chunks, seal
//!   (open) each, write the result and fsync it;
//! - `congvan dispatch encrypt` (to a commune and the sender) and
//!   `congvan dispatch decrypt` (with the commune's key), which also write
//!   and fsync their output.
//!
//! Outputs are deleted after each round, so every round writes into the
//! same page-cache state; the medians of the rounds are reported. AES-GCM
//! in memory (seal and open of the same bytes, nothing written) is shown
//! too, not checked. Requirements checked (exit status 1 when one fails):
//! congvan's encrypt + decrypt take at most 1.3x ring's, and each stays
//! under 64 MB of peak RSS. The big files are deleted at the end unless
//! `--keep`.
#![allow(clippy::disallowed_macros)] // a measurement program prints its own output
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

#[path = "support/binary.rs"]
mod binary;
#[path = "support/measure.rs"]
mod measure;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use measure::{measure, path_str, write_random_file, Cleanup, Role};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};

/// Largest accepted (encrypt + decrypt) / ring wall-time ratio.
const MAX_RATIO: f64 = 1.3;
/// Peak RSS each step must stay under, in MB (10^6 bytes).
const MAX_RSS_MB: f64 = 64.0;
/// The chunk size congvan encrypts in.
const CHUNK: usize = 1 << 20;
/// Rounds measured; the median counts.
const ROUNDS: usize = 9;

struct Options {
    size_mb: u64,
    dir: PathBuf,
    keep: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options> {
    let mut options = Options {
        size_mb: 1024,
        dir: std::env::temp_dir().join("congvan-bench-secret"),
        keep: false,
    };
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
                println!("usage: bench_secret [--size-mb N] [--dir DIR] [--keep]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}; see --help"),
        }
    }
    Ok(options)
}

/// What the limit does to each chunk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RawStep {
    /// Seal and open again in memory (nothing written).
    InMemory,
    /// Seal, write the ciphertext and its tag.
    Encrypt,
    /// Open (the chunk and its tag), write the plaintext.
    Decrypt,
}

/// Fills `buffer` from `file`, short only at the end.
fn read_full(file: &mut std::fs::File, buffer: &mut [u8]) -> Result<usize> {
    let mut len = 0;
    while len < buffer.len() {
        match file.read(&mut buffer[len..])? {
            0 => break,
            n => len += n,
        }
    }
    Ok(len)
}

/// The limit: ring's AES-256-GCM over `input` in 1 MiB chunks, as `step`
/// says, into `output` (fsynced) unless in memory.
fn raw_aes(step: RawStep, input: &Path, output: Option<&Path>) -> Result<()> {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7u8; 32]).expect("a 32-byte key"));
    let mut file = std::fs::File::open(input)?;
    let mut out = match output {
        Some(path) => Some(std::io::BufWriter::with_capacity(
            CHUNK,
            std::fs::File::create(path)?,
        )),
        None => None,
    };
    // A ciphertext chunk carries its 16-byte tag after it.
    let chunk_len = if step == RawStep::Decrypt {
        CHUNK + 16
    } else {
        CHUNK
    };
    let mut buffer = vec![0u8; chunk_len];
    let mut index: u32 = 0;
    loop {
        let len = read_full(&mut file, &mut buffer)?;
        if len == 0 {
            break;
        }
        let mut bytes = [0u8; 12];
        bytes[7..11].copy_from_slice(&index.to_be_bytes());
        let nonce = || Nonce::assume_unique_for_key(bytes);
        let chunk = &mut buffer[..len];
        match (step, out.as_mut()) {
            (RawStep::InMemory, _) => {
                let tag = key
                    .seal_in_place_separate_tag(nonce(), Aad::from(b"aad"), chunk)
                    .map_err(|_| anyhow!("seal failed"))?;
                key.open_in_place_separate_tag(nonce(), Aad::from(b"aad"), tag, chunk, 0..)
                    .map_err(|_| anyhow!("open failed"))?;
            }
            (RawStep::Encrypt, Some(out)) => {
                let tag = key
                    .seal_in_place_separate_tag(nonce(), Aad::from(b"aad"), chunk)
                    .map_err(|_| anyhow!("seal failed"))?;
                out.write_all(chunk)?;
                out.write_all(tag.as_ref())?;
            }
            (RawStep::Decrypt, Some(out)) => {
                let plain = key
                    .open_in_place(nonce(), Aad::from(b"aad"), chunk)
                    .map_err(|_| anyhow!("open failed"))?;
                out.write_all(plain)?;
            }
            (_, None) => bail!("encrypting and decrypting need an output file"),
        }
        index += 1;
    }
    if let Some(out) = out {
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    Ok(())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn remove(paths: &[&Path]) -> Result<()> {
    for path in paths {
        if path.exists() {
            std::fs::remove_file(path)?;
        }
    }
    Ok(())
}

fn run(options: &Options) -> Result<bool> {
    measure::require_time()?;
    let congvan = binary::build_congvan()?;
    let this = std::env::current_exe()?;
    let dir = &options.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let pki = dir.join("pki");
    let attachment = dir.join("attachment.bin");
    let cvd = dir.join("secret.cvd");
    let sealed = dir.join("secret.sealed.cvd");
    let opened = dir.join("secret.opened.cvd");
    let raw_sealed = dir.join("raw.sealed");
    let raw_opened = dir.join("raw.opened");
    let files = vec![
        attachment.clone(),
        cvd.clone(),
        sealed.clone(),
        opened.clone(),
        raw_sealed.clone(),
        raw_opened.clone(),
    ];
    remove(&files.iter().map(PathBuf::as_path).collect::<Vec<_>>())?;
    if pki.exists() {
        std::fs::remove_dir_all(&pki)?;
    }
    let _cleanup = Cleanup {
        dir: dir.clone(),
        files,
        pki: pki.clone(),
        keep: options.keep,
    };

    println!(
        "writing {} MiB to {}",
        options.size_mb,
        attachment.display()
    );
    write_random_file(&attachment, options.size_mb)?;
    let pki_s = path_str(&pki)?.to_string();
    let at = |rel: &str| format!("{pki_s}/{rel}");
    let (a, c, s, o) = (
        path_str(&attachment)?,
        path_str(&cvd)?,
        path_str(&sealed)?,
        path_str(&opened)?,
    );
    let (rs, ro) = (path_str(&raw_sealed)?, path_str(&raw_opened)?);
    println!("preparing the signed Mật dispatch:");
    measure(
        "pki demo",
        Role::Info,
        &congvan,
        &["pki", "demo", "--out", &pki_s],
    )?;
    let official = at("H99.01/official/cert.pem");
    measure(
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
            "Về việc gửi hồ sơ mật dung lượng lớn (đo hiệu năng)",
            "--secrecy",
            "mat",
            "--signer-cert",
            &official,
            "--attach",
            a,
            "--out",
            c,
        ],
    )?;
    for (role, who) in [("signer", "official"), ("seal", "office")] {
        let key = at(&format!("H99.01/{who}/key.pem"));
        let cert = at(&format!("H99.01/{who}/cert.pem"));
        measure(
            &format!("dispatch sign --role {role}"),
            Role::Info,
            &congvan,
            &[
                "dispatch", "sign", c, "--key", &key, "--cert", &cert, "--role", role,
            ],
        )?;
    }

    measure(
        "AES-GCM in memory (warm-up)",
        Role::Info,
        &this,
        &["--raw-aes-memory", c],
    )?;
    let in_memory = measure(
        "AES-GCM in memory",
        Role::Info,
        &this,
        &["--raw-aes-memory", c],
    )?;
    let (commune, sender) = (
        at("H99.01.01/encryption/cert.pem"),
        at("H99.01/encryption/cert.pem"),
    );
    let (identity, root, key) = (
        at("H99.01/office"),
        at("root/cert.pem"),
        at("H99.01.01/encryption/key.pem"),
    );
    let encrypt_args = [
        "dispatch",
        "encrypt",
        c,
        "--to-cert",
        &commune,
        "--to-cert",
        &sender,
        "--identity",
        &identity,
        "--trust",
        &root,
        "--out",
        s,
    ];
    let decrypt_args = ["dispatch", "decrypt", s, "--key", &key, "--out", o];
    let mut rounds: Vec<[f64; 4]> = Vec::new();
    let mut rss = [0.0f64; 2];
    // Writeback left over from one step is not charged to the next.
    let settle = || -> Result<()> {
        let status = std::process::Command::new("sync").status()?;
        if !status.success() {
            bail!("sync failed");
        }
        Ok(())
    };
    for round in 1..=ROUNDS {
        println!("round {round}:");
        let ring = || -> Result<(f64, f64)> {
            settle()?;
            let e = measure(
                "ring encrypt",
                Role::Baseline,
                &this,
                &["--raw-aes-encrypt", c, rs],
            )?;
            settle()?;
            let d = measure(
                "ring decrypt",
                Role::Baseline,
                &this,
                &["--raw-aes-decrypt", rs, ro],
            )?;
            remove(&[&raw_sealed, &raw_opened])?;
            Ok((e.wall_s, d.wall_s))
        };
        let mut ours = || -> Result<(f64, f64)> {
            settle()?;
            let e = measure("dispatch encrypt", Role::Checked, &congvan, &encrypt_args)?;
            settle()?;
            let d = measure("dispatch decrypt", Role::Checked, &congvan, &decrypt_args)?;
            if std::fs::metadata(&opened)?.len() != std::fs::metadata(&cvd)?.len() {
                bail!("the decrypted dispatch is not the size of the original");
            }
            remove(&[&sealed, &opened])?;
            rss = [rss[0].max(e.rss_mb), rss[1].max(d.rss_mb)];
            Ok((e.wall_s, d.wall_s))
        };
        // Alternate which goes first, so neither always meets the other's
        // page-cache leftovers.
        let ((raw_enc, raw_dec), (enc, dec)) = if round % 2 == 1 {
            let r = ring()?;
            (r, ours()?)
        } else {
            let o = ours()?;
            (ring()?, o)
        };
        rounds.push([raw_enc, raw_dec, enc, dec]);
    }
    let column = |i: usize| median(rounds.iter().map(|r| r[i]).collect());
    let (raw_enc, raw_dec, enc, dec) = (column(0), column(1), column(2), column(3));
    let raw_total = median(rounds.iter().map(|r| r[0] + r[1]).collect());
    let total = median(rounds.iter().map(|r| r[2] + r[3]).collect());
    let ratio = total / raw_total;
    println!();
    println!(
        "{} MiB attachment, {} bytes .cvd; medians of {ROUNDS} rounds; ratios to ring in this run",
        options.size_mb,
        std::fs::metadata(&cvd)?.len()
    );
    println!("| step | ring (limit) s | congvan s | ratio | congvan peak RSS MB |");
    println!("|---|---|---|---|---|");
    println!(
        "| encrypt | {raw_enc:.2} | {enc:.2} | {:.2}x | {:.1} |",
        enc / raw_enc,
        rss[0]
    );
    println!(
        "| decrypt | {raw_dec:.2} | {dec:.2} | {:.2}x | {:.1} |",
        dec / raw_dec,
        rss[1]
    );
    println!("| both | {raw_total:.2} | {total:.2} | {ratio:.2}x | |");
    println!(
        "AES-256-GCM seal+open of the same bytes in memory: {:.2} s (shown, not checked)",
        in_memory.wall_s
    );
    let mut ok = true;
    for (step, peak) in [("dispatch encrypt", rss[0]), ("dispatch decrypt", rss[1])] {
        if peak >= MAX_RSS_MB {
            println!("FAIL: {step} peaks at {peak:.1} MB RSS (limit {MAX_RSS_MB} MB)");
            ok = false;
        }
    }
    if ratio > MAX_RATIO {
        println!(
            "FAIL: encrypt + decrypt take {ratio:.2}x ring's AES-256-GCM (limit {MAX_RATIO}x)"
        );
        ok = false;
    }
    if ok {
        println!(
            "PASS: encrypt + decrypt ≤ {MAX_RATIO}x ring's AES-256-GCM, each under {MAX_RSS_MB} MB RSS"
        );
    }
    Ok(ok)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    let raw = match args.peek().map(String::as_str) {
        Some("--raw-aes-memory") => Some(RawStep::InMemory),
        Some("--raw-aes-encrypt") => Some(RawStep::Encrypt),
        Some("--raw-aes-decrypt") => Some(RawStep::Decrypt),
        _ => None,
    };
    let result = match raw {
        Some(step) => {
            args.next();
            let input = args.next().map(PathBuf::from);
            let output = args.next().map(PathBuf::from);
            match (input, step) {
                (Some(input), RawStep::InMemory) => raw_aes(step, &input, None),
                (Some(input), _) if output.is_some() => raw_aes(step, &input, output.as_deref()),
                _ => Err(anyhow!("the raw AES-GCM modes take IN (and OUT)")),
            }
            .map(|()| true)
        }
        None => parse_args(args).and_then(|options| run(&options)),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("bench_secret: {e:#}");
            ExitCode::from(2)
        }
    }
}
