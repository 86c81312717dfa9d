//! Every approval payload is validated like the original, at creation and at every edit
//! (issue #15 item 6): a table of invalid edits over every validated kind (`quote`,
//! `extraction`) and the generic kinds, each refused with the field named and nothing stored;
//! valid edits accepted, with derived fields recomputed; client-bound text that reaches the
//! rendered reply exactly as checked; and a stored quote that no longer checks shown as
//! `send_failed`, never silently dropped.

use super::desk::{TestDesk, desk, trader};
use assistant::AssistantError;
use assistant::approvals::{ApprovalKind, NewApproval};
use assistant::desk::QuoteStatus;
use assistant::extraction_review::Upload;
use assistant::store::Actor;
use policies::{DataClass, Principal, Role};
use serde_json::{Value, json};

const VANILLA: &str = "@desk_bot 沪深300 12个月 平值看涨 名义本金1000万 期权费多少";
const EQUITY_OPTION: &str = include_str!("../../../extraction/tests/it/data/equity_option.txt");

/// A desk with a quote in the queue, an extraction waiting for the ops review and a generic
/// request, and who may edit each.
struct Queue {
    d: TestDesk,
    rfq: String,
    quote: String,
    extraction: String,
    generic: String,
}

fn user(name: &str, role: Role) -> (Principal, Actor) {
    let p = Principal {
        user: name.into(),
        role,
    };
    (p.clone(), Actor::user(&p, None))
}

