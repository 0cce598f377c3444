//! Sessions: an HttpOnly, SameSite=Strict cookie naming a random token
//! whose digest the store keeps, ended by logout, by the idle timeout, or
//! when the account is disabled or its password changed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::http::{header, HeaderMap};

use crate::account::{Account, Role};
use crate::app::WebApp;
use crate::Error;

/// The names of the workplace's two cookies. Browsers keep cookies per
/// host, not per port, so two relays' workplaces on one machine (the demo's
/// three on 127.0.0.1) would overwrite each other's session: each name
/// carries its relay's name.
#[derive(Clone, Debug)]
pub struct CookieNames {
    /// The session cookie.
    pub session: String,
    /// The login form's CSRF cookie (before there is a session).
    pub login: String,
}

impl CookieNames {
    /// The names for relay `relay`.
    pub fn for_relay(relay: &str) -> CookieNames {
        let tag: String = relay
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        CookieNames {
            session: format!("congvan_session_{tag}"),
            login: format!("congvan_login_{tag}"),
        }
    }
}

/// The address a request came from, put there by the listener.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

impl ClientAddr {
    /// The IP address, or 0.0.0.0 when the router is driven without a
    /// socket (the in-process benchmark).
    pub fn ip(addr: Option<&ClientAddr>) -> IpAddr {
        addr.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.0.ip())
    }
}

/// A logged-in person.
#[derive(Clone, Debug)]
pub struct Session {
    /// Their account.
    pub account: Account,
    /// The session's CSRF token, put in every form.
    pub csrf: String,
}

impl Session {
    /// True for a clerk.
    pub fn is(&self, role: Role) -> bool {
        self.account.role == role
    }
}

/// The value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The session of this request, if it is live: known, not idle too long,
/// its account enabled. An idle one is ended here.
pub fn current(app: &WebApp, headers: &HeaderMap) -> Result<Option<Session>, Error> {
    let Some(token) = cookie(headers, &app.cookies.session) else {
        return Ok(None);
    };
    let Some((user, csrf, last_seen)) = app.store.session(token)? else {
        return Ok(None);
    };
    let idle_secs = i64::try_from(app.settings.idle_minutes * 60).unwrap_or(i64::MAX);
    if crate::store::now() - last_seen > idle_secs {
        app.store.end_session(token)?;
        return Ok(None);
    }
    let Some(account) = app.store.user(user)? else {
        return Ok(None);
    };
    if account.disabled {
        app.store.end_session(token)?;
        return Ok(None);
    }
    app.store.touch_session(token)?;
    Ok(Some(Session { account, csrf }))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, `Secure` over HTTPS.
pub fn set_cookie(app: &WebApp, name: &str, value: &str, max_age: Option<u64>) -> String {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if app.settings.is_https() {
        cookie.push_str("; Secure");
    }
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    cookie
}
