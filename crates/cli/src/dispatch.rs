//! `congvan dispatch ...`: compose, sign, verify, show and extract dispatches.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use congvan_envelope::metadata::{
    to_nfc, AuthorityPrefix, DocumentType, Metadata, Organization, Secrecy, SignerBlock,
    SteeringType, Urgency,
};
use congvan_envelope::{
    create_dispatch, sign_dispatch_with, verify_dispatch, AttachmentSource, Envelope, Indication,
    SignatureRole,
};
use congvan_org::{OrgId, Registry};
use congvan_sign::{Certificate, Credential, Crl, SigningKey, StaleCrls, TrustStore};
use serde_json::json;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::args::{DispatchCommand, NewArgs};
use crate::failure::{Failure, EXIT_INDETERMINATE, EXIT_REFUSED};
use crate::output::{say, say_err};
use crate::progress::ByteProgress;
use crate::verify_many::Validation;
use congvan_text::{Block, Line};

/// Vietnam's time zone, for the dispatch date and printed times.
const VIETNAM: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// Runs one `dispatch` subcommand.
pub fn run(cmd: DispatchCommand) -> Result<ExitCode, Failure> {
    match cmd {
        DispatchCommand::New(args) => new(*args),
        DispatchCommand::Sign {
            file,
            key,
            cert,
            chain,
            role,
            password_file,
            tsa,
            tsa_trust,
        } => {
            let password = crate::pki::read_password(password_file.as_deref())?;
            let key = SigningKey::from_pem_file(&key, password.as_deref())?;
            let cert_obj = Certificate::load(&cert)?;
            let mut chain_certs = Vec::new();
            let beside = cert.with_file_name(congvan_sign::CHAIN_FILE);
            if chain.is_empty() && beside.exists() {
                chain_certs.extend(Certificate::load_all(&beside)?);
            }
            for path in &chain {
                chain_certs.extend(Certificate::load_all(path)?);
            }
            let credential = Credential::new(cert_obj, key, chain_certs)?;
            let role: SignatureRole = role.parse().map_err(Failure::input)?;
            let mut envelope = Envelope::open(&file).map_err(Failure::from)?;
            let mut bar = ByteProgress::start("hashing", envelope.attachment_bytes());
            let mut client = match &tsa {
                Some(url) => Some(TsaClient::new(url, &tsa_trust)?),
                None => None,
            };
            let mut stamp = client
                .as_mut()
                .map(|client| move |imprint: &congvan_tsa::Imprint| client.stamp(imprint));
            let summary = sign_dispatch_with(
                &mut envelope,
                &credential,
                &[],
                role,
                OffsetDateTime::now_utc(),
                &mut |n| bar.advance(n),
                stamp
                    .as_mut()
                    .map(|stamp| stamp as congvan_envelope::Timestamper<'_>),
            )?;
            bar.finish();
            say!(
                "signed {} as {} by \"{}\" at {}{}{}",
                file.display(),
                summary.role,
                Line(credential.cert().display_name()),
                summary.signing_time,
                if summary.covers > 0 {
                    format!(", covering {} earlier signature(s)", summary.covers)
                } else {
                    String::new()
                },
                if summary.timestamped {
                    ", with a signature timestamp"
                } else {
                    ""
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        DispatchCommand::Verify {
            files,
            trust,
            chain,
            crl,
            at,
            json,
            report_pdf,
            allow_stale_crl,
            key,
            password_file,
            offline,
        } => {
            if offline {
                return verify_offline(&files, &trust, at.as_deref(), json, report_pdf.as_deref());
            }
            let mut store = trust_store(&trust, &chain, &crl, stale_policy(allow_stale_crl))?;
            // The CRLs must be current at the time the answer is for.
            store.set_verification_time(congvan_sign::VerificationTime::At(
                crate::verify_many::reference_time(at.as_deref())?,
            ));
            if let Some(key) = key {
                return match files.as_slice() {
                    [file] if !file.is_dir() && report_pdf.is_none() => crate::secret::verify_both(
                        file,
                        &key,
                        password_file.as_deref(),
                        &store,
                        at.as_deref(),
                        json,
                    ),
                    _ => Err(Failure::input(
                        "--key verifies one sealed dispatch, both its layers; give one file \
                         (and no --report-pdf)",
                    )),
                };
            }
            match files.as_slice() {
                [file] if !file.is_dir() => verify(
                    file,
                    Validation::Store(&store),
                    at.as_deref(),
                    json,
                    report_pdf.as_deref(),
                ),
                _ if report_pdf.is_some() => Err(Failure::input(
                    "--report-pdf writes the report of one dispatch; give one file with it",
                )),
                _ => crate::verify_many::verify_many(
                    &files,
                    Validation::Store(&store),
                    at.as_deref(),
                    json,
                ),
            }
        }
        DispatchCommand::Preserve {
            file,
            tsa,
            trust,
            chain,
            crl,
        } => preserve(&file, &tsa, &trust, &chain, &crl),
        DispatchCommand::Render {
            file,
            out,
            trust,
            crl,
            allow_stale_crl,
            verify_url,
            registry,
        } => render(
            &file,
            &out,
            &trust,
            &crl,
            stale_policy(allow_stale_crl),
            verify_url.as_deref(),
            registry.as_deref(),
        ),
        DispatchCommand::Show { file, json, id } => show(&file, json, id),
        DispatchCommand::Extract { file, out } => extract(&file, &out),
        DispatchCommand::Encrypt {
            file,
            to_cert,
            identity,
            trust,
            crl,
            password_file,
            out,
        } => crate::secret::encrypt(
            &file,
            &to_cert,
            &identity,
            &trust,
            &crl,
            password_file.as_deref(),
            &out,
        ),
        DispatchCommand::Decrypt {
            file,
            key,
            password_file,
            out,
        } => crate::secret::decrypt(&file, &key, password_file.as_deref(), &out),
    }
}

fn new(args: NewArgs) -> Result<ExitCode, Failure> {
    let supersedes = supersedes(&args);
    let registry = load_registry(args.registry.as_deref())?;
    let from_id = OrgId::parse(&args.from)?;
    let from = organization(&registry, &from_id)?;
    let mut to = Vec::new();
    for code in args
        .to
        .iter()
        .flat_map(|t| t.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        to.push(organization(&registry, &OrgId::parse(code)?)?);
    }
    let doc_type: DocumentType = args.doc_type.parse().map_err(meta_failure)?;
    let urgency: Urgency = args.urgency.parse().map_err(meta_failure)?;
    let secrecy = args
        .secrecy
        .as_deref()
        .map(str::parse::<Secrecy>)
        .transpose()
        .map_err(meta_failure)?;
    let signer = signer_block(&args)?;
    let place = match args.place {
        Some(place) => place,
        None => registry
            .get(&from_id)
            .and_then(|o| o.place.clone())
            .ok_or_else(|| {
                Failure::input(format!(
                    "the registry gives no place name for {from_id}; pass --place \"Hà Tĩnh\""
                ))
            })?,
    };
    let today = OffsetDateTime::now_utc().to_offset(VIETNAM).date();
    let date = args
        .date
        .as_deref()
        .map(parse_date("--date"))
        .transpose()?
        .unwrap_or(today);
    let due = args.due.as_deref().map(parse_date("--due")).transpose()?;
    let content = match &args.body {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| Failure::input(format!("{}: cannot read the body: {e}", path.display())))?
            .replace("\r\n", "\n"),
        None => String::new(),
    };
    let mut metadata = Metadata {
        format_version: Metadata::FORMAT_VERSION,
        id: Metadata::new_id(),
        from,
        to,
        number: args.number,
        place,
        date,
        doc_type,
        subject: args.subject,
        content,
        signer,
        urgency,
        secrecy,
        due,
        appointment: args.appointment,
        steering: SteeringType::None,
        in_reply_to: args.reply_to,
        created_at: Metadata::timestamp_now(),
        details: congvan_envelope::metadata::Details {
            places: args.place_lines.iter().map(|l| to_nfc(l)).collect(),
            supersedes,
            ..Default::default()
        },
    };
    metadata.normalize_text();
    let problems = metadata.problems();
    if !problems.is_empty() {
        let list: Vec<String> = problems
            .iter()
            .map(|p| format!("  - {}", as_flag_problem(p)))
            .collect();
        return Err(Failure::input(format!(
            "the dispatch metadata is not valid:\n{}",
            list.join("\n")
        )));
    }
    if args.out.exists() {
        return Err(Failure::input(format!(
            "{} already exists; choose another --out or remove it first",
            args.out.display()
        )));
    }
    let attachments: Vec<AttachmentSource> =
        args.attach.iter().map(AttachmentSource::file).collect();
    let total: u64 = args
        .attach
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let mut bar = ByteProgress::start("attaching", total);
    let manifest = create_dispatch(&metadata, &attachments, &args.out, &mut |n| bar.advance(n))?;
    bar.finish();
    say!(
        "{} written: {} {}",
        args.out.display(),
        Line(&metadata.number),
        Line(&metadata.subject)
    );
    say!("  id {}", metadata.id);
    say!("  {} attachment(s); next: congvan dispatch sign {} --key KEY.pem --cert CERT.pem --role signer", manifest.attachments.len(), args.out.display());
    Ok(ExitCode::SUCCESS)
}

/// `--replaces ID` / `--updates ID`.
fn supersedes(args: &NewArgs) -> Option<congvan_envelope::metadata::Supersedes> {
    use congvan_envelope::metadata::{SupersedeKind, Supersedes};
    let (kind, id) = match (&args.replaces, &args.updates) {
        (Some(id), _) => (SupersedeKind::Replaces, id),
        (None, Some(id)) => (SupersedeKind::Updates, id),
        (None, None) => return None,
    };
    Some(Supersedes {
        kind,
        id: id.clone(),
    })
}

fn signer_block(args: &NewArgs) -> Result<SignerBlock, Failure> {
    let (mut name, mut position) = (args.signer_name.clone(), args.signer_position.clone());
    if let Some(path) = &args.signer_cert {
        let cert = Certificate::load(path)?;
        name = name.or_else(|| cert.common_name().map(str::to_string));
        position = position.or_else(|| cert.position().map(str::to_string));
    }
    let full_name = name.ok_or_else(|| {
        Failure::input(
            "name the signing official with --signer-cert CERT.pem or --signer-name NAME",
        )
    })?;
    let position = position.ok_or_else(|| {
        Failure::input("give the signer's position with --signer-position (e.g. \"Chủ tịch\") or --signer-cert")
    })?;
    let authority_prefix = args
        .signer_prefix
        .as_deref()
        .map(str::parse::<AuthorityPrefix>)
        .transpose()
        .map_err(meta_failure)?;
    Ok(SignerBlock {
        authority_prefix,
        authority: args.signer_authority.clone(),
        on_behalf_of: args.signer_on_behalf_of.clone(),
        position: position.to_uppercase(),
        full_name,
    })
}

/// `dispatch verify --offline`: the roots, and what each dispatch embeds.
fn verify_offline(
    files: &[PathBuf],
    trust: &[PathBuf],
    at: Option<&str>,
    json: bool,
    report_pdf: Option<&Path>,
) -> Result<ExitCode, Failure> {
    let anchors = load_anchors(trust)?;
    let validation = Validation::Embedded(&anchors);
    match files {
        [file] if !file.is_dir() => verify(file, validation, at, json, report_pdf),
        _ if report_pdf.is_some() => Err(Failure::input(
            "--report-pdf writes the report of one dispatch; give one file with it",
        )),
        _ => crate::verify_many::verify_many(files, validation, at, json),
    }
}

/// `dispatch preserve`: embed the validation data under an archive timestamp.
fn preserve(
    file: &Path,
    tsa: &str,
    trust: &[PathBuf],
    chain: &[PathBuf],
    crl: &[PathBuf],
) -> Result<ExitCode, Failure> {
    let store = trust_store(trust, chain, crl, StaleCrls::TryLater)?;
    let mut client = TsaClient::new(tsa, trust)?;
    let mut envelope = Envelope::open(file).map_err(Failure::from)?;
    let mut bar = ByteProgress::start("checking", envelope.attachment_bytes());
    let mut stamp = |imprint: &congvan_tsa::Imprint| client.stamp_archive(imprint);
    let summary = congvan_envelope::preserve_dispatch(
        &mut envelope,
        &store,
        OffsetDateTime::now_utc(),
        &mut |n| bar.advance(n),
        &mut stamp,
    )?;
    bar.finish();
    say!(
        "preserved {}: {} embeds {} certificate(s) and {} CRL(s) and covers {} entries; archive \
         timestamp at {} by \"{}\"",
        file.display(),
        summary.record_entry,
        summary.certificates,
        summary.crls,
        summary.covers,
        congvan_envelope::signing_time_text(summary.gen_time),
        Line(&summary.tsa)
    );
    Ok(ExitCode::SUCCESS)
}

fn verify(
    file: &Path,
    validation: Validation<'_>,
    at: Option<&str>,
    json: bool,
    report_pdf: Option<&Path>,
) -> Result<ExitCode, Failure> {
    let now = crate::verify_many::reference_time(at)?;
    let report = crate::verify_many::verify_file(file, validation, now)?;
    if json {
        crate::output::json(&report)?;
    } else {
        crate::output::stdout(&report.to_text(), false);
    }
    if let Some(path) = report_pdf {
        let view = congvan_render::report_view(&report, OffsetDateTime::now_utc());
        let pdf = congvan_render::render_verification_report(&view)
            .map_err(|e| Failure::input(format!("cannot render the report: {e}")))?;
        std::fs::write(path, pdf)
            .map_err(|e| Failure::input(format!("{}: cannot write: {e}", path.display())))?;
        if !json {
            say!("Report written to {}", path.display());
        }
    }
    Ok(match report.indication {
        Indication::Passed => ExitCode::SUCCESS,
        Indication::Failed => ExitCode::from(EXIT_REFUSED),
        Indication::Indeterminate => ExitCode::from(EXIT_INDETERMINATE),
    })
}

fn render(
    file: &Path,
    out: &Path,
    trust: &[PathBuf],
    crl: &[PathBuf],
    stale: StaleCrls,
    verify_url: Option<&str>,
    registry: Option<&Path>,
) -> Result<ExitCode, Failure> {
    let mut envelope = Envelope::open(file)?;
    let report = if trust.is_empty() {
        None
    } else {
        let store = trust_store(trust, &[], crl, stale)?;
        let mut bar = ByteProgress::start("verifying", envelope.attachment_bytes());
        let report = verify_dispatch(&mut envelope, &store, OffsetDateTime::now_utc(), &mut |n| {
            bar.advance(n)
        })?;
        bar.finish();
        if report.indication != Indication::Passed {
            crate::output::stderr(&report.to_text(), false);
            return Err(Failure {
                code: EXIT_REFUSED,
                message: format!("{} did not verify, so it is not rendered", file.display()),
            });
        }
        Some(report)
    };
    let mut view = congvan_render::dispatch_view(&envelope, report.as_ref());
    if let Some(base) = verification_base(&envelope, verify_url, registry)? {
        view.qr_payload = Some(congvan_render::verification_url(&envelope, &base));
    }
    let pdf = congvan_render::render_dispatch(&view)
        .map_err(|e| Failure::input(format!("cannot render {}: {e}", file.display())))?;
    std::fs::write(out, pdf)
        .map_err(|e| Failure::input(format!("{}: cannot write: {e}", out.display())))?;
    say!("{} written", out.display());
    Ok(ExitCode::SUCCESS)
}

/// Where the QR code of a rendered dispatch points: `--verify-url`, else
/// the registry's verification page of the issuing office's relay (from
/// `--registry` or $CONGVAN_REGISTRY, when either is given).
fn verification_base(
    envelope: &Envelope,
    verify_url: Option<&str>,
    registry: Option<&Path>,
) -> Result<Option<String>, Failure> {
    if let Some(url) = verify_url {
        congvan_org::check_verify_url(url)
            .map_err(|problem| Failure::input(format!("--verify-url: {}", Line(&problem))))?;
        return Ok(Some(url.to_string()));
    }
    if registry.is_none() && std::env::var_os("CONGVAN_REGISTRY").is_none() {
        return Ok(None);
    }
    let registry = load_registry(registry)?;
    // The office that answers for the dispatch: its issuer, or the gateway
    // office that took it in from outside congvan.
    Ok(registry
        .verify_url(envelope.metadata().responsible_office())
        .map(str::to_string))
}

fn show(file: &Path, json: bool, id_only: bool) -> Result<ExitCode, Failure> {
    let envelope = Envelope::open(file)?;
    let m = envelope.metadata();
    if id_only {
        say!("{}", Line(&m.id));
        return Ok(ExitCode::SUCCESS);
    }
    if json {
        let mut value = serde_json::to_value(m)
            .map_err(|e| Failure::input(format!("cannot encode the metadata: {e}")))?;
        let attachments: Vec<_> = envelope
            .manifest()
            .attachments
            .iter()
            .map(|a| json!({"name": a.name.trim_start_matches(congvan_envelope::layout::ATTACHMENT_DIR), "media_type": a.media_type, "size": a.size, "sha256": a.sha256}))
            .collect();
        let signatures: Vec<_> = envelope
            .signatures()
            .iter()
            .map(|s| match congvan_envelope::parse_header(&s.jws, &s.entry) {
                Ok((h, _)) => {
                    json!({"entry": s.entry, "role": h.congvan.role, "signing_time": h.sig_t})
                }
                Err(e) => json!({"entry": s.entry, "error": e.to_string()}),
            })
            .collect();
        if let Some(obj) = value.as_object_mut() {
            obj.insert("attachments".into(), json!(attachments));
            obj.insert("signatures".into(), json!(signatures));
            obj.insert("receipts".into(), json!(envelope.receipts().len()));
        }
        crate::output::json(&value)?;
        return Ok(ExitCode::SUCCESS);
    }
    say!("{} — {}", Line(&m.number), m.doc_type.name());
    say!("  Subject:   {}", Line(&m.subject));
    say!("  From:      {} ({})", Line(&m.from.name), m.from.id);
    for (i, to) in m.to.iter().enumerate() {
        say!(
            "  {}  {} ({})",
            if i == 0 { "To:       " } else { "          " },
            Line(&to.name),
            to.id
        );
    }
    say!("  Place:     {}, {}", Line(&m.place), m.date);
    say!("  Urgency:   {} ({})", m.urgency.name(), m.urgency.code());
    if let Some(secrecy) = m.secrecy {
        say!("  Secrecy:   {}", secrecy.name());
    }
    if let Some(due) = m.due {
        say!("  Due:       {due}");
    }
    say!(
        "  Signer:    {} / {}",
        Line(&m.signer.title_lines().join(" / ")),
        Line(&m.signer.full_name)
    );
    for (i, line) in m.details.places.iter().enumerate() {
        say!(
            "  {} {}",
            if i == 0 {
                "Nơi nhận: "
            } else {
                "          "
            },
            Line(line)
        );
    }
    if let Some(s) = &m.details.supersedes {
        say!(
            "  {:<10} dispatch {}",
            format!("{}:", s.kind.name()),
            Line(&s.id)
        );
    }
    if let Some(origin) = &m.details.origin {
        say!(
            "  Came from: {}, taken in by the gateway office {} on {}",
            origin.system.description(),
            origin.gateway,
            Line(&origin.received_at)
        );
    }
    say!("  Id:        {}", Line(&m.id));
    for a in &envelope.manifest().attachments {
        say!(
            "  Attached:  {} ({} bytes, {})",
            Line(
                a.name
                    .trim_start_matches(congvan_envelope::layout::ATTACHMENT_DIR)
            ),
            a.size,
            Line(&a.media_type)
        );
    }
    say!(
        "  {} signature(s), {} receipt(s)",
        envelope.signatures().len(),
        envelope.receipts().len()
    );
    if !m.content.is_empty() {
        say!("\n{}", Block(&m.content));
    }
    Ok(ExitCode::SUCCESS)
}

fn extract(file: &Path, out: &Path) -> Result<ExitCode, Failure> {
    let mut envelope = Envelope::open(file)?;
    std::fs::create_dir_all(out)
        .map_err(|e| Failure::input(format!("{}: cannot create the folder: {e}", out.display())))?;
    write_new(&out.join("metadata.json"), envelope.metadata_bytes())?;
    write_new(&out.join("manifest.json"), envelope.manifest_bytes())?;
    let names: Vec<String> = envelope
        .attachments()
        .iter()
        .map(|a| a.name.clone())
        .collect();
    let mut bar = ByteProgress::start("extracting", envelope.attachment_bytes());
    for name in names {
        // Names were checked on open: plain file names, no separators, no "..".
        let target = out.join(&name);
        let mut file_out = create_new(&target)?;
        let copied = envelope.copy_attachment(&name, &mut file_out, &mut |n| bar.advance(n));
        if let Err(e) = copied.and_then(|()| {
            file_out
                .flush()
                .map_err(|e| congvan_envelope::Error::Format(e.to_string()))
        }) {
            drop(file_out);
            if let Err(remove) = std::fs::remove_file(&target) {
                say_err!(
                    "congvan: could not remove the partial file {}: {remove}",
                    target.display()
                );
            }
            return Err(e.into());
        }
        say!("{}", target.display());
    }
    bar.finish();
    Ok(ExitCode::SUCCESS)
}

fn create_new(path: &Path) -> Result<std::fs::File, Failure> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            Failure::input(format!(
                "{}: cannot create: {e} (existing files are never overwritten)",
                path.display()
            ))
        })
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    create_new(path)?
        .write_all(bytes)
        .map_err(|e| Failure::input(format!("{}: cannot write: {e}", path.display())))?;
    say!("{}", path.display());
    Ok(())
}

