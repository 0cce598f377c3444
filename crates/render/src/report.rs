//! The one-page verification report for auditors.
//!
//! One A4 page: title, the file and dispatch id, the overall result in a coloured frame, then
//! three ruled tables (signatures with their certificate chains, attachments with their SHA-256
//! digests, the receipts timeline) and a footer with the generation time. A report is filed on
//! paper, so it must never spill onto a second page: the text size steps down from 9.5 pt to
//! 7 pt until everything fits, and if it still does not, the longest list loses rows (ending
//! with a "… và N mục khác" row) until it does.

use crate::canvas::{Align, Canvas, Color, TextStyle, MM, PAGE_HEIGHT, PAGE_WIDTH};
use crate::date::{vietnam_datetime, vietnam_datetime_short};
use crate::font::Face;
use crate::layout;
use crate::table::{LaidTable, Part, Table};
use crate::{Error, Indication, VerificationReportView};

/// Page margins (narrower than a dispatch's: this is a working document, not an official one).
const MARGIN_TOP: f32 = 15.0 * MM;
/// Bottom margin.
const MARGIN_BOTTOM: f32 = 14.0 * MM;
/// Left margin.
const MARGIN_LEFT: f32 = 18.0 * MM;
/// Right margin.
const MARGIN_RIGHT: f32 = 15.0 * MM;
/// Width of the text block.
const WIDTH: f32 = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
/// Text sizes tried in turn, largest first.
const SIZES: [f32; 6] = [9.5, 9.0, 8.5, 8.0, 7.5, 7.0];
/// Most lines a single table cell may take, so that one huge field cannot fill the page.
const MAX_CELL_LINES: usize = 8;

/// Renders the verification report as a one-page PDF.
///
/// # Errors
/// [`Error::InvalidTimestamp`] for a time out of range; font errors only if the bundled fonts
/// are broken.
pub fn render_verification_report(view: &VerificationReportView) -> Result<Vec<u8>, Error> {
    let mut plan = Plan::new(view, SIZES[0])?;
    for &size in &SIZES[1..] {
        if plan.height(&plan.all_rows()) <= plan.available() {
            break;
        }
        plan = Plan::new(view, size)?;
    }
    plan.draw(view)
}

/// The report laid out at one text size: every block measured before drawing.
struct Plan {
    /// Body text size.
    size: f32,
    /// Signatures, attachments, receipts tables (`None` when the list is empty).
    tables: [Option<LaidTable>; 3],
    /// Height of everything except the tables' bodies and headers.
    fixed: f32,
    /// Lines of the overall sub-indication, wrapped inside the result frame.
    sub_lines: Vec<layout::Line>,
    /// Lines of the footer.
    footer_lines: Vec<layout::Line>,
}

/// Section titles, in drawing order.
const SECTIONS: [&str; 3] = [
    "1. Chữ ký số",
    "2. Tệp đính kèm",
    "3. Biên nhận và trạng thái",
];

