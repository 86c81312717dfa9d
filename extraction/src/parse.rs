//! Value parsers for the formulaic parts of confirmations: dates, numbers with scale words,
//! amounts with currencies, rates and percentages, day-count fractions, tenors, and the small
//! enumerations (option type, exercise style, settlement). English and Chinese.
//!
//! Every parser takes a piece of source text and returns the canonical value and the byte range
//! of the text it read, so that evidence can point at exactly that text. Parsers never guess:
//! a date whose day and month could be swapped is returned as [`DateParse::Ambiguous`], a `¥`
//! without a Chinese context is not a currency.

use std::sync::LazyLock;

use regex::Regex;
use time::{Date, Month};

pub use policies::currency::{ISO_4217, is_currency};

/// A span of source text (byte offsets into the string the parser was given).
pub type Span = (usize, usize);

/// The outcome of reading a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateParse {
    /// One date.
    Date(Date),
    /// A numeric date whose day and month could be either way round (`03/04/2005`): both
    /// readings, month-first first.
    Ambiguous(Date, Date),
}

/// Which way round numeric dates are written in a document, learnt from its unambiguous ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NumericOrder {
    /// Not known (no unambiguous numeric date seen, or both orders seen).
    #[default]
    Unknown,
    /// `MM/DD/YYYY`.
    MonthFirst,
    /// `DD/MM/YYYY`.
    DayFirst,
}

const MONTHS: &str = "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|jun(?:e)?|jul(?:y)?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?";

