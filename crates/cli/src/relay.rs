//! `congvan relay init | run | proof | check-proof`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use congvan_org::OrgId;
use congvan_relay::{init_config, InitRequest, RelayConfig, RelayState};

use crate::args::RelayCommand;
use crate::failure::Failure;
use crate::output::{say, say_err};
use congvan_text::{Block, Line};

/// Runs one `relay` subcommand.
pub fn run(cmd: RelayCommand) -> Result<ExitCode, Failure> {
    match cmd {
        RelayCommand::Init(args) => {
            let crate::args::InitArgs {
                org,
                listen,
                tls,
                trust,
                crl,
                parent,
                pull,
                child,
                data,
                registry,
                web,
                web_office,
            } = *args;
            let registry = match registry
                .or_else(|| std::env::var_os("CONGVAN_REGISTRY").map(PathBuf::from))
            {
                Some(r) => r,
                None => return Err(Failure::input(
                    "name the organization registry with --registry FILE (or $CONGVAN_REGISTRY)",
                )),
            };
            let mut child_urls = Vec::new();
            for spec in child {
                let (name, url) = spec
                    .split_once('=')
                    .ok_or_else(|| Failure::input(format!("--child {spec:?} must be NAME=URL")))?;
                child_urls.push((name.to_string(), url.to_string()));
            }
            let org = OrgId::parse(&org)?;
            let mut web_offices = Vec::new();
            for spec in web_office {
                let (office, folder) = spec.split_once('=').ok_or_else(|| {
                    Failure::input(format!("--web-office {spec:?} must be ORGID=FOLDER"))
                })?;
                web_offices.push((OrgId::parse(office)?, PathBuf::from(folder)));
            }
            if web.is_some() && web_offices.is_empty() {
                // The demo layout: <org>/relay beside <org>/office.
                let office = tls.with_file_name("office");
                web_offices.push((org.clone(), office));
            }
            let request = InitRequest {
                org,
                listen,
                tls,
                trust,
                crl,
                parent_url: parent,
                pull,
                data: data.clone(),
                registry,
                child_urls,
                web,
                web_offices,
            };
            let config = init_config(&request)?;
            // Refuse now what `relay run` would refuse later.
            config.check_files().map_err(|problem| {
                Failure::input(format!(
                    "the configuration would name a file that does not exist: {problem}"
                ))
            })?;
            std::fs::create_dir_all(&data)
                .map_err(|e| Failure::input(format!("{}: cannot create: {e}", data.display())))?;
            let path = data.join("relay.toml");
            if path.exists() {
                return Err(Failure::input(format!(
                    "{} already exists; edit it or remove it first",
                    path.display()
                )));
            }
            config.save(&path)?;
            say!(
                "{} written for relay {} ({})",
                path.display(),
                config.name,
                config.org
            );
            if let Some(parent) = &config.parent {
                say!(
                    "  parent: {} at {} ({:?})",
                    parent.name,
                    parent.url,
                    parent.mode
                );
            }
            for child in &config.children {
                say!("  child:  {} ({:?})", child.name, child.mode);
            }
            say!(
                "start it with: congvan relay run --config {}",
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        RelayCommand::Run { config } => {
            init_logging();
            if let Err(e) = congvan_relay::small_pages::use_small_pages() {
                tracing::warn!("transparent huge pages stay on, the relay uses more memory: {e}");
            }
            let config = RelayConfig::load(&config)?;
            let runtime = tokio::runtime::Runtime::new()
                .map_err(|e| Failure::input(format!("cannot start the async runtime: {e}")))?;
            runtime.block_on(run_relay(config))?;
            Ok(ExitCode::SUCCESS)
        }
        RelayCommand::Reload { config } => reload(&config),
        RelayCommand::Proof { id, config, out } => proof(&id, &config, out.as_deref()),
        RelayCommand::CheckProof { proof, trust, file } => {
            check_proof(&proof, &trust, file.as_deref())
        }
    }
}

/// `relay reload`: the running relay reads its CRL files again.
fn reload(config: &Path) -> Result<ExitCode, Failure> {
    let config = RelayConfig::load(config)?;
    let status = congvan_relay::trust_reload::request_reload(
        &config.data,
        std::time::Duration::from_secs(15),
    )?;
    if let Some(error) = &status.error {
        return Err(Failure::input(format!(
            "the CRL files do not load, so the lists in force stay: {error}"
        )));
    }
    if status.changed.is_empty() {
        say!(
            "CRLs read again: none is newer than the lists in force (generation {})",
            status.generation
        );
    } else {
        say!(
            "new CRLs in force (generation {}) for: {}",
            status.generation,
            Line(&status.changed.join("; "))
        );
    }
    if !status.refused.is_empty() {
        return Err(Failure::input(format!(
            "not taken (the lists in force for these stay): {}",
            status.refused.join("; ")
        )));
    }
    Ok(ExitCode::SUCCESS)
}

/// `relay proof`: the message log's proof about one dispatch.
fn proof(id: &str, config: &Path, out: Option<&Path>) -> Result<ExitCode, Failure> {
    let config = RelayConfig::load(config)?;
    let store = congvan_relay::store::Store::open_reader(&config.data)?;
    let proof = congvan_relay::message_log::prove(&store, &config.org.to_string(), id)?;
    let json = serde_json::to_string_pretty(&proof)
        .map_err(|e| Failure::input(format!("cannot encode the proof: {e}")))?;
    match out {
        Some(path) => {
            std::fs::write(path, format!("{json}\n"))
                .map_err(|e| Failure::input(format!("{}: cannot write: {e}", path.display())))?;
            say!(
                "{}: {} record(s) of dispatch {} proven{}",
                path.display(),
                proof.records.len(),
                Line(id),
                if proof.pending > 0 {
                    format!(
                        "; {} more not yet in a timestamped batch (the next batch covers them)",
                        proof.pending
                    )
                } else {
                    String::new()
                }
            );
        }
        None => crate::output::stdout(&format!("{json}\n"), false),
    }
    Ok(ExitCode::SUCCESS)
}

/// `relay check-proof`: every record of an exported proof.
fn check_proof(proof: &Path, trust: &[PathBuf], file: Option<&Path>) -> Result<ExitCode, Failure> {
    let text = std::fs::read(proof)
        .map_err(|e| Failure::input(format!("{}: cannot read: {e}", proof.display())))?;
    let parsed: congvan_relay::message_log::LogProof = serde_json::from_slice(&text)
        .map_err(|e| Failure::input(format!("{}: not a log proof: {e}", proof.display())))?;
    let store = crate::dispatch::trust_store(trust, &[], &[], congvan_sign::StaleCrls::TryLater)?;
    let checked = congvan_relay::message_log::check(&parsed, &store)
        .map_err(|e| Failure::refused(e.to_string()))?;
    if let Some(file) = file {
        let envelope = congvan_envelope::Envelope::open(file).map_err(Failure::from)?;
        let manifest = congvan_envelope::sha256_hex(envelope.manifest_bytes());
        if envelope.metadata().id != parsed.dispatch_id {
            return Err(Failure::refused(format!(
                "{} is dispatch {}, but the proof is about {}",
                file.display(),
                Line(&envelope.metadata().id),
                Line(&parsed.dispatch_id)
            )));
        }
        if !checked
            .iter()
            .any(|r| r.kind == "dispatch" && r.digest == manifest)
        {
            return Err(Failure::refused(format!(
                "no record of the proof names the manifest of {} (SHA-256 {manifest}): the relay \
                 logged another version, or only receipts",
                file.display()
            )));
        }
    }
    for record in &checked {
        say!(
            "{} {}: logged by relay {} in batch {} (of {} records), timestamped at {} by \"{}\"",
            record.kind,
            Line(&record.digest),
            Line(&record.statement.relay),
            record.statement.batch,
            record.statement.size,
            congvan_envelope::signing_time_text(record.gen_time),
            Line(&record.tsa)
        );
    }
    say!(
        "the proof holds: {} record(s) of dispatch {}",
        checked.len(),
        Line(&parsed.dispatch_id)
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs the relay, and its web workplace when relay.toml has `[web]`,
/// until SIGINT or SIGTERM.
async fn run_relay(config: RelayConfig) -> Result<(), Failure> {
    let relay = congvan_relay::start(config).await?;
    let web = match &relay.state.config.web {
        Some(_) => {
            let app = congvan_web::WebApp::open(relay.state.clone())?;
            let web = congvan_web::serve(app).await?;
            say!("web workplace at {}", web.url);
            Some(web)
        }
        None => None,
    };
    wait_for_stop().await?;
    tracing::info!("stopping");
    if let Some(web) = web {
        web.stop().await;
    }
    relay.stop().await;
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn wait_for_stop() -> Result<(), Failure> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Failure::input(format!("cannot install the signal handler: {e}")))?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Ok(())
}

/// Structured logs on stderr; `RUST_LOG` adjusts the level, and
/// `CONGVAN_LOG_JSON=1` switches to JSON lines. Colours only on a terminal
/// (and not with `NO_COLOR`): a log file or a pipe gets plain text.
pub fn init_logging() {
    init_logging_at("info");
}

/// [`init_logging`] with another level when `RUST_LOG` is unset.
pub fn init_logging_at(default_level: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let installed = if std::env::var_os("CONGVAN_LOG_JSON").is_some() {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    if installed.is_err() {
        say_err!("congvan: logging was already set up");
    }
}

/// `congvan stats`: the digest of an office, from the relay's store.
pub fn stats(
    config: &std::path::Path,
    office: &str,
    period: &str,
    date: Option<&str>,
    json: bool,
    send: bool,
) -> Result<ExitCode, Failure> {
    let period = match period {
        "day" => congvan_notify::Period::Day,
        "week" => congvan_notify::Period::Week,
        other => {
            return Err(Failure::input(format!(
                "--period {other:?}: use day or week"
            )))
        }
    };
    let office = OrgId::parse(office)?.to_string();
    let day = match date {
        Some(text) => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(text, &format).map_err(|e| {
                Failure::input(format!(
                    "--date {text:?} is not a date like 2026-01-05: {e}"
                ))
            })?
        }
        None => time::OffsetDateTime::now_utc()
            .to_offset(congvan_relay::notices::VIETNAM)
            .date(),
    };
    let config = RelayConfig::load(config)?;
    let registry = congvan_org::Registry::load(&config.registry)?;
    let name = registry
        .get(&OrgId::parse(&office)?)
        .map_or_else(|| office.clone(), |o| o.name.clone());
    // Reading the figures opens the store read-only: the relay is usually
    // running on it, and a second writer beside its own would contend for
    // the database it commits to.
    let mut digest = congvan_relay::store::Store::open_reader(&config.data)?
        .digest(&office, &name, period, day)?;
    digest.dashboard = congvan_relay::notices::dashboard_url(&config, &registry, &office);
    if json {
        crate::output::json(&digest)?;
    } else {
        let (subject, body) = digest.render();
        say!("{}\n\n{}", Line(&subject), Block(&body));
    }
    if send {
        if config.mail.is_none() {
            return Err(Failure::input(
                "the relay configuration has no [mail] section; nothing can be sent",
            ));
        }
        // Queuing the mail writes: only then is the store opened to write.
        let state = std::sync::Arc::new(RelayState::open(config)?);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::input(format!("cannot start the async runtime: {e}")))?;
        runtime.block_on(congvan_relay::notices::queue_digest(
            &state, &office, period, day,
        ))?;
        say_err!("queued for e-mail; the running relay sends it");
    }
    Ok(ExitCode::SUCCESS)
}
