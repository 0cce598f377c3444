//! The dispatch as an official document, laid out per Decree 30/2020/NĐ-CP (Appendix I).
//!
//! Page: A4 portrait, margins top 20 mm, bottom 20 mm, left 30 mm, right 15 mm. Header in two
//! columns: issuing authority, number and notation, and (for a công văn) the "V/v" subject on
//! the left; national title, motto and the place-and-date line on the right. Then the document
//! type and subject centred, the justified body, and at the end the signature block on the right
//! beside the "Nơi nhận" list on the left. Page numbers are centred in the top margin from page 2
//! on. The urgency and secrecy marks sit in red frames under the number, the organization's
//! digital seal in the top-right corner of page 1, and the QR code at the foot of page 1.

use crate::canvas::{Align, Canvas, Color, TextStyle, MM, PAGE_HEIGHT, PAGE_WIDTH};
use crate::date::{place_and_date_line, vietnam_datetime, vietnam_iso8601};
use crate::font::{self, Face};
use crate::layout::{self, Line};
use crate::qr::{Qr, QUIET_ZONE};
use crate::{DispatchView, Error, SignerView};

/// Top margin (Decree 30: 20-25 mm).
const MARGIN_TOP: f32 = 20.0 * MM;
/// Bottom margin (Decree 30: 20-25 mm).
const MARGIN_BOTTOM: f32 = 20.0 * MM;
/// Left margin (Decree 30: 30-35 mm), wide for binding.
const MARGIN_LEFT: f32 = 30.0 * MM;
/// Right margin (Decree 30: 15-20 mm).
const MARGIN_RIGHT: f32 = 15.0 * MM;
/// Width of the text block.
const TEXT_WIDTH: f32 = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
/// Lowest baseline area on a page.
const PAGE_BOTTOM: f32 = PAGE_HEIGHT - MARGIN_BOTTOM;
/// Width of the left header column (authority, number) and of the "Nơi nhận" list.
const LEFT_COLUMN: f32 = TEXT_WIDTH * 0.42;
/// Left edge of the right header column (national title) and of the signature block.
const RIGHT_X: f32 = MARGIN_LEFT + LEFT_COLUMN;
/// Width of the right column.
const RIGHT_COLUMN: f32 = TEXT_WIDTH - LEFT_COLUMN;
/// Space kept between the two columns' text.
const GUTTER: f32 = 6.0;

/// Body text size (Decree 30: 13-14 pt).
const BODY: f32 = 13.0;
/// Line pitch of body text: about 1.3 lines, inside the decree's single to 1.5 range.
const BODY_LEADING: f32 = BODY * 1.3;
/// Space after a paragraph (Decree 30: at least 6 pt).
const PARAGRAPH_SPACING: f32 = 6.0;
/// First-line indent of a paragraph (Decree 30: 1-1.27 cm).
const INDENT: f32 = 10.0 * MM;
/// Size of the authority lines, number, motto and date line.
const HEADER: f32 = 13.0;
/// Preferred size of the national title; shrunk if the column is too narrow.
const NATIONAL_TITLE: f32 = 12.5;
/// Size of the document type name and subject.
const TITLE: f32 = 14.0;
/// Size of the "V/v" subject of a công văn (Decree 30: 12-13 pt).
const CONG_VAN_SUBJECT: f32 = 12.0;
/// Size of the "Nơi nhận:" label (Decree 30: 12 pt bold italic).
const RECIPIENTS_LABEL: f32 = 12.0;
/// Size of the recipient lines (Decree 30: 11 pt).
const RECIPIENTS: f32 = 11.0;
/// Size of the digital signature and seal information (Decree 30: 10 pt).
const SIGNATURE_INFO: f32 = 10.0;
/// The mark of a paper copy beside its QR code.
const PAPER_COPY_NOTE: &str = "Bản giấy chuyển đổi từ văn bản điện tử (Điều 12 Luật Giao dịch \
    điện tử 2023). Văn bản gốc lưu trên hệ thống văn bản điện tử congvan của cơ quan ban hành; \
    tra cứu bằng mã QR hoặc tại:";

/// Side of the QR code including its quiet zone.
const QR_SIDE: f32 = 28.0 * MM;
/// Size of the caption beside the QR code.
const QR_CAPTION: f32 = 8.0;

