//! Accounts of the people who work in the browser, and what each role may do.

use std::path::Path;

use congvan_org::OrgId;
use congvan_sign::{Certificate, Credential, Role as CertRole};

use crate::key_vault;
use crate::store::WebStore;
use crate::Error;

/// What a person does in the office.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Văn thư: receives, registers, composes, seals and sends.
    Clerk,
    /// Lãnh đạo: reviews and signs.
    Leader,
    /// Kiểm tra: verifies files and searches the office's dispatches.
    Auditor,
    /// Quản trị: reads the audit trail.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Clerk, Role::Leader, Role::Auditor, Role::Admin];

    /// The name on the command line and in the store.
    pub fn name(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Leader => "leader",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// The Vietnamese name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Role::Clerk => "Văn thư",
            Role::Leader => "Lãnh đạo",
            Role::Auditor => "Kiểm tra",
            Role::Admin => "Quản trị",
        }
    }

    /// The role with this name.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Clerks handle the office's correspondence.
    pub fn handles_mail(self) -> bool {
        self == Role::Clerk
    }

    /// Who may read the office's dispatches.
    pub fn reads_mail(self) -> bool {
        matches!(self, Role::Clerk | Role::Leader | Role::Auditor)
    }
}

/// A person's account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Store id (0 before it is stored).
    pub id: i64,
    /// The office (organization code) they work for.
    pub office: String,
    /// Their role.
    pub role: Role,
    /// Login name.
    pub login: String,
    /// Full name, shown on pages.
    pub name: String,
    /// TOTP secret (base32) when the second factor is on.
    pub totp: Option<String>,
    /// True when the account may no longer log in.
    pub disabled: bool,
}

/// What `congvan user add` asks for.
pub struct NewAccount<'a> {
    /// The office.
    pub office: &'a OrgId,
    /// The role.
    pub role: Role,
    /// Login name: letters, digits, `.`, `-`, `_`.
    pub login: &'a str,
    /// Full name.
    pub name: &'a str,
    /// The login password.
    pub password: &'a str,
    /// Turn on the second factor (a TOTP secret is made and returned).
    pub totp: bool,
    /// A leader's official credential folder, and the signing PIN to seal
    /// its key under.
    pub signing_key: Option<(&'a Path, &'a str)>,
}

/// Adds an account; returns it, with the TOTP secret when one was made.
pub fn add_account(store: &WebStore, new: &NewAccount<'_>) -> Result<Account, Error> {
    check_login(new.login)?;
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        return Err(Error::Account(
            "give the person's full name (1 to 120 characters) with --name".into(),
        ));
    }
    let sealed = match (new.role, new.signing_key) {
        (Role::Leader, Some((dir, pin))) => {
            let credential = Credential::load(dir, None)?;
            check_official(&credential, new.office, dir)?;
            Some(key_vault::seal(&credential, pin)?)
        }
        (Role::Leader, None) => {
            return Err(Error::Account(
                "a leader signs: give the official credential folder with --signing-key DIR \
                 and the signing PIN with --pin-file F"
                    .into(),
            ))
        }
        (_, Some(_)) => {
            return Err(Error::Account(
                "only a leader holds a signing key; drop --signing-key".into(),
            ))
        }
        (_, None) => None,
    };
    let hash = crate::password::hash_password(new.password)?;
    let mut account = Account {
        id: 0,
        office: new.office.to_string(),
        role: new.role,
        login: new.login.to_string(),
        name: name.to_string(),
        totp: if new.totp {
            Some(crate::totp::new_secret()?)
        } else {
            None
        },
        disabled: false,
    };
    account.id = store.add_user(&account, &hash)?;
    if let Some(sealed) = sealed {
        store.put_key(account.id, &sealed)?;
    }
    Ok(account)
}

/// A login is 1 to 64 letters, digits, `.`, `-` or `_`.
pub fn check_login(login: &str) -> Result<(), Error> {
    let ok = !login.is_empty()
        && login.len() <= 64
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(Error::Account(format!(
            "the login {login:?} must be 1 to 64 letters, digits, '.', '-' or '_'"
        )))
    }
}

/// A leader's key must be an official's of that office.
fn check_official(credential: &Credential, office: &OrgId, dir: &Path) -> Result<(), Error> {
    let cert: &Certificate = credential.cert();
    if cert.role() != Some(CertRole::Official) {
        return Err(Error::Account(format!(
            "{}: \"{}\" is not an official's certificate; a leader signs with the official/ folder",
            dir.display(),
            cert.display_name()
        )));
    }
    if cert.org() != Some(office) {
        return Err(Error::Account(format!(
            "{}: \"{}\" belongs to {}, not to {office}",
            dir.display(),
            cert.display_name(),
            cert.org()
                .map_or("no organization".into(), |o| o.to_string())
        )));
    }
    Ok(())
}

/// A new random password (16 characters, letters and digits), for an
/// account whose administrator gave none.
pub fn random_password() -> Result<String, Error> {
    let token = crate::random::token()?;
    Ok(token
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(16)
        .collect())
}

/// A new random six-digit signing PIN (for the demo's leaders).
pub fn random_pin() -> Result<String, Error> {
    let mut bytes = [0u8; 4];
    crate::random::fill(&mut bytes)?;
    Ok(format!("{:06}", u32::from_le_bytes(bytes) % 1_000_000))
}
