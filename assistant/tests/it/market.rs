//! Market data as a workflow: files of bars imported whole or refused, stored bars never
//! overwritten, moves found across files and thresholds per product, risk events by hand, all
//! audited.

use assistant::Assistant;
use assistant::AssistantError;
use assistant::config::Config;
use assistant::store::Actor;
use policies::{Principal, Role};

fn open(config: impl FnOnce(&mut Config)) -> (tempfile::TempDir, Assistant) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::default();
    c.storage.data_dir = dir.path().to_path_buf();
    config(&mut c);
    (dir, Assistant::open(c).unwrap())
}

fn user(a: &Assistant, name: &str, role: Role) -> Actor {
    a.create_user(&Actor::system(), name, role).unwrap();
    Actor::user(
        &Principal {
            user: name.into(),
            role,
        },
        None,
    )
}

fn demo(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../demo/market-data")
            .join(name),
    )
    .unwrap()
}

#[test]
fn real_index_data_is_imported_once_and_its_moves_become_events() {
    let (_d, a) = open(|_| {});
    let rita = user(&a, "rita", Role::Risk);
    let r = a
        .market_import(
            &rita,
            "sp500-2018.csv",
            &demo("sp500-2018.csv"),
            Some("S&P 500"),
            Some("points"),
        )
        .unwrap();
    assert_eq!(r.contracts, ["S&P 500"]);
    assert_eq!((r.bars_new, r.bars_known), (251, 0));
    assert_eq!(r.events.len(), 6, "{:?}", r.events);
    let feb5 = r.events.iter().find(|e| e.date == "2018-02-05").unwrap();
    assert_eq!(feb5.kind, "move");
    assert!(feb5.topic.contains("down 4.10%"), "{}", feb5.topic);
    assert_eq!(feb5.details["previous_date"], "2018-02-02");
    // The same file again: nothing new, no event twice.
    let again = a
        .market_import(
            &rita,
            "sp500-2018.csv",
            &demo("sp500-2018.csv"),
            Some("S&P 500"),
            Some("points"),
        )
        .unwrap();
    assert_eq!((again.bars_new, again.bars_known), (0, 251));
    assert!(again.events.is_empty());
    assert_eq!(a.market_events(&rita, Some("move"), None).unwrap().len(), 6);
    let bars = a
        .market_bars(&rita, "S&P 500", Some("2018-02-01"), Some("2018-02-09"))
        .unwrap();
    assert_eq!(bars.len(), 7);
    // Audited, with the file's hash.
    let log = a.store().audit_entries(0, None, None, 1000).unwrap();
    assert_eq!(
        log.iter().filter(|e| e.action == "market.import").count(),
        2
    );
    // Traders read, but do not import; clients neither.
    let tom = user(&a, "tom", Role::Trader);
    assert_eq!(a.market_contracts(&tom).unwrap()[0].bars, 251);
    assert!(matches!(
        a.market_import(
            &tom,
            "x.csv",
            &demo("sp500-2018.csv"),
            Some("S&P 500"),
            Some("points")
        ),
        Err(AssistantError::Forbidden(_))
    ));
    let carl = user(&a, "carl", Role::Client);
    assert!(matches!(
        a.market_events(&carl, None, None),
        Err(AssistantError::Forbidden(_))
    ));
}

#[test]
fn a_file_that_contradicts_stored_bars_is_refused_whole() {
    let (_d, a) = open(|_| {});
    let rita = user(&a, "rita", Role::Risk);
    let first = "date,contract,close\n2024-06-03,IF2406,3610\n2024-06-04,IF2406,3600\n";
    a.market_import(&rita, "first.csv", first.as_bytes(), None, None)
        .unwrap();
    // A new day and a changed old day: nothing of it is kept.
    let second = "date,contract,close\n2024-06-05,IF2406,3700\n2024-06-04,IF2406,3601\n";
    let e = a
        .market_import(&rita, "second.csv", second.as_bytes(), None, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            "row 2 gives IF2406 on 2024-06-04 other values than the stored bar from first.csv"
        ),
        "{e}"
    );
    assert_eq!(a.market_contracts(&rita).unwrap()[0].bars, 2);
    // A bad row names itself; nothing is stored.
    let e = a
        .market_import(
            &rita,
            "bad.csv",
            b"date,contract,close\n2024-06-05,IF2406,-1\n",
            None,
            None,
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad.csv: row 1, column close: a price of -1"),
        "{e}"
    );
    assert_eq!(a.market_contracts(&rita).unwrap()[0].bars, 2);
}

#[test]
fn a_file_filling_a_gap_finds_the_move_across_it_and_thresholds_follow_the_product() {
    let (_d, a) = open(|c| {
        c.research.move_thresholds.insert("SC".into(), 5.0);
    });
    let rita = user(&a, "rita", Role::Risk);
    // Generated for this test (not market data).
    let r = a
        .market_import(
            &rita,
            "a.csv",
            b"date,contract,close,settlement\n2024-06-03,SC2407,600,600\n2024-06-05,SC2407,640,640\n2024-06-03,AU2408,550,550\n",
            None, None)
        .unwrap();
    // SC2407 +6.7% reaches SC's 5%.
    assert_eq!(r.events.len(), 1);
    assert_eq!(r.events[0].details["threshold_pct"], 5.0);
    assert_eq!(r.events[0].details["missing_weekdays"], 1);
    // AU2408 +4% on the next file: the default 3% applies; SC2407 +4% does not reach 5%.
    let r = a
        .market_import(
            &rita,
            "b.csv",
            b"date,contract,close,settlement\n2024-06-04,AU2408,572,572\n2024-06-06,SC2407,665.6,665.6\n",
            None, None)
        .unwrap();
    assert_eq!(
        r.events
            .iter()
            .map(|e| e.contract.as_str())
            .collect::<Vec<_>>(),
        ["AU2408"]
    );
    // Filling SC2407's gap: the two halves are under 5% each; the earlier event stays.
    let r = a
        .market_import(
            &rita,
            "c.csv",
            b"date,contract,close,settlement\n2024-06-04,SC2407,620,620\n",
            None,
            None,
        )
        .unwrap();
    assert!(r.events.is_empty(), "{:?}", r.events);
    assert_eq!(
        a.market_events(&rita, Some("move"), Some("SC2407"))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn risk_events_are_opened_by_hand_and_checked() {
    let (_d, a) = open(|_| {});
    let rita = user(&a, "rita", Role::Risk);
    let e = a
        .event_open(
            &rita,
            "原油价格暴跌风险",
            &["SC".into(), "WTI crude".into()],
            "2018-11-01",
            "2018-11-30",
        )
        .unwrap();
    assert_eq!(e.kind, "risk");
    assert_eq!(e.contract, "SC,WTI crude");
    assert_eq!(a.market_event(&rita, &e.id).unwrap(), e);
    for (topic, products, from, until, field) in [
        (
            "",
            vec!["SC".to_string()],
            "2018-11-01",
            "2018-11-30",
            "topic",
        ),
        ("t", vec![], "2018-11-01", "2018-11-30", "products"),
        ("t", vec!["SC".into()], "2018-11-31", "2018-11-30", "from"),
        ("t", vec!["SC".into()], "2018-11-30", "2018-11-01", "until"),
    ] {
        let err = a
            .event_open(&rita, topic, &products, from, until)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(field), "{err}");
    }
    assert!(matches!(
        a.market_event(&rita, "ev_nope"),
        Err(AssistantError::NotFound { .. })
    ));
}
