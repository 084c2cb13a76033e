//! The repositories over each backend: the product's rules hold whatever stores the data.

use crate::TestSystem;
use siftgram_core::Clock;
use siftgram_core::model::{
    Channel, ChannelId, Invite, InviteCode, Language, MediaKind, Post, PostKey, QueryKind, QueryRecord, Role, Tier, TierChangeReason,
    User, UserId, Username, ValidationError,
};
use siftgram_core::repo::{PostInsert, RepoError, UpdateClaim, UpdateFailure};
use siftgram_core::rules::{DailyQuota, InviteError, LimitError};
use std::collections::BTreeSet;

fn uid(n: i64) -> UserId {
    UserId::new(n).unwrap()
}

async fn new_user(sys: &TestSystem, id: i64) -> User {
    let user = User::new(uid(id), &format!("User {id}"), Language::Ru, sys.clock.now()).unwrap();
    sys.repo.create_user(&user).await.unwrap()
}

async fn admin(sys: &TestSystem, id: i64) -> User {
    new_user(sys, id).await;
    sys.repo.set_role(uid(id), Role::Admin).await.unwrap()
}

async fn invite(sys: &TestSystem, code: &str, tier: Tier, valid_days: Option<u32>, uses: u32) -> Invite {
    let invite = Invite::new(InviteCode::parse(code).unwrap(), uid(1), sys.clock.now(), tier, valid_days, uses, None).unwrap();
    sys.repo.create_invite(&invite).await.unwrap();
    invite
}

async fn channel(sys: &TestSystem, id: i64, username: &str) -> Channel {
    let channel = Channel::new(ChannelId::new(id).unwrap(), Some(Username::parse(username).unwrap()), "Новости").unwrap();
    sys.repo.save_channel(&channel).await.unwrap();
    channel
}

pub async fn users_are_created_once_and_listed_in_pages(sys: &mut TestSystem) {
    for id in [5, 3, 9, 1, 7] {
        new_user(sys, id).await;
    }
    let dup = User::new(uid(5), "Again", Language::En, sys.clock.now()).unwrap();
    assert_eq!(sys.repo.create_user(&dup).await, Err(RepoError::AlreadyExists("user")));
    assert_eq!(sys.repo.get_user(uid(5)).await.unwrap().unwrap().display_name, "User 5");
    let (first, next) = sys.repo.list_users(2, None).await.unwrap();
    let (rest, end) = sys.repo.list_users(10, next).await.unwrap();
    let ids: Vec<i64> = first.iter().chain(&rest).map(|u| u.id.get()).collect();
    assert_eq!(ids, [1, 3, 5, 7, 9]);
    assert_eq!(end, None);
}

pub async fn invites_admit_exactly_their_uses(sys: &mut TestSystem) {
    invite(sys, "TRIAL0000001", Tier::Trial, Some(30), 2).await;
    for id in [10, 11, 12] {
        new_user(sys, id).await;
    }
    let (user, change) = sys.repo.redeem_invite("trial0000001", uid(10)).await.unwrap();
    assert_eq!((user.tier, user.invited_by), (Tier::Trial, Some(uid(1))));
    assert_eq!(change.reason, TierChangeReason::Invite { code: InviteCode::parse("TRIAL0000001").unwrap() });
    sys.repo.redeem_invite("TRIAL0000001", uid(11)).await.unwrap();
    let writes = sys.store.writes();
    assert_eq!(sys.repo.redeem_invite("TRIAL0000001", uid(12)).await, Err(RepoError::Invite(InviteError::UsedUp)));
    assert_eq!(sys.repo.redeem_invite("TRIAL0000001", uid(10)).await, Err(RepoError::Invite(InviteError::AlreadyRedeemed)));
    assert_eq!(sys.repo.redeem_invite("NOSUCHCODE00", uid(12)).await, Err(RepoError::Invite(InviteError::Unknown)));
    assert_eq!(sys.store.writes(), writes, "refusals write nothing");
    assert_eq!(sys.repo.get_invite("TRIAL0000001").await.unwrap().unwrap().uses, 2);
    assert_eq!(sys.repo.get_user(uid(12)).await.unwrap().unwrap().tier, Tier::Free);
    assert_eq!(sys.repo.tier_history(uid(10)).await.unwrap().len(), 1);
}

