//! The structured chunker on the shared corpora: every law in `regulation-zh` against the 第X条
//! markers in its own file, the ESMA guidelines (numbered headings and paragraphs), the CDM
//! docs (Markdown headings, front matter), plain-text fallback, and bad input.

use knowledge::chunk::{self, ChunkOptions, Format, SourceText, token_estimate, units};
use knowledge::decode::{DEFAULT_MAX_BYTES, decode};
use knowledge::{Chunked, InputError, SectionKind};
use regex::Regex;
use std::path::{Path, PathBuf};

fn data(rel: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data")).join(rel)
}

fn chunk_file(path: &Path) -> Chunked {
    let bytes = std::fs::read(path).unwrap();
    let decoded = decode(&bytes, &path.display().to_string(), DEFAULT_MAX_BYTES).unwrap();
    let stem = path.file_stem().unwrap().to_string_lossy().to_string();
    let source = SourceText::new(decoded.text, Format::from_path(&path.display().to_string()));
    chunk::chunk(&source, &stem, &ChunkOptions::default())
}

fn laws() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![data("regulation-zh")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The expected structure read straight from the file: for every `第X条` marker at a line
/// start, the enclosing `##` heading (章 or 一、) and `###` heading (节), as written.
fn expected_articles(text: &str) -> Vec<(String, Option<String>, Option<String>)> {
    let art =
        Regex::new(r"^(第[零〇一二两三四五六七八九十百千]+条(?:之[一二三四五六七八九十]+)?)[\s　]")
            .unwrap();
    let label =
        Regex::new(r"^(第[零〇一二两三四五六七八九十百千]+[章节]|[一二三四五六七八九十]+、)")
            .unwrap();
    let body = text.split("<!-- INFO END -->").last().unwrap();
    let (mut chapter, mut division) = (None, None);
    let mut out = Vec::new();
    for line in body.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            chapter = label.captures(h.trim()).map(|c| c[1].to_string());
            division = None;
        } else if let Some(h) = line.strip_prefix("### ") {
            division = label.captures(h.trim()).map(|c| c[1].to_string());
        } else if let Some(c) = art.captures(line) {
            out.push((c[1].to_string(), chapter.clone(), division.clone()));
        }
    }
    out
}

fn labels_of(path: &knowledge::SectionPath, kind: SectionKind) -> Vec<String> {
    path.segments
        .iter()
        .filter(|s| s.kind == kind)
        .map(|s| s.label.clone())
        .collect()
}

#[test]
fn every_law_matches_its_article_markers() {
    let laws = laws();
    assert!(
        laws.len() >= 15,
        "expected the 15 shared laws, found {}",
        laws.len()
    );
    let mut total = 0;
    for path in &laws {
        let text = std::fs::read_to_string(path).unwrap();
        let expected = expected_articles(&text);
        let chunked = chunk_file(path);
        let got = units(&chunked.outline);
        let name = path.file_name().unwrap().to_string_lossy();
        assert_eq!(got.len(), expected.len(), "{name}: article count");
        for ((p, unit), (label, chapter, division)) in got.iter().zip(&expected) {
            assert_eq!(unit.kind, SectionKind::Article, "{name}: {label}");
            assert_eq!(&unit.label, label, "{name}");
            assert_eq!(
                labels_of(p, SectionKind::Chapter),
                chapter.iter().cloned().collect::<Vec<_>>(),
                "{name} {label}: 章 in path {p:?}"
            );
            assert_eq!(
                labels_of(p, SectionKind::Division),
                division.iter().cloned().collect::<Vec<_>>(),
                "{name} {label}: 节 in path"
            );
        }
        // Every article reaches the chunks, and every chunk of an article keeps it in its path.
        let mut in_chunks: Vec<String> = chunked
            .chunks
            .iter()
            .flat_map(|c| labels_of(&c.path, SectionKind::Article))
            .collect();
        in_chunks.dedup();
        assert_eq!(
            in_chunks.len(),
            expected.len(),
            "{name}: articles reaching chunks"
        );
        for c in &chunked.chunks {
            assert!(
                token_estimate(&c.text) <= ChunkOptions::default().max_tokens + 8,
                "{name}: oversized chunk {:?}",
                c.path
            );
            assert!(!c.text.contains("INFO END"), "{name}: header block leaked");
        }
        total += expected.len();
    }
    assert!(total > 1000, "{total} articles in all");
}

