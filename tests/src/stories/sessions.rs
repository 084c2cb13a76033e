//! The session node against the recorded Telegram, on both storage backends: backfills that
//! survive being killed, live posts, edits and deletions, leases between nodes, FLOOD_WAIT
//! isolation, a clean SIGTERM, revoked sessions, and the QR login with two-step verification.

use crate::TestSystem;
use crate::sessions::TestSessions;
use siftgram_core::messages::PostMessage;
use siftgram_core::model::{ChannelId, InviteCode, User, UserId};
use siftgram_core::repo::LoginState;
use siftgram_session_node::sessions::{DriveEnd, SessionDriver};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[macro_export]
macro_rules! sessions_stories {
    ($make:path) => {
        $crate::suite!($make; $crate::stories::sessions;
            a_backfill_killed_midway_and_resumed_yields_every_post_once,
            live_posts_edits_and_deletions_arrive_within_a_second,
            two_nodes_racing_for_one_user_exactly_one_drives_it,
            a_flood_wait_for_one_user_does_not_delay_another,
            sigterm_during_a_backfill_loses_nothing,
            a_revoked_session_signs_the_user_out,
            a_restarted_client_catches_up_on_what_happened_while_it_was_away,
            a_lost_network_is_retried_with_backoff_and_the_sync_resumes,
            a_qr_login_with_a_wrong_then_right_password,
            a_login_by_another_account_is_refused_and_nothing_kept,
            three_wrong_passwords_block_the_login,
            a_password_that_reaches_another_node_goes_back_to_the_node_running_the_login,
            a_followed_channel_is_checked_for_new_posts_on_request,
            from_login_to_a_synced_channel_through_the_bot,
            a_sealed_password_opens_only_for_its_user_in_time_and_never_dead_letters,
            a_channel_keeps_what_its_followers_plans_allow,
            a_session_copied_to_another_user_does_not_open,
            a_member_signs_in_again_without_an_invite_and_nobody_else_can,
            a_stuck_login_holds_up_no_other_and_a_failed_one_keeps_nothing,
            signing_out_ends_the_authorization_at_telegram,
            a_flood_waiting_user_holds_up_nobody_elses_commands,
        );
    };
}

fn spawn(driver: &Arc<SessionDriver>, user: UserId) -> (watch::Sender<bool>, JoinHandle<DriveEnd>) {
    let (stop, stopped) = watch::channel(false);
    let driver = driver.clone();
    (stop, tokio::spawn(async move { driver.drive(user, stopped).await.expect("the driver runs") }))
}

