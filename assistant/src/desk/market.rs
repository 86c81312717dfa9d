//! The desk's market data and book exposure, read from JSON files and re-read when they change.
//!
//! `rfq.market_data` names a file or a directory. A file holds `{"markets": {"000905.SH": {...},
//! ...}}` (the pricing core's [`kernels::MarketSet`] format: `valuation_date`, `spot`, `rate`,
//! `dividend`, `vol`, flat or term structures). A directory holds any number of `*.json` files,
//! each either such a map or one market named by its file stem (`000905.SH.json`); an underlying
//! defined twice is an error naming both files. A futures contract month without its own entry
//! (`IC2412.CFFEX`) uses its main code's (`IC.CFFEX`).
//!
//! Every lookup compares the files' modification times and sizes with those last read (a few
//! `stat` calls), so an edited file is used by the next quote without a restart. A file that
//! does not parse is not used at all: quotes fail with the file's error (naming the field)
//! until it is fixed, rather than being priced on half-read data.

use kernels::{Market, MarketSet};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Why market data or book exposure cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MarketDataError {
    /// `rfq.market_data` is empty.
    #[error("no market data is configured (set rfq.market_data to a JSON file or directory)")]
    NotConfigured,
    /// A file cannot be read or does not parse.
    #[error("market data {path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What is wrong (with the field).
        message: String,
    },
    /// No market for the underlying.
    #[error("no market data for {underlying} in {source_name}")]
    NoMarket {
        /// The underlying.
        underlying: String,
        /// Where we looked.
        source_name: String,
    },
}

/// The files behind a watched source and their (modification time, size).
type Stamp = Vec<(PathBuf, Option<SystemTime>, u64)>;

fn stamp(path: &Path) -> Stamp {
    let one = |p: &Path| {
        let m = std::fs::metadata(p).ok();
        (
            p.to_path_buf(),
            m.as_ref().and_then(|m| m.modified().ok()),
            m.map(|m| m.len()).unwrap_or(0),
        )
    };
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        let mut out = vec![one(path)];
        out.extend(files.iter().map(|p| one(p)));
        out
    } else {
        vec![one(path)]
    }
}

/// What was last read from a source, and from which files.
type Cached<T> = Option<(Stamp, Result<Arc<T>, MarketDataError>)>;

/// A JSON source re-read when its files change.
struct Watched<T> {
    path: Option<PathBuf>,
    parse: fn(&Path) -> Result<T, MarketDataError>,
    state: Mutex<Cached<T>>,
}

impl<T> Watched<T> {
    fn new(path: &str, parse: fn(&Path) -> Result<T, MarketDataError>) -> Watched<T> {
        Watched {
            path: (!path.trim().is_empty()).then(|| PathBuf::from(path.trim())),
            parse,
            state: Mutex::new(None),
        }
    }

    fn current(&self) -> Option<Result<Arc<T>, MarketDataError>> {
        let path = self.path.as_ref()?;
        let now = stamp(path);
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match st.as_ref() {
            Some((s, r)) if *s == now => Some(r.clone()),
            _ => {
                let r = (self.parse)(path).map(Arc::new);
                match &r {
                    Ok(_) => tracing::info!(path = %path.display(), "read desk data"),
                    Err(e) => tracing::error!(error = %e, "desk data unusable"),
                }
                *st = Some((now, r.clone()));
                Some(r)
            }
        }
    }

    fn forget(&self) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Markets by underlying, with the file each came from.
#[derive(Debug)]
pub struct Markets {
    by_code: BTreeMap<String, (Market, String)>,
}

fn file_err(path: &Path, message: impl Into<String>) -> MarketDataError {
    MarketDataError::File {
        path: path.display().to_string(),
        message: message.into(),
    }
}

fn read_markets(path: &Path) -> Result<Markets, MarketDataError> {
    let mut by_code: BTreeMap<String, (Market, String)> = BTreeMap::new();
    let mut add = |file: &Path, stem_code: Option<String>| -> Result<(), MarketDataError> {
        let text = std::fs::read_to_string(file).map_err(|e| file_err(file, e.to_string()))?;
        let name = file.display().to_string();
        let set = MarketSet::from_json(&name, &text).map_err(|e| file_err(file, e.to_string()))?;
        let entries: Vec<(String, Market)> = match set {
            MarketSet::ByUnderlying(map) => map.into_iter().collect(),
            MarketSet::Single(m) => match stem_code {
                Some(code) => vec![(code, m)],
                None => {
                    return Err(file_err(
                        file,
                        "one market without underlying codes; write {\"markets\": {\"CODE\": {...}}} \
                         or put one file per underlying, named CODE.json, in a directory",
                    ));
                }
            },
        };
        for (code, m) in entries {
            if let Some((_, other)) = by_code.get(&code) {
                return Err(file_err(file, format!("{code} is also defined in {other}")));
            }
            by_code.insert(code, (m, name.clone()));
        }
        Ok(())
    };
    if path.is_dir() {
        let files: Vec<PathBuf> = stamp(path).into_iter().skip(1).map(|s| s.0).collect();
        for f in files {
            let stem = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            add(&f, Some(stem))?;
        }
    } else {
        add(path, None)?;
    }
    Ok(Markets { by_code })
}

/// One underlying's market as shown to the trader with a quote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarketView {
    /// The entry used (the underlying, or its futures main code).
    pub code: String,
    /// The file it came from.
    pub file: String,
    /// Valuation date.
    pub valuation_date: String,
    /// Spot.
    pub spot: f64,
    /// Flat (or 1-year) volatility.
    pub vol: f64,
    /// Flat (or 1-year) rate.
    pub rate: f64,
    /// Flat (or 1-year) dividend yield.
    pub dividend: f64,
}

