//! Knowledge in the browser (issue #17 item 6, scenario c): a legal user uploads a real law
//! (`shared/data/regulation-zh/`, the Futures and Derivatives Law of the PRC) through the
//! upload form, waits on the page for its ingestion, asks a question about one article, and
//! follows the answer's citation (or, when the fixture model's answer is "not found", the
//! evidence it was given) to the chunk on the document's page, which the browser scrolls to
//! and highlights.

use super::{Browser, Desk, PASSWORD, Script, Setup, Tools, WAIT};
use anyhow::{Context, ensure};
use std::path::Path;
use std::time::Duration;

const LAW: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/regulation-zh/经济法/期货和衍生品法(2022-04-20).md"
);

/// Chunking and embedding a whole law with the fixture embedder on two cores.
const INGEST_WAIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legal_user_uploads_a_law_asks_and_follows_the_citation_to_its_chunk() {
    let Some(tools) = Tools::find() else { return };
    let law = Path::new(LAW);
    assert!(law.is_file(), "{LAW} (see shared/data/MANIFEST.md)");
    let desk = Desk::start_with(Setup {
        knowledge: true,
        ..Setup::default()
    })
    .await;
    let b = Browser::open(&tools, "knowledge", &desk.base, Script::On).await;
    b.run(async |b| {
        b.step("upload");
        b.sign_in("lena", PASSWORD).await?;
        b.goto("/knowledge").await?;
        b.choose_files("#files", &[law]).await?;
        b.fill("#collection", "regulation").await?;
        b.click("form[action='/knowledge/upload'] button[type=submit]").await?;
        // The upload page itself has the list: wait for the redirect to the job first.
        b.wait_path("/knowledge?job=", WAIT).await?;
        b.wait_for("#knowledge-docs", WAIT).await?;

        // The page refreshes the job and the list until the law is in.
        b.step("ingest");
        b.wait_for("#knowledge-docs:not([data-refresh])", INGEST_WAIT).await?;
        let docs = b.text_of("#knowledge-docs").await?;
        ensure!(docs.contains("期货和衍生品法") && docs.contains("succeeded"), "{docs}");
        b.page_shot("knowledge").await?;

        b.step("ask");
        b.fill("#aq", "期货和衍生品法第二十一条规定了什么？").await?;
        b.click("form[action='/knowledge/ask'] button[type=submit]").await?;
        b.wait_for("p.machine", WAIT).await?;
        let answer = b.text_of("main section.card").await?;
        let cited = b
            .js("return document.querySelectorAll('main section.card > ol a[href^=\"/knowledge/documents/\"]').length;")
            .await?
            .as_u64()
            .unwrap_or(0);
        println!("knowledge ask in the browser: {cited} citation(s); answer: {answer}");
        b.page_shot("knowledge-ask").await?;
        let link = if cited > 0 {
            "main section.card > ol a[href^='/knowledge/documents/']"
        } else {
            ensure!(answer.contains("Not found in the documents you can access"), "{answer}");
            "details.evidence a[href^='/knowledge/documents/']"
        };
        let href = b
            .prop_of(link, "href")
            .await?
            .context("the link's target")?;
        // The fragment is the chunk id (`{doc}@v{version}#{ordinal}`), percent-encoded.
        let fragment = href.split_once('#').context("a chunk anchor")?.1;
        let chunk = fragment.replace("%23", "#").replace("%40", "@");

        b.step("follow");
        b.click(link).await?;
        let row = format!("tr[id='{chunk}']");
        ensure!(chunk.contains("@v") && chunk.contains('#'), "{chunk}");
        b.wait_for(&row, WAIT).await?;
        let hash = b.js("return decodeURIComponent(window.location.hash);").await?;
        ensure!(hash == format!("#{chunk}"), "{hash}");
        let text = b.text_of(&row).await?;
        ensure!(text.contains("第二十一条"), "the chunk followed: {text}");
        let highlighted = b
            .js(&format!(
                "return getComputedStyle(document.querySelector(\"tr[id='{chunk}']\")).backgroundColor;"
            ))
            .await?;
        ensure!(highlighted != "rgba(0, 0, 0, 0)", "the chunk is not highlighted: {highlighted}");
        b.page_shot("knowledge-document").await?;

        // The search playground shows each hit's lexical, dense and fused scores.
        b.step("search");
        b.goto("/knowledge").await?;
        b.fill("#sq", "第二十一条 交易").await?;
        b.click("form[action='/knowledge/search'] button[type=submit]").await?;
        b.wait_for("main table tbody tr", WAIT).await?;
        let hits = b.text_of("main table").await?;
        ensure!(hits.contains("BM25") && hits.contains("期货和衍生品法"), "{hits}");
        b.page_shot("knowledge-search").await?;
        Ok(())
    })
    .await;
    desk.stop().await;
}
