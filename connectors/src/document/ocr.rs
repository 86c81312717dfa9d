//! OCR: poppler's `pdftoppm` rasterizes a PDF page to a gray image, Tesseract reads it and returns
//! words with boxes and confidences (its TSV output).
//!
//! Why `pdftoppm` rather than pdfium: it is a Debian package (`poppler-utils`) that the setup
//! command installs like the Tesseract libraries, while pdfium has no Debian package and would
//! have to come out of a Python wheel; it runs in its own process, so a renderer crash or hang
//! on a hostile PDF is a per-file error (we kill it after a timeout), not a dead server; and on
//! this machine a page rendered by pdfium and handed over as a raw frame lost a Chinese line that
//! the same page through `pdftoppm -r 300 -gray` kept. The cost, a process start and an image
//! round trip, is small next to Tesseract's 1-3 s *if the image is not compressed*: the page
//! travels as an uncompressed PGM (8.4 MB at 300 dpi, written in ~0.2 s), not a PNG. Measured
//! here on a degraded scan (speckle makes zlib work hard): `-png` took 3.5 s a page in zlib,
//! longer than Tesseract itself, and Leptonica spent more decoding it again.
//!
//! Threads: Debian's libtesseract is built with OpenMP, whose worker threads spin against each
//! other on a small shared machine. Measured here (2 cores, other builds running), a 300 dpi
//! letter page took 4.6-5.1 s with the OpenMP default and 2.2 s with `OMP_THREAD_LIMIT=1`, the
//! setting Tesseract's documentation recommends for throughput. libgomp reads it once when the
//! process loads, so it must be in the environment of the process (set by `./x` and the service
//! unit); `omp_set_num_threads` from inside does not help, as Tesseract asks for its thread
//! counts explicitly. Parallelism then comes from OCR'ing pages and documents side by side.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tesseract::Tesseract;

use super::layout::line_from_words;
use super::{BBox, ConnectorError, Limits, Line, Page, PageMethod, Word};

/// How long `pdftoppm` may take on one page before it is killed.
const RASTERIZE_TIMEOUT: Duration = Duration::from_secs(60);

/// Why OCR of one page failed, before we know the file name.
pub(crate) enum OcrFailure {
    /// The input cannot be decoded (the sender's fault).
    Unreadable(String),
    /// Our installation failed.
    Internal(String),
}

impl OcrFailure {
    pub(crate) fn into_error(self, file: &str) -> ConnectorError {
        match self {
            OcrFailure::Unreadable(detail) => super::unreadable(file, detail),
            OcrFailure::Internal(detail) => super::internal(file, detail),
        }
    }
}

/// Loaded Tesseract instances kept for the next document, keyed by (tessdata, languages):
/// loading `chi_sim+eng` costs ~0.4 s, a tenth of a one-page scan. At most [`IDLE_MAX`] are
/// kept (one per core a server OCRs on), the rest are dropped.
static IDLE: std::sync::Mutex<Vec<(Option<String>, String, Tesseract)>> =
    std::sync::Mutex::new(Vec::new());
const IDLE_MAX: usize = 4;

/// Drops the idle engines when the process exits. Registered after the first load, so it runs
/// before Tesseract's own static destructors (exit handlers run in reverse order), which would
/// otherwise print "WARNING! LEAK!" for every model file the kept engines still hold.
extern "C" fn drop_idle_engines() {
    if let Ok(mut pool) = IDLE.lock() {
        pool.clear();
    }
}
static AT_EXIT: std::sync::Once = std::sync::Once::new();

/// A Tesseract instance with its languages loaded, reused across the pages of one document and
/// handed back to [`IDLE`] for the next one when dropped.
pub(crate) struct OcrEngine {
    tess: Option<Tesseract>,
    tessdata: Option<String>,
    languages: String,
    dpi: u32,
    pdftoppm: std::path::PathBuf,
}

