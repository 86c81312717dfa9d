//! Personal and secret data found in text and replaced by stable placeholders before a prompt is
//! built, restored in the model's output where the reader may see the originals.
//!
//! What is found (Chinese and English text, full-width digits and separators included):
//! - **e-mail addresses**;
//! - **mainland resident ID numbers** (18 characters, the GB 11643 check digit and a real date
//!   of birth must hold, so an 18-digit trade id is left alone);
//! - **phone numbers**: mainland mobiles (11 digits from `1[3-9]`, with `+86`/`0086`, spaces or
//!   dashes), numbers written with a `+` country code, and mainland landlines with an area code
//!   (`010-12345678`, `(021) 6123 4567`);
//! - **bank card numbers**: 16-19 digits (grouped or not) passing the Luhn check;
//! - **passport numbers** after a passport label (`护照`, `passport`), and mainland passports
//!   (`E`/`G` + 8 digits) anywhere;
//! - **secrets**: the value after a password / API key / secret / token label (`密码：`,
//!   `api_key=`), and well-known key shapes (`sk-…`, `dm_…`, `AKIA…`, `ghp_…`, `xox?-…`);
//! - **names of natural persons** where the text marks them: after a contact label (`联系人`,
//!   `经办人`, `姓名`, `Contact:`, `Name:`, `Attn:`), before a Chinese honorific (`张三先生`,
//!   `李女士`), after an English title (`Mr. John Smith`);
//! - **client names** the caller lists (`Rules::client_names`), where policy says so.
//!
//! Placeholders are `⟦KIND_n⟧` (`⟦PHONE_1⟧`), the same for every occurrence of the same value in
//! one [`Redaction`], and never appear in ordinary text. Detection is deliberately conservative
//! where a miss is cheap to see (names) and checksummed where a false hit would damage a
//! document (ID and card numbers).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;

/// The kinds of data found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    /// A natural person's name.
    PersonName,
    /// A mainland resident ID number.
    IdCard,
    /// A passport number.
    Passport,
    /// A phone number.
    Phone,
    /// An e-mail address.
    Email,
    /// A bank card or account number.
    BankCard,
    /// A password, API key or token.
    Secret,
    /// A client's name (by policy).
    ClientName,
}

impl PiiKind {
    /// The placeholder's label.
    pub fn label(self) -> &'static str {
        match self {
            PiiKind::PersonName => "NAME",
            PiiKind::IdCard => "ID",
            PiiKind::Passport => "PASSPORT",
            PiiKind::Phone => "PHONE",
            PiiKind::Email => "EMAIL",
            PiiKind::BankCard => "CARD",
            PiiKind::Secret => "SECRET",
            PiiKind::ClientName => "CLIENT",
        }
    }

    /// The stable name (`phone`, `id_card`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::PersonName => "person_name",
            PiiKind::IdCard => "id_card",
            PiiKind::Passport => "passport",
            PiiKind::Phone => "phone",
            PiiKind::Email => "email",
            PiiKind::BankCard => "bank_card",
            PiiKind::Secret => "secret",
            PiiKind::ClientName => "client_name",
        }
    }
}

/// What to look for beyond the built-in kinds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// Client names replaced where policy says so (matched as written, longest first).
    pub client_names: Vec<String>,
    /// Replace the client names only, none of the built-in kinds.
    pub clients_only: bool,
}

/// One replaced value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replaced {
    /// The placeholder.
    pub placeholder: String,
    /// The original text.
    #[serde(skip)]
    pub original: String,
    /// Its kind.
    pub kind: PiiKind,
}

/// A text with its personal and secret data replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redaction {
    /// The text to put in a prompt.
    pub text: String,
    /// What was replaced, in order of first appearance.
    pub replaced: Vec<Replaced>,
}

impl Redaction {
    /// The kinds found.
    pub fn kinds(&self) -> BTreeSet<PiiKind> {
        self.replaced.iter().map(|r| r.kind).collect()
    }

    /// `output` with every placeholder put back to its original. Models copy placeholders
    /// imperfectly (`⟦Name_1⟧`, `⟦ PHONE_1 ⟧`): case and spaces inside the brackets are
    /// ignored. A bracketed text that names no placeholder of this redaction is left as written.
    pub fn restore(&self, output: &str) -> String {
        self.restore_with(output, false)
    }

    /// Like [`Redaction::restore`] for JSON text: each original is written as the inside of a
    /// JSON string (quotes and backslashes escaped), since a placeholder can only stand inside
    /// a string of a valid document.
    pub fn restore_json_text(&self, output: &str) -> String {
        self.restore_with(output, true)
    }

