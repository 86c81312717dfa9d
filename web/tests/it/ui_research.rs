//! The research and risk page: a risk user imports the real S&P 500 2018 file from the page,
//! sees the moves, opens one (numbers and chart), opens a risk event; the page in Chinese; a bad
//! file refused with its row; roles without market access do not get the page.

use super::api::api_with;
use super::ui::{form_req, get_req, multipart_req, raw, set_password, sign_in, user};
use axum::http::{StatusCode, header};
use policies::Role;

fn demo(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../demo/market-data")
            .join(name),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_risk_user_imports_market_data_reads_a_move_and_opens_a_risk_event() {
    let a = api_with(|_| {});
    for role in [Role::Risk, Role::Legal] {
        set_password(&a, &user(role));
    }
    let b = sign_in(&a, &user(Role::Risk)).await;
    let p = raw(&a, get_req("/research", Some(&b.cookie))).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("No market data yet"), "{}", p.body);
    assert!(p.body.contains("href=\"/research\""), "in the navigation");
    let sp = demo("sp500-2018.csv");
    let p = raw(
        &a,
        multipart_req(
            "/research/import",
            &b.cookie,
            &[
                ("csrf", None, b.csrf.as_bytes()),
                ("contract", None, b"S&P 500"),
                ("unit", None, b"points"),
                ("file", Some("sp500-2018.csv"), &sp),
            ],
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("Imported sp500-2018.csv"), "{}", p.body);
    assert!(p.body.contains("251 new bars"), "{}", p.body);
    assert!(
        p.body.contains("S&amp;P 500 2018-02-05 close 2648.94 points, down 4.10% from 2762.13 points on 2018-02-02"),
        "{}",
        p.body
    );
    let id = p
        .body
        .split("href=\"/research/events/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let e = raw(
        &a,
        get_req(&format!("/research/events/{id}"), Some(&b.cookie)),
    )
    .await;
    assert_eq!(e.status, StatusCode::OK, "{}", e.body);
    assert!(e.body.contains("<svg"), "a chart of the window");
    assert!(e.body.contains("points"), "prices with their unit");
    assert!(!e.body.contains("<script>"), "no script in the chart");
    // A bad file: refused with its row, nothing imported.
    let p = raw(
        &a,
        multipart_req(
            "/research/import",
            &b.cookie,
            &[
                ("csrf", None, b.csrf.as_bytes()),
                (
                    "file",
                    Some("bad.csv"),
                    b"date,contract,close\n2018-03-01,SC1805,-3\n",
                ),
            ],
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
    assert!(
        p.body.contains("row 1, column close: a price of -3"),
        "{}",
        p.body
    );
    // A risk event from the page: shown at once, with the window's chart.
    let p = raw(
        &a,
        form_req(
            "/research/events",
            Some(&b.cookie),
            &[
                ("csrf", &b.csrf),
                ("topic", "Volatility spike"),
                ("products", "S&P 500"),
                ("from", "2018-01-29"),
                ("until", "2018-02-09"),
            ],
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let to = p.headers[header::LOCATION].to_str().unwrap().to_string();
    let e = raw(&a, get_req(&to, Some(&b.cookie))).await;
    assert!(
        e.body.contains("Volatility spike") && e.body.contains("<svg"),
        "{}",
        e.body
    );
    // In Chinese.
    let p = raw(
        &a,
        form_req(
            "/language",
            Some(&b.cookie),
            &[("csrf", &b.csrf), ("language", "zh")],
        ),
    )
    .await;
    assert!(p.status.is_redirection(), "{}", p.body);
    let p = raw(&a, get_req("/research", Some(&b.cookie))).await;
    assert!(
        p.body.contains("研究与风险") && p.body.contains("下跌4.10%"),
        "{}",
        p.body
    );
    // Legal has no market access: no page, no link.
    let l = sign_in(&a, &user(Role::Legal)).await;
    let p = raw(&a, get_req("/research", Some(&l.cookie))).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let home = raw(&a, get_req("/", Some(&l.cookie))).await;
    assert!(!home.body.contains("href=\"/research\""));
}
