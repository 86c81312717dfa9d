//! The remote backend's wire handling against a scripted loopback server that speaks the
//! OpenAI-compatible protocol (an external protocol, faked here only to test the client: the
//! end-to-end test against Deskmate's own `/v1` endpoints belongs with those endpoints).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use models::remote::{Prefixes, RemoteConfig, RemoteEmbedder, RemoteGenerator};
use models::{
    ChatRequest, EmbedKind, Embedder, FinishReason, Generator, ModelError, ResponseFormat,
};
use serde_json::{Value, json};

/// One scripted answer: status, extra headers, body.
type Reply = (u16, Vec<(&'static str, String)>, String);

/// The requests the server saw: head and JSON body.
type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// Serves the replies in order, one per connection; records each request's head and body.
fn server(replies: Vec<Reply>) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for (status, headers, body) in replies {
            let Ok((mut conn, _)) = listener.accept() else {
                return;
            };
            let mut r = BufReader::new(conn.try_clone().unwrap());
            let mut head = String::new();
            let mut len = 0;
            loop {
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                head.push_str(&line);
            }
            let mut buf = vec![0; len];
            r.read_exact(&mut buf).unwrap();
            log.lock()
                .unwrap()
                .push((head, serde_json::from_slice(&buf).unwrap_or(Value::Null)));
            let mut resp = format!(
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                resp.push_str(&format!("{k}: {v}\r\n"));
            }
            resp.push_str("\r\n");
            resp.push_str(&body);
            let _ = conn.write_all(resp.as_bytes());
        }
    });
    (url, seen)
}

fn sse(deltas: &[&str], finish: &str) -> String {
    let mut s = String::new();
    for d in deltas {
        let ev = json!({"choices": [{"index": 0, "delta": {"content": d}, "finish_reason": null}]});
        s.push_str(&format!("data: {ev}\n\n"));
    }
    let ev = json!({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]});
    s.push_str(&format!("data: {ev}\n\n"));
    let ev =
        json!({"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": deltas.len()}});
    s.push_str(&format!("data: {ev}\n\ndata: [DONE]\n\n"));
    s
}

fn config(url: &str) -> RemoteConfig {
    let mut c = RemoteConfig::new(url, "big-model");
    c.api_key = Some("sk-test".into());
    c.backoff = Duration::from_millis(10);
    c.timeout = Duration::from_secs(5);
    c
}

#[test]
fn streams_deltas_retries_5xx_and_reports_usage() {
    let (url, seen) = server(vec![
        (
            503,
            vec![("retry-after", "0".into())],
            "{\"error\":{\"message\":\"overloaded\"}}".into(),
        ),
        (
            200,
            vec![("content-type", "text/event-stream".into())],
            sse(&["Hel", "lo", " 世界"], "stop"),
        ),
    ]);
    let g = RemoteGenerator::new(config(&url)).unwrap();
    let mut req = ChatRequest::user("hi");
    req.stop = vec!["END".into()];
    let mut got = Vec::new();
    let resp = g
        .chat_stream(&req, &mut |d| {
            got.push(d.to_string());
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(got, ["Hel", "lo", " 世界"]);
    assert_eq!(resp.text, "Hello 世界");
    assert_eq!(resp.finish_reason, FinishReason::Stop);
    assert_eq!(resp.usage.prompt_tokens, 12);
    assert_eq!(resp.usage.completion_tokens, 3);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "the 503 was retried once");
    let (head, body) = &seen[1];
    assert!(head.starts_with("POST /v1/chat/completions"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("authorization: bearer sk-test")
    );
    assert_eq!(body["model"], "big-model");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stop"], json!(["END"]));
    assert_eq!(
        body["messages"][0],
        json!({"role": "user", "content": "hi"})
    );
}

#[test]
fn client_errors_are_not_retried_and_name_the_server() {
    let (url, seen) = server(vec![(
        400,
        vec![],
        "{\"error\":{\"message\":\"max_tokens too large\"}}".into(),
    )]);
    let g = RemoteGenerator::new(config(&url)).unwrap();
    let err = g.chat(&ChatRequest::user("hi")).unwrap_err();
    match &err {
        ModelError::Remote {
            status,
            reason,
            url: u,
        } => {
            assert_eq!(*status, Some(400));
            assert_eq!(reason, "max_tokens too large");
            assert!(u.ends_with("/v1/chat/completions"));
        }
        other => panic!("{other}"),
    }
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[test]
fn json_schema_is_sent_and_the_answer_validated() {
    let schema =
        json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]});
    let (url, seen) = server(vec![
        (200, vec![], sse(&["{\"n\":", " 3}"], "stop")),
        (200, vec![], sse(&["{\"n\":", " \"x\"}"], "stop")),
    ]);
    let g = RemoteGenerator::new(config(&url)).unwrap();
    let mut req = ChatRequest::user("count");
    req.response_format = ResponseFormat::JsonSchema(schema.clone());
    let resp = g.chat(&req).unwrap();
    assert_eq!(resp.json, Some(json!({"n": 3})));
    assert_eq!(
        seen.lock().unwrap()[0].1["response_format"]["json_schema"]["schema"],
        schema
    );
    // A server that ignores the schema is caught by our own validation.
    let err = g.chat(&req).unwrap_err().to_string();
    assert!(err.contains("breaks the schema"), "{err}");
    // An unsupported schema is refused before any request.
    req.response_format = ResponseFormat::JsonSchema(json!({"type": "string", "pattern": "x"}));
    assert!(matches!(g.chat(&req), Err(ModelError::Schema(_))));
}

