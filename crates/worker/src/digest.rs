//! Digest jobs: the posts since the last digest, grouped by topic, with an overview by the chat
//! model when the user wants one (the extracts alone otherwise), sent in parts under Telegram's
//! limit. Progress is recorded per part, so a redelivered job sends only what is missing and a
//! finished digest is never sent again.

use crate::{WorkError, Worker, WorkerTexts};
use siftgram_core::Timestamp;
use siftgram_core::digest::{collect_digest, digest_prompt};
use siftgram_core::messages::{Event, Job};
use siftgram_core::model::DigestFrequency;
use siftgram_core::ports::OutgoingMessage;
use siftgram_core::repo::DigestProgress;
use siftgram_core::rules;

impl Worker {
    pub(crate) async fn digest(&self, job: &Job, due: Option<Timestamp>) -> Result<(), WorkError> {
        let t = WorkerTexts(job.reply.language);
        let now = self.repo.clock().now();
        let Some(user) = self.repo.get_user(job.user).await? else { return Ok(()) };
        if !user.has_access() {
            tracing::info!("digest skipped: the user is blocked or has no access");
            return Ok(());
        }
        if rules::check_can_use_digests(&user, self.repo.catalog(), now).is_err() {
            tracing::info!("digest skipped: the tier no longer includes digests");
            return Ok(());
        }
        let digest_id = match due {
            Some(d) => format!("due{}", d.0),
            None => job.id.clone(),
        };
        let progress = self.repo.digest_progress(job.user, &digest_id).await?;
        if progress.done {
            tracing::info!(digest = %digest_id, "digest already sent");
            return Ok(());
        }
        let settings = self.repo.digest_settings(job.user).await?;
        let period = match settings.frequency {
            DigestFrequency::Daily => 86_400,
            DigestFrequency::Weekly => 7 * 86_400,
        };
        let since = settings.last_sent.unwrap_or(Timestamp(now.0 - period));
        let content = collect_digest(&self.repo, &settings, since, now).await?;
        if content.post_count() == 0 {
            if job.reply.message_id.is_some() {
                self.reply(job, &[t.nothing_new()]).await?;
            }
            self.repo.record_digest_progress(job.user, &digest_id, &DigestProgress { parts_sent: 0, done: true }).await?;
            return Ok(());
        }
        let overview = match (&self.chat, settings.ai_summary) {
            (Some(chat), true) => match chat.complete(&digest_prompt(&content, job.reply.language, settings.style)).await {
                Ok(answer) => Some(answer.content),
                Err(e) => {
                    tracing::warn!(error = %e, "no model for the digest overview; extracts only");
                    None
                }
            },
            _ => None,
        };
        let blocks = t.digest(&content, overview.as_deref());
        let parts = crate::split_blocks(&blocks, crate::TELEGRAM_LIMIT);
        for (i, part) in parts.iter().enumerate().skip(progress.parts_sent as usize) {
            self.deliver_part(&job.reply, i, part).await?;
            self.repo.record_digest_progress(job.user, &digest_id, &DigestProgress { parts_sent: i as u32 + 1, done: false }).await?;
        }
        self.repo.finish_digest(job.user, &digest_id, parts.len() as u32, now).await?;
        let shown: Vec<_> = content.groups.iter().flat_map(|g| g.items.iter().map(|i| i.post.key)).collect();
        self.repo.mark_seen(job.user, &shown).await?;
        if let Some(events) = &self.events {
            let event = Event::DigestSent { user: job.user, posts: content.post_count() as u32, parts: parts.len() as u32, due };
            events.send(OutgoingMessage::new(serde_json::to_string(&event).expect("events serialize"))).await?;
        }
        Ok(())
    }
}
