//! The process's metrics recorder: every `siftgram_core::telemetry` metric, rendered as
//! Prometheus text for the node's `/metrics` (`install`), or written as CloudWatch EMF lines by
//! the Lambdas (`install_emf`). Installed once per process (the first call wins; later calls get
//! the same handle).

mod emf;
pub use emf::{Emf, NAMESPACE, install_emf};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Renders the recorded metrics as Prometheus text.
pub type MetricsHandle = PrometheusHandle;
use std::sync::OnceLock;

#[derive(Debug, thiserror::Error)]
#[error("metrics recorder: {0}")]
pub struct MetricsError(String);

/// Seconds: from a cache hit (~1 ms) to a slow model answer (~1 min).
const BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// Installs the recorder (once; concurrent callers wait for the first) and returns the handle
/// that renders it.
pub fn install() -> Result<PrometheusHandle, MetricsError> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().set_buckets(BUCKETS).map_err(|e| e.to_string())?.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).map_err(|_| "another metrics recorder is installed in this process".to_owned())?;
            siftgram_core::telemetry::describe();
            Ok(handle)
        })
        .clone()
        .map_err(MetricsError)
}
