//! The research core on the real demo market data (`demo/market-data/`, see its MANIFEST.md) and
//! on bad files.

mod bars;
