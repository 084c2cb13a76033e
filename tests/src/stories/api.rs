//! The API as the Mini Apps and automation use it, on both backends: profiles, channels and
//! posts, the QR login with its sealed 2FA password, questions answered by the worker, digest
//! settings, the admin panel's changes (all audited), API keys — and every way to be refused
//! (forged, expired or missing credentials, admin routes, bad bodies), which writes nothing.

use crate::TestSystem;
use crate::api::{Auth, TestApi};
use crate::bot::ADMIN_ID;
use serde_json::json;
use siftgram_core::messages::SessionCommand;
use siftgram_core::model::{Channel, ChannelId, MediaKind, Post, PostKey, Tier, UserId, Username};
use siftgram_core::repo::LoginState;
use siftgram_fake_telegram::FakeTelegram;

#[macro_export]
macro_rules! api_stories {
    ($make:path) => {
        $crate::suite!($make; $crate::stories::api;
            a_member_sees_their_profile_channels_and_posts_a_page_at_a_time,
            forged_expired_or_missing_launch_data_is_refused_and_writes_nothing,
            a_user_on_admin_routes_gets_a_bare_403_even_where_nothing_exists,
            bad_input_is_refused_with_the_field_named_and_nothing_written,
            channels_are_added_through_the_session_node_within_the_tier_and_removed,
            the_login_page_follows_the_qr_login_and_the_password_travels_sealed,
            digest_settings_are_read_and_replaced,
            a_question_asked_through_the_api_is_answered_by_the_worker_and_fetched_by_id,
            an_admin_changes_tiers_blocks_users_and_makes_invites_and_every_change_is_audited,
            an_api_key_is_shown_once_acts_as_its_user_is_rate_limited_and_stops_when_revoked,
            every_documented_route_exists_and_demands_credentials,
            signing_out_asks_the_session_node_to_log_the_session_out,
            only_the_mini_apps_origin_may_call_from_a_browser,
        );
    };
}

async fn channel_with_posts(sys: &TestSystem, id: i64, username: &str, title: &str, posts: i64) -> ChannelId {
    let channel = ChannelId::new(id).unwrap();
    let name = Username::parse(username).unwrap();
    sys.repo.save_channel(&Channel::new(channel, Some(name.clone()), title).unwrap()).await.unwrap();
    let now = siftgram_core::Clock::now(&*sys.clock);
    for m in 1..=posts {
        let post = Post::new(PostKey::new(channel, m).unwrap(), Some(&name), &format!("Пост номер {m}"), now.plus_secs(-(posts - m) * 60), MediaKind::None).unwrap();
        sys.repo.insert_post(&post).await.unwrap();
    }
    channel
}

pub async fn a_member_sees_their_profile_channels_and_posts_a_page_at_a_time(sys: &mut TestSystem) {
    let api = TestApi::start(sys).await;
    let anna = api.member(sys, 501, Tier::Basic).await;
    let channel = channel_with_posts(sys, 9001, "city_news", "Новости города", 45).await;
    sys.repo.subscribe(anna, channel).await.unwrap();
    let as_anna = Auth::tma(&TestApi::init_data(sys, 501, "en"));

    let me = api.get("/api/me", &as_anna).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!(me.body["id"], 501);
    assert_eq!(me.body["tier"], "basic");
    assert_eq!(me.body["language"], "en", "the Mini App's Telegram language");
    assert_eq!(me.body["has_access"], true);
    assert_eq!(me.body["admin"], false);
    let basic = sys.repo.catalog().limits(Tier::Basic);
    assert_eq!(me.body["limits"]["max_channels"], basic.max_channels);
    assert_eq!(me.body["usage_today"]["channels"], 1);

    let list = api.get("/api/channels", &as_anna).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["channels"][0]["title"], "Новости города");
    assert_eq!(list.body["channels"][0]["posts"], 45);
    assert_eq!(list.body["max_channels"], basic.max_channels);

    // Newest first, 20 at a time, until the last page.
    let mut seen = Vec::new();
    let mut path = format!("/api/channels/{channel}/posts");
    loop {
        let page = api.get(&path, &as_anna).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        seen.extend(page.body["posts"].as_array().unwrap().iter().map(|p| p["message_id"].as_i64().unwrap()));
        match page.body["next_before"].as_i64() {
            Some(before) => path = format!("/api/channels/{channel}/posts?before={before}"),
            None => break,
        }
    }
    assert_eq!(seen, (1..=45).rev().collect::<Vec<_>>(), "every post once, newest first");

    // Someone else's channel, or one that does not exist, is not found.
    let other = channel_with_posts(sys, 9002, "other_news", "Чужой канал", 3).await;
    assert_eq!(api.get(&format!("/api/channels/{other}/posts"), &as_anna).await.status, 404);
    assert_eq!(api.get("/api/channels/99999/posts", &as_anna).await.status, 404);
    assert_eq!(api.get("/api/channels/abc/posts", &as_anna).await.status, 404);
}

