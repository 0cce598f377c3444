//! The inbox: what reached the office, most urgent first.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use maud::{html, Markup};

use super::{internal, layout, require, PageResult};
use crate::account::Role;
use crate::app::WebApp;
use crate::labels;

/// Dispatches on one page of the inbox.
pub const PAGE_SIZE: usize = 50;

/// `?page=N` (from 1).
#[derive(serde::Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    page: Option<usize>,
}

/// `GET /inbox?page=N`.
pub async fn page(
    State(app): State<Arc<WebApp>>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> PageResult {
    let session = require(&app, &headers, &[Role::Clerk, Role::Leader])?;
    let office = &session.account.office;
    let total = app
        .relay
        .store
        .inbox_count(office)
        .map_err(|e| internal(e.into()))?;
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = query.page.unwrap_or(1).clamp(1, pages);
    let items = app
        .relay
        .store
        .inbox_page(office, (page - 1) * PAGE_SIZE, Some(PAGE_SIZE))
        .map_err(|e| internal(e.into()))?;
    let body = html! {
        h1 { "Văn bản đến" }
        @if total > 0 { p { (total) " văn bản · trang " (page) "/" (pages) } }
        @if items.is_empty() {
            p.notice { "Chưa có văn bản đến." }
        } @else {
            table {
                thead { tr {
                    th scope="col" { "Độ khẩn" }
                    th scope="col" { "Số, ký hiệu" }
                    th scope="col" { "Trích yếu" }
                    th scope="col" { "Nơi gửi" }
                    th.wide scope="col" { "Hạn xử lý" }
                    th.wide scope="col" { "Trạng thái" }
                } }
                tbody {
                    @for item in &items {
                        tr class=[labels::is_fire(item.urgency).then_some("fire")] {
                            td { (urgency_tag(item.urgency)) }
                            td { a href={ "/dispatches/" (item.id) } { (item.number) } }
                            td {
                                @match &item.subject {
                                    Some(subject) if !item.secret => { (subject) }
                                    _ => { span.tag.secret { "MẬT" } " Văn bản mật: mở để xem" }
                                }
                            }
                            td { (office_name(&app, &item.from)) }
                            td.wide { (item.due.as_deref().unwrap_or("")) }
                            td.wide {
                                (item.status.as_deref().map(labels::status).unwrap_or_else(|| "Mới đến".into()))
                                @if item.recall_requested && item.status.as_deref() != Some("16") {
                                    " " span.tag.fire { "Đề nghị thu hồi" }
                                }
                                @if let Some(later) = &item.superseded_by {
                                    " " a.tag href={ "/dispatches/" (later.id) } {
                                        @if later.kind == "updates" { "Đã được cập nhật" } @else { "Đã được thay thế" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if pages > 1 {
                nav.pages aria-label="Trang" {
                    @if page > 1 { a href={ "/inbox?page=" (page - 1) } { "← Trang trước" } " " }
                    @if page < pages { a href={ "/inbox?page=" (page + 1) } { "Trang sau →" } }
                }
            }
        }
    };
    Ok(layout(Some(&session), "Văn bản đến", body).into_response())
}

/// The urgency as a coloured tag (plain "Thường" shown as text).
pub fn urgency_tag(code: u8) -> Markup {
    let name = labels::urgency(code);
    html! {
        @if labels::is_fire(code) { span.tag.fire { (name) } }
        @else if code > 0 { span.tag.urgent { (name) } }
        @else { (name) }
    }
}

/// "Ủy ban nhân dân xã Cẩm Thạch (H99.01.01)", from the registry.
pub fn office_name(app: &WebApp, code: &str) -> String {
    let name = congvan_org::OrgId::parse(code)
        .ok()
        .and_then(|id| app.relay.registry().get(&id).map(|o| o.name.clone()));
    match name {
        Some(name) => format!("{name} ({code})"),
        None => code.to_string(),
    }
}
