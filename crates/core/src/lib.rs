//! Siftgram's domain: the model, the rules (plain functions), the ports (async traits the
//! adapters implement) and the repositories written once on top of the table-store port.
//!
//! This crate performs no I/O itself and depends on no AWS, HTTP or database crate; a test in
//! `tests/` checks that with `cargo tree`.

pub mod answer;
pub mod clock;
pub mod consume;
pub mod digest;
pub mod discover;
pub mod export;
pub mod hash;
pub mod indexing;
pub mod messages;
pub mod model;
pub mod ports;
pub mod repo;
pub mod retention;
pub mod retrieval;
pub mod rules;
pub mod schema;
pub mod sync;
pub mod telemetry;
pub mod trace;

pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
