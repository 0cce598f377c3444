//! The one reader of an edXML file's bytes: splits the message into its
//! header (kept in memory, parsed afterwards by roxmltree) and the decoded
//! attachment contents (streamed to files), so a 100 MB attachment never
//! sits in memory.
//!
//! The scanner knows just enough XML to find the text of every
//! `ContentTransferEncoded` element: comments, CDATA sections, processing
//! instructions and quoted attribute values are skipped over as units. The
//! text is base64-decoded on the fly into a file and replaced in the header
//! by its index (`#1`, `#2`, …). Everything else is copied byte for byte, and
//! well-formedness and namespaces are left to roxmltree, which reads the
//! header strictly. A DTD is refused here, before anything is parsed.

use std::fs::File;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use base64::Engine;

use crate::limits::Limits;
use crate::Error;

/// The local name whose text is attachment content.
const CONTENT_ELEMENT: &[u8] = b"ContentTransferEncoded";
/// Most attributes on one element (edXML elements carry none or one).
const MAX_ATTRIBUTES: usize = 32;

/// One decoded attachment content, in a file of the scanner's folder.
#[derive(Debug)]
pub(crate) struct Blob {
    pub(crate) path: PathBuf,
    pub(crate) size: u64,
}

/// A message split into header and contents.
#[derive(Debug)]
pub(crate) struct Scanned {
    /// The XML with each content replaced by `#<index from 1>`.
    pub(crate) header: String,
    /// The contents in document order.
    pub(crate) blobs: Vec<Blob>,
}

struct Scanner<'a, R> {
    input: R,
    dir: &'a Path,
    limits: &'a Limits,
    header: Vec<u8>,
    blobs: Vec<Blob>,
    total_decoded: u64,
}

/// Scans `input`, writing decoded contents into files under `dir`.
pub(crate) fn scan(input: impl BufRead, dir: &Path, limits: &Limits) -> Result<Scanned, Error> {
    let mut scanner = Scanner {
        input,
        dir,
        limits,
        header: Vec::new(),
        blobs: Vec::new(),
        total_decoded: 0,
    };
    scanner.start()?;
    scanner.run()?;
    let header = String::from_utf8(scanner.header)
        .map_err(|e| Error::Malformed(format!("the header is not UTF-8 text: {e}")))?;
    Ok(Scanned {
        header,
        blobs: scanner.blobs,
    })
}

