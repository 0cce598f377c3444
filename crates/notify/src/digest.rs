//! The daily and weekly exchange figures of one office.

use serde::{Deserialize, Serialize};

/// The span a digest covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// One calendar day (Vietnam time).
    Day,
    /// Seven days ending with the given day.
    Week,
}

/// Sent and received counts at one urgency.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrgencyCount {
    /// Urgency code 0..=4.
    pub urgency: u8,
    /// Dispatches sent by the office.
    pub sent: u64,
    /// Dispatches received by the office.
    pub received: u64,
}

/// An office's exchange figures over a period, as provinces report them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    /// The office.
    pub office: String,
    /// The office's name.
    pub office_name: String,
    /// Day or week.
    pub period: Option<Period>,
    /// First day covered (YYYY-MM-DD).
    pub from: String,
    /// Last day covered (YYYY-MM-DD).
    pub to: String,
    /// Dispatches sent in the period.
    pub sent: u64,
    /// Dispatches received in the period.
    pub received: u64,
    /// Sent and received by urgency (0..=4).
    pub by_urgency: Vec<UrgencyCount>,
    /// For dispatches received in the period: the share (0.0-1.0) that the
    /// office acknowledged with each status code, by code.
    pub acknowledged: Vec<(String, f64)>,
    /// Received dispatches past their due date without status 06, as of the end of the period.
    pub overdue: Vec<String>,
    /// Median seconds from a dispatch's creation to its arrival in the inbox,
    /// over the dispatches received in the period.
    pub median_delivery_secs: Option<f64>,
    /// The address of the leaders' dashboard on the office's web
    /// workplace, where the figures are charted and download as CSV.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboard: Option<String>,
}

impl Digest {
    /// The digest as an e-mail subject and plain-text body.
    pub fn render(&self) -> (String, String) {
        let span = match self.period {
            Some(Period::Week) => "tuần",
            _ => "ngày",
        };
        let subject = format!(
            "Báo cáo {span} {} - {}: {} văn bản đi, {} văn bản đến",
            if self.from == self.to {
                self.from.clone()
            } else {
                format!("{} đến {}", self.from, self.to)
            },
            self.office_name,
            self.sent,
            self.received
        );
        let mut body = format!(
            "Tình hình trao đổi văn bản điện tử của {} ({})\nTừ {} đến {}\n\nVăn bản đi: {}\nVăn bản đến: {}\n\nTheo độ khẩn (đi / đến):\n",
            self.office_name, self.office, self.from, self.to, self.sent, self.received
        );
        for row in &self.by_urgency {
            let name = congvan_envelope::metadata::Urgency::from_code(row.urgency)
                .map_or("?", |u| u.name());
            body.push_str(&format!("  {name}: {} / {}\n", row.sent, row.received));
        }
        body.push_str("\nTỷ lệ văn bản đến đã báo trạng thái:\n");
        for (code, share) in &self.acknowledged {
            body.push_str(&format!("  {code}: {:.1}%\n", share * 100.0));
        }
        body.push_str(&format!(
            "\nVăn bản đến quá hạn chưa hoàn thành: {}\n",
            self.overdue.len()
        ));
        for id in &self.overdue {
            body.push_str(&format!("  - {id}\n"));
        }
        match self.median_delivery_secs {
            Some(s) => body.push_str(&format!("\nThời gian chuyển trung vị: {s:.1} giây\n")),
            None => body.push_str("\nThời gian chuyển trung vị: (chưa có văn bản đến)\n"),
        }
        if let Some(url) = &self.dashboard {
            body.push_str(&format!(
                "\nBảng tổng hợp (cả các đơn vị cấp dưới), biểu đồ và tải CSV: {url}\n"
            ));
        }
        (subject, body)
    }
}
