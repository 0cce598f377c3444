//! `congvan dispatch verify` over many files: an auditor's archive run.
//!
//! One trust store serves every file, so each signer's certificate chain is
//! validated once (then answered from the store's cache) instead of once per
//! process, and every file is judged at the same reference time. Each file
//! gets one line; `congvan dispatch verify FILE` gives a file's full report
//! (and uses [`verify_file`] and [`reference_time`] from here too).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use congvan_envelope::{
    verify_dispatch, verify_dispatch_offline, Envelope, Indication, VerificationReport,
};
use congvan_sign::{Certificate, TrustStore};
use congvan_text::Line;
use serde::Serialize;
use time::OffsetDateTime;

use crate::failure::{Failure, EXIT_INDETERMINATE, EXIT_INPUT, EXIT_REFUSED};
use crate::progress::ByteProgress;

/// What a verification trusts besides the dispatch itself.
#[derive(Clone, Copy)]
pub(crate) enum Validation<'a> {
    /// A trust store: the roots, intermediates and current CRLs given on
    /// the command line.
    Store(&'a TrustStore),
    /// Only these roots and the validation data each dispatch embeds
    /// (`dispatch verify --offline`, for a preserved dispatch).
    Embedded(&'a [Certificate]),
}

/// A file that could not be read at all (missing, unreadable): no verdict.
#[derive(Serialize)]
struct Unreadable {
    file: String,
    error: String,
}

/// The counts and the unreadable files: all the run keeps. Reports are
/// written as they are made and dropped, so memory stays flat however many
/// dispatches an archive holds.
#[derive(Default)]
struct Totals {
    passed: usize,
    failed: usize,
    indeterminate: usize,
    unreadable: Vec<Unreadable>,
}

/// Verifies `files` with one trust store, at one reference time. A folder
/// stands for every `*.cvd` file below it, in name order.
///
/// Text: one line per file, then the totals. `--json`: one document,
/// `{"at", "reports": [...], "unreadable": [...], "passed", "failed",
/// "indeterminate"}`, streamed report by report.
///
/// Exit code: 1 if any dispatch FAILED (the strongest finding: something was
/// altered or forged), else 2 if any file could not be read, else 3 if any is
/// INDETERMINATE, else 0.
pub(crate) fn verify_many(
    files: &[PathBuf],
    validation: Validation<'_>,
    at: Option<&str>,
    json: bool,
) -> Result<ExitCode, Failure> {
    let files = expand_folders(files)?;
    let now = reference_time(at)?;
    let at = congvan_envelope::signing_time_text(now);
    // Buffered, but a person watching a terminal sees each line as it comes.
    let watched = std::io::stdout().is_terminal();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let totals = write_reports(&mut out, &files, validation, now, &at, json, watched)
        .and_then(|totals| out.flush().map(|()| totals))
        .map_err(|e| Failure::input(format!("cannot write the report: {e}")))?;
    Ok(ExitCode::from(if totals.failed > 0 {
        EXIT_REFUSED
    } else if !totals.unreadable.is_empty() {
        EXIT_INPUT
    } else if totals.indeterminate > 0 {
        EXIT_INDETERMINATE
    } else {
        0
    }))
}

/// Verifies each file and writes its finding as it goes; then the totals.
fn write_reports(
    out: &mut impl Write,
    files: &[PathBuf],
    validation: Validation<'_>,
    now: OffsetDateTime,
    at: &str,
    json: bool,
    watched: bool,
) -> std::io::Result<Totals> {
    let mut totals = Totals::default();
    if json {
        write!(
            out,
            "{{\n  \"at\": {},\n  \"reports\": [",
            serde_json::to_string(at)?
        )?;
    }
    let mut first = true;
    for file in files {
        match verify_file(file, validation, now).map_err(|e| e.to_string()) {
            Ok(report) => {
                match report.indication {
                    Indication::Passed => totals.passed += 1,
                    Indication::Failed => totals.failed += 1,
                    Indication::Indeterminate => totals.indeterminate += 1,
                }
                if json {
                    let separator = if first { "\n" } else { ",\n" };
                    write!(
                        out,
                        "{separator}{}",
                        congvan_text::json::to_string(&report)?
                    )?;
                    first = false;
                } else {
                    writeln!(out, "{}", line(&report))?;
                }
                if watched {
                    out.flush()?;
                }
            }
            Err(error) => {
                if !json {
                    // The error names the file.
                    writeln!(out, "{:<13}  {}", "UNREADABLE", Line(&error))?;
                }
                totals.unreadable.push(Unreadable {
                    file: file.display().to_string(),
                    error,
                });
            }
        }
    }
    if json {
        writeln!(
            out,
            "\n  ],\n  \"unreadable\": {},\n  \"passed\": {},\n  \"failed\": {},\n  \"indeterminate\": {}\n}}",
            congvan_text::json::to_string(&totals.unreadable)?,
            totals.passed,
            totals.failed,
            totals.indeterminate
        )?;
    } else {
        writeln!(
            out,
            "\n{} dispatches at {at}: {} passed, {} failed, {} indeterminate, {} unreadable.",
            files.len(),
            totals.passed,
            totals.failed,
            totals.indeterminate,
            totals.unreadable.len()
        )?;
        if totals.passed < files.len() {
            writeln!(
                out,
                "For the full report on one: congvan dispatch verify FILE.cvd --trust ..."
            )?;
        }
    }
    Ok(totals)
}

/// `paths` with each folder replaced by the `*.cvd` files below it (sorted,
/// recursively; symbolic links to folders are not followed, so a link loop
/// cannot trap the walk). A folder without any is an error: an audit of
/// nothing should not pass.
fn expand_folders(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Failure> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let before = files.len();
        let mut folders = vec![path.clone()];
        let mut found = Vec::new();
        while let Some(folder) = folders.pop() {
            let entries = std::fs::read_dir(&folder).map_err(|e| {
                Failure::input(format!("{}: cannot list the folder: {e}", folder.display()))
            })?;
            for entry in entries {
                let entry = entry.map_err(|e| {
                    Failure::input(format!("{}: cannot list the folder: {e}", folder.display()))
                })?;
                let kind = entry
                    .file_type()
                    .map_err(|e| Failure::input(format!("{}: {e}", entry.path().display())))?;
                let entry_path = entry.path();
                if kind.is_dir() {
                    folders.push(entry_path);
                } else if entry_path.extension().is_some_and(|ext| ext == "cvd") {
                    found.push(entry_path);
                }
            }
        }
        found.sort();
        files.extend(found);
        if files.len() == before {
            return Err(Failure::input(format!(
                "{}: no .cvd file in this folder or below it",
                path.display()
            )));
        }
    }
    Ok(files)
}