/// Full month names of four letters or more, each letter allowed one stray space after it, for
/// OCR output that splits or glues words (`OnJ anuary 5, 2018`): these spellings need no word
/// boundary before them, being too long to occur by chance inside another word before a day
/// and a year.
static MONTHS_OCR: LazyLock<String> = LazyLock::new(|| {
    [
        "january",
        "february",
        "march",
        "april",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
    .iter()
    .map(|m| {
        let letters: Vec<String> = m.chars().map(|c| c.to_string()).collect();
        letters.join(r"\ ?")
    })
    .collect::<Vec<_>>()
    .join("|")
});

static DATE_RE: LazyLock<Regex> = LazyLock::new(|| {
    let months_ocr = MONTHS_OCR.as_str();
    let pattern = format!(
        r"(?ix)
        (?P<iso>(?-u:\b)(?P<iy>\d{{4}})[-/.](?P<im>\d{{1,2}})[-/.](?P<id>\d{{1,2}})(?-u:\b))
        | (?P<zh>(?P<zy>\d(?:\ ?\d){{3}})\s*年\s*(?P<zm>\d(?:\ ?\d)?)\s*月\s*(?P<zd>\d(?:\ ?\d)?)\s*[日号])
        | (?P<zhn>(?P<cy>[〇○零Oo0一二三四五六七八九](?:\ ?[〇○零Oo0一二三四五六七八九]){{3,4}})\s*年\s*(?P<cm>[一二三四五六七八九十]{{1,2}})\s*月\s*(?P<cd>[一二三四五六七八九十]{{1,3}})\s*[日号])
        | (?P<mdy>(?:\b(?P<am>{MONTHS})|(?P<am2>{months_ocr}))\.?\s*(?P<ad>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<ay>\d{{4}})\b)
        | (?P<dmy>\b(?P<bd>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+|-)(?:of\s+)?(?:(?P<bm>{MONTHS})|(?P<bm2>{months_ocr}))\.?,?(?:\s+|-)(?P<by>\d{{4}}|\d{{2}})\b)
        | (?P<num>(?-u:\b)(?P<n1>\d{{1,2}})[/.\-](?P<n2>\d{{1,2}})[/.\-](?P<ny>\d{{4}})(?-u:\b))
        "
    );
    Regex::new(&pattern).expect("date pattern compiles")
});

fn month_of(name: &str) -> Option<Month> {
    let n = name.replace(' ', "").to_ascii_lowercase();
    let m = match n.get(..3)? {
        "jan" => Month::January,
        "feb" => Month::February,
        "mar" => Month::March,
        "apr" => Month::April,
        "may" => Month::May,
        "jun" => Month::June,
        "jul" => Month::July,
        "aug" => Month::August,
        "sep" => Month::September,
        "oct" => Month::October,
        "nov" => Month::November,
        "dec" => Month::December,
        _ => return None,
    };
    Some(m)
}

fn ymd(y: i32, m: u8, d: u8) -> Option<Date> {
    Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
}

/// The number a run of Chinese numerals writes (`二〇二六`, `十二`, `三十一`), with OCR's Latin
/// `O`/`o`/`0` and `○` read as `〇`.
pub fn chinese_numeral(s: &str) -> Option<u64> {
    let chars: Vec<char> = s
        .chars()
        .filter(|c| *c != ' ')
        .map(|c| match c {
            'O' | 'o' | '0' | '○' => '〇',
            c => c,
        })
        .collect();
    cjk::numeral_value(&chars)
}

/// Every date written in `text`, in order, with its span.
pub fn find_dates(text: &str) -> Vec<(DateParse, Span)> {
    let mut out = Vec::new();
    for c in DATE_RE.captures_iter(text) {
        let whole = c.get(0).expect("match");
        let span = (whole.start(), whole.end());
        // Text layers of CJK PDFs and OCR space digits out (`2 0 2 6 年`).
        let num = |name: &str| {
            c.name(name)
                .and_then(|m| m.as_str().replace(' ', "").parse::<i64>().ok())
        };
        let parsed = if c.name("iso").is_some() {
            (|| {
                ymd(
                    num("iy")? as i32,
                    u8::try_from(num("im")?).ok()?,
                    u8::try_from(num("id")?).ok()?,
                )
                .map(DateParse::Date)
            })()
        } else if c.name("zh").is_some() {
            (|| {
                ymd(
                    num("zy")? as i32,
                    u8::try_from(num("zm")?).ok()?,
                    u8::try_from(num("zd")?).ok()?,
                )
                .map(DateParse::Date)
            })()
        } else if c.name("zhn").is_some() {
            (|| {
                let mut chars: Vec<char> = c
                    .name("cy")?
                    .as_str()
                    .chars()
                    .filter(|ch| *ch != ' ')
                    .collect();
                // OCR reads one 〇 twice, as a Latin O and as 〇 (`二O〇二六年`).
                if chars.len() == 5 {
                    let twin = chars.windows(2).position(|w| {
                        matches!(w[0], 'O' | 'o' | '0') && matches!(w[1], '〇' | '○' | '零')
                            || matches!(w[0], '〇' | '○' | '零') && matches!(w[1], 'O' | 'o' | '0')
                    })?;
                    chars.remove(twin);
                }
                let year = chinese_numeral(&chars.into_iter().collect::<String>())?;
                ymd(
                    i32::try_from(year).ok()?,
                    u8::try_from(chinese_numeral(c.name("cm")?.as_str())?).ok()?,
                    u8::try_from(chinese_numeral(c.name("cd")?.as_str())?).ok()?,
                )
                .map(DateParse::Date)
            })()
        } else if c.name("mdy").is_some() {
            (|| {
                let m = month_of(c.name("am").or_else(|| c.name("am2"))?.as_str())?;
                Date::from_calendar_date(num("ay")? as i32, m, u8::try_from(num("ad")?).ok()?)
                    .ok()
                    .map(DateParse::Date)
            })()
        } else if c.name("dmy").is_some() {
            (|| {
                let m = month_of(c.name("bm").or_else(|| c.name("bm2"))?.as_str())?;
                let raw = c.name("by")?.as_str();
                let mut y = raw.parse::<i32>().ok()?;
                if raw.len() == 2 {
                    // Two-digit years appear only with month names (`23-Jun-05`); a confirmation
                    // of derivatives is from this century or the end of the last one.
                    y += if y < 70 { 2000 } else { 1900 };
                }
                Date::from_calendar_date(y, m, u8::try_from(num("bd")?).ok()?)
                    .ok()
                    .map(DateParse::Date)
            })()
        } else {
            (|| {
                let (a, b, y) = (num("n1")?, num("n2")?, num("ny")? as i32);
                let mf = ymd(y, u8::try_from(a).ok()?, u8::try_from(b).ok()?);
                let df = ymd(y, u8::try_from(b).ok()?, u8::try_from(a).ok()?);
                match (mf, df) {
                    (Some(x), Some(z)) if x != z => Some(DateParse::Ambiguous(x, z)),
                    (Some(x), _) | (None, Some(x)) => Some(DateParse::Date(x)),
                    (None, None) => None,
                }
            })()
        };
        if let Some(p) = parsed {
            out.push((p, span));
        }
    }
    out
}

/// The document's numeric date order, from the numeric dates that can be read one way only.
pub fn numeric_order(text: &str) -> NumericOrder {
    static NUM: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\b(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})\b").expect("compiles")
    });
    let (mut month_first, mut day_first) = (false, false);
    for c in NUM.captures_iter(text) {
        let a: u32 = c[1].parse().unwrap_or(0);
        let b: u32 = c[2].parse().unwrap_or(0);
        if a <= 12 && b > 12 && b <= 31 {
            month_first = true;
        } else if b <= 12 && a > 12 && a <= 31 {
            day_first = true;
        }
    }
    match (month_first, day_first) {
        (true, false) => NumericOrder::MonthFirst,
        (false, true) => NumericOrder::DayFirst,
        _ => NumericOrder::Unknown,
    }
}