fn view(code: &str, m: &Market, file: &str) -> MarketView {
    MarketView {
        code: code.to_string(),
        file: file.to_string(),
        valuation_date: m.valuation_date.to_string(),
        spot: m.spot,
        vol: m.black_vol(1.0),
        rate: -m.df(1.0).ln(),
        dividend: -m.div_df(1.0).ln(),
    }
}

/// The book's exposure on one underlying (cash delta; vega per vol point).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookExposure {
    /// Cash delta.
    #[serde(default)]
    pub delta: f64,
    /// Vega per vol point.
    #[serde(default)]
    pub vega: f64,
}

fn read_book(path: &Path) -> Result<BTreeMap<String, BookExposure>, MarketDataError> {
    let text = std::fs::read_to_string(path).map_err(|e| file_err(path, e.to_string()))?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    let map: BTreeMap<String, BookExposure> = serde_path_to_error::deserialize(de)
        .map_err(|e| file_err(path, format!("at {}: {}", e.path(), e.inner())))?;
    for (k, v) in &map {
        if !(v.delta.is_finite() && v.vega.is_finite()) {
            return Err(file_err(
                path,
                format!("{k}: delta and vega must be finite"),
            ));
        }
    }
    Ok(map)
}

/// The desk's market data and book exposure.
pub struct MarketData {
    markets: Watched<Markets>,
    book: Watched<BTreeMap<String, BookExposure>>,
}

impl std::fmt::Debug for MarketData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarketData")
            .field("markets", &self.markets.path)
            .field("book", &self.book.path)
            .finish()
    }
}

/// What is loaded, for `GET /v1/rfq/market-data`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarketDataSummary {
    /// `rfq.market_data`.
    pub source: Option<String>,
    /// Every underlying with its market, when the data is usable.
    pub markets: Vec<MarketView>,
    /// Why it is not usable.
    pub error: Option<String>,
}

impl MarketData {
    /// Market data from `market_data` (file or directory) and book exposure from `book_file`
    /// (empty: none).
    pub fn new(market_data: &str, book_file: &str) -> MarketData {
        MarketData {
            markets: Watched::new(market_data, read_markets),
            book: Watched::new(book_file, read_book),
        }
    }

    /// The market of `underlying` (current files) and how it is shown.
    pub fn market(&self, underlying: &str) -> Result<(Market, MarketView), MarketDataError> {
        let markets = self
            .markets
            .current()
            .ok_or(MarketDataError::NotConfigured)??;
        let hit = markets.by_code.get_key_value(underlying).or_else(|| {
            markets
                .by_code
                .iter()
                .find(|(k, _)| policies::limits::covered_by(underlying, k))
        });
        match hit {
            Some((code, (m, file))) => Ok((m.clone(), view(code, m, file))),
            None => Err(MarketDataError::NoMarket {
                underlying: underlying.to_string(),
                source_name: self
                    .markets
                    .path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            }),
        }
    }

    /// The book's exposure on `underlying` (zero without a book file or an entry).
    pub fn book_exposure(&self, underlying: &str) -> Result<BookExposure, MarketDataError> {
        match self.book.current() {
            None => Ok(BookExposure::default()),
            Some(r) => Ok(r?.get(underlying).copied().unwrap_or_default()),
        }
    }

    /// The whole book's exposure by underlying (empty without a book file).
    pub fn book(&self) -> Result<BTreeMap<String, BookExposure>, MarketDataError> {
        match self.book.current() {
            None => Ok(BTreeMap::new()),
            Some(r) => r.map(|b| (*b).clone()),
        }
    }

    /// Forgets what was read, so the next lookup reads the files again.
    pub fn reload(&self) {
        self.markets.forget();
        self.book.forget();
    }

    /// What is loaded now.
    pub fn summary(&self) -> MarketDataSummary {
        let source = self.markets.path.as_ref().map(|p| p.display().to_string());
        match self.markets.current() {
            None => MarketDataSummary {
                source,
                markets: Vec::new(),
                error: Some(MarketDataError::NotConfigured.to_string()),
            },
            Some(Err(e)) => MarketDataSummary {
                source,
                markets: Vec::new(),
                error: Some(e.to_string()),
            },
            Some(Ok(m)) => MarketDataSummary {
                source,
                markets: m
                    .by_code
                    .iter()
                    .map(|(code, (mk, file))| view(code, mk, file))
                    .collect(),
                error: None,
            },
        }
    }
}
