//! The worker: consumes the jobs queue the bot fills and answers each request by editing the
//! user's "⏳" message (or sending anew for scheduled digests). A job whose answer went out is
//! marked done, so a redelivery does nothing; a failing job is retried by the queue and, on its
//! last attempt, tells the user it did not work.

mod digest;
mod split;
mod texts;

pub use split::{TELEGRAM_LIMIT, split_blocks};
pub use texts::WorkerTexts;

use async_trait::async_trait;
use tracing::Instrument;
use siftgram_bot::Outbox;
use siftgram_bot::teloxide::types::{ChatId, MessageId};
use siftgram_core::answer::Asker;
use siftgram_core::consume::{HandleError, MessageHandler};
use siftgram_core::discover::{Recommender, SearchOutcome, Searcher};
use siftgram_core::messages::{Delivery, Job, JobRequest, ReplyTo};
use siftgram_core::ports::{ChatModel, Queue, ReceivedMessage, WebSearch};
use siftgram_core::repo::{JobResult, Repository};
use siftgram_core::retrieval::Retriever;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error(transparent)]
    Ask(#[from] siftgram_core::answer::AskError),
    #[error(transparent)]
    Retrieval(#[from] siftgram_core::retrieval::RetrievalError),
    #[error(transparent)]
    Repo(#[from] siftgram_core::repo::RepoError),
    #[error(transparent)]
    Search(#[from] siftgram_core::discover::SearchError),
    #[error(transparent)]
    Bot(#[from] siftgram_bot::BotError),
    #[error("events queue: {0}")]
    Queue(#[from] siftgram_core::ports::QueueError),
}

/// Results shown per `/search` and `/recommend`.
const RESULTS: usize = 8;

pub struct Worker {
    pub repo: Repository,
    pub asker: Asker,
    pub retriever: Arc<Retriever>,
    pub recommender: Recommender,
    pub chat: Option<Arc<dyn ChatModel>>,
    pub web: Option<Arc<dyn WebSearch>>,
    pub out: Outbox,
    /// Where `digest_sent` goes (outgoing webhooks); None: not announced.
    pub events: Option<Arc<dyn Queue>>,
    /// Deliveries after which a failing job gives up (the jobs queue's receive limit).
    pub max_receives: u32,
}

impl Worker {
    /// Builds the use cases over one retriever (what every binary does).
    pub fn new(repo: Repository, retriever: Arc<Retriever>, chat: Option<Arc<dyn ChatModel>>, web: Option<Arc<dyn WebSearch>>, out: Outbox, events: Option<Arc<dyn Queue>>) -> Worker {
        let asker = Asker { repo: repo.clone(), retriever: retriever.clone(), keywords: retriever.keywords.clone(), chat: chat.clone(), settings: Default::default() };
        let recommender = Recommender { repo: repo.clone(), retriever: retriever.clone() };
        let max_receives = siftgram_core::schema::queue_spec("jobs").map_or(3, |s| s.max_receives);
        Worker { repo, asker, retriever, recommender, chat, web, out, events, max_receives }
    }

    /// Runs one job unless it was already done.
    pub async fn run(&self, job: &Job) -> Result<(), WorkError> {
        if self.repo.is_done("job", &job.id, "").await? {
            tracing::info!(job = %job.id, "job already done; redelivery ignored");
            return Ok(());
        }
        let now = self.repo.clock().now();
        let t = WorkerTexts(job.reply.language);
        match &job.request {
            JobRequest::Ask { question } if job.delivery == Delivery::Api => {
                let asked = self.asker.ask(job.user, question, job.reply.language, now).await?;
                tracing::info!(job = %job.id, kind = ?asked.answer.kind, cached = asked.from_cache, sources = asked.answer.sources.len(), "answered for the API");
                self.repo.save_job_result(job.user, &job.id, &JobResult::Answered { answer: asked.answer }).await?;
            }
            JobRequest::Ask { question } => {
                if self.chat.is_some() && let Some(message) = job.reply.message_id {
                    self.out.edit(ChatId(job.reply.chat_id), MessageId(message), t.thinking(), None).await?;
                }
                let asked = self.asker.ask(job.user, question, job.reply.language, now).await?;
                tracing::info!(job = %job.id, kind = ?asked.answer.kind, cached = asked.from_cache, sources = asked.answer.sources.len(), "answered");
                let blocks = match asked.answer.kind {
                    siftgram_core::answer::AnswerKind::Nothing => {
                        let (scope, utc_offset) = self.retriever.time_scope(job.user, question, now).await?;
                        vec![t.nothing_found(&self.channels_searched(job.user).await?, scope.window, utc_offset)]
                    }
                    _ => t.answer(&asked.answer),
                };
                self.reply(job, &blocks).await?;
            }
            JobRequest::Search { query } => {
                let outcome = self.search(job, query).await?;
                self.reply(job, &t.search(query, &outcome.results, outcome.web)).await?;
            }
            JobRequest::Recommend => {
                let picks = self.recommender.recommend(job.user, now, RESULTS).await?;
                self.reply(job, &t.recommendations(&picks)).await?;
            }
            JobRequest::Digest => self.digest(job, None).await?,
            JobRequest::ScheduledDigest { due } => self.digest(job, Some(*due)).await?,
        }
        self.repo.mark_done("job", &job.id, "").await?;
        Ok(())
    }

    /// The titles of the channels a question of `user`'s is searched in (the ones they follow).
    async fn channels_searched(&self, user: siftgram_core::model::UserId) -> Result<Vec<String>, WorkError> {
        let mut titles = Vec::new();
        for sub in self.repo.subscriptions_of(user).await? {
            if let Some(channel) = self.repo.get_channel(sub.channel).await? {
                titles.push(channel.title);
            }
        }
        Ok(titles)
    }

    async fn search(&self, job: &Job, query: &str) -> Result<SearchOutcome, WorkError> {
        let searcher = Searcher { repo: self.repo.clone(), retriever: self.retriever.clone(), web: self.web.clone() };
        Ok(searcher.search(job.user, query, job.reply.language, RESULTS).await?)
    }

    /// Delivers `blocks` for `job`: the first message replaces the "⏳" one (if any), the rest
    /// follow. Each part sent as a new message is recorded under the job, so a job retried after
    /// a later part failed does not send the earlier ones again (editing the "⏳" is idempotent).
    pub(crate) async fn reply(&self, job: &Job, blocks: &[String]) -> Result<(), WorkError> {
        for (i, part) in split_blocks(blocks, TELEGRAM_LIMIT).iter().enumerate() {
            let edits = i == 0 && job.reply.message_id.is_some();
            let what = format!("part{i}");
            if !edits && self.repo.sent_for_work(&job.id, &what).await?.is_some() {
                continue;
            }
            self.deliver_part(&job.reply, i, part).await?;
            if !edits {
                self.repo.record_sent_for_work(&job.id, &what, 0).await?;
            }
        }
        Ok(())
    }

    /// Part `index` of a reply: the first replaces the "⏳" message (if any), the rest are sent.
    pub(crate) async fn deliver_part(&self, to: &ReplyTo, index: usize, part: &str) -> Result<(), WorkError> {
        let chat = ChatId(to.chat_id);
        match (index, to.message_id) {
            (0, Some(message)) => self.out.edit(chat, MessageId(message), part.to_owned(), None).await?,
            _ => {
                self.out.send(chat, part.to_owned(), None).await?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl MessageHandler for Worker {
    async fn handle(&self, message: &ReceivedMessage) -> Result<(), HandleError> {
        let job: Job = match serde_json::from_str(&message.body) {
            Ok(job) => job,
            Err(e) => {
                tracing::error!(error = %e, "malformed job dropped");
                return Ok(());
            }
        };
        let span = tracing::info_span!("job", id = %job.id, user = %job.user);
        match self.run(&job).instrument(span).await {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::error!(error = %e, attempt = message.receive_count, "job failed");
                if message.receive_count >= self.max_receives {
                    match job.delivery {
                        Delivery::Api => {
                            let _ = self.repo.save_job_result(job.user, &job.id, &JobResult::Failed).await;
                        }
                        Delivery::Chat if job.reply.message_id.is_some() => {
                            let _ = self.reply(&job, &[WorkerTexts(job.reply.language).failed()]).await;
                        }
                        Delivery::Chat => {}
                    }
                }
                Err(HandleError::retry(e.to_string()))
            }
        }
    }
}
