//! The review flow: an upload becomes a job, each file a result and (with key terms) an ops
//! approval; corrections are audited approval edits; four-eyes holds; approved results are
//! exported with the source file's SHA-256; an interrupted job resumes.

/// An English equity option confirmation (written for the extraction tests).
const EQUITY_OPTION: &str = include_str!("../../../extraction/tests/it/data/equity_option.txt");
use assistant::Assistant;
use assistant::AssistantError;
use assistant::config::Config;
use assistant::extraction_review::{Correction, FileProgress, Upload};
use assistant::store::Actor;
use policies::{Principal, Role};
use serde_json::json;
use sha2::{Digest, Sha256};

fn user(a: &Assistant, name: &str, role: Role) -> (Actor, Principal) {
    a.create_user(&Actor::system(), name, role).unwrap();
    let p = Principal {
        user: name.into(),
        role,
    };
    (Actor::user(&p, None), p)
}

#[test]
fn upload_review_correct_approve_export() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::default();
    c.storage.data_dir = dir.path().to_path_buf();
    let a = Assistant::open(c).unwrap();
    let (maker, maker_p) = user(&a, "ops1", Role::Ops);
    let (editor, editor_p) = user(&a, "ops2", Role::Ops);
    let (checker, checker_p) = user(&a, "ops3", Role::Ops);
    let (trader, trader_p) = user(&a, "trader1", Role::Trader);
    let contradictory = EQUITY_OPTION.replace(
        "Option Style: European",
        "Option Style: European\nTrade Date: 28 February 2026",
    );
    let files = vec![
        Upload {
            name: "dir/option.txt".into(),
            bytes: EQUITY_OPTION.as_bytes().to_vec(),
        },
        Upload {
            name: "lunch.txt".into(),
            bytes: b"Lunch menu: soup and bread.".to_vec(),
        },
        Upload {
            name: "broken.pdf".into(),
            bytes: b"%PDF-1.4 cut".to_vec(),
        },
        Upload {
            name: "two-dates.txt".into(),
            bytes: contradictory.as_bytes().to_vec(),
        },
    ];
    let job = a.extraction_submit(&maker, files).unwrap();
    let sha = hex::encode(Sha256::digest(contradictory.as_bytes()));
    assert!(dir.path().join("uploads").join(&sha).is_file());
    // Queued until run: listed for resumption, files shown as queued.
    assert_eq!(a.extraction_unfinished().unwrap(), vec![job.id.clone()]);
    let v = a.extraction(&maker, &job.id).unwrap();
    assert!(v.files.iter().all(|f| f.status == FileProgress::Queued));
    a.extraction_run(&job.id).unwrap();
    assert!(a.extraction_unfinished().unwrap().is_empty());
    let v = a.extraction(&maker, &job.id).unwrap();
    let statuses: Vec<&str> = v.files.iter().map(|f| f.status.as_str()).collect();
    assert_eq!(
        statuses,
        [
            "extracted",
            "not_a_confirmation",
            "unreadable",
            "needs_review"
        ]
    );
    assert_eq!(v.files[0].name, "option.txt");
    assert!(v.files[1].approval_id.is_none() && v.files[2].approval_id.is_none());
    assert!(
        v.files[2].result["error"]
            .as_str()
            .unwrap()
            .contains("broken.pdf")
    );
    let id = v.files[3].approval_id.clone().unwrap();
    let apr = a.get_approval(&maker, &id).unwrap();
    assert_eq!(
        (apr.kind.as_str(), apr.required_role, apr.four_eyes),
        ("extraction", Role::Ops, true)
    );
    // Values and evidence side by side in the payload.
    let fields = apr.payload["fields"].as_array().unwrap();
    assert!(
        fields.iter().all(|f| f["value"] != serde_json::Value::Null
            && !f["evidence"].as_array().unwrap().is_empty())
    );
    assert_eq!(apr.payload["conflicts"][0]["field"], "trade_date");
    // Nothing is exported before approval.
    assert!(matches!(
        a.extraction_export(&maker, &id),
        Err(AssistantError::Conflict(_))
    ));
    // Corrections are checked and need a reason.
    let bad = [Correction {
        field: "trade_date".into(),
        value: Some(json!("2026-13-01")),
        reason: "typo".into(),
    }];
    assert!(matches!(
        a.extraction_correct(&editor, &editor_p, &id, &bad),
        Err(AssistantError::Invalid(_))
    ));
    let no_reason = [Correction {
        field: "trade_date".into(),
        value: Some(json!("2026-02-27")),
        reason: " ".into(),
    }];
    assert!(matches!(
        a.extraction_correct(&editor, &editor_p, &id, &no_reason),
        Err(AssistantError::Invalid(_))
    ));
    let fix = [Correction {
        field: "trade_date".into(),
        value: Some(json!("2026-02-27")),
        reason: "the 28th is the annex's typo; the signed page says the 27th".into(),
    }];
    // Only ops decide: a trader may not correct.
    assert!(a.extraction_correct(&trader, &trader_p, &id, &fix).is_err());
    let d = a.extraction_correct(&editor, &editor_p, &id, &fix).unwrap();
    assert!(d.changed);
    let p = &d.approval.payload;
    assert_eq!(p["status"], "extracted");
    assert_eq!(p["key_terms"]["trade_date"], "2026-02-27");
    assert_eq!(p["conflicts"], json!([]));
    assert_eq!(p["corrections"][0]["reason"], fix[0].reason);
    assert!(p["cdm"].is_object(), "{}", p["cdm_report"]);
    let edit = a
        .store()
        .audit_entries(0, None, None, 10_000)
        .unwrap()
        .into_iter()
        .find(|e| e.action == "approval.edit" && e.object_id == id)
        .unwrap();
    assert_eq!(edit.actor, "ops2");
    assert!(
        edit.details["note"]
            .as_str()
            .unwrap()
            .contains("annex's typo")
    );
    let diff = edit.details["diff"].as_array().unwrap();
    assert!(
        diff.iter().any(|c| c["path"] == "/key_terms/trade_date"
            && c["before"].is_null()
            && c["after"] == "2026-02-27"),
        "{diff:?}"
    );
    // Four eyes: neither the maker nor the last editor may approve.
    assert!(a.approve(&maker, &maker_p, &id, None).is_err());
    assert!(a.approve(&editor, &editor_p, &id, None).is_err());
    a.approve(
        &checker,
        &checker_p,
        &id,
        Some("checked against the signed copy"),
    )
    .unwrap();
    // Monitoring (issue #21 item 3): the upload is a call of the extraction chain, and the
    // field ops corrected is counted for it.
    let (n, corrected) = a
        .field_corrections(&Actor::system(), time::OffsetDateTime::now_utc(), 7)
        .unwrap();
    assert!(n >= 1, "the upload is a monitored call");
    assert_eq!(corrected, vec![("trade_date".to_string(), 1)]);
    let human_changed: i64 =
        rusqlite::Connection::open(a.config.storage.data_dir.join(assistant::store::DB_FILE))
            .unwrap()
            .query_row(
                "SELECT COUNT(*) FROM chain_calls WHERE chain = 'extraction.model' AND subject = ?1
         AND human_changed = 1",
                [&id],
                |r| r.get(0),
            )
            .unwrap();
    assert_eq!(human_changed, 1);
    let e = a.extraction_export(&checker, &id).unwrap();
    assert_eq!(e.file_sha256, sha);
    assert_eq!(e.file_name, "two-dates.txt");
    assert_eq!(e.key_terms["trade_date"], "2026-02-27");
    assert_eq!(e.approved_by, "ops3");
    let doc = e.cdm.clone().unwrap();
    assert!(
        a.extractor()
            .schemas()
            .unwrap()
            .validate_trade_state(&doc)
            .unwrap()
            .is_empty()
    );
    // Exports are idempotent and listed per job.
    assert_eq!(a.extraction_export(&maker, &id).unwrap(), e);
    let all = a.extraction_exports(&maker, &job.id).unwrap();
    assert_eq!(all, vec![e]);
    let exports = a
        .store()
        .audit_entries(0, None, None, 10_000)
        .unwrap()
        .into_iter()
        .filter(|x| x.action == "extraction.export")
        .count();
    assert_eq!(exports, 1);
    assert!(a.store().verify_audit().unwrap().ok());
}

