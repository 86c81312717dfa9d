//! Deskmate's research and risk core (issue #20): the market data research and risk reports
//! are built on, and the events they are about.
//!
//! - [`bars`]: daily bars (date, contract, open/high/low/close, settlement, volume, open
//!   interest) read from a CSV or JSON file as exchanges, data vendors and FRED write them. A
//!   file is taken whole or refused: a price of zero or below, a row whose high is below its
//!   low, two different bars for one contract and day, a date that does not parse, or a file
//!   that is not daily bars at all is refused naming the row and column. What can be read
//!   safely is kept and said: exact duplicate rows, rows without a price (FRED's `.` on a
//!   holiday), bars dated on a weekend, and gaps of three weekdays or more are notices.
//! - [`moves`]: every day a contract's close-to-close (or settlement-to-settlement) change
//!   reaches its product's threshold (3% by default) becomes a [`moves::Move`] with its
//!   numbers: the two prices, their dates and the change.
//!
//! - [`chart`]: an event window's prices as an SVG chart with the moves marked.
//!
//! Nothing here stores, schedules or approves: `assistant::market` keeps the bars and events
//! in the store, audited.

pub mod bars;
pub mod chart;
pub mod moves;

pub use bars::{Bar, BarsError, Notice, NoticeKind, Parsed, parse};
pub use moves::{Basis, Move, MoveRule, detect};
