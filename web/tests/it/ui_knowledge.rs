//! The knowledge pages (issue #17) with the fixture models: a legal user uploads a real law
//! through the page form, reads its chunks, searches with every score shown, asks and follows
//! the citations to the chunks they cite; an upload without the form token stores nothing.

use super::documents::{Api, api};
use assistant::store::Actor;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use policies::Role;
use tower::ServiceExt;

const LAW: &str = "/../../shared/data/regulation-zh/经济法/期货和衍生品法(2022-04-20).md";

/// (cookie, form token) of `role`'s user, signed in with a password.
pub(crate) fn session(api: &Api, role: Role) -> (String, String) {
    let a = &api.state.assistant;
    let name = format!("{}1", role.as_str());
    a.set_password(&Actor::system(), &name, "knowledge page password")
        .unwrap();
    let s = a
        .sign_in(&name, "knowledge page password", "test", "test", None)
        .unwrap();
    (format!("dm_session={}", s.secret), s.session.csrf)
}

pub(crate) async fn page(api: &Api, cookie: &str, path: &str) -> (StatusCode, String) {
    let req = Request::builder()
        .uri(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let resp = web::app(api.state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "deskmate-test-boundary";
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: text/markdown\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_upload(
    api: &Api,
    cookie: &str,
    ct: &str,
    body: Vec<u8>,
) -> (StatusCode, String, String) {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/knowledge/upload")
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, ct)
        .body(Body::from(body))
        .unwrap();
    let resp = web::app(api.state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let location = resp
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        location,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// Every `href="/knowledge/documents/{id}#{chunk}"` in `html`.
fn chunk_links(html: &str) -> Vec<(String, String)> {
    html.split("href=\"/knowledge/documents/")
        .skip(1)
        .filter_map(|s| {
            let link = s.split('"').next()?;
            // The fragment is the chunk id, percent-encoded (it holds a `#`).
            let (doc, chunk) = link.split_once('#')?;
            assert!(!chunk.contains('#'), "an unencoded `#` in {link}");
            let chunk = chunk.replace("%23", "#").replace("%40", "@");
            Some((doc.to_string(), chunk))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_law_uploaded_on_the_page_is_searched_asked_and_cited_to_its_chunks() {
    let api = api();
    let law = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/regulation-zh/经济法/期货和衍生品法(2022-04-20).md"
    ))
    .unwrap_or_else(|e| panic!("{LAW}: {e}"));
    let (cookie, csrf) = session(&api, Role::Legal);
    let jobs_before = api
        .state
        .assistant
        .list_jobs(&Actor::system(), 100)
        .unwrap()
        .len();

    // Without the form token (or with it after the file): refused, nothing queued.
    for parts in [
        vec![
            ("file", Some("law.md"), law.as_slice()),
            ("collection", None, b"regulation-zh".as_slice()),
        ],
        vec![
            ("file", Some("law.md"), law.as_slice()),
            ("csrf", None, csrf.as_bytes()),
        ],
        vec![
            ("csrf", None, b"forged".as_slice()),
            ("file", Some("law.md"), law.as_slice()),
        ],
    ] {
        let (ct, body) = multipart(&parts);
        let (s, _, html) = post_upload(&api, &cookie, &ct, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{html}");
    }
    assert_eq!(
        api.state
            .assistant
            .list_jobs(&Actor::system(), 100)
            .unwrap()
            .len(),
        jobs_before
    );

    // The real upload.
    let (ct, body) = multipart(&[
        ("csrf", None, csrf.as_bytes()),
        (
            "file",
            Some("期货和衍生品法(2022-04-20).md"),
            law.as_slice(),
        ),
        ("collection", None, b"regulation-zh"),
        ("classification", None, b"general"),
    ]);
    let (s, location, html) = post_upload(&api, &cookie, &ct, body).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{html}");
    let job_id = location
        .strip_prefix("/knowledge?job=")
        .expect("back to the list with the job");
    let job = api.wait_job(job_id, Role::Legal).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let doc_id = job["result"]["documents"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let (s, html) = page(&api, &cookie, &location).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("期货和衍生品法") && html.contains("succeeded"),
        "{html}"
    );
    let (s, doc_page) = page(&api, &cookie, &format!("/knowledge/documents/{doc_id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc_page.contains("第二十一条"));

    // Search shows the scores and links to chunks that exist on the document's page.
    let (s, html) = page(&api, &cookie, "/knowledge/search?q=%E7%AC%AC%E4%BA%8C%E5%8D%81%E4%B8%80%E6%9D%A1%20%E8%A1%8D%E7%94%9F%E5%93%81").await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains(">BM25<") && html.contains(">Dense<") && html.contains(">Fused<"));
    let links = chunk_links(&html);
    assert!(!links.is_empty(), "no hits: {html}");
    for (doc, chunk) in &links {
        assert_eq!(doc, &doc_id);
        assert!(
            doc_page.contains(&format!("id=\"{chunk}\"")),
            "{chunk} is not on the document page"
        );
    }

    // Ask: a labelled machine-generated answer, or "not found"; any citation leads to its chunk.
    let q = "%E6%9C%9F%E8%B4%A7%E5%92%8C%E8%A1%8D%E7%94%9F%E5%93%81%E6%B3%95%E7%AC%AC%E4%BA%8C%E5%8D%81%E4%B8%80%E6%9D%A1%E8%AF%B4%E4%BA%86%E4%BB%80%E4%B9%88%EF%BC%9F";
    let (s, html) = page(&api, &cookie, &format!("/knowledge/ask?q={q}")).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("Machine-generated"));
    let cited = chunk_links(&html);
    assert!(
        !cited.is_empty() || html.contains("Not found in the documents you can access"),
        "{html}"
    );
    for (doc, chunk) in &cited {
        let (s, target) = page(&api, &cookie, &format!("/knowledge/documents/{doc}")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            target.contains(&format!("id=\"{chunk}\"")),
            "citation {chunk} has no chunk"
        );
    }
    eprintln!("knowledge page: ask cited {} chunk(s)", cited.len());

    // A client may not open the knowledge pages; a trader reads but has no upload form.
    let (client, _) = session(&api, Role::Client);
    assert_eq!(
        page(&api, &client, "/knowledge").await.0,
        StatusCode::FORBIDDEN
    );
    let (trader, _) = session(&api, Role::Trader);
    let (s, html) = page(&api, &trader, "/knowledge").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("期货和衍生品法") && !html.contains("/knowledge/upload"));
}

/// A generated test text (not a real regulation): two articles that the chunker keeps as
/// units, the second holding two provisions for the split.
const RULES: &str = "DESK RULES (generated test text)\n\n\
Article 1\nMargin calls are made at 10:00 each business day and must be met by 16:00 the same day.\n\n\
Article 2\nQuotes are valid for two minutes. Trades above the client limit need a second trader's approval.\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_corrected_or_split_reindexes_its_document_only_and_is_audited() {
    let api = api();
    let a = &api.state.assistant;
    let k = a.knowledge().unwrap();
    let legal = Actor {
        user: "legal1".into(),
        role: Some(Role::Legal),
        request_id: None,
    };
    let ingest = |name: &str, text: &str| {
        a.ingest_document(
            &k,
            &legal,
            assistant::documents::NewDocument::new(
                name,
                text.as_bytes().to_vec(),
                "desk",
                policies::DataClass::GENERAL,
            ),
        )
        .unwrap()
    };
    let doc = ingest("rules.md", RULES);
    let other = ingest(
        "other.md",
        "OTHER RULES (generated test text)\n\nArticle 1\nNothing here.\n",
    );
    let (s, v) = api
        .json(
            Method::GET,
            &format!("/v1/documents/{}/chunks", doc.id),
            Role::Trader,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let chunks = v["chunks"].as_array().unwrap().clone();
    let art2 = chunks
        .iter()
        .find(|c| {
            c["text"]
                .as_str()
                .unwrap()
                .contains("valid for two minutes")
        })
        .unwrap_or_else(|| panic!("{v}"));
    let ordinal = art2["ordinal"].as_u64().unwrap();

    // The API: who may, what is refused, and nothing changes when refused.
    let body = |version: u64, edit: serde_json::Value, reason: &str| {
        Some(serde_json::json!({"version": version, "edit": edit, "reason": reason}))
    };
    let path = format!("/v1/documents/{}/chunks", doc.id);
    let fix = serde_json::json!({"action": "correct", "ordinal": ordinal,
        "text": art2["text"].as_str().unwrap().replace("two minutes", "three minutes")});
    for (role, version, edit, reason, want) in [
        (
            Role::Trader,
            doc.version,
            fix.clone(),
            "typo",
            StatusCode::FORBIDDEN,
        ),
        (
            Role::Client,
            doc.version,
            fix.clone(),
            "typo",
            StatusCode::FORBIDDEN,
        ),
        (
            Role::Legal,
            doc.version,
            fix.clone(),
            " ",
            StatusCode::BAD_REQUEST,
        ),
        (
            Role::Legal,
            doc.version + 1,
            fix.clone(),
            "typo",
            StatusCode::CONFLICT,
        ),
        (
            Role::Legal,
            doc.version,
            serde_json::json!({"action": "split", "ordinal": ordinal, "before": "not in it"}),
            "two provisions",
            StatusCode::BAD_REQUEST,
        ),
        (
            Role::Legal,
            doc.version,
            serde_json::json!({"action": "merge", "ordinal": ordinal}),
            "x",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, v) = api
            .json(Method::POST, &path, role, body(version, edit, reason))
            .await;
        assert_eq!(s, want, "{role:?}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{v}"
        );
    }
    assert_eq!(
        a.document(&Actor::system(), &doc.id).unwrap().version,
        doc.version
    );

    // A correction through the API: the new text is searched, the version moved on.
    let (s, v) = api
        .json(
            Method::POST,
            &path,
            Role::Legal,
            body(doc.version, fix, "the desk rule says three"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["document"]["version"], doc.version + 1);
    let (s, v) = api
        .json(
            Method::POST,
            "/v1/search",
            Role::Legal,
            Some(serde_json::json!({"query": "quotes valid for three minutes", "k": 3})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["hits"][0]["text"]
            .as_str()
            .unwrap()
            .contains("three minutes"),
        "{v}"
    );

    // A split on the page: two chunks, the flash and the anchor of the new version's chunk.
    let (cookie, csrf) = session(&api, Role::Legal);
    let version = (doc.version + 1).to_string();
    let ord = ordinal.to_string();
    let resp = web::app(api.state.clone())
        .oneshot(super::ui::form_req(
            &format!("/knowledge/documents/{}/chunks", doc.id),
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("action", "split"),
                ("ordinal", &ord),
                ("version", &version),
                ("before", "Trades above the client limit"),
                ("reason", "two provisions in one chunk"),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let location = resp.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    let v3 = doc.version + 2;
    assert!(
        location.ends_with(&format!("?revised={v3}#{}%40v{v3}%23{ordinal}", doc.id)),
        "{location}"
    );
    let (s, html) = page(&api, &cookie, location.split('#').next().unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("now version") && html.contains("Correct or split"),
        "{html}"
    );
    let (_, v) = api
        .json(
            Method::GET,
            &format!("/v1/documents/{}/chunks", doc.id),
            Role::Legal,
            None,
        )
        .await;
    let texts: Vec<&str> = v["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), chunks.len() + 1, "{texts:?}");
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("Trades above the client limit")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("three minutes.") && !t.contains("Trades")),
        "{texts:?}"
    );
    // A form without the token changes nothing.
    let resp = web::app(api.state.clone())
        .oneshot(super::ui::form_req(
            &format!("/knowledge/documents/{}/chunks", doc.id),
            Some(&cookie),
            &[
                ("action", "correct"),
                ("ordinal", "0"),
                ("version", "3"),
                ("text", "x"),
                ("reason", "x"),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // The other document was not re-indexed; both edits are in the audit log with the reason.
    assert_eq!(
        a.document(&Actor::system(), &other.id).unwrap().version,
        other.version
    );
    let audit: Vec<_> = a
        .store()
        .audit_entries(1, None, None, 100_000)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "document.chunk_revise")
        .collect();
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert!(
        audit
            .iter()
            .all(|e| e.actor == "legal1" && e.object_id == doc.id)
    );
    let details: Vec<String> = audit.iter().map(|e| e.details.to_string()).collect();
    assert!(details[0].contains("the desk rule says three") && details[0].contains("correct"));
    assert!(details[1].contains("two provisions in one chunk") && details[1].contains("split"));
}
