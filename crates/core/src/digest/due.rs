//! The scheduler's digest pass: every digest due by now becomes a job on the jobs queue (its id
//! names the user and the due time, so the worker sends it once however often it is enqueued),
//! then the user's schedule moves on to the next due time.

use crate::Timestamp;
use crate::messages::{Job, JobRequest, ReplyTo};
use crate::ports::{OutgoingMessage, Queue, QueueError};
use crate::repo::{RepoError, Repository};

#[derive(Debug, thiserror::Error)]
pub enum DuePassError {
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

const PAGE: usize = 100;

/// Enqueues the digests due at or before `now`; returns how many.
pub async fn enqueue_due_digests(repo: &Repository, jobs: &dyn Queue, now: Timestamp) -> Result<usize, DuePassError> {
    let mut enqueued = 0;
    // Each round moves every due item past `now` (or removes it), so rounds run out.
    for _ in 0..1_000 {
        let due = repo.due_digests(now, PAGE).await?;
        if due.is_empty() {
            break;
        }
        for (user, at) in due {
            // A blocked user (or one who lost access) gets none; the schedule still moves on.
            if let Some(found) = repo.get_user(user).await?.filter(|u| u.has_access()) {
                // A private chat's id is the user's id.
                let reply = ReplyTo { chat_id: user.get(), message_id: None, language: found.language };
                let job = Job { id: format!("digest-{user}-{}", at.0), user, reply, request: JobRequest::ScheduledDigest { due: at }, delivery: Default::default() };
                jobs.send(OutgoingMessage::new(serde_json::to_string(&job).expect("jobs serialize"))).await?;
                enqueued += 1;
            }
            repo.advance_digest(user, at).await?;
        }
    }
    Ok(enqueued)
}
