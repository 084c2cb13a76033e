//! The bot as users meet it: sign-in with invites, channels, questions and their limits, and the
//! webhook's own guarantees (secret, malformed bodies, redelivery, Telegram's 429s).

use crate::TestSystem;
use siftgram_core::Clock;
use crate::bot::{MINIAPP_URL, TestBot, WEBHOOK_SECRET, story_settings};
use siftgram_core::messages::{JobRequest, SessionCommand};
use siftgram_core::model::{Tier, UserId};
use siftgram_core::rules::RateLimit;
use siftgram_fake_telegram::Failure;

#[macro_export]
macro_rules! bot_stories {
    ($make:path) => {
        $crate::suite!($make; $crate::stories::bot;
            a_new_user_is_asked_for_an_invite,
            login_with_a_valid_code_reserves_it_and_starts_a_qr_login,
            login_refuses_expired_used_up_unknown_and_malformed_codes,
            channels_can_be_added_up_to_the_tier_limit,
            a_channel_is_removed_only_after_confirmation,
            my_channels_shows_post_counts_and_sync_times,
            ask_is_refused_after_the_daily_quota,
            search_recommend_and_digest_enqueue_jobs_within_the_plan,
            a_redelivered_update_gets_no_second_reply,
            a_question_whose_job_could_not_be_queued_is_shown_counted_and_queued_once,
            a_channel_whose_lookup_could_not_be_queued_is_looked_up_with_one_message,
            a_forged_or_missing_secret_is_refused_and_writes_nothing,
            malformed_json_is_refused_and_writes_nothing,
            telegrams_retry_after_is_respected,
            a_flooding_user_is_slowed_down_with_one_warning,
            plain_text_and_unknown_commands_get_help_in_the_users_language,
            a_user_who_blocked_the_bot_does_not_break_the_webhook,
            a_user_with_many_channels_sees_them_all_page_by_page,
            many_channels_are_removed_from_a_paged_keyboard,
            the_digest_panel_fits_one_message_whatever_was_picked,
            a_reply_telegram_refuses_is_final_and_later_updates_are_handled,
            an_update_that_keeps_failing_is_given_up_after_five_tries,
            an_update_whose_taker_was_killed_is_handled_on_redelivery_once,
            a_digest_on_request_counts_as_a_question,
            a_blocked_user_gets_no_digests_and_no_buttons,
            a_member_whose_session_ended_signs_in_again_without_an_invite,
        );
    };
}

fn uid(id: i64) -> UserId {
    UserId::new(id).unwrap()
}

pub async fn a_new_user_is_asked_for_an_invite(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = bot.user(101);
    let reply = bot.says(&anna, "/start").await;
    assert!(reply.text.contains("/login"), "{}", reply.text);
    let stored = sys.repo.get_user(uid(101)).await.unwrap().expect("first contact creates the user");
    assert!(!stored.has_access());
    for command in ["/add_channel @durov", "/my_channels", "/ask что нового?", "/digest"] {
        let reply = bot.says(&anna, command).await;
        assert!(reply.text.contains("/login"), "{command} → {}", reply.text);
    }
    assert!(bot.take_jobs().await.is_empty());
    assert!(bot.take_commands().await.is_empty());
}

pub async fn login_with_a_valid_code_reserves_it_and_starts_a_qr_login(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let code = bot.invite(Tier::Basic, Some(30), 1).await;
    let anna = bot.user(102);
    let reply = bot.says(&anna, &format!("/login {}", code.as_str().to_lowercase())).await;
    assert!(reply.text.starts_with('⏳'), "{}", reply.text);
    assert_eq!(reply.buttons().len(), 1);
    assert_eq!(reply.buttons()[0].1, format!("{MINIAPP_URL}/login.html"));

    let commands = bot.take_commands().await;
    let [SessionCommand::StartQrLogin { user, invite, reply: reply_to, .. }] = &commands[..] else { panic!("{commands:?}") };
    assert_eq!((*user, invite.as_ref()), (uid(102), Some(&code)));
    assert_eq!((reply_to.chat_id, reply_to.message_id), (102, Some(reply.message_id)), "the worker edits this message");

    let stored = sys.repo.get_invite(code.as_str()).await.unwrap().unwrap();
    assert_eq!((stored.uses, stored.holds.len()), (0, 1), "reserved, not yet redeemed");
    let boris = bot.user(103);
    let refused = bot.says(&boris, &format!("/login {code}")).await;
    assert!(refused.text.contains("использован"), "the only use is held for Anna: {}", refused.text);
    assert!(bot.take_commands().await.is_empty());
}

