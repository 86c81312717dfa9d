//! Documents made at run time for tests, the evaluation suite and the bench: text rendered to a
//! text PDF (lopdf), and that PDF turned into a scan (rasterized by `pdftoppm`, optionally
//! blurred, skewed, speckled and saved as JPEG, re-wrapped as an image-only PDF). Never used on
//! user input.
//!
//! Latin text is set in Helvetica (WinAnsi encoding: curly quotes and dashes kept, other
//! characters outside it become `?`); text with Chinese characters in the predefined CJK font
//! `STSong-Light` (`UniGB-UCS2-H`), which readers substitute (poppler with the font the setup
//! installs).

use std::path::Path;
use std::process::Command;

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, ObjectId, Stream, StringFormat, dictionary};

/// Letter-size page width in points.
pub const PAGE_W: i64 = 612;
/// Letter-size page height in points.
pub const PAGE_H: i64 = 792;
const MARGIN: i64 = 72;
const FONT_SIZE: i64 = 11;
const LEADING: i64 = 14;

/// Display width of a character in ems (rough Helvetica averages; CJK one em).
fn width(c: char) -> f64 {
    match c {
        _ if cjk::is_wide(c) => 1.0,
        'i' | 'l' | 'j' | '.' | ',' | ':' | ';' | '\'' | '!' | '|' | ' ' | 'I' | 't' | 'f'
        | 'r' | '(' | ')' => 0.3,
        'm' | 'w' | 'M' | 'W' => 0.85,
        c if c.is_ascii_uppercase() => 0.68,
        c if c.is_ascii_digit() => 0.556,
        _ => 0.52,
    }
}

/// Wraps `text` (paragraphs separated by newlines) into lines that fit the page width.
pub fn wrap(text: &str) -> Vec<String> {
    let max = (PAGE_W - 2 * MARGIN) as f64 / FONT_SIZE as f64;
    let mut out = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        let mut w = 0.0;
        let mut word = String::new();
        let mut ww = 0.0;
        let flush_word = |line: &mut String,
                          w: &mut f64,
                          word: &mut String,
                          ww: &mut f64,
                          out: &mut Vec<String>| {
            if *w + *ww > max && !line.trim().is_empty() {
                out.push(line.trim_end().to_owned());
                line.clear();
                *w = 0.0;
                let trimmed = word.trim_start().to_owned();
                *ww = trimmed.chars().map(width).sum();
                *word = trimmed;
            }
            line.push_str(word);
            *w += *ww;
            word.clear();
            *ww = 0.0;
        };
        for c in para.chars() {
            if c == ' ' || cjk::is_wide(c) {
                if cjk::is_wide(c) {
                    flush_word(&mut line, &mut w, &mut word, &mut ww, &mut out);
                    word.push(c);
                    ww += width(c);
                    flush_word(&mut line, &mut w, &mut word, &mut ww, &mut out);
                } else {
                    flush_word(&mut line, &mut w, &mut word, &mut ww, &mut out);
                    word.push(c);
                    ww += width(c);
                }
            } else {
                word.push(c);
                ww += width(c);
            }
        }
        flush_word(&mut line, &mut w, &mut word, &mut ww, &mut out);
        out.push(line.trim_end().to_owned());
    }
    out
}

fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '€' => 0x80,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

/// Renders `text` to a text PDF: wrapped to the page, 11 pt, as many Letter pages as needed.
pub fn text_pdf(text: &str) -> Vec<u8> {
    let lines = wrap(text);
    let per_page = ((PAGE_H - 2 * MARGIN) / LEADING) as usize;
    let pages: Vec<Vec<String>> = lines.chunks(per_page).map(<[String]>::to_vec).collect();
    pages_pdf(&pages)
}

