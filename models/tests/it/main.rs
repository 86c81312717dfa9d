//! `models`' integration tests, one binary: the installer, golden vectors and tokens of the fixture
//! models, constrained JSON, the remote backend, chat templates against transformers' renderer,
//! and the default model (opt-in).

mod default_model;
mod golden;
mod install;
mod json_constraint;
mod remote;
mod templates;
