//! The knowledge base end to end on real files, with the installed fixture embedder
//! (all-MiniLM-L6-v2, the smallest; installed by `./x setup` for CI): ingestion of shared laws
//! at different classifications, exact structural lookup, clearance enforcement for every role,
//! duplicates, replacement, deletion, reopening, and bad input.

use knowledge::document::DocId;
use knowledge::{
    Filters, IngestRequest, IngestStatus, KbConfig, KnowledgeBase, KnowledgeError, SearchRequest,
    SectionKind,
};
use models::{BertEmbedder, Embedder, ModelStore};
use policies::{Clearance, DataClass, Role};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

fn data(rel: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data")).join(rel)
}

fn embedder() -> Arc<dyn Embedder> {
    static E: OnceLock<Arc<dyn Embedder>> = OnceLock::new();
    E.get_or_init(|| {
        let entry = ModelStore::from_env()
            .get("all-minilm-l6-v2")
            .expect("fixture embedder all-minilm-l6-v2 installed (./x setup)");
        Arc::new(BertEmbedder::load(&entry).unwrap())
    })
    .clone()
}

const FUTURES_LAW: &str = "regulation-zh/经济法/期货和衍生品法(2022-04-20).md";
const FUTURES_REGS: &str = "regulation-zh/行政法规/期货交易管理条例(2017-03-01).md";

/// An EMIR-style text (Article headings, numbered paragraphs, lettered points), written here
/// because the shared English corpus has numbered headings, not Articles.
const EMIR_LIKE: &str = "REGULATION ON OTC DERIVATIVES\n\nTITLE II\nCLEARING, REPORTING AND RISK MITIGATION\n\n\
Article 9\nReporting obligation\n\n\
1. Counterparties and CCPs shall ensure that the details of any derivative contract they have concluded are reported to a trade repository no later than the working day following the conclusion.\n\n\
2. Counterparties and CCPs shall keep a record of any derivative contract they have concluded and any modification for at least five years following the termination of the contract.\n\n\
Article 10\nNon-financial counterparties\n\n\
1. Where a non-financial counterparty takes positions in OTC derivative contracts and those positions exceed the clearing threshold, it shall immediately notify ESMA.\n";

fn request(source: &str, collection: &str, class: DataClass) -> IngestRequest {
    IngestRequest {
        source: source.to_string(),
        collection: collection.to_string(),
        classification: class,
        doc_id: None,
        title: None,
    }
}

fn ingest_file(kb: &KnowledgeBase, rel: &str, class: DataClass) -> knowledge::IngestReport {
    let path = data(rel);
    let bytes = std::fs::read(&path).unwrap();
    kb.ingest_bytes(
        &request(&path.display().to_string(), "regulation-zh", class),
        &bytes,
    )
    .unwrap()
}

fn search(kb: &KnowledgeBase, query: &str, role: Role, k: usize) -> knowledge::SearchResults {
    kb.search(&SearchRequest {
        query: query.into(),
        k,
        filters: Filters::default(),
        clearance: Clearance::of(role),
        retrievers: knowledge::Retrievers::Hybrid,
    })
    .unwrap()
}

fn labels(h: &knowledge::Hit, kind: SectionKind) -> Vec<String> {
    h.path
        .segments
        .iter()
        .filter(|s| s.kind == kind)
        .map(|s| s.label.clone())
        .collect()
}

/// The three documents: the futures law (general), the futures regulations (core) and the
/// EMIR-like text (important + sensitive).
fn build(dir: &Path) -> KnowledgeBase {
    let (kb, _) = KnowledgeBase::open(dir, embedder(), KbConfig::default()).unwrap();
    let law = ingest_file(&kb, FUTURES_LAW, DataClass::GENERAL);
    assert_eq!(law.status, IngestStatus::Added);
    assert_eq!(law.title, "中华人民共和国期货和衍生品法");
    let regs = ingest_file(&kb, FUTURES_REGS, DataClass::CORE);
    assert_eq!(regs.status, IngestStatus::Added);
    let emir = kb
        .ingest_bytes(
            &request(
                "emir.txt",
                "regulation-en",
                DataClass {
                    sensitive: true,
                    ..DataClass::IMPORTANT
                },
            ),
            EMIR_LIKE.as_bytes(),
        )
        .unwrap();
    assert_eq!(emir.status, IngestStatus::Added);
    kb
}

