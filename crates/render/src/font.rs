//! Fonts: measuring text, recording which glyphs a document uses, and embedding subsets.
//!
//! The faces come from the `dejavu` crate (compiled into the binary, so no system font is read)
//! and are measured with `ttf-parser`. Each face used by a document is embedded as a Type0
//! composite font with a `CIDFontType2` descendant, Identity-H encoding and a ToUnicode CMap:
//! that is the only PDF font kind that can address the thousands of glyphs Vietnamese needs
//! (precomposed letters such as "ỷ", "ệ", "Ắ") while still letting text extraction recover the
//! exact characters. Only the glyphs actually drawn are embedded (`subsetter`), which keeps a
//! one-page dispatch in the tens of kilobytes rather than the ~350 KB of a full face.
//!
//! Text is shaped the simple way: NFC, one precomposed glyph per character, no kerning and no
//! ligatures. That is exact for Vietnamese in DejaVu, which has every precomposed letter.

use std::collections::HashMap;
use std::sync::OnceLock;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Filter, Finish, Name, Pdf, Rect, Ref, Str};
use subsetter::GlyphRemapper;
use ttf_parser::GlyphId;
use unicode_normalization::UnicodeNormalization;

use crate::Error;

/// One of the typefaces this crate draws with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Face {
    /// DejaVu Serif Condensed: body text (its widths are close to Times New Roman, the face
    /// Decree 30 names).
    Regular,
    /// DejaVu Serif Condensed Bold: headings, authority, signer.
    Bold,
    /// DejaVu Serif Condensed Italic: the place-and-date line.
    Italic,
    /// DejaVu Serif Condensed Bold Italic: the "Nơi nhận:" label.
    BoldItalic,
    /// DejaVu Sans Mono: digests, so that hex lines up and is easy to compare by eye.
    Mono,
}

/// Number of faces, the size of per-face tables.
const FACE_COUNT: usize = 5;

impl Face {
    /// All faces, in table order.
    const ALL: [Face; FACE_COUNT] = [
        Face::Regular,
        Face::Bold,
        Face::Italic,
        Face::BoldItalic,
        Face::Mono,
    ];

    /// Position in per-face tables.
    fn index(self) -> usize {
        match self {
            Face::Regular => 0,
            Face::Bold => 1,
            Face::Italic => 2,
            Face::BoldItalic => 3,
            Face::Mono => 4,
        }
    }

    /// The TrueType file.
    fn data(self) -> &'static [u8] {
        match self {
            Face::Regular => dejavu::serif_condensed::regular(),
            Face::Bold => dejavu::serif_condensed::bold(),
            Face::Italic => dejavu::serif_condensed::italic(),
            Face::BoldItalic => dejavu::serif_condensed::bold_italic(),
            Face::Mono => dejavu::sans_mono::regular(),
        }
    }

    /// PostScript name, used for `BaseFont` and in error messages.
    pub(crate) fn postscript_name(self) -> &'static str {
        match self {
            Face::Regular => "DejaVuSerifCondensed",
            Face::Bold => "DejaVuSerifCondensed-Bold",
            Face::Italic => "DejaVuSerifCondensed-Italic",
            Face::BoldItalic => "DejaVuSerifCondensed-BoldItalic",
            Face::Mono => "DejaVuSansMono",
        }
    }

    /// The name under which pages refer to this face in their resources.
    pub(crate) fn resource_name(self) -> Name<'static> {
        match self {
            Face::Regular => Name(b"F1"),
            Face::Bold => Name(b"F2"),
            Face::Italic => Name(b"F3"),
            Face::BoldItalic => Name(b"F4"),
            Face::Mono => Name(b"F5"),
        }
    }
}

/// A parsed face with the metrics the layout and the font descriptor need.
struct LoadedFace {
    /// The parsed font; `'static` because the data is compiled in.
    face: ttf_parser::Face<'static>,
    /// Font units per em, as `f32` for scaling.
    units_per_em: f32,
    /// Glyph drawn for characters the face lacks (U+FFFD if present, else `.notdef`).
    fallback: (GlyphId, char),
}