    fn restore_with(&self, output: &str, json: bool) -> String {
        if self.replaced.is_empty() || !output.contains('⟦') {
            return output.to_string();
        }
        let mut out = String::with_capacity(output.len());
        let mut rest = output;
        while let Some(open) = rest.find('⟦') {
            out.push_str(&rest[..open]);
            let after = &rest[open + '⟦'.len_utf8()..];
            let Some(close) = after
                .find('⟧')
                .filter(|&c| after[..c].chars().count() <= 20)
            else {
                out.push('⟦');
                rest = after;
                continue;
            };
            let key: String = after[..close]
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| c.to_ascii_uppercase())
                .collect();
            let whole = &rest[open..open + '⟦'.len_utf8() + close + '⟧'.len_utf8()];
            match self
                .replaced
                .iter()
                .find(|r| r.placeholder.trim_start_matches('⟦').trim_end_matches('⟧') == key)
            {
                Some(r) if json => {
                    let quoted = serde_json::to_string(&r.original).expect("a string serialises");
                    out.push_str(&quoted[1..quoted.len() - 1]);
                }
                Some(r) => out.push_str(&r.original),
                None => out.push_str(whole),
            }
            rest = &after[close + '⟧'.len_utf8()..];
        }
        out.push_str(rest);
        out
    }

    /// Restores every string (keys included) of a JSON value in place.
    pub fn restore_json(&self, value: &mut Value) {
        match value {
            Value::String(s) if s.contains('⟦') => *s = self.restore(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.restore_json(v)),
            Value::Object(map) => {
                let keys: Vec<String> = map.keys().filter(|k| k.contains('⟦')).cloned().collect();
                for k in keys {
                    let v = map.remove(&k).expect("a listed key");
                    map.insert(self.restore(&k), v);
                }
                map.values_mut().for_each(|v| self.restore_json(v));
            }
            _ => {}
        }
    }

    /// A restorer for output that arrives in pieces (streamed deltas): see [`Restorer`].
    pub fn restorer(&self, json: bool) -> Restorer<'_> {
        Restorer {
            redaction: self,
            json,
            pending: String::new(),
        }
    }
}

/// The longest placeholder, in characters (`⟦PASSPORT_9999⟧` is 15): a `⟦` further back than
/// this without its `⟧` is not the start of a placeholder.
const MAX_PLACEHOLDER_CHARS: usize = 24;

/// Restores placeholders in streamed output: each piece is passed on at once, except a tail
/// that may be the first half of a placeholder split across pieces, which waits for the next
/// piece (or [`Restorer::finish`]). The concatenated output equals [`Redaction::restore`] of the
/// concatenated input.
#[derive(Debug)]
pub struct Restorer<'a> {
    redaction: &'a Redaction,
    json: bool,
    pending: String,
}

impl Restorer<'_> {
    /// The restored text that can be passed on now (possibly empty).
    pub fn push(&mut self, piece: &str) -> String {
        self.pending.push_str(piece);
        let cut = match self.pending.rfind('⟦') {
            Some(i)
                if !self.pending[i..].contains('⟧')
                    && self.pending[i..].chars().count() < MAX_PLACEHOLDER_CHARS =>
            {
                i
            }
            _ => self.pending.len(),
        };
        let ready: String = self.pending.drain(..cut).collect();
        self.restore(&ready)
    }

    /// What is still held back, restored.
    pub fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.pending);
        self.restore(&rest)
    }

    fn restore(&self, s: &str) -> String {
        if !s.contains('⟦') {
            return s.to_string();
        }
        if self.json {
            self.redaction.restore_json_text(s)
        } else {
            self.redaction.restore(s)
        }
    }
}

/// When client names are replaced before prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientNames {
    /// Never: client names reach every model.
    Never,
    /// Only in prompts to backends outside the process (remote servers), the default.
    #[default]
    Remote,
    /// In every prompt.
    Always,
}

impl ClientNames {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientNames::Never => "never",
            ClientNames::Remote => "remote",
            ClientNames::Always => "always",
        }
    }
}

/// What is replaced before a prompt is built (the `[models]` redaction settings).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PromptPolicy {
    /// Personal and secret data (every built-in kind) replaced in every prompt.
    pub personal: bool,
    /// When client names are replaced.
    pub client_names: ClientNames,
    /// The client names (from the limits table).
    pub names: Vec<String>,
}

impl PromptPolicy {
    /// Personal data replaced everywhere, client names in prompts to remote backends.
    pub fn standard(names: Vec<String>) -> PromptPolicy {
        PromptPolicy {
            personal: true,
            client_names: ClientNames::Remote,
            names,
        }
    }

