//! Retention: posts older than their channel's retention are removed from the index AND the
//! store (index first, so a crash in between leaves nothing searchable that is gone from the
//! store; running again finishes the job). Run daily by the scheduler / the standalone node.

use crate::Timestamp;
use crate::ports::{IndexError, SearchIndex};
use crate::repo::{RepoError, Repository};

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Index(#[from] IndexError),
}

const PAGE: usize = 100;

/// Removes every post past its channel's retention at `now`; returns how many were removed.
pub async fn apply_retention(repo: &Repository, index: &dyn SearchIndex, now: Timestamp) -> Result<u64, RetentionError> {
    let mut removed = 0;
    for channel in repo.list_channels().await? {
        let Some(days) = channel.retention_days else { continue };
        let cutoff = Timestamp(now.0 - i64::from(days) * Timestamp::DAY);
        // Oldest first; message ids grow with time, so the walk stops at the first keeper.
        'pages: loop {
            let (posts, _) = repo.channel_posts_oldest_first(channel.id, PAGE, None).await?;
            if posts.is_empty() {
                break;
            }
            for post in &posts {
                if post.date >= cutoff {
                    break 'pages;
                }
                index.delete_post(post.key).await?;
                repo.delete_post(post.key).await?;
                removed += 1;
            }
        }
    }
    if removed > 0 {
        tracing::info!(removed, "retention removed old posts");
    }
    Ok(removed)
}