pub async fn expired_invites_are_refused(sys: &mut TestSystem) {
    invite(sys, "SHORTLIVED01", Tier::Basic, Some(1), 5).await;
    new_user(sys, 20).await;
    sys.clock.advance(86_400);
    let writes = sys.store.writes();
    assert_eq!(sys.repo.redeem_invite("SHORTLIVED01", uid(20)).await, Err(RepoError::Invite(InviteError::Expired)));
    assert_eq!(sys.store.writes(), writes);
    assert_eq!(sys.repo.get_invite("SHORTLIVED01").await.unwrap().unwrap().uses, 0);
}

/// Many updates of one user at the same moment (a flood, delivered concurrently) contend on
/// one bucket item: each is allowed or limited — none fails, which would make Telegram
/// redeliver it and add to the flood. At most `burst` are allowed.
pub async fn a_sender_racing_its_own_rate_bucket_is_limited_never_failed(sys: &mut TestSystem) {
    let limit = siftgram_core::rules::RateLimit { burst: 10, per_minute: 20 };
    let tasks: Vec<_> = (0..60)
        .map(|_| {
            let repo = sys.repo.clone();
            tokio::spawn(async move { repo.take_rate_token(uid(36), limit).await })
        })
        .collect();
    let mut allowed = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(siftgram_core::rules::RateDecision::Allowed) => allowed += 1,
            Ok(siftgram_core::rules::RateDecision::Limited { .. }) => {}
            Err(e) => panic!("a racing update failed: {e}"),
        }
    }
    assert!((1..=10).contains(&allowed), "{allowed} allowed");
}

pub async fn racing_redemptions_of_a_single_use_invite_admit_one(sys: &mut TestSystem) {
    invite(sys, "ONLYONCE0001", Tier::Premium, None, 1).await;
    let ids = [31, 32, 33, 34, 35];
    for id in ids {
        new_user(sys, id).await;
    }
    let tasks: Vec<_> = ids
        .iter()
        .map(|&id| {
            let repo = sys.repo.clone();
            tokio::spawn(async move { repo.redeem_invite("ONLYONCE0001", uid(id)).await })
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => admitted += 1,
            Err(e) => assert_eq!(e, RepoError::Invite(InviteError::UsedUp)),
        }
    }
    assert_eq!(admitted, 1);
    assert_eq!(sys.repo.get_invite("ONLYONCE0001").await.unwrap().unwrap().uses, 1);
}

pub async fn channels_are_followed_up_to_the_tier_limit(sys: &mut TestSystem) {
    new_user(sys, 40).await;
    for (id, name) in [(101, "channel_one"), (102, "channel_two"), (103, "channel_three"), (104, "channel_four")] {
        channel(sys, id, name).await;
    }
    for id in [101, 102, 103] {
        sys.repo.subscribe(uid(40), ChannelId::new(id).unwrap()).await.unwrap();
    }
    let writes = sys.store.writes();
    let refused = sys.repo.subscribe(uid(40), ChannelId::new(104).unwrap()).await;
    assert_eq!(refused, Err(RepoError::Limit(LimitError::Channels { tier: Tier::Free, limit: 3 })));
    assert_eq!(sys.repo.subscribe(uid(40), ChannelId::new(101).unwrap()).await, Err(RepoError::AlreadyExists("subscription")));
    assert_eq!(sys.store.writes(), writes);
    assert_eq!(sys.repo.subscriptions_of(uid(40)).await.unwrap().len(), 3);

    sys.repo.unsubscribe(uid(40), ChannelId::new(102).unwrap()).await.unwrap();
    assert_eq!(sys.repo.unsubscribe(uid(40), ChannelId::new(102).unwrap()).await, Err(RepoError::NotFound("subscription")));
    sys.repo.subscribe(uid(40), ChannelId::new(104).unwrap()).await.unwrap();
    let followed: Vec<i64> = sys.repo.subscriptions_of(uid(40)).await.unwrap().iter().map(|s| s.channel.get()).collect();
    assert_eq!(followed, [101, 103, 104]);
    assert_eq!(sys.repo.get_user(uid(40)).await.unwrap().unwrap().channel_count, 3);
    // The limit is checked first; below it, an unknown channel is refused and nothing changes.
    let full = sys.repo.subscribe(uid(40), ChannelId::new(999).unwrap()).await;
    assert_eq!(full, Err(RepoError::Limit(LimitError::Channels { tier: Tier::Free, limit: 3 })));
    new_user(sys, 42).await;
    assert_eq!(sys.repo.subscribe(uid(42), ChannelId::new(999).unwrap()).await, Err(RepoError::NotFound("channel")));
    assert_eq!(sys.repo.get_user(uid(42)).await.unwrap().unwrap().channel_count, 0);
    assert_eq!(sys.repo.subscriptions_of(uid(42)).await.unwrap(), vec![]);
}

