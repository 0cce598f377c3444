//! The public verification page: what the QR code of a printed dispatch
//! opens. Anyone holding the paper can check it with a phone, without an
//! account: one large verdict, then what the paper must say.
//!
//! The address names the dispatch id and the SHA-256 of its manifest
//! (`/v/{id}/{sha256}`). Ids are random and the digest is known only to
//! whoever holds the dispatch, so the page cannot be used to list
//! dispatches; a lookup is limited per address all the same
//! ([`crate::throttle::RateLimit`]), since each one costs a verification.
//! A secret (Mật and above) dispatch shows only that it is classified. The
//! page logs neither the address nor the dispatch.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use congvan_envelope::{Indication, SignatureRole, VerificationReport};
use maud::{html, Markup};

use super::{blocking, internal, layout};
use crate::app::WebApp;
use crate::desk::{self, WorkFile};
use crate::session::ClientAddr;

/// What the page says, large.
#[derive(Clone)]
enum Verdict {
    /// Hợp lệ: the relay holds exactly this dispatch, and it verifies.
    Valid,
    /// Không hợp lệ: altered since issue, or a signature does not hold.
    Invalid(String),
    /// Đã bị thu hồi: its issuer asked for it back (status 13).
    Recalled,
    /// Đã được thay thế: a later dispatch of its issuer replaces it.
    Replaced(Vec<(String, Option<String>)>),
    /// Văn bản mật: shown as classified only.
    Secret,
    /// Không tìm thấy.
    NotFound,
}

/// `GET /v/{id}/{sha256}`.
pub async fn page(
    State(app): State<Arc<WebApp>>,
    addr: Option<Extension<ClientAddr>>,
    Path((id, digest)): Path<(String, String)>,
) -> Response {
    let ip = ClientAddr::ip(addr.as_ref().map(|e| &e.0));
    if !app.lookups.take(ip) {
        let body = html! {
            h1 { "Tra cứu văn bản" }
            p.notice { "Quá nhiều lượt tra cứu từ địa chỉ này. Vui lòng thử lại sau một phút." }
        };
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "60")],
            layout(None, "Tra cứu văn bản", body),
        )
            .into_response();
    }
    let found = match look_up(&app, id, digest).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let status = match found.0 {
        Verdict::NotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    };
    let body = html! {
        h1 { "Tra cứu văn bản điện tử" }
        (banner(&found.0))
        @if let Some(facts) = &found.1 { (details(facts)) }
        p.help { "Trang này do hệ thống congvan của cơ quan lưu giữ văn bản điện tử gốc trả lời. Chỉ tin vào trang có địa chỉ của cơ quan đó." }
    };
    // No caching and no referrer: the headers every page gets
    // (`headers.rs`).
    (status, layout(None, "Tra cứu văn bản", body)).into_response()
}

/// The verdict, and what the page may say of the dispatch.
type Found = (Verdict, Option<Facts>);

/// A verified dispatch's particulars.
#[derive(Clone)]
struct Facts {
    report: VerificationReport,
    /// Its date, dd/mm/yyyy.
    date: String,
    /// Its type (Quyết định, Công văn...).
    kind: String,
    /// The SHA-256 of its manifest.
    digest: String,
    /// The issuing office as the registry names it, with its code: not the
    /// name the dispatch gives itself, which its author chose.
    issuer: String,
}

/// Recent answers and the verifications running: what keeps the page
/// cheap under a flood of lookups of one genuine code (each would copy the
/// dispatch out of the store and verify it).
pub struct Lookups {
    answers:
        std::sync::Mutex<std::collections::HashMap<(String, String), (std::time::Instant, Found)>>,
    verifying: tokio::sync::Semaphore,
}

/// How long an answer is reused: a recall or a replacement shows within it.
const ANSWER_LIFETIME: std::time::Duration = std::time::Duration::from_secs(30);

/// Most answers remembered; past it the memory starts over.
const MAX_ANSWERS: usize = 10_000;

impl Default for Lookups {
    fn default() -> Lookups {
        Lookups {
            answers: std::sync::Mutex::new(std::collections::HashMap::new()),
            // Two cores: more at once would only queue on them.
            verifying: tokio::sync::Semaphore::new(4),
        }
    }
}