/// `--allow-stale-crl` as the trust store's policy.
pub fn stale_policy(allow_stale_crl: bool) -> StaleCrls {
    if allow_stale_crl {
        StaleCrls::Accept
    } else {
        StaleCrls::TryLater
    }
}

/// Asks an RFC 3161 authority for signature timestamps (`dispatch sign --tsa`).
struct TsaClient {
    url: String,
    trust: TrustStore,
    runtime: tokio::runtime::Runtime,
}

impl TsaClient {
    fn new(url: &str, trust: &[PathBuf]) -> Result<TsaClient, Failure> {
        Ok(TsaClient {
            url: url.to_string(),
            trust: trust_store(trust, &[], &[], StaleCrls::TryLater)?,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Failure::input(format!("cannot start the async runtime: {e}")))?,
        })
    }

    /// A signature timestamp.
    fn stamp(
        &mut self,
        imprint: &congvan_tsa::Imprint,
    ) -> Result<Vec<u8>, congvan_envelope::Error> {
        self.token(imprint, "no signature was written")
    }

    /// An archive timestamp.
    fn stamp_archive(
        &mut self,
        imprint: &congvan_tsa::Imprint,
    ) -> Result<Vec<u8>, congvan_envelope::Error> {
        self.token(imprint, "the dispatch was not preserved")
    }

    fn token(
        &mut self,
        imprint: &congvan_tsa::Imprint,
        consequence: &str,
    ) -> Result<Vec<u8>, congvan_envelope::Error> {
        let (token, _) = self
            .runtime
            .block_on(congvan_tsa::request_token(&self.url, imprint, &self.trust))
            .map_err(|e| {
                congvan_envelope::Error::Refused(format!(
                    "{consequence}: the timestamp failed: {e}"
                ))
            })?;
        Ok(token)
    }
}

