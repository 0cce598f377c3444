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

/// Everything the pages share.
pub struct WebApp {
    /// The relay this workplace stands on.
    pub relay: Arc<RelayState>,
    /// Accounts, sessions, drafts, audit.
    pub store: WebStore,
    /// Each served office's credential: its seal and its statuses' key.
    offices: HashMap<String, Credential>,
    /// `[web]` from relay.toml.
    pub settings: WebSettings,
    /// Failed logins, per account and per address.
    pub throttle: Throttle,
}

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
        for office in &settings.offices {
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
        Ok(Arc::new(WebApp {
            relay,
            store,
            offices,
            settings,
            throttle: Throttle::default(),
        }))
    }

    /// The office credential of a served office.
    pub fn office_credential(&self, office: &str) -> Result<&Credential, Error> {
        self.offices
            .get(office)
            .ok_or_else(|| Error::UnknownOffice(office.to_string()))
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
                get(pages::compose::form).post(pages::compose::submit),
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
                get(pages::verify::form).post(pages::verify::submit),
            )
            .route("/search", get(pages::search::page))
            .route("/audit", get(pages::audit::page))
            .route("/assets/style.css", get(pages::assets::style))
            .route("/assets/compose.js", get(pages::assets::compose_js))
            .fallback(pages::not_found)
            .layer(DefaultBodyLimit::max(upload_limit))
            .layer(axum::middleware::map_response(crate::headers::secure))
            .with_state(self.clone())
    }
}