impl OcrEngine {
    /// Loads Tesseract with the languages of `limits`; the error says what to install.
    pub(crate) fn new(limits: &Limits) -> Result<OcrEngine, String> {
        let tessdata = limits
            .tessdata
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned());
        let tess = idle_or_load(tessdata.as_deref(), &limits.ocr_languages)?;
        // SAFETY: `atexit` only stores the pointer of a plain `extern "C"` function that never
        // unwinds (a poisoned lock is skipped); it runs once, at process exit.
        #[allow(unsafe_code)]
        AT_EXIT.call_once(|| unsafe {
            libc::atexit(drop_idle_engines);
        });
        Ok(OcrEngine {
            tess: Some(tess),
            tessdata,
            languages: limits.ocr_languages.clone(),
            dpi: limits.ocr_dpi,
            pdftoppm: limits.pdftoppm.clone(),
        })
    }

    /// Renders page `number` (1-based) of the PDF at `pdf` to a gray PGM in `dir` and returns
    /// its bytes (uncompressed on purpose, see the module note).
    pub(crate) fn rasterize(
        &self,
        pdf: &Path,
        number: u32,
        dir: &Path,
    ) -> Result<Vec<u8>, OcrFailure> {
        let prefix = dir.join(format!("page-{number}"));
        let n = number.to_string();
        let mut child = Command::new(&self.pdftoppm)
            .args(["-f", &n, "-l", &n, "-r", &self.dpi.to_string()])
            .args(["-gray", "-singlefile"])
            .arg(pdf)
            .arg(&prefix)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                OcrFailure::Internal(format!(
                    "cannot run {} (install poppler-utils): {e}",
                    self.pdftoppm.display()
                ))
            })?;
        let status = match wait_with_timeout(&mut child, RASTERIZE_TIMEOUT) {
            Ok(Some(status)) => status,
            Ok(None) => {
                return Err(OcrFailure::Unreadable(format!(
                    "rendering page {number} took longer than {} s",
                    RASTERIZE_TIMEOUT.as_secs()
                )));
            }
            Err(e) => return Err(OcrFailure::Internal(format!("waiting for pdftoppm: {e}"))),
        };
        let out = prefix.with_extension("pgm");
        if !status.success() {
            let mut err = String::new();
            if let Some(mut s) = child.stderr.take() {
                use std::io::Read;
                let _ = s.read_to_string(&mut err);
            }
            return Err(OcrFailure::Unreadable(format!(
                "page {number} cannot be rendered: {}",
                err.trim()
            )));
        }
        let pgm = std::fs::read(&out)
            .map_err(|e| OcrFailure::Internal(format!("reading the rendered page: {e}")))?;
        let _ = std::fs::remove_file(&out);
        Ok(despeckle_pgm(pgm))
    }

    /// Recognises an image (PNG, JPEG, TIFF first frame) as page `number`; `dpi` is the image's
    /// resolution when we know it (our own renders), else Tesseract reads or estimates it.
    /// Reads an image. When the languages mix Chinese with others (`chi_sim+eng`) and the page
    /// comes out mostly Chinese, it is read again with the Chinese model alone and that reading
    /// kept: with both models, Tesseract takes some Chinese words for Latin gibberish (`敲出价格`
    /// read as `AMMO MTHS`, `期权费` as `AME`), while the Chinese model reads the figures and
    /// codes of a Chinese page as well. The second pass costs a Chinese page a second
    /// recognition; other pages are read once.
    pub(crate) fn recognize_image(
        &mut self,
        image: &[u8],
        number: u32,
        dpi: Option<u32>,
    ) -> Result<Page, OcrFailure> {
        let page = self.recognize_with(None, image, number, dpi)?;
        let chinese_only = self
            .languages
            .split('+')
            .find(|l| l.starts_with("chi_"))
            .map(str::to_owned);
        match chinese_only {
            Some(zh) if self.languages.contains('+') && cjk::is_mostly_chinese(&page.text()) => {
                self.recognize_with(Some(&zh), image, number, dpi)
            }
            _ => Ok(page),
        }
    }

    /// One recognition with the engine's languages, or with `languages` (an engine taken from
    /// and returned to the idle pool).
    fn recognize_with(
        &mut self,
        languages: Option<&str>,
        image: &[u8],
        number: u32,
        dpi: Option<u32>,
    ) -> Result<Page, OcrFailure> {
        let tess = match languages {
            None => match self.tess.take() {
                Some(t) => t,
                None => {
                    load(self.tessdata.as_deref(), &self.languages).map_err(OcrFailure::Internal)?
                }
            },
            Some(l) => idle_or_load(self.tessdata.as_deref(), l).map_err(OcrFailure::Internal)?,
        };
        let tess = tess
            .set_image_from_mem(image)
            .map_err(|e| OcrFailure::Unreadable(format!("image cannot be decoded: {e}")))?;
        let tess = match dpi {
            Some(d) => tess.set_source_resolution(d as i32),
            None => tess,
        };
        let mut tess = tess
            .recognize()
            .map_err(|e| OcrFailure::Internal(format!("Tesseract failed: {e}")))?;
        let tsv = tess
            .get_tsv_text(0)
            .map_err(|e| OcrFailure::Internal(format!("Tesseract output: {e}")))?;
        match languages {
            None => self.tess = Some(tess),
            Some(l) => park(self.tessdata.clone(), l.to_owned(), tess),
        }
        Ok(page_from_tsv(&tsv, number))
    }
}