/// The trusted roots in the `--trust` files; at least one.
fn load_anchors(trust: &[PathBuf]) -> Result<Vec<Certificate>, Failure> {
    let mut anchors = Vec::new();
    for path in trust {
        anchors.extend(Certificate::load_all(path)?);
    }
    if anchors.is_empty() {
        return Err(Failure::input(
            "no trusted root certificate found in the --trust files",
        ));
    }
    Ok(anchors)
}

/// Builds a trust store from the `--trust`, `--chain` and `--crl` files.
///
/// A command speaks for the present, so the CRLs must be current now as
/// well as at the time a signature names (see
/// [`TrustStore::set_verification_time`]); `dispatch verify --at` sets
/// another time.
pub fn trust_store(
    trust: &[PathBuf],
    chain: &[PathBuf],
    crl: &[PathBuf],
    stale: StaleCrls,
) -> Result<TrustStore, Failure> {
    let anchors = load_anchors(trust)?;
    let mut store = TrustStore::new(anchors)?;
    for path in chain {
        store.add_intermediates(Certificate::load_all(path)?);
    }
    for path in crl {
        store.add_crls(Crl::load_all(path)?)?;
    }
    store.set_stale_crls(stale);
    store.set_verification_time(congvan_sign::VerificationTime::At(OffsetDateTime::now_utc()));
    Ok(store)
}

