//! The leaders' dashboard: exchange figures for today and the last seven
//! days (Vietnam time), for the leader's office alone or with every office
//! below it (a province sees its districts and communes, whose figures
//! came up the tree signed by their relays:
//! [`congvan_relay::subtree_figures`]).
//!
//! Each table is built once as a [`Table`] and drawn both as HTML and as
//! CSV, so the download holds exactly what the page shows. The chart is SVG
//! drawn here, no script.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use congvan_envelope::metadata::Urgency;
use congvan_org::{Level, OrgId};
use congvan_relay::figures::{Totals, STATUS_CODES};
use congvan_relay::subtree_figures::{Source, Span, Subtree};
use maud::{html, Markup, PreEscaped};

use super::{blocking, internal, layout, refusal, require, PageResult};
use crate::account::Role;
use crate::app::WebApp;

const VIEWERS: &[Role] = &[Role::Leader, Role::Admin];

/// The query of both routes.
#[derive(serde::Deserialize)]
pub struct DashboardQuery {
    /// `office`: the leader's office alone; otherwise its whole subtree.
    scope: Option<String>,
    /// `day` or `week` (CSV only).
    period: Option<String>,
    /// Which table (CSV only).
    table: Option<String>,
}

/// A table of the dashboard: one definition for the page and the CSV.
pub struct Table {
    /// Its name in `/dashboard.csv?table=`.
    pub name: &'static str,
    /// Its title on the page.
    pub title: &'static str,
    /// Column headings.
    pub headers: Vec<&'static str>,
    /// Cells, as shown.
    pub rows: Vec<Vec<String>>,
}

/// `GET /dashboard`.
pub async fn page(
    State(app): State<Arc<WebApp>>,
    headers: HeaderMap,
    Query(query): Query<DashboardQuery>,
) -> PageResult {
    let session = require(&app, &headers, VIEWERS)?;
    let whole = query.scope.as_deref() != Some("office");
    let scope = if whole { "subtree" } else { "office" };
    let view = gather(&app, &session.account.office, whole).await?;
    let today = view.today.to_string();
    let week_start = (view.today - time::Duration::days(6)).to_string();
    let periods = [
        (
            "Hôm nay",
            "day",
            Span {
                from: &today,
                to: &today,
            },
        ),
        (
            "7 ngày qua",
            "week",
            Span {
                from: &week_start,
                to: &today,
            },
        ),
    ];
    let name = view.offices.first().map_or("", |o| o.name.as_str());
    let body = html! {
        h1 { "Tổng hợp trao đổi văn bản — " (name) }
        p.scope {
            @if whole {
                strong { "Toàn địa bàn (" (view.offices.len()) " đơn vị)" } " · "
                a href="/dashboard?scope=office" { "Riêng đơn vị" }
            } @else {
                a href="/dashboard" { "Toàn địa bàn" } " · " strong { "Riêng đơn vị" }
            }
        }
        section.card {
            h2 { "Văn bản đi và đến theo độ khẩn, 7 ngày qua" }
            (chart(&view.totals(periods[1].2, None)))
        }
        @for (title, period, span) in periods {
            section.card {
                h2 { (title) " (" (span.from) " — " (span.to) ")" }
                @for table in tables(&view, span) {
                    (html_table(&table, scope, period))
                }
            }
        }
        section.card { (html_table(&sources(&view), scope, "week")) }
    };
    Ok(layout(Some(&session), "Tổng hợp", body).into_response())
}

/// `GET /dashboard.csv?scope=&period=day|week&table=NAME`: one table of
/// the page, as CSV.
pub async fn csv(
    State(app): State<Arc<WebApp>>,
    headers: HeaderMap,
    Query(query): Query<DashboardQuery>,
) -> PageResult {
    let session = require(&app, &headers, VIEWERS)?;
    let whole = query.scope.as_deref() != Some("office");
    let view = gather(&app, &session.account.office, whole).await?;
    let today = view.today.to_string();
    let from =
        match query.period.as_deref() {
            Some("day") => today.clone(),
            Some("week") | None => (view.today - time::Duration::days(6)).to_string(),
            Some(_) => return Err(refusal(
                StatusCode::NOT_FOUND,
                Some(&session),
                "Không có kỳ này",
                "Chọn “Hôm nay” (period=day) hoặc “7 ngày qua” (period=week) từ trang Tổng hợp.",
            )),
        };
    let span = Span {
        from: &from,
        to: &today,
    };
    let wanted = query.table.as_deref().unwrap_or("urgency");
    let table = tables(&view, span)
        .into_iter()
        .chain(std::iter::once(sources(&view)))
        .find(|t| t.name == wanted);
    let Some(table) = table else {
        return Err(refusal(
            StatusCode::NOT_FOUND,
            Some(&session),
            "Không có bảng này",
            "Chọn bảng từ trang Tổng hợp.",
        ));
    };
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"tong-hop-{}.csv\"", table.name),
            ),
        ],
        to_csv(&table),
    )
        .into_response())
}