#[test]
fn unreachable_server_fails_after_retries() {
    // Bind then drop: nothing listens on this port.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut c = config(&format!("http://127.0.0.1:{port}/v1"));
    c.retries = 1;
    let g = RemoteGenerator::new(c).unwrap();
    let err = g.chat(&ChatRequest::user("hi")).unwrap_err();
    assert!(
        matches!(err, ModelError::Remote { status: None, .. }),
        "{err}"
    );
}

#[test]
fn embeddings_are_prefixed_ordered_and_normalised() {
    let body = json!({"data": [
        {"index": 1, "embedding": [0.0, 2.0]},
        {"index": 0, "embedding": [3.0, 4.0]}
    ]});
    let (url, seen) = server(vec![(200, vec![], body.to_string())]);
    let e = RemoteEmbedder::new(
        config(&url),
        2,
        512,
        Prefixes {
            query: "query: ".into(),
            passage: "passage: ".into(),
        },
    )
    .unwrap();
    let out = e.embed(&["a", "b"], EmbedKind::Query).unwrap();
    assert_eq!(out.vectors, vec![vec![0.6, 0.8], vec![0.0, 1.0]]);
    let seen = seen.lock().unwrap();
    assert!(seen[0].0.starts_with("POST /v1/embeddings"));
    assert_eq!(seen[0].1["input"], json!(["query: a", "query: b"]));
}

/// A registry with the remote generator added, under the standard policy with one client name.
fn registry_with(g: RemoteGenerator) -> (tempfile::TempDir, models::Models) {
    let dir = tempfile::tempdir().unwrap();
    let m = models::Models::new(
        models::store::ModelStore::new(dir.path()),
        models::GeneratorOptions::default(),
    );
    m.set_prompt_policy(policies::redact::PromptPolicy::standard(vec![
        "华泰资管".into(),
    ]));
    m.add_generator(std::sync::Arc::new(g));
    (dir, m)
}

