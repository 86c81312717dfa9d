//! Chinese numerals and the normalisation of structural labels, so that `第二十一条`, `第21条`
//! and `第 21 条` name the same article, and `Article 9` / `article 9` the same article.

/// The characters a Chinese numeral may use (and ASCII / full-width digits).
pub const NUMERAL_CHARS: &str = "零〇一二两三四五六七八九十百千0123456789０１２３４５６７８９";

/// Parses a Chinese numeral (`二十一`, `一百零五`, `十`) or a run of ASCII / full-width digits.
/// Returns `None` for anything else, for an empty string and for values above 99,999.
pub fn parse_number(s: &str) -> Option<u32> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.chars()
        .all(|c| c.is_ascii_digit() || ('０'..='９').contains(&c))
    {
        let digits: String = s
            .chars()
            .map(|c| {
                if c.is_ascii_digit() {
                    c
                } else {
                    char::from(b'0' + (c as u32 - '０' as u32) as u8)
                }
            })
            .collect();
        return digits.parse().ok().filter(|&n| n <= 99_999);
    }
    let mut total: u32 = 0;
    let mut current: Option<u32> = None;
    for c in s.chars() {
        let digit = match c {
            '零' | '〇' => Some(0),
            '一' => Some(1),
            '二' | '两' => Some(2),
            '三' => Some(3),
            '四' => Some(4),
            '五' => Some(5),
            '六' => Some(6),
            '七' => Some(7),
            '八' => Some(8),
            '九' => Some(9),
            _ => None,
        };
        if let Some(d) = digit {
            current = Some(d);
            continue;
        }
        let unit = match c {
            '十' => 10,
            '百' => 100,
            '千' => 1000,
            _ => return None,
        };
        total += current.unwrap_or(1) * unit;
        current = None;
    }
    total += current.unwrap_or(0);
    (total > 0 || s.contains(['零', '〇'])).then_some(total)
}

/// Writes a number as a Chinese numeral the way statutes number articles (`二十一`, `一百零五`).
pub fn format_number(n: u32) -> String {
    const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    if n == 0 {
        return DIGITS[0].to_string();
    }
    if n >= 10_000 {
        return n.to_string();
    }
    let parts = [
        (n / 1000, "千"),
        ((n / 100) % 10, "百"),
        ((n / 10) % 10, "十"),
        (n % 10, ""),
    ];
    let mut out = String::new();
    let mut pending_zero = false;
    for (i, (d, unit)) in parts.iter().enumerate() {
        if *d == 0 {
            if !out.is_empty() {
                pending_zero = true;
            }
            continue;
        }
        if pending_zero {
            out.push_str(DIGITS[0]);
            pending_zero = false;
        }
        // 十一 rather than 一十一 when the number starts with the tens.
        if !(i == 2 && *d == 1 && out.is_empty()) {
            out.push_str(DIGITS[*d as usize]);
        }
        out.push_str(unit);
    }
    out
}

/// The normalised form of a path label: Chinese numerals between 第 and a unit become digits,
/// full-width brackets and spaces become ASCII or vanish, ASCII letters are lower-cased.
/// `第二十一条` → `第21条`, `（三）` → `(3)`, `Article 9` → `article 9`, `4.2` → `4.2`.
pub fn normalize_label(label: &str) -> String {
    let label: String = label
        .trim()
        .chars()
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            '　' => ' ',
            c => c,
        })
        .collect();
    let compact: String = label.chars().filter(|c| *c != ' ').collect();
    if let Some(rest) = compact.strip_prefix('第') {
        let num: String = rest
            .chars()
            .take_while(|c| NUMERAL_CHARS.contains(*c))
            .collect();
        let tail = &rest[num.len()..];
        if let Some(n) = parse_number(&num) {
            return format!("第{n}{tail}");
        }
    }
    if let Some(inner) = compact.strip_prefix('(').and_then(|r| r.strip_suffix(')'))
        && let Some(n) = parse_number(inner)
        && !inner.chars().all(|c| c.is_ascii_digit())
    {
        return format!("({n})");
    }
    let mut out = String::with_capacity(label.len());
    let mut last_space = false;
    for c in label.chars() {
        if c.is_whitespace() {
            if !last_space && !out.is_empty() {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.extend(c.to_lowercase());
            last_space = false;
        }
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerals_round_trip() {
        let cases = [
            (1, "一"),
            (10, "十"),
            (11, "十一"),
            (20, "二十"),
            (21, "二十一"),
            (100, "一百"),
            (105, "一百零五"),
            (110, "一百一十"),
            (155, "一百五十五"),
            (1001, "一千零一"),
        ];
        for (n, s) in cases {
            assert_eq!(format_number(n), s, "format {n}");
            assert_eq!(parse_number(s), Some(n), "parse {s}");
        }
        assert_eq!(parse_number("二百二"), Some(202), "colloquial");
        assert_eq!(parse_number("21"), Some(21));
        assert_eq!(parse_number("２１"), Some(21));
        assert_eq!(parse_number("条"), None);
        assert_eq!(parse_number(""), None);
    }

    #[test]
    fn labels_normalise() {
        for (a, b) in [
            ("第二十一条", "第21条"),
            ("第 21 条", "第21条"),
            ("第三章", "第3章"),
            ("（三）", "(3)"),
            ("Article 9", "article 9"),
            ("para  45", "para 45"),
            ("4.2.3", "4.2.3"),
        ] {
            assert_eq!(normalize_label(a), b, "{a}");
        }
    }
}