pub async fn forged_expired_or_missing_launch_data_is_refused_and_writes_nothing(sys: &mut TestSystem) {
    let api = TestApi::start(sys).await;
    api.member(sys, 502, Tier::Basic).await;
    let good = TestApi::init_data(sys, 502, "ru");
    assert_eq!(api.get("/api/me", &Auth::tma(&good)).await.status, 200);

    let writes = sys.store.writes();
    let forged_user = good.replace("502", "503");
    let other_bot = siftgram_api::auth::sign_init_data(r#"{"id":502,"first_name":"X"}"#, siftgram_core::Clock::now(&*sys.clock).0, "7000000001:AnotherBotsTokenForSiftgramTests_000000");
    let resigned = {
        // Re-signed by someone who knows the algorithm but not our token.
        let fields: Vec<(String, String)> = url::form_urlencoded::parse(good.as_bytes()).into_owned().filter(|(k, _)| k != "hash").collect();
        let mut raw: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields).finish();
        raw.push_str("&hash=");
        raw.push_str(&siftgram_api::auth::init_data::sign("auth_date=1\nuser={}", FakeTelegram::TOKEN));
        raw
    };
    for (what, auth) in [
        ("no header", Auth::None),
        ("another scheme", Auth::Header(format!("Basic {good}"))),
        ("a changed user", Auth::tma(&forged_user)),
        ("another bot's token", Auth::tma(&other_bot)),
        ("re-signed", Auth::tma(&resigned)),
        ("garbage", Auth::tma("%%%&&&===")),
        ("an empty value", Auth::Header("tma ".into())),
    ] {
        let reply = api.get("/api/me", &auth).await;
        assert_eq!(reply.status, 401, "{what}: {:?}", reply.body);
        assert_eq!(reply.error(), "unauthorized", "{what}");
        assert!(reply.headers.get("www-authenticate").is_some(), "{what}");
    }
    // A day later the same launch data has expired.
    sys.clock.advance(24 * 3600 + 1);
    let expired = api.get("/api/me", &Auth::tma(&good)).await;
    assert_eq!(expired.status, 401);
    assert!(expired.body["message"].as_str().unwrap().contains("expired"), "{:?}", expired.body);
    // A stranger the bot never saw is told to start the bot.
    let stranger = api.get("/api/me", &TestApi::as_user(sys, 777)).await;
    assert_eq!((stranger.status, stranger.error()), (403, "unknown_user"));
    assert_eq!(sys.store.writes(), writes, "refusals write nothing");
}

pub async fn a_user_on_admin_routes_gets_a_bare_403_even_where_nothing_exists(sys: &mut TestSystem) {
    let api = TestApi::start(sys).await;
    api.member(sys, 504, Tier::Premium).await;
    let user = TestApi::as_user(sys, 504);
    let invites = sys.repo.list_invites(10).await.unwrap().len();
    let writes = sys.store.writes();
    let known = api.get("/api/admin/users", &user).await;
    let unknown = api.get("/api/admin/no-such-thing", &user).await;
    let created = api.post("/api/admin/invites", &user, json!({"tier": "premium", "days": 7, "uses": 1})).await;
    let other_method = api.call(reqwest::Method::PATCH, "/api/admin/users", &user, None).await;
    for reply in [&known, &unknown, &created, &other_method] {
        assert_eq!(reply.status, 403, "{:?}", reply.body);
        assert_eq!(reply.body, json!({"error": "forbidden", "message": "not allowed"}), "no hint of what exists");
    }
    assert_eq!(sys.store.writes(), writes);
    assert_eq!(sys.repo.list_invites(10).await.unwrap().len(), invites, "no invite made");
    // The admin reaches the same routes; an unknown one is then simply not found.
    let admin = TestApi::admin(sys).await;
    assert_eq!(api.get("/api/admin/users", &admin).await.status, 200);
    assert_eq!(api.get("/api/admin/no-such-thing", &admin).await.status, 404);
}