pub async fn login_refuses_expired_used_up_unknown_and_malformed_codes(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let expired = bot.invite(Tier::Basic, Some(1), 1).await;
    let used_up = bot.invite(Tier::Basic, None, 1).await;
    sys.repo.create_user(&siftgram_core::model::User::new(uid(999), "X", Default::default(), sys.clock.now()).unwrap()).await.unwrap();
    sys.repo.redeem_invite(used_up.as_str(), uid(999)).await.unwrap();
    sys.clock.advance(2 * 86_400);
    let anna = bot.user(104);
    for (code, expect) in [
        (expired.to_string(), "истёк"),
        (used_up.to_string(), "использован"),
        ("ZZZZZZZZZZZZ".to_owned(), "нет"),
        ("abc".to_owned(), "12"),
        (String::new(), "/login"),
    ] {
        let reply = bot.says(&anna, &format!("/login {code}")).await;
        assert!(reply.text.contains(expect), "{code:?} → {}", reply.text);
    }
    assert!(bot.take_commands().await.is_empty());
    let invite = sys.repo.get_invite(expired.as_str()).await.unwrap().unwrap();
    assert!(invite.holds.is_empty() && invite.uses == 0, "refusals change nothing");
    assert!(!sys.repo.get_user(uid(104)).await.unwrap().unwrap().has_access());
}

pub async fn channels_can_be_added_up_to_the_tier_limit(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = bot.member(105, Tier::Free).await;
    let limit = sys.repo.catalog().limits(Tier::Free).max_channels as i64;
    for n in 1..=limit {
        let reply = bot.says(&anna, &format!("/add_channel https://t.me/channel_{n}")).await;
        assert!(reply.text.contains(&format!("@channel_{n}")), "{}", reply.text);
        let commands = bot.take_commands().await;
        let [SessionCommand::ResolveChannel { username, reply: to, .. }] = &commands[..] else { panic!("{commands:?}") };
        assert_eq!((username.as_str(), to.message_id), (format!("channel_{n}").as_str(), Some(reply.message_id)));
        // What the session node does once it has resolved the channel.
        bot.follows(&anna, 5000 + n, &format!("channel_{n}"), &format!("Channel {n}")).await;
    }
    // A channel already followed is checked for new posts now (the limit does not matter).
    let again = bot.says(&anna, "/add_channel @channel_1").await;
    assert!(again.text.contains("Вы уже следите за Channel 1") && again.text.contains("Проверяю"), "{}", again.text);
    let commands = bot.take_commands().await;
    let [SessionCommand::SyncChannel { channel, reply: to, .. }] = &commands[..] else { panic!("{commands:?}") };
    assert_eq!((channel.get(), to.message_id), (5001, Some(again.message_id)));
    let over = bot.says(&anna, "/add_channel @one_too_many").await;
    assert!(over.text.contains(&format!("не более чем за {limit}")), "{}", over.text);
    let bad = bot.says(&anna, "/add_channel not a channel!").await;
    assert!(bad.text.starts_with("Не похоже на канал"), "{}", bad.text);
    assert!(bot.take_commands().await.is_empty());
}