/// Resolves an ambiguous numeric date with the document's order; `None` if still ambiguous.
pub fn resolve_date(p: DateParse, order: NumericOrder) -> Option<Date> {
    match (p, order) {
        (DateParse::Date(d), _) => Some(d),
        (DateParse::Ambiguous(mf, _), NumericOrder::MonthFirst) => Some(mf),
        (DateParse::Ambiguous(_, df), NumericOrder::DayFirst) => Some(df),
        (DateParse::Ambiguous(..), NumericOrder::Unknown) => None,
    }
}

/// A date as ISO `YYYY-MM-DD`.
pub fn iso(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Parses an ISO `YYYY-MM-DD` date.
pub fn parse_iso(s: &str) -> Option<Date> {
    let mut it = s.split('-');
    let y = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    let d = it.next()?.parse().ok()?;
    if it.next().is_some() || s.len() != 10 {
        return None;
    }
    ymd(y, m, d)
}

/// Replaces full-width digits, letters and punctuation with their ASCII forms and the ideographic
/// space with a space. Byte offsets change, so callers fold values only, never text they take
/// spans from.
pub fn ascii_fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '\u{3000}' => ' ',
            '。' => '.',
            _ => c,
        })
        .collect()
}

/// A decimal number written with digits (`300,000,000.00`, `1.000.000,00`, `4.09`), as the
/// canonical digit string (`300000000.00`, `1000000.00`, `4.09`).
pub fn canonical_decimal(raw: &str) -> Option<String> {
    let s: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\'')
        .collect();
    if s.is_empty() || !s.chars().next()?.is_ascii_digit() && !s.starts_with('.') {
        return None;
    }
    let commas = s.matches(',').count();
    let dots = s.matches('.').count();
    let out = match (commas, dots) {
        (0, 0) | (0, 1) => s,
        (_, 0) if is_grouped(&s, ',') => s.replace(',', ""),
        (1, 0) => s.replace(',', "."),
        (_, 1) if s.rfind('.') > s.rfind(',') && is_grouped(&s[..s.rfind('.')?], ',') => {
            s.replace(',', "")
        }
        (1, _) if s.rfind(',') > s.rfind('.') && is_grouped(&s[..s.rfind(',')?], '.') => {
            s.replace('.', "").replace(',', ".")
        }
        (0, _) if is_grouped(&s, '.') => s.replace('.', ""),
        _ => return None,
    };
    out.parse::<f64>().ok().map(|_| out)
}

fn is_grouped(s: &str, sep: char) -> bool {
    let mut parts = s.split(sep);
    let first = parts.next().unwrap_or("");
    !first.is_empty()
        && first.len() <= 3
        && first.chars().all(|c| c.is_ascii_digit())
        && parts.all(|p| p.len() == 3 && p.chars().all(|c| c.is_ascii_digit()))
}

/// Multiplies a canonical decimal string by `10^shift` textually (no floating-point error):
/// `("4.09", -2)` → `0.0409`.
pub fn shift_decimal(digits: &str, shift: i32) -> Option<f64> {
    // Other scripts' digits (which `\d` matches) are not read: byte and digit counts differ.
    if !digits.is_ascii() {
        return None;
    }
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut all: String = format!("{int}{frac}");
    let mut point = int.len() as i32 + shift;
    if point <= 0 {
        all = format!("{}{all}", "0".repeat((1 - point) as usize));
        point = 1;
    }
    while (all.len() as i32) < point {
        all.push('0');
    }
    let (i, f) = all.split_at(point as usize);
    format!("{i}.{f}0").parse::<f64>().ok()
}

/// A number as JSON: an integer when it is one (and small enough), else a float.
pub fn number_json(v: f64) -> serde_json::Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        serde_json::Value::from(v as i64)
    } else {
        serde_json::Value::from(v)
    }
}

/// An amount of money, a plain number with its currency (when written).
#[derive(Debug, Clone, PartialEq)]
pub struct Amount {
    /// The value after scale words (`5 million` → 5e6, `1000万` → 1e7).
    pub value: f64,
    /// The ISO 4217 currency, when the text names one.
    pub currency: Option<String>,
    /// The text read.
    pub span: Span,
}

