//! Answers end to end: a user asks through the bot (fake Bot API), the worker runs the job from
//! the jobs queue with the real retriever and local embedding model, fake chat providers and a
//! fake SearXNG, and edits the user's "⏳" message. Digests go from the schedule to the chat;
//! webhooks from the events queue to a receiver that checks signatures.

use crate::TestSystem;
use crate::answers::{TestAnswers, WEBHOOK_KEY};
use hmac::{KeyInit, Mac};
use siftgram_core::Clock;
use siftgram_core::Timestamp;
use siftgram_core::digest::enqueue_due_digests;
use siftgram_core::messages::{Job, JobRequest, PostMessage, ReplyTo};
use siftgram_core::model::{ChannelId, Language, MediaKind, Post, PostKey, Tier, UserId};
use siftgram_core::ports::OutgoingMessage;
use siftgram_fake_telegram::FakeUser;

#[macro_export]
macro_rules! answers_stories {
    ($make:path) => {
        $crate::suite!($make; $crate::stories::answers;
            an_answer_cites_the_posts_it_was_given_and_is_cached,
            a_failing_provider_falls_through_to_the_next,
            with_every_provider_down_the_answer_is_extractive_with_citations,
            a_citation_of_a_post_not_in_the_context_is_repaired,
            nothing_found_means_no_model_call,
            a_reply_to_an_answer_is_a_follow_up_asked_with_the_question_before,
            a_long_answer_retried_after_a_part_failed_sends_each_part_once,
            search_merges_web_and_posts_and_survives_searxng_down,
            recommendations_span_channels_and_are_not_repeated,
            digest_settings_change_with_buttons_and_text,
            a_digest_due_at_nine_in_moscow_is_sent_once_at_six_utc,
            a_long_digest_is_split_under_the_telegram_limit,
            webhooks_are_signed_and_a_failing_target_does_not_delay_indexing,
        );
    };
}

const MARKET: &[(i64, &str)] = &[
    (1, "ЦБ повысил ключевую ставку до 18% годовых. Регулятор объяснил решение высокой инфляцией."),
    (2, "Доллар подорожал на бирже после решения ЦБ по ставке. Аналитики ждут продолжения роста."),
    (3, "Рецепт борща: свёкла, капуста, картофель и говядина."),
];

/// Anna (basic tier) follows @market_news with the three posts above, published `days_ago`.
async fn anna_with_market_news(sys: &TestSystem, a: &TestAnswers, days_ago: i64) -> (FakeUser, ChannelId) {
    let anna = a.bot.member(201, Tier::Basic).await;
    let channel = a.bot.follows(&anna, 5001, "market_news", "Рынки").await;
    let now = sys.clock.now();
    for (id, text) in MARKET {
        a.search.publish(&PostMessage::Publish { post: a.search.post(channel, *id, text, days_ago, now) }).await;
    }
    assert_eq!(a.search.index_all().await, MARKET.len());
    (anna, channel)
}

/// Asks through the bot and runs the worker; returns the ⏳ message's id and the final HTML.
async fn ask(a: &TestAnswers, user: &FakeUser, question: &str) -> (i32, String) {
    let waiting = a.bot.says(user, &format!("/ask {question}")).await;
    assert!(waiting.text.starts_with('⏳'), "{}", waiting.text);
    assert_eq!(a.run_jobs().await, 1);
    let shown = a.bot.telegram.chat(user.id).into_iter().find(|m| m.message_id == waiting.message_id).expect("still there");
    assert!(shown.edited, "the ⏳ message was replaced by the answer");
    (waiting.message_id, a.last_html(user.id))
}

fn links(html: &str) -> Vec<String> {
    html.split("href=\"").skip(1).filter_map(|s| s.split('"').next()).map(str::to_owned).collect()
}

