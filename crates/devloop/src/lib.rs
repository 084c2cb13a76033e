//! The dev loop's stand-ins for the two things LocalStack cannot do on these machines (no Lambda
//! execution, so no event-source mappings and no API Gateway integrations): an **event-source
//! bridge** that long-polls each mapped SQS queue and invokes the function with the event JSON
//! the Lambda service would send, and an **API Gateway stand-in** that turns HTTP requests into
//! REST proxy events. Both read `infra/functions.json`, the manifest Terraform deploys from, so
//! the dev loop runs the functions the way the cloud will.

pub mod bridge;
pub mod gateway;
pub mod runner;
pub mod sqs_event;

pub use bridge::{EventSourceBridge, Mapping, PollReport, SqsFunction};
pub use gateway::{ApiGateway, HttpFunction};