impl Plan {
    /// Lays out the report at text size `size`.
    fn new(view: &VerificationReportView, size: f32) -> Result<Self, Error> {
        let regular = TextStyle::new(Face::Regular, size);
        let bold = TextStyle::new(Face::Bold, size);
        let small = TextStyle::new(Face::Regular, size - 0.5);
        let italic = TextStyle::new(Face::Italic, size - 0.5);
        let mono = TextStyle::new(Face::Mono, size - 1.5);
        let header = TextStyle::new(Face::Bold, size - 0.5);
        let more = TextStyle::new(Face::Italic, size - 0.5);

        let signatures = Table {
            columns: vec![
                ("#", 0.04),
                ("Người ký / Cơ quan / Vai trò", 0.25),
                ("Thời điểm ký (UTC+7)", 0.14),
                ("Chuỗi chứng thư (từ người ký đến gốc)", 0.35),
                ("Kết quả", 0.22),
            ],
            rows: view
                .signatures
                .iter()
                .enumerate()
                .map(|(i, s)| -> Result<Vec<Vec<Part>>, Error> {
                    let time = match s.signing_time_unix {
                        Some(t) => vietnam_datetime_short(t)?,
                        None => "(không có)".to_owned(),
                    };
                    let chain = s
                        .certificate_chain
                        .iter()
                        .enumerate()
                        .map(|(n, subject)| Part::new(format!("{}. {subject}", n + 1), small))
                        .collect();
                    let mut result = vec![Part::new(
                        s.indication.label(),
                        TextStyle::new(Face::Bold, size).colored(indication_color(s.indication)),
                    )];
                    if let Some(sub) = s.sub_indication.as_deref().filter(|t| !t.is_empty()) {
                        result.push(Part::new(sub, small));
                    }
                    Ok(vec![
                        vec![Part::new((i + 1).to_string(), regular)],
                        vec![
                            Part::new(s.signer_name.as_str(), bold),
                            Part::new(s.organization.as_str(), regular),
                            Part::new(format!("Vai trò: {}", s.role), italic),
                        ],
                        vec![Part::new(time, small)],
                        chain,
                        result,
                    ])
                })
                .collect::<Result<_, _>>()?,
        };
        let attachments = Table {
            columns: vec![
                ("#", 0.04),
                ("Tên tệp", 0.33),
                ("Kích thước", 0.13),
                ("SHA-256", 0.50),
            ],
            rows: view
                .attachments
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    vec![
                        vec![Part::new((i + 1).to_string(), regular)],
                        vec![Part::new(a.name.as_str(), regular)],
                        vec![Part::new(
                            format!("{} byte", group_thousands(a.size_bytes)),
                            small,
                        )],
                        vec![Part::new(a.sha256_hex.as_str(), mono)],
                    ]
                })
                .collect(),
        };
        let receipts = Table {
            columns: vec![
                ("#", 0.04),
                ("Thời gian (UTC+7)", 0.22),
                ("Bên thực hiện", 0.34),
                ("Sự kiện", 0.40),
            ],
            rows: view
                .receipts
                .iter()
                .enumerate()
                .map(|(i, r)| -> Result<Vec<Vec<Part>>, Error> {
                    Ok(vec![
                        vec![Part::new((i + 1).to_string(), regular)],
                        vec![Part::new(vietnam_datetime_short(r.time_unix)?, small)],
                        vec![Part::new(r.actor.as_str(), regular)],
                        vec![Part::new(r.event.as_str(), regular)],
                    ])
                })
                .collect::<Result<_, _>>()?,
        };
        let mut tables: [Option<LaidTable>; 3] = [None, None, None];
        for (slot, table) in tables.iter_mut().zip([signatures, attachments, receipts]) {
            if !table.rows.is_empty() {
                *slot = Some(table.lay_out(WIDTH, header, more, MAX_CELL_LINES)?);
            }
        }

        let sub_lines = match view.sub_indication.as_deref().filter(|t| !t.is_empty()) {
            Some(sub) => layout::wrap(sub, Face::Regular, size, WIDTH - 16.0)?,
            None => Vec::new(),
        };
        let generated = vietnam_datetime(view.generated_at_unix)?;
        let footer_lines = layout::truncate_lines(
            layout::wrap(&footer_text(&generated), Face::Italic, size - 1.0, WIDTH)?,
            2,
            Face::Italic,
            size - 1.0,
            WIDTH,
        )?;
        let mut plan = Self {
            size,
            tables,
            fixed: 0.0,
            sub_lines,
            footer_lines,
        };
        plan.fixed = plan.fixed_height();
        Ok(plan)
    }

    /// Room between the margins.
    fn available(&self) -> f32 {
        PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    }

    /// Showing every row of every table.
    fn all_rows(&self) -> [usize; 3] {
        [0, 1, 2].map(|i| self.tables[i].as_ref().map_or(0, LaidTable::len))
    }

    /// Title, info lines, result frame, section titles, gaps and footer.
    fn fixed_height(&self) -> f32 {
        let s = self.size;
        let title = (s + 6.0) * 1.3 + s * 1.4;
        let info = 3.0 * s * 1.35 + 6.0;
        let banner = self.banner_height() + 8.0;
        let sections = 3.0 * (s + 1.5) * 1.6 + 3.0 * 8.0;
        let empty = self.tables.iter().filter(|t| t.is_none()).count() as f32 * s * 1.3;
        // Line counts are small; the conversion is exact.
        let footer = self.footer_lines.len() as f32 * s * 1.2 + 6.0;
        title + info + banner + sections + empty + footer
    }

    /// Height of the overall result frame.
    fn banner_height(&self) -> f32 {
        let s = self.size;
        // Line counts are small; the conversion is exact.
        (s + 3.0) * 1.3 + self.sub_lines.len() as f32 * s * 1.3 + 10.0
    }

    /// Total height when showing `shown[i]` rows of table `i`.
    fn height(&self, shown: &[usize; 3]) -> f32 {
        self.fixed
            + self
                .tables
                .iter()
                .zip(shown)
                .map(|(t, &n)| t.as_ref().map_or(0.0, |t| t.height(n)))
                .sum::<f32>()
    }

    /// How many rows of each table to show so the page is not overrun: all if they fit,
    /// otherwise rows are taken off the currently longest list, one at a time, keeping at least
    /// one row of each.
    fn rows_to_show(&self) -> [usize; 3] {
        let mut shown = self.all_rows();
        let available = self.available();
        while self.height(&shown) > available {
            // Pick the list showing the most rows; ties go to the later section (receipts,
            // then attachments), since signatures matter most to an auditor.
            let Some((i, _)) = shown
                .iter()
                .enumerate()
                .filter(|&(_, &n)| n > 1)
                .max_by_key(|&(i, &n)| (n, i))
            else {
                break;
            };
            shown[i] -= 1;
        }
        shown
    }

    /// Draws the page.
    fn draw(&self, view: &VerificationReportView) -> Result<Vec<u8>, Error> {
        let s = self.size;
        let shown = self.rows_to_show();
        let mut canvas = Canvas::new();
        let page = canvas.new_page();
        let center = MARGIN_LEFT + WIDTH / 2.0;
        let mut y = MARGIN_TOP;

        // Title.
        let title_size = s + 6.0;
        canvas.text(
            page,
            center,
            y + title_size,
            Align::Center,
            TextStyle::new(Face::Bold, title_size),
            "BÁO CÁO KIỂM TRA CHỮ KÝ SỐ VĂN BẢN ĐIỆN TỬ",
        )?;
        y += title_size * 1.3;
        canvas.text(
            page,
            center,
            y + s,
            Align::Center,
            TextStyle::new(Face::Italic, s),
            "Verification report — ETSI EN 319 102-1",
        )?;
        y += s * 1.4;

        // File, dispatch id, generation time.
        let label = TextStyle::new(Face::Bold, s);
        let value = TextStyle::new(Face::Regular, s);
        let mono = TextStyle::new(Face::Mono, s - 0.5);
        let label_width = 34.0 * MM;
        let generated = vietnam_datetime(view.generated_at_unix)?;
        let info: [(&str, &str, TextStyle); 3] = [
            ("Tệp:", view.file_name.as_str(), value),
            ("Mã văn bản:", view.dispatch_id.as_str(), mono),
            ("Thời điểm lập:", generated.as_str(), value),
        ];
        y += 6.0;
        for (l, v, style) in info {
            let base = y + s;
            canvas.text(page, MARGIN_LEFT, base, Align::Left, label, l)?;
            let fitted = layout::truncate_lines(
                layout::wrap(v, style.face, style.size, WIDTH - label_width)?,
                1,
                style.face,
                style.size,
                WIDTH - label_width,
            )?;
            if let Some(line) = fitted.first() {
                canvas.text(
                    page,
                    MARGIN_LEFT + label_width,
                    base,
                    Align::Left,
                    style,
                    &line.text(),
                )?;
            }
            y += s * 1.35;
        }

        // Overall result, framed in its colour.
        y += 4.0;
        let color = indication_color(view.indication);
        let banner = self.banner_height();
        canvas.stroke_rect(page, MARGIN_LEFT, y, WIDTH, banner, 1.5, color);
        let mut by = y + 5.0 + (s + 3.0);
        let first = TextStyle::new(Face::Bold, s + 3.0);
        let w = canvas.text(
            page,
            MARGIN_LEFT + 8.0,
            by,
            Align::Left,
            first,
            "Kết quả chung: ",
        )?;
        canvas.text(
            page,
            MARGIN_LEFT + 8.0 + w,
            by,
            Align::Left,
            first.colored(color),
            view.indication.label(),
        )?;
        for line in &self.sub_lines {
            by += s * 1.3;
            canvas.text(
                page,
                MARGIN_LEFT + 8.0,
                by,
                Align::Left,
                value,
                &line.text(),
            )?;
        }
        y += banner + 4.0;

        // The three tables.
        let counts = [
            view.signatures.len(),
            view.attachments.len(),
            view.receipts.len(),
        ];
        let section = TextStyle::new(Face::Bold, s + 1.5);
        for i in 0..3 {
            y += 8.0;
            canvas.text(
                page,
                MARGIN_LEFT,
                y + (s + 1.5) * 1.1,
                Align::Left,
                section,
                &format!("{} ({})", SECTIONS[i], counts[i]),
            )?;
            y += (s + 1.5) * 1.6;
            match &self.tables[i] {
                Some(table) => y = table.draw(&mut canvas, page, MARGIN_LEFT, y, shown[i])?,
                None => {
                    canvas.text(
                        page,
                        MARGIN_LEFT,
                        y + s,
                        Align::Left,
                        TextStyle::new(Face::Italic, s),
                        "(không có)",
                    )?;
                    y += s * 1.3;
                }
            }
        }

        // Footer at the foot of the page.
        let footer = TextStyle::new(Face::Italic, s - 1.0).colored(Color::GREY);
        // Line counts are small; the conversion is exact.
        let footer_top =
            PAGE_HEIGHT - MARGIN_BOTTOM - self.footer_lines.len() as f32 * s * 1.2 - 2.0;
        canvas.line(
            page,
            (MARGIN_LEFT, footer_top),
            (MARGIN_LEFT + WIDTH, footer_top),
            0.4,
            Color::GREY,
        );
        let mut fy = footer_top + 2.0;
        for line in &self.footer_lines {
            fy += s * 1.2;
            canvas.text(
                page,
                MARGIN_LEFT,
                fy - 0.25 * s,
                Align::Left,
                footer,
                &line.text(),
            )?;
        }
        canvas.finish(&format!("Báo cáo kiểm tra chữ ký số: {}", view.file_name))
    }
}

/// The footer: when and by what the report was made, and what the indications mean.
fn footer_text(generated: &str) -> String {
    format!(
        "Lập bởi congvan lúc {generated} (giờ Việt Nam, UTC+7). PASSED: hợp lệ; FAILED: không \
         hợp lệ; INDETERMINATE: chưa đủ căn cứ để kết luận."
    )
}

/// Green for PASSED, red for FAILED, amber for INDETERMINATE, the colours auditors expect.
fn indication_color(indication: Indication) -> Color {
    match indication {
        Indication::Passed => Color::GREEN,
        Indication::Failed => Color::RED,
        Indication::Indeterminate => Color::AMBER,
    }
}

/// Writes a byte count with dots between thousands, the Vietnamese convention: `482.113`.
fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_use_dots() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1.000");
        assert_eq!(group_thousands(482_113), "482.113");
        assert_eq!(group_thousands(1_234_567_890), "1.234.567.890");
    }
}