impl Lookups {
    fn recent(&self, key: &(String, String)) -> Option<Found> {
        let answers = self.answers.lock().ok()?;
        let (at, found) = answers.get(key)?;
        (at.elapsed() < ANSWER_LIFETIME).then(|| found.clone())
    }

    fn remember(&self, key: (String, String), found: &Found) {
        if let Ok(mut answers) = self.answers.lock() {
            if answers.len() >= MAX_ANSWERS {
                answers.clear();
            }
            answers.insert(key, (std::time::Instant::now(), found.clone()));
        }
    }
}

async fn look_up(app: &Arc<WebApp>, id: String, digest: String) -> Result<Found, Response> {
    let not_found = || Ok((Verdict::NotFound, None));
    // Nothing that cannot be an id and a digest reaches the store.
    let id_ok =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    let digest_ok = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit());
    if !id_ok || !digest_ok {
        return not_found();
    }
    let digest = digest.to_ascii_lowercase();
    let Some(record) = app
        .relay
        .store
        .dispatch(&id)
        .map_err(|e| internal(e.into()))?
    else {
        return not_found();
    };
    // Its content is for its recipients: the relay itself cannot read it.
    if record.secret {
        return Ok((Verdict::Secret, None));
    }
    if record.manifest_sha256 != digest {
        return Ok((
            Verdict::Invalid(
                "Bản này không khớp với văn bản đã ban hành: nội dung đã bị thay đổi sau khi ban hành."
                    .into(),
            ),
            None,
        ));
    }
    let key = (id.clone(), digest.clone());
    if let Some(found) = app.public.recent(&key) {
        return Ok(found);
    }
    let _slot = app
        .public
        .verifying
        .acquire()
        .await
        .map_err(|e| internal(crate::Error::Task(e.to_string())))?;
    // Another lookup of the same may have answered while this one waited.
    if let Some(found) = app.public.recent(&key) {
        return Ok(found);
    }
    let opened_app = app.clone();
    let facts = blocking(move || -> Result<Option<Facts>, crate::Error> {
        let file = WorkFile::new(&opened_app, ".cvd")?;
        if !opened_app
            .relay
            .store
            .copy_dispatch_file(&record, file.path())?
        {
            return Ok(None);
        }
        let (envelope, report) = desk::open_file(&opened_app, file.path())?;
        let m = envelope.metadata();
        let issuer = match opened_app.relay.router.registry().get(&m.from.id) {
            Some(office) => format!("{} ({})", office.name, office.code),
            None => format!(
                "{} ({}; tên theo văn bản, không có trong danh bạ)",
                m.from.name, m.from.id
            ),
        };
        Ok(Some(Facts {
            issuer,
            date: format!(
                "{:02}/{:02}/{}",
                m.date.day(),
                u8::from(m.date.month()),
                m.date.year()
            ),
            kind: m.doc_type.name().to_string(),
            digest,
            report,
        }))
    })
    .await?
    .map_err(internal)?;
    // Retention removed the file: nothing left to answer for.
    let Some(facts) = facts else {
        return not_found();
    };
    let report = &facts.report;
    let replaced = app
        .relay
        .store
        .superseded_by(&id)
        .map_err(|e| internal(e.into()))?;
    let recalled = app
        .relay
        .store
        .recall_requested(&id)
        .map_err(|e| internal(e.into()))?;
    let verdict = if report.indication != Indication::Passed {
        Verdict::Invalid(match report.indication {
            Indication::Failed => "Văn bản đã bị sửa đổi hoặc chữ ký số không đúng.".into(),
            _ => "Chưa xác nhận được chữ ký số của văn bản (chứng thư hoặc danh sách thu hồi chưa kiểm tra được).".into(),
        })
    } else if recalled || report.recall.is_some() {
        Verdict::Recalled
    } else if !replaced.is_empty() {
        let mut by = Vec::with_capacity(replaced.len());
        for later in replaced {
            let link = app
                .relay
                .store
                .dispatch(&later.id)
                .map_err(|e| internal(e.into()))?
                .filter(|r| !r.secret)
                .map(|r| format!("/v/{}/{}", r.id, r.manifest_sha256));
            by.push((later.id, link));
        }
        Verdict::Replaced(by)
    } else {
        Verdict::Valid
    };
    // A dispatch that does not verify is not described: its particulars
    // are exactly what a forger would want a reader to see.
    let described = !matches!(verdict, Verdict::Invalid(_));
    let found = (verdict, described.then_some(facts));
    app.public.remember(key, &found);
    Ok(found)
}