pub async fn an_answer_cites_the_posts_it_was_given_and_is_cached(sys: &mut TestSystem) {
    let a = TestAnswers::start(sys, 1, false).await;
    let (anna, _) = anna_with_market_news(sys, &a, 1).await;
    a.providers[0].answer_next("Ставку повысили до 18% [1]. Доллар после этого подорожал [2].");
    let (_, html) = ask(&a, &anna, "что решил ЦБ по ставке и как отреагировал доллар?").await;
    assert!(html.contains("Ставку повысили до 18% [1]. Доллар после этого подорожал [2]."), "{html}");
    assert!(html.contains("<b>Источники</b>"), "{html}");
    let cited = links(&html);
    assert_eq!(cited.len(), 2, "{html}");
    // The model saw these posts, numbered, and was told to cite only them.
    let calls = a.chat_calls(0);
    assert_eq!(calls.len(), 1);
    let prompt = calls[0].body["messages"].to_string();
    assert!(prompt.contains("[1] Рынки") && prompt.contains("[2] Рынки") && prompt.contains("только"), "{prompt}");
    for link in &cited {
        let id: i64 = link.rsplit('/').next().unwrap().parse().unwrap();
        let text = MARKET.iter().find(|(m, _)| *m == id).unwrap().1;
        assert!(prompt.contains(&text.chars().take(20).collect::<String>()), "cited post {id} was in the context");
        assert!(link.starts_with("https://t.me/market_news/"));
    }
    // The same question within the hour: the cached answer, no second model call.
    let (_, again) = ask(&a, &anna, "Что решил ЦБ по ставке и как отреагировал доллар").await;
    assert_eq!(again, html);
    assert_eq!(a.chat_calls(0).len(), 1, "answered from the cache");
}

pub async fn a_failing_provider_falls_through_to_the_next(sys: &mut TestSystem) {
    let a = TestAnswers::start(sys, 2, false).await;
    let (anna, _) = anna_with_market_news(sys, &a, 1).await;
    a.providers[0].fail_next(500, None);
    a.providers[0].fail_next(500, None);
    a.providers[1].answer_next("Ключевая ставка теперь 18% [1].");
    let (_, html) = ask(&a, &anna, "какая сейчас ключевая ставка?").await;
    assert!(html.contains("Ключевая ставка теперь 18% [1]."), "{html}");
    assert_eq!(a.chat_calls(0).len(), 2, "the first provider was tried (with its retry)");
    assert_eq!(a.chat_calls(1).len(), 1, "then the second answered");
    assert_eq!(links(&html).len(), 1);
}

pub async fn with_every_provider_down_the_answer_is_extractive_with_citations(sys: &mut TestSystem) {
    let a = TestAnswers::start(sys, 2, false).await;
    let (anna, _) = anna_with_market_news(sys, &a, 1).await;
    for p in &a.providers {
        p.fail_next(503, None);
        p.fail_next(503, None);
    }
    let (_, html) = ask(&a, &anna, "почему подорожал доллар?").await;
    assert!(html.contains("Модель сейчас недоступна"), "{html}");
    assert!(html.contains("Доллар подорожал на бирже после решения ЦБ по ставке. [1]"), "{html}");
    assert_eq!(links(&html), ["https://t.me/market_news/2"]);
    assert_eq!((a.chat_calls(0).len(), a.chat_calls(1).len()), (2, 2));
}

pub async fn a_citation_of_a_post_not_in_the_context_is_repaired(sys: &mut TestSystem) {
    let a = TestAnswers::start(sys, 1, false).await;
    let (anna, _) = anna_with_market_news(sys, &a, 1).await;
    a.providers[0].answer_next("Доллар подорожал на бирже после решения по ставке [7]. Погода будет солнечной [9].");
    let (_, html) = ask(&a, &anna, "почему подорожал доллар?").await;
    assert!(html.contains("Доллар подорожал на бирже после решения по ставке [1]. Погода будет солнечной."), "{html}");
    assert!(!html.contains("[7]") && !html.contains("[9]"));
    assert_eq!(links(&html), ["https://t.me/market_news/2"], "the citation points at the post that says it");
}

