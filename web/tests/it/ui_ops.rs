//! The Operations pages (issue #17) through `app()` with session cookies: an ops user uploads
//! a text PDF and a scan of the real IRS letter confirmation (`shared/data/confirmations/
//! irs-letter/`, rendered to PDF and scanned by `extraction::synth`: the shared data holds the
//! letter's text, not a PDF of it), follows the job, reviews each file against its page
//! images with an evidence box per field, corrects a field with a reason, is refused the
//! approval of their own upload (four-eyes), and a second ops user approves and exports.
//! Hostile cases: uploads without or with a wrong form token (nothing stored), a hostile file
//! name, roles without the permission, a clearance below the document's, an oversize upload,
//! a file of the wrong type, and a missing page renderer.

use super::api::{Api, api_with};
use super::ui::{
    Browser, Page, assert_error_page, audit_actions, get_req, multipart_req, raw, set_password,
    sign_in, user,
};
use assistant::extraction_review::ExtractionView;
use assistant::jobs::JobState;
use assistant::store::{Actor, StoreError};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use extraction::synth::{self, Degrade};
use policies::Role;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// The real IRS letter confirmation's text.
fn irs_letter() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/confirmations/irs-letter/interest-rate-swap-sample.md"
    ))
    .expect("shared/data/confirmations/irs-letter (see shared/data/MANIFEST.md)")
}

/// Whether poppler and Tesseract's English data are installed; under `DESKMATE_REQUIRE_ALL`
/// (CI) their absence fails the test instead of skipping it.
fn ocr_available() -> bool {
    let pdftoppm = std::process::Command::new("pdftoppm")
        .arg("-v")
        .output()
        .is_ok();
    let tess = [
        "/usr/share/tesseract-ocr/5/tessdata/eng.traineddata",
        "/usr/share/tesseract-ocr/4.00/tessdata/eng.traineddata",
    ]
    .iter()
    .any(|p| Path::new(p).is_file());
    if !(pdftoppm && tess) {
        let why = "pdftoppm or Tesseract's eng data is not installed (./x up installs them)";
        assert!(std::env::var_os("DESKMATE_REQUIRE_ALL").is_none(), "{why}");
        eprintln!("skipped: {why}");
        return false;
    }
    true
}

fn ops_api(f: impl FnOnce(&mut assistant::config::Config)) -> Api {
    let a = api_with(f);
    for role in Role::ALL {
        set_password(&a, &user(role));
    }
    a.state
        .assistant
        .create_user(&Actor::system(), "ops2", Role::Ops)
        .unwrap();
    set_password(&a, "ops2");
    a
}

fn post_form(path: &str, b: &Browser, form: &[(&str, &str)]) -> Request<Body> {
    let mut all = vec![("csrf", b.csrf.as_str())];
    all.extend_from_slice(form);
    super::ui::form_req(path, Some(&b.cookie), &all)
}

/// Uploads `files` as `b` with its form token first; returns the job id.
async fn upload(a: &Api, b: &Browser, files: &[(&str, &[u8])]) -> String {
    let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![("csrf", None, b.csrf.as_bytes())];
    parts.extend(files.iter().map(|(n, bytes)| ("file", Some(*n), *bytes)));
    let p = raw(a, multipart_req("/extractions", &b.cookie, &parts)).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let to = p.headers[header::LOCATION].to_str().unwrap();
    to.strip_prefix("/extractions/").unwrap().to_owned()
}