/// Renders a dispatch as a PDF document in the Decree 30/2020/NĐ-CP layout.
///
/// Long bodies flow onto further pages (numbered from page 2, as the decree requires); the
/// signature block and the "Nơi nhận" list are kept together, moving to a new page if they do
/// not fit under the last paragraph. The output is deterministic: the same view gives the same
/// bytes.
///
/// # Errors
/// [`Error::InvalidDate`] for an impossible issuing date, [`Error::InvalidTimestamp`] for a
/// signing time out of range, [`Error::QrEncode`] for a QR payload too long to encode, and the
/// font errors only if the bundled fonts are broken.
pub fn render_dispatch(view: &DispatchView) -> Result<Vec<u8>, Error> {
    // An unverified dispatch shows no trace of a signature (see `DispatchView::verified`).
    let unsigned;
    let view = if view.verified {
        view
    } else {
        unsigned = DispatchView {
            signer: SignerView {
                digital_signature: None,
                ..view.signer.clone()
            },
            seal: None,
            ..view.clone()
        };
        &unsigned
    };
    let date_line = place_and_date_line(&view.place, &view.date)?;
    let qr = view.qr_payload.as_deref().map(Qr::encode).transpose()?;
    let mut doc = Doc::new(qr.as_ref().map_or(0.0, qr_reserve));
    doc.header(view, &date_line)?;
    doc.title(view)?;
    doc.body(&view.content)?;
    doc.signature_and_recipients(view)?;
    if let (Some(qr), Some(payload)) = (&qr, view.qr_payload.as_deref()) {
        doc.qr(qr, payload)?;
    }
    doc.page_numbers()?;
    if view.verified {
        doc.marks(&view.marks)?;
    } else {
        doc.not_verified_stamp()?;
    }
    let title = format!("{} {}", view.number.trim(), view.subject.trim());
    doc.canvas.finish(&title)
}

/// Layout state: the canvas, the page being filled and the cursor on it.
struct Doc {
    /// Where everything is drawn.
    canvas: Canvas,
    /// Index of the page being filled.
    page: usize,
    /// Top of the next thing to draw, in points from the top of the page.
    y: f32,
    /// Lowest point content may reach on the current page.
    bottom: f32,
}

impl Doc {
    /// A document with its first page started; `reserve` points are kept free at the foot
    /// of page 1 for the QR code.
    fn new(reserve: f32) -> Self {
        let mut canvas = Canvas::new();
        let page = canvas.new_page();
        Self {
            canvas,
            page,
            y: MARGIN_TOP,
            bottom: PAGE_BOTTOM - reserve,
        }
    }

    /// Makes room for `height` points, starting a new page if the current one is full.
    fn ensure(&mut self, height: f32) {
        if self.y + height > self.bottom && self.y > MARGIN_TOP {
            self.page = self.canvas.new_page();
            self.y = MARGIN_TOP;
            self.bottom = PAGE_BOTTOM;
        }
    }

    /// Draws `lines` centred on `center`, starting at `top`, and returns the new top.
    fn centered_lines(
        &mut self,
        lines: &[Line],
        center: f32,
        top: f32,
        style: TextStyle,
        leading: f32,
    ) -> Result<f32, Error> {
        let mut y = top;
        for line in lines {
            self.canvas.text(
                self.page,
                center,
                baseline(y, style.size, leading),
                Align::Center,
                style,
                &line.text(),
            )?;
            y += leading;
        }
        Ok(y)
    }

