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
    #[error("infra/functions.json: {0}")]
    Functions(String),
}

/// The queues every node uses, from the migrations.
pub fn queue_specs() -> Result<Vec<QueueSpec>, SchemaError> {
    Ok(migrations()?.iter().flat_map(|m| m.queues.iter().map(QueueDefinition::spec)).collect())
}

/// The spec of one shipped queue by name (`commands`, `posts`, `jobs`, `events`).
pub fn queue_spec(name: &str) -> Result<QueueSpec, SchemaError> {
    queue_specs()?.into_iter().find(|q| q.name == name).ok_or_else(|| SchemaError::UnknownQueue(name.to_owned()))
}

/// `infra/functions.json`: the functions and what invokes them (Terraform reads the same file).
const FUNCTIONS: &str = include_str!("../../../infra/functions.json");

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct FunctionDefinition {
    pub name: String,
    #[serde(default)]
    pub http: Vec<HttpRoute>,
    #[serde(default)]
    pub queues: Vec<QueueTrigger>,
    #[serde(default)]
    pub schedule: Option<Schedule>,
}

/// An API Gateway (REST) route: `method` (`ANY` for all) and a path, `{proxy+}` for the rest.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct HttpRoute {
    pub method: String,
    pub path: String,
}

impl HttpRoute {
    /// Whether this route takes `method` `path` (REST API matching: exact, or a `{proxy+}` tail).
    pub fn matches(&self, method: &str, path: &str) -> bool {
        let method_ok = self.method == "ANY" || self.method.eq_ignore_ascii_case(method);
        let path_ok = match self.path.strip_suffix("{proxy+}") {
            Some(prefix) => path.strip_prefix(prefix).is_some_and(|rest| !rest.is_empty()),
            None => self.path == path,
        };
        method_ok && path_ok
    }
}

/// An SQS event-source mapping (always with partial batch responses: the functions report
/// the records that failed).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct QueueTrigger {
    pub queue: String,
    pub batch_size: u32,
    #[serde(default)]
    pub batching_window_secs: u32,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Schedule {
    pub every_minutes: u32,
}

#[derive(Deserialize)]
struct FunctionsFile {
    functions: Vec<FunctionDefinition>,
}

/// The shipped functions, checked: every trigger names a queue of the schema, batches are what
/// SQS mappings allow (1–10 records; a FIFO queue takes no batching window).
pub fn functions() -> Result<Vec<FunctionDefinition>, SchemaError> {
    parse_functions(FUNCTIONS)
}

fn parse_functions(text: &str) -> Result<Vec<FunctionDefinition>, SchemaError> {
    let file: FunctionsFile = serde_json::from_str(text).map_err(|e| SchemaError::Functions(e.to_string()))?;
    let queues = queue_specs()?;
    for f in &file.functions {
        for t in &f.queues {
            let spec = queues.iter().find(|q| q.name == t.queue).ok_or_else(|| SchemaError::Functions(format!("{}: no queue named {:?} in the schema", f.name, t.queue)))?;
            if !(1..=10).contains(&t.batch_size) {
                return Err(SchemaError::Functions(format!("{} on {}: batch_size {} is not 1–10", f.name, t.queue, t.batch_size)));
            }
            if spec.fifo && t.batching_window_secs > 0 {
                return Err(SchemaError::Functions(format!("{} on {}: a FIFO queue's mapping takes no batching window", f.name, t.queue)));
            }
        }
        if f.schedule.as_ref().is_some_and(|s| s.every_minutes == 0) {
            return Err(SchemaError::Functions(format!("{}: a schedule of every 0 minutes", f.name)));
        }
    }
    Ok(file.functions)
}

/// The function a queue's messages go to, and how.
pub fn queue_triggers() -> Result<Vec<(String, QueueTrigger)>, SchemaError> {
    Ok(functions()?.into_iter().flat_map(|f| f.queues.into_iter().map(move |t| (f.name.clone(), t))).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_functions_manifest_names_only_queues_of_the_schema() {
        let functions = super::functions().unwrap();
        let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["bot", "api", "indexer", "worker", "scheduler"]);
        let triggers = super::queue_triggers().unwrap();
        assert_eq!(triggers.iter().map(|(f, t)| (f.as_str(), t.queue.as_str())).collect::<Vec<_>>(), [("indexer", "posts"), ("worker", "jobs"), ("worker", "events")]);
        let bad = |json: &str| super::parse_functions(json).unwrap_err().to_string();
        assert!(bad(r#"{"functions": [{"name": "x", "queues": [{"queue": "nope", "batch_size": 1}]}]}"#).contains("no queue named \"nope\""));
        assert!(bad(r#"{"functions": [{"name": "x", "queues": [{"queue": "jobs", "batch_size": 11}]}]}"#).contains("batch_size"));
        assert!(bad(r#"{"functions": [{"name": "x", "queues": [{"queue": "commands", "batch_size": 1, "batching_window_secs": 5}]}]}"#).contains("FIFO"));
    }

    #[test]
    fn routes_match_as_api_gateway_does() {
        let route = |m: &str, p: &str| super::HttpRoute { method: m.into(), path: p.into() };
        assert!(route("POST", "/telegram").matches("POST", "/telegram"));
        assert!(!route("POST", "/telegram").matches("GET", "/telegram"));
        assert!(!route("POST", "/telegram").matches("POST", "/telegram/x"));
        assert!(route("ANY", "/api/{proxy+}").matches("DELETE", "/api/channels/5"));
        assert!(!route("ANY", "/api/{proxy+}").matches("GET", "/api/"), "a proxy takes at least one segment");
        assert!(!route("ANY", "/api/{proxy+}").matches("GET", "/apix"));
    }

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
