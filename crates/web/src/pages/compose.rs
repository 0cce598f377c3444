//! Composing a dispatch: the clerk fills the form, the server checks every
//! field and shows each problem beside it, and the draft goes to the
//! chosen leader's "Chờ ký" queue.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use congvan_envelope::metadata::{
    DocumentType, Draft, Organization, Secrecy, SignerBlock, Urgency,
};
use congvan_envelope::AttachmentSource;
use maud::{html, Markup};
use tokio::io::AsyncWriteExt;

use super::login::audit_target;
use super::{check_csrf, internal, layout, require, PageResult};
use crate::account::{Account, Role};
use crate::app::WebApp;
use crate::desk::WorkFile;
use crate::session::{ClientAddr, Session};
use crate::store::DraftRow;

/// What the clerk typed, kept to show the form again with its problems.
#[derive(Default)]
struct Fields {
    values: HashMap<String, String>,
    to: Vec<String>,
    attachments: Vec<(String, WorkFile)>,
    csrf: String,
    text_fields: usize,
    text_bytes: usize,
}

/// All text fields together.
const TEXT_TOTAL_LIMIT: usize = 4 << 20;

/// The longest text field (the body of a long dispatch fits many times).
const TEXT_FIELD_LIMIT: usize = 1 << 20;

/// Most text fields in one form (recipients are one field each).
const MAX_TEXT_FIELDS: usize = 2_000;

impl Fields {
    fn get(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }
}

/// Problems by form field ("" for the form as a whole).
type Problems = Vec<(String, String)>;

/// `GET /compose`.
pub async fn form(State(app): State<Arc<WebApp>>, headers: HeaderMap) -> PageResult {
    let session = require(&app, &headers, &[Role::Clerk])?;
    let mut fields = Fields::default();
    let next = app
        .store
        .peek_number(
            &session.account.office,
            super::dispatch::current_year(),
            "out",
        )
        .map_err(internal)?;
    fields.values.insert(
        "number".into(),
        suggested_number(next, DocumentType::CongVan),
    );
    compose_page(&app, &session, &fields, &Vec::new(), StatusCode::OK)
}

/// The next number in the office's yearly book, in the decree's form.
fn suggested_number(next: i64, doc_type: DocumentType) -> String {
    match doc_type.abbreviation() {
        Some(abbr) => format!("{next:02}/{abbr}-UBND"),
        None => format!("{next:02}/UBND-VP"),
    }
}

