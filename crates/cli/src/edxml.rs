//! `congvan edxml ...`: the bridge to the national document exchange.

use std::path::Path;
use std::process::ExitCode;

use congvan_edxml::{
    export_dispatch, import_message, read_status, write_status, ImportOptions, Limits,
};
use congvan_sign::Credential;
use time::OffsetDateTime;

use crate::args::EdxmlCommand;
use crate::failure::Failure;
use crate::output::say;

/// Runs one `edxml` subcommand.
pub fn run(cmd: EdxmlCommand) -> Result<ExitCode, Failure> {
    match cmd {
        EdxmlCommand::Import {
            file,
            identity,
            password_file,
            registry,
            out,
            json,
        } => import(
            &file,
            &identity,
            password_file.as_deref(),
            registry.as_deref(),
            &out,
            json,
        ),
        EdxmlCommand::Export { file, out, json } => export(&file, &out, json),
        EdxmlCommand::Status {
            file,
            from_json,
            out,
            json,
        } => match (file, from_json, out) {
            (_, Some(source), Some(out)) => status_from_json(&source, &out),
            (Some(file), None, _) => status_show(&file, json),
            _ => Err(Failure::input(
                "give a status message to read, or --from-json FILE.json --out FILE.edxml",
            )),
        },
    }
}

fn import(
    file: &Path,
    identity: &Path,
    password_file: Option<&Path>,
    registry: Option<&Path>,
    out: &Path,
    json: bool,
) -> Result<ExitCode, Failure> {
    let options = ImportOptions {
        limits: Limits::default(),
        registry: Some(crate::dispatch::load_registry(registry)?),
    };
    let password = crate::pki::read_password(password_file)?;
    let gateway = Credential::load(identity, password.as_deref())?;
    let report = import_message(file, out, &gateway, OffsetDateTime::now_utc(), &options)?;
    if json {
        crate::output::json(&report)?;
    } else {
        say!(
            "Imported {} from {} as {} (id {}), sealed as a copy by the gateway office",
            report.number,
            report.from,
            out.display(),
            report.id
        );
        for name in &report.attachments {
            say!("  attachment {name}");
        }
        for note in &report.notes {
            say!("  note: {note}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn export(file: &Path, out: &Path, json: bool) -> Result<ExitCode, Failure> {
    let report = export_dispatch(file, out)?;
    if json {
        crate::output::json(&report)?;
    } else {
        say!(
            "Exported dispatch {} as {} (DocumentId {})",
            report.id,
            out.display(),
            report.document_id.as_deref().unwrap_or("none")
        );
        for name in &report.attachments {
            say!("  attachment {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn status_show(file: &Path, json: bool) -> Result<ExitCode, Failure> {
    let scratch = tempfile::tempdir()
        .map_err(|e| Failure::input(format!("cannot make a scratch folder: {e}")))?;
    let status = read_status(file, scratch.path(), &Limits::default())?;
    if json {
        crate::output::json(&status)?;
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "Status {} from {} ({}) for {} of {} dated {}",
        status.status_code,
        status.from.organ_name,
        status.from.organ_id,
        status.response_for.code,
        status.response_for.organ_id,
        status.response_for.promulgation_date
    );
    say!("  at {}", status.timestamp);
    if let Some(description) = &status.description {
        say!("  {description}");
    }
    Ok(ExitCode::SUCCESS)
}

fn status_from_json(source: &Path, out: &Path) -> Result<ExitCode, Failure> {
    let text = std::fs::read_to_string(source)
        .map_err(|e| Failure::input(format!("{}: {e}", source.display())))?;
    let status: congvan_edxml::StatusMessage = serde_json::from_str(&text)
        .map_err(|e| Failure::input(format!("{}: not a status message: {e}", source.display())))?;
    if !congvan_edxml::STATUS_CODES.contains(&status.status_code.as_str()) {
        return Err(Failure::input(format!(
            "status_code {:?} is not one of {}",
            status.status_code,
            congvan_edxml::STATUS_CODES.join(", ")
        )));
    }
    if out.exists() {
        return Err(Failure::input(format!(
            "{} already exists; choose another --out",
            out.display()
        )));
    }
    write_status(&status, out)?;
    say!("Wrote status {} to {}", status.status_code, out.display());
    Ok(ExitCode::SUCCESS)
}