/// Share of isolated pixels above which a page counts as speckled.
const SPECKLE_SHARE: f64 = 0.002;

/// The header of a binary gray PGM (`P5`, 8-bit): (width, height, offset of the pixels).
fn pgm_header(pgm: &[u8]) -> Option<(usize, usize, usize)> {
    if !pgm.starts_with(b"P5") {
        return None;
    }
    let mut fields = Vec::new();
    let mut i = 2;
    while fields.len() < 3 {
        while i < pgm.len() && (pgm[i].is_ascii_whitespace() || pgm[i] == b'#') {
            if pgm[i] == b'#' {
                while i < pgm.len() && pgm[i] != b'\n' {
                    i += 1;
                }
            } else {
                i += 1;
            }
        }
        let start = i;
        while i < pgm.len() && pgm[i].is_ascii_digit() {
            i += 1;
        }
        fields.push(
            std::str::from_utf8(&pgm[start..i])
                .ok()?
                .parse::<usize>()
                .ok()?,
        );
    }
    let (w, h, max) = (fields[0], fields[1], fields[2]);
    // One whitespace byte after the maximum, then the pixels.
    let offset = i + 1;
    (max <= 255 && w >= 3 && h >= 3 && pgm.len() >= offset + w * h).then_some((w, h, offset))
}

/// A rendered page with its salt-and-pepper speckle removed before OCR (a dirty scanner glass,
/// a fax): when more than [`SPECKLE_SHARE`] of the pixels are isolated (dark with four light
/// neighbours, or light with four dark ones; text strokes at OCR resolution are several pixels
/// wide), the page gets a 3×3 median filter. A clean page is returned as it is (a median also
/// rounds thin strokes a little). Anything but an 8-bit binary PGM is returned unchanged.
pub(crate) fn despeckle_pgm(pgm: Vec<u8>) -> Vec<u8> {
    let Some((w, h, off)) = pgm_header(&pgm) else {
        return pgm;
    };
    let px = &pgm[off..off + w * h];
    let dark = |x: usize, y: usize| px[y * w + x] < 128;
    let mut isolated = 0usize;
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let d = dark(x, y);
            if [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)]
                .iter()
                .all(|&(a, b)| dark(a, b) != d)
            {
                isolated += 1;
            }
        }
    }
    if (isolated as f64) < SPECKLE_SHARE * (w * h) as f64 {
        return pgm;
    }
    let mut out = pgm.clone();
    let dst = &mut out[off..off + w * h];
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let mut v = [0u8; 9];
            let mut k = 0;
            for b in y - 1..=y + 1 {
                for a in x - 1..=x + 1 {
                    v[k] = px[b * w + a];
                    k += 1;
                }
            }
            v.sort_unstable();
            dst[y * w + x] = v[4];
        }
    }
    out
}

impl Drop for OcrEngine {
    fn drop(&mut self) {
        // An engine whose last page failed was not put back into `self.tess` and is gone.
        if let Some(tess) = self.tess.take() {
            park(
                self.tessdata.take(),
                std::mem::take(&mut self.languages),
                tess,
            );
        }
    }
}

