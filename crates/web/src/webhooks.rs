//! Outgoing webhooks (n8n, Flowise): each event from the events queue becomes `new_post`,
//! `post_tagged`, `post_indexed` or `digest_sent`, POSTed as `{"event", "timestamp", "data"}` to
//! every configured URL with `X-Siftgram-Signature: sha256=<HMAC-SHA256 of the body>`. A target
//! that fails makes the message come back later (the queue is the retry); targets that already
//! got it are not sent it again. Nothing else waits for this consumer.

use async_trait::async_trait;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use siftgram_core::consume::{HandleError, MessageHandler};
use siftgram_core::hash::fnv64;
use siftgram_core::messages::Event;
use siftgram_core::ports::ReceivedMessage;
use siftgram_core::repo::Repository;
use std::time::Duration;

#[derive(Clone)]
pub struct WebhookTargets {
    pub urls: Vec<String>,
    pub secret: String,
}

/// The signing key never prints.
impl std::fmt::Debug for WebhookTargets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTargets").field("urls", &self.urls.len()).finish_non_exhaustive()
    }
}

impl WebhookTargets {
    /// `SIFTGRAM_WEBHOOK_URLS` (comma-separated; unset: no webhooks) and
    /// `SIFTGRAM_WEBHOOK_SECRET_KEY` (required with URLs: unsigned webhooks are refused).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<WebhookTargets>, (&'static str, String)> {
        let urls: Vec<String> = lookup("SIFTGRAM_WEBHOOK_URLS").unwrap_or_default().split(',').map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()).collect();
        if urls.is_empty() {
            return Ok(None);
        }
        if let Some(bad) = urls.iter().find(|u| url::Url::parse(u).map_or(true, |p| !matches!(p.scheme(), "http" | "https"))) {
            return Err(("SIFTGRAM_WEBHOOK_URLS", format!("{bad:?} is not an http(s) URL")));
        }
        let secret = lookup("SIFTGRAM_WEBHOOK_SECRET_KEY").map(|s| s.trim().to_owned()).filter(|s| s.len() >= 16);
        let secret = secret.ok_or(("SIFTGRAM_WEBHOOK_SECRET_KEY", "required (16+ characters) when webhook URLs are set".to_owned()))?;
        Ok(Some(WebhookTargets { urls, secret }))
    }
}

/// `sha256=<hex HMAC-SHA256 of body under secret>`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!("sha256={}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// The webhook events an internal event stands for, with their data.
pub fn webhook_events(event: &Event) -> Vec<(&'static str, Value)> {
    match event {
        Event::PostIndexed { key, chunks, tags, edited } => {
            let post = json!({"channel_id": key.channel_id.get(), "message_id": key.message_id});
            let mut out = Vec::new();
            if !edited {
                out.push(("new_post", post.clone()));
            }
            if !tags.is_empty() {
                out.push(("post_tagged", json!({"channel_id": key.channel_id.get(), "message_id": key.message_id, "tags": tags})));
            }
            out.push(("post_indexed", json!({"channel_id": key.channel_id.get(), "message_id": key.message_id, "chunks": chunks, "edited": edited})));
            out
        }
        Event::DigestSent { user, posts, parts, due } => {
            vec![("digest_sent", json!({"user_id": user.get(), "posts": posts, "parts": parts, "due": due.map(|d| d.0)}))]
        }
        // Removals, logins and sync progress are not part of the webhook contract.
        _ => Vec::new(),
    }
}

pub struct WebhookDispatcher {
    pub repo: Repository,
    pub targets: WebhookTargets,
    http: reqwest::Client,
}

impl WebhookDispatcher {
    pub fn new(repo: Repository, targets: WebhookTargets) -> WebhookDispatcher {
        WebhookDispatcher { repo, targets, http: crate::http_client(Duration::from_secs(10)) }
    }

    /// What is stored about the event's post (link, text, date, tags), read once per event.
    async fn stored_post(&self, event: &Event) -> Option<serde_json::Map<String, Value>> {
        let Event::PostIndexed { key, .. } = event else { return None };
        let post = self.repo.get_post(*key).await.ok()??;
        match json!({"link": post.link, "text": post.text, "date": post.date.0, "tags": post.tags}) {
            Value::Object(fields) => Some(fields),
            _ => None,
        }
    }

    async fn deliver(&self, url: &str, delivery: &str, body: &str, event: &str) -> Result<(), String> {
        let response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("x-siftgram-event", event)
            .header("x-siftgram-delivery", delivery)
            .header("x-siftgram-signature", sign(&self.targets.secret, body.as_bytes()))
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        match response.status() {
            s if s.is_success() => Ok(()),
            s => Err(format!("answered {s}")),
        }
    }
}

