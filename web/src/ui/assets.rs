//! The application's static files, embedded in the binary and served under content-hashed
//! names (`/assets/app.3f9a….css`) with a year-long immutable cache: a new build changes the
//! name, so browsers never run a stale script.

use crate::error::AppError;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// One embedded file.
pub struct Asset {
    /// The name before hashing (`app.css`).
    pub name: &'static str,
    /// Its media type.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static [u8],
}

/// The stylesheet.
pub const CSS: &Asset = &Asset {
    name: "app.css",
    content_type: "text/css; charset=utf-8",
    body: include_bytes!("../../assets/app.css"),
};

/// The script.
pub const JS: &Asset = &Asset {
    name: "app.js",
    content_type: "text/javascript; charset=utf-8",
    body: include_bytes!("../../assets/app.js"),
};

/// Every asset.
pub const ALL: &[&Asset] = &[CSS, JS];

/// Each asset's hashed file name (`app.<first 16 hex of its SHA-256>.css`).
static HASHED: LazyLock<Vec<(String, &'static Asset)>> = LazyLock::new(|| {
    ALL.iter()
        .map(|a| {
            let hash = hex::encode(Sha256::digest(a.body));
            let (stem, ext) = a.name.rsplit_once('.').unwrap_or((a.name, ""));
            (format!("{stem}.{}.{ext}", &hash[..16]), *a)
        })
        .collect()
});

/// The URL of `asset`.
pub fn url(asset: &Asset) -> String {
    HASHED
        .iter()
        .find(|(_, a)| a.name == asset.name)
        .map(|(n, _)| format!("/assets/{n}"))
        .unwrap_or_default()
}

/// `GET /assets/{name}`: an embedded file by its hashed name.
pub async fn get(Path(name): Path<String>) -> Result<Response, AppError> {
    let Some((_, asset)) = HASHED.iter().find(|(n, _)| *n == name) else {
        return Err(AppError::NotFound(format!("no asset {name:?}")));
    };
    let mut resp = (StatusCode::OK, asset.body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(resp)
}