    /// Redacts the texts of one prompt for a backend (`remote`: outside the process); `None`
    /// when the policy replaces nothing there.
    pub fn apply(&self, texts: &[&str], remote: bool) -> Option<Vec<Redaction>> {
        let clients = match self.client_names {
            ClientNames::Never => false,
            ClientNames::Remote => remote,
            ClientNames::Always => true,
        };
        if !self.personal && !clients {
            return None;
        }
        let rules = Rules {
            client_names: if clients {
                self.names.clone()
            } else {
                Vec::new()
            },
            clients_only: !self.personal,
        };
        Some(redact_all(texts, &rules))
    }
}

/// A span found: byte range and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hit {
    start: usize,
    end: usize,
    kind: PiiKind,
}

/// Replaces the personal and secret data in `text` (see the module doc).
pub fn redact(text: &str, rules: &Rules) -> Redaction {
    redact_all(&[text], rules)
        .pop()
        .expect("one text in, one out")
}

/// Like [`redact`] for several texts sharing one placeholder table (the messages of one prompt):
/// the same value gets the same placeholder in all of them. Returns one [`Redaction`] per text;
/// the last one's `replaced` lists every replacement (use it to restore).
pub fn redact_all(texts: &[&str], rules: &Rules) -> Vec<Redaction> {
    let mut table: Vec<Replaced> = Vec::new();
    let mut out = Vec::with_capacity(texts.len());
    for text in texts {
        let hits = find(text, rules);
        let mut s = String::with_capacity(text.len());
        let mut at = 0;
        for h in hits {
            s.push_str(&text[at..h.start]);
            let original = &text[h.start..h.end];
            let ph = match table.iter().find(|r| r.original == original) {
                Some(r) => r.placeholder.clone(),
                None => {
                    let n = table.iter().filter(|r| r.kind == h.kind).count() + 1;
                    let placeholder = format!("⟦{}_{n}⟧", h.kind.label());
                    table.push(Replaced {
                        placeholder: placeholder.clone(),
                        original: original.to_string(),
                        kind: h.kind,
                    });
                    placeholder
                }
            };
            s.push_str(&ph);
            at = h.end;
        }
        s.push_str(&text[at..]);
        out.push(Redaction {
            text: s,
            replaced: Vec::new(),
        });
    }
    for r in &mut out {
        r.replaced = table.clone();
    }
    out
}

/// Every hit in `text`, sorted, overlaps resolved (the earlier, then the longer, wins).
fn find(text: &str, rules: &Rules) -> Vec<Hit> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut hits = Vec::new();
    if !rules.clients_only {
        emails(text, &chars, &mut hits);
        digit_runs(text, &chars, &mut hits);
        labelled(text, &mut hits);
        key_shapes(text, &chars, &mut hits);
        passports(text, &chars, &mut hits);
        names(text, &chars, &mut hits);
    }
    clients(text, rules, &mut hits);
    hits.sort_by_key(|h| (h.start, std::cmp::Reverse(h.end)));
    let mut kept: Vec<Hit> = Vec::new();
    for h in hits {
        if kept.last().is_some_and(|k| h.start < k.end) {
            continue;
        }
        kept.push(h);
    }
    kept
}

fn end_of(text: &str, chars: &[(usize, char)], i: usize) -> usize {
    chars.get(i).map_or(text.len(), |c| c.0)
}

