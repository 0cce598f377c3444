//! One dispatch: what it says, whether it is authentic, its PDF, its
//! attachments, its timeline, and the clerk's actions on it.

use std::sync::Arc;

use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use congvan_envelope::{StatusCode as Status, VerificationReport};
use maud::{html, Markup};
use serde::Deserialize;

use super::inbox::{office_name, urgency_tag};
use super::login::audit_target;
use super::{check_csrf, internal, layout, not_found_page, refusal, require, PageResult};
use crate::account::Role;
use crate::app::WebApp;
use crate::desk::{self, Opened};
use crate::labels;
use crate::session::{ClientAddr, Session};

/// The roles that read dispatches.
const READERS: &[Role] = &[Role::Clerk, Role::Leader, Role::Auditor];

/// Opens and verifies a dispatch the session's office may see, on a
/// blocking thread (a large one takes a while to hash).
async fn opened(app: &Arc<WebApp>, session: &Session, id: &str) -> Result<Opened, Response> {
    let (app, office, id) = (app.clone(), session.account.office.clone(), id.to_string());
    match super::blocking(move || desk::open(&app, &office, &id)).await? {
        Ok(Some(o)) => Ok(o),
        Ok(None) => Err(not_found_page(Some(session))),
        Err(e) => Err(internal(e)),
    }
}

