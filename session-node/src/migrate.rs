//! `siftgram migrate`: applies the versioned definitions in `migrations/` in order, once each,
//! and records every applied version in the table itself. Running it again changes nothing.

use crate::backend::{Backend, BackendKind};
use crate::config::Config;
use serde::Deserialize;
use siftgram_core::ports::QueueSpec;
use std::time::Duration;

/// The definitions, compiled in so the binary (and every Lambda) carries its own schema.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_single_table.json"),
    include_str!("../../migrations/0002_posts_vector_collection.json"),
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

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("migration file {index} is malformed: {why}")]
    Malformed { index: usize, why: String },
    #[error("migration {version} ({name}) failed: {why}")]
    Failed { version: u32, name: String, why: String },
}

/// The migrations shipped with this build, in version order.
pub fn migrations() -> Result<Vec<Migration>, MigrateError> {
    let mut out = Vec::new();
    for (index, text) in MIGRATIONS.iter().enumerate() {
        let m: Migration = serde_json::from_str(text).map_err(|e| MigrateError::Malformed { index, why: e.to_string() })?;
        if m.version as usize != index + 1 {
            return Err(MigrateError::Malformed { index, why: format!("version {} out of order", m.version) });
        }
        out.push(m);
    }
    Ok(out)
}

/// What a migrate run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    pub applied: Vec<u32>,
    pub schema_version: u32,
}

/// The queues every node uses, from the migrations.
pub fn queue_specs() -> Result<Vec<QueueSpec>, MigrateError> {
    Ok(migrations()?.iter().flat_map(|m| m.queues.iter().map(QueueDefinition::spec)).collect())
}

pub async fn run(backend: &Backend, config: &Config) -> Result<MigrateReport, MigrateError> {
    let all = migrations()?;
    let failed = |m: &Migration, why: String| MigrateError::Failed { version: m.version, name: m.name.clone(), why };
    // The record of applied versions lives in the table, so the table comes first.
    if backend.kind == BackendKind::Aws
        && let (Some(first), Some(sdk)) = (all.first(), &backend.aws)
    {
        let client = aws_sdk_dynamodb::Client::new(sdk);
        siftgram_aws::ensure_table(&client, &config.table).await.map_err(|e| failed(first, e.to_string()))?;
    }
    let applied = backend.repo.applied_migrations().await.map_err(|e| failed(&all[0], e.to_string()))?;
    let mut report = MigrateReport { applied: Vec::new(), schema_version: 0 };
    for migration in &all {
        if applied.iter().any(|a| a.version == migration.version) {
            report.schema_version = migration.version;
            continue;
        }
        apply(backend, config, migration).await.map_err(|why| failed(migration, why))?;
        backend.repo.record_migration(migration.version, &migration.name).await.map_err(|e| failed(migration, e.to_string()))?;
        tracing::info!(version = migration.version, name = %migration.name, "migration applied");
        report.applied.push(migration.version);
        report.schema_version = migration.version;
    }
    Ok(report)
}

async fn apply(backend: &Backend, config: &Config, migration: &Migration) -> Result<(), String> {
    for queue in &migration.queues {
        backend.ensure_queue(queue.spec()).await.map_err(|e| e.to_string())?;
    }
    if let Some(sdk) = &backend.aws {
        let s3 = siftgram_aws::s3_client(sdk);
        for bucket in &migration.buckets {
            siftgram_aws::ensure_bucket(&s3, &format!("{}{bucket}", config.resource_prefix)).await?;
        }
    }
    // Table and vector collection definitions are documentation for the embedded backend (its
    // tables exist once written) and are applied by the adapters that own them.
    let _ = (&migration.table, &migration.vector_collection);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn shipped_migrations_parse_in_order() {
        let all = super::migrations().unwrap();
        assert_eq!(all.iter().map(|m| m.version).collect::<Vec<_>>(), vec![1, 2]);
        let names: Vec<String> = super::queue_specs().unwrap().into_iter().map(|q| q.name).collect();
        assert_eq!(names, ["commands", "posts", "jobs", "events"]);
    }
}