pub async fn a_channel_is_removed_only_after_confirmation(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = bot.member(106, Tier::Basic).await;
    let news = bot.follows(&anna, 7001, "news_daily", "Новости <дня>").await;
    bot.follows(&anna, 7002, "tech_daily", "Tech").await;

    let list = bot.says(&anna, "/remove_channel").await;
    assert_eq!(list.buttons(), vec![("Новости <дня>".into(), "rm:7001".into()), ("Tech".into(), "rm:7002".into())]);
    let confirm = bot.presses(&anna, list.message_id, "rm:7001").await;
    assert!(confirm.text.contains("Новости <дня>"), "{}", confirm.text);
    assert_eq!(confirm.buttons().iter().map(|b| b.1.as_str()).collect::<Vec<_>>(), ["rmok:7001", "rmno"]);
    let cancelled = bot.presses(&anna, list.message_id, "rmno").await;
    assert_eq!(cancelled.text, "Отменено.");
    let unchanged = bot.presses(&anna, list.message_id, "rmno").await;
    assert_eq!(unchanged, cancelled, "Telegram's \"message is not modified\" is not an error");
    assert_eq!(sys.repo.subscriptions_of(uid(106)).await.unwrap().len(), 2, "cancel removes nothing");

    let removed = bot.presses(&anna, list.message_id, "rmok:7001").await;
    assert!(removed.text.contains("убран"), "{}", removed.text);
    let subs = sys.repo.subscriptions_of(uid(106)).await.unwrap();
    assert!(subs.iter().all(|s| s.channel != news) && subs.len() == 1);
    assert_eq!(sys.repo.get_user(uid(106)).await.unwrap().unwrap().channel_count, 1);
    let commands = bot.take_commands().await;
    assert!(matches!(&commands[..], [SessionCommand::LeaveChannel { channel, .. }] if *channel == news), "{commands:?}");

    let stale = bot.presses(&anna, list.message_id, "rmok:7001").await;
    assert!(stale.text.contains("не следите"), "pressing again changes nothing: {}", stale.text);
    bot.presses(&anna, list.message_id, "garbage").await;
    assert_eq!(bot.telegram.calls_to("answerCallbackQuery").len(), 6, "every press is answered");
}

pub async fn my_channels_shows_post_counts_and_sync_times(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = bot.member(107, Tier::Basic).await;
    assert!(bot.says(&anna, "/my_channels").await.text.contains("нет каналов"));
    let id = bot.follows(&anna, 7101, "daily", "Daily & Co").await;
    let mut channel = sys.repo.get_channel(id).await.unwrap().unwrap();
    channel.last_synced_at = Some(siftgram_core::Timestamp(1_795_251_900));
    sys.repo.save_channel(&channel).await.unwrap();
    for message in 1..=3 {
        let key = siftgram_core::model::PostKey::new(id, message).unwrap();
        let post = siftgram_core::model::Post::new(key, None, "пост", sys.clock.now(), Default::default()).unwrap();
        sys.repo.insert_post(&post).await.unwrap();
    }
    let reply = bot.says(&anna, "/my_channels").await;
    assert!(reply.text.contains("Daily & Co (@daily) — постов: 3, обновлён 2026-11-21 09:05 UTC"), "{}", reply.text);
    assert!(reply.text.contains("(1 из 10)"), "{}", reply.text);

    // While the history loads, how much of it is stored (the newest id bounds the count).
    channel.last_message_id = Some(12);
    sys.repo.save_channel(&channel).await.unwrap();
    let mut sync = siftgram_core::repo::SyncState { oldest_published: Some(10), newest_published: Some(12), backfilled: 3, backfill_done: false, history_limit: None };
    sys.repo.save_sync_state(id, &sync).await.unwrap();
    let reply = bot.says(&anna, "/my_channels").await;
    assert!(reply.text.contains("постов: 3, обновлён 2026-11-21 09:05 UTC — история загружается: ≈25%"), "{}", reply.text);
    // Stopped at the plan's allowance, and over today's: the user is told what is kept.
    sync.history_limit = Some(100);
    sys.repo.save_sync_state(id, &sync).await.unwrap();
    sys.repo.keep_new_posts(id, 130, 100).await.unwrap();
    let reply = bot.says(&anna, "/my_channels").await;
    assert!(reply.text.contains("из истории сохранены последние 100 (лимит тарифа) — сегодня не сохранено сверх лимита: 30"), "{}", reply.text);
    assert!(!reply.text.contains("загружается"), "{}", reply.text);
    sync.backfill_done = true;
    sync.history_limit = None;
    sys.repo.save_sync_state(id, &sync).await.unwrap();
    assert!(!bot.says(&anna, "/my_channels").await.text.contains("загружается"), "complete: nothing more to say");
}