/// Parses each face once per process; parsing is cheap but not free, and rendering is hot.
fn loaded(face: Face) -> Result<&'static LoadedFace, Error> {
    static CACHE: [OnceLock<Option<LoadedFace>>; FACE_COUNT] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    CACHE[face.index()]
        .get_or_init(|| {
            let parsed = ttf_parser::Face::parse(face.data(), 0).ok()?;
            let fallback = parsed
                .glyph_index('\u{FFFD}')
                .map(|g| (g, '\u{FFFD}'))
                .unwrap_or((GlyphId(0), '\u{FFFD}'));
            Some(LoadedFace {
                units_per_em: f32::from(parsed.units_per_em()),
                face: parsed,
                fallback,
            })
        })
        .as_ref()
        .ok_or(Error::FontParse {
            face: face.postscript_name(),
        })
}

impl LoadedFace {
    /// The glyph for a character, falling back to the replacement glyph, and the character
    /// that glyph stands for (used for the ToUnicode map).
    fn glyph(&self, c: char) -> (GlyphId, char) {
        match self.face.glyph_index(c) {
            Some(g) => (g, c),
            None => self.fallback,
        }
    }

    /// Horizontal advance of a glyph in font units.
    fn advance(&self, glyph: GlyphId) -> f32 {
        f32::from(self.face.glyph_hor_advance(glyph).unwrap_or(0))
    }
}

/// Width of `text` in points when set in `face` at `size` points.
///
/// Uses the real advance widths from the font's `hmtx` table, so wrapping and centring agree
/// with what a viewer draws. Control characters such as tabs are measured as the fallback glyph;
/// the layout never passes them because it splits on whitespace first.
pub(crate) fn measure(face: Face, size: f32, text: &str) -> Result<f32, Error> {
    let f = loaded(face)?;
    let units: f32 = text.nfc().map(|c| f.advance(f.glyph(c).0)).sum();
    Ok(units * size / f.units_per_em)
}

/// Vertical metrics of a face, in points at a given size.
pub(crate) struct VerticalMetrics {
    /// Height of capital letters above the baseline.
    pub(crate) cap_height: f32,
    /// Depth of descenders below the baseline (positive).
    pub(crate) descent: f32,
}

/// Vertical metrics used to centre text in frames.
pub(crate) fn vertical_metrics(face: Face, size: f32) -> Result<VerticalMetrics, Error> {
    let f = loaded(face)?;
    let scale = size / f.units_per_em;
    let cap = f
        .face
        .capital_height()
        .map(f32::from)
        .unwrap_or(0.7 * f.units_per_em);
    Ok(VerticalMetrics {
        cap_height: cap * scale,
        descent: -f32::from(f.face.descender()) * scale,
    })
}

/// The glyphs one document uses from one face.
struct FaceUsage {
    /// Old glyph id → new (subset) glyph id; new ids are handed out in order of first use.
    remapper: GlyphRemapper,
    /// Indexed by new glyph id: the character it stands for and its advance in 1/1000 em.
    glyphs: Vec<(char, f32)>,
    /// Character → new glyph id, so repeated characters skip the cmap lookup.
    by_char: HashMap<char, u16>,
}

/// Records, per document, which glyphs of which faces are drawn, and embeds them at the end.
pub(crate) struct FontBook {
    /// Per face, `None` until the face is first used.
    used: [Option<FaceUsage>; FACE_COUNT],
}

impl FontBook {
    /// An empty book: nothing used yet, so nothing will be embedded.
    pub(crate) fn new() -> Self {
        Self {
            used: [None, None, None, None, None],
        }
    }