    /// The two-column header of page 1 and the seal box above it.
    fn header(&mut self, view: &DispatchView, date_line: &str) -> Result<(), Error> {
        let mut top = MARGIN_TOP;
        if let Some(seal) = &view.seal {
            let seal_bottom = self.seal_box(&seal.organization, seal.signed_at_unix)?;
            top = top.max(seal_bottom + 4.0);
        }
        let left_center = MARGIN_LEFT + (LEFT_COLUMN - GUTTER) / 2.0;
        let left_width = LEFT_COLUMN - GUTTER;
        let right_center = RIGHT_X + RIGHT_COLUMN / 2.0;
        let header_leading = HEADER * 1.25;

        // Left: parent authority (regular), issuing authority (bold), short rule.
        let mut yl = top;
        if let Some(parent) = view
            .parent_authority
            .as_deref()
            .filter(|p| !p.trim().is_empty())
        {
            let style = TextStyle::new(Face::Regular, HEADER);
            let lines = layout::wrap_balanced(parent, style.face, style.size, left_width)?;
            yl = self.centered_lines(&lines, left_center, yl, style, header_leading)?;
        }
        let authority_style = TextStyle::new(Face::Bold, HEADER);
        let authority =
            layout::wrap_balanced(&view.issuing_authority, Face::Bold, HEADER, left_width)?;
        yl = self.centered_lines(&authority, left_center, yl, authority_style, header_leading)?;
        let widest = authority.iter().map(|l| l.width).fold(0.0, f32::max);
        let rule = widest * 0.4;
        yl += 2.0;
        self.canvas.line(
            self.page,
            (left_center - rule / 2.0, yl),
            (left_center + rule / 2.0, yl),
            0.6,
            Color::BLACK,
        );

        // Right: national title (shrunk to fit), motto (bold) underlined over its full length.
        let national = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM";
        let national_size = fit_size(Face::Bold, national, NATIONAL_TITLE, 10.0, RIGHT_COLUMN)?;
        let national_style = TextStyle::new(Face::Bold, national_size);
        let mut yr = top;
        self.canvas.text(
            self.page,
            right_center,
            baseline(yr, HEADER, header_leading),
            Align::Center,
            national_style,
            national,
        )?;
        yr += header_leading;
        let motto = "Độc lập - Tự do - Hạnh phúc";
        let motto_style = TextStyle::new(Face::Bold, HEADER);
        let motto_width = self.canvas.text(
            self.page,
            right_center,
            baseline(yr, HEADER, header_leading),
            Align::Center,
            motto_style,
            motto,
        )?;
        yr += header_leading + 2.0;
        self.canvas.line(
            self.page,
            (right_center - motto_width / 2.0, yr),
            (right_center + motto_width / 2.0, yr),
            0.6,
            Color::BLACK,
        );

        // Same row: "Số: …" on the left, place and date on the right.
        let row = yl.max(yr) + 8.0;
        let number_style = TextStyle::new(Face::Regular, HEADER);
        let number = layout::wrap(
            &format!("Số: {}", view.number.trim()),
            Face::Regular,
            HEADER,
            left_width,
        )?;
        let mut yl =
            self.centered_lines(&number, left_center, row, number_style, header_leading)?;
        let date_style = TextStyle::new(Face::Italic, HEADER);
        let date = layout::wrap(date_line, Face::Italic, HEADER, RIGHT_COLUMN)?;
        let yr = self.centered_lines(&date, right_center, row, date_style, header_leading)?;

        // Left, under the number: a công văn's subject, then the secrecy and urgency marks.
        if document_type(view).is_none() {
            let style = TextStyle::new(Face::Regular, CONG_VAN_SUBJECT);
            let subject = layout::wrap_balanced(
                &format!("V/v {}", view.subject.trim()),
                style.face,
                style.size,
                left_width,
            )?;
            yl = self.centered_lines(
                &subject,
                left_center,
                yl + 2.0,
                style,
                CONG_VAN_SUBJECT * 1.25,
            )?;
        }
        let marks = [
            view.secrecy.map(|s| s.label()),
            view.urgency.map(|u| u.label()),
        ];
        for label in marks.into_iter().flatten() {
            yl = self.mark(label, left_center, yl + 6.0)?;
        }

        self.y = yl.max(yr) + 12.0;
        Ok(())
    }

    /// A red, framed mark (urgency or secrecy) centred on `center` with its frame's top at
    /// `top`; returns the frame's bottom.
    fn mark(&mut self, label: &str, center: f32, top: f32) -> Result<f32, Error> {
        let style = TextStyle::new(Face::Bold, HEADER).colored(Color::RED);
        let width = style.measure(label)?;
        let metrics = font::vertical_metrics(Face::Bold, HEADER)?;
        let pad_x = 2.0 * MM;
        let pad_y = 1.6 * MM;
        let height = metrics.cap_height + 2.0 * pad_y + metrics.descent * 0.5;
        let frame_width = width + 2.0 * pad_x;
        self.canvas.stroke_rect(
            self.page,
            center - frame_width / 2.0,
            top,
            frame_width,
            height,
            1.0,
            Color::RED,
        );
        self.canvas.text(
            self.page,
            center,
            top + pad_y + metrics.cap_height + metrics.descent * 0.25,
            Align::Center,
            style,
            label,
        )?;
        Ok(top + height)
    }

