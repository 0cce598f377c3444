//! Drafts between the clerk and the leader: the leader's "Chờ ký" queue,
//! review with the PDF preview, signing with the PIN or returning with a
//! comment; then the clerk seals and sends.

use std::sync::Arc;

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::Extension;
use congvan_envelope::{sign_dispatch, Envelope, SignatureRole};
use maud::html;
use serde::Deserialize;
use time::OffsetDateTime;

use super::inbox::urgency_tag;
use super::login::audit_target;
use super::{check_csrf, internal, layout, not_found_page, refusal, require, PageResult};
use crate::account::Role;
use crate::app::WebApp;
use crate::desk::{self, WorkFile};
use crate::key_vault::{self, Unseal};
use crate::labels;
use crate::session::{ClientAddr, Session};
use crate::store::DraftRow;

fn draft_of(
    app: &WebApp,
    session: &Session,
    id: &str,
) -> Result<DraftRow, axum::response::Response> {
    match app.store.draft(&session.account.office, id) {
        Ok(Some(d)) => Ok(d),
        Ok(None) => Err(not_found_page(Some(session))),
        Err(e) => Err(internal(e)),
    }
}

/// `GET /drafts`: the leader's queue, or the clerk's drafts by state.
pub async fn list(State(app): State<Arc<WebApp>>, headers: HeaderMap) -> PageResult {
    let session = require(&app, &headers, &[Role::Clerk, Role::Leader])?;
    let office = &session.account.office;
    let states: &[&str] = if session.is(Role::Leader) {
        &["awaiting"]
    } else {
        &["signed", "returned", "awaiting"]
    };
    let mut rows = Vec::new();
    for state in states {
        let mut found = app.store.drafts(office, state).map_err(internal)?;
        if session.is(Role::Leader) {
            found.retain(|d| d.signer == session.account.id);
        }
        rows.extend(found);
    }
    let title = if session.is(Role::Leader) {
        "Chờ ký"
    } else {
        "Dự thảo"
    };
    let body = html! {
        h1 { (title) }
        @if rows.is_empty() { p.notice { "Không có văn bản nào." } }
        @else {
            table {
                thead { tr { th { "Độ khẩn" } th { "Số, ký hiệu" } th { "Trích yếu" } th { "Tình trạng" } th.wide { "Cập nhật" } } }
                tbody { @for d in &rows {
                    tr class=[labels::is_fire(d.urgency).then_some("fire")] {
                        td { (urgency_tag(d.urgency)) }
                        td { a href={ "/drafts/" (d.id) } { (d.number) } }
                        td { @if d.secret { span.tag.secret { "MẬT" } " Văn bản mật" } @else { (d.subject) } }
                        td { (labels::draft_state(&d.state)) }
                        td.wide { (labels::time_secs(d.updated_at)) }
                    }
                } }
            }
        }
    };
    Ok(layout(Some(&session), title, body).into_response())
}