/// The time every signature is judged at: `--at`, or now.
pub(crate) fn reference_time(at: Option<&str>) -> Result<OffsetDateTime, Failure> {
    match at {
        Some(text) => crate::pki::parse_time("--at", text),
        None => Ok(OffsetDateTime::now_utc()),
    }
}

/// One file's report, with a progress bar for large attachments; `Err`
/// only when the file cannot be read at all. A file that is not a valid
/// container, or cannot be verified to the end, gets a FAILED report naming
/// the problem.
pub(crate) fn verify_file(
    file: &Path,
    validation: Validation<'_>,
    now: OffsetDateTime,
) -> Result<VerificationReport, congvan_envelope::Error> {
    let unreadable = |e: congvan_envelope::Error| match e {
        congvan_envelope::Error::Io { .. } => Err(e),
        other => Ok(VerificationReport::unreadable(
            &file.display().to_string(),
            &other.to_string(),
        )),
    };
    let mut envelope = match Envelope::open(file) {
        Ok(envelope) => envelope,
        // A sealed (secret) dispatch: its outer layer is what can be
        // checked without a recipient's key.
        Err(congvan_envelope::Error::Sealed(_)) => {
            let Validation::Store(store) = validation else {
                return unreadable(congvan_envelope::Error::Refused(
                    "a sealed (secret) dispatch carries no preserved validation data; verify \
                     it without --offline, or preserve the dispatch inside"
                        .into(),
                ));
            };
            return match congvan_envelope::SealedEnvelope::open(file) {
                Ok(sealed) => {
                    congvan_envelope::verify_sealed(&sealed, store, now).or_else(unreadable)
                }
                Err(e) => unreadable(e),
            };
        }
        Err(e) => return unreadable(e),
    };
    let mut bar = ByteProgress::start("verifying", envelope.attachment_bytes());
    let mut progress = |n| bar.advance(n);
    let verified = match validation {
        Validation::Store(store) => verify_dispatch(&mut envelope, store, now, &mut progress),
        Validation::Embedded(anchors) => {
            verify_dispatch_offline(&mut envelope, anchors.to_vec(), now, &mut progress)
        }
    };
    bar.finish();
    verified.or_else(unreadable)
}

/// `PASSED         path: summary`, with the sub-indication when not passed.
fn line(report: &VerificationReport) -> String {
    let verdict = match report.sub_indication {
        Some(sub) => format!("{}/{}", report.indication.name(), sub.name()),
        None => report.indication.name().to_string(),
    };
    format!(
        "{verdict:<13}  {}: {}",
        Line(&report.file),
        Line(&report.summary)
    )
}
