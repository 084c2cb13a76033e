//! Outbound HTTP: the web-search adapter (SearXNG's JSON API) and outgoing webhooks signed with
//! HMAC-SHA256, delivered from the events queue.

mod searxng;
mod webhooks;

pub use searxng::{Searxng, SearxngConfig};
pub use webhooks::{WebhookDispatcher, WebhookTargets, sign, webhook_events};

fn http_client(timeout: std::time::Duration) -> reqwest::Client {
    // reqwest is built without a default TLS provider (ring only); install it once.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(timeout).build().expect("HTTP client")
}
