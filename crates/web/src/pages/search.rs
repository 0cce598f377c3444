//! The auditor's search of the office's dispatches (received and sent) by
//! number, sender or date.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use maud::html;
use serde::Deserialize;

use super::inbox::office_name;
use super::{internal, layout, require, PageResult};
use crate::account::Role;
use crate::app::WebApp;
use crate::labels;

/// The query.
#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// `GET /search?q=`.
pub async fn page(
    State(app): State<Arc<WebApp>>,
    headers: HeaderMap,
    Query(query): Query<SearchQuery>,
) -> PageResult {
    let session = require(&app, &headers, &[Role::Auditor, Role::Clerk, Role::Leader])?;
    let office = &session.account.office;
    let q = query.q.trim().to_lowercase();
    let mut hits = Vec::new();
    if !q.is_empty() {
        for item in app
            .relay
            .store
            .inbox(office)
            .map_err(|e| internal(e.into()))?
        {
            let day = labels::time_ms(item.delivered_at);
            if item.number.to_lowercase().contains(&q)
                || item.from.to_lowercase().contains(&q)
                || day.contains(&q)
            {
                hits.push((item.id, item.number, item.from, day, "đến"));
            }
        }
        for d in app
            .relay
            .store
            .sent_by(office, 10_000)
            .map_err(|e| internal(e.into()))?
        {
            let day = labels::time_ms(d.received_at);
            if d.number.to_lowercase().contains(&q) || day.contains(&q) {
                hits.push((d.id, d.number, d.sender, day, "đi"));
            }
        }
    }
    let body = html! {
        h1 { "Tra cứu văn bản" }
        form.card method="get" action="/search" role="search" {
            label for="q" { "Số ký hiệu, mã đơn vị gửi hoặc ngày (dd/mm/yyyy)" }
            input #q type="search" name="q" value=(query.q);
            button type="submit" { "Tìm" }
        }
        @if !q.is_empty() {
            p { (hits.len()) " kết quả" }
            table {
                thead { tr { th { "Số, ký hiệu" } th { "Nơi gửi" } th { "Ngày" } th { "Loại" } } }
                tbody { @for (id, number, from, day, kind) in &hits {
                    tr { td { a href={ "/dispatches/" (id) } { (number) } } td { (office_name(&app, from)) } td { (day) } td { (kind) } }
                } }
            }
        }
    };
    Ok(layout(Some(&session), "Tra cứu", body).into_response())
}