async fn wait_for<F: std::future::Future<Output = bool>>(what: &str, within: Duration, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn backfilled(sys: &TestSystem, channel: ChannelId) -> u64 {
    sys.repo.sync_state(channel).await.unwrap().backfilled
}

async fn backfill_done(sys: &TestSystem, channel: ChannelId) -> bool {
    sys.repo.sync_state(channel).await.unwrap().backfill_done
}

pub async fn a_backfill_killed_midway_and_resumed_yields_every_post_once(sys: &mut TestSystem) {
    let s = TestSessions::start(sys).await;
    let channel = s.telegram.add_numbered_channel(8001, "big_archive", "Архив", 2000);
    let anna = s.signed_in(sys, 601).await;
    s.follow(sys, anna, channel, "big_archive", "Архив").await;
    let node = s.driver(sys, "node-a");
    let (_stop, task) = spawn(&node, anna);
    wait_for("half the history", Duration::from_secs(60), || async { backfilled(sys, channel).await >= 800 }).await;
    task.abort(); // killed: no flush, no release
    let _ = task.await;
    assert!(!backfill_done(sys, channel).await);

    // The same node comes back (its lease is still its own) and finishes the job.
    let node = s.driver(sys, "node-a");
    let (stop, task) = spawn(&node, anna);
    wait_for("the whole history", Duration::from_secs(60), || async { backfill_done(sys, channel).await }).await;
    stop.send(true).unwrap();
    assert_eq!(task.await.unwrap(), DriveEnd::Stopped);
    s.index_all().await;
    assert_eq!(s.stored_ids(sys, channel).await, (1..=2000).collect::<Vec<i64>>(), "every post, once");
    assert_eq!(sys.repo.channel_stats(channel).await.unwrap().post_count, 2000);
    let stored = sys.repo.get_channel(channel).await.unwrap().unwrap();
    assert_eq!((stored.access_hash.is_some(), stored.last_message_id), (true, Some(2000)), "resolved once and cached");
}

pub async fn live_posts_edits_and_deletions_arrive_within_a_second(sys: &mut TestSystem) {
    let s = TestSessions::start(sys).await;
    let channel = s.telegram.add_numbered_channel(8002, "live_feed", "Лента", 5);
    let boris = s.signed_in(sys, 602).await;
    s.follow(sys, boris, channel, "live_feed", "Лента").await;
    let (stop, task) = spawn(&s.driver(sys, "node-a"), boris);
    wait_for("the backfill", Duration::from_secs(10), || async { backfill_done(sys, channel).await }).await;
    s.index_all().await;

    let posted = Instant::now();
    let id = s.telegram.post(channel, "Срочно: запуск перенесён на пятницу.");
    let mut seen = false;
    while posted.elapsed() < Duration::from_secs(1) && !seen {
        for m in s.posts.receive(10, Duration::from_millis(50)).await.unwrap() {
            let message: PostMessage = serde_json::from_str(&m.body).unwrap();
            seen |= matches!(&message, PostMessage::Publish { post } if post.key.message_id == id);
            s.posts.release(&m.receipt, Duration::ZERO).await.unwrap();
        }
    }
    assert!(seen, "the live post was on the posts queue within a second");
    s.index_all().await;
    s.telegram.edit(channel, id, "Срочно: запуск перенесён на субботу.");
    s.telegram.delete(channel, &[2]);
    wait_for("the edit and the deletion", Duration::from_secs(5), || async {
        s.index_all().await;
        let key = |m| siftgram_core::model::PostKey::new(channel, m).unwrap();
        let edited = sys.repo.get_post(key(id)).await.unwrap().is_some_and(|p| p.text.contains("субботу") && p.edited_at.is_some());
        edited && sys.repo.get_post(key(2)).await.unwrap().is_none()
    })
    .await;
    assert_eq!(s.stored_ids(sys, channel).await, vec![1, 3, 4, 5, 6]);
    stop.send(true).unwrap();
    assert_eq!(task.await.unwrap(), DriveEnd::Stopped);
}

pub async fn two_nodes_racing_for_one_user_exactly_one_drives_it(sys: &mut TestSystem) {
    let s = TestSessions::start(sys).await;
    let channel = s.telegram.add_numbered_channel(8003, "contested", "Спорный", 300);
    let clara = s.signed_in(sys, 603).await;
    s.follow(sys, clara, channel, "contested", "Спорный").await;
    let (a, b) = (s.driver(sys, "node-a"), s.driver(sys, "node-b"));
    let (stop_a, task_a) = spawn(&a, clara);
    let (stop_b, task_b) = spawn(&b, clara);
    wait_for("the backfill", Duration::from_secs(20), || async { backfill_done(sys, channel).await }).await;
    let lease = sys.repo.current_lease("session#603").await.unwrap().expect("someone holds it");
    let (winner_stop, winner, loser) = if lease.owner == "node-a" { (stop_a, task_a, task_b) } else { (stop_b, task_b, task_a) };
    assert_eq!(loser.await.unwrap(), DriveEnd::OwnedElsewhere);
    assert_eq!(s.telegram.connections(603), 1, "one client for the account, ever");
    winner_stop.send(true).unwrap();
    assert_eq!(winner.await.unwrap(), DriveEnd::Stopped);
    assert!(sys.repo.current_lease("session#603").await.unwrap().is_none(), "released on the way out");
}

pub async fn a_flood_wait_for_one_user_does_not_delay_another(sys: &mut TestSystem) {
    let s = TestSessions::start(sys).await;
    let slow = s.telegram.add_numbered_channel(8004, "slow_one", "Медленный", 300);
    let fast = s.telegram.add_numbered_channel(8005, "fast_one", "Быстрый", 300);
    let (dana, egor) = (s.signed_in(sys, 604).await, s.signed_in(sys, 605).await);
    s.follow(sys, dana, slow, "slow_one", "Медленный").await;
    s.follow(sys, egor, fast, "fast_one", "Быстрый").await;
    s.telegram.flood_next(604, Duration::from_secs(5));
    let (stop_d, task_d) = spawn(&s.driver(sys, "node-a"), dana);
    let (stop_e, task_e) = spawn(&s.driver(sys, "node-a"), egor);
    let started = Instant::now();
    wait_for("the other user's backfill", Duration::from_secs(4), || async { backfill_done(sys, fast).await }).await;
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(backfilled(sys, slow).await, 0, "the flooded client is still waiting");
    stop_d.send(true).unwrap();
    stop_e.send(true).unwrap();
    assert_eq!(task_d.await.unwrap(), DriveEnd::Stopped, "a FLOOD_WAIT sleep ends at shutdown");
    assert_eq!(task_e.await.unwrap(), DriveEnd::Stopped);
}

pub async fn sigterm_during_a_backfill_loses_nothing(sys: &mut TestSystem) {
    let s = TestSessions::start(sys).await;
    let channel = s.telegram.add_numbered_channel(8006, "long_history", "История", 1500);
    let fedor = s.signed_in(sys, 606).await;
    s.follow(sys, fedor, channel, "long_history", "История").await;
    let (stop, task) = spawn(&s.driver(sys, "node-a"), fedor);
    wait_for("some pages", Duration::from_secs(30), || async { backfilled(sys, channel).await >= 300 }).await;
    let signalled = Instant::now();
    stop.send(true).unwrap();
    assert_eq!(task.await.unwrap(), DriveEnd::Stopped);
    assert!(signalled.elapsed() < Duration::from_secs(10), "drained within 10 s");
    assert!(sys.repo.current_lease("session#606").await.unwrap().is_none(), "lease released");
    assert!(sys.repo.current_lease(&format!("sync#{channel}")).await.unwrap().is_none(), "channel lease released");
    let cursor = backfilled(sys, channel).await;
    assert!(cursor < 1500, "stopped midway ({cursor})");

    // Another node takes over at once and completes the history.
    let (stop, task) = spawn(&s.driver(sys, "node-b"), fedor);
    wait_for("the rest", Duration::from_secs(60), || async { backfill_done(sys, channel).await }).await;
    stop.send(true).unwrap();
    task.await.unwrap();
    s.index_all().await;
    assert_eq!(s.stored_ids(sys, channel).await, (1..=1500).collect::<Vec<i64>>());
}

pub async fn a_revoked_session_signs_the_user_out(sys: &mut TestSystem) {
    let s = TestSessions::start(sys).await;
    let bot = crate::bot::TestBot::start(sys).await;
    let channel = s.telegram.add_numbered_channel(8007, "revoked_feed", "Лента", 10);
    let galya = s.signed_in(sys, 607).await;
    s.follow(sys, galya, channel, "revoked_feed", "Лента").await;
    bot.says(&bot.user(607), "/start").await;
    s.telegram.revoke(607);
    let (_stop, task) = spawn(&s.driver_telling(sys, "node-a", Some(bot.service.services().out.clone())), galya);
    assert_eq!(task.await.unwrap(), DriveEnd::SignedOut);
    assert!(sys.repo.load_session(galya).await.unwrap().is_none(), "the session is forgotten");
    assert!(sys.repo.current_lease("session#607").await.unwrap().is_none());
    let told = bot.last_bot_message(607).expect("the user is told");
    assert!(told.text.contains("Telegram завершил сеанс") && told.text.contains("/login"), "{}", told.text);
}

pub async fn a_restarted_client_catches_up_on_what_happened_while_it_was_away(sys: &mut TestSystem) {
    let s = TestSessions::start(sys).await;
    let channel = s.telegram.add_numbered_channel(8011, "away_feed", "Пока вас не было", 6);
    let zoya = s.signed_in(sys, 614).await;
    s.follow(sys, zoya, channel, "away_feed", "Пока вас не было").await;
    let first_session = sys.repo.load_session(zoya).await.unwrap().unwrap();
    let (stop, task) = spawn(&s.driver(sys, "node-a"), zoya);
    wait_for("the backfill", Duration::from_secs(10), || async { backfill_done(sys, channel).await }).await;
    let live = s.telegram.post(channel, "Пост, пока клиент на связи.");
    wait_for("the live post", Duration::from_secs(5), || async {
        s.index_all().await;
        s.stored_ids(sys, channel).await.contains(&live)
    })
    .await;
    stop.send(true).unwrap();
    assert_eq!(task.await.unwrap(), DriveEnd::Stopped);
    let kept = sys.repo.load_session(zoya).await.unwrap().unwrap();
    assert_ne!(kept.sealed, first_session.sealed, "the session was stored again with what the client saw");
    assert_eq!((kept.account_id, kept.signed_in_at), (first_session.account_id, first_session.signed_in_at));

    // Nobody drives the user while the channel edits a post, deletes one and posts a new one.
    s.telegram.edit(channel, 3, "Пост три, исправленный, пока никого не было.");
    s.telegram.delete(channel, &[4]);
    let missed = s.telegram.post(channel, "Пост, пока клиент был offline.");
    let (stop, task) = spawn(&s.driver(sys, "node-b"), zoya);
    wait_for("everything missed", Duration::from_secs(10), || async {
        s.index_all().await;
        let key = |m| siftgram_core::model::PostKey::new(channel, m).unwrap();
        let edited = sys.repo.get_post(key(3)).await.unwrap().is_some_and(|p| p.text.contains("исправленный"));
        edited && sys.repo.get_post(key(4)).await.unwrap().is_none() && sys.repo.get_post(key(missed)).await.unwrap().is_some()
    })
    .await;
    assert_eq!(s.stored_ids(sys, channel).await, vec![1, 2, 3, 5, 6, live, missed]);
    stop.send(true).unwrap();
    task.await.unwrap();
}

pub async fn a_lost_network_is_retried_with_backoff_and_the_sync_resumes(sys: &mut TestSystem) {
    use siftgram_session_node::sessions::SessionNode;
    let s = TestSessions::start(sys).await;
    let channel = s.telegram.add_numbered_channel(8012, "flaky_net", "Сеть", 250);
    let yana = s.signed_in(sys, 615).await;
    s.follow(sys, yana, channel, "flaky_net", "Сеть").await;
    s.telegram.set_network(615, false);
    let node = SessionNode { driver: s.driver(sys, "node-a"), scan_every: Duration::from_millis(50) };
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(async move { node.run(stopped).await });
    wait_for("a few attempts", Duration::from_secs(5), || async { s.telegram.connections(615) >= 3 }).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // A restart every 50 ms scan would be ~30 attempts by now; doubling delays allow ~6.
    let attempts = s.telegram.connections(615);
    assert!((3..=8).contains(&attempts), "restarts back off: {attempts} attempts");
    assert_eq!(backfilled(sys, channel).await, 0);

    s.telegram.set_network(615, true);
    wait_for("the backfill after the network is back", Duration::from_secs(20), || async { backfill_done(sys, channel).await }).await;
    s.index_all().await;
    assert_eq!(s.stored_ids(sys, channel).await, (1..=250).collect::<Vec<i64>>());
    stop.send(true).unwrap();
    running.await.unwrap();
    assert!(sys.repo.current_lease("session#615").await.unwrap().is_none(), "released at shutdown");
}

pub async fn a_qr_login_with_a_wrong_then_right_password(sys: &mut TestSystem) {
    let s = TestSessions::start(sys).await;
    let (user, _) = s.logging_in(sys, 611).await;
    s.telegram.add_account(611, Some("correct horse"));
    let login = s.login(sys);
    let LoginState::Waiting { url, .. } = login.start(user, siftgram_core::model::InviteCode::parse("LOGIN0000611").unwrap()).await.unwrap() else {
        panic!("a QR code first")
    };
    assert!(url.starts_with("tg://login?token="));
    let shown = sys.repo.login_state(user).await.unwrap();
    assert!(matches!(&shown, Some(LoginState::Waiting { url: u, .. }) if *u == url), "the Mini App can show it: {shown:?}");
    assert!(matches!(login.poll(user).await.unwrap(), LoginState::Waiting { .. }), "not scanned yet");
    s.telegram.scan(&url, 611);
    assert!(matches!(login.poll(user).await.unwrap(), LoginState::PasswordNeeded { failures: 0, .. }));
    assert_eq!(login.submit_password(user, "wrong").await.unwrap(), LoginState::PasswordNeeded { hint: None, failures: 1 });
    assert!(sys.repo.load_session(user).await.unwrap().is_none());
    assert_eq!(login.submit_password(user, "correct horse").await.unwrap(), LoginState::Done);
    let stored = sys.repo.load_session(user).await.unwrap().expect("session stored");
    assert_eq!(stored.account_id, 611);
    assert!(!stored.sealed.contains("account"), "sealed, not plain");
    let opened: serde_json::Value = serde_json::from_slice(&s.cipher.open(user, &stored.sealed).unwrap()).unwrap();
    assert_eq!(opened["account"], 611, "the session opens to the signed-in account");
    let u = sys.repo.get_user(user).await.unwrap().unwrap();
    assert!(u.has_access() && u.tier == siftgram_core::model::Tier::Trial, "the invite was redeemed");
    assert_eq!(sys.repo.login_state(user).await.unwrap(), Some(LoginState::Done));
}

pub async fn a_login_by_another_account_is_refused_and_nothing_kept(sys: &mut TestSystem) {
    let s = TestSessions::start(sys).await;
    let (user, code) = s.logging_in(sys, 612).await;
    s.telegram.add_account(999, None);
    let login = s.login(sys);
    let LoginState::Waiting { url, .. } = login.start(user, code.clone()).await.unwrap() else { panic!("a QR code first") };
    s.telegram.scan(&url, 999);
    assert!(matches!(login.poll(user).await.unwrap(), LoginState::Failed { .. }));
    assert!(sys.repo.load_session(user).await.unwrap().is_none(), "nothing of that session is kept");
    assert!(!sys.repo.get_user(user).await.unwrap().unwrap().has_access(), "the invite was not spent");
    assert_eq!(sys.repo.get_invite(code.as_str()).await.unwrap().unwrap().uses, 0);
}

pub async fn three_wrong_passwords_block_the_login(sys: &mut TestSystem) {
    let s = TestSessions::start(sys).await;
    let (user, code) = s.logging_in(sys, 613).await;
    s.telegram.add_account(613, Some("secret"));
    let login = s.login(sys);
    let LoginState::Waiting { url, .. } = login.start(user, code.clone()).await.unwrap() else { panic!("a QR code first") };
    s.telegram.scan(&url, 613);
    login.poll(user).await.unwrap();
    login.submit_password(user, "a").await.unwrap();
    login.submit_password(user, "b").await.unwrap();
    let blocked = login.submit_password(user, "c").await.unwrap();
    assert!(matches!(blocked, LoginState::Blocked { .. }), "{blocked:?}");
    assert!(login.submit_password(user, "secret").await.is_err(), "the login is over");
    assert!(matches!(login.start(user, code.clone()).await.unwrap(), LoginState::Blocked { .. }), "and cannot restart while blocked");
    assert!(sys.repo.load_session(user).await.unwrap().is_none());

    // The block lasts the whole 15 minutes, though the login state it was shown in is gone
    // after 10.
    sys.clock.advance(14 * 60);
    assert_eq!(sys.repo.login_state(user).await.unwrap(), None, "the shown state has expired");
    assert!(matches!(login.start(user, code.clone()).await.unwrap(), LoginState::Blocked { .. }), "still blocked after 14 minutes");
    assert!(matches!(sys.repo.login_state(user).await.unwrap(), Some(LoginState::Blocked { .. })), "and the Mini App is shown so again");
    sys.clock.advance(61);
    let LoginState::Waiting { url, .. } = login.start(user, code.clone()).await.unwrap() else { panic!("free again after 15 minutes") };

    // Wrong passwords count across logins: two, a new /login, one more blocks.
    s.telegram.scan(&url, 613);
    login.poll(user).await.unwrap();
    login.submit_password(user, "d").await.unwrap();
    assert_eq!(login.submit_password(user, "e").await.unwrap(), LoginState::PasswordNeeded { hint: None, failures: 2 });
    login.abandon(user).await;
    let LoginState::Waiting { url, .. } = login.start(user, code).await.unwrap() else { panic!("a new QR code") };
    s.telegram.scan(&url, 613);
    assert!(matches!(login.poll(user).await.unwrap(), LoginState::PasswordNeeded { failures: 2, .. }), "the count carried over");
    assert!(matches!(login.submit_password(user, "f").await.unwrap(), LoginState::Blocked { .. }));
}

pub async fn a_password_that_reaches_another_node_goes_back_to_the_node_running_the_login(sys: &mut TestSystem) {
    use siftgram_core::consume::MessageHandler;
    use siftgram_core::messages::SessionCommand;
    use siftgram_core::ports::{Receipt, ReceivedMessage};

    let s = TestSessions::start(sys).await;
    let (user, code) = s.logging_in(sys, 616).await;
    s.telegram.add_account(616, Some("tulip"));
    let node = |name: &str| s.commands_on(sys, name);
    let (a, b) = (node("node-a"), node("node-b"));
    let LoginState::Waiting { url, .. } = a.login.start(user, code.clone()).await.unwrap() else { panic!("a QR code first") };
    assert!(b.login.start(user, code).await.is_err(), "node B cannot start a second login for the user meanwhile");
    s.telegram.scan(&url, 616);
    assert!(matches!(a.login.poll(user).await.unwrap(), LoginState::PasswordNeeded { .. }));

    let command = SessionCommand::SubmitPassword { id: "pw-616".into(), user, password: s.sealed_password(sys, user, "tulip").await };
    let delivery = ReceivedMessage { id: "m1".into(), body: serde_json::to_string(&command).unwrap(), receipt: Receipt("r1".into()), receive_count: 1, group: Some("616".into()), trace: None };
    let handed_back = b.handle(&delivery).await.expect_err("node B has no client for this login");
    assert!(handed_back.retry_after.is_some_and(|d| d <= Duration::from_secs(5)), "back to the queue soon: {handed_back:?}");
    assert!(sys.repo.load_session(user).await.unwrap().is_none());
    a.handle(&delivery).await.expect("node A runs the login");
    assert_eq!(sys.repo.login_state(user).await.unwrap(), Some(LoginState::Done));
    assert_eq!(sys.repo.load_session(user).await.unwrap().expect("signed in").account_id, 616);
    assert!(sys.repo.current_lease("login#616").await.unwrap().is_none(), "the login lease is given back");
    b.handle(&delivery).await.expect("a redelivery changes nothing");
}

pub async fn a_followed_channel_is_checked_for_new_posts_on_request(sys: &mut TestSystem) {
    use siftgram_core::consume::MessageHandler;
    use siftgram_core::messages::{ReplyTo, SessionCommand};
    use siftgram_core::ports::{Receipt, ReceivedMessage};
    use siftgram_session_node::sessions::SessionCommands;

    let s = TestSessions::start(sys).await;
    let bot = crate::bot::TestBot::start(sys).await;
    let channel = s.telegram.add_numbered_channel(8013, "quiet_feed", "Тихий канал", 5);
    let lena = s.signed_in(sys, 617).await;
    s.follow(sys, lena, channel, "quiet_feed", "Тихий канал").await;
    // No periodic pass during the story: only the request can find the unannounced post.
    let settings = siftgram_session_node::sessions::DriveSettings { catch_up_every: Duration::from_secs(3600), ..TestSessions::fast() };
    let driver = s.driver_with(sys, "node-a", None, settings);
    let (stop, task) = spawn(&driver, lena);
    wait_for("the backfill", Duration::from_secs(10), || async { backfill_done(sys, channel).await }).await;
    let quiet = s.telegram.post_unannounced(channel, "Пост, о котором не пришло обновление.");
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.index_all().await;
    assert!(!s.stored_ids(sys, channel).await.contains(&quiet), "no update, no pass: not seen yet");

    let commands = SessionCommands {
        repo: sys.repo.clone(),
        login: Arc::new(s.login(sys)),
        mailboxes: driver.mailboxes.clone(),
        out: Some(bot.service.services().out.clone()),
        events: None,
        login_poll: Duration::from_millis(20),
        progress_poll: Duration::from_millis(50),
    };
    let lena_chat = bot.user(617);
    let asked = bot.says(&lena_chat, "/start").await;
    let command = SessionCommand::SyncChannel { id: "sync-617".into(), user: lena, channel, reply: ReplyTo { chat_id: 617, message_id: Some(asked.message_id), language: Default::default() } };
    let delivery = ReceivedMessage { id: "m1".into(), body: serde_json::to_string(&command).unwrap(), receipt: Receipt("r1".into()), receive_count: 1, group: Some("617".into()), trace: None };
    commands.handle(&delivery).await.expect("checked");
    s.index_all().await;
    assert!(s.stored_ids(sys, channel).await.contains(&quiet), "the post is stored after the check");
    let told = bot.telegram.chat(617).into_iter().find(|m| m.message_id == asked.message_id).unwrap();
    assert!(told.text.contains("«Тихий канал» проверен, новых постов: 1"), "{}", told.text);
    stop.send(true).unwrap();
    task.await.unwrap();

    // Nobody drives the user on this node now: the command waits for the node that does.
    let handed_back = commands.handle(&ReceivedMessage { id: "m2".into(), body: serde_json::to_string(&SessionCommand::SyncChannel { id: "sync-617b".into(), user: lena, channel, reply: ReplyTo { chat_id: 617, message_id: None, language: Default::default() } }).unwrap(), receipt: Receipt("r2".into()), receive_count: 1, group: None, trace: None }).await;
    assert!(handed_back.is_err_and(|e| e.retry_after.is_some()));
}

pub async fn from_login_to_a_synced_channel_through_the_bot(sys: &mut TestSystem) {
    use crate::bot::TestBot;
    use siftgram_core::consume::process_batch;
    use siftgram_core::messages::SessionCommand;
    use siftgram_core::ports::OutgoingMessage;
    use siftgram_session_node::sessions::SessionCommands;

    let s = TestSessions::start(sys).await;
    let bot = TestBot::start(sys).await;
    let channel = s.telegram.add_numbered_channel(8010, "rust_news", "Rust News", 120);
    s.telegram.add_account(620, Some("hunter2-620"));
    let driver = s.driver(sys, "node-a");
    let commands = SessionCommands {
        repo: sys.repo.clone(),
        login: Arc::new(s.login(sys)),
        mailboxes: driver.mailboxes.clone(),
        out: Some(bot.service.services().out.clone()),
        events: Some(s.events.clone()),
        login_poll: Duration::from_millis(20),
        progress_poll: Duration::from_millis(50),
    };
    let run_commands = || async { process_batch(&*bot.commands, &commands, 10, Duration::ZERO).await.unwrap() };

    let ivan = bot.user(620);
    bot.says(&ivan, "/start").await;
    let code = bot.invite(siftgram_core::model::Tier::Trial, None, 1).await;
    let waiting = bot.says(&ivan, &format!("/login {}", code.as_str())).await;
    assert_eq!(run_commands().await.acked, 1);
    let user = UserId::new(620).unwrap();
    let Some(LoginState::Waiting { url, .. }) = sys.repo.login_state(user).await.unwrap() else { panic!("a QR code for the Mini App") };
    s.telegram.scan(&url, 620);
    wait_for("the password prompt", Duration::from_secs(5), || async { matches!(sys.repo.login_state(user).await.unwrap(), Some(LoginState::PasswordNeeded { .. })) }).await;
    // The Mini App sends the password as a command.
    let password = SessionCommand::SubmitPassword { id: "m1".into(), user, password: s.sealed_password(sys, user, "hunter2-620").await };
    assert!(!format!("{password:?}").contains("hunter2"), "never printed");
    let body = serde_json::to_string(&password).unwrap();
    assert!(!body.contains("hunter2"), "the queue carries only ciphertext: {body}");
    bot.commands.send(OutgoingMessage::new(body).in_group("620").dedup("m1")).await.unwrap();
    run_commands().await;
    wait_for("the welcome", Duration::from_secs(5), || async {
        bot.telegram.chat(620).iter().any(|m| m.message_id == waiting.message_id && m.text.contains("Вход выполнен"))
    })
    .await;
    assert!(sys.repo.get_user(user).await.unwrap().unwrap().has_access());

    // Signed in: the node drives the user; /add_channel goes through the driver's client.
    let (stop, task) = spawn(&driver, user);
    let adding = bot.says(&ivan, "/add_channel @rust_news").await;
    wait_for("the channel", Duration::from_secs(10), || async {
        run_commands().await;
        bot.telegram.chat(620).iter().any(|m| m.message_id == adding.message_id && m.text.contains("добавлен"))
    })
    .await;
    let added = bot.telegram.chat(620).into_iter().find(|m| m.message_id == adding.message_id).unwrap();
    let trial = sys.repo.catalog().limits(siftgram_core::model::Tier::Trial).posts_per_day;
    assert!(added.text.contains(&format!("последние {trial} постов")) && added.text.contains(&format!("до {trial} в день")), "told what is kept: {}", added.text);
    wait_for("the backfill", Duration::from_secs(20), || async { backfill_done(sys, channel).await }).await;
    // Published but not stored yet: the message says how far the history is.
    wait_for("the progress", Duration::from_secs(30), || async {
        bot.telegram.chat(620).iter().any(|m| m.message_id == adding.message_id && m.text.contains("Загружено постов: 0 (≈0%)"))
    })
    .await;
    s.index_all().await;
    assert_eq!(s.stored_ids(sys, channel).await.len(), 120);
    wait_for("the history loaded", Duration::from_secs(30), || async {
        bot.telegram.chat(620).iter().any(|m| m.message_id == adding.message_id && m.text.contains("История загружена, постов: 120"))
    })
    .await;
    let added = bot.telegram.chat(620).into_iter().find(|m| m.message_id == adding.message_id).unwrap();
    assert!(added.text.starts_with("✅ Канал") && added.html.as_deref().is_some_and(|h| h.contains("<code>/ask")), "the same message, edited: {added:?}");
    let unknown = bot.says(&ivan, "/add_channel @no_such_channel").await;
    wait_for("the refusal", Duration::from_secs(10), || async {
        run_commands().await;
        bot.telegram.chat(620).iter().any(|m| m.message_id == unknown.message_id && m.text.contains("не найден"))
    })
    .await;
    stop.send(true).unwrap();
    task.await.unwrap();
}

pub async fn a_sealed_password_opens_only_for_its_user_in_time_and_never_dead_letters(sys: &mut TestSystem) {
    use siftgram_core::consume::MessageHandler;
    use siftgram_core::messages::{SealedSecret, SessionCommand};
    use siftgram_core::ports::{Receipt, ReceivedMessage};

    let s = TestSessions::start(sys).await;
    let (user, code) = s.logging_in(sys, 618).await;
    s.telegram.add_account(618, Some("lilac"));
    let node = |name: &str| s.commands_on(sys, name);
    let (a, b) = (node("node-a"), node("node-b"));
    let LoginState::Waiting { url, .. } = a.login.start(user, code).await.unwrap() else { panic!("a QR code first") };
    s.telegram.scan(&url, 618);
    assert!(matches!(a.login.poll(user).await.unwrap(), LoginState::PasswordNeeded { .. }));
    let max_receives = siftgram_core::schema::queue_spec("commands").unwrap().max_receives;
    let delivery = |id: &str, password: SealedSecret, receive_count: u32| ReceivedMessage {
        id: id.into(),
        body: serde_json::to_string(&SessionCommand::SubmitPassword { id: id.into(), user, password }).unwrap(),
        receipt: Receipt(format!("r-{id}")),
        receive_count,
        group: Some("618".into()),
        trace: None,
    };
    let unchanged = || async { matches!(sys.repo.login_state(user).await.unwrap(), Some(LoginState::PasswordNeeded { failures: 0, .. })) };

    // The right password, sealed for somebody else, or replayed after it expired: dropped
    // (acknowledged, so it leaves the queue), and Telegram never sees it.
    let key = sys.repo.password_key().await.unwrap().unwrap();
    let now = siftgram_core::Clock::now(&*sys.clock);
    let for_another = siftgram_sealed::seal(&key, UserId::new(619).unwrap(), now.plus_secs(600), "lilac").unwrap();
    a.handle(&delivery("p1", for_another, 1)).await.expect("dropped, not retried");
    let expiring = siftgram_sealed::seal(&key, user, now.plus_secs(10), "lilac").unwrap();
    sys.clock.advance(11);
    a.handle(&delivery("p2", expiring, 1)).await.expect("dropped, not retried");
    assert!(unchanged().await, "neither counted as a wrong password");
    assert!(sys.repo.load_session(user).await.unwrap().is_none());

    // On another node it goes back to the queue, except on its last delivery: the dead-letter
    // queue never holds a password, even a sealed one.
    let fresh = s.sealed_password(sys, user, "lilac").await;
    assert!(b.handle(&delivery("p3", fresh.clone(), 1)).await.is_err(), "handed back for node A");
    b.handle(&delivery("p3", fresh.clone(), max_receives)).await.expect("the last delivery is dropped, not dead-lettered");
    assert!(unchanged().await);

    a.handle(&delivery("p4", fresh, 1)).await.expect("node A uses it");
    assert_eq!(sys.repo.login_state(user).await.unwrap(), Some(LoginState::Done));
    assert_eq!(sys.repo.load_session(user).await.unwrap().expect("signed in").account_id, 618);
}

pub async fn a_channel_keeps_what_its_followers_plans_allow(sys: &mut TestSystem) {
    use siftgram_core::model::Tier;
    let s = TestSessions::start(sys).await;
    let channel = s.telegram.add_numbered_channel(8020, "firehose", "Поток", 300);
    let fedor = s.signed_in(sys, 621).await;
    sys.repo.update_user(fedor, |u| {
        u.tier = Tier::Free;
        Ok(())
    })
    .await
    .unwrap();
    s.follow(sys, fedor, channel, "firehose", "Поток").await;
    let free = sys.repo.catalog().limits(Tier::Free).posts_per_day;
    assert_eq!(sys.repo.channel_allowance(channel).await.unwrap(), free);

    // History: only the newest `free` posts are fetched, stored and embedded.
    let (stop, task) = spawn(&s.driver(sys, "node-a"), fedor);
    wait_for("the history up to the plan's limit", Duration::from_secs(60), || async {
        sys.repo.sync_state(channel).await.unwrap().history_limit == Some(u64::from(free))
    })
    .await;
    s.index_all().await;
    let newest: Vec<i64> = (301 - i64::from(free)..=300).collect();
    assert_eq!(s.stored_ids(sys, channel).await, newest);

    // New posts: `free` a day are kept, the rest counted as not kept.
    let last = (0..free + 20).map(|i| s.telegram.post(channel, &format!("Пост номер {i}"))).last().unwrap();
    wait_for("the live posts", Duration::from_secs(60), || async { sys.repo.sync_state(channel).await.unwrap().newest_published >= Some(last) }).await;
    s.index_all().await;
    assert_eq!(s.stored_ids(sys, channel).await.len() as u32, 2 * free);
    assert_eq!(sys.repo.kept_today(channel).await.unwrap(), siftgram_core::repo::KeptToday { kept: free, not_kept: 20 });

    // A premium reader follows too: the history goes on to the beginning.
    let gala = s.signed_in(sys, 622).await;
    sys.repo.update_user(gala, |u| {
        u.tier = Tier::Premium;
        Ok(())
    })
    .await
    .unwrap();
    s.follow(sys, gala, channel, "firehose", "Поток").await;
    wait_for("the rest of the history", Duration::from_secs(60), || async { backfill_done(sys, channel).await }).await;
    stop.send(true).unwrap();
    assert_eq!(task.await.unwrap(), DriveEnd::Stopped);
    s.index_all().await;
    assert_eq!(s.stored_ids(sys, channel).await.len() as u32, 300 + free);
    assert_eq!(sys.repo.sync_state(channel).await.unwrap().history_limit, None);

    // The next UTC day has a fresh allowance.
    sys.clock.advance(24 * 3600);
    assert_eq!(sys.repo.keep_new_posts(channel, 5, free).await.unwrap(), 5);
    assert_eq!(sys.repo.kept_today(channel).await.unwrap(), siftgram_core::repo::KeptToday { kept: 5, not_kept: 0 });
}

pub async fn a_session_copied_to_another_user_does_not_open(sys: &mut TestSystem) {
    let s = TestSessions::start(sys).await;
    let anna = s.signed_in(sys, 623).await;
    let boris = s.signed_in(sys, 624).await;
    // Someone with write access to the table puts Anna's sealed session into Boris's item.
    let annas = sys.repo.load_session(anna).await.unwrap().unwrap();
    sys.repo.save_session(boris, &annas).await.unwrap();
    let (_stop, stopped) = watch::channel(false);
    let refused = s.driver(sys, "node-a").drive(boris, stopped).await;
    assert!(refused.is_err_and(|e| e.to_string().contains("damaged")), "Anna's keys are not used for Boris");
    assert_eq!(s.telegram.connections(623), 0, "no client was opened with them");

    // Sealed for Boris, but Anna's account inside: caught once connected.
    let sealed = s.cipher.seal(boris, serde_json::json!({"account": 623}).to_string().as_bytes());
    sys.repo.save_session(boris, &siftgram_core::repo::StoredSession { sealed, account_id: 624, signed_in_at: annas.signed_in_at }).await.unwrap();
    let (_stop, stopped) = watch::channel(false);
    let refused = s.driver(sys, "node-a").drive(boris, stopped).await;
    assert!(refused.is_err_and(|e| e.to_string().contains("another account") || e.to_string().contains("account 623")), "not driven as Boris");
    assert_eq!(s.telegram.history_calls(623), 0, "nothing was synced with it");
}

pub async fn a_member_signs_in_again_without_an_invite_and_nobody_else_can(sys: &mut TestSystem) {
    let s = TestSessions::start(sys).await;
    let login = s.login(sys);
    // Vera was signed out by Telegram: she keeps her access, not her session.
    let vera = s.signed_in(sys, 625).await;
    sys.repo.update_user(vera, |u| {
        u.invite_code = Some(InviteCode::parse("USEDBEFORE01").unwrap());
        Ok(())
    })
    .await
    .unwrap();
    sys.repo.delete_session(vera).await.unwrap();
    let LoginState::Waiting { url, .. } = login.start(vera, None).await.unwrap() else { panic!("a QR code") };
    s.telegram.scan(&url, 625);
    assert_eq!(login.poll(vera).await.unwrap(), LoginState::Done);
    assert!(sys.repo.load_session(vera).await.unwrap().is_some());

    // Without access, no invite means no sign-in, and no session is kept.
    let user = UserId::new(626).unwrap();
    sys.repo.create_user(&User::new(user, "Stranger", Default::default(), siftgram_core::Clock::now(&*sys.clock)).unwrap()).await.unwrap();
    s.telegram.add_account(626, None);
    let LoginState::Waiting { url, .. } = login.start(user, None).await.unwrap() else { panic!("a QR code") };
    s.telegram.scan(&url, 626);
    assert!(matches!(login.poll(user).await.unwrap(), LoginState::Failed { .. }));
    assert!(sys.repo.load_session(user).await.unwrap().is_none());
}

pub async fn a_stuck_login_holds_up_no_other_and_a_failed_one_keeps_nothing(sys: &mut TestSystem) {
    let s = TestSessions::start(sys).await;
    let (anna, anna_code) = s.logging_in(sys, 627).await;
    let (boris, boris_code) = s.logging_in(sys, 628).await;
    let login = Arc::new(s.login(sys));

    // Telegram never answers Anna's login; Boris's goes through meanwhile.
    s.telegram.stall_next_login();
    let stuck = tokio::spawn({
        let login = login.clone();
        async move { login.start(anna, anna_code).await }
    });
    wait_for("Anna's login to start", Duration::from_secs(30), || async { login.pending_logins() == 1 }).await;
    let boris_state = login.start(boris, boris_code).await.unwrap();
    assert!(matches!(boris_state, LoginState::Waiting { .. }), "{boris_state:?}");
    assert!(!stuck.is_finished(), "Anna's login is still waiting on Telegram");
    stuck.abort();

    // A call that outlasts the timeout is a network failure; a login whose first call failed
    // leaves no client in memory and no lease, and the next /login starts afresh.
    let (carl, carl_code) = s.logging_in(sys, 629).await;
    let mut impatient = s.login(sys);
    impatient.call_timeout = Duration::from_millis(200);
    s.telegram.stall_next_login();
    let timed_out = impatient.start(carl, carl_code.clone()).await;
    assert!(matches!(&timed_out, Err(siftgram_session_node::sessions::LoginError::Telegram(siftgram_core::ports::TelegramError::Network(_)))), "{timed_out:?}");
    s.telegram.fail_next_login();
    assert!(impatient.start(carl, carl_code.clone()).await.is_err());
    assert_eq!(impatient.pending_logins(), 0, "nothing kept");
    assert!(sys.repo.current_lease("login#629").await.unwrap().is_none(), "the lease is given back");
    assert!(matches!(impatient.start(carl, carl_code).await.unwrap(), LoginState::Waiting { .. }));
}

pub async fn signing_out_ends_the_authorization_at_telegram(sys: &mut TestSystem) {
    use siftgram_core::consume::MessageHandler;
    use siftgram_core::messages::SessionCommand;
    use siftgram_core::ports::{Receipt, ReceivedMessage};
    let s = TestSessions::start(sys).await;
    let olga = s.signed_in(sys, 630).await;
    let commands = s.commands_on(sys, "node-a");
    let delivery = ReceivedMessage {
        id: "out-630".into(),
        body: serde_json::to_string(&SessionCommand::LogOut { id: "out-630".into(), user: olga }).unwrap(),
        receipt: Receipt("r".into()),
        receive_count: 1,
        group: Some("630".into()),
        trace: None,
    };
    // Telegram out of reach: the command comes back later, and the session is kept till then.
    s.telegram.set_network(630, false);
    assert!(commands.handle(&delivery).await.is_err(), "retried");
    assert!(sys.repo.load_session(olga).await.unwrap().is_some());
    s.telegram.set_network(630, true);
    commands.handle(&delivery).await.expect("signed out");
    assert_eq!(s.telegram.logged_out(630), 1, "auth.logOut was called");
    assert!(sys.repo.load_session(olga).await.unwrap().is_none(), "and the session forgotten");
}

pub async fn a_flood_waiting_user_holds_up_nobody_elses_commands(sys: &mut TestSystem) {
    use siftgram_core::messages::{ReplyTo, SessionCommand};
    use siftgram_core::model::Username;
    use siftgram_core::ports::OutgoingMessage;
    let s = TestSessions::start(sys).await;
    let history = s.telegram.add_numbered_channel(8030, "busy_history", "История", 300);
    let wanted = s.telegram.add_numbered_channel(8031, "wanted_news", "Новости", 3);
    let (dana, egor) = (s.signed_in(sys, 631).await, s.signed_in(sys, 632).await);
    s.follow(sys, dana, history, "busy_history", "История").await;
    // Dana's client is told to wait an hour on its first history page.
    s.telegram.flood_next(631, Duration::from_secs(3600));
    let driver = s.driver(sys, "node-a");
    let (stop_d, task_d) = spawn(&driver, dana);
    let (stop_e, task_e) = spawn(&driver, egor);
    wait_for("both drivers", Duration::from_secs(60), || async {
        driver.mailboxes.of(dana).is_some() && driver.mailboxes.of(egor).is_some() && s.telegram.history_calls(631) >= 1
    })
    .await;

    // Both ask for a channel in one batch of the commands queue.
    let commands_queue = sys.queue(siftgram_core::schema::queue_spec("commands").unwrap()).await;
    for (user, id) in [(dana, "add-631"), (egor, "add-632")] {
        let reply = ReplyTo { chat_id: user.get(), message_id: None, language: Default::default() };
        let command = SessionCommand::ResolveChannel { id: id.into(), user, username: Username::parse("wanted_news").unwrap(), reply };
        commands_queue.send(OutgoingMessage::new(serde_json::to_string(&command).unwrap()).in_group(user.to_string()).dedup(id)).await.unwrap();
    }
    let mut handler = s.commands_on(sys, "node-a");
    handler.mailboxes = driver.mailboxes.clone();
    let handler: Arc<dyn siftgram_core::consume::MessageHandler> = Arc::new(handler);
    let (mut acked, mut failed) = (0, 0);
    while acked + failed < 2 {
        let report = siftgram_session_node::supervise::process_batch_by_group(&commands_queue, &handler, 10, Duration::from_secs(1)).await.unwrap();
        (acked, failed) = (acked + report.acked, failed + report.failed);
    }
    // Dana's driver answered at once that it must wait (her command comes back in an hour);
    // Egor's went through in the same batch.
    assert_eq!((acked, failed), (1, 1));
    let follows = |subs: Vec<siftgram_core::model::Subscription>| subs.iter().any(|sub| sub.channel == wanted);
    assert!(follows(sys.repo.subscriptions_of(egor).await.unwrap()), "Egor has his channel");
    assert!(!follows(sys.repo.subscriptions_of(dana).await.unwrap()), "Dana's waits for her client");
    assert!(commands_queue.receive(10, Duration::from_secs(2)).await.unwrap().is_empty(), "back on the queue until her FLOOD_WAIT is over, not retried in a second");
    stop_d.send(true).unwrap();
    stop_e.send(true).unwrap();
    assert_eq!(task_d.await.unwrap(), DriveEnd::Stopped);
    assert_eq!(task_e.await.unwrap(), DriveEnd::Stopped);
}