pub async fn ask_is_refused_after_the_daily_quota(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = bot.member(108, Tier::Free).await;
    assert!(bot.says(&anna, "/ask").await.text.contains("Напишите вопрос"));
    let long = format!("/ask {}", "а".repeat(1001));
    assert!(bot.says(&anna, &long).await.text.contains("1000"));
    let limit = sys.repo.catalog().limits(Tier::Free).rag_queries_per_day;
    for n in 0..limit {
        let reply = bot.says(&anna, &format!("/ask вопрос {n}")).await;
        assert!(reply.text.starts_with('⏳'), "{}", reply.text);
    }
    let refused = bot.says(&anna, "/ask ещё один").await;
    assert!(refused.text.contains("Лимит на сегодня"), "{}", refused.text);
    let jobs = bot.take_jobs().await;
    assert_eq!(jobs.len(), limit as usize, "no job beyond the quota");
    assert!(jobs.iter().all(|j| j.user == uid(108) && matches!(j.request, JobRequest::Ask { .. })));
    sys.clock.advance(86_400);
    assert!(bot.says(&anna, "/ask завтра").await.text.starts_with('⏳'), "the quota resets the next day");
}

pub async fn search_recommend_and_digest_enqueue_jobs_within_the_plan(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let free = bot.member(109, Tier::Free).await;
    assert!(bot.says(&free, "/digest").await.text.contains("недоступны"));
    assert!(bot.says(&free, "/search").await.text.contains("Что искать"));
    let trial = bot.member(110, Tier::Trial).await;
    bot.says(&trial, "/search выборы").await;
    bot.says(&trial, "/recommend").await;
    let digest = bot.says(&trial, "/digest now").await;
    assert!(digest.text.starts_with('⏳'));
    let kinds: Vec<JobRequest> = bot.take_jobs().await.into_iter().map(|j| j.request).collect();
    assert_eq!(kinds, vec![JobRequest::Search { query: "выборы".into() }, JobRequest::Recommend, JobRequest::Digest]);
}

pub async fn a_redelivered_update_gets_no_second_reply(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = bot.member(111, Tier::Basic).await;
    let update = anna.says("/ask что нового?");
    assert_eq!(bot.deliver(&update).await.status, 200);
    let replies = bot.bot_message_count(111);
    assert_eq!(bot.deliver(&update).await.status, 200, "Telegram must stop redelivering");
    assert_eq!(bot.bot_message_count(111), replies);
    assert_eq!(bot.take_jobs().await.len(), 1);
    assert_eq!(sys.repo.daily_usage(uid(111), siftgram_core::rules::DailyQuota::RagQueries).await.unwrap(), 1);
}

/// The jobs queue fails after the "⏳" was shown and the question counted: the webhook answers
/// 500, Telegram delivers the update again, and the retry reuses both.
pub async fn a_question_whose_job_could_not_be_queued_is_shown_counted_and_queued_once(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = bot.member(140, Tier::Basic).await;
    let update = anna.says("/ask что нового?");
    bot.jobs_fail_next(2);
    assert_eq!(bot.deliver(&update).await.status, 500, "the job was not queued: Telegram must retry");
    assert_eq!(bot.deliver(&update).await.status, 500);
    assert_eq!(bot.deliver(&update).await.status, 200);
    let shown: Vec<_> = bot.telegram.bot_messages(140).into_iter().filter(|m| m.text.starts_with('⏳')).collect();
    assert_eq!(shown.len(), 1, "one ⏳: {shown:?}");
    let jobs = bot.take_jobs().await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].reply.message_id, Some(shown[0].message_id), "the job edits the ⏳ that was shown");
    assert_eq!(sys.repo.daily_usage(uid(140), siftgram_core::rules::DailyQuota::RagQueries).await.unwrap(), 1, "counted once");
    let next = bot.says(&anna, "/ask и ещё?").await;
    assert!(next.text.starts_with('⏳'));
    assert_eq!(sys.repo.daily_usage(uid(140), siftgram_core::rules::DailyQuota::RagQueries).await.unwrap(), 2, "another update counts again");
}

