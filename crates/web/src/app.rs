//! The workplace's shared state and its routes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use congvan_relay::config::WebSettings;
use congvan_relay::RelayState;
use congvan_sign::Credential;

use crate::store::WebStore;
use crate::throttle::Throttle;
use crate::{pages, Error};

/// The largest ordinary form (login, statuses, signing, comments).
pub const FORM_LIMIT: usize = 64 * 1024;

/// Everything the pages share.
pub struct WebApp {
    /// The relay this workplace stands on.
    pub relay: Arc<RelayState>,
    /// Accounts, sessions, drafts, audit.
    pub store: WebStore,
    /// Each served office's credential: its seal and its statuses' key.
    offices: HashMap<String, Credential>,
    /// Each served office's encryption credential folder (`encryption/`
    /// beside its office credential), from which a secret dispatch is
    /// decrypted inside a session of that office only.
    encryption: HashMap<String, std::path::PathBuf>,
    /// `[web]` from relay.toml.
    pub settings: WebSettings,
    /// Failed logins, per account and per address.
    pub throttle: Throttle,
    /// Lookups of the public verification page, per address.
    pub lookups: crate::throttle::RateLimit,
    /// Where the public verification page is reached, once the listener
    /// knows (see `serve.rs`): the base of the QR codes of printed copies.
    verify_base: std::sync::OnceLock<String>,
    /// The public page's recent answers and running verifications.
    pub(crate) public: pages::public::Lookups,
    /// This workplace's cookie names.
    pub cookies: crate::session::CookieNames,
    /// Argon2 and scrypt run a few at a time: each takes tens of MiB.
    hashing: tokio::sync::Semaphore,
    /// The last TOTP step each account logged in with (no replay).
    totp_steps: std::sync::Mutex<HashMap<i64, u64>>,
}

/// Password and PIN checks running at once.
const HASHING_AT_ONCE: usize = 2;

impl WebApp {
    /// Opens the workplace over a running relay's state: its store in
    /// `DATA/web`, the office credentials `[web]` names.
    pub fn open(relay: Arc<RelayState>) -> Result<Arc<WebApp>, Error> {
        let settings = relay
            .config
            .web
            .clone()
            .ok_or_else(|| Error::Listen("relay.toml has no [web] section".into()))?;
        let store = WebStore::open(&relay.config.data.join("web"))?;
        let mut offices = HashMap::new();
        let mut encryption = HashMap::new();
        for office in &settings.offices {
            if let Some(parent) = office.credential.parent() {
                encryption.insert(office.org.to_string(), parent.join("encryption"));
            }
            let credential = Credential::load(&office.credential, None)?;
            if credential.cert().org() != Some(&office.org)
                || credential.cert().role() != Some(congvan_sign::Role::Office)
            {
                return Err(Error::Account(format!(
                    "[[web.office]] {}: {} is not that office's office certificate",
                    office.org,
                    office.credential.display()
                )));
            }
            if !relay.router.serves(&office.org) {
                return Err(Error::Account(format!(
                    "[[web.office]] {}: relay {} does not serve that office",
                    office.org, relay.config.name
                )));
            }
            offices.insert(office.org.to_string(), credential);
        }
        let lookups = crate::throttle::RateLimit::new(settings.lookups_per_minute);
        Ok(Arc::new(WebApp {
            store,
            offices,
            encryption,
            settings,
            throttle: Throttle::default(),
            lookups,
            verify_base: std::sync::OnceLock::new(),
            public: pages::public::Lookups::default(),
            cookies: crate::session::CookieNames::for_relay(&relay.config.name),
            hashing: tokio::sync::Semaphore::new(HASHING_AT_ONCE),
            totp_steps: std::sync::Mutex::new(HashMap::new()),
            relay,
        }))
    }

    /// The base address of this workplace's public verification page, if
    /// people can reach it (`[web] public_url`, or a loopback listener).
    pub fn verify_base(&self) -> Option<&str> {
        self.verify_base.get().map(String::as_str)
    }