/// A text PDF with the given lines on each page (an empty list gives a PDF with no pages).
pub fn pages_pdf(pages: &[Vec<String>]) -> Vec<u8> {
    let cjk = pages.iter().flatten().any(|l| l.chars().any(cjk::is_wide));
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = if cjk {
        let descendant = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "CIDFontType0", "BaseFont" => "STSong-Light",
            "CIDSystemInfo" => dictionary! {
                "Registry" => Object::string_literal("Adobe"),
                "Ordering" => Object::string_literal("GB1"), "Supplement" => 2,
            },
            "FontDescriptor" => dictionary! {
                "Type" => "FontDescriptor", "FontName" => "STSong-Light", "Flags" => 6,
                "FontBBox" => vec![(-25).into(), (-254).into(), 1000.into(), 880.into()],
                "ItalicAngle" => 0, "Ascent" => 880, "Descent" => -120, "CapHeight" => 880,
                "StemV" => 93,
            },
            // Full-width CJK at 1000; the half-width Latin CIDs (proportional 1-95 and 814-939
            // in Adobe-GB1, where UniGB-UCS2-H puts ASCII) at 500, so that digits and Latin
            // letters are set as Chinese typesetting sets them, not one em apart.
            "DW" => 1000,
            "W" => vec![1.into(), 95.into(), 500.into(), 814.into(), 939.into(), 500.into()],
        });
        doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "STSong-Light-UniGB-UCS2-H",
            "Encoding" => "UniGB-UCS2-H", "DescendantFonts" => vec![descendant.into()],
        })
    } else {
        doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
            "Encoding" => "WinAnsiEncoding",
        })
    };
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut kids = Vec::new();
    for lines in pages {
        let mut ops = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), FONT_SIZE.into()]),
            Operation::new("TL", vec![LEADING.into()]),
            Operation::new("Td", vec![MARGIN.into(), (PAGE_H - MARGIN).into()]),
        ];
        for line in lines {
            let s = if cjk {
                Object::String(
                    line.encode_utf16().flat_map(u16::to_be_bytes).collect(),
                    StringFormat::Hexadecimal,
                )
            } else {
                Object::String(win_ansi(line), StringFormat::Literal)
            };
            ops.push(Operation::new("Tj", vec![s]));
            ops.push(Operation::new("T*", vec![]));
        }
        ops.push(Operation::new("ET", vec![]));
        kids.push(add_page(&mut doc, pages_id, resources_id, ops));
    }
    finish(doc, pages_id, kids)
}

/// A PDF whose only page draws shapes and no text: a picture of something that is not a
/// document.
pub fn picture_pdf() -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let resources_id = doc.add_object(dictionary! {});
    let mut ops = Vec::new();
    for i in 0..12i64 {
        let g = 0.1 + (i as f64) * 0.07;
        ops.push(Operation::new(
            "rg",
            vec![g.into(), (1.0 - g).into(), 0.5.into()],
        ));
        ops.push(Operation::new(
            "re",
            vec![
                (40 + i * 40).into(),
                (80 + i * 50).into(),
                120.into(),
                90.into(),
            ],
        ));
        ops.push(Operation::new("f", vec![]));
    }
    let kids = vec![add_page(&mut doc, pages_id, resources_id, ops)];
    finish(doc, pages_id, kids)
}

/// How a scan is degraded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Degrade {
    /// Scanner resolution.
    pub dpi: u32,
    /// Share of pixels flipped (speckle), 0..1.
    pub noise: f64,
    /// Rotation in degrees (a page fed askew).
    pub skew_degrees: f64,
    /// A 3×3 box blur (an out-of-focus scanner).
    pub blur: bool,
    /// JPEG quality (1-100) the scanner saves pages at; `None` keeps them lossless.
    pub jpeg_quality: Option<u8>,
}

impl Degrade {
    /// A clean 300 dpi scan.
    pub const CLEAN: Degrade = Degrade {
        dpi: 300,
        noise: 0.0,
        skew_degrees: 0.0,
        blur: false,
        jpeg_quality: None,
    };
    /// A poor office scan: 200 dpi, 1.2° skew, blurred, 1% speckle, saved as JPEG at quality 60.
    pub const POOR: Degrade = Degrade {
        dpi: 200,
        noise: 0.01,
        skew_degrees: 1.2,
        blur: true,
        jpeg_quality: Some(60),
    };
}