fn queue() -> Queue {
    let d = desk(|_| {});
    d.map("g1", "C001");
    let rfq = d.say("g1", 1, VANILLA).rfq_id.unwrap();
    d.deliver();
    let quote = d.a.rfq_price(&rfq).unwrap()[0].approval_id.clone().unwrap();
    let (_, uploader) = user("ops1", Role::Ops);
    let job =
        d.a.extraction_submit(
            &uploader,
            vec![Upload {
                name: "option.txt".into(),
                bytes: EQUITY_OPTION.as_bytes().to_vec(),
            }],
        )
        .unwrap();
    d.a.extraction_run(&job.id).unwrap();
    let extraction = d.a.extraction(&uploader, &job.id).unwrap().files[0]
        .approval_id
        .clone()
        .expect("the confirmation has key terms");
    let (_, alice) = user("alice", Role::Trader);
    let generic =
        d.a.create_approval(
            &alice,
            NewApproval {
                kind: "report".parse().unwrap(),
                title: "Weekly P&L".into(),
                payload: json!({"week": 27, "lines": [{"book": "EQD", "pnl": 1.5e6}]}),
                required_role: Role::Trader,
                four_eyes: false,
                expires_in: None,
                class: DataClass::IMPORTANT,
                supersedes: None,
                idempotency_key: None,
            },
        )
        .unwrap()
        .id;
    Queue {
        d,
        rfq,
        quote,
        extraction,
        generic,
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Quote,
    Extraction,
    Generic,
}

impl Queue {
    fn id(&self, k: Kind) -> &str {
        match k {
            Kind::Quote => &self.quote,
            Kind::Extraction => &self.extraction,
            Kind::Generic => &self.generic,
        }
    }

    /// Who edits requests of kind `k`: a trader for quotes and generic requests, a second ops
    /// user for extractions (the uploader made them).
    fn editor(&self, k: Kind) -> (Principal, Actor) {
        match k {
            Kind::Quote | Kind::Generic => trader(),
            Kind::Extraction => user("ops2", Role::Ops),
        }
    }

    /// The latest version and payload of the request of kind `k`.
    fn current(&self, k: Kind) -> (u32, Value) {
        let (_, actor) = self.editor(k);
        let a = self.d.a.get_approval(&actor, self.id(k)).unwrap();
        (a.version, a.payload)
    }

    fn edit(
        &self,
        k: Kind,
        payload: Value,
        note: Option<&str>,
    ) -> Result<assistant::approvals::Decided, AssistantError> {
        let (p, actor) = self.editor(k);
        self.d
            .a
            .edit_approval(&actor, &p, self.id(k), payload, note)
    }
}

/// One invalid edit: what it does to the current payload, its note, and the field the refusal
/// must name.
struct Bad {
    what: &'static str,
    kind: Kind,
    edit: Box<dyn Fn(&mut Value)>,
    note: Option<&'static str>,
    field: String,
}

fn bad(
    what: &'static str,
    kind: Kind,
    field: &str,
    note: Option<&'static str>,
    edit: impl Fn(&mut Value) + 'static,
) -> Bad {
    Bad {
        what,
        kind,
        edit: Box::new(edit),
        note,
        field: field.to_string(),
    }
}

/// The index of leaf `name` in an extraction payload's `fields`.
fn leaf(p: &Value, name: &str) -> usize {
    p["fields"]
        .as_array()
        .unwrap()
        .iter()
        .position(|f| f["field"] == name)
        .unwrap_or_else(|| panic!("no {name} in {}", p["fields"]))
}

fn invalid_edits(q: &Queue) -> Vec<Bad> {
    use Kind::{Extraction, Generic, Quote};
    let (_, ext) = q.current(Extraction);
    let trade_date = leaf(&ext, "trade_date");
    let leaves = ext["fields"].as_array().unwrap().len();
    let megabyte = "x".repeat(1024 * 1024);
    let (m1, m2, m3) = (megabyte.clone(), megabyte.clone(), megabyte);
    vec![
        // Quotes: the figure.
        bad(
            "a −99% premium",
            Quote,
            "payload.quote.client",
            Some("tester"),
            |p| p["quote"]["client"] = json!(-99.0),
        ),
        bad(
            "a zero premium",
            Quote,
            "payload.quote.client",
            Some("x"),
            |p| p["quote"]["client"] = json!(0),
        ),
        // JSON has no NaN: a client that writes one sends null.
        bad("a NaN premium", Quote, "payload.quote.client", None, |p| {
            p["quote"]["client"] = json!(f64::NAN)
        }),
        bad(
            "a huge premium",
            Quote,
            "payload.quote.client",
            Some("x"),
            |p| p["quote"]["client"] = json!(1e300),
        ),
        bad(
            "a premium in words",
            Quote,
            "payload.quote.client",
            None,
            |p| p["quote"]["client"] = json!("cheap"),
        ),
        bad(
            "60% off the desk's price, with a reason",
            Quote,
            "payload.quote.client",
            Some("client is a friend"),
            |p| {
                let c = p["quote"]["client"].as_f64().unwrap();
                p["quote"]["client"] = json!(c * 1.6);
            },
        ),
        bad(
            "20% off the desk's price, without a reason",
            Quote,
            "note",
            None,
            |p| {
                let c = p["quote"]["client"].as_f64().unwrap();
                p["quote"]["client"] = json!(c * 0.8);
            },
        ),
        // Quotes: shape.
        bad("an unknown field", Quote, "payload.discount", None, |p| {
            p["discount"] = json!(5)
        }),
        bad(
            "an unknown nested field",
            Quote,
            "payload.quote.bonus",
            None,
            |p| p["quote"]["bonus"] = json!(1),
        ),
        bad("a missing field", Quote, "payload.terms", None, |p| {
            p.as_object_mut().unwrap().remove("terms");
        }),
        bad("a side that is not one", Quote, "payload.side", None, |p| {
            p["side"] = json!("maybe")
        }),
        bad(
            "a language we do not answer in",
            Quote,
            "payload.language",
            None,
            |p| p["language"] = json!("fr"),
        ),
        bad("not an object", Quote, "payload", None, |p| {
            *p = json!("garbage")
        }),
        bad("an array", Quote, "payload", None, |p| {
            *p = json!([1, 2, 3])
        }),
        // Quotes: amounts and the desk's record.
        bad(
            "a negative notional",
            Quote,
            "payload.notional",
            None,
            |p| p["notional"] = json!(-1e7),
        ),
        bad(
            "ten times the notional",
            Quote,
            "payload.notional",
            Some("x"),
            |p| p["notional"] = json!(1e8),
        ),
        bad(
            "a currency that is not ISO 4217",
            Quote,
            "payload.currency",
            None,
            |p| p["currency"] = json!("ABC"),
        ),
        bad(
            "a longer validity",
            Quote,
            "payload.valid_until",
            None,
            |p| p["valid_until"] = json!("2099-01-01T00:00:00Z"),
        ),
        bad("other Greeks", Quote, "payload.greeks", None, |p| {
            p["greeks"]["vega_per_point"] = json!(0)
        }),
        bad(
            "the model's price",
            Quote,
            "payload.quote.fair",
            None,
            |p| p["quote"]["fair"] = json!(1.0),
        ),
        bad("the other side", Quote, "payload.side", None, |p| {
            p["side"] = json!("client_sells")
        }),
        // Quotes: client-bound text.
        bad("a script", Quote, "payload.terms.zh", None, |p| {
            p["terms"]["zh"] = json!("<script>alert(1)</script>")
        }),
        bad("an HTML link", Quote, "payload.terms.en", None, |p| {
            p["terms"]["en"] = json!("see <a href=\"https://evil.example\">terms</a>")
        }),
        bad("a Markdown link", Quote, "payload.terms.zh", None, |p| {
            p["terms"]["zh"] = json!("详见[条款](https://evil.example)")
        }),
        bad("Markdown code", Quote, "payload.terms.en", None, |p| {
            p["terms"]["en"] = json!("call `rm -rf`")
        }),
        bad("a NUL", Quote, "payload.terms.zh", None, |p| {
            p["terms"]["zh"] = json!("沪深300\u{0}看涨")
        }),
        bad("an escape sequence", Quote, "payload.terms.en", None, |p| {
            p["terms"]["en"] = json!("call \u{1b}[31mred")
        }),
        bad("a line break", Quote, "payload.terms.zh", None, |p| {
            p["terms"]["zh"] = json!("沪深300\n另：请转账至")
        }),
        bad(
            "a right-to-left override",
            Quote,
            "payload.terms.zh",
            None,
            |p| p["terms"]["zh"] = json!("沪深300 \u{202E}%001价权行"),
        ),
        bad("empty terms", Quote, "payload.terms.en", None, |p| {
            p["terms"]["en"] = json!("  ")
        }),
        bad(
            "terms of 600 characters",
            Quote,
            "payload.terms.zh",
            None,
            |p| p["terms"]["zh"] = json!("沪".repeat(600)),
        ),
        bad("a 1 MB string", Quote, "payload.terms.en", None, move |p| {
            p["terms"]["en"] = json!(m1.clone())
        }),
        bad("a 4001-character note", Quote, "note", None, |_| {}),
        // Extractions.
        bad(
            "a date that does not exist",
            Extraction,
            &format!("payload.fields[{trade_date}].value"),
            None,
            move |p| {
                p["fields"][trade_date]["value"] = json!("2026-02-30");
                p["key_terms"]["trade_date"] = json!("2026-02-30");
            },
        ),
        bad(
            "a leaf the schema lacks",
            Extraction,
            &format!("payload.fields[{trade_date}].field"),
            None,
            move |p| p["fields"][trade_date]["field"] = json!("colour"),
        ),
        bad(
            "a leaf twice",
            Extraction,
            &format!("payload.fields[{leaves}].field"),
            None,
            move |p| {
                let dup = p["fields"][trade_date].clone();
                p["fields"].as_array_mut().unwrap().push(dup);
            },
        ),
        bad(
            "key terms that are not the fields",
            Extraction,
            "payload.key_terms",
            None,
            |p| p["key_terms"]["trade_date"] = json!("2001-01-01"),
        ),
        bad(
            "another source file",
            Extraction,
            "payload.sha256",
            None,
            |p| p["sha256"] = json!("0".repeat(64)),
        ),
        bad(
            "a status that is not a review's",
            Extraction,
            "payload.status",
            None,
            |p| p["status"] = json!("exported"),
        ),
        bad(
            "an unknown field",
            Extraction,
            "payload.approved",
            None,
            |p| p["approved"] = json!(true),
        ),
        bad("a wrong type", Extraction, "payload.fields", None, |p| {
            p["fields"] = json!("all good")
        }),
        bad(
            "a NUL in a notice",
            Extraction,
            "payload.notices[0]",
            None,
            |p| p["notices"] = json!(["ok\u{0}"]),
        ),
        bad(
            "a 1 MB string",
            Extraction,
            "payload.error",
            None,
            move |p| p["error"] = json!(m2.clone()),
        ),
        // Generic kinds: the generic checks.
        bad("not an object", Generic, "payload", None, |p| {
            *p = json!(42)
        }),
        bad("a NUL in a key", Generic, "payload[\"a\\0b\"]", None, |p| {
            p["a\u{0}b"] = json!(1)
        }),
        bad(
            "a NUL deep inside",
            Generic,
            "payload.lines[0].book",
            None,
            |p| p["lines"][0]["book"] = json!("EQ\u{0}D"),
        ),
        bad("a 1 MB string", Generic, "payload.blob", None, move |p| {
            p["blob"] = json!(m3.clone())
        }),
        bad("over a megabyte in all", Generic, "payload", None, |p| {
            p["blobs"] = json!(vec!["y".repeat(60_000); 20])
        }),
    ]
}

#[test]
fn invalid_edits_of_every_kind_are_refused_with_the_field_named_and_nothing_is_stored() {
    let q = queue();
    let cases = invalid_edits(&q);
    assert!(cases.len() >= 20);
    for kind in [Kind::Quote, Kind::Extraction, Kind::Generic] {
        assert!(cases.iter().any(|c| c.kind == kind), "no case for {kind:?}");
    }
    let long_note = "n".repeat(4001);
    for c in &cases {
        let (version, before) = q.current(c.kind);
        let mut edited = before.clone();
        (c.edit)(&mut edited);
        let note = if c.what == "a 4001-character note" {
            // A note is checked whatever the payload (here a valid, 1% lower figure).
            let fig = edited["quote"]["client"].as_f64().unwrap();
            edited["quote"]["client"] = json!(fig * 0.99);
            Some(long_note.as_str())
        } else {
            c.note
        };
        let err = q.edit(c.kind, edited, note).unwrap_err();
        match &err {
            AssistantError::InvalidField { field, reason } => {
                assert!(
                    field == &c.field,
                    "{:?} {}: named {field:?} ({reason}), not {:?}",
                    c.kind,
                    c.what,
                    c.field
                );
                assert!(!reason.is_empty());
                assert!(err.to_string().starts_with(field.as_str()), "{err}");
            }
            other => panic!("{:?} {}: not a field error: {other}", c.kind, c.what),
        }
        assert_eq!(
            err.fault(),
            assistant::error::Fault::Caller,
            "{}: {err}",
            c.what
        );
        let (v, after) = q.current(c.kind);
        assert_eq!(
            (v, &after),
            (version, &before),
            "{:?} {} stored",
            c.kind,
            c.what
        );
    }
    // No refused edit left an audit entry of an edit.
    let edits =
        q.d.a
            .store()
            .audit_entries(0, None, None, 100_000)
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "approval.edit")
            .count();
    assert_eq!(edits, 0);
}