    /// Encodes `text` for a content stream in `face` (two bytes per glyph, big-endian subset
    /// glyph ids, as Identity-H wants) and records the glyphs for embedding.
    pub(crate) fn encode(&mut self, face: Face, text: &str) -> Result<Vec<u8>, Error> {
        let f = loaded(face)?;
        let usage = self.used[face.index()].get_or_insert_with(|| FaceUsage {
            remapper: GlyphRemapper::new(),
            // New id 0 is always .notdef.
            glyphs: vec![('\u{FFFD}', f.advance(GlyphId(0)) * 1000.0 / f.units_per_em)],
            by_char: HashMap::new(),
        });
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.nfc() {
            let new = match usage.by_char.get(&c) {
                Some(&new) => new,
                None => {
                    let (glyph, shown) = f.glyph(c);
                    let new = usage.remapper.remap(glyph.0);
                    if usize::from(new) == usage.glyphs.len() {
                        usage
                            .glyphs
                            .push((shown, f.advance(glyph) * 1000.0 / f.units_per_em));
                    }
                    usage.by_char.insert(c, new);
                    new
                }
            };
            out.extend_from_slice(&new.to_be_bytes());
        }
        Ok(out)
    }

    /// Writes every used face into `pdf`, allocating object ids from `next_id`, and returns the
    /// id of each face's Type0 font dictionary for the page resources.
    pub(crate) fn embed(
        &self,
        pdf: &mut Pdf,
        next_id: &mut i32,
    ) -> Result<Vec<(Face, Ref)>, Error> {
        let mut out = Vec::new();
        for face in Face::ALL {
            if let Some(usage) = &self.used[face.index()] {
                out.push((face, embed_face(pdf, next_id, face, usage)?));
            }
        }
        Ok(out)
    }
}

/// Allocates the next object id.
fn alloc(next_id: &mut i32) -> Ref {
    let r = Ref::new(*next_id);
    *next_id += 1;
    r
}

/// A six-letter subset tag derived from the glyph set, as PDF requires for subset fonts
/// (`ABCDEF+Name`). Derived rather than random so the same input gives the same PDF bytes.
fn subset_tag(usage: &FaceUsage) -> [u8; 6] {
    // FNV-1a over the used glyph ids.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for gid in usage.remapper.remapped_gids() {
        for b in gid.to_be_bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    let mut tag = [b'A'; 6];
    for slot in &mut tag {
        // `hash % 26` is below 26, so the cast cannot truncate.
        *slot = b'A' + (hash % 26) as u8;
        hash /= 26;
    }
    tag
}

/// Writes one face: Type0 font, CIDFontType2 descendant with widths, descriptor, the subset
/// TrueType program (flate-compressed) and the ToUnicode CMap.
fn embed_face(
    pdf: &mut Pdf,
    next_id: &mut i32,
    face: Face,
    usage: &FaceUsage,
) -> Result<Ref, Error> {
    let f = loaded(face)?;
    let type0_ref = alloc(next_id);
    let cid_ref = alloc(next_id);
    let descriptor_ref = alloc(next_id);
    let cmap_ref = alloc(next_id);
    let file_ref = alloc(next_id);

    let tag = subset_tag(usage);
    let mut base_font = Vec::with_capacity(7 + face.postscript_name().len());
    base_font.extend_from_slice(&tag);
    base_font.push(b'+');
    base_font.extend_from_slice(face.postscript_name().as_bytes());
    let base_font = Name(&base_font);

    let system_info = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };

    pdf.type0_font(type0_ref)
        .base_font(base_font)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_ref)
        .to_unicode(cmap_ref);

    let mut cid = pdf.cid_font(cid_ref);
    cid.subtype(CidFontType::Type2)
        .base_font(base_font)
        .system_info(system_info)
        .font_descriptor(descriptor_ref)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    cid.widths()
        .consecutive(0, usage.glyphs.iter().map(|&(_, w)| w.round()));
    cid.finish();

    let scale = 1000.0 / f.units_per_em;
    let bbox = f.face.global_bounding_box();
    let mut flags = FontFlags::NON_SYMBOLIC;
    if face == Face::Mono {
        flags |= FontFlags::FIXED_PITCH;
    } else {
        flags |= FontFlags::SERIF;
    }
    if f.face.is_italic() {
        flags |= FontFlags::ITALIC;
    }
    let weight = f.face.weight().to_number();
    pdf.font_descriptor(descriptor_ref)
        .name(base_font)
        .flags(flags)
        .bbox(Rect::new(
            f32::from(bbox.x_min) * scale,
            f32::from(bbox.y_min) * scale,
            f32::from(bbox.x_max) * scale,
            f32::from(bbox.y_max) * scale,
        ))
        .italic_angle(f.face.italic_angle())
        .ascent(f32::from(f.face.ascender()) * scale)
        .descent(f32::from(f.face.descender()) * scale)
        .cap_height(
            f.face
                .capital_height()
                .map(|h| f32::from(h) * scale)
                .unwrap_or(700.0),
        )
        // Heuristic from the weight, as the font has no stem width of its own.
        .stem_v(10.0 + 0.244 * (f32::from(weight) - 50.0))
        .font_file2(file_ref);

    let mut cmap = UnicodeCmap::new(Name(b"Custom"), system_info);
    for (new_gid, &(c, _)) in usage.glyphs.iter().enumerate().skip(1) {
        // The remapper hands out u16 ids, so the index fits.
        cmap.pair(new_gid as u16, c);
    }
    let cmap = compress(&cmap.finish());
    pdf.stream(cmap_ref, &cmap).filter(Filter::FlateDecode);

    let program =
        subsetter::subset(face.data(), 0, &usage.remapper).map_err(|e| Error::FontSubset {
            face: face.postscript_name(),
            reason: e.to_string(),
        })?;
    let compressed = compress(&program);
    let mut stream = pdf.stream(file_ref, &compressed);
    stream.filter(Filter::FlateDecode);
    // Length1 is the uncompressed length of a TrueType program; the cast saturates far
    // beyond any real font size.
    stream.pair(
        Name(b"Length1"),
        i32::try_from(program.len()).unwrap_or(i32::MAX),
    );
    stream.finish();

    Ok(type0_ref)
}

