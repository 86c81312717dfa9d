//! Pricing with the desk's conventions and margin, checked against references.

use super::MARKETS;
use assistant::config::{AutocallEngine, RfqConfig};
use assistant::desk::price::{Conventions, QuoteKind, build, price};
use kernels::pricing::EngineKind;
use kernels::{Market, MarketSet};
use rfq::{ParseContext, RfqParser, RfqRequest};

fn market(code: &str) -> Market {
    let set = MarketSet::from_json("test", MARKETS).unwrap();
    // Underlyings without their own entry price on the CSI 500 market.
    set.get(code)
        .or_else(|_| set.get("000905.SH"))
        .unwrap()
        .clone()
}

fn request(msg: &str) -> RfqRequest {
    let out = RfqParser::builtin().parse(msg, &ParseContext::from_iso("2026-01-05").unwrap());
    assert!(out.parse.missing.is_empty(), "{msg}: {:?}", out.parse);
    assert_eq!(out.parse.requests.len(), 1, "{msg}");
    out.parse.requests[0].clone()
}

fn conv(f: impl FnOnce(&mut RfqConfig)) -> Conventions {
    let mut c = RfqConfig {
        mc_paths: 20_000,
        ..RfqConfig::default()
    };
    f(&mut c);
    Conventions::from_config(&c)
}

#[test]
fn a_vanilla_is_priced_in_closed_form_with_the_margin_shown_apart() {
    let req = request("沪深300 12个月 平值看涨 名义本金1000万 期权费多少");
    let p = price("q1", &req, &market("000300.SH"), &conv(|_| {})).unwrap();
    // Black-Scholes, S = K = 100, T = 1 (2026-01-05 to 2027-01-05, ACT/365F), r = 2%, q = 1%,
    // σ = 22%: 9.130199434753983% of notional (Python math.erf closed form).
    assert_eq!(p.engine, EngineKind::Analytic);
    assert_eq!(p.quote.kind, QuoteKind::Premium);
    assert!((p.quote.fair - 9.130_199_434_753_983).abs() < 1e-8, "{p:?}");
    // The client buys (not stated: the desk's default): fair + 30 bp.
    assert!((p.quote.client - (p.quote.fair + 0.30)).abs() < 1e-12);
    assert!((p.quote.margin_amount - 30_000.0).abs() < 1e-6);
    assert!((p.quote.client_amount.unwrap() - p.quote.client / 100.0 * 1e7).abs() < 1e-6);
    assert!(p.conventions.iter().any(|c| c.contains("side not stated")));
    // The CSI 300's exchange calendar schedules the dates, and the trader is told so.
    assert!(
        p.conventions
            .iter()
            .any(|c| c.starts_with("business days: cn exchange closures")),
        "{:?}",
        p.conventions
    );
    // The desk sells the call: short delta and vega. Cash delta = Δ·S; vega per vol point.
    let g = p.greeks;
    assert!(g.cash_delta < 0.0 && g.vega_per_point < 0.0, "{g:?}");
    assert!((g.cash_delta - g.delta * 100.0).abs() < 1e-6);
    // Black-Scholes call delta e^{-qT} N(d1) = 0.5561788171 (Python math.erf); short 1e5 units
    // (1e7 notional / initial price 100). Bump-and-reprice delta: within 1e-6 relative.
    assert!((g.delta + 0.556_178_817_1 * 1e5).abs() < 0.1, "{g:?}");
}

#[test]
fn a_client_selling_gets_the_fair_premium_less_the_margin() {
    let req = request("沪深300 12个月 平值看涨 名义本金1000万 客户卖出 期权费多少");
    let p = price("q2", &req, &market("000300.SH"), &conv(|_| {})).unwrap();
    assert!(
        (p.quote.client - (p.quote.fair - 0.30)).abs() < 1e-12,
        "{p:?}"
    );
    assert!(
        p.greeks.cash_delta > 0.0,
        "the desk buys the call: {:?}",
        p.greeks
    );
}