    /// The organization's digital seal: a thin box in the top-right corner of page 1 with the
    /// organization name and the signing time. Returns the box's bottom.
    fn seal_box(&mut self, organization: &str, signed_at: i64) -> Result<f32, Error> {
        let style = TextStyle::new(Face::Regular, SIGNATURE_INFO);
        let leading = SIGNATURE_INFO * 1.25;
        let pad = 4.0;
        let max_text = 90.0 * MM - 2.0 * pad;
        let mut lines = layout::wrap(organization, style.face, style.size, max_text)?;
        lines.extend(layout::wrap(
            &format!("Thời gian ký: {}", vietnam_iso8601(signed_at)?),
            style.face,
            style.size,
            max_text,
        )?);
        let text_width = lines.iter().map(|l| l.width).fold(0.0, f32::max);
        let box_width = text_width + 2.0 * pad;
        // Lines are few; the count converts to f32 exactly.
        let box_height = lines.len() as f32 * leading + 2.0 * pad - (leading - style.size);
        let right = PAGE_WIDTH - MARGIN_RIGHT;
        let top = 7.0 * MM;
        self.canvas.stroke_rect(
            self.page,
            right - box_width,
            top,
            box_width,
            box_height,
            0.5,
            Color::BLACK,
        );
        let mut y = top + pad;
        for line in &lines {
            self.canvas.text(
                self.page,
                right - box_width + pad,
                y + style.size * 0.8,
                Align::Left,
                style,
                &line.text(),
            )?;
            y += leading;
        }
        Ok(top + box_height)
    }

    /// The document type name and subject, centred, with a short rule under the subject.
    /// A công văn has neither here (its subject is under the number).
    fn title(&mut self, view: &DispatchView) -> Result<(), Error> {
        let Some(kind) = document_type(view) else {
            return Ok(());
        };
        let center = MARGIN_LEFT + TEXT_WIDTH / 2.0;
        let style = TextStyle::new(Face::Bold, TITLE);
        let leading = TITLE * 1.3;
        let kind_lines = layout::wrap(kind, Face::Bold, TITLE, TEXT_WIDTH)?;
        let y = self.centered_lines(&kind_lines, center, self.y, style, leading)?;
        let subject = layout::wrap_balanced(&view.subject, Face::Bold, TITLE, TEXT_WIDTH * 0.85)?;
        let mut y = self.centered_lines(&subject, center, y, style, leading)?;
        let widest = subject.iter().map(|l| l.width).fold(0.0, f32::max);
        if widest > 0.0 {
            let rule = (widest * 0.35).max(40.0);
            y += 2.0;
            self.canvas.line(
                self.page,
                (center - rule / 2.0, y),
                (center + rule / 2.0, y),
                0.6,
                Color::BLACK,
            );
        }
        self.y = y + 14.0;
        Ok(())
    }

    /// The body: justified paragraphs with a first-line indent, flowing across pages.
    fn body(&mut self, paragraphs: &[String]) -> Result<(), Error> {
        let regular = TextStyle::new(Face::Regular, BODY);
        for paragraph in paragraphs {
            if is_heading(paragraph) {
                let style = TextStyle::new(Face::Bold, BODY);
                let lines = layout::wrap(paragraph, Face::Bold, BODY, TEXT_WIDTH)?;
                for line in &lines {
                    self.ensure(BODY_LEADING);
                    self.canvas.text(
                        self.page,
                        MARGIN_LEFT + TEXT_WIDTH / 2.0,
                        baseline(self.y, BODY, BODY_LEADING),
                        Align::Center,
                        style,
                        &line.text(),
                    )?;
                    self.y += BODY_LEADING;
                }
                self.y += PARAGRAPH_SPACING;
                continue;
            }
            let lines = layout::wrap_indented(
                paragraph,
                Face::Regular,
                BODY,
                TEXT_WIDTH - INDENT,
                TEXT_WIDTH,
            )?;
            let last = lines.len().saturating_sub(1);
            for (i, line) in lines.iter().enumerate() {
                self.ensure(BODY_LEADING);
                let (x, width) = if i == 0 {
                    (MARGIN_LEFT + INDENT, TEXT_WIDTH - INDENT)
                } else {
                    (MARGIN_LEFT, TEXT_WIDTH)
                };
                let y = baseline(self.y, BODY, BODY_LEADING);
                if i == last {
                    self.canvas
                        .text(self.page, x, y, Align::Left, regular, &line.text())?;
                } else {
                    self.canvas
                        .justified_line(self.page, x, y, regular, line, width)?;
                }
                self.y += BODY_LEADING;
            }
            if !lines.is_empty() {
                self.y += PARAGRAPH_SPACING;
            }
        }
        Ok(())
    }