/// Rasterizes `pdf` with `pdftoppm`, degrades every page and wraps the pixels as an image-only
/// PDF (no text layer).
pub fn scan(pdf: &[u8], how: Degrade, pdftoppm: &Path) -> Result<Vec<u8>, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let src = dir.path().join("src.pdf");
    std::fs::write(&src, pdf).map_err(|e| format!("writing {}: {e}", src.display()))?;
    let status = Command::new(pdftoppm)
        .args(["-r", &how.dpi.to_string(), "-gray"])
        .arg(&src)
        .arg(dir.path().join("p"))
        .status()
        .map_err(|e| format!("running {}: {e}", pdftoppm.display()))?;
    if !status.success() {
        return Err(format!("{} failed: {status}", pdftoppm.display()));
    }
    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pgm"))
        .collect();
    files.sort();
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut kids = Vec::new();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for f in files {
        let bytes = std::fs::read(&f).map_err(|e| e.to_string())?;
        let (w, h, mut px) = read_pgm(&bytes).ok_or("pdftoppm wrote a PGM we cannot read")?;
        // Speckle (dust, paper grain) lies on the page, so the scanner's optics blur it with
        // the text; sharp one-pixel speckle after the blur defeats Tesseract without a
        // denoising step (mean confidence 0.42-0.56 measured).
        if how.noise > 0.0 {
            let threshold = (how.noise * u32::MAX as f64) as u64;
            for p in px.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                if (seed & 0xffff_ffff) < threshold {
                    *p = 255 - *p;
                }
            }
        }
        if how.blur {
            px = box_blur(&px, w, h);
        }
        if how.skew_degrees != 0.0 {
            px = rotate(&px, w, h, how.skew_degrees);
        }
        let mut dict = dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => w as i64,
            "Height" => h as i64, "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
        };
        let image = match how.jpeg_quality {
            Some(q) => {
                let (jw, jh) = (
                    u16::try_from(w).map_err(|_| "page too wide for JPEG")?,
                    u16::try_from(h).map_err(|_| "page too tall for JPEG")?,
                );
                let mut jpeg = Vec::new();
                jpeg_encoder::Encoder::new(&mut jpeg, q.clamp(1, 100))
                    .encode(&px, jw, jh, jpeg_encoder::ColorType::Luma)
                    .map_err(|e| format!("encoding a page as JPEG: {e}"))?;
                dict.set("Filter", "DCTDecode");
                Stream::new(dict, jpeg).with_compression(false)
            }
            None => {
                let mut image = Stream::new(dict, px);
                image
                    .compress()
                    .map_err(|e| format!("compressing a page image: {e}"))?;
                image
            }
        };
        let image_id = doc.add_object(image);
        let resources_id =
            doc.add_object(dictionary! { "XObject" => dictionary! { "Im1" => image_id } });
        let ops = vec![
            Operation::new("q", vec![]),
            Operation::new(
                "cm",
                vec![
                    PAGE_W.into(),
                    0.into(),
                    0.into(),
                    PAGE_H.into(),
                    0.into(),
                    0.into(),
                ],
            ),
            Operation::new("Do", vec!["Im1".into()]),
            Operation::new("Q", vec![]),
        ];
        kids.push(add_page(&mut doc, pages_id, resources_id, ops));
    }
    Ok(finish(doc, pages_id, kids))
}

/// Renders page 1 of `pdf` to PNG bytes (gray) with `pdftoppm`.
pub fn png(pdf: &[u8], dpi: u32, pdftoppm: &Path) -> Result<Vec<u8>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let src = dir.path().join("src.pdf");
    std::fs::write(&src, pdf).map_err(|e| e.to_string())?;
    let status = Command::new(pdftoppm)
        .args(["-r", &dpi.to_string(), "-gray", "-png", "-singlefile"])
        .arg(&src)
        .arg(dir.path().join("p"))
        .status()
        .map_err(|e| format!("running {}: {e}", pdftoppm.display()))?;
    if !status.success() {
        return Err(format!("{} failed: {status}", pdftoppm.display()));
    }
    std::fs::read(dir.path().join("p.png")).map_err(|e| e.to_string())
}