const FOLLOW_UP: &str = "cdm:/trade/product/economicTerms/payout/0/OptionPayout/exerciseTerms/exerciseProcedure/followUpConfirmation";

#[test]
fn an_incomplete_fpml_trade_state_is_completed_in_review_and_exported_valid() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::default();
    c.storage.data_dir = dir.path().to_path_buf();
    let a = Assistant::open(c).unwrap();
    let (maker, _) = user(&a, "ops1", Role::Ops);
    let (editor, editor_p) = user(&a, "ops2", Role::Ops);
    let (checker, checker_p) = user(&a, "ops3", Role::Ops);
    // The FpML gives no followUpConfirmation, which CDM 6.30 requires of an exercise procedure.
    let xml = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/cdm/fpml-cdm/fpml-5-13-products-equity-options/eqd-ex12-vanilla-short-form.fpml.xml"
    ))
    .unwrap();
    let job = a
        .extraction_submit(
            &maker,
            vec![Upload {
                name: "eqd-ex12.xml".into(),
                bytes: xml,
            }],
        )
        .unwrap();
    a.extraction_run(&job.id).unwrap();
    let v = a.extraction(&maker, &job.id).unwrap();
    assert_eq!(v.files[0].status.as_str(), "needs_review");
    let id = v.files[0].approval_id.clone().unwrap();
    let p = a.get_approval(&maker, &id).unwrap().payload;
    // Emitted incomplete, with what it lacks and whether the source carries it.
    assert!(p["cdm"].is_object());
    assert_eq!(p["cdm_report"]["complete"], false);
    let m = &p["cdm_report"]["missing_required"][0];
    assert_eq!(m["property"], "followUpConfirmation");
    assert_eq!(m["in_source"], "no");
    assert!(
        p["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["kind"] == "cdm_missing" && x["fields"][0] == FOLLOW_UP)
    );
    // It cannot be approved while the property is missing; the refusal names it.
    let e = a.approve(&checker, &checker_p, &id, None).unwrap_err();
    assert!(
        matches!(&e, AssistantError::Conflict(m) if m.contains("followUpConfirmation")),
        "{e}"
    );
    // A value the schema refuses is refused, naming the property.
    let wrong = a.extraction_correct(
        &editor,
        &editor_p,
        &id,
        &[Correction {
            field: FOLLOW_UP.into(),
            value: Some(json!("no")),
            reason: "per the signed confirmation".into(),
        }],
    );
    assert!(
        matches!(&wrong, Err(AssistantError::Invalid(m)) if m.contains("followUpConfirmation")),
        "{wrong:?}"
    );
    // The reviewer supplies it, and corrects a key term: the mapped TradeState is kept.
    a.extraction_correct(
        &editor,
        &editor_p,
        &id,
        &[
            Correction {
                field: FOLLOW_UP.into(),
                value: Some(json!(false)),
                reason: "no follow-up confirmation, per the signed confirmation".into(),
            },
            Correction {
                field: "premium.payment_date".into(),
                value: Some(json!("2001-07-18")),
                reason: "per the signed confirmation".into(),
            },
        ],
    )
    .unwrap();
    let p = a.get_approval(&maker, &id).unwrap().payload;
    assert_eq!(p["cdm_report"]["complete"], true, "{}", p["cdm_report"]);
    assert_eq!(p["cdm_report"]["source"], "fpml");
    assert!(
        p["problems"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["kind"] != "cdm_missing")
    );
    assert!(
        p["corrections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["field"] == FOLLOW_UP && c["before"].is_null() && c["after"] == false)
    );
    a.approve(&checker, &checker_p, &id, Some("checked"))
        .unwrap();
    let e = a.extraction_export(&checker, &id).unwrap();
    let doc = e.cdm.unwrap();
    assert_eq!(
        doc["trade"]["product"]["economicTerms"]["payout"][0]["OptionPayout"]["exerciseTerms"]["exerciseProcedure"]
            ["followUpConfirmation"],
        false
    );
    // The FpML mapping, not a TradeState rebuilt from the key terms: the message's party ids.
    assert_eq!(
        doc["trade"]["party"][0]["partyId"][0]["identifier"]["value"],
        "Party A"
    );
    assert!(
        a.extractor()
            .schemas()
            .unwrap()
            .validate_trade_state(&doc)
            .unwrap()
            .is_empty()
    );
}