/// zlib-compresses a stream body for `/FlateDecode`.
///
/// Level 6 is the usual balance; higher levels shrink a page by a few hundred bytes at a
/// measurable cost in render time.
pub(crate) fn compress(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every lower- and upper-case Vietnamese letter, precomposed.
    const VIETNAMESE: &str =
        "aàảãáạăằẳẵắặâầẩẫấậbcdđeèẻẽéẹêềểễếệghiìỉĩíịklmnoòỏõóọôồổỗốộơờởỡớợpqrstuùủũúụưừửữứựvxyỳỷỹýỵ\
AÀẢÃÁẠĂẰẲẴẮẶÂẦẨẪẤẬBCDĐEÈẺẼÉẸÊỀỂỄẾỆGHIÌỈĨÍỊKLMNOÒỎÕÓỌÔỒỔỖỐỘƠỜỞỠỚỢPQRSTUÙỦŨÚỤƯỪỬỮỨỰVXYỲỶỸÝỴ";

    #[test]
    fn serif_faces_cover_all_vietnamese_letters() -> Result<(), Error> {
        for face in [Face::Regular, Face::Bold, Face::Italic, Face::BoldItalic] {
            let f = loaded(face)?;
            for c in VIETNAMESE.chars() {
                assert!(
                    f.face.glyph_index(c).is_some(),
                    "{} lacks {c:?}",
                    face.postscript_name()
                );
            }
        }
        Ok(())
    }

    #[test]
    fn decomposed_input_measures_like_precomposed() -> Result<(), Error> {
        let nfc = "Nguyễn";
        let nfd: String = nfc.nfd().collect();
        assert_ne!(nfc, nfd);
        assert_eq!(
            measure(Face::Regular, 13.0, nfc)?,
            measure(Face::Regular, 13.0, &nfd)?
        );
        Ok(())
    }

    #[test]
    fn encoding_reuses_subset_ids() -> Result<(), Error> {
        let mut book = FontBook::new();
        let a = book.encode(Face::Regular, "aba")?;
        assert_eq!(a, vec![0, 1, 0, 2, 0, 1]);
        assert!(book.used[Face::Regular.index()].is_some());
        assert!(book.used[Face::Bold.index()].is_none());
        Ok(())
    }
}