#[test]
fn futures_law_has_155_articles_under_the_right_chapters() {
    let chunked = chunk_file(&data("regulation-zh/经济法/期货和衍生品法(2022-04-20).md"));
    assert_eq!(chunked.title, "中华人民共和国期货和衍生品法");
    assert!(
        chunked
            .metadata
            .iter()
            .any(|(k, v)| k == "header" && v.contains("2022年4月20日")),
        "{:?}",
        chunked.metadata
    );
    let u = units(&chunked.outline);
    assert_eq!(u.len(), 155);
    let first = chunked
        .chunks
        .iter()
        .find(|c| labels_of(&c.path, SectionKind::Article) == ["第一条"])
        .unwrap();
    assert_eq!(
        first.path.display(&chunked.title),
        "中华人民共和国期货和衍生品法 | 第一章 总则 | 第一条"
    );
    assert!(
        first
            .text
            .starts_with("第一条 为了规范期货交易和衍生品交易行为")
    );
    assert!(first.whole_unit);
    // 第二十一条 sits in 第二章 第二节; 第一百五十五条 in 第十三章 附则.
    let find = |label: &str| {
        u.iter()
            .find(|(_, s)| s.label == label)
            .unwrap()
            .0
            .display("期货和衍生品法")
    };
    assert_eq!(
        find("第二十一条"),
        "期货和衍生品法 | 第二章 期货交易和衍生品交易 | 第二节 期货交易 | 第二十一条"
    );
    assert_eq!(
        find("第一百五十五条"),
        "期货和衍生品法 | 第十三章 附则 | 第一百五十五条"
    );
    // Locations point back into the source: the chunk's character range holds its first words.
    let text = std::fs::read_to_string(data("regulation-zh/经济法/期货和衍生品法(2022-04-20).md"))
        .unwrap();
    for c in &chunked.chunks {
        let src: String = text
            .chars()
            .skip(c.location.char_start)
            .take(c.location.char_end - c.location.char_start)
            .collect();
        let head: String = c.text.chars().take(8).collect();
        assert!(src.contains(&head), "{:?}: {head:?} not in {src:?}", c.path);
    }
}

#[test]
fn long_articles_split_at_clauses_keeping_the_article() {
    let options = ChunkOptions {
        max_tokens: 120,
        title: None,
    };
    let path = data("regulation-zh/经济法/期货和衍生品法(2022-04-20).md");
    let text = std::fs::read_to_string(&path).unwrap();
    let chunked = chunk::chunk(&SourceText::new(text, Format::Markdown), "x", &options);
    assert_eq!(units(&chunked.outline).len(), 155);
    let split: Vec<_> = chunked.chunks.iter().filter(|c| !c.whole_unit).collect();
    assert!(split.len() > 20, "some articles are longer than 120 tokens");
    for c in &split {
        let last = c.path.segments.last().unwrap();
        assert_eq!(last.kind, SectionKind::Clause, "{:?}", c.path);
        assert!(
            last.label.starts_with('第') && last.label.ends_with('款'),
            "{}",
            last.label
        );
        assert_eq!(labels_of(&c.path, SectionKind::Article).len(), 1);
        assert!(token_estimate(&c.text) <= 120 + 8);
    }
}

#[test]
fn esma_guidelines_numbered_sections_and_paragraphs() {
    let chunked = chunk_file(&data(
        "regulation-en/esma-emir-refit-guidelines/esma74-362-2281_final_report_guidelines_emir_refit.md",
    ));
    assert_eq!(chunked.title, "ESMA74-362-2281");
    // The table of contents is gone.
    assert!(
        chunked
            .problems
            .iter()
            .any(|p| p.message.contains("table of contents")),
        "{:?}",
        chunked.problems
    );
    assert!(
        chunked
            .chunks
            .iter()
            .all(|c| !c.text.contains("Table of Contents"))
    );
    let para = |n: u32| {
        chunked
            .chunks
            .iter()
            .find(|c| {
                c.path
                    .segments
                    .iter()
                    .any(|s| s.label == format!("para {n}"))
                    && c.path.display("").contains("Annex")
            })
            .unwrap_or_else(|| panic!("para {n} in the annex"))
    };
    let p19 = para(19);
    assert!(
        p19.text.starts_with("19. EMIR Article 9(1) states"),
        "{}",
        p19.text
    );
    assert_eq!(
        p19.path.labels(),
        ["4", "4.2", "4.2.1", "para 19"],
        "{}",
        p19.path.display(&chunked.title)
    );
    // 4.2.2 is written as a list item, not a Markdown heading; its paragraphs still sit in it.
    assert_eq!(para(33).path.labels(), ["4", "4.2", "4.2.2", "para 33"]);
    // Pages come from the converter's page anchors: 4.2.1 starts on page 97.
    assert_eq!(p19.location.page_start, 97);
    let paragraphs = units(&chunked.outline);
    assert!(
        paragraphs.len() > 600,
        "{} numbered paragraphs",
        paragraphs.len()
    );
}

