//! The drawing surface: A4 pages with text, lines and rectangles, assembled into a PDF.
//!
//! Coordinates are in points measured from the top-left corner of the page (y grows
//! downwards), which is how layouts are reasoned about; the conversion to PDF's bottom-up
//! space happens only here. Each drawn line of text is one text object with one showing
//! operator and real space glyphs between words, so text extraction returns it in reading
//! order with its spaces.

use pdf_writer::{Content, Filter, Finish, Pdf, Rect, Ref, Str, TextStr};

use crate::font::{self, Face, FontBook};
use crate::layout::Line;
use crate::Error;

/// Millimetres to points.
pub(crate) const MM: f32 = 72.0 / 25.4;
/// A4 width in points.
pub(crate) const PAGE_WIDTH: f32 = 210.0 * MM;
/// A4 height in points.
pub(crate) const PAGE_HEIGHT: f32 = 297.0 * MM;

/// An RGB colour with components in 0..=1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Color(pub(crate) f32, pub(crate) f32, pub(crate) f32);

impl Color {
    /// Ordinary text.
    pub(crate) const BLACK: Color = Color(0.0, 0.0, 0.0);
    /// Urgency and secrecy marks (Decree 30: "màu đỏ tươi").
    pub(crate) const RED: Color = Color(0.86, 0.0, 0.0);
    /// Digital signature information, in the blue used for signatures.
    pub(crate) const BLUE: Color = Color(0.0, 0.2, 0.6);
    /// PASSED.
    pub(crate) const GREEN: Color = Color(0.0, 0.5, 0.15);
    /// INDETERMINATE.
    pub(crate) const AMBER: Color = Color(0.8, 0.45, 0.0);
    /// Rules and table borders.
    pub(crate) const GREY: Color = Color(0.55, 0.55, 0.55);
    /// Table header background.
    pub(crate) const LIGHT_GREY: Color = Color(0.92, 0.92, 0.92);
}

/// Face, size and colour of a piece of text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TextStyle {
    /// The typeface.
    pub(crate) face: Face,
    /// Size in points.
    pub(crate) size: f32,
    /// Fill colour.
    pub(crate) color: Color,
}

impl TextStyle {
    /// Black text in `face` at `size`.
    pub(crate) const fn new(face: Face, size: f32) -> Self {
        Self {
            face,
            size,
            color: Color::BLACK,
        }
    }

    /// The same style in another colour.
    pub(crate) const fn colored(self, color: Color) -> Self {
        Self { color, ..self }
    }

    /// Width of `text` in this style.
    pub(crate) fn measure(&self, text: &str) -> Result<f32, Error> {
        font::measure(self.face, self.size, text)
    }
}

/// Horizontal placement of a line of text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Align {
    /// Starts at `x`.
    Left,
    /// Centred on `x`.
    Center,
}

/// Pages being drawn, and the fonts they use.
pub(crate) struct Canvas {
    /// Glyph usage for subsetting.
    fonts: FontBook,
    /// One content stream per page.
    pages: Vec<Content>,
}

impl Canvas {
    /// An empty document.
    pub(crate) fn new() -> Self {
        Self {
            fonts: FontBook::new(),
            pages: Vec::new(),
        }
    }

    /// Adds a blank page and returns its index.
    pub(crate) fn new_page(&mut self) -> usize {
        self.pages.push(Content::new());
        self.pages.len() - 1
    }

    /// Number of pages so far.
    pub(crate) fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// The content stream of a page; an out-of-range index (a layout bug) draws onto a
    /// fresh page rather than panicking.
    fn content(&mut self, page: usize) -> &mut Content {
        while self.pages.len() <= page {
            self.pages.push(Content::new());
        }
        &mut self.pages[page]
    }

    /// Draws one line of text with its baseline at `baseline` (from the top), aligned on `x`.
    /// Returns the drawn width.
    pub(crate) fn text(
        &mut self,
        page: usize,
        x: f32,
        baseline: f32,
        align: Align,
        style: TextStyle,
        text: &str,
    ) -> Result<f32, Error> {
        let width = style.measure(text)?;
        let left = match align {
            Align::Left => x,
            Align::Center => x - width / 2.0,
        };
        let encoded = self.fonts.encode(style.face, text)?;
        let content = self.content(page);
        begin_text(content, left, baseline, style);
        content.show(Str(&encoded));
        content.end_text();
        Ok(width)
    }