/// `GET /drafts/{id}`: review.
pub async fn review(
    State(app): State<Arc<WebApp>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> PageResult {
    let session = require(&app, &headers, &[Role::Clerk, Role::Leader])?;
    let draft = draft_of(&app, &session, &id)?;
    let path = app.store.draft_path(&id);
    let envelope = Envelope::open(&path).map_err(|e| internal(e.into()))?;
    let m = envelope.metadata();
    let leader_signs =
        session.is(Role::Leader) && draft.state == "awaiting" && draft.signer == session.account.id;
    let clerk_sends = session.is(Role::Clerk) && draft.state == "signed";
    let body = html! {
        h1 { (m.doc_type.name()) " số " (m.number) }
        p.notice { "Tình trạng: " strong { (labels::draft_state(&draft.state)) } }
        @if !draft.comment.is_empty() { p.notice { "Ý kiến của lãnh đạo: " (draft.comment) } }
        dl.meta {
            dt { "Độ khẩn" } dd { (urgency_tag(draft.urgency)) }
            @if let Some(s) = m.secrecy { dt { "Độ mật" } dd { span.tag.secret { (s.name()) } } }
            dt { "Nơi nhận" } dd { @for (i, to) in m.to.iter().enumerate() { @if i > 0 { "; " } (to.name) } }
            dt { "Trích yếu" } dd { (m.subject) }
            dt { "Người ký" } dd { (m.signer.position) " " (m.signer.full_name) }
            dt { "Tệp đính kèm" } dd { @for a in envelope.attachments() { (a.name) " " } }
        }
        section.card {
            h2 { "Xem trước" }
            object.pdf data={ "/drafts/" (id) "/pdf" } type="application/pdf" aria-label="Bản xem trước" {
                p { a href={ "/drafts/" (id) "/pdf" } { "Mở bản xem trước (PDF)" } }
            }
            p { a href={ "/drafts/" (id) "/pdf" } { "Mở bản xem trước (PDF)" } }
        }
        @if leader_signs {
            form.card method="post" action={ "/drafts/" (id) "/sign" } {
                (super::csrf_field(&session))
                label for="pin" { "Mã PIN ký số" }
                input #pin type="password" name="pin" inputmode="numeric" autocomplete="off" required;
                button type="submit" { "Ký số" }
            }
            form.card method="post" action={ "/drafts/" (id) "/return" } {
                (super::csrf_field(&session))
                label for="comment" { "Ý kiến khi trả lại" }
                textarea #comment name="comment" required maxlength="2000" {}
                button.secondary type="submit" { "Trả lại văn thư" }
            }
        }
        @if clerk_sends {
            form.card method="post" action={ "/drafts/" (id) "/send" } {
                (super::csrf_field(&session))
                p { "Lãnh đạo đã ký. Đóng dấu số của đơn vị và gửi đi." }
                button type="submit" { "Đóng dấu và gửi" }
            }
        }
    };
    Ok(layout(Some(&session), "Dự thảo", body).into_response())
}

/// `GET /drafts/{id}/pdf`: the preview.
pub async fn pdf(
    State(app): State<Arc<WebApp>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> PageResult {
    let session = require(&app, &headers, &[Role::Clerk, Role::Leader])?;
    draft_of(&app, &session, &id)?;
    let path = app.store.draft_path(&id);
    let envelope = super::blocking(move || Envelope::open(&path))
        .await?
        .map_err(|e| internal(e.into()))?;
    super::dispatch::pdf_response(envelope, None, None).await
}

/// The signing form.
#[derive(Deserialize)]
pub struct SignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pin: String,
}

/// `POST /drafts/{id}/sign`: the leader's signature, with the PIN.
pub async fn sign(
    State(app): State<Arc<WebApp>>,
    addr: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<SignForm>,
) -> PageResult {
    let session = require(&app, &headers, &[Role::Leader])?;
    check_csrf(&session, Some(&form.csrf))?;
    let draft = draft_of(&app, &session, &id)?;
    if draft.signer != session.account.id || draft.state != "awaiting" {
        return Err(refusal(
            StatusCode::CONFLICT,
            Some(&session),
            "Không ký được",
            "Văn bản này không chờ chữ ký của bạn.",
        ));
    }
    let ip = ClientAddr::ip(addr.as_ref().map(|e| &e.0));
    let login = session.account.login.clone();
    let office = session.account.office.clone();
    let store = app.store.clone();
    let user = session.account.id;
    let pin = form.pin;
    // scrypt takes a moment and 32 MiB: a few at a time, off the async threads.
    let unsealed = app
        .hashing(move || key_vault::unseal(&store, user, &pin))
        .await
        .map_err(internal)?
        .map_err(internal)?;
    let credential = match unsealed {
        Ok(c) => c,
        Err(why) => {
            audit_target(&app, &office, &login, "sign-refused", &id, ip);
            let text = match why {
                Unseal::WrongPin { left } => format!("Mã PIN không đúng. Còn {left} lần thử trước khi khóa khóa ký."),
                Unseal::Locked => "Khóa ký đã bị khóa do nhập sai mã PIN nhiều lần. Liên hệ quản trị hệ thống để nạp lại khóa.".into(),
                Unseal::NoKey => "Tài khoản chưa có khóa ký trên hệ thống.".into(),
            };
            return Err(refusal(
                StatusCode::FORBIDDEN,
                Some(&session),
                "Chưa ký",
                &text,
            ));
        }
    };
    let path = app.store.draft_path(&id);
    let signed =
        super::blocking(move || sign_file(&path, &credential, SignatureRole::Signer)).await?;
    if let Err(problem) = signed {
        return Err(refusal(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(&session),
            "Không ký được",
            &problem,
        ));
    }
    if !app
        .store
        .move_draft(&office, &id, "awaiting", "signed", "")
        .map_err(internal)?
    {
        return Err(refusal(
            StatusCode::CONFLICT,
            Some(&session),
            "Không ký được",
            "Văn bản đã được xử lý ở nơi khác.",
        ));
    }
    audit_target(&app, &office, &login, "sign", &id, ip);
    Ok(Redirect::to(&format!("/drafts/{id}")).into_response())
}

/// The return form.
#[derive(Deserialize)]
pub struct ReturnForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    comment: String,
}