impl<R: BufRead> Scanner<'_, R> {
    /// The next byte, or `None` at the end.
    fn next(&mut self) -> Result<Option<u8>, Error> {
        let buf = {
            let dir = self.dir;
            self.input.fill_buf().map_err(|e| Error::io(dir, e))?
        };
        let Some(&b) = buf.first() else {
            return Ok(None);
        };
        self.input.consume(1);
        Ok(Some(b))
    }

    fn peek(&mut self) -> Result<Option<u8>, Error> {
        let buf = {
            let dir = self.dir;
            self.input.fill_buf().map_err(|e| Error::io(dir, e))?
        };
        Ok(buf.first().copied())
    }

    fn keep(&mut self, b: u8) -> Result<(), Error> {
        if self.header.len() as u64 >= self.limits.max_header_bytes {
            return Err(Error::TooLarge {
                what: "the message header (everything but attachment contents)".into(),
                limit: self.limits.max_header_bytes,
            });
        }
        self.header.push(b);
        Ok(())
    }

    fn need(&mut self, what: &str) -> Result<u8, Error> {
        self.next()?
            .ok_or_else(|| Error::Malformed(format!("the file ends inside {what}")))
    }

    /// Skips a byte-order mark and refuses anything before the first `<`.
    fn start(&mut self) -> Result<(), Error> {
        let buf = {
            let dir = self.dir;
            self.input.fill_buf().map_err(|e| Error::io(dir, e))?
        };
        if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
            self.input.consume(3);
        }
        let mut count = 0usize;
        while let Some(b) = self.peek()? {
            if b == b'<' {
                break;
            }
            self.input.consume(1);
            count += 1;
            if count >= 1024 {
                break;
            }
        }
        if count > 0 {
            return Err(Error::BytesBeforeXml { count });
        }
        if self.peek()?.is_none() {
            return Err(Error::Malformed("the file is empty".into()));
        }
        Ok(())
    }

    fn run(&mut self) -> Result<(), Error> {
        while let Some(b) = self.next()? {
            self.keep(b)?;
            if b == b'<' {
                self.markup()?;
            }
        }
        Ok(())
    }

    /// Copies until (and including) `end`. The last bytes read are compared
    /// with `end` as a whole, so an end marker that overlaps a repeated
    /// first byte (`]]]>` for `]]>`) is found where a parser finds it.
    fn copy_until(&mut self, end: &[u8], what: &str) -> Result<(), Error> {
        let mut window: Vec<u8> = Vec::with_capacity(end.len());
        loop {
            let b = self.need(what)?;
            self.keep(b)?;
            if window.len() == end.len() {
                window.remove(0);
            }
            window.push(b);
            if window == end {
                return Ok(());
            }
        }
    }

    /// After a `<`: one piece of markup.
    fn markup(&mut self) -> Result<(), Error> {
        match self.peek()? {
            Some(b'!') => {
                self.next()?;
                self.keep(b'!')?;
                let mut word = Vec::new();
                while word.len() < 7 {
                    let b = self.need("markup")?;
                    self.keep(b)?;
                    word.push(b);
                    if word == b"--" {
                        return self.copy_until(b"-->", "a comment");
                    }
                    if word == b"[CDATA[" {
                        return self.copy_until(b"]]>", "a CDATA section");
                    }
                }
                if word.eq_ignore_ascii_case(b"DOCTYPE") {
                    return Err(Error::Dtd);
                }
                Err(Error::Malformed(format!(
                    "unexpected markup <!{}",
                    String::from_utf8_lossy(&word)
                )))
            }
            Some(b'?') => self.copy_until(b"?>", "a processing instruction"),
            Some(b'/') => self.copy_until(b">", "an end tag"),
            Some(_) => self.start_tag(),
            None => Err(Error::Malformed("the file ends after <".into())),
        }
    }

    /// A start tag; when it opens a content element, its text is decoded.
    fn start_tag(&mut self) -> Result<(), Error> {
        let mut name = Vec::new();
        let mut in_name = true;
        let mut quote: Option<u8> = None;
        let mut last = 0u8;
        let mut attributes = 0usize;
        loop {
            let b = self.need("a start tag")?;
            self.keep(b)?;
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None => match b {
                    b'"' | b'\'' => {
                        quote = Some(b);
                        attributes += 1;
                        // A parser compares each attribute with the others:
                        // thousands on one element cost it minutes.
                        if attributes > MAX_ATTRIBUTES {
                            return Err(Error::Malformed(format!(
                                "an element has more than {MAX_ATTRIBUTES} attributes"
                            )));
                        }
                    }
                    b'>' => break,
                    _ if in_name && (b.is_ascii_whitespace() || b == b'/') => in_name = false,
                    _ if in_name => name.push(b),
                    _ => {}
                },
            }
            if quote.is_none() && !b.is_ascii_whitespace() {
                last = b;
            }
            if name.len() > 256 {
                return Err(Error::Malformed(
                    "an element name is longer than 256 bytes".into(),
                ));
            }
        }
        let self_closing = last == b'/';
        let local = match name.iter().rposition(|&c| c == b':') {
            Some(i) => &name[i + 1..],
            None => &name[..],
        };
        if local == CONTENT_ELEMENT && !self_closing {
            self.content()?;
        }
        Ok(())
    }

    /// The text of a content element, up to the next `<`: decoded to a file.
    fn content(&mut self) -> Result<(), Error> {
        let index = self.blobs.len() + 1;
        if index > self.limits.max_attachments {
            return Err(Error::TooLarge {
                what: format!("the number of attachments ({index})"),
                limit: self.limits.max_attachments as u64,
            });
        }
        let path = self.dir.join(format!("content-{index}"));
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut out = BufWriter::with_capacity(64 * 1024, file);
        let mut decoder = StreamDecoder::new(index);
        let mut size = 0u64;
        loop {
            let buf = {
                let dir = self.dir;
                self.input.fill_buf().map_err(|e| Error::io(dir, e))?
            };
            if buf.is_empty() {
                return Err(Error::Malformed(format!(
                    "the file ends inside attachment {index}'s content"
                )));
            }
            let end = buf.iter().position(|&b| b == b'<');
            let chunk = &buf[..end.unwrap_or(buf.len())];
            let n = chunk.len();
            let decoded = decoder.feed(chunk)?;
            self.input.consume(n);
            size += decoded.len() as u64;
            self.total_decoded += decoded.len() as u64;
            if size > self.limits.max_attachment_bytes {
                return Err(Error::TooLarge {
                    what: format!("attachment {index}"),
                    limit: self.limits.max_attachment_bytes,
                });
            }
            if self.total_decoded > self.limits.max_total_bytes {
                return Err(Error::TooLarge {
                    what: "the attachments together".into(),
                    limit: self.limits.max_total_bytes,
                });
            }
            out.write_all(&decoded).map_err(|e| Error::io(&path, e))?;
            if end.is_some() {
                break;
            }
        }
        let tail = decoder.finish()?;
        size += tail.len() as u64;
        self.total_decoded += tail.len() as u64;
        if size > self.limits.max_attachment_bytes
            || self.total_decoded > self.limits.max_total_bytes
        {
            return Err(Error::TooLarge {
                what: format!("attachment {index}"),
                limit: self.limits.max_attachment_bytes,
            });
        }
        out.write_all(&tail).map_err(|e| Error::io(&path, e))?;
        out.flush().map_err(|e| Error::io(&path, e))?;
        for b in format!("#{index}").bytes() {
            self.keep(b)?;
        }
        self.blobs.push(Blob { path, size });
        Ok(())
    }
}

