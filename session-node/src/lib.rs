//! The Siftgram session node. In standalone mode (the default) it is the whole system in one
//! process with embedded storage; in the cloud it owns the users' MTProto sessions.
//!
//! `App::start` builds everything once and returns a handle; `main.rs` only parses the command
//! line, and tests start the same `App` on a random port.

pub mod answers;
pub mod api;
pub mod app;
pub mod backend;
pub mod bench;
pub mod bot;
pub mod chaos;
pub mod config;
pub mod demo;
pub mod eval;
pub mod http;
pub mod migrate;
pub mod progress;
pub mod scratch;
pub mod search;
pub mod sessions;
pub mod sessions_task;
pub mod supervise;

pub use app::{App, RunningApp};
pub use backend::{Backend, BackendKind};
pub use config::Config;