#[test]
fn cdm_docs_markdown_headings_and_front_matter() {
    let chunked = chunk_file(&data("cdm/docs/product-model.md"));
    assert_eq!(chunked.title, "Product Model");
    let asset = chunked
        .chunks
        .iter()
        .find(|c| c.path.display(&chunked.title) == "Product Model | Financial Product | Asset")
        .unwrap();
    assert!(
        asset
            .text
            .contains("An Asset is defined as something that can be held"),
        "{}",
        asset.text
    );
    assert!(
        chunked
            .chunks
            .iter()
            .all(|c| !c.text.contains("{#") && !c.text.contains("title: Product Model"))
    );
    let instrument = chunked
        .chunks
        .iter()
        .find(|c| {
            c.path
                .segments
                .last()
                .is_some_and(|s| s.title == "Instrument")
        })
        .unwrap();
    assert_eq!(
        instrument.path.display(&chunked.title),
        "Product Model | Financial Product | Asset | Instrument"
    );
}

#[test]
fn plain_text_falls_back_to_paragraph_windows() {
    let raw = std::fs::read_to_string(data("qa/disc-finllm/retriever_dev.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let mut checked = 0;
    for item in v.as_array().unwrap().iter().take(10) {
        for doc in item["reference"].as_array().into_iter().flatten() {
            let Some(text) = doc.get(0).and_then(|t| t.as_str()).or_else(|| doc.as_str()) else {
                continue;
            };
            if text.trim().is_empty() {
                continue;
            }
            let chunked = chunk::chunk(
                &SourceText::new(text, Format::Plain),
                "ref",
                &ChunkOptions::default(),
            );
            let all: String = chunked
                .chunks
                .iter()
                .map(|c| c.text.as_str())
                .collect::<String>();
            let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            assert_eq!(squeeze(&all).len(), squeeze(text).len(), "no text lost");
            for c in &chunked.chunks {
                assert!(token_estimate(&c.text) <= 408);
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "checked {checked} reference documents");
}

#[test]
fn gbk_input_is_detected_and_decoded() {
    let text = std::fs::read_to_string(data("regulation-zh/经济法/期货和衍生品法(2022-04-20).md"))
        .unwrap();
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&text);
    assert!(!unmappable);
    let decoded = decode(&gbk, "law-gbk.md", DEFAULT_MAX_BYTES).unwrap();
    assert!(
        decoded.encoding == "GBK" || decoded.encoding == "gb18030",
        "{}",
        decoded.encoding
    );
    assert_eq!(decoded.text, text);
}

#[test]
fn bad_input_is_rejected_with_a_clear_reason() {
    let pdf = std::fs::read(data("regulation-en/esma-emir-refit-guidelines/esma74-362-2281_final_report_guidelines_emir_refit.pdf")).unwrap();
    let e = decode(&pdf, "esma.pdf", DEFAULT_MAX_BYTES).unwrap_err();
    assert!(
        matches!(e, InputError::Binary { .. }) && e.to_string().contains("PDF"),
        "{e}"
    );
    // Compressed PDF stream bytes (no magic at the start): binary junk.
    let e = decode(&pdf[4096..8192], "junk.bin", DEFAULT_MAX_BYTES).unwrap_err();
    assert!(
        matches!(
            e,
            InputError::Binary { .. } | InputError::Undecodable { .. }
        ),
        "{e}"
    );
    let e = decode(b"  \n\t ", "empty.txt", DEFAULT_MAX_BYTES).unwrap_err();
    assert_eq!(e.to_string(), "empty.txt: empty input, nothing to index");
    let e = decode(&[b'a'; 2000], "big.txt", 1000).unwrap_err();
    assert_eq!(
        e.to_string(),
        "big.txt: 2000 bytes is over the limit of 1000 bytes"
    );
}

#[test]
fn page_numbers_headers_and_footers_are_removed() {
    // The futures law laid out as a printed PDF would be: 40 lines a page, a running header and
    // a page footer on every page (the layout is made here; the text is the real law).
    let text = std::fs::read_to_string(data("regulation-zh/经济法/期货和衍生品法(2022-04-20).md"))
        .unwrap();
    let body = text.split("<!-- INFO END -->").nth(1).unwrap();
    let lines: Vec<&str> = body.lines().collect();
    let pages: Vec<String> = lines
        .chunks(40)
        .enumerate()
        .map(|(i, l)| {
            format!(
                "中华人民共和国期货和衍生品法\n{}\n第 {} 页 共 {} 页\n",
                l.join("\n"),
                i + 1,
                lines.len().div_ceil(40)
            )
        })
        .collect();
    let source = SourceText::from_pages(&pages, Format::Plain);
    let chunked = chunk::chunk(&source, "期货和衍生品法", &ChunkOptions::default());
    assert_eq!(units(&chunked.outline).len(), 155);
    for c in &chunked.chunks {
        assert!(
            !c.text.contains("中华人民共和国期货和衍生品法"),
            "header left in {:?}",
            c.path
        );
        assert!(!c.text.contains(" 页"), "footer left in {:?}", c.path);
    }
    let last = chunked.chunks.last().unwrap();
    assert_eq!(last.location.page_end as usize, pages.len());
}