    pub(crate) fn set_verify_base(&self, url: &str) {
        // Set once, by the one listener; a second `serve` keeps the first.
        if self.verify_base.set(url.to_string()).is_err() {
            tracing::debug!("the verification page's address was already set");
        }
    }

    /// The decryption key of a served office, for its own sessions only.
    pub fn decryption_key(&self, office: &str) -> Result<congvan_secret::DecryptionKey, Error> {
        let dir = self
            .encryption
            .get(office)
            .ok_or_else(|| Error::UnknownOffice(office.to_string()))?;
        congvan_secret::DecryptionKey::load(dir, None)
            .map_err(|e| Error::Account(format!("the office's encryption key: {e}")))
    }

    /// The office credential of a served office.
    pub fn office_credential(&self, office: &str) -> Result<&Credential, Error> {
        self.offices
            .get(office)
            .ok_or_else(|| Error::UnknownOffice(office.to_string()))
    }

    /// Runs a password or PIN check (Argon2, scrypt) on a blocking thread,
    /// at most [`HASHING_AT_ONCE`] at a time, so that many at once cannot
    /// exhaust memory or the async threads.
    pub async fn hashing<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(|e| Error::Task(e.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| Error::Task(e.to_string()))
    }

    /// Records TOTP step `step` as used by `user`; false when it (or a later
    /// one) was used already: a code seen once cannot log in again.
    pub fn totp_step_unused(&self, user: i64, step: u64) -> bool {
        let Ok(mut steps) = self.totp_steps.lock() else {
            return false;
        };
        match steps.get(&user) {
            Some(&last) if last >= step => false,
            _ => {
                steps.insert(user, step);
                true
            }
        }
    }

    /// The routes, with the security headers on every response.
    pub fn router(self: &Arc<WebApp>) -> Router {
        let upload_limit = usize::try_from(self.relay.config.limits.max_dispatch_bytes)
            .unwrap_or(usize::MAX)
            .saturating_add(1 << 20);
        Router::new()
            .route("/", get(pages::home))
            .route("/login", get(pages::login::form).post(pages::login::submit))
            .route("/logout", post(pages::login::logout))
            .route("/inbox", get(pages::inbox::page))
            .route("/dispatches/{id}", get(pages::dispatch::page))
            .route("/dispatches/{id}/pdf", get(pages::dispatch::pdf))
            .route("/dispatches/{id}/file", get(pages::dispatch::file))
            .route("/dispatches/{id}/status", post(pages::dispatch::status))
            .route(
                "/compose",
                get(pages::compose::form)
                    .post(pages::compose::submit)
                    .layer(DefaultBodyLimit::max(upload_limit)),
            )
            .route("/drafts", get(pages::drafts::list))
            .route("/drafts/{id}", get(pages::drafts::review))
            .route("/drafts/{id}/pdf", get(pages::drafts::pdf))
            .route("/drafts/{id}/sign", post(pages::drafts::sign))
            .route("/drafts/{id}/return", post(pages::drafts::give_back))
            .route("/drafts/{id}/send", post(pages::drafts::seal_and_send))
            .route("/outbox", get(pages::outbox::page))
            .route(
                "/verify",
                get(pages::verify::form)
                    .post(pages::verify::submit)
                    .layer(DefaultBodyLimit::max(upload_limit)),
            )
            .route("/search", get(pages::search::page))
            // Public: what the QR code of a printed dispatch opens.
            .route("/v/{id}/{digest}", get(pages::public::page))
            .route("/audit", get(pages::audit::page))
            .route("/dashboard", get(pages::dashboard::page))
            .route("/dashboard.csv", get(pages::dashboard::csv))
            .route("/assets/style.css", get(pages::assets::style))
            .route("/assets/compose.js", get(pages::assets::compose_js))
            .fallback(pages::not_found)
            // Every other form is small: an unauthenticated POST to /login
            // cannot make the server buffer more than this.
            .layer(DefaultBodyLimit::max(FORM_LIMIT))
            .layer(axum::middleware::map_response(crate::headers::secure))
            .with_state(self.clone())
    }
}