#[test]
fn exact_paths_clearance_duplicates_reopen_delete() {
    let dir = tempfile::tempdir().unwrap();
    let kb = build(dir.path());

    // 第二十一条 of the law the question names, first.
    let r = search(&kb, "期货和衍生品法第二十一条说了什么", Role::Admin, 5);
    assert_eq!(r.reference.as_deref(), Some(&["第21条".to_string()][..]));
    let top = &r.hits[0];
    assert!(top.exact, "{top:?}");
    assert_eq!(top.title, "中华人民共和国期货和衍生品法");
    assert_eq!(labels(top, SectionKind::Article), ["第二十一条"]);
    assert_eq!(labels(top, SectionKind::Chapter), ["第二章"]);
    assert!(top.text.contains("程序化交易"), "{}", top.text);

    // 第三章第二十一条 exists only in the (core) regulations: Admin sees it, a client does not.
    let r = search(&kb, "第三章第二十一条", Role::Admin, 5);
    let exact: Vec<_> = r.hits.iter().filter(|h| h.exact).collect();
    assert!(!exact.is_empty());
    for h in &exact {
        assert_eq!(h.title, "期货交易管理条例");
        assert_eq!(labels(h, SectionKind::Chapter), ["第三章"]);
        assert_eq!(labels(h, SectionKind::Article), ["第二十一条"]);
    }
    let r = search(&kb, "第三章第二十一条", Role::Client, 5);
    assert!(r.hits.iter().all(|h| !h.exact), "{:?}", r.hits);

    // Article 9(2): the second paragraph of Article 9.
    let r = search(&kb, "What does Article 9(2) say?", Role::Legal, 3);
    assert!(r.hits[0].exact, "{:?}", r.hits[0]);
    assert!(
        r.hits[0].path.labels().contains(&"Article 9"),
        "{:?}",
        r.hits[0].path
    );
    assert!(r.hits[0].text.contains("five years"), "{}", r.hits[0].text);

    // Clearance: no role ever receives a chunk above it, by ranking or by exact path.
    let queries = [
        "期货交易所 保证金",
        "第二十一条",
        "第三章第二十一条",
        "Article 9(2)",
        "trade repository reporting",
        "期货公司 风险管理",
    ];
    for role in Role::ALL {
        let clearance = Clearance::of(role);
        let mut seen = 0;
        for q in queries {
            for h in search(&kb, q, role, 10).hits {
                let class: DataClass = h.classification.parse().unwrap();
                assert!(
                    clearance.can_read(class),
                    "{role:?} received {} ({class}) for {q}",
                    h.chunk_id
                );
                seen += 1;
            }
        }
        assert!(seen > 0, "{role:?} saw nothing at all");
        let core = search(&kb, "期货交易管理条例 期货公司", role, 20);
        let got_core = core.hits.iter().any(|h| h.title == "期货交易管理条例");
        assert_eq!(got_core, clearance.can_read(DataClass::CORE), "{role:?}");
    }

    // A duplicate upload under another name is a no-op.
    let bytes = std::fs::read(data(FUTURES_LAW)).unwrap();
    let dup = kb
        .ingest_bytes(
            &request("copy-of-law.md", "regulation-zh", DataClass::GENERAL),
            &bytes,
        )
        .unwrap();
    assert_eq!(dup.status, IngestStatus::Unchanged);
    assert_eq!(kb.documents().len(), 3);

    // A changed file replaces the old version in both indexes.
    let emir_id = DocId::derive("regulation-en", "emir.txt");
    let changed = EMIR_LIKE.replace("five years", "ten years");
    let rep = kb
        .ingest_bytes(
            &request("emir.txt", "regulation-en", DataClass::IMPORTANT),
            changed.as_bytes(),
        )
        .unwrap();
    assert_eq!(rep.status, IngestStatus::Replaced { previous: 1 });
    let r = search(&kb, "Article 9(2)", Role::Legal, 3);
    assert!(r.hits[0].text.contains("ten years"));
    assert!(
        r.hits
            .iter()
            .all(|h| h.version == 2 || h.doc_id != emir_id.as_str())
    );
    assert!(kb.consistency().unwrap().agrees());
    let before = search(&kb, "期货交易所 会员 保证金", Role::Admin, 5);
    drop(kb);

    // Reopen: same documents, same answers, indexes agreeing.
    let (kb, report) = KnowledgeBase::open(dir.path(), embedder(), KbConfig::default()).unwrap();
    assert!(
        report.missing.is_empty() && report.intent.is_none(),
        "{report:?}"
    );
    assert!(kb.consistency().unwrap().agrees());
    assert_eq!(kb.documents().len(), 3);
    let after = search(&kb, "期货交易所 会员 保证金", Role::Admin, 5);
    let ids = |r: &knowledge::SearchResults| {
        r.hits
            .iter()
            .map(|h| h.chunk_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&before), ids(&after));

    // Delete removes it from both indexes.
    assert!(kb.delete(&emir_id).unwrap());
    assert!(!kb.delete(&emir_id).unwrap());
    let r = search(
        &kb,
        "trade repository reporting derivative",
        Role::Admin,
        10,
    );
    assert!(r.hits.iter().all(|h| h.doc_id != emir_id.as_str()));
    let c = kb.consistency().unwrap();
    assert!(c.agrees() && c.manifest.len() == 2, "{c:?}");

    // A second process cannot open the same directory while this one holds it.
    let err = KnowledgeBase::open(dir.path(), embedder(), KbConfig::default())
        .err()
        .expect("locked");
    assert!(matches!(err, KnowledgeError::Locked { .. }), "{err}");
}