#[test]
fn invalid_payloads_are_refused_at_creation_too() {
    let q = queue();
    let (_, alice) = user("alice", Role::Trader);
    let (_, v1) = q.current(Kind::Quote);
    let mut hostile = v1.clone();
    hostile["quote"]["client"] = json!(-99.0);
    let new = |kind: &str, title: &str, payload: Value| NewApproval {
        kind: kind.parse().unwrap(),
        title: title.into(),
        payload,
        required_role: Role::Trader,
        four_eyes: false,
        expires_in: None,
        class: DataClass::IMPORTANT,
        supersedes: None,
        idempotency_key: None,
    };
    for (n, field) in [
        (new("quote", "q", hostile), "payload.quote.client"),
        (new("quote", "q", json!({"price": 1})), "payload.price"),
        (
            new("extraction", "x", json!({"premium_pct": 3.2})),
            "payload.premium_pct",
        ),
        (new("report", "r", json!("garbage")), "payload"),
        (new("report", "line\u{1b}[2Jbreak", json!({})), "title"),
        (new("report", &"t".repeat(501), json!({})), "title"),
    ] {
        match q.d.a.create_approval(&alice, n) {
            Err(AssistantError::InvalidField { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    // A kind is typed: one that is not 1-64 characters without control characters cannot be
    // built at all.
    for kind in ["report\n", "", " ", &"k".repeat(65)] {
        let e = kind.parse::<ApprovalKind>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "must be 1-64 characters without control characters"
        );
    }
    assert_eq!(
        "quote".parse::<ApprovalKind>().unwrap(),
        ApprovalKind::Quote
    );
    assert_eq!("report".parse::<ApprovalKind>().unwrap().as_str(), "report");
}

/// A number written the way a JavaScript client re-serialises it (`1.0` as `1`).
fn as_javascript(v: &Value) -> Value {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9e15 => json!(f as i64),
            _ => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(as_javascript).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), as_javascript(x)))
                .collect(),
        ),
        _ => v.clone(),
    }
}

