//! CJK character classes, defined once for the whole workspace.
//!
//! - [`is_cjk`]: a Chinese (Han) ideograph: the unified block, extension A, the compatibility
//!   ideographs and the supplementary-plane extensions. What tokenizers, chunkers and language
//!   checks count as "Chinese".
//! - [`is_wide`]: a character set full width in CJK typesetting: the ideographs plus CJK
//!   punctuation (`。、「」`), kana and the full-width forms (`，：（）１`). What layout code uses
//!   to decide that two neighbours are not separated by a space.
//! - [`is_mostly_chinese`]: ideographs outweigh Latin letters.
//! - [`numeral_value`] (with [`numeral_digit`], [`numeral_unit`]): the integer a run of Chinese
//!   numerals writes, ordinary or financial capitals (`一千万`, `壹亿贰仟万`, `二〇二六`).
//! - [`fold_alnum`]: full-width digits, Latin letters, `％` and `．` as their ASCII forms
//!   (`２０２６` → `2026`), full-width punctuation kept (`：（），` carry meaning in Chinese text).
//! - [`is_invisible`]: a character that renders as nothing (zero-width spaces and joiners,
//!   direction marks, the soft hyphen, the byte-order mark): dropped before text is parsed or
//!   screened, so that `a\u{200b}ssistant` reads as `assistant`.

/// Whether `c` is a Chinese (Han) ideograph: U+4E00–9FFF, extension A (U+3400–4DBF), the
/// compatibility ideographs (U+F900–FAFF) and the supplementary-plane extensions
/// (U+20000–2FA1F).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Whether `c` is set full width in CJK text: an ideograph ([`is_cjk`]), CJK symbols and
/// punctuation (U+3000–303F), kana (U+3040–30FF) or a half-/full-width form (U+FF00–FFEF).
pub fn is_wide(c: char) -> bool {
    is_cjk(c) || matches!(c as u32, 0x3000..=0x303F | 0x3040..=0x30FF | 0xFF00..=0xFFEF)
}

/// Whether `text` is mostly Chinese: an ideograph weighs two ASCII letters (one Chinese word is
/// about two characters, one English word about five letters), and the ideographs outweigh the
/// letters.
pub fn is_mostly_chinese(text: &str) -> bool {
    let (mut cjk, mut latin) = (0usize, 0usize);
    for c in text.chars() {
        if is_cjk(c) {
            cjk += 1;
        } else if c.is_ascii_alphabetic() {
            latin += 1;
        }
    }
    cjk * 2 > latin
}

/// `c` as ASCII when it is a full-width digit (U+FF10–FF19), Latin letter (U+FF21–FF3A,
/// U+FF41–FF5A), percent sign (U+FF05) or full stop (U+FF0E, the decimal point of full-width
/// numbers); otherwise `c` itself.
pub fn fold_alnum_char(c: char) -> char {
    match c as u32 {
        0xFF10..=0xFF19 | 0xFF21..=0xFF3A | 0xFF41..=0xFF5A | 0xFF05 | 0xFF0E => {
            char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
        }
        _ => c,
    }
}

/// `text` with [`fold_alnum_char`] applied to every character; borrowed when nothing changes.
pub fn fold_alnum(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(|c| fold_alnum_char(c) != c) {
        std::borrow::Cow::Owned(text.chars().map(fold_alnum_char).collect())
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Whether `c` renders as nothing: the soft hyphen, the combining grapheme joiner, zero-width
/// spaces, joiners and direction marks (U+200B–200F, U+202A–202E, U+2060–2069), Hangul and
/// Mongolian fillers and the byte-order mark (U+FEFF).
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00ad}' | '\u{034f}' | '\u{061c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
        | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// The value of a Chinese digit, financial capitals (壹贰叁…) included.
pub fn numeral_digit(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' | '壹' | '幺' => 1,
        '二' | '两' | '贰' | '貳' => 2,
        '三' | '叁' | '參' => 3,
        '四' | '肆' => 4,
        '五' | '伍' => 5,
        '六' | '陆' | '陸' => 6,
        '七' | '柒' => 7,
        '八' | '捌' => 8,
        '九' | '玖' => 9,
        _ => return None,
    })
}