pub async fn racing_subscriptions_cannot_pass_the_limit(sys: &mut TestSystem) {
    new_user(sys, 41).await;
    for id in 201..=206 {
        channel(sys, id, &format!("race_channel_{id}")).await;
    }
    let tasks: Vec<_> = (201..=206)
        .map(|id| {
            let repo = sys.repo.clone();
            tokio::spawn(async move { repo.subscribe(uid(41), ChannelId::new(id).unwrap()).await })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        if task.await.unwrap().is_ok() {
            ok += 1;
        }
    }
    assert!(ok <= 3, "{ok} subscriptions on a 3-channel tier");
    let subs = sys.repo.subscriptions_of(uid(41)).await.unwrap();
    assert_eq!(subs.len(), ok);
    assert_eq!(sys.repo.get_user(uid(41)).await.unwrap().unwrap().channel_count as usize, ok);
}

pub async fn channels_are_shared_and_found_by_username(sys: &mut TestSystem) {
    let mut ch = channel(sys, 301, "@Rust_News").await;
    for id in [50, 51] {
        new_user(sys, id).await;
        sys.repo.subscribe(uid(id), ch.id).await.unwrap();
    }
    assert_eq!(sys.repo.followers_of(ch.id).await.unwrap(), [uid(50), uid(51)]);
    assert_eq!(sys.repo.find_channel_by_username("https://t.me/rust_news").await.unwrap().unwrap().id, ch.id);
    ch.username = Some(Username::parse("rust_weekly").unwrap());
    sys.repo.save_channel(&ch).await.unwrap();
    assert_eq!(sys.repo.find_channel_by_username("rust_news").await.unwrap(), None, "old username no longer matches");
    assert_eq!(sys.repo.find_channel_by_username("@rust_weekly").await.unwrap().unwrap().id, ch.id);
}

pub async fn a_post_is_replaced_only_over_the_version_read_and_a_deleted_one_stays_gone(sys: &mut TestSystem) {
    let ch = channel(sys, 402, "versions").await;
    let key = PostKey::new(ch.id, 1).unwrap();
    let post = Post::new(key, ch.username.as_ref(), "Первая версия", sys.clock.now(), MediaKind::None).unwrap();
    assert_eq!(sys.repo.insert_post(&post).await.unwrap(), PostInsert::Inserted);
    let (_, read) = sys.repo.get_post_versioned(key).await.unwrap().unwrap();
    let mut second = post.clone();
    second.text = "Вторая версия".into();
    assert!(sys.repo.replace_post(&second, read).await.unwrap());
    let mut stale = post.clone();
    stale.text = "Записано поверх устаревшего чтения".into();
    assert!(!sys.repo.replace_post(&stale, read).await.unwrap(), "the version read is gone");
    assert_eq!(sys.repo.get_post(key).await.unwrap().unwrap().text, "Вторая версия");

    assert!(sys.repo.remove_deleted_post(key).await.unwrap());
    assert_eq!(sys.repo.insert_post(&second).await.unwrap(), PostInsert::Deleted, "a late copy is refused");
    assert!(sys.repo.get_post(key).await.unwrap().is_none());
    assert!(!sys.repo.replace_post(&second, read + 1).await.unwrap());
    // A deletion seen before the post itself is remembered too.
    let early = PostKey::new(ch.id, 2).unwrap();
    assert!(!sys.repo.remove_deleted_post(early).await.unwrap());
    let copy = Post::new(early, ch.username.as_ref(), "Опоздавший пост", sys.clock.now(), MediaKind::None).unwrap();
    assert_eq!(sys.repo.insert_post(&copy).await.unwrap(), PostInsert::Deleted);
    assert_eq!(sys.repo.channel_stats(ch.id).await.unwrap().post_count, 0);
}

pub async fn posts_are_stored_once_edited_and_deleted(sys: &mut TestSystem) {
    let ch = channel(sys, 401, "daily_digest").await;
    let username = ch.username.clone();
    let mut posts = Vec::new();
    for m in 1..=12 {
        let key = PostKey::new(ch.id, m).unwrap();
        posts.push(Post::new(key, username.as_ref(), &format!("Пост номер {m}"), sys.clock.now().plus_secs(m), MediaKind::None).unwrap());
    }
    for post in &posts {
        assert_eq!(sys.repo.insert_post(post).await.unwrap(), PostInsert::Inserted);
    }
    assert_eq!(sys.repo.insert_post(&posts[0]).await.unwrap(), PostInsert::AlreadyStored);
    assert_eq!(posts[0].link, "https://t.me/daily_digest/1");

    let mut edited = posts[4].clone();
    edited.text = "Исправленный текст".into();
    edited.edited_at = Some(sys.clock.now());
    edited.set_tags(vec!["Rust".into(), "rust".into(), "релиз".into()]).unwrap();
    sys.repo.update_post(&edited).await.unwrap();
    let stored = sys.repo.get_post(edited.key).await.unwrap().unwrap();
    assert_eq!((stored.text.as_str(), stored.tags.clone()), ("Исправленный текст", vec!["rust".to_string(), "релиз".to_string()]));

    sys.repo.delete_post(posts[11].key).await.unwrap();
    let missing = posts[11].clone();
    assert_eq!(sys.repo.update_post(&missing).await, Err(RepoError::NotFound("post")));

    let (newest, next) = sys.repo.channel_posts(ch.id, 5, None).await.unwrap();
    assert_eq!(newest.iter().map(|p| p.key.message_id).collect::<Vec<_>>(), [11, 10, 9, 8, 7]);
    let (older, _) = sys.repo.channel_posts(ch.id, 100, next).await.unwrap();
    assert_eq!(older.iter().map(|p| p.key.message_id).collect::<Vec<_>>(), [6, 5, 4, 3, 2, 1]);
}

pub async fn daily_quotas_are_counted_and_enforced(sys: &mut TestSystem) {
    new_user(sys, 60).await;
    for n in 1..=10 {
        assert_eq!(sys.repo.consume_daily_quota(uid(60), DailyQuota::RagQueries).await.unwrap(), n);
    }
    let writes = sys.store.writes();
    let refused = sys.repo.consume_daily_quota(uid(60), DailyQuota::RagQueries).await;
    assert_eq!(refused, Err(RepoError::Limit(LimitError::Daily { tier: Tier::Free, what: "questions", limit: 10 })));
    assert_eq!(sys.store.writes(), writes);
    assert_eq!(sys.repo.daily_usage(uid(60), DailyQuota::RagQueries).await.unwrap(), 10);
    sys.clock.advance(86_400);
    assert_eq!(sys.repo.consume_daily_quota(uid(60), DailyQuota::RagQueries).await.unwrap(), 1, "a new day, a new quota");
    // Counted once per work: the same update's work asking again is not counted again, even
    // once the limit is reached; other work is.
    assert_eq!(sys.repo.consume_daily_quota_once(uid(60), DailyQuota::RagQueries, "u7").await.unwrap(), 2);
    assert_eq!(sys.repo.consume_daily_quota_once(uid(60), DailyQuota::RagQueries, "u7").await.unwrap(), 2);
    for n in 3..=10 {
        assert_eq!(sys.repo.consume_daily_quota_once(uid(60), DailyQuota::RagQueries, &format!("w{n}")).await.unwrap(), n);
    }
    assert_eq!(sys.repo.consume_daily_quota_once(uid(60), DailyQuota::RagQueries, "w10").await.unwrap(), 10, "a retry at the limit is not refused");
    assert!(sys.repo.consume_daily_quota_once(uid(60), DailyQuota::RagQueries, "w11").await.is_err());
    // What an update's work sent is found again by its retry.
    assert_eq!(sys.repo.sent_for_work("u7", "working").await.unwrap(), None);
    sys.repo.record_sent_for_work("u7", "working", 4242).await.unwrap();
    assert_eq!(sys.repo.sent_for_work("u7", "working").await.unwrap(), Some(4242));
    assert_eq!(sys.repo.sent_for_work("u8", "working").await.unwrap(), None);
}

pub async fn admins_grant_tiers_and_history_is_kept(sys: &mut TestSystem) {
    let boss = admin(sys, 1).await;
    let plain = new_user(sys, 70).await;
    let (user, change) = sys.repo.grant_tier(&boss, uid(70), Tier::Premium, Some(30)).await.unwrap();
    assert_eq!((user.tier, change.reason.clone()), (Tier::Premium, TierChangeReason::AdminGrant { by: uid(1) }));
    let writes = sys.store.writes();
    assert!(matches!(sys.repo.grant_tier(&plain, uid(1), Tier::Enterprise, None).await, Err(RepoError::Admin(_))));
    assert!(matches!(sys.repo.grant_tier(&boss, uid(70), Tier::Basic, Some(0)).await, Err(RepoError::Invalid(_))));
    assert_eq!(sys.store.writes(), writes);
    sys.clock.advance(31 * 86_400);
    let lapsed = sys.repo.lapse_tier_if_expired(uid(70)).await.unwrap().expect("premium lapsed");
    assert_eq!((lapsed.from, lapsed.to), (Tier::Premium, Tier::Free));
    assert_eq!(sys.repo.lapse_tier_if_expired(uid(70)).await.unwrap(), None);
    let history: Vec<(Tier, Tier)> = sys.repo.tier_history(uid(70)).await.unwrap().iter().map(|c| (c.from, c.to)).collect();
    assert_eq!(history, [(Tier::Free, Tier::Premium), (Tier::Premium, Tier::Free)]);
}

pub async fn leases_have_one_owner_until_they_expire(sys: &mut TestSystem) {
    let repo = sys.repo.clone();
    let racers: Vec<_> = ["node-a", "node-b", "node-c"]
        .into_iter()
        .map(|node| {
            let repo = repo.clone();
            tokio::spawn(async move { repo.acquire_lease("session#42", node, 30).await.unwrap().map(|l| l.owner) })
        })
        .collect();
    let mut owners = BTreeSet::new();
    for r in racers {
        owners.extend(r.await.unwrap());
    }
    assert_eq!(owners.len(), 1, "exactly one node drives the session: {owners:?}");
    let owner = owners.into_iter().next().unwrap();
    let other = if owner == "node-a" { "node-b" } else { "node-a" };
    assert!(repo.acquire_lease("session#42", &owner, 30).await.unwrap().is_some(), "the owner renews");
    assert!(repo.acquire_lease("session#42", other, 30).await.unwrap().is_none());
    assert!(!repo.release_lease("session#42", other).await.unwrap(), "only the owner releases");
    sys.clock.advance(31);
    assert_eq!(repo.acquire_lease("session#42", other, 30).await.unwrap().unwrap().owner, other, "an expired lease can be taken");
    assert!(repo.release_lease("session#42", other).await.unwrap());
    assert_eq!(repo.current_lease("session#42").await.unwrap(), None);
}

pub async fn an_update_left_running_by_a_dead_taker_is_taken_over_and_a_finished_one_never_runs_again(sys: &mut TestSystem) {
    use UpdateClaim::{Claimed, Finished, GaveUp, Running};
    let repo = sys.repo.clone();
    // A webhook delivery's claim is another delivery's until the lease has passed.
    assert_eq!(repo.claim_update(7, 120, 3).await, Ok(Claimed { failures: 0 }));
    assert_eq!(repo.claim_update(7, 120, 3).await, Ok(Running), "a fresh claim may still be running");
    sys.clock.advance(119);
    assert_eq!(repo.claim_update(7, 120, 3).await, Ok(Running));
    sys.clock.advance(1);
    assert_eq!(repo.claim_update(7, 120, 3).await, Ok(Claimed { failures: 1 }), "its taker died: taken over, counted as a failure");
    repo.finish_update(7, 1).await.unwrap();
    sys.clock.advance(86_400);
    for lease in [120, 0] {
        assert_eq!(repo.claim_update(7, lease, 3).await, Ok(Finished), "a finished update is a duplicate however late");
    }

    // Racing deliveries of a stale claim: exactly one takes it over, the others find it fresh.
    assert_eq!(repo.claim_update(8, 120, 5).await, Ok(Claimed { failures: 0 }));
    sys.clock.advance(120);
    let racers: Vec<_> = (0..3)
        .map(|_| {
            let repo = repo.clone();
            tokio::spawn(async move { repo.claim_update(8, 120, 5).await.unwrap() })
        })
        .collect();
    let mut claims = Vec::new();
    for r in racers {
        claims.push(r.await.unwrap());
    }
    assert_eq!(claims.iter().filter(|c| matches!(c, Claimed { .. })).count(), 1, "{claims:?}");

    // The sole long poller meets a running claim only when the process before it died: it takes
    // it over at once. An update that kills every process taking it in is given up on, like one
    // that keeps failing.
    assert_eq!(repo.claim_update(9, 0, 3).await, Ok(Claimed { failures: 0 }));
    assert_eq!(repo.claim_update(9, 0, 3).await, Ok(Claimed { failures: 1 }));
    assert_eq!(repo.claim_update(9, 0, 3).await, Ok(Claimed { failures: 2 }));
    assert_eq!(repo.claim_update(9, 0, 3).await, Ok(GaveUp { failures: 3 }));
    assert_eq!(repo.claim_update(9, 0, 3).await, Ok(Finished));

    // A failed handling releases its claim at once; a taker that failed and died counts both.
    assert_eq!(repo.claim_update(10, 120, 5).await, Ok(Claimed { failures: 0 }));
    assert_eq!(repo.fail_update(10, 5).await, Ok(UpdateFailure::WillRetry { failures: 1 }));
    assert_eq!(repo.claim_update(10, 120, 5).await, Ok(Claimed { failures: 1 }));
    sys.clock.advance(120);
    assert_eq!(repo.claim_update(10, 120, 5).await, Ok(Claimed { failures: 2 }));
}

pub async fn history_digests_and_migrations_round_trip(sys: &mut TestSystem) {
    new_user(sys, 80).await;
    for (i, text) in ["что нового в Rust?", "курс доллара", "weather in Moscow"].iter().enumerate() {
        let record = QueryRecord::new(uid(80), QueryKind::Ask, text, sys.clock.now().plus_secs(i as i64 / 2)).unwrap();
        sys.repo.record_query(&record).await.unwrap();
    }
    let recent: Vec<String> = sys.repo.recent_queries(uid(80), 2).await.unwrap().into_iter().map(|q| q.text).collect();
    assert_eq!(recent, ["weather in Moscow", "курс доллара"]);

    let mut digest = sys.repo.digest_settings(uid(80)).await.unwrap();
    assert!(!digest.enabled);
    digest.enabled = true;
    assert!(matches!(sys.repo.save_digest_settings(&digest).await, Err(RepoError::Limit(LimitError::NoDigests { .. }))));
    digest.enabled = false;
    digest.minute_of_day = 18 * 60 + 30;
    sys.repo.save_digest_settings(&digest).await.unwrap();
    assert_eq!(sys.repo.digest_settings(uid(80)).await.unwrap().minute_of_day, 18 * 60 + 30);

    assert!(sys.repo.record_migration(1, "table").await.unwrap());
    assert!(!sys.repo.record_migration(1, "table").await.unwrap(), "recording twice is a no-op");
    assert_eq!(sys.repo.applied_migrations().await.unwrap().len(), 1);
}

pub async fn bad_input_gets_a_typed_error_and_writes_nothing(sys: &mut TestSystem) {
    new_user(sys, 90).await;
    let writes = sys.store.writes();
    let invalid = |r: Result<_, RepoError>| matches!(r, Err(RepoError::Invalid(_)));
    assert!(invalid(sys.repo.get_invite("").await.map(|_| ())));
    assert!(invalid(sys.repo.redeem_invite("SHORT", uid(90)).await.map(|_| ())));
    assert!(invalid(sys.repo.redeem_invite("ABCDEF12345!", uid(90)).await.map(|_| ())));
    assert!(invalid(sys.repo.redeem_invite("ABCDEF1234567", uid(90)).await.map(|_| ())));
    assert!(invalid(sys.repo.find_channel_by_username(&"a".repeat(33)).await.map(|_| ())));
    assert!(invalid(sys.repo.find_channel_by_username("").await.map(|_| ())));
    assert!(invalid(sys.repo.find_channel_by_username("1abcde").await.map(|_| ())));
    assert!(invalid(sys.repo.acquire_lease("session#1", "", 30).await.map(|_| ())));
    let mut digest = sys.repo.digest_settings(uid(90)).await.unwrap();
    digest.timezone = "Europe/Moscow; DROP TABLE".into();
    assert!(invalid(sys.repo.save_digest_settings(&digest).await.map(|_| ())));
    digest.timezone = "Mars/Olympus_Mons".into();
    assert!(invalid(sys.repo.save_digest_settings(&digest).await.map(|_| ())), "an unknown zone is refused");
    assert_eq!(sys.store.writes(), writes, "no write was even attempted");

    // Invalid values cannot be built in the first place.
    assert!(matches!(UserId::new(0), Err(ValidationError::Malformed { .. })));
    assert!(ChannelId::new(-5).is_err());
    assert!(matches!(Username::parse(&"x".repeat(40)), Err(ValidationError::TooLong { .. })));
    assert!(matches!(User::new(uid(91), "   ", Language::En, sys.clock.now()), Err(ValidationError::Empty(_))));
    assert!(QueryRecord::new(uid(90), QueryKind::Ask, &"?".repeat(2001), sys.clock.now()).is_err());
    assert!(Post::new(PostKey::new(ChannelId::new(1).unwrap(), 1).unwrap(), None, &"я".repeat(16_385), sys.clock.now(), MediaKind::None).is_err());
    assert!(PostKey::new(ChannelId::new(1).unwrap(), 0).is_err());
    assert!(Invite::new(InviteCode::parse("ABCDEF123456").unwrap(), uid(1), sys.clock.now(), Tier::Basic, None, 0, None).is_err());
}

#[macro_export]
macro_rules! repository_conformance {
    ($make:path) => {
        $crate::suite!($make; $crate::conformance::repositories;
            users_are_created_once_and_listed_in_pages,
            invites_admit_exactly_their_uses,
            expired_invites_are_refused,
            racing_redemptions_of_a_single_use_invite_admit_one,
            a_sender_racing_its_own_rate_bucket_is_limited_never_failed,
            channels_are_followed_up_to_the_tier_limit,
            racing_subscriptions_cannot_pass_the_limit,
            channels_are_shared_and_found_by_username,
            posts_are_stored_once_edited_and_deleted,
            a_post_is_replaced_only_over_the_version_read_and_a_deleted_one_stays_gone,
            daily_quotas_are_counted_and_enforced,
            admins_grant_tiers_and_history_is_kept,
            leases_have_one_owner_until_they_expire,
            an_update_left_running_by_a_dead_taker_is_taken_over_and_a_finished_one_never_runs_again,
            history_digests_and_migrations_round_trip,
            bad_input_gets_a_typed_error_and_writes_nothing,
        );
    };
}