#[test]
fn valid_edits_are_accepted_and_derived_fields_follow() {
    let q = queue();
    let (_, v1) = q.current(Kind::Quote);
    let desk_figure = v1["quote"]["client"].as_f64().unwrap();
    // Sent back unchanged (even re-serialised by another client): nothing changes.
    let d = q.edit(Kind::Quote, as_javascript(&v1), None).unwrap();
    assert!(!d.changed);
    assert_eq!(d.approval.version, 1);
    // 5% up, no reason needed; the derived fields follow the figure.
    let mut up = v1.clone();
    up["quote"]["client"] = json!(desk_figure * 1.05);
    let d = q.edit(Kind::Quote, up, None).unwrap();
    assert!(d.changed);
    let p = &d.approval.payload;
    let amount = desk_figure * 1.05 / 100.0 * 1e7;
    assert!((p["quote"]["client_amount"].as_f64().unwrap() - amount).abs() < 1e-6);
    let shown = format!("{:.2}%", desk_figure * 1.05);
    assert!(p["reply_preview"].as_str().unwrap().contains(&shown), "{p}");
    // 30% down with a reason, a smaller notional and reworded terms (plain text: `&`, `*`,
    // quotes and full-width brackets are fine).
    let mut down = p.clone();
    down["quote"]["client"] = json!(desk_figure * 0.7);
    down["notional"] = json!(5e6);
    let terms = "沪深300（000300.SH）欧式看涨 12个月 & 行权价100% *平值* “报价”";
    down["terms"]["zh"] = json!(terms);
    let d = q
        .edit(
            Kind::Quote,
            down,
            Some("client's size halved; price matched to the street"),
        )
        .unwrap();
    let p = &d.approval.payload;
    assert_eq!(d.approval.version, 3);
    assert_eq!(p["notional"], json!(5e6));
    assert!(
        p["reply_preview"]
            .as_str()
            .unwrap()
            .contains("5,000,000 CNY")
    );
    let diff: Vec<&str> = d.approval.versions[2]
        .diff
        .iter()
        .map(|c| c.path.as_str())
        .collect();
    for path in ["/quote/client", "/notional", "/terms/zh", "/reply_preview"] {
        assert!(diff.contains(&path), "{diff:?}");
    }
    // Approved and claimed: the reply carries the edit, the client-bound text exactly as checked.
    let (tp, ta) = trader();
    q.d.a.approve(&ta, &tp, &q.quote, None).unwrap();
    let out = q.d.deliver();
    let reply = out
        .iter()
        .find(|m| m.kind == "quote")
        .expect("the quote is sent");
    assert!(reply.text.contains(terms), "{}", reply.text);
    assert!(
        reply.text.contains(&format!("{:.2}%", desk_figure * 0.7)),
        "{}",
        reply.text
    );
    assert!(reply.text.contains("5,000,000 CNY"), "{}", reply.text);
    assert!(!reply.text.contains('<') && !reply.text.contains("]("));
    assert_eq!(
        q.d.a.rfq_get(&ta, &q.rfq).unwrap().rfq.quotes[0].status,
        QuoteStatus::Sent
    );

    // An extraction: a leaf corrected by hand, in the field and the key terms together.
    let (_, ext) = q.current(Kind::Extraction);
    let i = leaf(&ext, "trade_date");
    let mut fixed = ext.clone();
    fixed["fields"][i]["value"] = json!("2026-02-26");
    fixed["key_terms"]["trade_date"] = json!("2026-02-26");
    let d = q
        .edit(
            Kind::Extraction,
            fixed,
            Some("the signed copy says the 26th"),
        )
        .unwrap();
    assert!(d.changed);
    assert_eq!(d.approval.payload["key_terms"]["trade_date"], "2026-02-26");

    // A generic request: anything the generic checks allow.
    let d = q
        .edit(
            Kind::Generic,
            json!({"week": 28, "lines": [], "comment": "<b>fine here</b>"}),
            None,
        )
        .unwrap();
    assert!(d.changed);
}