    /// Draws a wrapped line stretched to `target_width` by widening the spaces, as justified
    /// paragraphs need. Still one `TJ` per line with real space glyphs, the extra width given
    /// as positioning adjustments after them. A line with one word, or one that is already as
    /// wide as the target, is drawn as is.
    pub(crate) fn justified_line(
        &mut self,
        page: usize,
        x: f32,
        baseline: f32,
        style: TextStyle,
        line: &Line,
        target_width: f32,
    ) -> Result<(), Error> {
        let gaps = line.words.len().saturating_sub(1);
        let extra = target_width - line.width;
        if gaps == 0 || extra <= 0.0 {
            self.text(page, x, baseline, Align::Left, style, &line.text())?;
            return Ok(());
        }
        // The gap count is tiny, so the conversion to f32 is exact.
        let per_gap = extra / gaps as f32;
        // TJ adjustments are in thousandths of the font size; negative moves right.
        let adjust = -per_gap * 1000.0 / style.size;
        let mut encoded = Vec::with_capacity(line.words.len());
        for (i, word) in line.words.iter().enumerate() {
            let mut text = word.clone();
            if i + 1 < line.words.len() {
                text.push(' ');
            }
            encoded.push(self.fonts.encode(style.face, &text)?);
        }
        let content = self.content(page);
        begin_text(content, x, baseline, style);
        {
            let mut shown = content.show_positioned();
            let mut items = shown.items();
            for (i, bytes) in encoded.iter().enumerate() {
                items.show(Str(bytes));
                if i + 1 < encoded.len() {
                    items.adjust(adjust);
                }
            }
        }
        content.end_text();
        Ok(())
    }

    /// Draws a straight line.
    pub(crate) fn line(
        &mut self,
        page: usize,
        (x1, y1): (f32, f32),
        (x2, y2): (f32, f32),
        width: f32,
        color: Color,
    ) {
        let content = self.content(page);
        content
            .set_line_width(width)
            .set_stroke_rgb(color.0, color.1, color.2)
            .move_to(x1, PAGE_HEIGHT - y1)
            .line_to(x2, PAGE_HEIGHT - y2)
            .stroke();
    }

    /// Fills a rectangle whose top-left corner is `(x, top)`.
    pub(crate) fn fill_rect(
        &mut self,
        page: usize,
        x: f32,
        top: f32,
        w: f32,
        h: f32,
        color: Color,
    ) {
        let content = self.content(page);
        content
            .set_fill_rgb(color.0, color.1, color.2)
            .rect(x, PAGE_HEIGHT - top - h, w, h)
            .fill_nonzero();
    }

    /// Fills many black rectangles at once (QR modules): one path, one fill.
    pub(crate) fn fill_rects(&mut self, page: usize, rects: &[(f32, f32, f32, f32)]) {
        if rects.is_empty() {
            return;
        }
        let content = self.content(page);
        content.set_fill_rgb(0.0, 0.0, 0.0);
        for &(x, top, w, h) in rects {
            content.rect(x, PAGE_HEIGHT - top - h, w, h);
        }
        content.fill_nonzero();
    }

    /// Strokes the outline of a rectangle whose top-left corner is `(x, top)`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn stroke_rect(
        &mut self,
        page: usize,
        x: f32,
        top: f32,
        w: f32,
        h: f32,
        width: f32,
        color: Color,
    ) {
        let content = self.content(page);
        content
            .set_line_width(width)
            .set_stroke_rgb(color.0, color.1, color.2)
            .rect(x, PAGE_HEIGHT - top - h, w, h)
            .stroke();
    }

    /// Writes the document: catalog (language Vietnamese), page tree, pages with their
    /// compressed content streams, the embedded font subsets and an info dictionary whose
    /// title is `title`. No creation date is written, so output is reproducible.
    pub(crate) fn finish(mut self, title: &str) -> Result<Vec<u8>, Error> {
        if self.pages.is_empty() {
            self.new_page();
        }
        let mut pdf = Pdf::new();
        let catalog_ref = Ref::new(1);
        let tree_ref = Ref::new(2);
        let info_ref = Ref::new(3);
        let mut next_id = 4;
        let page_refs: Vec<(Ref, Ref)> = (0..self.pages.len())
            .map(|_| {
                let page = Ref::new(next_id);
                let content = Ref::new(next_id + 1);
                next_id += 2;
                (page, content)
            })
            .collect();

        let fonts = self.fonts.embed(&mut pdf, &mut next_id)?;

        pdf.catalog(catalog_ref).pages(tree_ref).lang(TextStr("vi"));
        pdf.pages(tree_ref)
            .kids(page_refs.iter().map(|&(page, _)| page))
            // Page counts are tiny, far below i32::MAX.
            .count(i32::try_from(page_refs.len()).unwrap_or(i32::MAX));
        pdf.document_info(info_ref)
            .title(TextStr(title))
            .producer(TextStr("congvan-render"));

        for (content, &(page_ref, content_ref)) in self.pages.into_iter().zip(&page_refs) {
            let mut page = pdf.page(page_ref);
            page.parent(tree_ref)
                .media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
                .contents(content_ref);
            {
                let mut resources = page.resources();
                let mut dict = resources.fonts();
                for &(face, font_ref) in &fonts {
                    dict.pair(face.resource_name(), font_ref);
                }
            }
            page.finish();
            let data = font::compress(&content.finish());
            pdf.stream(content_ref, &data).filter(Filter::FlateDecode);
        }
        Ok(pdf.finish())
    }
}

/// Starts a text object at `(x, baseline)` (top-down coordinates) in `style`.
fn begin_text(content: &mut Content, x: f32, baseline: f32, style: TextStyle) {
    let Color(r, g, b) = style.color;
    content
        .begin_text()
        .set_font(style.face.resource_name(), style.size)
        .set_fill_rgb(r, g, b)
        .next_line(x, PAGE_HEIGHT - baseline);
}