#[test]
fn a_snowball_coupon_is_solved_fair_and_with_margin() {
    let req = request("中证500 雪球 敲出103 敲入75 12个月 1000万 票息多少");
    let c = conv(|c| c.autocall_engine = AutocallEngine::Mc);
    let m = market("000905.SH");
    let p = price("q3", &req, &m, &c).unwrap();
    assert_eq!(p.quote.kind, QuoteKind::Coupon);
    assert_eq!(p.engine, EngineKind::Mc);
    assert_eq!(p.paths, Some(20_000));
    // Priced at the client's coupon the holder's value is −margin (1% of notional), within
    // three standard errors of the Monte Carlo estimate.
    assert!(
        (p.value_pct + 1.0).abs() < 3.0 * p.std_error_pct + 1e-9,
        "value {} ± {}",
        p.value_pct,
        p.std_error_pct
    );
    assert!(p.quote.client < p.quote.fair, "{:?}", p.quote);
    // A 12M snowball 103/75 at 22% vol: the fair coupon is in the usual 10–30% p.a. range.
    assert!((10.0..30.0).contains(&p.quote.fair), "{:?}", p.quote);
    // The product carries the desk's conventions.
    let a = &p.product["autocall"];
    assert_eq!(a["ko_schedule"]["frequency"], "monthly");
    assert_eq!(a["ko_schedule"]["lockup_months"], 3);
    assert_eq!(a["ki"]["monitoring"], "daily");
    assert_eq!(p.product["direction"], "sell");
    // A second engine agrees: the PDE's fair coupon is within 0.5 coupon points of the MC's
    // (MC error at 20k paths is about 0.2 points; the PDE grid error is far smaller).
    let pde = price(
        "q3",
        &req,
        &m,
        &conv(|c| c.autocall_engine = AutocallEngine::Pde),
    )
    .unwrap();
    assert_eq!(pde.engine, EngineKind::Pde);
    assert!(
        (pde.quote.fair - p.quote.fair).abs() < 0.5,
        "pde {} vs mc {}",
        pde.quote.fair,
        p.quote.fair
    );
}

#[test]
fn a_snowball_with_its_coupon_is_priced() {
    let req = request("500ETF 雪球 敲出 102 敲入 78 票息 15% 期限 12个月 1000万 看下期权费");
    let mut m = market("000905.SH");
    m.spot = 7.0;
    let p = price(
        "q4",
        &req,
        &m,
        &conv(|c| c.autocall_engine = AutocallEngine::Pde),
    )
    .unwrap();
    assert_eq!(p.quote.kind, QuoteKind::Premium);
    assert!(
        (p.quote.client - (p.quote.fair + 1.0)).abs() < 1e-9,
        "{:?}",
        p.quote
    );
}

#[test]
fn every_structure_builds_a_valid_product_with_the_conventions() {
    let c = conv(|_| {});
    for (msg, check) in [
        (
            "上证50 二元看涨 行权价102 1个月 100万 赔付5%",
            "digital_call",
        ),
        (
            "中证500 鲨鱼鳍 看涨 敲出价 115 参与率 80% 6个月 1000万",
            "participation",
        ),
        ("沪深300 障碍 看跌 行权价100 障碍80 6个月 1000万", "down"),
        ("沪深300 亚式看跌 平值 2个月 1000万", "arithmetic"),
        (
            "中证500 凤凰 敲出103 敲入80 派息线80 12个月 1000万 票息多少",
            "memory",
        ),
    ] {
        let out = RfqParser::builtin().parse(msg, &ParseContext::from_iso("2026-01-05").unwrap());
        let req = &out.parse.requests[0];
        let (product, _, _) = build("x", req, &c).unwrap_or_else(|e| panic!("{msg}: {e}"));
        let json = serde_json::to_string(&product).unwrap();
        assert!(json.contains(check), "{msg}: {json}");
        product
            .compile(&market(req.underlying.as_deref().unwrap()))
            .unwrap_or_else(|e| panic!("{msg}: {e}"));
    }
}

#[test]
fn options_solved_for_a_term_are_refused_with_the_reason() {
    let mut req = request("沪深300 12个月 平值看涨 名义本金1000万 期权费多少");
    req.solve_for = Some(rfq::SolveFor::Strike);
    let e = price("q5", &req, &market("000300.SH"), &conv(|_| {})).unwrap_err();
    assert!(e.to_string().contains("target premium"), "{e}");
}

#[test]
fn a_knock_out_level_is_solved_for_an_autocallable() {
    let mut req = request("中证500 雪球 敲出103 敲入75 12个月 1000万 票息多少");
    req.solve_for = Some(rfq::SolveFor::Barrier);
    req.knock_out_pct = None;
    req.coupon_pct = Some(4.0);
    let c = conv(|c| c.autocall_engine = AutocallEngine::Pde);
    let p = price("q6", &req, &market("000905.SH"), &c).unwrap();
    assert_eq!(p.quote.kind, QuoteKind::KnockOut);
    // A buying client gets a higher (worse) knock-out level than the fair one.
    assert!(p.quote.client > p.quote.fair, "{:?}", p.quote);
    assert!((p.value_pct + 1.0).abs() < 1e-3, "{}", p.value_pct);
}