/// ASCII value of a digit, full-width digits included.
fn digit(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        '０'..='９' => Some(c as u32 - '０' as u32),
        _ => None,
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn emails(text: &str, chars: &[(usize, char)], hits: &mut Vec<Hit>) {
    let local = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    let domain = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
    for (i, &(_, c)) in chars.iter().enumerate() {
        if c != '@' && c != '＠' {
            continue;
        }
        let mut s = i;
        while s > 0 && local(chars[s - 1].1) {
            s -= 1;
        }
        let mut e = i + 1;
        while e < chars.len() && domain(chars[e].1) {
            e += 1;
        }
        // Trailing dots belong to the sentence.
        while e > i + 1 && chars[e - 1].1 == '.' {
            e -= 1;
        }
        if s == i || e == i + 1 {
            continue;
        }
        let dom: String = chars[i + 1..e].iter().map(|c| c.1).collect();
        let Some(tld) = dom.rsplit('.').next() else {
            continue;
        };
        if !dom.contains('.') || tld.len() < 2 || !tld.chars().all(|c| c.is_ascii_alphabetic()) {
            continue;
        }
        hits.push(Hit {
            start: chars[s].0,
            end: end_of(text, chars, e),
            kind: PiiKind::Email,
        });
    }
}

/// Runs of digits with the separators people write inside numbers (space, `-`, full-width
/// forms), optionally after `+`: IDs, phones and cards.
fn digit_runs(text: &str, chars: &[(usize, char)], hits: &mut Vec<Hit>) {
    let sep = |c: char| matches!(c, ' ' | '-' | '－' | '\u{3000}');
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].1;
        let plus = c == '+' || c == '＋';
        let open = c == '(' || c == '（';
        if digit(c).is_none() && !plus && !open {
            i += 1;
            continue;
        }
        // A number glued to a word (`ID20260105…`, `v1`) is not taken.
        if i > 0 && (is_word(chars[i - 1].1) || digit(chars[i - 1].1).is_some()) {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = i + usize::from(plus || open);
        let mut digits = String::new();
        let mut last_digit = None;
        let mut closed = !open;
        while j < chars.len() {
            let ch = chars[j].1;
            if let Some(d) = digit(ch) {
                digits.push(char::from_digit(d, 10).expect("a digit"));
                last_digit = Some(j);
                j += 1;
            } else if (ch == 'X' || ch == 'x') && digits.len() == 17 {
                digits.push('X');
                last_digit = Some(j);
                j += 1;
            } else if !closed && (ch == ')' || ch == '）') {
                closed = true;
                j += 1;
            } else if sep(ch) && j + 1 < chars.len() && digit(chars[j + 1].1).is_some() {
                j += 1;
            } else {
                break;
            }
        }
        let Some(last) = last_digit else {
            i += 1;
            continue;
        };
        let end = last + 1;
        // Glued to a word or more digits after: part of something else.
        if chars.get(end).is_some_and(|c| is_word(c.1)) {
            i = end;
            continue;
        }
        let kind = classify(&digits, plus, open);
        if let Some(kind) = kind {
            hits.push(Hit {
                start: chars[start].0,
                end: end_of(text, chars, end),
                kind,
            });
        }
        i = end.max(i + 1);
    }
}

fn classify(digits: &str, plus: bool, open: bool) -> Option<PiiKind> {
    let n = digits.len();
    if n == 18 && id_card_ok(digits) {
        return Some(PiiKind::IdCard);
    }
    if plus && (8..=15).contains(&n) {
        return Some(PiiKind::Phone);
    }
    let bare = digits
        .strip_prefix("0086")
        .or_else(|| digits.strip_prefix("86").filter(|d| d.len() == 11))
        .unwrap_or(digits);
    if bare.len() == 11 && bare.starts_with('1') && matches!(bare.as_bytes()[1], b'3'..=b'9') {
        return Some(PiiKind::Phone);
    }
    if (16..=19).contains(&n) && !digits.contains('X') && luhn_ok(digits) {
        return Some(PiiKind::BankCard);
    }
    // Landlines: an area code 0XX or 0XXX and a 7-8 digit number (written with a separator or
    // the area code in brackets; a bare 11-12 digit run starting with 0 is taken too).
    if digits.starts_with('0') && (10..=12).contains(&n) && (open || n >= 10) {
        return Some(PiiKind::Phone);
    }
    None
}

fn id_card_ok(d: &str) -> bool {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let b = d.as_bytes();
    if b[..17].iter().any(|c| !c.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = b[..17]
        .iter()
        .zip(W)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    if CHECK[(sum % 11) as usize] != b[17].to_ascii_uppercase() {
        return false;
    }
    let year: u32 = d[6..10].parse().unwrap_or(0);
    let month: u32 = d[10..12].parse().unwrap_or(0);
    let day: u32 = d[12..14].parse().unwrap_or(0);
    (1900..=2100).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day)
}

