//! The office's audit trail: logins and every signature, seal and status.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use maud::html;

use super::{internal, layout, require, PageResult};
use crate::account::Role;
use crate::app::WebApp;
use crate::labels;

/// `GET /audit`.
pub async fn page(State(app): State<Arc<WebApp>>, headers: HeaderMap) -> PageResult {
    let session = require(&app, &headers, &[Role::Admin, Role::Auditor])?;
    let entries = app
        .store
        .audit_trail(&session.account.office, 1000)
        .map_err(internal)?;
    let body = html! {
        h1 { "Nhật ký hoạt động" }
        table {
            thead { tr { th { "Thời điểm" } th { "Tài khoản" } th { "Việc" } th { "Văn bản" } th.wide { "Địa chỉ" } } }
            tbody { @for e in &entries {
                tr { td { (labels::time_secs(e.time)) } td { (e.login) } td { (e.action) } td { (e.target) } td.wide { (e.address) } }
            } }
        }
    };
    Ok(layout(Some(&session), "Nhật ký", body).into_response())
}
