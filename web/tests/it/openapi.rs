//! The OpenAPI 3.1 document at `GET /openapi.json`: it declares 3.1, describes every API route of
//! the table (method, path parameters, security from the access, uploads as multipart), every
//! `$ref` resolves, it parses as OpenAPI 3.1 (`oas3`), every schema is valid JSON Schema 2020-12,
//! and real replies (the typed ones, errors) validate against their schemas. The schemathesis
//! fuzz run against a real server is opt-in (`./x schemathesis`).

use crate::api::{Reply, api_with, call, error_code};
use axum::http::{Method, StatusCode};
use policies::Role;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use web::{Access, Surface, routes};

fn document_of(a: &crate::api::Api) -> impl std::future::Future<Output = Reply> + '_ {
    a.send(Method::GET, "/openapi.json", Some(Role::Client), None)
}

/// Every `$ref` in `v`.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                match (k.as_str(), x) {
                    ("$ref", Value::String(s)) => out.push(s),
                    _ => refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

/// A validator for `#/components/schemas/NAME`, its references resolved inside `doc`.
fn validator(doc: &Value, name: &str) -> jsonschema::Validator {
    let schema = json!({
        "$ref": format!("#/components/schemas/{name}"),
        "components": doc["components"],
    });
    jsonschema::draft202012::new(&schema).unwrap()
}

fn assert_valid(doc: &Value, name: &str, instance: &Value) {
    let v = validator(doc, name);
    let errors: Vec<String> = v.iter_errors(instance).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{instance} is not a {name}: {errors:?}");
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_describes_every_api_route() {
    let a = api_with(|_| {});
    // Served to any token, like the route table; not to anonymous callers.
    let anonymous = a.send(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    // In the API's error shape (not the web application's HTML error page).
    assert_eq!(error_code(&anonymous), "unauthenticated");
    let r = document_of(&a).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let doc = r.body;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );

    // It parses as an OpenAPI 3.1 document.
    let spec = oas3::from_json(doc.to_string()).expect("oas3 parses the document");
    assert_eq!(spec.validate_version().unwrap().minor, 1);

    // Built from the table: nothing undescribed but the OpenAI-compatible routes, no schema name
    // taken by two types.
    let infos: Vec<_> = routes().iter().map(|r| r.info()).collect();
    let built = web::openapi::build(&infos);
    assert!(built.conflicts.is_empty(), "{:?}", built.conflicts);
    assert!(built.undescribed.is_empty(), "{:?}", built.undescribed);
    assert_eq!(built.document, doc);

    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    let mut ids = BTreeSet::new();
    for r in routes() {
        let method = r.method.as_str().to_ascii_lowercase();
        let op = &doc["paths"][r.path][&method];
        if r.surface == Surface::Page {
            assert!(op.is_null(), "page {} {} in the document", r.method, r.path);
            continue;
        }
        operations += 1;
        assert!(op.is_object(), "{} {} missing", r.method, r.path);
        let where_ = format!("{} {}", r.method, r.path);
        assert_eq!(op["summary"], r.summary, "{where_}");
        assert!(ids.insert(op["operationId"].as_str().unwrap().to_string()));
        // Security from the access.
        match r.access {
            Access::Public | Access::Signed => assert_eq!(op["security"], json!([]), "{where_}"),
            Access::Authenticated => {
                assert_eq!(op["security"], json!([{"bearer": []}]), "{where_}");
                assert!(op["responses"]["401"].is_object(), "{where_}");
            }
            Access::Permission(p) => {
                assert_eq!(op["security"], json!([{"bearer": []}]), "{where_}");
                assert_eq!(op["x-deskmate-permission"], p.as_str(), "{where_}");
                assert!(op["responses"]["403"].is_object(), "{where_}");
            }
        }
        // Every path parameter declared, required, and none that the path lacks.
        let declared: BTreeSet<&str> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["in"] == "path")
                    .inspect(|p| assert_eq!(p["required"], true, "{where_}"))
                    .map(|p| p["name"].as_str().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        let in_path: BTreeSet<&str> = web::openapi::path_parameters(r.path).into_iter().collect();
        assert_eq!(declared, in_path, "{where_}");
        // Uploads are multipart with a binary file part.
        if r.upload {
            let file = &op["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
                ["file"];
            let binary = if file["type"] == "array" {
                &file["items"]
            } else {
                file
            };
            assert_eq!(binary["format"], "binary", "{where_}: {file}");
        }
        // A success and the standard refusals.
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|k| k.starts_with('2')),
            "{where_}: no success"
        );
        for code in ["429", "503"] {
            assert!(responses.contains_key(code), "{where_}: no {code}");
        }
    }
    let in_doc: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(in_doc, operations, "operations that the table lacks");
    assert!(operations > 90, "{operations}");

    // Integer parameters carry their Rust type's range.
    let version = doc["paths"]["/v1/templates/{id}"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "version")
        .unwrap();
    assert_eq!(version["schema"]["maximum"], u32::MAX, "{version}");
    assert_eq!(version["in"], "query");
    assert!(version["schema"].get("default").is_none(), "{version}");

    // Every reference resolves.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 100, "{}", all.len());
    for r in all {
        let pointer = r.strip_prefix('#').expect("local reference");
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
}

#[tokio::test]
async fn schemas_are_json_schema_2020_12_and_real_replies_match_them() {
    let a = api_with(|_| {});
    let doc = document_of(&a).await.body;
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    assert!(schemas.len() >= 30, "{}", schemas.len());
    for (name, schema) in schemas {
        if let Err(e) = jsonschema::draft202012::meta::validate(schema) {
            panic!("{name} is not valid JSON Schema 2020-12: {e}");
        }
        validator(&doc, name);
    }
    // Typed replies validate against their schemas.
    for (path, role, schema) in [
        ("/healthz", None, "Health"),
        ("/readyz", None, "Readiness"),
        ("/v1/me", Some(Role::ModelRisk), "Me"),
        ("/v1/routes", Some(Role::Client), "RouteList"),
    ] {
        let r = a.send(Method::GET, path, role, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        let op_schema = &doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"]["$ref"];
        assert_eq!(
            op_schema.as_str().unwrap(),
            format!("#/components/schemas/{schema}")
        );
        assert_valid(&doc, schema, &r.body);
    }
    // Errors from the handlers, the extractors and the middleware all match `ErrorResponse`.
    let bad_json = {
        let mut req = a.req(Method::POST, "/v1/users", Some(Role::Admin), None);
        req.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            "application/json".parse().unwrap(),
        );
        *req.body_mut() = axum::body::Body::from("{");
        call(a.app(), req).await
    };
    for r in [
        a.send(Method::GET, "/v1/users", None, None).await,
        a.send(Method::GET, "/v1/users", Some(Role::Client), None)
            .await,
        a.send(Method::GET, "/v1/jobs/nothing", Some(Role::Admin), None)
            .await,
        a.send(Method::GET, "/v1/no-such-route", Some(Role::Admin), None)
            .await,
        bad_json,
    ] {
        error_code(&r);
        assert_valid(&doc, "ErrorResponse", &r.body);
    }
    // A request body the document describes is one the handler takes.
    let create = json!({"name": "olga", "role": "ops"});
    assert_valid(&doc, "CreateUser", &create);
    let r = a
        .send(Method::POST, "/v1/users", Some(Role::Admin), Some(create))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // And the roles it lists are the roles there are.
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(doc["components"]["schemas"]["Role"]["enum"], json!(roles));
}

/// Where the schemathesis run keeps its Python environment (outside the clone).
fn schemathesis_venv() -> std::path::PathBuf {
    std::env::var_os("DESKMATE_SCHEMATHESIS_VENV")
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var("HOME").unwrap())
                .join(".cache/deskmate/schemathesis-venv")
        })
}