/// Base64 decoding of text that arrives in pieces: whitespace and the
/// character references writers use for line breaks (`&#13;`, `&#xA;`, …)
/// are skipped; anything else outside the alphabet is an error.
struct StreamDecoder {
    index: usize,
    /// Alphabet characters not yet decoded (fewer than a full group, or
    /// waiting for the batch).
    pending: Vec<u8>,
    /// An unfinished character reference.
    reference: Option<Vec<u8>>,
    /// Padding seen: nothing but padding and whitespace may follow.
    padded: bool,
    /// How many '=' (at most two end a base64 text).
    padding: usize,
    offset: u64,
}

impl StreamDecoder {
    fn new(index: usize) -> StreamDecoder {
        StreamDecoder {
            index,
            pending: Vec::with_capacity(64 * 1024),
            reference: None,
            padded: false,
            padding: 0,
            offset: 0,
        }
    }

    fn error(&self, problem: String) -> Error {
        Error::Base64 {
            index: self.index,
            problem,
        }
    }

    fn feed(&mut self, text: &[u8]) -> Result<Vec<u8>, Error> {
        for &b in text {
            self.offset += 1;
            if let Some(reference) = &mut self.reference {
                if b == b';' {
                    let body = String::from_utf8_lossy(reference).to_string();
                    self.reference = None;
                    if !matches!(
                        body.as_str(),
                        "#13" | "#10" | "#9" | "#xD" | "#xA" | "#x9" | "#xd" | "#xa"
                    ) {
                        return Err(self.error(format!(
                            "the reference &{body}; at character {} is not a line break",
                            self.offset
                        )));
                    }
                } else if reference.len() > 8 {
                    return Err(self.error(format!(
                        "an unfinished reference at character {}",
                        self.offset
                    )));
                } else {
                    reference.push(b);
                }
                continue;
            }
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => {}
                b'&' => self.reference = Some(Vec::new()),
                b'=' => {
                    self.padded = true;
                    self.padding += 1;
                    if self.padding > 2 {
                        return Err(self.error(format!(
                            "more than two padding characters '=' at character {}",
                            self.offset
                        )));
                    }
                    self.pending.push(b);
                }
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' if !self.padded => {
                    self.pending.push(b)
                }
                _ if self.padded => {
                    return Err(self.error(format!(
                        "data continues after the padding '=' at character {}",
                        self.offset
                    )))
                }
                other => {
                    return Err(self.error(format!(
                        "{:?} at character {} is not a base64 character",
                        char::from(other),
                        self.offset
                    )))
                }
            }
        }
        if self.padded || self.pending.len() < 48 * 1024 {
            return Ok(Vec::new());
        }
        let whole = self.pending.len() / 4 * 4;
        let rest = self.pending.split_off(whole);
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&self.pending)
            .map_err(|e| self.error(e.to_string()))?;
        self.pending = rest;
        Ok(decoded)
    }

    fn finish(self) -> Result<Vec<u8>, Error> {
        if self.reference.is_some() {
            return Err(self.error("the content ends inside a character reference".into()));
        }
        if !self.pending.len().is_multiple_of(4) {
            return Err(self.error(format!(
                "the content's length is not a multiple of 4 characters ({} left over): \
                 it was cut short or altered",
                self.pending.len() % 4
            )));
        }
        base64::engine::general_purpose::STANDARD
            .decode(&self.pending)
            .map_err(|e| self.error(e.to_string()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn scan_text(text: &str) -> Result<Scanned, Error> {
        let dir = tempfile::tempdir().unwrap();
        let result = scan(text.as_bytes(), dir.path(), &Limits::default());
        // Keep nothing of the folder beyond the call.
        result.map(|s| Scanned {
            header: s.header,
            blobs: Vec::new(),
        })
    }

    #[test]
    fn contents_leave_the_header_and_are_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let text = "<r><edXML:ContentTransferEncoded a=\"x>y\">aGVs&#13;\nbG8=</edXML:ContentTransferEncoded></r>";
        let scanned = scan(text.as_bytes(), dir.path(), &Limits::default()).unwrap();
        assert_eq!(
            scanned.header,
            "<r><edXML:ContentTransferEncoded a=\"x>y\">#1</edXML:ContentTransferEncoded></r>"
        );
        assert_eq!(std::fs::read(&scanned.blobs[0].path).unwrap(), b"hello");
    }

    #[test]
    fn look_alikes_comments_and_cdata_are_not_contents() {
        let text = "<r><!-- <ContentTransferEncoded>x --><fooContentTransferEncoded>abc</fooContentTransferEncoded><![CDATA[ <ContentTransferEncoded>]]]><ContentTransferEncoded/></r>";
        let scanned = scan_text(text).unwrap();
        assert_eq!(scanned.header, text);
    }

    #[test]
    fn endless_padding_is_refused_not_buffered() {
        let text = format!(
            "<r><ContentTransferEncoded>AA{}</ContentTransferEncoded></r>",
            "=".repeat(10_000)
        );
        let err = scan_text(&text).unwrap_err().to_string();
        assert!(err.contains("more than two padding characters"), "{err}");
    }

    #[test]
    fn many_attributes_are_refused() {
        let attrs: String = (0..100).map(|i| format!(" a{i}=\"1\"")).collect();
        let err = scan_text(&format!("<r{attrs}/>")).unwrap_err().to_string();
        assert!(err.contains("more than 32 attributes"), "{err}");
    }

    #[test]
    fn bytes_before_the_xml_and_dtds_are_refused() {
        assert!(matches!(
            scan_text("junk<r/>"),
            Err(Error::BytesBeforeXml { count: 4 })
        ));
        assert!(matches!(
            scan_text("\u{feff}<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"b\">]><r/>"),
            Err(Error::Dtd)
        ));
    }
}
