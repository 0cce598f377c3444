//! `congvan user add | list | disable | passwd`: the web workplace's accounts.

use std::path::Path;
use std::process::ExitCode;

use congvan_org::OrgId;
use congvan_relay::RelayConfig;
use congvan_web::account::{add_account, NewAccount, Role};
use congvan_web::WebStore;

use crate::args::{UserAddArgs, UserCommand};
use crate::failure::Failure;
use crate::output::say;
use congvan_text::Line;

/// Runs one `user` subcommand.
pub fn run(cmd: UserCommand) -> Result<ExitCode, Failure> {
    match cmd {
        UserCommand::Add(args) => add(&args),
        UserCommand::List { config, json } => list(&config, json),
        UserCommand::Disable { config, login } => {
            let (store, _) = open(&config)?;
            store.disable_user(&login)?;
            say!("{} disabled; its sessions are ended", Line(&login));
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::Passwd {
            config,
            login,
            password_file,
        } => {
            let (store, _) = open(&config)?;
            let (password, made) = password(password_file.as_deref())?;
            let hash = congvan_web::password::hash_password(&password)?;
            store.set_password(&login, &hash)?;
            say!(
                "new password set for {}; its sessions are ended",
                Line(&login)
            );
            if made {
                say!("password: {password}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The workplace store of the relay `config` describes, and the offices
/// its `[web]` section serves.
fn open(config: &Path) -> Result<(WebStore, Vec<OrgId>), Failure> {
    let config = RelayConfig::load(config)?;
    let Some(web) = &config.web else {
        return Err(Failure::input(format!(
            "relay {} has no [web] section; add one (or run `congvan relay init --web ADDR`) first",
            config.name
        )));
    };
    let offices = web.offices.iter().map(|o| o.org.clone()).collect();
    Ok((WebStore::open(&config.data.join("web"))?, offices))
}

fn add(args: &UserAddArgs) -> Result<ExitCode, Failure> {
    let (store, offices) = open(&args.config)?;
    let office = OrgId::parse(&args.office)?;
    if !offices.contains(&office) {
        return Err(Failure::input(format!(
            "office {office} is not under [[web.office]] in {}; add it there with its office credential",
            args.config.display()
        )));
    }
    let role = Role::parse(&args.role).ok_or_else(|| {
        Failure::input(format!(
            "--role {:?}: use clerk, leader, auditor or admin",
            args.role
        ))
    })?;
    let (password, made) = password(args.password_file.as_deref())?;
    let pin = match &args.pin_file {
        Some(path) => Some(first_line(path, "PIN")?),
        None => None,
    };
    let signing_key = match (&args.signing_key, &pin) {
        (Some(dir), Some(pin)) => Some((dir.as_path(), pin.as_str())),
        (Some(_), None) => {
            return Err(Failure::input(
                "--signing-key needs --pin-file F: the key is sealed under that PIN",
            ))
        }
        (None, Some(_)) => return Err(Failure::input("--pin-file goes with --signing-key DIR")),
        (None, None) => None,
    };
    let account = add_account(
        &store,
        &NewAccount {
            office: &office,
            role,
            login: &args.login,
            name: &args.name,
            password: &password,
            totp: args.totp,
            signing_key,
        },
    )?;
    say!(
        "account {} added: {} ({}, {})",
        Line(&account.login),
        Line(&account.name),
        role.name(),
        office
    );
    if made {
        say!("password: {password}");
    }
    if let Some(secret) = &account.totp {
        say!("TOTP secret (enter it in the authenticator app; shown once): {secret}");
    }
    Ok(ExitCode::SUCCESS)
}

fn list(config: &Path, json: bool) -> Result<ExitCode, Failure> {
    let (store, _) = open(config)?;
    let users = store.users()?;
    if json {
        let rows: Vec<_> = users
            .iter()
            .map(|u| {
                serde_json::json!({
                    "login": u.login, "office": u.office, "role": u.role.name(),
                    "name": u.name, "totp": u.totp.is_some(), "disabled": u.disabled,
                })
            })
            .collect();
        crate::output::json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    for u in users {
        say!(
            "{:<20} {:<12} {:<8} {}{}{}",
            Line(&u.login),
            Line(&u.office),
            u.role.name(),
            Line(&u.name),
            if u.totp.is_some() { "  [TOTP]" } else { "" },
            if u.disabled { "  [disabled]" } else { "" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The password from a file, or a new random one (and whether it was made).
fn password(file: Option<&Path>) -> Result<(String, bool), Failure> {
    match file {
        Some(path) => Ok((first_line(path, "password")?, false)),
        None => Ok((congvan_web::account::random_password()?, true)),
    }
}

fn first_line(path: &Path, what: &str) -> Result<String, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::input(format!(
            "{}: cannot read the {what} file: {e}",
            path.display()
        ))
    })?;
    Ok(text.lines().next().unwrap_or("").to_string())
}
