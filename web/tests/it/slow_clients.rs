//! Slow and greedy clients against a real socket server (`web::serve` on 127.0.0.1:0), with a
//! small concurrency limit and short timeouts set through the configuration: connections that
//! never finish their headers are closed after `server.header_read_timeout_secs`; stalled bodies
//! are answered 408 without ever holding a concurrency slot; one user or one address cannot
//! starve the others (per-user and per-address limits, a per-user rate limit answering 429 with
//! `Retry-After`); over-limit bodies keep their 413; `/readyz` reports saturation.

use crate::api::{api_with, call, error_code};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use policies::Role;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use web::{app, with_middleware};

/// A server on a real socket; it shuts down when this is dropped.
struct Server {
    addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn serve(state: &web::AppState) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(web::serve(
        listener,
        state.clone(),
        app(state.clone()),
        async {
            let _ = stopped.await;
        },
    ));
    Server { addr, _stop: stop }
}

/// One HTTP answer as read off the socket.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Checks the one error shape (and that the request id is echoed) and returns the code.
    fn error_code(&self) -> String {
        let e = &self.body["error"];
        assert!(
            e["message"].as_str().is_some_and(|m| !m.is_empty()),
            "no message: {}",
            self.body
        );
        assert_eq!(
            self.body.as_object().map(|o| o.len()),
            Some(1),
            "not the error shape: {}",
            self.body
        );
        let rid = e["request_id"].as_str().expect("request_id");
        assert_eq!(self.header("x-request-id"), Some(rid));
        e["code"].as_str().unwrap().to_string()
    }
}

/// Reads until the server closes the connection; panics if it is still open after `within`.
async fn read_to_close(s: &mut TcpStream, within: Duration) -> Vec<u8> {
    let deadline = tokio::time::Instant::now() + within;
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => panic!(
                "the server left the connection open for {within:?}; read so far: {:?}",
                String::from_utf8_lossy(&raw)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return raw,
            Ok(Ok(n)) => raw.extend_from_slice(&buf[..n]),
        }
    }
}

fn parse(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw).to_string();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = tail[n..].trim_start_matches("\r\n");
        }
        out
    } else {
        body.to_string()
    };
    let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
    Answer {
        status,
        headers,
        body,
    }
}

/// Sends one request on a fresh connection (`Connection: close`) and reads the whole answer.
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Answer {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if let Some(b) = body {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    head.push_str("\r\n");
    head.push_str(body.unwrap_or(""));
    s.write_all(head.as_bytes()).await.unwrap();
    parse(&read_to_close(&mut s, Duration::from_secs(10)).await)
}

/// A connection that sends a complete request head announcing a 1000-byte JSON body, then only
/// its first bytes, and nothing more.
async fn stalled_body(addr: SocketAddr, token: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/approvals HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"kind\": "
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s
}

/// A connection that sends a request head one byte every 100 ms and never finishes it. Returns
/// when the server has closed it: the time since `t0`.
async fn trickle_headers(addr: SocketAddr, t0: Instant) -> Duration {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Padding: {}\r\n",
        "a".repeat(400)
    );
    let mut buf = [0u8; 1024];
    for b in head.bytes() {
        if s.write_all(&[b]).await.is_err() {
            return t0.elapsed();
        }
        match tokio::time::timeout(Duration::from_millis(100), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return t0.elapsed(),
            Ok(Ok(_)) | Err(_) => {}
        }
    }
    panic!("the server read a trickled head for {:?}", t0.elapsed());
}

