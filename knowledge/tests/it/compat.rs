//! Compatibility of the knowledge base's files with existing installations: a knowledge base
//! written by an earlier version (checked in as `compat/kb-v1.tar.gz`: manifest, tantivy index
//! and the embedded Qdrant store, packed because Qdrant's files are mostly preallocated zeros)
//! must open without repair, agree with itself, answer the same
//! searches, honour clearance, and take new ingests and deletes. A change to the manifest, the
//! index schema or the vector store's layout that breaks an existing installation fails here.
//!
//! `DESKMATE_BLESS=1` writes the fixture when it is missing (never over an existing one: a new
//! format gets a new `kb-v{N}.tar.gz` beside the old ones, and every one of them must keep
//! opening). Packing and unpacking use `tar` (on every Debian machine).

use knowledge::document::DocId;
use knowledge::{Filters, IngestRequest, IngestStatus, KbConfig, KnowledgeBase, SearchRequest};
use models::{BertEmbedder, Embedder, ModelStore};
use policies::{Clearance, DataClass, Role};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn fixture() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/compat/kb-v1.tar.gz"
    ))
}

fn tar(args: &[&str], dir: &Path) {
    let out = std::process::Command::new("tar")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("tar runs (apt-get install tar)");
    assert!(out.status.success(), "tar {args:?}: {out:?}");
}

fn embedder() -> Arc<dyn Embedder> {
    let entry = ModelStore::from_env()
        .get("all-minilm-l6-v2")
        .expect("fixture embedder all-minilm-l6-v2 installed (./x setup)");
    Arc::new(BertEmbedder::load(&entry).unwrap())
}

const EMIR_LIKE: &str = "REGULATION ON OTC DERIVATIVES\n\nArticle 9\nReporting obligation\n\n\
1. Counterparties shall ensure that the details of any derivative contract they have concluded are reported to a trade repository no later than the working day following the conclusion.\n\n\
2. Counterparties shall keep a record of any derivative contract they have concluded for at least five years following the termination of the contract.\n\n\
Article 11\nRisk mitigation\n\n\
1. Collateral for uncleared derivative contracts shall be exchanged daily between the counterparties.\n";

const ZH_MEMO: &str = "# 内部保证金备忘录\n\n## 第一条\n\n权益类担保品的折扣率为百分之三十，债券类担保品的折扣率为百分之八。\n\n## 第二条\n\n场外期权交易须经交易员审批后方可报价。\n";

fn request(source: &str, collection: &str, class: DataClass) -> IngestRequest {
    IngestRequest {
        source: source.into(),
        collection: collection.into(),
        classification: class,
        doc_id: None,
        title: None,
    }
}

fn search(kb: &KnowledgeBase, query: &str, role: Role) -> Vec<knowledge::Hit> {
    kb.search(&SearchRequest {
        query: query.into(),
        k: 5,
        filters: Filters::default(),
        clearance: Clearance::of(role),
        retrievers: knowledge::Retrievers::Hybrid,
    })
    .unwrap()
    .hits
}

#[test]
fn a_knowledge_base_written_by_an_earlier_version_opens_and_works() {
    if !fixture().exists() {
        assert!(
            std::env::var("DESKMATE_BLESS").is_ok_and(|v| v == "1"),
            "the fixture {} is missing (DESKMATE_BLESS=1 writes it)",
            fixture().display()
        );
        let build = tempfile::tempdir().unwrap();
        let root = build.path().join("kb-v1");
        let (kb, _) = KnowledgeBase::open(&root, embedder(), KbConfig::default()).unwrap();
        kb.ingest_bytes(
            &request("emir.txt", "regulation-en", DataClass::GENERAL),
            EMIR_LIKE.as_bytes(),
        )
        .unwrap();
        kb.ingest_bytes(
            &request("memo.md", "internal", DataClass::CORE),
            ZH_MEMO.as_bytes(),
        )
        .unwrap();
        drop(kb);
        // The lock file is the running process's, not part of the format.
        let _ = std::fs::remove_file(root.join("kb.lock"));
        let target = fixture();
        tar(
            &[
                "--sort=name",
                "--owner=0",
                "--group=0",
                "--numeric-owner",
                "-czf",
                target.to_str().unwrap(),
                "kb-v1",
            ],
            build.path(),
        );
    }
    let unpacked = tempfile::tempdir().unwrap();
    tar(&["-xzf", fixture().to_str().unwrap()], unpacked.path());
    let dir = unpacked.path().join("kb-v1");
    let (kb, report) = KnowledgeBase::open(&dir, embedder(), KbConfig::default()).unwrap();
    assert!(
        report.missing.is_empty() && report.intent.is_none(),
        "the fixture needed repair: {report:?}"
    );
    assert!(kb.consistency().unwrap().agrees());
    let mut docs: Vec<(String, u64, String)> = kb
        .documents()
        .into_iter()
        .map(|d| {
            (
                d.meta.collection,
                d.meta.version,
                d.meta.classification.to_string(),
            )
        })
        .collect();
    docs.sort();
    assert_eq!(
        docs,
        vec![
            ("internal".into(), 1, DataClass::CORE.to_string()),
            ("regulation-en".into(), 1, DataClass::GENERAL.to_string()),
        ]
    );

    // The same searches: structural lookup, lexical and dense, Chinese and English.
    let hits = search(&kb, "Article 9(2)", Role::Trader);
    assert!(hits[0].exact, "{:?}", hits[0]);
    assert!(hits[0].text.contains("five years"), "{}", hits[0].text);
    let hits = search(&kb, "担保品 折扣率", Role::Legal);
    assert!(hits[0].text.contains("百分之三十"), "{}", hits[0].text);
    // Clearance still holds on the stored classifications.
    assert!(
        search(&kb, "担保品 折扣率", Role::Trader)
            .iter()
            .all(|h| h.collection != "internal")
    );

    // New ingests, replacements and deletes work on the old files.
    let r = kb
        .ingest_bytes(
            &request("emir.txt", "regulation-en", DataClass::GENERAL),
            EMIR_LIKE.replace("five years", "ten years").as_bytes(),
        )
        .unwrap();
    assert_eq!(
        (r.status, r.version),
        (IngestStatus::Replaced { previous: 1 }, 2)
    );
    let hits = search(&kb, "Article 9(2)", Role::Trader);
    assert!(hits[0].text.contains("ten years"), "{}", hits[0].text);
    let memo: Vec<DocId> = kb
        .documents()
        .into_iter()
        .filter(|d| d.meta.collection == "internal")
        .map(|d| d.meta.id)
        .collect();
    assert!(kb.delete(&memo[0]).unwrap());
    assert!(kb.consistency().unwrap().agrees());
    drop(kb);
    let (kb, report) = KnowledgeBase::open(&dir, embedder(), KbConfig::default()).unwrap();
    assert!(
        report.missing.is_empty() && report.intent.is_none(),
        "{report:?}"
    );
    assert_eq!(kb.documents().len(), 1);
}
