//! [`EdgeStore`]: dense vectors in the embedded Qdrant Edge engine (`qdrant-edge` =0.7.2), on
//! disk in one directory.
//!
//! Facts this relies on (checked against the 0.7.2 sources): `EdgeShard` calls block and take
//! `&self`; updates go through a write-ahead log that is replayed on load; `flush()` panics if
//! another update holds the WAL lock, so every update and flush here runs under one mutex; no
//! optimiser runs in the background (below the indexing threshold search is a brute-force
//! scan; [`EdgeStore::optimize`] builds the HNSW index explicitly).

use super::{FILTER_KEYS, VectorHit, VectorPoint, VectorStore, filter_conditions, point_id};
use crate::error::KnowledgeError;
use crate::filter::ChunkFilter;
use qdrant_edge::{
    Condition, CountRequest, CreateIndex, Distance, EdgeConfig, EdgeShard, EdgeVectorParams,
    FacetRequest, FacetValue, FieldCondition, FieldIndexOperations, Filter, JsonPath, Match,
    NamedQuery, PayloadFieldSchema, PayloadSchemaType, PointInsertOperations, PointOperations,
    PointStruct, QueryEnum, QueryRequest, ScoringQuery, UpdateOperation, VectorInternal,
    WithPayloadInterface, WithVector,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Qdrant Edge on disk.
pub struct EdgeStore {
    path: PathBuf,
    shard: EdgeShard,
    dim: usize,
    /// Serialises updates and flushes (see the module doc).
    write: Mutex<()>,
}

fn err(path: &Path, e: impl std::fmt::Display) -> KnowledgeError {
    KnowledgeError::Vector {
        store: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn json_path(path: &Path, key: &str) -> Result<JsonPath, KnowledgeError> {
    JsonPath::try_from(key).map_err(|_| err(path, format!("invalid payload key {key}")))
}

impl EdgeStore {
    /// Opens the shard in `dir`, creating it for `dim`-dimensional cosine vectors when absent.
    /// An existing shard of another dimension is an error.
    pub fn open(dir: &Path, dim: usize) -> Result<EdgeStore, KnowledgeError> {
        std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
        let exists = dir.join("edge_config.json").exists();
        let shard = if exists {
            EdgeShard::load(dir, None).map_err(|e| err(dir, e))?
        } else {
            let params = EdgeVectorParams::builder(dim, Distance::Cosine)
                .on_disk(true)
                .build();
            let config = EdgeConfig::builder()
                .vector("", params)
                .on_disk_payload(true)
                .build();
            EdgeShard::new(dir, config).map_err(|e| err(dir, e))?
        };
        let found = shard.config().vectors.get("").map(|v| v.size);
        if found != Some(dim) {
            return Err(err(
                dir,
                format!("shard holds {found:?}-dimensional vectors, the embedder makes {dim}"),
            ));
        }
        let store = EdgeStore {
            path: dir.to_path_buf(),
            shard,
            dim,
            write: Mutex::new(()),
        };
        if !exists {
            let _guard = store.write.lock().unwrap();
            for key in FILTER_KEYS {
                let op = UpdateOperation::FieldIndexOperation(FieldIndexOperations::CreateIndex(
                    CreateIndex {
                        field_name: json_path(dir, key)?,
                        field_schema: Some(PayloadFieldSchema::FieldType(
                            PayloadSchemaType::Keyword,
                        )),
                    },
                ));
                store.shard.update(op).map_err(|e| err(dir, e))?;
            }
            store.shard.flush();
        }
        Ok(store)
    }

    /// Builds the HNSW index and merges segments (blocking; minutes at 100k points on 2 cores).
    pub fn optimize(&self) -> Result<bool, KnowledgeError> {
        let _guard = self.write.lock().unwrap();
        self.shard.optimize().map_err(|e| err(&self.path, e))
    }

    fn filter(&self, filter: &ChunkFilter) -> Result<Filter, KnowledgeError> {
        let mut must = Vec::new();
        for (key, values) in filter_conditions(filter) {
            let m = if values.len() == 1 {
                Match::from(values[0].clone())
            } else {
                Match::from(values)
            };
            must.push(Condition::Field(FieldCondition::new_match(
                json_path(&self.path, key)?,
                m,
            )));
        }
        Ok(Filter {
            should: None,
            min_should: None,
            must: Some(must),
            must_not: None,
        })
    }
}

impl VectorStore for EdgeStore {
    fn describe(&self) -> String {
        format!("qdrant-edge at {}", self.path.display())
    }

    fn upsert(&self, points: &[VectorPoint]) -> Result<(), KnowledgeError> {
        if points.is_empty() {
            return Ok(());
        }
        let mut list = Vec::with_capacity(points.len());
        for p in points {
            if p.vector.len() != self.dim {
                return Err(err(
                    &self.path,
                    format!(
                        "vector of {} dimensions, expected {}",
                        p.vector.len(),
                        self.dim
                    ),
                ));
            }
            let payload = serde_json::to_value(&p.payload).map_err(|e| err(&self.path, e))?;
            list.push(
                PointStruct::new(point_id(&p.payload.chunk_id), p.vector.clone(), payload).into(),
            );
        }
        let op = UpdateOperation::PointOperation(PointOperations::UpsertPoints(
            PointInsertOperations::PointsList(list),
        ));
        let _guard = self.write.lock().unwrap();
        self.shard.update(op).map_err(|e| err(&self.path, e))
    }

    fn delete_version(&self, version_key: &str) -> Result<(), KnowledgeError> {
        let cond = FieldCondition::new_match(
            json_path(&self.path, "version_key")?,
            Match::from(version_key.to_string()),
        );
        let filter = Filter {
            should: None,
            min_should: None,
            must: Some(vec![Condition::Field(cond)]),
            must_not: None,
        };
        let op = UpdateOperation::PointOperation(PointOperations::DeletePointsByFilter(filter));
        let _guard = self.write.lock().unwrap();
        self.shard.update(op).map_err(|e| err(&self.path, e))
    }

    fn search(
        &self,
        vector: &[f32],
        filter: &ChunkFilter,
        limit: usize,
    ) -> Result<Vec<VectorHit>, KnowledgeError> {
        if filter.classes.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let request = QueryRequest {
            prefetches: vec![],
            query: Some(ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery {
                query: VectorInternal::Dense(vector.to_vec()),
                using: None,
            }))),
            filter: Some(self.filter(filter)?),
            score_threshold: None,
            limit,
            offset: 0,
            params: None,
            with_vector: WithVector::Bool(false),
            with_payload: WithPayloadInterface::Bool(true),
        };
        let points = self.shard.query(request).map_err(|e| err(&self.path, e))?;
        let mut out = Vec::with_capacity(points.len());
        for p in points {
            let payload = p.payload.map(|p| p.0).unwrap_or_default();
            let get = |k: &str| {
                payload
                    .get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            out.push(VectorHit {
                score: p.score,
                chunk_id: get("chunk_id"),
                version_key: get("version_key"),
            });
        }
        Ok(out)
    }

    fn version_keys(&self) -> Result<BTreeSet<String>, KnowledgeError> {
        let request = FacetRequest {
            key: json_path(&self.path, "version_key")?,
            limit: 10_000_000,
            filter: None,
            exact: true,
        };
        let response = self.shard.facet(request).map_err(|e| err(&self.path, e))?;
        Ok(response
            .hits
            .into_iter()
            .filter(|h| h.count > 0)
            .filter_map(|h| match h.value {
                FacetValue::Keyword(k) => Some(k),
                _ => None,
            })
            .collect())
    }

    fn count(&self) -> Result<usize, KnowledgeError> {
        self.shard
            .count(CountRequest {
                filter: None,
                exact: true,
            })
            .map_err(|e| err(&self.path, e))
    }

    fn flush(&self) -> Result<(), KnowledgeError> {
        let _guard = self.write.lock().unwrap();
        self.shard.flush();
        Ok(())
    }
}