/// The value of a Chinese unit numeral: 十百千万亿, their capitals (拾佰仟) and traditional forms.
pub fn numeral_unit(c: char) -> Option<u64> {
    Some(match c {
        '十' | '拾' => 10,
        '百' | '佰' => 100,
        '千' | '仟' => 1000,
        '万' | '萬' => 10_000,
        '亿' | '億' => 100_000_000,
        _ => return None,
    })
}

/// The integer a run of Chinese numerals writes: `一千万` → 10,000,000, `十五` → 15,
/// `二〇二六` → 2026 (digit by digit), `壹拾亿` → 1,000,000,000. `None` for a run that is not a
/// well-formed number (`万一`, `十十`) or that overflows.
pub fn numeral_value(chars: &[char]) -> Option<u64> {
    if chars.is_empty() {
        return None;
    }
    if chars.iter().all(|c| numeral_digit(*c).is_some()) {
        return chars.iter().try_fold(0u64, |acc, c| {
            acc.checked_mul(10)?.checked_add(numeral_digit(*c)?)
        });
    }
    // total: the part above the current 万/亿 section; section: below it; number: a digit
    // waiting for its unit.
    let (mut total, mut section, mut number): (u64, u64, Option<u64>) = (0, 0, None);
    let mut last_small = u64::MAX;
    for (i, &c) in chars.iter().enumerate() {
        if let Some(d) = numeral_digit(c) {
            number = Some(d);
            continue;
        }
        let unit = numeral_unit(c)?;
        if unit >= 10_000 {
            let here = section.checked_add(number.take().unwrap_or(0))?;
            if i == 0 || (here == 0 && total == 0) {
                return None;
            }
            if unit == 100_000_000 {
                total = total.checked_add(here)?.checked_mul(unit)?;
            } else {
                total = total.checked_add(here.checked_mul(unit)?)?;
            }
            section = 0;
            last_small = u64::MAX;
        } else {
            // 十 may stand alone at the start (`十五`); otherwise a unit needs its digit.
            let d = match number.take() {
                Some(d) => d,
                None if unit == 10 && section == 0 => 1,
                None => return None,
            };
            if unit >= last_small {
                return None;
            }
            last_small = unit;
            section = section.checked_add(d.checked_mul(unit)?)?;
        }
    }
    total.checked_add(section)?.checked_add(number.unwrap_or(0))
}

#[cfg(test)]
mod tests {

    #[test]
    fn full_width_digits_and_letters_fold_and_punctuation_stays() {
        assert_eq!(
            super::fold_alnum("２０２６年３月５日，ＵＳＤ　１．５％"),
            "2026年3月5日，USD　1.5%"
        );
        assert!(matches!(
            super::fold_alnum("交易日：2026"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    use super::*;

    #[test]
    fn invisible_characters() {
        for c in [
            '\u{200b}', '\u{200d}', '\u{202e}', '\u{2060}', '\u{feff}', '\u{00ad}',
        ] {
            assert!(is_invisible(c), "{c:?}");
        }
        for c in ['a', ' ', '中', '\u{3000}', '\n', '-'] {
            assert!(!is_invisible(c), "{c:?}");
        }
    }

    #[test]
    fn ideographs_and_wide_characters() {
        for c in ['中', '㐀', '豈', '𠀀', '期', '权'] {
            assert!(is_cjk(c), "{c}");
            assert!(is_wide(c), "{c}");
        }
        for c in ['。', '、', '「', '，', '：', '（', '１', 'ア', 'あ'] {
            assert!(!is_cjk(c), "{c}");
            assert!(is_wide(c), "{c}");
        }
        for c in ['a', 'Z', '1', ',', ' ', 'é', 'Ω'] {
            assert!(!is_cjk(c), "{c}");
            assert!(!is_wide(c), "{c}");
        }
    }

    #[test]
    fn mostly_chinese() {
        assert!(is_mostly_chinese("场外期权交易确认书 Trade Date"));
        assert!(!is_mostly_chinese("EQUITY OPTION 确认书"));
        assert!(!is_mostly_chinese(""));
    }
}