static AMOUNT_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        (?P<pre>\b[A-Z]{3}\b|US\$|U\.S\.\s?\$|HK\$|S\$|A\$|C\$|NZ\$|\$|€|£|￥|¥|人民币|美元|港币|港元|欧元|日元|英镑|新台币|新加坡元|瑞士法郎|澳元|加元)?
        \s*
        (?P<num>\d{1,3}(?:\.\d{3}){2,}(?:,\d+)?|\d{1,3}\.\d{3},\d+|\d{1,3}(?:(?:,\x20?|[\x20'])(?:\d{3}))+(?:\.\d+)?|\d+(?:[.,]\d+)?)
        \s*
        (?P<scale>thousand|million|billion|trillion|mln|mio|mn|mm|bn|m|k|b|千万|百万|亿|万|千)?
        \s*
        (?P<post>\b[A-Z]{3}\b|人民币元|元人民币|元|美元|港元|欧元|日元|英镑)?
        ",
    )
    .expect("amount pattern compiles")
});

fn currency_word(w: &str, chinese: bool) -> Option<&'static str> {
    let w = w.trim();
    let code = match w {
        "$" | "US$" => "USD",
        "HK$" | "港币" | "港元" => "HKD",
        "S$" => "SGD",
        "A$" => "AUD",
        "C$" => "CAD",
        "NZ$" => "NZD",
        "€" | "欧元" => "EUR",
        "£" | "英镑" => "GBP",
        "人民币" | "元" | "人民币元" | "元人民币" => "CNY",
        "美元" => "USD",
        "日元" => "JPY",
        "新台币" => "TWD",
        "新加坡元" => "SGD",
        "瑞士法郎" => "CHF",
        "澳元" => "AUD",
        "加元" => "CAD",
        // The yen sign is also the yuan sign: only a Chinese document makes it the renminbi,
        // and nothing makes it certain otherwise.
        "￥" | "¥" if chinese => "CNY",
        _ if w.starts_with("U.S.") => "USD",
        // Codes count only when written in capitals (`ALL` is a currency, `all` is a word).
        _ if w == "RMB" => "CNY",
        _ if w.len() == 3 && w.bytes().all(|b| b.is_ascii_uppercase()) => {
            return ISO_4217.iter().find(|c| **c == w).copied();
        }
        _ => return None,
    };
    Some(code)
}

fn scale_of(s: &str) -> Option<i32> {
    Some(match s.to_ascii_lowercase().as_str() {
        "thousand" | "k" | "千" => 3,
        "million" | "mln" | "mio" | "mn" | "mm" | "m" | "百万" => 6,
        "billion" | "bn" | "b" => 9,
        "trillion" => 12,
        "万" => 4,
        "千万" => 7,
        "亿" => 8,
        _ => return None,
    })
}

/// Every amount of money in `text` that names a currency (by code, symbol or Chinese word).
/// `chinese` says whether the document is Chinese (which makes `¥` the renminbi).
pub fn find_amounts(text: &str, chinese: bool) -> Vec<Amount> {
    find_numbers_with_units(text, chinese)
        .into_iter()
        .filter(|a| a.currency.is_some())
        .collect()
}

/// Every number in `text` with its scale word and currency, if any.
pub fn find_numbers_with_units(text: &str, chinese: bool) -> Vec<Amount> {
    let mut out = Vec::new();
    for c in AMOUNT_RE.captures_iter(text) {
        let Some(num) = c.name("num") else { continue };
        let Some(digits) = canonical_decimal(num.as_str()) else {
            continue;
        };
        let pre = c.name("pre").and_then(|m| {
            // A bare three-letter word before the number counts only if it is a currency.
            currency_word(m.as_str(), chinese).map(|code| (code, m.start()))
        });
        let post = c
            .name("post")
            .and_then(|m| currency_word(m.as_str(), chinese).map(|code| (code, m.end())));
        let scale_m = c.name("scale");
        let scale = scale_m.and_then(|m| {
            // Single letters are scale words only when glued to the number or before a
            // currency (`5m USD`, `5 mm`), not `5 M` at the start of a word.
            let s = m.as_str();
            let next = text[m.end()..].chars().next();
            if s.len() == 1 && next.is_some_and(|ch| ch.is_alphanumeric()) {
                None
            } else {
                scale_of(s)
            }
        });
        let value = match scale {
            Some(k) => shift_decimal(&digits, k),
            None => digits.parse().ok(),
        };
        let Some(value) = value else { continue };
        let start = pre.map(|(_, s)| s).unwrap_or(num.start());
        let end = post
            .map(|(_, e)| e)
            .or_else(|| scale.and(scale_m.map(|m| m.end())))
            .unwrap_or(num.end());
        let currency = pre.or(post).map(|(c, _)| c.to_owned());
        out.push(Amount {
            value,
            currency,
            span: (start, end),
        });
    }
    // Amounts in Chinese numerals, the 大写 capitals of contracts (`人民币壹仟万元整`) or the
    // ordinary ones (`三千万元`), which always end in 元 (and may go on to 角 and 分).
    static WORDS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?P<pre>人民币|美元|港币|港元|欧元)?\s*(?P<num>[零〇壹贰叁肆伍陆柒捌玖拾一二两三四五六七八九十][零〇壹贰叁肆伍陆柒捌玖拾佰仟一二两三四五六七八九十百千万亿]*)(?P<post>元|圆)(?:(?P<jiao>[零壹贰叁肆伍陆柒捌玖一二三四五六七八九])角)?(?:(?P<fen>[壹贰叁肆伍陆柒捌玖一二三四五六七八九])分)?整?",
        )
        .expect("Chinese amount pattern compiles")
    });
    for c in WORDS.captures_iter(text) {
        let whole = c.get(0).expect("match");
        let num = c.name("num").expect("group");
        // `1000万元`: the 万 belongs to a figure.
        if text[..num.start()]
            .chars()
            .next_back()
            .is_some_and(|ch| ch.is_ascii_digit() || ch == '.' || ch == ',')
        {
            continue;
        }
        // `二元看涨期权` is a digital option, not two yuan: a one-character figure counts only
        // with a currency word before it or 整/角/分 after it.
        if num.as_str().chars().count() == 1
            && c.name("pre").is_none()
            && !whole.as_str().ends_with(['整', '角', '分'])
        {
            continue;
        }
        let digits: Vec<char> = num.as_str().chars().collect();
        let Some(mut value) = cjk::numeral_value(&digits).map(|v| v as f64) else {
            continue;
        };
        let small = |name: &str| {
            c.name(name)
                .and_then(|m| m.as_str().chars().next())
                .and_then(cjk::numeral_digit)
        };
        value += small("jiao").map_or(0.0, |d| d as f64 / 10.0)
            + small("fen").map_or(0.0, |d| d as f64 / 100.0);
        if value <= 0.0 {
            continue;
        }
        let currency = match c.name("pre").map(|m| m.as_str()) {
            Some(w) => currency_word(w, chinese),
            None => Some("CNY"),
        };
        out.push(Amount {
            value: (value * 100.0).round() / 100.0,
            currency: currency.map(str::to_owned),
            span: (whole.start(), whole.end()),
        });
    }
    out.sort_by_key(|a| a.span.0);
    out
}

