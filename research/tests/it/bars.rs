//! Daily bars read from the files as vendors write them, moves found in them, and every kind of
//! bad file refused by row and column.

use kernels::dates::Date;
use research::{BarsError, Basis, MoveRule, NoticeKind, detect, parse};

fn demo(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../demo/market-data")
            .join(name),
    )
    .unwrap()
}

fn date(s: &str) -> Date {
    Date::parse(s).unwrap()
}

#[test]
fn yahoo_index_files_read_as_they_are_and_2018s_big_days_are_moves() {
    let p = parse(&demo("sp500-2018.csv"), Some("S&P 500"), Some("points")).unwrap();
    assert_eq!(p.bars.len(), 251);
    assert_eq!(p.contracts(), ["S&P 500"]);
    let first = &p.bars[0];
    assert_eq!(first.date, date("2018-01-02"));
    assert_eq!(first.close, 2695.810059);
    assert_eq!(first.volume, Some(3_367_250_000.0));
    // `Adj Close` is not read; nothing else to say about a clean file.
    assert!(p.notices.is_empty(), "{:?}", p.notices);
    let moves = detect(&p.bars, |_| MoveRule::default());
    // 5 Feb 2018: the S&P 500 closed 2,648.94, down 4.10% from 2,762.13 (the VIX spike).
    let feb5 = moves.iter().find(|m| m.date == date("2018-02-05")).unwrap();
    assert_eq!(feb5.basis, Basis::Close, "an index has no settlement price");
    assert_eq!(feb5.previous_date, date("2018-02-02"));
    assert!((feb5.change_pct + 4.0979).abs() < 1e-3, "{feb5:?}");
    assert!(
        feb5.describe(false)
            .contains("close 2648.94 points, down 4.10% from 2762.13 points on 2018-02-02"),
        "{}",
        feb5.describe(false)
    );
    assert!(feb5.describe(true).contains("下跌4.10%"));
    // Every move reaches 3%, every day that changed 3% or more is a move.
    let all: Vec<f64> = p
        .bars
        .windows(2)
        .map(|w| (w[1].close / w[0].close - 1.0) * 100.0)
        .collect();
    assert_eq!(moves.len(), all.iter().filter(|c| c.abs() >= 3.0).count());
    assert!(moves.iter().all(|m| m.change_pct.abs() >= 3.0));
    assert_eq!(
        moves.iter().map(|m| m.date.to_string()).collect::<Vec<_>>(),
        [
            "2018-02-05",
            "2018-02-08",
            "2018-10-10",
            "2018-10-24",
            "2018-12-04",
            "2018-12-26"
        ]
    );
    // A per-product threshold.
    let big = detect(&p.bars, |_| MoveRule {
        threshold_pct: 4.0,
        basis: Basis::Close,
    });
    assert_eq!(
        big.iter().map(|m| m.date.to_string()).collect::<Vec<_>>(),
        ["2018-02-05", "2018-12-26"]
    );
}

#[test]
fn a_fred_series_is_named_by_its_code_and_holidays_without_a_price_are_left_out() {
    let p = parse(&demo("wti-2018.csv"), None, None).unwrap();
    assert_eq!(p.contracts(), ["DCOILWTICO"]);
    let no_price = p
        .notices
        .iter()
        .find(|n| n.kind == NoticeKind::NoPrice)
        .unwrap();
    assert_eq!(no_price.rows.len(), 12, "{no_price:?}");
    assert_eq!(p.bars.len(), 261 - 12);
    assert!(p.bars.iter().all(|b| b.date.weekday() < 5));
    // Moves across a holiday say how many weekdays had no price.
    let moves = detect(&p.bars, |_| MoveRule::default());
    assert!(!moves.is_empty());
    assert!(
        moves
            .iter()
            .all(|m| m.missing_weekdays == 0 || m.describe(false).contains("without data"))
    );
    let named = parse(&demo("wti-2018.csv"), Some("WTI crude"), None).unwrap();
    assert_eq!(named.contracts(), ["WTI crude"]);
}

