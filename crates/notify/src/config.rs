use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::Error;

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP, upgraded with STARTTLS (required).
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
    /// No encryption: only for a server on the same host or a test server.
    None,
}

/// The `[mail]` section of a relay's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// SMTP server host.
    pub host: String,
    /// SMTP server port.
    pub port: u16,
    /// Connection security.
    pub security: SmtpSecurity,
    /// Login name, when the server requires authentication.
    #[serde(default)]
    pub username: Option<String>,
    /// A file whose first line is the password (keep it mode 0600).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// An environment variable holding the password, instead of a file.
    #[serde(default)]
    pub password_env: Option<String>,
    /// The sender address, e.g. `"congvan H99 <congvan@h99.example>"`.
    pub from: String,
    /// The clerks' addresses of each office this relay serves, by organization id.
    #[serde(default)]
    pub offices: BTreeMap<String, Vec<String>>,
    /// Hour (Vietnam time, 0-23) at which daily digests are sent; weekly
    /// digests go out at the same hour on Mondays.
    #[serde(default = "default_digest_hour")]
    pub digest_hour: u8,
    /// Seconds between attempts to deliver queued mail while the server is down.
    #[serde(default = "default_retry_secs")]
    pub retry_secs: u64,
    /// Seconds between checks for overdue dispatches and due digests.
    #[serde(default = "default_check_secs")]
    pub check_secs: u64,
}

fn default_check_secs() -> u64 {
    60
}

fn default_digest_hour() -> u8 {
    7
}

fn default_retry_secs() -> u64 {
    30
}

impl MailConfig {
    /// The clerks of an office (empty when none are configured).
    pub fn addresses(&self, office: &str) -> &[String] {
        self.offices.get(office).map_or(&[], Vec::as_slice)
    }

    /// The SMTP password, from the file or the environment, if configured.
    pub fn password(&self) -> Result<Option<String>, Error> {
        if let Some(path) = &self.password_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::Config(format!("password_file {}: {e}", path.display())))?;
            return Ok(Some(text.lines().next().unwrap_or("").to_string()));
        }
        if let Some(var) = &self.password_env {
            let value = std::env::var(var).map_err(|_| {
                Error::Config(format!("password_env names {var}, which is not set"))
            })?;
            return Ok(Some(value));
        }
        Ok(None)
    }
}