/// Waits for `child` at most `limit`: its exit status, or `None` when it ran longer and was
/// killed (poppler's programs on a hostile page).
pub(crate) fn wait_with_timeout(
    child: &mut std::process::Child,
    limit: Duration,
) -> std::io::Result<Option<std::process::ExitStatus>> {
    let start = Instant::now();
    loop {
        match child.try_wait()? {
            Some(status) => return Ok(Some(status)),
            None if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Ok(None);
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// An idle engine with these languages from [`IDLE`], or a new one.
fn idle_or_load(tessdata: Option<&str>, languages: &str) -> Result<Tesseract, String> {
    let idle = {
        let mut pool = IDLE.lock().unwrap_or_else(|p| p.into_inner());
        pool.iter()
            .position(|(d, l, _)| d.as_deref() == tessdata && l == languages)
            .map(|i| pool.swap_remove(i).2)
    };
    match idle {
        Some(t) => Ok(t),
        None => load(tessdata, languages),
    }
}

/// Hands an engine back to [`IDLE`] for the next document (dropped when the pool is full).
fn park(tessdata: Option<String>, languages: String, tess: Tesseract) {
    let mut pool = IDLE.lock().unwrap_or_else(|p| p.into_inner());
    if pool.len() < IDLE_MAX {
        pool.push((tessdata, languages, tess));
    }
}

fn load(tessdata: Option<&str>, languages: &str) -> Result<Tesseract, String> {
    Tesseract::new(tessdata, Some(languages)).map_err(|e| {
        format!(
            "Tesseract cannot load languages {languages} ({e}); install libtesseract and \
             tesseract-ocr-eng, tesseract-ocr-chi-sim"
        )
    })
}

/// Repairs the confusions Tesseract makes on Chinese pages, in a line with Chinese characters
/// only (its words keep what Tesseract read): bracket shapes read for full-width parentheses
/// (`〔` `】` `{`), the punctuation inside a figure (`10,000.000.00`, `10; 000,000.00`,
/// `5000; 000: 00` → thousands by groups of three, a last group of one or two digits is the
/// decimals; `2: 07%` → `2.07%`), and the renminbi's code read as `GNY`, `QNY`, `CNV`.
pub(crate) fn repair_chinese_line(mut line: Line) -> Line {
    use regex::{Captures, Regex};
    use std::sync::LazyLock;
    if !line.text.chars().any(cjk::is_wide) {
        return line;
    }
    static FIGURE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(\d{1,4})((?:\s?[,.;:，]\s?\d{3})+)(?:\s?[.,;:]\s?(\d{1,2}))?")
            .expect("figure pattern compiles")
    });
    static PERCENT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(\d{1,3})\s?[:;]\s?(\d{1,4})\s?[%％]").expect("percent pattern compiles")
    });
    static CNY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\b(?:GNY|QNY|CNV|CHY|CNX)\b").expect("compiles"));
    let mut t: String = line
        .text
        .chars()
        .map(|c| match c {
            '〔' | '【' | '{' | '［' => '（',
            '〕' | '】' | '}' | '］' => '）',
            c => c,
        })
        .collect();
    t = FIGURE
        .replace_all(&t, |c: &Captures<'_>| {
            let m = c.get(0).expect("match");
            // A figure inside a longer run of digits (a date, a code) is left alone.
            let mut back = t[..m.start()].chars().rev();
            let (before, before2) = (back.next(), back.next());
            let after = t[m.end()..].chars().next();
            let joined = |c: Option<char>| c.is_some_and(|b| b.is_ascii_digit());
            // One group after a point is a decimal (`2.853`), not thousands.
            let seps: Vec<char> = c[2]
                .chars()
                .filter(|ch| !ch.is_ascii_digit() && !ch.is_whitespace())
                .collect();
            let decimal = seps == ['.'] && c.get(3).is_none();
            if decimal
                || joined(before)
                || (matches!(before, Some('-' | '/')) && joined(before2))
                || joined(after)
            {
                return m.as_str().to_owned();
            }
            // The integer's digits regrouped by three from the right (`5000; 000` lost a
            // separator: 5,000,000).
            let digits: Vec<char> = format!("{}{}", &c[1], &c[2])
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            let head = digits.len() % 3;
            let mut int = String::new();
            for (i, d) in digits.iter().enumerate() {
                if i > 0 && i >= head && (i - head).is_multiple_of(3) {
                    int.push(',');
                }
                int.push(*d);
            }
            match c.get(3) {
                Some(d) => format!("{int}.{}", d.as_str()),
                None => int,
            }
        })
        .into_owned();
    t = PERCENT.replace_all(&t, "$1.$2%").into_owned();
    t = CNY.replace_all(&t, "CNY").into_owned();
    line.text = t;
    line
}

