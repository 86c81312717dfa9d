//! ISDA CDM JSON as data: validation against the shipped JSON Schemas, and small builders for
//! the legacy (6.x) layout with its `meta` / `value` wrappers.
//!
//! The schemas (`cdm-json-schema` 6.30.0, draft-04) are one file per CDM type whose `$ref`s are
//! bare file names; [`CdmSchemas::open`] loads a directory of them into memory and serves every
//! `$ref` from there, so validation never touches the network or the file system after opening.
//! Validators are compiled once per root type and cached.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::{Map, Value, json};

/// The base URI the schema files are registered under; `$ref`s resolve against it.
const BASE: &str = "file:///cdm-schema/";

/// Errors of the schema layer (all of them the installation's fault: a missing or broken
/// schema directory, or an unknown root type asked for by our code).
#[derive(Debug, thiserror::Error)]
pub enum CdmError {
    /// The schema directory cannot be read.
    #[error("CDM schema directory {dir}: {source}")]
    Dir {
        /// The directory.
        dir: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A schema file is not JSON.
    #[error("CDM schema {file}: not JSON: {detail}")]
    BadSchema {
        /// The file.
        file: PathBuf,
        /// The parse error.
        detail: String,
    },
    /// No schema file for the asked type.
    #[error("no CDM schema for type {0} (expected a file {0}.schema.json)")]
    UnknownType(String),
    /// The schema graph does not compile (a `$ref` to a missing file, say).
    #[error("CDM schema {type_name} does not compile: {detail}")]
    Compile {
        /// The root type.
        type_name: String,
        /// The compiler's message.
        detail: String,
    },
}

/// One way a document breaks the schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Where in the document, as a JSON pointer (`/trade/tradeDate`); empty for the root.
    pub path: String,
    /// What is wrong, in the validator's words.
    pub message: String,
    /// Which schema rule, as a JSON pointer into the schema graph.
    pub schema_path: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.message)
    }
}

/// The CDM JSON Schemas of one version, loaded from a directory.
pub struct CdmSchemas {
    dir: PathBuf,
    files: Arc<HashMap<String, Value>>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

impl std::fmt::Debug for CdmSchemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CdmSchemas")
            .field("dir", &self.dir)
            .field("files", &self.files.len())
            .finish()
    }
}

/// Drops `description` annotations (prose that validation never reads) to keep the compiled
/// validators small.
fn strip_descriptions(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if o.get("description").is_some_and(Value::is_string) {
                o.remove("description");
            }
            o.values_mut().for_each(strip_descriptions);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_descriptions),
        _ => {}
    }
}

struct DirRetriever(Arc<HashMap<String, Value>>);

impl jsonschema::Retrieve for DirRetriever {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri.as_str().rsplit('/').next().unwrap_or("");
        let name = name.split('#').next().unwrap_or(name);
        self.0
            .get(name)
            .cloned()
            .ok_or_else(|| format!("no schema file {name} for {uri}").into())
    }
}

impl CdmSchemas {
    /// Loads every `*.schema.json` of `dir` (e.g. `shared/data/cdm/jsonschema-6.30.0`).
    pub fn open(dir: impl AsRef<Path>) -> Result<CdmSchemas, CdmError> {
        let dir = dir.as_ref().to_path_buf();
        let io = |source| CdmError::Dir {
            dir: dir.clone(),
            source,
        };
        let mut files = HashMap::new();
        for entry in std::fs::read_dir(&dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !name.ends_with(".schema.json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(io)?;
            let mut value: Value =
                serde_json::from_str(&text).map_err(|e| CdmError::BadSchema {
                    file: path.clone(),
                    detail: e.to_string(),
                })?;
            strip_descriptions(&mut value);
            files.insert(name.to_owned(), value);
        }
        Ok(CdmSchemas {
            dir,
            files: Arc::new(files),
            validators: Mutex::new(HashMap::new()),
        })
    }

    /// How many schema files were loaded.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// The raw schema of one type, by file stem (`cdm-base-datetime-AdjustableDate`).
    pub fn schema(&self, type_name: &str) -> Option<&Value> {
        self.files.get(&format!("{type_name}.schema.json"))
    }

    /// Whether the directory held no schema at all.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    fn validator(&self, type_name: &str) -> Result<Arc<jsonschema::Validator>, CdmError> {
        if let Some(v) = self.validators.lock().expect("not poisoned").get(type_name) {
            return Ok(v.clone());
        }
        let file = format!("{type_name}.schema.json");
        let schema = self
            .files
            .get(&file)
            .ok_or_else(|| CdmError::UnknownType(type_name.to_owned()))?;
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .with_base_uri(format!("{BASE}{file}"))
            .with_retriever(DirRetriever(self.files.clone()))
            .build(schema)
            .map_err(|e| CdmError::Compile {
                type_name: type_name.to_owned(),
                detail: e.to_string(),
            })?;
        let validator = Arc::new(validator);
        self.validators
            .lock()
            .expect("not poisoned")
            .insert(type_name.to_owned(), validator.clone());
        Ok(validator)
    }