#[test]
fn futures_bars_in_chinese_compare_settlements() {
    // Generated for this test (not market data): two days of a contract in an exchange's
    // Chinese column names.
    let csv = "日期,合约,开盘价,最高价,最低价,收盘价,结算价,成交量,持仓量\n\
               2024-06-03,SC2407,600.0,610.0,590.0,605.0,600.0,1000,5000\n\
               2024-06-04,SC2407,605.0,630.0,600.0,628.0,621.0,1200,5100\n";
    let p = parse(csv.as_bytes(), None, None).unwrap();
    let m = detect(&p.bars, |_| MoveRule::default());
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].basis, Basis::Settlement);
    assert!((m[0].change_pct - 3.5).abs() < 1e-9, "{:?}", m[0]);
    // The same file as JSON.
    let json = serde_json::json!({"bars": [
        {"date": "2024-06-03", "contract": "SC2407", "close": 605.0, "settlement": 600.0},
        {"date": "2024-06-04", "contract": "SC2407", "close": 628.0, "settlement": 621.0}
    ]});
    let j = parse(json.to_string().as_bytes(), None, None).unwrap();
    assert_eq!(
        detect(&j.bars, |_| MoveRule::default()),
        m.iter()
            .map(|x| research::Move {
                high: None,
                low: None,
                ..x.clone()
            })
            .collect::<Vec<_>>()
    );
}

#[test]
fn bad_files_are_refused_by_row_and_column() {
    let head = "date,contract,open,high,low,close\n";
    let ok = "2024-06-03,IF2406,3600,3620,3590,3610\n";
    let cases: &[(&str, &str)] = &[
        (
            "2024-06-04,IF2406,3600,3620,3590,0\n",
            "row 2, column close: a price of 0",
        ),
        ("2024-06-04,IF2406,3600,3620,3590,-5\n", "a price of -5"),
        (
            "2024-06-04,IF2406,3600,3580,3590,3585\n",
            "the high 3580 is below the low 3590",
        ),
        (
            "2024-06-04,IF2406,3600,3620,3590,3700\n",
            "3700 lies outside the day's range",
        ),
        (
            "2024-06-31,IF2406,3600,3620,3590,3610\n",
            "\"2024-06-31\" is not a date",
        ),
        (
            "2024-06-04,IF2406,3600,3620,3590,abc\n",
            "\"abc\" is not a number",
        ),
        (
            "2024-06-03,IF2406,3600,3620,3590,3611\n",
            "rows 1 and 2 give different bars for IF2406 on 2024-06-03",
        ),
    ];
    for (row, says) in cases {
        let e = parse(format!("{head}{ok}{row}").as_bytes(), None, None).unwrap_err();
        assert!(e.to_string().contains(says), "{row}: {e}");
    }
    for (file, says) in [
        ("", "empty"),
        ("%PDF-1.7 binary", "no date column"),
        ("name,age\nbob,3\n", "no date column"),
        (
            "date,contract,volume\n2024-06-03,IF2406,100\n",
            "no close price column",
        ),
        ("date,close\n2024-06-03,3610\n", "no contract column"),
        (
            "date,contract,close\n1/4/2018,A,10\n2/3/2018,A,11\n",
            "day-first or month-first",
        ),
        ("[1, 2]", "every bar in a JSON file is an object"),
        ("{\"bars\": 3}", "array of objects"),
        ("{not json", "not valid JSON"),
    ] {
        let e = parse(file.as_bytes(), None, None).unwrap_err();
        assert!(matches!(e, BarsError::Format(_)), "{file}: {e:?}");
        assert!(e.to_string().contains(says), "{file}: {e}");
    }
    assert!(
        parse(&[0xff, 0xfe, 0x00], None, None)
            .unwrap_err()
            .to_string()
            .contains("UTF-8")
    );
}

#[test]
fn duplicates_weekends_and_gaps_are_notices() {
    let csv = "date,contract,close\n\
               2024-06-03,IF2406,3610\n\
               2024-06-03,IF2406,3610\n\
               2024-06-08,IF2406,3650\n\
               2024-06-04,IF2406,3600\n\
               2024-06-12,IF2406,3450\n";
    let p = parse(csv.as_bytes(), None, None).unwrap();
    assert_eq!(p.bars.len(), 3);
    let kinds: Vec<NoticeKind> = p.notices.iter().map(|n| n.kind).collect();
    assert_eq!(
        kinds,
        [
            NoticeKind::Duplicate,
            NoticeKind::NonTradingDay,
            NoticeKind::Gap
        ]
    );
    let gap = &p.notices[2];
    assert!(
        gap.message
            .contains("between 2024-06-04 and 2024-06-12 (5 weekdays)"),
        "{gap:?}"
    );
    let m = detect(&p.bars, |_| MoveRule::default());
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].missing_weekdays, 5);
    assert!(
        m[0].describe(false)
            .contains("across 5 weekday(s) without data")
    );
}

#[test]
fn a_year_no_market_has_traded_in_is_a_bad_date_not_a_crash() {
    let e = parse(
        b"date,contract,close\n2000000000-01-05,IF2406,3610\n",
        None,
        None,
    )
    .unwrap_err();
    assert!(e.to_string().contains("is not a date"), "{e}");
}
