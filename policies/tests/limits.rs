//! The risk limits on quotes, checked through `policies::limits`'s public API against a
//! configuration written in TOML as an operator would.

use policies::limits::{
    Breach, Exposure, Lang, LimitsConfig, ProductKind, QuoteCheck, QuoteGreeks, check, covered_by,
    group_thousands,
};

fn config() -> LimitsConfig {
    let text = include_str!("data/limits.toml");
    let cfg: LimitsConfig = toml::from_str(text).expect("tests/data/limits.toml parses");
    cfg.validate().expect("tests/data/limits.toml is valid");
    cfg
}

fn quote<'a>(client: &'a str, underlying: &'a str, structure: ProductKind) -> QuoteCheck<'a> {
    QuoteCheck {
        client,
        underlying,
        structure,
        notional: Some(10_000_000.0),
        currency: Some("CNY"),
        tenor_months: Some(6),
        greeks: Some(QuoteGreeks {
            delta: 1_000_000.0,
            vega: 100_000.0,
        }),
    }
}

/// Checks `q` and compares the Chinese and English reasons with `expect` (pairs, in order).
fn check_reasons(q: &QuoteCheck<'_>, exposure: Exposure, expect: &[(&str, &str)]) {
    let breaches = check(&config(), q, &exposure);
    let got: Vec<(String, String)> = breaches
        .iter()
        .map(|b| (b.reason_zh(), b.reason_en()))
        .collect();
    let want: Vec<(String, String)> = expect
        .iter()
        .map(|(z, e)| (z.to_string(), e.to_string()))
        .collect();
    assert_eq!(got, want, "quote {q:?}");
}

#[test]
fn a_permitted_quote_passes() {
    check_reasons(
        &quote("C", "000905.SH", ProductKind::Vanilla),
        Exposure::default(),
        &[],
    );
}

#[test]
fn structure_permission_is_per_client() {
    check_reasons(
        &quote("C", "000905.SH", ProductKind::Snowball),
        Exposure::default(),
        &[(
            "拒绝：客户 C 无雪球交易权限",
            "rejected: client C is not permitted to trade snowballs",
        )],
    );
    check_reasons(
        &quote("C002", "000905.SH", ProductKind::Snowball),
        Exposure::default(),
        &[],
    );
}

#[test]
fn blocked_underlyings_and_their_contract_months_are_refused() {
    check_reasons(
        &quote("C", "600519.SH", ProductKind::Vanilla),
        Exposure::default(),
        &[(
            "拒绝：标的 600519.SH 在禁止名单上",
            "rejected: 600519.SH is on the blocked list",
        )],
    );
    check_reasons(
        &quote("C", "SC2605.INE", ProductKind::Vanilla),
        Exposure::default(),
        &[(
            "拒绝：标的 SC2605.INE 在禁止名单上",
            "rejected: SC2605.INE is on the blocked list",
        )],
    );
}

#[test]
fn an_allowed_list_in_force_refuses_everything_else() {
    let mut cfg = config();
    cfg.allowed_underlyings = vec!["000300.SH".into(), "IF.CFFEX".into()];
    let ok = |u: &str| {
        check(
            &cfg,
            &quote("C", u, ProductKind::Vanilla),
            &Exposure::default(),
        )
        .is_empty()
    };
    assert!(ok("000300.SH"));
    assert!(ok("IF2606.CFFEX"));
    let b = check(
        &cfg,
        &quote("C", "000852.SH", ProductKind::Vanilla),
        &Exposure::default(),
    );
    assert_eq!(
        b,
        vec![Breach::UnderlyingNotAllowed {
            underlying: "000852.SH".into()
        }]
    );
    assert_eq!(
        b[0].reason_en(),
        "rejected: 000852.SH is not on the approved list"
    );
}

