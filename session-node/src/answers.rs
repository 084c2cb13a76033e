//! Standalone mode's answering: the worker on the embedded jobs queue (needs the bot, which it
//! answers through), the webhook dispatcher on the events queue, and the digest schedule
//! checked every minute (the scheduler Lambda's job in the cloud).

use crate::Backend;
use crate::config::Config;
use crate::search::SearchServices;
use crate::supervise::{consume_queue, every};
use siftgram_core::digest::enqueue_due_digests;
use siftgram_core::ports::{ChatModel, WebSearch};
use siftgram_core::schema::queue_spec;
use siftgram_web::{Searxng, WebhookDispatcher};
use siftgram_worker::Worker;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub async fn spawn(backend: Backend, search: &SearchServices, config: &Config, shutdown: watch::Receiver<bool>) -> Result<Vec<JoinHandle<()>>, String> {
    let mut tasks = Vec::new();
    if let Some(bot) = &config.bot {
        let events = backend.events_queue(config).await?;
        let chat = config.chat.clone().map(|c| c as Arc<dyn ChatModel>);
        let web = config.searxng.clone().map(|c| Arc::new(Searxng::new(c)) as Arc<dyn WebSearch>);
        let worker = Worker::new(backend.repo.clone(), search.retriever.clone(), chat, web, bot.outbox(), events);
        tasks.push(consume_queue("worker", backend.clone(), "jobs", Arc::new(worker), shutdown.clone()));
        let jobs = backend.queue(queue_spec("jobs").map_err(|e| e.to_string())?).await.map_err(|e| e.to_string())?;
        let repo = backend.repo.clone();
        tasks.push(every("digest-schedule", Duration::from_secs(60), shutdown.clone(), move || {
            let (repo, jobs) = (repo.clone(), jobs.clone());
            async move {
                let n = enqueue_due_digests(&repo, &*jobs, repo.clock().now()).await?;
                if n > 0 {
                    tracing::info!(digests = n, "due digests enqueued");
                }
                Ok::<(), siftgram_core::digest::DuePassError>(())
            }
        }));
    }
    if let Some(targets) = &config.webhooks {
        let dispatcher = WebhookDispatcher::new(backend.repo.clone(), targets.clone());
        tasks.push(consume_queue("webhooks", backend.clone(), "events", Arc::new(dispatcher), shutdown));
    }
    Ok(tasks)
}
