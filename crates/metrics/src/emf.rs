//! The Lambdas' metrics: the same `siftgram_core::telemetry` names, written after each
//! invocation as CloudWatch Embedded Metric Format documents (one JSON line per label set) on
//! stdout, which CloudWatch Logs turns into metrics without an API call. Counters carry the
//! invocation's increments, histograms its observations, gauges their value now; dimensions are
//! the function's name and the metric's labels.

use crate::MetricsError;
use metrics_cloudwatch_embedded::{Builder, Collector};
use std::sync::OnceLock;

/// The CloudWatch namespace of every Siftgram metric.
pub const NAMESPACE: &str = "Siftgram";

static COLLECTOR: OnceLock<Result<&'static Collector, String>> = OnceLock::new();

#[derive(Clone, Copy)]
pub struct Emf(&'static Collector);

/// Installs the EMF recorder for `function` (once per process; later calls get the first).
pub fn install_emf(function: &'static str) -> Result<Emf, MetricsError> {
    COLLECTOR
        .get_or_init(|| {
            let collector = Builder::new().cloudwatch_namespace(NAMESPACE).with_dimension("function", function).init().map_err(|e| e.to_string())?;
            siftgram_core::telemetry::describe();
            Ok(collector)
        })
        .clone()
        .map(Emf)
        .map_err(MetricsError)
}

impl Emf {
    /// Writes what was recorded since the last flush.
    pub fn flush(&self, out: impl std::io::Write) -> std::io::Result<()> {
        self.0.flush(out)
    }

    /// Runs one invocation, then writes its metrics to stdout (the function's log stream).
    pub async fn around<T>(&self, invocation: impl Future<Output = T>) -> T {
        self.around_to(std::io::stdout(), invocation).await
    }

    /// Runs one invocation, then writes its metrics to `out`.
    pub async fn around_to<T>(&self, out: impl std::io::Write, invocation: impl Future<Output = T>) -> T {
        let result = invocation.await;
        if let Err(e) = self.flush(out) {
            tracing::warn!(error = %e, "metrics not written");
        }
        result
    }
}
