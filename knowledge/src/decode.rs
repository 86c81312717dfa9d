//! Bytes to text: size limit, empty and binary input rejected with a clear reason, BOMs honoured,
//! UTF-8 taken as is, anything else (GBK, GB18030, Big5, Shift-JIS, windows-1252 …) detected
//! with `chardetng` and decoded with `encoding_rs`, never mangled into replacement characters.

use crate::error::InputError;

/// The default limit on the size of one input file (200 MiB).
pub const DEFAULT_MAX_BYTES: usize = 200 * 1024 * 1024;

/// Decoded text and how it was decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The text, with a leading BOM removed.
    pub text: String,
    /// The name of the encoding it was decoded from (`UTF-8`, `GBK`, `UTF-16LE` …).
    pub encoding: &'static str,
    /// Things worth telling the user that did not stop decoding.
    pub problems: Vec<String>,
}

/// Decodes the bytes of one source. `origin` names it in errors (a file path or upload name).
pub fn decode(bytes: &[u8], origin: &str, max_bytes: usize) -> Result<Decoded, InputError> {
    let origin = origin.to_string();
    if bytes.len() > max_bytes {
        return Err(InputError::TooLarge {
            origin,
            bytes: bytes.len(),
            limit: max_bytes,
        });
    }
    if let Some(kind) = binary_magic(bytes) {
        return Err(InputError::Binary {
            origin,
            reason: format!("it is a {kind} file, not text"),
        });
    }
    let mut problems = Vec::new();
    let (text, encoding) = if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        if had_errors {
            problems.push(format!(
                "{origin}: invalid {} sequences replaced",
                enc.name()
            ));
        }
        (text.into_owned(), enc.name())
    } else if let Ok(s) = std::str::from_utf8(bytes) {
        (s.to_string(), "UTF-8")
    } else {
        if bytes.contains(&0) {
            return Err(InputError::Binary {
                origin,
                reason: "it contains NUL bytes and no UTF-16 byte-order mark".into(),
            });
        }
        let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
        detector.feed(bytes, true);
        let enc = detector.guess(None, chardetng::Utf8Detection::Allow);
        let (text, _, had_errors) = enc.decode(bytes);
        let replaced = text.chars().filter(|&c| c == '\u{FFFD}').count();
        let total = text.chars().count().max(1);
        if had_errors && replaced * 100 > total {
            return Err(InputError::Undecodable {
                origin,
                reason: format!(
                    "not UTF-8, and as {} (the best guess) {replaced} of {total} characters are invalid",
                    enc.name()
                ),
            });
        }
        if had_errors {
            problems.push(format!(
                "{origin}: decoded as {}; {replaced} invalid byte sequences replaced",
                enc.name()
            ));
        }
        (text.into_owned(), enc.name())
    };
    check_text(&text, &origin)?;
    Ok(Decoded {
        text,
        encoding,
        problems,
    })
}

/// Rejects empty text and text that is mostly control characters (binary junk that happened to
/// decode).
fn check_text(text: &str, origin: &str) -> Result<(), InputError> {
    if text.trim().is_empty() {
        return Err(InputError::Empty {
            origin: origin.to_string(),
        });
    }
    let mut total = 0usize;
    let mut control = 0usize;
    for c in text.chars().take(1_000_000) {
        total += 1;
        if (c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\x0C')) || c == '\u{FFFD}' {
            control += 1;
        }
    }
    if control * 20 > total {
        return Err(InputError::Binary {
            origin: origin.to_string(),
            reason: format!("{control} of the first {total} characters are control characters"),
        });
    }
    Ok(())
}

/// Recognises common binary formats by their magic bytes.
fn binary_magic(bytes: &[u8]) -> Option<&'static str> {
    const MAGIC: [(&[u8], &str); 9] = [
        (b"%PDF-", "PDF (extract its text first)"),
        (b"PK\x03\x04", "ZIP/DOCX/XLSX (extract its text first)"),
        (b"\x89PNG", "PNG image"),
        (b"\xFF\xD8\xFF", "JPEG image"),
        (b"GIF8", "GIF image"),
        (b"\x7FELF", "ELF executable"),
        (b"\x1F\x8B", "gzip archive"),
        (b"\xD0\xCF\x11\xE0", "legacy Office (OLE2)"),
        (b"SQLite format 3\0", "SQLite database"),
    ];
    MAGIC
        .iter()
        .find(|(m, _)| bytes.starts_with(m))
        .map(|(_, k)| *k)
}
