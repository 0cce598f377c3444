//! QR codes drawn as vector rectangles.
//!
//! The `qrcode` crate computes the module matrix; we draw it ourselves as filled rectangles so
//! the code stays sharp at any zoom or print resolution and costs a few hundred bytes, where an
//! embedded bitmap would be blurry or large. Horizontal runs of dark modules are merged into one
//! rectangle, which shrinks the content stream and avoids hairline seams between modules in some
//! viewers.

use qrcode::{Color as Module, EcLevel, QrCode};

use crate::canvas::Canvas;
use crate::Error;

/// Modules of light margin required around a QR code (the "quiet zone").
pub(crate) const QUIET_ZONE: usize = 4;

/// A computed QR code.
pub(crate) struct Qr {
    /// Modules per side, without the quiet zone.
    width: usize,
    /// Row-major, `true` for dark.
    dark: Vec<bool>,
}

impl Qr {
    /// Encodes `payload` with medium error correction (15%), which survives a crease or a
    /// stamp over a printed copy while keeping modules large enough to scan from paper.
    pub(crate) fn encode(payload: &str) -> Result<Self, Error> {
        let code =
            QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M).map_err(|e| {
                Error::QrEncode {
                    len: payload.len(),
                    reason: e.to_string(),
                }
            })?;
        let width = code.width();
        let dark = code
            .into_colors()
            .into_iter()
            .map(|m| m == Module::Dark)
            .collect();
        Ok(Self { width, dark })
    }

    /// Modules per side, without the quiet zone.
    pub(crate) fn modules(&self) -> usize {
        self.width
    }

    /// Draws the code with its quiet zone inside the square of side `side` whose top-left
    /// corner is `(x, top)`; the quiet zone is left unpainted (the page is white).
    pub(crate) fn draw(&self, canvas: &mut Canvas, page: usize, x: f32, top: f32, side: f32) {
        let total = self.width + 2 * QUIET_ZONE;
        // Module counts are at most 185, exactly representable.
        let module = side / total as f32;
        let mut rects = Vec::new();
        for row in 0..self.width {
            let mut col = 0;
            while col < self.width {
                if !self.dark[row * self.width + col] {
                    col += 1;
                    continue;
                }
                let start = col;
                while col < self.width && self.dark[row * self.width + col] {
                    col += 1;
                }
                rects.push((
                    x + (start + QUIET_ZONE) as f32 * module,
                    top + (row + QUIET_ZONE) as f32 * module,
                    (col - start) as f32 * module,
                    module,
                ));
            }
        }
        canvas.fill_rects(page, &rects);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typical_payload_encodes() -> Result<(), Error> {
        let payload = format!(
            "congvan:1:{}:{}",
            "0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
            "ab".repeat(32)
        );
        let qr = Qr::encode(&payload)?;
        assert!(qr.width >= 21);
        assert_eq!(qr.dark.len(), qr.width * qr.width);
        Ok(())
    }

    #[test]
    fn oversized_payload_is_an_error() {
        let payload = "x".repeat(5000);
        assert!(matches!(
            Qr::encode(&payload),
            Err(Error::QrEncode { len: 5000, .. })
        ));
    }
}
