//! The schema as shipped: the versioned definitions in `migrations/` (table, queues, bucket,
//! vector collection), compiled in so every binary and Lambda agrees on queue names and settings.
//! Applying them is the `migrate` command's job; this module only reads them.

use crate::ports::QueueSpec;
use serde::Deserialize;
use std::time::Duration;

/// The definitions, compiled in so the binary (and every Lambda) carries its own schema.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/0001_single_table.json"),
    include_str!("../../../migrations/0002_posts_vector_collection.json"),
];

#[derive(Debug, Deserialize)]
pub struct Migration {
    pub version: u32,
    pub name: String,
    #[serde(default)]
    pub table: Option<serde_json::Value>,
    #[serde(default)]
    pub queues: Vec<QueueDefinition>,
    #[serde(default)]
    pub buckets: Vec<String>,
    #[serde(default)]
    pub vector_collection: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub struct QueueDefinition {
    pub name: String,
    pub fifo: bool,
    pub visibility_timeout_secs: u64,
    pub max_receives: u32,
}

impl QueueDefinition {
    pub fn spec(&self) -> QueueSpec {
        QueueSpec {
            name: self.name.clone(),
            visibility_timeout: Duration::from_secs(self.visibility_timeout_secs),
            max_receives: self.max_receives,
            fifo: self.fifo,
        }
    }
}

/// The migrations shipped with this build, in version order.
pub fn migrations() -> Result<Vec<Migration>, SchemaError> {
    let mut out = Vec::new();
    for (index, text) in MIGRATIONS.iter().enumerate() {
        let m: Migration = serde_json::from_str(text).map_err(|e| SchemaError::Malformed { index, why: e.to_string() })?;
        if m.version as usize != index + 1 {
            return Err(SchemaError::Malformed { index, why: format!("version {} out of order", m.version) });
        }
        out.push(m);
    }
    Ok(out)
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("migration file {index} is malformed: {why}")]
    Malformed { index: usize, why: String },
    #[error("no queue named {0:?} in the schema")]
    UnknownQueue(String),
}

/// The queues every node uses, from the migrations.
pub fn queue_specs() -> Result<Vec<QueueSpec>, SchemaError> {
    Ok(migrations()?.iter().flat_map(|m| m.queues.iter().map(QueueDefinition::spec)).collect())
}

/// The spec of one shipped queue by name (`commands`, `posts`, `jobs`, `events`).
pub fn queue_spec(name: &str) -> Result<QueueSpec, SchemaError> {
    queue_specs()?.into_iter().find(|q| q.name == name).ok_or_else(|| SchemaError::UnknownQueue(name.to_owned()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn shipped_migrations_parse_in_order() {
        let all = super::migrations().unwrap();
        assert_eq!(all.iter().map(|m| m.version).collect::<Vec<_>>(), vec![1, 2]);
        let names: Vec<String> = super::queue_specs().unwrap().into_iter().map(|q| q.name).collect();
        assert_eq!(names, ["commands", "posts", "jobs", "events"]);
        assert!(super::queue_spec("commands").unwrap().fifo);
        assert!(super::queue_spec("nope").is_err());
    }
}
