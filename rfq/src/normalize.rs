//! Text normalisation before tokenising: one spelling for what clients write many ways.
//!
//! In order: invisible characters dropped (`a\u{200b}ssistant` is `assistant`), full-width forms to ASCII (`１２个月` → `12个月`, `９５％` → `95%`), traditional to
//! simplified characters from the lexicon's table (`中証` → `中证`), the lexicon's known typos
//! (`中正` → `中证`, `雪求` → `雪球`), a few period words (`半年` → `6个月`), and Chinese numerals
//! that stand for quantities (`三千万` → `3000万`, `一年期` → `1年期`, `中证五百` → `中证500`) while
//! words that merely contain a numeral character (`一下`, `一样`, `各报一个`) stay as written.

use super::lexicon::Variants;

/// A normalised message and the typo corrections applied to it.
pub(crate) struct Normalized {
    /// The normalised text (case kept: the tokenizer lower-cases).
    pub text: String,
    /// Each typo correction applied, as (written, corrected).
    pub corrections: Vec<(String, String)>,
}

/// Normalises `msg` with the lexicon's character and typo tables.
pub(crate) fn normalize(msg: &str, variants: &Variants) -> Normalized {
    let mut text: String = msg
        .chars()
        .filter(|c| !cjk::is_invisible(*c))
        .map(|c| {
            let c = match c as u32 {
                0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                0x3000 | 0x00A0 => ' ',
                _ => c,
            };
            let c = match c {
                '。' => ';',
                c if c.is_control() => ' ',
                c => c,
            };
            variants.simplify(c)
        })
        .collect();
    let mut corrections = Vec::new();
    for (wrong, right) in variants.typos() {
        if text.contains(wrong.as_str()) {
            text = text.replace(wrong.as_str(), right);
            corrections.push((wrong.clone(), right.clone()));
        }
    }
    for (from, to) in PERIODS {
        if text.contains(from) {
            text = text.replace(from, to);
        }
    }
    Normalized {
        text: chinese_numerals(&text),
        corrections,
    }
}

/// Period words with a month count. Longer first: "一年半" before "半年".
const PERIODS: &[(&str, &str)] = &[
    ("一年半", "18个月"),
    ("1年半", "18个月"),
    ("两年半", "30个月"),
    ("2年半", "30个月"),
    ("半年", "6个月"),
    ("一个季度", "3个月"),
    ("1个季度", "3个月"),
    ("两个季度", "6个月"),
];

fn digit(c: char) -> Option<u32> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

fn small_unit(c: char) -> Option<u64> {
    Some(match c {
        '十' => 10,
        '百' => 100,
        '千' => 1000,
        _ => return None,
    })
}

fn is_numeral(c: char) -> bool {
    digit(c).is_some() || small_unit(c).is_some() || c == '万' || c == '亿'
}

/// What may follow a numeral for it to be a quantity even without 十/百/千/万/亿 in it.
const QUANTITY_FOLLOWERS: &[&str] = &[
    "个月",
    "个亿",
    "个交易日",
    "个工作日",
    "个星期",
    "个礼拜",
    "个点",
    "年",
    "月",
    "周",
    "星期",
    "礼拜",
    "天",
    "日",
    "期",
    "%",
    "倍",
];

/// Rewrites Chinese numerals that stand for quantities as ASCII digits.
fn chinese_numerals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if !(digit(c).is_some() || c == '十') {
            out.push(c);
            i += 1;
            continue;
        }
        // The maximal run of numeral characters, with an inner 点 as a decimal point.
        let mut j = i;
        while j < chars.len() {
            let decimal_point =
                chars[j] == '点' && j > i && chars.get(j + 1).copied().and_then(digit).is_some();
            if !(is_numeral(chars[j]) || decimal_point) {
                break;
            }
            j += 1;
        }
        let run: String = chars[i..j].iter().collect();
        let rest: String = chars[j..chars.len().min(j + 5)].iter().collect();
        let has_unit = run
            .chars()
            .any(|c| small_unit(c).is_some() || c == '万' || c == '亿');
        let quantity = has_unit || QUANTITY_FOLLOWERS.iter().any(|f| rest.starts_with(f));
        match quantity.then(|| convert_run(&run)).flatten() {
            Some(s) => out.push_str(&s),
            None => out.push_str(&run),
        }
        i = j;
    }
    out
}

/// Converts one run ("三千", "一千五百万", "十二", "一零三", "一点五亿") to digits, keeping a
/// trailing 万 or 亿 as written so that the grammar reads it as a unit.
fn convert_run(run: &str) -> Option<String> {
    let mut chars: Vec<char> = run.chars().collect();
    let suffix = match chars.last() {
        Some(&c @ ('万' | '亿')) => {
            chars.pop();
            Some(c)
        }
        _ => None,
    };
    if chars.is_empty() {
        return None;
    }
    let (int_part, frac_part) = match chars.iter().position(|c| *c == '点') {
        Some(p) => (&chars[..p], Some(&chars[p + 1..])),
        None => (&chars[..], None),
    };
    let mut s = integer(int_part)?.to_string();
    if let Some(frac) = frac_part {
        s.push('.');
        for c in frac {
            s.push(char::from_digit(digit(*c)?, 10)?);
        }
    }
    if let Some(c) = suffix {
        s.push(c);
    }
    Some(s)
}

/// The value of an integer written in Chinese numerals; digit-by-digit readings ("一零三") too.
fn integer(chars: &[char]) -> Option<u64> {
    if chars.is_empty() {
        return None;
    }
    if chars.len() > 1 && chars.iter().all(|c| digit(*c).is_some()) {
        return chars.iter().try_fold(0u64, |acc, c| {
            acc.checked_mul(10)?.checked_add(u64::from(digit(*c)?))
        });
    }
    let mut total: u64 = 0;
    let mut section: u64 = 0;
    let mut number: u64 = 0;
    for &c in chars {
        if let Some(d) = digit(c) {
            number = u64::from(d);
        } else if let Some(u) = small_unit(c) {
            section = section.checked_add(number.max(1).checked_mul(u)?)?;
            number = 0;
        } else if c == '万' || c == '亿' {
            let big = if c == '万' { 10_000 } else { 100_000_000 };
            total = total
                .checked_add(section.checked_add(number)?)?
                .checked_mul(big)?;
            section = 0;
            number = 0;
        } else {
            return None;
        }
    }
    total.checked_add(section)?.checked_add(number)
}