pub async fn nothing_found_means_no_model_call(sys: &mut TestSystem) {
    let a = TestAnswers::start(sys, 1, false).await;
    let (anna, _) = anna_with_market_news(sys, &a, 10).await;
    let (_, html) = ask(&a, &anna, "что писали вчера про доллар?").await;
    // It says what it searched: the channels and the day "вчера" names — on Anna's calendar
    // (Moscow, the zone of every user who has not chosen one).
    let now = sys.clock.now();
    let moscow_now = siftgram_core::Timestamp(now.0 + siftgram_core::retrieval::utc_offset_of("Europe/Moscow", now));
    let (y, m, d, ..) = siftgram_core::Timestamp(moscow_now.start_of_day().0 - 86_400).utc_parts();
    assert!(html.contains(&format!("Ничего об этом не нашлось за {d:02}.{m:02}.{y}. Искал в каналах (1): Рынки.")), "{html}");
    assert!(a.chat_calls(0).is_empty(), "no model call without posts");
}

pub async fn a_reply_to_an_answer_is_a_follow_up_asked_with_the_question_before(sys: &mut TestSystem) {
    let a = TestAnswers::start(sys, 1, false).await;
    let (anna, _) = anna_with_market_news(sys, &a, 1).await;
    a.providers[0].answer_next("ЦБ повысил ставку до 18% [1].");
    let (answer, _) = ask(&a, &anna, "что решил ЦБ по ставке?").await;

    // A plain reply to the answer: asked with the question it follows.
    a.providers[0].answer_next("Доллар подорожал после решения ЦБ [1].");
    let waiting = a.bot.deliver(&anna.replies(answer, "а как отреагировал доллар?")).await;
    assert_eq!(waiting.status, 200);
    assert!(a.bot.last_bot_message(anna.id).unwrap().text.starts_with('⏳'));
    assert_eq!(a.run_jobs().await, 1);
    let prompt = a.chat_calls(0).last().unwrap().body.to_string();
    assert!(prompt.contains("что решил ЦБ по ставке? — а как отреагировал доллар?"), "{prompt}");
    assert!(a.last_html(anna.id).contains("Доллар подорожал после решения ЦБ [1]."));
    assert_eq!(sys.repo.daily_usage(anna_id(), siftgram_core::rules::DailyQuota::RagQueries).await.unwrap(), 2, "a follow-up is a question");

    // A follow-up of the follow-up carries the chain; /ask as a reply works the same way.
    let follow_up = a.bot.last_bot_message(anna.id).unwrap().message_id;
    a.providers[0].answer_next("Да [1].");
    a.bot.deliver(&anna.replies(follow_up, "/ask и это надолго?")).await;
    assert_eq!(a.run_jobs().await, 1);
    let prompt = a.chat_calls(0).last().unwrap().body.to_string();
    assert!(prompt.contains("что решил ЦБ по ставке? — а как отреагировал доллар? — и это надолго?"), "{prompt}");

    // A reply to anything else is plain text: the help, no question.
    let help = a.bot.says(&anna, "/help").await;
    let jobs_before = a.chat_calls(0).len();
    let reply = a.bot.deliver(&anna.replies(help.message_id, "спасибо")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(a.run_jobs().await, 0);
    assert!(a.bot.last_bot_message(anna.id).unwrap().text.contains("/ask"), "the help");
    assert_eq!(a.chat_calls(0).len(), jobs_before);
}

pub async fn a_long_answer_retried_after_a_part_failed_sends_each_part_once(sys: &mut TestSystem) {
    let a = TestAnswers::start(sys, 1, false).await;
    let (anna, _) = anna_with_market_news(sys, &a, 1).await;
    let sentence = "Доллар подорожал на бирже после решения ЦБ по ставке [1]. ";
    a.providers[0].answer_next(&sentence.repeat(180));
    let waiting = a.bot.says(&anna, "/ask почему подорожал доллар?").await;
    // The ⏳ becomes part 1, part 2 is sent, part 3 fails (Telegram asks to wait an hour): the
    // job is retried and must not send part 2 again.
    a.bot.telegram.fail_next("sendMessage", siftgram_fake_telegram::Failure::Pass);
    a.bot.telegram.fail_next("sendMessage", siftgram_fake_telegram::Failure::TooManyRequests { retry_after: 3600 });
    let first = siftgram_core::consume::process_batch(&*a.bot.jobs, &a.worker, 10, std::time::Duration::ZERO).await.unwrap();
    assert_eq!((first.received, first.failed), (1, 1), "part 3 failed: {first:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let retry = siftgram_core::consume::process_batch(&*a.bot.jobs, &a.worker, 10, std::time::Duration::from_secs(2)).await.unwrap();
        if retry.acked == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the job was not retried: {retry:?}");
    }
    let parts: Vec<_> = a.bot.telegram.bot_messages(anna.id).into_iter().filter(|m| m.message_id >= waiting.message_id).collect();
    assert_eq!(parts.len(), 3, "the ⏳ edited into part 1, then parts 2 and 3 once each: {:?}", parts.iter().map(|p| p.text.chars().take(30).collect::<String>()).collect::<Vec<_>>());
    // Parts are cut at spaces, so every word survives whole: each sentence shown exactly once.
    let words = |m: &siftgram_fake_telegram::SentMessage| m.text.matches("Доллар").count();
    assert_eq!(parts.iter().map(words).sum::<usize>(), 180, "every sentence shown once");
}

fn anna_id() -> siftgram_core::model::UserId {
    siftgram_core::model::UserId::new(201).unwrap()
}

pub async fn search_merges_web_and_posts_and_survives_searxng_down(sys: &mut TestSystem) {
    let a = TestAnswers::start(sys, 0, true).await;
    let (anna, _) = anna_with_market_news(sys, &a, 1).await;
    a.searxng.results_for("ключевая ставка ЦБ", &[("Ключевая ставка Банка России", "https://www.cbr.ru/hd_base/KeyRate/", "Ставка & история <изменений>")]);
    a.bot.says(&anna, "/search ключевая ставка ЦБ").await;
    assert_eq!(a.run_jobs().await, 1);
    let html = a.last_html(anna.id);
    assert!(html.contains("🌐 cbr.ru") && html.contains("📢 Рынки"), "{html}");
    assert!(html.contains("Ставка &amp; история &lt;изменений&gt;"), "web snippets are escaped: {html}");
    let all = links(&html);
    assert_eq!(all.iter().position(|l| l.starts_with("https://t.me/market_news/1")), Some(0), "the best post leads: {all:?}");
    assert!(all.contains(&"https://www.cbr.ru/hd_base/KeyRate/".to_owned()));
    let query = &a.searxng.queries()[0];
    assert_eq!((query["q"].as_str(), query["format"].as_str(), query["language"].as_str()), ("ключевая ставка ЦБ", "json", "ru"));

    a.searxng.set_down(true);
    a.bot.says(&anna, "/search доллар").await;
    assert_eq!(a.run_jobs().await, 1);
    let html = a.last_html(anna.id);
    assert!(html.contains("Веб-поиск сейчас недоступен"), "{html}");
    assert!(links(&html).iter().all(|l| l.starts_with("https://t.me/market_news/")), "{html}");
}

pub async fn recommendations_span_channels_and_are_not_repeated(sys: &mut TestSystem) {
    let a = TestAnswers::start(sys, 0, false).await;
    let anna = a.bot.member(202, Tier::Basic).await;
    let now = sys.clock.now();
    let texts = [
        "Курс доллара вырос на торгах Мосбиржи.",
        "Евро подешевел к рублю после заявлений ЦБ.",
        "Нефть Brent дорожает третий день подряд.",
    ];
    for (channel_id, name) in [(6001, "money_a"), (6002, "money_b")] {
        let channel = a.bot.follows(&anna, channel_id, name, name).await;
        for (i, text) in texts.iter().enumerate() {
            a.search.publish(&PostMessage::Publish { post: a.search.post(channel, i as i64 + 1, &format!("{name}: {text}"), 1, now) }).await;
        }
    }
    a.search.index_all().await;
    a.bot.says(&anna, "/ask что с курсом доллара").await;
    a.run_jobs().await;
    let answered = links(&a.last_html(anna.id));
    a.bot.says(&anna, "/recommend").await;
    a.run_jobs().await;
    let first = links(&a.last_html(anna.id));
    assert!(!first.is_empty());
    assert!(first.iter().any(|l| l.contains("/money_a/")) && first.iter().any(|l| l.contains("/money_b/")), "both channels: {first:?}");
    assert!(first.iter().all(|l| !answered.contains(l)), "posts already shown in the answer are not recommended");
    a.bot.says(&anna, "/recommend").await;
    a.run_jobs().await;
    let second = links(&a.last_html(anna.id));
    assert!(second.iter().all(|l| !first.contains(l)), "nothing is recommended twice: {first:?} then {second:?}");
}

async fn store_post(sys: &TestSystem, channel: ChannelId, id: i64, text: &str, at: Timestamp) {
    let username = sys.repo.get_channel(channel).await.unwrap().and_then(|c| c.username);
    let post = Post::new(PostKey::new(channel, id).unwrap(), username.as_ref(), text, at, MediaKind::None).unwrap();
    sys.repo.insert_post(&post).await.unwrap();
}

pub async fn digest_settings_change_with_buttons_and_text(sys: &mut TestSystem) {
    let a = TestAnswers::start(sys, 0, false).await;
    let free = a.bot.member(206, Tier::Free).await;
    let writes = sys.store.writes();
    assert!(a.bot.says(&free, "/digest on").await.text.contains("Дайджесты недоступны"));
    assert_eq!(sys.store.writes() - writes, 3, "only the intake's bookkeeping (claim taken and finished, rate token) was written");

    let eva = a.bot.member(207, Tier::Premium).await;
    let eva_id = UserId::new(207).unwrap();
    let panel = a.bot.says(&eva, "/digest").await;
    assert!(panel.text.contains("Дайджест: выключен") && panel.text.contains("ежедневно в 09:00 (Europe/Moscow)"), "{}", panel.text);
    let data: Vec<String> = panel.buttons().into_iter().map(|(_, d)| d).collect();
    assert_eq!(data, ["dg:toggle", "dg:freq", "dg:earlier", "dg:later", "dg:ai", "dg:style", "dg:now"]);
    let on = a.bot.presses(&eva, panel.message_id, "dg:toggle").await;
    assert!(on.text.contains("Дайджест: включён") && on.text.contains("Следующий: "), "{}", on.text);
    let later = a.bot.presses(&eva, panel.message_id, "dg:later").await;
    assert!(later.text.contains("в 10:00"), "{}", later.text);
    let weekly = a.bot.presses(&eva, panel.message_id, "dg:freq").await;
    assert!(weekly.text.contains("еженедельно (пн) в 10:00"), "{}", weekly.text);
    let saved = sys.repo.digest_settings(eva_id).await.unwrap();
    assert!(saved.enabled && saved.minute_of_day == 600 && saved.next_due.is_some());

    let days = a.bot.says(&eva, "/digest days 3,5").await;
    assert!(days.text.contains("(ср, пт)"), "{}", days.text);
    let before = sys.repo.digest_settings(eva_id).await.unwrap();
    for bad in ["/digest time 25:00", "/digest tz Mars/Base", "/digest channels @nobody_here", "/digest max 0", "/digest colour red"] {
        let reply = a.bot.says(&eva, bad).await;
        assert!(reply.text.contains("Не понял настройку"), "{bad}: {}", reply.text);
    }
    assert_eq!(sys.repo.digest_settings(eva_id).await.unwrap(), before, "bad input changes nothing");

    let now = a.bot.presses(&eva, panel.message_id, "dg:now").await;
    assert!(now.text.contains("Дайджест"));
    assert!(a.bot.last_bot_message(eva.id).unwrap().text.starts_with('⏳'));
    let jobs = a.bot.take_jobs().await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].request, JobRequest::Digest);
}

