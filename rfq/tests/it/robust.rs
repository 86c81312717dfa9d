//! Bad input: random strings, emoji, other scripts, binary junk and very long messages never
//! panic, and parsing time stays bounded.

use super::parse;
use rfq::clarify::question;
use rfq::{Lexicon, MAX_MESSAGE_CHARS, MAX_REQUESTS, Problem};
use std::time::{Duration, Instant};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Pieces that exercise every stage: aliases, units, keywords, digits, full-width forms,
/// punctuation, emoji, control characters, other scripts, and fragments of real RFQs.
const PIECES: &[&str] = &[
    "中证500",
    "雪球",
    "敲出",
    "敲入",
    "103",
    "75",
    "12个月",
    "1000万",
    "看涨",
    "看跌",
    "平值",
    "虚值5%",
    "各报一个",
    "同样结构",
    "和",
    "and",
    "call",
    "put",
    "KO",
    "KI",
    "5kw",
    "10mm",
    "m",
    "w",
    "1.5亿",
    "/",
    "、",
    "，",
    "？",
    "IF",
    "rb2605",
    "hc10",
    "SR609",
    "豆粕01",
    "１２３",
    "％",
    "中証",
    "😀",
    "👍🏻",
    "\u{0}",
    "\u{7f}",
    "\u{200b}",
    "\u{301}",
    "é",
    "Привет",
    "مرحبا",
    "ภาษาไทย",
    "9999999999999999999999",
    "0.0000001",
    "-5",
    "1e308",
    "...",
    " ",
    "\n",
    "\t",
    "忽略",
    "客户",
    "报价",
    "票息",
    "期权费",
    "多少",
    "?",
    "%",
    "个",
    "亿",
    "万",
    "千",
    "百",
    "十",
    "三千万",
    "一年半",
    "两周",
    "S&P",
    "000905.SH",
    "00700",
    "x",
    "c",
    "p",
    "95p",
    "103/75",
    "行权价",
    "期限",
];

fn random_message(rng: &mut Rng) -> String {
    let n = 1 + rng.below(25);
    let mut s = String::new();
    for _ in 0..n {
        if rng.below(4) == 0 {
            // Any scalar value, including unassigned and private-use ones.
            let c = loop {
                if let Some(c) = char::from_u32((rng.next() % 0x11_0000) as u32) {
                    break c;
                }
            };
            s.push(c);
        } else {
            s.push_str(PIECES[rng.below(PIECES.len())]);
        }
    }
    s
}

#[test]
fn random_messages_never_panic_and_parse_to_valid_output() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let lex = Lexicon::builtin();
    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    for _ in 0..3_000 {
        let msg = random_message(&mut rng);
        let t = Instant::now();
        let out = parse(&msg);
        slowest = slowest.max(t.elapsed());
        assert!(out.parse.requests.len() <= MAX_REQUESTS, "{msg:?}");
        assert!((0.0..=1.0).contains(&out.confidence), "{msg:?}");
        for r in &out.parse.requests {
            if let Some(u) = &r.underlying {
                assert!(lex.is_known_code(u), "{msg:?} gave unknown code {u}");
            }
        }
        // Output is canonical JSON that reads back, and a question can always be written.
        let back: rfq::RfqParse = serde_json::from_str(&out.parse.to_json()).expect("reads back");
        assert_eq!(back.requests.len(), out.parse.requests.len());
        let _ = question(&out.parse, out.language);
    }
    // Unoptimised test build on a shared 2-core machine: generous bounds; the release-build
    // figures are in benches/rfq_parse.rs.
    assert!(
        slowest < Duration::from_millis(500),
        "slowest parse {slowest:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(60));
}

#[test]
fn binary_junk_and_other_scripts() {
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let junk = String::from_utf8_lossy(&bytes).into_owned();
    for msg in [
        junk.as_str(),
        "Привет, как дела?",
        "こんにちは、オプションの見積もり",
        "🐂🐻📈📉",
        "\u{feff}\u{202e}abc",
    ] {
        let out = parse(msg);
        assert!(
            out.parse.requests.is_empty(),
            "{msg:?}: {}",
            out.parse.to_json()
        );
    }
}

#[test]
fn long_messages_are_bounded() {
    // Over the limit: refused at once, whatever the content.
    let long = "中证500 雪球 敲出103 敲入75 12个月 ".repeat(500);
    assert!(long.chars().count() > 10_000);
    let t = Instant::now();
    let out = parse(&long);
    assert!(t.elapsed() < Duration::from_millis(50));
    assert!(out.parse.requests.is_empty());
    assert!(matches!(out.problems[..], [Problem::TooLong { .. }]));
    // Just under the limit: parsed, with at most MAX_REQUESTS requests.
    let legs: Vec<String> = (0..200)
        .map(|i| format!("中证500 看涨 行权价{} 3个月；", 50 + i % 150))
        .collect();
    let mut msg: String = legs.concat();
    msg = msg.chars().take(MAX_MESSAGE_CHARS).collect();
    let t = Instant::now();
    let out = parse(&msg);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(out.parse.requests.len(), MAX_REQUESTS);
    assert!(
        out.problems
            .iter()
            .any(|p| matches!(p, Problem::TooManyRequests { .. }))
    );
    // Unknown text just under the limit stays fast too.
    let junk: String = "啊吧从的额分个和i就看了吗你哦平去人是他与"
        .chars()
        .cycle()
        .take(MAX_MESSAGE_CHARS)
        .collect();
    let t = Instant::now();
    assert!(parse(&junk).parse.requests.is_empty());
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

/// Invisible characters inside words are dropped, not read as word breaks: "ta\u{200b}nt" in
/// "assistant" must not become the PTA futures code `TA`, and a request split by zero-width
/// spaces parses as the plain one does.
#[test]
fn invisible_characters_inside_words_change_nothing() {
    let plain = parse("沪深300 12个月 平值看涨 名义本金1000万 期权费多少 you are now an assistant");
    let hidden = parse(
        "沪深\u{200b}300 12个\u{200d}月 平值看涨 名义本金1000万 期权费多少 y\u{200b}ou a\u{200b}re n\u{200b}ow \
         a\u{200b}n a\u{200b}ss\u{200b}is\u{200b}ta\u{200b}nt\u{feff}",
    );
    assert_eq!(format!("{plain:?}"), format!("{hidden:?}"));
}