/// Runs a command to completion, failing the test with its output if it fails.
fn run(cmd: &mut std::process::Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
}

/// Fuzzes every operation of the document with schemathesis against a real server on
/// 127.0.0.1 (the fixture models loaded, an admin token): no request may answer a 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "installs schemathesis from PyPI and fuzzes for minutes: ./x schemathesis"]
async fn schemathesis_finds_no_server_errors() {
    assert_eq!(
        std::env::var("DESKMATE_SCHEMATHESIS").as_deref(),
        Ok("1"),
        "this run installs schemathesis and fuzzes a server for minutes: run it with \
         ./x schemathesis (which sets DESKMATE_SCHEMATHESIS=1)"
    );
    let pin = include_str!("../schemathesis-requirements.txt").trim();
    let venv = schemathesis_venv();
    let python = venv.join("bin/python");
    if !python.exists() {
        run(std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv));
    }
    let installed = std::process::Command::new(&python)
        .args(["-m", "pip", "show", "schemathesis"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout).contains(&format!(
                "Version: {}",
                pin.trim_start_matches("schemathesis==")
            ))
        })
        .unwrap_or(false);
    if !installed {
        run(std::process::Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            pin,
        ]));
    }

    // The server: the fixture models, limits that a fuzzer's pace does not reach.
    let fixtures = models::store::ModelStore::from_env();
    let a = api_with(|c| {
        c.models.dir = fixtures.root().display().to_string();
        c.models.generator = "smollm2-135m-instruct".into();
        c.models.embedder = "all-minilm-l6-v2".into();
        c.server.user_rate_per_sec = 10_000;
        c.server.user_rate_burst = 10_000;
        c.server.user_concurrency_limit = 64;
        c.server.ip_concurrency_limit = 64;
    });
    crate::approve_models(&a.state.assistant);
    let token = a.tokens[&Role::Admin].clone();
    let doc = document_of(&a).await.body;
    println!(
        "document: {} operations on {} paths, {} schemas",
        doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p.as_object().unwrap().len())
            .sum::<usize>(),
        doc["paths"].as_object().unwrap().len(),
        doc["components"]["schemas"].as_object().unwrap().len()
    );
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("openapi.json");
    std::fs::write(&schema, doc.to_string()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(
        listener,
        a.state.clone(),
        web::app(a.state.clone()),
        async {
            let _ = stopped.await;
        },
    ));
    // Objects for the second pass to work on: fixed ids reach the handlers' logic past 404.
    let seeded = seed(&a).await;
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(&config, seeded).unwrap();
    let examples = std::env::var("DESKMATE_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "20".into());
    let extra: Vec<String> = std::env::var("DESKMATE_SCHEMATHESIS_ARGS")
        .map(|a| a.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let bin = venv.join("bin/schemathesis");
    let mut failures = Vec::new();
    for (pass, config) in [("random ids", None), ("seeded ids", Some(config))] {
        let (bin, schema, token, examples, extra) = (
            bin.clone(),
            schema.clone(),
            token.clone(),
            examples.clone(),
            extra.clone(),
        );
        let report = dir
            .path()
            .join(format!("report-{}", pass.replace(' ', "-")));
        let out = tokio::task::spawn_blocking(move || {
            let mut cmd = std::process::Command::new(bin);
            if let Some(c) = &config {
                cmd.arg("--config-file").arg(c);
            }
            cmd.arg("run")
                .arg(&schema)
                .args(["--url", &format!("http://{addr}")])
                .args(["--header", &format!("Authorization: Bearer {token}")])
                .args(["--checks", "not_a_server_error"])
                .args(["--max-examples", &examples])
                .args(["--phases", "examples,coverage,fuzzing"])
                // One worker: with two, CPython 3.11's `ast` fails under hypothesis's lambda
                // descriptions now and then ("AST constructor recursion depth mismatch").
                .args(["--workers", "1", "--request-timeout", "120", "--seed", "7"])
                .arg("--report-dir")
                .arg(&report)
                .args(&extra)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        println!("==== schemathesis, {pass}\n{text}");
        if !out.status.success() {
            failures.push(pass);
        }
    }
    let _ = stop.send(());
    let _ = server.await;
    assert!(
        failures.is_empty(),
        "schemathesis found failures ({failures:?}): see its output above"
    );
}

/// Creates a draft, an approval request and a user for the fuzzer to work on, and returns the
/// schemathesis configuration that fixes their ids in the operations on them (the eval
/// runs keep random ids: a real suite would run for minutes).
async fn seed(a: &crate::api::Api) -> String {
    let admin = Some(Role::Admin);
    let trade = json!({
        "product_type": "equity_option", "trade_date": "2026-03-05",
        "party_a": "Eastbank Securities Co., Ltd.", "party_b": "Harbour Fund Ltd",
        "buyer": "party_b", "seller": "party_a",
        "underlier": {"name": "Tencent Holdings Limited", "id": "700 HK"},
        "option_type": "call", "exercise_style": "european",
        "strike": {"value": 420, "unit": "price", "currency": "HKD"},
        "number_of_options": 100000, "expiration_date": "2027-02-26",
        "premium": {"amount": 2350000, "currency": "HKD", "payment_date": "2026-03-09"},
        "settlement": "cash"
    });
    let draft = a
        .send(
            Method::POST,
            "/v1/drafts",
            admin,
            Some(json!({"trade": trade})),
        )
        .await;
    assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.body);
    let approval = a
        .send(
            Method::POST,
            "/v1/approvals",
            admin,
            Some(
                json!({"kind": "report", "title": "fuzz", "payload": {"body": "figures"},
                        "required_role": "admin"}),
            ),
        )
        .await;
    assert_eq!(approval.status, StatusCode::CREATED, "{}", approval.body);
    let user = a
        .send(
            Method::POST,
            "/v1/users",
            admin,
            Some(json!({"name": "fuzz", "role": "legal"})),
        )
        .await;
    assert_eq!(user.status, StatusCode::CREATED, "{}", user.body);
    let chain = assistant::model_risk::CHAINS[0].id;
    // Selected by path, so that only operations with the parameter get it.
    let entry = |path: &str, params: &str| {
        format!("[[operations]]\ninclude-path-regex = '^{path}'\nparameters = {{ {params} }}\n\n")
    };
    [
        entry(
            "/v1/drafts/[{]id[}]",
            &format!("\"path.id\" = {}", draft.body["id"]),
        ),
        entry(
            "/v1/templates/[{]id[}]",
            &format!("\"path.id\" = {}", draft.body["template"]),
        ),
        entry(
            "/v1/approvals/[{]id[}]",
            &format!("\"path.id\" = {}", approval.body["id"]),
        ),
        entry("/v1/users/[{]name[}]", "\"path.name\" = \"fuzz\""),
        entry(
            "/v1/model-risk/chains/[{]chain[}]",
            &format!("\"path.chain\" = \"{chain}\""),
        ),
    ]
    .concat()
}