fn compose_page(
    app: &WebApp,
    session: &Session,
    fields: &Fields,
    problems: &Problems,
    status: StatusCode,
) -> PageResult {
    let office = &session.account.office;
    let signers = app.store.signers(office).map_err(internal)?;
    let recipients: Vec<_> = app
        .relay
        .registry()
        .offices()
        .filter(|o| o.code.to_string() != *office)
        .map(|o| (o.code.to_string(), o.name.clone()))
        .collect();
    let problem = |name: &str| -> Markup {
        html! {
            @for (field, text) in problems.iter().filter(|(f, _)| f == name) {
                p.field-problem id={ (field) "-problem" } role="alert" { (text) }
            }
        }
    };
    let chosen_type = fields.get("type");
    let chosen_urgency = fields.get("urgency");
    let chosen_secrecy = fields.get("secrecy");
    let body = html! {
        h1 { "Soạn văn bản" }
        @if !problems.is_empty() {
            p.field-problem role="alert" { "Văn bản chưa được tạo: sửa các mục có ghi chú đỏ rồi gửi lại." }
        }
        (problem(""))
        form.card method="post" action="/compose" enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(session.csrf);
            label for="type" { "Loại văn bản" }
            select #type name="type" {
                @for t in DocumentType::all() {
                    option value=(t.slug()) selected[chosen_type == t.slug() || (chosen_type.is_empty() && *t == DocumentType::CongVan)] { (t.name()) }
                }
            }
            (problem("type"))
            label for="number" { "Số, ký hiệu" }
            input #number type="text" name="number" value=(fields.get("number")) required;
            (problem("number"))
            label for="to-search" { "Nơi nhận" }
            input #to-search type="search" placeholder="Lọc theo tên đơn vị (cần JavaScript; không có vẫn chọn được)" aria-label="Lọc nơi nhận";
            div.recipients #to role="group" aria-label="Nơi nhận" {
                @for (code, name) in &recipients {
                    label {
                        input type="checkbox" name="to" value=(code) checked[fields.to.contains(code)];
                        " " (name) " (" (code) ")"
                    }
                }
            }
            (problem("to"))
            label for="subject" { "Trích yếu" }
            input #subject type="text" name="subject" value=(fields.get("subject")) required maxlength="500";
            (problem("subject"))
            label for="body" { "Nội dung" }
            textarea #body name="body" required { (fields.get("body")) }
            (problem("body"))
            label for="urgency" { "Độ khẩn" }
            select #urgency name="urgency" {
                @for u in Urgency::all() {
                    option value=(u.slug()) selected[chosen_urgency == u.slug()] { (u.name()) }
                }
            }
            (problem("urgency"))
            label for="secrecy" { "Độ mật" }
            select #secrecy name="secrecy" {
                option value="" { "Không mật" }
                @for s in Secrecy::all() {
                    option value=(s.slug()) selected[chosen_secrecy == s.slug()] { (s.name()) }
                }
            }
            (problem("secrecy"))
            label for="due" { "Hạn xử lý (không bắt buộc)" }
            input #due type="date" name="due" value=(fields.get("due"));
            (problem("due"))
            label for="signer" { "Người ký" }
            select #signer name="signer" {
                @for s in &signers {
                    option value=(s.id) selected[fields.get("signer") == s.id.to_string()] { (s.name) }
                }
            }
            @if signers.is_empty() { p.field-problem { "Đơn vị chưa có lãnh đạo nào ký được trên hệ thống (congvan user add --role leader)." } }
            (problem("signer"))
            label for="attach" { "Tệp đính kèm" }
            input #attach type="file" name="attach" multiple;
            (problem("attach"))
            button type="submit" { "Trình ký" }
        }
        script src="/assets/compose.js" {}
    };
    Ok((status, layout(Some(session), "Soạn văn bản", body)).into_response())
}

