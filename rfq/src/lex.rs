//! The tokenizer shared by messages and lexicon aliases.
//!
//! A normalised message is cut into numbers, runs of Latin letters, single CJK characters and
//! punctuation; whitespace only marks the token after it (`space_before`). Aliases are cut the
//! same way, so matching an alias is comparing token texts, which makes every alias insensitive
//! to spacing ("csi 500" = "csi500" = "CSI 500") and keeps numbers whole ("5000" never matches
//! the "500" of 中证500).

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokKind {
    /// Digits, with an optional decimal part and `,` thousands groups (`10,000,000`).
    Num,
    /// A run of ASCII letters.
    Latin,
    /// One CJK ideograph.
    Cjk,
    /// One punctuation character (ASCII or CJK punctuation such as `、`).
    Punct,
    /// Anything else: emoji, other scripts, symbols.
    Other,
}

/// One token of a normalised text.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    /// The kind.
    pub kind: TokKind,
    /// The text, lower-cased (numbers without their thousands separators).
    pub text: String,
    /// The text as written (case kept), for rules that depend on capitals (`IF` vs `if`).
    pub raw: String,
    /// The numeric value of a `Num` token.
    pub value: f64,
    /// Whether whitespace separated this token from the previous one.
    pub space_before: bool,
}

impl Token {
    /// Whether a `Num` token has a decimal part.
    pub fn has_decimal(&self) -> bool {
        self.text.contains('.')
    }
}

fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c,
            '、' | '。'
                | '，'
                | '；'
                | '：'
                | '？'
                | '！'
                | '（'
                | '）'
                | '【'
                | '】'
                | '《'
                | '》'
                | '“'
                | '”'
                | '‘'
                | '’'
                | '…'
                | '—'
                | '～'
                | '·'
        )
}

/// Cuts `text` (already normalised) into tokens.
pub(crate) fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut space = false;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            space = true;
            i += 1;
            continue;
        }
        let start = i;
        let (kind, end) = if c.is_ascii_digit() {
            (TokKind::Num, scan_number(&chars, i))
        } else if c.is_ascii_alphabetic() {
            let mut j = i;
            while j < chars.len() && chars[j].is_ascii_alphabetic() {
                j += 1;
            }
            (TokKind::Latin, j)
        } else if cjk::is_cjk(c) {
            (TokKind::Cjk, i + 1)
        } else if is_punct(c) {
            (TokKind::Punct, i + 1)
        } else {
            (TokKind::Other, i + 1)
        };
        let raw: String = chars[start..end].iter().collect();
        let (text, value) = match kind {
            TokKind::Num => {
                let plain: String = raw.chars().filter(|c| *c != ',').collect();
                let v = plain.parse::<f64>().unwrap_or(0.0);
                (plain, v)
            }
            _ => (raw.to_lowercase(), 0.0),
        };
        out.push(Token {
            kind,
            text,
            raw,
            value,
            space_before: space,
        });
        space = false;
        i = end;
    }
    out
}

/// The end of the number starting at `i`: digits, `,`-separated groups of three when there are
/// at least two of them (`10,000,000`; a single group such as `95,105` is two numbers), and a
/// decimal part when a digit follows the point.
fn scan_number(chars: &[char], i: usize) -> usize {
    let digits_from = |k: usize| {
        let mut j = k;
        while j < chars.len() && chars[j].is_ascii_digit() {
            j += 1;
        }
        j
    };
    let mut j = digits_from(i);
    if j - i <= 3 {
        // Thousands groups: ",ddd" at least twice, and not followed by a further digit.
        let mut k = j;
        let mut groups = 0;
        while k + 3 < chars.len()
            && chars[k] == ','
            && chars[k + 1..k + 4].iter().all(|c| c.is_ascii_digit())
            && chars.get(k + 4).is_none_or(|c| !c.is_ascii_digit())
        {
            groups += 1;
            k += 4;
        }
        if groups >= 2 {
            j = k;
        }
    }
    if j + 1 < chars.len() && chars[j] == '.' && chars[j + 1].is_ascii_digit() {
        j = digits_from(j + 1);
    }
    j
}
