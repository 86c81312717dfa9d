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
fn session(api: &Api, role: Role) -> (String, String) {
    let a = &api.state.assistant;
    let name = format!("{}1", role.as_str());
    a.set_password(&Actor::system(), &name, "knowledge page password")
        .unwrap();
    let s = a
        .sign_in(&name, "knowledge page password", "test", "test", None)
        .unwrap();
    (format!("dm_session={}", s.secret), s.session.csrf)
}

async fn page(api: &Api, cookie: &str, path: &str) -> (StatusCode, String) {
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