pub async fn bad_input_is_refused_with_the_field_named_and_nothing_written(sys: &mut TestSystem) {
    let api = TestApi::start(sys).await;
    api.member(sys, 505, Tier::Basic).await;
    let user = TestApi::as_user(sys, 505);
    let admin = TestApi::admin(sys).await;
    api.get("/api/admin/stats", &admin).await; // the admin's stored role follows the setting once, before counting
    let writes = sys.store.writes();

    let raw = |body: &'static str, content_type: &'static str| {
        let request = api.http.post(format!("{}/api/channels", api.url)).header("Authorization", match &user { Auth::Header(h) => h.clone(), Auth::None => unreachable!() });
        request.header("Content-Type", content_type).body(body)
    };
    let malformed = raw("{\"username\": ", "application/json").send().await.unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(malformed.json::<serde_json::Value>().await.unwrap()["error"], "malformed");
    let not_json = raw("username=x", "text/plain").send().await.unwrap();
    assert_eq!(not_json.status(), 415);
    let huge = api.http.post(format!("{}/api/ask", api.url)).header("Authorization", match &user { Auth::Header(h) => h.clone(), Auth::None => unreachable!() }).header("Content-Type", "application/json").body(format!("{{\"question\":\"{}\"}}", "я".repeat(40 * 1024))).send().await.unwrap();
    assert_eq!(huge.status(), 413);

    for (path, body, field) in [
        ("/api/channels", json!({"username": "a"}), "username"),
        ("/api/channels", json!({"username": "x".repeat(300)}), "username"),
        ("/api/ask", json!({"question": "   "}), "question"),
        ("/api/ask", json!({"question": "?".repeat(1001)}), "question"),
        ("/api/login/password", json!({"password": ""}), "password"),
    ] {
        let reply = api.post(path, &user, body).await;
        assert_eq!((reply.status, reply.body["field"].as_str()), (400, Some(field)), "{path}: {:?}", reply.body);
    }
    let unknown_field = api.post("/api/channels", &user, json!({"username": "city_news", "extra": 1})).await;
    assert_eq!(unknown_field.status, 400);
    assert!(unknown_field.body["message"].as_str().unwrap().contains("extra"), "{:?}", unknown_field.body);
    for (body, field) in [
        (json!({"tier": "gold", "days": 7, "uses": 1}), "tier"),
        (json!({"tier": "basic", "days": 0, "uses": 1}), "days"),
        (json!({"tier": "basic", "days": 7, "uses": 100000}), "uses"),
    ] {
        let reply = api.post("/api/admin/invites", &admin, body).await;
        assert_eq!((reply.status, reply.body["field"].as_str()), (400, Some(field)), "{:?}", reply.body);
    }
    let digest = json!({"enabled": false, "frequency": "daily", "minute_of_day": 540, "timezone": "Mars/Olympus", "max_posts": 10, "ai_summary": true, "style": "brief"});
    let reply = api.put("/api/digest", &user, digest.clone()).await;
    assert_eq!((reply.status, reply.body["field"].as_str()), (400, Some("timezone")), "{:?}", reply.body);
    let mut late = digest.clone();
    late["timezone"] = json!("Europe/Moscow");
    late["minute_of_day"] = json!(1440);
    assert_eq!(api.put("/api/digest", &user, late).await.body["field"], "minute_of_day");
    let mut foreign = digest.clone();
    foreign["timezone"] = json!("Europe/Moscow");
    foreign["channels"] = json!([42]);
    assert_eq!(api.put("/api/digest", &user, foreign).await.body["field"], "channels");
    assert_eq!(api.get("/api/channels/1/posts?limit=500", &user).await.body["field"], "limit");
    assert_eq!(api.get("/api/admin/users/0", &admin).await.status, 404);
    assert_eq!(api.get("/api/admin/users/123456", &admin).await.status, 404);
    assert_eq!(api.delete("/api/admin/invites/NOPE", &admin).await.status, 404);
    assert_eq!(sys.store.writes(), writes, "nothing written");
    assert!(api.take_commands().await.is_empty(), "and nothing queued");
}

