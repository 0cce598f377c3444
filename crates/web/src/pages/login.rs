//! Logging in and out.

use std::sync::Arc;

use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::Extension;
use maud::html;
use serde::Deserialize;

use super::{internal, layout, start_page};
use crate::app::WebApp;
use crate::session::{self, ClientAddr};
use crate::store::AuditEntry;

/// The login form's fields (named as the command line names them).
#[derive(Deserialize)]
pub struct LoginForm {
    login: String,
    password: String,
    #[serde(default)]
    totp: String,
    #[serde(default)]
    csrf: String,
}

/// `GET /login`.
pub async fn form(State(app): State<Arc<WebApp>>) -> Response {
    login_page(&app, StatusCode::OK, None, "")
}

fn login_page(app: &WebApp, status: StatusCode, problem: Option<&str>, login: &str) -> Response {
    let token = match crate::random::token() {
        Ok(t) => t,
        Err(e) => return internal(e),
    };
    let body = html! {
        h1 { "Đăng nhập" }
        form.card method="post" action="/login" {
            input type="hidden" name="csrf" value=(token);
            @if let Some(p) = problem { p.field-problem role="alert" { (p) } }
            label for="login" { "Tên đăng nhập" }
            input #login type="text" name="login" value=(login) autocomplete="username" required autofocus;
            label for="password" { "Mật khẩu" }
            input #password type="password" name="password" autocomplete="current-password" required;
            label for="totp" { "Mã xác thực (nếu tài khoản dùng mã OTP)" }
            input #totp type="text" name="totp" inputmode="numeric" autocomplete="one-time-code";
            button type="submit" { "Đăng nhập" }
        }
    };
    let cookie = session::set_cookie(app, &app.cookies.login, &token, Some(600));
    (
        status,
        [(header::SET_COOKIE, cookie)],
        layout(None, "Đăng nhập", body),
    )
        .into_response()
}

/// `POST /login`: password (Argon2id), then TOTP when the account has it;
/// throttled per account and per address; every attempt audited.
pub async fn submit(
    State(app): State<Arc<WebApp>>,
    addr: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let ip = ClientAddr::ip(addr.as_ref().map(|e| &e.0));
    let expected = session::cookie(&headers, &app.cookies.login).unwrap_or("");
    if !crate::csrf::matches(expected, Some(&form.csrf)) {
        return super::refusal(
            StatusCode::FORBIDDEN,
            None,
            "Yêu cầu không hợp lệ",
            "Trang đăng nhập đã hết hạn. Tải lại trang và đăng nhập lại.",
        );
    }
    let login = form.login.trim().to_string();
    // What the audit trail records of the login typed: a well-formed login,
    // or a marker (a password typed in the wrong box is never stored).
    let logged = if crate::account::check_login(&login).is_ok() {
        login.clone()
    } else {
        "(không hợp lệ)".to_string()
    };
    if !app.throttle.attempt(&login, ip) {
        return login_page(
            &app,
            StatusCode::TOO_MANY_REQUESTS,
            Some(
                "Đăng nhập sai quá nhiều lần. Chờ 15 phút rồi thử lại, hoặc báo quản trị hệ thống.",
            ),
            &login,
        );
    }
    let found = match app.store.user_by_login(&login) {
        Ok(f) => f,
        Err(e) => return internal(e),
    };
    let password = form.password;
    let stored = found
        .as_ref()
        .map(|(_, h)| h.clone())
        .unwrap_or_else(|| crate::password::dummy_hash().to_string());
    // Argon2 takes tens of milliseconds and 19 MiB: a few at a time, off
    // the async threads.
    let ok = match app
        .hashing(move || crate::password::verify_password(&password, &stored))
        .await
    {
        Ok(ok) => ok,
        Err(e) => return internal(e),
    };
    let refused = |office: &str, action: &str| {
        audit(&app, office, &logged, action, ip);
        login_page(
            &app,
            StatusCode::UNAUTHORIZED,
            Some("Tên đăng nhập, mật khẩu hoặc mã xác thực không đúng."),
            &login,
        )
    };
    let account = match found {
        Some((account, _)) if ok && !account.disabled => account,
        Some((account, _)) => return refused(&account.office, "login-failed"),
        None => return refused("", "login-failed"),
    };
    if let Some(secret) = &account.totp {
        let now = u64::try_from(crate::store::now()).unwrap_or(0);
        let fresh = crate::totp::check(secret, &form.totp, now)
            .is_some_and(|step| app.totp_step_unused(account.id, step));
        if !fresh {
            return refused(&account.office, "login-failed-totp");
        }
    }
    app.throttle.succeeded(&login, ip);
    let (token, csrf) = match (crate::random::token(), crate::random::token()) {
        (Ok(t), Ok(c)) => (t, c),
        (Err(e), _) | (_, Err(e)) => return internal(e),
    };
    if let Err(e) = app.store.create_session(&token, account.id, &csrf) {
        return internal(e);
    }
    audit(&app, &account.office, &login, "login", ip);
    let cookie = session::set_cookie(&app, &app.cookies.session, &token, None);
    let clear = session::set_cookie(&app, &app.cookies.login, "", Some(0));
    (
        AppendHeaders([(header::SET_COOKIE, cookie), (header::SET_COOKIE, clear)]),
        Redirect::to(start_page(account.role)),
    )
        .into_response()
}

/// The CSRF field of the logout form.
#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`.
pub async fn logout(
    State(app): State<Arc<WebApp>>,
    addr: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    let session = match session::current(&app, &headers) {
        Ok(s) => s,
        Err(e) => return internal(e),
    };
    if let (Some(s), Some(token)) = (&session, session::cookie(&headers, &app.cookies.session)) {
        if let Err(r) = super::check_csrf(s, Some(&form.csrf)) {
            return r;
        }
        if let Err(e) = app.store.end_session(token) {
            return internal(e);
        }
        let ip = ClientAddr::ip(addr.as_ref().map(|e| &e.0));
        audit(&app, &s.account.office, &s.account.login, "logout", ip);
    }
    let clear = session::set_cookie(&app, &app.cookies.session, "", Some(0));
    ([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response()
}

/// Appends to the audit trail; a failure to write it is logged, not hidden.
pub fn audit(app: &WebApp, office: &str, login: &str, action: &str, ip: std::net::IpAddr) {
    audit_target(app, office, login, action, "", ip);
}

/// Appends to the audit trail with what was acted on (a dispatch id).
pub fn audit_target(
    app: &WebApp,
    office: &str,
    login: &str,
    action: &str,
    target: &str,
    ip: std::net::IpAddr,
) {
    let entry = AuditEntry {
        time: crate::store::now(),
        office: office.to_string(),
        login: login.to_string(),
        action: action.to_string(),
        target: target.to_string(),
        address: ip.to_string(),
    };
    if let Err(e) = app.store.audit(&entry) {
        tracing::error!(error = %e, action, "could not write the audit trail");
    }
}
