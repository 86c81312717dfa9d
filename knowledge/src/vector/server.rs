//! [`ServerStore`]: dense vectors in a Qdrant server or cluster through `qdrant-client`
//! (gRPC), for firms that outgrow one machine. Same payload and filters as the edge store.
//!
//! `qdrant-client` is async; this store owns a small tokio runtime and blocks on it, so, like
//! every [`VectorStore`], it must be called outside async tasks (`spawn_blocking`).

use super::{FILTER_KEYS, VectorHit, VectorPoint, VectorStore, filter_conditions, point_id};
use crate::error::KnowledgeError;
use crate::filter::ChunkFilter;
use qdrant_client::Qdrant;
use qdrant_client::qdrant::{
    Condition, CountPointsBuilder, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder,
    DeletePointsBuilder, Distance, FacetCountsBuilder, FieldType, Filter, PointStruct,
    QueryPointsBuilder, UpsertPointsBuilder, VectorParamsBuilder, facet_value,
};
use std::collections::BTreeSet;

/// A collection in a Qdrant server.
pub struct ServerStore {
    url: String,
    collection: String,
    client: Qdrant,
    runtime: tokio::runtime::Runtime,
}

impl ServerStore {
    /// Connects to `url` (gRPC, e.g. `http://127.0.0.1:6334`) with `api_key` if the server wants
    /// one, and opens `collection`, creating it for `dim`-dimensional cosine vectors with keyword
    /// indexes on the filter keys when absent.
    pub fn open(
        url: &str,
        collection: &str,
        dim: usize,
        api_key: Option<&str>,
    ) -> Result<ServerStore, KnowledgeError> {
        let err = |e: &dyn std::fmt::Display| KnowledgeError::Vector {
            store: format!("{url}/{collection}"),
            reason: e.to_string(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| err(&e))?;
        let mut builder = Qdrant::from_url(url).skip_compatibility_check();
        if let Some(k) = api_key {
            builder = builder.api_key(k.to_string());
        }
        let client = builder.build().map_err(|e| err(&e))?;
        let store = ServerStore {
            url: url.to_string(),
            collection: collection.to_string(),
            client,
            runtime,
        };
        let exists = store
            .runtime
            .block_on(store.client.collection_exists(collection))
            .map_err(|e| err(&e))?;
        if !exists {
            let create = CreateCollectionBuilder::new(collection).vectors_config(
                VectorParamsBuilder::new(dim as u64, Distance::Cosine).on_disk(true),
            );
            store
                .runtime
                .block_on(store.client.create_collection(create))
                .map_err(|e| err(&e))?;
            for key in FILTER_KEYS {
                let index =
                    CreateFieldIndexCollectionBuilder::new(collection, key, FieldType::Keyword)
                        .wait(true);
                store
                    .runtime
                    .block_on(store.client.create_field_index(index))
                    .map_err(|e| err(&e))?;
            }
        }
        let info = store
            .runtime
            .block_on(store.client.collection_info(collection))
            .map_err(|e| err(&e))?;
        let size = info
            .result
            .and_then(|r| r.config)
            .and_then(|c| c.params)
            .and_then(|p| p.vectors_config)
            .and_then(|v| v.config)
            .and_then(|c| match c {
                qdrant_client::qdrant::vectors_config::Config::Params(p) => Some(p.size as usize),
                qdrant_client::qdrant::vectors_config::Config::ParamsMap(_) => None,
            });
        if size != Some(dim) {
            return Err(err(&format!(
                "collection holds {size:?}-dimensional vectors, the embedder makes {dim}"
            )));
        }
        Ok(store)
    }

    fn err(&self, e: impl std::fmt::Display) -> KnowledgeError {
        KnowledgeError::Vector {
            store: self.describe(),
            reason: e.to_string(),
        }
    }

    fn filter(filter: &ChunkFilter) -> Filter {
        Filter::must(filter_conditions(filter).into_iter().map(|(key, values)| {
            if values.len() == 1 {
                Condition::matches(key, values[0].clone())
            } else {
                Condition::matches(key, values)
            }
        }))
    }
}

impl VectorStore for ServerStore {
    fn describe(&self) -> String {
        format!("qdrant server {} collection {}", self.url, self.collection)
    }

    fn upsert(&self, points: &[VectorPoint]) -> Result<(), KnowledgeError> {
        if points.is_empty() {
            return Ok(());
        }
        let mut list = Vec::with_capacity(points.len());
        for p in points {
            let payload = serde_json::to_value(&p.payload).map_err(|e| self.err(e))?;
            let payload = qdrant_client::Payload::try_from(payload).map_err(|e| self.err(e))?;
            list.push(PointStruct::new(
                point_id(&p.payload.chunk_id),
                p.vector.clone(),
                payload,
            ));
        }
        let request = UpsertPointsBuilder::new(&self.collection, list).wait(true);
        self.runtime
            .block_on(self.client.upsert_points(request))
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn delete_version(&self, version_key: &str) -> Result<(), KnowledgeError> {
        let filter = Filter::must([Condition::matches("version_key", version_key.to_string())]);
        let request = DeletePointsBuilder::new(&self.collection)
            .points(filter)
            .wait(true);
        self.runtime
            .block_on(self.client.delete_points(request))
            .map_err(|e| self.err(e))?;
        Ok(())
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
        let request = QueryPointsBuilder::new(&self.collection)
            .query(vector.to_vec())
            .filter(Self::filter(filter))
            .limit(limit as u64)
            .with_payload(true);
        let response = self
            .runtime
            .block_on(self.client.query(request))
            .map_err(|e| self.err(e))?;
        Ok(response
            .result
            .into_iter()
            .map(|p| {
                let get = |k: &str| p.get(k).as_str().cloned().unwrap_or_default();
                VectorHit {
                    score: p.score,
                    chunk_id: get("chunk_id"),
                    version_key: get("version_key"),
                }
            })
            .collect())
    }

    fn version_keys(&self) -> Result<BTreeSet<String>, KnowledgeError> {
        let request = FacetCountsBuilder::new(&self.collection, "version_key")
            .limit(1_000_000)
            .exact(true);
        let response = self
            .runtime
            .block_on(self.client.facet(request))
            .map_err(|e| self.err(e))?;
        Ok(response
            .hits
            .into_iter()
            .filter(|h| h.count > 0)
            .filter_map(|h| match h.value.and_then(|v| v.variant) {
                Some(facet_value::Variant::StringValue(s)) => Some(s),
                _ => None,
            })
            .collect())
    }

    fn count(&self) -> Result<usize, KnowledgeError> {
        let request = CountPointsBuilder::new(&self.collection).exact(true);
        let response = self
            .runtime
            .block_on(self.client.count(request))
            .map_err(|e| self.err(e))?;
        Ok(response.result.map(|r| r.count as usize).unwrap_or(0))
    }

    fn flush(&self) -> Result<(), KnowledgeError> {
        // Every write above waits for the server to apply it (`wait(true)`).
        Ok(())
    }
}
