//! `congvan pki ...`: thin wrappers over congvan-sign.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use congvan_sign::{
    Certificate, Credential, Crl, LeafRequest, OrgId, Purpose, RevocationReason, RevocationRecord,
    SigningKey, TrustStore,
};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::args::{KeySource, PkiCommand};
use crate::failure::{Failure, EXIT_REFUSED};
use crate::output::say;
use congvan_text::Line;

/// Runs one `pki` subcommand.
pub fn run(cmd: PkiCommand) -> Result<ExitCode, Failure> {
    match cmd {
        PkiCommand::InitRoot {
            name,
            out,
            days,
            key,
        } => {
            refuse_existing(&out)?;
            let cred = congvan_sign::init_root(&name, new_key(&key)?, days)?;
            cred.write(&out)?;
            say!("root CA \"{name}\" written to {}", out.display());
            print_cert_line(cred.cert());
        }
        PkiCommand::IssueCa {
            issuer,
            name,
            org,
            out,
            days,
            key,
        } => {
            refuse_existing(&out)?;
            let ca = load_issuer(&issuer, key.password_file.as_deref())?;
            let org = OrgId::parse(&org)?;
            let cred = congvan_sign::issue_ca(&ca, &name, &org, new_key(&key)?, days)?;
            cred.write(&out)?;
            say!(
                "CA \"{name}\" for {org} and below written to {}",
                out.display()
            );
            print_cert_line(cred.cert());
        }
        PkiCommand::Issue {
            issuer,
            role,
            name,
            org,
            org_name,
            position,
            dns,
            ip,
            days,
            out,
            key,
        } => {
            refuse_existing(&out)?;
            let ca = load_issuer(&issuer, key.password_file.as_deref())?;
            let request = LeafRequest {
                role: role.role(),
                name,
                org: OrgId::parse(&org)?,
                organization_name: org_name,
                position,
                dns,
                ips: ip,
                days,
            };
            let cred = congvan_sign::issue_leaf(&ca, &request, new_key(&key)?)?;
            cred.write(&out)?;
            say!(
                "{} certificate for \"{}\" ({}) written to {}",
                request.role,
                request.name,
                request.org,
                out.display()
            );
            print_cert_line(cred.cert());
        }
        PkiCommand::Revoke {
            issuer,
            cert,
            reason,
            password_file,
        } => {
            let reason = RevocationReason::parse(&reason).ok_or_else(|| {
                Failure::input(format!(
                    "unknown revocation reason {reason:?}; use one of: {}",
                    RevocationReason::ALL.map(|(_, n)| n).join(", ")
                ))
            })?;
            let ca = load_issuer(&issuer, password_file.as_deref())?;
            let target = Certificate::load(&cert)?;
            let mut record = RevocationRecord::load(&issuer)?;
            let entry = record
                .revoke(&ca, &target, reason, OffsetDateTime::now_utc())?
                .clone();
            record.save(&issuer)?;
            say!(
                "revoked serial {} (\"{}\") at {}; run `congvan pki crl --issuer {} --out CRL.pem` to publish it",
                entry.serial,
                target.display_name(),
                entry.revoked_at,
                issuer.display()
            );
        }
        PkiCommand::Crl {
            issuer,
            out,
            days,
            password_file,
        } => {
            let ca = load_issuer(&issuer, password_file.as_deref())?;
            let mut record = RevocationRecord::load(&issuer)?;
            let pem = record.issue_crl(&ca, OffsetDateTime::now_utc(), days)?;
            std::fs::write(&out, pem).map_err(|e| {
                Failure::input(format!("{}: cannot write the CRL: {e}", out.display()))
            })?;
            record.save(&issuer)?;
            say!(
                "CRL number {} with {} revoked certificate(s) written to {}",
                record.crl_number,
                record.revoked.len(),
                out.display()
            );
        }
        PkiCommand::VerifyCert {
            trust,
            chain,
            crl,
            at,
            role,
            org,
            json,
            allow_stale_crl,
            cert,
        } => {
            return verify_cert(
                &trust,
                &chain,
                &crl,
                at.as_deref(),
                role,
                org.as_deref(),
                json,
                crate::dispatch::stale_policy(allow_stale_crl),
                &cert,
            )
        }
        PkiCommand::Demo { out, alg } => {
            refuse_existing(&out.join("root"))?;
            let demo = congvan_sign::build_demo(&out, alg.algorithm())?;
            say!("demo PKI written to {}", out.display());
            say!("  root CA:        {}", demo.root.display());
            say!("  province CA:    {}", demo.province_ca.display());
            say!("  registry:       {}", demo.registry.display());
            say!(
                "  {} office, official and relay credentials",
                demo.leaves.len()
            );
            say!("The organization codes (H99...) are illustrative, not real ids.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::too_many_arguments)]
fn verify_cert(
    trust: &[PathBuf],
    chain: &[PathBuf],
    crl: &[PathBuf],
    at: Option<&str>,
    role: Option<crate::args::RoleArg>,
    org: Option<&str>,
    json: bool,
    stale: congvan_sign::StaleCrls,
    cert_path: &Path,
) -> Result<ExitCode, Failure> {
    let at = match at {
        Some(text) => parse_time("--at", text)?,
        None => OffsetDateTime::now_utc(),
    };
    let mut anchors = Vec::new();
    for path in trust {
        anchors.extend(load_cert_file(path, "--trust")?);
    }
    let mut store = TrustStore::new(anchors)?;
    for path in chain {
        store.add_intermediates(load_cert_file(path, "--chain")?);
    }
    for path in crl {
        store.add_crls(Crl::load_all(path)?)?;
    }
    store.set_stale_crls(stale);
    // The certificate is judged at `at`, and so are the lists: current
    // then, and not dated after it.
    store.set_verification_time(congvan_sign::VerificationTime::At(at));
    let purpose = Purpose {
        role: role.map(|r| r.role()),
        org: org.map(OrgId::parse).transpose()?,
    };
    let at_text = at.format(&Rfc3339).unwrap_or_else(|_| at.to_string());
    // A file that is no certificate is an input error (exit 2); one that is
    // a certificate but an invalid one (an extension twice) is a finding.
    let cert = match Certificate::load(cert_path) {
        Ok(cert) => cert,
        Err(e) if e.is_rejection() => {
            if json {
                crate::output::json(&json!({
                    "valid": false,
                    "certificate": cert_path,
                    "at": at_text,
                    "reason": e.code(),
                    "message": e.to_string(),
                }))?;
            } else {
                say!("INVALID: {}", cert_path.display());
                say!("  reason: {}", Line(&e.to_string()));
            }
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
        Err(e) => return Err(e.into()),
    };
    match store.validate(&cert, &[], &purpose, at) {
        Ok(valid) => {
            if json {
                let chain: Vec<_> = valid
                    .certificates
                    .iter()
                    .map(|c| json!({"subject": c.subject(), "serial": c.serial_hex()}))
                    .collect();
                crate::output::json(&json!({
                    "valid": true,
                    "certificate": cert_path,
                    "subject": cert.subject(),
                    "role": cert.role().map(|r| r.name()),
                    "org": cert.org().map(|o| o.to_string()),
                    "at": at_text,
                    "chain": chain,
                }))?;
            } else {
                say!("VALID: {} at {at_text}", describe(&cert));
                let names: Vec<&str> = valid
                    .certificates
                    .iter()
                    .map(|c| c.display_name())
                    .collect();
                say!("  chain: {}", Line(&names.join(" <- ")));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.is_rejection() => {
            if json {
                crate::output::json(&json!({
                    "valid": false,
                    "certificate": cert_path,
                    "subject": cert.subject(),
                    "at": at_text,
                    "reason": e.code(),
                    "message": e.to_string(),
                }))?;
            } else {
                say!("INVALID: {}", describe(&cert));
                say!("  reason: {}", Line(&e.to_string()));
            }
            Ok(ExitCode::from(EXIT_REFUSED))
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads a `--trust` or `--chain` file. An empty one is an input error: left
/// unreported it would surface as a misleading "unknown issuer".
fn load_cert_file(path: &Path, flag: &str) -> Result<Vec<Certificate>, Failure> {
    let certs = Certificate::load_all(path)?;
    if certs.is_empty() {
        return Err(Failure::input(format!(
            "{}: holds no certificate; {flag} needs a PEM file of CERTIFICATE blocks",
            path.display()
        )));
    }
    Ok(certs)
}

fn describe(cert: &Certificate) -> String {
    let mut text = format!("\"{}\"", Line(cert.display_name()));
    if let Some(role) = cert.role() {
        text.push_str(&format!(", role {role}"));
    }
    if let Some(org) = cert.org() {
        text.push_str(&format!(", organization {org}"));
    }
    text
}

fn print_cert_line(cert: &Certificate) {
    say!(
        "  serial {}, valid until {}",
        cert.serial_hex(),
        cert.not_after()
            .format(&Rfc3339)
            .unwrap_or_else(|_| cert.not_after().to_string())
    );
}

fn new_key(source: &KeySource) -> Result<SigningKey, Failure> {
    match &source.key {
        Some(path) => {
            let password = read_password(source.password_file.as_deref())?;
            Ok(SigningKey::from_pem_file(path, password.as_deref())?)
        }
        None => Ok(SigningKey::generate(source.alg.algorithm())?),
    }
}

fn load_issuer(dir: &Path, password_file: Option<&Path>) -> Result<Credential, Failure> {
    let password = read_password(password_file)?;
    Ok(Credential::load(dir, password.as_deref())?)
}

/// Parses an RFC 3339 time given with `flag`.
pub fn parse_time(flag: &str, text: &str) -> Result<OffsetDateTime, Failure> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|e| {
        Failure::input(format!(
            "{flag} {text:?} is not an RFC 3339 time such as 2026-01-05T09:30:00+07:00: {e}"
        ))
    })
}

/// The password for an encrypted key: from a file (first line), or the environment.
pub fn read_password(file: Option<&Path>) -> Result<Option<Vec<u8>>, Failure> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Failure::input(format!(
                "{}: cannot read the password file: {e}",
                path.display()
            ))
        })?;
        let line = text.lines().next().unwrap_or("");
        return Ok(Some(line.as_bytes().to_vec()));
    }
    Ok(std::env::var_os("CONGVAN_KEY_PASSWORD").map(|v| v.into_encoded_bytes()))
}

fn refuse_existing(out: &Path) -> Result<(), Failure> {
    if out.join(congvan_sign::CERT_FILE).exists() || out.join(congvan_sign::KEY_FILE).exists() {
        return Err(Failure::input(format!(
            "{} already holds a credential; choose another --out or remove it first (keys are never overwritten)",
            out.display()
        )));
    }
    Ok(())
}