    /// The signature block (right) beside the "Nơi nhận" list (left), kept on one page.
    fn signature_and_recipients(&mut self, view: &DispatchView) -> Result<(), Error> {
        let signer = &view.signer;
        let header_leading = HEADER * 1.25;
        let bold = TextStyle::new(Face::Bold, HEADER);
        let sig_width = RIGHT_COLUMN;
        let sig_center = RIGHT_X + RIGHT_COLUMN / 2.0;

        // Measure the signature block.
        let mut title_lines = Vec::new();
        for text in signer
            .authority_lines
            .iter()
            .chain(std::iter::once(&signer.position))
        {
            title_lines.extend(layout::wrap(text, Face::Bold, HEADER, sig_width)?);
        }
        let info_style = TextStyle::new(Face::Regular, SIGNATURE_INFO).colored(Color::BLUE);
        let info_leading = SIGNATURE_INFO * 1.3;
        let info_pad = 5.0;
        let mut info_lines = Vec::new();
        if let Some(sig) = &signer.digital_signature {
            let max = sig_width - 2.0 * info_pad - 10.0;
            info_lines.extend(layout::wrap(
                &format!("Ký số bởi: {}", sig.signer.trim()),
                Face::Regular,
                SIGNATURE_INFO,
                max,
            )?);
            info_lines.extend(layout::wrap(
                &format!("Thời gian ký: {}", vietnam_datetime(sig.signed_at_unix)?),
                Face::Regular,
                SIGNATURE_INFO,
                max,
            )?);
        }
        // Line counts are small; the conversions to f32 are exact.
        let info_height = if info_lines.is_empty() {
            0.0
        } else {
            info_lines.len() as f32 * info_leading + 2.0 * info_pad
                - (info_leading - SIGNATURE_INFO)
        };
        let signature_space = (info_height + 24.0).max(62.0);
        let name_lines = layout::wrap(&signer.full_name, Face::Bold, HEADER, sig_width)?;
        let sig_height = title_lines.len() as f32 * header_leading
            + signature_space
            + name_lines.len() as f32 * header_leading;

        // Measure the recipients list (label plus hanging-indented entries).
        let label_style = TextStyle::new(Face::BoldItalic, RECIPIENTS_LABEL);
        let item_style = TextStyle::new(Face::Regular, RECIPIENTS);
        let item_leading = RECIPIENTS * 1.2;
        let dash = item_style.measure("- ")?;
        let list_width = LEFT_COLUMN - GUTTER;
        let mut items: Vec<Vec<Line>> = Vec::new();
        for r in &view.recipients {
            let text = format!("- {}", r.trim());
            items.push(layout::wrap_indented(
                &text,
                Face::Regular,
                RECIPIENTS,
                list_width,
                list_width - dash,
            )?);
        }
        let label_height = if view.recipients.is_empty() {
            0.0
        } else {
            RECIPIENTS_LABEL * 1.3
        };
        let list_lines: usize = items.iter().map(Vec::len).sum();
        let list_height = label_height + list_lines as f32 * item_leading;

        let gap = BODY_LEADING * 0.5;
        self.y += gap;
        self.ensure(sig_height.max(list_height));

        // Recipients taller than the room left are cut, with a count of what was left out.
        let room = self.bottom - self.y;
        if list_height > room {
            let mut used = label_height + item_leading; // keep a line for the "… và N nơi khác"
            let mut keep = 0;
            for item in &items {
                let h = item.len() as f32 * item_leading;
                if used + h > room {
                    break;
                }
                used += h;
                keep += 1;
            }
            let dropped = items.len() - keep;
            items.truncate(keep);
            items.push(vec![Line {
                words: vec![format!("- … và {dropped} nơi nhận khác.")],
                width: 0.0,
            }]);
        }

        // Signature block.
        let top = self.y;
        let mut y = self.centered_lines(&title_lines, sig_center, top, bold, header_leading)?;
        if !info_lines.is_empty() {
            let text_width = info_lines.iter().map(|l| l.width).fold(0.0, f32::max);
            let box_width = text_width + 2.0 * info_pad;
            let box_top = y + (signature_space - info_height) / 2.0;
            self.canvas.stroke_rect(
                self.page,
                sig_center - box_width / 2.0,
                box_top,
                box_width,
                info_height,
                0.6,
                Color::BLUE,
            );
            let mut line_y = box_top + info_pad;
            for line in &info_lines {
                self.canvas.text(
                    self.page,
                    sig_center - text_width / 2.0,
                    line_y + SIGNATURE_INFO * 0.8,
                    Align::Left,
                    info_style,
                    &line.text(),
                )?;
                line_y += info_leading;
            }
        }
        y += signature_space;
        let y = self.centered_lines(&name_lines, sig_center, y, bold, header_leading)?;

        // Recipients list, starting level with the first line of the signature block.
        let mut ly = top;
        if !view.recipients.is_empty() {
            // The label's baseline sits with the signature block's first baseline.
            self.canvas.text(
                self.page,
                MARGIN_LEFT,
                baseline(ly, HEADER, header_leading),
                Align::Left,
                label_style,
                "Nơi nhận:",
            )?;
            ly += label_height;
            for item in &items {
                for (i, line) in item.iter().enumerate() {
                    let x = if i == 0 {
                        MARGIN_LEFT
                    } else {
                        MARGIN_LEFT + dash
                    };
                    self.canvas.text(
                        self.page,
                        x,
                        baseline(ly, RECIPIENTS, item_leading),
                        Align::Left,
                        item_style,
                        &line.text(),
                    )?;
                    ly += item_leading;
                }
            }
        }
        self.y = y.max(ly);
        Ok(())
    }

