//! CJK character classes, defined once for the whole workspace.
//!
//! - [`is_cjk`]: a Chinese (Han) ideograph: the unified block, extension A, the compatibility
//!   ideographs and the supplementary-plane extensions. What tokenizers, chunkers and language
//!   checks count as "Chinese".
//! - [`is_wide`]: a character set full width in CJK typesetting: the ideographs plus CJK
//!   punctuation (`。、「」`), kana and the full-width forms (`，：（）１`). What layout code uses
//!   to decide that two neighbours are not separated by a space.
//! - [`is_mostly_chinese`]: ideographs outweigh Latin letters.
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

/// Whether `c` renders as nothing: the soft hyphen, the combining grapheme joiner, zero-width
/// spaces, joiners and direction marks (U+200B–200F, U+202A–202E, U+2060–2069), Hangul and
/// Mongolian fillers and the byte-order mark (U+FEFF).
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00ad}' | '\u{034f}' | '\u{061c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
        | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
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