fn banner(verdict: &Verdict) -> Markup {
    match verdict {
        Verdict::Valid => html! {
            div.verdict.ok.big role="status" { "Hợp lệ" br; span { "Văn bản điện tử gốc có chữ ký số hợp lệ và đúng với bản này." } }
        },
        Verdict::Invalid(why) => html! {
            div.verdict.bad.big role="status" { "Không hợp lệ" br; span { (why) " Không sử dụng bản này." } }
        },
        Verdict::Recalled => html! {
            div.verdict.bad.big role="status" { "Đã bị thu hồi" br; span { "Cơ quan ban hành đã đề nghị thu hồi văn bản này." } }
        },
        Verdict::Replaced(by) => html! {
            div.verdict.warn.big role="status" {
                "Đã được thay thế bởi "
                @for (i, (id, link)) in by.iter().enumerate() {
                    @if i > 0 { ", " }
                    @match link {
                        Some(href) => a href=(href) { "văn bản " (id) },
                        None => { "văn bản " (id) },
                    }
                }
                br; span { "Văn bản này không còn là văn bản hiện hành." }
            }
        },
        Verdict::Secret => html! {
            div.verdict.warn.big role="status" { "Văn bản mật" br; span { "Văn bản này được phân loại mật; nội dung không tra cứu công khai. Liên hệ văn thư của cơ quan ban hành." } }
        },
        Verdict::NotFound => html! {
            div.verdict.bad.big role="status" { "Không tìm thấy" br; span { "Hệ thống không lưu văn bản nào ứng với mã này. Bản giấy này không được xác nhận." } }
        },
    }
}

/// What the paper must say: issuer, number, date, type, subject, who
/// signed and sealed when, and the fingerprint.
fn details(facts: &Facts) -> Markup {
    let report = &facts.report;
    html! {
        section.card {
            dl.facts {
                dt { "Cơ quan ban hành" } dd { (facts.issuer) }
                @if let Some(number) = &report.number { dt { "Số, ký hiệu" } dd { (number) } }
                dt { "Ngày ban hành" } dd { (facts.date) }
                dt { "Loại văn bản" } dd { (facts.kind) }
                @if let Some(subject) = &report.subject { dt { "Trích yếu" } dd { (subject) } }
                @if let Some(id) = &report.dispatch_id { dt { "Mã văn bản" } dd { code { (id) } } }
                dt { "Dấu vân tay (SHA-256)" } dd { code.fingerprint { (facts.digest) } }
            }
            h2 { "Chữ ký số và con dấu" }
            table {
                thead { tr { th { "Vai trò" } th { "Người ký / đơn vị" } th { "Thời điểm ký" } th { "Kết quả" } } }
                tbody { @for s in &report.signatures {
                    tr {
                        td { (role(s.role)) }
                        td { (s.signer.as_deref().unwrap_or("?")) @if let Some(p) = &s.position { " — " (p) } @if let Some(o) = &s.org { " (" (o) ")" } }
                        td { (s.signing_time.as_deref().unwrap_or("")) }
                        td { (if s.indication == Indication::Passed { "hợp lệ" } else { "không hợp lệ" }) }
                    }
                } }
            }
        }
    }
}

fn role(role: Option<SignatureRole>) -> &'static str {
    match role {
        Some(SignatureRole::Signer) => "Người ký",
        Some(SignatureRole::Seal) => "Con dấu",
        Some(SignatureRole::Countersign) => "Ký nháy",
        Some(SignatureRole::Copy) => "Sao y",
        None => "?",
    }
}
