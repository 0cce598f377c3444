//! Ruled tables with wrapped cells, for the verification report.
//!
//! A table is laid out once (every cell wrapped to its column) so its row heights are known
//! before anything is drawn; the report uses those heights to decide how many rows fit on its
//! single page, then draws only those, followed by a "… và N mục khác" row for the rest.

use crate::canvas::{Align, Canvas, Color, TextStyle};
use crate::layout::{self, Line};
use crate::Error;

/// Padding inside each cell, in points.
const PAD: f32 = 2.5;
/// Line pitch as a multiple of the text size.
const LEADING: f32 = 1.22;

/// A run of text inside a cell, wrapped on its own (a cell can mix styles line by line).
#[derive(Debug, Clone)]
pub(crate) struct Part {
    /// The text.
    pub(crate) text: String,
    /// How it is drawn.
    pub(crate) style: TextStyle,
}

impl Part {
    /// A part in `style`.
    pub(crate) fn new(text: impl Into<String>, style: TextStyle) -> Self {
        Self {
            text: text.into(),
            style,
        }
    }
}

/// A table to lay out: column titles with their share of the width, and rows of cells.
pub(crate) struct Table {
    /// Title and relative width of each column.
    pub(crate) columns: Vec<(&'static str, f32)>,
    /// Each row has one cell (a list of parts) per column.
    pub(crate) rows: Vec<Vec<Vec<Part>>>,
}

/// A laid-out cell: its lines with their styles.
type LaidCell = Vec<(Line, TextStyle)>;

/// A table wrapped to a width, with every row's height known.
pub(crate) struct LaidTable {
    /// Absolute column widths.
    widths: Vec<f32>,
    /// The header row.
    header: Vec<LaidCell>,
    /// Header height.
    header_height: f32,
    /// The body rows and their heights.
    rows: Vec<(Vec<LaidCell>, f32)>,
    /// Style of the "… và N mục khác" row.
    more_style: TextStyle,
}

/// Wraps each part of a cell and caps the cell at `max_lines` (ending with "…").
fn lay_cell(parts: &[Part], width: f32, max_lines: usize) -> Result<LaidCell, Error> {
    let inner = (width - 2.0 * PAD).max(1.0);
    let mut cell: LaidCell = Vec::new();
    for part in parts {
        for line in layout::wrap(&part.text, part.style.face, part.style.size, inner)? {
            cell.push((line, part.style));
        }
    }
    if cell.len() > max_lines {
        cell.truncate(max_lines);
        if let Some((last, style)) = cell.pop() {
            let filler = Line {
                words: Vec::new(),
                width: 0.0,
            };
            let cut = layout::truncate_lines(vec![last, filler], 1, style.face, style.size, inner)?;
            cell.extend(cut.into_iter().map(|l| (l, style)));
        }
    }
    Ok(cell)
}

/// Height of a row of laid cells.
fn row_height(cells: &[LaidCell]) -> f32 {
    cells
        .iter()
        .map(|c| c.iter().map(|(_, s)| s.size * LEADING).sum::<f32>())
        .fold(0.0, f32::max)
        + 2.0 * PAD
}

impl Table {
    /// Wraps every cell for a table `width` points wide. Header titles use `header_style`;
    /// cells are capped at `max_lines` lines each.
    pub(crate) fn lay_out(
        &self,
        width: f32,
        header_style: TextStyle,
        more_style: TextStyle,
        max_lines: usize,
    ) -> Result<LaidTable, Error> {
        let total: f32 = self.columns.iter().map(|&(_, w)| w).sum();
        let widths: Vec<f32> = self
            .columns
            .iter()
            .map(|&(_, w)| width * w / total.max(f32::EPSILON))
            .collect();
        let header = self
            .columns
            .iter()
            .zip(&widths)
            .map(|(&(title, _), &w)| lay_cell(&[Part::new(title, header_style)], w, 2))
            .collect::<Result<Vec<_>, _>>()?;
        let header_height = row_height(&header);
        let mut rows = Vec::with_capacity(self.rows.len());
        for row in &self.rows {
            let cells = row
                .iter()
                .zip(&widths)
                .map(|(parts, &w)| lay_cell(parts, w, max_lines))
                .collect::<Result<Vec<_>, _>>()?;
            let h = row_height(&cells);
            rows.push((cells, h));
        }
        Ok(LaidTable {
            widths,
            header,
            header_height,
            rows,
            more_style,
        })
    }
}

impl LaidTable {
    /// Number of body rows.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Height of the "… và N mục khác" row.
    pub(crate) fn more_height(&self) -> f32 {
        self.more_style.size * LEADING + 2.0 * PAD
    }

    /// Height when showing the first `shown` rows (plus the "more" row if any are hidden).
    pub(crate) fn height(&self, shown: usize) -> f32 {
        let shown = shown.min(self.rows.len());
        let rows: f32 = self.rows[..shown].iter().map(|r| r.1).sum();
        let more = if shown < self.rows.len() {
            self.more_height()
        } else {
            0.0
        };
        self.header_height + rows + more
    }

    /// Draws the header and the first `shown` rows at `(x, top)`, then a row counting the
    /// hidden ones; returns the bottom of the table.
    pub(crate) fn draw(
        &self,
        canvas: &mut Canvas,
        page: usize,
        x: f32,
        top: f32,
        shown: usize,
    ) -> Result<f32, Error> {
        let shown = shown.min(self.rows.len());
        let width: f32 = self.widths.iter().sum();
        canvas.fill_rect(page, x, top, width, self.header_height, Color::LIGHT_GREY);
        let mut y = top;
        let mut row_tops = vec![y];
        self.draw_cells(canvas, page, x, y, &self.header)?;
        y += self.header_height;
        row_tops.push(y);
        for (cells, h) in &self.rows[..shown] {
            self.draw_cells(canvas, page, x, y, cells)?;
            y += h;
            row_tops.push(y);
        }
        // Column rules stop where the "more" row (which spans the table) starts.
        let columns_bottom = y;
        let hidden = self.rows.len() - shown;
        if hidden > 0 {
            let text = format!("… và {hidden} mục khác (and {hidden} more)");
            let size = self.more_style.size;
            canvas.text(
                page,
                x + PAD,
                y + PAD + size * 0.85,
                Align::Left,
                self.more_style,
                &text,
            )?;
            y += self.more_height();
            row_tops.push(y);
        }
        for &ry in &row_tops {
            canvas.line(page, (x, ry), (x + width, ry), 0.4, Color::GREY);
        }
        let mut cx = x;
        canvas.line(page, (cx, top), (cx, y), 0.4, Color::GREY);
        for (i, w) in self.widths.iter().enumerate() {
            cx += w;
            let bottom = if i + 1 == self.widths.len() {
                y
            } else {
                columns_bottom
            };
            canvas.line(page, (cx, top), (cx, bottom), 0.4, Color::GREY);
        }
        Ok(y)
    }

    /// Draws one row's cells with their top at `top`.
    fn draw_cells(
        &self,
        canvas: &mut Canvas,
        page: usize,
        x: f32,
        top: f32,
        cells: &[LaidCell],
    ) -> Result<(), Error> {
        let mut cx = x;
        for (cell, w) in cells.iter().zip(&self.widths) {
            let mut y = top + PAD;
            for (line, style) in cell {
                let pitch = style.size * LEADING;
                canvas.text(
                    page,
                    cx + PAD,
                    y + style.size * 0.9,
                    Align::Left,
                    *style,
                    &line.text(),
                )?;
                y += pitch;
            }
            cx += w;
        }
        Ok(())
    }
}
