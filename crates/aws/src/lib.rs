//! AWS adapters: the table store on DynamoDB, queues on SQS, buckets on S3.
//! Developed and tested against LocalStack (`localstack/localstack.sh`); the same code runs in AWS.

mod attrs;
mod dynamo;
mod expr;
mod s3;
mod secrets;
mod sqs;

pub use dynamo::{DynamoTableStore, ensure_table};
pub use s3::{SiteFile, ensure_bucket, publish_site, s3_client};
pub use secrets::{SECRET_SETTINGS, SecretError, function_environment, resolve_secrets, with_secrets};
pub use sqs::{SqsQueue, TRACE_ATTRIBUTE};

use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

/// Loads AWS configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`),
/// optionally pointed at `endpoint` (LocalStack), with one rustls client on ring.
pub async fn sdk_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    let http = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// Full text of an SDK error (its `Display` alone is only "service error").
pub fn describe<E: std::error::Error>(e: &E) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Configuration for a local emulator (LocalStack): fixed test credentials and region.
pub async fn local_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    let http = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "siftgram-local"))
        .load()
        .await
}