#[async_trait]
impl MessageHandler for WebhookDispatcher {
    async fn handle(&self, message: &ReceivedMessage) -> Result<(), HandleError> {
        let event: Event = match serde_json::from_str(&message.body) {
            Ok(e) => e,
            Err(e) => {
                // Retrying cannot fix it; keep the queue moving.
                tracing::error!(error = %e, "malformed event dropped");
                return Ok(());
            }
        };
        let event_id = format!("{:016x}", fnv64(message.body.bytes()));
        let now = self.repo.clock().now();
        let mut failures = Vec::new();
        let post = self.stored_post(&event).await;
        for (name, mut data) in webhook_events(&event) {
            if let (Some(fields), Some(data)) = (&post, data.as_object_mut()) {
                data.extend(fields.clone());
            }
            let delivery = format!("{event_id}-{name}");
            let body = json!({"event": name, "timestamp": now.0, "delivery": delivery, "data": data}).to_string();
            for url in &self.targets.urls {
                let target = format!("{:016x}", fnv64(url.bytes()));
                let done = self.repo.is_done("hook", &delivery, &target).await.map_err(|e| HandleError::retry(e.to_string()))?;
                if done {
                    continue;
                }
                let delivered = self.deliver(url, &delivery, &body, name).await;
                siftgram_core::telemetry::webhook_delivery(delivered.is_ok());
                match delivered {
                    Ok(()) => self.repo.mark_done("hook", &delivery, &target).await.map_err(|e| HandleError::retry(e.to_string()))?,
                    Err(why) => {
                        tracing::warn!(event = name, target = %target, %why, "webhook delivery failed; will retry");
                        failures.push(why);
                    }
                }
            }
        }
        if failures.is_empty() { Ok(()) } else { Err(HandleError::retry(failures.join("; "))) }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_output_hides_the_signing_key_and_the_searxng_password() {
        let targets = super::WebhookTargets { urls: vec!["https://n8n.example/hook".into()], secret: "hook-signing-key-0123".into() };
        assert!(!format!("{targets:?}").contains("hook-signing-key"));
        let searxng = crate::SearxngConfig { base_url: "https://s.example".into(), basic_auth: Some(("me".into(), "pa55word".into())), timeout: std::time::Duration::from_secs(1) };
        let shown = format!("{searxng:?}");
        assert!(!shown.contains("pa55word") && shown.contains("me"), "{shown}");
    }

    use super::*;
    use siftgram_core::model::{ChannelId, PostKey};

    #[test]
    fn the_signature_is_rfc_4231_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(sign("Jefe", b"what do ya want for nothing?"), "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn targets_need_http_urls_and_a_signing_key() {
        let lookup = |vars: &'static [(&'static str, &'static str)]| move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
        assert!(WebhookTargets::from_lookup(lookup(&[])).unwrap().is_none());
        assert_eq!(WebhookTargets::from_lookup(lookup(&[("SIFTGRAM_WEBHOOK_URLS", "https://n8n.example/hook")])).unwrap_err().0, "SIFTGRAM_WEBHOOK_SECRET_KEY");
        assert_eq!(WebhookTargets::from_lookup(lookup(&[("SIFTGRAM_WEBHOOK_URLS", "ftp://x"), ("SIFTGRAM_WEBHOOK_SECRET_KEY", "0123456789abcdef")])).unwrap_err().0, "SIFTGRAM_WEBHOOK_URLS");
        let ok = WebhookTargets::from_lookup(lookup(&[("SIFTGRAM_WEBHOOK_URLS", "https://a.example/h, http://b.example/h"), ("SIFTGRAM_WEBHOOK_SECRET_KEY", "0123456789abcdef")])).unwrap().unwrap();
        assert_eq!(ok.urls.len(), 2);
    }

    #[test]
    fn a_new_tagged_post_is_three_webhook_events_and_an_edit_two() {
        let key = PostKey::new(ChannelId::new(5).unwrap(), 7).unwrap();
        let names = |edited| webhook_events(&Event::PostIndexed { key, chunks: 1, tags: vec!["rust".into()], edited }).into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(names(false), ["new_post", "post_tagged", "post_indexed"]);
        assert_eq!(names(true), ["post_tagged", "post_indexed"]);
        assert!(webhook_events(&Event::PostRemoved { key }).is_empty());
    }
}