#[test]
fn notional_and_tenor_limits() {
    let mut q = quote("C002", "000852.SH", ProductKind::Snowball);
    q.notional = Some(150_000_000.0);
    q.tenor_months = Some(36);
    check_reasons(
        &q,
        Exposure::default(),
        &[
            (
                "拒绝：名义本金 150,000,000 CNY 超出客户 华东某私募 的上限 100,000,000 CNY",
                "rejected: notional 150,000,000 CNY exceeds client 华东某私募's limit of 100,000,000 CNY",
            ),
            (
                "拒绝：期限 36 个月超出客户 华东某私募 的上限 24 个月",
                "rejected: tenor of 36 months exceeds client 华东某私募's limit of 24 months",
            ),
        ],
    );
    // At the limit is within it.
    q.notional = Some(100_000_000.0);
    q.tenor_months = Some(24);
    check_reasons(&q, Exposure::default(), &[]);
}

#[test]
fn limits_that_cannot_be_checked_are_not_passed() {
    let mut q = quote("HK01", "0700.HK", ProductKind::Vanilla);
    q.notional = None;
    q.tenor_months = None;
    q.greeks = None;
    let rules: Vec<&str> = check(&config(), &q, &Exposure::default())
        .iter()
        .map(|b| match b {
            Breach::NotionalMissing { .. } => "notional_missing",
            Breach::TenorMissing { .. } => "tenor_missing",
            Breach::GreeksMissing { .. } => "greeks_missing",
            _ => "other",
        })
        .collect();
    assert_eq!(
        rules,
        ["notional_missing", "tenor_missing", "greeks_missing"]
    );
    // A notional in another currency than the limit is refused, not converted.
    let mut q = quote("HK01", "0700.HK", ProductKind::Vanilla);
    q.currency = Some("CNY");
    assert_eq!(
        check(&config(), &q, &Exposure::default())[0].reason_en(),
        "rejected: a notional in CNY cannot be checked against client HK01's HKD limit"
    );
    q.currency = Some("HKD");
    assert!(check(&config(), &q, &Exposure::default()).is_empty());
    // A NaN or negative notional is no notional.
    q.notional = Some(f64::NAN);
    assert!(matches!(
        check(&config(), &q, &Exposure::default())[0],
        Breach::NotionalMissing { .. }
    ));
}

#[test]
fn unknown_clients_are_refused() {
    check_reasons(
        &quote("ZZZ", "000905.SH", ProductKind::Vanilla),
        Exposure::default(),
        &[(
            "拒绝：客户 ZZZ 未配置交易权限",
            "rejected: no permissions are configured for client ZZZ",
        )],
    );
}

#[test]
fn exposure_includes_pending_quotes() {
    // Book vega 4.5m, pending 0.4m, quote 0.2m: 5.1m > 5m.
    let exposure = Exposure {
        book_delta: 0.0,
        book_vega: 4_500_000.0,
        pending_delta: 0.0,
        pending_vega: 400_000.0,
    };
    let mut q = quote("C", "000905.SH", ProductKind::Vanilla);
    q.greeks = Some(QuoteGreeks {
        delta: 0.0,
        vega: 200_000.0,
    });
    check_reasons(
        &q,
        exposure,
        &[(
            "拒绝：超出 000905.SH 的 vega 限额 5,000,000 CNY（含本笔及待定报价为 5,100,000 CNY）",
            "rejected: exceeds the 5,000,000 CNY vega limit on 000905.SH (5,100,000 CNY with this and pending quotes)",
        )],
    );
    // Without the pending quotes it fits.
    let no_pending = Exposure {
        pending_vega: 0.0,
        ..exposure
    };
    check_reasons(&q, no_pending, &[]);
    // A quote that reduces an exposure already over the limit is allowed.
    let over = Exposure {
        book_vega: 6_000_000.0,
        ..Exposure::default()
    };
    q.greeks = Some(QuoteGreeks {
        delta: 0.0,
        vega: -300_000.0,
    });
    check_reasons(&q, over, &[]);
    // Short exposure counts by its absolute value: delta -19.5m, quote -1m.
    let short = Exposure {
        book_delta: -19_500_000.0,
        ..Exposure::default()
    };
    q.greeks = Some(QuoteGreeks {
        delta: -1_000_000.0,
        vega: 0.0,
    });
    let b = check(&config(), &q, &short);
    assert_eq!(b.len(), 1);
    assert!(
        b[0].reason_en()
            .starts_with("rejected: exceeds the 20,000,000 CNY delta limit on 000905.SH")
    );
}