pub async fn channels_are_added_through_the_session_node_within_the_tier_and_removed(sys: &mut TestSystem) {
    let api = TestApi::start(sys).await;
    let boris = api.member(sys, 506, Tier::Trial).await;
    let user = TestApi::as_user(sys, 506);
    let reply = api.post("/api/channels", &user, json!({"username": "https://t.me/rust_news"})).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let commands = api.take_commands().await;
    let [SessionCommand::ResolveChannel { user: who, username, reply: to, id }] = commands.as_slice() else { panic!("one resolve: {commands:?}") };
    assert_eq!((*who, username.as_str(), to.chat_id), (boris, "rust_news", 506));
    assert_eq!(id, reply.body["id"].as_str().unwrap());

    // What the node then does: the channel is followed; asking again checks it for posts.
    let channel = channel_with_posts(sys, 9003, "rust_news", "Rust News", 2).await;
    sys.repo.subscribe(boris, channel).await.unwrap();
    let again = api.post("/api/channels", &user, json!({"username": "@rust_news"})).await;
    assert_eq!((again.status, again.body["status"].as_str()), (202, Some("already_following")));
    assert!(matches!(api.take_commands().await.as_slice(), [SessionCommand::SyncChannel { .. }]));

    // At the tier's limit, a new channel is refused with the limit named.
    let limit = sys.repo.catalog().limits(Tier::Trial).max_channels as i64;
    for n in 1..limit {
        let c = channel_with_posts(sys, 9100 + n, &format!("filler_{n}"), "Filler", 0).await;
        sys.repo.subscribe(boris, c).await.unwrap();
    }
    let refused = api.post("/api/channels", &user, json!({"username": "one_more"})).await;
    assert_eq!((refused.status, refused.error()), (403, "tier_limit"), "{:?}", refused.body);
    assert!(api.take_commands().await.is_empty());

    let removed = api.delete(&format!("/api/channels/{channel}"), &user).await;
    assert_eq!(removed.status, 204);
    assert!(!sys.repo.subscriptions_of(boris).await.unwrap().iter().any(|s| s.channel == channel));
    assert!(matches!(api.take_commands().await.as_slice(), [SessionCommand::LeaveChannel { channel: c, .. }] if *c == channel));
    assert_eq!(api.delete(&format!("/api/channels/{channel}"), &user).await.status, 404, "not followed any more");
    // A user without an invite cannot use the product's routes.
    TestApi::newcomer(sys, 507).await;
    let newcomer = api.get("/api/channels", &TestApi::as_user(sys, 507)).await;
    assert_eq!((newcomer.status, newcomer.error()), (403, "no_access"));
}

pub async fn the_login_page_follows_the_qr_login_and_the_password_travels_sealed(sys: &mut TestSystem) {
    use crate::sessions::TestSessions;
    use siftgram_core::consume::process_batch;
    use std::time::Duration;

    let s = TestSessions::start(sys).await;
    let api = TestApi::start(sys).await;
    let (user, code) = s.logging_in(sys, 508).await;
    s.telegram.add_account(508, Some("correct horse"));
    let commands = s.commands_on(sys, "node-a");
    let run_commands = || async { process_batch(&*api.commands, &commands, 10, Duration::ZERO).await.unwrap() };
    let page = TestApi::as_user(sys, 508);

    assert_eq!(api.get("/api/login", &page).await.body, json!({"state": "none"}), "before /login");
    let LoginState::Waiting { url, .. } = commands.login.start(user, code).await.unwrap() else { panic!("a QR code") };
    let shown = api.get("/api/login", &page).await;
    assert_eq!((shown.status, shown.body["state"].as_str()), (200, Some("waiting")), "{:?}", shown.body);
    assert_eq!(shown.body["url"], url.as_str());
    assert!(shown.body["qr_svg"].as_str().unwrap().starts_with("<svg"));
    assert!(shown.body["seconds_left"].as_i64().unwrap() > 0);

    // Telegram refreshes the token: the page gets the new code on its next poll.
    s.telegram.expire_login_tokens();
    commands.login.poll(user).await.unwrap();
    let refreshed = api.get("/api/login", &page).await;
    assert_ne!(refreshed.body["url"], url.as_str(), "a new code");
    let url = refreshed.body["url"].as_str().unwrap().to_owned();

    s.telegram.scan(&url, 508);
    commands.login.poll(user).await.unwrap();
    let prompt = api.get("/api/login", &page).await;
    assert_eq!(prompt.body, json!({"state": "password_needed", "hint": "recorded", "failures": 0, "attempts_left": 3}));

    // A wrong password: the queue carries only ciphertext; the page then shows what is left.
    let sent = api.post("/api/login/password", &page, json!({"password": "battery staple"})).await;
    assert_eq!(sent.status, 202, "{:?}", sent.body);
    let waiting = crate::bot::drain(&*api.commands).await;
    assert_eq!(waiting.len(), 1);
    assert!(!waiting[0].contains("battery") && !waiting[0].contains("staple"), "sealed: {}", waiting[0]);
    let SessionCommand::SubmitPassword { password, .. } = serde_json::from_str(&waiting[0]).unwrap() else { panic!("a password") };
    api.commands.send(siftgram_core::ports::OutgoingMessage::new(waiting[0].clone()).in_group("508").dedup("again")).await.unwrap();
    assert!(password.expires_at.0 <= siftgram_core::Clock::now(&*sys.clock).0 + 600, "it expires with the login");
    assert_eq!(run_commands().await.acked, 1);
    let after = api.get("/api/login", &page).await;
    assert_eq!((after.body["failures"].as_u64(), after.body["attempts_left"].as_u64()), (Some(1), Some(2)), "{:?}", after.body);

    // The right one signs the user in; the page says so.
    assert_eq!(api.post("/api/login/password", &page, json!({"password": "correct horse"})).await.status, 202);
    assert_eq!(run_commands().await.acked, 1);
    assert_eq!(api.get("/api/login", &page).await.body, json!({"state": "done"}));
    assert_eq!(api.get("/api/me", &page).await.body["signed_in"], true);
    // No login waits for a password any more: a late one is refused, not queued.
    let late = api.post("/api/login/password", &page, json!({"password": "correct horse"})).await;
    assert_eq!((late.status, late.error()), (409, "no_password_asked"));
    assert!(api.take_commands().await.is_empty());
}