/// A percentage or rate written in `text` (`4.09%`, `4.09 per cent`, `409 bps`, `18%（年化）`),
/// as a decimal fraction (0.0409) with its span and the percent figure as written (4.09).
pub fn find_rates(text: &str) -> Vec<(f64, f64, Span)> {
    static RATE_RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)(?P<num>\d+(?:\.\d+)?)\s*(?:(?P<pct>%|％|per\s?cent|percent|pct)|(?P<bp>bps|bp|basis\s+points?|个基点|基点))",
        )
        .expect("rate pattern compiles")
    });
    let mut out = Vec::new();
    for c in RATE_RE.captures_iter(text) {
        let m = c.get(0).expect("match");
        let Some(num) = c.name("num") else { continue };
        let shift = if c.name("bp").is_some() { -4 } else { -2 };
        let (Some(frac), Ok(written)) = (
            shift_decimal(num.as_str(), shift),
            num.as_str().parse::<f64>(),
        ) else {
            continue;
        };
        let written = if c.name("bp").is_some() {
            written / 100.0
        } else {
            written
        };
        out.push((frac, written, (m.start(), m.end())));
    }
    out
}

/// A day-count fraction in CDM's spelling (`30/360`, `ACT/360`, `ACT/365.FIXED`, `ACT/ACT.ISDA`,
/// `30E/360`), from the way confirmations write it (`Actual/360`, `"30" "360"`, `实际/365`).
pub fn day_count(text: &str) -> Option<(String, Span)> {
    static DC_RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"(?ix)
            (?P<num>30E|30|ACT|Actual|实际天数|实际)\s*["”“]?\s*(?:/|\s)\s*["”“]?\s*(?P<den>360|365|ACT|Actual|366)
            (?:\s*[\(（]?\s*(?P<q>Fixed|F|ISDA|ICMA|ISMA|AFB|Bond\s+Basis|L)\b\s*[\)）]?)?
            |(?P<bond>Bond\s+Basis)
            "#,
        )
        .expect("day count pattern compiles")
    });
    let c = DC_RE.captures(text)?;
    let m = c.get(0)?;
    if c.name("bond").is_some() {
        return Some(("30/360".into(), (m.start(), m.end())));
    }
    let num = c.name("num")?.as_str().to_ascii_lowercase();
    let den = c.name("den")?.as_str().to_ascii_lowercase();
    let q = c.name("q").map(|q| q.as_str().to_ascii_lowercase());
    let actual = |s: &str| matches!(s, "act" | "actual" | "实际" | "实际天数");
    let out = match (num.as_str(), den.as_str()) {
        ("30e", "360") => "30E/360".to_owned(),
        ("30", "360") => "30/360".to_owned(),
        (n, "360") if actual(n) => "ACT/360".to_owned(),
        (n, "365") if actual(n) => match q.as_deref() {
            Some("l") => "ACT/365L".to_owned(),
            _ => "ACT/365.FIXED".to_owned(),
        },
        (n, d) if actual(n) && actual(d) => match q.as_deref() {
            Some("icma") => "ACT/ACT.ICMA".to_owned(),
            Some("isma") => "ACT/ACT.ISMA".to_owned(),
            Some("afb") => "ACT/ACT.AFB".to_owned(),
            _ => "ACT/ACT.ISDA".to_owned(),
        },
        _ => return None,
    };
    Some((out, (m.start(), m.end())))
}

