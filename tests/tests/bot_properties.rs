//! Bot API updates from anywhere, as properties: whatever a member types or a client puts in a
//! button's data, and whatever a broken sender makes of the JSON, the webhook answers 200 (taken
//! in, or refused for good) or 400 (malformed) — never a 500 that would make Telegram redeliver
//! it for ever, never a panic.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use siftgram_core::model::Tier;
use siftgram_tests::TestSystem;
use siftgram_tests::bot::{TestBot, story_settings};

/// Commands with arguments as people (and scripts) send them.
fn typed() -> impl Strategy<Value = String> {
    let command = prop_oneof![
        Just("/start"), Just("/help"), Just("/login"), Just("/add_channel"), Just("/my_channels"), Just("/remove_channel"),
        Just("/subscription"), Just("/ask"), Just("/search"), Just("/recommend"), Just("/digest"), Just("/admin"), Just("/admin_invite"),
        Just("/admin_users"), Just("/admin_grant"), Just("/ask@siftgram_bot"), Just("/unknown"), Just("/"), Just(""),
    ];
    let argument = prop_oneof!["\\PC{0,40}", "@[a-z_]{0,40}", "https://t\\.me/[a-z_]{1,20}/[0-9]{1,5}", "[A-Z0-9]{12}", "-?[0-9]{1,20}", "<b>[a-z]{0,5}</b>&amp;", "\\PC{4000,4200}"];
    (command, argument).prop_map(|(c, a)| format!("{c} {a}"))
}

/// Button data: ours, ours changed, and anything (Telegram allows 1–64 bytes; a forged client
/// sends what it likes).
fn button_data() -> impl Strategy<Value = String> {
    prop_oneof!["(rm|page|digest|dg|confirm|cancel|ch|admin):[a-z0-9:_-]{0,40}", "\\PC{0,70}", "[0-9:]{0,64}"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatever_arrives_the_webhook_answers_200_or_400_and_never_fails() {
    let sys = TestSystem::embedded().await;
    let mut settings = story_settings();
    settings.rate_limit = siftgram_core::rules::RateLimit { burst: 100_000, per_minute: 100_000 };
    let bot = TestBot::start_with(&sys, settings).await;
    let anna = bot.member(7_001, Tier::Premium).await;
    let panel = bot.says(&anna, "/my_channels").await;
    let runtime = tokio::runtime::Handle::current();
    let run = |strategy: BoxedStrategy<serde_json::Value>, cases: u32| {
        let mut runner = TestRunner::new_with_rng(Config { cases, failure_persistence: None, ..Config::default() }, proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha));
        let outcome = runner.run(&strategy, |update| {
            let body = serde_json::to_vec(&update).unwrap();
            let reply = tokio::task::block_in_place(|| runtime.block_on(bot.service.handle_webhook(Some(siftgram_tests::bot::WEBHOOK_SECRET.as_bytes()), &body)));
            prop_assert_eq!(reply.status, 200, "{:?} for {}", reply, update);
            Ok(())
        });
        outcome.map_err(|e| e.to_string())
    };
    let texts = typed().prop_map({
        let anna = anna.clone();
        move |t| anna.says(&t)
    });
    let before = bot.bot_message_count(7_001);
    run(texts.boxed(), 300).unwrap();
    let answered = bot.bot_message_count(7_001) - before;
    assert!(answered >= 300, "every message answered: {answered} replies to 300");
    let presses = button_data().prop_map({
        let anna = anna.clone();
        move |d| anna.presses(panel.message_id, &d)
    });
    run(presses.boxed(), 300).unwrap();

    // Damaged JSON: refused as malformed (400) or, if it still reads as an update, taken in.
    let mut runner = TestRunner::new_with_rng(Config { cases: 500, failure_persistence: None, ..Config::default() }, proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha));
    let base = serde_json::to_string(&anna.says("/ask что нового?")).unwrap();
    runner
        .run(&(any::<usize>(), any::<u8>(), any::<char>()), |(at, how, with)| {
            let body = siftgram_tests::damaged(&base, at, how, with);
            let reply = tokio::task::block_in_place(|| runtime.block_on(bot.service.handle_webhook(Some(siftgram_tests::bot::WEBHOOK_SECRET.as_bytes()), body.as_bytes())));
            prop_assert!(matches!(reply.status, 200 | 400), "{:?} for {}", reply, body);
            Ok(())
        })
        .unwrap();
    eprintln!("bot updates: 300 typed commands, 300 button presses and 500 damaged bodies answered 200/400");
}