    /// Validates `doc` as the CDM type `type_name` (the schema file's stem, e.g.
    /// `cdm-event-common-TradeState`); an empty list means valid.
    pub fn validate(&self, type_name: &str, doc: &Value) -> Result<Vec<Violation>, CdmError> {
        let validator = self.validator(type_name)?;
        let mut out: Vec<Violation> = validator
            .iter_errors(doc)
            .map(|e| Violation {
                path: e.instance_path().as_str().to_owned(),
                message: e.to_string(),
                schema_path: e.schema_path().as_str().to_owned(),
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path).then(a.message.cmp(&b.message)));
        out.dedup();
        Ok(out)
    }

    /// Validates a TradeState in the legacy layout.
    pub fn validate_trade_state(&self, doc: &Value) -> Result<Vec<Violation>, CdmError> {
        self.validate("cdm-event-common-TradeState", doc)
    }
}

/// Builders for the legacy JSON layout: the wrappers every CDM field carries.
pub mod legacy {
    use super::*;

    /// `{"value": v}`: a field with metadata slots (`FieldWithMetaString` and kin).
    pub fn field(v: impl Into<Value>) -> Value {
        json!({ "value": v.into() })
    }

    /// `{"value": v, "meta": {"scheme": s}}`, or just `{"value": v}` when there is no scheme.
    pub fn field_with_scheme(v: impl Into<Value>, scheme: Option<&str>) -> Value {
        let mut m = Map::new();
        m.insert("value".into(), v.into());
        if let Some(s) = scheme {
            m.insert("meta".into(), json!({ "scheme": s }));
        }
        Value::Object(m)
    }

    /// A document-scoped address (`{"scope": "DOCUMENT", "value": "quantity-1"}`), used where
    /// a payout points at a trade-lot price, quantity or observable.
    pub fn address(key: &str) -> Value {
        json!({ "address": { "scope": "DOCUMENT", "value": key } })
    }

    /// The `meta.location` that an [`address`] points at.
    pub fn located(value: Value, key: &str) -> Value {
        json!({ "value": value, "meta": { "location": [ { "scope": "DOCUMENT", "value": key } ] } })
    }

    /// A reference to an FpML id: `{"externalReference": id}`.
    pub fn external_reference(id: &str) -> Value {
        json!({ "externalReference": id })
    }

    /// An amount in a currency as a CDM `NonNegativeQuantity`/`Money` value.
    pub fn money(amount: f64, currency: &str, scheme: Option<&str>) -> Value {
        json!({ "value": amount, "unit": { "currency": field_with_scheme(currency, scheme) } })
    }

    /// Inserts `v` at a dotted path of object keys, creating objects on the way; a path through
    /// a non-object is left alone.
    pub fn set(target: &mut Value, path: &str, v: Value) {
        let mut cur = target;
        let mut keys = path.split('.').peekable();
        while let Some(k) = keys.next() {
            if !cur.is_object() {
                *cur = Value::Object(Map::new());
            }
            let obj = cur.as_object_mut().expect("made an object above");
            if keys.peek().is_none() {
                obj.insert(k.to_owned(), v);
                return;
            }
            cur = obj
                .entry(k.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
}
