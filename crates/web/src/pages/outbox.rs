//! Dispatches the office sent, each leading to its timeline.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use maud::html;

use super::inbox::urgency_tag;
use super::{internal, layout, require, PageResult};
use crate::account::Role;
use crate::app::WebApp;
use crate::labels;

/// Most dispatches listed.
const LIMIT: usize = 500;

/// `GET /outbox`.
pub async fn page(State(app): State<Arc<WebApp>>, headers: HeaderMap) -> PageResult {
    let session = require(&app, &headers, &[Role::Clerk, Role::Leader])?;
    let sent = app
        .relay
        .store
        .sent_by(&session.account.office, LIMIT)
        .map_err(|e| internal(e.into()))?;
    let body = html! {
        h1 { "Văn bản đi" }
        @if sent.is_empty() { p.notice { "Chưa gửi văn bản nào." } }
        @else {
            table {
                thead { tr { th { "Độ khẩn" } th { "Số, ký hiệu" } th { "Trích yếu" } th.wide { "Gửi lúc" } } }
                tbody { @for d in &sent {
                    tr class=[labels::is_fire(d.urgency).then_some("fire")] {
                        td { (urgency_tag(d.urgency)) }
                        td { a href={ "/dispatches/" (d.id) } { (d.number) } }
                        td { @if d.secret { span.tag.secret { "MẬT" } " Văn bản mật" } @else { (d.subject) } }
                        td.wide { (labels::time_ms(d.received_at)) }
                    }
                } }
            }
        }
    };
    Ok(layout(Some(&session), "Văn bản đi", body).into_response())
}