pub async fn digest_settings_are_read_and_replaced(sys: &mut TestSystem) {
    let api = TestApi::start(sys).await;
    let vera = api.member(sys, 509, Tier::Premium).await;
    let channel = channel_with_posts(sys, 9004, "digest_me", "Дайджест", 1).await;
    sys.repo.subscribe(vera, channel).await.unwrap();
    let user = TestApi::as_user(sys, 509);
    let defaults = api.get("/api/digest", &user).await;
    assert_eq!((defaults.status, defaults.body["enabled"].as_bool()), (200, Some(false)), "{:?}", defaults.body);
    let wanted = json!({"enabled": true, "frequency": "weekly", "minute_of_day": 600, "weekdays": [5, 1, 5], "timezone": "Europe/Moscow",
        "channels": [channel.get()], "tags": ["rust"], "max_posts": 15, "ai_summary": false, "style": "detailed"});
    let saved = api.put("/api/digest", &user, wanted).await;
    assert_eq!(saved.status, 200, "{:?}", saved.body);
    assert_eq!(saved.body["weekdays"], json!([1, 5]));
    assert!(saved.body["next_due"].as_i64().is_some(), "scheduled");
    let stored = sys.repo.digest_settings(vera).await.unwrap();
    assert!(stored.enabled && stored.channels == vec![channel] && stored.max_posts == 15);
    assert_eq!(api.get("/api/digest", &user).await.body["style"], "detailed");
    // A tier without digests cannot enable them.
    api.member(sys, 510, Tier::Free).await;
    let free = api.put("/api/digest", &TestApi::as_user(sys, 510), json!({"enabled": true, "frequency": "daily", "minute_of_day": 540, "timezone": "UTC", "max_posts": 10, "ai_summary": true, "style": "brief"})).await;
    if sys.repo.catalog().limits(Tier::Free).digests {
        assert_eq!(free.status, 200);
    } else {
        assert_eq!((free.status, free.error()), (403, "tier_limit"), "{:?}", free.body);
    }
}

