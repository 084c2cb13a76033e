//! Embedded, durable adapters for the standalone node and tests: the table store and the queue,
//! both in one redb database file.
//!
//! Why redb: pure Rust (nothing to build in C, no server), ordered byte keys (so partitions and
//! sort-key ranges are plain range scans), serializable write transactions (so conditional writes
//! and multi-item transactions are exact), and copy-on-write commits that are fsynced before they
//! return (so an acknowledged write survives a crash or power loss). Writes that arrive together
//! share one transaction and one fsync (`GroupCommit`), so that guarantee costs one fsync per
//! group, not per write.

mod db;
mod group_commit;
mod keys;
mod queue;
mod table_store;

pub use db::{EmbeddedDb, EmbeddedError};
pub use group_commit::{CommitCounts, GroupCommit, WriteFailed};
pub use queue::EmbeddedQueue;
pub use table_store::EmbeddedTableStore;