#[test]
fn personal_data_never_reaches_the_server_and_comes_back_restored() {
    // The server answers with the placeholders it was sent, one split across two deltas.
    let (url, seen) = server(vec![(
        200,
        vec![],
        sse(
            &["已通知 ⟦NA", "ME_1⟧（⟦PHONE_1⟧）与 ⟦CLIENT_1⟧", "。"],
            "stop",
        ),
    )]);
    let (_dir, m) = registry_with(RemoteGenerator::new(config(&url)).unwrap());
    let g = m.generator("big-model").unwrap();
    let mut req = ChatRequest::new(vec![
        models::Message::system("You are the desk's assistant."),
        models::Message::user(
            "华泰资管的联系人：王小明，手机 138 1234 5678，身份证 11010519491231002X，\
             邮箱 wang.xm@example.com，请回复。",
        ),
    ]);
    req.max_tokens = 64;
    let mut deltas = Vec::new();
    let resp = g
        .chat_stream(&req, &mut |d| {
            deltas.push(d.to_string());
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    let sent = seen.lock().unwrap()[0].1["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_string();
    for secret in [
        "王小明",
        "138 1234 5678",
        "11010519491231002X",
        "wang.xm@example.com",
        "华泰资管",
    ] {
        assert!(!sent.contains(secret), "{secret} was sent: {sent}");
    }
    assert!(
        sent.contains("⟦PHONE_1⟧") && sent.contains("⟦CLIENT_1⟧"),
        "{sent}"
    );
    assert_eq!(resp.text, "已通知 王小明（138 1234 5678）与 华泰资管。");
    assert_eq!(
        deltas.concat(),
        resp.text,
        "the streamed pieces are restored too"
    );
    assert!(deltas.iter().all(|d| !d.contains('⟦')), "{deltas:?}");
    let kinds: Vec<&str> = resp.redacted.iter().map(|k| k.as_str()).collect();
    assert_eq!(
        kinds,
        ["person_name", "id_card", "phone", "email", "client_name"]
    );
}

#[test]
fn a_prompt_above_the_remote_class_is_refused_before_sending() {
    let (url, seen) = server(vec![(200, vec![], sse(&["ok"], "stop"))]);
    let (_dir, m) = registry_with(RemoteGenerator::new(config(&url)).unwrap());
    let g = m.generator("big-model").unwrap();
    let req = ChatRequest::user("summarise the board minutes").holding(policies::DataClass::CORE);
    let err = g.chat(&req).unwrap_err();
    assert!(matches!(err, ModelError::Clearance { .. }), "{err}");
    assert!(err.to_string().contains("remote_max_class"), "{err}");
    // Important data is within the default maximum; the one scripted reply is used by it.
    let ok = ChatRequest::user("summarise the trade").holding(policies::DataClass::IMPORTANT);
    assert_eq!(g.chat(&ok).unwrap().text, "ok");
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "the refused prompt was never sent"
    );
}

/// A test CA and a certificate it signed for 127.0.0.1: (CA PEM, leaf DER, leaf key DER).
fn test_ca() -> (String, Vec<u8>, Vec<u8>) {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Deskmate test CA (generated)");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key).unwrap();
    (
        ca_cert.pem(),
        leaf_cert.der().to_vec(),
        leaf_key.serialize_der(),
    )
}

/// An HTTPS server on 127.0.0.1 with a certificate of a private CA: answers each connection
/// that completes the handshake with `body` as an event stream.
fn tls_server(leaf: Vec<u8>, key: Vec<u8>, body: String, connections: usize) -> String {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(leaf)],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
    )
    .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for _ in 0..connections {
            let Ok((tcp, _)) = listener.accept() else {
                return;
            };
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            // The handshake fails here for a client that does not trust the CA.
            while !head.ends_with(b"\r\n\r\n") {
                match tls.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            if !head.ends_with(b"\r\n\r\n") {
                continue;
            }
            let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
            let len: usize = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            let mut buf = vec![0; len];
            let _ = tls.read_exact(&mut buf);
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tls.write_all(resp.as_bytes());
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    url
}

#[test]
fn a_server_behind_a_private_ca_is_trusted_only_with_its_ca_file() {
    let (ca_pem, leaf, key) = test_ca();
    let url = tls_server(leaf, key, sse(&["ok"], "stop"), 2);
    let mut c = config(&url);
    c.retries = 0;
    // Neither the bundled web roots nor the system's know this CA.
    let err = RemoteGenerator::new(c.clone())
        .unwrap()
        .chat(&ChatRequest::user("hi"))
        .unwrap_err();
    assert!(matches!(err, ModelError::Remote { .. }), "{err}");
    // With the CA file, the same server is trusted.
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("corporate-ca.pem");
    std::fs::write(&ca_file, &ca_pem).unwrap();
    c.ca_file = Some(ca_file);
    let resp = RemoteGenerator::new(c.clone())
        .unwrap()
        .chat(&ChatRequest::user("hi"))
        .unwrap();
    assert_eq!(resp.text, "ok");
    // A CA file that is not PEM is named in the error.
    let bad = dir.path().join("not-a-ca.pem");
    std::fs::write(&bad, "hello").unwrap();
    c.ca_file = Some(bad);
    let err = RemoteGenerator::new(c)
        .unwrap()
        .chat(&ChatRequest::user("hi"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not-a-ca.pem"), "{err}");
}
