//! Timing commands as users run them: wall time, CPU time and peak RSS of
//! each under `/usr/bin/time -v`, and the files a measurement makes.
#![allow(dead_code)] // each example uses its own part

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

const TIME: &str = "/usr/bin/time";

/// Refuses to measure without `/usr/bin/time`.
pub fn require_time() -> Result<()> {
    if !Path::new(TIME).is_file() {
        bail!("{TIME} is missing; install it with `apt-get install -y time`");
    }
    Ok(())
}

/// What `/usr/bin/time -v` reported for one command.
pub struct Measured {
    pub step: String,
    pub wall_s: f64,
    pub cpu_s: f64,
    pub rss_mb: f64,
    /// Whether the step counts against the verify ratio / is a baseline.
    pub role: Role,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Info,
    Baseline,
    Checked,
}

/// Runs `program args` under `/usr/bin/time -v`, failing if it fails.
pub fn measure(step: &str, role: Role, program: &Path, args: &[&str]) -> Result<Measured> {
    let output = Command::new(TIME)
        .arg("-v")
        .arg(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {TIME}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!(
            "{step} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            stderr
        );
    }
    let field = |name: &str| -> Result<&str> {
        stderr
            .lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(name))
            .map(|rest| rest.rsplit(": ").next().unwrap_or(rest).trim())
            .with_context(|| format!("{TIME} -v printed no {name:?} for {step}:\n{stderr}"))
    };
    let wall_s = parse_elapsed(field("Elapsed (wall clock) time")?)?;
    let cpu_s = field("User time (seconds)")?.parse::<f64>()?
        + field("System time (seconds)")?.parse::<f64>()?;
    let rss_kb: f64 = field("Maximum resident set size (kbytes)")?.parse()?;
    let measured = Measured {
        step: step.to_string(),
        wall_s,
        cpu_s,
        rss_mb: rss_kb * 1024.0 / 1e6,
        role,
    };
    println!(
        "  {step}: {:.2} s wall, {:.2} s CPU, {:.1} MB peak RSS",
        measured.wall_s, measured.cpu_s, measured.rss_mb
    );
    Ok(measured)
}

/// `h:mm:ss` or `m:ss.ss` into seconds.
pub fn parse_elapsed(text: &str) -> Result<f64> {
    let mut seconds = 0.0;
    for part in text.split(':') {
        seconds = seconds * 60.0
            + part
                .parse::<f64>()
                .with_context(|| format!("bad elapsed time {text:?}"))?;
    }
    Ok(seconds)
}

/// Writes `size_mb` MiB of xorshift64* bytes in 1 MiB chunks.
pub fn write_random_file(path: &Path, size_mb: u64) -> Result<()> {
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut chunk = vec![0u8; 1 << 20];
    for _ in 0..size_mb {
        for word in chunk.chunks_exact_mut(8) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            word.copy_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
        }
        file.write_all(&chunk)?;
    }
    file.into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub fn path_str(path: &Path) -> Result<&str> {
    path.to_str()
        .with_context(|| format!("{} is not valid UTF-8", path.display()))
}

pub fn which(name: &str) -> Result<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .with_context(|| format!("{name} is not on PATH"))
}

/// Deletes the files this run made, unless asked to keep them.
pub struct Cleanup {
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
    pub pki: PathBuf,
    pub keep: bool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.keep {
            println!("kept the files in {}", self.dir.display());
            return;
        }
        for file in &self.files {
            if file.exists() {
                if let Err(e) = std::fs::remove_file(file) {
                    eprintln!("cannot remove {}: {e}", file.display());
                }
            }
        }
        if self.pki.exists() {
            if let Err(e) = std::fs::remove_dir_all(&self.pki) {
                eprintln!("cannot remove {}: {e}", self.pki.display());
            }
        }
        // Removes the folder only when nothing else is in it.
        match std::fs::remove_dir(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::DirectoryNotEmpty => {
                eprintln!("cannot remove {}: {e}", self.dir.display())
            }
            _ => {}
        }
    }
}
