//! `siftgram migrate`: applies the versioned definitions in `migrations/` in order, once each,
//! and records every applied version in the table itself. Running it again changes nothing.

use crate::backend::{Backend, BackendKind};
use crate::config::Config;
pub use siftgram_core::schema::{Migration, migrations, queue_specs};

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Malformed(#[from] siftgram_core::schema::SchemaError),
    #[error("migration {version} ({name}) failed: {why}")]
    Failed { version: u32, name: String, why: String },
}

/// What a migrate run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    pub applied: Vec<u32>,
    pub schema_version: u32,
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