    /// The QR code at the foot of page 1, left-aligned with the text (its quiet zone hangs
    /// into the margin), with a caption giving the encoded text for people without a scanner.
    /// Page 1's content stops above it (see [`qr_reserve`]).
    fn qr(&mut self, qr: &Qr, payload: &str) -> Result<(), Error> {
        let quiet = quiet_zone(qr);
        let top = PAGE_BOTTOM - QR_SIDE + quiet;
        qr.draw(&mut self.canvas, 0, MARGIN_LEFT - quiet, top, QR_SIDE);
        // The caption starts after the quiet zone, which must stay blank for scanners.
        let caption_x = MARGIN_LEFT - quiet + QR_SIDE + 2.0;
        let caption_width = PAGE_WIDTH - MARGIN_RIGHT - caption_x;
        let label = TextStyle::new(Face::Italic, QR_CAPTION);
        // The payload in the regular face: a monospace face would add a whole font subset
        // (~7 KB) for one line.
        let code = TextStyle::new(Face::Regular, QR_CAPTION - 0.5);
        let visible_top = top + quiet;
        let mut y = visible_top;
        // A printed copy says that it is one, and where the original is
        // looked up (Law on Electronic Transactions 2023, art. 12).
        for line in layout::wrap(PAPER_COPY_NOTE, label.face, label.size, caption_width)? {
            y += QR_CAPTION * 1.25;
            self.canvas
                .text(0, caption_x, y, Align::Left, label, &line.text())?;
        }
        for line in layout::wrap(payload, code.face, code.size, caption_width)? {
            y += QR_CAPTION * 1.25;
            self.canvas
                .text(0, caption_x, y, Align::Left, code, &line.text())?;
        }
        Ok(())
    }

    /// "CHƯA XÁC THỰC" across the top margin of every page, for a dispatch rendered without
    /// verifying its signatures.
    fn not_verified_stamp(&mut self) -> Result<(), Error> {
        let mark = TextStyle::new(Face::Bold, 14.0).colored(Color::RED);
        let note = TextStyle::new(Face::Italic, 9.0).colored(Color::RED);
        for page in 0..self.canvas.page_count() {
            self.canvas.text(
                page,
                MARGIN_LEFT + TEXT_WIDTH / 2.0,
                MARGIN_TOP - 13.0 * MM,
                Align::Center,
                mark,
                "CHƯA XÁC THỰC",
            )?;
            self.canvas.text(
                page,
                MARGIN_LEFT + TEXT_WIDTH / 2.0,
                MARGIN_TOP - 9.5 * MM,
                Align::Center,
                note,
                "Chữ ký số chưa được kiểm tra: kiểm tra bằng congvan dispatch verify",
            )?;
        }
        Ok(())
    }

