//! Notices to clerks, and how they read in Vietnamese.

use congvan_envelope::metadata::Urgency;
use serde::{Deserialize, Serialize};

/// What a notice says about the dispatch it concerns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchSummary {
    /// Dispatch id.
    pub id: String,
    /// Number and notation.
    pub number: String,
    /// Subject excerpt (never put in a secret dispatch's notice).
    pub subject: String,
    /// Issuing office, "name (id)".
    pub sender: String,
    /// Urgency code 0..=4.
    pub urgency: u8,
    /// True for Mật and above.
    pub secret: bool,
    /// Due date, YYYY-MM-DD.
    pub due: Option<String>,
}

/// A notice to an office's clerks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    /// A dispatch reached the office's inbox.
    Arrival {
        /// The dispatch.
        dispatch: DispatchSummary,
    },
    /// A recipient rejected a dispatch the office sent (status 02).
    Rejected {
        /// The dispatch.
        dispatch: DispatchSummary,
        /// The recipient that rejected it.
        by: String,
        /// Its reason.
        note: Option<String>,
    },
    /// A dispatch the office sent could not be delivered and expired.
    Expired {
        /// The dispatch.
        dispatch: DispatchSummary,
        /// Recipients not reached.
        undelivered: Vec<String>,
        /// Why.
        reason: String,
    },
    /// A dispatch the office sent is past its due date and not completed.
    Overdue {
        /// The dispatch.
        dispatch: DispatchSummary,
        /// Recipients that have not reported completion (06).
        pending: Vec<String>,
    },
    /// A digest (already rendered).
    Digest {
        /// Subject line.
        subject: String,
        /// Plain-text body.
        body: String,
    },
}

/// The urgency as the envelope defines it; an unknown code reads as Thường,
/// since a notice must still go out.
fn urgency(code: u8) -> Urgency {
    Urgency::from_code(code).unwrap_or(Urgency::Thuong)
}

fn urgency_mark(code: u8) -> Option<&'static str> {
    urgency(code).mark()
}

fn urgency_name(code: u8) -> &'static str {
    urgency(code).name()
}

fn prefix(d: &DispatchSummary) -> String {
    urgency_mark(d.urgency)
        .map(|m| format!("[{m}] "))
        .unwrap_or_default()
}

/// What a clerk may read about a dispatch in an e-mail: nothing but its id
/// when it is secret.
fn describe(d: &DispatchSummary) -> String {
    if d.secret {
        return format!(
            "Mã văn bản: {}\n(Văn bản mật: nội dung không gửi qua thư điện tử.)\n",
            d.id
        );
    }
    let mut text = format!(
        "Số, ký hiệu: {}\nTrích yếu: {}\nCơ quan gửi: {}\nĐộ khẩn: {}\n",
        d.number,
        d.subject,
        d.sender,
        urgency_name(d.urgency)
    );
    if let Some(due) = &d.due {
        text.push_str(&format!("Hạn xử lý: {due}\n"));
    }
    text.push_str(&format!("Mã văn bản: {}\n", d.id));
    text
}

const FOOTER: &str = "\n--\nThư tự động từ hệ thống congvan. Vui lòng không trả lời thư này.\n";

impl Notice {
    /// The subject line and plain-text body.
    pub fn render(&self) -> (String, String) {
        match self {
            Notice::Arrival { dispatch: d } if d.secret => (
                format!("{}Có văn bản mật đến", prefix(d)),
                format!(
                    "Cơ quan có một văn bản mật đang chờ tiếp nhận.\n{}\nVui lòng nhận văn bản bằng: congvan inbox / congvan fetch {}\n{FOOTER}",
                    describe(d),
                    d.id
                ),
            ),
            Notice::Arrival { dispatch: d } => (
                format!("{}Văn bản đến: {} - {}", prefix(d), d.number, d.subject),
                format!(
                    "Cơ quan vừa nhận được văn bản điện tử.\n\n{}\nNhận văn bản: congvan fetch {} --out VAN-BAN.cvd\n{FOOTER}",
                    describe(d),
                    d.id
                ),
            ),
            Notice::Rejected { dispatch: d, by, note } => (
                format!("{}Văn bản bị từ chối: {}", prefix(d), label(d)),
                format!(
                    "Văn bản của cơ quan đã bị {by} từ chối tiếp nhận (mã trạng thái 02).\nLý do: {}\n\n{}{FOOTER}",
                    note.as_deref().unwrap_or("(không nêu)"),
                    describe(d)
                ),
            ),
            Notice::Expired { dispatch: d, undelivered, reason } => (
                format!("{}Văn bản không chuyển được: {}", prefix(d), label(d)),
                format!(
                    "Văn bản của cơ quan không chuyển được đến: {}.\nNguyên nhân: {reason}\n\n{}\nVui lòng liên hệ đơn vị nhận hoặc gửi lại.\n{FOOTER}",
                    undelivered.join(", "),
                    describe(d)
                ),
            ),
            Notice::Overdue { dispatch: d, pending } => (
                format!("{}Văn bản quá hạn xử lý: {}", prefix(d), label(d)),
                format!(
                    "Văn bản của cơ quan đã quá hạn xử lý mà chưa có báo cáo hoàn thành (mã 06) từ: {}.\n\n{}{FOOTER}",
                    pending.join(", "),
                    describe(d)
                ),
            ),
            Notice::Digest { subject, body } => (subject.clone(), format!("{body}{FOOTER}")),
        }
    }
}

fn label(d: &DispatchSummary) -> String {
    if d.secret {
        format!("văn bản mật {}", d.id)
    } else {
        format!("{} - {}", d.number, d.subject)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn summary(secret: bool, urgency: u8) -> DispatchSummary {
        DispatchSummary {
            id: "0b9f".into(),
            number: "15/QĐ-UBND".into(),
            subject: "Về việc bí mật".into(),
            sender: "UBND huyện (H99.01)".into(),
            urgency,
            secret,
            due: Some("2026-12-01".into()),
        }
    }

    #[test]
    fn secret_notices_carry_no_subject_or_number() {
        for notice in [
            Notice::Arrival {
                dispatch: summary(true, 0),
            },
            Notice::Rejected {
                dispatch: summary(true, 0),
                by: "H99".into(),
                note: None,
            },
            Notice::Expired {
                dispatch: summary(true, 0),
                undelivered: vec!["H99".into()],
                reason: "x".into(),
            },
        ] {
            let (subject, body) = notice.render();
            for secret in ["bí mật", "15/QĐ-UBND"] {
                assert!(
                    !subject.contains(secret) && !body.contains(secret),
                    "{subject}\n{body}"
                );
            }
        }
    }

    #[test]
    fn hoa_toc_is_marked_in_the_subject() {
        let (subject, body) = Notice::Arrival {
            dispatch: summary(false, 3),
        }
        .render();
        assert!(
            subject.starts_with("[HỎA TỐC] Văn bản đến: 15/QĐ-UBND"),
            "{subject}"
        );
        assert!(body.contains("Hạn xử lý: 2026-12-01"), "{body}");
    }
}