/// `POST /compose`.
pub async fn submit(
    State(app): State<Arc<WebApp>>,
    addr: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    multipart: Multipart,
) -> PageResult {
    let session = require(&app, &headers, &[Role::Clerk])?;
    let fields = read_fields(&app, multipart).await?;
    check_csrf(&session, Some(&fields.csrf))?;
    let signers = app
        .store
        .signers(&session.account.office)
        .map_err(internal)?;
    let (draft, signer, problems) = build(&app, &session, &fields, &signers);
    let (Some(mut metadata), Some(signer)) = (draft, signer) else {
        return compose_page(
            &app,
            &session,
            &fields,
            &problems,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    if !problems.is_empty() {
        return compose_page(
            &app,
            &session,
            &fields,
            &problems,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    metadata.normalize_text();
    let library_problems: Problems = metadata
        .problems()
        .into_iter()
        .map(|e| field_problem(&e))
        .collect();
    if !library_problems.is_empty() {
        return compose_page(
            &app,
            &session,
            &fields,
            &library_problems,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let sources: Vec<AttachmentSource> = fields
        .attachments
        .iter()
        .map(|(name, file)| AttachmentSource {
            path: file.path().to_path_buf(),
            name: Some(name.clone()),
            media_type: None,
        })
        .collect();
    let out = app.store.draft_path(&metadata.id);
    let written = {
        let metadata = metadata.clone();
        super::blocking(move || {
            congvan_envelope::create_dispatch(&metadata, &sources, &out, &mut |_| {})
        })
        .await?
    };
    if let Err(e) = written {
        // The problem without the scratch file's path.
        let problem = match e {
            congvan_envelope::Error::BadAttachment { problem, .. } => problem,
            other => other.to_string(),
        };
        let problems = vec![(
            "attach".to_string(),
            format!("Không tạo được văn bản với tệp đính kèm này: {problem}"),
        )];
        return compose_page(
            &app,
            &session,
            &fields,
            &problems,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let office = session.account.office.clone();
    let year = super::dispatch::current_year();
    let next = app
        .store
        .peek_number(&office, year, "out")
        .map_err(internal)?;
    if metadata.number.starts_with(&format!("{next:02}/")) {
        app.store
            .take_number(&office, year, "out")
            .map_err(internal)?;
    }
    let row = DraftRow {
        id: metadata.id.clone(),
        office: office.clone(),
        author: session.account.id,
        signer: signer.id,
        state: "awaiting".into(),
        number: metadata.number.clone(),
        subject: metadata.subject.clone(),
        urgency: metadata.urgency.code(),
        secret: metadata.secrecy.is_some(),
        comment: String::new(),
        updated_at: 0,
    };
    app.store.add_draft(&row).map_err(internal)?;
    let ip = ClientAddr::ip(addr.as_ref().map(|e| &e.0));
    audit_target(
        &app,
        &office,
        &session.account.login,
        "compose",
        &metadata.id,
        ip,
    );
    Ok(Redirect::to(&format!("/drafts/{}", metadata.id)).into_response())
}

/// Reads the multipart form, streaming attachments to scratch files.
async fn read_fields(app: &WebApp, mut multipart: Multipart) -> Result<Fields, Response> {
    let bad = |text: String| {
        super::refusal(
            StatusCode::BAD_REQUEST,
            None,
            "Không đọc được biểu mẫu",
            &text,
        )
    };
    let mut fields = Fields::default();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| bad(format!("Biểu mẫu gửi lên bị hỏng hoặc quá lớn ({e}).")))?
    {
        let name = field.name().unwrap_or("").to_string();
        if name == "attach" {
            let file_name = field.file_name().unwrap_or("").to_string();
            if file_name.is_empty() {
                continue; // the file input left empty
            }
            let work = WorkFile::new(app, ".part").map_err(internal)?;
            let mut out = tokio::fs::File::create(work.path())
                .await
                .map_err(|e| internal(crate::Error::io(work.path(), e)))?;
            while let Some(chunk) = field
                .chunk()
                .await
                .map_err(|e| bad(format!("Tệp đính kèm tải lên bị gián đoạn ({e}).")))?
            {
                out.write_all(&chunk)
                    .await
                    .map_err(|e| internal(crate::Error::io(work.path(), e)))?;
            }
            out.flush()
                .await
                .map_err(|e| internal(crate::Error::io(work.path(), e)))?;
            fields.attachments.push((file_name, work));
            continue;
        }
        // Read text fields in chunks and stop at the cap: the body limit
        // is an attachment's, far too much to hold in memory for a field.
        let mut bytes = Vec::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| bad(format!("Biểu mẫu gửi lên bị hỏng ({e}).")))?
        {
            if bytes.len() + chunk.len() > TEXT_FIELD_LIMIT
                || fields.text_bytes + chunk.len() > TEXT_TOTAL_LIMIT
            {
                return Err(bad(format!("Mục {name} quá dài.")));
            }
            fields.text_bytes += chunk.len();
            bytes.extend_from_slice(&chunk);
        }
        fields.text_fields += 1;
        if fields.text_fields > MAX_TEXT_FIELDS {
            return Err(bad("Biểu mẫu có quá nhiều mục.".into()));
        }
        let value = String::from_utf8(bytes)
            .map_err(|_| bad(format!("Mục {name} không phải văn bản UTF-8.")))?;
        match name.as_str() {
            "to" => fields.to.push(value),
            "csrf" => fields.csrf = value,
            _ => {
                fields.values.insert(name, value);
            }
        }
    }
    Ok(fields)
}

/// The metadata the fields describe, the chosen signer, and the problems
/// found in the fields themselves.
fn build(
    app: &WebApp,
    session: &Session,
    fields: &Fields,
    signers: &[Account],
) -> (
    Option<congvan_envelope::metadata::Metadata>,
    Option<Account>,
    Problems,
) {
    let mut problems = Problems::new();
    let mut need = |field: &str, text: &str| problems.push((field.to_string(), text.to_string()));
    let doc_type = DocumentType::from_user_text(fields.get("type"));
    if doc_type.is_none() {
        need("type", "Chọn loại văn bản trong danh sách.");
    }
    let urgency = Urgency::from_user_text(fields.get("urgency"));
    if urgency.is_none() {
        need("urgency", "Chọn độ khẩn trong danh sách.");
    }
    let secrecy = match fields.get("secrecy") {
        "" => Some(None),
        text => Secrecy::from_user_text(text).map(Some),
    };
    if secrecy.is_none() {
        need("secrecy", "Chọn độ mật trong danh sách.");
    }
    let due = match fields.get("due").trim() {
        "" => Some(None),
        text => time::Date::parse(
            text,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .ok()
        .map(Some),
    };
    if due.is_none() {
        need(
            "due",
            "Ngày không đúng; chọn ngày theo dạng năm-tháng-ngày.",
        );
    }
    if fields.get("subject").trim().is_empty() {
        need("subject", "Ghi trích yếu nội dung văn bản.");
    }
    if fields.get("body").trim().is_empty() {
        need("body", "Ghi nội dung văn bản.");
    }
    let registry = app.relay.registry();
    let mut to = Vec::new();
    for code in &fields.to {
        match congvan_org::OrgId::parse(code)
            .ok()
            .and_then(|id| registry.get(&id))
        {
            Some(o) => to.push(Organization::new(o.code.clone(), o.name.clone())),
            None => need("to", "Một nơi nhận không có trong danh bạ đơn vị."),
        }
    }
    if fields.to.is_empty() {
        need("to", "Chọn ít nhất một nơi nhận.");
    }
    let signer = signers
        .iter()
        .find(|s| s.id.to_string() == fields.get("signer"))
        .cloned();
    if signer.is_none() {
        need("signer", "Chọn người ký trong danh sách.");
    }
    let from = congvan_org::OrgId::parse(&session.account.office)
        .ok()
        .and_then(|id| registry.get(&id));
    if from.is_none() {
        need("", "Đơn vị của tài khoản không có trong danh bạ đơn vị.");
    }
    let signer_cert = signer
        .as_ref()
        .and_then(|s| app.store.key(s.id).ok().flatten())
        .and_then(|k| pem::parse(&k.cert_pem).ok())
        .and_then(|p| congvan_sign::Certificate::from_der(p.contents(), "signer".as_ref()).ok());
    let (Some(doc_type), Some(urgency), Some(secrecy), Some(due), Some(from), Some(cert)) =
        (doc_type, urgency, secrecy, due, from, signer_cert)
    else {
        return (None, signer, problems);
    };
    let draft = Draft {
        doc_type,
        number: fields.get("number").trim().to_string(),
        place: from.place.clone().unwrap_or_else(|| from.name.clone()),
        subject: fields.get("subject").trim().to_string(),
        content: fields.get("body").replace("\r\n", "\n").trim().to_string(),
        urgency,
        ..Draft::cong_van(
            Organization::new(from.code.clone(), from.name.clone()),
            to,
            SignerBlock::for_the_committee(&cert),
        )
    };
    let mut metadata = draft.metadata();
    metadata.secrecy = secrecy;
    metadata.due = due;
    (Some(metadata), signer, problems)
}

/// A library problem, beside the form field it is about, in Vietnamese.
fn field_problem(e: &congvan_envelope::Error) -> (String, String) {
    let congvan_envelope::Error::InvalidMetadata { field, problem } = e else {
        return (String::new(), format!("Văn bản chưa đúng: {e}"));
    };
    let (name, lead) = match field.split(['[', '.']).next().unwrap_or("") {
        "number" => ("number", "Số, ký hiệu chưa đúng"),
        "subject" => ("subject", "Trích yếu chưa đúng"),
        "content" => ("body", "Nội dung chưa đúng"),
        "to" => ("to", "Nơi nhận chưa đúng"),
        "due" => ("due", "Hạn xử lý chưa đúng"),
        "secrecy" => ("secrecy", "Độ mật chưa đúng"),
        "urgency" | "appointment" => ("urgency", "Độ khẩn chưa đúng"),
        "doc_type" => ("type", "Loại văn bản chưa đúng"),
        "signer" => ("signer", "Người ký chưa đúng"),
        _ => ("", "Văn bản chưa đúng"),
    };
    (name.to_string(), format!("{lead}: {problem}"))
}