pub async fn a_channel_whose_lookup_could_not_be_queued_is_looked_up_with_one_message(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = bot.member(141, Tier::Basic).await;
    let update = anna.says("/add_channel @rust_news");
    bot.commands_fail_next(1);
    assert_eq!(bot.deliver(&update).await.status, 500);
    assert_eq!(bot.deliver(&update).await.status, 200);
    let shown: Vec<_> = bot.telegram.bot_messages(141).into_iter().filter(|m| m.text.starts_with('⏳')).collect();
    assert_eq!(shown.len(), 1, "{shown:?}");
    let commands = bot.take_commands().await;
    assert_eq!(commands.len(), 1, "{commands:?}");
    let SessionCommand::ResolveChannel { reply, .. } = &commands[0] else { panic!("{commands:?}") };
    assert_eq!(reply.message_id, Some(shown[0].message_id));
}

pub async fn a_forged_or_missing_secret_is_refused_and_writes_nothing(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = bot.user(112);
    let body = serde_json::to_vec(&anna.says("/start")).unwrap();
    let writes = sys.store.writes();
    let forged = format!("{WEBHOOK_SECRET}x");
    for secret in [Some(forged.as_bytes()), Some(&b""[..]), None] {
        let reply = bot.service.handle_webhook(secret, &body).await;
        assert_eq!(reply.status, 403);
    }
    assert_eq!(sys.store.writes(), writes);
    assert_eq!(bot.bot_message_count(112), 0);
    assert!(sys.repo.get_user(uid(112)).await.unwrap().is_none());
}

pub async fn malformed_json_is_refused_and_writes_nothing(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let writes = sys.store.writes();
    for body in [&b"{not json"[..], b"", b"{\"message\": {}}", b"[1,2]"] {
        let reply = bot.service.handle_webhook(Some(WEBHOOK_SECRET.as_bytes()), body).await;
        assert_eq!(reply.status, 400, "{:?}", String::from_utf8_lossy(body));
    }
    assert_eq!(sys.store.writes(), writes);
    assert!(bot.telegram.calls_to("sendMessage").is_empty());
}

pub async fn telegrams_retry_after_is_respected(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = bot.user(113);
    bot.telegram.fail_next("sendMessage", Failure::TooManyRequests { retry_after: 1 });
    let reply = bot.says(&anna, "/help").await;
    assert!(reply.text.contains("Команды"));
    let calls = bot.telegram.calls_to("sendMessage");
    assert_eq!(calls.len(), 2);
    assert!(calls[1].at.duration_since(calls[0].at) >= std::time::Duration::from_secs(1), "waited retry_after");

    // A wait longer than the budget is not sat out inside the webhook: the update fails (500) and
    // is released, so Telegram's redelivery is handled in full.
    bot.telegram.fail_next("sendMessage", Failure::TooManyRequests { retry_after: 3600 });
    let update = anna.says("/help");
    assert_eq!(bot.deliver(&update).await.status, 500);
    assert_eq!(bot.deliver(&update).await.status, 200);
    assert_eq!(bot.bot_message_count(113), 2);
}

pub async fn a_flooding_user_is_slowed_down_with_one_warning(sys: &mut TestSystem) {
    let settings = siftgram_bot::BotSettings { rate_limit: RateLimit { burst: 3, per_minute: 6 }, ..story_settings() };
    let bot = TestBot::start_with(sys, settings).await;
    let anna = bot.user(114);
    for _ in 0..6 {
        bot.deliver(&anna.says("/help")).await;
    }
    let texts: Vec<String> = bot.telegram.bot_messages(114).into_iter().map(|m| m.text).collect();
    assert_eq!(texts.len(), 4, "three answers and one warning: {texts:?}");
    assert!(texts[3].contains("Слишком много"));
    let boris = bot.user(115);
    assert!(bot.says(&boris, "/help").await.text.contains("Команды"), "others are not affected");
    sys.clock.advance(10);
    bot.deliver(&anna.says("/help")).await;
    assert_eq!(bot.bot_message_count(114), 5, "tokens come back with time");
}

