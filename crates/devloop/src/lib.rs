//! The dev loop's stand-ins for the two things LocalStack cannot do on these machines (no Lambda
//! execution, so no event-source mappings and no API Gateway integrations): an **event-source
//! bridge** that long-polls each mapped SQS queue and invokes the function with the event JSON
//! the Lambda service would send, and an **API Gateway stand-in** that turns HTTP requests into
//! REST proxy events. Both read `infra/functions.json`, the manifest Terraform deploys from, so
//! the dev loop runs the functions the way the cloud will. A third stands in for the Qdrant
//! server no machine here can install: Qdrant's gRPC API (the adapter's part) over the embedded
//! index.

pub mod bridge;
pub mod cold_start;
pub mod gateway;
pub mod qdrant;
pub mod runner;
pub mod sqs_event;

pub use bridge::{EventSourceBridge, Mapping, PollReport, SqsFunction};
pub use gateway::{ApiGateway, HttpFunction};