pub async fn a_digest_due_at_nine_in_moscow_is_sent_once_at_six_utc(sys: &mut TestSystem) {
    // Sunday 2026-11-22, 05:00 UTC = 08:00 in Moscow.
    let day = Timestamp::from_utc_date(2026, 11, 22);
    sys.clock.set(day.plus_secs(5 * 3600));
    let a = TestAnswers::start(sys, 0, false).await;
    let boris = a.bot.member(203, Tier::Premium).await;
    let channel = a.bot.follows(&boris, 5002, "daily_news", "Новости дня").await;
    store_post(sys, channel, 1, "Утренние новости: метро запустило новую линию.", day.plus_secs(3600)).await;
    store_post(sys, channel, 2, "Погода: в Москве ожидается снег.", day.plus_secs(2 * 3600)).await;
    a.bot.says(&boris, "/digest tz Europe/Moscow").await;
    a.bot.says(&boris, "/digest time 09:00").await;
    let panel = a.bot.says(&boris, "/digest on").await;
    assert!(panel.text.contains("включён") && panel.text.contains("2026-11-22 06:00 UTC"), "{}", panel.text);
    let jobs = &*a.bot.jobs;

    sys.clock.set(day.plus_secs(6 * 3600 - 60));
    assert_eq!(enqueue_due_digests(&sys.repo, jobs, sys.clock.now()).await.unwrap(), 0, "not yet at 05:59 UTC");
    let before = a.bot.bot_message_count(boris.id);
    sys.clock.set(day.plus_secs(6 * 3600));
    assert_eq!(enqueue_due_digests(&sys.repo, jobs, sys.clock.now()).await.unwrap(), 1, "due at 06:00 UTC");
    assert_eq!(enqueue_due_digests(&sys.repo, jobs, sys.clock.now()).await.unwrap(), 0, "enqueued once");
    assert_eq!(a.run_jobs().await, 1);
    assert_eq!(a.bot.bot_message_count(boris.id), before + 1);
    let digest = a.bot.last_bot_message(boris.id).unwrap().text;
    assert!(digest.contains("Дайджест") && digest.contains("метро") && digest.contains("снег"), "{digest}");

    // The same job delivered again (the queue's at-least-once): nothing more is sent.
    let due = day.plus_secs(6 * 3600);
    let again = Job {
        id: format!("digest-203-{}", due.0),
        user: UserId::new(203).unwrap(),
        reply: ReplyTo { chat_id: 203, message_id: None, language: Language::Ru },
        request: JobRequest::ScheduledDigest { due },
        delivery: Default::default(),
    };
    jobs.send(OutgoingMessage::new(serde_json::to_string(&again).unwrap())).await.unwrap();
    assert_eq!(a.run_jobs().await, 1);
    assert_eq!(a.bot.bot_message_count(boris.id), before + 1, "never twice");
    let settings = sys.repo.digest_settings(UserId::new(203).unwrap()).await.unwrap();
    assert_eq!(settings.next_due, Some(day.plus_days(1).plus_secs(6 * 3600)), "tomorrow at 09:00 Moscow");
    assert_eq!(settings.last_sent, Some(due));

    // And the webhook hears about it, once.
    assert_eq!(a.run_webhooks().await, (1, 0));
    let sent: Vec<_> = a.receiver.deliveries().into_iter().filter(|d| d.json()["event"] == "digest_sent").collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].json()["data"]["posts"], 2);
}

