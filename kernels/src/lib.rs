//! The pricing core: OTC structures as data, closed forms, Monte Carlo and PDE engines on CPU
//! and CUDA, Greeks, solvers, scenario grids and book revaluation.
//!
//! # Design
//!
//! * **Products are data** ([`product::Product`], JSON): a terminal payoff made of legs plus
//!   optional features — American exercise, averaging, a single barrier, an autocall block
//!   (knock-out schedule with coupons, knock-in with loss leg, phoenix coupons with memory).
//!   Vanillas, digitals, barriers, shark fins, Asians, snowballs and phoenixes are combinations
//!   of these; `examples/` has one file per product. [`product::Product::compile`] validates
//!   every field against a [`market::Market`] (errors name the field) and yields a
//!   [`product::Contract`] of times and absolute levels, the only thing engines read.
//! * **Engines**: [`analytic`] (Black-Scholes, digitals, Reiner-Rubinstein barriers, geometric
//!   Asians: the references), [`mc`] (exact log-normal steps, Philox4x32-10 keyed by (seed,
//!   contract, path, step), antithetic pairs or Sobol + Brownian bridge, bridge-corrected
//!   continuous barriers, several scenarios per pass), [`pde`] (Crank–Nicolson + Rannacher on a
//!   concentrated log grid, state grids for knock-in/memory, Brennan–Schwartz for American).
//! * **Backends** ([`backend`]): the Monte Carlo [`mc::Program`] is a flat description that the
//!   CPU loop ([`mc::cpu`]) and the CUDA kernel (`src/cuda/mc.cu`, compiled by NVRTC at run time,
//!   `cuda` feature) interpret identically, drawing identical normals. `auto` picks the GPU when
//!   usable and reports the choice and the reason in every result.
//! * **Entry points**: [`pricing::price`] (one contract), [`risk::revalue_book`] (a book with
//!   per-contract errors), [`risk::scenario_grid`] (spot × vol × days), [`solve::solve`] (coupon,
//!   strike, barrier, participation for a target value).
//!
//! Rules: `kernels` knows nothing of documents, models or users; it depends on no other crate
//! of ours; bad input is an error naming the field, never a panic or a silent NaN.

pub mod analytic;
pub mod backend;
#[cfg(feature = "cuda")]
pub mod cuda;
/// Without the `cuda` feature, `cuda` is its twin: the same names, each saying that this build
/// has no CUDA support.
#[cfg(not(feature = "cuda"))]
#[path = "dummy_cuda.rs"]
pub mod cuda;
pub mod dates;
pub mod error;
pub mod market;
pub mod math;
pub mod mc;
pub mod pde;
pub mod pricing;
pub mod product;
pub mod risk;
pub mod solve;

pub use backend::{Backend, BackendChoice};
pub use error::{PricingError, Result};
pub use market::{Market, MarketSet};
pub use pricing::{EngineKind, Greeks, PriceResult, PricingRequest, price};
pub use product::{Contract, Product};