#[test]
fn exposure_limits_resolve_by_code_then_main_contract_then_default() {
    let mut q = quote("C", "IC2606.CFFEX", ProductKind::Vanilla);
    q.greeks = Some(QuoteGreeks {
        delta: 0.0,
        vega: 1_500_000.0,
    });
    let b = check(&config(), &q, &Exposure::default());
    assert!(
        b[0].reason_en()
            .starts_with("rejected: exceeds the 1,000,000 CNY vega limit on IC2606.CFFEX")
    );
    q.underlying = "000300.SH";
    let b = check(&config(), &q, &Exposure::default());
    assert!(b.is_empty(), "1.5m vega is within the 2m default: {b:?}");
    q.greeks = Some(QuoteGreeks {
        delta: 0.0,
        vega: 2_500_000.0,
    });
    assert!(
        check(&config(), &q, &Exposure::default())[0]
            .reason_en()
            .contains("2,000,000 CNY vega limit on 000300.SH")
    );
    q.greeks = Some(QuoteGreeks {
        delta: 0.0,
        vega: f64::NAN,
    });
    assert_eq!(
        check(&config(), &q, &Exposure::default()).len(),
        1,
        "NaN Greeks fail closed"
    );
}

#[test]
fn client_wording_discloses_nothing() {
    let cfg = config();
    let exposure = Exposure {
        book_vega: 4_900_000.0,
        ..Exposure::default()
    };
    let mut q = quote("C", "600519.SH", ProductKind::Snowball);
    q.notional = Some(90_000_000.0);
    q.greeks = Some(QuoteGreeks {
        delta: 0.0,
        vega: 500_000.0,
    });
    let mut all = check(&cfg, &q, &exposure);
    q.underlying = "000905.SH";
    all.extend(check(&cfg, &q, &exposure));
    assert!(all.len() >= 4, "{all:?}");
    for b in &all {
        for lang in [Lang::Zh, Lang::En] {
            let w = b.client_wording(lang);
            for secret in [
                "C",
                "5,000,000",
                "50,000,000",
                "雪球",
                "snowball",
                "limit",
                "限额",
                "600519",
            ] {
                assert!(!w.contains(secret), "{w:?} discloses {secret:?}");
            }
        }
    }
}

#[test]
fn invalid_configurations_name_the_entry() {
    let bad = |text: &str, entry: &str| {
        let cfg: LimitsConfig = toml::from_str(text).expect("parses");
        let e = cfg.validate().expect_err("invalid");
        assert_eq!(e.entry, entry, "{e}");
    };
    bad(
        "[clients.X]\nstructures = []\nmax_notional = -1\nmax_tenor_months = 1\n",
        "clients.X.max_notional",
    );
    bad(
        "[clients.X]\nstructures = []\nmax_notional = 1\nmax_tenor_months = 0\n",
        "clients.X.max_tenor_months",
    );
    bad(
        "[exposure.\"A.SH\"]\nmax_abs_vega = 0\n",
        "exposure.A.SH.max_abs_vega",
    );
    bad(
        "[default_exposure]\ncurrency = \"yuan\"\n",
        "default_exposure.currency",
    );
    bad(
        "allowed_underlyings = [\"A.SH\"]\nblocked_underlyings = [\"A.SH\"]\n",
        "allowed_underlyings A.SH",
    );
    // Unknown keys and structures are errors of the TOML itself.
    assert!(toml::from_str::<LimitsConfig>("max_exposure = 1\n").is_err());
    assert!(
        toml::from_str::<LimitsConfig>(
            "[clients.X]\nstructures = [\"swap\"]\nmax_notional = 1\nmax_tenor_months = 1\n"
        )
        .is_err()
    );
}

#[test]
fn helpers() {
    assert_eq!(group_thousands(5_000_000.0), "5,000,000");
    assert_eq!(group_thousands(-1234.4), "-1,234");
    assert_eq!(group_thousands(999.0), "999");
    assert!(covered_by("IC2412.CFFEX", "IC.CFFEX"));
    assert!(!covered_by("IC2412.CFFEX", "IF.CFFEX"));
    assert!(!covered_by("ICX.CFFEX", "IC.CFFEX"));
    assert!(!covered_by("000905.SH", "000905.SZ"));
}