pub async fn a_long_digest_is_split_under_the_telegram_limit(sys: &mut TestSystem) {
    let a = TestAnswers::start(sys, 0, false).await;
    let clara = a.bot.member(204, Tier::Premium).await;
    let channel = a.bot.follows(&clara, 5003, "long_reads", "Лонгриды <&>").await;
    let now = sys.clock.now();
    for id in 1..=60 {
        let text = format!("Пост {id}: *звёздочки* и _подчёркивания_ [скобки] & <теги>. {}. Конец поста {id}.", "Длинное предложение о важном ".repeat(8));
        store_post(sys, channel, id, &text, Timestamp(now.0 - 3600 + id)).await;
    }
    a.bot.says(&clara, "/digest max 100").await;
    a.bot.says(&clara, "/digest style detailed").await;
    let waiting = a.bot.says(&clara, "/digest now").await;
    assert!(waiting.text.starts_with('⏳'));
    assert_eq!(a.run_jobs().await, 1);
    let calls = a.bot.telegram.calls();
    let parts: Vec<String> = calls
        .iter()
        .filter(|c| c.params["chat_id"].as_i64() == Some(clara.id))
        .filter(|c| c.params["text"].as_str().is_some_and(|t| t.contains("t.me/long_reads")))
        .map(|c| c.params["text"].as_str().unwrap().to_owned())
        .collect();
    assert!(parts.len() >= 3, "{} parts; last: {}", parts.len(), a.last_html(clara.id));
    assert!(parts.iter().all(|p| p.chars().count() <= 4096));
    assert!(parts.iter().all(|p| p.matches("<a ").count() == p.matches("</a>").count()), "tags never cut");
    let all = parts.join("\n");
    for id in 1..=60 {
        assert_eq!(all.matches(&format!("https://t.me/long_reads/{id}\"")).count(), 1, "post {id} exactly once");
    }
    assert!(all.contains("*звёздочки* и _подчёркивания_ [скобки] &amp; &lt;теги&gt;"), "markup characters shown as typed");
    let shown = a.bot.telegram.chat(clara.id);
    assert!(shown.iter().any(|m| m.message_id == waiting.message_id && m.edited), "the first part replaced ⏳");
}

