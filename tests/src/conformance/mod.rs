//! Cases every adapter of a port must pass. Each takes a fresh `TestSystem`; the `suite!` macro
//! turns them into one test per backend.

pub mod index;
pub mod queue;
pub mod repositories;
pub mod table_store;