fn luhn_ok(d: &str) -> bool {
    let mut sum = 0;
    for (i, c) in d.bytes().rev().enumerate() {
        let mut v = u32::from(c - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum % 10 == 0
}

/// The labels whose value is a secret, a passport number or a person's name.
const SECRET_LABELS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "api_key",
    "api-key",
    "apikey",
    "api key",
    "secret",
    "token",
    "access key",
    "密码",
    "口令",
    "密钥",
    "令牌",
];
const PASSPORT_LABELS: &[&str] = &[
    "passport no",
    "passport number",
    "passport",
    "护照号码",
    "护照号",
    "护照",
];
const NAME_LABELS: &[&str] = &[
    "contact person",
    "contact",
    "name",
    "attn",
    "attention",
    "联系人",
    "经办人",
    "姓名",
    "收件人",
    "授权代表",
    "负责人",
];

/// `label` `:`/`=`/`：`/`是`/space then the value, for the labels above (labels matched
/// without regard to ASCII case).
fn labelled(text: &str, hits: &mut Vec<Hit>) {
    for (labels, kind) in [
        (SECRET_LABELS, PiiKind::Secret),
        (PASSPORT_LABELS, PiiKind::Passport),
        (NAME_LABELS, PiiKind::PersonName),
    ] {
        for label in labels {
            for (at, len) in match_indices_ci(text, label) {
                value_after(text, at, at + len, kind, hits);
            }
        }
    }
}

/// Case-insensitive (ASCII) occurrences of `needle` with their byte offsets in `text`.
fn match_indices_ci<'a>(
    text: &'a str,
    needle: &'a str,
) -> impl Iterator<Item = (usize, usize)> + 'a {
    text.char_indices().filter_map(move |(i, _)| {
        let rest = &text[i..];
        let mut n = needle.chars();
        let mut len = 0;
        for c in rest.chars() {
            match n.next() {
                None => break,
                Some(x) if x.eq_ignore_ascii_case(&c) => len += c.len_utf8(),
                Some(_) => return None,
            }
        }
        (n.next().is_none() && len > 0).then_some((i, len))
    })
}

/// The value after a label at `at..label_end`, if the label stands alone and a separator
/// follows.
fn value_after(text: &str, at: usize, label_end: usize, kind: PiiKind, hits: &mut Vec<Hit>) {
    // An ASCII label glued to a word before or after is part of another word (`tokens`,
    // `username`).
    let before = text[..at].chars().next_back();
    let ascii_label = text[at..label_end].is_ascii();
    if ascii_label && before.is_some_and(is_word) {
        return;
    }
    let rest = &text[label_end..];
    let mut it = rest.char_indices().peekable();
    if ascii_label && it.peek().is_some_and(|(_, c)| is_word(*c)) {
        return;
    }
    // Separators: `:`, `：`, `=`, `是`, `为`, spaces; at least one for ASCII labels.
    let mut skipped = 0;
    let mut seps = 0;
    while let Some(&(i, c)) = it.peek() {
        if matches!(c, ':' | '：' | '=' | '是' | '为') {
            seps += 1;
        } else if !(c == ' ' || c == '\u{3000}' || c == '\t') {
            break;
        }
        skipped = i + c.len_utf8();
        it.next();
    }
    if seps == 0 && (ascii_label || kind == PiiKind::Secret) {
        return;
    }
    let value_start = label_end + skipped;
    let v = &text[value_start..];
    let len = match kind {
        PiiKind::Secret => v
            .char_indices()
            .find(|(_, c)| c.is_whitespace() || "，,;；。)）\"'".contains(*c))
            .map_or(v.len(), |(i, _)| i),
        PiiKind::Passport => {
            let n = v
                .char_indices()
                .find(|(_, c)| !c.is_ascii_alphanumeric())
                .map_or(v.len(), |(i, _)| i);
            if !(5..=12).contains(&n) || !v[..n].chars().any(|c| c.is_ascii_digit()) {
                return;
            }
            n
        }
        _ => {
            // `Contact: Mr. John Smith`: the title is not part of the name.
            let title = ["Mr. ", "Mrs. ", "Ms. ", "Dr. ", "Mr ", "Mrs ", "Ms "]
                .iter()
                .find(|t| v.starts_with(**t))
                .map_or(0, |t| t.len());
            let n = person_name_len(&v[title..]);
            if n == 0 {
                return;
            }
            hits.push(Hit {
                start: value_start + title,
                end: value_start + title + n,
                kind,
            });
            return;
        }
    };
    if len == 0 {
        return;
    }
    hits.push(Hit {
        start: value_start,
        end: value_start + len,
        kind,
    });
}

fn is_han(c: char) -> bool {
    cjk::is_cjk(c)
}

/// The length of a person's name at the start of `v`: 2-4 Han characters (up to a honorific,
/// a title word or punctuation), or two or three capitalised Latin words.
fn person_name_len(v: &str) -> usize {
    let first = v.chars().next();
    if first.is_some_and(is_han) {
        let mut n = 0;
        let mut bytes = 0;
        for c in v.chars() {
            if !is_han(c) || n == 4 {
                break;
            }
            if n >= 2 && "先女小经总老博律".contains(c) {
                break;
            }
            n += 1;
            bytes += c.len_utf8();
        }
        return if (2..=4).contains(&n) { bytes } else { 0 };
    }
    let mut words = 0;
    let mut end = 0;
    let mut rest = v;
    let mut offset = 0;
    while words < 3 {
        let w: usize = rest
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphabetic() || *c == '\'' || *c == '-'))
            .map_or(rest.len(), |(i, _)| i);
        let word = &rest[..w];
        if w < 2 || !word.starts_with(|c: char| c.is_ascii_uppercase()) {
            break;
        }
        words += 1;
        end = offset + w;
        let after = &rest[w..];
        if !after.starts_with(' ') {
            break;
        }
        offset += w + 1;
        rest = &after[1..];
    }
    if words >= 1 && (words >= 2 || v.len() > end) {
        end
    } else {
        0
    }
}