/// When the server closed `s` (it sends nothing first), as time since `t0`.
async fn closed_at(mut s: TcpStream, t0: Instant) -> Duration {
    let raw = read_to_close(&mut s, Duration::from_secs(15)).await;
    assert!(
        raw.is_empty(),
        "unexpected answer: {:?}",
        String::from_utf8_lossy(&raw)
    );
    t0.elapsed()
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[tokio::test]
async fn slow_connections_neither_starve_the_server_nor_stay_open() {
    const LIMIT: usize = 4;
    let a = api_with(|c| {
        c.server.concurrency_limit = LIMIT as u32;
        c.server.header_read_timeout_secs = 2;
        c.server.body_idle_timeout_secs = 2;
        // Every client here is 127.0.0.1 and the stalled bodies are one user's: this test is
        // about the global limit, not the per-client ones.
        c.server.ip_concurrency_limit = 64;
        c.server.user_concurrency_limit = 64;
    });
    let srv = serve(&a.state).await;
    let (ops, admin) = (&a.tokens[&Role::Ops], &a.tokens[&Role::Admin]);
    let t0 = Instant::now();
    let mut idle = Vec::new();
    for _ in 0..2 * LIMIT {
        idle.push(TcpStream::connect(srv.addr).await.unwrap());
    }
    let tricklers: Vec<_> = (0..2 * LIMIT)
        .map(|_| tokio::spawn(trickle_headers(srv.addr, t0)))
        .collect();
    let mut stalled = Vec::new();
    for _ in 0..2 * LIMIT {
        stalled.push(stalled_body(srv.addr, ops).await);
    }
    // Let every stalled request reach the server and wait for its body.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Admin requests are served while all of those are open, and the server is not saturated.
    for i in 0..2 * LIMIT {
        let r = request(srv.addr, "GET", "/v1/users", Some(admin), None).await;
        assert_eq!(r.status, 200, "admin request {i}: {}", r.body);
    }
    let r = request(srv.addr, "GET", "/readyz", None, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (&r.body["saturated"], &r.body["in_flight"]),
        (&json!(false), &json!(0)),
        "{}",
        r.body
    );
    let served = t0.elapsed();

    // Stalled bodies get 408 in the error shape, after the idle timeout, and are closed.
    let answers = futures::future::join_all(stalled.into_iter().map(|mut s| async move {
        let raw = read_to_close(&mut s, Duration::from_secs(15)).await;
        (t0.elapsed(), parse(&raw))
    }))
    .await;
    for (at, r) in &answers {
        assert_eq!(r.status, 408, "{}", r.body);
        assert_eq!(r.error_code(), "body_timeout");
        assert_eq!(r.header("connection"), Some("close"));
        assert!(
            *at > served && secs(*at) >= 2.0 && secs(*at) < 10.0,
            "answered at {at:?} (admin requests served by {served:?})"
        );
    }
    // Idle and trickling connections are closed by the server after the header timeout.
    let mut closed = Vec::new();
    for s in idle {
        closed.push(closed_at(s, t0).await);
    }
    for t in tricklers {
        closed.push(t.await.unwrap());
    }
    for at in &closed {
        assert!(
            *at > served && secs(*at) >= 1.9 && secs(*at) < 10.0,
            "closed at {at:?}: {closed:?}"
        );
    }
    let m = request(srv.addr, "GET", "/metrics", None, None).await;
    let text = m.body.as_str().unwrap();
    assert!(
        text.contains(&format!("deskmate_http_body_timeouts_total {}", 2 * LIMIT)),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "deskmate_http_header_timeouts_total {}",
            4 * LIMIT
        )),
        "{text}"
    );
    assert!(text.contains("deskmate_http_overloaded_total 0"), "{text}");
}

