//! Chinese numerals and the normalisation of structural labels, so that `第二十一条`, `第21条`
//! and `第 21 条` name the same article, and `Article 9` / `article 9` the same article; and
//! Chinese numerals that state values (`百分之十五`, `一千万`, `零`, `壹拾亿`) written as digits
//! ([`values_to_digits`]), so that the answer check compares `15%` with `百分之十五`.

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

fn is_value_numeral(c: char) -> bool {
    cjk::numeral_digit(c).is_some() || cjk::numeral_unit(c).is_some()
}

/// What may follow a single Chinese digit (`三个月`, `五倍`) for it to be a stated value.
const VALUE_FOLLOWERS: &[&str] = &[
    "%",
    "元",
    "亿",
    "万",
    "倍",
    "个月",
    "个工作日",
    "个交易日",
    "年",
    "天",
    "小时",
    "周",
];

/// The words in which 零 is not a number (`零售`: retail).
const ZERO_WORDS: &[char] = &['售', '星', '散', '钱', '件', '部', '碎', '头', '和', '食'];

/// Rewrites the Chinese numerals of `text` that state values as ASCII digits: `百分之十五` →
/// `15%`, `百分之零点五` → `0.5%`, `一千万` → `10000000`, `壹拾亿元` → `1000000000元`,
/// `三个月` → `3个月`, and `零` / `〇` standing as a value (`保证金为零`, `按零计算`) → `0`.
/// Numerals inside words are left alone: `一般`, `统一`, `零售`, `万一`, `第一`. A run needs a
/// unit (十百千万亿), two or more digits, a following measure ([`VALUE_FOLLOWERS`]) or, for a
/// lone 零/〇, to stand apart from a word.
pub fn values_to_digits(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        // Digits with 万 or 亿 (`1000万`, `1.5亿`): the whole number.
        if chars[i].is_ascii_digit()
            && !chars[..i]
                .last()
                .is_some_and(|c| c.is_ascii_digit() || *c == '.')
        {
            let mut j = i;
            while j < chars.len()
                && (chars[j].is_ascii_digit()
                    || chars[j] == '.'
                    || (chars[j] == ',' && chars.get(j + 1).is_some_and(|c| c.is_ascii_digit())))
            {
                j += 1;
            }
            let scale = match chars.get(j) {
                Some('万') if chars.get(j + 1) == Some(&'亿') => Some((1e12, 2)),
                Some('万') => Some((1e4, 1)),
                Some('亿') => Some((1e8, 1)),
                _ => None,
            };
            let digits: String = chars[i..j].iter().collect();
            if let Some((scale, len)) = scale
                && let Ok(n) = digits.replace(',', "").parse::<f64>()
                && (n * scale).fract() == 0.0
                && n * scale < 1e18
            {
                out.push_str(&format!("{}", (n * scale) as u64));
                i = j + len;
                continue;
            }
            out.push_str(&digits);
            i = j;
            continue;
        }
        let percent = chars[i..].starts_with(&['百', '分', '之']);
        let start = if percent { i + 3 } else { i };
        if !chars.get(start).is_some_and(|c| is_value_numeral(*c)) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let mut j = start;
        let mut point = None;
        while j < chars.len() {
            if chars[j] == '点'
                && point.is_none()
                && j > start
                && chars
                    .get(j + 1)
                    .is_some_and(|c| cjk::numeral_digit(*c).is_some())
            {
                point = Some(j);
            } else if !(is_value_numeral(chars[j])
                || (point.is_some() && cjk::numeral_digit(chars[j]).is_some()))
            {
                break;
            }
            j += 1;
        }
        let (int_part, frac) = match point {
            Some(p) => (&chars[start..p], Some(&chars[p + 1..j])),
            None => (&chars[start..j], None),
        };
        let rest: String = chars[j..chars.len().min(j + 5)].iter().collect();
        let before = i.checked_sub(1).map(|k| chars[k]);
        let after = chars.get(j).copied();
        let follower = VALUE_FOLLOWERS.iter().any(|f| rest.starts_with(f));
        // A lone unit is a word more often than a number (`十分`: very, `百姓`, `千万`: by all
        // means), unless a measure follows (`十年`).
        let lone_unit = int_part.len() == 1 && cjk::numeral_unit(int_part[0]).is_some();
        let is_value = percent
            || frac.is_some()
            || follower
            || (!lone_unit
                && (int_part.len() >= 2
                    || int_part.iter().any(|c| cjk::numeral_unit(*c).is_some())))
            || (matches!(int_part, ['零' | '〇'])
                && (!after.is_some_and(cjk::is_cjk)
                    || (before.is_some_and(|b| "为是按至到成".contains(b))
                        && !after.is_some_and(|a| ZERO_WORDS.contains(&a)))));
        // `百分之百`: the one percentage written with a bare unit.
        let whole = if percent && int_part == ['百'] {
            Some(100)
        } else {
            cjk::numeral_value(int_part)
        };
        let number = is_value.then_some(whole).flatten().and_then(|n| {
            let mut s = n.to_string();
            if let Some(f) = frac {
                s.push('.');
                for c in f {
                    s.push(char::from_digit(cjk::numeral_digit(*c)? as u32, 10)?);
                }
            }
            Some(s)
        });
        match number {
            Some(s) => {
                out.push_str(&s);
                if percent {
                    out.push('%');
                }
            }
            None => out.extend(&chars[i..j]),
        }
        i = j;
    }
    out
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
    fn values_are_written_as_digits() {
        for (a, b) in [
            ("保证金比例为百分之十五。", "保证金比例为15%。"),
            ("保证金比例为百分之零", "保证金比例为0%"),
            ("百分之零点五", "0.5%"),
            ("名义本金一千万元", "名义本金10000000元"),
            ("额度调整为壹拾亿元", "额度调整为1000000000元"),
            ("五千万美元以下", "50000000美元以下"),
            ("一百亿元", "10000000000元"),
            ("一千五百万", "15000000"),
            ("三个月内", "3个月内"),
            ("二〇二六年", "2026年"),
            ("保证金为零，", "保证金为0，"),
            ("保证金是〇", "保证金是0"),
            ("按零计算", "按0计算"),
            ("二十一", "21"),
            ("十五", "15"),
            // Numerals inside words are not values.
            ("一般情况下统一处理", "一般情况下统一处理"),
            ("零售客户", "零售客户"),
            ("万一发生", "万一发生"),
            ("第一", "第一"),
            ("之一", "之一"),
            ("百分之百", "100%"),
            ("十分重要", "十分重要"),
            ("十年", "10年"),
            ("千万不要", "千万不要"),
            ("1000万元", "10000000元"),
            ("1.5亿", "150000000"),
            ("共1,000万", "共10000000"),
        ] {
            assert_eq!(values_to_digits(a), b, "{a}");
        }
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