fn signature_of(body: &[u8]) -> String {
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(WEBHOOK_KEY.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>())
}

pub async fn webhooks_are_signed_and_a_failing_target_does_not_delay_indexing(sys: &mut TestSystem) {
    let a = TestAnswers::start(sys, 0, false).await;
    let channel = a.search.channel(sys, 5004, Some("hooks"), "Хуки").await;
    let dana = a.search.follow(sys, 205, channel).await;
    a.receiver.answer_with(500);
    let now = sys.clock.now();
    a.search.publish(&PostMessage::Publish { post: a.search.post(channel, 1, "Запуск ракеты перенесли на пятницу.", 0, now) }).await;
    assert_eq!(a.search.index_all().await, 1);
    assert_eq!(a.search.found(sys, dana, "когда запуск ракеты").await, [1], "indexed while the webhook target is down");
    let (_, failed) = a.run_webhooks().await;
    assert_eq!(failed, 1, "the event waits on its queue");

    a.receiver.answer_with(200);
    // Released with a one-second backoff; the queue shows it again shortly after.
    let mut redelivered = (0, 0);
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        redelivered = a.run_webhooks().await;
        if redelivered != (0, 0) {
            break;
        }
    }
    assert_eq!(redelivered, (1, 0), "redelivered after the backoff");
    let names: Vec<String> = a.receiver.deliveries().iter().map(|d| d.json()["event"].as_str().unwrap().to_owned()).collect();
    assert!(names.contains(&"new_post".to_owned()) && names.contains(&"post_indexed".to_owned()), "{names:?}");
    for d in a.receiver.deliveries() {
        assert_eq!(d.header("x-siftgram-signature"), Some(signature_of(&d.body).as_str()), "every delivery is signed");
        let body = d.json();
        assert!(body["timestamp"].is_i64() && body["data"]["message_id"] == 1, "{body}");
    }
    let last = a.receiver.deliveries().into_iter().rev().find(|d| d.json()["event"] == "new_post").unwrap().json();
    assert_eq!(last["data"]["link"], "https://t.me/hooks/1");
    assert_eq!(last["data"]["text"], "Запуск ракеты перенесли на пятницу.");
    // Delivered: nothing is sent again.
    let count = a.receiver.deliveries().len();
    assert_eq!(a.run_webhooks().await, (0, 0));
    assert_eq!(a.receiver.deliveries().len(), count);
}
