//! Chat models: one OpenAI-compatible provider (GigaChat through gpt2giga, OpenRouter, Ollama…)
//! and an ordered chain of them — each call tries providers in order, skipping any whose circuit
//! breaker is open, and falls through on timeouts, 429s and 5xx (after that provider's retries).

use crate::openai::{CallError, OpenAiEndpoint, post_json};
use async_trait::async_trait;
use serde_json::json;
use siftgram_core::ports::chat::Role;
use siftgram_core::ports::{ChatAnswer, ChatError, ChatMessage, ChatModel};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct OpenAiChat {
    http: reqwest::Client,
    pub endpoint: OpenAiEndpoint,
    /// Attempts per call before falling through to the next provider.
    pub attempts: u32,
}

impl OpenAiChat {
    pub fn new(endpoint: OpenAiEndpoint) -> OpenAiChat {
        let http = endpoint.http_client();
        OpenAiChat { http, endpoint, attempts: 2 }
    }
}

#[async_trait]
impl ChatModel for OpenAiChat {
    async fn complete(&self, messages: &[ChatMessage]) -> Result<ChatAnswer, ChatError> {
        let messages: Vec<serde_json::Value> = messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    Role::System => "system",
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                json!({"role": role, "content": m.content})
            })
            .collect();
        let body = json!({"model": self.endpoint.model, "temperature": 0.2, "messages": messages});
        let answer = post_json(&self.http, &self.endpoint, "chat/completions", &body, self.attempts).await.map_err(|e| match e {
            CallError::Refused(m) => ChatError::Refused(m),
            CallError::Unavailable(m) => ChatError::Unavailable(m),
        })?;
        let content = answer["choices"][0]["message"]["content"].as_str().unwrap_or("").trim().to_owned();
        if content.is_empty() {
            return Err(ChatError::Refused("an empty answer".into()));
        }
        Ok(ChatAnswer { content, provider: self.endpoint.model.clone() })
    }
}

/// A circuit breaker: after `threshold` consecutive failures the provider is skipped for
/// `cooldown`, then tried again (one success closes it).
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

pub struct ProviderChain {
    providers: Vec<(Box<dyn ChatModel>, Mutex<Breaker>)>,
    pub threshold: u32,
    pub cooldown: Duration,
}

impl ProviderChain {
    pub fn new(providers: Vec<Box<dyn ChatModel>>) -> ProviderChain {
        let providers = providers.into_iter().map(|p| (p, Mutex::new(Breaker { failures: 0, open_until: None }))).collect();
        ProviderChain { providers, threshold: 3, cooldown: Duration::from_secs(60) }
    }
}

#[async_trait]
impl ChatModel for ProviderChain {
    async fn complete(&self, messages: &[ChatMessage]) -> Result<ChatAnswer, ChatError> {
        let mut reasons = Vec::new();
        for (i, (provider, breaker)) in self.providers.iter().enumerate() {
            let open = breaker.lock().expect("breaker lock").open_until.is_some_and(|t| Instant::now() < t);
            if open {
                siftgram_core::telemetry::provider_call(i + 1, "skipped", true);
                reasons.push(format!("provider {} cooling down", i + 1));
                continue;
            }
            match provider.complete(messages).await {
                Ok(answer) => {
                    *breaker.lock().expect("breaker lock") = Breaker { failures: 0, open_until: None };
                    siftgram_core::telemetry::provider_call(i + 1, "ok", false);
                    return Ok(answer);
                }
                Err(e) => {
                    tracing::warn!(provider = i + 1, error = %e, "chat provider failed; trying the next");
                    let opened = {
                        let mut b = breaker.lock().expect("breaker lock");
                        b.failures += 1;
                        if b.failures >= self.threshold {
                            b.open_until = Some(Instant::now() + self.cooldown);
                        }
                        b.open_until.is_some()
                    };
                    siftgram_core::telemetry::provider_call(i + 1, "failed", opened);
                    reasons.push(format!("provider {}: {e}", i + 1));
                }
            }
        }
        if reasons.is_empty() {
            reasons.push("no provider configured".into());
        }
        Err(ChatError::Unavailable(reasons.join("; ")))
    }
}
