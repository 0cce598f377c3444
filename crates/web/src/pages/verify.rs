//! The auditor's check of a `.cvd` file brought from anywhere: the report
//! as a page, or as the one-page PDF report.

use std::sync::Arc;

use axum::extract::{Multipart, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use maud::html;
use tokio::io::AsyncWriteExt;

use super::dispatch::{signatures, verdict};
use super::{check_csrf, internal, layout, refusal, require, PageResult};
use crate::account::Role;
use crate::app::WebApp;
use crate::desk::{self, WorkFile};

/// `GET /verify`.
pub async fn form(State(app): State<Arc<WebApp>>, headers: HeaderMap) -> PageResult {
    let session = require(&app, &headers, &[Role::Auditor, Role::Clerk, Role::Leader])?;
    let body = html! {
        h1 { "Kiểm tra tệp văn bản điện tử" }
        form.card method="post" action="/verify" enctype="multipart/form-data" {
            (super::csrf_field(&session))
            label for="file" { "Tệp văn bản (.cvd)" }
            input #file type="file" name="file" accept=".cvd" required;
            label { input type="checkbox" name="pdf" value="1"; " Tải biên bản kiểm tra (PDF)" }
            button type="submit" { "Kiểm tra" }
        }
    };
    Ok(layout(Some(&session), "Kiểm tra tệp", body).into_response())
}

/// `POST /verify`.
pub async fn submit(
    State(app): State<Arc<WebApp>>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> PageResult {
    let session = require(&app, &headers, &[Role::Auditor, Role::Clerk, Role::Leader])?;
    let work = WorkFile::new(&app, ".cvd").map_err(internal)?;
    let mut csrf = String::new();
    let mut as_pdf = false;
    let mut got_file = false;
    let mut upload_name = String::new();
    let bad = |e: axum::extract::multipart::MultipartError| {
        refusal(
            StatusCode::BAD_REQUEST,
            None,
            "Không đọc được tệp",
            &format!("Tệp tải lên bị hỏng hoặc quá lớn ({e})."),
        )
    };
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or("") {
            "csrf" => csrf = small_text(&mut field).await?,
            "pdf" => as_pdf = small_text(&mut field).await? == "1",
            "file" => {
                upload_name = field.file_name().unwrap_or("").chars().take(200).collect();
                let mut out = tokio::fs::File::create(work.path())
                    .await
                    .map_err(|e| internal(crate::Error::io(work.path(), e)))?;
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    out.write_all(&chunk)
                        .await
                        .map_err(|e| internal(crate::Error::io(work.path(), e)))?;
                }
                out.flush()
                    .await
                    .map_err(|e| internal(crate::Error::io(work.path(), e)))?;
                got_file = true;
            }
            _ => {}
        }
    }
    check_csrf(&session, Some(&csrf))?;
    if !got_file {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            Some(&session),
            "Chưa có tệp",
            "Chọn tệp .cvd cần kiểm tra.",
        ));
    }
    // Opened, hashed and verified on a blocking thread; the report names
    // the file as the auditor uploaded it, never the scratch path.
    let (worker, path) = (app.clone(), work.path().to_path_buf());
    let shown = if upload_name.is_empty() {
        "tệp tải lên".to_string()
    } else {
        upload_name
    };
    let scratch = path.display().to_string();
    let name = shown.clone();
    let report = super::blocking(move || match desk::open_file(&worker, &path) {
        Ok((_, mut report)) => {
            report.file = name;
            report
        }
        Err(e) => congvan_envelope::VerificationReport::unreadable(
            &name,
            &e.to_string().replace(&scratch, &name),
        ),
    })
    .await?;
    if as_pdf {
        let pdf = super::blocking(move || {
            let view = congvan_render::report_view(&report, time::OffsetDateTime::now_utc());
            congvan_render::render_verification_report(&view)
        })
        .await?
        .map_err(|e| internal(e.into()))?;
        return Ok((
            [
                (header::CONTENT_TYPE, "application/pdf"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"bien-ban-kiem-tra.pdf\"",
                ),
            ],
            pdf,
        )
            .into_response());
    }
    let body = html! {
        h1 { "Kết quả kiểm tra" }
        (verdict(&report))
        dl.meta {
            @if let Some(n) = &report.number { dt { "Số, ký hiệu" } dd { (n) } }
            @if let Some(f) = &report.from { dt { "Nơi gửi" } dd { (f) } }
            @if let Some(s) = &report.subject { dt { "Trích yếu" } dd { (s) } }
            dt { "Kết luận" } dd { (report.summary) }
        }
        (signatures(&report))
        p { a href="/verify" { "Kiểm tra tệp khác" } }
    };
    Ok(layout(Some(&session), "Kết quả kiểm tra", body).into_response())
}

/// A short text field (a token, a flag), refused past 1 KiB.
async fn small_text(
    field: &mut axum::extract::multipart::Field<'_>,
) -> Result<String, axum::response::Response> {
    let bad = |text: &str| {
        refusal(
            StatusCode::BAD_REQUEST,
            None,
            "Không đọc được biểu mẫu",
            text,
        )
    };
    let mut bytes = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|_| bad("Biểu mẫu gửi lên bị hỏng."))?
    {
        if bytes.len() + chunk.len() > 1024 {
            return Err(bad("Một mục của biểu mẫu quá dài."));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| bad("Biểu mẫu gửi lên bị hỏng."))
}