    /// The view's marks, in red in the top margin of the first page, where
    /// an unverified copy has its stamp instead (an unverified copy says
    /// nothing but that it is unverified).
    fn marks(&mut self, marks: &[String]) -> Result<(), Error> {
        let style = TextStyle::new(Face::Bold, 10.0).colored(Color::RED);
        for (i, mark) in marks.iter().take(2).enumerate() {
            for (j, line) in layout::wrap(mark, Face::Bold, 10.0, TEXT_WIDTH)?
                .iter()
                .take(1)
                .enumerate()
            {
                self.canvas.text(
                    0,
                    MARGIN_LEFT + TEXT_WIDTH / 2.0,
                    MARGIN_TOP - (13.0 - 4.5 * (i + j) as f32) * MM,
                    Align::Center,
                    style,
                    &line.text(),
                )?;
            }
        }
        Ok(())
    }

    /// Page numbers centred in the top margin, from page 2 on (Decree 30 leaves page 1
    /// unnumbered).
    fn page_numbers(&mut self) -> Result<(), Error> {
        let style = TextStyle::new(Face::Regular, BODY);
        for page in 1..self.canvas.page_count() {
            self.canvas.text(
                page,
                MARGIN_LEFT + TEXT_WIDTH / 2.0,
                MARGIN_TOP - 6.0 * MM,
                Align::Center,
                style,
                &(page + 1).to_string(),
            )?;
        }
        Ok(())
    }
}

/// The document type name, or `None` for a công văn (no type, or a blank one), which decides
/// where the subject goes.
fn document_type(view: &DispatchView) -> Option<&str> {
    view.document_type
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

/// Width of the QR code's quiet zone on the page.
fn quiet_zone(qr: &Qr) -> f32 {
    // Module counts are at most 185; the conversions are exact.
    QR_SIDE / (qr.modules() + 2 * QUIET_ZONE) as f32 * QUIET_ZONE as f32
}

/// Height kept free at the foot of page 1 for the QR code: its visible part plus a gap.
fn qr_reserve(qr: &Qr) -> f32 {
    QR_SIDE - 2.0 * quiet_zone(qr) + 8.0
}

/// Baseline of a line whose box starts at `top`, for text of `size` in a line of `leading`:
/// the extra leading is split evenly above and below the glyphs.
fn baseline(top: f32, size: f32, leading: f32) -> f32 {
    top + (leading - size) / 2.0 + size * 0.8
}

/// The largest size from `preferred` down to `min` (in half points) at which `text` fits
/// `width`; `min` if none does.
fn fit_size(face: Face, text: &str, preferred: f32, min: f32, width: f32) -> Result<f32, Error> {
    let mut size = preferred;
    while size > min {
        if font::measure(face, size, text)? <= width {
            return Ok(size);
        }
        size -= 0.5;
    }
    Ok(min)
}

/// Whether a paragraph is a heading such as "QUYẾT ĐỊNH:" or the issuing authority line above
/// the preamble: written in capitals (no lower-case letter) and short. Decree 30 centres these
/// in bold.
fn is_heading(paragraph: &str) -> bool {
    let p = paragraph.trim();
    p.chars().count() <= 80
        && p.chars().any(char::is_alphabetic)
        && !p.chars().any(char::is_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_are_recognised() {
        assert!(is_heading("QUYẾT ĐỊNH:"));
        assert!(is_heading("  NGHỊ QUYẾT: "));
        assert!(!is_heading("Quyết định:"));
        assert!(is_heading("CHỦ TỊCH ỦY BAN NHÂN DÂN TỈNH HÀ TĨNH"));
        assert!(!is_heading("Điều 1. QUY ĐỊNH CHUNG"));
        assert!(!is_heading(":"));
        assert!(!is_heading("1."));
    }

    #[test]
    fn national_title_fits_the_right_column() -> Result<(), Error> {
        let title = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM";
        let size = fit_size(Face::Bold, title, NATIONAL_TITLE, 10.0, RIGHT_COLUMN)?;
        assert!(font::measure(Face::Bold, size, title)? <= RIGHT_COLUMN);
        assert!(size >= 11.0, "national title shrunk to {size} pt");
        Ok(())
    }
}
