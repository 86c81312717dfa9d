//! Compliance in the browser (issue #19): a compliance officer loads one of ISDA DRR's example
//! trades, compares its reports across the regimes that apply, reads the deadlines, opens the
//! provision behind a differing value in the matrix, follows it to the provision's page, and
//! validates an uploaded report (a damaged copy of the expected EMIR report), seeing the
//! findings with their provisions. And asks a rule question, reading the named field's
//! provision quoted as it streams in, then the answer with its citations linked to provisions.

use super::{Browser, Desk, PASSWORD, Script, Setup, Tools, WAIT};
use anyhow::ensure;
use std::path::PathBuf;

fn shared(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data")).join(rel)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compliance_officer_compares_regimes_opens_a_provision_and_validates_a_report() {
    let Some(tools) = Tools::find() else { return };
    let expected = shared("regulation-en/drr-reports/IR-IRS-Fixed-Float-ex01/esma-emir-trade.json");
    assert!(
        expected.is_file(),
        "{} (see shared/data/MANIFEST.md)",
        expected.display()
    );
    // A damaged copy of the expected EMIR report: a currency that is not ISO 4217.
    let dir = tempfile::tempdir().unwrap();
    let damaged = dir.path().join("emir-report.json");
    std::fs::write(
        &damaged,
        std::fs::read_to_string(&expected)
            .unwrap()
            .replace("\"USD\"", "\"US$\""),
    )
    .unwrap();
    let desk = Desk::start().await;
    let b = Browser::open(&tools, "compliance", &desk.base, Script::On).await;
    b.run(async |b| {
        b.step("compare");
        b.sign_in("cora", PASSWORD).await?;
        b.goto("/compliance?example=IR-IRS-Fixed-Float-ex01")
            .await?;
        let trade = b.prop_of("#trade", "value").await?.unwrap_or_default();
        ensure!(
            trade.contains("IRIRSFIXEDFLOATEXX01"),
            "the example trade is loaded"
        );
        b.click("#compare").await?;
        b.wait_for("#matrix", WAIT).await?;
        let regimes = b.text_of("#regimes-table").await?;
        for want in [
            "EU EMIR Refit",
            "UK EMIR",
            "CFTC Part 45",
            "T+1",
            "Article 9(1)",
        ] {
            ensure!(regimes.contains(want), "{want} in {regimes}");
        }
        let summary = b.text_of("#summary").await?;
        ensure!(
            summary.contains("Fixed rate, leg 1") && summary.contains("2.53"),
            "{summary}"
        );
        b.page_shot("compliance").await?;

        b.step("provision");
        let cell = "tr[data-field='leg1.fixedRate'] td[data-regime='esma-emir-trade'] details";
        b.click(&format!("{cell} > summary")).await?;
        let opened = b.text_of(cell).await?;
        ensure!(
            opened.contains("drr:") && opened.to_lowercase().contains("fixed rate"),
            "{opened}"
        );
        b.click(&format!("{cell} .provision a")).await?;
        b.wait_for("#provision-text", WAIT).await?;
        ensure!(
            b.path().await?.starts_with("/compliance/provisions/drr:"),
            "{}",
            b.path().await?
        );

        b.step("validate");
        b.goto("/compliance?example=IR-IRS-Fixed-Float-ex01")
            .await?;
        b.click("#compare").await?;
        b.wait_for("#matrix", WAIT).await?;
        b.select("#v-regime", "esma-emir-trade").await?;
        b.choose_files("#v-report", &[damaged.as_path()]).await?;
        b.click("form[action='/compliance/validate'] button[type=submit]")
            .await?;
        b.wait_for("#findings", WAIT).await?;
        let findings = b.text_of("#findings").await?;
        ensure!(
            findings.contains("leg1.notionalCurrency") && findings.contains("ISO 4217"),
            "{findings}"
        );
        Ok(())
    })
    .await;
    desk.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compliance_officer_asks_a_rule_question_and_reads_the_provision_first() {
    let Some(tools) = Tools::find() else { return };
    let desk = Desk::start_with(Setup {
        knowledge: true,
        ..Setup::default()
    })
    .await;
    crate::compliance::load_small_rule_corpus(&desk.state.assistant);
    let b = Browser::open(&tools, "compliance-ask", &desk.base, Script::On).await;
    b.run(async |b| {
        b.step("ask");
        b.sign_in("cora", PASSWORD).await?;
        b.goto("/compliance/ask").await?;
        b.fill(
            "form[data-ask-stream] input[name=q]",
            "How does EMIR define the execution timestamp?",
        )
        .await?;
        b.click("form[data-ask-stream] button[type=submit]").await?;
        // The EMIR field's provision streams in first, quoted and cited, while the model is
        // still reading its prompt; then the rendered answer replaces the streamed text, its
        // citations linked to their provisions (the fixture model on a busy CI machine: allow
        // it its time).
        let live = b
            .wait_text("#ask-result", |t| t.contains("[1]"), WAIT)
            .await?;
        ensure!(
            live.contains("EU EMIR Refit (ESMA)") && live.contains("Execution Timestamp"),
            "{live}"
        );
        b.wait_for("#rule-answer", std::time::Duration::from_secs(180))
            .await?;
        let answer = b.text_of("#rule-answer").await?;
        ensure!(answer.contains("Execution Timestamp"), "{answer}");
        let link = b
            .prop_of("#rule-answer ol a", "href")
            .await?
            .unwrap_or_default();
        ensure!(link.contains("/compliance/provisions/drr:"), "{link}");
        let here = b.path().await?;
        ensure!(here.starts_with("/compliance/ask?q="), "{here}");
        b.page_shot("compliance-ask").await?;
        Ok(())
    })
    .await;
    desk.stop().await;
}