/// `GET /dispatches/{id}`.
pub async fn page(
    State(app): State<Arc<WebApp>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> PageResult {
    let session = require(&app, &headers, READERS)?;
    let opened = opened(&app, &session, &id).await?;
    let office = session.account.office.clone();
    let sent_by_us = opened.record.sender == office;
    let timeline = if sent_by_us {
        Some(sender_timeline(&app, &id, &office).map_err(internal)?)
    } else {
        None
    };
    let register_no = app.store.incoming_number(&office, &id).map_err(internal)?;
    let status = if sent_by_us {
        None
    } else {
        app.relay
            .store
            .inbox_status(&office, &id)
            .map_err(|e| internal(e.into()))?
            .flatten()
    };
    let next_register = app
        .store
        .peek_number(&office, current_year(), "in")
        .map_err(internal)?;
    let m = opened.envelope.metadata();
    let body = html! {
        h1 { (m.doc_type.name()) " số " (m.number) }
        (verdict(&opened.report))
        dl.meta {
            dt { "Độ khẩn" } dd { (urgency_tag(opened.record.urgency)) }
            @if let Some(s) = m.secrecy { dt { "Độ mật" } dd { span.tag.secret { (s.name()) } } }
            dt { "Nơi gửi" } dd { (m.from.name) " (" (m.from.id) ")" }
            dt { "Nơi nhận" } dd { @for (i, to) in m.to.iter().enumerate() { @if i > 0 { "; " } (to.name) " (" (to.id) ")" } }
            dt { "Ngày ban hành" } dd { (m.place) ", " (m.date.day()) "/" (u8::from(m.date.month())) "/" (m.date.year()) }
            @if let Some(due) = m.due { dt { "Hạn xử lý" } dd { (due.day()) "/" (u8::from(due.month())) "/" (due.year()) } }
            dt { "Trích yếu" } dd { (m.subject) }
            dt { "Người ký" } dd { (m.signer.position) " " (m.signer.full_name) }
            @if let Some(n) = register_no { dt { "Số đến" } dd { (n) } }
            @if let Some(s) = &status { dt { "Trạng thái" } dd { (labels::status(s)) } }
        }
        @if let Some(timeline) = &timeline { (timeline) }
        @else if session.is(Role::Clerk) { (actions(&session, &id, next_register, register_no.is_some())) }
        section.card {
            h2 { "Nội dung" }
            @for para in m.content.split('\n') { p { (para) } }
        }
        section.card {
            h2 { "Bản PDF" }
            object.pdf data={ "/dispatches/" (id) "/pdf" } type="application/pdf" aria-label="Bản PDF của văn bản" {
                p { a href={ "/dispatches/" (id) "/pdf" } { "Mở bản PDF" } }
            }
            p { a href={ "/dispatches/" (id) "/pdf" } { "Mở bản PDF" } " · " a href={ "/dispatches/" (id) "/file" } { "Tải tệp gốc (.cvd)" } }
        }
        @if !opened.report.attachments.is_empty() {
            section.card {
                h2 { "Tệp đính kèm" }
                ul { @for a in &opened.report.attachments {
                    li { (a.name) " (" (a.size) " byte) " @if a.ok { "— đúng" } @else { strong { "— bị sửa đổi" } } }
                } }
            }
        }
        (signatures(&opened.report))
    };
    Ok(layout(Some(&session), &format!("Văn bản {}", m.number), body).into_response())
}

/// The overall result, large, in plain Vietnamese.
pub fn verdict(report: &VerificationReport) -> Markup {
    let (class, text) = labels::verdict(report.indication);
    html! {
        div class={ "verdict " (class) } role="status" {
            (text)
            @if report.indication != congvan_envelope::Indication::Passed { br; span { (report.summary) } }
        }
    }
}

/// Who signed and sealed, when, and whether each signature holds.
pub fn signatures(report: &VerificationReport) -> Markup {
    html! {
        section.card {
            h2 { "Chữ ký số" }
            table {
                thead { tr { th { "Vai trò" } th { "Người ký / đơn vị" } th { "Thời điểm ký" } th { "Kết quả" } } }
                tbody { @for s in &report.signatures {
                    tr {
                        td { (match s.role.map(|r| r.name()) { Some("signer") => "Người ký", Some("seal") => "Con dấu", Some("countersign") => "Ký nháy", Some("copy") => "Sao y", _ => "?" }) }
                        td { (s.signer.as_deref().unwrap_or("?")) @if let Some(p) = &s.position { " — " (p) } }
                        td { (s.signing_time.as_deref().unwrap_or("")) }
                        td { (s.indication.name()) }
                    }
                } }
            }
            @if !report.receipts.is_empty() {
                h2 { "Biên nhận trên đường chuyển" }
                ul { @for r in &report.receipts { li { (r.time.as_deref().unwrap_or("")) " — " (r.description) @if !r.valid { strong { " (không hợp lệ)" } } } } }
            }
        }
    }
}

/// The sender's view: where the dispatch stands for each recipient, and
/// the custody receipts and statuses that came back.
fn sender_timeline(app: &WebApp, id: &str, office: &str) -> Result<Markup, crate::Error> {
    let sender =
        congvan_org::OrgId::parse(office).map_err(|e| crate::Error::Account(e.to_string()))?;
    let recipients = congvan_relay::progress::recipient_progress(&app.relay, id, &sender)?;
    let events = app.relay.store.events(id)?;
    Ok(html! {
        section.card {
            h2 { "Nơi nhận" }
            table {
                thead { tr { th { "Đơn vị" } th { "Tình trạng" } th.wide { "Chi tiết" } } }
                tbody { @for r in &recipients {
                    tr { td { (office_name(app, &r.office)) } td { (labels::recipient_state(&r.state)) } td.wide { (r.detail) } }
                } }
            }
            h2 { "Diễn biến" }
            ol.timeline { @for e in &events {
                li {
                    (labels::time_text(&e.time)) " — "
                    @if let Some(code) = &e.code { strong { (labels::status(code)) } }
                    @else { strong { (labels::event_kind(&e.kind)) } }
                    " — " (e.description)
                }
            } }
        }
    })
}

/// The clerk's actions on a received dispatch.
fn actions(session: &Session, id: &str, next_register: i64, registered: bool) -> Markup {
    let action = format!("/dispatches/{id}/status");
    html! {
        section.card {
            h2 { "Xử lý" }
            @if !registered {
                form method="post" action=(action) {
                    (super::csrf_field(session))
                    input type="hidden" name="status" value="03";
                    p { "Vào sổ văn bản đến với số đến " strong { (next_register) } "." }
                    button type="submit" name="action" value="register" { "Tiếp nhận, vào sổ (03)" }
                }
            }
            form method="post" action=(action) {
                (super::csrf_field(session))
                input type="hidden" name="status" value="04";
                label for="assignee" { "Giao cho (người hoặc bộ phận xử lý)" }
                input #assignee type="text" name="note" required maxlength="200";
                button type="submit" { "Phân công (04)" }
            }
            form method="post" action=(action) {
                (super::csrf_field(session))
                input type="hidden" name="status" value="05";
                button.secondary type="submit" { "Đang xử lý (05)" }
            }
            form method="post" action=(action) {
                (super::csrf_field(session))
                input type="hidden" name="status" value="06";
                button.secondary type="submit" { "Hoàn thành (06)" }
            }
            form method="post" action=(action) {
                (super::csrf_field(session))
                input type="hidden" name="status" value="02";
                label for="reason" { "Lý do từ chối" }
                input #reason type="text" name="note" required maxlength="500";
                button.secondary type="submit" { "Từ chối tiếp nhận (02)" }
            }
        }
    }
}

/// The status form.
#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf: String,
    status: String,
    #[serde(default)]
    note: String,
}