#[test]
fn bad_input_gives_clear_per_file_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = KbConfig {
        max_bytes: 4096,
        ..KbConfig::default()
    };
    let (kb, _) = KnowledgeBase::open(dir.path(), embedder(), config).unwrap();
    let req = |s: &str| request(s, "misc", DataClass::GENERAL);

    let err = kb.ingest_bytes(&req("empty.md"), b"").unwrap_err();
    assert!(err.to_string().contains("empty.md"), "{err}");
    let err = kb
        .ingest_bytes(&req("blank.txt"), b" \n\n \t\n")
        .unwrap_err();
    assert!(err.to_string().contains("blank.txt"), "{err}");

    let junk: Vec<u8> = (0..2000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let err = kb.ingest_bytes(&req("junk.bin"), &junk).unwrap_err();
    assert!(err.to_string().contains("junk.bin"), "{err}");

    let big = vec![b'a'; 5000];
    let err = kb.ingest_bytes(&req("big.txt"), &big).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("big.txt") && msg.contains("4096"), "{msg}");

    // GBK bytes are detected and decoded, not mangled.
    let text = "第一条 为了规范期货交易行为，保障各方合法权益，制定本条例。\n\n第二条 本条例适用于期货交易及其相关活动，包括期货公司的业务与监督管理。\n";
    let (gbk, _, bad) = encoding_rs::GBK.encode(text);
    assert!(!bad);
    let rep = kb.ingest_bytes(&req("gbk.txt"), &gbk).unwrap();
    assert!(
        ["gbk", "gb18030"].contains(&rep.encoding.to_lowercase().as_str()),
        "{rep:?}"
    );
    let r = search(&kb, "第二条", Role::Client, 1);
    assert!(r.hits[0].text.contains("监督管理"), "{}", r.hits[0].text);

    // Nothing of the failed files was committed.
    assert_eq!(kb.documents().len(), 1);
    assert!(kb.consistency().unwrap().agrees());
}

/// The versions of `doc` a search returns.
fn visible_versions(kb: &KnowledgeBase, doc: &DocId) -> std::collections::BTreeSet<u64> {
    search(
        kb,
        "trade repository reporting record derivative contract",
        Role::Admin,
        20,
    )
    .hits
    .into_iter()
    .filter(|h| h.doc_id == doc.as_str())
    .map(|h| h.version)
    .collect()
}