pub async fn plain_text_and_unknown_commands_get_help_in_the_users_language(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = bot.user(116);
    assert!(bot.says(&anna, "привет").await.text.contains("Команды"));
    assert!(bot.says(&anna, "/frobnicate").await.text.contains("Команды"));
    let john = bot.telegram.user(117, "en-US");
    let reply = bot.says(&john, "hello").await;
    assert!(reply.text.contains("Commands") && reply.text.contains("/ask question"), "{}", reply.text);
    assert!(bot.says(&john, "/start").await.text.contains("Access is by invitation"));
}

pub async fn a_user_who_blocked_the_bot_does_not_break_the_webhook(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = bot.user(118);
    bot.telegram.block_bot(118);
    assert_eq!(bot.deliver(&anna.says("/start")).await.status, 200);
    assert_eq!(bot.telegram.calls_to("sendMessage").len(), 1, "tried once, not retried");
}

/// A member of the enterprise tier following `n` channels with long Cyrillic titles.
async fn member_with_channels(bot: &TestBot, id: i64, n: i64) -> siftgram_fake_telegram::FakeUser {
    let user = bot.member(id, Tier::Enterprise).await;
    for i in 0..n {
        let title = format!("Канал {i:03} — очень длинное название, «новости» & обзоры недели, которые никто не сокращает");
        bot.follows(&user, 5_000 + i, &format!("channel_{i:03}"), &title).await;
    }
    user
}

/// The channel numbers (`Канал 007`) a message mentions.
fn channel_numbers(text: &str) -> Vec<u32> {
    text.match_indices("Канал ").filter_map(|(at, _)| text[at + "Канал ".len()..].get(..3)?.parse().ok()).collect()
}

fn button_data(message: &siftgram_fake_telegram::SentMessage, caption: &str) -> Option<String> {
    message.buttons().into_iter().find(|(text, _)| text == caption).map(|(_, data)| data)
}

pub async fn a_user_with_many_channels_sees_them_all_page_by_page(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = member_with_channels(&bot, 130, 60).await;
    // The fake Bot API refuses texts over 4096 characters, as Telegram does: `says` would fail.
    let mut page = bot.says(&anna, "/my_channels").await;
    assert!(page.text.contains("60 из 999"), "{}", page.text);
    let mut seen = channel_numbers(&page.text);
    while let Some(next) = button_data(&page, "▶") {
        page = bot.presses(&anna, page.message_id, &next).await;
        assert!(page.text.contains("60 из 999"), "every page has the header: {}", page.text);
        seen.extend(channel_numbers(&page.text));
    }
    assert_eq!(seen, (0..60).collect::<Vec<_>>(), "every channel once, in order");
    let back = button_data(&page, "◀").expect("the last page goes back");
    let previous = bot.presses(&anna, page.message_id, &back).await;
    assert!(button_data(&previous, "▶").is_some());
    assert_eq!(bot.bot_message_count(130), 2, "pages are edits of one message (plus the /start reply)");
}

pub async fn many_channels_are_removed_from_a_paged_keyboard(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = member_with_channels(&bot, 131, 120).await;
    let mut keyboard = bot.says(&anna, "/remove_channel").await;
    assert!(keyboard.buttons().len() <= siftgram_bot::paging::MAX_KEYBOARD_BUTTONS);
    let mut pages = 1;
    while let Some(next) = button_data(&keyboard, "▶") {
        keyboard = bot.presses(&anna, keyboard.message_id, &next).await;
        pages += 1;
    }
    assert_eq!(pages, 12, "120 channels, 10 a page");
    let (caption, pick) = keyboard.buttons().into_iter().find(|(_, d)| d.starts_with("rm:")).expect("a channel button");
    assert!(caption.starts_with("Канал 110") && caption.ends_with('…'), "{caption}");
    let confirm = bot.presses(&anna, keyboard.message_id, &pick).await;
    let yes = confirm.buttons().into_iter().find(|(_, d)| d.starts_with("rmok:")).expect("confirm").1;
    let done = bot.presses(&anna, confirm.message_id, &yes).await;
    assert!(done.text.contains("Канал 110"), "{}", done.text);
    assert_eq!(sys.repo.subscriptions_of(uid(131)).await.unwrap().len(), 119);
}

