//! Digests: when they are due, and what goes in one.

mod collect;
mod due;
mod schedule;

pub use collect::{DigestContent, DigestItem, TopicGroup, collect_digest, digest_prompt};
pub use due::{DuePassError, enqueue_due_digests};
pub use schedule::next_due;
