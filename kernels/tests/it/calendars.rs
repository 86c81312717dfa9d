//! Exchange calendars: the shipped closure lists, the underlying's calendar as a product's
//! default, and what it does to schedules and prices.

use kernels::dates::{Calendar, Date, Exchange};
use kernels::pricing::{EngineKind, PricingRequest};
use kernels::{Market, Product, price};

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn snowball(calendar: Option<&str>) -> Product {
    let mut p: serde_json::Value =
        serde_json::from_str(include_str!("../../examples/snowball.json")).unwrap();
    if let Some(c) = calendar {
        p["calendar"] = serde_json::from_str(c).unwrap();
    }
    serde_json::from_value(p).unwrap()
}

fn market() -> Market {
    Market::from_json("market", include_str!("../../examples/market.json")).unwrap()
}

#[test]
fn the_shipped_closures_cover_their_years_and_are_weekdays() {
    for e in Exchange::ALL {
        let (first, last) = e.years();
        assert!(first <= 2015 && last >= 2036, "{e:?}: {first}-{last}");
        // Every exchange closes on some weekday of every covered year.
        for y in first..=last {
            let any = (1..=12).any(|m| {
                (1..=28).any(|day| {
                    let x = Date::from_ymd(y, m, day).unwrap();
                    x.weekday() < 5 && e.is_holiday(x)
                })
            });
            assert!(any, "{e:?} has no closure in {y}");
        }
    }
    // The SSE's notice for 2026: Spring Festival 16-23 February, National Day 1-7 October.
    let cn = Calendar::exchange(Exchange::Cn);
    for day in [
        "2026-01-01",
        "2026-01-02",
        "2026-02-16",
        "2026-02-20",
        "2026-02-23",
        "2026-10-01",
        "2026-10-07",
    ] {
        assert!(!cn.is_business_day(d(day)), "{day}");
    }
    assert!(cn.is_business_day(d("2026-02-24")));
    assert_eq!(Exchange::Cn.projected_from(), Some(2027));
    assert_eq!(Exchange::Hk.projected_from(), None);
    // Hong Kong: Christmas; New York: Independence Day (observed on Friday 3 July 2026).
    assert!(!Calendar::exchange(Exchange::Hk).is_business_day(d("2026-12-25")));
    assert!(!Calendar::exchange(Exchange::Us).is_business_day(d("2026-07-03")));
}

#[test]
fn an_underlying_names_its_exchange() {
    for (code, e) in [
        ("000905.SH", Some(Exchange::Cn)),
        ("159915.SZ", Some(Exchange::Cn)),
        ("IC2612.CFFEX", Some(Exchange::Cn)),
        ("RB2605.SHFE", Some(Exchange::Cn)),
        ("932000.CSI", Some(Exchange::Cn)),
        ("0700.HK", Some(Exchange::Hk)),
        ("HSI.INDEX", Some(Exchange::Hk)),
        ("AAPL.US", Some(Exchange::Us)),
        ("SPX.INDEX", Some(Exchange::Us)),
        ("NKY.INDEX", Some(Exchange::Jp)),
        ("SX5E.INDEX", Some(Exchange::Eu)),
        ("TEST", None),
        ("FOO.INDEX", None),
    ] {
        assert_eq!(Exchange::of_underlying(code), e, "{code}");
    }
    // Exchange names are accepted in JSON.
    let c: Calendar = serde_json::from_str(r#"{"exchange": "cffex"}"#).unwrap();
    assert_eq!(c.exchange, Some(Exchange::Cn));
    let bad = serde_json::from_str::<Calendar>(r#"{"exchange": "moon"}"#).unwrap_err();
    assert!(bad.to_string().contains("moon"), "{bad}");
}

#[test]
fn a_snowball_over_spring_festival_observes_no_holiday() {
    let m = market();
    let t = |s: &str| m.valuation_date.year_fraction(d(s));
    let on = |times: &[f64], s: &str| times.iter().any(|x| (x - t(s)).abs() < 1e-9);
    // By default the CSI 500 snowball uses the mainland calendar.
    let c = snowball(None).compile(&m).unwrap();
    let ki = &c.ki.as_ref().unwrap().times;
    for holiday in [
        "2026-02-16",
        "2026-02-18",
        "2026-02-23",
        "2026-10-01",
        "2026-10-07",
    ] {
        assert!(!on(ki, holiday), "knock-in observed on {holiday}");
    }
    assert!(on(ki, "2026-02-24") && on(ki, "2026-02-13"));
    assert!(
        c.calendar.starts_with("cn exchange closures"),
        "{}",
        c.calendar
    );
    // Monthly knock-out dates that fall on a closure roll to the next trading day.
    let ko: Vec<f64> = c.ko.as_ref().unwrap().obs.iter().map(|o| o.t).collect();
    assert!(!on(&ko, "2026-10-05") && on(&ko, "2026-10-08"), "{ko:?}");
    // Plain weekdays, asked for explicitly, observe the holidays.
    let w = snowball(Some(r#"{"weekends": true}"#)).compile(&m).unwrap();
    let wki = &w.ki.as_ref().unwrap().times;
    assert!(on(wki, "2026-02-16") && on(wki, "2026-10-01"));
    // The mainland's weekday closures in the contract's life: 17 in 2026 after 5 January, and
    // New Year's Day 2027.
    assert_eq!(wki.len() - ki.len(), 18);
    assert_eq!(w.calendar, "weekdays");
}

#[test]
fn fewer_knock_in_observations_price_as_expected() {
    // The holder of a snowball is short the knock-in put: without the 18 closures as
    // observation days it knocks in less often, so it is worth a little more to the holder.
    let m = market();
    let req = PricingRequest {
        engine: EngineKind::Pde,
        ..PricingRequest::default()
    };
    let cal = price(&snowball(None), &m, &req).unwrap();
    let week = price(&snowball(Some(r#"{"weekends": true}"#)), &m, &req).unwrap();
    let diff = cal.value_per_notional - week.value_per_notional;
    assert!(
        diff > 0.0 && diff < 0.005,
        "{} vs {}: {diff}",
        cal.value_per_notional,
        week.value_per_notional
    );
    assert!(cal.calendar.starts_with("cn"), "{}", cal.calendar);
}

#[test]
fn projected_and_uncovered_years_are_said() {
    let cn = Calendar::exchange(Exchange::Cn);
    assert!(
        !cn.describe(d("2026-01-05"), d("2026-12-31"))
            .contains("projected")
    );
    let s = cn.describe(d("2026-06-01"), d("2027-06-01"));
    assert!(s.contains("from 2027 on are projected"), "{s}");
    let s = cn.describe(d("2030-01-01"), d("2040-01-01"));
    assert!(s.contains("cover 2015-2036 only"), "{s}");
    // 2027's Spring Festival (New Year's Eve 5 February) is projected as closed.
    assert!(!cn.is_business_day(d("2027-02-05")));
    assert!(!cn.is_business_day(d("2027-02-12")));
}

#[test]
fn dates_far_outside_any_contract_are_refused_not_overflowed() {
    assert_eq!(d("9999-12-31").ymd(), (9999, 12, 31));
    for s in ["2000000000-01-01", "-2000000000-01-01", "10000-01-01"] {
        assert!(Date::parse(s).is_none(), "{s}");
    }
    assert!(Date::from_ymd(i32::MAX, 1, 1).is_none());
}
