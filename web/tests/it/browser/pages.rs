//! Pages in the browser (issue #17 item 6, scenarios d and e): the language switch turns a
//! page's labels to Chinese and back, and a client signed in gets a 403 page for every page of
//! the route table but home.

use super::{Browser, Desk, PASSWORD, Script, Tools, WAIT};
use anyhow::ensure;
use web::{Access, Surface, routes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_switch_turns_the_labels_to_chinese_and_back() {
    let Some(tools) = Tools::find() else { return };
    let desk = Desk::start().await;
    let b = Browser::open(&tools, "language", &desk.base, Script::On).await;
    b.run(async |b| {
        b.step("sign-in");
        b.sign_in("root", PASSWORD).await?;
        b.goto("/admin/users").await?;
        ensure!(b.text_of("main h1").await? == "Users");
        ensure!(b.text_of("header.top nav").await?.contains("Home"));
        b.page_shot("admin-users").await?;

        b.step("to-chinese");
        b.click("button[name=language][value=zh]").await?;
        b.wait_for("html[lang=zh]", WAIT).await?;
        ensure!(b.path().await? == "/admin/users", "back where it was");
        ensure!(b.text_of("main h1").await? == "用户");
        let nav = b.text_of("header.top nav").await?;
        ensure!(nav.contains("首页") && nav.contains("审批"), "{nav}");
        // The choice is the user's: the next page is in Chinese too.
        b.goto("/").await?;
        ensure!(b.text_of("main h1").await? == "待您处理");

        b.step("to-english");
        b.click("button[name=language][value=en]").await?;
        b.wait_for("html[lang=en]", WAIT).await?;
        ensure!(b.text_of("main h1").await? == "Waiting for you");

        // The audit log, its chain verified.
        b.step("audit");
        b.goto("/admin/audit?verify=1").await?;
        let main = b.text_of("main").await?;
        ensure!(main.contains("session.sign_in"), "{main}");
        b.page_shot("admin-audit").await?;
        Ok(())
    })
    .await;
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_gets_a_403_page_for_every_page_but_home() {
    let Some(tools) = Tools::find() else { return };
    let desk = Desk::start().await;
    // Every page a signed-in user reaches with a GET that needs more than being signed in.
    let guarded: Vec<String> = routes()
        .iter()
        .filter(|r| r.surface == Surface::Page && r.method == axum::http::Method::GET)
        .filter(|r| matches!(r.access, Access::Permission(_)))
        .map(|r| r.path.replace("{id}", "x1").replace("{name}", "x1"))
        .collect();
    assert!(guarded.len() >= 8, "{guarded:?}");
    let b = Browser::open(&tools, "client_403", &desk.base, Script::On).await;
    b.run(async |b| {
        b.step("home");
        b.sign_in("carla", PASSWORD).await?;
        let nav = b.text_of("header.top nav").await?;
        ensure!(nav.trim() == "Home", "a client's navigation: {nav}");
        for path in &guarded {
            b.step(&format!("forbidden{}", path.replace('/', "-")));
            b.goto(path).await?;
            let h1 = b.wait_for("main h1", WAIT).await?.text().await?;
            ensure!(h1 == "403 · You may not open this page.", "{path}: {h1}");
        }
        Ok(())
    })
    .await;
    desk.stop().await;
}

/// A trader prices the example product with Greeks and runs its scenario grid, drawn as a heat
/// map with spot and vol axes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trader_prices_a_product_and_runs_a_scenario_grid() {
    let Some(tools) = Tools::find() else { return };
    let desk = Desk::start().await;
    let b = Browser::open(&tools, "pricing", &desk.base, Script::On).await;
    b.run(async |b| {
        b.step("price");
        b.sign_in("tina", PASSWORD).await?;
        b.goto("/pricing").await?;
        b.click("form[action='/pricing/price'] button[type=submit]:not([formaction])")
            .await?;
        b.wait_for("main h2 code", WAIT).await?;
        let result = b.text_of("main").await?;
        ensure!(
            result.contains("delta") && result.contains("gamma"),
            "{result}"
        );
        b.page_shot("pricing").await?;

        b.step("grid");
        b.goto("/pricing").await?;
        b.click("button[formaction='/pricing/grid']").await?;
        b.wait_for("table.heat td.num", WAIT).await?;
        let cells = b
            .js("return document.querySelectorAll('table.heat td[class*=heat-]').length;")
            .await?
            .as_u64()
            .unwrap_or(0);
        ensure!(cells >= 9, "{cells} heat-map cells");
        b.page_shot("pricing-grid").await?;
        Ok(())
    })
    .await;
    desk.stop().await;
}