/// Parses Tesseract's TSV (level, page, block, paragraph, line, word, left, top, width, height,
/// confidence, text) into a page: level 1 gives the image size, level 5 rows are words, grouped
/// into lines by (block, paragraph, line).
fn page_from_tsv(tsv: &str, number: u32) -> Page {
    let mut width = 0.0;
    let mut height = 0.0;
    let mut lines = Vec::new();
    let mut current: Option<(u32, u32, u32)> = None;
    let mut words: Vec<Word> = Vec::new();
    let mut conf_sum = 0.0f32;
    let mut conf_n = 0usize;
    for row in tsv.lines() {
        let cols: Vec<&str> = row.splitn(12, '\t').collect();
        if cols.len() < 11 {
            continue;
        }
        let num = |i: usize| cols[i].trim().parse::<f32>().unwrap_or(0.0);
        match cols[0] {
            "1" => {
                width = num(8);
                height = num(9);
            }
            "5" => {
                let text = cols.get(11).map_or("", |t| t.trim());
                if text.is_empty() {
                    continue;
                }
                let key = (num(2) as u32, num(3) as u32, num(4) as u32);
                if current != Some(key) && !words.is_empty() {
                    lines.push(repair_chinese_line(line_from_words(std::mem::take(
                        &mut words,
                    ))));
                }
                current = Some(key);
                let confidence = (num(10) / 100.0).clamp(0.0, 1.0);
                conf_sum += confidence;
                conf_n += 1;
                let (l, t) = (num(6), num(7));
                words.push(Word {
                    text: text.to_owned(),
                    bbox: Some(BBox {
                        x0: l,
                        y0: t,
                        x1: l + num(8),
                        y1: t + num(9),
                    }),
                    confidence,
                });
            }
            _ => {}
        }
    }
    if !words.is_empty() {
        lines.push(repair_chinese_line(line_from_words(words)));
    }
    Page {
        number,
        method: PageMethod::Ocr,
        width,
        height,
        confidence: if conf_n == 0 {
            0.0
        } else {
            conf_sum / conf_n as f32
        },
        lines,
    }
}

#[cfg(test)]
mod repair_tests {
    use super::*;

    fn repair(text: &str) -> String {
        repair_chinese_line(Line {
            text: text.to_owned(),
            bbox: None,
            words: Vec::new(),
        })
        .text
    }

    #[test]
    fn speckle_is_removed_and_a_clean_page_is_left_alone() {
        // A white 40×40 page with a 6-pixel-wide dark bar and, in the speckled copy, one dark
        // pixel in every 50.
        let (w, h) = (40usize, 40usize);
        let header = format!("P5\n# a comment\n{w} {h}\n255\n").into_bytes();
        let clean: Vec<u8> = (0..w * h)
            .map(|i| if (10..16).contains(&(i % w)) { 0 } else { 255 })
            .collect();
        let page = |px: &[u8]| [header.clone(), px.to_vec()].concat();
        let clean_pgm = page(&clean);
        assert_eq!(super::despeckle_pgm(clean_pgm.clone()), clean_pgm);
        let mut noisy = clean.clone();
        for i in (0..w * h).step_by(50) {
            if i % w > 20 && i / w > 0 && i / w < h - 1 && i % w < w - 1 {
                noisy[i] = 0;
            }
        }
        let out = super::despeckle_pgm(page(&noisy));
        let px = &out[header.len()..];
        for y in 1..h - 1 {
            for x in 21..w - 1 {
                assert_eq!(px[y * w + x], 255, "speckle left at ({x}, {y})");
            }
            // The bar survives.
            assert_eq!(px[y * w + 12], 0);
        }
        assert_eq!(
            super::despeckle_pgm(b"P6 not gray".to_vec()),
            b"P6 not gray"
        );
    }

    #[test]
    fn chinese_ocr_confusions_are_repaired() {
        assert_eq!(
            repair("名义本金; CNY 10,000.000.00"),
            "名义本金; CNY 10,000,000.00"
        );
        assert_eq!(
            repair("人民币吉作万元整(YX 10; 000,000.00)"),
            "人民币吉作万元整(YX 10,000,000.00)"
        );
        assert_eq!(
            repair("名义本金，QNY-5000; 000: 00"),
            "名义本金，CNY-5,000,000.00"
        );
        assert_eq!(
            repair("期权费; GNY 207,000.00(名义本金的2: 07%)"),
            "期权费; CNY 207,000.00(名义本金的2.07%)"
        );
        assert_eq!(
            repair("标的资产：螺纹钢期货（RB2610.SHF }"),
            "标的资产：螺纹钢期货（RB2610.SHF ）"
        );
        // Dates, codes and plain figures are left alone; lines without Chinese too.
        assert_eq!(
            repair("交易日: 2026-01-12 编号TEST-2026-0013"),
            "交易日: 2026-01-12 编号TEST-2026-0013"
        );
        assert_eq!(repair("期初价格: 5712.38"), "期初价格: 5712.38");
        assert_eq!(repair("期初价格: 2.853"), "期初价格: 2.853");
        assert_eq!(
            repair("Notional: USD 10,000.000.00 {x}"),
            "Notional: USD 10,000.000.00 {x}"
        );
    }
}