/// Waits for job `id` to finish, watching its page: the file table refreshes itself
/// (`data-refresh`) exactly while the job runs.
async fn wait_job(a: &Api, b: &Browser, id: &str) -> ExtractionView {
    let start = Instant::now();
    loop {
        let p = raw(a, get_req(&format!("/extractions/{id}"), Some(&b.cookie))).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        let view = a.state.assistant.extraction(&Actor::system(), id).unwrap();
        let running = matches!(view.state, JobState::Queued | JobState::Running);
        if !running {
            // A page rendered after the job finished stops refreshing.
            let p = raw(a, get_req(&format!("/extractions/{id}"), Some(&b.cookie))).await;
            assert!(!p.body.contains("data-refresh"), "{}", p.body);
            return view;
        }
        assert!(
            start.elapsed() < Duration::from_secs(900),
            "job {id} still {:?}",
            view.state
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The current payload of the approval of file `index` of job `id`.
fn payload(a: &Api, id: &str, index: usize) -> (String, u32, Value) {
    let view = a.state.assistant.extraction(&Actor::system(), id).unwrap();
    let aid = view.files[index].approval_id.clone().expect("an approval");
    let ap = a
        .state
        .assistant
        .get_approval(&Actor::system(), &aid)
        .unwrap();
    (aid, ap.version, ap.payload)
}

async fn get(a: &Api, path: &str, b: &Browser) -> Page {
    raw(a, get_req(path, Some(&b.cookie))).await
}

/// Every field with boxed evidence has its box group (`id="box-…"`) with rectangles on the
/// review page, and each field row links to it.
fn assert_boxes(body: &str, payload: &Value) -> usize {
    let mut boxed = 0;
    for f in payload["fields"].as_array().unwrap() {
        let field = f["field"].as_str().unwrap();
        let has_box = f["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["boxes"].as_array().is_some_and(|b| !b.is_empty()));
        assert!(
            body.contains(&format!("id=\"f-{field}\"")),
            "row of {field}"
        );
        if has_box {
            boxed += 1;
            let at = body
                .find(&format!("id=\"box-{field}\""))
                .unwrap_or_else(|| panic!("no evidence box for {field}"));
            let group = &body[at..body[at..].find("</g>").unwrap() + at];
            assert!(group.contains("<rect x=\""), "{field}: {group}");
            assert!(body.contains(&format!("href=\"#box-{field}\"")), "{field}");
        }
    }
    let rects = body.matches("<rect ").count();
    assert!(rects >= boxed, "{rects} rects for {boxed} boxed fields");
    boxed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_review_correct_and_a_second_ops_user_approves_and_exports() {
    if !ocr_available() {
        return;
    }
    let a = ops_api(|_| {});
    let ops1 = sign_in(&a, "ops1").await;
    let ops2 = sign_in(&a, "ops2").await;

    // The page: an upload form (multipart, several files) behind the navigation entry.
    let p = get(&a, "/extractions", &ops1).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    for needle in [
        "enctype=\"multipart/form-data\"",
        "type=\"file\"",
        "multiple",
        "href=\"/extractions\"",
    ] {
        assert!(p.body.contains(needle), "{needle}");
    }
    let text = irs_letter();
    let pdf = synth::text_pdf(&text);
    let scan = synth::scan(&pdf, Degrade::CLEAN, Path::new("pdftoppm")).unwrap();
    let id = upload(
        &a,
        &ops1,
        &[("irs-letter.pdf", &pdf), ("irs-letter-scan.pdf", &scan)],
    )
    .await;
    let view = wait_job(&a, &ops1, &id).await;
    assert_eq!(view.state, JobState::Succeeded, "{view:?}");
    let job_page = get(&a, &format!("/extractions/{id}"), &ops1).await;
    for (i, f) in view.files.iter().enumerate() {
        assert!(f.status.as_str() != "queued");
        assert!(
            job_page
                .body
                .contains(&format!("href=\"/extractions/{id}/files/{i}\"")),
            "{}",
            job_page.body
        );
        assert!(f.approval_id.is_some(), "{i}: {:?}", f.result["error"]);
    }
    // The list shows the job, and the second user sees the reviews waiting.
    let p = get(&a, "/extractions", &ops1).await;
    assert!(p.body.contains(&id));
    let p = get(&a, "/extractions", &ops2).await;
    assert!(
        p.body.contains(&format!("/extractions/{id}/files/0")),
        "{}",
        p.body
    );

    // The review of each file: page images with a box per field with evidence.
    for (index, unit_check) in [(0usize, "text layer"), (1, "ocr")] {
        let (_, _, pl) = payload(&a, &id, index);
        let geometry = pl["page_geometry"].as_array().unwrap();
        assert_eq!(geometry.len() as u64, pl["pages"].as_u64().unwrap(), "{pl}");
        let p = get(&a, &format!("/extractions/{id}/files/{index}"), &ops1).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        assert!(
            !p.body.contains("style="),
            "inline style is blocked by the CSP"
        );
        let boxed = assert_boxes(&p.body, &pl);
        assert!(boxed >= 5, "{unit_check}: {boxed} fields with boxes");
        let g0 = &geometry[0];
        let vb = format!(
            "viewBox=\"0 0 {} {}\"",
            g0["width"].as_f64().unwrap(),
            g0["height"].as_f64().unwrap()
        );
        assert!(p.body.contains(&vb), "{unit_check}: {vb}");
        if index == 0 {
            // Text layer: PDF points of a Letter page.
            assert_eq!(g0["method"], "text_layer");
            assert_eq!(g0["width"].as_f64().unwrap(), 612.0);
        } else {
            // OCR: pixels of the page rendered at the OCR resolution.
            assert_eq!(g0["method"], "ocr");
            assert!(g0["width"].as_f64().unwrap() > 2000.0, "{g0}");
            assert!(p.body.contains("OCR"));
        }
        // Each page image is a PNG, rendered once and then served from the disk cache.
        let img = raw(
            &a,
            get_req(
                &format!("/extractions/{id}/files/{index}/pages/1"),
                Some(&ops1.cookie),
            ),
        )
        .await;
        assert_eq!(img.status, StatusCode::OK);
        assert_eq!(img.headers[header::CONTENT_TYPE], "image/png");
        let (_, _, png) = fetch(
            &a,
            get_req(
                &format!("/extractions/{id}/files/{index}/pages/1"),
                Some(&ops1.cookie),
            ),
        )
        .await;
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        let past = raw(
            &a,
            get_req(
                &format!("/extractions/{id}/files/{index}/pages/99"),
                Some(&ops1.cookie),
            ),
        )
        .await;
        assert_error_page(&past, StatusCode::NOT_FOUND, "a page past the end");
    }
    let cache = a.state.assistant.store().data_dir().join("page-images");
    assert_eq!(
        std::fs::read_dir(&cache)
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".png"))
            .count(),
        2
    );

    // A correction with a reason lands as an audited approval edit.
    let (aid, version, before) = payload(&a, &id, 0);
    assert_eq!(
        before["key_terms"]["trade_date"], "2005-06-23",
        "{}",
        before["key_terms"]
    );
    let base = format!("/extractions/{id}/files/0");
    let no_reason = raw(
        &a,
        post_form(
            &format!("{base}/corrections"),
            &ops1,
            &[
                ("field", "trade_date"),
                ("value", "2005-06-24"),
                ("reason", " "),
            ],
        ),
    )
    .await;
    assert_error_page(
        &no_reason,
        StatusCode::BAD_REQUEST,
        "a correction without a reason",
    );
    let edits_before = audit_actions(&a)
        .iter()
        .filter(|x| *x == "approval.edit")
        .count();
    let p = raw(
        &a,
        post_form(
            &format!("{base}/corrections"),
            &ops1,
            &[
                ("field", "trade_date"),
                ("value", "2005-06-24"),
                ("reason", "the counterparty's copy says 24 June"),
            ],
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert!(
        audit_actions(&a)
            .iter()
            .filter(|x| *x == "approval.edit")
            .count()
            > edits_before
    );
    let (_, version2, after) = payload(&a, &id, 0);
    assert_eq!(version2, version + 1);
    assert_eq!(after["key_terms"]["trade_date"], "2005-06-24");
    // Numbers typed with separators become numbers.
    let p = raw(
        &a,
        post_form(
            &format!("{base}/corrections"),
            &ops1,
            &[
                ("field", "notional.amount"),
                ("value", "300,000,000"),
                ("reason", "confirmed against the term sheet"),
            ],
        ),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let (_, version3, after) = payload(&a, &id, 0);
    assert_eq!(after["key_terms"]["notional"]["amount"], 300000000);
    let review = get(&a, &base, &ops1).await;
    assert!(
        review
            .body
            .contains("the counterparty&#39;s copy says 24 June")
            || review.body.contains("the counterparty's copy says 24 June")
    );
    assert!(review.body.contains("2005-06-24"));

    // The uploader cannot approve their own upload: the workflow's refusal, as a page.
    let v3 = version3.to_string();
    let p = raw(
        &a,
        post_form(&format!("{base}/approve"), &ops1, &[("version", &v3)]),
    )
    .await;
    assert_error_page(&p, StatusCode::FORBIDDEN, "the maker approving");
    assert!(
        p.body.to_lowercase().contains("four-eyes") || p.body.contains("maker"),
        "{}",
        p.body
    );
    assert_eq!(
        a.state
            .assistant
            .get_approval(&Actor::system(), &aid)
            .unwrap()
            .state
            .as_str(),
        "pending"
    );
    // Exports wait for the approval.
    let p = get(&a, &format!("{base}/export/key-terms"), &ops2).await;
    assert_error_page(&p, StatusCode::CONFLICT, "an export before approval");

    // A second ops user approves.
    let p = raw(
        &a,
        post_form(&format!("{base}/approve"), &ops2, &[("version", &v3)]),
    )
    .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let review = get(&a, &base, &ops2).await;
    assert!(review.body.contains(&format!("{base}/export/cdm")));
    assert!(review.body.contains(&format!("{base}/export/key-terms")));

    // The exports download as JSON with the session cookie; the key terms hold the correction.
    let resp = fetch(
        &a,
        get_req(&format!("{base}/export/key-terms"), Some(&ops2.cookie)),
    )
    .await;
    assert_eq!(resp.0, StatusCode::OK);
    assert_eq!(resp.1[header::CONTENT_TYPE], "application/json");
    assert!(
        resp.1[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"irs-letter.key-terms.json\"")
    );
    let kt: Value = serde_json::from_slice(&resp.2).unwrap();
    assert_eq!(kt["trade_date"], "2005-06-24");
    assert_eq!(kt["party_a"], "Deutsche Bank");
    let resp = fetch(
        &a,
        get_req(&format!("{base}/export/cdm"), Some(&ops2.cookie)),
    )
    .await;
    assert_eq!(
        resp.0,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&resp.2)
    );
    let cdm: Value = serde_json::from_slice(&resp.2).unwrap();
    assert!(cdm["trade"].is_object(), "{cdm}");
    assert!(audit_actions(&a).iter().any(|x| x == "extraction.export"));
}

/// Status, headers and raw bytes of a response (pages are text; images and downloads are
/// not).
async fn fetch(a: &Api, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let resp = a.app().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, bytes.to_vec())
}

const OPTION: &str = "EQUITY OPTION TRANSACTION CONFIRMATION
The Transaction entered into between Eastbank Securities Co., Ltd. (\"Party A\") and Harbour Fund Ltd (\"Party B\").
Trade Date: 27 February 2026
Option Style: European
Option Type: Call
Seller: Party A
Buyer: Party B
Shares: Ordinary shares of Tencent Holdings Limited (Bloomberg: 700 HK)
Number of Options: 100,000
Strike Price: HKD 420.00
Premium: HKD 2,350,000
Expiration Date: 26 February 2027
Settlement Method: Cash Settlement
";

fn stored_uploads(a: &Api) -> usize {
    std::fs::read_dir(a.state.assistant.store().data_dir().join("uploads"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn extraction_jobs(a: &Api) -> usize {
    a.state
        .assistant
        .list_jobs(&Actor::system(), 1000)
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_uploads_names_roles_and_clearance() {
    let a = ops_api(|c| c.server.max_upload_bytes = 256 * 1024);
    let ops1 = sign_in(&a, "ops1").await;
    let ops2 = sign_in(&a, "ops2").await;
    let admin = sign_in(&a, "admin1").await;
    let file: &[u8] = OPTION.as_bytes();

    // No form token, a wrong one, another session's, or one after the file: 403, nothing kept.
    for (what, parts) in [
        ("no token", vec![("file", Some("a.txt"), file)]),
        (
            "a wrong token",
            vec![
                ("csrf", None, b"forged".as_slice()),
                ("file", Some("a.txt"), file),
            ],
        ),
        (
            "another session's token",
            vec![
                ("csrf", None, admin.csrf.as_bytes()),
                ("file", Some("a.txt"), file),
            ],
        ),
        (
            "the token after the file",
            vec![
                ("file", Some("a.txt"), file),
                ("csrf", None, ops1.csrf.as_bytes()),
            ],
        ),
    ] {
        let p = raw(&a, multipart_req("/extractions", &ops1.cookie, &parts)).await;
        assert_error_page(&p, StatusCode::FORBIDDEN, what);
        assert_eq!(stored_uploads(&a), 0, "{what}");
        assert_eq!(extraction_jobs(&a), 0, "{what}");
    }
    // A plain form with the right token is the wrong kind of body.
    let p = raw(&a, post_form("/extractions", &ops1, &[])).await;
    assert_error_page(
        &p,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "a urlencoded upload",
    );
    // No file chosen.
    let p = raw(
        &a,
        multipart_req(
            "/extractions",
            &ops1.cookie,
            &[
                ("csrf", None, ops1.csrf.as_bytes()),
                ("file", Some(""), b""),
            ],
        ),
    )
    .await;
    assert_error_page(&p, StatusCode::BAD_REQUEST, "no file chosen");
    // Over the upload limit: 413, as a page.
    let big = vec![b'x'; 300 * 1024];
    let p = raw(
        &a,
        multipart_req(
            "/extractions",
            &ops1.cookie,
            &[
                ("csrf", None, ops1.csrf.as_bytes()),
                ("file", Some("big.txt"), &big),
            ],
        ),
    )
    .await;
    assert_error_page(&p, StatusCode::PAYLOAD_TOO_LARGE, "an oversize upload");
    assert_eq!(stored_uploads(&a), 0);

    // A hostile file name is shown escaped; a file of the wrong type gets a clear status.
    let hostile = "<script>alert(1)<script>.txt";
    let exe: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8\x00\x00\x00\x00\x00\x00\x00\x40\x00\x01\x02\x03";
    let id = upload(&a, &ops1, &[(hostile, file), ("tool.exe", exe)]).await;
    let view = wait_job(&a, &ops1, &id).await;
    assert_eq!(
        view.files[1].status.as_str(),
        "unsupported",
        "{:?}",
        view.files[1]
    );
    let escaped = "&lt;script&gt;alert(1)&lt;script&gt;.txt";
    for path in [
        "/extractions".to_owned(),
        format!("/extractions/{id}"),
        format!("/extractions/{id}/files/0"),
    ] {
        let p = get(&a, &path, &ops1).await;
        assert_eq!(p.status, StatusCode::OK, "{path}: {}", p.body);
        assert!(p.body.contains(escaped), "{path}: {}", p.body);
        assert!(!p.body.contains("<script>alert"), "{path}");
    }
    let p = get(&a, &format!("/extractions/{id}"), &ops1).await;
    let err = view.files[1].result["error"].as_str().unwrap();
    assert!(p.body.contains("unsupported"), "{}", p.body);
    assert!(!err.is_empty() && p.body.contains("tool.exe"));
    // A text file has no page image (and says so); an unsupported one has none either.
    let p = get(&a, &format!("/extractions/{id}/files/0/pages/1"), &ops1).await;
    assert_error_page(&p, StatusCode::NOT_FOUND, "a text file's page image");
    let p = get(&a, &format!("/extractions/{id}/files/1"), &ops1).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        !p.body.contains("/approve\""),
        "no decision on an unsupported file"
    );

    // Roles without the permission get 403 pages, on every Operations page.
    let pdf = synth::text_pdf(OPTION);
    let id2 = upload(&a, &ops1, &[("option.pdf", &pdf)]).await;
    wait_job(&a, &ops1, &id2).await;
    let review = format!("/extractions/{id2}/files/0");
    let image = format!("{review}/pages/1");
    for role in [
        Role::Trader,
        Role::Client,
        Role::Risk,
        Role::Legal,
        Role::ModelRisk,
    ] {
        let b = sign_in(&a, &user(role)).await;
        for path in [
            "/extractions".to_owned(),
            format!("/extractions/{id2}"),
            review.clone(),
            image.clone(),
        ] {
            let p = get(&a, &path, &b).await;
            assert_error_page(&p, StatusCode::FORBIDDEN, &format!("{role} GET {path}"));
        }
        let parts = [
            ("csrf", None, b.csrf.as_bytes()),
            ("file", Some("x.txt"), file),
        ];
        let p = raw(&a, multipart_req("/extractions", &b.cookie, &parts)).await;
        assert_error_page(&p, StatusCode::FORBIDDEN, &format!("{role} upload"));
        let p = raw(
            &a,
            post_form(&format!("{review}/approve"), &b, &[("version", "1")]),
        )
        .await;
        // Traders, legal and risk may decide approvals, but cannot read extractions: to them
        // the file does not exist.
        let expect = if role.allows(policies::Permission::ApprovalsDecide) {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::FORBIDDEN
        };
        assert_error_page(&p, expect, &format!("{role} approve"));
    }
    // Compliance reads (no upload form), and cannot upload.
    let compliance = sign_in(&a, &user(Role::Compliance)).await;
    let p = get(&a, "/extractions", &compliance).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(!p.body.contains("enctype=\"multipart/form-data\""));
    let p = get(&a, &image, &compliance).await;
    assert_eq!(p.status, StatusCode::OK);
    // Another ops user reads the review and its page image.
    let p = get(&a, &image, &ops2).await;
    assert_eq!(p.status, StatusCode::OK);

    // Above the reader's clearance: the document is classified core; ops (cleared to
    // important) no longer see its review or its page image, not even the uploader;
    // compliance (cleared to core) still does.
    let aid = a
        .state
        .assistant
        .extraction(&Actor::system(), &id2)
        .unwrap()
        .files[0]
        .approval_id
        .clone()
        .unwrap();
    a.state
        .assistant
        .store()
        .write(&Actor::system(), |tx| {
            tx.conn()
                .execute(
                    "UPDATE jobs SET classification = 'core' WHERE id = ?1",
                    [&id2],
                )
                .map_err(StoreError::from)?;
            tx.conn()
                .execute(
                    "UPDATE approvals SET classification = 'core' WHERE id = ?1",
                    [&aid],
                )
                .map_err(StoreError::from)?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
    for b in [&ops1, &ops2] {
        for path in [
            review.clone(),
            image.clone(),
            format!("{review}/export/cdm"),
        ] {
            let p = get(&a, &path, b).await;
            assert_error_page(
                &p,
                StatusCode::NOT_FOUND,
                &format!("above clearance: {path}"),
            );
        }
    }
    let p = get(&a, &image, &compliance).await;
    assert_eq!(p.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_renderer_is_a_clear_error_not_a_blank() {
    let a = ops_api(|c| c.extract.pdftoppm = "/nonexistent/pdftoppm".into());
    let ops1 = sign_in(&a, "ops1").await;
    // A text PDF is read from its text layer: no renderer is needed to extract it.
    let pdf = synth::text_pdf(OPTION);
    let id = upload(&a, &ops1, &[("option.pdf", &pdf)]).await;
    let view = wait_job(&a, &ops1, &id).await;
    assert!(view.files[0].approval_id.is_some(), "{:?}", view.files[0]);
    let p = get(&a, &format!("/extractions/{id}/files/0/pages/1"), &ops1).await;
    assert_error_page(&p, StatusCode::SERVICE_UNAVAILABLE, "no pdftoppm");
    assert!(p.body.contains("poppler-utils"), "{}", p.body);
    let p = get(&a, &format!("/extractions/{id}/files/0"), &ops1).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("role=\"alert\"") && p.body.contains("poppler-utils"));
}