#[test]
fn a_stored_quote_that_no_longer_checks_is_send_failed_with_the_reason_never_silent() {
    let q = queue();
    let (tp, ta) = trader();
    q.d.a.approve(&ta, &tp, &q.quote, None).unwrap();
    // A payload written before edits were checked (by an earlier version): the terms carry a
    // script. Only the store's own file can hold one now.
    let db = rusqlite::Connection::open(
        q.d.a
            .config
            .storage
            .data_dir
            .join(assistant::store::DB_FILE),
    )
    .unwrap();
    let (_, v1) = q.current(Kind::Quote);
    let mut legacy = v1.clone();
    legacy["terms"]["zh"] = json!("<script>alert(1)</script>");
    db.execute(
        "UPDATE approval_versions SET payload = ?1 WHERE approval_id = ?2",
        rusqlite::params![legacy.to_string(), q.quote],
    )
    .unwrap();
    drop(db);
    let out = q.d.deliver();
    assert!(
        out.iter()
            .all(|m| m.kind != "quote" && !m.text.contains("<script>")),
        "{out:?}"
    );
    // The client hears that a trader will be in touch.
    assert!(
        out.iter()
            .any(|m| m.kind == "notice" && m.text.contains("未能确认")),
        "{out:?}"
    );
    let detail = q.d.a.rfq_get(&ta, &q.rfq).unwrap();
    let summary = &detail.rfq.quotes[0];
    assert_eq!(summary.status, QuoteStatus::SendFailed);
    let why = summary.error.as_deref().unwrap_or_default();
    assert!(
        why.contains("payload.terms.zh") && why.contains("markup"),
        "{why}"
    );
    let a = q.d.a.get_approval(&ta, &q.quote).unwrap();
    let delivery = a.delivery.expect("a quote approval shows its delivery");
    assert_eq!(
        (delivery.status.as_str(), delivery.reason.as_deref()),
        ("send_failed", Some(why))
    );
    let failed: Vec<_> = detail
        .audit
        .iter()
        .filter(|e| e.action == "quote.send_failed")
        .collect();
    assert_eq!(failed.len(), 1, "{:?}", detail.audit);
    assert_eq!(failed[0].details["approval_id"], q.quote.as_str());
    assert!(
        failed[0].details["reason"]
            .as_str()
            .unwrap()
            .contains("payload.terms.zh")
    );
}
