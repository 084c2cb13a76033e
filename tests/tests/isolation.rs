//! The cross-user probe (issue 17 item 4): Bob follows a private channel; Anna, another member,
//! tries every path a user has — bot commands, forged buttons, the API as herself, questions
//! answered by the model — to read its posts, its title, Bob's questions or Bob's answers.
//! Everything Anna is shown (her chat, every API body, every model prompt her questions caused)
//! is searched for what only Bob may see. The leak count must be 0, on both backends.

use serde_json::json;
use siftgram_core::messages::PostMessage;
use siftgram_core::model::{ChannelId, Tier, UserId};
use siftgram_tests::TestSystem;
use siftgram_tests::answers::TestAnswers;
use siftgram_tests::api::TestApi;

const ANNA: i64 = 8_101;
const BOB: i64 = 8_102;
const PUBLIC: i64 = 9_001;
const PRIVATE: i64 = 9_002;
/// What only Bob may see: his private channel's title, a code in its post, his own question.
const BOBS: [&str; 3] = ["Сейф Боба", "ЗЕЛЁНЫЙ-ЛИС-4471", "где лежит ключ от сейфа"];

/// Anna's probes and what each showed her.
#[derive(Default)]
struct Probes {
    rows: Vec<(&'static str, String)>,
}

impl Probes {
    fn saw(&mut self, path: &'static str, shown: impl Into<String>) {
        self.rows.push((path, shown.into()));
    }
    fn leaks(&self) -> Vec<(&'static str, &'static str, &str)> {
        self.rows.iter().flat_map(|(path, shown)| BOBS.iter().filter(|b| shown.contains(**b)).map(move |b| (*path, *b, shown.as_str()))).collect()
    }
}

async fn probe(sys: &mut TestSystem) {
    let answers = TestAnswers::start(sys, 1, false).await;
    let (bot, search) = (&answers.bot, &answers.search);
    let anna = bot.member(ANNA, Tier::Premium).await;
    let bob = bot.member(BOB, Tier::Premium).await;
    let city = search.channel(sys, PUBLIC, Some("city_news"), "Городские новости").await;
    let safe = search.channel(sys, PRIVATE, None, "Сейф Боба").await;
    search.follow(sys, ANNA, city).await;
    search.follow(sys, BOB, city).await;
    search.follow(sys, BOB, safe).await;
    let now = siftgram_core::Clock::now(&*sys.clock);
    for post in [
        search.post(city, 1, "Мэрия открыла новый парк у реки, совет директоров парка обсудил планы.", 0, now),
        search.post(safe, 1, "Код от сейфа: ЗЕЛЁНЫЙ-ЛИС-4471. Совет директоров обсудил слияние с конкурентом.", 0, now),
        search.post(safe, 2, "Ключ от сейфа лежит в синей папке, слияние одобрено.", 0, now),
    ] {
        search.publish(&PostMessage::Publish { post }).await;
    }
    assert_eq!(search.index_all().await, 3);
    let api = TestApi::start_with(sys, Some(search.retriever.clone()), None).await;
    let (as_anna, as_bob) = (TestApi::as_user(sys, ANNA), TestApi::as_user(sys, BOB));

    // Bob's own activity: a question through the API and one through the bot.
    answers.providers[0].answer_next("Ключ в синей папке [1].");
    let bobs_ask = api.post("/api/ask", &as_bob, json!({"question": "где лежит ключ от сейфа?"})).await;
    assert_eq!(bobs_ask.status, 202, "{:?}", bobs_ask.body);
    let bobs_id = bobs_ask.body["id"].as_str().unwrap().to_owned();
    answers.providers[0].answer_next("Код: ЗЕЛЁНЫЙ-ЛИС-4471 [1].");
    let bobs_waiting = bot.says(&bob, "/ask где лежит ключ от сейфа, какой код?").await;
    answers.run_jobs().await;
    let bobs_answer = api.get(&format!("/api/ask/{bobs_id}"), &as_bob).await;
    assert!(bobs_answer.body.to_string().contains("синей папке"), "Bob reads his own answer: {:?}", bobs_answer.body);
    let prompts_before = answers.chat_calls(0).len();

    let mut probes = Probes::default();
    // The bot, as Anna: questions aimed at Bob's channel, lists, digests, forged buttons.
    for text in [
        "/ask что обсудил совет директоров про слияние с конкурентом?",
        "/ask какой код от сейфа?",
        "/search слияние конкурент код сейфа",
        "/search сейф Боб",
        "/recommend",
        "/my_channels",
        "/digest now",
        "/add_channel -1009002",
        "/add_channel t.me/c/9002/1",
        "/remove_channel",
    ] {
        answers.providers[0].answer_next("Ничего такого в ваших каналах нет.");
        bot.says(&anna, text).await;
    }
    // A reply naming the message id of Bob's answer, as a follow-up of his question.
    answers.providers[0].answer_next("Ничего такого в ваших каналах нет.");
    bot.deliver(&anna.replies(bobs_waiting.message_id, "а подробнее?")).await;
    answers.run_jobs().await;
    let panel = bot.says(&anna, "/my_channels").await;
    for forged in [format!("rm:{PRIVATE}"), format!("rmok:{PRIVATE}"), format!("dg:ch:{PRIVATE}"), format!("mc:{PRIVATE}")] {
        bot.presses(&anna, panel.message_id, &forged).await;
    }
    for message in bot.telegram.chat(ANNA).into_iter().filter(|m| m.from_bot) {
        probes.saw("bot chat", format!("{} {}", message.text, message.html.unwrap_or_default()));
    }
    for call in bot.telegram.calls().iter().filter(|c| c.params["chat_id"].as_i64() == Some(ANNA) || c.params["callback_query_id"].is_string()) {
        probes.saw("bot calls", call.params.to_string());
    }

    // The API, as Anna.
    let paths = [
        "/api/me".to_owned(),
        "/api/channels".to_owned(),
        format!("/api/channels/{PRIVATE}/posts"),
        "/api/search?q=%D1%81%D0%BB%D0%B8%D1%8F%D0%BD%D0%B8%D0%B5%20%D0%BA%D0%BE%D0%BD%D0%BA%D1%83%D1%80%D0%B5%D0%BD%D1%82".to_owned(),
        "/api/search?q=%D0%BA%D0%BE%D0%B4%20%D1%81%D0%B5%D0%B9%D1%84%D0%B0".to_owned(),
        format!("/api/ask/{bobs_id}"),
        "/api/history".to_owned(),
        "/api/digest".to_owned(),
        "/api/admin/users".to_owned(),
        format!("/api/admin/users/{BOB}"),
        "/api/admin/audit".to_owned(),
    ];
    for path in &paths {
        let reply = api.get(path, &as_anna).await;
        probes.saw("api", format!("{} {}", reply.status, reply.body));
    }
    let own = api.post("/api/ask", &as_anna, json!({"question": "какой код от сейфа и что со слиянием?"})).await;
    answers.providers[0].answer_next("Не знаю.");
    answers.run_jobs().await;
    let own_answer = api.get(&format!("/api/ask/{}", own.body["id"].as_str().unwrap_or("none")), &as_anna).await;
    probes.saw("api", own_answer.body.to_string());
    for (path, body) in [("/api/digest", json!({"enabled": true, "channels": [PRIVATE]})), ("/api/channels", json!({"channel": PRIVATE}))] {
        let reply = api.put(path, &as_anna, body.clone()).await;
        probes.saw("api", format!("{} {}", reply.status, reply.body));
        let reply = api.post(path, &as_anna, body).await;
        probes.saw("api", format!("{} {}", reply.status, reply.body));
    }
    let removal = api.delete(&format!("/api/channels/{PRIVATE}"), &as_anna).await;
    probes.saw("api", format!("{} {}", removal.status, removal.body));

    // What Anna's questions made the model read.
    for call in answers.chat_calls(0).iter().skip(prompts_before) {
        probes.saw("model prompts", call.body.to_string());
    }

    // Nothing Anna did changed what Bob has.
    let bobs_channels: Vec<ChannelId> = sys.repo.subscriptions_of(UserId::new(BOB).unwrap()).await.unwrap().into_iter().map(|s| s.channel).collect();
    assert!(bobs_channels.contains(&safe), "Bob still follows his channel");
    assert!(!sys.repo.follows(UserId::new(ANNA).unwrap(), safe).await.unwrap(), "Anna never follows it");

    let leaks = probes.leaks();
    let mut table = String::from("path            shown  leaks\n");
    for path in ["bot chat", "bot calls", "api", "model prompts"] {
        let shown = probes.rows.iter().filter(|(p, _)| *p == path).count();
        table.push_str(&format!("{path:<15} {shown:>5}  {:>5}\n", leaks.iter().filter(|(p, ..)| *p == path).count()));
    }
    eprintln!("cross-user probe ({}):\n{table}", if sys.is_localstack() { "LocalStack" } else { "embedded" });
    assert!(probes.rows.len() > 40, "the probe saw {} things", probes.rows.len());
    assert!(leaks.is_empty(), "Bob's private channel leaked to Anna: {leaks:?}\n{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_path_shows_one_member_another_members_private_channel() {
    let mut sys = TestSystem::embedded().await;
    probe(&mut sys).await;
}

mod localstack {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_path_shows_one_member_another_members_private_channel() {
        let mut sys = siftgram_tests::TestSystem::localstack().await;
        super::probe(&mut sys).await;
        sys.cleanup().await;
    }
}