#[test]
fn a_crash_at_any_step_of_an_ingest_leaves_the_indexes_agreeing_on_reopen() {
    use knowledge::CrashPoint;
    let doc = DocId::derive("regulation-en", "emir.txt");
    let changed = EMIR_LIKE.replace("five years", "ten years");
    for (at, committed) in [
        (CrashPoint::AfterIntent, false),
        (CrashPoint::AfterVectors, false),
        (CrashPoint::AfterLexical, false),
        (CrashPoint::AfterManifest, true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        {
            let (kb, _) = KnowledgeBase::open(dir.path(), embedder(), KbConfig::default()).unwrap();
            kb.ingest_bytes(
                &request("emir.txt", "regulation-en", DataClass::GENERAL),
                EMIR_LIKE.as_bytes(),
            )
            .unwrap();
        }
        {
            // The process "dies" at `at` while replacing version 1 with version 2.
            let config = KbConfig {
                crash_at: Some(at),
                ..KbConfig::default()
            };
            let (kb, _) = KnowledgeBase::open(dir.path(), embedder(), config).unwrap();
            let err = kb
                .ingest_bytes(
                    &request("emir.txt", "regulation-en", DataClass::GENERAL),
                    changed.as_bytes(),
                )
                .unwrap_err();
            let simulated = format!("simulated crash at {at:?}");
            assert!(
                matches!(&err, KnowledgeError::Io { source, .. } if source.to_string() == simulated),
                "{err}"
            );
        }
        let (kb, report) =
            KnowledgeBase::open(dir.path(), embedder(), KbConfig::default()).unwrap();
        assert!(report.intent.is_some(), "{at:?}: the intent was not found");
        assert!(report.missing.is_empty(), "{at:?}: {report:?}");
        let c = kb.consistency().unwrap();
        assert!(c.agrees(), "{at:?}: {c:?}");
        assert_eq!(c.manifest.len(), 1, "{at:?}: exactly one version: {c:?}");
        let want = if committed { 2 } else { 1 };
        assert_eq!(kb.documents()[0].meta.version, want, "{at:?}");
        assert_eq!(
            visible_versions(&kb, &doc),
            [want].into_iter().collect(),
            "{at:?}"
        );
        // Ingesting again after the crash finishes the job.
        let rep = kb
            .ingest_bytes(
                &request("emir.txt", "regulation-en", DataClass::GENERAL),
                changed.as_bytes(),
            )
            .unwrap();
        let expect_unchanged = committed;
        assert_eq!(
            rep.status == IngestStatus::Unchanged,
            expect_unchanged,
            "{at:?}: {rep:?}"
        );
        assert!(kb.consistency().unwrap().agrees());
    }
}

#[test]
fn concurrent_ingest_and_queries_never_see_a_partial_document() {
    let dir = tempfile::tempdir().unwrap();
    let (kb, _) = KnowledgeBase::open(dir.path(), embedder(), KbConfig::default()).unwrap();
    let kb = Arc::new(kb);
    let doc = DocId::derive("regulation-en", "emir.txt");
    kb.ingest_bytes(
        &request("emir.txt", "regulation-en", DataClass::GENERAL),
        EMIR_LIKE.as_bytes(),
    )
    .unwrap();
    let expected_chunks = search(&kb, "Article 9 Article 10", Role::Admin, 50)
        .hits
        .iter()
        .filter(|h| h.doc_id == doc.as_str())
        .count();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (kb, stop, doc) = (kb.clone(), stop.clone(), doc.clone());
        std::thread::spawn(move || {
            let mut rounds = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let hits = search(&kb, "Article 9 Article 10", Role::Admin, 50).hits;
                let mine: Vec<_> = hits.iter().filter(|h| h.doc_id == doc.as_str()).collect();
                // One version at a time, and all of its chunks.
                let versions: std::collections::BTreeSet<u64> =
                    mine.iter().map(|h| h.version).collect();
                assert_eq!(versions.len(), 1, "mixed versions: {versions:?}");
                assert_eq!(mine.len(), expected_chunks, "partial document visible");
                rounds += 1;
            }
            rounds
        })
    };
    for i in 0..6 {
        let years = ["five", "six", "seven", "eight", "nine", "ten"][i];
        let text = EMIR_LIKE.replace("five years", &format!("{years} years"));
        kb.ingest_bytes(
            &request("emir.txt", "regulation-en", DataClass::GENERAL),
            text.as_bytes(),
        )
        .unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let rounds = reader.join().expect("the reader saw no inconsistency");
    assert!(rounds > 0);
    assert!(kb.consistency().unwrap().agrees());
    assert_eq!(kb.documents()[0].meta.version, 6);
}

#[test]
fn the_vector_index_is_built_once_enough_points_were_added() {
    let dir = tempfile::tempdir().unwrap();
    let config = KbConfig {
        optimize_every: 100,
        ..KbConfig::default()
    };
    let (kb, _) = KnowledgeBase::open(dir.path(), embedder(), config.clone()).unwrap();
    // The futures law has 155 articles: one ingest crosses the line and builds the index.
    let law = ingest_file(&kb, FUTURES_LAW, DataClass::GENERAL);
    assert!(law.chunks >= 100, "{}", law.chunks);
    assert_eq!(kb.unindexed_points(), 0);
    let hits = search(&kb, "期货交易实行保证金制度", Role::Trader, 3);
    assert!(!hits.hits.is_empty());
    // Below the line nothing is built, and a reopened base still knows that only those points
    // wait for the index (not the whole base).
    let emir = kb
        .ingest_bytes(
            &request("emir.txt", "regulation-en", DataClass::GENERAL),
            EMIR_LIKE.as_bytes(),
        )
        .unwrap();
    assert_eq!(kb.unindexed_points(), emir.chunks);
    drop(kb);
    let (kb, _) = KnowledgeBase::open(dir.path(), embedder(), config.clone()).unwrap();
    assert_eq!(kb.unindexed_points(), emir.chunks);
    // A base written before the record existed counts every point.
    drop(kb);
    std::fs::remove_file(dir.path().join("vectors-unindexed")).unwrap();
    let (kb, _) = KnowledgeBase::open(dir.path(), embedder(), config).unwrap();
    assert_eq!(kb.unindexed_points(), law.chunks + emir.chunks);
    assert!(kb.consistency().unwrap().agrees());
    let top = &search(&kb, "Article 9", Role::Admin, 1).hits[0];
    assert!(top.exact);
}

