//! `kernels`' integration tests, one binary: the public API, the engines against each other and
//! closed forms, validation against QuantLib goldens, and the CUDA backend (with `--features
//! cuda`).

mod api;
mod calendars;
mod cuda;
mod engines;
mod validation;