pub(crate) fn load_registry(path: Option<&Path>) -> Result<Registry, Failure> {
    let path =
        match path {
            Some(path) => path.to_path_buf(),
            None => match std::env::var_os("CONGVAN_REGISTRY") {
                Some(path) => PathBuf::from(path),
                None => return Err(Failure::input(
                    "name the organization registry with --registry FILE (or $CONGVAN_REGISTRY), \
                     so the dispatch carries the offices' names; the demo's is certs/registry.toml",
                )),
            },
        };
    Ok(Registry::load(&path)?)
}

fn organization(registry: &Registry, id: &OrgId) -> Result<Organization, Failure> {
    let office = registry.get(id).ok_or_else(|| {
        Failure::input(format!(
            "{id} is not in the organization registry; check the code or update the registry"
        ))
    })?;
    Ok(Organization {
        id: id.clone(),
        name: office.name.clone(),
    })
}

fn parse_date(flag: &'static str) -> impl Fn(&str) -> Result<Date, Failure> {
    move |text| {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        Date::parse(text, &format).map_err(|e| {
            Failure::input(format!(
                "{flag} {text:?} is not a date like 2026-01-05: {e}"
            ))
        })
    }
}

fn meta_failure(e: congvan_envelope::Error) -> Failure {
    Failure::input(as_flag_problem(&e))
}