/// `POST /drafts/{id}/return`: back to the clerk with a comment.
pub async fn give_back(
    State(app): State<Arc<WebApp>>,
    addr: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ReturnForm>,
) -> PageResult {
    let session = require(&app, &headers, &[Role::Leader])?;
    check_csrf(&session, Some(&form.csrf))?;
    let draft = draft_of(&app, &session, &id)?;
    let comment = form.comment.trim();
    if comment.is_empty() || draft.signer != session.account.id {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            Some(&session),
            "Chưa trả lại",
            "Ghi ý kiến khi trả lại văn bản.",
        ));
    }
    let office = session.account.office.clone();
    if !app
        .store
        .move_draft(&office, &id, "awaiting", "returned", comment)
        .map_err(internal)?
    {
        return Err(refusal(
            StatusCode::CONFLICT,
            Some(&session),
            "Chưa trả lại",
            "Văn bản không còn chờ ký.",
        ));
    }
    let ip = ClientAddr::ip(addr.as_ref().map(|e| &e.0));
    audit_target(&app, &office, &session.account.login, "return", &id, ip);
    Ok(Redirect::to("/drafts").into_response())
}

/// The send form.
#[derive(Deserialize)]
pub struct SendForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /drafts/{id}/send`: the clerk applies the office seal to the
/// signed draft and hands it to the relay.
pub async fn seal_and_send(
    State(app): State<Arc<WebApp>>,
    addr: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<SendForm>,
) -> PageResult {
    let session = require(&app, &headers, &[Role::Clerk])?;
    check_csrf(&session, Some(&form.csrf))?;
    let draft = draft_of(&app, &session, &id)?;
    if draft.state != "signed" {
        return Err(refusal(
            StatusCode::CONFLICT,
            Some(&session),
            "Chưa gửi",
            "Văn bản chưa được lãnh đạo ký.",
        ));
    }
    let office = session.account.office.clone();
    // Seal a copy: if the relay refuses, the signed draft stays as it was.
    let sealed = WorkFile::new(&app, ".cvd").map_err(internal)?;
    let path = app.store.draft_path(&id);
    std::fs::copy(&path, sealed.path()).map_err(|e| internal(crate::Error::io(&path, e)))?;
    let (worker, seal_office, copy) = (app.clone(), office.clone(), sealed.path().to_path_buf());
    let result = super::blocking(move || {
        let seal = worker
            .office_credential(&seal_office)
            .map_err(|e| e.to_string())?;
        sign_file(&copy, seal, SignatureRole::Seal)
    })
    .await?;
    if let Err(problem) = result {
        return Err(refusal(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(&session),
            "Không đóng dấu được",
            &problem,
        ));
    }
    let ip = ClientAddr::ip(addr.as_ref().map(|e| &e.0));
    match desk::hand_over(&app, &office, sealed.path())
        .await
        .map_err(internal)?
    {
        Ok(_) => {
            std::fs::copy(sealed.path(), &path)
                .map_err(|e| internal(crate::Error::io(&path, e)))?;
            app.store
                .move_draft(&office, &id, "signed", "sent", "")
                .map_err(internal)?;
            audit_target(
                &app,
                &office,
                &session.account.login,
                "seal-and-send",
                &id,
                ip,
            );
            Ok(Redirect::to(&format!("/dispatches/{id}")).into_response())
        }
        Err(reason) => Err(refusal(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(&session),
            "Hệ thống chuyển văn bản không nhận",
            &reason,
        )),
    }
}

/// Signs the dispatch file at `path` in `role` now; the problem, for
/// people, when the library refuses.
fn sign_file(
    path: &std::path::Path,
    credential: &congvan_sign::Credential,
    role: SignatureRole,
) -> Result<(), String> {
    let mut envelope = Envelope::open(path).map_err(|e| e.to_string())?;
    sign_dispatch(
        &mut envelope,
        credential,
        &[],
        role,
        OffsetDateTime::now_utc(),
        &mut |_| {},
    )
    .map(drop)
    .map_err(|e| e.to_string())
}