/// `POST /dispatches/{id}/status`: sign the status with the office's key
/// and send it back to the sender through the relay.
pub async fn status(
    State(app): State<Arc<WebApp>>,
    addr: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> PageResult {
    let session = require(&app, &headers, &[Role::Clerk])?;
    check_csrf(&session, Some(&form.csrf))?;
    let office = session.account.office.clone();
    let Some(record) = app
        .relay
        .store
        .visible_to(&office, &id)
        .map_err(|e| internal(e.into()))?
        .filter(|r| r.sender != office)
    else {
        return Err(not_found_page(Some(&session)));
    };
    let code = match form.status.as_str() {
        "02" => Status::Rejected,
        "03" => Status::Accepted,
        "04" => Status::Assigned,
        "05" => Status::Processing,
        "06" => Status::Completed,
        _ => {
            return Err(refusal(
                StatusCode::BAD_REQUEST,
                Some(&session),
                "Trạng thái không hợp lệ",
                "Chọn một trong các thao tác trên trang văn bản.",
            ))
        }
    };
    let note = form.note.trim().to_string();
    if matches!(code, Status::Rejected | Status::Assigned) && note.is_empty() {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            Some(&session),
            "Thiếu thông tin",
            "Ghi lý do từ chối, hoặc người được giao xử lý.",
        ));
    }
    let note = if code == Status::Accepted {
        let number = app
            .store
            .register_incoming(&office, &id, current_year())
            .map_err(internal)?;
        Some(format!("Đã vào sổ văn bản đến, số đến {number}"))
    } else if note.is_empty() {
        None
    } else {
        Some(note)
    };
    match desk::send_status(&app, &office, &record, code, note).await {
        Ok(Ok(())) => {
            let ip = ClientAddr::ip(addr.as_ref().map(|e| &e.0));
            audit_target(
                &app,
                &office,
                &session.account.login,
                &format!("status-{}", code.code()),
                &id,
                ip,
            );
            Ok(Redirect::to(&format!("/dispatches/{id}")).into_response())
        }
        Ok(Err(reason)) => Err(refusal(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(&session),
            "Không gửi được trạng thái",
            &reason,
        )),
        Err(e) => Err(internal(e)),
    }
}

/// `GET /dispatches/{id}/pdf`: the dispatch laid out as Decree 30 prints it.
pub async fn pdf(
    State(app): State<Arc<WebApp>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> PageResult {
    let session = require(&app, &headers, READERS)?;
    let opened = opened(&app, &session, &id).await?;
    // The QR code of the printed copy opens this workplace's public
    // verification page, when people can reach it.
    let base = app.verify_base().map(str::to_string);
    pdf_response(opened.envelope, Some(opened.report), base).await
}

/// A rendered dispatch as an inline PDF our own pages may embed (rendered
/// on a blocking thread).
pub async fn pdf_response(
    envelope: congvan_envelope::Envelope,
    report: Option<VerificationReport>,
    verify_base: Option<String>,
) -> PageResult {
    let bytes = super::blocking(move || {
        let mut view = congvan_render::dispatch_view(&envelope, report.as_ref());
        if let Some(base) = &verify_base {
            view.qr_payload = Some(congvan_render::verification_url(&envelope, base));
        }
        congvan_render::render_dispatch(&view)
    })
    .await?
    .map_err(|e| internal(e.into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf"),
            (
                header::CONTENT_DISPOSITION,
                "inline; filename=\"van-ban.pdf\"",
            ),
            (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /dispatches/{id}/file`: the signed `.cvd` itself.
pub async fn file(
    State(app): State<Arc<WebApp>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> PageResult {
    let session = require(&app, &headers, READERS)?;
    let Some(record) = app
        .relay
        .store
        .visible_to(&session.account.office, &id)
        .map_err(|e| internal(e.into()))?
    else {
        return Err(not_found_page(Some(&session)));
    };
    // Streamed from the store: a dispatch may be gigabytes.
    let body = match app
        .relay
        .store
        .blob(&record.blob)
        .map_err(|e| internal(e.into()))?
    {
        Some(Some(bytes)) => axum::body::Body::from(bytes),
        Some(None) => {
            let path = app.relay.store.blobs().path(&record.blob);
            let file = tokio::fs::File::open(&path)
                .await
                .map_err(|e| internal(crate::Error::io(&path, e)))?;
            axum::body::Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
                file,
                256 * 1024,
            ))
        }
        None => return Err(not_found_page(Some(&session))),
    };
    let disposition = format!("attachment; filename=\"{}.cvd\"", record.id);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.congvan.dispatch+zip".to_string(),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// This year in Vietnam: the registers restart each year.
pub fn current_year() -> i32 {
    let offset = time::UtcOffset::from_hms(7, 0, 0).unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::now_utc().to_offset(offset).year()
}