#[test]
fn a_corrected_or_split_chunk_reindexes_its_document_only() {
    let dir = tempfile::tempdir().unwrap();
    let (kb, _) = KnowledgeBase::open(dir.path(), embedder(), KbConfig::default()).unwrap();
    let emir = kb
        .ingest_bytes(
            &request("emir.txt", "regulation-en", DataClass::GENERAL),
            EMIR_LIKE.as_bytes(),
        )
        .unwrap();
    let law = ingest_file(&kb, FUTURES_LAW, DataClass::GENERAL);
    let emir_id = DocId::new(&emir.doc_id).unwrap();
    let law_id = DocId::new(&law.doc_id).unwrap();
    let before = kb.chunks(&emir_id).unwrap().unwrap();
    let art9 = before
        .iter()
        .find(|c| c.text.contains("no later than the working day"))
        .expect("Article 9(1) is a chunk");

    // A correction: the new text is found, the old wording is gone, the version moved on.
    let fixed = art9
        .text
        .replace("the working day", "the second working day");
    let r = kb
        .revise_chunk(
            &emir_id,
            emir.version,
            &knowledge::ChunkEdit::Correct {
                ordinal: art9.ordinal,
                text: fixed.clone(),
            },
        )
        .unwrap();
    assert_eq!(r.version, emir.version + 1);
    assert_eq!(
        r.status,
        IngestStatus::Replaced {
            previous: emir.version
        }
    );
    assert_eq!(r.chunks, before.len());
    let hits = search(
        &kb,
        "reported no later than the second working day",
        Role::Admin,
        5,
    );
    let top = &hits.hits[0];
    assert_eq!(
        (top.doc_id.as_str(), top.version),
        (emir.doc_id.as_str(), r.version)
    );
    assert!(top.text.contains("the second working day"), "{}", top.text);
    assert!(
        kb.chunks(&emir_id)
            .unwrap()
            .unwrap()
            .iter()
            .all(|c| !c.text.contains("the working day")),
    );
    // Only that document was re-indexed: the law keeps its version and chunks.
    assert_eq!(kb.document(&law_id).unwrap().meta.version, law.version);
    assert_eq!(kb.chunks(&law_id).unwrap().unwrap().len(), law.chunks);
    assert!(kb.consistency().unwrap().agrees());

    // An edit on the version before is refused (someone else edited first); nothing changes.
    let stale = kb
        .revise_chunk(
            &emir_id,
            emir.version,
            &knowledge::ChunkEdit::Correct {
                ordinal: 0,
                text: "x".into(),
            },
        )
        .unwrap_err();
    assert!(matches!(stale, KnowledgeError::Input(_)), "{stale}");
    assert!(stale.to_string().contains("reload"), "{stale}");
    assert_eq!(kb.document(&emir_id).unwrap().meta.version, r.version);

    // A split: two chunks where there was one, both searchable, ordinals renumbered.
    let now = kb.chunks(&emir_id).unwrap().unwrap();
    let c = now
        .iter()
        .find(|c| c.text.contains("the second working day"))
        .unwrap();
    let second = "the details of any derivative contract";
    let split = kb
        .revise_chunk(
            &emir_id,
            r.version,
            &knowledge::ChunkEdit::Split {
                ordinal: c.ordinal,
                before: second.into(),
            },
        )
        .unwrap();
    assert_eq!(split.chunks, now.len() + 1);
    let after = kb.chunks(&emir_id).unwrap().unwrap();
    assert_eq!(
        after.iter().map(|c| c.ordinal).collect::<Vec<_>>(),
        (0..after.len() as u32).collect::<Vec<_>>()
    );
    assert!(after.iter().any(|c| c.text.starts_with(second)));
    assert!(kb.consistency().unwrap().agrees());

    // Reopened, the revision is what is there.
    drop(kb);
    let (kb, _) = KnowledgeBase::open(dir.path(), embedder(), KbConfig::default()).unwrap();
    assert_eq!(kb.document(&emir_id).unwrap().meta.version, split.version);
    assert_eq!(kb.chunks(&emir_id).unwrap().unwrap().len(), split.chunks);
}
