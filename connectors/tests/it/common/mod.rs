//! Test documents generated at test time (no binaries committed): text PDFs written with
//! `lopdf`, scanned PDFs made by rasterizing those with `pdftoppm` and wrapping the pixels as an
//! image PDF, a PDF with a non-embedded predefined CJK font, and a DOCX.
#![allow(dead_code)]

use std::io::Write;
use std::process::Command;

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, StringFormat, dictionary};

/// Letter-size page in points.
pub const PAGE_W: i64 = 612;
/// Letter-size page height in points.
pub const PAGE_H: i64 = 792;

/// A text PDF: one entry per page, each a list of lines set in 12 pt Helvetica.
pub fn text_pdf(pages: &[Vec<String>]) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut kids = Vec::new();
    for lines in pages {
        let mut ops = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 12.into()]),
            Operation::new("TL", vec![16.into()]),
            Operation::new("Td", vec![72.into(), (PAGE_H - 72).into()]),
        ];
        for line in lines {
            ops.push(Operation::new(
                "Tj",
                vec![Object::string_literal(line.as_str())],
            ));
            ops.push(Operation::new("T*", vec![]));
        }
        ops.push(Operation::new("ET", vec![]));
        kids.push(add_page(&mut doc, pages_id, resources_id, ops));
    }
    finish(doc, pages_id, kids)
}

/// A PDF whose text uses the predefined CMap `UniGB-UCS2-H` with the non-embedded font
/// `STSong-Light`: readers must substitute a font; `pdf-extract` 0.12 panics on it.
pub fn cjk_pdf(lines: &[&str]) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
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
        "DW" => 1000,
    });
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "STSong-Light-UniGB-UCS2-H",
        "Encoding" => "UniGB-UCS2-H", "DescendantFonts" => vec![descendant.into()],
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut ops = vec![
        Operation::new("BT", vec![]),
        Operation::new("Tf", vec!["F1".into(), 24.into()]),
        Operation::new("TL", vec![36.into()]),
        Operation::new("Td", vec![72.into(), (PAGE_H - 96).into()]),
    ];
    for line in lines {
        let bytes: Vec<u8> = line.encode_utf16().flat_map(u16::to_be_bytes).collect();
        ops.push(Operation::new(
            "Tj",
            vec![Object::String(bytes, StringFormat::Hexadecimal)],
        ));
        ops.push(Operation::new("T*", vec![]));
    }
    ops.push(Operation::new("ET", vec![]));
    let kids = vec![add_page(&mut doc, pages_id, resources_id, ops)];
    finish(doc, pages_id, kids)
}

/// A "scanned" PDF: every page of `pdf` rasterized by `pdftoppm` at `dpi` in gray, optionally
/// with deterministic speckle noise (`noise` = share of pixels flipped), and wrapped as one image
/// per page, with no text layer.
pub fn scanned_pdf(pdf: &[u8], dpi: u32, noise: f64) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.pdf");
    std::fs::write(&src, pdf).unwrap();
    let status = Command::new("pdftoppm")
        .args(["-r", &dpi.to_string(), "-gray"])
        .arg(&src)
        .arg(dir.path().join("p"))
        .status()
        .expect("pdftoppm (poppler-utils) is installed");
    assert!(status.success());
    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pgm"))
        .collect();
    files.sort();
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut kids = Vec::new();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for f in files {
        let (w, h, mut pixels) = read_pgm(&std::fs::read(f).unwrap());
        if noise > 0.0 {
            for p in pixels.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                if (seed % 1_000_000) as f64 / 1_000_000.0 < noise {
                    *p = 255 - *p;
                }
            }
        }
        let mut image = Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image", "Width" => w as i64,
                "Height" => h as i64, "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
            },
            pixels,
        );
        image.compress().unwrap();
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
    finish(doc, pages_id, kids)
}