/// A tenor (`3M`, `Three months`, `6-month`, `1 year`, `3个月`, `1年`) as `3M`, `6M`, `1Y`…
pub fn tenor(text: &str) -> Option<(String, Span)> {
    static TENOR_RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?ix)
            (?P<n>\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|十二|一|二|两|三|四|五|六|七|八|九|十)
            \s*-?\s*
            (?P<u>months?|mos?|m|years?|yrs?|y|weeks?|wks?|w|days?|d|个月|月|年|周|天)
            ",
        )
        .expect("tenor pattern compiles")
    });
    for c in TENOR_RE.captures_iter(text) {
        let m = c.get(0)?;
        let n = match c.name("n")?.as_str().to_ascii_lowercase().as_str() {
            "one" | "一" => 1,
            "two" | "二" | "两" => 2,
            "three" | "三" => 3,
            "four" | "四" => 4,
            "five" | "五" => 5,
            "six" | "六" => 6,
            "seven" | "七" => 7,
            "eight" | "八" => 8,
            "nine" | "九" => 9,
            "ten" | "十" => 10,
            "eleven" => 11,
            "twelve" | "十二" => 12,
            d => match d.parse::<u32>() {
                Ok(v) if v > 0 => v,
                _ => continue,
            },
        };
        let u = c.name("u")?.as_str().to_ascii_lowercase();
        // A bare `m`/`d`/`y` must end the word (`3M`), not start one (`3 Months` is handled by
        // the longer alternatives, `3 mandatory` must not match).
        let after = text[m.end()..].chars().next();
        if u.len() == 1 && after.is_some_and(|ch| ch.is_ascii_alphanumeric()) {
            continue;
        }
        let unit = if u.starts_with("mo") || u == "m" || u == "个月" || u == "月" {
            'M'
        } else if u.starts_with('y') || u == "年" {
            'Y'
        } else if u.starts_with('w') || u == "周" {
            'W'
        } else {
            'D'
        };
        return Some((format!("{n}{unit}"), (m.start(), m.end())));
    }
    None
}

/// Option type from `Call`/`Put`/看涨/看跌/认购/认沽.
pub fn option_type(text: &str) -> Option<(&'static str, Span)> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(call|put)\b|(看涨|认购|看跌|认沽)").expect("compiles")
    });
    let c = RE.captures(text)?;
    let m = c.get(0)?;
    let v = match m.as_str().to_ascii_lowercase().as_str() {
        "call" | "看涨" | "认购" => "call",
        _ => "put",
    };
    Some((v, (m.start(), m.end())))
}

/// Exercise style from `European`/`American`/`Bermudan` and 欧式/美式/百慕大.
pub fn exercise_style(text: &str) -> Option<(&'static str, Span)> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(european|american|bermudan?)\b|(欧式|美式|百慕大)").expect("compiles")
    });
    // "Cash or Physical Settlement", 现金结算或实物交割: either, at a party's election.
    static EITHER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)\b(?:cash(?:\s+settlement)?\s+or\s+physical(?:\s+(?:settlement|delivery))?|physical(?:\s+(?:settlement|delivery))?\s+or\s+cash(?:\s+settlement)?)\b|现金(?:结算|交割)?或实物(?:交割|结算)|实物(?:交割|结算)?或现金(?:结算|交割)?",
        )
        .expect("compiles")
    });
    let c = RE.captures(text)?;
    let m = c.get(0)?;
    if let Some(e) = EITHER.find(text)
        && e.start() <= m.start()
    {
        return Some(("cash_or_physical", (e.start(), e.end())));
    }
    let s = m.as_str().to_ascii_lowercase();
    let v = if s.starts_with("euro") || s == "欧式" {
        "european"
    } else if s.starts_with("amer") || s == "美式" {
        "american"
    } else {
        "bermudan"
    };
    Some((v, (m.start(), m.end())))
}

