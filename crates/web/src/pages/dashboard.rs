//! The leaders' dashboard: the office's exchange figures for today and the
//! last seven days (Vietnam time), as provinces report them, computed from
//! the relay's store by the same query as the e-mailed digest
//! ([`congvan_relay::store::Store::digest`]). The chart is SVG drawn here,
//! no script; each table downloads as CSV.
//!
//! Figures of the office's subtree (districts and communes served by other
//! relays) are not here yet: they need the figures to travel up the tree.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use congvan_envelope::metadata::Urgency;
use congvan_notify::{Digest, Period};
use maud::{html, Markup, PreEscaped};

use super::{internal, layout, require, PageResult};
use crate::account::Role;
use crate::app::WebApp;

const VIEWERS: &[Role] = &[Role::Leader, Role::Admin];

/// `GET /dashboard`.
pub async fn page(State(app): State<Arc<WebApp>>, headers: HeaderMap) -> PageResult {
    let session = require(&app, &headers, VIEWERS)?;
    let office = session.account.office.clone();
    let day = digest_of(&app, &office, Period::Day)?;
    let week = digest_of(&app, &office, Period::Week)?;
    let body = html! {
        h1 { "Tổng hợp trao đổi văn bản — " (week.office_name) }
        (section("Hôm nay", &day, "day"))
        (section("7 ngày qua", &week, "week"))
        section.card {
            h2 { "Văn bản theo độ khẩn, 7 ngày qua" }
            (chart(&week))
        }
    };
    Ok(layout(Some(&session), "Tổng hợp", body).into_response())
}

/// `GET /dashboard.csv?period=day|week`: the figures of the page, as CSV.
pub async fn csv(
    State(app): State<Arc<WebApp>>,
    headers: HeaderMap,
    Query(query): Query<CsvQuery>,
) -> PageResult {
    let session = require(&app, &headers, VIEWERS)?;
    let period = match query.period.as_deref() {
        Some("day") => Period::Day,
        _ => Period::Week,
    };
    let digest = digest_of(&app, &session.account.office, period)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"tong-hop.csv\"",
            ),
        ],
        to_csv(&digest),
    )
        .into_response())
}

/// The query of [`csv`].
#[derive(serde::Deserialize)]
pub struct CsvQuery {
    period: Option<String>,
}

fn digest_of(
    app: &WebApp,
    office: &str,
    period: Period,
) -> Result<Digest, axum::response::Response> {
    let today = time::OffsetDateTime::now_utc()
        .to_offset(congvan_relay::notices::VIETNAM)
        .date();
    let name = congvan_org::OrgId::parse(office)
        .ok()
        .and_then(|id| app.relay.router.registry().get(&id).map(|o| o.name.clone()))
        .unwrap_or_else(|| office.to_string());
    app.relay
        .store
        .digest(office, &name, period, today)
        .map_err(|e| internal(e.into()))
}

fn urgency_name(code: u8) -> &'static str {
    Urgency::from_code(code).map_or("?", |u| u.name())
}

fn section(title: &str, d: &Digest, period: &str) -> Markup {
    html! {
        section.card {
            h2 { (title) " (" (d.from) " — " (d.to) ")" }
            table {
                thead { tr { th { "Độ khẩn" } th { "Văn bản đi" } th { "Văn bản đến" } } }
                tbody {
                    @for row in &d.by_urgency {
                        tr { td { (urgency_name(row.urgency)) } td { (row.sent) } td { (row.received) } }
                    }
                    tr { th { "Tổng" } th { (d.sent) } th { (d.received) } }
                }
            }
            h3 { "Văn bản đến đã được xử lý, theo mã trạng thái" }
            table {
                thead { tr { th { "Mã" } th { "Tỷ lệ" } } }
                tbody { @for (code, share) in &d.acknowledged {
                    tr { td { (code) } td { (format!("{:.0}%", share * 100.0)) } }
                } }
            }
            p {
                "Thời gian chuyển trung vị: "
                (d.median_delivery_secs.map_or("—".to_string(), |s| format!("{s:.0} giây")))
            }
            @if !d.overdue.is_empty() {
                h3 { "Quá hạn chưa hoàn thành (" (d.overdue.len()) ")" }
                ul { @for id in &d.overdue { li { code { (id) } } } }
            }
            p { a href={ "/dashboard.csv?period=" (period) } { "Tải bảng (CSV)" } }
        }
    }
}

/// Sent and received by urgency as grouped bars: SVG, drawn on the server.
fn chart(d: &Digest) -> Markup {
    let max = d
        .by_urgency
        .iter()
        .map(|r| r.sent.max(r.received))
        .max()
        .unwrap_or(0)
        .max(1);
    let (width, height, base) = (560.0, 220.0, 180.0);
    let group = width / d.by_urgency.len().max(1) as f64;
    let bar = group / 3.0;
    let mut svg = String::new();
    // Only numbers and the fixed urgency names go in: nothing from a
    // dispatch or a person, so nothing to escape.
    svg.push_str(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" role=\"img\" \
         aria-label=\"Văn bản đi và đến theo độ khẩn\" width=\"100%\">"
    ));
    for (i, row) in d.by_urgency.iter().enumerate() {
        let x = i as f64 * group + bar / 2.0;
        for (j, (value, color)) in [(row.sent, "#8b1a1a"), (row.received, "#2d5f8b")]
            .into_iter()
            .enumerate()
        {
            let h = (value as f64 / max as f64) * (base - 20.0);
            svg.push_str(&format!(
                "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\"><title>{value}</title></rect>",
                x + j as f64 * bar,
                base - h,
                bar,
                h
            ));
        }
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\">{}</text>",
            x + bar,
            base + 16.0,
            urgency_name(row.urgency)
        ));
    }
    svg.push_str("</svg>");
    html! {
        (PreEscaped(svg))
        p.help { span.sent { "■" } " đi  " span.received { "■" } " đến" }
    }
}

/// The digest as CSV: one row per urgency, then one per status code.
fn to_csv(d: &Digest) -> String {
    let mut out = String::from("muc,gia_tri_di,gia_tri_den\n");
    for row in &d.by_urgency {
        out.push_str(&format!(
            "{},{},{}\n",
            urgency_name(row.urgency),
            row.sent,
            row.received
        ));
    }
    out.push_str(&format!("Tổng,{},{}\n", d.sent, d.received));
    for (code, share) in &d.acknowledged {
        out.push_str(&format!("trang_thai_{code},,{share:.4}\n"));
    }
    out
}
