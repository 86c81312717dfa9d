//! Repository rules, checked as ordinary tests (run in CI by `./x test`):
//! ARCHITECTURE.md names every crate folder, dependencies point one way, and every Rust module
//! starts with a `//!` doc comment.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Top-level folders that hold a crate (a `Cargo.toml`).
fn crate_folders() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

#[test]
fn architecture_md_names_every_crate_folder() {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let folders = crate_folders();
    assert!(
        folders.len() >= 12,
        "expected the twelve crates, found {folders:?}"
    );
    for f in &folders {
        assert!(
            text.contains(&format!("`{f}/`")),
            "ARCHITECTURE.md does not name the crate folder `{f}/`"
        );
    }
    // The design-card layout plus the workflow crates split out of `assistant` (`extraction`,
    // `rfq`), the wave-2 workflow cores (`drafting`, `compliance`) and the shared CJK text
    // utilities (`cjk`):
    // exactly these crate folders, no others.
    let expected = [
        "assistant",
        "cjk",
        "compliance",
        "connectors",
        "drafting",
        "evals",
        "extraction",
        "kernels",
        "knowledge",
        "models",
        "policies",
        "research",
        "rfq",
        "web",
    ];
    assert_eq!(
        folders, expected,
        "top-level crate folders differ from the design card"
    );
}

/// Our crates and, for each, the set of our crates it may depend on (normal and build deps).
fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let set = |v: &[&'static str]| v.iter().copied().collect::<BTreeSet<_>>();
    BTreeMap::from([
        // Text utilities every crate that reads Chinese shares; they depend on nothing.
        ("cjk", set(&[])),
        ("policies", set(&["cjk"])),
        ("kernels", set(&[])),
        ("models", set(&["policies"])),
        ("connectors", set(&["cjk", "policies"])),
        ("knowledge", set(&["cjk", "policies", "models"])),
        // The workflow cores: no store, approvals or configuration of `assistant`.
        ("rfq", set(&["cjk", "policies", "models"])),
        (
            "extraction",
            set(&["cjk", "policies", "models", "connectors"]),
        ),
        // Drafting reads trades through extraction's key terms (and proofreads documents with
        // it, mapping its evidence back through the connectors' reading of the text); its
        // business-day check uses the kernels' calendars.
        (
            "drafting",
            set(&["cjk", "policies", "kernels", "connectors", "extraction"]),
        ),
        // Trade reporting reads CDM JSON itself; only the shared rules (currency codes).
        ("compliance", set(&["cjk", "policies"])),
        // Market data and moves: dates from the kernels, nothing else.
        ("research", set(&["kernels"])),
        (
            "assistant",
            set(&[
                "cjk",
                "policies",
                "kernels",
                "models",
                "knowledge",
                "connectors",
                "rfq",
                "extraction",
                "drafting",
                "compliance",
                "research",
            ]),
        ),
        (
            "evals",
            set(&[
                "cjk",
                "policies",
                "kernels",
                "models",
                "knowledge",
                "connectors",
                "rfq",
                "extraction",
                "drafting",
                "compliance",
                "research",
                "assistant",
            ]),
        ),
        (
            "web",
            set(&[
                "cjk",
                "policies",
                "kernels",
                "models",
                "knowledge",
                "connectors",
                "rfq",
                "extraction",
                "drafting",
                "compliance",
                "research",
                "assistant",
                "evals",
            ]),
        ),
        (
            "deskmate",
            set(&[
                "cjk",
                "policies",
                "kernels",
                "models",
                "knowledge",
                "connectors",
                "rfq",
                "extraction",
                "drafting",
                "compliance",
                "research",
                "assistant",
                "evals",
                "web",
            ]),
        ),
    ])
}

#[test]
fn dependencies_point_toward_policies_and_kernels() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--no-deps",
        ])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours: BTreeSet<String> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    let rules = allowed();
    let mut violations = Vec::new();
    for p in meta["packages"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        let may = rules
            .get(name)
            .unwrap_or_else(|| panic!("crate {name} has no dependency rule"));
        for d in p["dependencies"].as_array().unwrap() {
            let dep = d["name"].as_str().unwrap();
            // Dev-dependencies (tests) may use anything; the product's graph may not.
            if d["kind"].as_str() == Some("dev") || !ours.contains(dep) {
                continue;
            }
            if !may.contains(dep) {
                violations.push(format!("{name} -> {dep}"));
            }
            if dep == "web" && name != "deskmate" {
                violations.push(format!("{name} -> web (only the binary may depend on web)"));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "dependency rules broken: {violations:?}"
    );
}

/// The generic model-call layer (`assistant::inference`) serves every workflow and imports
/// none: no desk, extraction, documents or RFQ code.
#[test]
fn the_model_call_layer_imports_no_workflow() {
    let text = std::fs::read_to_string(root().join("assistant/src/inference.rs")).unwrap();
    for w in [
        "crate::desk",
        "crate::extraction_review",
        "crate::documents",
        "rfq::",
        "extraction::",
    ] {
        let uses: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//") && l.contains(w))
            .collect();
        assert!(
            uses.is_empty(),
            "assistant/src/inference.rs uses the workflow `{w}`: {uses:?}"
        );
    }
}

/// One definition of the CJK character classes: `cjk::{is_cjk, is_wide}`. Any other crate that
/// defines its own drifts (five copies once had four different ranges).
#[test]
fn cjk_character_classes_are_defined_once() {
    let mut files = Vec::new();
    for c in crate_folders().iter().filter(|c| *c != "cjk") {
        let d = root().join(c).join("src");
        if d.is_dir() {
            rust_files(&d, &mut files);
        }
    }
    rust_files(&root().join("src"), &mut files);
    let copies: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            text.contains("fn is_cjk") || text.contains("'\\u{4e00}'..=")
        })
        .map(|f| f.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(
        copies.is_empty(),
        "CJK character classes defined outside `cjk/`: {copies:?}"
    );
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() && !name.starts_with('.') && name != "target" {
            rust_files(&p, out);
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_module_starts_with_a_doc_comment() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    rust_files(&root().join("tests"), &mut files);
    for c in crate_folders() {
        for sub in ["src", "tests", "benches"] {
            let d = root().join(&c).join(sub);
            if d.is_dir() {
                rust_files(&d, &mut files);
            }
        }
    }
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            !text
                .lines()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.trim_start().starts_with("//!"))
        })
        .map(|f| f.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a leading //! doc: {missing:?}"
    );
}