/// Settlement from `Cash`/`Physical` wording and 现金结算/实物交割.
pub fn settlement(text: &str) -> Option<(&'static str, Span)> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)\b(cash(?:\s+settle(?:ment|d)?)?|physical(?:ly)?(?:\s+(?:settle(?:ment|d)?|delivery))?)\b|(现金结算|现金交割|实物交割|实物结算)",
        )
        .expect("compiles")
    });
    // "Cash or Physical Settlement", 现金结算或实物交割: either, at a party's election.
    static EITHER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)\b(?:cash(?:\s+settlement)?\s+or\s+physical(?:\s+(?:settlement|delivery))?|physical(?:\s+(?:settlement|delivery))?\s+or\s+cash(?:\s+settlement)?)\b|现金(?:结算|交割)?或实物(?:交割|结算)|实物(?:交割|结算)?或现金(?:结算|交割)?",
        )
        .expect("compiles")
    });
    let c = RE.captures(text)?;
    let m = c.get(0)?;
    if let Some(e) = EITHER.find(text)
        && e.start() <= m.start()
    {
        return Some(("cash_or_physical", (e.start(), e.end())));
    }
    let s = m.as_str().to_ascii_lowercase();
    let v = if s.starts_with("cash") || s.starts_with("现金") {
        "cash"
    } else {
        "physical"
    };
    Some((v, (m.start(), m.end())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        parse_iso(s).unwrap()
    }

    #[test]
    fn settlement_either_way() {
        for (t, want) in [
            (
                "Settlement Method: Cash or Physical Settlement",
                "cash_or_physical",
            ),
            ("结算方式：现金结算或实物交割", "cash_or_physical"),
            ("Settlement Method: Physical Settlement", "physical"),
            ("结算方式：现金结算", "cash"),
            (
                "Cash Settlement; physical delivery is not applicable",
                "cash",
            ),
        ] {
            assert_eq!(settlement(t).map(|s| s.0), Some(want), "{t}");
        }
    }

    #[test]
    fn chinese_numeral_dates_and_amounts() {
        let d = |t: &str| match find_dates(t).first() {
            Some((DateParse::Date(d), _)) => Some(iso(*d)),
            _ => None,
        };
        assert_eq!(
            d("交易日：二〇二六年三月五日").as_deref(),
            Some("2026-03-05")
        );
        assert_eq!(d("二O二六年十二月三十一日").as_deref(), Some("2026-12-31"));
        assert_eq!(d("二〇二五年十月二十日").as_deref(), Some("2025-10-20"));
        // OCR doubling one 〇 as `O〇`.
        assert_eq!(
            d("交易日”二O〇二六年十月十二日").as_deref(),
            Some("2026-10-12")
        );
        // A figure glued to Chinese text still reads (no word boundary between 于 and 2).
        assert_eq!(
            d("乙方应于2026.6.3（“期权费支付日”）").as_deref(),
            Some("2026-06-03")
        );
        assert_eq!(d("于2026-06-03支付").as_deref(), Some("2026-06-03"));
        assert_eq!(chinese_numeral("二十"), Some(20));
        assert_eq!(chinese_numeral("十二"), Some(12));
        let a = |t: &str| {
            find_amounts(t, true)
                .first()
                .map(|a| (a.value, a.currency.clone().unwrap_or_default()))
        };
        assert_eq!(a("人民币壹仟万元整"), Some((1e7, "CNY".into())));
        assert_eq!(a("人民币壹亿贰仟叁佰万元整"), Some((1.23e8, "CNY".into())));
        assert_eq!(a("人民币贰拾叁万伍仟元整"), Some((235000.0, "CNY".into())));
        assert_eq!(a("人民币壹万零伍拾元伍角"), Some((10050.5, "CNY".into())));
        assert_eq!(a("名义本金三千万元"), Some((3e7, "CNY".into())));
        assert_eq!(a("美元伍佰万元整"), Some((5e6, "USD".into())));
        assert_eq!(a("人民币1亿元"), Some((1e8, "CNY".into())));
        assert_eq!(a("5,000万元"), Some((5e7, "CNY".into())));
        // Not amounts: a digital option, a 万 that belongs to a figure.
        assert_eq!(a("期权类型：二元看涨期权"), None);
        assert_eq!(find_amounts("1000万元", true).len(), 1);
    }

    #[test]
    fn dates_in_every_spelling() {
        let cases: &[(&str, &str)] = &[
            ("June 23, 2005", "2005-06-23"),
            ("Jun. 23 2005", "2005-06-23"),
            ("23 June 2005", "2005-06-23"),
            ("23rd of June, 2005", "2005-06-23"),
            ("23-Jun-05", "2005-06-23"),
            ("2005-06-23", "2005-06-23"),
            ("2026年1月5日", "2026-01-05"),
            ("2026 年 1 月 5 日", "2026-01-05"),
            ("06/23/2005", "2005-06-23"),
            ("23.06.2005", "2005-06-23"),
        ];
        for (text, want) in cases {
            let got = find_dates(text);
            assert_eq!(got.len(), 1, "{text}: {got:?}");
            assert_eq!(got[0].0, DateParse::Date(d(want)), "{text}");
            assert_eq!(got[0].1, (0, text.len()), "{text}");
        }
        let amb = find_dates("03/04/2005");
        assert_eq!(
            amb[0].0,
            DateParse::Ambiguous(d("2005-03-04"), d("2005-04-03"))
        );
        assert_eq!(numeric_order("Date: 06/30/2005"), NumericOrder::MonthFirst);
        assert_eq!(numeric_order("le 30/06/2005"), NumericOrder::DayFirst);
        assert_eq!(
            resolve_date(amb[0].0, NumericOrder::DayFirst),
            Some(d("2005-04-03"))
        );
        assert_eq!(resolve_date(amb[0].0, NumericOrder::Unknown), None);
        assert!(find_dates("31/02/2005").is_empty());
        // OCR that splits or glues words.
        for (text, want, start) in [
            ("OnJ anuary 5, 2018", "2018-01-05", 2),
            ("dated Sept ember 30, 2019", "2019-09-30", 6),
            ("as of 5 Decem ber 2018", "2018-12-05", 6),
            ("effectiveMarch 1, 2020", "2020-03-01", 9),
            ("OnJ une 6, 2019", "2019-06-06", 2),
            ("OnJuly 7, 2019", "2019-07-07", 2),
        ] {
            let got = find_dates(text);
            assert_eq!(got.len(), 1, "{text}: {got:?}");
            assert_eq!(got[0].0, DateParse::Date(d(want)), "{text}");
            assert_eq!(got[0].1, (start, text.len()), "{text}");
        }
        // Short names still need a word boundary.
        assert!(find_dates("dismay 5, 2018").is_empty());
    }

    #[test]
    fn amounts_with_currencies_and_scale_words() {
        let cases: &[(&str, f64, &str)] = &[
            ("300000000.00 USD", 3e8, "USD"),
            ("USD 300,000,000", 3e8, "USD"),
            ("$35,400,000", 35_400_000.0, "USD"),
            ("EUR 1.5bn", 1.5e9, "EUR"),
            ("US$ 5 million", 5e6, "USD"),
            ("USD 10mm", 1e7, "USD"),
            ("人民币10,000,000元", 1e7, "CNY"),
            ("1000万元", 1e7, "CNY"),
            ("RMB 1亿", 1e8, "CNY"),
            ("EUR 1.000.000,50", 1_000_000.5, "EUR"),
        ];
        for (text, value, ccy) in cases {
            let got = find_amounts(text, false);
            assert_eq!(got.len(), 1, "{text}: {got:?}");
            assert_eq!(got[0].value, *value, "{text}");
            assert_eq!(got[0].currency.as_deref(), Some(*ccy), "{text}");
            assert_eq!(got[0].span, (0, text.len()), "{text}");
        }
        assert!(find_amounts("¥5,000", false).is_empty());
        assert_eq!(
            find_amounts("¥5,000", true)[0].currency.as_deref(),
            Some("CNY")
        );
        assert!(find_amounts("THE 300 shares", false).is_empty());
    }

    #[test]
    fn rates_day_counts_tenors() {
        assert_eq!(find_rates("Fixed Rate: 4.09%")[0].0, 0.0409);
        assert_eq!(find_rates("18%（年化）")[0].0, 0.18);
        assert_eq!(find_rates("25 bps")[0].0, 0.0025);
        assert_eq!(find_rates("4.5 per cent")[0].1, 4.5);
        for (text, want) in [
            (r#""30" "360""#, "30/360"),
            ("30/360", "30/360"),
            ("Actual/360", "ACT/360"),
            ("ACT/365 (Fixed)", "ACT/365.FIXED"),
            ("Actual/Actual (ISDA)", "ACT/ACT.ISDA"),
            ("30E/360", "30E/360"),
            ("实际/365", "ACT/365.FIXED"),
        ] {
            assert_eq!(
                day_count(text).map(|x| x.0).as_deref(),
                Some(want),
                "{text}"
            );
        }
        for (text, want) in [
            ("Three months", "3M"),
            ("3M", "3M"),
            ("6-month", "6M"),
            ("1 year", "1Y"),
            ("3个月", "3M"),
        ] {
            assert_eq!(tenor(text).map(|x| x.0).as_deref(), Some(want), "{text}");
        }
        assert_eq!(shift_decimal("4.09", -2), Some(0.0409));
        assert_eq!(shift_decimal("300", 6), Some(3e8));
        assert_eq!(canonical_decimal("1,000"), Some("1000".into()));
        assert_eq!(canonical_decimal("1,5"), Some("1.5".into()));
    }
}