/// The same PDF with an `/Encrypt` dictionary (standard handler, unknown password).
pub fn encrypted(pdf: &[u8]) -> Result<Vec<u8>, String> {
    let mut doc = Document::load_mem(pdf).map_err(|e| e.to_string())?;
    let filler = Object::String(vec![0x5a; 32], StringFormat::Hexadecimal);
    let encrypt = doc.add_object(dictionary! {
        "Filter" => "Standard", "V" => 1, "R" => 2, "O" => filler.clone(), "U" => filler.clone(),
        "P" => -4,
    });
    doc.trailer.set("Encrypt", encrypt);
    doc.trailer.set("ID", vec![filler.clone(), filler]);
    let mut out = Vec::new();
    doc.save_to(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

fn read_pgm(bytes: &[u8]) -> Option<(usize, usize, Vec<u8>)> {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while bytes.get(i)?.is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !bytes.get(i)?.is_ascii_whitespace() {
            i += 1;
        }
        fields.push(std::str::from_utf8(&bytes[start..i]).ok()?.to_owned());
    }
    if fields[0] != "P5" || fields[3] != "255" {
        return None;
    }
    let (w, h): (usize, usize) = (fields[1].parse().ok()?, fields[2].parse().ok()?);
    Some((w, h, bytes.get(i + 1..i + 1 + w * h)?.to_vec()))
}

fn box_blur(px: &[u8], w: usize, h: usize) -> Vec<u8> {
    let mut tmp = vec![0u8; px.len()];
    for y in 0..h {
        let row = &px[y * w..(y + 1) * w];
        for x in 0..w {
            let a = row[x.saturating_sub(1)] as u32;
            let b = row[x] as u32;
            let c = row[(x + 1).min(w - 1)] as u32;
            tmp[y * w + x] = ((a + b + c) / 3) as u8;
        }
    }
    let mut out = vec![0u8; px.len()];
    for y in 0..h {
        let (up, down) = (y.saturating_sub(1), (y + 1).min(h - 1));
        for x in 0..w {
            let s = tmp[up * w + x] as u32 + tmp[y * w + x] as u32 + tmp[down * w + x] as u32;
            out[y * w + x] = (s / 3) as u8;
        }
    }
    out
}

fn rotate(px: &[u8], w: usize, h: usize, degrees: f64) -> Vec<u8> {
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    let mut out = vec![255u8; px.len()];
    for y in 0..h {
        let dy = y as f64 - cy;
        for x in 0..w {
            let dx = x as f64 - cx;
            // Inverse rotation: where this output pixel comes from.
            let sx = cos * dx + sin * dy + cx;
            let sy = -sin * dx + cos * dy + cy;
            if sx < 0.0 || sy < 0.0 || sx >= (w - 1) as f64 || sy >= (h - 1) as f64 {
                continue;
            }
            let (x0, y0) = (sx as usize, sy as usize);
            let (fx, fy) = (sx - x0 as f64, sy - y0 as f64);
            let p = |xx: usize, yy: usize| px[yy * w + xx] as f64;
            let v = p(x0, y0) * (1.0 - fx) * (1.0 - fy)
                + p(x0 + 1, y0) * fx * (1.0 - fy)
                + p(x0, y0 + 1) * (1.0 - fx) * fy
                + p(x0 + 1, y0 + 1) * fx * fy;
            out[y * w + x] = v.round() as u8;
        }
    }
    out
}

fn add_page(
    doc: &mut Document,
    pages_id: ObjectId,
    resources_id: ObjectId,
    ops: Vec<Operation>,
) -> Object {
    let content = Content { operations: ops };
    let content_id = doc.add_object(Stream::new(
        dictionary! {},
        content.encode().expect("content encodes"),
    ));
    doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        "Resources" => resources_id,
        "MediaBox" => vec![0.into(), 0.into(), PAGE_W.into(), PAGE_H.into()],
    })
    .into()
}

fn finish(mut doc: Document, pages_id: ObjectId, kids: Vec<Object>) -> Vec<u8> {
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("writing to memory");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_and_fits_the_page() {
        let text = "word ".repeat(300) + "\n交易确认书".repeat(3).as_str();
        let lines = wrap(&text);
        let max = (PAGE_W - 2 * MARGIN) as f64 / FONT_SIZE as f64;
        for l in &lines {
            assert!(l.chars().map(width).sum::<f64>() <= max + 0.01, "{l}");
        }
        let words: usize = lines.iter().map(|l| l.matches("word").count()).sum();
        assert_eq!(words, 300);
    }
}