#[tokio::test]
async fn one_users_stalled_requests_do_not_block_another_user() {
    let a = api_with(|c| {
        c.server.concurrency_limit = 4;
        c.server.user_concurrency_limit = 2;
        c.server.ip_concurrency_limit = 64;
        c.server.body_idle_timeout_secs = 2;
    });
    let srv = serve(&a.state).await;
    let (ops, trader, admin) = (
        &a.tokens[&Role::Ops],
        &a.tokens[&Role::Trader],
        &a.tokens[&Role::Admin],
    );
    let mut stalled = vec![
        stalled_body(srv.addr, ops).await,
        stalled_body(srv.addr, ops).await,
    ];
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The same user's next request is refused at once, with Retry-After ...
    let r = request(srv.addr, "GET", "/v1/me", Some(ops), None).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.error_code(), "concurrency_limited");
    assert_eq!(r.header("retry-after"), Some("1"));
    // ... while other users are served.
    for token in [trader, admin, trader, admin] {
        let r = request(srv.addr, "GET", "/v1/me", Some(token), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // Once the stalled requests are over (408), the user is served again.
    for s in &mut stalled {
        let r = parse(&read_to_close(s, Duration::from_secs(15)).await);
        assert_eq!((r.status, r.error_code().as_str()), (408, "body_timeout"));
    }
    let r = request(srv.addr, "GET", "/v1/me", Some(ops), None).await;
    assert_eq!((r.status, &r.body["user"]), (200, &json!("ops1")));
    let m = request(srv.addr, "GET", "/metrics", None, None).await;
    let text = m.body.as_str().unwrap();
    assert!(
        text.contains("deskmate_http_concurrency_limited_total 1"),
        "{text}"
    );
}

#[tokio::test]
async fn one_address_cannot_hold_more_than_its_share() {
    let a = api_with(|c| {
        c.server.ip_concurrency_limit = 2;
        c.server.body_idle_timeout_secs = 2;
    });
    let srv = serve(&a.state).await;
    let (ops, admin) = (&a.tokens[&Role::Ops], &a.tokens[&Role::Admin]);
    let mut stalled = vec![
        stalled_body(srv.addr, ops).await,
        stalled_body(srv.addr, ops).await,
    ];
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = request(srv.addr, "GET", "/v1/me", Some(admin), None).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.error_code(), "concurrency_limited");
    assert_eq!(r.header("retry-after"), Some("1"));
    // Health checks are exempt.
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(request(srv.addr, "GET", path, None, None).await.status, 200);
    }
    for s in &mut stalled {
        let r = parse(&read_to_close(s, Duration::from_secs(15)).await);
        assert_eq!(r.status, 408, "{}", r.body);
    }
    let r = request(srv.addr, "GET", "/v1/me", Some(admin), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn a_user_over_the_rate_limit_gets_429_with_retry_after() {
    let a = api_with(|c| {
        c.server.user_rate_per_sec = 1;
        c.server.user_rate_burst = 3;
    });
    let srv = serve(&a.state).await;
    let (trader, admin) = (&a.tokens[&Role::Trader], &a.tokens[&Role::Admin]);
    for i in 0..3 {
        let r = request(srv.addr, "GET", "/v1/me", Some(trader), None).await;
        assert_eq!(r.status, 200, "request {i} of the burst: {}", r.body);
    }
    // The bucket is empty now, less what refilled meanwhile (1 a second): a slow machine may
    // earn one more request, not several.
    let mut r = request(srv.addr, "GET", "/v1/me", Some(trader), None).await;
    for _ in 0..3 {
        if r.status != 200 {
            break;
        }
        r = request(srv.addr, "GET", "/v1/me", Some(trader), None).await;
    }
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.error_code(), "rate_limited");
    assert_eq!(r.header("retry-after"), Some("1"));
    // Another user has a bucket of their own; health checks have none.
    let r = request(srv.addr, "GET", "/v1/me", Some(admin), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    for _ in 0..10 {
        assert_eq!(
            request(srv.addr, "GET", "/healthz", None, None)
                .await
                .status,
            200
        );
    }
    // After Retry-After, the user is served again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = request(srv.addr, "GET", "/v1/me", Some(trader), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let m = request(srv.addr, "GET", "/metrics", None, None).await;
    let text = m.body.as_str().unwrap();
    assert!(
        text.contains("deskmate_http_rate_limited_total 1"),
        "{text}"
    );
}

#[tokio::test]
async fn over_limit_bodies_get_413_at_once_and_slow_but_steady_bodies_are_served() {
    let a = api_with(|c| {
        c.server.max_body_bytes = 1024;
        c.server.body_idle_timeout_secs = 2;
    });
    let srv = serve(&a.state).await;
    let admin = &a.tokens[&Role::Admin];
    // A declared length over the limit is refused before any body byte is read.
    let t = Instant::now();
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    let head = format!(
        "POST /v1/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\n\
         Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let r = parse(&read_to_close(&mut s, Duration::from_secs(10)).await);
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.error_code(), "payload_too_large");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // A chunked body that grows over the limit.
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    let chunk = "x".repeat(1500);
    let req = format!(
        "POST /v1/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let r = parse(&read_to_close(&mut s, Duration::from_secs(10)).await);
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.error_code(), "payload_too_large");
    // A body that arrives in two parts, with a pause shorter than the idle timeout, is served.
    let body = json!({"name": "late", "role": "ops"}).to_string();
    let (first, second) = body.split_at(10);
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    let head = format!(
        "POST /v1/users HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {admin}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{first}",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    s.write_all(second.as_bytes()).await.unwrap();
    let r = parse(&read_to_close(&mut s, Duration::from_secs(10)).await);
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn a_body_that_trickles_past_the_deadline_gets_408() {
    let a = api_with(|c| {
        c.server.request_timeout_secs = 2;
        c.server.body_idle_timeout_secs = 2;
    });
    let srv = serve(&a.state).await;
    let admin = &a.tokens[&Role::Admin];
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    let head = format!(
        "POST /v1/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let t = Instant::now();
    // One byte every 300 ms: never idle for the idle timeout, never done by the deadline.
    let mut buf = [0u8; 4096];
    let mut raw = Vec::new();
    loop {
        assert!(t.elapsed() < Duration::from_secs(10), "no answer");
        let _ = s.write_all(b" ").await;
        match tokio::time::timeout(Duration::from_millis(300), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => raw.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    let r = parse(&raw);
    assert_eq!(r.status, 408, "{}", r.body);
    assert_eq!(r.error_code(), "body_timeout");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("within 2 s"),
        "{}",
        r.body
    );
    assert!(
        t.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn readyz_reports_saturation() {
    let a = api_with(|c| c.server.concurrency_limit = 2);
    let slow = with_middleware(
        Router::new().route(
            "/v1/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                "done"
            }),
        ),
        a.state.clone(),
    );
    let ready = || {
        call(
            app(a.state.clone()),
            Request::get("/readyz").body(Body::empty()).unwrap(),
        )
    };
    let r = ready().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"status": "ready", "in_flight": 0, "concurrency_limit": 2, "saturated": false})
    );
    let busy: Vec<_> = (0..2)
        .map(|_| {
            tokio::spawn(call(
                slow.clone(),
                Request::get("/v1/slow").body(Body::empty()).unwrap(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = ready().await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(error_code(&r), "saturated");
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("2 of 2"), "{message}");
    for b in busy {
        assert_eq!(b.await.unwrap().status, StatusCode::OK);
    }
    let r = ready().await;
    assert_eq!(
        (r.status, &r.body["saturated"]),
        (StatusCode::OK, &json!(false))
    );
}

#[tokio::test]
async fn shutdown_does_not_wait_for_idle_connections() {
    let a = api_with(|_| {});
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(
        listener,
        a.state.clone(),
        app(a.state.clone()),
        async {
            let _ = stopped.await;
        },
    ));
    let idle = TcpStream::connect(addr).await.unwrap();
    // A kept-alive connection after one answer.
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = kept.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server waited for idle connections")
        .unwrap()
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(5));
    drop((idle, kept));
}

/// Finding 9: request heads hyper cannot parse (a negative or doubled `Content-Length`, a bad
/// method or header name, an unknown version, an oversized head) get the one error shape with
/// a request id, not hyper's empty reply, and the connection closes.
#[tokio::test]
async fn unparseable_request_heads_get_the_error_shape() {
    let a = api_with(|_| {});
    let srv = serve(&a.state).await;
    let huge = format!("X-Big: {}\r\n", "a".repeat(512 * 1024));
    let heads = [
        (
            "negative length",
            "POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_string(),
            400,
        ),
        (
            "text length",
            "POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n".to_string(),
            400,
        ),
        (
            "two lengths",
            "POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
                .to_string(),
            400,
        ),
        (
            "bad method",
            "P@ST /v1/users HTTP/1.1\r\nHost: x\r\n\r\n".to_string(),
            400,
        ),
        (
            "bad header name",
            "GET /healthz HTTP/1.1\r\nHo st: x\r\n\r\n".to_string(),
            400,
        ),
        (
            "unknown version",
            "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n".to_string(),
            400,
        ),
        (
            "huge head",
            format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{huge}\r\n"),
            431,
        ),
    ];
    for (what, head, status) in heads {
        let mut s = TcpStream::connect(srv.addr).await.unwrap();
        // The server may answer and close before the whole oversized head is written.
        let _ = s.write_all(head.as_bytes()).await;
        let r = parse(&read_to_close(&mut s, Duration::from_secs(10)).await);
        assert_eq!(r.status, status, "{what}: {}", r.body);
        let code = r.error_code();
        let expected = if status == 431 {
            "headers_too_large"
        } else {
            "bad_request"
        };
        assert_eq!(code, expected, "{what}");
        assert!(
            r.body["error"]["message"].as_str().unwrap().len() > 20,
            "{what}: {}",
            r.body
        );
    }
    // The server is still fine.
    let r = request(srv.addr, "GET", "/healthz", None, None).await;
    assert_eq!(r.status, 200);
}