/// The figures of the leader's office (and, when `whole`, its subtree),
/// read on a blocking thread: the store's queries and the reports below.
async fn gather(
    app: &Arc<WebApp>,
    office: &str,
    whole: bool,
) -> Result<Subtree, axum::response::Response> {
    let root = OrgId::parse(office)
        .map_err(|_| internal(crate::Error::UnknownOffice(office.to_string())))?;
    let relay = app.relay.clone();
    blocking(move || Subtree::gather(&relay, &root, whole, time::OffsetDateTime::now_utc()))
        .await?
        .map_err(|e| internal(e.into()))
}

/// The tables of one period.
pub fn tables(view: &Subtree, span: Span<'_>) -> Vec<Table> {
    let all = view.totals(span, None);
    let mut urgency: Vec<Vec<String>> = (0..5)
        .map(|u| {
            vec![
                urgency_name(u as u8).to_string(),
                all.sent[u].to_string(),
                all.received[u].to_string(),
            ]
        })
        .collect();
    urgency.push(vec![
        "Tổng".into(),
        all.sent_total().to_string(),
        all.received_total().to_string(),
    ]);
    let status = STATUS_CODES
        .iter()
        .enumerate()
        .map(|(i, code)| {
            vec![
                code.to_string(),
                all.acknowledged[i].to_string(),
                percent(all.acknowledged_share(i)),
            ]
        })
        .collect();
    let processing = vec![
        vec!["Hoàn thành đúng hạn".into(), all.on_time.to_string()],
        vec!["Hoàn thành trễ hạn".into(), all.late.to_string()],
        vec!["Quá hạn chưa hoàn thành".into(), all.overdue.to_string()],
        vec!["Chưa đến hạn".into(), all.pending.to_string()],
        vec![
            "Thời gian chuyển trung vị (giây)".into(),
            seconds(all.median_delivery_ms),
        ],
        vec![
            "Thời gian hoàn thành trung vị (giây)".into(),
            seconds(all.median_completion_ms),
        ],
    ];
    let levels = view
        .levels()
        .into_iter()
        .map(|level| level_row(view, span, level))
        .collect();
    let overdue = view
        .overdue(span)
        .into_iter()
        .map(|o| {
            vec![
                o.office.clone(),
                o.received.clone(),
                o.due.clone(),
                o.id.clone(),
            ]
        })
        .collect();
    vec![
        Table {
            name: "urgency",
            title: "Văn bản đi và đến theo độ khẩn",
            headers: vec!["Độ khẩn", "Văn bản đi", "Văn bản đến"],
            rows: urgency,
        },
        Table {
            name: "status",
            title: "Văn bản đến đã báo trạng thái, theo mã",
            headers: vec!["Mã", "Số văn bản", "Tỷ lệ"],
            rows: status,
        },
        Table {
            name: "processing",
            title: "Xử lý văn bản đến có hạn",
            headers: vec!["Chỉ tiêu", "Giá trị"],
            rows: processing,
        },
        Table {
            name: "levels",
            title: "Theo cấp",
            headers: vec![
                "Cấp",
                "Số đơn vị",
                "Có số liệu",
                "Trao đổi điện tử",
                "Tỷ lệ trao đổi điện tử",
                "Văn bản đi (không mật)",
                "Có chữ ký số và con dấu",
                "Tỷ lệ ký số và đóng dấu",
            ],
            rows: levels,
        },
        Table {
            name: "overdue",
            title: "Văn bản đến quá hạn chưa hoàn thành",
            headers: vec!["Đơn vị", "Ngày nhận", "Hạn", "Văn bản"],
            rows: overdue,
        },
    ]
}

fn level_row(view: &Subtree, span: Span<'_>, level: Level) -> Vec<String> {
    let t: Totals = view.totals(span, Some(level));
    vec![
        level_name(level).to_string(),
        view.office_count(Some(level)).to_string(),
        t.offices.to_string(),
        t.exchanging.to_string(),
        percent(t.exchanging_share()),
        t.sent_in_clear.to_string(),
        t.signed_and_sealed.to_string(),
        percent(t.signed_and_sealed_share()),
    ]
}

