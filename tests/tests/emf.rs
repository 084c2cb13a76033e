//! The Lambdas' metrics as CloudWatch receives them: the bot function, deployed on LocalStack
//! and invoked with API Gateway events, writes Embedded Metric Format documents after each
//! invocation carrying exactly what that invocation did, under the same names as the node's
//! `/metrics`. (Its own test binary: the recorder is global to the process.)

use serde_json::Value;
use siftgram_core::telemetry;
use siftgram_tests::bot::WEBHOOK_SECRET;
use siftgram_tests::lambda::bot::{deploy, invoke, rest_event};

fn documents(written: &[u8]) -> Vec<Value> {
    String::from_utf8(written.to_vec()).unwrap().lines().map(|l| serde_json::from_str(l).expect("one JSON document a line")).collect()
}

/// The EMF documents written since the last flush.
fn flushed(emf: &siftgram_metrics::Emf) -> Vec<Value> {
    let mut out = Vec::new();
    emf.flush(&mut out).unwrap();
    documents(&out)
}

/// Invokes the function as its `main` does, returning the status and what the invocation wrote.
async fn invoked(emf: &siftgram_metrics::Emf, lambda: &siftgram_tests::lambda::bot::Lambda, update: &str) -> (u16, Vec<Value>) {
    let mut out = Vec::new();
    let status = emf.around_to(&mut out, invoke(lambda, &rest_event(Some(WEBHOOK_SECRET), update))).await;
    (status, documents(&out))
}

/// The value of `metric` in the document whose dimensions include `labels`.
fn value<'a>(docs: &'a [Value], metric: &str, labels: &[(&str, &str)]) -> Option<&'a Value> {
    docs.iter().filter(|d| labels.iter().all(|(k, v)| d[*k] == *v)).find_map(|d| d.get(metric))
}

mod localstack {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_invocation_writes_exactly_its_own_metrics_as_emf() {
        let emf = siftgram_metrics::install_emf("bot").unwrap();
        let lambda = deploy().await;
        let _ = flushed(&emf); // whatever deploying recorded
        let anna = lambda.telegram.user(611, "ru");
        let (status, docs) = invoked(&emf, &lambda, &anna.says("/start").to_string()).await;
        assert_eq!(status, 200);
        let doc = docs.iter().find(|d| d.get(telemetry::UPDATES).is_some()).expect("the update counted");
        let declared = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], siftgram_metrics::NAMESPACE);
        assert!(declared["Metrics"].as_array().unwrap().iter().any(|m| m["Name"] == telemetry::UPDATES), "{doc}");
        let dimensions: Vec<&str> = declared["Dimensions"][0].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
        assert!(dimensions.contains(&"function") && dimensions.contains(&"command"), "{dimensions:?}");
        assert!(doc["_aws"]["Timestamp"].as_u64().is_some());
        assert_eq!(value(&docs, telemetry::UPDATES, &[("function", "bot"), ("command", "start"), ("outcome", "handled")]), Some(&Value::from(1)));
        let latency = value(&docs, telemetry::UPDATE_SECONDS, &[("command", "start")]).and_then(Value::as_array).expect("its latency");
        assert_eq!(latency.len(), 1, "one observation");

        // Nothing happened since: nothing is written again. The next invocation counts alone.
        assert!(flushed(&emf).iter().all(|d| d.get(telemetry::UPDATES).is_none()), "counters are per invocation");
        let update = anna.says("/help").to_string();
        let (_, docs) = invoked(&emf, &lambda, &update).await;
        assert_eq!(value(&docs, telemetry::UPDATES, &[("command", "help")]), Some(&Value::from(1)));
        assert_eq!(value(&docs, telemetry::UPDATES, &[("command", "start")]), None);
        // A redelivery is taken in and counted as a duplicate, not as a second answer.
        let (_, docs) = invoked(&emf, &lambda, &update).await;
        assert_eq!(value(&docs, telemetry::UPDATES, &[("command", "help"), ("outcome", "handled")]), None, "{docs:?}");
        assert_eq!(value(&docs, telemetry::UPDATES, &[("command", "help"), ("outcome", "duplicate")]), Some(&Value::from(1)), "{docs:?}");
        lambda.sys.cleanup().await;
    }
}