/// Well-known shapes of keys and tokens.
fn key_shapes(text: &str, chars: &[(usize, char)], hits: &mut Vec<Hit>) {
    const PREFIXES: &[(&str, usize)] = &[
        ("sk-", 20),
        ("dm_", 20),
        ("AKIA", 16),
        ("ghp_", 30),
        ("xoxb-", 20),
        ("xoxp-", 20),
    ];
    let token = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    for &(i, _) in chars {
        if i > 0 && text[..i].chars().next_back().is_some_and(token) {
            continue;
        }
        for (p, min) in PREFIXES {
            if !text[i..].starts_with(p) {
                continue;
            }
            let n = text[i..]
                .char_indices()
                .find(|(_, c)| !token(*c))
                .map_or(text.len() - i, |(j, _)| j);
            if n >= p.len() + min {
                hits.push(Hit {
                    start: i,
                    end: i + n,
                    kind: PiiKind::Secret,
                });
            }
        }
    }
}

/// Mainland passports (`E` or `G` and 8 digits) anywhere.
fn passports(text: &str, chars: &[(usize, char)], hits: &mut Vec<Hit>) {
    for (k, &(i, c)) in chars.iter().enumerate() {
        if !(c == 'E' || c == 'G') || (k > 0 && is_word(chars[k - 1].1)) {
            continue;
        }
        let digits = chars[k + 1..]
            .iter()
            .take_while(|x| x.1.is_ascii_digit())
            .count();
        let after = chars.get(k + 1 + digits).map(|x| x.1);
        if digits == 8 && !after.is_some_and(is_word) {
            hits.push(Hit {
                start: i,
                end: end_of(text, chars, k + 1 + digits),
                kind: PiiKind::Passport,
            });
        }
    }
}

/// Chinese names before an honorific (`张三先生`, `李女士`) and English names after a title.
fn names(text: &str, chars: &[(usize, char)], hits: &mut Vec<Hit>) {
    // Not `经理`: `基金经理` would make `金` a surname.
    const HONORIFICS: &[&str] = &["先生", "女士", "小姐", "律师"];
    for h in HONORIFICS {
        let hc = h.chars().count();
        for (k, _) in chars.iter().enumerate() {
            let w: String = chars[k..].iter().take(hc).map(|c| c.1).collect();
            if w != *h {
                continue;
            }
            // A surname and one or two given-name characters before it (the usual two-character
            // name first, then three, then the surname alone: `李女士`).
            for len in [2, 3, 1] {
                if k < len {
                    continue;
                }
                let s = k - len;
                if chars[s..k].iter().all(|c| is_han(c.1)) && SURNAMES.contains(chars[s].1) {
                    hits.push(Hit {
                        start: chars[s].0,
                        end: chars[k].0,
                        kind: PiiKind::PersonName,
                    });
                    break;
                }
            }
        }
    }
    for title in ["Mr. ", "Mrs. ", "Ms. ", "Dr. ", "Mr ", "Mrs ", "Ms "] {
        for (at, _) in text.match_indices(title) {
            if text[..at].chars().next_back().is_some_and(is_word) {
                continue;
            }
            let start = at + title.len();
            let n = person_name_len(&text[start..]);
            if n > 0 {
                hits.push(Hit {
                    start,
                    end: start + n,
                    kind: PiiKind::PersonName,
                });
            }
        }
    }
}

/// The 100 most common Chinese surnames (single-character).
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤";

