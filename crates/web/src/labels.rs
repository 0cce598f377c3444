//! The Vietnamese words pages use for codes: urgency, statuses, results.

use congvan_envelope::metadata::Urgency;
use congvan_envelope::{Indication, StatusCode};

/// "Hỏa tốc", "Khẩn"... for an urgency code.
pub fn urgency(code: u8) -> &'static str {
    Urgency::from_code(code).map_or("?", Urgency::name)
}

/// True for Hỏa tốc (with or without an appointed time): highlighted.
pub fn is_fire(code: u8) -> bool {
    matches!(
        Urgency::from_code(code),
        Some(Urgency::HoaToc | Urgency::HoaTocHenGio)
    )
}

/// The status name for a code ("03" → "Đã tiếp nhận").
pub fn status(code: &str) -> String {
    match code.parse::<StatusCode>() {
        Ok(s) => format!("{} {}", s.code(), s.description()),
        Err(_) => code.to_string(),
    }
}

/// The verification verdict in plain Vietnamese, with the standard word.
pub fn verdict(indication: Indication) -> (&'static str, &'static str) {
    match indication {
        Indication::Passed => (
            "ok",
            "Hợp lệ (PASSED): chữ ký số, con dấu và tệp đính kèm đều đúng, chứng thư còn hiệu lực.",
        ),
        Indication::Failed => (
            "bad",
            "Không hợp lệ (FAILED): văn bản đã bị sửa đổi hoặc chữ ký không đúng. Không sử dụng văn bản này.",
        ),
        Indication::Indeterminate => (
            "warn",
            "Chưa xác định (INDETERMINATE): chưa kiểm tra được đầy đủ (thiếu danh sách thu hồi hoặc chứng thư). Thử lại sau.",
        ),
    }
}

/// A draft's state in Vietnamese.
pub fn draft_state(state: &str) -> &'static str {
    match state {
        "awaiting" => "Chờ ký",
        "returned" => "Trả lại",
        "signed" => "Đã ký, chờ đóng dấu",
        "sent" => "Đã gửi",
        _ => "?",
    }
}

/// Unix milliseconds as a date and time in Vietnam (UTC+7).
pub fn time_ms(ms: i64) -> String {
    time_secs(ms.div_euclid(1000))
}

/// Unix seconds as a date and time in Vietnam (UTC+7).
pub fn time_secs(secs: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(secs) else {
        return "?".into();
    };
    let offset = time::UtcOffset::from_hms(7, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let t = t.to_offset(offset);
    format!(
        "{:02}/{:02}/{} {:02}:{:02}",
        t.day(),
        u8::from(t.month()),
        t.year(),
        t.hour(),
        t.minute()
    )
}

/// A recipient's progress (`congvan_relay::progress`) in Vietnamese.
pub fn recipient_state(state: &str) -> &'static str {
    match state {
        "acknowledged" => "Đã phản hồi",
        "delivered" => "Đã đến nơi nhận",
        "in_transit" => "Đang chuyển",
        "queued" => "Chờ chuyển",
        "not_delivered" => "Không chuyển được",
        _ => "Chưa rõ",
    }
}

/// What a timeline entry is, in Vietnamese.
pub fn event_kind(kind: &str) -> &'static str {
    match kind {
        "custody" => "Biên nhận chuyển tiếp",
        "status" => "Trạng thái xử lý",
        "non_delivery" => "Không chuyển được",
        _ => "Sự kiện",
    }
}

/// An RFC 3339 time as a date and time in Vietnam; as given when unreadable.
pub fn time_text(rfc3339: &str) -> String {
    match time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339) {
        Ok(t) => time_secs(t.unix_timestamp()),
        Err(_) => rfc3339.to_string(),
    }
}