pub async fn the_digest_panel_fits_one_message_whatever_was_picked(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = member_with_channels(&bot, 132, 60).await;
    let names: Vec<String> = (0..60).map(|i| format!("@channel_{i:03}")).collect();
    let panel = bot.says(&anna, &format!("/digest channels {}", names.join(" "))).await;
    assert!(panel.text.contains("и ещё 50"), "{}", panel.text);
    assert_eq!(sys.repo.digest_settings(uid(132)).await.unwrap().channels.len(), 60, "all 60 are kept");
    let long_tags: Vec<String> = (0..40).map(|i| format!("{i}{}", "т".repeat(300))).collect();
    let panel = bot.says(&anna, &format!("/digest tags {}", long_tags.join(", "))).await;
    let tags = sys.repo.digest_settings(uid(132)).await.unwrap().tags;
    assert_eq!(tags.len(), 20, "at most 20 tags: {}", panel.text);
    assert!(tags.iter().all(|t| t.chars().count() <= 64));
}

pub async fn a_reply_telegram_refuses_is_final_and_later_updates_are_handled(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = bot.user(133);
    bot.telegram.fail_next("sendMessage", Failure::BadRequest("can't parse entities: unsupported start tag".into()));
    let update = anna.says("/help");
    assert_eq!(bot.deliver(&update).await.status, 200, "a 400 is final: Telegram must not redeliver it");
    let told = bot.last_bot_message(133).expect("the user is told");
    assert!(told.text.contains("Что-то пошло не так"), "{}", told.text);
    assert_eq!(bot.deliver(&update).await.status, 200);
    assert_eq!(bot.bot_message_count(133), 1, "a redelivery is not run again");
    assert!(bot.says(&anna, "/help").await.text.contains("Команды"), "the next update is handled");
}

pub async fn an_update_that_keeps_failing_is_given_up_after_five_tries(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = bot.user(134);
    // Telegram asks for a longer wait than the webhook may sit out, every time.
    for _ in 0..siftgram_bot::MAX_UPDATE_FAILURES {
        bot.telegram.fail_next("sendMessage", Failure::TooManyRequests { retry_after: 3600 });
    }
    let update = anna.says("/help");
    for attempt in 1..siftgram_bot::MAX_UPDATE_FAILURES {
        assert_eq!(bot.deliver(&update).await.status, 500, "attempt {attempt} is retried");
    }
    assert_eq!(bot.deliver(&update).await.status, 200, "the last attempt acknowledges it");
    let told = bot.last_bot_message(134).expect("the user is told");
    assert!(told.text.contains("Что-то пошло не так"), "{}", told.text);
    assert_eq!(bot.deliver(&update).await.status, 200);
    assert_eq!(bot.bot_message_count(134), 1, "given up means never run again");
    let boris = bot.user(135);
    assert!(bot.says(&boris, "/help").await.text.contains("Команды"));
}

pub async fn an_update_whose_taker_was_killed_is_handled_on_redelivery_once(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = bot.user(137);
    let update = anna.says("/help");
    let update_id = update["update_id"].as_u64().expect("update id") as u32;
    // The process that took it in was killed before it answered: its claim is left running.
    sys.repo.claim_update(update_id, 120, siftgram_bot::MAX_UPDATE_FAILURES).await.unwrap();
    assert_eq!(bot.deliver(&update).await.status, 500, "the claim may still be another delivery's: Telegram must come back");
    assert_eq!(bot.bot_message_count(137), 0);
    sys.clock.advance(600);
    assert_eq!(bot.deliver(&update).await.status, 200);
    let reply = bot.last_bot_message(137).expect("answered on redelivery");
    assert!(reply.text.contains("Команды"), "{}", reply.text);
    sys.clock.advance(3600);
    assert_eq!(bot.deliver(&update).await.status, 200, "a late redelivery of the finished update");
    assert_eq!(bot.bot_message_count(137), 1, "answered once");
}