fn clients(text: &str, rules: &Rules, hits: &mut Vec<Hit>) {
    let mut names: Vec<&String> = rules
        .client_names
        .iter()
        .filter(|n| n.chars().count() >= 2)
        .collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    for n in names {
        for (at, _) in text.match_indices(n.as_str()) {
            hits.push(Hit {
                start: at,
                end: at + n.len(),
                kind: PiiKind::ClientName,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds_of(text: &str) -> Vec<(String, PiiKind)> {
        let r = redact(text, &Rules::default());
        r.replaced
            .iter()
            .map(|x| (x.original.clone(), x.kind))
            .collect()
    }

    #[test]
    fn chinese_personal_data_is_found() {
        // Generated test data (the ID number is a well-known specimen with a valid check digit;
        // the card number passes Luhn and belongs to no one).
        let t = "联系人：王小明，电话 138-0013-8000，身份证号 11010519491231002X，\
                 邮箱 wang.xm@example.com.cn，银行卡 6222 0202 0000 0000 006，护照号：E12345678，密码：Abc!2345。";
        let got = kinds_of(t);
        let has = |v: &str, k: PiiKind| got.iter().any(|(o, kk)| o == v && *kk == k);
        assert!(has("王小明", PiiKind::PersonName), "{got:?}");
        assert!(has("138-0013-8000", PiiKind::Phone), "{got:?}");
        assert!(has("11010519491231002X", PiiKind::IdCard), "{got:?}");
        assert!(has("wang.xm@example.com.cn", PiiKind::Email), "{got:?}");
        assert!(has("E12345678", PiiKind::Passport), "{got:?}");
        assert!(has("Abc!2345", PiiKind::Secret), "{got:?}");
        assert!(got.iter().any(|(_, k)| *k == PiiKind::BankCard), "{got:?}");
        let r = redact(t, &Rules::default());
        assert!(
            !r.text.contains("138") && !r.text.contains("王小明"),
            "{}",
            r.text
        );
        assert_eq!(r.restore(&r.text), t);
    }

    #[test]
    fn english_personal_data_is_found() {
        let t = "Attn: John Smith. Call +44 20 7946 0958 or mail j.smith@bank.example; \
                 api_key=sk-abcdefghijklmnopqrstuvwx; Mr. Peter Chan signs.";
        let got = kinds_of(t);
        let has = |v: &str, k: PiiKind| got.iter().any(|(o, kk)| o == v && *kk == k);
        assert!(has("John Smith", PiiKind::PersonName), "{got:?}");
        assert!(has("+44 20 7946 0958", PiiKind::Phone), "{got:?}");
        assert!(has("j.smith@bank.example", PiiKind::Email), "{got:?}");
        assert!(
            has("sk-abcdefghijklmnopqrstuvwx", PiiKind::Secret),
            "{got:?}"
        );
        assert!(has("Peter Chan", PiiKind::PersonName), "{got:?}");
    }

    #[test]
    fn trade_data_is_left_alone() {
        // Notionals, dates, prices, trade ids, ISINs, percentages, tickers and legal entities.
        for t in [
            "名义本金 10,000,000 CNY，行权价 100%，到期日 2027-01-05，交易编号 202601050000123456",
            "Notional USD 25,000,000; strike 4,521.35; trade id TRD-20260105-0001; ISIN US0378331005",
            "000300.SH 沪深300 12个月 平值看涨 1000万 期权费多少",
            "Party A: Deskmate Securities Co., Ltd.; Party B: Example Bank plc",
            "Trade Date: 5 January 2026. Calculation Agent: Party A.",
            "tokens 1200, passwordless sign-in, username admin",
            "基金经理与客户经理沟通后，由律师事务所出具法律意见书；估值日收盘价 3,845.21 点",
            "The Seller's phone-in confirmation of 5 January; call 2 business days before expiry",
        ] {
            let got = kinds_of(t);
            assert!(got.is_empty(), "{t}: {got:?}");
        }
    }

    #[test]
    fn the_same_value_gets_the_same_placeholder_across_messages() {
        let rules = Rules {
            client_names: vec!["华夏远景投资".into()],
            ..Rules::default()
        };
        let out = redact_all(
            &[
                "华夏远景投资 的联系人：李四，手机 13912345678",
                "请回复 13912345678 和华夏远景投资",
            ],
            &rules,
        );
        assert_eq!(out[0].text, "⟦CLIENT_1⟧ 的联系人：⟦NAME_1⟧，手机 ⟦PHONE_1⟧");
        assert_eq!(out[1].text, "请回复 ⟦PHONE_1⟧ 和⟦CLIENT_1⟧");
        let last = out.last().unwrap();
        assert_eq!(
            last.restore("已联系⟦NAME_1⟧（⟦PHONE_1⟧）"),
            "已联系李四（13912345678）"
        );
        assert_eq!(
            last.kinds(),
            [PiiKind::PersonName, PiiKind::Phone, PiiKind::ClientName]
                .into_iter()
                .collect()
        );
    }

    #[test]
    fn honorifics_and_checksums() {
        let got = kinds_of(
            "请张三先生与李女士确认；卡号 4111 1111 1111 1112 无效；身份证 110105194912310021 校验错",
        );
        assert!(
            got.contains(&("张三".into(), PiiKind::PersonName)),
            "{got:?}"
        );
        assert!(got.contains(&("李".into(), PiiKind::PersonName)), "{got:?}");
        assert!(
            !got.iter()
                .any(|(_, k)| matches!(k, PiiKind::BankCard | PiiKind::IdCard)),
            "{got:?}"
        );
        assert!(
            kinds_of("卡号 4111 1111 1111 1111")
                .iter()
                .any(|(_, k)| *k == PiiKind::BankCard)
        );
        assert!(
            kinds_of("座机 (021) 6123 4567")
                .iter()
                .any(|(_, k)| *k == PiiKind::Phone)
        );
    }

    #[test]
    fn streamed_output_is_restored_whatever_the_split() {
        let r = redact(
            "联系人：王小明，手机 13812345678，邮箱 wang.xm@example.com",
            &Rules::default(),
        );
        let out = format!(
            "已通知 {} 与 {}（{}）。",
            r.replaced[0].placeholder, r.replaced[1].placeholder, r.replaced[2].placeholder
        );
        let want = r.restore(&out);
        assert!(
            want.contains("王小明") && want.contains("13812345678"),
            "{want}"
        );
        let chars: Vec<char> = out.chars().collect();
        // Every split point, and pieces of one character.
        for cut in 0..=chars.len() {
            let (a, b): (String, String) =
                (chars[..cut].iter().collect(), chars[cut..].iter().collect());
            let mut st = r.restorer(false);
            let mut got = st.push(&a);
            assert!(
                !got.contains('⟦'),
                "a half placeholder was passed on: {got}"
            );
            got.push_str(&st.push(&b));
            got.push_str(&st.finish());
            assert_eq!(got, want, "split at {cut}");
        }
        let mut st = r.restorer(false);
        let got: String = chars
            .iter()
            .map(|c| st.push(&c.to_string()))
            .collect::<String>()
            + &st.finish();
        assert_eq!(got, want);
        // A lone bracket far from any closing one is not held forever.
        let mut st = r.restorer(false);
        let long = format!("⟦{}", "x".repeat(40));
        assert_eq!(st.push(&long), long);
        // Imperfect copies by the model are still restored; unknown ones are left alone.
        assert_eq!(
            r.restore("Dear ⟦Name_1⟧ (⟦ phone_1 ⟧), not ⟦NAME_9⟧ ⟦"),
            "Dear 王小明 (13812345678), not ⟦NAME_9⟧ ⟦"
        );
    }

    #[test]
    fn json_output_is_restored_inside_strings() {
        let names = redact("Contact: Mr. John Smith", &Rules::default());
        assert_eq!(names.text, "Contact: Mr. ⟦NAME_1⟧", "{:?}", names.replaced);
        // A value that needs escaping inside a JSON string.
        let r = redact(r"api_key=ab\cd", &Rules::default());
        assert_eq!(r.replaced.len(), 1, "{:?}", r.replaced);
        let ph = &r.replaced[0].placeholder;
        let text = format!(r#"{{"contact":"{ph}","n":1}}"#);
        let restored = r.restore_json_text(&text);
        let v: Value = serde_json::from_str(&restored).expect("still valid JSON");
        let mut parsed: Value = serde_json::from_str(&text).unwrap();
        r.restore_json(&mut parsed);
        assert_eq!(v, parsed);
        assert_eq!(v["contact"], r.replaced[0].original.as_str());
    }

    #[test]
    fn the_prompt_policy_decides_client_names_by_backend() {
        let p = PromptPolicy::standard(vec!["华泰资管".into()]);
        let texts = ["华泰资管询价，联系电话 13812345678"];
        let local = p.apply(&texts, false).unwrap();
        assert!(local[0].text.contains("华泰资管"), "{}", local[0].text);
        assert!(!local[0].text.contains("13812345678"));
        let remote = p.apply(&texts, true).unwrap();
        assert!(!remote[0].text.contains("华泰资管"), "{}", remote[0].text);
        let clients_only = PromptPolicy {
            personal: false,
            client_names: ClientNames::Always,
            names: vec!["华泰资管".into()],
        };
        let r = clients_only.apply(&texts, false).unwrap();
        assert_eq!(r[0].text, "⟦CLIENT_1⟧询价，联系电话 13812345678");
        assert_eq!(r[0].kinds(), BTreeSet::from([PiiKind::ClientName]));
        let off = PromptPolicy {
            personal: false,
            client_names: ClientNames::Never,
            names: vec![],
        };
        assert!(off.apply(&texts, true).is_none());
    }
}
