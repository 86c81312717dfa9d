//! `web`'s integration tests, one binary: the API and its middleware, slow and greedy clients on a
//! real socket, documents, extraction, the OpenAI-compatible endpoints (local and remote) and the
//! RFQ desk over HTTP, and the web application's pages (in-process, and in a real browser against
//! the real server).

mod api;
mod browser;
mod compliance;
mod documents;
mod drafting;
mod evals;
mod extraction;
mod hostile;
mod openai;
mod openai_remote;
mod pricing;
mod races;
mod rfq;
mod security;
mod slow_clients;
mod ui;
mod ui_knowledge;
mod ui_ops;
mod wecom;