/// Where each office's figures come from, and how fresh they are.
fn sources(view: &Subtree) -> Table {
    let rows = view
        .offices
        .iter()
        .map(|o| {
            let (from, at) = match &o.source {
                Source::Local => ("máy chủ này".to_string(), "hiện tại".to_string()),
                Source::Report {
                    relay,
                    generated_at,
                } => (relay.clone(), vietnam_time(*generated_at)),
                Source::Missing { relay } => (
                    relay.clone().unwrap_or_else(|| "—".into()),
                    "chưa có số liệu".into(),
                ),
            };
            vec![
                o.code.to_string(),
                o.name.clone(),
                level_name(o.level).into(),
                from,
                at,
            ]
        })
        .collect();
    Table {
        name: "sources",
        title: "Nguồn số liệu",
        headers: vec!["Mã", "Đơn vị", "Cấp", "Máy chủ báo cáo", "Cập nhật lúc"],
        rows,
    }
}

fn html_table(table: &Table, scope: &str, period: &str) -> Markup {
    html! {
        h3 { (table.title) }
        table data-table=(table.name) {
            thead { tr { @for h in &table.headers { th { (h) } } } }
            tbody { @for row in &table.rows { tr { @for cell in row { td { (cell) } } } } }
        }
        p.help {
            a href={ "/dashboard.csv?scope=" (scope) "&period=" (period) "&table=" (table.name) } { "Tải bảng (CSV)" }
        }
    }
}

fn urgency_name(code: u8) -> &'static str {
    Urgency::from_code(code).map_or("?", |u| u.name())
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::National => "Trung ương",
        Level::Province => "Tỉnh",
        Level::District => "Huyện",
        Level::Commune => "Xã",
    }
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

fn seconds(ms: Option<f64>) -> String {
    ms.map_or("—".to_string(), |ms| format!("{:.1}", ms / 1000.0))
}

fn vietnam_time(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.to_offset(congvan_relay::notices::VIETNAM)
                .format(&format)
                .ok()
        })
        .unwrap_or_else(|| "?".into())
}

/// Sent and received by urgency as grouped bars: SVG, drawn on the server.
fn chart(t: &Totals) -> Markup {
    let max = t
        .sent
        .iter()
        .chain(&t.received)
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let (width, height, base) = (560.0, 220.0, 180.0);
    let group = width / 5.0;
    let bar = group / 3.0;
    let mut svg = String::new();
    // Only numbers and the fixed urgency names go in: nothing from a
    // dispatch or a person, so nothing to escape.
    svg.push_str(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" role=\"img\" \
         aria-label=\"Văn bản đi và đến theo độ khẩn\" width=\"100%\">"
    ));
    for u in 0..5 {
        let x = u as f64 * group + bar / 2.0;
        for (j, (value, color)) in [(t.sent[u], "#8b1a1a"), (t.received[u], "#2d5f8b")]
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
            urgency_name(u as u8)
        ));
    }
    svg.push_str("</svg>");
    html! {
        (PreEscaped(svg))
        p.help { span.sent { "■" } " đi  " span.received { "■" } " đến" }
    }
}

/// A table as CSV (RFC 4180): fields with a comma, quote or line break are
/// quoted; a text field that a spreadsheet would run as a formula
/// (`=`, `+`, `-`, `@`, tab, carriage return, after any spaces) starts
/// with an apostrophe.
pub fn to_csv(table: &Table) -> String {
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let fields: Vec<String> = cells.map(csv_field).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    };
    line(&mut table.headers.iter().copied());
    for row in &table.rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

fn csv_field(cell: &str) -> String {
    // Spreadsheets skip leading blanks before a formula, and take a tab or
    // carriage return as its start too (OWASP "CSV injection").
    let first = cell.trim_start_matches(' ');
    let formula =
        first.starts_with(['=', '+', '-', '@', '\t', '\r']) && cell.parse::<f64>().is_err();
    let cell = if formula {
        format!("'{cell}")
    } else {
        cell.to_string()
    };
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let table = Table {
            name: "t",
            title: "t",
            headers: vec!["a", "b"],
            rows: vec![
                vec!["x,y".into(), "=HYPERLINK(\"z\")".into()],
                vec!["-3".into(), "@SUM".into()],
                vec!["  =1+1".into(), "\tcmd".into()],
            ],
        };
        assert_eq!(
            to_csv(&table),
            "a,b\r\n\"x,y\",\"'=HYPERLINK(\"\"z\"\")\"\r\n-3,'@SUM\r\n'  =1+1,'\tcmd\r\n"
        );
    }
}