pub async fn a_question_asked_through_the_api_is_answered_by_the_worker_and_fetched_by_id(sys: &mut TestSystem) {
    use crate::answers::TestAnswers;
    let a = TestAnswers::start(sys, 0, false).await;
    let api = TestApi::start_with(sys, Some(a.search.retriever.clone()), None).await;
    let channel = a.search.channel(sys, 9005, Some("metro_news"), "Метро").await;
    let gleb = api.member(sys, 511, Tier::Premium).await;
    sys.repo.subscribe(gleb, channel).await.unwrap();
    let now = siftgram_core::Clock::now(&*sys.clock);
    for (m, text) in [(1, "Новая станция метро откроется в марте на юге города."), (2, "В парке прошёл фестиваль уличной еды.")] {
        a.search.publish(&siftgram_core::messages::PostMessage::Publish { post: a.search.post(channel, m, text, 1, now) }).await;
    }
    a.search.index_all().await;
    let user = TestApi::as_user(sys, 511);

    let found = api.get("/api/search?q=%D1%81%D1%82%D0%B0%D0%BD%D1%86%D0%B8%D1%8F%20%D0%BC%D0%B5%D1%82%D1%80%D0%BE", &user).await;
    assert_eq!(found.status, 200, "{:?}", found.body);
    assert_eq!(found.body["results"][0]["message_id"], 1, "{:?}", found.body);
    assert_eq!(found.body["results"][0]["source"], "post");
    assert_eq!(found.body["web"], "not_configured");

    let asked = api.post("/api/ask", &user, json!({"question": "Когда откроется новая станция метро?"})).await;
    assert_eq!(asked.status, 202, "{:?}", asked.body);
    let id = asked.body["id"].as_str().unwrap().to_owned();
    assert_eq!(api.get(&format!("/api/ask/{id}"), &user).await.body["status"], "pending");
    let before = a.bot.telegram.bot_messages(511).len();
    assert_eq!(a.run_jobs().await, 1);
    let answer = api.get(&format!("/api/ask/{id}"), &user).await;
    assert_eq!(answer.body["status"], "answered", "{:?}", answer.body);
    assert!(answer.body["text"].as_str().unwrap().contains("март"), "{:?}", answer.body);
    assert_eq!(answer.body["sources"][0]["message_id"], 1);
    assert_eq!(a.bot.telegram.bot_messages(511).len(), before, "an API question is answered to the API, not the chat");
    // Only the asker can read it.
    api.member(sys, 512, Tier::Premium).await;
    assert_eq!(api.get(&format!("/api/ask/{id}"), &TestApi::as_user(sys, 512)).await.body["status"], "pending");
    assert_eq!(api.get("/api/ask/not-an-id", &user).await.status, 404);
    let history = api.get("/api/history", &user).await;
    let kinds: Vec<&str> = history.body.as_array().unwrap().iter().map(|q| q["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"search"), "{:?}", history.body);
    let me = api.get("/api/me", &user).await;
    assert_eq!(me.body["usage_today"]["questions"], 2, "the search and the question count");
}

pub async fn an_admin_changes_tiers_blocks_users_and_makes_invites_and_every_change_is_audited(sys: &mut TestSystem) {
    let api = TestApi::start(sys).await;
    let admin = TestApi::admin(sys).await;
    for id in 520..545 {
        api.member(sys, id, if id % 2 == 0 { Tier::Basic } else { Tier::Trial }).await;
    }
    // Filters and pages.
    let basic = api.get("/api/admin/users?tier=basic&limit=5", &admin).await;
    assert_eq!(basic.status, 200, "{:?}", basic.body);
    assert_eq!(basic.body["total"], 13);
    assert_eq!(basic.body["users"].as_array().unwrap().len(), 5);
    let second = api.get("/api/admin/users?tier=basic&limit=5&offset=5", &admin).await;
    assert_ne!(second.body["users"][0]["id"], basic.body["users"][0]["id"]);
    assert_eq!(api.get("/api/admin/users?q=531", &admin).await.body["users"][0]["id"], 531);
    assert_eq!(api.get("/api/admin/users?role=admin", &admin).await.body["total"], 1, "the admin's role follows the setting");

    // A tier for 30 days: written to the user's history.
    let changed = api.put("/api/admin/users/531/tier", &admin, json!({"tier": "premium", "days": 30})).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(changed.body["user"]["tier"], "premium");
    assert_eq!(changed.body["history"][0]["to"], "premium");
    assert_eq!(changed.body["history"][0]["reason"], format!("admin {ADMIN_ID}"));
    let u531 = sys.repo.get_user(UserId::new(531).unwrap()).await.unwrap().unwrap();
    assert_eq!(u531.tier, Tier::Premium);
    assert!(u531.tier_expires_at.is_some());

    // Blocking: the user is refused at once, and can be let back in.
    let blocked = api.put("/api/admin/users/532/blocked", &admin, json!({"blocked": true})).await;
    assert_eq!(blocked.body["user"]["blocked"], true);
    assert_eq!(api.get("/api/me", &TestApi::as_user(sys, 532)).await.error(), "blocked");
    api.put("/api/admin/users/532/blocked", &admin, json!({"blocked": false})).await;
    assert_eq!(api.get("/api/me", &TestApi::as_user(sys, 532)).await.status, 200);
    let admin_block = api.put(&format!("/api/admin/users/{ADMIN_ID}/blocked"), &admin, json!({"blocked": true})).await;
    assert_eq!(admin_block.status, 409);

    // Invites: made with a link, listed with uses, revoked.
    let invite = api.post("/api/admin/invites", &admin, json!({"tier": "basic", "days": 7, "uses": 3})).await;
    assert_eq!(invite.status, 201, "{:?}", invite.body);
    let code = invite.body["code"].as_str().unwrap().to_owned();
    assert_eq!(invite.body["link"], format!("https://t.me/{}?start={code}", crate::api::BOT_USERNAME));
    let listed = api.get("/api/admin/invites", &admin).await;
    assert!(listed.body.as_array().unwrap().iter().any(|i| i["code"] == code.as_str() && i["max_uses"] == 3 && i["uses"] == 0));
    let revoked = api.delete(&format!("/api/admin/invites/{code}"), &admin).await;
    assert_eq!(revoked.body["expired"], true);
    TestApi::newcomer(sys, 546).await;
    assert!(sys.repo.reserve_invite(&code, UserId::new(546).unwrap()).await.is_err(), "a revoked code admits nobody");

    let stats = api.get("/api/admin/stats", &admin).await;
    assert_eq!(stats.status, 200);
    assert_eq!(stats.body["users"], 27);
    assert_eq!(stats.body["by_tier"]["premium"], 1);
    assert_eq!(stats.body["queues"].as_array().unwrap().len(), 4);

    // Every change, who made it and when, newest first.
    let trail = api.get("/api/admin/audit", &admin).await;
    let actions: Vec<&str> = trail.body.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["invite_revoke", "invite_create", "unblock", "block", "tier"], "{:?}", trail.body);
    assert!(trail.body.as_array().unwrap().iter().all(|e| e["by"] == ADMIN_ID));
    assert_eq!(trail.body[4]["target"], "531");
}

pub async fn an_api_key_is_shown_once_acts_as_its_user_is_rate_limited_and_stops_when_revoked(sys: &mut TestSystem) {
    let api = TestApi::start(sys).await;
    let admin = TestApi::admin(sys).await;
    let dana = api.member(sys, 550, Tier::Basic).await;
    let made = api.post("/api/admin/api-keys", &admin, json!({"user": 550, "name": "n8n"})).await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    let key = made.body["key"].as_str().unwrap().to_owned();
    let key_id = made.body["api_key"]["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with(&format!("sg_{key_id}_")));
    let stored = sys.repo.get_api_key(&key_id).await.unwrap().unwrap();
    let secret = key.strip_prefix(&format!("sg_{key_id}_")).unwrap();
    assert!(!format!("{stored:?}").contains(secret), "only a hash is kept");
    let listed = api.get("/api/admin/api-keys", &admin).await;
    assert!(!listed.body.to_string().contains(&key), "never shown again");

    let me = api.get("/api/me", &Auth::key(&key)).await;
    assert_eq!((me.status, me.body["id"].as_i64()), (200, Some(dana.get())), "{:?}", me.body);
    assert!(sys.repo.get_api_key(&key_id).await.unwrap().unwrap().last_used_at.is_some());
    assert_eq!(api.get("/api/admin/users", &Auth::key(&key)).await.status, 403, "keys are never admin");
    let wrong_secret = format!("sg_{key_id}_{}", "A".repeat(43));
    assert_eq!(api.get("/api/me", &Auth::key(&wrong_secret)).await.status, 401);
    assert_eq!(api.get("/api/me", &Auth::key("sg_nothing")).await.status, 401);

    // Five requests of burst (two used above), then 429 with Retry-After; a minute later one more.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(api.get("/api/channels", &Auth::key(&key)).await.status);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429, 429]);
    let limited = api.get("/api/channels", &Auth::key(&key)).await;
    assert_eq!(limited.status, 429);
    assert!(limited.headers.get("retry-after").is_some());
    sys.clock.advance(61);
    assert_eq!(api.get("/api/channels", &Auth::key(&key)).await.status, 200);

    assert_eq!(api.delete(&format!("/api/admin/api-keys/{key_id}"), &admin).await.status, 204);
    let after = api.get("/api/me", &Auth::key(&key)).await;
    assert_eq!((after.status, after.error()), (401, "unauthorized"));
    assert!(api.get("/api/admin/api-keys", &admin).await.body[0]["revoked_at"].is_i64());
}

pub async fn every_documented_route_exists_and_demands_credentials(sys: &mut TestSystem) {
    let api = TestApi::start(sys).await;
    api.member(sys, 560, Tier::Basic).await;
    assert_eq!(api.get("/api/openapi.json", &Auth::None).await.status, 401);
    let document = api.get("/api/openapi.json", &TestApi::as_user(sys, 560)).await;
    assert_eq!(document.status, 200);
    assert!(document.body["openapi"].as_str().unwrap().starts_with("3.1"), "{}", document.body["openapi"]);
    let paths = document.body["paths"].as_object().unwrap();
    let mut routes = Vec::new();
    for (path, item) in paths {
        for method in ["get", "post", "put", "delete"] {
            if item.get(method).is_some() {
                routes.push((method, path.clone()));
            }
        }
    }
    for expected in ["/api/me", "/api/login", "/api/login/password", "/api/channels", "/api/channels/{channel_id}", "/api/channels/{channel_id}/posts",
        "/api/search", "/api/ask", "/api/ask/{id}", "/api/digest", "/api/history", "/api/logout", "/api/admin/users", "/api/admin/users/{user_id}",
        "/api/admin/users/{user_id}/tier", "/api/admin/users/{user_id}/blocked", "/api/admin/invites", "/api/admin/invites/{code}", "/api/admin/api-keys",
        "/api/admin/api-keys/{key_id}", "/api/admin/stats", "/api/admin/audit"] {
        assert!(paths.contains_key(expected), "{expected} is documented");
    }
    let writes = sys.store.writes();
    for (method, path) in &routes {
        let concrete = path.replace("{channel_id}", "9001").replace("{user_id}", "560").replace("{code}", "ABCDEFGHJKLM").replace("{key_id}", "00aa00aa00aa").replace("{id}", "ask-000000000000000000000000");
        let reply = api.call(method.to_uppercase().parse().unwrap(), &concrete, &Auth::None, (*method == "post" || *method == "put").then(|| json!({}))).await;
        assert_eq!(reply.status, 401, "{method} {path} exists and needs credentials: {:?}", reply.body);
    }
    assert_eq!(sys.store.writes(), writes);
    // And what is not documented does not exist.
    assert_eq!(api.get("/api/nothing-here", &TestApi::as_user(sys, 560)).await.status, 404);
}

pub async fn signing_out_asks_the_session_node_to_log_the_session_out(sys: &mut TestSystem) {
    let api = TestApi::start(sys).await;
    let olga = api.member(sys, 570, Tier::Basic).await;
    let reply = api.post("/api/logout", &TestApi::as_user(sys, 570), json!(null)).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    assert!(matches!(api.take_commands().await.as_slice(), [SessionCommand::LogOut { user, .. }] if *user == olga));
}

pub async fn only_the_mini_apps_origin_may_call_from_a_browser(sys: &mut TestSystem) {
    use crate::api::MINIAPP_ORIGIN;
    let api = TestApi::start(sys).await;
    api.member(sys, 575, Tier::Basic).await;
    let preflight = |origin: &'static str| {
        api.http
            .request(reqwest::Method::OPTIONS, format!("{}/api/me", api.url))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", "authorization")
            .send()
    };
    let allowed = preflight(MINIAPP_ORIGIN).await.unwrap();
    assert_eq!(allowed.status(), 204);
    assert_eq!(allowed.headers()["access-control-allow-origin"], MINIAPP_ORIGIN);
    assert!(allowed.headers()["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    let other = preflight("https://evil.example").await.unwrap();
    assert_eq!(other.status(), 403);
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let Auth::Header(authorization) = TestApi::as_user(sys, 575) else { unreachable!() };
    let call = |origin: &'static str| api.http.get(format!("{}/api/me", api.url)).header("Origin", origin).header("Authorization", authorization.clone()).send();
    let from_pages = call(MINIAPP_ORIGIN).await.unwrap();
    assert_eq!((from_pages.status().as_u16(), from_pages.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_owned())), (200, Some(MINIAPP_ORIGIN.to_owned())));
    let from_elsewhere = call("https://evil.example").await.unwrap();
    assert!(from_elsewhere.headers().get("access-control-allow-origin").is_none(), "a browser elsewhere cannot read the answer");
}
