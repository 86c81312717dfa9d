//! Operations in the browser (issue #17 item 6, scenario a): the admin creates two ops users
//! on the users page; the first uploads a text PDF and a scan of a real confirmation, sees
//! each file's upload progress, follows the job until it is done, sees the evidence boxes on
//! the page image, jumps from a field to its evidence, corrects a field with a reason, and is
//! refused the approval of their own work; the second approves, and the key-terms export
//! holds the corrected value.
//!
//! The confirmation is the real IRS letter of `shared/data/confirmations/irs-letter/` (the
//! shared data holds its text, not a PDF of it): `extraction::synth` lays it out as a text PDF
//! and scans that (rendered, rasterised, re-wrapped as an image-only PDF). Both files are
//! generated test documents, written to a temporary directory.

use super::{Browser, Desk, PASSWORD, Script, Tools, WAIT};
use anyhow::{Context, ensure};
use extraction::synth::{self, Degrade};
use std::path::Path;
use std::time::Duration;

/// Extraction with OCR of a scanned page takes a while on two cores.
const JOB_WAIT: Duration = Duration::from_secs(180);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_ops_users_upload_review_correct_and_approve_with_four_eyes() {
    let Some(tools) = Tools::find() else { return };
    let letter = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/confirmations/irs-letter/interest-rate-swap-sample.md"
    ))
    .expect("shared/data/confirmations/irs-letter (see shared/data/MANIFEST.md)");
    let files = tempfile::tempdir().unwrap();
    let pdf = synth::text_pdf(&letter);
    let scan = synth::scan(&pdf, Degrade::CLEAN, Path::new("pdftoppm"))
        .expect("scanning the letter needs poppler-utils (pdftoppm): ./x test installs it");
    let pdf_path = files.path().join("irs-letter.pdf");
    let scan_path = files.path().join("irs-letter-scan.pdf");
    std::fs::write(&pdf_path, &pdf).unwrap();
    std::fs::write(&scan_path, &scan).unwrap();

    let desk = Desk::start().await;
    let b = Browser::open(&tools, "ops_review", &desk.base, Script::On).await;
    b.run(async |b| {
        // The admin creates the two ops users on the users page.
        b.step("create-users");
        b.sign_in("root", PASSWORD).await?;
        for name in ["olga", "oscar"] {
            b.goto("/admin/users").await?;
            b.fill("#new-name", name).await?;
            b.select("#new-role", "ops").await?;
            b.fill("#new-password", PASSWORD).await?;
            b.click("form[action='/admin/users'] button[type=submit]").await?;
            b.wait_for(".flash.ok", WAIT).await?;
            let users = b.text_of("main table").await?;
            ensure!(users.contains(name) && users.contains("ops"), "{users}");
        }
        b.sign_out().await?;

        // The first uploads both files; each file's bar follows its upload.
        b.step("upload");
        b.sign_in("olga", PASSWORD).await?;
        b.goto("/extractions").await?;
        b.page_shot("operations").await?;
        b.choose_files("#files", &[&pdf_path, &scan_path]).await?;
        let listed = b.text_of("ul.upload-list").await?;
        ensure!(
            listed.contains("irs-letter.pdf") && listed.contains("irs-letter-scan.pdf"),
            "{listed}"
        );
        b.click("form.upload button[type=submit]").await?;
        b.wait_for("#job-files", WAIT).await?;
        let job_path = b.path().await?;
        let job = job_path
            .strip_prefix("/extractions/")
            .context("the upload leads to the job's page")?
            .to_string();

        // The job's page refreshes itself until both files are done.
        b.step("job");
        b.wait_for("#job-files:not([data-refresh])", JOB_WAIT)
            .await?;
        let table = b.text_of("#job-files").await?;
        ensure!(table.contains("succeeded"), "{table}");
        b.page_shot("extraction-job").await?;

        // The text PDF's review: the page image with a box per field, and the field list.
        b.step("review-text");
        let review = format!("/extractions/{job}/files/0");
        b.click(&format!("a[href='{review}']")).await?;
        b.wait_for("figure.page img", WAIT).await?;
        let boxes = b.js("return document.querySelectorAll('figure.page g[data-field] rect').length;").await?;
        ensure!(boxes.as_u64().unwrap_or(0) >= 5, "{boxes} evidence boxes");
        let loaded = b
            .js("const i = document.querySelector('figure.page img'); return i.complete && i.naturalWidth;")
            .await?;
        ensure!(loaded.as_u64().unwrap_or(0) > 500, "the page image did not load: {loaded}");
        b.page_shot("extraction-review").await?;
        // A field jumps to its evidence box.
        b.click("a[href='#box-trade_date']").await?;
        ensure!(b.path().await? == review);
        let hash = b.js("return window.location.hash;").await?;
        ensure!(hash == "#box-trade_date", "{hash}");
        b.wait_for("#box-trade_date rect", WAIT).await?;

        // A correction with a reason.
        b.step("correct");
        b.click("tr#f-trade_date details > summary").await?;
        b.fill("#value-trade_date", "2005-06-24").await?;
        b.fill("#reason-trade_date", "the counterparty's copy says 24 June").await?;
        b.click("form:has(#value-trade_date) button[type=submit]").await?;
        b.wait_for(".flash.ok", WAIT).await?;
        let fields = b.text_of("tr#f-trade_date").await?;
        ensure!(fields.contains("2005-06-24"), "{fields}");
        ensure!(
            b.text_of("main").await?.contains("the counterparty's copy says 24 June"),
            "the reason is shown"
        );

        // The scan's review shows OCR boxes too.
        b.step("review-scan");
        b.goto(&format!("/extractions/{job}/files/1")).await?;
        b.wait_for("figure.page g[data-field] rect", WAIT).await?;
        ensure!(b.text_of("main").await?.contains("OCR"));

        // The uploader may not approve their own work.
        b.step("self-approve");
        b.goto(&review).await?;
        b.click("form[action$='/approve'] button[type=submit]").await?;
        b.wait_text("main h1", |h| h == "403 · You may not do this.", WAIT)
            .await?;
        let why = b.text_of("main").await?.to_lowercase();
        ensure!(why.contains("four-eyes") || why.contains("maker"), "{why}");
        // The error page leads back to the review it was sent from.
        b.click(&format!("main a[href='{review}']")).await?;
        b.wait_for("figure.page", WAIT).await?;
        b.sign_out().await?;

        // The second approves; the export holds the correction.
        b.step("second-approves");
        b.sign_in("oscar", PASSWORD).await?;
        b.goto("/extractions").await?;
        b.click(&format!("a[href='{review}']")).await?;
        b.wait_for("form[action$='/approve']", WAIT).await?;
        b.fill("#note", "checked against the signed copy").await?;
        b.click("form[action$='/approve'] button[type=submit]").await?;
        b.wait_for(&format!("a[href='{review}/export/key-terms']"), WAIT)
            .await?;
        b.step("export");
        let kt = b
            .js(&format!(
                "return fetch('{review}/export/key-terms').then(r => r.json());"
            ))
            .await?;
        ensure!(kt["trade_date"] == "2005-06-24", "{kt}");
        ensure!(kt["party_a"] == "Deutsche Bank", "{kt}");
        let cdm = b
            .js(&format!("return fetch('{review}/export/cdm').then(r => r.json());"))
            .await?;
        ensure!(cdm["trade"].is_object(), "{cdm}");

        // The audit log holds the correction and both decisions.
        let actions: Vec<String> = desk
            .state
            .assistant
            .store()
            .audit_entries(1, None, None, 100_000)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .into_iter()
            .map(|e| format!("{} {}", e.actor, e.action))
            .collect();
        for want in ["olga approval.edit", "oscar approval.approve"] {
            ensure!(actions.iter().any(|a| a == want), "no `{want}` in {actions:?}");
        }
        Ok(())
    })
    .await;
    desk.stop().await;
}