/// Renders page 1 of `pdf` to PNG bytes at `dpi` (gray).
pub fn png_of(pdf: &[u8], dpi: u32) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.pdf");
    std::fs::write(&src, pdf).unwrap();
    let status = Command::new("pdftoppm")
        .args(["-r", &dpi.to_string(), "-gray", "-png", "-singlefile"])
        .arg(&src)
        .arg(dir.path().join("p"))
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(dir.path().join("p.png")).unwrap()
}

/// A DOCX with one paragraph per entry; `None` is an explicit page break.
pub fn docx(paragraphs: &[Option<&str>]) -> Vec<u8> {
    let mut body = String::new();
    for p in paragraphs {
        match p {
            Some(text) => body.push_str(&format!(
                "<w:p><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
                text.replace('&', "&amp;").replace('<', "&lt;")
            )),
            None => body.push_str("<w:p><w:r><w:br w:type=\"page\"/></w:r></w:p>"),
        }
    }
    docx_raw(&body, None)
}

/// A DOCX whose `word/document.xml` body is `body` (WordprocessingML, prefix `w:`), with
/// `word/styles.xml` holding `styles` (the inside of `<w:styles>`) when given.
pub fn docx_raw(body: &str, styles: Option<&str>) -> Vec<u8> {
    const NS: &str = "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"";
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
         <w:document {NS}><w:body>{body}</w:body></w:document>"
    );
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default();
        zip.start_file("[Content_Types].xml", opts).unwrap();
        zip.write_all(b"<?xml version=\"1.0\"?><Types/>").unwrap();
        zip.start_file("word/document.xml", opts).unwrap();
        zip.write_all(xml.as_bytes()).unwrap();
        if let Some(styles) = styles {
            zip.start_file("word/styles.xml", opts).unwrap();
            zip.write_all(format!("<w:styles {NS}>{styles}</w:styles>").as_bytes())
                .unwrap();
        }
        zip.finish().unwrap();
    }
    out.into_inner()
}

fn read_pgm(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    // P5 header: magic, width, height, maxval, each separated by whitespace, then one byte.
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..i]).into_owned());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (w, h, bytes[i + 1..i + 1 + w * h].to_vec())
}

fn add_page(
    doc: &mut Document,
    pages_id: lopdf::ObjectId,
    resources_id: lopdf::ObjectId,
    ops: Vec<Operation>,
) -> Object {
    let content = Content { operations: ops };
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
    doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        "Resources" => resources_id,
        "MediaBox" => vec![0.into(), 0.into(), PAGE_W.into(), PAGE_H.into()],
    })
    .into()
}

fn finish(mut doc: Document, pages_id: lopdf::ObjectId, kids: Vec<Object>) -> Vec<u8> {
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// The text of a two-page confirmation used across tests and benches.
pub fn confirmation_pages() -> Vec<Vec<String>> {
    let p1 = [
        "CONFIRMATION OF INTEREST RATE SWAP TRANSACTION",
        "Date: 23 June 2005",
        "To: MagnaChip Semiconductor S.A. From: Deutsche Bank AG",
        "The purpose of this letter agreement is to confirm the terms and",
        "conditions of the Transaction entered into between us on the Trade Date.",
        "Notional Amount: USD 300,000,000",
        "Trade Date: June 23, 2005",
        "Effective Date: June 27, 2005",
        "Termination Date: December 15, 2009",
        "Fixed Rate Payer: MagnaChip Semiconductor S.A.",
        "Fixed Rate: 4.09 per cent per annum",
        "Fixed Rate Day Count Fraction: 30/360",
    ];
    let p2 = [
        "Floating Rate Payer: Deutsche Bank AG",
        "Floating Rate Option: USD-LIBOR-BBA",
        "Designated Maturity: 3 months",
        "Spread: Inapplicable",
        "Floating Rate Day Count Fraction: Actual/360",
        "Reset Dates: The first day of each Calculation Period",
        "Business Days: New York and London",
        "Calculation Agent: Deutsche Bank AG",
    ];
    vec![
        p1.iter().map(|s| s.to_string()).collect(),
        p2.iter().map(|s| s.to_string()).collect(),
    ]
}