/// A metadata problem as the person typing `dispatch new` knows it: by the
/// flag that sets the field (`--type`), not by the field's JSON name
/// (`doc_type`). Fields no flag sets (the id, the creation time) keep their
/// JSON name.
fn as_flag_problem(e: &congvan_envelope::Error) -> String {
    match e {
        congvan_envelope::Error::InvalidMetadata { field, problem } => match flag_of_field(field) {
            Some(flag) => format!("{flag}: {problem}"),
            None => e.to_string(),
        },
        other => other.to_string(),
    }
}

/// The `dispatch new` flag that sets a metadata field.
fn flag_of_field(field: &str) -> Option<&'static str> {
    // Indexed fields ("to[2].name") are set by the flag of their list.
    let base = field.split(['[', '.']).next().unwrap_or(field);
    Some(match field {
        "signer.full_name" => "--signer-name",
        "signer.position" => "--signer-position",
        "signer.authority_prefix" => "--signer-prefix",
        "signer.authority" => "--signer-authority",
        "signer.on_behalf_of" => "--signer-on-behalf-of",
        _ if field.starts_with("details.places") => "--place-line",
        "details.supersedes.id" => "--replaces/--updates",
        _ => match base {
            "doc_type" => "--type",
            "number" => "--number",
            "subject" => "--subject",
            "content" => "--body",
            "from" => "--from",
            "to" => "--to",
            "place" => "--place",
            "date" => "--date",
            "due" => "--due",
            "urgency" => "--urgency",
            "appointment" => "--appointment",
            "secrecy" => "--secrecy",
            "in_reply_to" => "--reply-to",
            "signer" => "--signer-cert",
            _ => return None,
        },
    })
}