pub async fn a_digest_on_request_counts_as_a_question(sys: &mut TestSystem) {
    use siftgram_core::rules::DailyQuota;
    let bot = TestBot::start(sys).await;
    let anna = bot.member(136, Tier::Basic).await;
    let limit = sys.repo.catalog().limits(Tier::Basic).rag_queries_per_day;
    for _ in 0..limit - 1 {
        sys.repo.consume_daily_quota(uid(136), DailyQuota::RagQueries).await.unwrap();
    }
    assert!(bot.says(&anna, "/digest now").await.text.starts_with('⏳'), "the last question of the day");
    assert_eq!(sys.repo.daily_usage(uid(136), DailyQuota::RagQueries).await.unwrap(), limit);
    assert!(bot.says(&anna, "/digest now").await.text.contains(&limit.to_string()), "over the quota: refused");
    let panel = bot.says(&anna, "/digest").await;
    let now = panel.buttons().into_iter().find(|(_, d)| d == "dg:now").expect("the send-now button").1;
    bot.presses(&anna, panel.message_id, &now).await;
    assert!(bot.last_bot_message(136).unwrap().text.contains(&limit.to_string()), "the button is refused too");
    assert_eq!(bot.take_jobs().await.len(), 1, "one digest job only");
}

pub async fn a_blocked_user_gets_no_digests_and_no_buttons(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = bot.member(137, Tier::Basic).await;
    let boris = bot.member(138, Tier::Basic).await;
    bot.says(&boris, "/digest on").await;
    let panel = bot.says(&anna, "/digest on").await;
    assert!(sys.repo.digest_settings(uid(137)).await.unwrap().enabled);
    sys.repo.update_user(uid(137), |u| {
        u.blocked = true;
        Ok(())
    })
    .await
    .unwrap();
    let writes = sys.store.writes();
    let after = bot.presses(&anna, panel.message_id, "dg:toggle").await;
    assert_eq!(after.text, panel.text, "the panel did not change");
    assert!(sys.repo.digest_settings(uid(137)).await.unwrap().enabled, "nor did the setting");
    assert_eq!(sys.store.writes() - writes, 3, "only the intake's claim (taken, then finished) and rate token were written");

    // A week on, Boris's digest is due and sent; Anna's is not.
    sys.clock.advance(8 * 86_400);
    let enqueued = siftgram_core::digest::enqueue_due_digests(&sys.repo, &*bot.jobs, sys.clock.now()).await.unwrap();
    let users: Vec<UserId> = bot.take_jobs().await.into_iter().map(|j| j.user).collect();
    assert_eq!((enqueued, users), (1, vec![uid(138)]));
}

pub async fn a_member_whose_session_ended_signs_in_again_without_an_invite(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = bot.member(139, Tier::Basic).await;
    let reply = bot.says(&anna, "/login").await;
    assert!(reply.text.starts_with('⏳') && reply.buttons().len() == 1, "{}", reply.text);
    let commands = bot.take_commands().await;
    let [SessionCommand::StartQrLogin { user, invite: None, .. }] = &commands[..] else { panic!("{commands:?}") };
    assert_eq!(*user, uid(139));

    // With a session there is nothing to sign in to; an admin without one can get one too.
    let session = siftgram_core::repo::StoredSession { sealed: "v2.k.x".into(), account_id: 139, signed_in_at: sys.clock.now() };
    sys.repo.save_session(uid(139), &session).await.unwrap();
    assert!(bot.says(&anna, "/login").await.text.contains("уже"), "already signed in");
    assert!(bot.take_commands().await.is_empty());
    assert!(bot.says(&bot.admin(), "/login").await.text.starts_with('⏳'));
    assert_eq!(bot.take_commands().await.len(), 1);
}
