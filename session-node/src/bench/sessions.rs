//! Session-node figures: memory with N idle signed-in users (each driven: lease renewals, live
//! polling, a synced channel) and backfill throughput (messages published per second), over the
//! recorded Telegram and an embedded store — the node's own costs, not Telegram's.

use crate::scratch::Scratch;
use crate::sessions::{DriveSettings, SessionCipher, SessionDriver};
use siftgram_core::model::{Channel, Tier, User, UserId, Username};
use siftgram_core::repo::StoredSession;
use siftgram_core::schema::queue_spec;
use siftgram_core::sync::{ChannelSync, PostPublisher};
use siftgram_embedded::EmbeddedQueue;
use siftgram_recorded_telegram::RecordedTelegram;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

async fn setup(dir: &Path) -> Result<(Scratch, Arc<SessionDriver>, RecordedTelegram, SessionCipher), String> {
    let scratch = Scratch::open(dir)?;
    let posts = EmbeddedQueue::open(&scratch.db, queue_spec("posts").map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let sync = Arc::new(ChannelSync { repo: scratch.repo.clone(), publisher: PostPublisher { posts: Arc::new(posts) }, events: None, page: 100, depth: None });
    let telegram = RecordedTelegram::new();
    let cipher = SessionCipher::from_spec(&SessionCipher::generate_spec("bench")).map_err(|e| e.to_string())?;
    let driver = Arc::new(SessionDriver {
        node_id: "bench".into(),
        repo: scratch.repo.clone(),
        connector: Arc::new(telegram.clone()),
        cipher: cipher.clone(),
        sync,
        settings: DriveSettings::default(),
        mailboxes: Default::default(),
        out: None,
    });
    Ok((scratch, driver, telegram, cipher))
}

async fn sign_in(scratch: &Scratch, telegram: &RecordedTelegram, cipher: &SessionCipher, id: i64, channel: i64, posts: i64) -> Result<UserId, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let user = UserId::new(id).map_err(|e| err(&e))?;
    let mut u = User::new(user, "bench", Default::default(), siftgram_core::Timestamp(0)).map_err(|e| err(&e))?;
    u.tier = Tier::Enterprise;
    scratch.repo.create_user(&u).await.map_err(|e| err(&e))?;
    telegram.add_account(id, None);
    let username = format!("bench_channel_{channel}");
    let channel = telegram.add_numbered_channel(channel, &username, "bench", posts);
    let parsed = Username::parse(&username).map_err(|e| err(&e))?;
    scratch.repo.save_channel(&Channel::new(channel, Some(parsed), "bench").map_err(|e| err(&e))?).await.map_err(|e| err(&e))?;
    scratch.repo.subscribe(user, channel).await.map_err(|e| err(&e))?;
    let sealed = cipher.seal(user, serde_json::json!({"account": id}).to_string().as_bytes());
    scratch.repo.save_session(user, &StoredSession { sealed, account_id: id, signed_in_at: siftgram_core::Timestamp(0) }).await.map_err(|e| err(&e))?;
    Ok(user)
}

/// RSS with `users` idle users driven (each with a 10-post channel, synced).
pub async fn idle_users(users: usize, dir: &Path) -> Result<String, String> {
    let (scratch, driver, telegram, cipher) = setup(dir).await?;
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    for n in 0..users as i64 {
        let user = sign_in(&scratch, &telegram, &cipher, 1_000 + n, 50_000 + n, 10).await?;
        let (driver, stopped) = (driver.clone(), stopped.clone());
        tasks.push(tokio::spawn(async move { driver.drive(user, stopped).await.map(|_| ()).map_err(|e| e.to_string()) }));
    }
    // Let every driver take its leases, sync its channel and settle into waiting.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let figure = super::memory();
    stop.send(true).map_err(|e| e.to_string())?;
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(figure)
}

/// Messages published per second by one user's backfill of a `posts`-message channel.
pub async fn backfill_rate(posts: i64, dir: &Path) -> Result<f64, String> {
    let (scratch, driver, telegram, cipher) = setup(dir).await?;
    let user = sign_in(&scratch, &telegram, &cipher, 7, 7_000, posts).await?;
    let channel = siftgram_core::model::ChannelId::new(7_000).map_err(|e| e.to_string())?;
    let (stop, stopped) = watch::channel(false);
    let started = Instant::now();
    let task = tokio::spawn({
        let driver = driver.clone();
        async move { driver.drive(user, stopped).await.map(|_| ()).map_err(|e| e.to_string()) }
    });
    while !scratch.repo.sync_state(channel).await.map_err(|e| e.to_string())?.backfill_done {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = posts as f64 / started.elapsed().as_secs_f64();
    stop.send(true).map_err(|e| e.to_string())?;
    task.await.map_err(|e| e.to_string())??;
    Ok(rate)
}
