//! The pages. Each file is one part of the workplace; this one holds the
//! frame every page shares and the answers for "log in first", "not
//! allowed", "not found" and "something failed".

pub mod assets;
pub mod audit;
pub mod compose;
pub mod dashboard;
pub mod dispatch;
pub mod drafts;
pub mod inbox;
pub mod login;
pub mod outbox;
pub mod public;
pub mod search;
pub mod verify;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{html, Markup, DOCTYPE};

use crate::account::Role;
use crate::app::WebApp;
use crate::session::{self, Session};
use crate::Error;

/// A page's answer: the page, or a redirect or refusal to show instead.
pub type PageResult = Result<Response, Response>;

/// The session of a person in one of `roles`; otherwise the login page
/// (no session) or a refusal (another role).
pub fn require(app: &WebApp, headers: &HeaderMap, roles: &[Role]) -> Result<Session, Response> {
    let session = session::current(app, headers).map_err(internal)?;
    let Some(session) = session else {
        return Err(Redirect::to("/login").into_response());
    };
    if !roles.contains(&session.account.role) {
        return Err(refusal(
            StatusCode::FORBIDDEN,
            Some(&session),
            "Không có quyền",
            "Tài khoản của bạn không dùng được chức năng này.",
        ));
    }
    Ok(session)
}

/// Refuses a POST whose CSRF token is missing or wrong (403).
pub fn check_csrf(session: &Session, posted: Option<&str>) -> Result<(), Response> {
    if crate::csrf::matches(&session.csrf, posted) {
        Ok(())
    } else {
        Err(refusal(
            StatusCode::FORBIDDEN,
            Some(session),
            "Yêu cầu không hợp lệ",
            "Biểu mẫu đã hết hạn hoặc không phải từ trang này. Tải lại trang và làm lại.",
        ))
    }
}

/// A failure of ours: logged (without any content), and a page that says
/// to try again.
pub fn internal(e: Error) -> Response {
    tracing::error!(error = %e, "web workplace request failed");
    refusal(
        StatusCode::INTERNAL_SERVER_ERROR,
        None,
        "Có lỗi",
        "Hệ thống gặp lỗi khi xử lý yêu cầu. Không có gì bị mất; thử lại sau ít phút, \
         hoặc báo quản trị hệ thống.",
    )
}

/// A page that says what was refused.
pub fn refusal(status: StatusCode, session: Option<&Session>, title: &str, text: &str) -> Response {
    let body = html! {
        h1 { (title) }
        p.notice { (text) }
        p { a href="/" { "Về trang chính" } }
    };
    (status, layout(session, title, body)).into_response()
}

/// Not found: also what another office's dispatch answers.
pub fn not_found_page(session: Option<&Session>) -> Response {
    refusal(
        StatusCode::NOT_FOUND,
        session,
        "Không tìm thấy",
        "Không có văn bản hoặc trang này trong đơn vị của bạn.",
    )
}

/// Unknown addresses.
pub async fn not_found(State(app): State<Arc<WebApp>>, headers: HeaderMap) -> Response {
    match session::current(&app, &headers) {
        Ok(session) => not_found_page(session.as_ref()),
        Err(e) => internal(e),
    }
}

/// `/`: the person's own start page.
pub async fn home(State(app): State<Arc<WebApp>>, headers: HeaderMap) -> Response {
    match session::current(&app, &headers) {
        Ok(Some(s)) => Redirect::to(start_page(s.account.role)).into_response(),
        Ok(None) => Redirect::to("/login").into_response(),
        Err(e) => internal(e),
    }
}

/// Where a role starts its day.
pub fn start_page(role: Role) -> &'static str {
    match role {
        Role::Clerk => "/inbox",
        Role::Leader => "/drafts",
        Role::Auditor => "/verify",
        Role::Admin => "/audit",
    }
}

/// The frame of every page: title, menu for the role, the content.
pub fn layout(session: Option<&Session>, title: &str, content: Markup) -> Html<String> {
    let page = html! {
        (DOCTYPE)
        html lang="vi" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · congvan" }
                link rel="stylesheet" href="/assets/style.css";
            }
            body {
                header.top {
                    a.brand href="/" { "congvan" }
                    @if let Some(s) = session {
                        nav aria-label="Chức năng" {
                            @for (href, label) in menu(s.account.role) {
                                a href=(href) { (label) }
                            }
                        }
                        form.logout method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            span.who { (s.account.name) " · " (s.account.role.label()) " · " (s.account.office) }
                            button type="submit" { "Đăng xuất" }
                        }
                    }
                }
                main { (content) }
            }
        }
    };
    Html(page.into_string())
}

fn menu(role: Role) -> &'static [(&'static str, &'static str)] {
    match role {
        Role::Clerk => &[
            ("/inbox", "Văn bản đến"),
            ("/compose", "Soạn văn bản"),
            ("/drafts", "Dự thảo"),
            ("/outbox", "Văn bản đi"),
        ],
        Role::Leader => &[
            ("/drafts", "Chờ ký"),
            ("/inbox", "Văn bản đến"),
            ("/outbox", "Văn bản đi"),
            ("/dashboard", "Tổng hợp"),
        ],
        Role::Auditor => &[("/verify", "Kiểm tra tệp"), ("/search", "Tra cứu")],
        Role::Admin => &[("/audit", "Nhật ký"), ("/dashboard", "Tổng hợp")],
    }
}

/// Runs file and CPU work (opening, hashing, verifying, signing,
/// rendering) on a blocking thread, so that a large dispatch does not hold
/// up the async threads the relay shares.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Response> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| internal(Error::Task(e.to_string())))
}

/// A hidden CSRF field for a form.
pub fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}
